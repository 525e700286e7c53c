/*
 * text.c - readable output for batch mode: one line per finished session,
 * one block per incident, and the time and address formatting that every
 * exporter (and the UI) shares.
 *
 * Everything printed from the wire is text-escaped (escape.h), so a hostile
 * HELO argument can neither move the cursor nor fake a second line; in the
 * one-line form spaces are escaped too ("\s") so each key=value stays one
 * word and the line can be split on spaces.  Times are UTC.
 *
 * Deliberately not here: terminal width handling or wrapping (a pipe or a
 * file gets whole lines), colour unless asked for, locale-dependent
 * formatting.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cause.h"
#include "escape.h"
#include "export.h"

#define C_RESET		"\033[0m"
#define C_ERROR		"\033[1;31m"
#define C_WARNING	"\033[33m"
#define C_NOTICE	"\033[36m"

/* ------------------------------------------------------------------------
 * Formatting helpers
 * --------------------------------------------------------------------- */

char *
export_fmt_time(char *dst, size_t size, uint64_t ts_us, enum ts_style style)
{
	uint64_t sec = ts_us / 1000000, frac = ts_us % 1000000;
	time_t t = (time_t)sec;
	char date[32];
	struct tm tm;

	if (size == 0)
		return dst;
	bool local = style == TS_LOCAL || style == TS_LOCAL_MILLI;

	/* The calendar part changes once a second, and a replay formats it
	 * for every session and every transcript line: the last one made is
	 * kept (per thread: the live view formats times too). */
	static _Thread_local struct {
		bool ok;
		time_t t;
		int how;
		char date[32];
	} last;
	int how = local * 2 + (style == TS_ISO);

	if (style != TS_EPOCH && (uint64_t)t == sec && last.ok &&
	    last.t == t && last.how == how) {
		memcpy(date, last.date, sizeof(date));
	} else if (style == TS_EPOCH || (uint64_t)t != sec ||
	    (local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) == NULL ||
	    strftime(date, sizeof(date), style == TS_ISO ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		(void)snprintf(dst, size, "%" PRIu64 ".%06" PRIu64, sec, frac);
		return dst;
	} else {
		last.ok = true;
		last.t = t;
		last.how = how;
		memcpy(last.date, date, sizeof(date));
	}
	/* The fraction by hand: this runs for every line printed. */
	char out[sizeof(date) + 9], *p = out + strlen(date);
	int nd = style == TS_MILLI || style == TS_LOCAL_MILLI ? 3 : 6;

	memcpy(out, date, (size_t)(p - out));
	if (nd == 3)
		frac /= 1000;
	*p++ = '.';
	for (int i = nd - 1; i >= 0; i--, frac /= 10)
		p[i] = (char)('0' + frac % 10);
	p += nd;
	if (style == TS_ISO)
		*p++ = 'Z';
	*p = '\0';
	(void)strlcpy(dst, out, size);
	return dst;
}

char *
export_fmt_zone(char *dst, size_t size, uint64_t ts_us)
{
	time_t t = (time_t)(ts_us / 1000000);
	struct tm tm;
	char name[16];
	long off;

	if (size == 0)
		return dst;
	if (localtime_r(&t, &tm) == NULL) {
		(void)strlcpy(dst, "local time", size);
		return dst;
	}
	off = tm.tm_gmtoff / 60;
	if (strftime(name, sizeof(name), "%Z", &tm) == 0)
		name[0] = '\0';
	(void)snprintf(dst, size, "UTC%c%02ld:%02ld%s%s%s", off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60,
	    name[0] != '\0' ? " (" : "", name, name[0] != '\0' ? ")" : "");
	return dst;
}

/* Decimal digits of v at p, returned past them. */
static char *
put_dec(char *p, unsigned v)
{
	char b[EXPORT_U64_SIZE], *q = export_u64(b + sizeof(b), v);

	memcpy(p, q, (size_t)(b + sizeof(b) - q));
	return p + (b + sizeof(b) - q);
}

/*
 * Addresses are formatted for every session, several times (records,
 * lines, evidence): IPv4 by hand, since glibc's inet_ntop() goes through
 * sprintf() per address and was a twentieth of a replay of short
 * sessions.  IPv6 keeps inet_ntop() (RFC 5952's zero compression).
 */
char *
export_fmt_addr(char *dst, size_t size, int family, const uint8_t *ip, int port)
{
	char a[INET6_ADDRSTRLEN + 8], *p = a;

	if (size == 0)
		return dst;
	if (family != AF_INET6) {
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = put_dec(p, ip[i]);
		}
	} else {
		*p++ = '[';
		if (inet_ntop(AF_INET6, ip, p, INET6_ADDRSTRLEN) == NULL)
			(void)strlcpy(p, "?", INET6_ADDRSTRLEN);
		p += strlen(p);
		if (port < 0) {		/* no brackets without a port */
			memmove(a, a + 1, (size_t)(p - a - 1));
			p--;
		} else
			*p++ = ']';
	}
	if (port >= 0) {
		*p++ = ':';
		p = put_dec(p, (unsigned)port & 0xffff);
	}
	*p = '\0';
	(void)strlcpy(dst, a, size);
	return dst;
}

static const char *
nn(const char *s)
{
	return s != NULL ? s : "?";
}

static const char *
sev_color(enum severity s)
{
	switch (s) {
	case SEV_ERROR:
		return C_ERROR;
	case SEV_WARNING:
		return C_WARNING;
	default:
		return C_NOTICE;
	}
}

static void
print_hosts(FILE *f, const struct sess_record *r)
{
	char c[EXPORT_ADDR_SIZE], s[EXPORT_ADDR_SIZE];

	(void)fputs(export_fmt_addr(c, sizeof(c), r->family, r->client_ip,
	    r->client_port), f);
	(void)fputs(" -> ", f);
	(void)fputs(export_fmt_addr(s, sizeof(s), r->family, r->server_ip,
	    r->server_port), f);
}

/* " key=N", without printf: a batch line is written for every session. */
static void
print_num(FILE *f, const char *key, uint64_t v)
{
	char b[EXPORT_U64_SIZE], *p = export_u64(b + sizeof(b), v);

	(void)fputs(key, f);
	(void)fwrite(p, 1, (size_t)(b + sizeof(b) - p), f);
}

/* " key=value" with the value text-escaped, spaces included; skipped when
 * the string is absent. */
static void
print_token(FILE *f, const char *key, const struct wstr *w, int esc)
{
	if (w->p == NULL)
		return;
	(void)fputc(' ', f);
	(void)fputs(key, f);
	(void)fputc('=', f);
	(void)esc_text_fput(f, w->p, w->len, ESC_SP | esc);
}

/* ------------------------------------------------------------------------
 * Batch line
 * --------------------------------------------------------------------- */

static const struct {
	uint32_t flag;
	const char *name;
} limit_flags[] = {
	{ SF_MID_STREAM, "mid-stream" },
	{ SF_GAP, "gap" },
	{ SF_ONE_SIDED, "one-sided" },
	{ SF_KERNEL_DROPS, "kernel-drops" },
	{ SF_OVERLAP, "overlap-conflict" },
};

static const struct batch_opts batch_defaults;

/*
 * The time that starts a batch line ("" for -t), with its trailing space.
 * The relative styles count from first_us / prev_us, which the caller
 * (export_batch_session) advances.
 */
static void
print_batch_time(FILE *f, const struct batch_opts *o, uint64_t ts_us, bool milli)
{
	char t[EXPORT_TS_SIZE];
	uint64_t base, d;

	switch (o->ts) {
	case BATCH_TS_NONE:
		return;
	case BATCH_TS_EPOCH:
		(void)fputs(export_fmt_time(t, sizeof(t), ts_us, TS_EPOCH), f);
		(void)fputc(' ', f);
		return;
	case BATCH_TS_DELTA:
	case BATCH_TS_SINCE_FIRST:
		base = o->ts == BATCH_TS_DELTA ? o->prev_us : o->first_us;
		if (base == 0)
			base = ts_us;
		d = ts_us >= base ? ts_us - base : base - ts_us;
		(void)fprintf(f, "%c%" PRIu64 ".%06" PRIu64 " ", ts_us >= base ? '+' : '-',
		    d / 1000000, d % 1000000);
		return;
	case BATCH_TS_LOCAL:
		break;
	}
	(void)fputs(export_fmt_time(t, sizeof(t), ts_us,
	    milli ? TS_LOCAL_MILLI : TS_LOCAL), f);
	(void)fputc(' ', f);
}

int
export_batch_line(FILE *f, const struct sess_record *r, const struct batch_opts *o)
{
	const char *sep;
	bool color;
	size_t i;

	if (o == NULL)
		o = &batch_defaults;
	color = o->color;
	print_batch_time(f, o, r->ts_start_us, true);
	print_hosts(f, r);
	if (r->banner_code > 0 && r->banner_code != 220)
		print_num(f, " greeting=", (uint64_t)r->banner_code);
	print_token(f, "helo", &r->helo, o->esc);
	if (r->ehlo) {
		print_num(f, " ehlo caps=", r->ncaps);
		if (!(r->capflags & CAPF(8BITMIME)))
			(void)fputs(" (no 8BITMIME)", f);
	}
	if (r->helo_fallback)
		(void)fputs(" helo-fallback", f);
	if (r->flags & SF_TLS)
		(void)fputs(" tls", f);
	print_token(f, "auth", &r->auth_used, o->esc);
	print_num(f, " tx=", r->ntx);
	/* The queue ids the server gave, the key into its mail log. */
	sep = " queue=";
	for (i = 0; i < r->ntx; i++) {
		const struct wstr *q = &r->tx[i].queue_id;

		if (q->p == NULL || q->len == 0)
			continue;
		(void)fputs(sep, f);
		(void)esc_text_fput(f, q->p, q->len, ESC_SP | o->esc);
		sep = ",";
	}
	(void)fputs(" end=", f);
	(void)fputs(nn(sess_end_name(r->end)), f);
	if (r->last_reply_code > 0)
		print_num(f, " last=", (uint64_t)r->last_reply_code);
	(void)fputs(" state=", f);
	(void)fputs(nn(sess_state_name(r->state)), f);
	sep = " limited=";
	for (i = 0; i < sizeof(limit_flags) / sizeof(limit_flags[0]); i++) {
		if (!(r->flags & limit_flags[i].flag))
			continue;
		(void)fputs(sep, f);
		(void)fputs(limit_flags[i].name, f);
		sep = ",";
	}
	for (i = 0; i < r->ninc; i++) {
		const struct incident *inc = &r->inc[i];

		if (color)
			(void)fprintf(f, " %s[%s]%s", sev_color(inc->severity),
			    inc->type != NULL ? inc->type : "?", C_RESET);
		else {
			(void)fputs(" [", f);
			(void)fputs(inc->type != NULL ? inc->type : "?", f);
			(void)fputc(']', f);
		}
	}
	(void)fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Incident block
 * --------------------------------------------------------------------- */

static void
print_field(FILE *f, const char *label, const char *s, int esc)
{
	if (s == NULL)
		return;
	(void)fprintf(f, "  %-11s ", label);
	(void)esc_text_fput(f, s, strlen(s), esc);
	(void)fputc('\n', f);
}

/* One transcript or evidence line: "    <time> #4 S: 250-8BITMIME". */
static void
print_xline(FILE *f, const struct batch_opts *o, const struct xline *x)
{
	struct batch_opts abs = *o;

	/* Relative styles make sense between sessions; lines keep clock time. */
	if (abs.ts == BATCH_TS_DELTA || abs.ts == BATCH_TS_SINCE_FIRST)
		abs.ts = BATCH_TS_LOCAL;
	(void)fputs("    ", f);
	print_batch_time(f, &abs, x->ts_us, false);
	(void)fprintf(f, "#%" PRIu64 " %s ", x->pkt,
	    x->dir == XDIR_CLIENT ? "C:" : x->dir == XDIR_SERVER ? "S:" : "--");
	(void)esc_text_fput(f, x->text.p, x->text.len, o->esc);
	if (x->flags & XL_TRUNCATED)
		(void)fputs(" [truncated]", f);
	(void)fputc('\n', f);
}

static void
print_severity(FILE *f, const struct incident *inc, bool color)
{
	if (color)
		(void)fprintf(f, "%s%s%s", sev_color(inc->severity),
		    nn(severity_name(inc->severity)), C_RESET);
	else
		(void)fputs(nn(severity_name(inc->severity)), f);
}

int
export_batch_incident(FILE *f, const struct sess_record *r,
    const struct incident *inc, const struct batch_opts *o)
{
	size_t i, n;

	if (o == NULL)
		o = &batch_defaults;
	print_severity(f, inc, o->color);
	(void)fprintf(f, " %s (%s) %.*s ", inc->type != NULL ? inc->type : "?",
	    nn(confidence_name(inc->confidence)), (int)sizeof(r->uid), r->uid);
	print_hosts(f, r);
	(void)fputc('\n', f);
	print_field(f, "summary:", inc->summary, o->esc);
	print_field(f, "diagnosis:", inc->diagnosis, o->esc);
	print_field(f, "fix:", inc->fix, o->esc);
	print_field(f, "rfc:", inc->rfc, o->esc);
	print_field(f, "visibility:", inc->visibility, o->esc);
	n = inc->nevidence < INC_MAX_EVIDENCE ? inc->nevidence : INC_MAX_EVIDENCE;
	if (n > 0)
		(void)fputs("  evidence:\n", f);
	for (i = 0; i < n; i++)
		print_xline(f, o, &inc->evidence[i]);
	(void)fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

/* -q: "error 8bitmime-abort (probable) S... 10.0.0.1:4000 -> 10.0.0.2:25: summary" */
static void
print_incident_line(FILE *f, const struct sess_record *r, const struct incident *inc,
    const struct batch_opts *o)
{
	print_batch_time(f, o, r->ts_start_us, true);
	print_severity(f, inc, o->color);
	(void)fprintf(f, " %s (%s) %.*s ", inc->type != NULL ? inc->type : "?",
	    nn(confidence_name(inc->confidence)), (int)sizeof(r->uid), r->uid);
	print_hosts(f, r);
	if (inc->summary != NULL) {
		(void)fputs(": ", f);
		(void)esc_text_fput(f, inc->summary, strlen(inc->summary), o->esc);
	}
	(void)fputc('\n', f);
}

/* A further incident of a cause already printed in full. */
static void
print_again(FILE *f, const struct sess_record *r, const struct incident *inc,
    const struct cause *c, const struct batch_opts *o)
{
	print_severity(f, inc, o->color);
	(void)fprintf(f, " %s (%s) %.*s ", inc->type != NULL ? inc->type : "?",
	    nn(confidence_name(inc->confidence)), (int)sizeof(r->uid), r->uid);
	print_hosts(f, r);
	(void)fprintf(f, ": again, %" PRIu64 " sessions so far (diagnosis and fix "
	    "with %.*s above)\n", c->count, (int)sizeof(c->ex.uid), c->ex.uid);
}

int
export_batch_session(FILE *f, const struct sess_record *r, struct batch_opts *o)
{
	const struct cause *news[SESS_MAX_INC], *c;
	size_t i, k, nnew = 0;

	if (o->first_us == 0)
		o->first_us = r->ts_start_us;
	if (o->causes != NULL)
		nnew = cause_add(o->causes, r, news, SESS_MAX_INC);
	if (o->verbose < 0) {
		for (i = 0; i < r->ninc; i++)
			print_incident_line(f, r, &r->inc[i], o);
	} else {
		(void)export_batch_line(f, r, o);
		for (i = 0; i < r->ninc; i++) {
			c = o->causes != NULL ? cause_of(o->causes, r, &r->inc[i]) : NULL;
			for (k = 0; c != NULL && k < nnew && news[k] != c; k++)
				;
			if (c != NULL && k == nnew && c->count > 1)
				print_again(f, r, &r->inc[i], c, o);
			else
				(void)export_batch_incident(f, r, &r->inc[i], o);
		}
		if (o->verbose >= 2 || (o->verbose == 1 && r->ninc > 0)) {
			(void)fprintf(f, "  transcript (%zu lines%s):\n", r->nlines,
			    r->lines_dropped > 0 ? ", the middle not kept" : "");
			for (i = 0; i < r->nlines; i++)
				print_xline(f, o, &r->lines[i]);
			(void)fputc('\n', f);
		}
	}
	o->prev_us = r->ts_start_us;
	return ferror(f) ? -1 : 0;
}

static void
put_escaped(FILE *f, const char *p, size_t len)
{
	(void)esc_text_fput(f, p, len, 0);
}

void
export_cause_peers(FILE *f, const struct cause *c)
{
	char a[EXPORT_ADDR_SIZE];

	for (size_t k = 0; k < c->npeers; k++)
		(void)fprintf(f, "%s %s x%" PRIu64, k > 0 ? "," : "",
		    export_fmt_addr(a, sizeof(a), c->family, c->peers[k].ip, -1),
		    c->peers[k].n);
	if (c->peers_other > 0)
		(void)fprintf(f, ", others x%" PRIu64, c->peers_other);
}

void
export_cause_refusals(FILE *f, const struct cause *c, export_put_fn put)
{
	for (size_t k = 0; k < c->nrefusals; k++) {
		const struct cause_refusal *rf = &c->refusals[k];

		(void)fprintf(f, "%s %d", k > 0 ? "," : "", rf->code);
		if (rf->enh.cls != 0)
			(void)fprintf(f, " %u.%u.%u", rf->enh.cls, rf->enh.subject,
			    rf->enh.detail);
		(void)fputs(rf->mail ? " MAIL FROM:<" : " RCPT TO:<", f);
		put(f, rf->addr.p, rf->addr.len);
		(void)fprintf(f, "> x%" PRIu64, rf->n);
	}
	if (c->refusals_other > 0)
		(void)fprintf(f, ", others x%" PRIu64, c->refusals_other);
}

int
export_batch_causes(FILE *f, const struct batch_opts *o)
{
	const struct cause **v;
	char a[EXPORT_ADDR_SIZE], t1[EXPORT_TS_SIZE], t2[EXPORT_TS_SIZE];
	size_t n, i;
	bool nomem;

	if (o == NULL || o->causes == NULL)
		return 0;
	v = cause_sorted(o->causes, &n, &nomem);
	if (n == 0) {
		free(v);
		return ferror(f) ? -1 : 0;
	}
	(void)fprintf(f, "\ncauses (%zu):\n", n);
	for (i = 0; i < n; i++) {
		const struct cause *c = v[i];
		struct incident sev = { .severity = c->severity };

		(void)fputs("  ", f);
		print_severity(f, &sev, o->color);
		(void)fprintf(f, " %s: %s %s", inc_type_name(c->kind),
		    c->side == SIDE_SERVER ? "server" : "client",
		    export_fmt_addr(a, sizeof(a), c->family, c->ip,
		    c->side == SIDE_SERVER ? c->port : -1));
		if (c->name.p != NULL) {
			(void)fputs(" (", f);
			(void)esc_text_fput(f, c->name.p, c->name.len, o->esc);
			(void)fputc(')', f);
		}
		(void)fprintf(f, ", %" PRIu64 " session%s with %zu%s %s%s, %s to %s\n",
		    c->count, c->count == 1 ? "" : "s", c->npeers,
		    cause_peers_complete(c) ? "" : "+",
		    c->side == SIDE_SERVER ? "client" : "server",
		    c->npeers == 1 && cause_peers_complete(c) ? "" : "s",
		    export_fmt_time(t1, sizeof(t1), c->first_us, TS_LOCAL_MILLI),
		    export_fmt_time(t2, sizeof(t2), c->last_us, TS_LOCAL_MILLI));
		(void)fprintf(f, "    %s:", c->side == SIDE_SERVER ? "clients" : "servers");
		export_cause_peers(f, c);
		(void)fputc('\n', f);
		if (c->nrefusals > 0) {
			(void)fputs("    refused:", f);
			export_cause_refusals(f, c, put_escaped);
			(void)fputc('\n', f);
		}
	}
	if (cause_dropped(o->causes) + cause_nomem(o->causes) > 0)
		(void)fprintf(f, "  (%" PRIu64 " incidents of further causes not grouped)\n",
		    cause_dropped(o->causes) + cause_nomem(o->causes));
	free(v);
	return ferror(f) ? -1 : 0;
}
