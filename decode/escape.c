/*
 * escape.c - text, JSON and CSV escaping of wire bytes (see escape.h).
 *
 * One small output abstraction (struct out) lets every escaper write either
 * into a caller's buffer, with strlcpy-style truncation, or to a FILE *
 * through a small stack buffer, so the same code produces both and the
 * tests of one cover the other.  Text escaping is libbsd's vis(3) with the
 * next byte passed along, so "\0" before a digit correctly becomes "\000".
 *
 * Deliberately not here: deciding what to show (exporters and the UI do),
 * any allocation, any locale: VIS_NOLOCALE makes vis(3) treat every byte
 * >= 0x80 as a byte, and the UTF-8 check for JSON is our own strict one.
 */
#define LIBBSD_NETBSD_VIS	/* we use no strnvis(); silence libbsd's warning */
#include <stdbool.h>
#include <string.h>
#include <vis.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "escape.h"

#define TEXT_VIS_FLAGS (VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL | VIS_NOLOCALE)

/* ------------------------------------------------------------------------
 * Output: a caller buffer or a stream
 * --------------------------------------------------------------------- */

struct out {
	FILE *f;		/* stream, or NULL for the buffer */
	char *buf;		/* buffer (f == NULL); may be NULL to only measure */
	size_t limit;		/* buffer bytes usable for text (size - 1) */
	size_t len;		/* bytes placed in buf */
	size_t need;		/* bytes the whole output takes */
	bool cut;		/* something did not fit in buf */
	size_t slen;		/* bytes staged in sbuf */
	char sbuf[256];		/* stream staging, flushed when full; last, so
				 * the init functions need not clear it */
};

static void
out_flush(struct out *o)
{
	if (o->f != NULL && o->slen > 0) {
		(void)fwrite(o->sbuf, 1, o->slen, o->f);
		o->slen = 0;
	}
}

/* Add one unit (an escape sequence or one UTF-8 character): whole or not at
 * all, so a cut never splits it. */
static void
out_put(struct out *o, const char *s, size_t n)
{
	o->need += n;
	if (o->f != NULL) {
		if (n > sizeof(o->sbuf) - o->slen)
			out_flush(o);
		if (n > sizeof(o->sbuf)) {
			(void)fwrite(s, 1, n, o->f);
			return;
		}
		memcpy(o->sbuf + o->slen, s, n);
		o->slen += n;
		return;
	}
	if (o->cut || o->buf == NULL)
		return;
	if (n > o->limit - o->len) {
		o->cut = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Like out_put(), for plain text that may be cut anywhere: what fits in a
 * buffer is kept (out_put() keeps an escape sequence whole or not at all). */
static void
out_put_plain(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->f != NULL || o->buf == NULL || o->cut) {
		out_put(o, s, n);
		return;
	}
	room = o->limit - o->len;
	if (n <= room) {
		out_put(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, room);
	o->len += room;
	o->need += n;
	o->cut = true;
}

static void
out_init_buf(struct out *o, char *dst, size_t size)
{
	memset(o, 0, offsetof(struct out, sbuf));
	o->buf = size > 0 ? dst : NULL;
	o->limit = size > 0 ? size - 1 : 0;
}

static void
out_init_file(struct out *o, FILE *f)
{
	memset(o, 0, offsetof(struct out, sbuf));
	o->f = f;
}

static int
out_end_file(struct out *o)
{
	out_flush(o);
	return ferror(o->f) ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Text: vis(3)
 * --------------------------------------------------------------------- */

/*
 * How many bytes from s[0] vis(3) would copy unchanged: printable ASCII
 * other than the backslash (and the space under ESC_SP).  Such runs are
 * copied in one piece: libbsd's vis() allocates on every call, so calling
 * it only for the bytes that need escaping keeps escaping cheap.
 */
static size_t
plain_span(const unsigned char *s, size_t len, bool sp)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\' || (sp && s[i] == ' '))
			break;
	return i;
}

int
esc_utf8_shown(unsigned long cp)
{
	if (cp < 0xa0)
		return cp >= 0x20 && cp < 0x7f;	/* C0, DEL, C1 */
	if (cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
		return 0;
	return 1;
}

/* A valid, shown UTF-8 sequence at s: its length, else 0. */
static size_t
utf8_shown(const unsigned char *s, size_t len)
{
	unsigned long cp;
	size_t n;

	if (s[0] < 0x80 || (n = esc_utf8_seq(s, len, &cp)) == 0)
		return 0;
	return esc_utf8_shown(cp) ? n : 0;
}

static void
text_run(struct out *o, const unsigned char *s, size_t len, int flags)
{
	int vflags = TEXT_VIS_FLAGS | ((flags & ESC_SP) ? VIS_SP : 0);
	char tmp[ESC_TEXT_MAXCHAR + 1];
	size_t i, n;

	for (i = 0; i < len; i++) {
		if ((n = plain_span(s + i, len - i, (flags & ESC_SP) != 0)) > 0) {
			out_put_plain(o, (const char *)s + i, n);
			i += n - 1;
			continue;
		}
		if ((flags & ESC_UTF8) && (n = utf8_shown(s + i, len - i)) > 0) {
			out_put(o, (const char *)s + i, n);
			i += n - 1;
			continue;
		}
		int next = i + 1 < len ? s[i + 1] : '\0';
		char *e = vis(tmp, s[i], vflags, next);

		out_put(o, tmp, (size_t)(e - tmp));
	}
}

size_t
esc_text(char *dst, size_t size, const void *src, size_t len, int flags)
{
	struct out o;
	size_t need;

	if (src == NULL)
		len = 0;
	/* Fast path: the worst case fits, so one strvisx(3) call does it. */
	if (size > 0 && len <= (size - 1) / ESC_TEXT_MAXCHAR && !(flags & ESC_UTF8)) {
		int vflags = TEXT_VIS_FLAGS | ((flags & ESC_SP) ? VIS_SP : 0);
		int n = len > 0 ? strvisx(dst, src, len, vflags) : 0;

		if (n >= 0) {
			dst[n] = '\0';
			return (size_t)n;
		}
	}
	/* Measure, then write what fits, leaving room for the "..." mark. */
	out_init_buf(&o, NULL, 0);
	text_run(&o, src, len, flags);
	need = o.need;
	if (size == 0)
		return need;
	if (need < size) {
		out_init_buf(&o, dst, size);
		text_run(&o, src, len, flags);
	} else {
		out_init_buf(&o, dst, size >= 4 ? size - 3 : size);
		text_run(&o, src, len, flags);
		if (size >= 4) {
			memcpy(dst + o.len, "...", 3);
			o.len += 3;
		}
	}
	dst[o.len] = '\0';
	return need;
}

size_t
esc_text_wstr(char *dst, size_t size, const struct wstr *w, int flags)
{
	if (w == NULL || w->p == NULL)
		return esc_text(dst, size, "", 0, flags);
	return esc_text(dst, size, w->p, w->len, flags);
}

int
esc_text_fput(FILE *f, const void *src, size_t len, int flags)
{
	struct out o;

	out_init_file(&o, f);
	if (src != NULL)
		text_run(&o, src, len, flags);
	return out_end_file(&o);
}

/* ------------------------------------------------------------------------
 * UTF-8 (RFC 3629 section 4, strictly)
 * --------------------------------------------------------------------- */

size_t
esc_utf8_seq(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned char c, lo = 0x80, hi = 0xbf;
	unsigned long v;
	size_t n, i;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* below: overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* above: surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;	/* below: overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above: > U+10FFFF */
	} else
		return 0;	/* continuation byte, C0, C1, F5..FF */
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char b = s[i];

		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return n;
}

/* ------------------------------------------------------------------------
 * JSON (RFC 8259 section 7)
 * --------------------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static void
json_u(struct out *o, unsigned long cp)
{
	char u[6] = { '\\', 'u', hexd[(cp >> 12) & 15], hexd[(cp >> 8) & 15],
		hexd[(cp >> 4) & 15], hexd[cp & 15] };

	out_put(o, u, sizeof(u));
}

size_t
esc_json_plain(const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i = 0;

#if defined(__SSE2__)
	/* Sixteen at a time: every JSON string of every record comes here
	 * first.  As signed bytes, octets >= 0x80 are negative, so one
	 * "less than 0x20" catches them with the controls. */
	const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i qu = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');

	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i bad = _mm_or_si128(
		    _mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_cmpeq_epi8(v, del)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, qu), _mm_cmpeq_epi8(v, bs)));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < len && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

static void
json_run(struct out *o, const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned long cp;
		size_t n, run = esc_json_plain(s + i, len - i);

		if (run > 0) {		/* a run of plain characters, in one */
			out_put_plain(o, (const char *)s + i, run);
			i += run;
			continue;
		}
		if (c < 0x80) {
			if (c == '"')
				out_put(o, "\\\"", 2);
			else if (c == '\\' && i + 1 < len && s[i + 1] == 'x')
				out_put(o, "\\\\x5c", 5);	/* keep \xHH unambiguous */
			else if (c == '\\')
				out_put(o, "\\\\", 2);
			else if (c < 0x20 || c == 0x7f)
				json_u(o, c);
			else
				out_put(o, (const char *)&s[i], 1);
			i++;
			continue;
		}
		n = esc_utf8_seq(s + i, len - i, &cp);
		if (n == 0) {
			char x[5] = { '\\', '\\', 'x', hexd[c >> 4], hexd[c & 15] };

			out_put(o, x, sizeof(x));
			i++;
			continue;
		}
		if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029)
			json_u(o, cp);	/* C1 controls; JS line terminators */
		else
			out_put(o, (const char *)&s[i], n);
		i += n;
	}
}

size_t
esc_json(char *dst, size_t size, const void *src, size_t len)
{
	struct out o;

	out_init_buf(&o, dst, size);
	if (src != NULL)
		json_run(&o, src, len);
	if (size > 0)
		dst[o.len] = '\0';
	return o.need;
}

int
esc_json_fput(FILE *f, const void *src, size_t len)
{
	struct out o;

	out_init_file(&o, f);
	out_put(&o, "\"", 1);
	if (src != NULL)
		json_run(&o, src, len);
	out_put(&o, "\"", 1);
	return out_end_file(&o);
}

int
esc_json_fput_wstr(FILE *f, const struct wstr *w)
{
	if (w == NULL || w->p == NULL) {
		(void)fputs("null", f);
		return ferror(f) ? -1 : 0;
	}
	return esc_json_fput(f, w->p, w->len);
}

int
esc_json_fput_str(FILE *f, const char *s)
{
	if (s == NULL) {
		(void)fputs("null", f);
		return ferror(f) ? -1 : 0;
	}
	return esc_json_fput(f, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * CSV (RFC 4180 section 2) with the formula guard
 * --------------------------------------------------------------------- */

int
esc_csv_fput(FILE *f, const void *src, size_t len)
{
	const unsigned char *s = src;
	bool quote = false, guard = false;
	struct out o;
	size_t i, n;

	if (s == NULL)
		len = 0;
	if (len > 0) {
		guard = s[0] == '=' || s[0] == '+' || s[0] == '-' ||
		    s[0] == '@' || s[0] == '\t' || s[0] == '\r';
		quote = s[0] == ' ' || s[len - 1] == ' ' ||
		    memchr(s, ',', len) != NULL || memchr(s, '"', len) != NULL;
	}
	out_init_file(&o, f);
	if (quote)
		out_put(&o, "\"", 1);
	if (guard)
		out_put(&o, "'", 1);
	for (i = 0; i < len; i++) {
		char tmp[ESC_TEXT_MAXCHAR + 1];
		char *e;

		if (s[i] == '"') {
			out_put(&o, "\"\"", 2);
			continue;
		}
		if (s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '\\') {
			out_put(&o, (const char *)s + i, 1);
			continue;
		}
		if ((n = utf8_shown(s + i, len - i)) > 0) {
			out_put(&o, (const char *)s + i, n);
			i += n - 1;
			continue;
		}
		e = vis(tmp, s[i], TEXT_VIS_FLAGS, i + 1 < len ? s[i + 1] : '\0');
		out_put(&o, tmp, (size_t)(e - tmp));
	}
	if (quote)
		out_put(&o, "\"", 1);
	return out_end_file(&o);
}

int
esc_csv_fput_wstr(FILE *f, const struct wstr *w)
{
	if (w == NULL || w->p == NULL)
		return esc_csv_fput(f, "", 0);
	return esc_csv_fput(f, w->p, w->len);
}

int
esc_csv_fput_str(FILE *f, const char *s)
{
	return esc_csv_fput(f, s, s != NULL ? strlen(s) : 0);
}
