/*
 * decode_harness.h - a transcript harness for the decoder's unit tests.
 *
 * A case is a list of steps, one per packet: client bytes, server bytes or
 * a gap.  run_case() feeds it whole, then byte by byte, then split in two
 * at every offset of every step, and asserts that each run yields exactly
 * the same record (compared as a full text dump: fields, transcript,
 * incidents and evidence).  The case's check function runs on the record
 * of the whole run, from inside the session_end sink.
 *
 * Packets are numbered from 1 in step order (unless a step names its own) and time advances 1 ms per
 * step, so a split step keeps its packet number: flights (what one packet
 * carried) are the same in every run.
 */
#ifndef DECODE_HARNESS_H
#define DECODE_HARNESS_H

#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/smtp.h"

#define H_UNUSED __attribute__((unused))

struct step {
	enum xdir dir;
	const char *data;	/* NULL: a gap of len bytes */
	size_t len;
	uint64_t pkt;		/* 0: numbered by position */
	uint64_t acked1;	/* 1 + the peer bytes the packet ACKs; 0: unknown */
};
#define C(s)	{ XDIR_CLIENT, (s), sizeof(s) - 1, 0, 0 }
#define S(s)	{ XDIR_SERVER, (s), sizeof(s) - 1, 0, 0 }
#define CP(n, s) { XDIR_CLIENT, (s), sizeof(s) - 1, (n), 0 }
#define SP(n, s) { XDIR_SERVER, (s), sizeof(s) - 1, (n), 0 }
/* A client line whose packet acknowledged a server bytes. */
#define CA(a, s) { XDIR_CLIENT, (s), sizeof(s) - 1, 0, (a) + 1 }
#define GAPC(n)	{ XDIR_CLIENT, NULL, (n), 0, 0 }
#define GAPS(n)	{ XDIR_SERVER, NULL, (n), 0, 0 }
#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

typedef void (*check_fn)(const struct sess_record *);

struct hcase {
	const struct step *steps;
	size_t nsteps;
	enum sess_end end;		/* how the capture says it ended */
	bool mid_stream;
	size_t max_line;		/* 0: default */
	size_t max_lines;		/* 0: default */
	check_fn check;
	bool no_splits;			/* whole and byte-by-byte only */
	bool routable;			/* 192.0.2.10 -> 198.51.100.31, not loopback */
};

#define H_TS0	1700000000000000ULL

/* ---------------------------------------------------------------------
 * Record dump: every field, deterministic
 * ------------------------------------------------------------------ */
static H_UNUSED void
h_wstr(FILE *fp, const struct wstr *w)
{
	if (w->p == NULL) {
		fputs("(null)", fp);
		return;
	}
	fputc('"', fp);
	for (size_t i = 0; i < w->len; i++) {
		unsigned char c = (unsigned char)w->p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			fputc(c, fp);
		else
			fprintf(fp, "\\x%02x", c);
	}
	fputc('"', fp);
}

static H_UNUSED void
h_enh(FILE *fp, const struct enh_code *e)
{
	fprintf(fp, "%u.%u.%u", e->cls, e->subject, e->detail);
}

static H_UNUSED void
h_xline(FILE *fp, const struct xline *l)
{
	fprintf(fp, "  [%llu %llu %d %02x] ", (unsigned long long)l->ts_us,
	    (unsigned long long)l->pkt, (int)l->dir, l->flags);
	h_wstr(fp, &l->text);
	fputc('\n', fp);
}

static H_UNUSED char *
h_dump(const struct sess_record *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	fprintf(fp, "uid %s flow %llu fam %d ports %u %u\n", r->uid,
	    (unsigned long long)r->flow_id, r->family, r->client_port, r->server_port);
	fprintf(fp, "ts %llu %llu pk %llu %llu by %llu %llu flags %x\n",
	    (unsigned long long)r->ts_start_us, (unsigned long long)r->ts_end_us,
	    (unsigned long long)r->packets[0], (unsigned long long)r->packets[1],
	    (unsigned long long)r->bytes[0], (unsigned long long)r->bytes[1], r->flags);
	fprintf(fp, "banner %d ", r->banner_code);
	h_wstr(fp, &r->banner);
	fputs(" helo ", fp);
	h_wstr(fp, &r->helo);
	fprintf(fp, " ehlo %d fallback %d\n", r->ehlo, r->helo_fallback);
	for (size_t i = 0; i < r->ncaps; i++) {
		fputs("cap ", fp);
		h_wstr(fp, &r->caps[i]);
		fputc('\n', fp);
	}
	fprintf(fp, "caps dropped %zu flags %x ever %x size %llu auth ", r->caps_dropped,
	    r->capflags, r->capflags_ever, (unsigned long long)r->size_limit);
	h_wstr(fp, &r->auth_mechs);
	fputc(' ', fp);
	h_wstr(fp, &r->auth_used);
	fprintf(fp, " %d starttls %d %d\n", r->auth_reply_code, r->starttls_cmd,
	    r->starttls_reply_code);
	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];

		fprintf(fp, "tx %zu at %llu/%llu from ", i, (unsigned long long)t->ts_us,
		    (unsigned long long)t->pkt);
		h_wstr(fp, &t->mail_from);
		fputc(' ', fp);
		h_wstr(fp, &t->mail_params);
		fprintf(fp, " body %s size %llu utf8 %d dsn %d reply %d ",
		    body_type_name(t->body), (unsigned long long)t->size_param,
		    t->smtputf8, t->dsn_params, t->mail_reply_code);
		h_enh(fp, &t->mail_enh);
		fputc(' ', fp);
		h_wstr(fp, &t->mail_reply_text);
		fputc('\n', fp);
		for (size_t k = 0; k < t->nrcpts; k++) {
			fputs("  rcpt ", fp);
			h_wstr(fp, &t->rcpts[k].addr);
			fputc(' ', fp);
			h_wstr(fp, &t->rcpts[k].params);
			fprintf(fp, " %d ", t->rcpts[k].reply_code);
			h_enh(fp, &t->rcpts[k].enh);
			fputc(' ', fp);
			h_wstr(fp, &t->rcpts[k].reply_text);
			fputc('\n', fp);
		}
		fprintf(fp, "  rcpts dropped %zu data %d/%d bdat %d/%llu seen %d complete %d "
		    "bytes %llu 8bit %llu@%llu bare %llu nul %d\n", t->rcpts_dropped,
		    t->data_cmd, t->data_reply_code, t->bdat,
		    (unsigned long long)t->bdat_chunks,
		    t->content_seen, t->content_complete,
		    (unsigned long long)t->data_bytes, (unsigned long long)t->eightbit_bytes,
		    (unsigned long long)t->first_8bit_off, (unsigned long long)t->bare_lf,
		    t->nul_seen);
		fputs("  cte ", fp);
		h_wstr(fp, &t->cte);
		fputs(" charset ", fp);
		h_wstr(fp, &t->charset);
		fputs(" type ", fp);
		h_wstr(fp, &t->content_type);
		fprintf(fp, " final %d ", t->reply_code);
		h_enh(fp, &t->enh);
		fputc(' ', fp);
		h_wstr(fp, &t->reply_text);
		fprintf(fp, " at %llu/%llu\n", (unsigned long long)t->end_ts_us,
		    (unsigned long long)t->end_pkt);
		fputs("  queue ", fp);
		h_wstr(fp, &t->queue_id);
		fputs(" msgid ", fp);
		h_wstr(fp, &t->message_id);
		fputs(" subject ", fp);
		h_wstr(fp, &t->subject);
		fputs(" from ", fp);
		h_wstr(fp, &t->hdr_from);
		fputs(" to ", fp);
		h_wstr(fp, &t->hdr_to);
		fputc('\n', fp);
	}
	fprintf(fp, "tx dropped %zu last %d ", r->tx_dropped, r->last_reply_code);
	h_enh(fp, &r->last_enh);
	fputc(' ', fp);
	h_wstr(fp, &r->last_reply_text);
	fprintf(fp, "\ncommands %llu replies %llu end %s state %s\nanomalies",
	    (unsigned long long)r->commands, (unsigned long long)r->replies,
	    sess_end_name(r->end), sess_state_name(r->state));
	for (int i = 0; i < SAN_MAX; i++)
		if (r->anomalies[i] != 0)
			fprintf(fp, " %s=%u", smtp_anomaly_name((enum smtp_anomaly)i),
			    r->anomalies[i]);
	fprintf(fp, "\nlines %zu dropped %zu\n", r->nlines, r->lines_dropped);
	for (size_t i = 0; i < r->nlines; i++)
		h_xline(fp, &r->lines[i]);
	for (size_t i = 0; i < r->ninc; i++) {
		const struct incident *inc = &r->inc[i];

		fprintf(fp, "incident %s %s %s\n  %s\n  %s\n  %s\n  %s\n  vis %s\n",
		    inc->type, severity_name(inc->severity),
		    confidence_name(inc->confidence), inc->summary, inc->diagnosis,
		    inc->fix, inc->rfc, inc->visibility ? inc->visibility : "-");
		for (size_t k = 0; k < inc->nevidence; k++)
			h_xline(fp, &inc->evidence[k]);
	}
	fclose(fp);
	return buf;
}

/* ---------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------ */
struct h_sink {
	char *dump;
	check_fn check;
	unsigned updates, ends;
};

static H_UNUSED void
h_on_end(void *arg, const struct sess_record *r)
{
	struct h_sink *k = arg;

	k->ends++;
	free(k->dump);
	k->dump = h_dump(r);
	if (k->check != NULL)
		k->check(r);
}

static H_UNUSED void
h_on_update(void *arg, const struct sess_record *r)
{
	struct h_sink *k = arg;

	/* A live record must already be consistent. */
	assert_int_equal(r->end, SEND_OPEN);
	k->updates++;
}

static H_UNUSED void
h_peers(struct smtp_peers *p, bool mid_stream, bool routable)
{
	memset(p, 0, sizeof(*p));
	p->flow_id = 7;
	p->family = AF_INET;
	p->client_ip[0] = 127;
	p->client_ip[3] = 10;
	p->server_ip[0] = 127;
	p->server_ip[3] = 31;
	if (routable) {
		p->client_ip[0] = 192;
		p->client_ip[2] = 2;
		p->server_ip[0] = 198;
		p->server_ip[1] = 51;
		p->server_ip[2] = 100;
	}
	p->client_port = 37331;
	p->server_port = 25;
	p->mid_stream = mid_stream;
	p->ts_us = H_TS0;
	p->pkt = 1;
}

/* Feed one case into an existing context; split_step/split_at cut one
 * step in two (split_at 0: no cut); bytewise feeds one octet at a time. */
static H_UNUSED void
h_feed(struct smtp_ctx *ctx, const struct hcase *c, const struct smtp_peers *peers,
    size_t split_step, size_t split_at, bool bytewise)
{
	struct smtp_session *s = smtp_session_new(ctx, peers);
	struct smtp_end_info ei;
	struct smtp_pos pos;

	memset(&pos, 0, sizeof(pos));
	assert_non_null(s);
	memset(&ei, 0, sizeof(ei));
	for (size_t i = 0; i < c->nsteps; i++) {
		const struct step *st = &c->steps[i];

		pos.ts_us = peers->ts_us + 1000 * (i + 1);
		pos.pkt = st->pkt != 0 ? st->pkt : i + 1;
		pos.peer_ack_known = st->acked1 != 0;
		pos.peer_acked = st->acked1 != 0 ? st->acked1 - 1 : 0;
		if (st->data == NULL) {
			smtp_gap(s, st->dir, st->len, &pos);
			continue;
		}
		ei.packets[st->dir]++;
		ei.bytes[st->dir] += st->len;
		if (bytewise) {
			for (size_t k = 0; k < st->len; k++)
				smtp_feed(s, st->dir, (const uint8_t *)st->data + k, 1, &pos);
		} else if (i == split_step && split_at > 0 && split_at < st->len) {
			smtp_feed(s, st->dir, (const uint8_t *)st->data, split_at, &pos);
			smtp_feed(s, st->dir, (const uint8_t *)st->data + split_at,
			    st->len - split_at, &pos);
		} else {
			smtp_feed(s, st->dir, (const uint8_t *)st->data, st->len, &pos);
		}
	}
	ei.reason = c->end;
	pos.ts_us = peers->ts_us + 1000 * (c->nsteps + 1);
	pos.pkt = c->nsteps > 0 && c->steps[c->nsteps - 1].pkt != 0 ?
	    c->steps[c->nsteps - 1].pkt + 1 : c->nsteps + 1;
	smtp_end(s, &ei, &pos);
}

static H_UNUSED char *
h_run(const struct hcase *c, size_t split_step, size_t split_at, bool bytewise,
    bool check)
{
	struct smtp_limits lim;
	struct smtp_sink sink;
	struct h_sink hs;
	struct smtp_ctx *ctx;
	struct smtp_peers peers;

	memset(&hs, 0, sizeof(hs));
	hs.check = check ? c->check : NULL;
	smtp_limits_init(&lim);
	if (c->max_line)
		lim.max_line = c->max_line;
	if (c->max_lines)
		lim.max_lines = c->max_lines;
	memset(&sink, 0, sizeof(sink));
	sink.arg = &hs;
	sink.session_update = h_on_update;
	sink.session_end = h_on_end;
	ctx = smtp_ctx_new(&lim, &sink);
	assert_non_null(ctx);
	h_peers(&peers, c->mid_stream, c->routable);
	h_feed(ctx, c, &peers, split_step, split_at, bytewise);
	smtp_ctx_free(ctx);
	assert_int_equal(hs.ends, 1);
	assert_non_null(hs.dump);
	return hs.dump;
}

static H_UNUSED void
run_case(const struct hcase *c)
{
	char *whole = h_run(c, 0, 0, false, true), *d;

	d = h_run(c, 0, 0, true, false);
	if (strcmp(whole, d) != 0)
		fprintf(stderr, "--- whole\n%s--- byte by byte\n%s", whole, d);
	assert_string_equal(whole, d);
	free(d);
	for (size_t i = 0; i < c->nsteps && !c->no_splits; i++) {
		for (size_t at = 1; c->steps[i].data != NULL && at < c->steps[i].len; at++) {
			d = h_run(c, i, at, false, false);
			if (strcmp(whole, d) != 0)
				fprintf(stderr, "--- whole\n%s--- split step %zu at %zu\n%s",
				    whole, i, at, d);
			assert_string_equal(whole, d);
			free(d);
		}
	}
	free(whole);
}

/* A context with the default limits whose ended sessions go to *hs. */
static H_UNUSED struct smtp_ctx *
h_ctx(struct h_sink *hs)
{
	struct smtp_limits lim;
	struct smtp_sink sink;
	struct smtp_ctx *ctx;

	smtp_limits_init(&lim);
	memset(hs, 0, sizeof(*hs));
	memset(&sink, 0, sizeof(sink));
	sink.arg = hs;
	sink.session_end = h_on_end;
	ctx = smtp_ctx_new(&lim, &sink);
	assert_non_null(ctx);
	return ctx;
}

/* Several sessions of the same client through one context (its
 * cross-session memory); each case's check runs on its own record. */
static H_UNUSED void
run_sequence(const struct hcase *const *cases, size_t n)
{
	struct h_sink hs;
	struct smtp_ctx *ctx = h_ctx(&hs);
	struct smtp_peers peers;

	for (size_t i = 0; i < n; i++) {
		h_peers(&peers, cases[i]->mid_stream, cases[i]->routable);
		peers.flow_id += i;
		peers.client_port = (uint16_t)(peers.client_port + i);
		hs.check = cases[i]->check;
		h_feed(ctx, cases[i], &peers, 0, 0, false);
	}
	assert_int_equal(hs.ends, n);
	free(hs.dump);
	smtp_ctx_free(ctx);
}

/* ---------------------------------------------------------------------
 * Assertion helpers
 * ------------------------------------------------------------------ */
static H_UNUSED const struct incident *
find_inc(const struct sess_record *r, const char *type)
{
	for (size_t i = 0; i < r->ninc; i++)
		if (strcmp(r->inc[i].type, type) == 0)
			return &r->inc[i];
	return NULL;
}

static H_UNUSED void
assert_inc(const struct sess_record *r, const char *type, enum severity sev,
    enum confidence conf)
{
	const struct incident *inc = find_inc(r, type);

	if (inc == NULL) {
		fprintf(stderr, "missing incident %s; have:", type);
		for (size_t i = 0; i < r->ninc; i++)
			fprintf(stderr, " %s", r->inc[i].type);
		fputc('\n', stderr);
	}
	assert_non_null(inc);
	assert_int_equal(inc->severity, sev);
	assert_int_equal(inc->confidence, conf);
	assert_non_null(inc->summary);
	assert_non_null(inc->diagnosis);
	assert_non_null(inc->fix);
	assert_non_null(inc->rfc);
	assert_true(inc->nevidence > 0);
}

static H_UNUSED void
assert_no_inc(const struct sess_record *r, const char *type)
{
	const struct incident *inc = find_inc(r, type);

	if (inc != NULL)
		fprintf(stderr, "unexpected incident %s: %s\n", type, inc->summary);
	assert_null(inc);
}

/* Exactly these incident types, in any order (NULL-terminated). */
static H_UNUSED void
assert_incs(const struct sess_record *r, ...)
{
	va_list ap;
	size_t n = 0;
	const char *t;

	va_start(ap, r);
	while ((t = va_arg(ap, const char *)) != NULL) {
		if (find_inc(r, t) == NULL)
			fprintf(stderr, "missing incident %s\n", t);
		assert_non_null(find_inc(r, t));
		n++;
	}
	va_end(ap);
	if (n != r->ninc)
		for (size_t i = 0; i < r->ninc; i++)
			fprintf(stderr, "have incident %s: %s\n", r->inc[i].type,
			    r->inc[i].summary);
	assert_int_equal(n, r->ninc);
}

/* The evidence holds a line starting with text, from packet pkt. */
static H_UNUSED void
assert_evidence(const struct incident *inc, const char *text, uint64_t pkt)
{
	size_t n = strlen(text);

	for (size_t i = 0; i < inc->nevidence; i++) {
		const struct xline *l = &inc->evidence[i];

		if (l->pkt == pkt && l->text.p != NULL && l->text.len >= n &&
		    memcmp(l->text.p, text, n) == 0)
			return;
	}
	fprintf(stderr, "evidence of %s lacks \"%s\" at packet %llu; has:\n",
	    inc->type, text, (unsigned long long)pkt);
	for (size_t i = 0; i < inc->nevidence; i++)
		fprintf(stderr, "  %llu %.*s\n", (unsigned long long)inc->evidence[i].pkt,
		    (int)inc->evidence[i].text.len, inc->evidence[i].text.p);
	fail();
}

/* Index of the first transcript line starting with text, or -1. */
static H_UNUSED int
line_index(const struct sess_record *r, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i < r->nlines; i++)
		if (r->lines[i].text.p != NULL && r->lines[i].text.len >= n &&
		    memcmp(r->lines[i].text.p, text, n) == 0)
			return (int)i;
	return -1;
}

static H_UNUSED bool
str_in(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static H_UNUSED void
assert_wstr(const struct wstr *w, const char *want)
{
	if (want == NULL) {
		assert_null(w->p);
		return;
	}
	assert_non_null(w->p);
	if (w->len != strlen(want) || memcmp(w->p, want, w->len) != 0)
		fprintf(stderr, "want \"%s\", have \"%.*s\"\n", want, (int)w->len, w->p);
	assert_int_equal(w->len, strlen(want));
	assert_memory_equal(w->p, want, w->len);
}

#endif
