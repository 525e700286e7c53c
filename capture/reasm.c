/*
 * reasm.c - one direction of a TCP stream, reassembled on 64-bit offsets.
 *
 * What it is for: turning segments (offset, bytes) that arrive in any
 * order, duplicated, overlapping or missing, into one ordered byte stream
 * delivered exactly once through struct reasm_out, with the holes that will
 * never fill reported as gaps.  What it deliberately does not do: TCP.  It
 * knows no flags, sequence numbers, windows or timers; flow.c maps those to
 * offsets and to reasm_ack()/reasm_skip()/reasm_flush() calls.  It never
 * prints, and it is not reentrant: a callback must not call back into the
 * same struct reasm.  Every struct reasm needs a pool (never NULL); callbacks
 * in struct reasm_out may be NULL.
 *
 * Data path.  A segment that starts at r->next (after trimming the part
 * already delivered) is handed to the data callback straight from the
 * caller's buffer: no copy and no allocation, which is the common case.  A
 * segment that starts beyond r->next is copied into blocks (one malloc each,
 * header and bytes together) kept in an RB tree keyed by offset.  Blocks
 * never overlap each other and always start beyond r->next; adjacent blocks
 * are not merged (merging would mean realloc and copying).
 *
 * Overlap policy: the first copy of a byte wins, as in most stacks and in
 * Zeek.  A segment overlapping buffered blocks stores only the bytes no
 * block has yet; an in-order segment that runs over buffered blocks has the
 * blocks' bytes delivered in its place.  Bytes before r->next are
 * retransmissions and are dropped after being compared with the history
 * ring (the last REASM_HISTORY bytes delivered, never bytes declared
 * missing: after a gap the history restarts).  Every overlapping byte that
 * differs from the first copy is counted once, in r->conflicts and
 * pool->conflicts; bytes older than the history cannot be compared and are
 * dropped uncounted.
 *
 * Memory: r->held and pool->held count exactly the out-of-order bytes in
 * blocks.  A segment is buffered only if its new bytes fit under both
 * max_ooo and pool->max_total, and its new blocks under a block limit
 * (max(REASM_MIN_BLOCKS, max_ooo / REASM_BLOCK_COST): block headers are not
 * in held, so this keeps them from costing more than max_ooo themselves).
 * When something would not fit, the cap forces a gap: the hole before our
 * first buffered block is declared missing and what becomes contiguous is
 * delivered, repeatedly, until the segment fits; once no block lies before
 * the segment, the hole up to the segment itself is declared missing and
 * the segment is delivered in order, unbuffered.  So a segment larger than
 * the cap is never buffered, memory never exceeds the caps, and data keeps
 * flowing.  Each forced gap counts one pool->cap_hits.  A failed malloc is
 * handled the same way (it is a cap too).
 *
 * Positions: data delivered from the caller's segment carries that call's
 * ts/pkt; data released from blocks carries the ts/pkt of the call that
 * made it contiguous (the segment that filled the hole, or the ack, skip or
 * flush that declared the gap).  pos.offset is always the offset of the
 * first byte delivered, or where the gap starts.
 */
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "reasm.h"

/*
 * libbsd's <sys/tree.h> marks the static tree functions __unused but its
 * <sys/cdefs.h> leaves that undefined (it clashes with old glibc headers,
 * all included above by now), so supply it for RB_*_STATIC.
 */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

/* Bytes a block costs beyond its data: RB links, offset, length, malloc. */
#define REASM_BLOCK_COST	64
/* Blocks a direction may always hold, however small max_ooo is. */
#define REASM_MIN_BLOCKS	64

struct reasm_block {
	RB_ENTRY(reasm_block) entry;
	uint64_t off;		/* stream offset of data[0] */
	size_t len;		/* > 0 */
	uint8_t data[];
};

static int
block_cmp(const struct reasm_block *a, const struct reasm_block *b)
{
	return a->off < b->off ? -1 : a->off > b->off;
}

RB_PROTOTYPE_STATIC(reasm_tree, reasm_block, entry, block_cmp)
RB_GENERATE_STATIC(reasm_tree, reasm_block, entry, block_cmp)

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */

static uint64_t
block_end(const struct reasm_block *b)
{
	return b->off + b->len;
}

static size_t
max_blocks(const struct reasm *r)
{
	size_t n = r->max_ooo / REASM_BLOCK_COST;

	return n > REASM_MIN_BLOCKS ? n : REASM_MIN_BLOCKS;
}

static struct cap_pos
pos_at(const struct cap_pos *pos, uint64_t offset)
{
	struct cap_pos at = { .ts_us = 0 };

	if (pos != NULL)
		at = *pos;
	at.offset = offset;
	return at;
}

static void
count_conflicts(struct reasm *r, const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t c = 0;

	if (memcmp(a, b, n) == 0)
		return;
	for (size_t i = 0; i < n; i++)
		c += a[i] != b[i];
	r->conflicts += c;
	r->pool->conflicts += c;
}

/* Remember bytes [r->next, r->next + len) in the history ring. */
static void
hist_put(struct reasm *r, const uint8_t *p, size_t len)
{
	uint64_t off = r->next;

	if (len > REASM_HISTORY) {
		off += len - REASM_HISTORY;
		p += len - REASM_HISTORY;
		len = REASM_HISTORY;
	}
	size_t at = (size_t)(off % REASM_HISTORY);
	size_t first = REASM_HISTORY - at;

	if (first > len)
		first = len;
	memcpy(r->hist + at, p, first);
	memcpy(r->hist, p + first, len - first);
}

/*
 * Bytes [off, off + len), all before r->next, arrived again: compare the
 * part still in the history with it.
 */
static void
hist_check(struct reasm *r, uint64_t off, const uint8_t *p, size_t len)
{
	uint64_t lo = r->tree.hist_from;
	uint64_t end = off + len;

	if (r->next - lo > REASM_HISTORY)
		lo = r->next - REASM_HISTORY;
	if (end <= lo)
		return;
	if (off < lo) {
		p += lo - off;
		off = lo;
	}
	for (uint64_t o = off; o < end; o++, p++) {
		uint8_t h = r->hist[o % REASM_HISTORY];

		if (h != *p) {
			r->conflicts++;
			r->pool->conflicts++;
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Delivery                                                                */

static void
emit_data(struct reasm *r, const uint8_t *p, size_t len,
    const struct cap_pos *pos, const struct reasm_out *out)
{
	struct cap_pos at = pos_at(pos, r->next);

	hist_put(r, p, len);
	r->next += len;
	if (out != NULL && out->data != NULL)
		out->data(out->arg, p, len, &at);
}

static void
emit_gap(struct reasm *r, uint64_t len, const struct cap_pos *pos,
    const struct reasm_out *out)
{
	struct cap_pos at = pos_at(pos, r->next);

	if (len == 0)
		return;		/* no hole: a block starts right here */
	r->next += len;
	r->gap_bytes += len;
	r->tree.hist_from = r->next;	/* what the ring holds is stale now */
	if (out != NULL && out->gap != NULL)
		out->gap(out->arg, len, &at);
}

static void
block_take(struct reasm *r, struct reasm_block *b)
{
	RB_REMOVE(reasm_tree, &r->tree, b);
	r->tree.nblocks--;
	r->held -= b->len;
	r->pool->held -= b->len;
}

/* Deliver block b, which starts at r->next, and free it. */
static void
block_deliver(struct reasm *r, struct reasm_block *b,
    const struct cap_pos *pos, const struct reasm_out *out)
{
	block_take(r, b);
	emit_data(r, b->data, b->len, pos, out);
	free(b);
}

/* Deliver the blocks that have become contiguous with r->next. */
static void
drain(struct reasm *r, const struct cap_pos *pos, const struct reasm_out *out)
{
	struct reasm_block *b;

	while ((b = RB_MIN(reasm_tree, &r->tree)) != NULL && b->off == r->next)
		block_deliver(r, b, pos, out);
}

/*
 * Give up on the hole before the first block: declare it a gap and deliver
 * what becomes contiguous.  Returns false if nothing is held.
 */
static bool
skip_hole(struct reasm *r, const struct cap_pos *pos,
    const struct reasm_out *out)
{
	struct reasm_block *b = RB_MIN(reasm_tree, &r->tree);

	if (b == NULL)
		return false;
	emit_gap(r, b->off - r->next, pos, out);
	drain(r, pos, out);
	return true;
}

/*
 * Segment [r->next, r->next + len): deliver it from the caller's buffer,
 * except where blocks already hold its bytes (first copy wins), then
 * whatever blocks follow contiguously.
 */
static void
deliver_inorder(struct reasm *r, const uint8_t *p, size_t len,
    const struct cap_pos *pos, const struct reasm_out *out)
{
	uint64_t off = r->next;
	uint64_t end = off + len;
	struct reasm_block *b;

	while (r->next < end) {
		b = RB_MIN(reasm_tree, &r->tree);
		if (b == NULL || b->off >= end) {
			emit_data(r, p + (r->next - off), (size_t)(end - r->next),
			    pos, out);
			break;
		}
		if (b->off > r->next)
			emit_data(r, p + (r->next - off), (size_t)(b->off - r->next),
			    pos, out);
		/* Now r->next == b->off: the block's copy came first. */
		uint64_t ov_end = block_end(b) < end ? block_end(b) : end;
		count_conflicts(r, b->data, p + (b->off - off),
		    (size_t)(ov_end - b->off));
		block_deliver(r, b, pos, out);
	}
	drain(r, pos, out);
}

/* ---------------------------------------------------------------------- */
/* Buffering out-of-order data                                             */

/* The first block that ends after off (it may start before off). */
static struct reasm_block *
first_after(struct reasm *r, uint64_t off)
{
	struct reasm_block key, *b, *prev;

	key.off = off;
	b = RB_NFIND(reasm_tree, &r->tree, &key);
	prev = b != NULL ? RB_PREV(reasm_tree, &r->tree, b) :
	    RB_MAX(reasm_tree, &r->tree);
	if (prev != NULL && block_end(prev) > off)
		return prev;
	return b;
}

/* New bytes (and new blocks) that buffering [off, off + len) would need. */
static void
measure(struct reasm *r, uint64_t off, size_t len, uint64_t *add,
    size_t *pieces)
{
	uint64_t cur = off, end = off + len;
	struct reasm_block *b;

	*add = 0;
	*pieces = 0;
	for (b = first_after(r, off); b != NULL && b->off < end;
	    b = RB_NEXT(reasm_tree, &r->tree, b)) {
		if (b->off > cur) {
			*add += b->off - cur;
			(*pieces)++;
		}
		if (block_end(b) > cur)
			cur = block_end(b);
	}
	if (cur < end) {
		*add += end - cur;
		(*pieces)++;
	}
}

static bool
fits(const struct reasm *r, uint64_t add, size_t pieces)
{
	const struct reasm_pool *pool = r->pool;

	if (r->held > r->max_ooo || add > r->max_ooo - r->held)
		return false;
	if (pool->held > pool->max_total || add > pool->max_total - pool->held)
		return false;
	if (r->tree.nblocks > max_blocks(r) ||
	    pieces > max_blocks(r) - r->tree.nblocks)
		return false;
	return true;
}

static bool
block_new(struct reasm *r, uint64_t off, const uint8_t *p, size_t len)
{
	struct reasm_block *b;

	if ((b = malloc(sizeof(*b) + len)) == NULL)
		return false;
	b->off = off;
	b->len = len;
	memcpy(b->data, p, len);
	RB_INSERT(reasm_tree, &r->tree, b);
	r->tree.nblocks++;
	r->held += len;
	r->pool->held += len;
	return true;
}

/*
 * Copy the bytes of [off, off + len) that no block holds yet into new
 * blocks.  False if an allocation failed (the blocks made so far stay; they
 * hold this segment's own bytes, so nothing is lost or double-counted).
 */
static bool
store(struct reasm *r, uint64_t off, const uint8_t *p, size_t len)
{
	uint64_t cur = off, end = off + len;
	struct reasm_block *b, *nb;

	for (b = first_after(r, off); b != NULL && b->off < end; b = nb) {
		nb = RB_NEXT(reasm_tree, &r->tree, b);
		if (b->off > cur &&
		    !block_new(r, cur, p + (cur - off), (size_t)(b->off - cur)))
			return false;
		if (block_end(b) > cur)
			cur = block_end(b);
	}
	if (cur < end &&
	    !block_new(r, cur, p + (cur - off), (size_t)(end - cur)))
		return false;
	return true;
}

/* Count the bytes of [off, off + len) that differ from the blocks' copy. */
static void
compare_blocks(struct reasm *r, uint64_t off, const uint8_t *p, size_t len)
{
	uint64_t end = off + len;
	struct reasm_block *b;

	for (b = first_after(r, off); b != NULL && b->off < end;
	    b = RB_NEXT(reasm_tree, &r->tree, b)) {
		uint64_t lo = b->off > off ? b->off : off;
		uint64_t hi = block_end(b) < end ? block_end(b) : end;

		count_conflicts(r, b->data + (lo - b->off), p + (lo - off),
		    (size_t)(hi - lo));
	}
}

/* ---------------------------------------------------------------------- */
/* Public API                                                              */

void
reasm_init(struct reasm *r, struct reasm_pool *pool, size_t max_ooo,
    uint64_t start)
{
	memset(r, 0, sizeof(*r));
	r->next = start;
	r->max_ooo = max_ooo;
	r->pool = pool;
	r->tree.rbh_root = NULL;
	r->tree.hist_from = start;
}

void
reasm_insert(struct reasm *r, uint64_t off, const uint8_t *p, size_t len,
    const struct cap_pos *pos, const struct reasm_out *out)
{
	bool force = false;

	if (p == NULL || len == 0)
		return;
	if (len > UINT64_MAX - off)	/* keep off + len representable */
		len = (size_t)(UINT64_MAX - off);

	for (;;) {
		if (off < r->next) {
			uint64_t old = r->next - off;

			if (old >= len) {
				hist_check(r, off, p, len);
				return;
			}
			hist_check(r, off, p, (size_t)old);
			off += old;
			p += old;
			len -= (size_t)old;
		}
		if (off == r->next) {
			deliver_inorder(r, p, len, pos, out);
			return;
		}
		if (!force) {
			uint64_t add;
			size_t pieces;

			measure(r, off, len, &add, &pieces);
			if (fits(r, add, pieces)) {
				if (store(r, off, p, len)) {
					compare_blocks(r, off, p, len);
					return;
				}
				force = true;	/* out of memory: no buffering */
			} else if (add > r->max_ooo || add > r->pool->max_total ||
			    pieces > max_blocks(r)) {
				/*
				 * It will not fit even once we hold nothing:
				 * stop measuring on every hole we give up.
				 */
				force = true;
			}
		}
		/*
		 * A cap forces a gap: the first hole if it lies before this
		 * segment, else the hole up to the segment, which then goes
		 * out in order.  Either way next grows, so this ends.
		 */
		r->pool->cap_hits++;
		struct reasm_block *b = RB_MIN(reasm_tree, &r->tree);
		if (b != NULL && b->off < off)
			skip_hole(r, pos, out);
		else
			emit_gap(r, off - r->next, pos, out);
	}
}

void
reasm_ack(struct reasm *r, uint64_t off, const struct cap_pos *pos,
    const struct reasm_out *out)
{
	while (r->next < off) {
		struct reasm_block *b = RB_MIN(reasm_tree, &r->tree);

		if (b != NULL && b->off < off)
			skip_hole(r, pos, out);
		else
			emit_gap(r, off - r->next, pos, out);
	}
	/* A block held right at the acknowledged offset is contiguous now:
	 * deliver it (and what follows it) at once, not at the next segment. */
	drain(r, pos, out);
}

void
reasm_skip(struct reasm *r, const struct cap_pos *pos,
    const struct reasm_out *out)
{
	(void)skip_hole(r, pos, out);
}

void
reasm_flush(struct reasm *r, const struct cap_pos *pos,
    const struct reasm_out *out)
{
	while (skip_hole(r, pos, out))
		continue;
}

void
reasm_free(struct reasm *r)
{
	struct reasm_block *b;

	while ((b = RB_MIN(reasm_tree, &r->tree)) != NULL) {
		block_take(r, b);
		free(b);
	}
}
