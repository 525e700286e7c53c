/*
 * json.c - one JSON object per finished session (JSON Lines, export.h).
 *
 * The schema is documented in export.h and defined by the field tables
 * (fields.h): this file walks them row by row, in their order, into a
 * staging buffer of fixed size that goes to the stream when full, so a
 * record of any size costs no memory here.  Every wire
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

/*
 * The writer: an object is put together in a staging buffer on the stack
 * and goes to the stream in a few large writes, not as hundreds of small
 * stdio calls (keys, punctuation, digits), which were most of the cost of
 * a record on a replay of short sessions.  Errors are latched in the
 * stream and checked once at the end with ferror().
 */
struct jw {
	FILE *f;
	size_t len;
	char b[8192];
};

static void
jw_flush(struct jw *w)
{
	if (w->len > 0)
		(void)fwrite_unlocked(w->b, 1, w->len, w->f);
	w->len = 0;
}

/* Room for n more octets (n <= sizeof(w->b)). */
static char *
jw_room(struct jw *w, size_t n)
{
	if (n > sizeof(w->b) - w->len)
		jw_flush(w);
	return w->b + w->len;
}

static void
jw_write(struct jw *w, const void *p, size_t n)
{
	if (n > sizeof(w->b)) {
		jw_flush(w);
		(void)fwrite_unlocked(p, 1, n, w->f);
		return;
	}
	memcpy(jw_room(w, n), p, n);
	w->len += n;
}

static void
jw_putc(struct jw *w, char c)
{
	*jw_room(w, 1) = c;
	w->len++;
}

#define JW_PUTS(w, lit)	jw_write((w), (lit), sizeof(lit) - 1)

/* A quoted JSON string for any bytes (escape.c), escaped in place when it
 * fits in what is left of the buffer. */
static void
jw_text(struct jw *w, const void *p, size_t n)
{
	size_t room, need;

	/* Most wire text is printable ASCII with nothing to escape: copied
	 * as it is, without the escaper's setup per string. */
	if (n + 2 <= sizeof(w->b) && esc_json_plain(p, n) == n) {
		char *d = jw_room(w, n + 2);

		d[0] = '"';
		memcpy(d + 1, p, n);
		d[n + 1] = '"';
		w->len += n + 2;
		return;
	}
	for (int i = 0; i < 2; i++) {
		room = sizeof(w->b) - w->len;
		if (room > 3) {
			need = esc_json(w->b + w->len + 1, room - 2, p, n);
			if (need + 3 <= room) {
				w->b[w->len] = '"';
				w->b[w->len + 1 + need] = '"';
				w->len += need + 2;
				return;
			}
		}
		jw_flush(w);
	}
	(void)esc_json_fput(w->f, p, n);	/* larger than the whole buffer */
}

/* Decimal digits without printf: this runs for every field of every
 * session. */
static void
put_u64(struct jw *w, uint64_t v)
{
	char b[EXPORT_U64_SIZE], *p = export_u64(b + sizeof(b), v);

	jw_write(w, p, (size_t)(b + sizeof(b) - p));
}

/* Epoch seconds with exactly six decimals, as export_fmt_time(TS_EPOCH)
 * prints them, from the integer microseconds. */
static void
put_ts(struct jw *w, uint64_t us)
{
	char d[7];
	uint64_t frac = us % 1000000;

	put_u64(w, us / 1000000);
	d[0] = '.';
	for (int i = 6; i >= 1; i--, frac /= 10)
		d[i] = (char)('0' + frac % 10);
	jw_write(w, d, sizeof(d));
}

static void
j_key(struct jw *w, bool *first, const char *key)
{
	size_t n = strlen(key);
	char *p;

	p = jw_room(w, n + 4);		/* keys are our own and short */
	if (!*first)
		*p++ = ',';
	*first = false;
	*p++ = '"';
	memcpy(p, key, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	w->len = (size_t)(p - w->b);
}

/*
 * One scalar value.  Names (RV_NAME) are our own printable ASCII without
 * '"' or '\\' (tests/unit/decode_fields.c checks every one), so they are
 * written as they are; wire text always goes through the escaper.
 */
static void
j_value(struct jw *f, const struct rec_val *v)
{
	char b[EXPORT_ADDR_SIZE];

	switch (v->kind) {
	case RV_NULL:
		JW_PUTS(f, "null");
		break;
	case RV_UINT:
		put_u64(f, v->u);
		break;
	case RV_BOOL:
		if (v->u)
			JW_PUTS(f, "true");
		else
			JW_PUTS(f, "false");
		break;
	case RV_TEXT:
		jw_text(f, v->p, v->len);
		break;
	case RV_NAME:
		jw_putc(f, '"');
		jw_write(f, v->p, v->len);
		jw_putc(f, '"');
		break;
	case RV_TS:
		put_ts(f, v->u);
		break;
	case RV_ADDR:
		export_fmt_addr(b, sizeof(b), v->family, v->ip, -1);
		jw_text(f, b, strlen(b));
		break;
	case RV_ENH:
		jw_putc(f, '"');
		put_u64(f, v->enh.cls);
		jw_putc(f, '.');
		put_u64(f, v->enh.subject);
		jw_putc(f, '.');
		put_u64(f, v->enh.detail);
		jw_putc(f, '"');
		break;
	}
}

static void j_field(struct jw *, bool *, const struct rec_field *, const void *);

static void
j_object(struct jw *f, const struct rec_table *t, const void *rec)
{
	bool first = true;

	jw_putc(f, '{');
	for (size_t i = 0; i < t->n; i++)
		j_field(f, &first, &t->fields[i], rec);
	jw_putc(f, '}');
}

static void
j_field(struct jw *f, bool *first, const struct rec_field *fd, const void *rec)
{
	struct rec_val v;
	size_t i, n;
	bool fc;

	j_key(f, first, fd->name);
	switch (fd->type) {
	case RT_OBJECT:
		if (fd->count != NULL && fd->count(rec) == 0)
			JW_PUTS(f, "null");
		else
			j_object(f, fd->sub, (const char *)rec + fd->off);
		break;
	case RT_ARRAY:
		jw_putc(f, '[');
		n = fd->count(rec);
		for (i = 0; i < n; i++) {
			const void *el = fd->elem(rec, i);

			if (i > 0)
				jw_putc(f, ',');
			if (fd->sub != NULL) {
				j_object(f, fd->sub, el);
			} else {
				rec_get(fd->item, el, &v);
				j_value(f, &v);
			}
		}
		jw_putc(f, ']');
		break;
	case RT_COUNTS:
		jw_putc(f, '{');
		fc = true;
		for (i = 0; i < fd->arg; i++) {
			uint32_t c;

			memcpy(&c, (const char *)rec + fd->off + i * sizeof(c), sizeof(c));
			if (c == 0)
				continue;
			j_key(f, &fc, fd->key(i));
			put_u64(f, c);
		}
		jw_putc(f, '}');
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
	struct jw w;

	w.f = f;
	w.len = 0;
	flockfile(f);
	j_field(&w, first, fd, rec);
	jw_flush(&w);
	funlockfile(f);
}

int
export_json_incident(FILE *f, const struct incident *inc)
{
	struct jw w;

	w.f = f;
	w.len = 0;
	flockfile(f);
	j_object(&w, &rec_inc_table, inc);
	jw_flush(&w);
	funlockfile(f);
	return ferror(f) ? -1 : 0;
}

int
export_json_session(FILE *f, const struct sess_record *r)
{
	struct jw w;

	w.f = f;
	w.len = 0;
	flockfile(f);
	j_object(&w, &rec_sess_table, r);
	jw_putc(&w, '\n');
	jw_flush(&w);
	funlockfile(f);
	return ferror(f) ? -1 : 0;
}
