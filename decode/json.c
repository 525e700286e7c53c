/*
 * json.c - one JSON object per finished session (JSON Lines, export.h).
 *
 * The schema is documented in export.h; this file writes it key by key in
 * that order, straight to the stream, so a record of any size costs no
 * memory here.  Every wire string goes through esc_json_fput*(), which
 * yields valid JSON for any bytes; numbers are printed from integers, times
 * as epoch seconds with six decimals from integer microseconds.
 *
 * Deliberately not here: the transcript (it would dwarf everything else;
 * incidents carry the lines that matter as evidence), pretty printing, and
 * any reading of JSON.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "escape.h"
#include "export.h"

/* Small writers; each leaves errors latched in the stream, checked once at
 * the end with ferror(). */

/* Decimal digits without printf: this runs for every field of every
 * session, and printf's format parsing was a visible share of a replay. */
static void
put_u64(FILE *f, uint64_t v)
{
	char b[20], *p = b + sizeof(b);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	(void)fwrite(p, 1, (size_t)(b + sizeof(b) - p), f);
}

static void
j_key(FILE *f, bool *first, const char *key)
{
	if (!*first)
		(void)fputc(',', f);
	*first = false;
	(void)fputc('"', f);
	(void)fputs(key, f);
	(void)fputs("\":", f);
}

static void
j_u64(FILE *f, bool *first, const char *key, uint64_t v)
{
	j_key(f, first, key);
	put_u64(f, v);
}

/* A reply or status code: null when none was seen (0). */
static void
j_code(FILE *f, bool *first, const char *key, int code)
{
	j_key(f, first, key);
	if (code > 0)
		put_u64(f, (uint64_t)code);
	else
		(void)fputs("null", f);
}

static void
j_bool(FILE *f, bool *first, const char *key, bool v)
{
	j_key(f, first, key);
	(void)fputs(v ? "true" : "false", f);
}

static void
j_wstr(FILE *f, bool *first, const char *key, const struct wstr *w)
{
	j_key(f, first, key);
	(void)esc_json_fput_wstr(f, w);
}

static void
j_str(FILE *f, bool *first, const char *key, const char *s)
{
	j_key(f, first, key);
	(void)esc_json_fput_str(f, s);
}

static void
j_ts(FILE *f, bool *first, const char *key, uint64_t ts_us)
{
	char t[EXPORT_TS_SIZE];

	j_key(f, first, key);
	(void)fputs(export_fmt_time(t, sizeof(t), ts_us, TS_EPOCH), f);
}

static void
j_ip(FILE *f, bool *first, const char *key, int family, const uint8_t *ip)
{
	char a[EXPORT_ADDR_SIZE];

	j_str(f, first, key, export_fmt_addr(a, sizeof(a), family, ip, -1));
}

static void
j_enh(FILE *f, bool *first, const char *key, const struct enh_code *e)
{
	j_key(f, first, key);
	if (e->cls == 0)
		(void)fputs("null", f);
	else
		(void)fprintf(f, "\"%u.%u.%u\"", (unsigned)e->cls,
		    (unsigned)e->subject, (unsigned)e->detail);
}

static const char *
dir_name(enum xdir d)
{
	switch (d) {
	case XDIR_CLIENT:
		return "C";
	case XDIR_SERVER:
		return "S";
	default:
		return "note";
	}
}

int
export_json_incident(FILE *f, const struct incident *inc)
{
	bool first = true;
	size_t i, n;

	(void)fputc('{', f);
	j_str(f, &first, "type", inc->type);
	j_str(f, &first, "severity", severity_name(inc->severity));
	j_str(f, &first, "confidence", confidence_name(inc->confidence));
	j_str(f, &first, "summary", inc->summary);
	j_str(f, &first, "diagnosis", inc->diagnosis);
	j_str(f, &first, "fix", inc->fix);
	j_str(f, &first, "rfc", inc->rfc);
	j_str(f, &first, "visibility", inc->visibility);
	j_key(f, &first, "evidence");
	(void)fputc('[', f);
	n = inc->nevidence < INC_MAX_EVIDENCE ? inc->nevidence : INC_MAX_EVIDENCE;
	for (i = 0; i < n; i++) {
		const struct xline *x = &inc->evidence[i];
		bool f2 = true;

		if (i > 0)
			(void)fputc(',', f);
		(void)fputc('{', f);
		j_ts(f, &f2, "ts", x->ts_us);
		j_u64(f, &f2, "pkt", x->pkt);
		j_str(f, &f2, "dir", dir_name(x->dir));
		j_wstr(f, &f2, "line", &x->text);
		j_bool(f, &f2, "truncated", (x->flags & XL_TRUNCATED) != 0);
		(void)fputc('}', f);
	}
	(void)fputs("]}", f);
	return ferror(f) ? -1 : 0;
}

static void
json_tx(FILE *f, const struct tx_record *t)
{
	bool first = true;
	size_t i;

	(void)fputc('{', f);
	j_ts(f, &first, "ts", t->ts_us);
	j_wstr(f, &first, "mail_from", &t->mail_from);
	j_wstr(f, &first, "mail_params", &t->mail_params);
	j_code(f, &first, "mail_reply_code", t->mail_reply_code);
	j_str(f, &first, "body", t->body == BODY_NONE ? NULL :
	    body_type_name(t->body));
	j_key(f, &first, "size");
	if (t->size_param > 0)
		put_u64(f, t->size_param);
	else
		(void)fputs("null", f);
	j_bool(f, &first, "smtputf8", t->smtputf8);
	j_key(f, &first, "rcpt_to");
	(void)fputc('[', f);
	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			(void)fputc(',', f);
		(void)esc_json_fput_wstr(f, &t->rcpts[i].addr);
	}
	(void)fputc(']', f);
	j_key(f, &first, "rcpt_replies");
	(void)fputc('[', f);
	for (i = 0; i < t->nrcpts; i++) {
		if (i > 0)
			(void)fputc(',', f);
		if (t->rcpts[i].reply_code > 0)
			put_u64(f, (uint64_t)t->rcpts[i].reply_code);
		else
			(void)fputs("null", f);
	}
	(void)fputc(']', f);
	j_u64(f, &first, "rcpts_dropped", t->rcpts_dropped);
	j_bool(f, &first, "data", t->data_cmd);
	j_code(f, &first, "data_reply_code", t->data_reply_code);
	j_bool(f, &first, "bdat", t->bdat);
	j_u64(f, &first, "bdat_chunks", t->bdat_chunks);
	j_u64(f, &first, "data_bytes", t->data_bytes);
	j_bool(f, &first, "content_complete", t->content_complete);
	j_bool(f, &first, "eightbit", t->eightbit_bytes > 0);
	j_u64(f, &first, "eightbit_bytes", t->eightbit_bytes);
	j_key(f, &first, "first_8bit_offset");
	if (t->eightbit_bytes > 0)
		put_u64(f, t->first_8bit_off);
	else
		(void)fputs("null", f);
	j_u64(f, &first, "bare_lf", t->bare_lf);
	j_bool(f, &first, "nul", t->nul_seen);
	j_wstr(f, &first, "content_transfer_encoding", &t->cte);
	j_wstr(f, &first, "charset", &t->charset);
	j_wstr(f, &first, "content_type", &t->content_type);
	j_code(f, &first, "reply_code", t->reply_code);
	j_enh(f, &first, "reply_enhanced", &t->enh);
	j_wstr(f, &first, "reply_text", &t->reply_text);
	(void)fputc('}', f);
}

int
export_json_session(FILE *f, const struct sess_record *r)
{
	bool first = true, fa;
	size_t i;
	int a;

	(void)fputc('{', f);
	j_key(f, &first, "uid");
	(void)esc_json_fput(f, r->uid, strnlen(r->uid, sizeof(r->uid)));
	j_ts(f, &first, "ts_start", r->ts_start_us);
	j_ts(f, &first, "ts_end", r->ts_end_us);
	j_ip(f, &first, "client_ip", r->family, r->client_ip);
	j_u64(f, &first, "client_port", r->client_port);
	j_ip(f, &first, "server_ip", r->family, r->server_ip);
	j_u64(f, &first, "server_port", r->server_port);
	j_key(f, &first, "packets");
	(void)fputs("{\"client\":", f);
	put_u64(f, r->packets[XDIR_CLIENT]);
	(void)fputs(",\"server\":", f);
	put_u64(f, r->packets[XDIR_SERVER]);
	(void)fputc('}', f);
	j_key(f, &first, "bytes");
	(void)fputs("{\"client\":", f);
	put_u64(f, r->bytes[XDIR_CLIENT]);
	(void)fputs(",\"server\":", f);
	put_u64(f, r->bytes[XDIR_SERVER]);
	(void)fputc('}', f);
	j_code(f, &first, "banner_code", r->banner_code);
	j_wstr(f, &first, "banner", &r->banner);
	j_wstr(f, &first, "helo", &r->helo);
	j_bool(f, &first, "ehlo", r->ehlo);
	j_bool(f, &first, "helo_fallback", r->helo_fallback);
	j_key(f, &first, "capabilities");
	(void)fputc('[', f);
	for (i = 0; i < r->ncaps; i++) {
		if (i > 0)
			(void)fputc(',', f);
		(void)esc_json_fput_wstr(f, &r->caps[i]);
	}
	(void)fputc(']', f);
	j_u64(f, &first, "capabilities_dropped", r->caps_dropped);
	j_key(f, &first, "size_limit");
	if (r->size_limit > 0)
		put_u64(f, r->size_limit);
	else
		(void)fputs("null", f);
	j_bool(f, &first, "tls", (r->flags & SF_TLS) != 0);
	j_code(f, &first, "starttls_reply_code", r->starttls_reply_code);
	j_wstr(f, &first, "auth", &r->auth_used);
	j_code(f, &first, "auth_reply_code", r->auth_reply_code);
	j_key(f, &first, "transactions");
	(void)fputc('[', f);
	for (i = 0; i < r->ntx; i++) {
		if (i > 0)
			(void)fputc(',', f);
		json_tx(f, &r->tx[i]);
	}
	(void)fputc(']', f);
	j_u64(f, &first, "transactions_dropped", r->tx_dropped);
	j_u64(f, &first, "commands", r->commands);
	j_u64(f, &first, "replies", r->replies);
	j_code(f, &first, "last_reply_code", r->last_reply_code);
	j_wstr(f, &first, "last_reply_text", &r->last_reply_text);
	j_str(f, &first, "end", sess_end_name(r->end));
	j_str(f, &first, "state", sess_state_name(r->state));
	j_bool(f, &first, "mid_stream", (r->flags & SF_MID_STREAM) != 0);
	j_bool(f, &first, "gap", (r->flags & SF_GAP) != 0);
	j_bool(f, &first, "one_sided", (r->flags & SF_ONE_SIDED) != 0);
	j_bool(f, &first, "kernel_drops", (r->flags & SF_KERNEL_DROPS) != 0);
	j_bool(f, &first, "overlap_conflict", (r->flags & SF_OVERLAP) != 0);
	j_key(f, &first, "anomalies");
	(void)fputc('{', f);
	fa = true;
	for (a = 0; a < SAN_MAX; a++) {
		if (r->anomalies[a] == 0)
			continue;
		j_u64(f, &fa, smtp_anomaly_name((enum smtp_anomaly)a),
		    r->anomalies[a]);
	}
	(void)fputc('}', f);
	j_u64(f, &first, "transcript_lines", r->nlines);
	j_u64(f, &first, "transcript_dropped", r->lines_dropped);
	j_key(f, &first, "incidents");
	(void)fputc('[', f);
	for (i = 0; i < r->ninc; i++) {
		if (i > 0)
			(void)fputc(',', f);
		(void)export_json_incident(f, &r->inc[i]);
	}
	(void)fputs("]}\n", f);
	return ferror(f) ? -1 : 0;
}
