/*
 * transcript.c - the lines of a session as the user reads them.
 *
 * A transcript keeps the first max_lines/2 lines and a ring of the last
 * ones, so that a session of any length costs a bounded amount of memory
 * and still shows how it started and how it ended; what falls out of the
 * middle is counted (anomaly transcript-cap).  Every line gets a seq, its
 * position in the whole session, whether or not it is still kept: the
 * session's facts refer to lines by seq, and the rules (incident.c) look
 * them up with tr_find() to copy the evidence.  That lookup is all the
 * rules need of the session, which is why it lives here and not in
 * session.c.
 *
 * Message content never comes here: the content tracker replaces it by
 * one note ("[message: ...]").
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

/* Lines each part of a transcript starts with; both grow to their caps.
 * The head has room at once for a whole short session (some 20 lines);
 * the ring is made only for a session longer than the head. */
#define TR_INIT_LINES	32
#define TR_RING_FIRST	8

int
tr_init(struct transcript *t, size_t max_lines)
{
	memset(t, 0, sizeof(*t));
	t->cap_head = max_lines / 2;
	t->cap_ring = max_lines - t->cap_head;
	if (t->cap_ring == 0)
		t->cap_ring = 1;
	t->alloc_head = t->cap_head < TR_INIT_LINES ? t->cap_head : TR_INIT_LINES;
	if ((t->head = calloc(t->alloc_head > 0 ? t->alloc_head : 1, sizeof(*t->head))) == NULL)
		return -1;
	return 0;
}

/* One more slot in an array of *alloc lines (at most cap), doubling; on
 * failure the array's cap becomes what it has. */
static void
tr_grow(struct tline **a, size_t *alloc, size_t *cap)
{
	size_t n = *alloc == 0 ? TR_RING_FIRST : *alloc * 2;
	struct tline *na;

	if (n > *cap)
		n = *cap;

	if ((na = reallocarray(*a, n, sizeof(**a))) == NULL) {
		*cap = *alloc;
		return;
	}
	*a = na;
	*alloc = n;
}

void
tr_free(struct transcript *t)
{
	for (size_t i = 0; i < t->nhead; i++)
		wstr_clear(&t->head[i].x.text);
	for (size_t i = 0; i < t->nring; i++)
		wstr_clear(&t->ring[(t->ring_start + i) % t->cap_ring].x.text);
	free(t->head);
	free(t->ring);
}

uint32_t
tr_add(struct smtp_session *s, enum xdir dir, uint8_t flags, const char *text,
    size_t len, const struct smtp_pos *pos)
{
	struct transcript *t = &s->tr;
	struct tline *l;
	uint32_t seq = t->next_seq++;

	if (t->nhead == t->alloc_head && t->nhead < t->cap_head)
		tr_grow(&t->head, &t->alloc_head, &t->cap_head);
	/* Until it is full the ring is filled from 0, so it can grow. */
	if (t->nhead >= t->cap_head && t->nring == t->alloc_ring &&
	    t->nring < t->cap_ring)
		tr_grow(&t->ring, &t->alloc_ring, &t->cap_ring);
	if (t->nhead < t->cap_head) {
		l = &t->head[t->nhead++];
	} else if (t->cap_ring == 0) {	/* no memory for a ring at all */
		t->dropped++;
		san_add(&s->rec.anomalies[SAN_TRANSCRIPT_CAP], 1);
		return seq;
	} else if (t->nring < t->cap_ring) {
		l = &t->ring[(t->ring_start + t->nring++) % t->cap_ring];
	} else {
		l = &t->ring[t->ring_start];
		wstr_clear(&l->x.text);
		t->ring_start = (t->ring_start + 1) % t->cap_ring;
		t->dropped++;
		san_add(&s->rec.anomalies[SAN_TRANSCRIPT_CAP], 1);
	}
	l->seq = seq;
	l->x.ts_us = pos->ts_us;
	l->x.pkt = pos->pkt;
	l->x.dir = dir;
	l->x.flags = flags;
	memset(&l->x.text, 0, sizeof(l->x.text));	/* a new slot is not initialised */
	wstr_set_in(&s->pool, &l->x.text, text, len, s->ctx->lim.max_line);
	return seq;
}

uint32_t
tr_note(struct smtp_session *s, const struct smtp_pos *pos, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NOSEQ;
	return tr_add(s, XDIR_NOTE, 0, buf, strlen(buf), pos);
}

const struct xline *
tr_find(const struct smtp_session *s, uint32_t seq)
{
	const struct transcript *t = &s->tr;
	uint32_t first;

	if (seq == NOSEQ || seq >= t->next_seq)
		return NULL;
	if (seq < t->nhead)
		return &t->head[seq].x;
	first = t->next_seq - (uint32_t)t->nring;
	if (seq < first)
		return NULL;		/* dropped from the middle */
	return &t->ring[(t->ring_start + (seq - first)) % t->cap_ring].x;
}

size_t
tr_copy(const struct transcript *t, struct xline *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nhead && n < cap; i++)
		out[n++] = t->head[i].x;
	for (size_t i = 0; i < t->nring && n < cap; i++)
		out[n++] = t->ring[(t->ring_start + i) % t->cap_ring].x;
	return n;
}
