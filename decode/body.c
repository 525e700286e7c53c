/*
 * body.c - message content trackers for DATA and BDAT.
 *
 * DATA content ends at CRLF "." CRLF (RFC 5321 section 4.1.1.4); the CRLF
 * that ended the DATA command counts as the first CRLF, so "." CRLF right
 * away is an empty message.  The tracker is a byte state machine that
 * survives any split, with a fast path that skips eight ordinary octets at
 * a time.  It counts what the rules need and keeps nothing of the body:
 * octets, octets >= 0x80 (and the first one's offset), NUL, bare LF and
 * bare CR, lines over 1000 octets (RFC 5321 section 4.5.3.1.6), and the
 * end-of-data look-alikes used for SMTP smuggling (CVE-2023-51764/5/6):
 * LF "." LF, LF "." CR LF, CRLF "." LF and CR "." CR.  Those are counted,
 * never taken as the end: a server that honours them is the bug.
 *
 * BDAT chunks (RFC 3030) are delimited by their counted size, which the
 * session enforces; here they are only counted and sniffed.
 *
 * While the top-level header section lasts, logical header lines (folded
 * lines joined, RFC 5322 section 2.2.3) are collected in a capped buffer
 * so that Content-Type (type/subtype, charset=, report-type=) and
 * Content-Transfer-Encoding can be read, names compared case-insensitively,
 * and the first Message-ID, Subject, From and To kept (unfolded, capped,
 * as sent: for grepping a mail log, never decoded further).  MIME parts
 * below the top level are not parsed, and nothing of the body is kept.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dec_int.h"

enum {
	B_BOL,		/* at a line start, after CRLF */
	B_TEXT,		/* inside a line */
	B_CR,		/* after a CR inside a line */
	B_DOT,		/* "." at a line start */
	B_DOTCR,	/* "." CR at a line start */
	B_LF,		/* after a bare LF */
	B_XDOT,		/* "." after a bare LF or bare CR */
	B_XDOTCR	/* and then a CR */
};

void
body_start(struct body *b, bool dot_rules)
{
	memset(b, 0, sizeof(*b));
	b->st = B_BOL;
	b->dot_rules = dot_rules;
	b->in_headers = true;
	b->hdr_bol = true;
}

/* ---------------------------------------------------------------------
 * Header sniffing
 * ------------------------------------------------------------------ */
static void
copy_token(char *dst, size_t dstlen, const char *p, size_t len)
{
	size_t n = len < dstlen - 1 ? len : dstlen - 1;

	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* Value of a parameter "name=value" or name="value" in a Content-Type. */
static void
ct_param(const char *p, size_t len, const char *name, char *dst, size_t dstlen)
{
	size_t i = 0, nl = strlen(name);

	while (i < len) {
		size_t s, e;

		while (i < len && p[i] != ';')
			i++;
		if (i >= len)
			return;
		i++;
		while (i < len && (a_wsp((uint8_t)p[i]) || p[i] == '\r' || p[i] == '\n'))
			i++;
		if (i + nl >= len || !a_eq(p + i, nl, name))
			continue;
		s = i + nl;
		while (s < len && a_wsp((uint8_t)p[s]))
			s++;
		if (s >= len || p[s] != '=')
			continue;
		s++;
		while (s < len && a_wsp((uint8_t)p[s]))
			s++;
		if (s < len && p[s] == '"') {
			e = ++s;
			while (e < len && p[e] != '"')
				e++;
		} else {
			e = s;
			while (e < len && p[e] != ';' && !a_wsp((uint8_t)p[e]))
				e++;
		}
		copy_token(dst, dstlen, p + s, e - s);
		return;
	}
}

/* A header value unfolded (CR and LF dropped, RFC 5322 section 2.2.3),
 * trailing space trimmed; only the first occurrence of a header is kept. */
static void
copy_unfolded(char *dst, size_t dstlen, const char *p, size_t len)
{
	size_t n = 0;

	if (dst[0] != '\0')
		return;
	for (size_t i = 0; i < len && n + 1 < dstlen; i++)
		if (p[i] != '\r' && p[i] != '\n')
			dst[n++] = p[i];
	while (n > 0 && a_wsp((uint8_t)dst[n - 1]))
		n--;
	dst[n] = '\0';
}

static void
hdr_process(struct body *b)
{
	const char *p = b->hb;
	size_t len = b->hlen, i = 0, colon, s, e;

	while (i < len && p[i] != ':')
		i++;
	if (i >= len)
		return;
	colon = i;
	while (colon > 0 && a_wsp((uint8_t)p[colon - 1]))
		colon--;
	s = i + 1;
	while (s < len && a_wsp((uint8_t)p[s]))
		s++;
	if (a_eq(p, colon, "Content-Transfer-Encoding")) {
		e = s;
		while (e < len && !a_wsp((uint8_t)p[e]) && p[e] != ';' && p[e] != '(')
			e++;
		copy_token(b->cte, sizeof(b->cte), p + s, e - s);
	} else if (a_eq(p, colon, "Content-Type")) {
		e = s;
		while (e < len && !a_wsp((uint8_t)p[e]) && p[e] != ';' && p[e] != '(')
			e++;
		copy_token(b->ctype, sizeof(b->ctype), p + s, e - s);
		ct_param(p + e, len - e, "charset", b->charset, sizeof(b->charset));
		ct_param(p + e, len - e, "report-type", b->report_type,
		    sizeof(b->report_type));
	} else if (a_eq(p, colon, "Message-ID")) {
		copy_unfolded(b->msgid, sizeof(b->msgid), p + s, len - s);
	} else if (a_eq(p, colon, "Subject")) {
		copy_unfolded(b->subject, sizeof(b->subject), p + s, len - s);
	} else if (a_eq(p, colon, "From")) {
		copy_unfolded(b->from, sizeof(b->from), p + s, len - s);
	} else if (a_eq(p, colon, "To")) {
		copy_unfolded(b->to, sizeof(b->to), p + s, len - s);
	}
}

/* First octet of a header line: a space or tab continues the previous
 * logical line, anything else starts a new one. */
static void
hdr_line_start(struct body *b, uint8_t c)
{
	b->hdr_bol = false;
	if (a_wsp(c))
		return;
	if (b->hlen > 0)
		hdr_process(b);
	b->hlen = 0;
}

static void
hdr_byte(struct body *b, uint8_t c)
{
	if (b->hdr_bol)
		hdr_line_start(b, c);
	if (b->hlen < BODY_HDR_CAP)
		b->hb[b->hlen++] = (char)c;
}

/* End of a physical line while in the header section. */
static void
hdr_eol(struct body *b)
{
	if (b->hdr_bol || b->off > BODY_HDR_MAX) {
		/* An empty line: the header section is over. */
		if (b->hlen > 0)
			hdr_process(b);
		b->hlen = 0;
		b->in_headers = false;
		return;
	}
	b->hdr_bol = true;
}

void
body_finish(struct body *b)
{
	if (b->in_headers && b->hlen > 0)
		hdr_process(b);
	b->hlen = 0;
	b->in_headers = false;
}

/* ---------------------------------------------------------------------
 * Octet accounting shared by DATA and BDAT
 * ------------------------------------------------------------------ */
static inline void
eol(struct body *b)
{
	if (b->line_len > 998)
		b->long_lines++;
	b->line_len = 0;
	if (b->in_headers)
		hdr_eol(b);
}

static inline void
count_octet(struct body *b, uint8_t c)
{
	if (c >= 0x80) {
		/* off already counts c: its offset is one less. */
		if (b->eightbit++ == 0)
			b->first8 = b->off - 1;
	} else if (c == 0) {
		b->nul = true;
	}
	if (b->in_headers)
		hdr_byte(b, c);
	b->line_len++;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL
#define HASZERO(v) (((v) - ONES) & ~(v) & HIGHS)

/*
 * Octets of ordinary text that can be skipped at once: no CR, LF, NUL and
 * no octet >= 0x80 (so neither counts nor the offset change).  Returns the
 * offset of the first octet that is not ordinary (or n): the hot loop of
 * the whole program on mail traffic, 16 octets a step with SSE2, else 8
 * with the word tricks below.  In either, the lowest flagged octet is
 * exact (a borrow only ever flags octets above a true match).
 */
static size_t
skip_plain(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t w, m;

#if defined(__SSE2__)
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i zero = _mm_setzero_si128();

	while (i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i t = _mm_or_si128(_mm_or_si128(v, _mm_cmpeq_epi8(v, zero)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
		unsigned bits = (unsigned)_mm_movemask_epi8(t);

		if (bits != 0)
			return i + (size_t)__builtin_ctz(bits);
		i += 16;
	}
#endif
	while (i + 8 <= n) {
		memcpy(&w, p + i, 8);
		m = (w & HIGHS) | HASZERO(w) | HASZERO(w ^ (ONES * '\r')) |
		    HASZERO(w ^ (ONES * '\n'));
		if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)(__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		i += 8;
	}
	return i;
}

/*
 * The line fast path: 64 octets at a time through the text of a message
 * (past its header section, in state B_TEXT).  A bitmask marks the octets
 * that are not ordinary text (as skip_plain); walking its set bits, an
 * 8-bit octet or a NUL is counted where it stands, and a CRLF followed by
 * an ordinary octet other than "." ends a line without leaving the loop.
 * Anything else (a bare CR or LF, a dot at a line start, a CRLF at the
 * block's end) stops the walk there for the state machine in body_data().
 * Worth it: on mail traffic this is where the octets are, and the state
 * machine took three rounds and a scan restart for every line end, every
 * ~76 octets.  Returns the octets consumed; line_len and off are kept.
 * A flagged octet need not be special (the SSE2 version flags the rarer
 * controls too, the word version may flag one above a true match, from a
 * borrow): each flagged octet is looked at, so that is harmless.
 */
static inline uint64_t
special64(const uint8_t *p)
{
	uint64_t m = 0;
#if defined(__SSE2__)
	/* CR, LF and NUL are all <= 0x0d: one unsigned comparison flags them
	 * (with the rarer controls 0x01-0x0c, looked at and passed over),
	 * and the sign bit flags 8-bit octets. */
	const __m128i lim = _mm_set1_epi8(0x0d);
	__m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	__m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));

	v0 = _mm_or_si128(v0, _mm_cmpeq_epi8(_mm_min_epu8(v0, lim), v0));
	v1 = _mm_or_si128(v1, _mm_cmpeq_epi8(_mm_min_epu8(v1, lim), v1));
	v2 = _mm_or_si128(v2, _mm_cmpeq_epi8(_mm_min_epu8(v2, lim), v2));
	v3 = _mm_or_si128(v3, _mm_cmpeq_epi8(_mm_min_epu8(v3, lim), v3));
	m = (uint64_t)(unsigned)_mm_movemask_epi8(v0) |
	    (uint64_t)(unsigned)_mm_movemask_epi8(v1) << 16 |
	    (uint64_t)(unsigned)_mm_movemask_epi8(v2) << 32 |
	    (uint64_t)(unsigned)_mm_movemask_epi8(v3) << 48;
#else
	for (int k = 0; k < 8; k++) {
		uint64_t w, f;

		memcpy(&w, p + 8 * k, 8);
		f = (w & HIGHS) | HASZERO(w) | HASZERO(w ^ (ONES * '\r')) |
		    HASZERO(w ^ (ONES * '\n'));
		for (int j = 0; j < 8; j++)	/* octet order, either endianness */
			if (((const uint8_t *)&f)[j] != 0)
				m |= 1ULL << (8 * k + j);
	}
#endif
	return m;
}

static size_t
text_lines(struct body *b, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (n - i >= 64) {
		uint64_t m = special64(p + i);
		unsigned pos = 0;	/* first octet not yet in line_len */

		while (m != 0) {
			unsigned j = (unsigned)__builtin_ctzll(m);
			uint8_t c = p[i + j];

			if (c == '\r' && j < 62 && p[i + j + 1] == '\n' &&
			    (m >> (j + 2) & 1) == 0 && p[i + j + 2] != '.') {
				b->line_len += j - pos;
				eol(b);
				pos = j + 2;
				m &= ~(3ULL << j);
				continue;
			}
			if (c == '\r' || c == '\n') {
				b->line_len += j - pos;
				b->off += j;
				return i + j;
			}
			if (c >= 0x80) {
				if (b->eightbit++ == 0)
					b->first8 = b->off + j;
			} else if (c == 0) {
				b->nul = true;
			}
			m &= m - 1;
		}
		b->line_len += 64 - pos;
		b->off += 64;
		i += 64;
	}
	return i;
}

/* ---------------------------------------------------------------------
 * DATA
 * ------------------------------------------------------------------ */
size_t
body_data(struct body *b, const uint8_t *p, size_t n, bool *end)
{
	size_t i = 0;

	*end = false;
	while (i < n) {
		uint8_t c;

		if (b->st == B_TEXT && !b->in_headers) {
			size_t k;

			i += text_lines(b, p + i, n - i);
			k = skip_plain(p + i, n - i);
			i += k;
			b->off += k;
			b->line_len += k;
			if (i >= n)
				break;
		} else if (b->st == B_TEXT && !b->hdr_bol) {
			/* Inside a header line: its ordinary octets go to the
			 * header buffer in one copy, not one hdr_byte() each
			 * (a short message is mostly header). */
			size_t k = skip_plain(p + i, n - i);
			size_t room = BODY_HDR_CAP - b->hlen;

			memcpy(b->hb + b->hlen, p + i, k < room ? k : room);
			b->hlen += k < room ? k : room;
			i += k;
			b->off += k;
			b->line_len += k;
			if (i >= n)
				break;
		}
		c = p[i++];
		b->off++;
again:
		switch (b->st) {
		case B_BOL:
			if (c == '.') {
				b->st = B_DOT;
				b->line_len++;
			} else if (c == '\r') {
				b->st = B_CR;
			} else if (c == '\n') {
				b->bare++;
				eol(b);
				b->st = B_LF;
			} else {
				count_octet(b, c);
				b->st = B_TEXT;
			}
			break;
		case B_TEXT:
			if (c == '\r') {
				b->st = B_CR;
			} else if (c == '\n') {
				b->bare++;
				eol(b);
				b->st = B_LF;
			} else {
				count_octet(b, c);
			}
			break;
		case B_CR:
			if (c == '\n') {
				eol(b);
				b->st = B_BOL;
				break;
			}
			/* The CR was bare; it counts as an octet of the line. */
			b->bare++;
			if (b->in_headers)
				hdr_byte(b, '\r');
			b->line_len++;
			if (c == '.') {
				b->st = B_XDOT;
				b->xkind = 1;
				b->line_len++;
			} else if (c != '\r') {
				b->st = B_TEXT;
				goto again;
			}
			break;
		case B_DOT:
			if (c == '\r') {
				b->st = B_DOTCR;
			} else if (c == '\n') {
				/* CRLF "." LF */
				b->smuggle++;
				b->bare++;
				eol(b);
				b->st = B_LF;
			} else {
				b->st = B_TEXT;
				goto again;
			}
			break;
		case B_DOTCR:
			if (c == '\n') {
				*end = true;
				return i;
			}
			b->bare++;
			b->line_len++;
			b->st = B_TEXT;
			goto again;
		case B_LF:
			if (c == '.') {
				b->st = B_XDOT;
				b->xkind = 0;
				b->line_len++;
			} else {
				b->st = B_TEXT;
				goto again;
			}
			break;
		case B_XDOT:
			if (c == '\n') {
				/* LF "." LF, or CR "." LF */
				b->smuggle++;
				b->bare++;
				eol(b);
				b->st = B_LF;
			} else if (c == '\r') {
				b->st = B_XDOTCR;
			} else {
				b->st = B_TEXT;
				goto again;
			}
			break;
		case B_XDOTCR:
			if (c == '\n') {
				/* LF "." CRLF, or CR "." CRLF */
				b->smuggle++;
				eol(b);
				b->st = B_BOL;
				break;
			}
			if (b->xkind == 1)
				b->smuggle++;	/* CR "." CR */
			b->bare++;
			b->line_len++;
			b->st = B_TEXT;
			goto again;
		}
	}
	return n;
}

/* ---------------------------------------------------------------------
 * BDAT (and content of unknown extent): count and sniff only
 * ------------------------------------------------------------------ */
void
body_bytes(struct body *b, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c;

		if (!b->in_headers) {
			size_t k = skip_plain(p + i, n - i);

			i += k;
			b->off += k;
			b->line_len += k;
			if (k > 0)
				b->st = B_TEXT;
			if (i >= n)
				break;
		}
		c = p[i++];
		b->off++;
		if (c == '\n') {
			if (b->line_len > 0 && b->st == B_CR)
				b->line_len--;
			b->st = B_BOL;
			eol(b);
		} else if (c == '\r') {
			b->st = B_CR;
			b->line_len++;
		} else {
			if (b->st == B_CR && b->in_headers)
				hdr_byte(b, '\r');
			b->st = B_TEXT;
			count_octet(b, c);
		}
	}
}
