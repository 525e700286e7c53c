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
 *
 * The columns are a list of rows of the field tables (fields.h): the header
 * prints their names and each row their values, so the two cannot disagree.
 */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "export.h"

/* ------------------------------------------------------------------------
 * Columns
 * --------------------------------------------------------------------- */

/* A row is an incident of a session: each column reads one of the two, or
 * the pair itself for the one column the field tables cannot have (the
 * incident's time falls back to its session's start). */
enum csv_of { OF_ROW, OF_SESS, OF_INC };
struct csv_row {
	const struct sess_record *r;
	const struct incident *inc;
};

static void
get_inc_ts(const void *rec, struct rec_val *v)
{
	const struct csv_row *row = rec;

	v->kind = RV_TS;
	v->u = row->inc->nevidence > 0 ? row->inc->evidence[0].ts_us :
	    row->r->ts_start_us;
}

static const struct rec_field inc_ts_field = {
	.name = "ts", .type = RT_GET, .get = get_inc_ts,
};

/* Header and rows both come from this list (names from the field tables). */
static const struct csv_col {
	enum csv_of of;
	const struct rec_field *field;
} columns[] = {
	{ OF_ROW, &inc_ts_field },
	{ OF_SESS, &rec_sess_fields[SFLD_UID] },
	{ OF_INC, &rec_inc_fields[IFLD_TYPE] },
	{ OF_INC, &rec_inc_fields[IFLD_SEVERITY] },
	{ OF_INC, &rec_inc_fields[IFLD_CONFIDENCE] },
	{ OF_SESS, &rec_sess_fields[SFLD_CLIENT_IP] },
	{ OF_SESS, &rec_sess_fields[SFLD_CLIENT_PORT] },
	{ OF_SESS, &rec_sess_fields[SFLD_SERVER_IP] },
	{ OF_SESS, &rec_sess_fields[SFLD_SERVER_PORT] },
	{ OF_SESS, &rec_sess_fields[SFLD_HELO] },
	{ OF_INC, &rec_inc_fields[IFLD_SUMMARY] },
	{ OF_INC, &rec_inc_fields[IFLD_DIAGNOSIS] },
	{ OF_INC, &rec_inc_fields[IFLD_FIX] },
	{ OF_INC, &rec_inc_fields[IFLD_RFC] },
	{ OF_INC, &rec_inc_fields[IFLD_VISIBILITY] },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

size_t
export_csv_columns(const struct rec_field **out, size_t max)
{
	for (size_t i = 0; i < NCOLUMNS && i < max; i++)
		out[i] = columns[i].field;
	return NCOLUMNS;
}

/* ------------------------------------------------------------------------
 * Writing
 * --------------------------------------------------------------------- */

/* One cell: text is escaped and guarded; what we print ourselves (names,
 * numbers, times, addresses) is written bare; null is an empty cell. */
static void
csv_value(FILE *f, const struct rec_val *v)
{
	char b[EXPORT_TS_SIZE > EXPORT_ADDR_SIZE ? EXPORT_TS_SIZE : EXPORT_ADDR_SIZE];

	switch (v->kind) {
	case RV_NULL:
		break;
	case RV_UINT:
		(void)fprintf(f, "%" PRIu64, v->u);
		break;
	case RV_BOOL:
		(void)fputs(v->u ? "true" : "false", f);
		break;
	case RV_TEXT:
		(void)esc_csv_fput(f, v->p, v->len);
		break;
	case RV_NAME:
		(void)fwrite(v->p, 1, v->len, f);
		break;
	case RV_TS:
		(void)fputs(export_fmt_time(b, sizeof(b), v->u, TS_ISO), f);
		break;
	case RV_ADDR:
		(void)fputs(export_fmt_addr(b, sizeof(b), v->family, v->ip, -1), f);
		break;
	case RV_ENH:
		(void)fprintf(f, "%u.%u.%u", (unsigned)v->enh.cls,
		    (unsigned)v->enh.subject, (unsigned)v->enh.detail);
		break;
	}
}

int
export_csv_header(FILE *f)
{
	size_t i;

	for (i = 0; i < NCOLUMNS; i++) {
		if (i > 0)
			(void)fputc(',', f);
		(void)fputs(columns[i].field->name, f);
	}
	(void)fputs("\r\n", f);
	return ferror(f) ? -1 : 0;
}

int
export_csv_incidents(FILE *f, const struct sess_record *r)
{
	struct csv_row row = { r, NULL };
	struct rec_val v;
	size_t i, c;

	for (i = 0; i < r->ninc; i++) {
		row.inc = &r->inc[i];
		for (c = 0; c < NCOLUMNS; c++) {
			const void *rec = columns[c].of == OF_SESS ? (const void *)r :
			    columns[c].of == OF_INC ? (const void *)row.inc :
			    (const void *)&row;

			if (c > 0)
				(void)fputc(',', f);
			rec_get(columns[c].field, rec, &v);
			csv_value(f, &v);
		}
		(void)fputs("\r\n", f);
	}
	return ferror(f) ? -1 : 0;
}
