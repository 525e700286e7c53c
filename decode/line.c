/*
 * line.c - the line assembler: one per direction of a session.
 *
 * Bytes arrive in any split; a line is complete at its LF.  The assembler
 * scans only the bytes it is given (memchr for the LF, then for CR and NUL
 * inside the segment), so a long line arriving one byte at a time is never
 * rescanned.  It keeps at most `cap` bytes of a line: the rest is counted
 * (total, LN_CUT) and skipped to the line's end, never buffered.  It flags
 * what RFC 5321 section 2.3.8 forbids (a bare LF ending the line, a CR not
 * followed by LF) and NUL octets, and leaves their judgement to session.c.
 *
 * It does not know commands from replies, nor content from commands: the
 * caller decides which bytes are lines.
 */
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

/* A line buffer starts with the room inside it (LINE_SMALL): most SMTP
 * lines fit, and a session that never sends a long line allocates
 * nothing for its lines. */
int
line_init(struct linebuf *lb, size_t cap)
{
	memset(lb, 0, sizeof(*lb));
	lb->size = cap < LINE_SMALL ? cap : LINE_SMALL;
	lb->buf = lb->small;
	lb->cap = cap;
	lb->buf[0] = '\0';
	return 0;
}

/* Room for want bytes, doubling up to cap; false when memory ran out (the
 * line is then kept as far as the buffer goes, and cut). */
static bool
line_grow(struct linebuf *lb, size_t want)
{
	size_t nsize = lb->size;
	char *nb;

	while (nsize < want)
		nsize = nsize > lb->cap / 2 ? lb->cap : nsize * 2;
	if (lb->buf == lb->small) {
		if ((nb = malloc(nsize + 1)) == NULL)
			return false;
		memcpy(nb, lb->small, lb->size + 1);
	} else if ((nb = realloc(lb->buf, nsize + 1)) == NULL)
		return false;
	lb->buf = nb;
	lb->size = nsize;
	return true;
}

void
line_free(struct linebuf *lb)
{
	if (lb->buf != lb->small)
		free(lb->buf);
	lb->buf = NULL;
}

void
line_reset(struct linebuf *lb)
{
	lb->len = 0;
	lb->total = 0;
	lb->flags = 0;
	lb->cr = false;
	if (lb->buf != NULL)
		lb->buf[0] = '\0';
}

uint64_t
line_octets(const struct linebuf *lb)
{
	/* total counts the octets before the LF, the CR included. */
	return lb->total + 1;
}

/* Flag bare CRs in seg[0..n): a CR followed by anything but LF.  The CR
 * in the last position is pending until the next octet is known. */
static void
scan_cr_nul(struct linebuf *lb, const uint8_t *seg, size_t n)
{
	const uint8_t *q = seg, *end = seg + n;

	if (n == 0)
		return;
	if (lb->cr)			/* a CR from the previous call */
		lb->flags |= LN_BARE_CR;	/* seg[0] is not LF here */
	while ((q = memchr(q, '\r', (size_t)(end - q))) != NULL) {
		if (q + 1 < end)
			lb->flags |= LN_BARE_CR;
		q++;
	}
	if (memchr(seg, '\0', n) != NULL)
		lb->flags |= LN_NUL;
	lb->cr = seg[n - 1] == '\r';
}

static void
keep(struct linebuf *lb, const uint8_t *seg, size_t n)
{
	size_t room;

	if (lb->total < lb->cap && lb->len == lb->total) {
		room = lb->cap - (size_t)lb->total;
		if (room > n)
			room = n;
		if (lb->len + room > lb->size && !line_grow(lb, lb->len + room))
			room = lb->size - lb->len;
		memcpy(lb->buf + lb->len, seg, room);
		lb->len += room;
	}
	lb->total += n;
}

size_t
line_feed(struct linebuf *lb, const uint8_t *p, size_t n, bool *done)
{
	const uint8_t *lf;
	size_t seg;
	uint64_t content;

	*done = false;
	if (n == 0)
		return 0;
	lf = memchr(p, '\n', n);
	seg = lf != NULL ? (size_t)(lf - p) : n;
	if (seg > 0) {
		scan_cr_nul(lb, p, seg);
		keep(lb, p, seg);
	}
	if (lf == NULL)
		return n;

	/* The line is complete: strip a CR that precedes the LF. */
	if (lb->cr) {
		content = lb->total - 1;
	} else {
		content = lb->total;
		lb->flags |= LN_BARE_LF;
	}
	/* len holds what was kept: the whole line, or its first cap bytes
	 * (fewer if memory ran out); a CR kept before the LF goes. */
	if (content > lb->len)
		lb->flags |= LN_CUT;
	else
		lb->len = (size_t)content;
	lb->buf[lb->len] = '\0';
	*done = true;
	return seg + 1;
}
