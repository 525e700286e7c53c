/*
 * reasm.h - one direction of a TCP stream, reassembled (capture/ only).
 *
 * The reassembler works on 64-bit stream offsets and knows nothing of TCP
 * flags or sequence numbers: flow.c turns sequence numbers into offsets
 * (which makes wraparound a non-issue here) and ACKs, FIN, RST and timeouts
 * into reasm_ack() and reasm_flush() calls.
 *
 * It delivers every byte exactly once and in order through the callbacks in
 * struct reasm_out.  In-order data is delivered straight from the caller's
 * buffer (no copy); only data that must wait for a hole to fill is copied,
 * into blocks kept in a tree keyed by offset.  Overlap policy: the first
 * copy of a byte wins (as most stacks and Zeek do); a later copy that
 * differs is counted as a conflict.  The last REASM_HISTORY bytes delivered
 * are kept so retransmissions of delivered data can be compared too.
 *
 * Memory: each direction may hold at most max_ooo bytes out of order, and all
 * directions together at most the pool's cap.  When a cap would be exceeded,
 * the hole before the buffered data is declared a gap and the buffered data
 * is delivered, so memory stays bounded and data keeps flowing.
 */
#ifndef SMTPSCOPE_REASM_H
#define SMTPSCOPE_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

#define REASM_HISTORY 64	/* delivered bytes kept for overlap checks */

/* Shared accounting for every reassembler of a run. */
struct reasm_pool {
	size_t max_total;	/* cap on out-of-order bytes held, all flows */
	size_t held;		/* out-of-order bytes held now */
	uint64_t conflicts;	/* overlapping bytes that differed */
	uint64_t cap_hits;	/* times a cap forced a gap */
};

struct reasm_out {
	void *arg;
	void (*data)(void *arg, const uint8_t *, size_t, const struct cap_pos *);
	void (*gap)(void *arg, uint64_t len, const struct cap_pos *);
};

struct reasm_block;	/* private to reasm.c */

/*
 * Private to reasm.c.  The head of the tree of out-of-order blocks: a
 * <sys/tree.h> RB_HEAD (whose macros touch only rbh_root) plus the state
 * the public fields cannot express.  hist_from is needed because after a gap
 * the history ring holds stale bytes for the missing offsets, and nblocks
 * bounds the per-block overhead that held (bytes only) does not count.
 */
struct reasm_tree {
	struct reasm_block *rbh_root;
	size_t nblocks;		/* blocks in the tree */
	uint64_t hist_from;	/* hist[] is valid for offsets hist_from..next-1 */
};

struct reasm {
	uint64_t next;		/* offset of the next byte to deliver */
	size_t held;		/* out-of-order bytes held by this direction */
	size_t max_ooo;		/* cap on held */
	struct reasm_pool *pool;
	struct reasm_tree tree;	/* out-of-order blocks (private to reasm.c) */
	uint64_t conflicts;	/* this direction's overlap conflicts */
	uint64_t gap_bytes;	/* this direction's bytes declared missing */
	uint8_t hist[REASM_HISTORY];	/* last bytes delivered, ring */
};

void reasm_init(struct reasm *, struct reasm_pool *, size_t max_ooo, uint64_t start);
/*
 * A segment of len bytes at offset off.  Delivers whatever becomes
 * contiguous.  Bytes before r->next are retransmissions: compared with the
 * history where possible and dropped.
 */
void reasm_insert(struct reasm *, uint64_t off, const uint8_t *, size_t len,
    const struct cap_pos *, const struct reasm_out *);
/*
 * The peer acknowledged every byte before off: any hole below off will never
 * be filled (the capture missed it).  Declare it a gap and deliver what
 * follows it, repeatedly, up to off.
 */
void reasm_ack(struct reasm *, uint64_t off, const struct cap_pos *,
    const struct reasm_out *);
/*
 * Bounded wait: give up on the hole before the first buffered block (declare
 * it a gap) and deliver what becomes contiguous.  No-op if nothing is held.
 */
void reasm_skip(struct reasm *, const struct cap_pos *, const struct reasm_out *);
/* Out-of-order bytes held (0: nothing waits for a hole). */
static inline size_t reasm_pending(const struct reasm *r) { return r->held; }
/* End of this direction: declare every remaining hole a gap, deliver all. */
void reasm_flush(struct reasm *, const struct cap_pos *, const struct reasm_out *);
/* Release every block (without delivering). */
void reasm_free(struct reasm *);

#endif
