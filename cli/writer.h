/*
 * writer.h - the output thread of a batch run.
 *
 * Formatting the records (JSON Lines, batch lines, reports, syslog) was a
 * third of a replay's work on short sessions; on a second thread it runs
 * beside the decoding of the next sessions.  Items (ended session records)
 * are handed over in order and written in that order; each goes back to
 * the producer, which releases it, once written.  At most WRITER_MAX are
 * out at a time: the producer waits for room, so memory stays bounded.
 *
 * Threads: writer_put, writer_sync and writer_stop are called from the
 * producer's thread, which is also where release runs; write runs on the
 * writer's thread only.
 */
#ifndef SMTPSCOPE_WRITER_H
#define SMTPSCOPE_WRITER_H

#include <stdbool.h>

#define WRITER_MAX	512	/* items out (queued, being written, written) */

struct writer_fns {
	void *arg;
	void (*write)(void *arg, const void *item);	/* the writer's thread */
	void (*release)(void *arg, const void *item);	/* the producer's */
};

struct writer;
/* eager: wake the writer for every item (live capture: each record is
 * news); otherwise in batches, which costs fewer wake-ups.  NULL when the
 * thread cannot start (the caller then writes itself). */
struct writer *writer_start(const struct writer_fns *, bool eager);
void writer_put(struct writer *, const void *item);
/* Until every item put so far is written and released. */
void writer_sync(struct writer *);
/* writer_sync, then the thread ends; w is freed. */
void writer_stop(struct writer *);

#endif
