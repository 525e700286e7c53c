/*
 * decode_keylog.c - tests of decode/keylog.c (the key log store) and of
 * decryption through the decoder (decode/tlscrypt.c).
 *
 * The key log: good lines of every label kept, found by client random;
 * comments, blank lines, CRLF, labels with nothing to decrypt, and every
 * kind of bad line (short or odd hex, a secret of the wrong length, extra
 * fields, an overlong line) counted and never half-used; the cap forgets
 * the oldest; a file read as it grows, a half-written line waiting for its
 * end, a rewritten file read again.
 *
 * Decryption: the real TLS 1.3 and TLS 1.2 captures of pcaps/ (made by
 * pcaps/make-tls-pcaps.sh with their key logs) fed packet by packet and
 * byte by byte: the same decrypted session either way; the key log handed
 * over only after the handshake (as in a live capture, where the MTA
 * writes it while we watch): the held records are decrypted in order;
 * never handed over: "no-key", the session left encrypted.
 */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode/dec_int.h"

#define CR1 "0101010101010101010101010101010101010101010101010101010101010101"
#define CR2 "0202020202020202020202020202020202020202020202020202020202020202"
#define CR3 "0303030303030303030303030303030303030303030303030303030303030303"
#define S48 "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0"
#define S32 "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"

static void
random_of(uint8_t r[32], unsigned v)
{
	memset(r, (int)v, 32);
}

static void
text(struct smtp_keylog *k, const char *s)
{
	smtp_keylog_text(k, (const uint8_t *)s, strlen(s));
}

static void
t_parse(void **state)
{
	struct smtp_keylog *k = smtp_keylog_new(0);
	struct smtp_keylog_stats st;
	const uint8_t *s;
	uint8_t r[32];
	size_t len;

	(void)state;
	text(k, "# TLS secrets log file\n"
	    "\n"
	    "CLIENT_RANDOM " CR1 " " S48 "\r\n"
	    "CLIENT_HANDSHAKE_TRAFFIC_SECRET " CR2 " " S32 "\n"
	    "SERVER_HANDSHAKE_TRAFFIC_SECRET " CR2 " " S48 "\n"
	    "CLIENT_TRAFFIC_SECRET_0 " CR2 " " S32 "\n"
	    "SERVER_TRAFFIC_SECRET_0   " CR2 "\t" S32 "\n"
	    "EXPORTER_SECRET " CR2 " " S32 "\n"
	    "CLIENT_RANDOM " CR3 " " S32 "\n"		/* TLS 1.2: 48 octets only */
	    "CLIENT_RANDOM 0303 " S48 "\n"		/* short random */
	    "CLIENT_RANDOM " CR3 " " S48 "0\n"		/* odd hex */
	    "CLIENT_RANDOM " CR3 " " S48 " extra\n"	/* a fourth field */
	    "CLIENT_RANDOM " CR3 " zz" S48 "\n"		/* not hex */
	    "CLIENT_TRAFFIC_SECRET_0 " CR3 " a1a2\n"	/* neither SHA-256 nor -384 */
	    "SOME_FUTURE_LABEL " CR3 " " S32 "\n"
	    "CLIENT_RANDOM " CR3);			/* no newline: counted too */
	smtp_keylog_stats(k, &st);
	assert_int_equal(st.lines, 14);
	assert_int_equal(st.secrets, 5);
	assert_int_equal(st.other, 1);
	assert_int_equal(st.bad, 8);
	assert_int_equal(st.randoms, 2);
	assert_int_equal(st.held, 2);

	random_of(r, 1);
	assert_non_null(s = keylog_find(k, r, KL_MASTER, &len));
	assert_int_equal(len, 48);
	assert_int_equal(s[0], 0xa1);
	assert_int_equal(s[47], 0xd0);
	assert_null(keylog_find(k, r, KL_C_AP, &len));
	random_of(r, 2);
	assert_non_null(s = keylog_find(k, r, KL_S_HS, &len));
	assert_int_equal(len, 48);
	assert_non_null(s = keylog_find(k, r, KL_S_AP, &len));
	assert_int_equal(len, 32);
	assert_int_equal(s[31], 0x0f);
	assert_null(keylog_find(k, r, KL_MASTER, &len));
	random_of(r, 3);		/* only bad lines for it */
	assert_null(keylog_find(k, r, KL_MASTER, &len));
	assert_null(keylog_find(k, r, KL_C_AP, &len));
	smtp_keylog_free(k);
	assert_null(keylog_find(NULL, r, KL_MASTER, &len));
}

static void
t_overlong(void **state)
{
	struct smtp_keylog *k = smtp_keylog_new(0);
	struct smtp_keylog_stats st;
	char line[2048];
	uint8_t r[32];
	size_t len;

	(void)state;
	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	text(k, line);
	text(k, "\nCLIENT_RANDOM " CR1 " " S48 "\n");
	smtp_keylog_stats(k, &st);
	assert_int_equal(st.bad, 1);
	assert_int_equal(st.secrets, 1);
	random_of(r, 1);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));
	smtp_keylog_free(k);
}

static void
t_cap(void **state)
{
	struct smtp_keylog *k = smtp_keylog_new(2);
	struct smtp_keylog_stats st;
	uint8_t r[32];
	size_t len;

	(void)state;
	text(k, "CLIENT_RANDOM " CR1 " " S48 "\n"
	    "CLIENT_RANDOM " CR2 " " S48 "\n"
	    "CLIENT_RANDOM " CR1 " " S48 "\n"	/* known: no new entry */
	    "CLIENT_RANDOM " CR3 " " S48 "\n");
	smtp_keylog_stats(k, &st);
	assert_int_equal(st.held, 2);
	assert_int_equal(st.forgotten, 1);
	random_of(r, 1);
	assert_null(keylog_find(k, r, KL_MASTER, &len));	/* the oldest */
	random_of(r, 2);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));
	random_of(r, 3);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));
	smtp_keylog_free(k);
}

static void
append(const char *path, const char *s, const char *mode)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
t_follow(void **state)
{
	char path[] = "/tmp/smtpscope-keylog-XXXXXX";
	struct smtp_keylog *k = smtp_keylog_new(0);
	uint8_t r[32];
	size_t len;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	append(path, "CLIENT_RANDOM " CR1 " " S48 "\n", "w");
	assert_int_equal(smtp_keylog_open(k, path), 0);
	random_of(r, 1);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));

	/* The writer is in the middle of a line: it waits for its end. */
	append(path, "CLIENT_RANDOM " CR2 " " "a1a2a3a4", "a");
	smtp_keylog_poll(k, true);
	random_of(r, 2);
	assert_null(keylog_find(k, r, KL_MASTER, &len));
	append(path, S48 + 8, "a");
	append(path, "\n", "a");
	smtp_keylog_poll(k, true);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));

	/* Rewritten (shorter): read again from its start. */
	append(path, "CLIENT_RANDOM " CR3 " " S48 "\n", "w");
	smtp_keylog_poll(k, true);
	random_of(r, 3);
	assert_non_null(keylog_find(k, r, KL_MASTER, &len));
	unlink(path);
	assert_int_equal(smtp_keylog_open(k, path), -1);
	smtp_keylog_free(k);
}

/* ------------------------------------------------------------------------
 * Decryption, on the real captures
 * --------------------------------------------------------------------- */

struct pkt {
	enum xdir dir;
	size_t off, len;	/* payload in the file's bytes */
	uint64_t ts;
};

struct cap {
	uint8_t *data;
	size_t size;
	struct pkt p[256];
	size_t n;
	bool ok;
};

/* A classic little-endian pcap of Ethernet, IPv4 and TCP, one session
 * (loopback, nothing lost): the payloads in order, by direction. */
static void
cap_read(struct cap *c, const char *path, uint16_t server_port)
{
	FILE *f = fopen(path, "rb");
	size_t off = 24;

	memset(c, 0, sizeof(*c));
	if (f == NULL)
		return;
	c->data = malloc(1 << 20);
	assert_non_null(c->data);
	c->size = fread(c->data, 1, 1 << 20, f);
	fclose(f);
	while (off + 16 <= c->size && c->n < 256) {
		const uint8_t *h = c->data + off, *e = h + 16;
		uint32_t incl = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
		    (uint32_t)h[11] << 24;
		size_t ihl, thl, tot, pl;
		uint16_t sport;

		assert_true(off + 16 + incl <= c->size);
		ihl = (size_t)(e[14] & 15) * 4;
		tot = (size_t)e[16] << 8 | e[17];
		sport = (uint16_t)(e[14 + ihl] << 8 | e[14 + ihl + 1]);
		thl = (size_t)(e[14 + ihl + 12] >> 4) * 4;
		pl = 14 + ihl + thl;
		if (14 + tot > pl) {
			c->p[c->n].dir = sport == server_port ? XDIR_SERVER : XDIR_CLIENT;
			c->p[c->n].off = off + 16 + pl;
			c->p[c->n].len = 14 + tot - pl;
			c->p[c->n].ts = (uint64_t)h[0] * 1000000 + c->n;
			c->n++;
		}
		off += 16 + incl;
	}
	c->ok = c->n > 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (f == NULL)
		return NULL;
	b = malloc(65536);
	assert_non_null(b);
	*len = fread(b, 1, 65536, f);
	fclose(f);
	return b;
}

static struct sess_record got;
static char got_verbs[256];
static bool got_end;

static void
on_end(void *arg, const struct sess_record *r)
{
	(void)arg;
	got_end = true;
	got.tls = r->tls;
	got.state = r->state;
	got_verbs[0] = '\0';
	for (size_t i = 0; i < r->nverbs && i < 20; i++) {
		strlcat(got_verbs, sess_verb_name(r->verbs[i]), sizeof(got_verbs));
		strlcat(got_verbs, " ", sizeof(got_verbs));
	}
}

/* Feed capture c (keys handed over after `keys_after` packets, or never
 * when keys is NULL), each packet in pieces of at most `piece` octets. */
static void
run(const struct cap *c, const char *keys, size_t keylen, size_t keys_after,
    size_t piece)
{
	struct smtp_sink sink = { .session_end = on_end };
	struct smtp_keylog *k = smtp_keylog_new(0);
	struct smtp_ctx *ctx = smtp_ctx_new(NULL, &sink);
	struct smtp_peers peers = { .family = AF_INET, .client_port = 49000,
	    .server_port = 25, .client_ip = { 127, 0, 0, 60 }, .server_ip = { 127, 0, 0, 50 } };
	struct smtp_session *s;

	assert_non_null(ctx);
	smtp_ctx_keylog(ctx, k);
	s = smtp_session_new(ctx, &peers);
	assert_non_null(s);
	got_end = false;
	for (size_t i = 0; i < c->n; i++) {
		struct smtp_pos pos = { .ts_us = c->p[i].ts, .pkt = i + 1 };

		if (i == keys_after && keys != NULL)
			smtp_keylog_text(k, (const uint8_t *)keys, keylen);
		for (size_t o = 0; o < c->p[i].len; o += piece)
			smtp_feed(s, c->p[i].dir, c->data + c->p[i].off + o,
			    c->p[i].len - o < piece ? c->p[i].len - o : piece, &pos);
	}
	smtp_end(s, NULL, NULL);
	assert_true(got_end);
	smtp_ctx_free(ctx);
	smtp_keylog_free(k);
}

static void
decrypt_case(const char *name, const char *verbs)
{
	char path[256];
	struct cap c;
	char *keys;
	size_t klen = 0;

	snprintf(path, sizeof(path), "pcaps/%s.pcap", name);
	cap_read(&c, path, 25);
	snprintf(path, sizeof(path), "pcaps/keys/%s.keys", name);
	keys = slurp(path, &klen);
	if (!c.ok || keys == NULL) {
		free(c.data);
		free(keys);
		skip();		/* run from the top of the tree */
	}
	/* Keys known from the start, whole packets and every octet alone. */
	run(&c, keys, klen, 0, 65536);
	assert_int_equal(got.tls.decryption, TD_DECRYPTED);
	assert_int_equal(got.tls.bad_records, 0);
	assert_string_equal(got_verbs, verbs);
	run(&c, keys, klen, 0, 1);
	assert_int_equal(got.tls.decryption, TD_DECRYPTED);
	assert_string_equal(got_verbs, verbs);
	/* Keys arriving with the last packets: every record was held, and
	 * is decrypted in order when they come. */
	run(&c, keys, klen, c.n - 2, 65536);
	assert_int_equal(got.tls.decryption, TD_DECRYPTED);
	assert_string_equal(got_verbs, verbs);
	/* Never: what the handshake shows, nothing inside. */
	run(&c, NULL, 0, 0, 65536);
	assert_int_equal(got.tls.decryption, TD_NO_KEY);
	assert_int_equal(got.state, SST_TLS);
	assert_string_equal(got_verbs, "EHLO STARTTLS ");
	free(c.data);
	free(keys);
}

static void
t_decrypt_tls13(void **state)
{
	(void)state;
	decrypt_case("tls13-aes128gcm", "EHLO STARTTLS EHLO MAIL RCPT DATA QUIT ");
}

static void
t_decrypt_tls12(void **state)
{
	(void)state;
	decrypt_case("tls12-chacha20", "EHLO STARTTLS EHLO MAIL RCPT DATA QUIT ");
}

static void
t_decrypt_keyupdate(void **state)
{
	(void)state;
	decrypt_case("tls13-keyupdate", "EHLO STARTTLS EHLO MAIL RCPT DATA QUIT ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse),
		cmocka_unit_test(t_overlong),
		cmocka_unit_test(t_cap),
		cmocka_unit_test(t_follow),
		cmocka_unit_test(t_decrypt_tls13),
		cmocka_unit_test(t_decrypt_tls12),
		cmocka_unit_test(t_decrypt_keyupdate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
