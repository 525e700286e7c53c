/*
 * flow.c - the flow table: TCP segments in, reassembler calls and consumer
 * events out.
 *
 * A flow is a client/server pair of directions (libnids' tcp_stream with
 * two half_streams), found by its canonical 4-tuple in a hash table with
 * chaining.  Roles: the sender of a SYN without ACK is the client, the
 * sender of a SYN+ACK the server; a flow joined without its handshake is
 * "mid-stream" and the side using one of the configured ports is the
 * server (if both or neither do, the lower port; if the ports are equal,
 * the receiver of the first packet).
 *
 * Sequence numbers become 64-bit stream offsets here, so the reassembler
 * never sees wraparound: each direction keeps a reference pair (sequence
 * number, offset) at the highest byte seen, and a segment's offset is the
 * reference plus the signed 32-bit difference of sequence numbers.  Offset
 * 0 is the byte after the SYN, or the first byte seen when joined
 * mid-stream (bytes before it are trimmed).  SYN and FIN each consume one
 * sequence number.  Segments more than 1 GiB away from the reference are
 * out of window and ignored.
 *
 * Gaps: an ACK from one side for bytes the other side's reassembler never
 * got declares them missing (reasm_ack), as Zeek does, but only once the
 * ACK has stood for CAP_ACK_WAIT_US of capture time (or at close) without
 * the bytes arriving: captures do show an ACK before the data it
 * acknowledges (merged or multi-queue captures; one of the public samples,
 * arkime's smtp-decrypted.pcap, has three ACKs ahead of 4954 bytes of data),
 * and declaring the gap at once would throw those bytes away.  An ACK that
 * covers exactly one byte more than was seen is taken as the ACK of a FIN
 * the capture missed, not as a missing data byte.  Out-of-order data waits
 * at most CAP_OOO_WAIT_US of capture time for its hole (checked when the
 * flow sees a packet), then the hole is declared a gap (reasm_skip); the
 * reassembler's own byte caps bound the wait in memory.
 *
 * Ignored: keep-alives (at most one byte at the next expected sequence
 * number minus one: Linux sends this for keep-alive and for zero-window
 * probes alike).  A zero-window probe that carries the next real byte (BSD,
 * Windows) is data and treated as such: the receiver may accept it, and if
 * it does not, the sender repeats the same byte, which the reassembler
 * drops as a retransmission.
 *
 * Closing: RST closes at once; FINs from both sides close as soon as both
 * directions are complete up to their FIN; an idle timeout (cap_advance)
 * closes the rest, with reason FIN if either side had sent one.  Before
 * closing, every hole is declared a gap and all held data is delivered.  A
 * closed 4-tuple is remembered for CAP_TIMEWAIT_US so that its last ACKs
 * and late retransmissions do not open a new flow; only a SYN without ACK
 * does (port reuse), with a new id.  A SYN without ACK on a flow that is
 * still open, with another initial sequence number, ends the old flow.
 * A packet with no payload and no SYN never opens a flow.
 *
 * Bounds: at most max_flows flow structs (one malloc each, none per
 * packet); when full, a remembered closed 4-tuple is reused first, else the
 * least recently active open flow that never carried payload (the quiet
 * list: a SYN flood's), else the least recently active conversation is
 * closed (reason EVICTED, anomaly flow-limit).  Timeouts are driven by capture time, never by the clock.
 *
 * Evidence: every packet attributed to a flow (from the one that opened
 * it, pure ACKs, FIN and RST included, and those reaching it in TIME_WAIT)
 * is handed to evidence.c, which keeps it only when evidence is on.
 *
 * Deliberately not here: byte buffering (reasm.c), header parsing (tcp.c),
 * packet retention (evidence.c), anything about the application protocol.
 */
#include <sys/socket.h>

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

struct ep {
	uint8_t ip[16];
	uint16_t port;
};

struct fdir {
	struct reasm r;
	struct reasm_out out;
	struct flow *f;
	enum cap_dir dir;
	bool seen;		/* a packet came from this side */
	bool base;		/* ref_seq/ref_off are set */
	bool syn;		/* isn is from a SYN */
	bool fin;
	uint32_t isn;
	bool ack_ref_set;	/* no base: ack_ref from the peer's handshake ACK */
	uint32_t ack_ref;	/* sequence number of this side's offset 0 */
	uint32_t ref_seq;	/* sequence number of offset ref_off */
	uint64_t ref_off;	/* highest data offset seen + 1 */
	uint64_t fin_off;	/* offset of the FIN */
	uint64_t ooo_since;	/* capture time data began to wait, 0: none */
	uint64_t acked;		/* the peer acknowledged up to here */
	uint64_t acked_since;	/* capture time acked went past r.next, 0: none */
	uint64_t packets, bytes;
};

struct flow {
	LIST_ENTRY(flow) hlink;
	TAILQ_ENTRY(flow) q;	/* in the active or the closed list */
	struct cap *cap;
	uint32_t hash;
	int family;
	struct ep ep[2];	/* canonical order: ep[0] < ep[1] */
	int client;		/* index in ep[] of the client */
	uint64_t id;
	void *ctx;		/* the consumer's */
	bool open;		/* false: closed, remembered for TIME_WAIT */
	bool spoke;		/* a payload byte was seen: in active, not quiet */
	bool mid_stream;
	uint64_t last_us;	/* last activity; close time once closed */
	struct fdir *d;		/* [2], by enum cap_dir; NULL once closed */
	struct ev_flow ev;	/* its packets, when evidence is on */
};

/*
 * The directions' state (reassembly and sequence tracking, two thirds of a
 * flow) exists only while the flow is open: a closed 4-tuple remembered
 * for TIME_WAIT keeps its key, times and evidence, about 200 octets, so
 * that a table full of recently closed connections (a busy gateway's, for
 * two minutes) costs a third of what it did.  Freed pairs are kept for
 * reuse, up to DIRS_SPARE, so that a connection's start does not call
 * malloc in the common case.
 */
#define DIRS_SPARE	256

static struct fdir *
dirs_get(struct flow_table *ft)
{
	struct fdir *d = ft->spare_dirs;

	if (d != NULL) {
		memcpy(&ft->spare_dirs, d, sizeof(void *));	/* the next spare */
		ft->nspare_dirs--;
		return d;
	}
	return calloc(2, sizeof(struct fdir));
}

static void
dirs_put(struct flow_table *ft, struct fdir *d)
{
	if (d == NULL)
		return;
	if (ft->nspare_dirs >= DIRS_SPARE) {
		free(d);
		return;
	}
	memcpy(d, &ft->spare_dirs, sizeof(void *));
	ft->spare_dirs = d;
	ft->nspare_dirs++;
}

/* ---------------------------------------------------------------- table */

/* The address as two big-endian words: compared as numbers they order
 * like memcmp() of the octets, without a call per packet. */
static void
ip_words(const uint8_t ip[16], uint64_t w[2])
{
	memcpy(w, ip, 16);
	w[0] = be64toh(w[0]);
	w[1] = be64toh(w[1]);
}

static int
ep_cmp(const struct ep *a, const struct ep *b)
{
	uint64_t x[2], y[2];

	ip_words(a->ip, x);
	ip_words(b->ip, y);
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	return (a->port > b->port) - (a->port < b->port);
}

static bool
ep_eq(const struct ep *a, const struct ep *b)
{
	uint64_t x[2], y[2];

	memcpy(x, a->ip, 16);
	memcpy(y, b->ip, 16);
	return x[0] == y[0] && x[1] == y[1] && a->port == b->port;
}

/*
 * The canonical key, eight octets at a time, each word mixed in with a
 * multiply and a rotation, seeded per run and finished by an avalanche.
 * FNV-1a octet by octet was a measurable share of a replay of many short
 * sessions (38 rounds per packet); this is 5.
 */
static uint64_t
mix_word(uint64_t h, uint64_t w)
{
	h ^= w * 0x9e3779b97f4a7c15ULL;
	return (h << 27 | h >> 37) * 0xff51afd7ed558ccdULL;
}

static uint32_t
key_hash(uint32_t seed, int family, const struct ep ep[2])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed, w[2];

	h = mix_word(h, (uint64_t)(uint32_t)family << 32 | (uint32_t)ep[0].port << 16 |
	    ep[1].port);
	for (int i = 0; i < 2; i++) {
		memcpy(w, ep[i].ip, sizeof(w));
		h = mix_word(h, w[0]);
		h = mix_word(h, w[1]);
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static struct flow *
lookup(struct flow_table *ft, uint32_t h, int family, const struct ep ep[2])
{
	struct flow *f;

	LIST_FOREACH(f, &ft->buckets[h & (ft->nbuckets - 1)], hlink) {
		if (f->hash == h && f->family == family &&
		    ep_eq(&f->ep[0], &ep[0]) && ep_eq(&f->ep[1], &ep[1]))
			return f;
	}
	return NULL;
}

int
flow_init(struct cap *c, char errbuf[CAP_ERRBUF_SIZE])
{
	struct flow_table *ft = &c->ft;
	size_t n = 64;

	while (n < c->cfg.limits.max_flows && n < ((size_t)1 << 20))
		n <<= 1;
	ft->buckets = calloc(n, sizeof(*ft->buckets));
	if (ft->buckets == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory for the flow table");
		return -1;
	}
	ft->nbuckets = n;
	ft->seed = arc4random();
	TAILQ_INIT(&ft->active);
	TAILQ_INIT(&ft->quiet);
	TAILQ_INIT(&ft->closed);
	ft->nflows = 0;
	ft->nalloc = 0;
	ft->max_flows = c->cfg.limits.max_flows;
	ft->next_id = 0;
	return 0;
}

/* ---------------------------------------------------------------- events */

static void
on_data(void *arg, const uint8_t *p, size_t len, const struct cap_pos *pos)
{
	struct fdir *x = arg;
	struct cap *c = x->f->cap;

	c->st.payload_bytes += len;
	if (c->cons.data != NULL)
		c->cons.data(x->f->ctx, x->dir, p, len, pos);
}

static void
on_gap(void *arg, uint64_t len, const struct cap_pos *pos)
{
	struct fdir *x = arg;
	struct cap *c = x->f->cap;

	cap_anomaly(c, CAP_AN_TCP_GAP);
	if (c->cons.gap != NULL)
		c->cons.gap(x->f->ctx, x->dir, len, pos);
}

/* The list an open flow is in. */
static struct flow_q *
open_list(struct flow_table *ft, const struct flow *f)
{
	return f->spoke ? &ft->active : &ft->quiet;
}

static void
flow_close(struct cap *c, struct flow *f, enum cap_close_reason why,
    const struct cap_pos *at)
{
	struct cap_flow_end end;
	struct cap_pos pos = *at;
	struct fdir *x;
	int i;

	pos.offset = 0;
	memset(&end, 0, sizeof(end));
	end.reason = why;
	for (i = 0; i < 2; i++) {
		x = &f->d[i];
		if (x->fin && x->acked < x->fin_off)
			x->acked = x->fin_off;
		if (x->r.next < x->acked)
			reasm_ack(&x->r, x->acked, &pos, &x->out);
		reasm_flush(&x->r, &pos, &x->out);
		end.packets[i] = x->packets;
		end.bytes[i] = x->bytes;
		end.gap_bytes[i] = x->r.gap_bytes;
		end.conflicts[i] = x->r.conflicts;
	}
	if (!f->d[CAP_C2S].seen || !f->d[CAP_S2C].seen)
		cap_anomaly(c, CAP_AN_TCP_ONE_SIDED);
	c->ev.closing = &f->ev;	/* cap_flag_flow() from close() finds it */
	if (c->cons.close != NULL)
		c->cons.close(f->ctx, &end, &pos);
	c->ev.closing = NULL;
	ev_flow_closed(c, &f->ev);
	reasm_free(&f->d[0].r);
	reasm_free(&f->d[1].r);
	dirs_put(&c->ft, f->d);
	f->d = NULL;
	f->ctx = NULL;
	f->open = false;
	f->last_us = c->now_us;
	TAILQ_REMOVE(open_list(&c->ft, f), f, q);
	TAILQ_INSERT_TAIL(&c->ft.closed, f, q);
	c->st.flows_open--;
}

static enum cap_close_reason
idle_reason(const struct flow *f, enum cap_close_reason otherwise)
{
	return f->d[0].fin || f->d[1].fin ? CAP_CLOSE_FIN : otherwise;
}

/* Forget a closed flow entirely. */
static void
flow_forget(struct cap *c, struct flow *f)
{
	ev_flow_drop(c, &f->ev);
	LIST_REMOVE(f, hlink);
	TAILQ_REMOVE(&c->ft.closed, f, q);
	c->ft.nflows--;
	c->ft.nalloc--;
	free(f);
}

/* A flow struct for a new 4-tuple: new, or reclaimed from the oldest. */
static struct flow *
flow_alloc(struct cap *c, const struct cap_pos *pos)
{
	struct flow_table *ft = &c->ft;
	struct flow *f;

	if (ft->nalloc < ft->max_flows) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return NULL;
		ft->nalloc++;
		ft->nflows++;
		return f;
	}
	/* Full: a flow that never carried payload goes first (under a SYN
	 * flood the conversations survive), then the least recently active. */
	if (TAILQ_EMPTY(&ft->closed) && ((f = TAILQ_FIRST(&ft->quiet)) != NULL ||
	    (f = TAILQ_FIRST(&ft->active)) != NULL)) {
		cap_anomaly(c, CAP_AN_FLOW_LIMIT);
		flow_close(c, f, CAP_CLOSE_EVICTED, pos);
	}
	if ((f = TAILQ_FIRST(&ft->closed)) == NULL)
		return NULL;
	ev_flow_drop(c, &f->ev);
	LIST_REMOVE(f, hlink);
	TAILQ_REMOVE(&ft->closed, f, q);
	memset(f, 0, sizeof(*f));
	return f;
}

/* (Re)start f as a new connection; f is in the hash, in no list. */
static bool
flow_start(struct cap *c, struct flow *f, int sidx, const struct tcp_seg *t,
    const struct cap_pos *pos)
{
	struct cap_flow_info info;
	const struct ep *cl, *sv;
	bool k0, k1;
	int i;

	if ((f->d = dirs_get(&c->ft)) == NULL) {
		/* Out of memory: remembered as a closed 4-tuple instead. */
		f->open = false;
		f->last_us = pos->ts_us;
		TAILQ_INSERT_TAIL(&c->ft.closed, f, q);
		return false;
	}
	if ((t->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		f->client = sidx;
		f->mid_stream = false;
	} else if ((t->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		f->client = 1 - sidx;
		f->mid_stream = false;
	} else {
		f->mid_stream = true;
		k0 = cap_port_kept(c, f->ep[0].port);
		k1 = cap_port_kept(c, f->ep[1].port);
		if (k0 != k1)
			f->client = k0 ? 1 : 0;
		else if (f->ep[0].port != f->ep[1].port)
			f->client = f->ep[0].port < f->ep[1].port ? 1 : 0;
		else
			f->client = sidx;
		cap_anomaly(c, CAP_AN_TCP_MIDSTREAM);
	}
	f->cap = c;
	f->open = true;
	f->id = ++c->ft.next_id;
	f->last_us = pos->ts_us;
	ev_flow_start(c, &f->ev, f->id);
	for (i = 0; i < 2; i++) {
		memset(&f->d[i], 0, sizeof(f->d[i]));
		f->d[i].f = f;
		f->d[i].dir = (enum cap_dir)i;
		f->d[i].out.arg = &f->d[i];
		f->d[i].out.data = on_data;
		f->d[i].out.gap = on_gap;
		reasm_init(&f->d[i].r, &c->rpool, c->cfg.limits.max_ooo_flow, 0);
	}
	f->spoke = false;
	TAILQ_INSERT_TAIL(&c->ft.quiet, f, q);
	c->st.flows++;
	c->st.flows_open++;

	cl = &f->ep[f->client];
	sv = &f->ep[1 - f->client];
	memset(&info, 0, sizeof(info));
	info.id = f->id;
	info.family = f->family;
	memcpy(info.client_ip, cl->ip, sizeof(info.client_ip));
	memcpy(info.server_ip, sv->ip, sizeof(info.server_ip));
	info.client_port = cl->port;
	info.server_port = sv->port;
	info.mid_stream = f->mid_stream;
	info.ts_us = pos->ts_us;
	info.pkt = pos->pkt;
	f->ctx = c->cons.open != NULL ? c->cons.open(c->cons.arg, &info) : NULL;
	return true;
}

/* ---------------------------------------------------------------- segments */

/* The offset of seq in direction x: false if out of window. */
static bool
seq_off(const struct fdir *x, uint32_t seq, int64_t *off)
{
	int32_t delta = (int32_t)(seq - x->ref_seq);

	if (delta > CAP_SEQ_WINDOW || delta < -CAP_SEQ_WINDOW)
		return false;
	*off = (int64_t)x->ref_off + delta;
	return true;
}

static void
seg_data(struct cap *c, struct fdir *x, const struct tcp_seg *t,
    const struct cap_pos *pos)
{
	uint32_t seq = t->seq + ((t->flags & TH_SYN) ? 1 : 0);
	const uint8_t *data = t->data;
	size_t len = t->len;
	int64_t off, end;

	if (!x->base) {
		x->base = true;
		x->ref_seq = seq;
		x->ref_off = 0;
	}
	if (len == 0 && !(t->flags & TH_FIN))
		return;
	if (!seq_off(x, seq, &off)) {
		cap_anomaly(c, CAP_AN_TCP_OUT_OF_WINDOW);
		return;
	}
	/* Keep-alive (or Linux zero-window probe): old sequence number. */
	if (len <= 1 && !(t->flags & (TH_SYN | TH_FIN)) &&
	    off == (int64_t)x->ref_off - 1)
		return;
	end = off + (int64_t)len;
	if (end > (int64_t)x->ref_off) {
		x->ref_off = (uint64_t)end;
		x->ref_seq = seq + (uint32_t)len;
	}
	if (off < 0) {		/* before the first byte we took as offset 0 */
		if (end <= 0)
			len = 0;
		else {
			data += (size_t)-off;
			len = (size_t)end;
			off = 0;
		}
	}
	if (len > 0)
		reasm_insert(&x->r, (uint64_t)off, data, len, pos, &x->out);
	if ((t->flags & TH_FIN) && !x->fin && end >= 0) {
		x->fin = true;
		x->fin_off = (uint64_t)end;
	}
}

/* An ACK from the other side for direction x: remember how far it goes. */
static void
seg_ack(struct fdir *x, uint32_t ack, uint64_t now)
{
	int64_t aoff;

	if (!x->base || !seq_off(x, ack, &aoff) || aoff <= 0)
		return;
	if (x->fin) {
		if (aoff > (int64_t)x->fin_off)
			aoff = (int64_t)x->fin_off;
	} else if (aoff == (int64_t)x->ref_off + 1) {
		aoff--;		/* the ACK of a FIN we did not see */
	}
	if ((uint64_t)aoff <= x->r.next || (uint64_t)aoff <= x->acked)
		return;
	if ((uint64_t)aoff > x->ref_off) {
		x->ref_seq += (uint32_t)((uint64_t)aoff - x->ref_off);
		x->ref_off = (uint64_t)aoff;
	}
	x->acked = (uint64_t)aoff;
	if (x->acked_since == 0)
		x->acked_since = now;
}

/* How much of direction o a packet with this ACK number acknowledged. */
static void
ack_pos(const struct fdir *o, uint32_t ack, struct cap_pos *p)
{
	int64_t off;
	uint32_t d;

	if (o->base) {
		if (seq_off(o, ack, &off) && off >= 0) {
			p->peer_ack_known = true;
			p->peer_acked = (uint64_t)off;
		}
	} else if (o->ack_ref_set && (d = ack - o->ack_ref) <= CAP_SEQ_WINDOW) {
		p->peer_ack_known = true;
		p->peer_acked = d;
	}
}

/* Bounded waits: for acknowledged bytes, and for holes before held data. */
static void
ooo_wait(struct fdir *x, uint64_t now, const struct cap_pos *pos)
{
	if (x->acked <= x->r.next)
		x->acked_since = 0;
	else if (now >= x->acked_since &&
	    now - x->acked_since >= CAP_ACK_WAIT_US) {
		reasm_ack(&x->r, x->acked, pos, &x->out);
		x->acked_since = 0;
	}
	if (reasm_pending(&x->r) == 0) {
		x->ooo_since = 0;
		return;
	}
	if (x->ooo_since == 0) {
		x->ooo_since = now;
		return;
	}
	if (now - x->ooo_since < CAP_OOO_WAIT_US || now < x->ooo_since)
		return;
	reasm_skip(&x->r, pos, &x->out);
	x->ooo_since = reasm_pending(&x->r) != 0 ? now : 0;
}

static bool
dir_done(const struct fdir *x)
{
	return x->fin && x->r.next >= x->fin_off;
}

void
flow_input(struct cap *c, const struct ip_pkt *ip, const struct tcp_seg *t,
    const struct cap_pos *pos)
{
	struct flow_table *ft = &c->ft;
	struct ep key[2], src, dst;
	struct flow *f;
	struct fdir *x, *o;
	struct cap_pos xp;
	uint32_t h;
	int sidx;
	bool syn_only = (t->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;

	memcpy(src.ip, ip->src, sizeof(src.ip));
	src.port = t->sport;
	memcpy(dst.ip, ip->dst, sizeof(dst.ip));
	dst.port = t->dport;
	sidx = ep_cmp(&src, &dst) <= 0 ? 0 : 1;
	key[sidx] = src;
	key[1 - sidx] = dst;
	h = key_hash(ft->seed, ip->family, key);
	f = lookup(ft, h, ip->family, key);

	if (f != NULL && f->open && syn_only) {
		x = &f->d[f->client == sidx ? CAP_C2S : CAP_S2C];
		if (f->client != sidx || !x->syn || x->isn != t->seq)
			flow_close(c, f, idle_reason(f, CAP_CLOSE_IDLE), pos);
	}
	if (f != NULL && !f->open) {
		if (!syn_only) {	/* the tail of a closed connection */
			ev_tail(c, &f->ev);
			return;
		}
		TAILQ_REMOVE(&ft->closed, f, q);
		if (!flow_start(c, f, sidx, t, pos))
			return;
	} else if (f == NULL) {
		if (t->flags & TH_RST)
			return;
		if (!(t->flags & TH_SYN) && t->len == 0)
			return;
		if ((f = flow_alloc(c, pos)) == NULL)
			return;
		f->family = ip->family;
		f->ep[0] = key[0];
		f->ep[1] = key[1];
		f->hash = h;
		LIST_INSERT_HEAD(&ft->buckets[h & (ft->nbuckets - 1)], f, hlink);
		if (!flow_start(c, f, sidx, t, pos))
			return;
	}

	x = &f->d[f->client == sidx ? CAP_C2S : CAP_S2C];
	o = &f->d[f->client == sidx ? CAP_S2C : CAP_C2S];
	f->last_us = pos->ts_us > f->last_us ? pos->ts_us : f->last_us;
	TAILQ_REMOVE(open_list(ft, f), f, q);
	if (t->len > 0)
		f->spoke = true;
	TAILQ_INSERT_TAIL(open_list(ft, f), f, q);
	x->seen = true;
	x->packets++;
	x->bytes += t->len;
	ev_packet(c, &f->ev);

	if (t->flags & TH_RST) {
		flow_close(c, f, CAP_CLOSE_RST, pos);
		return;
	}
	if ((t->flags & TH_SYN) && !x->base) {
		x->syn = true;
		x->isn = t->seq;
	}
	if ((t->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && !o->base) {
		/* The client's first data byte is the one the SYN+ACK acks. */
		o->base = true;
		o->ref_seq = t->ack;
		o->ref_off = 0;
	}
	/* A capture of one direction: the handshake's last ACK names the
	 * other side's first byte, so this side's ACKs still measure how much
	 * of it had arrived (evidence for the rules, never for reassembly). */
	if ((t->flags & (TH_SYN | TH_ACK | TH_FIN)) == TH_ACK && t->len == 0 &&
	    x->syn && !o->base && !o->seen && !o->ack_ref_set &&
	    t->seq == x->isn + 1) {
		o->ack_ref_set = true;
		o->ack_ref = t->ack;
	}
	xp = *pos;
	if (t->flags & TH_ACK)
		ack_pos(o, t->ack, &xp);
	seg_data(c, x, t, &xp);
	if (t->flags & TH_ACK)
		seg_ack(o, t->ack, c->now_us);
	ooo_wait(x, c->now_us, &xp);
	ooo_wait(o, c->now_us, pos);
	if (dir_done(x) && dir_done(o))
		flow_close(c, f, CAP_CLOSE_FIN, pos);
}

/* ---------------------------------------------------------------- time */

void
flow_expire(struct cap *c, uint64_t now_us)
{
	struct flow_table *ft = &c->ft;
	uint64_t idle = (uint64_t)c->cfg.limits.idle_timeout * US_PER_S;
	struct cap_pos pos;
	struct flow *f;

	memset(&pos, 0, sizeof(pos));
	pos.ts_us = now_us;
	pos.pkt = c->pktno;
	while ((f = TAILQ_FIRST(&ft->active)) != NULL &&
	    now_us >= f->last_us && now_us - f->last_us >= idle)
		flow_close(c, f, idle_reason(f, CAP_CLOSE_IDLE), &pos);
	while ((f = TAILQ_FIRST(&ft->quiet)) != NULL &&
	    now_us >= f->last_us && now_us - f->last_us >= idle)
		flow_close(c, f, idle_reason(f, CAP_CLOSE_IDLE), &pos);
	while ((f = TAILQ_FIRST(&ft->closed)) != NULL &&
	    now_us >= f->last_us && now_us - f->last_us >= CAP_TIMEWAIT_US)
		flow_forget(c, f);
}

void
flow_finish(struct cap *c, enum cap_close_reason why)
{
	struct cap_pos pos;
	struct flow *f;

	memset(&pos, 0, sizeof(pos));
	pos.ts_us = c->now_us;
	pos.pkt = c->pktno;
	while ((f = TAILQ_FIRST(&c->ft.active)) != NULL ||
	    (f = TAILQ_FIRST(&c->ft.quiet)) != NULL)
		flow_close(c, f, f->d[0].fin && f->d[1].fin ? CAP_CLOSE_FIN : why,
		    &pos);
}

void
flow_free(struct cap *c)
{
	struct flow *f;
	struct fdir *d;

	if (c->ft.buckets == NULL)
		return;
	/* Open flows are dropped without events: call cap_finish() first. */
	while ((f = TAILQ_FIRST(&c->ft.active)) != NULL ||
	    (f = TAILQ_FIRST(&c->ft.quiet)) != NULL) {
		reasm_free(&f->d[0].r);
		reasm_free(&f->d[1].r);
		free(f->d);
		f->d = NULL;
		TAILQ_REMOVE(open_list(&c->ft, f), f, q);
		TAILQ_INSERT_TAIL(&c->ft.closed, f, q);
	}
	while ((f = TAILQ_FIRST(&c->ft.closed)) != NULL)
		flow_forget(c, f);
	while ((d = c->ft.spare_dirs) != NULL) {
		memcpy(&c->ft.spare_dirs, d, sizeof(void *));
		free(d);
	}
	c->ft.nspare_dirs = 0;
	free(c->ft.buckets);
	c->ft.buckets = NULL;
}

struct ev_flow *
flow_ev_find(struct cap *c, uint64_t id)
{
	struct flow *f;

	/* The flow of the packet being processed is the most recent. */
	TAILQ_FOREACH_REVERSE(f, &c->ft.active, flow_q, q) {
		if (f->id == id)
			return &f->ev;
	}
	return NULL;
}
