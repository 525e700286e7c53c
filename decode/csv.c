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
#include <stddef.h>
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
	char rcpts[1024];	/* the rcpt_to cell, made once per session */
	size_t nrcpts;
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

/*
 * What an admin filters a ticket list by and greps the mail log for: the
 * reply that refused (the incident's first 4xx/5xx evidence line, else the
 * session's decisive reply, record.h) with its enhanced code, and from the
 * decisive transaction, the sender, the recipients (space-separated), the
 * queue id and the message's Message-ID and Subject.  Computed across
 * records, so not rows of one table.
 */
/* The incident's own refusal: its first evidence line that is a 4xx/5xx
 * reply (a rcpt-rejected row shows its 550, not a later 450). */
static const struct xline *
inc_refusal(const struct csv_row *row)
{
	for (size_t i = 0; i < row->inc->nevidence; i++) {
		const struct xline *x = &row->inc->evidence[i];
		const char *p = x->text.p;

		if (x->dir == XDIR_SERVER && p != NULL && x->text.len >= 3 &&
		    (p[0] == '4' || p[0] == '5') && p[1] >= '0' && p[1] <= '9' &&
		    p[2] >= '0' && p[2] <= '9' && (x->text.len == 3 || p[3] == ' ' ||
		    p[3] == '-'))
			return x;
	}
	return NULL;
}

static void
get_reply_code(const void *rec, struct rec_val *v)
{
	const struct csv_row *row = rec;
	const struct xline *x = inc_refusal(row);
	int code = x != NULL ? (x->text.p[0] - '0') * 100 + (x->text.p[1] - '0') * 10 +
	    (x->text.p[2] - '0') : rec_decisive_reply(row->r, NULL);

	v->kind = code > 0 ? RV_UINT : RV_NULL;
	v->u = code > 0 ? (uint64_t)code : 0;
}

/* "d.d.d" at the start of p: a class 2, 4 or 5 and numbers of up to 3
 * digits (RFC 3463), else class 0. */
static void
enh_at(const char *p, size_t len, struct enh_code *e)
{
	unsigned v[3] = { 0, 0, 0 };
	size_t i = 0;

	memset(e, 0, sizeof(*e));
	for (int k = 0; k < 3; k++) {
		size_t d = 0;

		while (i < len && p[i] >= '0' && p[i] <= '9' && d < 3)
			v[k] = v[k] * 10 + (unsigned)(p[i++] - '0'), d++;
		if (d == 0 || (k < 2 && (i >= len || p[i++] != '.')))
			return;
	}
	if ((v[0] == 2 || v[0] == 4 || v[0] == 5) && (i == len || p[i] == ' ')) {
		e->cls = (uint8_t)v[0];
		e->subject = (uint16_t)v[1];
		e->detail = (uint16_t)v[2];
	}
}

static void
get_reply_enh(const void *rec, struct rec_val *v)
{
	const struct csv_row *row = rec;
	const struct xline *x = inc_refusal(row);

	if (x != NULL && x->text.len > 4)
		enh_at(x->text.p + 4, x->text.len - 4, &v->enh);
	else if (x != NULL)
		memset(&v->enh, 0, sizeof(v->enh));
	else
		rec_decisive_enh(row->r, &v->enh);
	v->kind = v->enh.cls != 0 ? RV_ENH : RV_NULL;
}

static void
get_reply_text(const void *rec, struct rec_val *v)
{
	const struct csv_row *row = rec;
	const struct xline *x = inc_refusal(row);
	const struct wstr *w;

	if (x != NULL) {
		v->kind = RV_TEXT;
		v->p = x->text.len > 4 ? x->text.p + 4 : "";
		v->len = x->text.len > 4 ? x->text.len - 4 : 0;
		return;
	}
	(void)rec_decisive_reply(row->r, &w);
	v->kind = w != NULL ? RV_TEXT : RV_NULL;
	v->p = w != NULL ? w->p : NULL;
	v->len = w != NULL ? w->len : 0;
}

static void
tx_text(const void *rec, struct rec_val *v, size_t off)
{
	const struct tx_record *t = rec_decisive_tx(((const struct csv_row *)rec)->r);
	const struct wstr *w = t != NULL ? (const struct wstr *)(const void *)
	    ((const char *)t + off) : NULL;

	v->kind = w != NULL && w->p != NULL ? RV_TEXT : RV_NULL;
	v->p = v->kind == RV_TEXT ? w->p : NULL;
	v->len = v->kind == RV_TEXT ? w->len : 0;
}

#define TX_TEXT_GETTER(fn, member)                                          \
static void fn(const void *rec, struct rec_val *v)                          \
{                                                                           \
	tx_text(rec, v, offsetof(struct tx_record, member));                \
}
TX_TEXT_GETTER(get_mail_from, mail_from)
TX_TEXT_GETTER(get_queue_id, queue_id)
TX_TEXT_GETTER(get_message_id, message_id)
TX_TEXT_GETTER(get_subject, subject)
#undef TX_TEXT_GETTER

/* The recipients, space-separated (cut at the row's buffer: a cell is for
 * reading, the JSON has them all). */
static void
fill_rcpts(struct csv_row *row)
{
	const struct tx_record *t = rec_decisive_tx(row->r);
	size_t o = 0;

	row->nrcpts = 0;
	for (size_t k = 0; t != NULL && t->rcpts != NULL && k < t->nrcpts; k++) {
		const struct wstr *a = &t->rcpts[k].addr;
		size_t n = a->p != NULL ? a->len : 0;

		if (o + n + 2 > sizeof(row->rcpts))
			break;
		if (o > 0)
			row->rcpts[o++] = ' ';
		if (n > 0)
			memcpy(row->rcpts + o, a->p, n);
		o += n;
		row->nrcpts++;
	}
	row->rcpts[o] = '\0';
}

static void
get_rcpts(const void *rec, struct rec_val *v)
{
	const struct csv_row *row = rec;

	v->kind = row->nrcpts > 0 ? RV_TEXT : RV_NULL;
	v->p = row->rcpts;
	v->len = strlen(row->rcpts);
}

static const struct rec_field row_fields[] = {
	{ .name = "reply_code", .type = RT_GET, .get = get_reply_code },
	{ .name = "reply_enhanced", .type = RT_GET, .get = get_reply_enh },
	{ .name = "reply_text", .type = RT_GET, .get = get_reply_text },
	{ .name = "mail_from", .type = RT_GET, .get = get_mail_from },
	{ .name = "rcpt_to", .type = RT_GET, .get = get_rcpts },
	{ .name = "queue_id", .type = RT_GET, .get = get_queue_id },
	{ .name = "message_id", .type = RT_GET, .get = get_message_id },
	{ .name = "subject", .type = RT_GET, .get = get_subject },
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
	{ OF_ROW, &row_fields[0] },
	{ OF_ROW, &row_fields[1] },
	{ OF_ROW, &row_fields[2] },
	{ OF_ROW, &row_fields[3] },
	{ OF_ROW, &row_fields[4] },
	{ OF_ROW, &row_fields[5] },
	{ OF_ROW, &row_fields[6] },
	{ OF_ROW, &row_fields[7] },
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
	struct csv_row row = { .r = r };
	struct rec_val v;
	size_t i, c;

	if (r->ninc > 0)
		fill_rcpts(&row);
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
