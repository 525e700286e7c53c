/*
 * decode_export.c - tests of the exporters behind decode/export.h: the
 * JSON Lines object, the batch line and incident block (exact strings for a
 * known record), validity on hostile bytes (Python's json module and jq),
 * and the report in every format parsed back, its caps, and its failures
 * (no file left behind, a message set).
 *
 * Records are built by hand here, as the decoder would fill them; nothing
 * of the decoder itself runs.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode/escape.h"
#include "decode/export.h"

#define PY "/usr/bin/python3"
#define T0 1795860001123456ULL	/* 2026-11-28 10:00:01.123456 UTC */

/* ------------------------------------------------------------------------
 * Building records
 * --------------------------------------------------------------------- */

#define W(s) ((struct wstr){ .p = (char *)(s), .len = sizeof(s) - 1 })

static struct wstr caps9[] = {
	W("SIZE 10485760"), W("PIPELINING"), W("DSN"), W("ENHANCEDSTATUSCODES"),
	W("STARTTLS"), W("AUTH NTLM"), W("VRFY"), W("TURN"), W("HELP"),
};

static struct incident abort_inc;

static void
make_abort_incident(struct incident *inc)
{
	static const struct {
		uint64_t dt;
		uint64_t pkt;
		enum xdir dir;
		const char *text;
	} ev[] = {
		{ 0, 4, XDIR_SERVER, "220 iis-smtp.contoso.test Microsoft ESMTP MAIL Service ready" },
		{ 100000, 6, XDIR_CLIENT, "EHLO mail.example.test" },
		{ 200000, 8, XDIR_SERVER, "250-iis-smtp.contoso.test Hello" },
		{ 200000, 8, XDIR_SERVER, "250 HELP" },
		{ 300000, 10, XDIR_CLIENT, "RSET" },
	};
	size_t i;

	memset(inc, 0, sizeof(*inc));
	inc->kind = INC_8BITMIME_ABORT;
	inc->type = inc_type_name(inc->kind);
	inc->severity = SEV_ERROR;
	inc->confidence = CONF_PROBABLE;
	inc->summary = (char *)"Client 127.0.0.10 gave up on 127.0.0.31 after EHLO without 8BITMIME.";
	inc->diagnosis = (char *)"Server did not offer 8BITMIME; the client aborted before MAIL FROM.";
	inc->fix = (char *)"Enable 8BITMIME on the server, or 8-bit to 7-bit conversion on the client.";
	inc->rfc = "RFC 6152 section 3; KB295734";
	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		inc->evidence[i].ts_us = T0 + ev[i].dt;
		inc->evidence[i].pkt = ev[i].pkt;
		inc->evidence[i].dir = ev[i].dir;
		inc->evidence[i].text.p = (char *)ev[i].text;
		inc->evidence[i].text.len = strlen(ev[i].text);
		if (i == 2)
			inc->evidence[i].flags = XL_CONT;
	}
	inc->nevidence = sizeof(ev) / sizeof(ev[0]);
}

/* The KB295734 session of the brief: EHLO, no 8BITMIME, RSET, QUIT. */
static void
make_abort_session(struct sess_record *r)
{
	memset(r, 0, sizeof(*r));
	strlcpy(r->uid, "SABCDEFGH234567", sizeof(r->uid));
	r->flow_id = 1;
	r->family = AF_INET;
	memcpy(r->client_ip, "\x7f\x00\x00\x0a", 4);
	memcpy(r->server_ip, "\x7f\x00\x00\x1f", 4);
	r->client_port = 37331;
	r->server_port = 25;
	r->ts_start_us = T0;
	r->ts_end_us = T0 + 456789;
	r->packets[XDIR_CLIENT] = 7;
	r->packets[XDIR_SERVER] = 6;
	r->bytes[XDIR_CLIENT] = 60;
	r->bytes[XDIR_SERVER] = 420;
	r->banner_code = 220;
	r->banner = W("iis-smtp.contoso.test Microsoft ESMTP MAIL Service ready");
	r->helo = W("iis-smtp.contoso.test");
	r->ehlo = true;
	r->caps = caps9;
	r->ncaps = 9;
	r->capflags = CAPF(SIZE) | CAPF(PIPELINING) | CAPF(DSN) |
	    CAPF(ENHANCEDSTATUSCODES) | CAPF(STARTTLS) | CAPF(AUTH) | CAPF(VRFY) |
	    CAPF(HELP);
	r->capflags_ever = r->capflags;
	r->size_limit = 10485760;
	r->last_reply_code = 221;
	r->last_reply_text = W("2.0.0 Service closing transmission channel");
	r->commands = 3;
	r->replies = 4;
	r->end = SEND_QUIT;
	r->state = SST_ABORTED;
	r->nlines = 16;
	make_abort_incident(&abort_inc);
	r->inc = &abort_inc;
	r->ninc = 1;
}

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

typedef int (*rec_fn)(FILE *, const struct sess_record *, bool);

static int
json_fn(FILE *f, const struct sess_record *r, bool color)
{
	(void)color;
	return export_json_session(f, r);
}

static int
incident_fn(FILE *f, const struct sess_record *r, bool color)
{
	struct batch_opts o = { .color = color };

	return export_batch_incident(f, r, &r->inc[0], &o);
}

static int
line_fn(FILE *f, const struct sess_record *r, bool color)
{
	struct batch_opts o = { .color = color };

	return export_batch_line(f, r, &o);
}

static char *
render(rec_fn fn, const struct sess_record *r, bool color, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	assert_int_equal(fn(f, r, color), 0);
	assert_int_equal(fclose(f), 0);
	if (len != NULL)
		*len = n;
	return buf;
}

static char *
tmpdir(void)
{
	char *d = strdup("/tmp/smtpscope-export-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
rm_dir(char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

/* Run a Python check over a file; 0 means it passed. */
static int
py_check(const char *script, const char *path)
{
	char sp[] = "/tmp/smtpscope-check-XXXXXX";
	char cmd[400];
	int fd = mkstemp(sp), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, strlen(script)), (ssize_t)strlen(script));
	close(fd);
	snprintf(cmd, sizeof(cmd), PY " %s %s", sp, path);
	rc = system(cmd);
	unlink(sp);
	return rc;
}

static void
assert_no_control(const char *s, size_t n, bool allow_nl)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' && allow_nl)
			continue;
		if (c < 0x20 || c >= 0x7f)
			fail_msg("byte 0x%02x at %zu", c, i);
	}
}

/* ------------------------------------------------------------------------
 * Per-session outputs, exact
 * --------------------------------------------------------------------- */

static const char golden_json[] =
    "{\"uid\":\"SABCDEFGH234567\",\"ts_start\":1795860001.123456,"
    "\"ts_end\":1795860001.580245,\"client_ip\":\"127.0.0.10\","
    "\"client_port\":37331,\"server_ip\":\"127.0.0.31\",\"server_port\":25,"
    "\"packets\":{\"client\":7,\"server\":6},\"bytes\":{\"client\":60,"
    "\"server\":420},\"banner_code\":220,\"banner\":\"iis-smtp.contoso.test "
    "Microsoft ESMTP MAIL Service ready\",\"helo\":\"iis-smtp.contoso.test\","
    "\"ehlo\":true,\"helo_fallback\":false,\"capabilities\":[\"SIZE 10485760\","
    "\"PIPELINING\",\"DSN\",\"ENHANCEDSTATUSCODES\",\"STARTTLS\",\"AUTH NTLM\","
    "\"VRFY\",\"TURN\",\"HELP\"],\"capabilities_dropped\":0,"
    "\"size_limit\":10485760,\"tls\":false,\"starttls_reply_code\":null,\"tls_handshake\":null,"
    "\"auth\":null,\"auth_reply_code\":null,\"transactions\":[],"
    "\"transactions_dropped\":0,\"commands\":3,\"verbs\":[],\"verbs_dropped\":0,\"replies\":4,"
    "\"last_reply_code\":221,\"last_reply_text\":\"2.0.0 Service closing "
    "transmission channel\",\"end\":\"quit\",\"state\":\"aborted\","
    "\"mid_stream\":false,\"gap\":false,\"one_sided\":false,"
    "\"kernel_drops\":false,\"overlap_conflict\":false,\"anomalies\":{},"
    "\"transcript_lines\":16,\"transcript_dropped\":0,\"incidents\":[{"
    "\"type\":\"8bitmime-abort\",\"severity\":\"error\","
    "\"confidence\":\"probable\",\"summary\":\"Client 127.0.0.10 gave up on "
    "127.0.0.31 after EHLO without 8BITMIME.\",\"diagnosis\":\"Server did not "
    "offer 8BITMIME; the client aborted before MAIL FROM.\",\"fix\":\"Enable "
    "8BITMIME on the server, or 8-bit to 7-bit conversion on the client.\","
    "\"rfc\":\"RFC 6152 section 3; KB295734\",\"visibility\":null,"
    "\"evidence\":["
    "{\"ts\":1795860001.123456,\"pkt\":4,\"dir\":\"S\",\"line\":\"220 "
    "iis-smtp.contoso.test Microsoft ESMTP MAIL Service ready\","
    "\"truncated\":false},"
    "{\"ts\":1795860001.223456,\"pkt\":6,\"dir\":\"C\",\"line\":\"EHLO "
    "mail.example.test\",\"truncated\":false},"
    "{\"ts\":1795860001.323456,\"pkt\":8,\"dir\":\"S\",\"line\":"
    "\"250-iis-smtp.contoso.test Hello\",\"truncated\":false},"
    "{\"ts\":1795860001.323456,\"pkt\":8,\"dir\":\"S\",\"line\":\"250 HELP\","
    "\"truncated\":false},"
    "{\"ts\":1795860001.423456,\"pkt\":10,\"dir\":\"C\",\"line\":\"RSET\","
    "\"truncated\":false}]}]}\n";

static void
test_json_golden(void **state)
{
	struct sess_record r;
	char *got;

	(void)state;
	make_abort_session(&r);
	got = render(json_fn, &r, false, NULL);
	assert_string_equal(got, golden_json);
	free(got);
}

static void
test_json_transaction(void **state)
{
	struct sess_record r;
	struct rcpt_record rc[2];
	struct tx_record tx;
	char *got;

	(void)state;
	make_abort_session(&r);
	memset(rc, 0, sizeof(rc));
	memset(&tx, 0, sizeof(tx));
	rc[0].addr = W("a@example.test");
	rc[0].reply_code = 250;
	rc[1].addr = W("b@example.test");
	tx.ts_us = T0 + 5;
	tx.mail_from = W("s@example.test");
	tx.mail_params = W("BODY=8BITMIME SIZE=2773");
	tx.body = BODY_8BITMIME;
	tx.size_param = 2773;
	tx.mail_reply_code = 250;
	tx.rcpts = rc;
	tx.nrcpts = 2;
	tx.data_cmd = true;
	tx.data_reply_code = 354;
	tx.content_seen = tx.content_complete = true;
	tx.data_bytes = 2773;
	tx.eightbit_bytes = 12;
	tx.first_8bit_off = 301;
	tx.cte = W("8bit");
	tx.charset = W("utf-8");
	tx.content_type = W("text/plain");
	tx.reply_code = 554;
	tx.enh = (struct enh_code){ 5, 6, 0 };
	tx.reply_text = W("5.6.0 8-bit content not accepted");
	r.tx = &tx;
	r.ntx = 1;
	r.ninc = 0;
	r.anomalies[SAN_BARE_LF] = 2;
	r.anomalies[SAN_GAP] = 1;
	r.flags = SF_GAP | SF_MID_STREAM;
	got = render(json_fn, &r, false, NULL);
	assert_non_null(strstr(got, "\"transactions\":[{\"ts\":1795860001.123461,"
	    "\"mail_from\":\"s@example.test\",\"mail_params\":\"BODY=8BITMIME "
	    "SIZE=2773\",\"mail_reply_code\":250,\"body\":\"8BITMIME\","
	    "\"size\":2773,\"smtputf8\":false,\"rcpt_to\":[\"a@example.test\","
	    "\"b@example.test\"],\"rcpt_replies\":[250,null],\"rcpts_dropped\":0,"
	    "\"data\":true,\"data_reply_code\":354,\"bdat\":false,"
	    "\"bdat_chunks\":0,\"data_bytes\":2773,\"content_complete\":true,"
	    "\"eightbit\":true,\"eightbit_bytes\":12,\"first_8bit_offset\":301,"
	    "\"bare_lf\":0,\"nul\":false,\"content_transfer_encoding\":\"8bit\","
	    "\"charset\":\"utf-8\",\"content_type\":\"text/plain\","
	    "\"reply_code\":554,\"reply_enhanced\":\"5.6.0\",\"reply_text\":"
	    "\"5.6.0 8-bit content not accepted\",\"queue_id\":null,"
	    "\"message_id\":null,\"subject\":null,\"header_from\":null,"
	    "\"header_to\":null}]"));
	assert_non_null(strstr(got, "\"mid_stream\":true,\"gap\":true,"
	    "\"one_sided\":false"));
	assert_non_null(strstr(got, "\"anomalies\":{\"bare-lf\":2,\"gap\":1},"));
	assert_non_null(strstr(got, "\"incidents\":[]}\n"));
	free(got);
}

static void
test_batch_line_exact(void **state)
{
	struct sess_record r;
	char *got;

	(void)state;
	make_abort_session(&r);
	got = render(line_fn, &r, false, NULL);
	assert_string_equal(got, "2026-11-28 10:00:01.123 127.0.0.10:37331 -> "
	    "127.0.0.31:25 helo=iis-smtp.contoso.test ehlo caps=9 (no 8BITMIME) "
	    "tx=0 end=quit last=221 state=aborted [8bitmime-abort]\n");
	free(got);
	got = render(line_fn, &r, true, NULL);
	assert_non_null(strstr(got, " \033[1;31m[8bitmime-abort]\033[0m\n"));
	free(got);

	/* IPv6, a hostile HELO with spaces and escapes, flags, no incidents. */
	r.family = AF_INET6;
	memset(r.client_ip, 0, 16);
	memset(r.server_ip, 0, 16);
	r.client_ip[0] = 0x20, r.client_ip[1] = 0x01, r.client_ip[2] = 0x0d;
	r.client_ip[3] = 0xb8, r.client_ip[15] = 1;
	r.server_ip[15] = 1;
	r.helo = W("evil host\r\n\x1b[31m");
	r.ehlo = false;
	r.helo_fallback = true;
	r.flags = SF_MID_STREAM | SF_GAP;
	r.ninc = 0;
	r.state = SST_REJECTED;
	got = render(line_fn, &r, false, NULL);
	assert_string_equal(got, "2026-11-28 10:00:01.123 [2001:db8::1]:37331 -> "
	    "[::1]:25 helo=evil\\shost\\r\\n\\033[31m helo-fallback tx=0 end=quit "
	    "last=221 state=rejected limited=mid-stream,gap\n");
	free(got);
}

static void
test_batch_incident_exact(void **state)
{
	struct sess_record r;
	char *got;

	(void)state;
	make_abort_session(&r);
	abort_inc.visibility = (char *)"joined mid-stream";
	abort_inc.evidence[4].flags = XL_TRUNCATED;
	got = render(incident_fn, &r, false, NULL);
	assert_string_equal(got,
	    "error 8bitmime-abort (probable) SABCDEFGH234567 127.0.0.10:37331 -> 127.0.0.31:25\n"
	    "  summary:    Client 127.0.0.10 gave up on 127.0.0.31 after EHLO without 8BITMIME.\n"
	    "  diagnosis:  Server did not offer 8BITMIME; the client aborted before MAIL FROM.\n"
	    "  fix:        Enable 8BITMIME on the server, or 8-bit to 7-bit conversion on the client.\n"
	    "  rfc:        RFC 6152 section 3; KB295734\n"
	    "  visibility: joined mid-stream\n"
	    "  evidence:\n"
	    "    2026-11-28 10:00:01.123456 #4 S: 220 iis-smtp.contoso.test Microsoft ESMTP MAIL Service ready\n"
	    "    2026-11-28 10:00:01.223456 #6 C: EHLO mail.example.test\n"
	    "    2026-11-28 10:00:01.323456 #8 S: 250-iis-smtp.contoso.test Hello\n"
	    "    2026-11-28 10:00:01.323456 #8 S: 250 HELP\n"
	    "    2026-11-28 10:00:01.423456 #10 C: RSET [truncated]\n"
	    "\n");
	free(got);
	got = render(incident_fn, &r, true, NULL);
	assert_true(strncmp(got, "\033[1;31merror\033[0m 8bitmime-abort", 30) == 0);
	free(got);
	/* Hostile evidence stays one escaped line each. */
	abort_inc.evidence[1].text = W("MAIL FROM:<\xff\x00\r\n\x1b]0;pwned\x07>");
	got = render(incident_fn, &r, false, NULL);
	assert_non_null(strstr(got, "#6 C: MAIL FROM:<\\377\\0\\r\\n\\033]0;pwned\\a>\n"));
	free(got);
}

/* ------------------------------------------------------------------------
 * Hostile bytes: the JSON stays valid and reversible
 * --------------------------------------------------------------------- */

static char hostile[600];
static size_t hostile_len;
static char hostile_c[256];	/* bytes 1..255 as a C string */

static void
make_hostile(void)
{
	static const char extra[] = "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"
	    "\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\"\\\\x41\\u0000\0\0" "1";
	size_t i;

	for (i = 0; i < 256; i++)
		hostile[i] = (char)i;
	for (i = 1; i < 256; i++)
		hostile_c[i - 1] = (char)i;
	hostile_c[255] = '\0';
	memcpy(hostile + 256, extra, sizeof(extra) - 1);
	hostile_len = 256 + sizeof(extra) - 1;
}

static const char hostile_py[] =
    "import json, re, sys\n"
    "def back(s):\n"
    "    out = bytearray()\n"
    "    for m in re.finditer(r'\\\\x([0-9a-f]{2})|(.)', s, re.S):\n"
    "        out += bytes([int(m.group(1), 16)]) if m.group(1) else m.group(2).encode('utf-8')\n"
    "    return bytes(out)\n"
    "want = bytes(range(256)) + b'\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80"
    "\\xe2\\x80\\xa8\\xe2\\x80\\xa9\\xc3\\xa9\"\\\\\\\\x41\\\\u0000\\x00\\x001'\n"
    "lines = open(sys.argv[1], encoding='utf-8').read().split('\\n')\n"
    "assert lines[-1] == '' and len(lines) == 3, len(lines)\n"
    "for l in lines[:2]:\n"
    "    d = json.loads(l)\n"
    "    for k in ('helo', 'banner', 'last_reply_text', 'auth'):\n"
    "        assert back(d[k]) == want, k\n"
    "    t = d['transactions'][0]\n"
    "    assert back(t['mail_from']) == want and back(t['rcpt_to'][0]) == want\n"
    "    assert back(d['capabilities'][0]) == want\n"
    "    e = d['incidents'][0]\n"
    "    assert back(e['summary']) == want[1:256], 'summary'\n"
    "    assert back(e['evidence'][0]['line']) == want\n"
    "    assert d['client_ip'] == '2001:db8::1', d['client_ip']\n"
    "print('ok')\n";

static void
test_json_hostile(void **state)
{
	struct sess_record r;
	struct rcpt_record rc;
	struct tx_record tx;
	struct wstr h, cap[1];
	char path[] = "/tmp/smtpscope-hostile-XXXXXX", cmd[200];
	char *buf, *bl;
	size_t n, nl;
	int fd;

	(void)state;
	make_hostile();
	h.p = hostile;
	h.len = hostile_len;
	make_abort_session(&r);
	r.family = AF_INET6;
	memset(r.client_ip, 0, 16);
	r.client_ip[0] = 0x20, r.client_ip[1] = 0x01, r.client_ip[2] = 0x0d;
	r.client_ip[3] = 0xb8, r.client_ip[15] = 1;
	r.helo = r.banner = r.last_reply_text = r.auth_used = h;
	cap[0] = h;
	r.caps = cap;
	r.ncaps = 1;
	memset(&rc, 0, sizeof(rc));
	memset(&tx, 0, sizeof(tx));
	rc.addr = h;
	tx.mail_from = tx.mail_params = tx.cte = tx.charset = tx.reply_text = h;
	tx.rcpts = &rc;
	tx.nrcpts = 1;
	r.tx = &tx;
	r.ntx = 1;
	abort_inc.summary = hostile_c;
	abort_inc.evidence[0].text = h;
	buf = render(json_fn, &r, false, &n);
	/* One line, one newline, and nothing a terminal would act on except
	 * UTF-8 passed through (checked by Python below). */
	assert_int_equal(memchr(buf, '\n', n), buf + n - 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	assert_int_equal(py_check(hostile_py, path), 0);
	snprintf(cmd, sizeof(cmd), "jq -e -s 'length == 2 and .[0].ehlo == true' %s >/dev/null", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	free(buf);

	/* The readable forms: one line, no control byte but newlines. */
	bl = render(line_fn, &r, false, &nl);
	assert_no_control(bl, nl - 1, false);
	assert_int_equal(bl[nl - 1], '\n');
	free(bl);
	bl = render(incident_fn, &r, false, &nl);
	assert_no_control(bl, nl, true);
	free(bl);
}

static void
test_write_errors(void **state)
{
	struct sess_record r;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (f == NULL)
		skip();
	make_abort_session(&r);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(export_json_session(f, &r), -1);
	clearerr(f);
	assert_int_equal(export_batch_line(f, &r, NULL), -1);
	clearerr(f);
	assert_int_equal(export_batch_incident(f, &r, &r.inc[0], NULL), -1);
	clearerr(f);
	assert_int_equal(export_csv_incidents(f, &r), -1);
	fclose(f);
}

/* ------------------------------------------------------------------------
 * Reports
 * --------------------------------------------------------------------- */

static struct incident body_inc;

/* Four sessions: the abort twice against one server (from two clients:
 * one cause), a body rejection against another (a client-side cause), and
 * one clean session. */
static void
add_sample(struct report *rp)
{
	struct sess_record r;

	make_abort_session(&r);
	report_add(rp, &r);
	make_abort_session(&r);
	strlcpy(r.uid, "SZZZZZZZZ234567", sizeof(r.uid));
	r.client_ip[3] = 0x0c;
	r.client_port = 40000;
	r.ts_start_us = T0 + 60000000;
	r.ts_end_us = T0 + 61000000;
	abort_inc.evidence[0].ts_us = T0 + 60000000;
	report_add(rp, &r);

	make_abort_session(&r);
	memset(&body_inc, 0, sizeof(body_inc));
	body_inc.kind = INC_BODY_REJECTED;
	body_inc.type = inc_type_name(body_inc.kind);
	body_inc.severity = SEV_WARNING;
	body_inc.confidence = CONF_CERTAIN;
	body_inc.summary = (char *)"=cmd|' /C calc'!A0 <b>*bold*</b>";
	body_inc.diagnosis = (char *)"The server refused BODY=8BITMIME.";
	body_inc.fix = (char *)"Offer 8BITMIME.";
	body_inc.rfc = "RFC 6152";
	body_inc.evidence[0] = (struct xline){ T0 + 2000000, 20, XDIR_SERVER, 0,
		W("555 5.5.4 BODY=8BITMIME not supported") };
	body_inc.nevidence = 1;
	r.server_ip[3] = 0x20;
	r.helo = W("=HYPERLINK(\"http://x\")");
	r.inc = &body_inc;
	r.ts_start_us = T0 + 2000000;
	r.state = SST_REJECTED;
	r.anomalies[SAN_BARE_LF] = 3;
	report_add(rp, &r);

	make_abort_session(&r);
	r.ninc = 0;
	r.state = SST_DELIVERED;
	report_add(rp, &r);
}

static const char *limits[] = { "flow table full (3 evicted)" };
static const struct run_count cap_an[] = { { "tcp-gap", 2 }, { "ip-checksum", 0 } };

static void
fill_stats(struct run_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->source = "file sample.pcap";
	st->first_ts_us = T0 - 1000000;
	st->last_ts_us = T0 + 70000000;
	st->packets = 1234;
	st->bytes = 567890;
	st->sessions = 5;
	st->open_sessions = 1;
	st->limits_hit = limits;
	st->nlimits = 1;
	st->anomalies = cap_an;
	st->nanomalies = 2;
}

static char *
write_report(const char *dir, const char *name, char **path_out)
{
	char path[300], err[256];
	struct run_stats st;
	struct report *rp;
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err[0] = '\0';
	rp = report_new(path, err, sizeof(err));
	if (rp == NULL)
		fail_msg("report_new: %s", err);
	add_sample(rp);
	fill_stats(&st);
	if (report_write(rp, &st, err, sizeof(err)) != 0)
		fail_msg("report_write: %s", err);
	/* Written once only. */
	assert_int_equal(report_write(rp, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already written"));
	report_free(rp);
	assert_int_equal(count_entries(dir), 1);	/* no temp file left */
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (path_out != NULL)
		*path_out = strdup(path);
	return buf;
}

static size_t
count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void
test_report_txt(void **state)
{
	char *dir = tmpdir(), *txt;

	(void)state;
	txt = write_report(dir, "run.TXT", NULL);
	assert_no_control(txt, strlen(txt), true);
	assert_non_null(strstr(txt, "  source: file sample.pcap\n"
	    "  span: 2026-11-28 10:00:00.123456 UTC to 2026-11-28 10:01:11.123456 UTC\n"
	    "  packets: 1234, bytes: 567890\n"
	    "  sessions seen by the capture: 5, still open at the end: 1\n"
	    "  limits hit: flow table full (3 evicted)\n"
	    "  capture anomalies: tcp-gap 2\n"
	    "  sessions decoded: 4, transactions: 0\n"
	    "  session states: delivered 1, rejected 1, aborted 2\n"
	    "  protocol anomalies: bare-lf 3\n"
	    "  incidents: 3 (error 2, warning 1, notice 0)\n"));
	assert_non_null(strstr(txt, "  8bitmime-abort               error             2        1\n"));
	/* One entry per cause: the server that must change, its clients. */
	assert_non_null(strstr(txt, "\n* 8bitmime-abort error: server 127.0.0.31:25 "
	    "(iis-smtp.contoso.test), 2 sessions with 2 clients\n\n"
	    "    confidence: probable\n"
	    "    first seen: 2026-11-28 10:00:01.123456 UTC\n"
	    "    last seen: 2026-11-28 10:01:01.123456 UTC\n"
	    "    clients: 127.0.0.10 x1, 127.0.0.12 x1\n"
	    "    sessions: SABCDEFGH234567 SZZZZZZZZ234567\n\n"
	    "    diagnosis:  Server did not offer 8BITMIME; the client aborted before MAIL FROM.\n"));
	/* A client-side cause is the client's, named by its HELO. */
	assert_non_null(strstr(txt, "\n* body-rejected warning: client 127.0.0.10 "
	    "(=HYPERLINK(\"http://x\")), 1 session with 1 server\n"));
	assert_int_equal(count_str(txt, "\n* "), 2);
	assert_non_null(strstr(txt, "    session:    SABCDEFGH234567 127.0.0.10:37331 -> 127.0.0.31:25, "
	    "2026-11-28 10:00:01.123456 UTC, helo iis-smtp.contoso.test\n"
	    "      2026-11-28 10:00:01.123456 #4 S: 220 iis-smtp.contoso.test Microsoft ESMTP MAIL Service ready\n"));
	/* Diagnosis and fix once per group, not once per incident. */
	assert_int_equal(count_str(txt, "aborted before MAIL FROM"), 1);
	assert_int_equal(count_str(txt, "Offer 8BITMIME."), 1);
	/* Error groups come first. */
	assert_true(strstr(txt, "* 8bitmime-abort") < strstr(txt, "* body-rejected"));
	free(txt);
	rm_dir(dir);
}

static void
test_report_md(void **state)
{
	char *dir = tmpdir(), *md;

	(void)state;
	md = write_report(dir, "run.md", NULL);
	assert_no_control(md, strlen(md), true);
	assert_non_null(strstr(md, "# smtpscope report\n"));
	assert_non_null(strstr(md, "| 8bitmime-abort | error | 2 | 1 |\n"));
	assert_non_null(strstr(md, "### 8bitmime-abort error: server 127.0.0.31:25 "
	    "(iis-smtp.contoso.test), 2 sessions with 2 clients\n"));
	/* Wire text cannot add markup. */
	assert_non_null(strstr(md, "**example:** =cmd\\|' /C calc'\\!A0 \\<b\\>\\*bold\\*\\</b\\>\n"));
	assert_non_null(strstr(md, "helo =HYPERLINK(\"http://x\"):\n\n```\n"));
	assert_int_equal(count_str(md, "```") % 2, 0);
	assert_int_equal(count_str(md, "```"), 4);
	free(md);
	rm_dir(dir);
}

static const char report_json_py[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1]))\n"
    "run, tot = d['run'], d['totals']\n"
    "assert run['packets'] == 1234 and run['sessions'] == 5 and run['open_sessions'] == 1\n"
    "assert run['limits_hit'] == ['flow table full (3 evicted)']\n"
    "assert run['anomalies'] == {'tcp-gap': 2}, run['anomalies']\n"
    "assert run['kernel_drops'] is None\n"
    "assert run['ts_first'] == 1795860000.123456\n"
    "assert tot['sessions'] == 4 and tot['incidents'] == 3\n"
    "assert tot['states'] == {'delivered': 1, 'rejected': 1, 'aborted': 2}\n"
    "assert tot['severities'] == {'error': 2, 'warning': 1, 'notice': 0}\n"
    "assert tot['anomalies'] == {'bare-lf': 3}\n"
    "assert [t['type'] for t in d['types']] == ['8bitmime-abort', 'body-rejected']\n"
    "assert d['version'] == 2\n"
    "g = d['causes']\n"
    "assert len(g) == 2 and g[0]['type'] == '8bitmime-abort' and g[0]['count'] == 2\n"
    "assert g[0]['side'] == 'server' and g[0]['host_ip'] == '127.0.0.31' and g[0]['host_port'] == 25\n"
    "assert g[0]['host_name'] == 'iis-smtp.contoso.test' and g[0]['family'] == '8bit'\n"
    "assert g[0]['peers'] == [{'ip': '127.0.0.10', 'count': 1}, {'ip': '127.0.0.12', 'count': 1}], g[0]['peers']\n"
    "assert g[0]['sessions'] == ['SABCDEFGH234567', 'SZZZZZZZZ234567']\n"
    "assert g[0]['first_seen'] == 1795860001.123456 and g[0]['last_seen'] == 1795860061.123456\n"
    "ex = g[0]['example']\n"
    "assert ex['uid'] == 'SABCDEFGH234567' and ex['helo'] == 'iis-smtp.contoso.test'\n"
    "assert ex['client_ip'] == '127.0.0.10' and ex['server_ip'] == '127.0.0.31'\n"
    "ev = ex['incident']['evidence']\n"
    "assert len(ev) == 5 and ev[1] == {'ts': 1795860001.223456, 'pkt': 6, 'dir': 'C', 'line': 'EHLO mail.example.test', 'truncated': False}, ev[1]\n"
    "assert g[1]['side'] == 'client' and g[1]['host_ip'] == '127.0.0.10' and g[1]['host_port'] is None\n"
    "assert g[1]['peers'] == [{'ip': '127.0.0.32', 'count': 1}] and g[1]['severity'] == 'warning'\n"
    "assert g[1]['example']['helo'] == '=HYPERLINK(\"http://x\")'\n"
    "assert [t['causes'] for t in d['types']] == [1, 1]\n"
    "print('ok')\n";

static void
test_report_json(void **state)
{
	char *dir = tmpdir(), *js, *path, cmd[400];

	(void)state;
	js = write_report(dir, "run.json", &path);
	assert_int_equal(py_check(report_json_py, path), 0);
	snprintf(cmd, sizeof(cmd), "jq -e '.causes | length == 2' %s >/dev/null", path);
	assert_int_equal(system(cmd), 0);
	free(path);
	free(js);
	rm_dir(dir);
}

static const char report_csv_py[] =
    "import csv, sys\n"
    "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='ascii')))\n"
    "assert rows[0] == ['ts', 'uid', 'type', 'severity', 'confidence', 'client_ip', 'client_port', 'server_ip', 'server_port', 'helo', 'reply_code', 'reply_enhanced', 'reply_text', 'mail_from', 'rcpt_to', 'queue_id', 'message_id', 'subject', 'summary', 'diagnosis', 'fix', 'rfc', 'visibility'], rows[0]\n"
    "assert len(rows) == 4 and all(len(r) == 23 for r in rows), rows\n"
    "assert rows[1][:10] == ['2026-11-28T10:00:01.123456Z', 'SABCDEFGH234567', '8bitmime-abort', 'error', 'probable', '127.0.0.10', '37331', '127.0.0.31', '25', 'iis-smtp.contoso.test'], rows[1]\n"
    "assert rows[1][10:13] == ['221', '', '2.0.0 Service closing transmission channel'], rows[1][10:13]\n"
    "assert rows[2][0] == '2026-11-28T10:01:01.123456Z' and rows[2][6] == '40000'\n"
    "assert rows[3][2] == 'body-rejected' and rows[3][7] == '127.0.0.32'\n"
    "assert rows[3][9] == \"'=HYPERLINK(\\\"http://x\\\")\", rows[3][9]\n"
    "assert rows[3][10:13] == ['555', '5.5.4', '5.5.4 BODY=8BITMIME not supported'], rows[3][10:13]\n"
    "assert rows[3][18] == \"'=cmd|' /C calc'!A0 <b>*bold*</b>\", rows[3][18]\n"
    "assert rows[3][21] == 'RFC 6152' and rows[3][22] == ''\n"
    "print('ok')\n";

/* The UI's "write report" key: snapshots of an accumulator without a path,
 * as often as asked, equal to what report_write gives for the same data. */
static void
test_report_snapshot(void **state)
{
	char *dir = tmpdir(), *full, path[300], path2[300], err[256];
	struct run_stats st;
	struct report *rp;
	char *snap;
	FILE *f;
	long n;

	(void)state;
	full = write_report(dir, "full.txt", NULL);
	rp = report_new(NULL, err, sizeof(err));
	assert_non_null(rp);
	add_sample(rp);
	fill_stats(&st);
	snprintf(path, sizeof(path), "%s/snap.txt", dir);
	assert_int_equal(report_snapshot(rp, path, &st, err, sizeof(err)), 0);
	/* Again, to another format: allowed any number of times. */
	snprintf(path2, sizeof(path2), "%s/snap.json", dir);
	assert_int_equal(report_snapshot(rp, path2, &st, err, sizeof(err)), 0);
	assert_int_equal(py_check(report_json_py, path2), 0);
	/* CSV exists only in its streaming form; no path: no report_write. */
	snprintf(path2, sizeof(path2), "%s/snap.csv", dir);
	assert_int_equal(report_snapshot(rp, path2, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CSV"));
	assert_int_equal(report_write(rp, &st, err, sizeof(err)), -1);
	snprintf(path2, sizeof(path2), "/nonexistent-dir/x.txt");
	assert_int_equal(report_snapshot(rp, path2, &st, err, sizeof(err)), -1);
	report_free(rp);
	assert_int_equal(count_entries(dir), 3);	/* full, snap.txt, snap.json */
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	snap = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(snap, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_string_equal(snap, full);
	free(snap);
	free(full);
	rm_dir(dir);
}

static void
test_report_csv(void **state)
{
	char *dir = tmpdir(), *cs, *path;

	(void)state;
	cs = write_report(dir, "run.csv", &path);
	assert_non_null(strstr(cs, "\r\n"));
	assert_int_equal(py_check(report_csv_py, path), 0);
	free(path);
	free(cs);
	rm_dir(dir);
}

static void
test_report_refusals(void **state)
{
	char *dir = tmpdir(), path[300], err[256];
	struct report *rp;

	(void)state;
	err[0] = '\0';
	assert_null(report_new("/tmp/x.pdf", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown report format"));
	err[0] = '\0';
	assert_null(report_new("/nonexistent-dir/r.csv", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/r.csv: cannot create: No such file"));
	err[0] = '\0';
	assert_null(report_new("/nonexistent-dir/r.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/r.json: cannot create"));
	/* A directory (or a device) in the way is refused, never replaced. */
	snprintf(path, sizeof(path), "%s/sub.json", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	err[0] = '\0';
	assert_null(report_new(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	err[0] = '\0';
	assert_null(report_new("/dev/null.json/", err, sizeof(err)));
	assert_true(err[0] != '\0');
	rmdir(path);
	/* An unwritten report that report_new created leaves nothing behind. */
	snprintf(path, sizeof(path), "%s/r.csv", dir);
	rp = report_new(path, err, sizeof(err));
	assert_non_null(rp);
	assert_int_equal(report_format(rp), REPORT_CSV);
	add_sample(rp);
	assert_int_equal(count_entries(dir), 1);	/* the file, streaming */
	report_free(rp);
	assert_int_equal(count_entries(dir), 0);
	rm_dir(dir);
}

/* A write that fails midway (file size limit, as a full disk would) gives
 * -1, a message, and no file at all.  Run in a child: it lowers its limit. */
static void
test_report_write_fails(void **state)
{
	static const char *const names[] = { "r.json", "r.md", "r.txt", "r.csv" };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		char *dir = tmpdir(), path[300];
		pid_t pid;
		int status;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct rlimit rl = { 200, 200 };
			char err[256] = "";
			struct run_stats st;
			struct report *rp;
			int rc, ok;

			signal(SIGXFSZ, SIG_IGN);
			rp = report_new(path, err, sizeof(err));
			if (rp == NULL)
				_exit(10);
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
				_exit(11);
			add_sample(rp);
			fill_stats(&st);
			rc = report_write(rp, &st, err, sizeof(err));
			ok = rc == -1 && strstr(err, "failed") != NULL &&
			    strstr(err, path) != NULL;
			report_free(rp);
			_exit(ok ? 0 : 12);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(count_entries(dir), 0);
		rm_dir(dir);
	}
}

/* Past CAUSE_MAX causes, incidents are counted but not detailed. */
static const char caps_py[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1]))\n"
    "assert len(d['causes']) == 2048, len(d['causes'])\n"
    "assert d['totals']['causes_dropped'] == 3000 - 2048\n"
    "assert d['totals']['incidents'] == 3000 and d['types'][0]['count'] == 3000\n"
    "assert d['types'][0]['causes'] == 2048\n"
    "print('ok')\n";

static void
test_report_caps(void **state)
{
	char *dir = tmpdir(), path[300], err[256];
	struct sess_record r;
	struct report *rp;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/caps.json", dir);
	rp = report_new(path, err, sizeof(err));
	assert_non_null(rp);
	for (i = 0; i < 3000; i++) {
		make_abort_session(&r);
		r.server_ip[2] = (uint8_t)(i >> 8);
		r.server_ip[3] = (uint8_t)i;
		report_add(rp, &r);
	}
	assert_int_equal(report_write(rp, NULL, err, sizeof(err)), 0);
	report_free(rp);
	assert_int_equal(py_check(caps_py, path), 0);
	rm_dir(dir);
}

/* Every style, in an order that has each reuse (or not) the calendar text
 * of the call before, at the same second and the next; cut to the size. */
static void
test_fmt_time(void **state)
{
	char b[EXPORT_TS_SIZE];
	const uint64_t t = 1795860001123456ULL;	/* 2026-11-28 10:00:01 UTC */

	(void)state;
	assert_string_equal(export_fmt_time(b, sizeof(b), t, TS_EPOCH), "1795860001.123456");
	assert_string_equal(export_fmt_time(b, sizeof(b), t, TS_ISO), "2026-11-28T10:00:01.123456Z");
	assert_string_equal(export_fmt_time(b, sizeof(b), t, TS_READABLE), "2026-11-28 10:00:01.123456");
	assert_string_equal(export_fmt_time(b, sizeof(b), t + 1, TS_MILLI), "2026-11-28 10:00:01.123");
	assert_string_equal(export_fmt_time(b, sizeof(b), t + 1000000, TS_MILLI), "2026-11-28 10:00:02.123");
	assert_string_equal(export_fmt_time(b, sizeof(b), t, TS_ISO), "2026-11-28T10:00:01.123456Z");
	assert_string_equal(export_fmt_time(b, sizeof(b), t, TS_LOCAL), "2026-11-28 10:00:01.123456");
	assert_string_equal(export_fmt_time(b, sizeof(b), 7, TS_LOCAL_MILLI), "1970-01-01 00:00:00.000");
	assert_string_equal(export_fmt_time(b, sizeof(b), 7, TS_READABLE), "1970-01-01 00:00:00.000007");
	assert_string_equal(export_fmt_time(b, 11, t, TS_ISO), "2026-11-28");
	assert_string_equal(export_fmt_time(b, 1, t, TS_MILLI), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_json_transaction),
		cmocka_unit_test(test_batch_line_exact),
		cmocka_unit_test(test_batch_incident_exact),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_report_txt),
		cmocka_unit_test(test_report_md),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_report_csv),
		cmocka_unit_test(test_report_snapshot),
		cmocka_unit_test(test_report_refusals),
		cmocka_unit_test(test_report_write_fails),
		cmocka_unit_test(test_report_caps),
		cmocka_unit_test(test_fmt_time),
	};

	/* Batch text is local time: pin the zone so the expected text holds. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
