/*
 * csv.c - incidents as CSV rows (RFC 4180), one row per incident.
 *
 * Rows are written as sessions finish, so a CSV report of any length costs
 * no memory (report.c streams them into its temp file).  Every text field
 * goes through esc_csv_fput*(): text-escaped, quoted when needed and guarded
 * against spreadsheet formula injection (escape.h).  Numbers and times are
 * ours and written bare.  Lines end in CRLF as RFC 4180 section 2 says.
 *
 * Deliberately not here: one row per session (JSON Lines is the session
 * export), the transcript or evidence (a cell is a poor place for them),
 * locale-dependent separators.
 */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "export.h"

static const char *const columns[] = {
	"ts", "uid", "type", "severity", "confidence", "client_ip",
	"client_port", "server_ip", "server_port", "helo", "summary",
	"diagnosis", "fix", "rfc", "visibility",
};

static const char *
nn(const char *s)
{
	return s != NULL ? s : "?";
}

int
export_csv_header(FILE *f)
{
	size_t i;

	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
		(void)fprintf(f, "%s%s", i > 0 ? "," : "", columns[i]);
	(void)fputs("\r\n", f);
	return ferror(f) ? -1 : 0;
}

int
export_csv_incidents(FILE *f, const struct sess_record *r)
{
	char t[EXPORT_TS_SIZE], c[EXPORT_ADDR_SIZE], s[EXPORT_ADDR_SIZE];
	size_t i;

	export_fmt_addr(c, sizeof(c), r->family, r->client_ip, -1);
	export_fmt_addr(s, sizeof(s), r->family, r->server_ip, -1);
	for (i = 0; i < r->ninc; i++) {
		const struct incident *inc = &r->inc[i];
		uint64_t ts = inc->nevidence > 0 ? inc->evidence[0].ts_us :
		    r->ts_start_us;

		(void)fprintf(f, "%s,", export_fmt_time(t, sizeof(t), ts, TS_ISO));
		(void)esc_csv_fput(f, r->uid, strnlen(r->uid, sizeof(r->uid)));
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->type);
		(void)fprintf(f, ",%s,%s,%s,%u,%s,%u,", nn(severity_name(inc->severity)),
		    nn(confidence_name(inc->confidence)), c, (unsigned)r->client_port,
		    s, (unsigned)r->server_port);
		(void)esc_csv_fput_wstr(f, &r->helo);
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->summary);
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->diagnosis);
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->fix);
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->rfc);
		(void)fputc(',', f);
		(void)esc_csv_fput_str(f, inc->visibility);
		(void)fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}
