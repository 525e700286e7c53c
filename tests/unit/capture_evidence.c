/*
 * capture_evidence.c - unit tests for evidence.c: the -w file, the
 * per-flow and total caps, the retained store and cap_evidence_write(),
 * and the error paths.
 *
 * Whole SMTP-shaped TCP sessions (handshake, greeting, QUIT, FINs and the
 * last ACK, which arrives after the flow has closed) are crafted as
 * Ethernet frames and fed through cap_input(), the private entry point in
 * cap_int.h, with a consumer that flags chosen flows with cap_flag_flow()
 * from its close() callback (as the decoder does) or from data().  The
 * pcaps written are read back with libpcap and compared frame by frame
 * (bytes, lengths, timestamps, order) with what was fed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/cap_int.h"

/* ---------------------------------------------------------------- frames */

#define FR_MAX	16
#define HDRS	54	/* Ethernet + IPv4 + TCP */
#define REC	((int)sizeof(struct ev_rec))	/* evidence.c's record header */

struct frame {
	uint8_t b[128];
	size_t len;
	uint64_t ts;
};

struct sess {
	uint16_t cport;
	struct frame f[FR_MAX];
	int n;
};

static const uint8_t CLI[4] = { 192, 0, 2, 10 };
static const uint8_t SRV[4] = { 198, 51, 100, 25 };
static const uint64_t T0 = 1700000000ULL * 1000000ULL;

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
ip_sum(uint8_t *h)
{
	uint32_t s = 0;
	int i;

	h[10] = h[11] = 0;
	for (i = 0; i < 20; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	put16(h + 10, ~s & 0xffff);
}

/* An Ethernet/IPv4 header for an IP payload of len bytes; returns 34. */
static size_t
eth_ip(uint8_t *p, bool c2s, size_t len, uint16_t id, uint16_t fragw)
{
	memset(p, 0, 34);
	memset(p, 0xaa, 12);
	put16(p + 12, 0x0800);
	p[14] = 0x45;
	put16(p + 16, (unsigned)(20 + len));
	put16(p + 18, id);
	put16(p + 20, fragw);
	p[22] = 64;
	p[23] = 6;
	memcpy(p + 26, c2s ? CLI : SRV, 4);
	memcpy(p + 30, c2s ? SRV : CLI, 4);
	ip_sum(p + 14);
	return 34;
}

static size_t
tcp(uint8_t *p, bool c2s, uint16_t cport, uint32_t seq, uint32_t ack,
    uint8_t flags, const char *data)
{
	size_t n = data != NULL ? strlen(data) : 0;

	memset(p, 0, 20);
	put16(p, c2s ? cport : 25);
	put16(p + 2, c2s ? 25 : cport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	if (n > 0)
		memcpy(p + 20, data, n);
	return 20 + n;
}

static void
add(struct sess *s, bool c2s, uint32_t seq, uint32_t ack, uint8_t flags,
    const char *data, uint64_t ts)
{
	struct frame *f;
	uint8_t l4[100];
	size_t n;

	assert_true(s->n < FR_MAX);
	f = &s->f[s->n++];
	n = tcp(l4, c2s, s->cport, seq, ack, flags, data);
	f->len = eth_ip(f->b, c2s, n, 1, 0);
	memcpy(f->b + f->len, l4, n);
	f->len += n;
	f->ts = ts;
}

/*
 * A whole session starting at t, one packet per `step` microseconds.  The
 * flow closes on the client's FIN (both directions done); the server's
 * last ACK comes after the close.
 */
static void
mksess(struct sess *s, uint16_t cport, uint64_t t, uint64_t step)
{
	memset(s, 0, sizeof(*s));
	s->cport = cport;
	add(s, true, 1000, 0, TH_SYN, NULL, t);
	add(s, false, 5000, 1001, TH_SYN | TH_ACK, NULL, t += step);
	add(s, true, 1001, 5001, TH_ACK, NULL, t += step);
	add(s, false, 5001, 1001, TH_PUSH | TH_ACK, "220 hi\r\n", t += step);
	add(s, true, 1001, 5009, TH_ACK, NULL, t += step);
	add(s, true, 1001, 5009, TH_PUSH | TH_ACK, "QUIT\r\n", t += step);
	add(s, false, 5009, 1007, TH_PUSH | TH_ACK, "221 bye\r\n", t += step);
	add(s, false, 5018, 1007, TH_FIN | TH_ACK, NULL, t += step);
	add(s, true, 1007, 5019, TH_FIN | TH_ACK, NULL, t += step);
	add(s, false, 5019, 1008, TH_ACK, NULL, t += step);	/* after close */
}

static size_t
sess_bytes(const struct sess *s, int n)
{
	size_t t = 0;
	int i;

	for (i = 0; i < n; i++)
		t += REC + s->f[i].len;
	return t;
}

/* ---------------------------------------------------------------- consumer */

struct tcons;

struct tflow {
	struct tcons *t;
	uint64_t id;
	uint16_t cport;
};

struct tcons {
	struct cap *cap;
	uint16_t flag_close[8];	/* flag these client ports in close() */
	int nclose;
	uint16_t flag_data;	/* flag this one in data() */
	struct tflow fl[16];
	int n;
	int closes;
};

static void *
t_open(void *arg, const struct cap_flow_info *info)
{
	struct tcons *t = arg;
	struct tflow *f;

	assert_true(t->n < 16);
	f = &t->fl[t->n++];
	f->t = t;
	f->id = info->id;
	f->cport = info->client_port;
	return f;
}

static void
t_data(void *ctx, enum cap_dir d, const uint8_t *p, size_t len,
    const struct cap_pos *pos)
{
	struct tflow *f = ctx;

	(void)d; (void)p; (void)len; (void)pos;
	if (f->cport == f->t->flag_data)
		cap_flag_flow(f->t->cap, f->id);
}

static void
t_close(void *ctx, const struct cap_flow_end *end, const struct cap_pos *pos)
{
	struct tflow *f = ctx;
	struct tcons *t = f->t;
	int i;

	(void)end; (void)pos;
	t->closes++;
	for (i = 0; i < t->nclose; i++)
		if (t->flag_close[i] == f->cport)
			cap_flag_flow(t->cap, f->id);
}

/* Feed every frame of the sessions in time order. */
static void
feed(struct cap *c, struct sess *s, int ns)
{
	int idx[8] = { 0 }, i, best;
	const struct frame *f;

	assert_true(ns <= 8);
	for (;;) {
		best = -1;
		for (i = 0; i < ns; i++)
			if (idx[i] < s[i].n && (best == -1 ||
			    s[i].f[idx[i]].ts < s[best].f[idx[best]].ts))
				best = i;
		if (best == -1)
			return;
		f = &s[best].f[idx[best]++];
		cap_input(c, f->ts, f->b, f->len, f->len);
	}
}

static struct cap *
mkcap(struct tcons *t, const struct cap_config *cfg)
{
	struct cap_consumer cons = { t, t_open, t_data, NULL, t_close };
	char eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	eb[0] = '\0';
	if (cap_open_raw(&c, cfg, &cons, 1, eb) != 0)
		fail_msg("cap_open_raw: %s", eb);
	t->cap = c;
	return c;
}

static struct cap_stats
stats(struct cap *c)
{
	struct cap_stats st;

	cap_stats(c, &st);
	return st;
}

/* ---------------------------------------------------------------- reading */

struct got {
	struct frame f[64];
	int n;
	int dlt, snaplen;
};

static void
read_pcap(const char *path, struct got *g)
{
	char eb[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p;
	int rc;

	memset(g, 0, sizeof(*g));
	p = pcap_open_offline_with_tstamp_precision(path,
	    PCAP_TSTAMP_PRECISION_MICRO, eb);
	if (p == NULL)
		fail_msg("%s: %s", path, eb);
	g->dlt = pcap_datalink(p);
	g->snaplen = pcap_snapshot(p);
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		assert_true(g->n < 64);
		assert_true(h->caplen <= sizeof(g->f[0].b));
		assert_int_equal(h->caplen, h->len);
		memcpy(g->f[g->n].b, d, h->caplen);
		g->f[g->n].len = h->caplen;
		g->f[g->n].ts = (uint64_t)h->ts.tv_sec * 1000000ULL +
		    (uint64_t)h->ts.tv_usec;
		g->n++;
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK);	/* clean end of file */
	pcap_close(p);
}

static uint16_t
frame_cport(const struct frame *f)
{
	unsigned sp = get16(f->b + 34), dp = get16(f->b + 36);

	return (uint16_t)(sp == 25 ? dp : sp);
}

/* The frames of s's port in g are exactly s's first n frames, in order. */
static void
assert_has(const struct got *g, const struct sess *s, int n)
{
	int i, k = 0;

	for (i = 0; i < g->n; i++) {
		if (frame_cport(&g->f[i]) != s->cport)
			continue;
		assert_true(k < n);
		assert_int_equal(g->f[i].len, s->f[k].len);
		assert_memory_equal(g->f[i].b, s->f[k].b, s->f[k].len);
		assert_int_equal(g->f[i].ts, s->f[k].ts);
		k++;
	}
	assert_int_equal(k, n);
}

static int
count_port(const struct got *g, uint16_t cport)
{
	int i, k = 0;

	for (i = 0; i < g->n; i++)
		k += frame_cport(&g->f[i]) == cport;
	return k;
}

static char tdir[64];

static int
setup(void **state)
{
	(void)state;
	strlcpy(tdir, "/tmp/capture_evidence.XXXXXX", sizeof(tdir));
	return mkdtemp(tdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tdir, name);
}

/* ---------------------------------------------------------------- tests */

/* Flagged flows, and only those, land in -w whole: SYN to last ACK. */
static void
test_w_flagged_only(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[4];
	struct got g;
	struct cap_stats st;
	char path[128], eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	(void)state;
	tpath(path, sizeof(path), "w.pcap");
	cap_config_init(&cfg);
	cfg.evidence_file = path;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;	/* flagged at close */
	t.flag_data = 40003;			/* flagged while open */
	c = mkcap(&t, &cfg);
	/* Interleaved: 1 and 2 overlap, 3 later; 4 flagged, but RST-closed. */
	mksess(&s[0], 40001, T0, 10);
	mksess(&s[1], 40002, T0 + 3, 10);
	mksess(&s[2], 40003, T0 + 1000, 10);
	memset(&s[3], 0, sizeof(s[3]));
	s[3].cport = 40004;
	add(&s[3], true, 7000, 0, TH_SYN, NULL, T0 + 2000);
	add(&s[3], false, 9000, 7001, TH_SYN | TH_ACK, NULL, T0 + 2001);
	add(&s[3], true, 7001, 9001, TH_ACK, NULL, T0 + 2002);
	add(&s[3], false, 9001, 7001, TH_RST | TH_ACK, NULL, T0 + 2003);
	t.flag_close[t.nclose++] = 40004;
	feed(c, s, 4);
	cap_finish(c, false);
	assert_int_equal(t.closes, 4);
	/* Flagging after the end, or an unknown id, changes nothing. */
	cap_flag_flow(c, t.fl[1].id);
	cap_flag_flow(c, 9999);
	st = stats(c);
	assert_int_equal(st.evidence_flows, 3);
	assert_int_equal(st.evidence_packets, 10 + 10 + 4);
	assert_int_equal(st.evidence_cut, 0);
	assert_int_equal(st.evidence_retained, 0);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	/* Nothing is held once every flow has ended. */
	assert_int_equal(c->ev.total, 0);
	cap_close(c);

	read_pcap(path, &g);
	assert_int_equal(g.dlt, 1);
	assert_int_equal(g.snaplen, CAP_DEF_SNAPLEN);
	assert_int_equal(g.n, 24);
	assert_has(&g, &s[0], 10);
	assert_has(&g, &s[2], 10);
	assert_has(&g, &s[3], 4);
	assert_int_equal(count_port(&g, 40002), 0);
	/* Written flow by flow as each ends, the late ACK right after. */
	assert_int_equal(frame_cport(&g.f[0]), 40001);
	assert_int_equal(frame_cport(&g.f[9]), 40001);
	assert_int_equal(frame_cport(&g.f[10]), 40003);
}

/* Evidence off: nothing buffered, nothing counted, flags are harmless. */
static void
test_off(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[1];
	struct cap_stats st;
	char eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	(void)state;
	cap_config_init(&cfg);
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	c = mkcap(&t, &cfg);
	mksess(&s[0], 40001, T0, 10);
	s[0].n = 5;			/* still open */
	feed(c, s, 1);
	assert_false(c->ev.on);
	assert_int_equal(c->ev.total, 0);
	cap_finish(c, false);
	st = stats(c);
	assert_int_equal(st.evidence_flows, 0);
	assert_int_equal(st.evidence_packets, 0);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	assert_int_equal(cap_evidence_write(c, "/nonexistent/x.pcap", eb), -1);
	assert_string_equal(eb, "cannot write '/nonexistent/x.pcap': flagged "
	    "sessions are not being kept (evidence_keep is off)");
	cap_close(c);
}

/* Per flow: the first packets that fit are kept, and nothing after. */
static void
test_cap_per_flow(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[2];
	struct got g;
	struct cap_stats st;
	char path[128], eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	(void)state;
	tpath(path, sizeof(path), "perflow.pcap");
	mksess(&s[0], 40001, T0, 10);
	mksess(&s[1], 40002, T0 + 5, 10);
	cap_config_init(&cfg);
	cfg.evidence_file = path;
	/*
	 * Room for SYN, SYN+ACK, ACK (54 bytes each) and one byte short of
	 * the greeting (62); the ACK after it (54) would fit, but what is
	 * kept must be a prefix, so it is cut too.
	 */
	cfg.max_evidence_flow = sess_bytes(&s[0], 4) - 1;
	assert_true(sess_bytes(&s[0], 3) + REC + s[0].f[4].len <=
	    cfg.max_evidence_flow);
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	t.flag_close[t.nclose++] = 40002;
	c = mkcap(&t, &cfg);
	feed(c, s, 2);
	cap_finish(c, false);
	st = stats(c);
	assert_int_equal(st.evidence_flows, 2);
	assert_int_equal(st.evidence_packets, 6);
	assert_int_equal(st.evidence_cut, 14);	/* 6 while open + late ACK, x2 */
	assert_int_equal(cap_evidence_close(c, eb), 0);
	cap_close(c);
	read_pcap(path, &g);
	assert_int_equal(g.n, 6);
	assert_has(&g, &s[0], 3);
	assert_has(&g, &s[1], 3);
}

/* In all: open flows stop buffering when the total is reached. */
static void
test_cap_total_open(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[1];
	struct got g;
	struct cap_stats st;
	char path[128], eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	(void)state;
	tpath(path, sizeof(path), "total.pcap");
	mksess(&s[0], 40001, T0, 10);
	cap_config_init(&cfg);
	cfg.evidence_file = path;
	cfg.max_evidence_total = sess_bytes(&s[0], 3);
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	c = mkcap(&t, &cfg);
	feed(c, s, 1);
	assert_true(c->ev.total <= cfg.max_evidence_total);
	cap_finish(c, false);
	st = stats(c);
	assert_int_equal(st.evidence_packets, 3);
	assert_int_equal(st.evidence_cut, 7);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	cap_close(c);
	read_pcap(path, &g);
	assert_int_equal(g.n, 3);
	assert_has(&g, &s[0], 3);
}

/*
 * Retained store: two flagged flows kept, then a third needs the room and
 * the oldest retained one is evicted; cap_evidence_write merges the rest
 * by time.
 */
static void
test_keep_evict_write(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[4];
	struct got g;
	struct cap_stats st;
	char path[128], eb[CAP_ERRBUF_SIZE], cmd[200];
	struct cap *c;
	size_t one;
	int i;

	(void)state;
	tpath(path, sizeof(path), "kept.pcap");
	mksess(&s[0], 40001, T0, 10);
	mksess(&s[1], 40002, T0 + 5, 10);	/* interleaved with the first */
	mksess(&s[2], 40003, T0 + 1000, 10);	/* unflagged */
	mksess(&s[3], 40004, T0 + 2000, 10);
	one = sess_bytes(&s[0], 10);
	cap_config_init(&cfg);
	cfg.evidence_keep = true;
	cfg.max_evidence_total = 2 * one + 8;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	t.flag_close[t.nclose++] = 40002;
	t.flag_close[t.nclose++] = 40004;
	c = mkcap(&t, &cfg);

	feed(c, s, 2);
	st = stats(c);
	assert_int_equal(st.evidence_retained, 2);
	assert_int_equal(st.evidence_packets, 20);	/* late ACKs included */
	assert_int_equal(c->ev.total, 2 * one);		/* shrunk to fit */
	assert_int_equal(cap_evidence_write(c, path, eb), 2);
	read_pcap(path, &g);
	assert_int_equal(g.n, 20);
	assert_has(&g, &s[0], 10);
	assert_has(&g, &s[1], 10);
	for (i = 1; i < g.n; i++)	/* merged in time order */
		assert_true(g.f[i - 1].ts < g.f[i].ts);

	/* An unflagged flow also needs room while open: evicts the oldest. */
	feed(c, &s[2], 1);
	st = stats(c);
	assert_int_equal(st.evidence_evicted, 1);
	assert_int_equal(st.evidence_retained, 1);
	feed(c, &s[3], 1);
	st = stats(c);
	assert_int_equal(st.evidence_retained, 2);
	assert_int_equal(st.evidence_flows, 3);
	assert_int_equal(st.evidence_cut, 0);
	assert_true(c->ev.total <= cfg.max_evidence_total);

	assert_int_equal(cap_evidence_write(c, path, eb), 2);
	read_pcap(path, &g);
	assert_int_equal(g.n, 20);
	assert_int_equal(count_port(&g, 40001), 0);
	assert_has(&g, &s[1], 10);
	assert_has(&g, &s[3], 10);
	/* No temp file left beside it. */
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q '^\\.kept'", tdir);
	assert_int_not_equal(system(cmd), 0);
	cap_finish(c, false);
	cap_close(c);
}

/*
 * A flow struct reused for a new connection on the same 4-tuple (a SYN in
 * TIME_WAIT) does not disturb the retained copy of the old one.
 */
static void
test_port_reuse(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[2];
	struct got g;
	char path[128], wpath[128], eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	(void)state;
	tpath(path, sizeof(path), "reuse.pcap");
	tpath(wpath, sizeof(wpath), "reuse-w.pcap");
	mksess(&s[0], 40001, T0, 10);
	mksess(&s[1], 40001, T0 + 1000, 10);
	s[1].n = 5;	/* the second connection stays open, unflagged */
	cap_config_init(&cfg);
	cfg.evidence_keep = true;
	cfg.evidence_file = wpath;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	c = mkcap(&t, &cfg);
	feed(c, &s[0], 1);
	feed(c, &s[1], 1);
	assert_int_equal(t.n, 2);
	assert_int_equal(cap_evidence_write(c, path, eb), 1);
	read_pcap(path, &g);
	assert_int_equal(g.n, 10);
	assert_has(&g, &s[0], 10);
	/* The new connection is flagged at its end (EOF): -w gets both. */
	cap_finish(c, false);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	cap_close(c);
	read_pcap(wpath, &g);
	assert_int_equal(g.n, 15);
	assert_memory_equal(g.f[10].b, s[1].f[0].b, s[1].f[0].len);
}

/* A datagram rebuilt from fragments is kept as the frame completing it. */
static void
test_fragments(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[1];
	struct frame f1, f2;
	struct got g;
	uint8_t l4[100];
	char path[128], eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	size_t n;
	int i;

	(void)state;
	tpath(path, sizeof(path), "frag.pcap");
	mksess(&s[0], 40001, T0, 10);
	/* The greeting (frame 3: 28 bytes of TCP) as two fragments: 16 + 12. */
	n = tcp(l4, false, 40001, 5001, 1001, TH_PUSH | TH_ACK, "220 hi\r\n");
	assert_int_equal(n, 28);
	f1.len = eth_ip(f1.b, false, 16, 77, 0x2000);
	memcpy(f1.b + f1.len, l4, 16);
	f1.len += 16;
	f1.ts = s[0].f[3].ts - 1;
	f2.len = eth_ip(f2.b, false, 12, 77, 2);	/* offset 16 bytes */
	memcpy(f2.b + f2.len, l4 + 16, 12);
	f2.len += 12;
	f2.ts = s[0].f[3].ts;
	cap_config_init(&cfg);
	cfg.evidence_file = path;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	c = mkcap(&t, &cfg);
	for (i = 0; i < s[0].n; i++) {
		if (i == 3) {
			cap_input(c, f1.ts, f1.b, f1.len, f1.len);
			cap_input(c, f2.ts, f2.b, f2.len, f2.len);
		} else
			cap_input(c, s[0].f[i].ts, s[0].f[i].b, s[0].f[i].len,
			    s[0].f[i].len);
	}
	cap_finish(c, false);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	cap_close(c);
	read_pcap(path, &g);
	assert_int_equal(g.n, 10);
	assert_int_equal(g.f[3].len, f2.len);
	assert_memory_equal(g.f[3].b, f2.b, f2.len);
	assert_memory_equal(g.f[4].b, s[0].f[4].b, s[0].f[4].len);
}

/* Opening -w: each failure is one clear line, and cap_open fails. */
static void
test_open_errors(void **state)
{
	struct cap_config cfg;
	struct cap_consumer cons;
	struct tcons t;
	char path[128], want[300], eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	FILE *fp;

	(void)state;
	memset(&t, 0, sizeof(t));
	cons = (struct cap_consumer){ &t, t_open, t_data, NULL, t_close };
	cap_config_init(&cfg);

	tpath(path, sizeof(path), "nodir/x.pcap");
	cfg.evidence_file = path;
	assert_int_equal(cap_open_raw(&c, &cfg, &cons, 1, eb), -1);
	assert_null(c);
	snprintf(want, sizeof(want),
	    "cannot create '%s': No such file or directory", path);
	assert_string_equal(eb, want);

	tpath(path, sizeof(path), "afile");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	tpath(path, sizeof(path), "afile/x.pcap");
	assert_int_equal(cap_open_raw(&c, &cfg, &cons, 1, eb), -1);
	snprintf(want, sizeof(want), "cannot create '%s': Not a directory", path);
	assert_string_equal(eb, want);

	/* The header is written at open, so a full device fails there. */
	cfg.evidence_file = "/dev/full";
	assert_int_equal(cap_open_raw(&c, &cfg, &cons, 1, eb), -1);
	assert_string_equal(eb, "cannot write '/dev/full': No space left on device");
}

static void
write_pcap(const char *path, int dlt, const struct sess *s)
{
	pcap_t *p = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d;
	struct pcap_pkthdr h;
	int i;

	assert_non_null(p);
	d = pcap_dump_open(p, path);
	assert_non_null(d);
	for (i = 0; i < s->n; i++) {
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)(s->f[i].ts / 1000000);
		h.ts.tv_usec = (suseconds_t)(s->f[i].ts % 1000000);
		h.caplen = h.len = (bpf_u_int32)s->f[i].len;
		pcap_dump((u_char *)d, &h, s->f[i].b);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

/* Files: one link type for -w, and never an input as the output. */
static void
test_open_files(void **state)
{
	struct cap_config cfg;
	struct cap_consumer cons;
	struct tcons t;
	struct sess s[1];
	struct stat sb;
	char a[128], b[128], w[128], want[600], eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	struct got g;

	(void)state;
	tpath(a, sizeof(a), "a.pcap");
	tpath(b, sizeof(b), "b.pcap");
	tpath(w, sizeof(w), "files-w.pcap");
	mksess(&s[0], 40001, T0, 10);
	write_pcap(a, 1, &s[0]);
	write_pcap(b, 113, &s[0]);	/* Linux cooked: the frames are junk, never mind */
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	cons = (struct cap_consumer){ &t, t_open, t_data, NULL, t_close };
	cap_config_init(&cfg);
	cfg.files[0] = a;
	cfg.files[1] = b;
	cfg.nfiles = 2;
	cfg.evidence_file = w;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	snprintf(want, sizeof(want), "cannot write '%s': the inputs have different "
	    "link types ('%s' is EN10MB (1), '%s' is LINUX_SLL (113)) and a pcap "
	    "holds one; read them in separate runs", w, a, b);
	assert_string_equal(eb, want);

	/* Keeping alone does not refuse the run; writing then says why. */
	cfg.evidence_file = NULL;
	cfg.evidence_keep = true;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), 0);
	assert_false(c->ev.on);
	assert_int_equal(cap_evidence_write(c, w, eb), -1);
	snprintf(want, sizeof(want), "cannot write '%s': the inputs have "
	    "different link types and a pcap holds one", w);
	assert_string_equal(eb, want);
	cap_close(c);

	/* An input given as the output is refused and left alone. */
	cfg.nfiles = 1;
	cfg.evidence_keep = false;
	cfg.evidence_file = a;
	assert_int_equal(stat(a, &sb), 0);
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	snprintf(want, sizeof(want), "cannot write '%s': it is also an input", a);
	assert_string_equal(eb, want);
	read_pcap(a, &g);
	assert_int_equal(g.n, 10);

	/* A file run, through cap_dispatch: every packet of the flow. */
	cfg.evidence_file = w;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), 0);
	t.cap = c;
	assert_int_equal(cap_dispatch(c, 0, eb), 10);
	assert_int_equal(cap_dispatch(c, 0, eb), CAP_EOF);
	cap_finish(c, false);
	assert_int_equal(cap_evidence_close(c, eb), 0);
	cap_close(c);
	read_pcap(w, &g);
	assert_int_equal(g.snaplen, 65535);	/* the input's */
	assert_has(&g, &s[0], 10);
}

/* A write failing mid-run is remembered and reported at close. */
static void
test_write_error(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[2];
	struct cap_stats st;
	char path[128], want[300], eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	int rfd;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	tpath(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	cap_config_init(&cfg);
	cfg.evidence_file = path;
	memset(&t, 0, sizeof(t));
	t.flag_close[t.nclose++] = 40001;
	t.flag_close[t.nclose++] = 40002;
	c = mkcap(&t, &cfg);
	close(rfd);		/* the reader goes away after the header */
	mksess(&s[0], 40001, T0, 10);
	mksess(&s[1], 40002, T0 + 1000, 10);
	feed(c, s, 2);
	cap_finish(c, false);
	st = stats(c);
	assert_int_equal(st.evidence_flows, 2);
	assert_int_equal(c->ev.werr, EPIPE);
	assert_int_equal(cap_evidence_close(c, eb), -1);
	snprintf(want, sizeof(want), "cannot write '%s': Broken pipe; the "
	    "evidence file is incomplete", path);
	assert_string_equal(eb, want);
	/* Still reported if asked again. */
	assert_int_equal(cap_evidence_close(c, eb), -1);
	cap_close(c);
	signal(SIGPIPE, SIG_DFL);
}

/* cap_evidence_write into a directory that does not exist. */
static void
test_write_on_demand_errors(void **state)
{
	struct cap_config cfg;
	struct tcons t;
	struct sess s[1];
	char path[128], want[300], eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	struct got g;

	(void)state;
	cap_config_init(&cfg);
	cfg.evidence_keep = true;
	memset(&t, 0, sizeof(t));
	c = mkcap(&t, &cfg);
	/* Nothing flagged yet: a valid, empty capture. */
	tpath(path, sizeof(path), "empty.pcap");
	assert_int_equal(cap_evidence_write(c, path, eb), 0);
	read_pcap(path, &g);
	assert_int_equal(g.n, 0);
	mksess(&s[0], 40001, T0, 10);
	t.flag_close[t.nclose++] = 40001;
	feed(c, s, 1);
	tpath(path, sizeof(path), "nodir/x.pcap");
	assert_int_equal(cap_evidence_write(c, path, eb), -1);
	snprintf(want, sizeof(want), "cannot create '%s': No such file or directory",
	    path);
	assert_string_equal(eb, want);
	assert_int_equal(cap_evidence_write(c, "/tmp/", eb), -1);
	assert_string_equal(eb,
	    "cannot write '/tmp/': path too long or no file name");
	cap_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_w_flagged_only),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_cap_per_flow),
		cmocka_unit_test(test_cap_total_open),
		cmocka_unit_test(test_keep_evict_write),
		cmocka_unit_test(test_port_reuse),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_files),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_write_on_demand_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
