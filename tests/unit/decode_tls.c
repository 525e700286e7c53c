/*
 * decode_tls.c - tests of decode/tls.c: the cleartext TLS handshake read
 * from each direction's bytes after STARTTLS.
 *
 * The records are built here field by field (a ClientHello with SNI, ALPN
 * and supported_versions with a GREASE value, a TLS 1.3 and a TLS 1.2
 * ServerHello, alerts in cleartext and encrypted), fed whole, split at
 * every octet, and as one hello spread over two records; then damaged:
 * not TLS at all, a record longer than TLS allows, vector lengths that
 * overrun their message at every position.  Nothing may be read past the
 * input (the sanitizer build checks), and a damaged hello is counted, not
 * believed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/dec_int.h"

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
u8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	put(b, &x, 1);
}

static void
u16(struct buf *b, unsigned v)
{
	u8(b, v >> 8);
	u8(b, v);
}

static void
u24(struct buf *b, unsigned v)
{
	u8(b, v >> 16);
	u16(b, v & 0xffff);
}

static void
ext(struct buf *b, unsigned type, const struct buf *body)
{
	u16(b, type);
	u16(b, (unsigned)body->n);
	put(b, body->b, body->n);
}

/* A ClientHello body: TLS 1.2 legacy version, 3 suites, SNI, ALPN "smtp"
 * and supported_versions {GREASE, 1.3, 1.2}. */
static void
client_hello_body(struct buf *m)
{
	struct buf e = { .n = 0 }, x = { .n = 0 };
	uint8_t rnd[32] = { 1 };

	u16(m, 0x0303);
	put(m, rnd, 32);
	u8(m, 0);				/* session id */
	u16(m, 6);
	u16(m, 0x1301);
	u16(m, 0x1302);
	u16(m, 0xc02f);
	u8(m, 1);
	u8(m, 0);				/* compression: null */
	/* server_name */
	u16(&x, 3 + 14);
	u8(&x, 0);
	u16(&x, 14);
	put(&x, "mx.example.net", 14);
	ext(&e, 0, &x);
	/* ALPN */
	x.n = 0;
	u16(&x, 5);
	u8(&x, 4);
	put(&x, "smtp", 4);
	ext(&e, 16, &x);
	/* supported_versions */
	x.n = 0;
	u8(&x, 6);
	u16(&x, 0x7a7a);
	u16(&x, 0x0304);
	u16(&x, 0x0303);
	ext(&e, 43, &x);
	u16(m, (unsigned)e.n);
	put(m, e.b, e.n);
}

static void
server_hello_body(struct buf *m, bool tls13)
{
	struct buf e = { .n = 0 }, x = { .n = 0 };
	uint8_t rnd[32] = { 2 };

	u16(m, 0x0303);
	put(m, rnd, 32);
	u8(m, 0);
	u16(m, tls13 ? 0x1302 : 0xc02f);
	u8(m, 0);
	if (!tls13)
		return;				/* TLS 1.2: no extensions */
	u16(&x, 0x0304);
	ext(&e, 43, &x);
	u16(m, (unsigned)e.n);
	put(m, e.b, e.n);
}

/* A handshake message of type t with body m, as one record (or, with
 * split, its header and first k octets in one record, the rest in a
 * second). */
static void
record_hs(struct buf *out, unsigned t, const struct buf *m, size_t split)
{
	struct buf h = { .n = 0 };

	u8(&h, t);
	u24(&h, (unsigned)m->n);
	put(&h, m->b, m->n);
	if (split == 0 || split >= h.n) {
		u8(out, 22);
		u16(out, 0x0301);
		u16(out, (unsigned)h.n);
		put(out, h.b, h.n);
		return;
	}
	u8(out, 22);
	u16(out, 0x0303);
	u16(out, (unsigned)split);
	put(out, h.b, split);
	u8(out, 22);
	u16(out, 0x0303);
	u16(out, (unsigned)(h.n - split));
	put(out, h.b + split, h.n - split);
}

static void
feed_split(struct tls_seen *t, enum xdir dir, const struct buf *b, size_t at)
{
	struct tls_dir d;

	memset(&d, 0, sizeof(d));
	if (at == 0 || at >= b->n) {
		tls_feed(&d, t, dir, b->b, b->n, NULL);
	} else {
		tls_feed(&d, t, dir, b->b, at, NULL);
		tls_feed(&d, t, dir, b->b + at, b->n - at, NULL);
	}
	tls_dir_free(&d);
}

static void
seen_free(struct tls_seen *t)
{
	wstr_clear(&t->sni);
	wstr_clear(&t->alpn);
	memset(t, 0, sizeof(*t));
}

static void
check_client(const struct tls_seen *t)
{
	assert_true(t->client_hello);
	assert_true(t->versions_ext);
	assert_int_equal(t->offered_max, 0x0304);	/* GREASE ignored */
	assert_int_equal(t->offered_min, 0x0303);
	assert_int_equal(t->nsuites, 3);
	assert_int_equal(t->sni.len, 14);
	assert_memory_equal(t->sni.p, "mx.example.net", 14);
	assert_int_equal(t->alpn.len, 4);
	assert_memory_equal(t->alpn.p, "smtp", 4);
	assert_int_equal(t->hello_bad, 0);
	assert_false(t->not_tls[XDIR_CLIENT]);
}

static void
t_client_hello_every_split(void **state)
{
	struct buf m = { .n = 0 }, r = { .n = 0 };
	struct tls_seen t;

	(void)state;
	client_hello_body(&m);
	record_hs(&r, 1, &m, 0);
	for (size_t at = 0; at < r.n; at++) {
		memset(&t, 0, sizeof(t));
		feed_split(&t, XDIR_CLIENT, &r, at);
		check_client(&t);
		assert_int_equal(t.records[XDIR_CLIENT], 1);
		seen_free(&t);
	}
	/* The same hello spread over two records, cut anywhere. */
	for (size_t k = 1; k < m.n + 4; k += 5) {
		r.n = 0;
		record_hs(&r, 1, &m, k);
		memset(&t, 0, sizeof(t));
		feed_split(&t, XDIR_CLIENT, &r, 0);
		check_client(&t);
		assert_int_equal(t.records[XDIR_CLIENT], 2);
		seen_free(&t);
	}
}

static void
t_server_hello(void **state)
{
	struct buf m = { .n = 0 }, r = { .n = 0 };
	struct tls_seen t;

	(void)state;
	memset(&t, 0, sizeof(t));
	server_hello_body(&m, true);
	record_hs(&r, 2, &m, 0);
	u8(&r, 20);			/* ChangeCipherSpec */
	u16(&r, 0x0303);
	u16(&r, 1);
	u8(&r, 1);
	u8(&r, 23);			/* encrypted: counted only */
	u16(&r, 0x0303);
	u16(&r, 40);
	for (int i = 0; i < 40; i++)
		u8(&r, 0x16);
	feed_split(&t, XDIR_SERVER, &r, 7);
	assert_true(t.server_hello);
	assert_int_equal(t.version, 0x0304);
	assert_int_equal(t.suite, 0x1302);
	assert_int_equal(t.records[XDIR_SERVER], 3);
	assert_string_equal(tls_version_name(t.version), "TLS 1.3");
	assert_string_equal(tls_suite_name(t.suite), "TLS_AES_256_GCM_SHA384");
	assert_false(t.alert);

	memset(&t, 0, sizeof(t));
	m.n = r.n = 0;
	server_hello_body(&m, false);
	record_hs(&r, 2, &m, 0);
	feed_split(&t, XDIR_SERVER, &r, 0);
	assert_true(t.server_hello);
	assert_int_equal(t.version, 0x0303);
	assert_string_equal(tls_suite_name(t.suite),
	    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	/* A ClientHello from the server's side is not the client's. */
	m.n = r.n = 0;
	client_hello_body(&m);
	record_hs(&r, 1, &m, 0);
	feed_split(&t, XDIR_SERVER, &r, 0);
	assert_false(t.client_hello);
}

/* A cleartext alert is the two octets of its record; an encrypted one
 * (longer) is not read. */
static void
t_alerts(void **state)
{
	struct buf r = { .n = 0 };
	struct tls_seen t;

	(void)state;
	memset(&t, 0, sizeof(t));
	u8(&r, 21);
	u16(&r, 0x0303);
	u16(&r, 26);
	for (int i = 0; i < 26; i++)
		u8(&r, 2);
	u8(&r, 21);
	u16(&r, 0x0303);
	u16(&r, 2);
	u8(&r, 2);
	u8(&r, 40);
	for (size_t at = 0; at < r.n; at++) {
		memset(&t, 0, sizeof(t));
		feed_split(&t, XDIR_SERVER, &r, at);
		assert_true(t.alert);
		assert_int_equal(t.alert_from, XDIR_SERVER);
		assert_int_equal(t.alert_level, 2);
		assert_int_equal(t.alert_desc, 40);
		assert_int_equal(t.records[XDIR_SERVER], 2);
	}
	assert_string_equal(tls_alert_name(40), "handshake_failure");
	assert_string_equal(tls_alert_name(70), "protocol_version");
	assert_null(tls_alert_name(255));
}

/* Not TLS: a letter where a record type belongs, a major version other
 * than 3, a record longer than 2^14 + 2048.  Reading stops for good. */
static void
t_not_tls(void **state)
{
	static const uint8_t cmd[] = "EHLO x\r\n";
	static const uint8_t badver[] = { 22, 2, 0, 0, 1, 0 };
	static const uint8_t huge[] = { 23, 3, 3, 0x48, 0x01, 0 };
	struct tls_seen t;
	struct tls_dir d;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	tls_feed(&d, &t, XDIR_CLIENT, cmd, sizeof(cmd) - 1, NULL);
	assert_true(d.dead);
	assert_true(t.not_tls[XDIR_CLIENT]);
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	tls_feed(&d, &t, XDIR_CLIENT, badver, sizeof(badver), NULL);
	assert_true(t.not_tls[XDIR_CLIENT]);
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	tls_feed(&d, &t, XDIR_SERVER, huge, sizeof(huge), NULL);
	assert_true(t.not_tls[XDIR_SERVER]);
	assert_int_equal(t.records[XDIR_SERVER], 0);
	/* After a gap nothing more is read. */
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	tls_lost(&d);
	tls_feed(&d, &t, XDIR_SERVER, badver, sizeof(badver), NULL);
	assert_int_equal(t.records[XDIR_SERVER], 0);
}

/* Every length octet of the hello set to every value that overruns or
 * truncates: never a read past the message, never a believed hello with
 * impossible fields, and the damage is counted. */
static void
t_damaged_hello(void **state)
{
	struct buf m = { .n = 0 }, r;
	struct tls_seen t;

	(void)state;
	client_hello_body(&m);
	for (size_t i = 0; i < m.n; i++) {
		static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0xff };

		for (size_t v = 0; v < sizeof(vals); v++) {
			struct buf d = m;

			d.b[i] = vals[v];
			r.n = 0;
			record_hs(&r, 1, &d, 0);
			memset(&t, 0, sizeof(t));
			feed_split(&t, XDIR_CLIENT, &r, 0);
			assert_true(t.sni.len <= 255 && t.alpn.len <= 255);
			seen_free(&t);
			/* The same message cut short inside its record. */
			r.n = 0;
			d.n = i + 1;
			record_hs(&r, 1, &d, 0);
			memset(&t, 0, sizeof(t));
			feed_split(&t, XDIR_CLIENT, &r, 0);
			if (i + 1 < 2 + 32 + 1 + 2)
				assert_false(t.client_hello);
			seen_free(&t);
		}
	}
}

/* Application data: counted per direction; the client's plaintext sizes
 * follow from the AEAD overhead of the chosen suite (TLS 1.3: 17, after
 * its Finished; TLS 1.2 GCM: 24), and are unknown for a CBC suite. */
static void
app_flow(struct tls_seen *t, bool tls13, unsigned suite, const unsigned *lens, size_t n)
{
	struct buf m = { .n = 0 }, r = { .n = 0 };
	struct tls_dir dc, ds;
	uint8_t z[600];

	memset(z, 0x5a, sizeof(z));
	memset(&dc, 0, sizeof(dc));
	memset(&ds, 0, sizeof(ds));
	server_hello_body(&m, tls13);
	if (!tls13) {			/* patch the suite */
		m.b[2 + 32 + 1] = (uint8_t)(suite >> 8);
		m.b[2 + 32 + 2] = (uint8_t)suite;
	}
	record_hs(&r, 2, &m, 0);
	tls_feed(&ds, t, XDIR_SERVER, r.b, r.n, NULL);
	for (size_t i = 0; i < n; i++) {
		r.n = 0;
		u8(&r, 23);
		u16(&r, 0x0303);
		u16(&r, lens[i]);
		put(&r, z, lens[i]);
		tls_feed(&dc, t, XDIR_CLIENT, r.b, r.n, NULL);
	}
	tls_dir_free(&dc);
	tls_dir_free(&ds);
}

static void
t_app_sizes(void **state)
{
	static const unsigned l13[] = { 53, 40, 23, 23 };	/* Finished, EHLO, RSET, QUIT */
	static const unsigned l12[] = { 47, 30 };
	struct tls_seen t;

	(void)state;
	memset(&t, 0, sizeof(t));
	app_flow(&t, true, 0, l13, 4);
	assert_int_equal(t.app_records[XDIR_CLIENT], 3);	/* Finished not counted */
	assert_true(t.sizes_known);
	assert_int_equal(t.c_first_len, 23);
	assert_int_equal(t.c_after, 2);
	assert_int_equal(t.c_after_max, 6);
	memset(&t, 0, sizeof(t));
	app_flow(&t, false, 0xc02f, l12, 2);			/* TLS 1.2 AES-GCM */
	assert_true(t.sizes_known);
	assert_int_equal(t.c_first_len, 23);
	assert_int_equal(t.c_after_max, 6);
	memset(&t, 0, sizeof(t));
	app_flow(&t, false, 0xc013, l12, 2);			/* CBC: unknown */
	assert_int_equal(t.app_records[XDIR_CLIENT], 2);
	assert_false(t.sizes_known);
}

/* The server certificate (pcaps/certs/mail-contoso.der, made with openssl
 * req): names, validity and self-issue read through libcrypto; the name
 * match of RFC 6125 (SAN DNS names, one-label wildcards, no partial
 * labels); garbage where a certificate belongs is counted, not read. */
static void
t_certificate(void **state)
{
	static const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 0x01 };
	struct tls_seen t;
	uint8_t der[2048];
	size_t n;
	FILE *f;

	(void)state;
	if ((f = fopen("pcaps/certs/mail-contoso.der", "rb")) == NULL)
		skip();
	n = fread(der, 1, sizeof(der), f);
	fclose(f);
	memset(&t, 0, sizeof(t));
	tls_cert_read(&t, der, n);
	assert_true(t.cert);
	assert_int_equal(t.cert_subject.len, 17);
	assert_memory_equal(t.cert_subject.p, "mail.contoso.test", 17);
	assert_true(t.cert_self_signed);
	assert_true(t.cert_not_after - t.cert_not_before == 30 * 86400);
	assert_true(tls_cert_match(&t, "mail.contoso.test", 17));
	assert_true(tls_cert_match(&t, "MAIL.Contoso.Test", 17));
	assert_true(tls_cert_match(&t, "mx.relay.contoso.test", 21));
	assert_false(tls_cert_match(&t, "a.b.relay.contoso.test", 22));
	assert_false(tls_cert_match(&t, "relay.contoso.test", 18));
	assert_false(tls_cert_match(&t, "mx1.northwind.test", 18));
	assert_false(tls_cert_match(&t, "contoso.test", 12));
	wstr_clear(&t.cert_subject);
	wstr_clear(&t.cert_issuer);
	wstr_clear(&t.cert_names);
	memset(&t, 0, sizeof(t));
	tls_cert_read(&t, junk, sizeof(junk));
	assert_false(t.cert);
	assert_int_equal(t.hello_bad, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_client_hello_every_split),
		cmocka_unit_test(t_server_hello),
		cmocka_unit_test(t_alerts),
		cmocka_unit_test(t_not_tls),
		cmocka_unit_test(t_damaged_hello),
		cmocka_unit_test(t_app_sizes),
		cmocka_unit_test(t_certificate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
