/*
 * ui_model.c - unit tests of the UI's model (ui/model.c): what the live
 * view would show, without a terminal.
 *
 * Sessions are built as the decoder would hand them over (struct
 * sess_record with wire strings as raw bytes) and posted; the tests then
 * read back through the same calls the panels use: the filtered, sorted
 * index, the row copies, the details, the incident groups and the summary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ui/ui_int.h"

/* ------------------------------------------------------------------------
 * Building records
 * --------------------------------------------------------------------- */

struct fake {
	struct sess_record rec;
	struct incident inc[4];
	struct xline lines[8];
	struct wstr caps[4];
	struct tx_record tx[1];
	struct rcpt_record rcpt[1];
};

static struct wstr
W(const char *s)
{
	struct wstr w = { .p = (char *)(uintptr_t)s, .len = strlen(s) };

	return w;
}

static void
fake_init(struct fake *f, const char *uid, const char *client, const char *server,
    const char *helo, uint64_t ts)
{
	memset(f, 0, sizeof(*f));
	strlcpy(f->rec.uid, uid, sizeof(f->rec.uid));
	f->rec.family = AF_INET;
	inet_pton(AF_INET, client, f->rec.client_ip);
	inet_pton(AF_INET, server, f->rec.server_ip);
	f->rec.client_port = 40000;
	f->rec.server_port = 25;
	f->rec.ts_start_us = ts;
	f->rec.ts_end_us = ts + 500000;
	f->rec.banner_code = 220;
	f->rec.banner = W("mx.example.net ESMTP");
	f->rec.helo = W(helo);
	f->rec.ehlo = true;
	f->rec.last_reply_code = 221;
	f->rec.last_reply_text = W("2.0.0 bye");
	f->rec.state = SST_DELIVERED;
	f->rec.end = SEND_OPEN;
	f->rec.lines = f->lines;
	f->rec.caps = f->caps;
	f->rec.inc = f->inc;
}

static void
fake_incident(struct fake *f, const char *type, enum severity sev)
{
	struct incident *in = &f->inc[f->rec.ninc++];

	in->kind = inc_type_from_name(type);
	assert_int_not_equal(in->kind, INC_MAX);
	in->type = inc_type_name(in->kind);
	in->severity = sev;
	in->confidence = CONF_PROBABLE;
	in->summary = (char *)(uintptr_t)"client gave up";
	in->diagnosis = (char *)(uintptr_t)"the server did not offer 8BITMIME";
	in->fix = (char *)(uintptr_t)"enable 8BITMIME";
	in->rfc = "RFC 6152 section 3";
}

static void
fake_line(struct fake *f, enum xdir dir, const char *text)
{
	struct xline *l = &f->lines[f->rec.nlines++];

	l->dir = dir;
	l->ts_us = f->rec.ts_start_us + f->rec.nlines * 1000;
	l->text = W(text);
}

static struct model *
new_model(size_t max)
{
	char err[128];
	struct model *m = model_new(max, 0, err, sizeof(err));

	assert_non_null(m);
	return m;
}

static void
set_view(struct model *m, const char *text, bool flagged, enum ui_sort sort, bool desc)
{
	struct ui_view v;

	memset(&v, 0, sizeof(v));
	strlcpy(v.text, text, sizeof(v.text));
	v.incidents_only = flagged;
	v.sort = sort;
	v.descending = desc;
	model_set_view(m, &v);
	model_refresh(m, true);
}

/* The uids of the index, in order, joined with spaces. */
static const char *
uids(struct model *m, char *buf, size_t size)
{
	struct ui_rowdata rows[32];
	size_t i, n;

	model_refresh(m, true);
	n = model_rows(m, 0, 32, rows);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(buf, " ", size);
		strlcat(buf, rows[i].uid, size);
	}
	return buf;
}

/* Three sessions: A (delivered), B (8bitmime-abort), C (no-mail, open). */
static void
post_three(struct model *m)
{
	struct fake f;

	fake_init(&f, "SA", "192.0.2.10", "198.51.100.25", "alpha.example.org", 1000000);
	f.rec.end = SEND_QUIT;
	model_post_session(m, &f.rec, true);

	fake_init(&f, "SB", "192.0.2.20", "198.51.100.26", "bravo.example.com", 2000000);
	f.rec.state = SST_ABORTED;
	f.rec.end = SEND_QUIT;
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	model_post_session(m, &f.rec, true);

	fake_init(&f, "SC", "203.0.113.5", "198.51.100.25", "charlie.test", 3000000);
	f.rec.state = SST_NO_MAIL;
	model_post_session(m, &f.rec, false);
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void
test_post_and_newest_first(void **state)
{
	struct model *m = new_model(100);
	struct ui_rowdata rows[4];
	struct ui_summary s;
	char buf[128];

	(void)state;
	post_three(m);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SC SB SA");
	assert_int_equal(model_count(m), 3);
	assert_int_equal(model_rows(m, 1, 1, rows), 1);
	assert_string_equal(rows[0].uid, "SB");
	assert_string_equal(rows[0].client, "192.0.2.20");
	assert_string_equal(rows[0].server, "198.51.100.26");
	assert_string_equal(rows[0].helo, "bravo.example.com");
	assert_string_equal(rows[0].reply, "221 2.0.0 bye");
	assert_string_equal(rows[0].inc, "8bitmime-abort");
	assert_int_equal(rows[0].state, SST_ABORTED);
	assert_int_equal(rows[0].severity, SEV_ERROR);
	assert_true(rows[0].eightbit);
	assert_true(rows[0].ended);
	assert_true(rows[0].has_detail);
	model_summary(m, &s);
	assert_int_equal(s.rows, 3);
	assert_int_equal(s.rows_open, 1);
	model_free(m);
}

static void
test_update_in_place(void **state)
{
	struct model *m = new_model(100);
	struct ui_rowdata rows[4];
	struct ui_summary s;
	struct fake f;
	char buf[128];

	(void)state;
	post_three(m);
	/* SC again, now ended and with another state: same row, same place. */
	fake_init(&f, "SC", "203.0.113.5", "198.51.100.25", "charlie.test", 3000000);
	f.rec.state = SST_DEFERRED;
	f.rec.last_reply_code = 451;
	f.rec.last_reply_text = W("4.7.1 try later");
	f.rec.end = SEND_CLOSE;
	model_post_session(m, &f.rec, true);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SC SB SA");
	assert_int_equal(model_rows(m, 0, 1, rows), 1);
	assert_int_equal(rows[0].state, SST_DEFERRED);
	assert_string_equal(rows[0].reply, "451 4.7.1 try later");
	assert_true(rows[0].ended);
	model_summary(m, &s);
	assert_int_equal(s.rows, 3);
	assert_int_equal(s.rows_posted, 3);
	assert_int_equal(s.rows_open, 0);
	model_free(m);
}

static void
test_filter_text(void **state)
{
	struct model *m = new_model(100);
	char buf[128];

	(void)state;
	post_three(m);
	set_view(m, "BRAVO", false, SORT_TIME, true);		/* HELO, any case */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SB");
	set_view(m, "198.51.100.25", false, SORT_TIME, true);	/* server address */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SC SA");
	set_view(m, "203.0.113", false, SORT_TIME, true);	/* client address */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SC");
	set_view(m, "aborted", false, SORT_TIME, true);		/* state */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SB");
	set_view(m, "8bitmime", false, SORT_TIME, true);	/* incident type */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SB");
	set_view(m, "no such thing", false, SORT_TIME, true);
	assert_int_equal(model_count(m), 0);
	set_view(m, "", false, SORT_TIME, true);
	assert_int_equal(model_count(m), 3);
	model_free(m);
}

static void
test_filter_envelope_address(void **state)
{
	struct model *m = new_model(100);
	struct fake f;
	char buf[128];

	(void)state;
	post_three(m);
	fake_init(&f, "SD", "192.0.2.30", "198.51.100.27", "delta", 4000000);
	f.rec.tx = f.tx;
	f.rec.ntx = 1;
	f.tx[0].mail_from = W("alice@sender.example");
	f.tx[0].rcpts = f.rcpt;
	f.tx[0].nrcpts = 1;
	f.rcpt[0].addr = W("bob@receiver.example");
	model_post_session(m, &f.rec, false);
	set_view(m, "alice@", false, SORT_TIME, true);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SD");
	set_view(m, "receiver.example", false, SORT_TIME, true);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SD");
	model_free(m);
}

static void
test_incidents_only(void **state)
{
	struct model *m = new_model(100);
	char buf[128];

	(void)state;
	post_three(m);
	set_view(m, "", true, SORT_TIME, true);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SB");
	/* Combined with text that excludes it: nothing. */
	set_view(m, "alpha", true, SORT_TIME, true);
	assert_int_equal(model_count(m), 0);
	model_free(m);
}

static void
test_sort_orders(void **state)
{
	struct model *m = new_model(100);
	char buf[128];

	(void)state;
	post_three(m);
	set_view(m, "", false, SORT_TIME, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SA SB SC");
	set_view(m, "", false, SORT_CLIENT, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SA SB SC");
	set_view(m, "", false, SORT_CLIENT, true);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SC SB SA");
	set_view(m, "", false, SORT_HELO, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "SA SB SC");
	set_view(m, "", false, SORT_SEVERITY, true);	/* the incident first */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SB SC SA");
	set_view(m, "", false, SORT_STATE, false);	/* delivered, aborted, no-mail */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SA SB SC");
	set_view(m, "", false, SORT_SERVER, false);	/* .25 (by time), .25, .26 */
	assert_string_equal(uids(m, buf, sizeof(buf)), "SA SC SB");
	model_free(m);
}

static void
test_cap_evicts_oldest_finished(void **state)
{
	struct model *m = new_model(3);
	struct ui_summary s;
	struct fake f;
	char buf[128];

	(void)state;
	/* S1 open (oldest), S2 finished, S3 finished. */
	fake_init(&f, "S1", "192.0.2.1", "198.51.100.1", "one", 1000000);
	model_post_session(m, &f.rec, false);
	fake_init(&f, "S2", "192.0.2.2", "198.51.100.1", "two", 2000000);
	model_post_session(m, &f.rec, true);
	fake_init(&f, "S3", "192.0.2.3", "198.51.100.1", "three", 3000000);
	model_post_session(m, &f.rec, true);
	/* A fourth: the oldest finished (S2) goes, not the older open S1. */
	fake_init(&f, "S4", "192.0.2.4", "198.51.100.1", "four", 4000000);
	model_post_session(m, &f.rec, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "S4 S3 S1");
	/* A fifth: S3 is the only finished one left. */
	fake_init(&f, "S5", "192.0.2.5", "198.51.100.1", "five", 5000000);
	model_post_session(m, &f.rec, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "S5 S4 S1");
	/* Nothing finished: the oldest open one (S1) goes. */
	fake_init(&f, "S6", "192.0.2.6", "198.51.100.1", "six", 6000000);
	model_post_session(m, &f.rec, false);
	assert_string_equal(uids(m, buf, sizeof(buf)), "S6 S5 S4");
	model_summary(m, &s);
	assert_int_equal(s.rows, 3);
	assert_int_equal(s.rows_evicted, 3);
	assert_int_equal(s.rows_posted, 6);
	model_free(m);
}

static void
test_incident_groups(void **state)
{
	struct model *m = new_model(100);
	struct ui_group g[8];
	struct ui_summary s;
	struct ui_view v;
	struct fake f;
	char buf[128];
	size_t n;

	(void)state;
	/* One server, two clients aborting: one cause (its fix is on the
	 * server); the first session is posted twice (update and end):
	 * counted once.  Then another server, and a client-side cause. */
	fake_init(&f, "S1", "192.0.2.10", "198.51.100.25", "a", 5000000);
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	model_post_session(m, &f.rec, false);
	model_post_session(m, &f.rec, true);
	fake_init(&f, "S2", "192.0.2.11", "198.51.100.25", "b", 9000000);
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	model_post_session(m, &f.rec, true);
	fake_init(&f, "S3", "192.0.2.10", "198.51.100.99", "a", 7000000);
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	fake_incident(&f, "no-quit", SEV_NOTICE);
	model_post_session(m, &f.rec, true);

	n = model_groups(m, g, 8);
	assert_int_equal(n, 3);
	/* By severity, then by count. */
	assert_string_equal(g[0].type, "8bitmime-abort");
	assert_int_equal(g[0].side, SIDE_SERVER);
	assert_string_equal(g[0].host, "198.51.100.25");
	assert_int_equal(g[0].port, 25);
	assert_string_equal(g[0].name, "mx.example.net");
	assert_int_equal(g[0].count, 2);
	assert_int_equal(g[0].npeers, 2);
	assert_int_equal(g[0].first_us, 5000000);
	assert_int_equal(g[0].last_us, 9000000);
	assert_string_equal(g[0].example_uid, "S2");	/* the most recent */
	assert_int_equal(g[0].severity, SEV_ERROR);
	assert_string_equal(g[1].type, "8bitmime-abort");
	assert_string_equal(g[1].host, "198.51.100.99");
	assert_int_equal(g[1].count, 1);
	assert_string_equal(g[2].type, "no-quit");
	assert_int_equal(g[2].side, SIDE_CLIENT);
	assert_string_equal(g[2].host, "192.0.2.10");
	assert_string_equal(g[2].name, "a");
	assert_int_equal(g[2].count, 1);
	model_summary(m, &s);
	assert_int_equal(s.incidents, 4);
	assert_int_equal(s.ntypes, 2);
	assert_string_equal(s.types[0].type, "8bitmime-abort");
	assert_int_equal(s.types[0].count, 3);
	assert_string_equal(s.types[1].type, "no-quit");
	assert_int_equal(s.types[1].count, 1);
	/* The incidents view's Enter: the sessions of one cause. */
	memset(&v, 0, sizeof(v));
	v.descending = true;
	v.cause = true;
	v.cause_kind = g[0].kind;
	v.cause_side = g[0].side;
	strlcpy(v.cause_host, g[0].host, sizeof(v.cause_host));
	v.cause_port = g[0].port;
	model_set_view(m, &v);
	assert_string_equal(uids(m, buf, sizeof(buf)), "S2 S1");
	v.cause_kind = g[2].kind;
	v.cause_side = g[2].side;
	strlcpy(v.cause_host, g[2].host, sizeof(v.cause_host));
	v.cause_port = 0;
	model_set_view(m, &v);
	assert_string_equal(uids(m, buf, sizeof(buf)), "S3");
	model_free(m);
}

/* The "!" flag and the header's 8-bit colour follow the type's family,
 * not "8bit" in its name: smtputf8-abort and binarymime-violation are
 * flagged, no-quit is not. */
static void
test_eightbit_by_family(void **state)
{
	struct model *m = new_model(100);
	struct ui_rowdata row;
	struct ui_group g[4];
	struct ui_summary s;
	struct fake f;

	(void)state;
	fake_init(&f, "S1", "192.0.2.10", "198.51.100.25", "a", 5000000);
	fake_incident(&f, "smtputf8-abort", SEV_ERROR);
	model_post_session(m, &f.rec, true);
	fake_init(&f, "S2", "192.0.2.11", "198.51.100.25", "b", 6000000);
	fake_incident(&f, "no-quit", SEV_NOTICE);
	model_post_session(m, &f.rec, true);
	fake_init(&f, "S3", "192.0.2.12", "198.51.100.25", "c", 7000000);
	fake_incident(&f, "binarymime-violation", SEV_WARNING);
	model_post_session(m, &f.rec, true);

	set_view(m, "", false, SORT_TIME, true);	/* newest first */
	assert_int_equal(model_rows(m, 0, 1, &row), 1);
	assert_string_equal(row.uid, "S3");
	assert_true(row.eightbit);
	assert_int_equal(model_rows(m, 1, 1, &row), 1);
	assert_string_equal(row.uid, "S2");
	assert_false(row.eightbit);
	assert_int_equal(model_rows(m, 2, 1, &row), 1);
	assert_string_equal(row.uid, "S1");
	assert_true(row.eightbit);
	assert_string_equal(row.inc, "smtputf8-abort");

	/* Causes by severity: error, warning, notice. */
	assert_int_equal(model_groups(m, g, 4), 3);
	assert_string_equal(g[0].type, "smtputf8-abort");
	assert_int_equal(g[0].family, FAM_8BIT);
	assert_string_equal(g[1].type, "binarymime-violation");
	assert_int_equal(g[1].family, FAM_8BIT);
	assert_string_equal(g[2].type, "no-quit");
	assert_int_equal(g[2].family, FAM_CONN);
	model_summary(m, &s);
	assert_int_equal(s.ntypes, 3);
	assert_int_equal(s.incidents, 3);
	for (size_t i = 0; i < s.ntypes; i++)
		assert_int_equal(s.types[i].family == FAM_8BIT,
		    strcmp(s.types[i].type, "no-quit") != 0);
	model_free(m);
}

static void
test_hostile_banner_escaped(void **state)
{
	static const char banner[] = "mx \x1b]0;pwned\x07\x1b[2J evil \x9b" "31m \xc3\xa9";
	struct model *m = new_model(100);
	struct ui_rowdata row;
	struct ui_detail *d;
	struct fake f;
	uint64_t v;
	bool known;
	size_t i;

	(void)state;
	fake_init(&f, "SX", "192.0.2.66", "198.51.100.66", "h\x1b[31mx\r\n", 1000000);
	f.rec.banner.p = (char *)(uintptr_t)banner;
	f.rec.banner.len = sizeof(banner) - 1;
	f.rec.last_reply_text = W("\x1b]52;c;cGF5bG9hZA==\x07");
	fake_line(&f, XDIR_SERVER, "220 \x1b]0;pwned\x07\x1b[2J evil");
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	f.inc[0].summary = (char *)(uintptr_t)"host \x1b[2J said";
	model_post_session(m, &f.rec, true);
	model_refresh(m, true);
	assert_int_equal(model_rows(m, 0, 1, &row), 1);
	assert_string_equal(row.helo, "h\\033[31mx\\r\\n");
	assert_string_equal(row.reply, "221 \\033]52;c;cGF5bG9hZA==\\a");

	d = model_detail_get(m, "SX", &known, &v);
	assert_non_null(d);
	assert_true(known);
	assert_string_equal(d->banner,
	    "mx \\033]0;pwned\\a\\033[2J evil \\23331m \\303\\251");
	assert_int_equal(d->nlines, 1);
	assert_string_equal(d->lines[0].text, "220 \\033]0;pwned\\a\\033[2J evil");
	assert_string_equal(d->inc[0].summary, "host \\033[2J said");
	/* Nothing but printable ASCII anywhere the screen could get. */
	for (i = 0; d->banner[i] != '\0'; i++)
		assert_true(d->banner[i] >= 0x20 && d->banner[i] < 0x7f);
	model_detail_put(m, d);
	model_free(m);
}

static void
test_escape_cut_at_unit_boundary(void **state)
{
	char src[300], dst[16], big[2000];
	size_t n, i;

	(void)state;
	/* Fits: identical to the escaper's output. */
	n = ui_escape(dst, sizeof(dst), "a\x1b" "b", 3);
	assert_string_equal(dst, "a\\033b");
	assert_int_equal(n, 6);
	/* Cut: whole escapes only, then "...", within the buffer. */
	memset(src, 0x1b, sizeof(src));
	n = ui_escape(dst, sizeof(dst), src, sizeof(src));
	assert_string_equal(dst, "\\033\\033\\033...");
	assert_int_equal(n, strlen(dst));
	/* Three backslashes, six characters escaped: the cut never leaves
	 * half of an escaped backslash behind. */
	n = ui_escape(dst, 8, "ab\\\\\\", 5);
	assert_string_equal(dst, "ab\\\\...");
	/* Longer than the stack work buffer: the heap path gives the same. */
	memset(big, 'x', sizeof(big));
	big[0] = '\x07';
	n = ui_escape(big + 1000, 600, big, 900);
	assert_int_equal(n, 599);
	assert_memory_equal(big + 1000, "\\axxx", 5);
	assert_string_equal(big + 1000 + 596, "...");
	for (i = 0; i < n; i++)
		assert_true(big[1000 + i] >= 0x20 && big[1000 + i] < 0x7f);
}

static void
test_detail_transcript_and_caps(void **state)
{
	struct model *m = new_model(100);
	struct ui_detail *d;
	struct fake f;
	uint64_t v;
	bool known;

	(void)state;
	fake_init(&f, "SB", "192.0.2.20", "198.51.100.26", "bravo", 2000000);
	f.rec.capflags = CAPF(PIPELINING) | CAPF(SIZE);
	f.rec.size_limit = 10240000;
	f.caps[0] = W("PIPELINING");
	f.caps[1] = W("SIZE 10240000");
	f.rec.ncaps = 2;
	fake_line(&f, XDIR_SERVER, "220 mx ESMTP");
	fake_line(&f, XDIR_CLIENT, "EHLO bravo");
	fake_line(&f, XDIR_SERVER, "250-mx");
	fake_line(&f, XDIR_CLIENT, "RSET");
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	model_post_session(m, &f.rec, true);
	d = model_detail_get(m, "SB", &known, &v);
	assert_non_null(d);
	assert_int_equal(d->nlines, 4);
	assert_int_equal(d->lines[1].dir, XDIR_CLIENT);
	assert_string_equal(d->lines[1].text, "EHLO bravo");
	assert_int_equal(d->ncaps, 2);
	assert_string_equal(d->caps[1], "SIZE 10240000");
	assert_false(d->capflags & CAPF(8BITMIME));
	assert_true(d->capflags & CAPF(PIPELINING));
	assert_int_equal(d->ninc, 1);
	assert_string_equal(d->inc[0].type, "8bitmime-abort");
	assert_string_equal(d->inc[0].fix, "enable 8BITMIME");
	assert_true(d->flagged);
	/* The panel's reference outlives an update: the old copy stays valid
	 * until it is put back, the new one is there for the next get. */
	f.rec.state = SST_ABORTED;
	model_post_session(m, &f.rec, true);
	assert_string_equal(d->lines[0].text, "220 mx ESMTP");
	model_detail_put(m, d);
	assert_true(model_row_version(m, "SB") == v + 1);
	d = model_detail_get(m, "SB", &known, &v);
	assert_non_null(d);
	assert_int_equal(d->state, SST_ABORTED);
	model_detail_put(m, d);
	model_free(m);
}

static void
test_detail_cap(void **state)
{
	struct model *m = new_model(UI_DETAIL_RECENT + 100);
	struct ui_detail *d;
	struct ui_summary s;
	struct fake f;
	char uid[20];
	uint64_t v;
	bool known;
	int i;

	(void)state;
	/* One flagged session first, then more unflagged ones than kept. */
	fake_init(&f, "SFLAG", "192.0.2.1", "198.51.100.1", "flag", 1);
	fake_incident(&f, "8bitmime-abort", SEV_ERROR);
	model_post_session(m, &f.rec, true);
	for (i = 0; i < UI_DETAIL_RECENT + 10; i++) {
		snprintf(uid, sizeof(uid), "S%05d", i);
		fake_init(&f, uid, "192.0.2.2", "198.51.100.1", "plain", 10 + (uint64_t)i);
		model_post_session(m, &f.rec, true);
	}
	/* The oldest unflagged details are gone, the rows are not. */
	d = model_detail_get(m, "S00000", &known, &v);
	assert_null(d);
	assert_true(known);
	d = model_detail_get(m, "S00010", &known, &v);
	assert_non_null(d);
	model_detail_put(m, d);
	/* The flagged one, older than all of them, is still there. */
	d = model_detail_get(m, "SFLAG", &known, &v);
	assert_non_null(d);
	model_detail_put(m, d);
	model_summary(m, &s);
	assert_int_equal(s.details, UI_DETAIL_RECENT + 1);
	assert_int_equal(s.details_dropped, 10);
	/* An unknown session. */
	assert_null(model_detail_get(m, "SNONE", &known, &v));
	assert_false(known);
	model_free(m);
}

static void
test_find_and_many_rows(void **state)
{
	struct model *m = new_model(50000);
	struct ui_rowdata rows[3];
	struct fake f;
	char uid[20];
	int i;

	(void)state;
	/* More rows than one index slice and one pool chunk. */
	for (i = 0; i < 10000; i++) {
		snprintf(uid, sizeof(uid), "S%05d", i);
		fake_init(&f, uid, "192.0.2.2", "198.51.100.1", i % 2 ? "odd" : "even",
		    1000 + (uint64_t)i);
		model_post_session(m, &f.rec, true);
	}
	model_refresh(m, true);
	assert_int_equal(model_count(m), 10000);
	assert_int_equal(model_find(m, "S09999"), 0);
	assert_int_equal(model_find(m, "S00000"), 9999);
	assert_int_equal(model_find(m, "nope"), -1);
	assert_int_equal(model_rows(m, 9998, 3, rows), 2);
	assert_string_equal(rows[1].uid, "S00000");
	set_view(m, "odd", false, SORT_TIME, true);
	assert_int_equal(model_count(m), 5000);
	assert_int_equal(model_rows(m, 0, 1, rows), 1);
	assert_string_equal(rows[0].uid, "S09999");
	model_free(m);
}

static void
test_quit_releases_pace(void **state)
{
	char err[128];
	struct model *m = model_new(10, 1.0, err, sizeof(err));

	(void)state;
	assert_non_null(m);
	/* Speed 1: the first packet sets the base and goes at once. */
	assert_true(model_pace(m, 1000000));
	/* After quit, pacing refuses, even paused, without waiting. */
	model_set_paused(m, true);
	model_quit(m);
	assert_true(model_quitting(m));
	assert_false(model_pace(m, 999000000000ull));
	model_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_and_newest_first),
		cmocka_unit_test(test_update_in_place),
		cmocka_unit_test(test_filter_text),
		cmocka_unit_test(test_filter_envelope_address),
		cmocka_unit_test(test_incidents_only),
		cmocka_unit_test(test_sort_orders),
		cmocka_unit_test(test_cap_evicts_oldest_finished),
		cmocka_unit_test(test_incident_groups),
		cmocka_unit_test(test_eightbit_by_family),
		cmocka_unit_test(test_hostile_banner_escaped),
		cmocka_unit_test(test_escape_cut_at_unit_boundary),
		cmocka_unit_test(test_detail_transcript_and_caps),
		cmocka_unit_test(test_detail_cap),
		cmocka_unit_test(test_find_and_many_rows),
		cmocka_unit_test(test_quit_releases_pace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
