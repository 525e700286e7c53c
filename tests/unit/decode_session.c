/*
 * decode_session.c - the session decoder on transcripts: commands and
 * parameters, replies and capabilities, DATA and BDAT content, STARTTLS,
 * AUTH masking, gaps, mid-stream and one-sided sessions, caps on lines
 * and transcript.  Every case also runs byte by byte and at every split.
 */
#include <stdio.h>
#include <string.h>

#include "decode_harness.h"
#include "decode/dec_int.h"

#define GREET "220 mx.example.test ESMTP\r\n"
#define CAPS_FULL "250-mx.example.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n" \
	"250-SIZE 1000000\r\n250-DSN\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n" \
	"250-BINARYMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n" \
	"250 AUTH PLAIN LOGIN\r\n"

/* ---------------------------------------------------------------------
 * Commands and parameters
 * ------------------------------------------------------------------ */
static const struct step commands[] = {
	S(GREET),
	C("EhLo client.example.test\r\n"),
	S(CAPS_FULL),
	C("NOOP\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("VRFY postmaster\r\n"),
	S("252 2.0.0 postmaster\r\n"),
	C("EXPN staff\r\n"),
	S("502 5.5.1 EXPN not available\r\n"),
	C("HELP\r\n"),
	S("214 2.0.0 See RFC 5321\r\n"),
	C("XYZZY magic\r\n"),
	S("502 5.5.2 Error: command not recognized\r\n"),
	C("MaIl FrOm:<a@example.test> BODY=7BIT SIZE=1234 SMTPUTF8 RET=HDRS ENVID=abc\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("rcpt to:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("RCPT TO: <c@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("RSET\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("quit\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_commands(const struct sess_record *r)
{
	const struct tx_record *t;

	assert_wstr(&r->helo, "client.example.test");
	assert_int_equal(r->commands, 11);
	assert_int_equal(r->replies, 12);
	assert_int_equal(r->anomalies[SAN_UNKNOWN_COMMAND], 1);
	assert_int_equal(r->ntx, 1);
	t = &r->tx[0];
	assert_wstr(&t->mail_from, "a@example.test");
	assert_wstr(&t->mail_params, "BODY=7BIT SIZE=1234 SMTPUTF8 RET=HDRS ENVID=abc");
	assert_int_equal(t->body, BODY_7BIT);
	assert_int_equal(t->size_param, 1234);
	assert_true(t->smtputf8);
	assert_true(t->dsn_params);
	assert_int_equal(t->nrcpts, 2);
	assert_wstr(&t->rcpts[0].addr, "b@example.test");
	assert_wstr(&t->rcpts[0].params, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test");
	assert_wstr(&t->rcpts[1].addr, "c@example.test");
	assert_wstr(&t->rcpts[1].reply_text, "2.1.5 Ok");
	assert_false(t->data_cmd);
	assert_int_equal(r->end, SEND_QUIT);
	/* MAIL accepted, then RSET: abandoned, the client gave up. */
	assert_int_equal(r->state, SST_ABORTED);
	assert_incs(r, NULL);
}

static void
t_commands(void **state)
{
	struct hcase c = { commands, NSTEPS(commands), SEND_CLOSE, false, 0, 0,
	    check_commands, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * Replies, enhanced codes, capabilities
 * ------------------------------------------------------------------ */
static const struct step caps[] = {
	S("220-mx.example.test ESMTP first line\r\n220-second line\r\n220 last\r\n"),
	C("EHLO c.example.test\r\n"),
	S("250-mx.example.test greets c.example.test\r\n250-size 52428800\r\n"
	  "250-8bitmime\r\n250-Auth=LOGIN PLAIN\r\n250-X-EXPS GSSAPI NTLM\r\n"
	  "250-XXXXXXXA\r\n250 enhancedstatuscodes\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 closing connection\r\n"),
};

static void
check_caps(const struct sess_record *r)
{
	assert_int_equal(r->banner_code, 220);
	assert_wstr(&r->banner, "mx.example.test ESMTP first line");
	assert_int_equal(r->ncaps, 6);
	assert_wstr(&r->caps[0], "SIZE 52428800");
	assert_wstr(&r->caps[1], "8BITMIME");
	assert_wstr(&r->caps[2], "AUTH=LOGIN PLAIN");
	assert_wstr(&r->caps[3], "X-EXPS GSSAPI NTLM");
	assert_wstr(&r->caps[4], "XXXXXXXA");
	assert_wstr(&r->caps[5], "ENHANCEDSTATUSCODES");
	assert_int_equal(r->capflags, CAPF(SIZE) | CAPF(8BITMIME) | CAPF(AUTH) |
	    CAPF(ENHANCEDSTATUSCODES));
	assert_int_equal(r->size_limit, 52428800);
	assert_wstr(&r->auth_mechs, "LOGIN PLAIN");
	assert_int_equal(r->last_enh.cls, 2);
	assert_int_equal(r->last_enh.subject, 0);
	assert_int_equal(r->last_enh.detail, 0);
	assert_wstr(&r->last_reply_text, "2.0.0 closing connection");
	/* Continuation lines are marked. */
	assert_int_equal(r->lines[0].flags, 0);
	assert_int_equal(r->lines[1].flags, XL_CONT);
	assert_int_equal(r->state, SST_NO_MAIL);
	/* A probe (EHLO, QUIT) is no abort; the masked keyword is found. */
	assert_incs(r, "capability-stripped", NULL);
	assert_inc(r, "capability-stripped", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "capability-stripped"), "250-XXXXXXXA", 3);
}

static void
t_caps(void **state)
{
	struct hcase c = { caps, NSTEPS(caps), SEND_CLOSE, false, 0, 0, check_caps, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * DATA: dot-stuffing, 8-bit, headers, long lines
 * ------------------------------------------------------------------ */
static const struct step data[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("DATA\r\n"),
	S("354 go ahead\r\n"),
	C("Subject: test\r\n"
	  "content-type: Text/Plain;\r\n"
	  "\tformat=flowed; CharSet=\"UTF-8\"\r\n"
	  "CONTENT-TRANSFER-ENCODING:  8bit\r\n"
	  "\r\n"
	  "..a line that started with a dot\r\n"
	  "caf\xc3\xa9\r\n"
	  ".\r\n"),
	S("250 2.0.0 Ok: queued\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_data(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];
	/* The content: everything before the final ".\r\n". */
	static const char content[] = "Subject: test\r\n"
	    "content-type: Text/Plain;\r\n"
	    "\tformat=flowed; CharSet=\"UTF-8\"\r\n"
	    "CONTENT-TRANSFER-ENCODING:  8bit\r\n"
	    "\r\n"
	    "..a line that started with a dot\r\n"
	    "caf\xc3\xa9\r\n";

	assert_true(t->content_complete);
	assert_int_equal(t->data_bytes, sizeof(content) - 1);
	assert_int_equal(t->eightbit_bytes, 2);
	assert_int_equal(t->first_8bit_off, sizeof(content) - 1 - 4);
	assert_wstr(&t->content_type, "Text/Plain");
	assert_wstr(&t->charset, "UTF-8");
	assert_wstr(&t->cte, "8bit");
	assert_int_equal(t->reply_code, 250);
	assert_int_equal(t->bare_lf, 0);
	assert_int_equal(r->anomalies[SAN_UNKNOWN_COMMAND], 0);
	assert_int_equal(r->state, SST_DELIVERED);
}

static void
t_data(void **state)
{
	struct hcase c = { data, NSTEPS(data), SEND_CLOSE, false, 0, 0, check_data, false, false };

	(void)state;
	run_case(&c);
}

static const struct step data_long[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("DATA\r\n"),
	S("354 go ahead\r\n"),
	C("Subject: long\r\n\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
	  "bare\nlf and a NUL \0 here\r\n.\r\n"),
	S("250 2.0.0 Ok: queued\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_data_long(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];

	assert_int_equal(r->anomalies[SAN_LONG_TEXT], 1);
	assert_int_equal(t->bare_lf, 1);
	assert_true(t->nul_seen);
	assert_int_equal(t->data_bytes, 17 + 1050 + 2 + 26);
	assert_true(str_in(r->lines[r->nlines - 4].text.p, "1 line over 1000 octets"));
	assert_incs(r, "bare-lf", "line-too-long", NULL);
	assert_inc(r, "line-too-long", SEV_NOTICE, CONF_CERTAIN);
	assert_inc(r, "bare-lf", SEV_WARNING, CONF_CERTAIN);
}

static void
t_data_long_bare_nul(void **state)
{
	struct hcase c = { data_long, NSTEPS(data_long), SEND_CLOSE, false, 0, 0,
	    check_data_long, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * BDAT
 * ------------------------------------------------------------------ */
static const struct step bdat[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\n"
	  "BDAT 16\r\nSubject: x\r\n\r\nabBDAT 4 LAST\r\n\xff\x00z\n"),
	S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 16 octets\r\n250 2.0.0 Ok: queued\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_bdat(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];

	assert_true(t->bdat);
	assert_false(t->data_cmd);
	assert_int_equal(t->bdat_chunks, 2);
	assert_int_equal(t->data_bytes, 20);
	assert_true(t->content_complete);
	assert_int_equal(t->eightbit_bytes, 1);
	assert_int_equal(t->first_8bit_off, 16);
	assert_true(t->nul_seen);
	assert_int_equal(t->reply_code, 250);
	assert_int_equal(t->body, BODY_BINARYMIME);
	assert_int_equal(r->anomalies[SAN_BDAT_MISMATCH], 0);
	assert_int_equal(r->commands, 6);
	assert_int_equal(r->state, SST_DELIVERED);
	assert_incs(r, NULL);
}

static void
t_bdat(void **state)
{
	struct hcase c = { bdat, NSTEPS(bdat), SEND_CLOSE, false, 0, 0, check_bdat, false, false };

	(void)state;
	run_case(&c);
}

static const struct step bdat_bad[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("BDAT 5 LAST\r\nhello world\r\n"),
	S("250 2.0.0 Ok: queued\r\n"),
	S("500 5.5.2 Error: bad syntax\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_bdat_bad(const struct sess_record *r)
{
	const struct incident *inc;

	assert_int_equal(r->anomalies[SAN_BDAT_MISMATCH], 1);
	assert_int_equal(r->anomalies[SAN_UNKNOWN_COMMAND], 1);
	assert_true(r->tx[0].content_complete);
	assert_int_equal(r->tx[0].data_bytes, 5);
	assert_inc(r, "binarymime-violation", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "binarymime-violation");
	assert_true(str_in(inc->diagnosis, "did not match"));
	assert_evidence(inc, " world", 8);
}

static void
t_bdat_mismatch(void **state)
{
	struct hcase c = { bdat_bad, NSTEPS(bdat_bad), SEND_CLOSE, false, 0, 0,
	    check_bdat_bad, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * AUTH masking
 * ------------------------------------------------------------------ */
static const struct step auth[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S("250-mx.example.test\r\n250 AUTH PLAIN LOGIN\r\n"),
	C("AUTH PLAIN AGFsaWNlAHMzY3JldFBhc3M=\r\n"),
	S("535 5.7.8 Error: authentication failed\r\n"),
	C("AUTH LOGIN\r\n"),
	S("334 VXNlcm5hbWU6\r\n"),
	C("YWxpY2VAdXNlcg==\r\n"),
	S("334 UGFzc3dvcmQ6\r\n"),
	C("c2VjcmV0LXBhc3N3b3Jk\r\n"),
	S("235 2.7.0 Authentication successful\r\n"),
	C("QUIT\r\n"),
	S("221 2.0.0 Bye\r\n"),
};

static void
check_auth(const struct sess_record *r)
{
	char *d = h_dump(r);
	size_t masked = 0;

	assert_non_null(d);
	/* No credential byte survives anywhere in the record. */
	assert_null(strstr(d, "AGFsaWNl"));
	assert_null(strstr(d, "YWxpY2VA"));
	assert_null(strstr(d, "c2VjcmV0"));
	free(d);
	assert_wstr(&r->lines[4].text, "AUTH PLAIN ********");
	assert_int_equal(r->lines[4].flags, XL_MASKED);
	for (size_t i = 0; i < r->nlines; i++)
		if (r->lines[i].flags & XL_MASKED) {
			masked++;
			assert_non_null(strstr(r->lines[i].text.p, "********"));
		}
	assert_int_equal(masked, 3);
	assert_wstr(&r->auth_used, "LOGIN");
	assert_int_equal(r->auth_reply_code, 235);
	assert_int_equal(r->commands, 4);
	assert_int_equal(r->anomalies[SAN_UNSOLICITED_REPLY], 0);
}

static void
t_auth_masked(void **state)
{
	struct hcase c = { auth, NSTEPS(auth), SEND_CLOSE, false, 0, 0, check_auth, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * Gaps, mid-stream, one-sided
 * ------------------------------------------------------------------ */
static const struct step gap_cmd[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@exa"),
	GAPC(1460),
	C("ple.test>\r\nRCPT TO:<b@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
	C("DATA\r\n"),
	S("354 go\r\n"),
	C("Subject: a\r\n\r\nfirst part"),
	GAPC(3000),
	C("of a line\r\nlast line\r\n.\r\n"),
	S("250 2.0.0 queued\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_gap_cmd(const struct sess_record *r)
{
	const struct tx_record *t;

	assert_true(r->flags & SF_GAP);
	assert_int_equal(r->anomalies[SAN_GAP], 2);
	/* The MAIL line was lost; RCPT resynchronised the client side and
	 * opened a transaction whose MAIL is unseen.  The server's reply to
	 * the lost MAIL is one reply too many (no incident after a gap). */
	assert_int_equal(r->ntx, 1);
	t = &r->tx[0];
	assert_null(t->mail_from.p);
	assert_int_equal(t->nrcpts, 1);
	assert_int_equal(r->anomalies[SAN_UNSOLICITED_REPLY], 1);
	assert_no_inc(r, "reply-mismatch");
	assert_true(t->data_cmd);
	assert_true(t->content_complete);
	assert_int_equal(t->data_bytes, 24 + 3000 + 22);
	assert_int_equal(t->reply_code, 250);
	assert_true(line_index(r, "[gap: 1460 bytes missing from the client]") > 0);
	assert_true(line_index(r, "[gap: 3000 bytes missing from the client]") > 0);
}

static void
t_gap(void **state)
{
	struct hcase c = { gap_cmd, NSTEPS(gap_cmd), SEND_CLOSE, false, 0, 0,
	    check_gap_cmd, false, false };

	(void)state;
	run_case(&c);
}

static const struct step gap_data_cmd[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"),
	S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"),
	C("Subject: a\r\n\r\nbody"),
	GAPC(500),
	C("tail\r\nMAIL FROM:<c@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_gap_data_cmd(const struct sess_record *r)
{
	assert_int_equal(r->ntx, 2);
	assert_false(r->tx[0].content_complete);
	assert_true(r->tx[0].content_seen);
	assert_wstr(&r->tx[1].mail_from, "c@example.test");
	assert_int_equal(r->tx[1].mail_reply_code, 250);
	assert_incs(r, NULL);
}

static void
t_gap_in_data_resync_on_command(void **state)
{
	struct hcase c = { gap_data_cmd, NSTEPS(gap_data_cmd), SEND_CLOSE, false, 0, 0,
	    check_gap_data_cmd, false, false };

	(void)state;
	run_case(&c);
}

static const struct step mid[] = {
	C("and the rest of a message line\r\n.\r\n"),
	S("-PIPELINING\r\n250 2.0.0 Ok: queued as X\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("550 5.1.1 unknown\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_mid(const struct sess_record *r)
{
	const struct incident *inc;

	assert_true(r->flags & SF_MID_STREAM);
	assert_int_equal(r->banner_code, 0);
	assert_int_equal(r->ntx, 1);
	assert_int_equal(r->tx[0].rcpts[0].reply_code, 550);
	assert_incs(r, "rcpt-rejected", NULL);
	inc = find_inc(r, "rcpt-rejected");
	assert_non_null(inc->visibility);
	assert_true(str_in(inc->visibility, "joined mid-stream"));
	assert_int_equal(r->state, SST_REJECTED);
}

static void
t_mid_stream(void **state)
{
	struct hcase c = { mid, NSTEPS(mid), SEND_CLOSE, true, 0, 0, check_mid, false, false };

	(void)state;
	run_case(&c);
}

static const struct step onesided[] = {
	C("EHLO c.example.test\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	C("QUIT\r\n"),
};

static void
check_onesided(const struct sess_record *r)
{
	assert_true(r->flags & SF_ONE_SIDED);
	assert_int_equal(r->commands, 4);
	assert_int_equal(r->ntx, 1);
	assert_wstr(&r->tx[0].rcpts[0].addr, "b@example.test");
	assert_int_equal(r->replies, 0);
	assert_int_equal(r->end, SEND_QUIT);
}

static void
t_one_sided(void **state)
{
	struct hcase c = { onesided, NSTEPS(onesided), SEND_CLOSE, true, 0, 0,
	    check_onesided, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * Caps: line length, transcript, NUL and control bytes
 * ------------------------------------------------------------------ */
static const struct step overlong[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S("250 mx.example.test\r\n"),
	C("NOOP 0123456789012345678901234567890123456789012345678901234567890123456789\r\n"),
	S("250 Ok\r\n"),
	C("NOOP \x01\x7f\0nul\rcr\r\n"),
	S("250 Ok\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_overlong(const struct sess_record *r)
{
	/* max_line 40: the NOOP line is kept cut, flagged. */
	assert_int_equal(r->lines[3].text.len, 40);
	assert_int_equal(r->lines[3].flags, XL_TRUNCATED);
	assert_memory_equal(r->lines[3].text.p, "NOOP 01234567890123456789012345678901234", 40);
	assert_int_equal(r->anomalies[SAN_LINE_CAP], 1);
	assert_int_equal(r->anomalies[SAN_LONG_CMD], 0);
	assert_int_equal(r->anomalies[SAN_NUL_BYTE], 1);
	assert_int_equal(r->anomalies[SAN_BARE_CR], 1);
	assert_int_equal(r->lines[5].text.len, 14);
	assert_memory_equal(r->lines[5].text.p, "NOOP \x01\x7f\0nul\rcr", 14);
	assert_int_equal(r->commands, 4);
	assert_inc(r, "bare-lf", SEV_WARNING, CONF_CERTAIN);
}

static void
t_overlong_and_control(void **state)
{
	struct hcase c = { overlong, NSTEPS(overlong), SEND_CLOSE, false, 40, 0,
	    check_overlong, false, false };

	(void)state;
	run_case(&c);
}

static const struct step many[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S("250 mx.example.test\r\n"),
	C("NOOP 1\r\n"), S("250 Ok 1\r\n"),
	C("NOOP 2\r\n"), S("250 Ok 2\r\n"),
	C("NOOP 3\r\n"), S("250 Ok 3\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_many(const struct sess_record *r)
{
	assert_int_equal(r->nlines, 6);
	assert_int_equal(r->lines_dropped, 5);
	assert_int_equal(r->anomalies[SAN_TRANSCRIPT_CAP], 5);
	assert_wstr(&r->lines[0].text, "220 mx.example.test ESMTP");
	assert_wstr(&r->lines[2].text, "250 mx.example.test");
	assert_wstr(&r->lines[3].text, "250 Ok 3");
	assert_wstr(&r->lines[5].text, "221 Bye");
	assert_int_equal(r->lines[5].pkt, 11);
}

static void
t_transcript_cap(void **state)
{
	struct hcase c = { many, NSTEPS(many), SEND_CLOSE, false, 0, 6, check_many, false, false };

	(void)state;
	run_case(&c);
}

/* A transcript far past its first allocation: 123 lines into
 * max_lines 100 keep the first 50 and the last 50, in order, whole. */
static char grow_cmd[60][24], grow_reply[60][24];
static struct step grow_steps[123];

static void
check_grow(const struct sess_record *r)
{
	assert_int_equal(r->nlines, 100);
	assert_int_equal(r->lines_dropped, 23);
	assert_wstr(&r->lines[0].text, "220 mx.example.test ESMTP");
	assert_wstr(&r->lines[1].text, "NOOP 1");
	assert_wstr(&r->lines[49].text, "NOOP 25");	/* line 49 */
	assert_wstr(&r->lines[50].text, "NOOP 37");	/* line 73 */
	assert_wstr(&r->lines[97].text, "250 Ok 60");
	assert_wstr(&r->lines[98].text, "QUIT");
	assert_wstr(&r->lines[99].text, "221 Bye");
}

static void
t_transcript_grows(void **state)
{
	struct hcase c = { grow_steps, 0, SEND_CLOSE, false, 0, 100, check_grow,
	    true, false };
	size_t n = 0;

	(void)state;
	grow_steps[n++] = (struct step)S(GREET);
	for (int k = 1; k <= 60; k++) {
		snprintf(grow_cmd[k - 1], sizeof(grow_cmd[0]), "NOOP %d\r\n", k);
		snprintf(grow_reply[k - 1], sizeof(grow_reply[0]), "250 Ok %d\r\n", k);
		grow_steps[n++] = (struct step){ XDIR_CLIENT, grow_cmd[k - 1],
		    strlen(grow_cmd[k - 1]), 0, 0 };
		grow_steps[n++] = (struct step){ XDIR_SERVER, grow_reply[k - 1],
		    strlen(grow_reply[k - 1]), 0, 0 };
	}
	grow_steps[n++] = (struct step)C("QUIT\r\n");
	grow_steps[n++] = (struct step)S("221 Bye\r\n");
	c.nsteps = n;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * Pipelined DATA refused: no content mode, the next line is a command
 * ------------------------------------------------------------------ */
static const struct step pipe_refused[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"),
	S("250 2.1.0 Ok\r\n550 5.1.1 <b@example.test>: unknown\r\n"
	  "554 5.5.1 Error: no valid recipients\r\n"),
	C("RSET\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_pipe_refused(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];
	const struct incident *inc;

	assert_int_equal(t->data_reply_code, 554);
	assert_false(t->content_seen);
	assert_int_equal(r->commands, 6);
	assert_int_equal(r->state, SST_REJECTED);
	assert_incs(r, "all-recipients-rejected", NULL);
	assert_inc(r, "all-recipients-rejected", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "all-recipients-rejected");
	assert_evidence(inc, "DATA", 4);
	assert_evidence(inc, "554 5.5.1", 5);
}

static void
t_pipelined_data_refused(void **state)
{
	struct hcase c = { pipe_refused, NSTEPS(pipe_refused), SEND_CLOSE, false, 0, 0,
	    check_pipe_refused, false, false };

	(void)state;
	run_case(&c);
}

/* The 354 lost in a hole of the capture: the 250 that follows is read as
 * DATA's reply, and that is no refusal (benchmark's lossy capture). */
static const struct step lost_354[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("DATA\r\n"),
	C("Subject: hole\r\n\r\nhi\r\n.\r\n"),
	C("QUIT\r\n"),
	GAPS(37),
	S("250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"),
};

static void
check_lost_354(const struct sess_record *r)
{
	assert_true(r->tx[0].data_cmd);
	assert_int_equal(r->tx[0].data_reply_code, 250);
	assert_null(find_inc(r, "data-rejected"));
}

static void
t_lost_354_is_no_refusal(void **state)
{
	struct hcase c = { lost_354, NSTEPS(lost_354), SEND_QUIT, false, 0, 0,
	    check_lost_354, false, false };

	(void)state;
	run_case(&c);
}

/* Content sent before the 354 (a broken client), then DATA refused. */
static const struct step early_content[] = {
	S(GREET),
	C("EHLO c.example.test\r\n"),
	S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"),
	S("250 2.1.5 Ok\r\n"),
	C("DATA\r\nSubject: hurry\r\n\r\nhi\r\n"),
	S("451 4.3.0 try later\r\n"),
	C("QUIT\r\n"),
	S("221 Bye\r\n"),
};

static void
check_early_content(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];

	assert_int_equal(t->data_reply_code, 451);
	assert_true(t->content_seen);
	assert_false(t->content_complete);
	assert_int_equal(t->data_bytes, 22);
	/* QUIT was read as a command again after the refusal. */
	assert_int_equal(r->end, SEND_QUIT);
	assert_int_equal(r->commands, 5);
	assert_int_equal(r->state, SST_DEFERRED);
	assert_incs(r, "data-rejected", NULL);
	assert_inc(r, "data-rejected", SEV_WARNING, CONF_CERTAIN);
	assert_true(str_in(find_inc(r, "data-rejected")->diagnosis, "already sent content"));
}

static void
t_content_before_354(void **state)
{
	struct hcase c = { early_content, NSTEPS(early_content), SEND_CLOSE, false, 0, 0,
	    check_early_content, false, false };

	(void)state;
	run_case(&c);
}

/* Live updates come throttled and carry an open record. */
static unsigned n_updates;
static void
count_update(void *arg, const struct sess_record *r)
{
	(void)arg;
	assert_int_equal(r->end, SEND_OPEN);
	n_updates++;
}

static void
t_updates(void **state)
{
	struct smtp_limits lim;
	struct smtp_sink sink = { .session_update = count_update };
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	struct smtp_peers p;
	struct smtp_pos pos = { .ts_us = H_TS0 + 1000, .pkt = 2 };
	static const char noop[] = "NOOP\r\n";

	(void)state;
	smtp_limits_init(&lim);
	ctx = smtp_ctx_new(&lim, &sink);
	h_peers(&p, false, false);
	s = smtp_session_new(ctx, &p);
	n_updates = 0;
	smtp_feed(s, XDIR_SERVER, (const uint8_t *)GREET, sizeof(GREET) - 1, &pos);
	assert_int_equal(n_updates, 1);	/* the greeting is of interest */
	for (int i = 0; i < 100; i++) {
		pos.ts_us += 1000;	/* 1 ms apart: throttled to 250 ms */
		smtp_feed(s, XDIR_CLIENT, (const uint8_t *)noop, sizeof(noop) - 1, &pos);
	}
	assert_int_equal(n_updates, 1);
	pos.ts_us += 250000;
	smtp_feed(s, XDIR_CLIENT, (const uint8_t *)noop, sizeof(noop) - 1, &pos);
	assert_int_equal(n_updates, 2);
	assert_int_equal(smtp_record(s)->commands, 101);
	/* The verbs in order, the first SESS_MAX_VERBS kept, the rest counted. */
	assert_int_equal(smtp_record(s)->nverbs, SESS_MAX_VERBS);
	assert_int_equal(smtp_record(s)->verbs_dropped, 101 - SESS_MAX_VERBS);
	assert_string_equal(sess_verb_name(smtp_record(s)->verbs[0]), "NOOP");
	smtp_end(s, NULL, &pos);
	smtp_ctx_free(ctx);
}

/* Framing as a strict server decides it: a BDAT whose arguments do not
 * parse, or DATA with an argument, starts no chunk and no content; the
 * next line is a command, and the refusal is the command's, not the
 * message's. */
#define BAD_FRAMING(name, cmd, refusal)                                    \
static const struct step name[] = {                                       \
	S(GREET), C("EHLO c.example.test\r\n"), S(CAPS_FULL),               \
	C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),         \
	C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"),           \
	C(cmd), S(refusal), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),          \
}
BAD_FRAMING(bdat_word, "BDAT many\r\n", "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
BAD_FRAMING(bdat_lats, "BDAT 6 LATS\r\n", "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
BAD_FRAMING(data_arg, "DATA now\r\n", "501 5.5.4 Syntax: DATA\r\n");

static void
check_bad_framing(const struct sess_record *r)
{
	assert_int_equal(r->ntx, 1);
	assert_int_equal(r->commands, 5);	/* EHLO MAIL RCPT BDAT/DATA QUIT */
	assert_int_equal(r->end, SEND_QUIT);
	assert_false(r->tx[0].content_seen);
	assert_int_equal(r->tx[0].bdat_chunks, 0);
	assert_int_equal(r->anomalies[SAN_BDAT_MISMATCH], 0);
	assert_int_equal(r->anomalies[SAN_UNKNOWN_COMMAND], 0);
	assert_int_equal(r->anomalies[SAN_UNSOLICITED_REPLY], 0);
}

/* BDAT's refusal is the command's: the transaction has no final reply. */
static void
check_bad_bdat(const struct sess_record *r)
{
	check_bad_framing(r);
	assert_int_equal(r->tx[0].reply_code, 0);
	assert_false(r->tx[0].bdat);
}

/* DATA's refusal is DATA's reply (data-rejected reads it). */
static void
check_bad_data(const struct sess_record *r)
{
	check_bad_framing(r);
	assert_true(r->tx[0].data_cmd);
	assert_int_equal(r->tx[0].data_reply_code, 501);
}

static void
t_bad_framing(void **state)
{
	struct hcase c[] = {
		{ bdat_word, NSTEPS(bdat_word), SEND_CLOSE, false, 0, 0,
		  check_bad_bdat, false, false },
		{ bdat_lats, NSTEPS(bdat_lats), SEND_CLOSE, false, 0, 0,
		  check_bad_bdat, false, false },
		{ data_arg, NSTEPS(data_arg), SEND_CLOSE, false, 0, 0,
		  check_bad_data, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		run_case(&c[i]);
}

/* What finds the message in the mail logs: the queue id of the final
 * reply and the first Message-ID, Subject (unfolded), From and To. */
static const struct step log_links[] = {
	S(GREET), C("EHLO c.example.test\r\n"), S(CAPS_FULL),
	C("MAIL FROM:<a@example.test>\r\n"), S("250 2.1.0 Ok\r\n"),
	C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"),
	C("DATA\r\n"), S("354 go\r\n"),
	C("Message-ID: <20261203.1@example.test>\r\nSubject: quarterly\r\n"
	  " report\r\nFrom: Alice <a@example.test>\r\nTo: b@example.test\r\n"
	  "Subject: second\r\n\r\nSubject: not a header\r\n.\r\n"),
	S("250 2.0.0 Ok: queued as 4B3E7A7C1D\r\n"),
	C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
};

static void
check_wstr(const struct wstr *w, const char *want)
{
	assert_non_null(w->p);
	assert_int_equal(w->len, strlen(want));
	assert_memory_equal(w->p, want, w->len);
}

static void
check_log_links(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];

	check_wstr(&t->queue_id, "4B3E7A7C1D");
	check_wstr(&t->message_id, "<20261203.1@example.test>");
	check_wstr(&t->subject, "quarterly report");
	check_wstr(&t->hdr_from, "Alice <a@example.test>");
	check_wstr(&t->hdr_to, "b@example.test");
}

static void
t_log_links(void **state)
{
	struct hcase c = { log_links, NSTEPS(log_links), SEND_CLOSE, false, 0, 0,
	    check_log_links, false, false };

	(void)state;
	run_case(&c);
}

/* Header lines past the header buffer, 8-bit octets in a header, a
 * value past what is kept: the header fast path copies runs of ordinary
 * octets, and must keep what the octet-by-octet path kept. */
static char long_hdr_msg[4096];

static void
check_long_headers(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];
	char want[BODY_ID_CAP];

	check_wstr(&t->subject, "\xc3\xa9-mail");
	memset(want, 'b', BODY_ID_CAP - 1);
	want[BODY_ID_CAP - 1] = '\0';
	check_wstr(&t->hdr_to, want);
	assert_int_equal(t->eightbit_bytes, 2);
	assert_int_equal(t->first_8bit_off, 8 + 1500 + 2 + 9);
	assert_int_equal(t->reply_code, 250);
}

static void
t_long_headers(void **state)
{
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(long_hdr_msg + o, sizeof(long_hdr_msg) - o, "X-Long: ");
	memset(long_hdr_msg + o, 'a', 1500);
	o += 1500;
	o += (size_t)snprintf(long_hdr_msg + o, sizeof(long_hdr_msg) - o,
	    "\r\nSubject: \xc3\xa9-mail\r\nTo: ");
	memset(long_hdr_msg + o, 'b', 300);
	o += 300;
	o += (size_t)snprintf(long_hdr_msg + o, sizeof(long_hdr_msg) - o,
	    "\r\n\r\nbody\r\n.\r\n");
	const struct step st[] = {
		S(GREET), C("EHLO c.example.test\r\n"), S(CAPS_FULL),
		C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S("250 2.1.0 Ok\r\n"),
		C("RCPT TO:<b@example.test>\r\n"), S("250 2.1.5 Ok\r\n"),
		C("DATA\r\n"), S("354 go\r\n"),
		{ XDIR_CLIENT, long_hdr_msg, o, 0, 0 },
		S("250 2.0.0 Ok: queued as 4B3E7A7C1E\r\n"),
		C("QUIT\r\n"), S("221 2.0.0 Bye\r\n"),
	};
	struct hcase c = { st, NSTEPS(st), SEND_CLOSE, false, 0, 0,
	    check_long_headers, true, false };

	run_case(&c);
}

/* Every state change goes through one door, and says why. */
static char trace[1024];
static void
on_state(void *arg, const struct sess_record *r, const char *from,
    const char *to, const char *why)
{
	size_t n = strlen(trace);

	(void)arg;
	assert_true(r->uid[0] == 'S');
	(void)snprintf(trace + n, sizeof(trace) - n, "%s>%s(%s) ", from, to, why);
}

static void
feed_str(struct smtp_session *s, enum xdir d, const char *t, struct smtp_pos *pos)
{
	pos->ts_us += 1000;
	pos->pkt++;
	smtp_feed(s, d, (const uint8_t *)t, strlen(t), pos);
}

/* Feed the steps and return the trace.  Server lines start with a digit;
 * other server bytes carry a 0x17 marker, not fed; the rest is the
 * client's. */
static const char *
run_trace(const char *const *steps, size_t n)
{
	struct smtp_limits lim;
	struct smtp_sink sink = { .state_change = on_state };
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	struct smtp_peers p;
	struct smtp_pos pos = { .ts_us = H_TS0, .pkt = 1 };

	smtp_limits_init(&lim);
	ctx = smtp_ctx_new(&lim, &sink);
	h_peers(&p, false, false);
	s = smtp_session_new(ctx, &p);
	trace[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		uint8_t c0 = (uint8_t)steps[i][0];
		bool srv = (c0 >= '0' && c0 <= '9') || c0 == 0x17;

		feed_str(s, srv ? XDIR_SERVER : XDIR_CLIENT, steps[i] + (c0 == 0x17), &pos);
	}
	smtp_end(s, NULL, &pos);
	smtp_ctx_free(ctx);
	return trace;
}

static void
t_state_trace(void **state)
{
	/* 0x17 marks server bytes that are not a reply. */
	static const char *const steps[] = {
		GREET, "EHLO c.example\r\n", "250-mx\r\n250 PIPELINING\r\n",
		"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
		"250 ok\r\n250 ok\r\n354 go\r\n", "Subject: x\r\n\r\nhi\r\n.\r\n",
		"250 queued\r\n", "RSET\r\nSTARTTLS\r\n", "250 ok\r\n220 go ahead\r\n",
		/* Encrypted: nothing more is decoded, so no state changes. */
		"\x16\x03\x01\x00\x05hello", "\x17\x16\x03\x03\x00\x05hello",
	};

	(void)state;
	assert_string_equal(run_trace(steps, sizeof(steps) / sizeof(steps[0])),
	    "connected>greeted(greeting) greeted>hello(EHLO) hello>mail(MAIL) "
	    "mail>content(DATA) content>hello(end of data) hello>tls(STARTTLS 220) ");
}

/* A capture that holds cleartext after STARTTLS leaves the TLS state,
 * through the same door. */
static void
t_state_trace_plain_after_tls(void **state)
{
	static const char *const steps[] = {
		GREET, "EHLO c.example\r\n", "250-mx\r\n250 STARTTLS\r\n",
		"STARTTLS\r\n", "220 go ahead\r\n", "EHLO c.example\r\n",
		"250 mx\r\n", "QUIT\r\n",
	};

	(void)state;
	assert_string_equal(run_trace(steps, sizeof(steps) / sizeof(steps[0])),
	    "connected>greeted(greeting) greeted>hello(EHLO) "
	    "hello>tls(STARTTLS 220) tls>hello(cleartext after STARTTLS) "
	    "hello>quit(QUIT) ");
}

/* ---------------------------------------------------------------------
 * Memory: the string pool and recycled sessions
 * ------------------------------------------------------------------ */
#define BIG_CAPS 30
#define BIG_CAP_LEN 300
static char big_reply[BIG_CAPS * (BIG_CAP_LEN + 8) + 64];

/* Capability i: "X-CAP<i> " and a letter of its own, BIG_CAP_LEN long. */
static void
big_cap(char *d, int i)
{
	int n = snprintf(d, BIG_CAP_LEN + 1, "X-CAP%d ", i);

	memset(d + n, 'a' + i % 26, (size_t)(BIG_CAP_LEN - n));
	d[BIG_CAP_LEN] = '\0';
}

static void
check_big(const struct sess_record *r)
{
	char want[BIG_CAP_LEN + 1];

	/* The first line is the greeting-name line, not a capability. */
	assert_int_equal(r->ncaps, BIG_CAPS);
	for (int i = 0; i < BIG_CAPS; i++) {
		big_cap(want, i);
		assert_int_equal(r->caps[i].len, BIG_CAP_LEN);
		assert_memory_equal(r->caps[i].p, want, BIG_CAP_LEN);
		assert_int_equal(r->caps[i].p[BIG_CAP_LEN], '\0');
	}
	assert_wstr(&r->helo, "big.example.test");
	assert_wstr(&r->last_reply_text, "2.0.0 Bye");
}

static void
t_pool_and_recycling(void **state)
{
	char cap[BIG_CAP_LEN + 1];
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(big_reply + o, sizeof(big_reply) - o,
	    "250-mx.example.test\r\n");
	for (int i = 0; i < BIG_CAPS; i++) {
		big_cap(cap, i);
		o += (size_t)snprintf(big_reply + o, sizeof(big_reply) - o,
		    "250%c%s\r\n", i == BIG_CAPS - 1 ? ' ' : '-', cap);
	}
	const struct step big[] = {
		S("220 mx.example.test ESMTP\r\n"),
		C("EHLO big.example.test\r\n"),
		{ XDIR_SERVER, big_reply, o, 0, 0 },
		C("QUIT\r\n"),
		S("221 2.0.0 Bye\r\n"),
	};
	/* Nine kilobytes of capabilities, more than the pool: every string
	 * whole, in the pool or past it, cut nowhere. */
	struct hcase cb = { big, NSTEPS(big), SEND_CLOSE, false, 0, 0,
	    check_big, true, false };
	struct hcase cs = { commands, NSTEPS(commands), SEND_CLOSE, false, 0, 0,
	    check_commands, true, false };
	const struct hcase *seq[] = { &cb, &cs, &cb, &cs };
	char *fresh, *after;

	run_case(&cb);
	/* A session that reuses an ended one's memory is the same as one
	 * made afresh: each check runs on its own record, and the dump of
	 * the last equals a fresh context's. */
	run_sequence(seq, 4);
	fresh = h_run(&cs, 0, 0, false, true);

	struct h_sink hs;
	struct smtp_ctx *ctx = h_ctx(&hs);
	struct smtp_peers peers;

	h_peers(&peers, false, false);
	h_feed(ctx, &cb, &peers, 0, 0, false);
	h_feed(ctx, &cs, &peers, 0, 0, false);
	after = hs.dump;
	assert_non_null(after);
	assert_string_equal(after, fresh);
	free(after);
	free(fresh);
	smtp_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_commands),
		cmocka_unit_test(t_caps),
		cmocka_unit_test(t_data),
		cmocka_unit_test(t_data_long_bare_nul),
		cmocka_unit_test(t_bdat),
		cmocka_unit_test(t_bdat_mismatch),
		cmocka_unit_test(t_auth_masked),
		cmocka_unit_test(t_gap),
		cmocka_unit_test(t_gap_in_data_resync_on_command),
		cmocka_unit_test(t_mid_stream),
		cmocka_unit_test(t_one_sided),
		cmocka_unit_test(t_overlong_and_control),
		cmocka_unit_test(t_transcript_cap),
		cmocka_unit_test(t_transcript_grows),
		cmocka_unit_test(t_pipelined_data_refused),
		cmocka_unit_test(t_content_before_354),
		cmocka_unit_test(t_lost_354_is_no_refusal),
		cmocka_unit_test(t_updates),
		cmocka_unit_test(t_bad_framing),
		cmocka_unit_test(t_log_links),
		cmocka_unit_test(t_long_headers),
		cmocka_unit_test(t_state_trace),
		cmocka_unit_test(t_state_trace_plain_after_tls),
		cmocka_unit_test(t_pool_and_recycling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
