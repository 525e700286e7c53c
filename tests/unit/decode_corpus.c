/*
 * decode_corpus.c - the real Postfix captures of ../shared/corpus/real,
 * typed in as transcripts, with the verdicts MANIFEST.md gives.
 *
 * The command and reply lines and their packet numbers are those of the
 * manifest's tshark transcripts; message bodies (not in the manifest) are
 * made up here with the sizes the manifest states, since only their size
 * and 8-bit nature matter.  Each case also runs byte by byte and at every
 * split (decode_harness.h).  The manifest's ids are spelled differently:
 * 8bitmime_abort is 8bitmime-abort, rcpt_rejected rcpt-rejected, and its
 * "starttls" verdict is our state "tls" (STARTTLS accepted is no incident).
 */
#include "decode_harness.h"

#define NW_CAPS_NO8 \
	"250-domino.northwind.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n" \
	"250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define MX1_CAPS \
	"250-mx1.northwind.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n" \
	"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
#define MX1_GREETING "220 mx1.northwind.test ESMTP Postfix\r\n"

/* A message of exactly `size` octets before the ".\r\n" marker. */
static char *
make_message(size_t size, bool eightbit, size_t *len)
{
	static const char hdr8[] =
	    "From: newsletter@contoso.test\r\nTo: bob@northwind.test\r\n"
	    "Subject: Newsletter\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain;\r\n charset=\"iso-8859-1\"\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n";
	static const char hdr7[] =
	    "From: sender@contoso.test\r\nTo: alice@northwind.test\r\n"
	    "Subject: test\r\n\r\n";
	const char *line8 = "Caf\xe9 cr\xe8" "me br\xfb" "l\xe9" "e, na\xef" "ve fa\xe7" "ade.\r\n";
	const char *line7 = "This is a test mailing with plain text.\r\n";
	const char *hdr = eightbit ? hdr8 : hdr7, *line = eightbit ? line8 : line7;
	char *m = malloc(size + 4);
	size_t o = strlen(hdr), ll = strlen(line);

	assert_non_null(m);
	assert_true(size > o + 2);
	memcpy(m, hdr, o);
	while (o + ll + 2 <= size) {
		memcpy(m + o, line, ll);
		o += ll;
	}
	while (o < size - 2)
		m[o++] = 'x';
	memcpy(m + o, "\r\n.\r\n", 5);
	*len = size + 3;
	return m;
}

/* ---------------------------------------------------------------------
 * 01-8bitmime-abort
 * ------------------------------------------------------------------ */
static const struct step c01[] = {
	SP(4, "220 domino.northwind.test ESMTP Postfix\r\n"),
	CP(6, "ehlo iis-smtp.contoso.test\r\n"),
	SP(8, NW_CAPS_NO8),
	CP(9, "rset\r\n"),
	SP(10, "250 2.0.0 Ok\r\n"),
	CP(11, "quit\r\n"),
	SP(12, "221 2.0.0 Bye\r\n"),
};

static void
check01(const struct sess_record *r)
{
	const struct incident *inc;

	assert_int_equal(r->banner_code, 220);
	assert_wstr(&r->helo, "iis-smtp.contoso.test");
	assert_true(r->ehlo);
	assert_int_equal(r->ncaps, 8);
	assert_wstr(&r->caps[1], "SIZE 10240000");
	assert_false(r->capflags & CAPF(8BITMIME));
	assert_true(r->capflags & CAPF(SMTPUTF8));
	assert_int_equal(r->size_limit, 10240000);
	assert_int_equal(r->ntx, 0);
	assert_int_equal(r->commands, 3);
	assert_int_equal(r->last_reply_code, 221);
	assert_int_equal(r->end, SEND_QUIT);
	assert_int_equal(r->state, SST_ABORTED);
	assert_incs(r, "8bitmime-abort", NULL);
	assert_inc(r, "8bitmime-abort", SEV_ERROR, CONF_PROBABLE);
	inc = find_inc(r, "8bitmime-abort");
	assert_evidence(inc, "ehlo iis-smtp.contoso.test", 6);
	assert_evidence(inc, "250-domino.northwind.test", 8);
	assert_evidence(inc, "rset", 9);
	assert_evidence(inc, "quit", 11);
	assert_true(str_in(inc->summary, "127.0.0.10:37331 (iis-smtp.contoso.test)"));
	assert_true(str_in(inc->summary, "127.0.0.31:25"));
	assert_true(str_in(inc->fix, "Router/SMTP tab, Advanced tab, Commands and Extensions"));
	assert_true(str_in(inc->fix, "7-bit"));
	assert_null(inc->visibility);
}

static void
t_01_8bitmime_abort(void **state)
{
	struct hcase c = { c01, NSTEPS(c01), SEND_CLOSE, false, 0, 0, check01, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * 02-8bitmime-ok
 * ------------------------------------------------------------------ */
static void
check02(const struct sess_record *r)
{
	const struct tx_record *t;

	assert_int_equal(r->ncaps, 10);
	assert_true(r->capflags & CAPF(8BITMIME));
	assert_int_equal(r->ntx, 1);
	t = &r->tx[0];
	assert_wstr(&t->mail_from, "newsletter@contoso.test");
	assert_wstr(&t->mail_params, "size=2772 BODY=8BITMIME");
	assert_int_equal(t->body, BODY_8BITMIME);
	assert_int_equal(t->size_param, 2772);
	assert_int_equal(t->mail_reply_code, 250);
	assert_int_equal(t->mail_enh.cls, 2);
	assert_int_equal(t->mail_enh.subject, 1);
	assert_int_equal(t->nrcpts, 1);
	assert_wstr(&t->rcpts[0].addr, "bob@northwind.test");
	assert_int_equal(t->rcpts[0].reply_code, 250);
	assert_int_equal(t->data_reply_code, 354);
	assert_true(t->content_complete);
	assert_int_equal(t->data_bytes, 2773);
	assert_true(t->eightbit_bytes > 0);
	assert_wstr(&t->cte, "8bit");
	assert_wstr(&t->charset, "iso-8859-1");
	assert_wstr(&t->content_type, "text/plain");
	assert_int_equal(t->reply_code, 250);
	assert_int_equal(t->end_pkt, 16);
	assert_int_equal(r->end, SEND_QUIT);
	assert_int_equal(r->state, SST_DELIVERED);
	assert_incs(r, NULL);
}

static void
t_02_8bitmime_ok(void **state)
{
	size_t mlen;
	char *m = make_message(2773, true, &mlen);
	struct step st[] = {
		SP(4, MX1_GREETING),
		CP(6, "ehlo iis-smtp.contoso.test\r\n"),
		SP(8, MX1_CAPS),
		CP(9, "mail FROM:<newsletter@contoso.test> size=2772 BODY=8BITMIME\r\n"),
		SP(10, "250 2.1.0 Ok\r\n"),
		CP(11, "rcpt TO:<bob@northwind.test>\r\n"),
		SP(12, "250 2.1.5 Ok\r\n"),
		CP(13, "data\r\n"),
		SP(14, "354 End data with <CR><LF>.<CR><LF>\r\n"),
		{ XDIR_CLIENT, m, mlen, 15, 0 },
		SP(16, "250 2.0.0 Ok: queued as 32F0F15C07C\r\n"),
		CP(17, "quit\r\n"),
		SP(18, "221 2.0.0 Bye\r\n"),
	};
	struct hcase c = { st, NSTEPS(st), SEND_CLOSE, false, 0, 0, check02, false, false };

	(void)state;
	run_case(&c);
	free(m);
}

/* ---------------------------------------------------------------------
 * 05-pipelining
 * ------------------------------------------------------------------ */
static void
check05(const struct sess_record *r)
{
	const struct tx_record *t;

	assert_int_equal(r->ntx, 1);
	t = &r->tx[0];
	assert_int_equal(t->nrcpts, 2);
	assert_wstr(&t->rcpts[0].addr, "alice@northwind.test");
	assert_wstr(&t->rcpts[1].addr, "bob@northwind.test");
	assert_int_equal(t->rcpts[0].reply_code, 250);
	assert_int_equal(t->rcpts[1].reply_code, 250);
	assert_int_equal(t->data_reply_code, 354);
	assert_int_equal(t->data_bytes, 292);
	assert_int_equal(t->eightbit_bytes, 0);
	assert_int_equal(t->reply_code, 250);
	assert_int_equal(r->commands, 6);
	assert_int_equal(r->replies, 8);
	assert_int_equal(r->anomalies[SAN_PIPELINING_UNOFFERED], 0);
	assert_int_equal(r->state, SST_DELIVERED);
	assert_incs(r, NULL);
}

static void
t_05_pipelining(void **state)
{
	size_t mlen;
	char *m = make_message(292, false, &mlen);
	struct step st[] = {
		SP(4, MX1_GREETING),
		CP(6, "EHLO pipe.contoso.test\r\n"),
		SP(8, MX1_CAPS),
		CP(9, "MAIL FROM:<sender@contoso.test>\r\nRCPT TO:<alice@northwind.test>\r\n"
		    "RCPT TO:<bob@northwind.test>\r\nDATA\r\n"),
		SP(10, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
		    "354 End data with <CR><LF>.<CR><LF>\r\n"),
		{ XDIR_CLIENT, m, mlen, 11, 0 },
		SP(12, "250 2.0.0 Ok: queued as D16DD15C07F\r\n"),
		CP(13, "QUIT\r\n"),
		SP(14, "221 2.0.0 Bye\r\n"),
	};
	struct hcase c = { st, NSTEPS(st), SEND_CLOSE, false, 0, 0, check05, false, false };

	(void)state;
	run_case(&c);
	free(m);
}

/* ---------------------------------------------------------------------
 * 06-starttls
 * ------------------------------------------------------------------ */
static const struct step c06[] = {
	SP(4, MX1_GREETING),
	CP(6, "EHLO tls.contoso.test\r\n"),
	SP(8, MX1_CAPS),
	CP(9, "STARTTLS\r\n"),
	SP(10, "220 2.0.0 Ready to start TLS\r\n"),
	CP(11, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" " client hello"),
	SP(12, "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03" " server hello"),
	CP(13, "\x17\x03\x03\x00\x20" " application data, EHLO inside"),
	SP(14, "\x17\x03\x03\x00\x20" " application data, 250 inside"),
};

static void
check06(const struct sess_record *r)
{
	assert_true(r->flags & SF_TLS);
	assert_true(r->starttls_cmd);
	assert_int_equal(r->starttls_reply_code, 220);
	assert_int_equal(r->last_reply_code, 220);
	assert_int_equal(r->commands, 2);
	assert_int_equal(r->ntx, 0);
	assert_int_equal(r->state, SST_TLS);
	assert_int_equal(r->end, SEND_CLOSE);
	/* The encrypted bytes are counted, never shown. */
	assert_true(str_in(r->lines[r->nlines - 1].text.p, "STARTTLS: encrypted"));
	{
		uint64_t want = 0;

		for (size_t i = 0; i < NSTEPS(c06); i++)
			if (c06[i].dir == XDIR_CLIENT)
				want += c06[i].len;
		assert_int_equal(r->bytes[XDIR_CLIENT], want);
	}
	assert_incs(r, NULL);
}

static void
t_06_starttls(void **state)
{
	struct hcase c = { c06, NSTEPS(c06), SEND_CLOSE, false, 0, 0, check06, false, false };

	(void)state;
	run_case(&c);
}

/* ---------------------------------------------------------------------
 * 07-errors: four sessions
 * ------------------------------------------------------------------ */
static void
check07_1(const struct sess_record *r)
{
	const struct tx_record *t = &r->tx[0];
	const struct incident *inc;

	assert_int_equal(r->ntx, 1);
	assert_int_equal(t->size_param, 1310);
	assert_int_equal(t->nrcpts, 2);
	assert_int_equal(t->rcpts[1].reply_code, 550);
	assert_int_equal(t->rcpts[1].enh.cls, 5);
	assert_int_equal(t->rcpts[1].enh.subject, 1);
	assert_int_equal(t->rcpts[1].enh.detail, 1);
	assert_int_equal(t->data_bytes, 1311);
	assert_int_equal(t->reply_code, 250);
	assert_int_equal(r->state, SST_PARTIAL);
	assert_incs(r, "rcpt-rejected", NULL);
	assert_inc(r, "rcpt-rejected", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "rcpt-rejected");
	assert_evidence(inc, "rcpt TO:<nobody@northwind.test>", 13);
	assert_evidence(inc, "550 5.1.1 <nobody@northwind.test>", 14);
	assert_true(str_in(inc->diagnosis, "X.1"));
	assert_true(str_in(inc->summary, "nobody@northwind.test"));
}

static void
t_07_1_rcpt_rejected(void **state)
{
	size_t mlen;
	char *m = make_message(1311, false, &mlen);
	struct step st[] = {
		SP(4, MX1_GREETING),
		CP(6, "ehlo app.contoso.test\r\n"),
		SP(8, MX1_CAPS),
		CP(9, "mail FROM:<sender@contoso.test> size=1310\r\n"),
		SP(10, "250 2.1.0 Ok\r\n"),
		CP(11, "rcpt TO:<alice@northwind.test>\r\n"),
		SP(12, "250 2.1.5 Ok\r\n"),
		CP(13, "rcpt TO:<nobody@northwind.test>\r\n"),
		SP(14, "550 5.1.1 <nobody@northwind.test>: Recipient address rejected: "
		    "User unknown in local recipient table\r\n"),
		CP(15, "data\r\n"),
		SP(16, "354 End data with <CR><LF>.<CR><LF>\r\n"),
		{ XDIR_CLIENT, m, mlen, 17, 0 },
		SP(18, "250 2.0.0 Ok: queued as 34BD715C085\r\n"),
		CP(19, "quit\r\n"),
		SP(20, "221 2.0.0 Bye\r\n"),
	};
	struct hcase c = { st, NSTEPS(st), SEND_CLOSE, false, 0, 0, check07_1, false, false };

	(void)state;
	run_case(&c);
	free(m);
}

static const struct step c07_2[] = {
	SP(27, MX1_GREETING),
	CP(29, "ehlo app.contoso.test\r\n"),
	SP(31, MX1_CAPS),
	CP(32, "mail FROM:<sender@contoso.test> size=1288\r\n"),
	SP(33, "250 2.1.0 Ok\r\n"),
	CP(34, "rcpt TO:<greylist@northwind.test>\r\n"),
	SP(35, "450 4.2.0 <greylist@northwind.test>: Recipient address rejected: "
	    "Greylisted, please try again later\r\n"),
	CP(36, "rset\r\n"),
	SP(37, "250 2.0.0 Ok\r\n"),
	CP(38, "quit\r\n"),
	SP(39, "221 2.0.0 Bye\r\n"),
};

static void
check07_2(const struct sess_record *r)
{
	const struct incident *inc;

	assert_int_equal(r->ntx, 1);
	assert_int_equal(r->tx[0].rcpts[0].reply_code, 450);
	assert_false(r->tx[0].data_cmd);
	assert_int_equal(r->tx[0].data_bytes, 0);
	assert_int_equal(r->state, SST_DEFERRED);
	assert_incs(r, "rcpt-deferred", NULL);
	assert_inc(r, "rcpt-deferred", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "rcpt-deferred");
	assert_evidence(inc, "450 4.2.0", 35);
	assert_evidence(inc, "rcpt TO:<greylist@northwind.test>", 34);
}

static void
t_07_2_greylisted(void **state)
{
	struct hcase c = { c07_2, NSTEPS(c07_2), SEND_CLOSE, false, 0, 0, check07_2, false, false };

	(void)state;
	run_case(&c);
}

static const struct step c07_3[] = {
	SP(46, MX1_GREETING),
	CP(48, "ehlo app.contoso.test\r\n"),
	SP(50, MX1_CAPS),
	CP(51, "mail FROM:<slowpoke@contoso.test> size=1285\r\n"),
	SP(52, "250 2.1.0 Ok\r\n"),
	CP(53, "rcpt TO:<bob@northwind.test>\r\n"),
	SP(54, "451 4.3.0 <slowpoke@contoso.test>: Sender address rejected: "
	    "Sender check temporarily unavailable\r\n"),
	CP(55, "rset\r\n"),
	SP(56, "250 2.0.0 Ok\r\n"),
	CP(57, "quit\r\n"),
	SP(58, "221 2.0.0 Bye\r\n"),
};

static void
check07_3(const struct sess_record *r)
{
	const struct incident *inc;

	assert_int_equal(r->tx[0].rcpts[0].reply_code, 451);
	assert_int_equal(r->tx[0].rcpts[0].enh.subject, 3);
	assert_int_equal(r->state, SST_DEFERRED);
	assert_incs(r, "rcpt-deferred", NULL);
	inc = find_inc(r, "rcpt-deferred");
	assert_true(str_in(inc->diagnosis, "X.3"));
	assert_evidence(inc, "451 4.3.0", 54);
}

static void
t_07_3_sender_deferred(void **state)
{
	struct hcase c = { c07_3, NSTEPS(c07_3), SEND_CLOSE, false, 0, 0, check07_3, false, false };

	(void)state;
	run_case(&c);
}

static void
check07_4(const struct sess_record *r)
{
	assert_int_equal(r->ntx, 2);
	assert_int_equal(r->tx[0].data_bytes, 1286);
	assert_int_equal(r->tx[1].data_bytes, 2767);
	assert_int_equal(r->tx[0].reply_code, 250);
	assert_int_equal(r->tx[1].reply_code, 250);
	assert_wstr(&r->tx[1].rcpts[0].addr, "dave@northwind.test");
	assert_int_equal(r->commands, 9);
	assert_int_equal(r->state, SST_DELIVERED);
	assert_incs(r, NULL);
}

static void
t_07_4_two_transactions(void **state)
{
	size_t l1, l2;
	char *m1 = make_message(1286, false, &l1), *m2 = make_message(2767, false, &l2);
	struct step st[] = {
		SP(65, MX1_GREETING),
		CP(67, "ehlo app.contoso.test\r\n"),
		SP(69, MX1_CAPS),
		CP(70, "mail FROM:<sender@contoso.test> size=1285\r\n"),
		SP(71, "250 2.1.0 Ok\r\n"),
		CP(72, "rcpt TO:<carol@northwind.test>\r\n"),
		SP(73, "250 2.1.5 Ok\r\n"),
		CP(74, "data\r\n"),
		SP(75, "354 End data with <CR><LF>.<CR><LF>\r\n"),
		{ XDIR_CLIENT, m1, l1, 76, 0 },
		SP(77, "250 2.0.0 Ok: queued as 9902315C085\r\n"),
		CP(78, "rset\r\n"),
		SP(79, "250 2.0.0 Ok\r\n"),
		CP(80, "mail FROM:<sender@contoso.test> size=2766\r\n"),
		SP(81, "250 2.1.0 Ok\r\n"),
		CP(82, "rcpt TO:<dave@northwind.test>\r\n"),
		SP(83, "250 2.1.5 Ok\r\n"),
		CP(84, "data\r\n"),
		SP(85, "354 End data with <CR><LF>.<CR><LF>\r\n"),
		{ XDIR_CLIENT, m2, l2, 86, 0 },
		SP(87, "250 2.0.0 Ok: queued as 9AE6D15C086\r\n"),
		CP(88, "quit\r\n"),
		SP(89, "221 2.0.0 Bye\r\n"),
	};
	struct hcase c = { st, NSTEPS(st), SEND_CLOSE, false, 0, 0, check07_4, false, false };

	(void)state;
	run_case(&c);
	free(m1);
	free(m2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_01_8bitmime_abort),
		cmocka_unit_test(t_02_8bitmime_ok),
		cmocka_unit_test(t_05_pipelining),
		cmocka_unit_test(t_06_starttls),
		cmocka_unit_test(t_07_1_rcpt_rejected),
		cmocka_unit_test(t_07_2_greylisted),
		cmocka_unit_test(t_07_3_sender_deferred),
		cmocka_unit_test(t_07_4_two_transactions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
