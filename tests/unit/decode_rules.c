/*
 * decode_rules.c - the incident type table (record.h's INCIDENT_TYPES),
 * the rule table and its stand-back sets (decode/rule_int.h), and the
 * tally by type that the summary, the report and the UI share.
 *
 * The table tests pin what outputs depend on: names and their order, the
 * 8-bit family the UI flags, each row's function and stand-back set.  The
 * session tests show the runner applying a stand-back set (one rule's
 * incident and nothing on top), each run whole, byte by byte and at every
 * split (decode_harness.h).
 */
#include "decode_harness.h"
#include "decode/rule_int.h"

#define G	"220 mx.example.test ESMTP\r\n"
#define E	"EHLO c.example.test\r\n"

/* ---------------------------------------------------------------------
 * The type table
 * ------------------------------------------------------------------ */
static void
t_type_names(void **state)
{
	(void)state;
	assert_int_equal(INC_MAX, 44);
	assert_string_equal(inc_type_name(INC_8BITMIME_ABORT), "8bitmime-abort");
	assert_string_equal(inc_type_name(INC_NO_QUIT), "no-quit");
	assert_string_equal(inc_type_name(INC_LINE_TOO_LONG), "line-too-long");
	assert_string_equal(inc_type_name(INC_MAX), "?");
	for (unsigned k = 0; k < INC_MAX; k++) {
		const char *n = inc_type_name(k);

		assert_true(n[0] != '\0' && strcmp(n, "?") != 0);
		assert_int_equal(inc_type_from_name(n), k);	/* unique */
		assert_true(inc_type_family(k) < FAM_MAX);
		assert_true(inc_type_severity(k) <= SEV_ERROR);
		assert_true(inc_type_confidence(k) <= CONF_CERTAIN);
		assert_true(strncmp(inc_type_rfc(k), "RFC ", 4) == 0);
	}
	assert_int_equal(inc_type_from_name("8bitmime"), INC_MAX);
	assert_int_equal(inc_type_from_name(NULL), INC_MAX);
	assert_int_equal(inc_type_severity(INC_8BITMIME_ABORT), SEV_ERROR);
	assert_int_equal(inc_type_confidence(INC_8BITMIME_ABORT), CONF_PROBABLE);
	assert_int_equal(inc_type_confidence(INC_ABORT_AFTER_CAPABILITIES), CONF_POSSIBLE);
	assert_int_equal(inc_type_severity(INC_STARTTLS_NOT_USED), SEV_NOTICE);
}

/* A session's anomaly counters saturate, never wrap. */
static void
t_counters_saturate(void **state)
{
	uint32_t c = UINT32_MAX - 2;

	(void)state;
	san_add(&c, 1);
	assert_int_equal(c, UINT32_MAX - 1);
	san_add(&c, 5);
	assert_int_equal(c, UINT32_MAX);
	san_add(&c, 1);
	assert_int_equal(c, UINT32_MAX);
	c = 0;
	san_add(&c, (uint64_t)1 << 40);
	assert_int_equal(c, UINT32_MAX);
}

/* The 8-bit family is what the UI flags with "!": by family now, no longer
 * by "8bit" in the name (smtputf8-abort and binarymime-violation count). */
static void
t_families(void **state)
{
	static const char *const eight[] = { "8bitmime-abort", "8bitmime-unoffered",
	    "body-rejected", "8bit-undeclared", "8bit-rejected", "smtputf8-abort",
	    "smtputf8-rejected", "smtputf8-unoffered", "smtputf8-without-8bitmime",
	    "binarymime-violation" };
	size_t n8 = 0;

	(void)state;
	for (unsigned k = 0; k < INC_MAX; k++)
		n8 += inc_type_family(k) == FAM_8BIT;
	assert_int_equal(n8, sizeof(eight) / sizeof(eight[0]));
	for (size_t i = 0; i < sizeof(eight) / sizeof(eight[0]); i++)
		assert_int_equal(inc_type_family(inc_type_from_name(eight[i])), FAM_8BIT);
	assert_int_equal(inc_type_family(INC_EHLO_REJECTED), FAM_HELLO);
	assert_int_equal(inc_type_family(INC_AUTH_PROBLEM), FAM_TLS);
	assert_int_equal(inc_type_family(INC_SMUGGLING_EOD), FAM_TX);
	assert_int_equal(inc_type_family(INC_NO_QUIT), FAM_CONN);
	assert_int_equal(inc_type_family(INC_MAX), FAM_MAX);
	/* Whose fix a cause is: the server lacking 8BITMIME, the server
	 * refusing recipients; the client sending bare LF or pipelining. */
	assert_int_equal(inc_type_side(INC_8BITMIME_ABORT), SIDE_SERVER);
	assert_int_equal(inc_type_side(INC_RCPT_REJECTED), SIDE_SERVER);
	assert_int_equal(inc_type_side(INC_BARE_LF), SIDE_CLIENT);
	assert_int_equal(inc_type_side(INC_PIPELINING_VIOLATION), SIDE_CLIENT);
	assert_string_equal(inc_family_name(FAM_8BIT), "8bit");
	assert_string_equal(inc_family_name(FAM_TX), "transaction");
	assert_string_equal(inc_family_name(FAM_MAX), "?");
}

/* ---------------------------------------------------------------------
 * The rule table
 * ------------------------------------------------------------------ */
static void
t_rule_rows(void **state)
{
	(void)state;
	for (unsigned k = 0; k < INC_MAX; k++) {
		const struct rule *ru = &inc_rules[k];

		assert_int_equal(ru->kind, k);
		assert_non_null(ru->fn);
		/* A rule can only stand back for one that ran before it. */
		assert_int_equal(ru->stands_back & ~(INC_BIT(k) - 1), 0);
	}
	assert_true(inc_rules[INC_ABORT_AFTER_CAPABILITIES].stands_back ==
	    (INCB(8BITMIME_ABORT) | INCB(SMTPUTF8_ABORT)));
	assert_true(inc_rules[INC_SMTPUTF8_WITHOUT_8BITMIME].stands_back ==
	    INCB(8BITMIME_ABORT));
	assert_true(inc_rules[INC_NO_QUIT].stands_back == (INCB(RESET_MID_DATA) |
	    INCB(8BITMIME_ABORT) | INCB(SMTPUTF8_ABORT) |
	    INCB(ABORT_AFTER_CAPABILITIES) | INCB(SERVER_SHUTDOWN) |
	    INCB(GREETING_REFUSED) | INCB(STARTTLS_HANDSHAKE_FAILED)));
	assert_true(inc_rules[INC_8BITMIME_ABORT].stands_back == 0);
}

/*
 * Sessions ended by a close without QUIT, each raising exactly one type:
 * - SMTPUTF8 without 8BITMIME, RSET: 8bitmime-abort, and none of
 *   smtputf8-without-8bitmime, abort-after-capabilities and no-quit, which
 *   stand back for it;
 * - 8BITMIME without SMTPUTF8, RSET: smtputf8-abort alone (no
 *   abort-after-capabilities, no no-quit);
 * - the near miss, nothing to stand back for: no-quit.
 */
static const struct step utf8_no8_abort[] = {
	S(G), C(E), S("250-mx.example.test\r\n250-SMTPUTF8\r\n250 SIZE 1000\r\n"),
	C("RSET\r\n"), S("250 2.0.0 Ok\r\n"),
};
static const struct step no_utf8_abort[] = {
	S(G), C(E), S("250-mx.example.test\r\n250-8BITMIME\r\n250 SIZE 1000\r\n"),
	C("RSET\r\n"), S("250 2.0.0 Ok\r\n"),
};
static const struct step no_quit_only[] = {
	S(G), C(E), S("250-mx.example.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"),
	C("NOOP\r\n"), S("250 2.0.0 Ok\r\n"),
};

static enum inc_type only_type;	/* the one type chk_only expects */

static void
chk_only(const struct sess_record *r)
{
	assert_incs(r, inc_type_name(only_type), NULL);
	assert_int_equal(r->inc[0].kind, only_type);
	/* Every incident the decoder makes names its type from the table. */
	assert_ptr_equal(r->inc[0].type, inc_type_name(only_type));
	assert_string_equal(r->inc[0].rfc, inc_type_rfc(only_type));
}

static void
t_stand_back(void **state)
{
	static const struct {
		const struct step *steps;
		size_t n;
		enum inc_type want;
	} cases[] = {
		{ utf8_no8_abort, NSTEPS(utf8_no8_abort), INC_8BITMIME_ABORT },
		{ no_utf8_abort, NSTEPS(no_utf8_abort), INC_SMTPUTF8_ABORT },
		{ no_quit_only, NSTEPS(no_quit_only), INC_NO_QUIT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hcase c = { cases[i].steps, cases[i].n, SEND_CLOSE, false,
		    0, 0, chk_only, false, false };

		only_type = cases[i].want;
		run_case(&c);
	}
}

/* ---------------------------------------------------------------------
 * The tally
 * ------------------------------------------------------------------ */
static void
add(struct inc_tally *t, enum inc_type k, enum severity sev)
{
	struct incident inc;

	memset(&inc, 0, sizeof(inc));
	inc.kind = k;
	inc.type = inc_type_name(k);
	inc.severity = sev;
	inc_tally_one(t, &inc);
}

/* inc_tally_sorted gives exactly want[0..n). */
static void
assert_order(const struct inc_tally *t, enum tally_order o,
    const enum inc_type *want, size_t n)
{
	enum inc_type got[INC_MAX];

	assert_int_equal(inc_tally_sorted(t, o, got), n);
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i])
			fprintf(stderr, "at %zu: %s, wanted %s\n", i,
			    inc_type_name(got[i]), inc_type_name(want[i]));
		assert_int_equal(got[i], want[i]);
	}
}

static void
t_tally(void **state)
{
	/* The summary's order: by count, ties by name, not by table order
	 * (smuggling-eod runs before dsn-unoffered). */
	static const enum inc_type by_count[] = { INC_LINE_TOO_LONG, INC_NO_QUIT,
	    INC_8BITMIME_ABORT, INC_DSN_UNOFFERED, INC_SMUGGLING_EOD };
	/* The report's: by highest severity, then count, then name. */
	static const enum inc_type by_sev[] = { INC_8BITMIME_ABORT,
	    INC_LINE_TOO_LONG, INC_DSN_UNOFFERED, INC_SMUGGLING_EOD, INC_NO_QUIT };
	struct inc_tally t;
	struct sess_record r;
	struct incident two[2];
	enum inc_type o[INC_MAX];

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(inc_tally_sorted(&t, TALLY_BY_COUNT, o), 0);
	add(&t, INC_NO_QUIT, SEV_NOTICE);
	add(&t, INC_NO_QUIT, SEV_NOTICE);
	add(&t, INC_LINE_TOO_LONG, SEV_NOTICE);
	add(&t, INC_LINE_TOO_LONG, SEV_WARNING);	/* raised for one */
	add(&t, INC_LINE_TOO_LONG, SEV_NOTICE);
	add(&t, INC_8BITMIME_ABORT, SEV_ERROR);
	add(&t, INC_SMUGGLING_EOD, SEV_WARNING);
	add(&t, INC_DSN_UNOFFERED, SEV_WARNING);
	add(&t, INC_MAX, SEV_ERROR);			/* not a type: ignored */
	assert_int_equal(t.total, 8);
	assert_int_equal(t.n[INC_LINE_TOO_LONG], 3);
	assert_int_equal(t.sev[INC_LINE_TOO_LONG], SEV_WARNING);
	assert_order(&t, TALLY_BY_COUNT, by_count, 5);
	assert_order(&t, TALLY_BY_SEVERITY, by_sev, 5);

	/* A whole record. */
	memset(&r, 0, sizeof(r));
	memset(two, 0, sizeof(two));
	two[0].kind = INC_BARE_LF;
	two[1].kind = INC_SMUGGLING_EOD;
	two[1].severity = SEV_ERROR;
	r.inc = two;
	r.ninc = 2;
	inc_tally_add(&t, &r);
	assert_int_equal(t.total, 10);
	assert_int_equal(t.n[INC_BARE_LF], 1);
	assert_int_equal(t.n[INC_SMUGGLING_EOD], 2);
	assert_int_equal(t.sev[INC_SMUGGLING_EOD], SEV_ERROR);
	r.inc = NULL;	/* no incidents array: nothing */
	inc_tally_add(&t, &r);
	assert_int_equal(t.total, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_type_names),
		cmocka_unit_test(t_counters_saturate),
		cmocka_unit_test(t_families),
		cmocka_unit_test(t_rule_rows),
		cmocka_unit_test(t_stand_back),
		cmocka_unit_test(t_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
