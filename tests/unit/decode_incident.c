/*
 * decode_incident.c - one test per incident id of INCIDENTS.md: it fires
 * on its signature (type, severity, confidence, evidence with packet
 * numbers) and does not fire on a near miss.  Every case also runs byte
 * by byte and at every split (decode_harness.h).  Packets are numbered
 * from 1 in step order.
 */
#include "decode_harness.h"

#define G	"220 mx.example.test ESMTP\r\n"
#define E	"EHLO c.example.test\r\n"
#define CAPS_ALL "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250-STARTTLS\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"
#define CAPS_NO8 "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
	"250 ENHANCEDSTATUSCODES\r\n"
#define CAPS_NOPIPE "250-mx.example.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
#define M_OK	"250 2.1.0 Ok\r\n"
#define R_OK	"250 2.1.5 Ok\r\n"
#define GO	"354 End data with <CR><LF>.<CR><LF>\r\n"
#define Q_OK	"221 2.0.0 Bye\r\n"

#define RUNX(steps, endr, chk, rout) do {                                  \
	struct hcase c_ = { steps, NSTEPS(steps), endr, false, 0, 0, chk,  \
	    false, rout };                                                   \
	(void)state;                                                         \
	run_case(&c_);                                                       \
} while (0)
#define RUN(steps, endr, chk) RUNX(steps, endr, chk, false)

/* ---------------------------------------------------------------------
 * 8bitmime-abort: near misses and cross-session confidence
 * ------------------------------------------------------------------ */
static const struct step abort_close[] = {
	S(G), C(E), S(CAPS_NO8), C("RSET\r\n"), S("250 2.0.0 Ok\r\n"),
};

static void
chk_abort_close(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "8bitmime-abort", NULL);	/* no no-quit on top */
	assert_inc(r, "8bitmime-abort", SEV_ERROR, CONF_PROBABLE);
	inc = find_inc(r, "8bitmime-abort");
	assert_evidence(inc, "EHLO c.example.test", 2);
	assert_evidence(inc, "RSET", 4);
	assert_true(str_in(inc->summary, "closing the connection"));
	assert_int_equal(r->end, SEND_CLOSE);
	assert_int_equal(r->state, SST_ABORTED);
}

static void
t_8bitmime_abort_close(void **state)
{
	RUN(abort_close, SEND_CLOSE, chk_abort_close);
}

static const struct step probe[] = {
	S(G), C(E), S(CAPS_NO8), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_probe(const struct sess_record *r)
{
	assert_incs(r, NULL);
	assert_int_equal(r->state, SST_NO_MAIL);
}

static void
t_8bitmime_abort_not_probe(void **state)
{
	RUN(probe, SEND_CLOSE, chk_probe);
}

static const struct step abort_offered[] = {
	S(G), C(E), S(CAPS_ALL), C("RSET\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_abort_offered(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "abort-after-capabilities", NULL);
	assert_inc(r, "abort-after-capabilities", SEV_WARNING, CONF_POSSIBLE);
	inc = find_inc(r, "abort-after-capabilities");
	assert_evidence(inc, "RSET", 4);
	assert_evidence(inc, "QUIT", 6);
	assert_true(str_in(inc->diagnosis, "AUTH"));	/* a missing extension */
}

static void
t_abort_after_capabilities(void **state)
{
	RUN(abort_offered, SEND_CLOSE, chk_abort_offered);
}

static const struct step abort_quit[] = {
	S(G), C(E), S(CAPS_NO8), C("RSET\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_possible(const struct sess_record *r)
{
	const struct incident *inc = find_inc(r, "8bitmime-abort");

	assert_non_null(inc);
	assert_int_equal(inc->confidence, CONF_POSSIBLE);
	assert_true(str_in(inc->diagnosis, "did offer 8BITMIME"));
}

static void
chk_any(const struct sess_record *r)
{
	(void)r;
}

/* The same client also aborts against a server offering 8BITMIME. */
static void
t_8bitmime_abort_probe_client(void **state)
{
	const struct hcase a = { abort_offered, NSTEPS(abort_offered), SEND_CLOSE,
	    false, 0, 0, chk_any, false, false };
	const struct hcase b = { abort_quit, NSTEPS(abort_quit), SEND_CLOSE,
	    false, 0, 0, chk_possible, false, false };
	const struct hcase *seq[] = { &a, &b };

	(void)state;
	run_sequence(seq, 2);
}

static const struct step body8_ok[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\n\xe9t\xe9\r\n.\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_supported(const struct sess_record *r)
{
	const struct incident *inc = find_inc(r, "8bitmime-abort");

	assert_non_null(inc);
	assert_int_equal(inc->confidence, CONF_PROBABLE);
	assert_true(str_in(inc->diagnosis, "did send BODY=8BITMIME"));
}

static void
chk_clean(const struct sess_record *r)
{
	assert_incs(r, NULL);
}

static void
t_8bitmime_abort_supported_elsewhere(void **state)
{
	const struct hcase a = { body8_ok, NSTEPS(body8_ok), SEND_CLOSE,
	    false, 0, 0, chk_clean, false, false };
	const struct hcase b = { abort_quit, NSTEPS(abort_quit), SEND_CLOSE,
	    false, 0, 0, chk_supported, false, false };
	const struct hcase *seq[] = { &a, &b };

	(void)state;
	run_sequence(seq, 2);
}

/* ---------------------------------------------------------------------
 * The rest of the 8-bit family
 * ------------------------------------------------------------------ */
static const struct step unoffered8[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S(M_OK),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_unoffered8(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "8bitmime-unoffered", NULL);
	assert_inc(r, "8bitmime-unoffered", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "8bitmime-unoffered");
	assert_evidence(inc, "MAIL FROM:<a@example.test> BODY=8BITMIME", 4);
	assert_evidence(inc, "250 2.1.0 Ok", 5);
}

static void
t_8bitmime_unoffered(void **state)
{
	RUN(unoffered8, SEND_CLOSE, chk_unoffered8);
}

static const struct step body_rej[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"),
	S("555 5.5.4 Unsupported option: BODY=8BITMIME\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_body_rej(const struct sess_record *r)
{
	assert_incs(r, "body-rejected", NULL);	/* not mail-rejected too */
	assert_inc(r, "body-rejected", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "body-rejected"), "555 5.5.4", 5);
	assert_int_equal(r->state, SST_REJECTED);
}

static void
t_body_rejected(void **state)
{
	RUN(body_rej, SEND_CLOSE, chk_body_rej);
}

static const struct step body_policy[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"),
	S("550 5.7.1 Sender blocked by policy\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_body_policy(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "mail-rejected", NULL);
	assert_inc(r, "mail-rejected", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "mail-rejected");
	assert_true(str_in(inc->diagnosis, "X.7"));
	assert_evidence(inc, "550 5.7.1", 5);
}

static void
t_mail_rejected_not_body(void **state)
{
	RUN(body_policy, SEND_CLOSE, chk_body_policy);
}

static const struct step undecl[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\nna\xefve\r\n.\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_undecl(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "8bit-undeclared", NULL);
	assert_inc(r, "8bit-undeclared", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "8bit-undeclared");
	assert_true(str_in(inc->summary, "1 octets >= 0x80 (first at offset 16)"));
	assert_evidence(inc, "MAIL FROM:<a@example.test>", 4);
	assert_evidence(inc, "[message: 21 bytes, 8-bit", 10);
	/* Nothing of the body in the incident. */
	assert_false(str_in(inc->summary, "na"));
}

static void
t_8bit_undeclared(void **state)
{
	RUN(undecl, SEND_CLOSE, chk_undecl);
}

/* BODY=8BITMIME declared to a server that did not offer 8BITMIME, with
 * 8-bit content: one cause, one incident (the parameter), which names the
 * content too. */
static const struct step decl_unoffered[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\nna\xefve\r\n.\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_decl_unoffered(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "8bitmime-unoffered", NULL);
	inc = find_inc(r, "8bitmime-unoffered");
	assert_true(str_in(inc->summary, "which had not offered 8BITMIME"));
	assert_true(str_in(inc->diagnosis, "1 octets >= 0x80"));
	assert_evidence(inc, "MAIL FROM:<a@example.test> BODY=8BITMIME", 4);
}

static void
t_8bit_declared_unoffered(void **state)
{
	RUN(decl_unoffered, SEND_CLOSE, chk_decl_unoffered);
}

static const struct step rej8[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\n\xe9\r\n.\r\n"),
	S("554 5.6.0 Message contains 8-bit characters\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_rej8(const struct sess_record *r)
{
	assert_incs(r, "8bit-rejected", NULL);	/* not message-rejected */
	assert_inc(r, "8bit-rejected", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "8bit-rejected"), "554 5.6.0", 11);
	assert_int_equal(r->state, SST_REJECTED);
}

static void
t_8bit_rejected(void **state)
{
	RUN(rej8, SEND_CLOSE, chk_rej8);
}

static const struct step utf8_abort[] = {
	S(G), C(E), S(CAPS_NOPIPE), C("RSET\r\n"), S("250 Ok\r\n"), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_utf8_abort(const struct sess_record *r)
{
	assert_incs(r, "smtputf8-abort", NULL);
	assert_inc(r, "smtputf8-abort", SEV_ERROR, CONF_PROBABLE);
	assert_evidence(find_inc(r, "smtputf8-abort"), "RSET", 4);
}

static void
t_smtputf8_abort(void **state)
{
	RUN(utf8_abort, SEND_CLOSE, chk_utf8_abort);
}

static const struct step utf8_unoff[] = {
	S(G), C(E), S(CAPS_NOPIPE),
	C("MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S("553 5.6.7 non-ASCII address\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_utf8_unoff(const struct sess_record *r)
{
	assert_inc(r, "smtputf8-unoffered", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "smtputf8-unoffered"), "MAIL FROM:<j", 4);
	/* The address stays UTF-8 in the texts (each output escapes it). */
	assert_true(str_in(find_inc(r, "smtputf8-unoffered")->summary,
	    "MAIL FROM:<j\xc3\xb6rg@example.test>"));
	assert_true(r->tx[0].smtputf8);
}

static void
t_smtputf8_unoffered(void **state)
{
	RUN(utf8_unoff, SEND_CLOSE, chk_utf8_unoff);
}

static const struct step utf8_ok[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n"), S(M_OK),
	C("QUIT\r\n"), S(Q_OK),
};

static void
t_smtputf8_offered_no_incident(void **state)
{
	RUN(utf8_ok, SEND_CLOSE, chk_clean);
}

static const struct step utf8_no8[] = {
	S(G), C(E), S("250-mx.example.test\r\n250-SMTPUTF8\r\n250 SIZE 1000\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_utf8_no8(const struct sess_record *r)
{
	assert_incs(r, "smtputf8-without-8bitmime", NULL);
	assert_inc(r, "smtputf8-without-8bitmime", SEV_NOTICE, CONF_CERTAIN);
	assert_evidence(find_inc(r, "smtputf8-without-8bitmime"), "250-SMTPUTF8", 3);
}

static void
t_smtputf8_without_8bitmime(void **state)
{
	RUN(utf8_no8, SEND_CLOSE, chk_utf8_no8);
}

static const struct step bin_viol[] = {
	S(G), C(E), S(CAPS_NOPIPE),
	C("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("BDAT 3 LAST\r\nabc"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_bin_viol(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "binarymime-violation", NULL);
	assert_inc(r, "binarymime-violation", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "binarymime-violation");
	assert_true(str_in(inc->diagnosis, "CHUNKING was not offered"));
	assert_evidence(inc, "BDAT 3 LAST", 8);
	assert_evidence(inc, "MAIL FROM:<a@example.test> BODY=BINARYMIME", 4);
}

static void
t_binarymime_violation(void **state)
{
	RUN(bin_viol, SEND_CLOSE, chk_bin_viol);
}

/* ---------------------------------------------------------------------
 * Greeting, EHLO, capabilities
 * ------------------------------------------------------------------ */
static const struct step ehlo_rej[] = {
	S(G), C(E), S("502 5.5.2 Error: command not recognized\r\n"),
	C("HELO c.example.test\r\n"), S("250 mx.example.test\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_ehlo_rej(const struct sess_record *r)
{
	const struct incident *inc;

	assert_true(r->helo_fallback);
	assert_false(r->ehlo);
	assert_incs(r, "ehlo-rejected", NULL);
	assert_inc(r, "ehlo-rejected", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "ehlo-rejected");
	assert_evidence(inc, "EHLO", 2);
	assert_evidence(inc, "502", 3);
	assert_evidence(inc, "HELO", 4);
}

static void
t_ehlo_rejected(void **state)
{
	RUN(ehlo_rej, SEND_CLOSE, chk_ehlo_rej);
}

static const struct step ehlo_rej_quit[] = {
	S(G), C(E), S("502 5.5.2 Error: command not recognized\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
t_ehlo_rejected_near_miss(void **state)
{
	RUN(ehlo_rej_quit, SEND_CLOSE, chk_clean);
}

static const struct step greet_ref[] = {
	S("554 5.7.1 Your IP is listed at zen.example\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_greet_ref(const struct sess_record *r)
{
	assert_incs(r, "greeting-refused", NULL);
	assert_inc(r, "greeting-refused", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "greeting-refused"), "554 5.7.1", 1);
	/* The server is not named after the enhanced status code. */
	assert_null(strstr(find_inc(r, "greeting-refused")->summary, "(5.7.1)"));
	assert_int_equal(r->state, SST_REJECTED);
}

static void
t_greeting_refused(void **state)
{
	RUN(greet_ref, SEND_CLOSE, chk_greet_ref);
}

static const struct step greet_421[] = {
	S("421 4.3.2 Service shutting down\r\n"),
};

static void
chk_greet_421(const struct sess_record *r)
{
	/* The 421 is the greeting: greeting-refused, not server-shutdown;
	 * the server closing explains the missing QUIT. */
	assert_incs(r, "greeting-refused", NULL);
	assert_int_equal(r->state, SST_DEFERRED);
}

static void
t_greeting_421(void **state)
{
	RUN(greet_421, SEND_CLOSE, chk_greet_421);
}

static const struct step early[] = {
	C(E), S(G), S(CAPS_ALL), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_early(const struct sess_record *r)
{
	assert_incs(r, "early-talker", NULL);
	assert_inc(r, "early-talker", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "early-talker"), "EHLO", 1);
	assert_int_equal(r->anomalies[SAN_EARLY_TALKER], 1);
	assert_true(r->ehlo);
}

static void
t_early_talker(void **state)
{
	RUN(early, SEND_CLOSE, chk_early);
}

/* Near miss: the greeting was lost in a capture gap (a short snaplen, a
 * dropped packet); the client did not talk first. */
static const struct step early_gap[] = {
	GAPS(27), C(E), S(CAPS_ALL), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_early_gap(const struct sess_record *r)
{
	assert_null(find_inc(r, "early-talker"));
	assert_true(r->flags & SF_GAP);
}

static void
t_early_talker_gap(void **state)
{
	RUN(early_gap, SEND_CLOSE, chk_early_gap);
}

static const struct step strip[] = {
	S(G), C(E), S(CAPS_ALL),
	C(E), S("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_strip(const struct sess_record *r)
{
	assert_incs(r, "capability-stripped", NULL);
	assert_inc(r, "capability-stripped", SEV_WARNING, CONF_PROBABLE);
	assert_true(str_in(find_inc(r, "capability-stripped")->summary, "STARTTLS"));
	assert_evidence(find_inc(r, "capability-stripped"), "250-mx.example.test", 5);
}

static void
t_capability_stripped(void **state)
{
	RUN(strip, SEND_CLOSE, chk_strip);
}

/* ---------------------------------------------------------------------
 * STARTTLS
 * ------------------------------------------------------------------ */
static const struct step tls_ref[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"),
	S("454 4.7.0 TLS not available due to local problem\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_tls_ref(const struct sess_record *r)
{
	assert_incs(r, "starttls-refused", NULL);
	assert_inc(r, "starttls-refused", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "starttls-refused"), "454 4.7.0", 5);
	assert_true(str_in(find_inc(r, "starttls-refused")->fix, "certificate"));
	assert_false(r->flags & SF_TLS);
}

static void
t_starttls_refused(void **state)
{
	RUN(tls_ref, SEND_CLOSE, chk_tls_ref);
}

static const struct step clear[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_clear(const struct sess_record *r)
{
	assert_incs(r, "starttls-not-used", NULL);
	assert_inc(r, "starttls-not-used", SEV_NOTICE, CONF_CERTAIN);
	assert_evidence(find_inc(r, "starttls-not-used"), "MAIL FROM", 4);
	assert_true(str_in(find_inc(r, "starttls-not-used")->summary, "192.0.2.10:37331"));
	assert_true(str_in(find_inc(r, "starttls-not-used")->summary, "198.51.100.31:25"));
}

static void
t_starttls_not_used(void **state)
{
	RUNX(clear, SEND_CLOSE, chk_clear, true);
}

static void
t_starttls_not_used_loopback(void **state)
{
	RUN(clear, SEND_CLOSE, chk_clean);
}

static const struct step hs_fail[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"),
};

static void
chk_hs_fail(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "starttls-handshake-failed", NULL);
	assert_inc(r, "starttls-handshake-failed", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "starttls-handshake-failed");
	assert_true(str_in(inc->summary, "cleartext"));
	assert_evidence(inc, "STARTTLS", 4);
	assert_evidence(inc, "220 2.0.0", 5);
	assert_evidence(inc, "MAIL FROM:<a@example.test>", 6);
	/* The cleartext after 220 is decoded, and the session stays TLS. */
	assert_int_equal(r->ntx, 1);
	assert_true(r->flags & SF_TLS);
}

static void
t_starttls_handshake_failed(void **state)
{
	RUN(hs_fail, SEND_CLOSE, chk_hs_fail);
}

/* The server answers the ClientHello with a fatal handshake_failure alert
 * in cleartext: the finding names the alert, its sender and the cipher
 * fix, with the alert's transcript note as evidence.  Near miss: a
 * warning-level alert is no failure of the handshake. */
static const struct step hs_alert[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),	/* an empty ClientHello */
	S("\x15\x03\x03\x00\x02\x02\x28"),		/* fatal handshake_failure */
};
static const struct step hs_warn[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C("\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
	S("\x15\x03\x03\x00\x02\x01\x70"),		/* warning unrecognized_name */
};

static void
chk_hs_alert(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "starttls-handshake-failed", NULL);
	assert_inc(r, "starttls-handshake-failed", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "starttls-handshake-failed");
	assert_true(str_in(inc->summary, "the server sent the fatal alert handshake_failure (40)"));
	assert_true(str_in(inc->fix, "cipher"));
	assert_evidence(inc, "[TLS alert from the server: fatal handshake_failure (40)]", 7);
	assert_true(r->tls.alert);
	assert_int_equal(r->tls.hello_bad, 1);		/* the empty hello: not believed */
	assert_false(r->tls.client_hello);
}

static void
chk_hs_warn(const struct sess_record *r)
{
	const struct incident *inc = find_inc(r, "starttls-handshake-failed");

	assert_true(r->tls.alert);
	assert_int_equal(r->tls.alert_level, 1);
	if (inc != NULL)
		assert_false(str_in(inc->summary, "alert"));
}

/* A client that offers nothing newer than TLS 1.0, and a server that
 * accepts it: tls-version-obsolete, the client's fix.  When the server
 * refuses it with an alert, starttls-handshake-failed alone says so. */
#define TLS10_HELLO	"\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2f\x01\x00"
static const struct step tls10[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C(TLS10_HELLO),
	S("\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2f\x00"),
};
static const struct step tls10_refused[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C(TLS10_HELLO),
	S("\x15\x03\x01\x00\x02\x02\x46"),
};

static void
chk_tls10(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "tls-version-obsolete", NULL);
	inc = find_inc(r, "tls-version-obsolete");
	assert_true(str_in(inc->summary, "offered only TLS 1.0"));
	assert_true(str_in(inc->diagnosis, "accepted TLS 1.0"));
	assert_true(str_in(inc->fix, "TLS 1.2"));
	assert_evidence(inc, "[TLS handshake: TLS 1.0, TLS_RSA_WITH_AES_128_CBC_SHA]", 7);
}

static void
chk_tls10_refused(const struct sess_record *r)
{
	assert_incs(r, "starttls-handshake-failed", NULL);
	assert_true(str_in(find_inc(r, "starttls-handshake-failed")->summary,
	    "protocol_version"));
}

/* The client offers TLS 1.2 (its legacy version, no supported_versions)
 * and the server chooses TLS 1.0: the server's fix. */
static const struct step tls10_server[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C("\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x2f\x01\x00"),
	S("\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2f\x00"),
};

static void
chk_tls10_server(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "tls-server-obsolete", NULL);
	inc = find_inc(r, "tls-server-obsolete");
	assert_true(str_in(inc->summary, "chose TLS 1.0"));
	assert_true(str_in(inc->summary, "offered TLS 1.2"));
	assert_true(str_in(inc->fix, "Enable TLS 1.2"));
}

static void
t_tls_version_obsolete(void **state)
{
	RUN(tls10, SEND_CLOSE, chk_tls10);
	RUN(tls10_refused, SEND_CLOSE, chk_tls10_refused);
	RUN(tls10_server, SEND_CLOSE, chk_tls10_server);
}

static void
t_starttls_handshake_alert(void **state)
{
	RUN(hs_alert, SEND_CLOSE, chk_hs_alert);
	RUN(hs_warn, SEND_CLOSE, chk_hs_warn);
}

/* Near miss: a capture decrypted after the fact (or taken behind a TLS
 * proxy): cleartext after the 220 from both sides.  Nothing failed, the
 * rest of the session decodes, and the post-TLS EHLO reply without
 * STARTTLS is not a stripped capability (RFC 3207 section 4.2). */
static const struct step decrypted[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	C(E), S("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO), C("Subject: x\r\n\r\nhi\r\n.\r\n"),
	S("250 2.0.0 queued\r\n"), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_decrypted(const struct sess_record *r)
{
	assert_incs(r, NULL);
	assert_true(r->flags & SF_TLS);
	assert_int_equal(r->ntx, 1);
	assert_wstr(&r->tx[0].mail_from, "a@example.test");
	assert_int_equal(r->tx[0].reply_code, 250);
	assert_int_equal(r->end, SEND_QUIT);
}

static void
t_starttls_decrypted_capture(void **state)
{
	RUN(decrypted, SEND_CLOSE, chk_decrypted);
}

/* A nested MAIL refused with 503 leaves the open transaction going: the
 * RCPT and the message belong to the first sender, and a sequencing
 * error is not a rejected sender. */
static const struct step nested[] = {
	S(G), C("HELO c.example.test\r\n"), S("250 mx.example.test\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("MAIL FROM:<x@example.test>\r\n"), S("503 5.5.1 Error: nested MAIL command\r\n"),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO), C("Subject: x\r\n\r\nhi\r\n.\r\n"),
	S("250 2.0.0 queued\r\n"), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_nested(const struct sess_record *r)
{
	assert_incs(r, NULL);
	assert_int_equal(r->ntx, 2);
	assert_wstr(&r->tx[0].mail_from, "a@example.test");
	assert_int_equal(r->tx[0].nrcpts, 1);
	assert_wstr(&r->tx[0].rcpts[0].addr, "b@example.test");
	assert_int_equal(r->tx[0].reply_code, 250);
	assert_int_equal(r->tx[1].mail_reply_code, 503);
	assert_int_equal(r->tx[1].nrcpts, 0);
}

static void
t_nested_mail_refused(void **state)
{
	RUN(nested, SEND_CLOSE, chk_nested);
}

/* A refused EHLO in the middle of a transaction neither renames the client
 * nor resets the transaction (RFC 5321 section 4.1.4: only an accepted
 * one does). */
static const struct step ehlo_mid[] = {
	S(G), C("HELO c.example.test\r\n"), S("250 mx.example.test\r\n"),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("EHLO\r\n"), S("501 Syntax: EHLO hostname\r\n"),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO), C("hi\r\n.\r\n"),
	S("250 2.0.0 queued\r\n"), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_ehlo_mid(const struct sess_record *r)
{
	assert_wstr(&r->helo, "c.example.test");
	assert_int_equal(r->ntx, 1);
	assert_int_equal(r->tx[0].nrcpts, 1);
	assert_int_equal(r->tx[0].reply_code, 250);
}

static void
t_refused_ehlo_keeps_transaction(void **state)
{
	RUN(ehlo_mid, SEND_CLOSE, chk_ehlo_mid);
}

static const struct step inject[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\nMAIL FROM:<evil@example.test>\r\n"),
	S("220 2.0.0 Ready to start TLS\r\n"),
	C("\x16\x03\x01\x00\x10" "client hello...."), S("\x16\x03\x03\x00\x10" "server hello...."),
};

static void
chk_inject(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "starttls-injection", NULL);
	assert_inc(r, "starttls-injection", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "starttls-injection");
	assert_evidence(inc, "STARTTLS", 4);
	assert_evidence(inc, "MAIL FROM:<evil@example.test>", 4);
	assert_int_equal(r->state, SST_TLS);
}

static void
t_starttls_injection(void **state)
{
	RUN(inject, SEND_CLOSE, chk_inject);
}

static const struct step inject_srv[] = {
	S(G), C(E), S(CAPS_ALL), C("STARTTLS\r\n"),
	S("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n"),
	C("\x16\x03\x01\x00\x10" "client hello...."), S("\x16\x03\x03\x00\x10" "server hello...."),
};

static void
chk_inject_srv(const struct sess_record *r)
{
	assert_incs(r, "starttls-injection", NULL);
	assert_true(str_in(find_inc(r, "starttls-injection")->diagnosis, "20 cleartext bytes"));
}

static void
t_starttls_injection_server(void **state)
{
	RUN(inject_srv, SEND_CLOSE, chk_inject_srv);
}

static const struct step tls_req[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("530 5.7.0 Must issue a STARTTLS command first\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_tls_req(const struct sess_record *r)
{
	assert_incs(r, "tls-required", NULL);	/* not mail-rejected, not auth */
	assert_inc(r, "tls-required", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "tls-required"), "530 5.7.0", 5);
	assert_evidence(find_inc(r, "tls-required"), "MAIL FROM", 4);
}

static void
t_tls_required(void **state)
{
	RUN(tls_req, SEND_CLOSE, chk_tls_req);
}

/* ---------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------ */
static const struct step size_ex[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> SIZE=20000000\r\n"),
	S("552 5.3.4 Message size exceeds fixed limit\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_size_ex(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "size-exceeded", NULL);
	assert_inc(r, "size-exceeded", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "size-exceeded");
	assert_true(str_in(inc->diagnosis, "SIZE=20000000, above the 10240000"));
	assert_evidence(inc, "MAIL FROM:<a@example.test> SIZE=20000000", 4);
	assert_evidence(inc, "552 5.3.4", 5);
}

static void
t_size_exceeded(void **state)
{
	RUN(size_ex, SEND_CLOSE, chk_size_ex);
}

static const struct step auth_fail[] = {
	S(G), C(E), S("250-mx.example.test\r\n250 AUTH PLAIN\r\n"),
	C("AUTH PLAIN AHVzZXIAd3JvbmdwYXNz\r\n"),
	S("535 5.7.8 Error: authentication failed: bad credentials\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_auth_fail(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "auth-problem", NULL);
	assert_inc(r, "auth-problem", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "auth-problem");
	assert_evidence(inc, "AUTH PLAIN ********", 4);
	assert_evidence(inc, "535 5.7.8", 5);
	assert_false(str_in(inc->summary, "AHVzZXIA"));
}

static void
t_auth_problem(void **state)
{
	RUN(auth_fail, SEND_CLOSE, chk_auth_fail);
}

static const struct step auth_ok[] = {
	S(G), C(E), S("250-mx.example.test\r\n250 AUTH PLAIN\r\n"),
	C("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), S("235 2.7.0 Authentication successful\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
t_auth_ok_no_incident(void **state)
{
	RUN(auth_ok, SEND_CLOSE, chk_clean);
}

static const struct step bare_cmd[] = {
	S(G), C("EHLO c.example.test\n"), S(CAPS_ALL), C("QUIT\r\n"), S(Q_OK),
};

static void
chk_bare_cmd(const struct sess_record *r)
{
	assert_incs(r, "bare-lf", NULL);
	assert_inc(r, "bare-lf", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "bare-lf"), "EHLO", 2);
	assert_int_equal(r->anomalies[SAN_BARE_LF], 1);
}

static void
t_bare_lf(void **state)
{
	RUN(bare_cmd, SEND_CLOSE, chk_bare_cmd);
}

static const struct step smuggle[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\nhi\r\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<b@example.test>\r\n"
	  "DATA\r\nSubject: forged\r\n\r\nx\r\n.\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_smuggle(const struct sess_record *r)
{
	const struct incident *inc;

	assert_int_equal(r->ntx, 1);	/* the forged "commands" stayed content */
	assert_incs(r, "smuggling-eod", "bare-lf", NULL);
	assert_inc(r, "smuggling-eod", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "smuggling-eod");
	assert_evidence(inc, "[message: ", 10);
	assert_evidence(inc, "250 2.0.0 Ok", 11);
}

static void
t_smuggling_eod(void **state)
{
	RUN(smuggle, SEND_CLOSE, chk_smuggle);
}

static const struct step mail_def[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S("451 4.7.1 Try again later\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_mail_def(const struct sess_record *r)
{
	assert_incs(r, "mail-deferred", NULL);
	assert_inc(r, "mail-deferred", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "mail-deferred"), "451 4.7.1", 5);
	assert_int_equal(r->state, SST_DEFERRED);
}

static void
t_mail_deferred(void **state)
{
	RUN(mail_def, SEND_CLOSE, chk_mail_def);
}

static const struct step rcpt_rej2[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<x@example.test>\r\n"
	  "RCPT TO:<y@example.test>\r\nRCPT TO:<z@example.test>\r\nDATA\r\n"),
	S(M_OK "550 5.1.1 <x@example.test>: unknown\r\n"
	  "550 5.1.1 <y@example.test>: unknown\r\n" R_OK GO),
	C("Subject: x\r\n\r\nhi\r\n.\r\n"), S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_rcpt_rej2(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "rcpt-rejected", NULL);	/* one, listing both */
	inc = find_inc(r, "rcpt-rejected");
	assert_true(str_in(inc->summary, "2 recipients"));
	assert_true(str_in(inc->diagnosis, "<x@example.test>"));
	assert_true(str_in(inc->diagnosis, "<y@example.test>"));
	assert_evidence(inc, "RCPT TO:<x@example.test>", 4);
	assert_evidence(inc, "550 5.1.1 <y@example.test>", 5);
	assert_int_equal(r->state, SST_PARTIAL);
}

static void
t_rcpt_rejected_once(void **state)
{
	RUN(rcpt_rej2, SEND_CLOSE, chk_rcpt_rej2);
}

static const struct step data_rej[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S("554 5.7.1 DATA refused by policy\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_data_rej(const struct sess_record *r)
{
	assert_incs(r, "data-rejected", NULL);
	assert_inc(r, "data-rejected", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "data-rejected"), "DATA", 8);
	assert_evidence(find_inc(r, "data-rejected"), "554 5.7.1", 9);
}

static void
t_data_rejected(void **state)
{
	RUN(data_rej, SEND_CLOSE, chk_data_rej);
}

static const struct step msg_rej[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: buy now\r\n\r\nspam\r\n.\r\n"),
	S("550-5.7.1 Message rejected as spam\r\n550 5.7.1 see https://example.test/spam\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_msg_rej(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "message-rejected", NULL);
	assert_inc(r, "message-rejected", SEV_ERROR, CONF_CERTAIN);
	inc = find_inc(r, "message-rejected");
	assert_true(str_in(inc->diagnosis, "X.7"));
	assert_evidence(inc, "550-5.7.1 Message rejected as spam", 11);
	assert_evidence(inc, "550 5.7.1 see", 11);
	assert_int_equal(r->tx[0].enh.subject, 7);
	assert_wstr(&r->tx[0].reply_text, "5.7.1 see https://example.test/spam");
	assert_int_equal(r->state, SST_REJECTED);
}

static void
t_message_rejected(void **state)
{
	RUN(msg_rej, SEND_CLOSE, chk_msg_rej);
}

static const struct step msg_def[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"),
	S(M_OK R_OK GO),
	C("Subject: x\r\n\r\nhi\r\n.\r\n"),
	S("451 4.3.0 Error: queue file write error\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_msg_def(const struct sess_record *r)
{
	assert_incs(r, "message-deferred", NULL);
	assert_inc(r, "message-deferred", SEV_WARNING, CONF_CERTAIN);
	assert_true(str_in(find_inc(r, "message-deferred")->diagnosis, "X.3"));
	assert_int_equal(r->state, SST_DEFERRED);
}

static void
t_message_deferred(void **state)
{
	RUN(msg_def, SEND_CLOSE, chk_msg_def);
}

static const struct step ndr[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<>\r\nRCPT TO:<sender@example.test>\r\nDATA\r\n"),
	S(M_OK R_OK GO),
	C("Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	  "\tboundary=\"b1\"\r\n\r\n--b1\r\n\r\nfailed\r\n--b1--\r\n.\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_ndr(const struct sess_record *r)
{
	assert_incs(r, "ndr-on-wire", NULL);
	assert_inc(r, "ndr-on-wire", SEV_NOTICE, CONF_CERTAIN);
	assert_evidence(find_inc(r, "ndr-on-wire"), "MAIL FROM:<>", 4);
	assert_wstr(&r->tx[0].content_type, "multipart/report");
	assert_wstr(&r->tx[0].mail_from, "");
}

static void
t_ndr_on_wire(void **state)
{
	RUN(ndr, SEND_CLOSE, chk_ndr);
}

static const struct step ndr_not[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<>\r\nRCPT TO:<sender@example.test>\r\nDATA\r\n"),
	S(M_OK R_OK GO),
	C("Subject: auto reply\r\nContent-Type: text/plain\r\n\r\naway\r\n.\r\n"),
	S("250 2.0.0 Ok\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
t_ndr_near_miss(void **state)
{
	RUN(ndr_not, SEND_CLOSE, chk_clean);
}

static const struct step dsn[] = {
	S(G), C(E), S(CAPS_NOPIPE),
	C("MAIL FROM:<a@example.test> RET=HDRS\r\n"), S(M_OK),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_dsn(const struct sess_record *r)
{
	assert_incs(r, "dsn-unoffered", NULL);
	assert_inc(r, "dsn-unoffered", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "dsn-unoffered"), "MAIL FROM:<a@example.test> RET=HDRS", 4);
}

static void
t_dsn_unoffered(void **state)
{
	RUN(dsn, SEND_CLOSE, chk_dsn);
}

/* ---------------------------------------------------------------------
 * Connection and protocol
 * ------------------------------------------------------------------ */
static const struct step cut[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("DATA\r\n"), S(GO),
	C("Subject: x\r\n\r\nhalf a mess"),
};

static void
chk_cut(const struct sess_record *r)
{
	assert_incs(r, "reset-mid-data", NULL);	/* and no no-quit */
	assert_inc(r, "reset-mid-data", SEV_ERROR, CONF_CERTAIN);
	assert_evidence(find_inc(r, "reset-mid-data"), "[message cut short: 25 bytes", 11);
	assert_evidence(find_inc(r, "reset-mid-data"), "DATA", 8);
	assert_int_equal(r->state, SST_BROKEN);
	assert_int_equal(r->end, SEND_RESET);
}

static void
t_reset_mid_data(void **state)
{
	RUN(cut, SEND_RESET, chk_cut);
}

static void
chk_cut_eof(const struct sess_record *r)
{
	assert_incs(r, NULL);
	assert_false(r->tx[0].content_complete);
	assert_int_equal(r->end, SEND_EOF);
}

static void
t_reset_mid_data_not_at_eof(void **state)
{
	RUN(cut, SEND_EOF, chk_cut_eof);
}

static const struct step cut_after_dot[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"),
	S(M_OK R_OK GO),
	C("Subject: x\r\n\r\nhi\r\n.\r\n"),
};

static void
chk_cut_after_dot(const struct sess_record *r)
{
	assert_incs(r, "reset-mid-data", NULL);
	assert_true(str_in(find_inc(r, "reset-mid-data")->diagnosis, "duplicate"));
	assert_true(r->tx[0].content_complete);
}

static void
t_reset_after_dot(void **state)
{
	RUN(cut_after_dot, SEND_CLOSE, chk_cut_after_dot);
}

static const struct step srv_shut[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"),
	S("421 4.4.2 mx.example.test Error: timeout exceeded\r\n"),
};

static void
chk_shutdown(const struct sess_record *r)
{
	assert_incs(r, "server-shutdown", NULL);	/* no mail-deferred, no no-quit */
	assert_inc(r, "server-shutdown", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "server-shutdown"), "421 4.4.2", 5);
}

static void
t_server_shutdown(void **state)
{
	RUN(srv_shut, SEND_CLOSE, chk_shutdown);
}

static const struct step noquit[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"),
	S(M_OK R_OK GO),
	C("Subject: x\r\n\r\nhi\r\n.\r\n"), S("250 2.0.0 Ok\r\n"),
};

static void
chk_noquit(const struct sess_record *r)
{
	assert_incs(r, "no-quit", NULL);
	assert_inc(r, "no-quit", SEV_NOTICE, CONF_CERTAIN);
	assert_evidence(find_inc(r, "no-quit"), "250 2.0.0 Ok", 7);
	assert_int_equal(r->state, SST_DELIVERED);
}

static void
t_no_quit(void **state)
{
	RUN(noquit, SEND_CLOSE, chk_noquit);
}

static void
t_no_quit_not_at_eof(void **state)
{
	RUN(noquit, SEND_EOF, chk_clean);
}

static const struct step pipe_bad[] = {
	S(G), C(E), S(CAPS_NOPIPE),
	C("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"),
	S(M_OK R_OK),
	C("NOOP\r\nQUIT\r\n"), S("250 Ok\r\n" Q_OK),
};

static void
chk_pipe_bad(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "pipelining-violation", NULL);
	assert_inc(r, "pipelining-violation", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "pipelining-violation");
	assert_evidence(inc, "RCPT TO:<b@example.test>", 4);
	assert_evidence(inc, "QUIT", 6);
	assert_int_equal(r->anomalies[SAN_PIPELINING_UNOFFERED], 1);
}

static void
t_pipelining_violation(void **state)
{
	RUN(pipe_bad, SEND_CLOSE, chk_pipe_bad);
}

/* Near miss: the EHLO reply was lost in a gap, so whether PIPELINING was
 * offered is unknown; two commands in one packet prove nothing. */
static const struct step pipe_blind[] = {
	S(G), C(E), GAPS(120), C("RSET\r\nQUIT\r\n"), S("250 2.0.0 Ok\r\n" Q_OK),
};

static void
chk_pipe_blind(const struct sess_record *r)
{
	assert_null(find_inc(r, "pipelining-violation"));
	assert_int_equal(r->anomalies[SAN_PIPELINING_UNOFFERED], 0);
}

static void
t_pipelining_violation_blind(void **state)
{
	RUN(pipe_blind, SEND_CLOSE, chk_pipe_blind);
}

static const struct step mismatch[] = {
	S(G), C(E), S("250-mx.example.test\r\n251-PIPELINING\r\n250 8BITMIME\r\n"),
	C("NOOP\r\n"), S("250 Ok\r\n250 Ok again\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_mismatch(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "reply-mismatch", NULL);
	assert_inc(r, "reply-mismatch", SEV_WARNING, CONF_CERTAIN);
	inc = find_inc(r, "reply-mismatch");
	assert_evidence(inc, "251-PIPELINING", 3);
	assert_evidence(inc, "250 Ok again", 5);
	assert_int_equal(r->anomalies[SAN_UNSOLICITED_REPLY], 1);
	assert_int_equal(r->anomalies[SAN_REPLY_CODE_CHANGE], 1);
	/* The QUIT still pairs with its 221. */
	assert_int_equal(r->last_reply_code, 221);
}

static void
t_reply_mismatch(void **state)
{
	RUN(mismatch, SEND_CLOSE, chk_mismatch);
}

static const struct step longcmd[] = {
	S(G), C(E), S(CAPS_ALL),
	C("VRFY 0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\r\n"),
	S("500 5.5.0 line too long\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_longcmd(const struct sess_record *r)
{
	assert_incs(r, "line-too-long", NULL);
	assert_inc(r, "line-too-long", SEV_WARNING, CONF_CERTAIN);
	assert_evidence(find_inc(r, "line-too-long"), "VRFY 0123", 4);
	assert_int_equal(r->anomalies[SAN_LONG_CMD], 1);
	assert_int_equal(r->anomalies[SAN_LINE_CAP], 0);
}

static void
t_line_too_long(void **state)
{
	RUN(longcmd, SEND_CLOSE, chk_longcmd);
}

/* An incident in a session with a capture gap says so. */
static const struct step gapped[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	GAPS(1460),
	C("RCPT TO:<b@example.test>\r\n"), S("550 5.1.1 unknown user\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_gapped(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "rcpt-rejected", NULL);
	inc = find_inc(r, "rcpt-rejected");
	assert_non_null(inc->visibility);
	assert_true(str_in(inc->visibility, "1460 bytes missing from the server"));
	assert_int_equal(inc->confidence, CONF_CERTAIN);
	assert_false(str_in(inc->diagnosis, "Confidence lowered"));
	assert_true(r->flags & SF_GAP);
}

static void
t_visibility_gap(void **state)
{
	RUN(gapped, SEND_CLOSE, chk_gapped);
}

/* ---------------------------------------------------------------------
 * Every diagnosis follows from what the session showed (issue 10)
 * ------------------------------------------------------------------ */

/* A capture with the client's side only (a mirror port copying one
 * direction): no greeting seen is not a client talking first. */
static const struct step early_onesided[] = {
	C(E), C("MAIL FROM:<a@example.test>\r\n"), C("QUIT\r\n"),
};

static void
chk_early_onesided(const struct sess_record *r)
{
	assert_true(r->flags & SF_ONE_SIDED);
	assert_null(find_inc(r, "early-talker"));
}

static void
t_early_talker_one_sided(void **state)
{
	RUN(early_onesided, SEND_CLOSE, chk_early_onesided);
}

/* The same capture with the client's ACK numbers: its EHLO acknowledged
 * 40 server bytes, so the greeting had arrived; nothing is early. */
static const struct step early_acked[] = {
	CA(40, E), CA(300, "MAIL FROM:<a@example.test>\r\n"), CA(314, "QUIT\r\n"),
};

static void
chk_early_acked(const struct sess_record *r)
{
	assert_true(r->flags & SF_ONE_SIDED);
	assert_null(find_inc(r, "early-talker"));
	assert_int_equal(r->anomalies[SAN_EARLY_TALKER], 0);
}

static void
t_early_talker_one_sided_acked(void **state)
{
	RUN(early_acked, SEND_CLOSE, chk_early_acked);
}

/* Its EHLO acknowledged no server byte: the client spoke before it had
 * received anything.  Probable, not certain: the greeting may have been
 * in flight, and the capture cannot show it. */
static const struct step early_unacked[] = {
	CA(0, E), CA(300, "MAIL FROM:<a@example.test>\r\n"), CA(314, "QUIT\r\n"),
};

static void
chk_early_unacked(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "early-talker", NULL);
	assert_inc(r, "early-talker", SEV_WARNING, CONF_PROBABLE);
	inc = find_inc(r, "early-talker");
	assert_true(str_in(inc->diagnosis, "only one direction was captured"));
	assert_true(str_in(inc->diagnosis, "received no byte from the server"));
	assert_evidence(inc, "EHLO c.example.test", 1);
}

static void
t_early_talker_one_sided_unacked(void **state)
{
	RUN(early_unacked, SEND_CLOSE, chk_early_unacked);
}

/* A rule that reads a side's silence (8BITMIME not in the EHLO reply)
 * loses a step of confidence when bytes of that side are missing; a rule
 * that reads a reply it saw (rcpt-rejected in t_visibility_gap) keeps its
 * confidence. */
static const struct step unoffered8_gap[] = {
	S(G), GAPS(60), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"), S(M_OK),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_unoffered8_gap(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "8bitmime-unoffered", NULL);
	assert_inc(r, "8bitmime-unoffered", SEV_WARNING, CONF_PROBABLE);
	inc = find_inc(r, "8bitmime-unoffered");
	assert_true(str_in(inc->diagnosis, "Confidence lowered"));
	assert_true(str_in(inc->diagnosis, "missing bytes from the server"));
}

static void
t_absence_needs_the_side(void **state)
{
	RUN(unoffered8_gap, SEND_CLOSE, chk_unoffered8_gap);
}

/* BDAT without the CHUNKING offer, refused as a command: its own type,
 * and no message-rejected with a content-filter fix. */
static const struct step bdat_nochunk[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test>\r\n"), S(R_OK),
	C("BDAT 3 LAST\r\nabc"), S("521 5.5.1 command not implemented\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_bdat_nochunk(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "chunking-unoffered", NULL);
	inc = find_inc(r, "chunking-unoffered");
	assert_true(str_in(inc->diagnosis, "refused the BDAT command"));
	assert_false(str_in(inc->fix, "filter"));
	assert_evidence(inc, "BDAT 3 LAST", 8);
	assert_evidence(inc, "521 5.5.1", 9);
}

static void
t_chunking_unoffered(void **state)
{
	RUN(bdat_nochunk, SEND_CLOSE, chk_bdat_nochunk);
}

/* MAIL ... SMTPUTF8 refused as an unsupported option: a parameter
 * problem, offered or not, never "fix the sender address or its DNS". */
static const struct step utf8_opt_offered[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> SMTPUTF8\r\n"),
	S("555 5.5.4 Unsupported option: SMTPUTF8\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};
static const struct step utf8_opt_unoffered[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> SMTPUTF8\r\n"),
	S("555 5.5.4 Unsupported option: SMTPUTF8\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_utf8_opt(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "smtputf8-rejected", NULL);
	inc = find_inc(r, "smtputf8-rejected");
	assert_false(str_in(inc->fix, "DNS"));
	assert_true(str_in(inc->fix, "SMTPUTF8"));
	assert_evidence(inc, "555 5.5.4", 5);
}

static void
t_smtputf8_rejected(void **state)
{
	RUN(utf8_opt_offered, SEND_CLOSE, chk_utf8_opt);
	RUN(utf8_opt_unoffered, SEND_CLOSE, chk_utf8_opt);
}

/* A refused DSN parameter, on MAIL (RET=, ENVID=) or on RCPT (NOTIFY=,
 * ORCPT=), is dsn-unoffered with the DSN fix: never mail-rejected's
 * "fix the sender address", never rcpt-rejected's "the address does not
 * exist". */
static const struct step dsn_mail_refused[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> RET=HDRS ENVID=x1\r\n"),
	S("555 5.5.4 Unsupported option: RET=HDRS\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};
static const struct step dsn_rcpt_refused[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test>\r\n"), S(M_OK),
	C("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE\r\n"),
	S("555 5.5.4 Unsupported option: NOTIFY=SUCCESS,FAILURE\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static const struct incident *
chk_dsn_refused(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "dsn-unoffered", NULL);
	inc = find_inc(r, "dsn-unoffered");
	assert_true(str_in(inc->summary, "refused the DSN parameters"));
	assert_true(str_in(inc->fix, "DSN"));
	assert_false(str_in(inc->fix, "DNS"));
	return inc;
}

static void
chk_dsn_mail_refused(const struct sess_record *r)
{
	assert_evidence(chk_dsn_refused(r), "555 5.5.4", 5);
}

static void
chk_dsn_rcpt_refused(const struct sess_record *r)
{
	const struct incident *inc = chk_dsn_refused(r);

	assert_evidence(inc, "RCPT TO:<b@example.test> NOTIFY", 6);
	assert_evidence(inc, "555 5.5.4", 7);
}

static void
t_dsn_param_refused(void **state)
{
	RUN(dsn_mail_refused, SEND_CLOSE, chk_dsn_mail_refused);
	RUN(dsn_rcpt_refused, SEND_CLOSE, chk_dsn_rcpt_refused);
}

/* The same 555 to a MAIL whose only parameter is not DSN's: not blamed
 * on DSN, and not on the address either. */
static const struct step size_syntax[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@example.test> SIZE=12x\r\n"),
	S("501 5.5.4 Bad SIZE syntax\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_size_syntax(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "mail-rejected", NULL);
	inc = find_inc(r, "mail-rejected");
	assert_true(str_in(inc->summary, "refused the SIZE parameter"));
	assert_true(str_in(inc->fix, "address is not at fault"));
	assert_false(str_in(inc->fix, "DNS"));
}

/* Near miss: a MAIL with parameters refused for its address (5.1.7,
 * the text naming no parameter) is the sender's address after all. */
static const struct step addr_with_params[] = {
	S(G), C(E), S(CAPS_ALL),
	C("MAIL FROM:<a@@example.test> SIZE=100 BODY=7BIT\r\n"),
	S("501 5.1.7 Bad sender address syntax\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_addr_with_params(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "mail-rejected", NULL);
	inc = find_inc(r, "mail-rejected");
	assert_false(str_in(inc->summary, "parameter"));
	assert_true(str_in(inc->fix, "sender address"));
}

static void
t_param_refused_not_address(void **state)
{
	RUN(size_syntax, SEND_CLOSE, chk_size_syntax);
	RUN(addr_with_params, SEND_CLOSE, chk_addr_with_params);
}

/* BODY=8BITMIME without the offer, refused 451 by a sender check: the
 * refusal is not blamed on BODY=. */
static const struct step body_unrelated[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"),
	S("451 4.1.8 <a@example.test>: Sender address rejected: Domain not found\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_body_unrelated(const struct sess_record *r)
{
	const struct incident *inc = find_inc(r, "8bitmime-unoffered");

	assert_non_null(inc);
	assert_null(find_inc(r, "body-rejected"));
	assert_false(str_in(inc->diagnosis, "refused the transaction."));
	assert_true(str_in(inc->diagnosis, "does not tie to BODY="));
}

/* ... but a refusal that names the parameter is body-rejected's alone. */
static const struct step body_param[] = {
	S(G), C(E), S(CAPS_NO8),
	C("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n"),
	S("555 5.5.4 BODY=8BITMIME parameter not supported\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_body_param(const struct sess_record *r)
{
	assert_incs(r, "body-rejected", NULL);
}

static void
t_refusal_blamed_on_parameter_only_when_it_says_so(void **state)
{
	RUN(body_unrelated, SEND_CLOSE, chk_body_unrelated);
	RUN(body_param, SEND_CLOSE, chk_body_param);
}

/* STARTTLS refused where it was never offered: the fix is not the
 * server's certificate files. */
static const struct step tls_ref_unoffered[] = {
	S(G), C(E), S(CAPS_NO8), C("STARTTLS\r\n"),
	S("502 5.5.1 Error: command not implemented\r\n"),
	C("QUIT\r\n"), S(Q_OK),
};

static void
chk_tls_ref_unoffered(const struct sess_record *r)
{
	const struct incident *inc;

	assert_incs(r, "starttls-refused", NULL);
	inc = find_inc(r, "starttls-refused");
	assert_true(str_in(inc->diagnosis, "had not offered STARTTLS"));
	assert_false(str_in(inc->fix, "certificate and key files"));
}

static void
t_starttls_refused_unoffered(void **state)
{
	RUN(tls_ref_unoffered, SEND_CLOSE, chk_tls_ref_unoffered);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_8bitmime_abort_close),
		cmocka_unit_test(t_8bitmime_abort_not_probe),
		cmocka_unit_test(t_abort_after_capabilities),
		cmocka_unit_test(t_8bitmime_abort_probe_client),
		cmocka_unit_test(t_8bitmime_abort_supported_elsewhere),
		cmocka_unit_test(t_8bitmime_unoffered),
		cmocka_unit_test(t_body_rejected),
		cmocka_unit_test(t_mail_rejected_not_body),
		cmocka_unit_test(t_8bit_undeclared),
		cmocka_unit_test(t_8bit_declared_unoffered),
		cmocka_unit_test(t_8bit_rejected),
		cmocka_unit_test(t_smtputf8_abort),
		cmocka_unit_test(t_smtputf8_unoffered),
		cmocka_unit_test(t_smtputf8_offered_no_incident),
		cmocka_unit_test(t_smtputf8_without_8bitmime),
		cmocka_unit_test(t_binarymime_violation),
		cmocka_unit_test(t_ehlo_rejected),
		cmocka_unit_test(t_ehlo_rejected_near_miss),
		cmocka_unit_test(t_greeting_refused),
		cmocka_unit_test(t_greeting_421),
		cmocka_unit_test(t_early_talker),
		cmocka_unit_test(t_early_talker_gap),
		cmocka_unit_test(t_capability_stripped),
		cmocka_unit_test(t_starttls_refused),
		cmocka_unit_test(t_starttls_refused_unoffered),
		cmocka_unit_test(t_early_talker_one_sided),
		cmocka_unit_test(t_early_talker_one_sided_acked),
		cmocka_unit_test(t_starttls_handshake_alert),
		cmocka_unit_test(t_tls_version_obsolete),
		cmocka_unit_test(t_dsn_param_refused),
		cmocka_unit_test(t_param_refused_not_address),
		cmocka_unit_test(t_early_talker_one_sided_unacked),
		cmocka_unit_test(t_absence_needs_the_side),
		cmocka_unit_test(t_chunking_unoffered),
		cmocka_unit_test(t_smtputf8_rejected),
		cmocka_unit_test(t_refusal_blamed_on_parameter_only_when_it_says_so),
		cmocka_unit_test(t_starttls_not_used),
		cmocka_unit_test(t_starttls_not_used_loopback),
		cmocka_unit_test(t_starttls_handshake_failed),
		cmocka_unit_test(t_starttls_decrypted_capture),
		cmocka_unit_test(t_nested_mail_refused),
		cmocka_unit_test(t_refused_ehlo_keeps_transaction),
		cmocka_unit_test(t_starttls_injection),
		cmocka_unit_test(t_starttls_injection_server),
		cmocka_unit_test(t_tls_required),
		cmocka_unit_test(t_size_exceeded),
		cmocka_unit_test(t_auth_problem),
		cmocka_unit_test(t_auth_ok_no_incident),
		cmocka_unit_test(t_bare_lf),
		cmocka_unit_test(t_smuggling_eod),
		cmocka_unit_test(t_mail_deferred),
		cmocka_unit_test(t_rcpt_rejected_once),
		cmocka_unit_test(t_data_rejected),
		cmocka_unit_test(t_message_rejected),
		cmocka_unit_test(t_message_deferred),
		cmocka_unit_test(t_ndr_on_wire),
		cmocka_unit_test(t_ndr_near_miss),
		cmocka_unit_test(t_dsn_unoffered),
		cmocka_unit_test(t_reset_mid_data),
		cmocka_unit_test(t_reset_mid_data_not_at_eof),
		cmocka_unit_test(t_reset_after_dot),
		cmocka_unit_test(t_server_shutdown),
		cmocka_unit_test(t_no_quit),
		cmocka_unit_test(t_no_quit_not_at_eof),
		cmocka_unit_test(t_pipelining_violation),
		cmocka_unit_test(t_pipelining_violation_blind),
		cmocka_unit_test(t_reply_mismatch),
		cmocka_unit_test(t_line_too_long),
		cmocka_unit_test(t_visibility_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
