/*
 * evidence.c - the packets behind an incident: bounded per-flow packet
 * buffers, the -w pcap writer, and a bounded store of flagged flows that
 * can be written on demand (the UI's "write flagged sessions" key).
 *
 * Why buffer: the decoder knows a session deserves evidence only at its end
 * (incidents are decided in the close() callback), yet the evidence that
 * matters most is at the start (handshake, greeting, EHLO).  So while
 * evidence is on (evidence_file or evidence_keep), every open flow keeps
 * the frames attributed to it, as libpcap delivered them, in one growable
 * byte buffer: records of {ts_us, caplen, wirelen} followed by the bytes,
 * grown geometrically with reallocarray (a few allocations per flow, none
 * per packet once grown).  When the flow ends, flow.c calls
 * ev_flow_closed(): a flagged flow's records go to the -w file in their
 * order, followed by a flush (so a live run's file always holds every
 * finished flagged session), and with evidence_keep they move to the
 * retained store; an unflagged flow's buffer is freed.  Packets reaching a
 * flagged flow after its close (the last ACKs, during TIME_WAIT) are
 * written and retained as they come.
 *
 * Bounds, chosen to be predictable rather than clever:
 *   - per flow, max_evidence_flow bytes: the FIRST packets are kept; from
 *     the first packet that does not fit, nothing more of that flow is
 *     kept, so what is kept is always a prefix (no holes mid-conversation);
 *   - in all, max_evidence_total bytes allocated (open buffers plus the
 *     retained store): growing past it first evicts the oldest retained
 *     flows, and if that is not enough the packet is not kept (the flow
 *     becomes "full" as above).
 * Cut packets of flagged flows are counted (evidence_cut), evicted
 * retained flows too (evidence_evicted).
 *
 * Link types: a pcap holds one link type, so -w requires every input to
 * have the same one (cap_open fails otherwise, naming them); with only
 * evidence_keep, mixed inputs turn retention off and cap_evidence_write()
 * says why.  Timestamps are microseconds (source.c opens every file with
 * that precision), so the files we write are microsecond pcaps, or pcapng
 * with each packet's input number as a comment (evwrite.c).
 *
 * Errors: creating -w is part of cap_open (the header is flushed there, so
 * an unwritable target fails at once); a later write error is remembered,
 * further flows are not written, and cap_evidence_close() reports it.
 * Every write, flush, fsync and close is checked: the dumper gets a dup of
 * our descriptor, so closing our own reports what pcap_dump_close() cannot.
 *
 * Deliberately not here: deciding which flows matter (the consumer flags
 * them), attributing packets to flows (flow.c), and any thread safety: one
 * struct cap is driven by one thread, and UI requests must be serialised
 * through it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap_int.h"


/* A closed flagged flow kept for cap_evidence_write(). */
struct ev_kept {
	TAILQ_ENTRY(ev_kept) q;
	struct ev_buf b;
	struct ev_flow *owner;	/* while its flow struct is in TIME_WAIT */
};

/* Small at first: a flow that stops at its SYN (a flood) keeps one packet;
 * a conversation doubles its way up in a handful of reallocations. */
#define EV_INIT_SIZE	256

/* ---------------------------------------------------------------- buffers */

static void
buf_free(struct cap *c, struct ev_buf *b)
{
	c->ev.total -= b->size;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void
kept_free(struct cap *c, struct ev_kept *k)
{
	if (k->owner != NULL)
		k->owner->kept = NULL;
	TAILQ_REMOVE(&c->ev.kept, k, q);
	c->st.evidence_retained--;
	buf_free(c, &k->b);
	free(k);
}

/* Make room by evicting the oldest retained flow other than self. */
static bool
evict_one(struct cap *c, const struct ev_kept *self)
{
	struct ev_kept *k;

	TAILQ_FOREACH(k, &c->ev.kept, q) {
		if (k != self) {
			kept_free(c, k);
			c->st.evidence_evicted++;
			return true;
		}
	}
	return false;
}

/* The record of the frame being processed. */
static void
frame_rec(const struct evidence *ev, struct ev_rec *r)
{
	size_t caplen = ev->caplen;

	if (caplen > (size_t)ev->snaplen)
		caplen = (size_t)ev->snaplen;	/* never more than the header says */
	r->ts_us = ev->ts_us;
	r->pkt = ev->pkt;
	r->caplen = (uint32_t)caplen;
	r->wirelen = ev->wirelen > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->wirelen;
}

/* Append the current frame to b; false if a cap (or memory) says no. */
static bool
buf_append(struct cap *c, struct ev_buf *b, const struct ev_kept *self)
{
	struct evidence *ev = &c->ev;
	struct ev_rec r;
	size_t need, want, grow;
	uint8_t *np;

	frame_rec(ev, &r);
	need = sizeof(r) + r.caplen;
	if (need > ev->max_flow || b->len > ev->max_flow - need)
		return false;
	if (b->size - b->len < need) {
		want = b->size > 0 ? b->size : EV_INIT_SIZE;
		while (want - b->len < need && want <= ev->max_flow / 2)
			want *= 2;
		if (want > ev->max_flow || want - b->len < need)
			want = ev->max_flow;
		grow = want - b->size;
		if (grow > (ev->max_total - ev->total) / 2) {
			/* No doubling under pressure (it would take more than
			 * half of what is left, as slack other flows may need):
			 * just what this packet needs. */
			want = b->len + need;
			grow = want - b->size;
		}
		while (grow > ev->max_total - ev->total && evict_one(c, self))
			;
		if (grow > ev->max_total - ev->total)
			return false;
		if ((np = reallocarray(b->p, want, 1)) == NULL)
			return false;
		b->p = np;
		b->size = want;
		ev->total += grow;
	}
	memcpy(b->p + b->len, &r, sizeof(r));
	memcpy(b->p + b->len + sizeof(r), ev->frame, r.caplen);
	b->len += need;
	b->npkt++;
	return true;
}

/* Walk records: *off is advanced; false at the end. */
static bool
buf_next(const struct ev_buf *b, size_t *off, struct ev_rec *r,
    const uint8_t **data)
{
	if (*off >= b->len || b->len - *off < sizeof(*r))
		return false;
	memcpy(r, b->p + *off, sizeof(*r));
	*data = b->p + *off + sizeof(*r);
	*off += sizeof(*r) + r->caplen;
	return true;
}

/* ---------------------------------------------------------------- -w file */

static void
wfile_check(struct cap *c)
{
	struct evidence *ev = &c->ev;

	if (ev->werr != 0)
		return;
	if (evw_flush(&ev->w) == -1)
		ev->werr = errno != 0 ? errno : EIO;
}

/* Write records from offset off of b to the -w file, then flush. */
static void
wfile_write(struct cap *c, const struct ev_buf *b, size_t off)
{
	struct ev_rec r;
	const uint8_t *data;

	if (c->ev.w.fp == NULL || c->ev.werr != 0)
		return;
	errno = 0;
	while (buf_next(b, &off, &r, &data))
		evw_packet(&c->ev.w, &r, data);
	wfile_check(c);
}

/* Write the frame being processed straight to the -w file. */
static void
wfile_frame(struct cap *c)
{
	struct ev_rec r;

	if (c->ev.w.fp == NULL || c->ev.werr != 0)
		return;
	frame_rec(&c->ev, &r);
	errno = 0;
	evw_packet(&c->ev.w, &r, c->ev.frame);
	wfile_check(c);
}

static bool
same_file(int fd, const struct stat *sb)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == sb->st_dev &&
	    st.st_ino == sb->st_ino;
}

static int
wfile_open(struct cap *c, char errbuf[CAP_ERRBUF_SIZE])
{
	struct evidence *ev = &c->ev;
	const char *path = c->cfg.evidence_file;
	struct stat sb;
	FILE *fp;
	int i, fd2, e;

	/* Truncating an input we are about to read would destroy it. */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
		for (i = 0; i < c->nsrc; i++) {
			if (c->live || c->src[i].p == NULL ||
			    pcap_file(c->src[i].p) == NULL)
				continue;
			if (same_file(fileno(pcap_file(c->src[i].p)), &sb)) {
				snprintf(errbuf, CAP_ERRBUF_SIZE,
				    "cannot write '%s': it is also an input", path);
				return -1;
			}
		}
	}
	ev->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (ev->fd == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	ev->regular = fstat(ev->fd, &sb) == 0 && S_ISREG(sb.st_mode);
	if ((fd2 = dup(ev->fd)) == -1 || (fp = fdopen(fd2, "wb")) == NULL) {
		e = errno;
		if (fd2 != -1)
			close(fd2);
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create '%s': %s", path,
		    strerror(e));
		return -1;
	}
	if (evw_open(&ev->w, fp, evw_wants_ng(path), ev->dead, ev->dlt, ev->snaplen,
	    errbuf) == -1) {
		char e2[CAP_ERRBUF_SIZE];

		strlcpy(e2, errbuf, sizeof(e2));
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create '%.200s': %.200s", path, e2);
		fclose(fp);
		return -1;
	}
	/* The header now: an empty run still leaves a valid capture. */
	errno = 0;
	wfile_check(c);
	if (ev->werr != 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%s': %s", path,
		    strerror(ev->werr));
		return -1;
	}
	return 0;
}

int
cap_evidence_close(struct cap *c, char errbuf[CAP_ERRBUF_SIZE])
{
	struct evidence *ev = &c->ev;

	if (ev->w.fp != NULL) {
		errno = 0;
		wfile_check(c);
		if (ev->werr == 0 && ev->regular && fsync(ev->fd) == -1)
			ev->werr = errno;
		evw_close(&ev->w);	/* closes the dup */
		if (close(ev->fd) == -1 && ev->werr == 0)
			ev->werr = errno;
		ev->fd = -1;
	}
	if (ev->werr != 0) {
		snprintf(errbuf, CAP_ERRBUF_SIZE,
		    "cannot write '%s': %s; the evidence file is incomplete",
		    c->cfg.evidence_file != NULL ? c->cfg.evidence_file : "",
		    strerror(ev->werr));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- setup */

void
ev_init(struct cap *c)
{
	struct evidence *ev = &c->ev;

	memset(ev, 0, sizeof(*ev));
	TAILQ_INIT(&ev->kept);
	ev->fd = -1;
	ev->dlt = -1;
	ev->max_flow = c->cfg.max_evidence_flow > 0 ? c->cfg.max_evidence_flow :
	    CAP_DEF_MAX_EV_FLOW;
	ev->max_total = c->cfg.max_evidence_total > 0 ?
	    c->cfg.max_evidence_total : CAP_DEF_MAX_EV_TOTAL;
}

static void
dlt_label(int dlt, char *buf, size_t len)
{
	const char *n = pcap_datalink_val_to_name(dlt);

	snprintf(buf, len, "%s (%d)", n != NULL ? n : "unknown", dlt);
}

int
ev_open(struct cap *c, int raw_dlt, char errbuf[CAP_ERRBUF_SIZE])
{
	struct evidence *ev = &c->ev;
	char a[64], b[64];
	int i, dlt, snap;

	if (c->cfg.evidence_file == NULL && !c->cfg.evidence_keep)
		return 0;
	if (raw_dlt >= 0) {
		ev->dlt = raw_dlt;
		ev->snaplen = c->cfg.snaplen > 0 ? c->cfg.snaplen : CAP_DEF_SNAPLEN;
	} else {
		ev->dlt = pcap_datalink(c->src[0].p);
		ev->snaplen = 0;
		for (i = 0; i < c->nsrc; i++) {
			dlt = pcap_datalink(c->src[i].p);
			snap = pcap_snapshot(c->src[i].p);
			if (snap > ev->snaplen)
				ev->snaplen = snap;
			if (dlt == ev->dlt || ev->mixed)
				continue;
			ev->mixed = true;
			if (c->cfg.evidence_file == NULL)
				continue;
			dlt_label(ev->dlt, a, sizeof(a));
			dlt_label(dlt, b, sizeof(b));
			snprintf(errbuf, CAP_ERRBUF_SIZE,
			    "cannot write '%s': the inputs have different link "
			    "types ('%s' is %s, '%s' is %s) and a pcap holds one; "
			    "read them in separate runs", c->cfg.evidence_file,
			    c->src[0].name, a, c->src[i].name, b);
			return -1;
		}
		if (ev->snaplen <= 0)
			ev->snaplen = CAP_DEF_SNAPLEN;
	}
	if (ev->mixed)
		return 0;	/* only evidence_keep: nothing to retain into */
	ev->dead = pcap_open_dead_with_tstamp_precision(ev->dlt, ev->snaplen,
	    PCAP_TSTAMP_PRECISION_MICRO);
	if (ev->dead == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	if (c->cfg.evidence_file != NULL && wfile_open(c, errbuf) == -1)
		return -1;
	ev->keep = c->cfg.evidence_keep;
	ev->on = true;
	return 0;
}

void
ev_free(struct cap *c)
{
	struct evidence *ev = &c->ev;
	char eb[CAP_ERRBUF_SIZE];
	struct ev_kept *k;

	while ((k = TAILQ_FIRST(&ev->kept)) != NULL)
		kept_free(c, k);
	if (ev->w.fp != NULL || ev->fd != -1) {
		if (ev->w.fp == NULL) {		/* wfile_open failed half way */
			close(ev->fd);
			ev->fd = -1;
		} else
			(void)cap_evidence_close(c, eb);	/* unreported */
	}
	if (ev->dead != NULL)
		pcap_close(ev->dead);
	ev->dead = NULL;
}

/* ---------------------------------------------------------------- per flow */

void
ev_flow_start(struct cap *c, struct ev_flow *e, uint64_t id)
{
	ev_flow_drop(c, e);
	e->id = id;
}

void
ev_flow_drop(struct cap *c, struct ev_flow *e)
{
	if (e->kept != NULL)
		e->kept->owner = NULL;	/* the retained copy lives on */
	if (e->b.p != NULL)
		buf_free(c, &e->b);
	memset(e, 0, sizeof(*e));
}

void
ev_packet(struct cap *c, struct ev_flow *e)
{
	if (!c->ev.on || c->ev.frame == NULL)
		return;
	if (e->full || !buf_append(c, &e->b, NULL)) {
		e->full = true;
		e->cut++;
	}
}

/*
 * A packet for a flow that has closed (its last ACKs): appended to the
 * retained copy if there is one, and written to -w, under the same prefix
 * rule as the packets before.
 */
void
ev_tail(struct cap *c, struct ev_flow *e)
{
	bool kept = false;

	if (!c->ev.on || c->ev.frame == NULL || !e->flagged || !e->closed)
		return;
	if (!e->full && e->kept != NULL) {
		if (buf_append(c, &e->kept->b, e->kept))
			kept = true;
		else
			e->full = true;
	}
	if (e->full || (!kept && c->ev.w.fp == NULL)) {
		c->st.evidence_cut++;
		return;
	}
	wfile_frame(c);
	c->st.evidence_packets++;
}

void
ev_flow_closed(struct cap *c, struct ev_flow *e)
{
	struct evidence *ev = &c->ev;
	struct ev_kept *k;
	uint8_t *np;

	e->closed = true;
	if (!ev->on || !e->flagged) {
		if (e->b.p != NULL)
			buf_free(c, &e->b);
		return;
	}
	c->st.evidence_flows++;
	c->st.evidence_packets += e->b.npkt;
	c->st.evidence_cut += e->cut;
	wfile_write(c, &e->b, 0);
	if (!ev->keep || e->b.npkt == 0 || (k = calloc(1, sizeof(*k))) == NULL) {
		if (e->b.p != NULL)
			buf_free(c, &e->b);
		return;
	}
	/* Give back the unused tail of the buffer: retained flows live long. */
	if (e->b.len < e->b.size &&
	    (np = reallocarray(e->b.p, e->b.len, 1)) != NULL) {
		ev->total -= e->b.size - e->b.len;
		e->b.p = np;
		e->b.size = e->b.len;
	}
	k->b = e->b;
	k->owner = e;
	memset(&e->b, 0, sizeof(e->b));
	e->kept = k;
	TAILQ_INSERT_TAIL(&ev->kept, k, q);
	c->st.evidence_retained++;
}

void
cap_flag_flow(struct cap *c, uint64_t flow_id)
{
	struct ev_flow *e = c->ev.closing;

	if (e == NULL || e->id != flow_id)
		e = flow_ev_find(c, flow_id);
	if (e != NULL)
		e->flagged = true;
}

/* ---------------------------------------------------------------- on demand */

/* One retained flow being merged: its next record. */
struct ev_cur {
	const struct ev_buf *b;
	size_t off;		/* of the record after this one */
	size_t seq;		/* the flow's place in the store: breaks ties */
	struct ev_rec r;
	const uint8_t *data;
};

static bool
cur_less(const struct ev_cur *a, const struct ev_cur *b)
{
	if (a->r.ts_us != b->r.ts_us)
		return a->r.ts_us < b->r.ts_us;
	return a->seq < b->seq;
}

static void
heap_down(struct ev_cur *h, size_t n, size_t i)
{
	struct ev_cur t;
	size_t m, l;

	for (;;) {
		m = i;
		l = 2 * i + 1;
		if (l < n && cur_less(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && cur_less(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* "dir/name" -> "dir/.name.XXXXXX" (same directory, so rename is atomic). */
static bool
tmp_name(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	int n;

	if (*base == '\0')
		return false;
	if (slash != NULL)
		n = snprintf(buf, len, "%.*s/.%s.XXXXXX", (int)(slash - path),
		    path, base);
	else
		n = snprintf(buf, len, ".%s.XXXXXX", base);
	return n > 0 && (size_t)n < len;
}

int
cap_evidence_write(struct cap *c, const char *path, char errbuf[CAP_ERRBUF_SIZE])
{
	struct evidence *ev = &c->ev;
	struct ev_cur *h = NULL;
	struct ev_kept *k;
	struct evw w;
	char tmp[4096], eb[CAP_ERRBUF_SIZE];
	FILE *fp;
	size_t n = 0, i, nflows;
	int fd, fd2 = -1, e = 0;

	if (ev->mixed) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%s': the inputs "
		    "have different link types and a pcap holds one", path);
		return -1;
	}
	if (!ev->keep) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%s': flagged "
		    "sessions are not being kept (evidence_keep is off)", path);
		return -1;
	}
	if (!tmp_name(path, tmp, sizeof(tmp))) {
		snprintf(errbuf, CAP_ERRBUF_SIZE,
		    "cannot write '%s': path too long or no file name", path);
		return -1;
	}
	nflows = (size_t)c->st.evidence_retained;
	if (nflows > 0 &&
	    (h = reallocarray(NULL, nflows, sizeof(*h))) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%s': %s", path,
		    strerror(ENOMEM));
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create '%s': %s", path,
		    strerror(errno));
		free(h);
		return -1;
	}
	if (fchmod(fd, 0644) == -1 || (fd2 = dup(fd)) == -1 ||
	    (fp = fdopen(fd2, "wb")) == NULL) {
		e = errno;
		goto fail;
	}
	fd2 = -1;
	if (evw_open(&w, fp, evw_wants_ng(path), ev->dead, ev->dlt, ev->snaplen,
	    eb) == -1) {
		fclose(fp);
		close(fd);
		unlink(tmp);
		free(h);
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%.200s': %.200s", path, eb);
		return -1;
	}
	TAILQ_FOREACH(k, &ev->kept, q) {
		if (n == nflows)
			break;
		h[n].b = &k->b;
		h[n].off = 0;
		h[n].seq = n;
		if (buf_next(&k->b, &h[n].off, &h[n].r, &h[n].data))
			n++;
	}
	for (i = n; i-- > 0;)
		heap_down(h, n, i);
	errno = 0;
	while (n > 0) {
		evw_packet(&w, &h[0].r, h[0].data);
		if (!buf_next(h[0].b, &h[0].off, &h[0].r, &h[0].data))
			h[0] = h[--n];
		heap_down(h, n, 0);
	}
	if (evw_flush(&w) == -1)
		e = errno != 0 ? errno : EIO;
	else if (fsync(fd) == -1)
		e = errno;
	evw_close(&w);
	if (close(fd) == -1 && e == 0)
		e = errno;
	fd = -1;
	if (e == 0 && rename(tmp, path) == -1)
		e = errno;
	if (e != 0)
		goto fail;
	free(h);
	return nflows > INT_MAX ? INT_MAX : (int)nflows;

fail:
	if (fd2 != -1)
		close(fd2);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(h);
	snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot write '%s': %s; nothing written",
	    path, strerror(e != 0 ? e : EIO));
	return -1;
}
