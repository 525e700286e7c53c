/*
 * writer.c - the output thread of a batch run (writer.h).
 *
 * One ring of WRITER_MAX item pointers and four running counts: put (by
 * the producer), taken and written (by the writer), released (by the
 * producer).  Item i lives in slot i % WRITER_MAX from its put until its
 * release, and released <= written <= taken <= put <= released +
 * WRITER_MAX.  The writer takes everything queued at once and writes it
 * outside the lock; the producer releases what was written outside it.
 *
 * Wake-ups cost a system call each, so a replay wakes the writer once per
 * WAKE_BATCH items (or when it has to wait for room, or syncs), not for
 * every record.
 */
#include <pthread.h>
#include <stdlib.h>

#include "cli/writer.h"

#define WAKE_BATCH	32

struct writer {
	struct writer_fns fn;
	bool eager;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the writer waits here for items */
	pthread_cond_t room;	/* the producer waits here for written ones */
	const void *q[WRITER_MAX];
	size_t put, taken, written, released;
	bool writer_idle, producer_waiting, stop;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t from, end;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->taken == w->put && !w->stop) {
			w->writer_idle = true;
			pthread_cond_wait(&w->work, &w->mu);
			w->writer_idle = false;
		}
		if (w->taken == w->put)
			break;		/* stopped, and nothing left */
		from = w->taken;
		end = w->taken = w->put;
		pthread_mutex_unlock(&w->mu);
		for (size_t i = from; i != end; i++)
			w->fn.write(w->fn.arg, w->q[i % WRITER_MAX]);
		pthread_mutex_lock(&w->mu);
		w->written = end;
		if (w->producer_waiting)
			pthread_cond_signal(&w->room);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *
writer_start(const struct writer_fns *fn, bool eager)
{
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fn = *fn;
	w->eager = eager;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	if (pthread_create(&w->tid, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->room);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

/* Release what the writer has written (called without the lock). */
static void
release_written(struct writer *w)
{
	size_t end;

	pthread_mutex_lock(&w->mu);
	end = w->written;
	pthread_mutex_unlock(&w->mu);
	for (; w->released != end; w->released++)
		w->fn.release(w->fn.arg, w->q[w->released % WRITER_MAX]);
}

/* With the lock held: wait until the writer has written more (waking it
 * first if it sleeps on items it has not taken). */
static void
wait_written(struct writer *w)
{
	if (w->writer_idle)
		pthread_cond_signal(&w->work);
	w->producer_waiting = true;
	pthread_cond_wait(&w->room, &w->mu);
	w->producer_waiting = false;
}

void
writer_put(struct writer *w, const void *item)
{
	release_written(w);
	pthread_mutex_lock(&w->mu);
	while (w->put - w->released == WRITER_MAX) {
		wait_written(w);
		pthread_mutex_unlock(&w->mu);
		release_written(w);
		pthread_mutex_lock(&w->mu);
	}
	w->q[w->put % WRITER_MAX] = item;
	w->put++;
	if (w->writer_idle && (w->eager || w->put - w->taken >= WAKE_BATCH))
		pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

void
writer_sync(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->written != w->put)
		wait_written(w);
	pthread_mutex_unlock(&w->mu);
	release_written(w);
}

void
writer_stop(struct writer *w)
{
	if (w == NULL)
		return;
	writer_sync(w);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->tid, NULL);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
