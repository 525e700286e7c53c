/*
 * cursor.h - bounds-checked reads over a span of packet bytes (capture/ only).
 *
 * This is the only way the capture layer reads a byte of a packet: no header
 * struct is ever cast onto the buffer and no raw index is taken (STYLE.md
 * rule 1, after tcpdump's GET_*() accessors).  A read that would run past
 * the end of the span does not longjmp and does not read: it latches the
 * cursor's error flag and returns 0, so a decoder can read a whole header
 * and check cur_ok() once.  Lengths are compared before anything is
 * subtracted, so nothing here can underflow.
 *
 * The cursor deliberately knows nothing of protocols, and it never copies:
 * cur_span() hands back a pointer into the caller's buffer, valid as long
 * as that buffer is.
 */
#ifndef SMTPSCOPE_CURSOR_H
#define SMTPSCOPE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cur {
	const uint8_t *p;	/* start of the span */
	size_t len;		/* bytes in the span */
	size_t off;		/* next byte to read; always <= len */
	bool err;		/* a read ran past the end (latched) */
};

static inline void
cur_init(struct cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p != NULL ? len : 0;
	c->off = 0;
	c->err = false;
}

static inline bool
cur_ok(const struct cur *c)
{
	return !c->err;
}

/* Bytes not yet read (0 once the cursor has failed). */
static inline size_t
cur_left(const struct cur *c)
{
	return c->err ? 0 : c->len - c->off;
}

static inline size_t
cur_offset(const struct cur *c)
{
	return c->off;
}

/* True if n more bytes can be read; otherwise latch the error. */
static inline bool
cur_need(struct cur *c, size_t n)
{
	if (c->err || c->len - c->off < n) {
		c->err = true;
		return false;
	}
	return true;
}

static inline uint8_t
cur_u8(struct cur *c)
{
	if (!cur_need(c, 1))
		return 0;
	return c->p[c->off++];
}

static inline uint16_t
cur_be16(struct cur *c)
{
	uint16_t v;

	if (!cur_need(c, 2))
		return 0;
	v = (uint16_t)((unsigned)c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return v;
}

static inline uint32_t
cur_be32(struct cur *c)
{
	uint32_t v;

	if (!cur_need(c, 4))
		return 0;
	v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
	    (uint32_t)c->p[c->off + 2] << 8 | (uint32_t)c->p[c->off + 3];
	c->off += 4;
	return v;
}

static inline uint32_t
cur_le32(struct cur *c)
{
	uint32_t v;

	if (!cur_need(c, 4))
		return 0;
	v = (uint32_t)c->p[c->off] | (uint32_t)c->p[c->off + 1] << 8 |
	    (uint32_t)c->p[c->off + 2] << 16 | (uint32_t)c->p[c->off + 3] << 24;
	c->off += 4;
	return v;
}

static inline void
cur_skip(struct cur *c, size_t n)
{
	if (cur_need(c, n))
		c->off += n;
}

/* A pointer to the next n bytes (consumed), or NULL with the error latched. */
static inline const uint8_t *
cur_span(struct cur *c, size_t n)
{
	const uint8_t *s;

	if (!cur_need(c, n))
		return NULL;
	s = c->p + c->off;
	c->off += n;
	return s;
}

/* Copy the next n bytes out (consumed); on failure dst is zeroed. */
static inline void
cur_copy(struct cur *c, void *dst, size_t n)
{
	const uint8_t *s = cur_span(c, n);
	uint8_t *d = dst;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = s != NULL ? s[i] : 0;
}

/* Pointer to the unread rest (may be one past the end when nothing is left). */
static inline const uint8_t *
cur_rest(const struct cur *c)
{
	return c->p != NULL ? c->p + c->off : NULL;
}

#endif
