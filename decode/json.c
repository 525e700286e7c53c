/*
 * json.c - one JSON object per finished session (JSON Lines, export.h).
 *
 * The schema is documented in export.h and defined by the field tables
 * (fields.h): this file walks them row by row, in their order, straight to
 * the stream, so a record of any size costs no memory here.  Every wire
 * string goes through esc_json_fput*(), which yields valid JSON for any
 * bytes; numbers are printed from integers, times as epoch seconds with six
 * decimals from integer microseconds.
 *
 * Deliberately not here: the transcript (it would dwarf everything else;
 * incidents carry the lines that matter as evidence), pretty printing, and
 * any reading of JSON.
 */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "export.h"

/* Small writers; each leaves errors latched in the stream, checked once at
 * the end with ferror().  An object is written under one flockfile(), so
 * they use the unlocked stdio calls: a lock per call was the largest share
 * of the writer's time (escape.c's own writes take the recursive lock). */
#define J_PUTC(c, f)		((void)putc_unlocked((c), (f)))
#define J_PUTS(s, f)		((void)fputs_unlocked((s), (f)))
#define J_WRITE(p, n, f)	((void)fwrite_unlocked((p), 1, (n), (f)))

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
	J_WRITE(p, (size_t)(b + sizeof(b) - p), f);
}

/* Epoch seconds with exactly six decimals, as export_fmt_time(TS_EPOCH)
 * prints them, from the integer microseconds. */
static void
put_ts(FILE *f, uint64_t us)
{
	char d[6];
	uint64_t frac = us % 1000000;

	put_u64(f, us / 1000000);
	J_PUTC('.', f);
	for (int i = 5; i >= 0; i--, frac /= 10)
		d[i] = (char)('0' + frac % 10);
	J_WRITE(d, sizeof(d), f);
}

static void
j_key(FILE *f, bool *first, const char *key)
{
	if (!*first)
		J_PUTC(',', f);
	*first = false;
	J_PUTC('"', f);
	J_PUTS(key, f);
	J_PUTS("\":", f);
}

/*
 * One scalar value.  Names (RV_NAME) are our own printable ASCII without
 * '"' or '\\' (tests/unit/decode_fields.c checks every one), so they are
 * written as they are; wire text always goes through the escaper.
 */
static void
j_value(FILE *f, const struct rec_val *v)
{
	char b[EXPORT_ADDR_SIZE];

	switch (v->kind) {
	case RV_NULL:
		J_PUTS("null", f);
		break;
	case RV_UINT:
		put_u64(f, v->u);
		break;
	case RV_BOOL:
		J_PUTS(v->u ? "true" : "false", f);
		break;
	case RV_TEXT:
		(void)esc_json_fput(f, v->p, v->len);
		break;
	case RV_NAME:
		J_PUTC('"', f);
		J_WRITE(v->p, v->len, f);
		J_PUTC('"', f);
		break;
	case RV_TS:
		put_ts(f, v->u);
		break;
	case RV_ADDR:
		(void)esc_json_fput_str(f, export_fmt_addr(b, sizeof(b), v->family,
		    v->ip, -1));
		break;
	case RV_ENH:
		J_PUTC('"', f);
		put_u64(f, v->enh.cls);
		J_PUTC('.', f);
		put_u64(f, v->enh.subject);
		J_PUTC('.', f);
		put_u64(f, v->enh.detail);
		J_PUTC('"', f);
		break;
	}
}

static void j_field(FILE *, bool *, const struct rec_field *, const void *);

static void
j_object(FILE *f, const struct rec_table *t, const void *rec)
{
	bool first = true;

	J_PUTC('{', f);
	for (size_t i = 0; i < t->n; i++)
		j_field(f, &first, &t->fields[i], rec);
	J_PUTC('}', f);
}

static void
j_field(FILE *f, bool *first, const struct rec_field *fd, const void *rec)
{
	struct rec_val v;
	size_t i, n;
	bool fc;

	j_key(f, first, fd->name);
	switch (fd->type) {
	case RT_OBJECT:
		if (fd->count != NULL && fd->count(rec) == 0)
			J_PUTS("null", f);
		else
			j_object(f, fd->sub, (const char *)rec + fd->off);
		break;
	case RT_ARRAY:
		J_PUTC('[', f);
		n = fd->count(rec);
		for (i = 0; i < n; i++) {
			const void *el = fd->elem(rec, i);

			if (i > 0)
				J_PUTC(',', f);
			if (fd->sub != NULL) {
				j_object(f, fd->sub, el);
			} else {
				rec_get(fd->item, el, &v);
				j_value(f, &v);
			}
		}
		J_PUTC(']', f);
		break;
	case RT_COUNTS:
		J_PUTC('{', f);
		fc = true;
		for (i = 0; i < fd->arg; i++) {
			uint32_t c;

			memcpy(&c, (const char *)rec + fd->off + i * sizeof(c), sizeof(c));
			if (c == 0)
				continue;
			j_key(f, &fc, fd->key(i));
			put_u64(f, c);
		}
		J_PUTC('}', f);
		break;
	default:
		rec_get(fd, rec, &v);
		j_value(f, &v);
		break;
	}
}

void
export_json_field(FILE *f, bool *first, const struct rec_field *fd,
    const void *rec)
{
	flockfile(f);
	j_field(f, first, fd, rec);
	funlockfile(f);
}

int
export_json_incident(FILE *f, const struct incident *inc)
{
	flockfile(f);
	j_object(f, &rec_inc_table, inc);
	funlockfile(f);
	return ferror(f) ? -1 : 0;
}

int
export_json_session(FILE *f, const struct sess_record *r)
{
	flockfile(f);
	j_object(f, &rec_sess_table, r);
	J_PUTC('\n', f);
	funlockfile(f);
	return ferror(f) ? -1 : 0;
}
