/*
 * decode_parse.c - the decoder's small parsers on their own: the line
 * assembler (every split, the cap, bare CR/LF, NUL), the content tracker
 * (end of data at every split, dot-stuffing, smuggling look-alikes,
 * 8-bit counts, header sniffing), commands, replies, RFC 3463 codes and
 * EHLO capability lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode_harness.h"
#include "decode/dec_int.h"

/* Feed s into a fresh assembler split at `at` (0: whole); collect the
 * lines as "text|flags;" into out. */
static void
lines_of(const char *s, size_t n, size_t cap, size_t at, char *out, size_t outlen)
{
	struct linebuf lb;
	size_t o = 0;
	size_t parts[2][2] = { { 0, at ? at : n }, { at ? at : n, n } };

	assert_int_equal(line_init(&lb, cap), 0);
	out[0] = '\0';
	for (int k = 0; k < 2; k++) {
		const uint8_t *p = (const uint8_t *)s + parts[k][0];
		size_t left = parts[k][1] - parts[k][0];

		while (left > 0) {
			bool done;
			size_t used = line_feed(&lb, p, left, &done);

			assert_true(used > 0 && used <= left);
			p += used;
			left -= used;
			if (done) {
				int w = snprintf(out + o, outlen - o, "%.*s|%x|%llu;",
				    (int)lb.len, lb.buf, lb.flags,
				    (unsigned long long)line_octets(&lb));
				assert_true(w > 0 && (size_t)w < outlen - o);
				o += (size_t)w;
				line_reset(&lb);
			}
		}
	}
	line_free(&lb);
}

static void
t_line_splits(void **state)
{
	static const char in[] = "EHLO a\r\nbare\nx\ry\r\n\r\nlong line here\r\n";
	static const char want[] =
	    "EHLO a|0|8;bare|1|5;x\ry|2|5;|0|2;long line |8|16;";
	char whole[256], part[256];

	(void)state;
	lines_of(in, sizeof(in) - 1, 10, 0, whole, sizeof(whole));
	assert_string_equal(whole, want);
	for (size_t at = 1; at < sizeof(in) - 1; at++) {
		lines_of(in, sizeof(in) - 1, 10, at, part, sizeof(part));
		assert_string_equal(part, want);
	}
}

static void
t_line_cr_at_cap(void **state)
{
	char out[128];

	(void)state;
	/* The CR falls just past the cap: the kept text is exact. */
	lines_of("0123456789\r\n", 12, 10, 0, out, sizeof(out));
	assert_string_equal(out, "0123456789|0|12;");
	lines_of("0123456789A\r\n", 13, 10, 11, out, sizeof(out));
	assert_string_equal(out, "0123456789|8|13;");
	lines_of("a\0b\r\n", 5, 10, 2, out, sizeof(out));
	assert_int_equal(out[0], 'a');	/* NUL inside: flagged */
}

/* Lines longer than the buffer's first allocation: it grows to the cap,
 * at every split, keeps whole lines up to the cap and cuts past it; a
 * short line after a long one is exact (the buffer does not shrink). */
static void
t_line_grows_to_cap(void **state)
{
	char in[1200], want[1400], got[1400];
	size_t n = 0, w = 0;

	(void)state;
	memset(in, 'a', 300);			/* 300 < cap: kept whole */
	n = 300;
	memcpy(in + n, "\r\n", 2);
	n += 2;
	memset(in + n, 'b', 700);		/* 700 > cap 500: cut */
	n += 700;
	memcpy(in + n, "\r\nok\r\n", 6);
	n += 6;
	w += (size_t)snprintf(want + w, sizeof(want) - w, "%.*s|0|302;", 300,
	    in);
	w += (size_t)snprintf(want + w, sizeof(want) - w, "%.*s|8|702;", 500,
	    in + 302);
	(void)snprintf(want + w, sizeof(want) - w, "ok|0|4;");
	for (size_t at = 0; at < n; at += 7) {
		lines_of(in, n, 500, at, got, sizeof(got));
		assert_string_equal(got, want);
	}
}

/* Content tracker: run s through body_data at one split. */
struct bres {
	size_t used;
	bool end;
	struct body b;
};

static void
body_run(const char *s, size_t n, size_t at, struct bres *r)
{
	size_t used = 0;
	bool end = false;

	body_start(&r->b, true);
	if (at > 0 && at < n) {
		used = body_data(&r->b, (const uint8_t *)s, at, &end);
		if (!end) {
			size_t u2 = body_data(&r->b, (const uint8_t *)s + at, n - at, &end);

			used = at + u2;
		}
	} else {
		used = body_data(&r->b, (const uint8_t *)s, n, &end);
	}
	body_finish(&r->b);
	r->used = used;
	r->end = end;
}

/*
 * The plain-text fast path (16 or 8 octets a step) must stop exactly at
 * each kind of special octet wherever it falls in a long line: the first
 * 8-bit offset, the NUL flag, bare CRs, the line length and the end must
 * all be what octet-by-octet reading gives, for both DATA and BDAT.
 */
static void
t_body_fast_path_positions(void **state)
{
	static const uint8_t special[] = { 0x80, 0xff, 0x00, '\r' };
	uint8_t buf[128];
	size_t pos, k, n, hdr = 4;	/* "\r\n\r\n": no headers */
	struct body b;
	bool end;

	(void)state;
	for (k = 0; k < sizeof(special); k++) {
		for (pos = 0; pos < 70; pos++) {
			memcpy(buf, "\r\n\r\n", hdr);
			memset(buf + hdr, 'x', 72);
			buf[hdr + pos] = special[k];
			n = hdr + 72;
			memcpy(buf + n, "\r\n.\r\n", 5);
			n += 5;
			body_start(&b, true);
			assert_int_equal(body_data(&b, buf, n, &end), n);
			assert_true(end);
			assert_int_equal(b.off, n);
			assert_int_equal(b.eightbit, special[k] >= 0x80 ? 1 : 0);
			if (special[k] >= 0x80)
				assert_int_equal(b.first8, hdr + pos);
			assert_int_equal(b.nul, special[k] == 0);
			assert_int_equal(b.bare, special[k] == '\r' ? 1 : 0);
			assert_int_equal(b.long_lines, 0);

			body_start(&b, false);
			body_bytes(&b, buf, n);
			assert_int_equal(b.off, n);
			assert_int_equal(b.eightbit, special[k] >= 0x80 ? 1 : 0);
			if (special[k] >= 0x80)
				assert_int_equal(b.first8, hdr + pos);
			assert_int_equal(b.nul, special[k] == 0);
		}
	}
	/* A line of 999 plain octets is long; of 998 it is not. */
	for (n = 998; n <= 999; n++) {
		static uint8_t big[1100];

		memcpy(big, "\r\n\r\n", hdr);
		memset(big + hdr, 'y', n);
		memcpy(big + hdr + n, "\r\n.\r\n", 5);
		body_start(&b, true);
		(void)body_data(&b, big, hdr + n + 5, &end);
		assert_true(end);
		assert_int_equal(b.long_lines, n > 998 ? 1 : 0);
	}
}

/*
 * The line fast path (64 octets a step, body.c text_lines) against the
 * state machine alone: pseudo-random messages of lines of every length
 * with every kind of special octet (CRLF at every place in a block, bare
 * CR and LF, dots at line starts, 8-bit octets, NUL, the rarer controls),
 * read in one piece, split in two at every offset, and octet by octet
 * (which never takes the fast path), must give the same counts and end.
 */
static void
body_bytewise(const uint8_t *s, size_t n, struct bres *r)
{
	bool end = false;
	size_t i;

	body_start(&r->b, true);
	for (i = 0; i < n && !end; i++)
		(void)body_data(&r->b, s + i, 1, &end);
	body_finish(&r->b);
	r->used = i;
	r->end = end;
}

static void
bres_equal(const struct bres *a, const struct bres *b)
{
	assert_int_equal(a->end, b->end);
	assert_int_equal(a->used, b->used);
	assert_int_equal(a->b.off, b->b.off);
	assert_int_equal(a->b.line_len, b->b.line_len);
	assert_int_equal(a->b.long_lines, b->b.long_lines);
	assert_int_equal(a->b.eightbit, b->b.eightbit);
	assert_int_equal(a->b.first8, b->b.first8);
	assert_int_equal(a->b.nul, b->b.nul);
	assert_int_equal(a->b.bare, b->b.bare);
	assert_int_equal(a->b.smuggle, b->b.smuggle);
}

static void
t_body_line_fast_path(void **state)
{
	static const uint8_t odd[] = { 0x80, 0xc3, 0xff, 0x00, 0x01, 0x0b, 0x0c, '\t',
		'.', '\r', '\n' };
	static uint8_t msg[3000];
	struct bres w, o, p;
	uint32_t x = 12345;

	(void)state;
	for (int round = 0; round < 24; round++) {
		size_t n = 0;

		memcpy(msg, "Subject: t\r\n\r\n", 15);
		n = 15;
		while (n < sizeof(msg) - 1200) {
			/* A line: 0-1100 octets (some long), mostly text, a few odd. */
			size_t len;

			x = x * 1103515245u + 12345u;
			len = (x >> 8) % (round % 3 == 0 ? 1100 : 140);
			for (size_t k = 0; k < len; k++) {
				x = x * 1103515245u + 12345u;
				msg[n++] = (x >> 16) % 97 == 0 ? odd[(x >> 8) % sizeof(odd)] :
				    (uint8_t)('a' + (x >> 12) % 26);
			}
			x = x * 1103515245u + 12345u;
			if ((x >> 10) % 13 == 0 && round % 2 == 1)
				msg[n++] = '\n';		/* a bare LF line end */
			else {
				msg[n++] = '\r';
				msg[n++] = '\n';
			}
			if ((x >> 14) % 7 == 0)
				msg[n++] = '.';		/* a dot-stuffed line */
		}
		memcpy(msg + n, "\r\n.\r\ntail", 10);
		n += 10;
		body_bytewise(msg, n, &o);
		body_run((const char *)msg, n, 0, &w);
		bres_equal(&w, &o);
		for (size_t at = 1; at < n; at += (round < 4 ? 1 : 13)) {
			body_run((const char *)msg, n, at, &p);
			bres_equal(&p, &o);
		}
	}
}

static void
t_body_end_and_counts(void **state)
{
	static const char in[] =
	    "Content-Type: text/plain;\r\n charset=\"koi8-r\"\r\n"
	    "content-transfer-encoding: quoted-printable\r\n\r\n"
	    "..dot\r\n"
	    "a\n.\nb\r\n"			/* LF . LF */
	    "c\r\n.\nd\r\n"			/* CRLF . LF */
	    "e\n.\r\nf\r\n"			/* LF . CRLF */
	    "g\r.\rh\r\n"			/* CR . CR */
	    "\xd0\xb0\r\n"
	    ".\r\nafter";
	struct bres w, p;

	(void)state;
	body_run(in, sizeof(in) - 1, 0, &w);
	assert_true(w.end);
	assert_int_equal(w.used, sizeof(in) - 1 - 5);
	assert_int_equal(w.b.smuggle, 4);
	assert_int_equal(w.b.eightbit, 2);
	assert_int_equal(w.b.first8, w.used - 3 - 4);
	assert_string_equal(w.b.ctype, "text/plain");
	assert_string_equal(w.b.charset, "koi8-r");
	assert_string_equal(w.b.cte, "quoted-printable");
	assert_true(w.b.bare >= 6);
	for (size_t at = 1; at < sizeof(in) - 1; at++) {
		body_run(in, sizeof(in) - 1, at, &p);
		assert_int_equal(p.end, w.end);
		assert_int_equal(p.used, w.used);
		assert_int_equal(p.b.smuggle, w.b.smuggle);
		assert_int_equal(p.b.eightbit, w.b.eightbit);
		assert_int_equal(p.b.first8, w.b.first8);
		assert_int_equal(p.b.bare, w.b.bare);
		assert_int_equal(p.b.long_lines, w.b.long_lines);
		assert_string_equal(p.b.charset, w.b.charset);
		assert_string_equal(p.b.cte, w.b.cte);
	}
}

static void
t_body_empty_message(void **state)
{
	struct bres r;

	(void)state;
	/* The DATA line's CRLF counts: "." CRLF at once is an empty message. */
	body_run(".\r\n", 3, 0, &r);
	assert_true(r.end);
	assert_int_equal(r.used, 3);
	body_run("x.\r\n", 4, 0, &r);
	assert_false(r.end);
}

static void
t_body_fast_path(void **state)
{
	char big[4096 + 8];
	struct bres r;

	(void)state;
	/* Long plain lines go through the eight-octet skip; the counts and
	 * the offset of a late 8-bit octet must still be exact. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "\r\n", 2);	/* headers end at once */
	big[1500] = '\xff';
	memcpy(big + 4096, "\r\n.\r\n", 5);
	body_run(big, 4101, 0, &r);
	assert_true(r.end);
	assert_int_equal(r.used, 4101);
	assert_int_equal(r.b.eightbit, 1);
	assert_int_equal(r.b.first8, 1500);
	assert_int_equal(r.b.long_lines, 1);
}

static void
t_cmd_parse(void **state)
{
	struct cmd c;
	static const char m[] = "mail from:<\"a>b\"@x.test> size=99 body=8bitmime smtputf8";
	static const char b[] = "bdat 1000 last";

	(void)state;
	cmd_parse(m, sizeof(m) - 1, &c);
	assert_int_equal(c.id, CMD_MAIL);
	assert_true(c.syntax_ok);
	assert_int_equal(c.addr.len, strlen("\"a>b\"@x.test"));
	assert_memory_equal(c.addr.p, "\"a>b\"@x.test", c.addr.len);
	assert_int_equal(c.size, 99);
	assert_int_equal(c.body, BODY_8BITMIME);
	assert_true(c.smtputf8);
	cmd_parse(b, sizeof(b) - 1, &c);
	assert_int_equal(c.id, CMD_BDAT);
	assert_int_equal(c.bdat_size, 1000);
	assert_true(c.bdat_last);
	cmd_parse("BDAT 99999999999999999999999", 28, &c);
	assert_false(c.syntax_ok);		/* over strtonum's range */
	cmd_parse("AUTH PLAIN secret", 17, &c);
	assert_int_equal(c.id, CMD_AUTH);
	assert_int_equal(c.mech.len, 5);
	assert_true(c.auth_initial);
	cmd_parse("STARTTLS", 8, &c);
	assert_int_equal(c.id, CMD_STARTTLS);
	cmd_parse("FOO bar", 7, &c);
	assert_int_equal(c.id, CMD_UNKNOWN);
	assert_true(cmd_strict("QUIT", 4));
	assert_true(cmd_strict("RCPT TO:<a@b>", 13));
	assert_false(cmd_strict("Data follows", 12));
	assert_false(cmd_strict("Help me", 7));
	assert_false(cmd_strict("mail from: someone", 18));
}

static void
t_reply_parse(void **state)
{
	struct reply_line r;
	struct enh_code e;
	struct cap_line cl;

	(void)state;
	reply_parse("250-2.1.5 Ok", 12, &r);
	assert_true(r.valid);
	assert_true(r.more);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.enh.cls, 2);
	assert_int_equal(r.enh.subject, 1);
	assert_int_equal(r.enh.detail, 5);
	reply_parse("550 4.1.1 mismatched class", 26, &r);
	assert_int_equal(r.enh.cls, 0);
	reply_parse("250", 3, &r);
	assert_true(r.valid);
	assert_false(r.more);
	assert_int_equal(r.text.len, 0);
	reply_parse("199 odd", 7, &r);
	assert_true(r.shaped);
	assert_false(r.valid);
	reply_parse("25O oops", 8, &r);
	assert_false(r.shaped);
	reply_parse("2500 x", 6, &r);
	assert_false(r.shaped);
	assert_int_equal(enh_parse("5.7.1 x", 7, &e), 5);
	assert_int_equal(enh_parse("5.7.1234", 8, &e), 0);
	assert_int_equal(enh_parse("3.1.1 x", 7, &e), 0);
	assert_int_equal(enh_parse("2.0.0", 5, &e), 5);
	cap_parse("auth=login plain", 16, &cl);
	assert_int_equal(cl.bit, CAPB_AUTH);
	assert_int_equal(cl.rest.len, 11);
	cap_parse("XXXXXXXA", 8, &cl);
	assert_int_equal(cl.bit, -1);
	assert_true(cl.masked);
	cap_parse("XFORWARD NAME ADDR", 18, &cl);
	assert_false(cl.masked);
	cap_parse("8bitmime", 8, &cl);
	assert_int_equal(cl.bit, CAPB_8BITMIME);
}

static void
t_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_cap_name(CAPB_8BITMIME), "8BITMIME");
	assert_string_equal(smtp_anomaly_name(SAN_BARE_LF), "bare-lf");
	assert_string_equal(smtp_anomaly_desc(SAN_GAP), "bytes missing from the capture");
	assert_string_equal(sess_end_name(SEND_QUIT), "quit");
	assert_string_equal(sess_state_name(SST_ABORTED), "aborted");
	assert_string_equal(body_type_name(BODY_BINARYMIME), "BINARYMIME");
	assert_string_equal(severity_name(SEV_ERROR), "error");
	assert_string_equal(confidence_name(CONF_PROBABLE), "probable");
	assert_string_equal(smtp_anomaly_name(SAN_MAX), "?");
	{
		struct enh_code e = { 5, 1, 1 };

		assert_string_equal(enh_detail_text(&e), "bad destination mailbox address");
	}
}

/* The verb table: one row per id, every wire verb found by its own name
 * (in any case) and parsed by its row's parser; pseudo commands never
 * match a line. */
static void
t_verb_table(void **state)
{
	char low[16];
	struct cmd c;
	unsigned wire = 0;

	(void)state;
	for (unsigned id = 0; id < CMD_MAX; id++) {
		const struct verb *v = &verb_table[id];

		assert_non_null(v->name);
		assert_string_equal(cmd_name((enum cmd_id)id), v->name);
		for (unsigned k = 0; k < id; k++)
			assert_string_not_equal(verb_table[k].name, v->name);
		if (!(v->flags & VF_WIRE)) {
			assert_null(v->parse);
			cmd_parse(v->name, strlen(v->name), &c);
			assert_true(c.id == CMD_UNKNOWN || (v->name[0] == '-'));
			continue;
		}
		wire++;
		assert_non_null(v->parse);
		cmd_parse(v->name, strlen(v->name), &c);
		assert_int_equal(c.id, id);
		for (size_t i = 0; v->name[i] != '\0' && i + 1 < sizeof(low); i++)
			low[i] = (char)(v->name[i] | 0x20), low[i + 1] = '\0';
		cmd_parse(low, strlen(low), &c);
		assert_int_equal(c.id, id);
	}
	assert_int_equal(wire, 15);
	/* RFC 2920 section 3.1's group terminators, plus STARTTLS and AUTH. */
	assert_true(verb_table[CMD_EHLO].flags & VF_GROUP_END);
	assert_true(verb_table[CMD_DATA].flags & VF_GROUP_END);
	assert_true(verb_table[CMD_QUIT].flags & VF_GROUP_END);
	assert_true(verb_table[CMD_STARTTLS].flags & VF_GROUP_END);
	assert_false(verb_table[CMD_MAIL].flags & VF_GROUP_END);
	assert_false(verb_table[CMD_RCPT].flags & VF_GROUP_END);
	assert_false(verb_table[CMD_RSET].flags & VF_GROUP_END);
	assert_false(verb_table[CMD_BDAT].flags & VF_GROUP_END);
	/* Strictness: MAIL/RCPT need a <path>, NOOP/HELP no argument. */
	assert_true(cmd_strict("NOOP", 4));
	assert_false(cmd_strict("noop now", 8));
	assert_true(cmd_strict("MAIL FROM:<>", 12));
	assert_false(cmd_strict("MAIL FROM: x", 12));
	assert_true(cmd_strict("ETRN example.org", 16));
}

/* What every output says the same way: the decisive reply and the
 * server's name from its banner. */
static void
set_w(struct wstr *w, const char *t)
{
	w->p = (char *)(uintptr_t)t;
	w->len = strlen(t);
}

static const char *
host_of(struct sess_record *r, const char *banner, char *buf, size_t len)
{
	if (banner != NULL)
		set_w(&r->banner, banner);
	rec_banner_host(r, buf, len);
	return buf;
}

static void
t_record_readers(void **state)
{
	struct sess_record r;
	struct tx_record tx[2];
	struct rcpt_record rc[2];
	const struct wstr *text;
	char host[64];

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(tx, 0, sizeof(tx));
	memset(rc, 0, sizeof(rc));
	r.banner_code = 220;
	set_w(&r.banner, "mx.example.test ESMTP");
	r.last_reply_code = 221;
	set_w(&r.last_reply_text, "2.0.0 Bye");
	/* No transaction: the last reply. */
	assert_int_equal(rec_decisive_reply(&r, &text), 221);
	assert_string_equal(text->p, "2.0.0 Bye");
	/* A delivered message: its acceptance. */
	r.tx = tx;
	r.ntx = 1;
	tx[0].mail_reply_code = 250;
	tx[0].rcpts = rc;
	tx[0].nrcpts = 2;
	rc[0].reply_code = 250;
	rc[1].reply_code = 550;
	set_w(&rc[1].reply_text, "5.1.1 nobody here");
	tx[0].reply_code = 250;
	set_w(&tx[0].reply_text, "2.0.0 Ok: queued as 4B3E7A7");
	/* ... but a refused recipient is the refusal to show. */
	assert_int_equal(rec_decisive_reply(&r, &text), 550);
	assert_string_equal(text->p, "5.1.1 nobody here");
	rc[1].reply_code = 250;
	assert_int_equal(rec_decisive_reply(&r, &text), 250);
	assert_string_equal(text->p, "2.0.0 Ok: queued as 4B3E7A7");
	/* A later transaction refused at MAIL. */
	r.ntx = 2;
	tx[1].mail_reply_code = 451;
	set_w(&tx[1].mail_reply_text, "4.3.0 try later");
	assert_int_equal(rec_decisive_reply(&r, &text), 451);
	assert_string_equal(text->p, "4.3.0 try later");
	/* DATA refused, no text kept. */
	tx[1].mail_reply_code = 250;
	tx[1].data_reply_code = 554;
	assert_int_equal(rec_decisive_reply(&r, &text), 554);
	assert_null(text);
	/* A refused greeting wins over nothing else. */
	r.ntx = 0;
	r.banner_code = 554;
	set_w(&r.banner, "5.7.1 no service for you");
	assert_int_equal(rec_decisive_reply(&r, &text), 554);
	assert_string_equal(text->p, "5.7.1 no service for you");

	/* Banner names: never an enhanced status code or an address. */
	assert_string_equal(host_of(&r, NULL, host, sizeof(host)), "");
	assert_string_equal(host_of(&r, "192.0.2.1 ESMTP", host, sizeof(host)), "");
	assert_string_equal(host_of(&r, "mx1.example.test ESMTP Postfix", host,
	    sizeof(host)), "mx1.example.test");
	assert_string_equal(host_of(&r, "localhost ESMTP", host, sizeof(host)), "");
	assert_string_equal(host_of(&r, "mx\x1b]0;x.example ESMTP", host,
	    sizeof(host)), "");
	/* Too small: nothing, not a cut name. */
	assert_string_equal(host_of(&r, "mx1.example.test", host, 4), "");
}

/* Queue ids as MTAs word them; nothing else is taken for one. */
static void
t_queue_id(void **state)
{
	static const struct { const char *text, *id; } cases[] = {
		{ "2.0.0 Ok: queued as 4B3E7A7C1D", "4B3E7A7C1D" },
		{ "2.0.0 Ok: queued as 4XkHfq3Cq2z9sVZ", "4XkHfq3Cq2z9sVZ" },
		{ "OK id=1rXyZa-000AbC-2d", "1rXyZa-000AbC-2d" },
		{ "2.6.0 <a1b2@ex01.example> [InternalId=1236950581253, "
		  "Hostname=EX01.example.test] Queued mail for delivery", "1236950581253" },
		{ "ok 1700000000 qp 12345", "12345" },
		{ "2.0.0 OK  1700000000 a1-20020a05600c00c1b0gsmtp", "a1-20020a05600c00c1b0" },
		{ "2.0.0 OK 1700000000 a1-20020a05600c - gsmtp", "a1-20020a05600c" },
		{ "2.0.0 3AB1CdE2001234 Message accepted for delivery", "3AB1CdE2001234" },
		{ "2.0.0 f1a2b3c4 Message accepted for delivery", "f1a2b3c4" },
		{ "2.0.0 Ok", NULL },
		{ "2.0.0 Message accepted for delivery", NULL },
		{ "2.1.5 Recipient OK, message accepted", NULL },
		{ "Ok: queued as ", NULL },
		{ "", NULL },
	};
	struct span id;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = queue_id_parse(cases[i].text, strlen(cases[i].text), &id);

		if (cases[i].id == NULL) {
			if (got)
				fail_msg("'%s' gave an id '%.*s'", cases[i].text,
				    (int)id.len, id.p);
			continue;
		}
		if (!got)
			fail_msg("no id in '%s'", cases[i].text);
		assert_int_equal(id.len, strlen(cases[i].id));
		assert_memory_equal(id.p, cases[i].id, id.len);
	}
}

/* The ASCII keyword comparisons: equal ignoring case, and nothing more. */
static void
t_ascii_eq(void **state)
{
	(void)state;
	assert_true(a_eq("EHLO", 4, "EHLO"));
	assert_true(a_eq("ehLo", 4, "EHLO"));
	assert_true(a_eq("", 0, ""));
	assert_false(a_eq("EHL", 3, "EHLO"));		/* shorter */
	assert_false(a_eq("EHLOX", 5, "EHLO"));		/* longer */
	assert_false(a_eq("EHLO", 4, "EHLX"));		/* last octet */
	assert_false(a_eq("E\0LO", 4, "EHLO"));		/* a NUL inside */
	assert_false(a_eq("EH", 2, ""));
	assert_false(a_eq("", 0, "E"));
	assert_false(a_eq("\xc5HLO", 4, "eHLO"));	/* 8-bit is not a letter */
	assert_true(a_prefix("8BITMIME x", 10, "8bitmime"));
	assert_false(a_prefix("8BIT", 4, "8BITMIME"));
	assert_true(a_contains("a Postfix b", 11, "POSTFIX"));
	assert_false(a_contains("Postfi", 6, "postfix"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_line_splits),
		cmocka_unit_test(t_line_cr_at_cap),
		cmocka_unit_test(t_line_grows_to_cap),
		cmocka_unit_test(t_body_end_and_counts),
		cmocka_unit_test(t_body_fast_path_positions),
		cmocka_unit_test(t_body_empty_message),
		cmocka_unit_test(t_body_fast_path),
		cmocka_unit_test(t_body_line_fast_path),
		cmocka_unit_test(t_cmd_parse),
		cmocka_unit_test(t_verb_table),
		cmocka_unit_test(t_record_readers),
		cmocka_unit_test(t_queue_id),
		cmocka_unit_test(t_reply_parse),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_ascii_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
