/*
 * fuzz_reasm.c - libFuzzer target for the TCP stream reassembler alone
 * (capture/reasm.c): segment sequences at arbitrary offsets, acks,
 * skips and the final flush, with small caps so they are hit (make fuzz
 * FUZZ=reasm; make check replays it).
 *
 * The input is a list of operations: an octet (low 2 bits: 0 insert,
 * 1 ack, 2 skip; the rest a fill pattern), u16 offset, u8 length; an
 * insert carries its length in bytes after it.  Two directions share one
 * pool, as the flows of a run do.  Asserted, besides what the sanitizers
 * check: every data or gap event starts where the previous one ended
 * (no byte delivered twice, none skipped without a gap); every byte
 * delivered is the first copy inserted at its offset (the first copy
 * wins, reasm.h's policy); held bytes never exceed the caps; the flush
 * delivers everything and leaves nothing held.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPAN	(1 << 17)	/* offsets used: 16 bits plus a length */
#define MAX_OOO	2048

struct dir {
	struct reasm r;
	uint64_t next;			/* the next offset an event must start at */
	uint8_t first[SPAN];		/* the first copy of each byte */
	uint8_t have[SPAN];
};

static struct dir dirs[2];

static void
on_data(void *arg, const uint8_t *p, size_t n, const struct cap_pos *pos)
{
	struct dir *d = arg;

	if (pos->offset != d->next || n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint64_t o = pos->offset + i;

		if (o < SPAN && (!d->have[o] || d->first[o] != p[i]))
			abort();	/* not the first copy, or never inserted */
	}
	d->next += n;
}

static void
on_gap(void *arg, uint64_t len, const struct cap_pos *pos)
{
	struct dir *d = arg;

	if (pos->offset != d->next || len == 0)
		abort();
	d->next += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm_pool pool = { .max_total = 3 * MAX_OOO };
	struct reasm_out out[2];
	struct cap_pos pos = { .ts_us = 1, .pkt = 1 };
	size_t off = 0;

	memset(dirs, 0, sizeof(dirs));
	for (int i = 0; i < 2; i++) {
		reasm_init(&dirs[i].r, &pool, MAX_OOO, 0);
		out[i].arg = &dirs[i];
		out[i].data = on_data;
		out[i].gap = on_gap;
	}
	while (off + 4 <= size) {
		unsigned op = data[off] & 3, dn = (data[off] >> 2) & 1;
		uint64_t o = (uint64_t)data[off + 1] << 8 | data[off + 2];
		size_t n = data[off + 3];
		struct dir *d = &dirs[dn];

		off += 4;
		pos.pkt++;
		if (op == 0) {
			if (n > size - off)
				n = size - off;
			/* The first copy of each byte not yet delivered is the
			 * one the reassembler must keep. */
			for (size_t i = 0; i < n; i++)
				if (o + i >= d->r.next && !d->have[o + i]) {
					d->have[o + i] = 1;
					d->first[o + i] = data[off + i];
				}
			reasm_insert(&d->r, o, data + off, n, &pos, &out[dn]);
			off += n;
		} else if (op == 1)
			reasm_ack(&d->r, o, &pos, &out[dn]);
		else
			reasm_skip(&d->r, &pos, &out[dn]);
		if (d->r.held > MAX_OOO || pool.held > pool.max_total)
			abort();
	}
	for (int i = 0; i < 2; i++) {
		reasm_flush(&dirs[i].r, &pos, &out[i]);
		if (reasm_pending(&dirs[i].r) != 0)
			abort();
		reasm_free(&dirs[i].r);
	}
	if (pool.held != 0)
		abort();
	return 0;
}
