/*
 * stats.c - names for anomalies and close reasons, and cap_stats().
 *
 * The anomaly names and descriptions come from the one X-macro table in
 * capture.h (like http-parser's HTTP_ERRNO_MAP), so the enum, the names in
 * every output and the help text cannot drift apart.  cap_stats() copies the
 * run's counters and adds what lives elsewhere: the reassembler pool's
 * conflict and cap counters, the kernel's counters for a live capture and
 * how far through the input files we are.
 *
 * Deliberately not here: printing; the caller formats.
 */
#include <stdio.h>

#include "capture/cap_int.h"

static const char *const anomaly_names[] = {
#define CAP_X_NAME(id, name, desc) name,
	CAP_ANOMALIES(CAP_X_NAME)
#undef CAP_X_NAME
};

static const char *const anomaly_descs[] = {
#define CAP_X_DESC(id, name, desc) desc,
	CAP_ANOMALIES(CAP_X_DESC)
#undef CAP_X_DESC
};

const char *
cap_anomaly_name(enum cap_anomaly a)
{
	if ((unsigned)a >= CAP_AN_MAX)
		return "unknown";
	return anomaly_names[a];
}

const char *
cap_anomaly_desc(enum cap_anomaly a)
{
	if ((unsigned)a >= CAP_AN_MAX)
		return "unknown anomaly";
	return anomaly_descs[a];
}

const char *
cap_close_reason_name(enum cap_close_reason r)
{
	switch (r) {
	case CAP_CLOSE_FIN:
		return "fin";
	case CAP_CLOSE_RST:
		return "rst";
	case CAP_CLOSE_IDLE:
		return "idle";
	case CAP_CLOSE_EVICTED:
		return "evicted";
	case CAP_CLOSE_EOF:
		return "eof";
	case CAP_CLOSE_INTERRUPTED:
		return "interrupted";
	}
	return "unknown";
}

void
cap_stats(struct cap *c, struct cap_stats *st)
{
	struct pcap_stat ps;
	FILE *fp;
	long pos;
	int i;

	*st = c->st;
	st->anomalies[CAP_AN_TCP_OVERLAP] += c->rpool.conflicts;
	st->anomalies[CAP_AN_TCP_OOO_LIMIT] += c->rpool.cap_hits;
	if (c->live && c->nsrc > 0) {
		/* The counters of handles closed when the interface went away,
		 * and the current one's. */
		st->have_kernel = true;
		st->kernel_recv = c->kbase_recv;
		st->kernel_drop = c->kbase_drop;
		st->ifdrop = c->kbase_ifdrop;
		if (c->src[0].p != NULL && pcap_stats(c->src[0].p, &ps) == 0) {
			st->kernel_recv += ps.ps_recv;
			st->kernel_drop += ps.ps_drop;
			st->ifdrop += ps.ps_ifdrop;
		}
	}
	st->file_bytes_total = 0;
	st->file_bytes_read = 0;
	for (i = 0; !c->live && i < c->nsrc; i++) {
		st->file_bytes_total += c->src[i].size;
		if (c->src[i].p == NULL || c->src[i].done) {
			st->file_bytes_read += c->src[i].size;
			continue;
		}
		if (c->src[i].map.base != NULL) {
			st->file_bytes_read += c->src[i].map.off;
			continue;
		}
		fp = pcap_file(c->src[i].p);
		if (fp != NULL && (pos = ftell(fp)) > 0)
			st->file_bytes_read += (uint64_t)pos;
	}
}
