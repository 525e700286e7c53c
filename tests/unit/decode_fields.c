/*
 * decode_fields.c - tests of the field tables (decode/fields.h): every row
 * is filled and well formed, names are unique in their table, the JSON
 * Lines object parses and has exactly the tables' keys in the tables'
 * order (every level), the CSV header and every row have the same arity
 * and the header is the column rows' names, rec_get() reads each kind.
 *
 * The record is built by hand with every field set (and hostile bytes in
 * the wire strings); Python's json and csv modules do the parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode/export.h"
#include "decode/fields.h"

#define PY "/usr/bin/python3"
#define T0 1795860001123456ULL

#define W(s) ((struct wstr){ .p = (char *)(s), .len = sizeof(s) - 1 })

static const struct rec_table *const tables[] = {
	&rec_sess_table, &rec_tx_table, &rec_inc_table, &rec_xline_table,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* ------------------------------------------------------------------------
 * A record with every field set
 * --------------------------------------------------------------------- */

static struct wstr caps[] = { W("8BITMIME"), W("SIZE 1000"), W("AUTH PLAIN") };
static struct rcpt_record rcpts[2];
static struct tx_record tx;
static struct incident incs[2];

static void
make_full(struct sess_record *r)
{
	*r = (struct sess_record){
		.uid = "SFIELDS234567", .family = AF_INET6,
		.client_ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		.server_ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
		.client_port = 40000, .server_port = 25,
		.ts_start_us = T0, .ts_end_us = T0 + 1,
		.packets = { 1, 2 }, .bytes = { 3, 4 },
		.flags = SF_MID_STREAM | SF_GAP | SF_ONE_SIDED | SF_TLS |
		    SF_KERNEL_DROPS | SF_OVERLAP,
		.banner_code = 220, .banner = W("mx \"quoted\", comma"),
		.helo = W("=cmd|' /C calc'!A0\xff\x01"),
		.ehlo = true, .helo_fallback = true,
		.caps = caps, .ncaps = 3, .caps_dropped = 1, .size_limit = 1000,
		.auth_used = W("PLAIN"), .auth_reply_code = 235,
		.starttls_reply_code = 220,
	};
	rcpts[0].addr = W("a@example.test");
	rcpts[0].reply_code = 250;
	rcpts[1].addr = W("b@example.test");
	tx = (struct tx_record){
		.ts_us = T0, .mail_from = W("s@example.test"),
		.mail_params = W("BODY=8BITMIME"), .mail_reply_code = 250,
		.body = BODY_8BITMIME, .size_param = 99, .rcpts = rcpts, .nrcpts = 2,
		.data_cmd = true, .content_complete = true, .nul_seen = true,
		.data_reply_code = 354, .data_bytes = 99, .eightbit_bytes = 2,
		.first_8bit_off = 0, .cte = W("8bit"), .charset = W("utf-8"),
		.content_type = W("text/plain"), .reply_code = 554,
		.enh = { 5, 6, 1 }, .reply_text = W("5.6.1 no"),
	};
	r->tx = &tx;
	r->ntx = 1;
	r->commands = 7;
	r->replies = 8;
	r->last_reply_code = 221;
	r->last_reply_text = W("bye");
	r->end = SEND_QUIT;
	r->state = SST_REJECTED;
	r->anomalies[SAN_BARE_LF] = 3;
	r->anomalies[SAN_GAP] = 1;
	r->nlines = 12;
	r->lines_dropped = 2;
	for (size_t i = 0; i < 2; i++) {
		incs[i].type = i == 0 ? "8bitmime-abort" : "gap";
		incs[i].severity = i == 0 ? SEV_ERROR : SEV_NOTICE;
		incs[i].confidence = CONF_PROBABLE;
		incs[i].summary = (char *)"summary, with \"quotes\"";
		incs[i].diagnosis = (char *)"diagnosis";
		incs[i].fix = (char *)"-fix";
		incs[i].rfc = "RFC 6152";
		incs[i].visibility = i == 0 ? (char *)"only one side" : NULL;
		incs[i].evidence[0] = (struct xline){ T0, 4, XDIR_SERVER, XL_TRUNCATED,
		    W("250 OK") };
		incs[i].evidence[1] = (struct xline){ T0 + 5, 5, XDIR_NOTE, 0,
		    W("[gap]") };
		incs[i].nevidence = 2;
	}
	r->inc = incs;
	r->ninc = 2;
}

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static char *
tmpfile_path(const char *what)
{
	static char p[4][64];
	static int k;
	char *s = p[k++ % 4];
	int fd;

	snprintf(s, sizeof(p[0]), "/tmp/smtpscope-fields-%s.XXXXXX", what);
	fd = mkstemp(s);
	assert_true(fd >= 0);
	close(fd);
	return s;
}

/* Run a Python script with arguments; true if it exits 0. */
static bool
run_py(const char *script, const char *a1, const char *a2)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(PY, PY, "-c", script, a1, a2, (char *)NULL);
		_exit(127);
	}
	assert_true(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The names of a table, one a line ("" for a nameless item). */
static void
put_names(FILE *f, const char *tag, const struct rec_table *t)
{
	fprintf(f, "%s", tag);
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, " %s", t->fields[i].name);
	fputc('\n', f);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* Every row filled, well formed, uniquely named; nested rows carry what
 * the writer needs to descend. */
static void
test_rows_well_formed(void **state)
{
	(void)state;
	for (size_t k = 0; k < NTABLES; k++) {
		const struct rec_table *t = tables[k];

		assert_non_null(t->what);
		assert_true(t->n > 0);
		for (size_t i = 0; i < t->n; i++) {
			const struct rec_field *fd = &t->fields[i];

			if (fd->name == NULL)
				fail_msg("%s field %zu has no row", t->what, i);
			assert_true(fd->name[0] != '\0');
			for (const char *c = fd->name; *c != '\0'; c++)
				if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
				    *c == '_'))
					fail_msg("%s: name %s is not [a-z0-9_]", t->what, fd->name);
			for (size_t j = 0; j < i; j++)
				if (strcmp(t->fields[j].name, fd->name) == 0)
					fail_msg("%s: %s twice", t->what, fd->name);
			assert_ptr_equal(rec_field_find(t, fd->name), fd);
			switch (fd->type) {
			case RT_GET:
				assert_non_null(fd->get);
				break;
			case RT_ARRAY:
				assert_non_null(fd->count);
				assert_non_null(fd->elem);
				assert_true((fd->sub != NULL) != (fd->item != NULL));
				break;
			case RT_OBJECT:
				assert_non_null(fd->sub);
				break;
			case RT_COUNTS:
				assert_non_null(fd->key);
				assert_int_equal(fd->size, fd->arg * sizeof(uint32_t));
				break;
			case RT_UINT:
			case RT_UINT_NZ:
			case RT_FLAG:
				assert_true(fd->size == 1 || fd->size == 2 || fd->size == 4 ||
				    fd->size == 8);
				break;
			case RT_CODE:
				assert_int_equal(fd->size, sizeof(int));
				break;
			case RT_BOOL:
				assert_int_equal(fd->size, sizeof(bool));
				break;
			case RT_WSTR:
				assert_int_equal(fd->size, sizeof(struct wstr));
				break;
			case RT_CSTR:
				assert_int_equal(fd->size, sizeof(char *));
				break;
			case RT_TS:
				assert_int_equal(fd->size, sizeof(uint64_t));
				break;
			case RT_ADDR:
				assert_int_equal(fd->size, 16);
				break;
			case RT_ENH:
				assert_int_equal(fd->size, sizeof(struct enh_code));
				break;
			case RT_CHARS:
				assert_true(fd->size > 0);
				break;
			}
		}
	}
	assert_null(rec_field_find(&rec_sess_table, "no_such_field"));
}

/* The session list's column titles are these rows' labels (ui/ui_list.c). */
static void
test_ui_labels(void **state)
{
	static const struct {
		enum sess_field id;
		const char *label;
	} want[] = {
		{ SFLD_TS_START, "Start" }, { SFLD_CLIENT_IP, "Client" },
		{ SFLD_SERVER_IP, "Server" }, { SFLD_HELO, "HELO" },
		{ SFLD_STATE, "State" }, { SFLD_LAST_REPLY_TEXT, "Reply" },
		{ SFLD_TX, "Msg" }, { SFLD_INCIDENTS, "Incident" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(rec_sess_fields[want[i].id].label, want[i].label);
}

/* json.c writes names (RV_NAME) unescaped: each must be plain ASCII. */
static void
assert_plain(const char *s)
{
	assert_non_null(s);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' || *s == '?'))
			fail_msg("name with '%c' would need JSON escaping", *s);
}

static void
test_names_need_no_escaping(void **state)
{
	struct incident inc = { 0 };
	struct xline x = { 0 };
	struct rec_val v;
	int i;

	(void)state;
	for (i = 0; i < SEND_MAX; i++)
		assert_plain(sess_end_name((enum sess_end)i));
	for (i = 0; i < SST_MAX; i++)
		assert_plain(sess_state_name((enum sess_state)i));
	for (i = 0; i < SAN_MAX; i++)
		assert_plain(smtp_anomaly_name((enum smtp_anomaly)i));
	for (i = BODY_NONE; i <= BODY_OTHER; i++)
		assert_plain(body_type_name((enum body_type)i));
	for (i = SEV_NOTICE; i <= SEV_ERROR; i++) {
		inc.severity = (enum severity)i;
		rec_get(&rec_inc_fields[IFLD_SEVERITY], &inc, &v);
		assert_int_equal(v.kind, RV_NAME);
		assert_plain(v.p);
	}
	for (i = CONF_POSSIBLE; i <= CONF_CERTAIN; i++) {
		inc.confidence = (enum confidence)i;
		rec_get(&rec_inc_fields[IFLD_CONFIDENCE], &inc, &v);
		assert_plain(v.p);
	}
	for (i = XDIR_CLIENT; i <= XDIR_NOTE; i++) {
		x.dir = (enum xdir)i;
		rec_get(&rec_xline_fields[XFLD_DIR], &x, &v);
		assert_plain(v.p);
	}
	/* and out of range: record.h's "?" */
	assert_plain(sess_state_name(SST_MAX));
	assert_plain(sess_end_name(SEND_MAX));
}

/* The JSON Lines object parses; its keys are the tables' names in order at
 * every level, and values have the type the row says. */
static void
test_json_keys_follow_tables(void **state)
{
	static const char py[] =
	    "import json, sys\n"
	    "want = {}\n"
	    "for l in open(sys.argv[2]):\n"
	    "    w = l.split()\n"
	    "    want[w[0]] = w[1:]\n"
	    "def keys(pairs):\n"
	    "    return [k for k, v in pairs]\n"
	    "lines = open(sys.argv[1], encoding='utf-8').read().split('\\n')\n"
	    "assert len(lines) == 2 and lines[1] == '', len(lines)\n"
	    "d = json.loads(lines[0], object_pairs_hook=lambda p: (keys(p), dict(p)))\n"
	    "def chk(obj, tag):\n"
	    "    assert obj[0] == want[tag], (tag, obj[0], want[tag])\n"
	    "    return obj[1]\n"
	    "s = chk(d, 'session')\n"
	    "t = chk(s['transactions'][0], 'transaction')\n"
	    "for i in s['incidents']:\n"
	    "    e = chk(i, 'incident')\n"
	    "    for x in e['evidence']:\n"
	    "        chk(x, 'evidence')\n"
	    "assert s['packets'][1] == {'client': 1, 'server': 2}, s['packets']\n"
	    "assert s['anomalies'][1] == {'bare-lf': 3, 'gap': 1}, s['anomalies']\n"
	    "assert s['client_ip'] == '2001:db8::1' and s['client_port'] == 40000\n"
	    "assert s['tls'] is True and s['size_limit'] == 1000\n"
	    "assert t['first_8bit_offset'] == 0 and t['body'] == '8BITMIME'\n"
	    "assert t['rcpt_replies'] == [250, None] and t['reply_enhanced'] == '5.6.1'\n"
	    "assert s['incidents'][1][1]['visibility'] is None\n"
	    "print('ok')\n";
	char *jp = tmpfile_path("json"), *kp = tmpfile_path("keys");
	struct sess_record r;
	FILE *f;

	(void)state;
	make_full(&r);
	assert_non_null(f = fopen(jp, "w"));
	assert_int_equal(export_json_session(f, &r), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(f = fopen(kp, "w"));
	put_names(f, "session", &rec_sess_table);
	put_names(f, "transaction", &rec_tx_table);
	put_names(f, "incident", &rec_inc_table);
	put_names(f, "evidence", &rec_xline_table);
	assert_int_equal(fclose(f), 0);
	assert_true(run_py(py, jp, kp));
	unlink(jp);
	unlink(kp);
}

/* Header and rows from one column list: same arity, names from the rows. */
static void
test_csv_header_matches_rows(void **state)
{
	static const char py[] =
	    "import csv, sys\n"
	    "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
	    "want = open(sys.argv[2]).read().split()\n"
	    "assert rows[0] == want, (rows[0], want)\n"
	    "assert len(rows) == 3, len(rows)\n"
	    "for r in rows[1:]:\n"
	    "    assert len(r) == len(want), (len(r), len(want))\n"
	    "d = dict(zip(rows[0], rows[1]))\n"
	    "assert d['ts'] == '2026-11-28T10:00:01.123456Z', d['ts']\n"
	    "assert d['client_ip'] == '2001:db8::1' and d['server_port'] == '25'\n"
	    "assert d['helo'].startswith(\"'=cmd\"), d['helo']\n"
	    "assert d['fix'] == \"'-fix\" and d['severity'] == 'error'\n"
	    "assert rows[2][-1] == '' and rows[2][2] == 'gap'\n"
	    "print('ok')\n";
	const struct rec_field *cols[64];
	char *cp = tmpfile_path("csv"), *hp = tmpfile_path("hdr");
	struct sess_record r;
	size_t n, i;
	FILE *f;

	(void)state;
	n = export_csv_columns(cols, 64);
	assert_true(n > 0 && n <= 64);
	for (i = 0; i < n; i++) {
		assert_non_null(cols[i]->name);
		assert_true(cols[i]->type < RT_OBJECT);	/* one value per cell */
	}
	make_full(&r);
	assert_non_null(f = fopen(cp, "w"));
	assert_int_equal(export_csv_header(f), 0);
	assert_int_equal(export_csv_incidents(f, &r), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(f = fopen(hp, "w"));
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", cols[i]->name);
	assert_int_equal(fclose(f), 0);
	assert_true(run_py(py, cp, hp));
	unlink(cp);
	unlink(hp);
}

/* The kind rec_get() gives a row of rec; the value in *v. */
static enum rec_vkind
kind(const struct rec_field *fd, const void *rec, struct rec_val *v)
{
	rec_get(fd, rec, v);
	return v->kind;
}

/* rec_get() on each kind, including the nulls. */
static void
test_rec_get(void **state)
{
	struct sess_record r;
	struct rec_val v;

	(void)state;
	make_full(&r);
	assert_int_equal(kind(&rec_sess_fields[SFLD_CLIENT_PORT], &r, &v), RV_UINT);
	assert_int_equal(v.u, 40000);
	assert_int_equal(kind(&rec_sess_fields[SFLD_UID], &r, &v), RV_TEXT);
	assert_int_equal(v.len, strlen("SFIELDS234567"));
	assert_int_equal(kind(&rec_sess_fields[SFLD_STATE], &r, &v), RV_NAME);
	assert_string_equal(v.p, sess_state_name(SST_REJECTED));
	assert_int_equal(kind(&rec_sess_fields[SFLD_GAP], &r, &v), RV_BOOL);
	assert_int_equal(v.u, 1);
	assert_int_equal(kind(&rec_sess_fields[SFLD_SERVER_IP], &r, &v), RV_ADDR);
	assert_int_equal(v.family, AF_INET6);
	assert_ptr_equal(v.ip, r.server_ip);
	r.size_limit = 0;
	r.banner_code = 0;
	r.helo.p = NULL;
	assert_int_equal(kind(&rec_sess_fields[SFLD_SIZE_LIMIT], &r, &v), RV_NULL);
	assert_int_equal(kind(&rec_sess_fields[SFLD_BANNER_CODE], &r, &v), RV_NULL);
	assert_int_equal(kind(&rec_sess_fields[SFLD_HELO], &r, &v), RV_NULL);
	/* nested rows have no scalar value */
	assert_int_equal(kind(&rec_sess_fields[SFLD_TX], &r, &v), RV_NULL);
	tx.eightbit_bytes = 0;
	assert_int_equal(kind(&rec_tx_fields[TFLD_FIRST_8BIT_OFFSET], &tx, &v), RV_NULL);
	assert_int_equal(kind(&rec_tx_fields[TFLD_EIGHTBIT], &tx, &v), RV_BOOL);
	assert_int_equal(v.u, 0);
	assert_int_equal(kind(&rec_tx_fields[TFLD_REPLY_ENHANCED], &tx, &v), RV_ENH);
	assert_int_equal(v.enh.detail, 1);
	assert_int_equal(kind(&rec_xline_fields[XFLD_TRUNCATED], &incs[0].evidence[0],
	    &v), RV_BOOL);
	assert_int_equal(v.u, 1);
	assert_int_equal(kind(&rec_xline_fields[XFLD_DIR], &incs[0].evidence[1], &v),
	    RV_NAME);
	assert_string_equal(v.p, "note");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_well_formed),
		cmocka_unit_test(test_names_need_no_escaping),
		cmocka_unit_test(test_ui_labels),
		cmocka_unit_test(test_json_keys_follow_tables),
		cmocka_unit_test(test_csv_header_matches_rows),
		cmocka_unit_test(test_rec_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
