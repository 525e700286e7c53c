/*
 * capture_reasm.c - unit tests for the TCP stream reassembler (capture/reasm.c).
 *
 * Every test records what the reassembler hands out (the data bytes in
 * order, each gap's offset and length, the positions) and asserts the exact
 * result and the counters.  The callbacks themselves check that data and
 * gaps arrive contiguously from the start offset, and the insert helper
 * checks the memory invariants (held within both caps, pool->held the sum
 * of the directions) after every call.  Orders are exercised exhaustively
 * for small segment sets (every permutation), byte by byte, and by seeded
 * random runs compared against the source buffer or a first-copy-wins
 * model.  Not covered here: TCP itself (flow.c's tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/reasm.h"

#define REC_MAX		4096	/* offsets a recorder can map (from base) */
#define REC_GAPS	64

enum { M_NONE, M_DATA, M_GAP };

struct rec {
	uint64_t base;			/* start offset of the stream */
	uint64_t expect;		/* offset the next event must carry */
	uint8_t dat[REC_MAX];		/* data bytes, concatenated */
	size_t ndat;
	uint8_t img[REC_MAX];		/* data bytes by offset - base */
	uint8_t mark[REC_MAX];		/* M_* by offset - base */
	const uint8_t *seen;		/* optional: bytes that must not be gaps */
	uint64_t gap_off[REC_GAPS], gap_len[REC_GAPS];
	size_t ngaps;
	size_t ndata;			/* data callbacks */
	const uint8_t *last_ptr;	/* buffer of the last data callback */
	struct cap_pos last_pos;	/* pos of the last event */
};

struct t {
	struct reasm_pool pool;
	struct reasm r[2];
	struct rec rec[2];
	struct reasm_out out[2];
};

/* ---------------------------------------------------------------------- */
/* Recorder                                                                */

static void
on_data(void *arg, const uint8_t *p, size_t len, const struct cap_pos *pos)
{
	struct rec *rc = arg;

	assert_true(len > 0);
	assert_int_equal(pos->offset, rc->expect);
	assert_true(rc->ndat + len <= REC_MAX);
	memcpy(rc->dat + rc->ndat, p, len);
	rc->ndat += len;
	for (size_t i = 0; i < len; i++) {
		uint64_t o = pos->offset + i - rc->base;

		assert_true(o < REC_MAX);
		assert_int_equal(rc->mark[o], M_NONE);
		rc->mark[o] = M_DATA;
		rc->img[o] = p[i];
	}
	rc->expect += len;
	rc->ndata++;
	rc->last_ptr = p;
	rc->last_pos = *pos;
}

static void
on_gap(void *arg, uint64_t len, const struct cap_pos *pos)
{
	struct rec *rc = arg;

	assert_true(len > 0);
	assert_int_equal(pos->offset, rc->expect);
	for (uint64_t i = 0; i < len; i++) {
		uint64_t o = pos->offset + i - rc->base;

		if (o >= REC_MAX)
			break;
		assert_int_equal(rc->mark[o], M_NONE);
		rc->mark[o] = M_GAP;
		/* A byte we had received must never be declared missing. */
		if (rc->seen != NULL)
			assert_int_equal(rc->seen[o], 0);
	}
	if (rc->ngaps < REC_GAPS) {
		rc->gap_off[rc->ngaps] = pos->offset;
		rc->gap_len[rc->ngaps] = len;
	}
	rc->ngaps++;
	rc->expect += len;
	rc->last_pos = *pos;
}

static struct t *
t_new(size_t max_ooo, size_t max_total, uint64_t start)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->pool.max_total = max_total;
	for (int d = 0; d < 2; d++) {
		reasm_init(&t->r[d], &t->pool, max_ooo, start);
		t->rec[d].base = start;
		t->rec[d].expect = start;
		t->out[d].arg = &t->rec[d];
		t->out[d].data = on_data;
		t->out[d].gap = on_gap;
	}
	return t;
}

static void
t_check(const struct t *t)
{
	for (int d = 0; d < 2; d++) {
		assert_true(t->r[d].held <= t->r[d].max_ooo);
		assert_int_equal(t->r[d].held, reasm_pending(&t->r[d]));
		assert_int_equal(t->rec[d].expect, t->r[d].next);
	}
	assert_int_equal(t->pool.held, t->r[0].held + t->r[1].held);
	assert_true(t->pool.held <= t->pool.max_total);
}

static void
t_free(struct t *t)
{
	reasm_free(&t->r[0]);
	reasm_free(&t->r[1]);
	assert_int_equal(t->pool.held, 0);
	free(t);
}

static struct cap_pos
mkpos(uint64_t pkt)
{
	struct cap_pos pos = { .ts_us = pkt * 1000, .pkt = pkt, .offset = 0xdeadbeef };

	return pos;
}

static void
put_dir(struct t *t, int d, uint64_t off, const void *p, size_t len,
    uint64_t pkt)
{
	struct cap_pos pos = mkpos(pkt);

	reasm_insert(&t->r[d], off, p, len, &pos, &t->out[d]);
	t_check(t);
}

static void
put(struct t *t, uint64_t off, const void *p, size_t len, uint64_t pkt)
{
	put_dir(t, 0, off, p, len, pkt);
}

static void
ack(struct t *t, uint64_t off, uint64_t pkt)
{
	struct cap_pos pos = mkpos(pkt);

	reasm_ack(&t->r[0], off, &pos, &t->out[0]);
	t_check(t);
}

static void
do_skip(struct t *t, uint64_t pkt)
{
	struct cap_pos pos = mkpos(pkt);

	reasm_skip(&t->r[0], &pos, &t->out[0]);
	t_check(t);
}

static void
do_flush(struct t *t, uint64_t pkt)
{
	struct cap_pos pos = mkpos(pkt);

	reasm_flush(&t->r[0], &pos, &t->out[0]);
	t_check(t);
}

static void
assert_data(const struct t *t, const void *want, size_t len)
{
	assert_int_equal(t->rec[0].ndat, len);
	assert_memory_equal(t->rec[0].dat, want, len);
}

/* Gaps as pairs (offset, length), n pairs. */
static void
assert_gaps(const struct t *t, size_t n, ...)
{
	va_list ap;

	assert_int_equal(t->rec[0].ngaps, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t off = va_arg(ap, uint64_t);
		uint64_t len = va_arg(ap, uint64_t);

		assert_int_equal(t->rec[0].gap_off[i], off);
		assert_int_equal(t->rec[0].gap_len[i], len);
	}
	va_end(ap);
}

#define G(o, l)	((uint64_t)(o)), ((uint64_t)(l))

/* A 20-byte message and a 100-byte one. */
static const char M[] = "RCPT TO:<ab@cd.ef>\r\n";
static uint8_t L[100];

static int
setup_l(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(L); i++)
		L[i] = (uint8_t)('A' + i % 26);
	return 0;
}

/* xorshift64*: a fixed seed makes every run identical. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static size_t
rnd_below(uint64_t *s, size_t n)
{
	return (size_t)(rnd(s) % n);
}

/* ---------------------------------------------------------------------- */
/* In order                                                                */

static void
test_in_order_zero_copy(void **state)
{
	struct t *t = t_new(100, 1000, 0);

	(void)state;
	put(t, 0, M, 8, 1);
	assert_ptr_equal(t->rec[0].last_ptr, (const uint8_t *)M);
	assert_int_equal(t->rec[0].last_pos.offset, 0);
	assert_int_equal(t->rec[0].last_pos.pkt, 1);
	assert_int_equal(t->rec[0].last_pos.ts_us, 1000);
	put(t, 8, M + 8, 12, 2);
	assert_ptr_equal(t->rec[0].last_ptr, (const uint8_t *)M + 8);
	assert_int_equal(t->rec[0].last_pos.offset, 8);
	assert_int_equal(t->rec[0].last_pos.pkt, 2);
	assert_data(t, M, 20);
	assert_gaps(t, 0);
	assert_int_equal(t->rec[0].ndata, 2);
	assert_int_equal(t->r[0].next, 20);
	assert_int_equal(t->r[0].held, 0);
	t_free(t);
}

static void
test_start_offset_and_release_pos(void **state)
{
	struct t *t = t_new(100, 1000, 1000);

	(void)state;
	put(t, 1005, M + 5, 15, 1);
	assert_int_equal(t->rec[0].ndata, 0);
	assert_int_equal(t->r[0].held, 15);
	assert_int_equal(t->pool.held, 15);
	put(t, 1000, M, 5, 2);
	assert_data(t, M, 20);
	assert_int_equal(t->rec[0].ndata, 2);
	/* The buffered bytes carry the pos of the segment that filled the hole. */
	assert_int_equal(t->rec[0].last_pos.offset, 1005);
	assert_int_equal(t->rec[0].last_pos.pkt, 2);
	assert_int_equal(t->rec[0].last_pos.ts_us, 2000);
	assert_true(t->rec[0].last_ptr != (const uint8_t *)M + 5);	/* a copy */
	assert_int_equal(t->r[0].next, 1020);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.held, 0);
	t_free(t);
}

static void
test_zero_len_null_and_clamp(void **state)
{
	struct t *t = t_new(100, 1000, 0);
	struct t *u = t_new(100, 1000, UINT64_MAX - 10);

	(void)state;
	put(t, 0, M, 0, 1);
	put(t, 5, M, 0, 1);
	put(t, 0, NULL, 5, 1);
	assert_int_equal(t->rec[0].ndata, 0);
	assert_int_equal(t->r[0].next, 0);
	assert_int_equal(t->r[0].held, 0);
	t_free(t);

	/* off + len past 2^64 - 1 is cut at the last representable offset. */
	put(u, UINT64_MAX - 10, M, 20, 1);
	assert_data(u, M, 10);
	assert_int_equal(u->r[0].next, UINT64_MAX);
	t_free(u);
}

/* ---------------------------------------------------------------------- */
/* Every order of small segment sets                                       */

struct span { size_t a, b; };

static bool
next_perm(size_t *v, size_t n)
{
	size_t i = n - 1, j = n - 1;

	while (i > 0 && v[i - 1] >= v[i])
		i--;
	if (i == 0)
		return false;
	while (v[j] <= v[i - 1])
		j--;
	size_t tmp = v[i - 1];
	v[i - 1] = v[j];
	v[j] = tmp;
	for (j = n - 1; i < j; i++, j--) {
		tmp = v[i];
		v[i] = v[j];
		v[j] = tmp;
	}
	return true;
}

static const struct span sets[][5] = {
	{ { 0, 4 }, { 4, 9 }, { 9, 13 }, { 13, 17 }, { 17, 20 } },	/* tiling */
	{ { 0, 6 }, { 3, 10 }, { 8, 15 }, { 12, 20 }, { 5, 14 } },	/* overlaps */
	{ { 0, 20 }, { 2, 3 }, { 10, 20 }, { 0, 1 }, { 19, 20 } },	/* contained */
	{ { 4, 16 }, { 0, 5 }, { 15, 20 }, { 7, 7 }, { 3, 17 } },	/* empty one */
	{ { 6, 9 }, { 0, 6 }, { 9, 20 }, { 6, 9 }, { 9, 20 } },	/* duplicates */
};

static void
test_permutations_identical(void **state)
{
	static const uint64_t starts[] = { 0, 7, 1u << 20 };

	(void)state;
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		for (size_t k = 0; k < 3; k++) {
			size_t v[5] = { 0, 1, 2, 3, 4 }, n = 0;
			uint64_t st = starts[k];

			do {
				struct t *t = t_new(20, 20, st);

				for (size_t i = 0; i < 5; i++) {
					const struct span *sp = &sets[s][v[i]];

					put(t, st + sp->a, M + sp->a, sp->b - sp->a, i + 1);
				}
				assert_data(t, M, 20);
				assert_gaps(t, 0);
				assert_int_equal(t->r[0].next, st + 20);
				assert_int_equal(t->r[0].held, 0);
				assert_int_equal(t->r[0].conflicts, 0);
				assert_int_equal(t->pool.conflicts, 0);
				assert_int_equal(t->pool.cap_hits, 0);
				assert_int_equal(t->r[0].gap_bytes, 0);
				t_free(t);
				n++;
			} while (next_perm(v, 5));
			assert_int_equal(n, 120);
		}
	}
}

/* Segment k's copy of byte i: M, except every third byte is its own. */
static uint8_t
seg_byte(size_t k, size_t i)
{
	return (i + k) % 3 == 0 ? (uint8_t)('a' + k) : (uint8_t)M[i];
}

static void
test_permutations_conflicting(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		size_t v[5] = { 0, 1, 2, 3, 4 }, n = 0;

		do {
			struct t *t = t_new(20, 20, 0);
			uint8_t copy[5][20], first[20];
			bool have[20] = { false };
			uint64_t conflicts = 0;

			for (size_t i = 0; i < 5; i++) {
				size_t k = v[i];
				const struct span *sp = &sets[s][k];

				for (size_t j = 0; j < 20; j++)
					copy[k][j] = seg_byte(k, j);
				/* Model: the first copy of a byte wins. */
				for (size_t j = sp->a; j < sp->b; j++) {
					if (!have[j]) {
						have[j] = true;
						first[j] = copy[k][j];
					} else if (first[j] != copy[k][j])
						conflicts++;
				}
				put(t, sp->a, copy[k] + sp->a, sp->b - sp->a, i + 1);
			}
			assert_data(t, first, 20);
			assert_gaps(t, 0);
			assert_int_equal(t->r[0].conflicts, conflicts);
			assert_int_equal(t->pool.conflicts, conflicts);
			assert_int_equal(t->r[0].held, 0);
			t_free(t);
			n++;
		} while (next_perm(v, 5));
		assert_int_equal(n, 120);
	}
}

/* ---------------------------------------------------------------------- */
/* Byte by byte                                                            */

static void
test_bytewise_forward(void **state)
{
	struct t *t = t_new(20, 20, 0);

	(void)state;
	for (size_t i = 0; i < 20; i++) {
		put(t, i, M + i, 1, i + 1);
		assert_ptr_equal(t->rec[0].last_ptr, (const uint8_t *)M + i);
		assert_int_equal(t->r[0].held, 0);
	}
	assert_data(t, M, 20);
	assert_int_equal(t->rec[0].ndata, 20);
	t_free(t);
}

static void
test_bytewise_reversed(void **state)
{
	struct t *t = t_new(20, 20, 0);

	(void)state;
	for (size_t i = 19; i > 0; i--) {
		put(t, i, M + i, 1, 20 - i);
		assert_int_equal(t->r[0].held, 20 - i);
		assert_int_equal(t->pool.held, 20 - i);
		assert_int_equal(t->rec[0].ndat, 0);
	}
	put(t, 0, M, 1, 20);
	assert_data(t, M, 20);
	assert_gaps(t, 0);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.held, 0);
	assert_int_equal(t->pool.cap_hits, 0);
	t_free(t);
}

/* ---------------------------------------------------------------------- */
/* Duplicates and conflicts                                                */

static void
test_duplicates(void **state)
{
	struct t *t = t_new(100, 100, 0);

	(void)state;
	put(t, 0, M, 10, 1);
	put(t, 0, M, 10, 2);
	assert_int_equal(t->rec[0].ndata, 1);
	put(t, 15, M + 15, 5, 3);
	put(t, 15, M + 15, 5, 4);
	assert_int_equal(t->r[0].held, 5);
	put(t, 12, M + 12, 8, 5);	/* partly a duplicate of the block */
	assert_int_equal(t->r[0].held, 8);
	put(t, 10, M + 10, 5, 6);
	assert_data(t, M, 20);
	assert_int_equal(t->r[0].held, 0);
	put(t, 0, M, 20, 7);
	assert_data(t, M, 20);
	assert_int_equal(t->r[0].conflicts, 0);
	assert_int_equal(t->pool.conflicts, 0);
	t_free(t);
}

static void
test_conflict_buffered(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t x[20];

	(void)state;
	memcpy(x, M, 20);
	x[12] = '1';
	x[13] = '2';
	put(t, 10, x + 10, 10, 1);		/* first copy */
	put(t, 5, M + 5, 10, 2);		/* 12 and 13 differ */
	assert_int_equal(t->r[0].conflicts, 2);
	assert_int_equal(t->pool.conflicts, 2);
	assert_int_equal(t->r[0].held, 15);
	put(t, 0, M, 5, 3);
	assert_int_equal(t->rec[0].ndat, 20);
	assert_memory_equal(t->rec[0].dat, M, 10);
	assert_memory_equal(t->rec[0].dat + 10, x + 10, 10);
	assert_int_equal(t->r[0].conflicts, 2);
	t_free(t);
}

static void
test_conflict_inorder_over_blocks(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t x[20], want[20];

	(void)state;
	memcpy(x, M, 20);
	x[6] = '6';
	x[13] = '3';
	x[14] = '4';
	put(t, 5, x + 5, 3, 1);
	put(t, 12, x + 12, 3, 2);
	assert_int_equal(t->r[0].held, 6);
	put(t, 0, M, 20, 3);			/* runs over both blocks */
	memcpy(want, x, 20);
	assert_data(t, want, 20);
	assert_int_equal(t->r[0].conflicts, 3);
	assert_int_equal(t->r[0].held, 0);
	/* Unbuffered parts came from the caller's buffer: the tail did. */
	assert_ptr_equal(t->rec[0].last_ptr, (const uint8_t *)M + 15);
	assert_int_equal(t->rec[0].ndata, 5);
	t_free(t);
}

static void
test_conflict_delivered_and_straddle(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t y[100];

	(void)state;
	put(t, 0, L, 50, 1);
	memcpy(y, L, 100);
	y[45] = '#';			/* a delivered byte, differing */
	y[55] = '#';			/* a new byte: first copy */
	put(t, 40, y + 40, 20, 2);
	assert_int_equal(t->r[0].conflicts, 1);
	assert_int_equal(t->rec[0].ndat, 60);
	assert_memory_equal(t->rec[0].dat, L, 50);
	assert_memory_equal(t->rec[0].dat + 50, y + 50, 10);
	/* The new part went out from the caller's buffer, at offset 50. */
	assert_ptr_equal(t->rec[0].last_ptr, y + 50);
	assert_int_equal(t->rec[0].last_pos.offset, 50);

	/* A whole retransmission of delivered bytes: two differ. */
	y[16] = '#';
	y[18] = '#';
	put(t, 10, y + 10, 10, 3);
	assert_int_equal(t->r[0].conflicts, 3);
	assert_int_equal(t->pool.conflicts, 3);
	assert_int_equal(t->rec[0].ndat, 60);
	t_free(t);
}

static void
test_history_window(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t z[100];

	(void)state;
	put(t, 0, L, 100, 1);
	memset(z, '#', sizeof(z));
	/* Only offsets 36..99 (the last REASM_HISTORY) can be compared. */
	put(t, 30, z + 30, 10, 2);
	assert_int_equal(t->r[0].conflicts, 4);
	put(t, 0, z, 36, 3);
	assert_int_equal(t->r[0].conflicts, 4);
	put(t, 99, z + 99, 1, 4);
	assert_int_equal(t->r[0].conflicts, 5);
	put(t, 36, L + 36, 64, 5);	/* identical: no conflict */
	assert_int_equal(t->r[0].conflicts, 5);
	assert_data(t, L, 100);
	t_free(t);
}

static void
test_history_after_gap(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t z[100];

	(void)state;
	memset(z, '#', sizeof(z));
	put(t, 0, L, 10, 1);
	ack(t, 20, 2);
	assert_gaps(t, 1, G(10, 10));
	put(t, 20, L + 20, 10, 3);
	/* Late copies of missing bytes: nothing to compare, nothing delivered. */
	put(t, 10, z + 10, 10, 4);
	assert_int_equal(t->r[0].conflicts, 0);
	put(t, 15, z + 15, 10, 5);		/* 20..24 were delivered */
	assert_int_equal(t->r[0].conflicts, 5);
	put(t, 5, z + 5, 5, 6);			/* before the gap: ring is stale */
	assert_int_equal(t->r[0].conflicts, 5);
	assert_int_equal(t->rec[0].ndat, 20);
	assert_memory_equal(t->rec[0].dat, L, 10);
	assert_memory_equal(t->rec[0].dat + 10, L + 20, 10);
	assert_int_equal(t->r[0].gap_bytes, 10);
	t_free(t);
}

/* ---------------------------------------------------------------------- */
/* Gaps: ack, skip, flush                                                  */

static void
test_ack(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t want[20];

	(void)state;
	put(t, 0, L, 5, 1);
	put(t, 10, L + 10, 5, 2);
	put(t, 20, L + 20, 5, 3);
	ack(t, 3, 4);				/* below next: nothing */
	ack(t, 5, 4);
	assert_gaps(t, 0);
	ack(t, 12, 5);				/* one hole, then its data */
	assert_gaps(t, 1, G(5, 5));
	assert_int_equal(t->rec[0].last_pos.pkt, 5);
	assert_int_equal(t->r[0].next, 15);
	assert_int_equal(t->r[0].held, 5);
	ack(t, 30, 6);				/* hole, data, trailing hole */
	assert_gaps(t, 3, G(5, 5), G(15, 5), G(25, 5));
	assert_int_equal(t->rec[0].last_pos.pkt, 6);
	assert_int_equal(t->r[0].next, 30);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->r[0].gap_bytes, 15);
	put(t, 30, L + 30, 5, 7);		/* data after the gap continues */
	memcpy(want, L, 5);
	memcpy(want + 5, L + 10, 5);
	memcpy(want + 10, L + 20, 5);
	memcpy(want + 15, L + 30, 5);
	assert_data(t, want, 20);
	assert_int_equal(t->pool.cap_hits, 0);
	t_free(t);
}

static void
test_skip(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t want[18];

	(void)state;
	do_skip(t, 1);				/* nothing held: no-op */
	assert_int_equal(t->rec[0].ndata + t->rec[0].ngaps, 0);
	assert_int_equal(t->r[0].next, 0);
	put(t, 0, L, 5, 2);
	put(t, 10, L + 10, 5, 3);
	put(t, 15, L + 15, 3, 4);		/* adjacent block */
	put(t, 30, L + 30, 10, 5);
	assert_int_equal(t->r[0].held, 18);
	do_skip(t, 6);
	assert_gaps(t, 1, G(5, 5));
	assert_int_equal(t->r[0].next, 18);
	assert_int_equal(t->r[0].held, 10);
	do_skip(t, 7);
	assert_gaps(t, 2, G(5, 5), G(18, 12));
	assert_int_equal(t->r[0].next, 40);
	assert_int_equal(t->r[0].held, 0);
	do_skip(t, 8);
	assert_gaps(t, 2, G(5, 5), G(18, 12));
	memcpy(want, L, 5);
	memcpy(want + 5, L + 10, 8);
	assert_int_equal(t->rec[0].ndat, 23);
	assert_memory_equal(t->rec[0].dat, want, 13);
	assert_memory_equal(t->rec[0].dat + 13, L + 30, 10);
	assert_int_equal(t->r[0].gap_bytes, 17);
	t_free(t);
}

static void
test_flush(void **state)
{
	struct t *t = t_new(100, 100, 0);
	uint8_t want[14];

	(void)state;
	do_flush(t, 1);
	assert_int_equal(t->rec[0].ndata + t->rec[0].ngaps, 0);
	put(t, 0, L, 3, 1);
	put(t, 5, L + 5, 3, 2);
	put(t, 9, L + 9, 3, 3);
	put(t, 20, L + 20, 1, 4);
	do_flush(t, 5);
	assert_gaps(t, 3, G(3, 2), G(8, 1), G(12, 8));
	assert_int_equal(t->r[0].next, 21);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.held, 0);
	assert_int_equal(t->r[0].gap_bytes, 11);
	put(t, 21, L + 21, 4, 6);
	memcpy(want, L, 3);
	memcpy(want + 3, L + 5, 3);
	memcpy(want + 6, L + 9, 3);
	memcpy(want + 9, L + 20, 5);
	assert_data(t, want, 14);
	t_free(t);
}

static void
test_free_discards(void **state)
{
	struct t *t = t_new(100, 100, 0);

	(void)state;
	put(t, 5, L + 5, 5, 1);
	put(t, 12, L + 12, 8, 2);
	assert_int_equal(t->pool.held, 13);
	reasm_free(&t->r[0]);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.held, 0);
	assert_int_equal(t->rec[0].ndata + t->rec[0].ngaps, 0);
	reasm_free(&t->r[0]);			/* twice is harmless */
	assert_int_equal(t->pool.held, 0);
	put(t, 0, L, 5, 3);			/* the discarded blocks are gone */
	assert_data(t, L, 5);
	assert_int_equal(t->r[0].held, 0);
	t_free(t);
}

/* ---------------------------------------------------------------------- */
/* Caps                                                                    */

static void
test_cap_per_direction(void **state)
{
	struct t *t = t_new(10, 1000, 0);
	uint8_t want[22];

	(void)state;
	put(t, 0, L, 5, 1);
	put(t, 10, L + 10, 4, 2);
	put(t, 20, L + 20, 6, 3);
	assert_int_equal(t->r[0].held, 10);
	put(t, 30, L + 30, 3, 4);		/* 13 > 10: first hole goes */
	assert_int_equal(t->pool.cap_hits, 1);
	assert_gaps(t, 1, G(5, 5));
	assert_int_equal(t->r[0].next, 14);
	assert_int_equal(t->r[0].held, 9);
	put(t, 40, L + 40, 2, 5);		/* 11 > 10 */
	assert_int_equal(t->pool.cap_hits, 2);
	assert_gaps(t, 2, G(5, 5), G(14, 6));
	assert_int_equal(t->r[0].next, 26);
	assert_int_equal(t->r[0].held, 5);
	put(t, 26, L + 26, 4, 6);		/* fills the hole to 30..33 */
	assert_int_equal(t->r[0].next, 33);
	assert_int_equal(t->r[0].held, 2);
	do_flush(t, 7);
	assert_gaps(t, 3, G(5, 5), G(14, 6), G(33, 7));
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.held, 0);
	assert_int_equal(t->r[0].gap_bytes, 18);
	assert_int_equal(t->pool.cap_hits, 2);
	memcpy(want, L, 5);
	memcpy(want + 5, L + 10, 4);
	memcpy(want + 9, L + 20, 13);
	assert_int_equal(t->rec[0].ndat, 24);
	assert_memory_equal(t->rec[0].dat, want, 22);
	assert_memory_equal(t->rec[0].dat + 22, L + 40, 2);
	t_free(t);
}

static void
test_cap_oversized_segment(void **state)
{
	struct t *t = t_new(8, 1000, 0);
	struct t *u = t_new(8, 1000, 0);

	(void)state;
	put(t, 0, L, 5, 1);
	put(t, 10, L + 10, 20, 2);		/* 20 > max_ooo: never buffered */
	assert_gaps(t, 1, G(5, 5));
	assert_ptr_equal(t->rec[0].last_ptr, L + 10);	/* zero copy */
	assert_int_equal(t->r[0].next, 30);
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->pool.cap_hits, 1);
	t_free(t);

	/* Blocks before and after it: the holes go in order, none of the data. */
	put(u, 0, L, 5, 1);
	put(u, 8, L + 8, 2, 2);
	put(u, 40, L + 40, 2, 3);
	assert_int_equal(u->r[0].held, 4);
	put(u, 20, L + 20, 20, 4);
	assert_int_equal(u->rec[0].ngaps, 2);
	assert_int_equal(u->rec[0].gap_off[0], 5);
	assert_int_equal(u->rec[0].gap_len[0], 3);
	assert_int_equal(u->rec[0].gap_off[1], 10);
	assert_int_equal(u->rec[0].gap_len[1], 10);
	assert_int_equal(u->pool.cap_hits, 2);
	assert_int_equal(u->r[0].next, 42);
	assert_int_equal(u->r[0].held, 0);
	assert_int_equal(u->rec[0].ndat, 29);
	assert_memory_equal(u->rec[0].dat + 7, L + 20, 22);
	t_free(u);
}

static void
test_cap_zero(void **state)
{
	struct t *t = t_new(0, 1000, 0);

	(void)state;
	put(t, 3, L + 3, 2, 1);			/* nothing may wait */
	assert_gaps(t, 1, G(0, 3));
	assert_int_equal(t->r[0].held, 0);
	assert_int_equal(t->r[0].next, 5);
	put(t, 5, L + 5, 2, 2);
	assert_int_equal(t->r[0].next, 7);
	assert_int_equal(t->pool.cap_hits, 1);
	t_free(t);
}

static void
test_cap_global(void **state)
{
	struct t *t = t_new(100, 12, 0);

	(void)state;
	put_dir(t, 0, 10, L + 10, 8, 1);
	assert_int_equal(t->pool.held, 8);
	/* 8 + 6 > 12: r[1] has nothing of its own to let go: gap up to it. */
	put_dir(t, 1, 10, L + 10, 6, 2);
	assert_int_equal(t->pool.cap_hits, 1);
	assert_int_equal(t->rec[1].ngaps, 1);
	assert_int_equal(t->rec[1].gap_off[0], 0);
	assert_int_equal(t->rec[1].gap_len[0], 10);
	assert_int_equal(t->r[1].next, 16);
	assert_int_equal(t->r[1].held, 0);
	assert_int_equal(t->pool.held, 8);
	put_dir(t, 1, 20, L + 20, 4, 3);
	assert_int_equal(t->pool.held, 12);
	put_dir(t, 1, 30, L + 30, 1, 4);	/* 13 > 12: r[1]'s hole goes */
	assert_int_equal(t->pool.cap_hits, 2);
	assert_int_equal(t->rec[1].ngaps, 2);
	assert_int_equal(t->rec[1].gap_off[1], 16);
	assert_int_equal(t->rec[1].gap_len[1], 4);
	assert_int_equal(t->r[1].held, 1);
	assert_int_equal(t->pool.held, 9);
	/* r[0] was never touched. */
	assert_int_equal(t->r[0].held, 8);
	assert_int_equal(t->rec[0].ndata + t->rec[0].ngaps, 0);
	reasm_free(&t->r[0]);
	assert_int_equal(t->pool.held, 1);
	reasm_free(&t->r[1]);
	assert_int_equal(t->pool.held, 0);
	t_free(t);
}

static void
test_cap_block_count(void **state)
{
	struct t *t = t_new(100, 1000, 0);

	(void)state;
	/* max_ooo 100 allows 64 blocks (REASM_MIN_BLOCKS), whatever their size. */
	for (size_t i = 1; i <= 64; i++)
		put(t, 2 * i, L + i, 1, i);
	assert_int_equal(t->r[0].held, 64);
	assert_int_equal(t->pool.cap_hits, 0);
	put(t, 130, L + 30, 1, 65);
	assert_int_equal(t->pool.cap_hits, 1);
	assert_gaps(t, 1, G(0, 2));
	assert_int_equal(t->r[0].next, 3);
	assert_int_equal(t->r[0].held, 64);
	assert_int_equal(t->r[0].tree.nblocks, 64);
	t_free(t);
}

/* ---------------------------------------------------------------------- */
/* Randomized                                                              */

struct seg { size_t a, b; };

static size_t
make_segments(uint64_t *s, size_t n, struct seg *sg, size_t max, bool holes)
{
	size_t k = 0;

	/* A tiling, pieces of 1..100 bytes, some dropped if holes. */
	for (size_t a = 0; a < n && k < max;) {
		size_t b = a + 1 + rnd_below(s, 100);

		if (b > n)
			b = n;
		if (!holes || rnd_below(s, 10) != 0)
			sg[k++] = (struct seg){ a, b };
		a = b;
	}
	/* Duplicates and overlapping copies. */
	for (size_t extra = rnd_below(s, k + 1); extra > 0 && k < max; extra--) {
		size_t a = rnd_below(s, n);
		size_t b = a + 1 + rnd_below(s, 150);

		if (b > n)
			b = n;
		if (holes && rnd_below(s, 10) == 0)
			continue;
		sg[k++] = (struct seg){ a, b };
	}
	/* Reorder: fully, locally, or not at all. */
	switch (rnd_below(s, 3)) {
	case 0:
		for (size_t i = k; i > 1; i--) {
			size_t j = rnd_below(s, i);
			struct seg tmp = sg[i - 1];

			sg[i - 1] = sg[j];
			sg[j] = tmp;
		}
		break;
	case 1:
		for (size_t i = 0; i + 1 < k; i++) {
			size_t j = i + rnd_below(s, k - i < 4 ? k - i : 4);
			struct seg tmp = sg[i];

			sg[i] = sg[j];
			sg[j] = tmp;
		}
		break;
	default:
		break;
	}
	return k;
}

#define RMAX	1500
#define SEGMAX	1024

static void
test_random_no_holes(void **state)
{
	uint64_t s = 0x5eed5eed12345678ULL;
	uint8_t *buf = malloc(RMAX);
	struct seg *sg = malloc(SEGMAX * sizeof(*sg));

	(void)state;
	assert_non_null(buf);
	assert_non_null(sg);
	for (int it = 0; it < 3000; it++) {
		size_t n = 1 + rnd_below(&s, RMAX);
		size_t k, maxheld = 0;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(&s);
		k = make_segments(&s, n, sg, SEGMAX, false);

		struct t *t = t_new(n, n, (uint64_t)it * 1000003);
		uint64_t st = t->r[0].next;

		for (size_t i = 0; i < k; i++) {
			put(t, st + sg[i].a, buf + sg[i].a, sg[i].b - sg[i].a,
			    i + 1);
			if (t->r[0].held > maxheld)
				maxheld = t->r[0].held;
		}
		assert_data(t, buf, n);
		assert_gaps(t, 0);
		assert_int_equal(t->r[0].next, st + n);
		assert_int_equal(t->r[0].held, 0);
		assert_int_equal(t->pool.held, 0);
		assert_int_equal(t->r[0].conflicts, 0);
		assert_int_equal(t->pool.cap_hits, 0);
		assert_true(maxheld < n);
		t_free(t);
	}
	free(sg);
	free(buf);
}

/* Short streams (within the history) with differing copies, vs a model. */
static void
test_random_conflicts_model(void **state)
{
	uint64_t s = 0xc0ffee0123456789ULL;
	struct seg sg[256];
	uint8_t buf[64], copy[64], first[64];

	(void)state;
	for (int it = 0; it < 5000; it++) {
		size_t n = 1 + rnd_below(&s, sizeof(buf));
		size_t k = make_segments(&s, n, sg, 256, false);
		bool have[64] = { false };
		uint64_t conflicts = 0;
		struct t *t = t_new(64, 64, 0);

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(&s);
		for (size_t i = 0; i < k; i++) {
			for (size_t j = sg[i].a; j < sg[i].b; j++) {
				copy[j] = buf[j];
				if (rnd_below(&s, 8) == 0)
					copy[j] ^= (uint8_t)(1 + rnd_below(&s, 255));
				if (!have[j]) {
					have[j] = true;
					first[j] = copy[j];
				} else if (first[j] != copy[j])
					conflicts++;
			}
			put(t, sg[i].a, copy + sg[i].a, sg[i].b - sg[i].a, i + 1);
		}
		assert_data(t, first, n);
		assert_gaps(t, 0);
		assert_int_equal(t->r[0].conflicts, conflicts);
		assert_int_equal(t->pool.conflicts, conflicts);
		assert_int_equal(t->r[0].held, 0);
		t_free(t);
	}
}

/*
 * Holes, small caps, random acks and skips: whatever happens, data and gaps
 * tile the stream from the start, every data byte is the source's byte at
 * its offset, no byte we were given is ever declared missing, everything
 * given is delivered after the flush, and the caps hold after every call.
 */
static void
test_random_capped(void **state)
{
	uint64_t s = 0xfeedface87654321ULL;
	uint8_t *buf = malloc(RMAX), *seen = malloc(REC_MAX);
	struct seg *sg = malloc(SEGMAX * sizeof(*sg));
	uint64_t hits = 0, gaps = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(seen);
	assert_non_null(sg);
	for (int it = 0; it < 3000; it++) {
		size_t n = 1 + rnd_below(&s, RMAX);
		size_t k;
		struct t *t = t_new(rnd_below(&s, 300), rnd_below(&s, 400), 0);

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(&s);
		memset(seen, 0, REC_MAX);
		t->rec[0].seen = seen;
		k = make_segments(&s, n, sg, SEGMAX, true);
		for (size_t i = 0; i < k; i++) {
			/* Bytes at or past next are ones we must not lose. */
			for (size_t j = sg[i].a; j < sg[i].b; j++)
				if (j >= t->r[0].next)
					seen[j] = 1;
			put(t, sg[i].a, buf + sg[i].a, sg[i].b - sg[i].a, i + 1);
			switch (rnd_below(&s, 40)) {
			case 0:
				ack(t, rnd_below(&s, n + 1), i + 1);
				break;
			case 1:
				do_skip(t, i + 1);
				break;
			default:
				break;
			}
		}
		do_flush(t, k + 1);
		assert_int_equal(t->r[0].held, 0);
		assert_int_equal(t->pool.held, 0);
		assert_int_equal(t->r[0].conflicts, 0);
		for (size_t o = 0; o < n; o++) {
			if (seen[o])
				assert_int_equal(t->rec[0].mark[o], M_DATA);
			if (t->rec[0].mark[o] == M_DATA)
				assert_int_equal(t->rec[0].img[o], buf[o]);
			if (o < t->r[0].next)
				assert_int_not_equal(t->rec[0].mark[o], M_NONE);
		}
		hits += t->pool.cap_hits;
		gaps += t->rec[0].ngaps;
		t_free(t);
	}
	/* The run must actually have exercised the caps and the gaps. */
	assert_true(hits > 1000);
	assert_true(gaps > 1000);
	free(sg);
	free(seen);
	free(buf);
}

/* An ACK that reaches exactly the start of a held block: the hole before
 * it is a gap and the block is delivered at once (found by fuzz_reasm:
 * it waited for the next segment, and the flush then declared a gap of
 * zero octets). */
static void
t_ack_to_block(void **state)
{
	struct t *t = t_new(4096, 65536, 0);

	(void)state;
	put(t, 100, "abc", 3, 1);
	assert_int_equal(t->rec[0].ndat, 0);
	ack(t, 100, 2);
	assert_gaps(t, 1, (uint64_t)0, (uint64_t)100);
	assert_data(t, "abc", 3);
	assert_int_equal(reasm_pending(&t->r[0]), 0);
	do_flush(t, 3);
	assert_int_equal(t->rec[0].ngaps, 1);	/* no empty gap */
	t_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ack_to_block),
		cmocka_unit_test(test_in_order_zero_copy),
		cmocka_unit_test(test_start_offset_and_release_pos),
		cmocka_unit_test(test_zero_len_null_and_clamp),
		cmocka_unit_test(test_permutations_identical),
		cmocka_unit_test(test_permutations_conflicting),
		cmocka_unit_test(test_bytewise_forward),
		cmocka_unit_test(test_bytewise_reversed),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_conflict_buffered),
		cmocka_unit_test(test_conflict_inorder_over_blocks),
		cmocka_unit_test(test_conflict_delivered_and_straddle),
		cmocka_unit_test(test_history_window),
		cmocka_unit_test(test_history_after_gap),
		cmocka_unit_test(test_ack),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_free_discards),
		cmocka_unit_test(test_cap_per_direction),
		cmocka_unit_test(test_cap_oversized_segment),
		cmocka_unit_test(test_cap_zero),
		cmocka_unit_test(test_cap_global),
		cmocka_unit_test(test_cap_block_count),
		cmocka_unit_test(test_random_no_holes),
		cmocka_unit_test(test_random_conflicts_model),
		cmocka_unit_test(test_random_capped),
	};

	return cmocka_run_group_tests(tests, setup_l, NULL);
}
