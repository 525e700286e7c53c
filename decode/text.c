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
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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
	if (style == TS_EPOCH || (uint64_t)t != sec || gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), style == TS_ISO ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		(void)snprintf(dst, size, "%" PRIu64 ".%06" PRIu64, sec, frac);
		return dst;
	}
	switch (style) {
	case TS_ISO:
		(void)snprintf(dst, size, "%s.%06" PRIu64 "Z", date, frac);
		break;
	case TS_MILLI:
		(void)snprintf(dst, size, "%s.%03" PRIu64, date, frac / 1000);
		break;
	default:
		(void)snprintf(dst, size, "%s.%06" PRIu64, date, frac);
		break;
	}
	return dst;
}

char *
export_fmt_addr(char *dst, size_t size, int family, const uint8_t *ip, int port)
{
	char a[INET6_ADDRSTRLEN];

	if (size == 0)
		return dst;
	if (inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, ip, a,
	    sizeof(a)) == NULL)
		(void)strlcpy(a, "?", sizeof(a));
	if (port < 0)
		(void)strlcpy(dst, a, size);
	else if (family == AF_INET6)
		(void)snprintf(dst, size, "[%s]:%d", a, port);
	else
		(void)snprintf(dst, size, "%s:%d", a, port);
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

	(void)fprintf(f, "%s -> %s",
	    export_fmt_addr(c, sizeof(c), r->family, r->client_ip, r->client_port),
	    export_fmt_addr(s, sizeof(s), r->family, r->server_ip, r->server_port));
}

/* " key=value" with the value text-escaped, spaces included; skipped when
 * the string is absent. */
static void
print_token(FILE *f, const char *key, const struct wstr *w)
{
	if (w->p == NULL)
		return;
	(void)fprintf(f, " %s=", key);
	(void)esc_text_fput(f, w->p, w->len, ESC_SP);
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

int
export_batch_line(FILE *f, const struct sess_record *r, bool color)
{
	char t[EXPORT_TS_SIZE];
	const char *sep = " limited=";
	size_t i;

	(void)fprintf(f, "%s ", export_fmt_time(t, sizeof(t), r->ts_start_us,
	    TS_MILLI));
	print_hosts(f, r);
	if (r->banner_code > 0 && r->banner_code != 220)
		(void)fprintf(f, " greeting=%d", r->banner_code);
	print_token(f, "helo", &r->helo);
	if (r->ehlo) {
		(void)fprintf(f, " ehlo caps=%zu", r->ncaps);
		if (!(r->capflags & CAPF(8BITMIME)))
			(void)fputs(" (no 8BITMIME)", f);
	}
	if (r->helo_fallback)
		(void)fputs(" helo-fallback", f);
	if (r->flags & SF_TLS)
		(void)fputs(" tls", f);
	print_token(f, "auth", &r->auth_used);
	(void)fprintf(f, " tx=%zu", r->ntx);
	(void)fprintf(f, " end=%s", nn(sess_end_name(r->end)));
	if (r->last_reply_code > 0)
		(void)fprintf(f, " last=%d", r->last_reply_code);
	(void)fprintf(f, " state=%s", nn(sess_state_name(r->state)));
	for (i = 0; i < sizeof(limit_flags) / sizeof(limit_flags[0]); i++) {
		if (!(r->flags & limit_flags[i].flag))
			continue;
		(void)fprintf(f, "%s%s", sep, limit_flags[i].name);
		sep = ",";
	}
	for (i = 0; i < r->ninc; i++) {
		const struct incident *inc = &r->inc[i];

		if (color)
			(void)fprintf(f, " %s[%s]%s", sev_color(inc->severity),
			    inc->type != NULL ? inc->type : "?", C_RESET);
		else
			(void)fprintf(f, " [%s]",
			    inc->type != NULL ? inc->type : "?");
	}
	(void)fputc('\n', f);
	return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Incident block
 * --------------------------------------------------------------------- */

static void
print_field(FILE *f, const char *label, const char *s)
{
	if (s == NULL)
		return;
	(void)fprintf(f, "  %-11s ", label);
	(void)esc_text_fput(f, s, strlen(s), 0);
	(void)fputc('\n', f);
}

int
export_batch_incident(FILE *f, const struct sess_record *r,
    const struct incident *inc, bool color)
{
	char t[EXPORT_TS_SIZE];
	size_t i, n;

	if (color)
		(void)fprintf(f, "%s%s%s", sev_color(inc->severity),
		    nn(severity_name(inc->severity)), C_RESET);
	else
		(void)fputs(nn(severity_name(inc->severity)), f);
	(void)fprintf(f, " %s (%s) %.*s ", inc->type != NULL ? inc->type : "?",
	    nn(confidence_name(inc->confidence)), (int)sizeof(r->uid), r->uid);
	print_hosts(f, r);
	(void)fputc('\n', f);
	print_field(f, "summary:", inc->summary);
	print_field(f, "diagnosis:", inc->diagnosis);
	print_field(f, "fix:", inc->fix);
	print_field(f, "rfc:", inc->rfc);
	print_field(f, "visibility:", inc->visibility);
	n = inc->nevidence < INC_MAX_EVIDENCE ? inc->nevidence : INC_MAX_EVIDENCE;
	if (n > 0)
		(void)fputs("  evidence:\n", f);
	for (i = 0; i < n; i++) {
		const struct xline *x = &inc->evidence[i];

		(void)fprintf(f, "    %s #%" PRIu64 " %s ",
		    export_fmt_time(t, sizeof(t), x->ts_us, TS_READABLE), x->pkt,
		    x->dir == XDIR_CLIENT ? "C:" : x->dir == XDIR_SERVER ? "S:" :
		    "--");
		(void)esc_text_fput(f, x->text.p, x->text.len, 0);
		if (x->flags & XL_TRUNCATED)
			(void)fputs(" [truncated]", f);
		(void)fputc('\n', f);
	}
	(void)fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
