/*
 * capture_packet.c - unit tests for the capture layer below the
 * reassembler: link types, IPv4/IPv6 decoding, fragments, TCP headers, the
 * flow table, and the file source.
 *
 * Packets are crafted in memory and fed through cap_input() (the private
 * entry point in cap_int.h that numbers and decodes one packet of a given
 * link type), with a recording consumer that keeps every open, data, gap
 * and close event; tests assert the exact bytes delivered per direction,
 * the roles, the close reasons and the anomaly counters.  The file-source
 * tests write small pcap files to a temporary directory and go through
 * cap_open()/cap_dispatch() like the program does.  The reassembler's own
 * orderings are tested in capture_reasm.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/cap_int.h"

/* ---------------------------------------------------------------- recorder */

#define RF_MAX	16
#define RD_MAX	4096

struct rflow {
	struct cap_flow_info info;
	uint8_t data[2][RD_MAX];
	size_t len[2];
	uint64_t gap_off[2][8], gap_len[2][8];
	int ngaps[2];
	uint64_t last_pkt[2];	/* packet number of the last data event */
	bool ack_known[2];	/* the last data event's peer_ack_known */
	uint64_t acked[2];	/* and its peer_acked */
	bool closed;
	struct cap_flow_end end;
};

struct rec {
	struct rflow f[RF_MAX];
	int n;
};

static void *
r_open(void *arg, const struct cap_flow_info *info)
{
	struct rec *r = arg;
	struct rflow *f;

	assert_true(r->n < RF_MAX);
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->info = *info;
	return f;
}

static void
r_data(void *ctx, enum cap_dir d, const uint8_t *p, size_t len,
    const struct cap_pos *pos)
{
	struct rflow *f = ctx;

	assert_false(f->closed);
	assert_true(f->len[d] + len <= RD_MAX);
	memcpy(f->data[d] + f->len[d], p, len);
	f->len[d] += len;
	f->last_pkt[d] = pos->pkt;
	f->ack_known[d] = pos->peer_ack_known;
	f->acked[d] = pos->peer_acked;
}

static void
r_gap(void *ctx, enum cap_dir d, uint64_t len, const struct cap_pos *pos)
{
	struct rflow *f = ctx;

	assert_false(f->closed);
	assert_true(f->ngaps[d] < 8);
	f->gap_off[d][f->ngaps[d]] = pos->offset;
	f->gap_len[d][f->ngaps[d]++] = len;
}

static void
r_close(void *ctx, const struct cap_flow_end *end, const struct cap_pos *pos)
{
	struct rflow *f = ctx;

	(void)pos;
	assert_false(f->closed);
	f->closed = true;
	f->end = *end;
}

static struct cap *
mkcap(struct rec *r, int dlt, const struct cap_config *cfgin)
{
	struct cap_consumer cons = { r, r_open, r_data, r_gap, r_close };
	struct cap_config cfg;
	char eb[CAP_ERRBUF_SIZE];
	struct cap *c;

	memset(r, 0, sizeof(*r));
	if (cfgin != NULL)
		cfg = *cfgin;
	else
		cap_config_init(&cfg);
	assert_int_equal(cap_open_raw(&c, &cfg, &cons, dlt, eb), 0);
	return c;
}

static uint64_t
an(struct cap *c, enum cap_anomaly a)
{
	struct cap_stats st;

	cap_stats(c, &st);
	return st.anomalies[a];
}

static uint64_t
an_total(struct cap *c)
{
	struct cap_stats st;
	uint64_t n = 0;
	int i;

	cap_stats(c, &st);
	for (i = 0; i < CAP_AN_MAX; i++)
		n += st.anomalies[i];
	return n;
}

/* ---------------------------------------------------------------- builders */

static const uint8_t CLI4[4] = { 192, 0, 2, 10 };
static const uint8_t SRV4[4] = { 198, 51, 100, 25 };
static const uint8_t CLI6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 };
static const uint8_t SRV6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x25 };

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t
tcp_hdr(uint8_t *p, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
    uint8_t flags, const void *data, size_t len)
{
	memset(p, 0, 20);
	put16(p, sp);
	put16(p + 2, dp);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	if (len > 0)
		memcpy(p + 20, data, len);
	return 20 + len;
}

static void
ip4_sum(uint8_t *h, size_t hlen)
{
	uint32_t s = 0;
	size_t i;

	h[10] = h[11] = 0;
	for (i = 0; i < hlen; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	put16(h + 10, ~s & 0xffff);
}

/* IPv4 around an upper-layer payload; optlen bytes of NOP options. */
static size_t
ip4(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t proto,
    const uint8_t *l4, size_t len, size_t optlen, uint16_t id, uint16_t fragw)
{
	size_t hlen = 20 + optlen;

	memset(p, 0, hlen);
	p[0] = (uint8_t)(0x40 | (hlen / 4));
	put16(p + 2, (unsigned)(hlen + len));
	put16(p + 4, id);
	put16(p + 6, fragw);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	memset(p + 20, 1, optlen);	/* NOP */
	ip4_sum(p, hlen);
	memcpy(p + hlen, l4, len);
	return hlen + len;
}

/* IPv6 with the first next-header nh; ext is pre-built extension headers. */
static size_t
ip6(uint8_t *p, const uint8_t *src, const uint8_t *dst, uint8_t nh,
    const uint8_t *rest, size_t len)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned)len);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	memcpy(p + 40, rest, len);
	return 40 + len;
}

enum lk { LK_ETH, LK_VLAN, LK_QINQ, LK_SLL, LK_SLL2, LK_NULL_LE, LK_NULL_BE,
    LK_LOOP, LK_RAW, LK_IPV4, LK_IPV6 };

static int
lk_dlt(enum lk k)
{
	static const int dlt[] = { 1, 1, 1, 113, 276, 0, 0, 108, 12, 228, 229 };

	return dlt[k];
}

/* Wrap an IP packet (v6 or not) in a link header. */
static size_t
wrap(uint8_t *out, enum lk k, bool v6, const uint8_t *ip, size_t len)
{
	uint16_t et = v6 ? 0x86dd : 0x0800;
	uint32_t af = v6 ? 30 : 2;
	size_t h = 0;

	switch (k) {
	case LK_ETH:
	case LK_VLAN:
	case LK_QINQ:
		memset(out, 0xaa, 12);
		h = 12;
		if (k == LK_QINQ) {
			put16(out + h, 0x88a8);
			put16(out + h + 2, 7);
			h += 4;
		}
		if (k != LK_ETH) {
			put16(out + h, 0x8100);
			put16(out + h + 2, 100);
			h += 4;
		}
		put16(out + h, et);
		h += 2;
		break;
	case LK_SLL:
		memset(out, 0, 14);
		put16(out + 14, et);
		h = 16;
		break;
	case LK_SLL2:
		memset(out, 0, 20);
		put16(out, et);
		h = 20;
		break;
	case LK_NULL_LE:
		out[0] = (uint8_t)af;
		out[1] = out[2] = out[3] = 0;
		h = 4;
		break;
	case LK_NULL_BE:
	case LK_LOOP:
		put32(out, af);
		h = 4;
		break;
	case LK_RAW:
	case LK_IPV4:
	case LK_IPV6:
		h = 0;
		break;
	}
	memcpy(out + h, ip, len);
	return h + len;
}

/* An Ethernet IPv4 TCP packet. */
static size_t
pkt4(uint8_t *out, bool c2s, uint16_t cport, uint32_t seq, uint32_t ack,
    uint8_t flags, const char *data)
{
	uint8_t l4[2048], ipb[2100];
	size_t n = data != NULL ? strlen(data) : 0, l, il;

	l = c2s ? tcp_hdr(l4, cport, 25, seq, ack, flags, data, n) :
	    tcp_hdr(l4, 25, cport, seq, ack, flags, data, n);
	il = ip4(ipb, c2s ? CLI4 : SRV4, c2s ? SRV4 : CLI4, 6, l4, l, 0, 1, 0);
	return wrap(out, LK_ETH, false, ipb, il);
}

static uint64_t tnow = 1000000000ULL * 1000000ULL;

static void
feed(struct cap *c, const uint8_t *p, size_t len)
{
	cap_input(c, tnow, p, len, len);
}

static void
send4(struct cap *c, bool c2s, uint16_t cport, uint32_t seq, uint32_t ack,
    uint8_t flags, const char *data)
{
	uint8_t b[2200];

	feed(c, b, pkt4(b, c2s, cport, seq, ack, flags, data));
}

static void
assert_stream(const struct rflow *f, enum cap_dir d, const char *want)
{
	assert_int_equal(f->len[d], strlen(want));
	assert_memory_equal(f->data[d], want, strlen(want));
}

/* ---------------------------------------------------------------- links */

static void
test_link_types(void **state)
{
	static const enum lk kinds[] = { LK_ETH, LK_VLAN, LK_QINQ, LK_SLL,
	    LK_SLL2, LK_NULL_LE, LK_NULL_BE, LK_LOOP, LK_RAW, LK_IPV4, LK_IPV6 };
	uint8_t l4[100], ipb[200], b[300];
	struct rec r;
	struct cap *c;
	size_t i, n, il;
	int v;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (v = 0; v < 2; v++) {
			if ((kinds[i] == LK_IPV4 && v == 1) ||
			    (kinds[i] == LK_IPV6 && v == 0))
				continue;
			c = mkcap(&r, lk_dlt(kinds[i]), NULL);
			n = tcp_hdr(l4, 40000, 25, 1000, 2000, TH_ACK | TH_PUSH,
			    "HELLO", 5);
			il = v ? ip6(ipb, CLI6, SRV6, 6, l4, n) :
			    ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 1, 0);
			n = wrap(b, kinds[i], v, ipb, il);
			feed(c, b, n);
			assert_int_equal(r.n, 1);
			assert_int_equal(r.f[0].info.family, v ? AF_INET6 : AF_INET);
			assert_memory_equal(r.f[0].info.client_ip, v ? CLI6 : CLI4,
			    v ? 16 : 4);
			assert_int_equal(r.f[0].info.server_port, 25);
			assert_true(r.f[0].info.mid_stream);
			assert_stream(&r.f[0], CAP_C2S, "HELLO");
			assert_int_equal(an(c, CAP_AN_TCP_MIDSTREAM), 1);
			assert_int_equal(an_total(c), 1);
			cap_finish(c, false);
			cap_close(c);
		}
	}
}

static void
test_link_other(void **state)
{
	uint8_t b[64];
	struct rec r;
	struct cap *c;
	char eb[CAP_ERRBUF_SIZE];
	struct cap_config cfg;

	(void)state;
	c = mkcap(&r, 1, NULL);
	memset(b, 0, sizeof(b));
	put16(b + 12, 0x0806);	/* ARP */
	feed(c, b, 42);
	assert_int_equal(an(c, CAP_AN_UNKNOWN_ETHERTYPE), 1);
	assert_int_equal(r.n, 0);
	cap_close(c);

	cap_config_init(&cfg);
	assert_int_equal(cap_open_raw(&c, &cfg, NULL, 105, eb), -1);
	assert_string_equal(eb, "unsupported link type IEEE802_11 (105)");
}

/* Every prefix of a valid packet is truncated at exactly one layer. */
static void
check_prefixes(enum lk k, bool v6, const uint8_t *ipb, size_t il)
{
	uint8_t b[300];
	size_t n, cut;
	struct rec r;
	struct cap *c;
	uint64_t t;

	n = wrap(b, k, v6, ipb, il);
	for (cut = 0; cut < n; cut++) {
		c = mkcap(&r, lk_dlt(k), NULL);
		cap_input(c, tnow, b, cut, n);
		t = an(c, CAP_AN_LINK_TRUNC) + an(c, CAP_AN_IP_TRUNC) +
		    an(c, CAP_AN_TCP_TRUNC);
		assert_int_equal(t, 1);
		assert_int_equal(an(c, CAP_AN_IP_MALFORMED), 0);
		assert_int_equal(an(c, CAP_AN_TCP_MALFORMED), 0);
		/* Only a whole TCP header with some payload opens a flow. */
		if (r.n == 1)
			assert_true(r.f[0].len[CAP_C2S] < 6);
		cap_finish(c, false);
		cap_close(c);
	}
}

static void
test_truncated_every_length(void **state)
{
	static const enum lk kinds[] = { LK_ETH, LK_VLAN, LK_QINQ, LK_SLL,
	    LK_SLL2, LK_NULL_LE, LK_LOOP, LK_RAW };
	uint8_t l4[100], ipb[200], ext[200];
	size_t i, n, il;

	(void)state;
	n = tcp_hdr(l4, 40000, 25, 1000, 2000, TH_ACK, "HELLO!", 6);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		il = ip4(ipb, CLI4, SRV4, 6, l4, n, 8, 1, 0);
		check_prefixes(kinds[i], false, ipb, il);
		/* IPv6 with a hop-by-hop and a destination options header. */
		memset(ext, 0, 16);
		ext[0] = 60;	/* HBH -> dest opts */
		ext[8] = 6;	/* dest opts -> TCP */
		ext[9] = 0;
		memcpy(ext + 16, l4, n);
		il = ip6(ipb, CLI6, SRV6, 0, ext, 16 + n);
		check_prefixes(kinds[i], true, ipb, il);
	}
}

/* ---------------------------------------------------------------- IP */

static void
test_ipv4_options_and_errors(void **state)
{
	uint8_t l4[100], ipb[200], b[300];
	struct rec r;
	struct cap *c;
	size_t n, il;

	(void)state;
	n = tcp_hdr(l4, 40000, 25, 1, 0, TH_ACK, "OPT", 3);
	c = mkcap(&r, 1, NULL);
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 40, 1, 0);	/* IHL 15 */
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, "OPT");

	/* Ethernet padding after the datagram is not payload. */
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 2, 0);
	il = wrap(b, LK_ETH, false, ipb, il);
	memset(b + il, 0xee, 10);
	n = tcp_hdr(l4, 40000, 25, 4, 0, TH_ACK, "PAD", 3);
	il = wrap(b, LK_ETH, false, ipb, ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 3, 0));
	memset(b + il, 0xee, 10);
	feed(c, b, il + 10);
	assert_stream(&r.f[0], CAP_C2S, "OPTPAD");

	/* A wrong checksum is counted; the packet is still used. */
	n = tcp_hdr(l4, 40000, 25, 7, 0, TH_ACK, "SUM", 3);
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 4, 0);
	ipb[11] ^= 0x55;
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(an(c, CAP_AN_IP_CHECKSUM), 1);
	assert_stream(&r.f[0], CAP_C2S, "OPTPADSUM");

	/* IHL below 5, total length below the header, wrong version. */
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 5, 0);
	ipb[0] = 0x44;
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 5, 0);
	put16(ipb + 2, 12);
	ip4_sum(ipb, 20);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 5, 0);
	ipb[0] = 0x55;
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(an(c, CAP_AN_IP_MALFORMED), 3);

	/* UDP is not TCP. */
	il = ip4(ipb, CLI4, SRV4, 17, l4, 8, 0, 6, 0);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(an(c, CAP_AN_NON_TCP), 1);
	assert_stream(&r.f[0], CAP_C2S, "OPTPADSUM");
	cap_finish(c, false);
	cap_close(c);
}

static void
test_ipv6_extension_headers(void **state)
{
	uint8_t l4[100], ipb[300], ext[300], b[400];
	struct rec r;
	struct cap *c;
	size_t n, il;

	(void)state;
	c = mkcap(&r, 1, NULL);
	n = tcp_hdr(l4, 40000, 25, 1, 0, TH_ACK, "EXT", 3);
	/* HBH(8) -> routing(24) -> dest opts(8) -> AH(12+4=16) -> TCP */
	memset(ext, 0, 56);
	ext[0] = 43;
	ext[1] = 0;
	ext[8] = 60;
	ext[9] = 2;		/* (2+1)*8 = 24 */
	ext[32] = 51;
	ext[33] = 0;
	ext[40] = 6;
	ext[41] = 2;		/* AH: (2+2)*4 = 16 */
	memcpy(ext + 56, l4, n);
	il = ip6(ipb, CLI6, SRV6, 0, ext, 56 + n);
	feed(c, b, wrap(b, LK_ETH, true, ipb, il));
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, "EXT");
	assert_int_equal(an_total(c), 1);	/* mid-stream only */

	/* ESP ends the walk: not TCP. */
	il = ip6(ipb, CLI6, SRV6, 50, l4, n);
	feed(c, b, wrap(b, LK_ETH, true, ipb, il));
	assert_int_equal(an(c, CAP_AN_NON_TCP), 1);

	/* Hop-by-hop after another header is malformed. */
	memset(ext, 0, 16);
	ext[0] = 0;
	ext[8] = 6;
	memcpy(ext + 16, l4, n);
	il = ip6(ipb, CLI6, SRV6, 60, ext, 16 + n);
	feed(c, b, wrap(b, LK_ETH, true, ipb, il));
	/* An extension header longer than the payload is malformed. */
	memset(ext, 0, 8);
	ext[0] = 6;
	ext[1] = 200;
	il = ip6(ipb, CLI6, SRV6, 60, ext, 8);
	feed(c, b, wrap(b, LK_ETH, true, ipb, il));
	assert_int_equal(an(c, CAP_AN_IP_MALFORMED), 2);
	assert_stream(&r.f[0], CAP_C2S, "EXT");
	cap_finish(c, false);
	cap_close(c);
}

/* ---------------------------------------------------------------- TCP header */

static void
test_tcp_data_offset(void **state)
{
	uint8_t l4[100], ipb[200], b[300];
	struct rec r;
	struct cap *c;
	size_t n, il;

	(void)state;
	c = mkcap(&r, 1, NULL);
	n = tcp_hdr(l4, 40000, 25, 1, 0, TH_ACK, "DATA", 4);
	l4[12] = 4 << 4;	/* below 5 words */
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 1, 0);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	l4[12] = 15 << 4;	/* 60 bytes, but the segment has 24 */
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 1, 0);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	/* A segment too short for any header. */
	il = ip4(ipb, CLI4, SRV4, 6, l4, 12, 0, 1, 0);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(an(c, CAP_AN_TCP_MALFORMED), 3);
	assert_int_equal(r.n, 0);
	/* Options are skipped by length. */
	n = tcp_hdr(l4, 40000, 25, 1, 0, TH_ACK, "12345678DATA", 12);
	l4[12] = 7 << 4;
	il = ip4(ipb, CLI4, SRV4, 6, l4, n, 0, 1, 0);
	feed(c, b, wrap(b, LK_ETH, false, ipb, il));
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, "DATA");
	cap_finish(c, false);
	cap_close(c);
}

/* ---------------------------------------------------------------- fragments */

#define FRAG_DATA "0123456789abcdefghijklmnopqrstuvwxyzABCD"	/* 40 bytes */

/* Three IPv4 fragments of one TCP segment (60 bytes: 24 + 24 + 12). */
static size_t
frag4(uint8_t *out, int i, const uint8_t *seg, uint16_t id)
{
	static const size_t off[] = { 0, 24, 48 }, len[] = { 24, 24, 12 };
	uint8_t ipb[200];
	size_t il;

	il = ip4(ipb, CLI4, SRV4, 6, seg + off[i], len[i], 0, id,
	    (uint16_t)((off[i] / 8) | (i < 2 ? 0x2000 : 0)));
	return wrap(out, LK_ETH, false, ipb, il);
}

static size_t
frag6(uint8_t *out, int i, const uint8_t *seg, uint32_t id)
{
	static const size_t off[] = { 0, 24, 48 }, len[] = { 24, 24, 12 };
	uint8_t ext[200], ipb[300];
	size_t il;

	memset(ext, 0, 8);
	ext[0] = 6;
	put16(ext + 2, (unsigned)(off[i] | (i < 2 ? 1 : 0)));
	put32(ext + 4, id);
	memcpy(ext + 8, seg + off[i], len[i]);
	il = ip6(ipb, CLI6, SRV6, 44, ext, 8 + len[i]);
	return wrap(out, LK_ETH, true, ipb, il);
}

static void
test_fragments_every_order(void **state)
{
	static const int perm[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
	    { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	uint8_t seg[100], b[300];
	struct rec r;
	struct cap *c;
	int p, i, v;

	(void)state;
	tcp_hdr(seg, 40000, 25, 1, 0, TH_ACK, FRAG_DATA, 40);
	for (v = 0; v < 2; v++) {
		for (p = 0; p < 6; p++) {
			c = mkcap(&r, 1, NULL);
			for (i = 0; i < 3; i++) {
				assert_int_equal(r.n, 0);
				feed(c, b, v ? frag6(b, perm[p][i], seg, 77) :
				    frag4(b, perm[p][i], seg, 77));
			}
			assert_int_equal(r.n, 1);
			assert_stream(&r.f[0], CAP_C2S, FRAG_DATA);
			/* A duplicate of every fragment (same bytes): silent. */
			for (i = 0; i < 3; i++)
				feed(c, b, v ? frag6(b, i, seg, 78) : frag4(b, i, seg, 78));
			assert_stream(&r.f[0], CAP_C2S, FRAG_DATA);
			assert_int_equal(an_total(c), 1);	/* mid-stream */
			cap_finish(c, false);
			cap_close(c);
		}
	}
}

static void
test_fragment_overlap_and_timeout(void **state)
{
	uint8_t seg[100], alt[100], b[300];
	struct rec r;
	struct cap *c;
	struct cap_config cfg;
	int v, i;

	(void)state;
	tcp_hdr(seg, 40000, 25, 1, 0, TH_ACK, FRAG_DATA, 40);
	memcpy(alt, seg, sizeof(alt));
	memset(alt + 24, 'X', 24);	/* fragment 1 with other bytes */
	for (v = 0; v < 2; v++) {
		c = mkcap(&r, 1, NULL);
		feed(c, b, v ? frag6(b, 1, seg, 9) : frag4(b, 1, seg, 9));
		feed(c, b, v ? frag6(b, 1, alt, 9) : frag4(b, 1, alt, 9));
		feed(c, b, v ? frag6(b, 0, seg, 9) : frag4(b, 0, seg, 9));
		feed(c, b, v ? frag6(b, 2, seg, 9) : frag4(b, 2, seg, 9));
		assert_int_equal(an(c, CAP_AN_FRAG_OVERLAP), 1);
		assert_int_equal(r.n, 1);
		assert_stream(&r.f[0], CAP_C2S, FRAG_DATA);	/* first copy won */

		/* Two of three fragments, then 31 s of capture time. */
		feed(c, b, v ? frag6(b, 0, seg, 10) : frag4(b, 0, seg, 10));
		feed(c, b, v ? frag6(b, 2, seg, 10) : frag4(b, 2, seg, 10));
		cap_tick(c, tnow + 31 * US_PER_S);
		assert_int_equal(an(c, CAP_AN_FRAG_TIMEOUT), 1);
		cap_input(c, tnow + 31 * US_PER_S, b,
		    v ? frag6(b, 1, seg, 10) : frag4(b, 1, seg, 10), 100);
		assert_stream(&r.f[0], CAP_C2S, FRAG_DATA);	/* nothing new */
		cap_finish(c, false);
		cap_close(c);
	}

	/* The memory cap: 3 KiB holds one datagram buffer (2 KiB) at a time. */
	cap_config_init(&cfg);
	cfg.limits.max_frag_bytes = 3000;
	c = mkcap(&r, 1, &cfg);
	for (i = 0; i < 4; i++)
		feed(c, b, frag4(b, 0, seg, (uint16_t)(100 + i)));
	assert_int_equal(an(c, CAP_AN_FRAG_LIMIT), 3);
	feed(c, b, frag4(b, 1, seg, 103));
	feed(c, b, frag4(b, 2, seg, 103));
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, FRAG_DATA);
	/* A non-final fragment whose length is not a multiple of 8. */
	{
		uint8_t ipb[200];
		size_t il = ip4(ipb, CLI4, SRV4, 6, seg, 20, 0, 200, 0x2000);

		feed(c, b, wrap(b, LK_ETH, false, ipb, il));
		assert_int_equal(an(c, CAP_AN_FRAG_MALFORMED), 1);
	}
	cap_finish(c, false);
	cap_close(c);
}

/* ---------------------------------------------------------------- flows */

#define ISN_C 1000u
#define ISN_S 5000u

/* SYN, SYN+ACK, ACK from port cport, returning nothing. */
static void
handshake(struct cap *c, uint16_t cport, uint32_t ic, uint32_t is)
{
	send4(c, true, cport, ic, 0, TH_SYN, NULL);
	send4(c, false, cport, is, ic + 1, TH_SYN | TH_ACK, NULL);
	send4(c, true, cport, ic + 1, is + 1, TH_ACK, NULL);
}

static void
test_flow_handshake_fin(void **state)
{
	struct rec r;
	struct cap *c;

	(void)state;
	c = mkcap(&r, 1, NULL);
	handshake(c, 40000, ISN_C, ISN_S);
	assert_int_equal(r.n, 1);
	assert_false(r.f[0].info.mid_stream);
	assert_int_equal(r.f[0].info.client_port, 40000);
	assert_int_equal(r.f[0].info.pkt, 1);
	send4(c, false, 40000, ISN_S + 1, ISN_C + 1, TH_ACK, "220 hi\r\n");
	send4(c, true, 40000, ISN_C + 1, ISN_S + 9, TH_ACK, "EHLO x\r\n");
	assert_int_equal(r.f[0].last_pkt[CAP_C2S], 5);
	send4(c, true, 40000, ISN_C + 9, ISN_S + 9, TH_ACK | TH_FIN, NULL);
	assert_false(r.f[0].closed);
	send4(c, false, 40000, ISN_S + 9, ISN_C + 10, TH_ACK | TH_FIN, NULL);
	assert_true(r.f[0].closed);
	assert_int_equal(r.f[0].end.reason, CAP_CLOSE_FIN);
	/* The last ACK does not open anything. */
	send4(c, true, 40000, ISN_C + 10, ISN_S + 10, TH_ACK, NULL);
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, "EHLO x\r\n");
	assert_stream(&r.f[0], CAP_S2C, "220 hi\r\n");
	assert_int_equal(r.f[0].end.packets[CAP_C2S], 4);
	assert_int_equal(r.f[0].end.packets[CAP_S2C], 3);
	assert_int_equal(r.f[0].end.bytes[CAP_C2S], 8);
	assert_int_equal(r.f[0].ngaps[0] + r.f[0].ngaps[1], 0);
	assert_int_equal(an_total(c), 0);
	cap_close(c);
}

static void
test_flow_midstream_roles(void **state)
{
	struct cap_config cfg;
	struct rec r;
	struct cap *c;

	(void)state;
	/* The first packet comes from the server: roles from the port. */
	c = mkcap(&r, 1, NULL);
	send4(c, false, 40000, 7, 9, TH_ACK, "250 ok\r\n");
	assert_int_equal(r.n, 1);
	assert_true(r.f[0].info.mid_stream);
	assert_int_equal(r.f[0].info.server_port, 25);
	assert_int_equal(r.f[0].info.client_port, 40000);
	assert_stream(&r.f[0], CAP_S2C, "250 ok\r\n");
	assert_int_equal(an(c, CAP_AN_TCP_MIDSTREAM), 1);
	cap_close(c);

	/* Neither port configured: the lower port is the server. */
	cap_config_init(&cfg);
	cfg.ports[0] = 2;
	cfg.nports = 1;
	cfg.nports = 0;		/* all ports */
	c = mkcap(&r, 1, &cfg);
	send4(c, true, 40000, 7, 9, TH_ACK, "x");
	assert_int_equal(r.f[0].info.server_port, 25);
	cap_close(c);

	/* Port filter: a flow on no kept port is not seen at all. */
	cap_config_init(&cfg);
	cfg.ports[0] = 587;
	cfg.nports = 1;
	c = mkcap(&r, 1, &cfg);
	send4(c, true, 40000, 7, 9, TH_ACK, "x");
	assert_int_equal(r.n, 0);
	cap_close(c);
}

static void
test_flow_wraparound(void **state)
{
	struct rec r;
	struct cap *c;
	uint32_t ic = 0xfffffff0u;

	(void)state;
	c = mkcap(&r, 1, NULL);
	handshake(c, 40001, ic, ISN_S);
	send4(c, true, 40001, ic + 1, ISN_S + 1, TH_ACK, "0123456789");	/* 0xfffffff1.. */
	send4(c, true, 40001, ic + 11, ISN_S + 1, TH_ACK, "abcdefghij");	/* crosses 2^32 */
	send4(c, true, 40001, ic + 31, ISN_S + 1, TH_ACK, "KLMNO");	/* ahead */
	send4(c, true, 40001, ic + 21, ISN_S + 1, TH_ACK, "ABCDEFGHIJ");	/* fills */
	assert_stream(&r.f[0], CAP_C2S, "0123456789abcdefghijABCDEFGHIJKLMNO");
	assert_int_equal(an_total(c), 0);
	cap_finish(c, false);
	assert_int_equal(r.f[0].end.reason, CAP_CLOSE_EOF);
	cap_close(c);
}

static void
test_flow_keepalive_probe_retrans_ooo(void **state)
{
	struct rec r;
	struct cap *c;

	(void)state;
	c = mkcap(&r, 1, NULL);
	handshake(c, 40002, ISN_C, ISN_S);
	send4(c, true, 40002, ISN_C + 1, ISN_S + 1, TH_ACK, "ABCD");
	/* Keep-alive: one garbage byte at next - 1. */
	send4(c, true, 40002, ISN_C + 4, ISN_S + 1, TH_ACK, "X");
	send4(c, true, 40002, ISN_C + 4, ISN_S + 1, TH_ACK, NULL);
	/* Zero-window probe carrying the next real byte, then the segment. */
	send4(c, true, 40002, ISN_C + 5, ISN_S + 1, TH_ACK, "E");
	send4(c, true, 40002, ISN_C + 5, ISN_S + 1, TH_ACK, "EFGH");
	/* Retransmission of delivered data. */
	send4(c, true, 40002, ISN_C + 1, ISN_S + 1, TH_ACK, "ABCD");
	/* Out of order: the second segment first. */
	send4(c, true, 40002, ISN_C + 13, ISN_S + 1, TH_ACK, "MNOP");
	send4(c, true, 40002, ISN_C + 9, ISN_S + 1, TH_ACK, "IJKL");
	assert_stream(&r.f[0], CAP_C2S, "ABCDEFGHIJKLMNOP");
	assert_int_equal(an(c, CAP_AN_TCP_OVERLAP), 0);
	assert_int_equal(an(c, CAP_AN_TCP_GAP), 0);
	cap_finish(c, false);
	cap_close(c);
}

static void
test_flow_ack_gap(void **state)
{
	struct rec r;
	struct cap *c;

	(void)state;
	c = mkcap(&r, 1, NULL);
	handshake(c, 40003, ISN_C, ISN_S);
	send4(c, true, 40003, ISN_C + 1, ISN_S + 1, TH_ACK, "ABCD");
	/* "EFGH" is never captured; "IJKL" waits for it. */
	send4(c, true, 40003, ISN_C + 9, ISN_S + 1, TH_ACK, "IJKL");
	/* The server acknowledges all 12 bytes: a gap, once the wait is over. */
	send4(c, false, 40003, ISN_S + 1, ISN_C + 13, TH_ACK, NULL);
	tnow += US_PER_S / 2;
	send4(c, false, 40003, ISN_S + 1, ISN_C + 13, TH_ACK, NULL);
	assert_int_equal(r.f[0].ngaps[CAP_C2S], 0);
	tnow += 2 * US_PER_S;
	send4(c, false, 40003, ISN_S + 1, ISN_C + 13, TH_ACK, "250\r\n");
	assert_int_equal(r.f[0].ngaps[CAP_C2S], 1);
	assert_int_equal(r.f[0].gap_off[CAP_C2S][0], 4);
	assert_int_equal(r.f[0].gap_len[CAP_C2S][0], 4);
	assert_stream(&r.f[0], CAP_C2S, "ABCDIJKL");
	/* An ACK that arrives before its data does not lose the data. */
	send4(c, false, 40003, ISN_S + 6, ISN_C + 17, TH_ACK, NULL);
	tnow += US_PER_S / 2;
	send4(c, true, 40003, ISN_C + 13, ISN_S + 6, TH_ACK, "MNOP");
	assert_stream(&r.f[0], CAP_C2S, "ABCDIJKLMNOP");
	/* RST in the middle closes at once; what follows opens nothing. */
	send4(c, true, 40003, ISN_C + 17, ISN_S + 6, TH_RST, NULL);
	assert_true(r.f[0].closed);
	assert_int_equal(r.f[0].end.reason, CAP_CLOSE_RST);
	assert_int_equal(r.f[0].end.gap_bytes[CAP_C2S], 4);
	send4(c, false, 40003, ISN_S + 6, ISN_C + 17, TH_ACK, "late");
	assert_int_equal(r.n, 1);
	assert_int_equal(an(c, CAP_AN_TCP_GAP), 1);
	cap_close(c);
}

static void
test_flow_cap_idle_onesided_reuse(void **state)
{
	struct cap_config cfg;
	struct rec r;
	struct cap *c;

	(void)state;
	/* Flow cap of 2: the third flow evicts the least recently active. */
	cap_config_init(&cfg);
	cfg.limits.max_flows = 2;
	cfg.limits.idle_timeout = 10;
	c = mkcap(&r, 1, &cfg);
	send4(c, true, 41000, 1, 1, TH_ACK, "one");
	send4(c, true, 41001, 1, 1, TH_ACK, "two");
	send4(c, true, 41000, 4, 1, TH_ACK, "ONE");	/* 41000 is now newer */
	send4(c, true, 41002, 1, 1, TH_ACK, "three");
	assert_int_equal(r.n, 3);
	assert_true(r.f[1].closed);
	assert_int_equal(r.f[1].end.reason, CAP_CLOSE_EVICTED);
	assert_false(r.f[0].closed);
	assert_int_equal(an(c, CAP_AN_FLOW_LIMIT), 1);
	assert_stream(&r.f[0], CAP_C2S, "oneONE");

	/* Idle timeout, driven by capture time. */
	tnow += 11 * US_PER_S;
	cap_tick(c, tnow);
	assert_true(r.f[0].closed);
	assert_int_equal(r.f[0].end.reason, CAP_CLOSE_IDLE);
	assert_true(r.f[2].closed);
	/* Only the client side was ever seen. */
	assert_int_equal(an(c, CAP_AN_TCP_ONE_SIDED), 3);
	cap_close(c);

	/* Port reuse: a new SYN on a closed 4-tuple is a new flow. */
	c = mkcap(&r, 1, NULL);
	handshake(c, 40004, ISN_C, ISN_S);
	send4(c, true, 40004, ISN_C + 1, ISN_S + 1, TH_ACK | TH_FIN, "first");
	send4(c, false, 40004, ISN_S + 1, ISN_C + 7, TH_ACK | TH_FIN, NULL);
	assert_true(r.f[0].closed);
	handshake(c, 40004, 90000, 70000);
	send4(c, true, 40004, 90001, 70001, TH_ACK, "second");
	assert_int_equal(r.n, 2);
	assert_int_equal(r.f[1].info.id, r.f[0].info.id + 1);
	assert_stream(&r.f[1], CAP_C2S, "second");
	/* And a SYN with a new ISN on an open flow ends the old one. */
	handshake(c, 40004, 123456, 70000);
	assert_int_equal(r.n, 3);
	assert_true(r.f[1].closed);
	cap_finish(c, true);
	assert_int_equal(r.f[2].end.reason, CAP_CLOSE_INTERRUPTED);
	cap_close(c);
}

/* ---------------------------------------------------------------- ports */

static void
test_parse_ports(void **state)
{
	struct cap_config cfg;
	char eb[CAP_ERRBUF_SIZE];

	(void)state;
	cap_config_init(&cfg);
	assert_int_equal(cfg.nports, 3);
	assert_int_equal(cap_parse_ports(&cfg, "25,587,25", eb), 0);
	assert_int_equal(cfg.nports, 2);
	assert_int_equal(cfg.ports[1], 587);
	assert_int_equal(cap_parse_ports(&cfg, "all", eb), 0);
	assert_int_equal(cfg.nports, 0);
	assert_int_equal(cap_parse_ports(&cfg, "0", eb), 0);
	assert_int_equal(cap_parse_ports(&cfg, "25,,26", eb), -1);
	assert_int_equal(cap_parse_ports(&cfg, "70000", eb), -1);
	assert_non_null(strstr(eb, "70000"));
	assert_int_equal(cap_parse_ports(&cfg, "x", eb), -1);
	assert_int_equal(cap_parse_ports(&cfg, "", eb), -1);
	assert_string_equal(cap_anomaly_name(CAP_AN_TCP_GAP), "tcp-gap");
	assert_string_equal(cap_close_reason_name(CAP_CLOSE_EVICTED), "evicted");
}

/* ---------------------------------------------------------------- files */

static void
write_pcap(const char *path, int dlt, const uint32_t *ts, uint8_t **pk,
    const size_t *len, int n, size_t cut_last)
{
	uint8_t h[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };
	uint8_t rh[16];
	FILE *fp = fopen(path, "wb");
	int i;

	assert_non_null(fp);
	h[16] = 0xff;
	h[17] = 0xff;
	h[20] = (uint8_t)dlt;
	fwrite(h, 1, sizeof(h), fp);
	for (i = 0; i < n; i++) {
		memset(rh, 0, sizeof(rh));
		rh[0] = (uint8_t)ts[i];
		rh[1] = (uint8_t)(ts[i] >> 8);
		rh[8] = rh[12] = (uint8_t)len[i];
		fwrite(rh, 1, sizeof(rh), fp);
		fwrite(pk[i], 1, i == n - 1 && cut_last ? cut_last : len[i], fp);
	}
	fclose(fp);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/capture_packet.XXXXXX", a[256], bpath[256], t[256];
	char eb[CAP_ERRBUF_SIZE], want[600];
	struct cap_consumer cons;
	struct cap_config cfg;
	struct rec r;
	struct cap *c;
	uint8_t p[4][200], *pk[4];
	size_t len[4];
	uint32_t ts[4];
	int i, rc, total;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.pcap", dir);
	snprintf(bpath, sizeof(bpath), "%s/b.pcap", dir);
	snprintf(t, sizeof(t), "%s/text", dir);
	memset(&r, 0, sizeof(r));
	cons = (struct cap_consumer){ &r, r_open, r_data, r_gap, r_close };

	/* Two files merged by time: a has t=1,3; b has t=2,4. */
	len[0] = pkt4(p[0], true, 42000, 1, 1, TH_ACK, "A1");
	len[1] = pkt4(p[1], true, 42000, 5, 1, TH_ACK, "A3");
	len[2] = pkt4(p[2], true, 42000, 3, 1, TH_ACK, "B2");
	len[3] = pkt4(p[3], true, 42000, 7, 1, TH_ACK, "B4");
	pk[0] = p[0]; pk[1] = p[1];
	ts[0] = 1; ts[1] = 3;
	write_pcap(a, 1, ts, pk, len, 2, 0);
	pk[0] = p[2]; pk[1] = p[3];
	ts[0] = 2; ts[1] = 4;
	write_pcap(bpath, 1, ts, pk, len + 2, 2, 0);
	cap_config_init(&cfg);
	cfg.files[0] = a;
	cfg.files[1] = bpath;
	cfg.nfiles = 2;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), 0);
	assert_string_equal(eb, "");
	assert_string_equal(cap_linktype(c), "EN10MB");
	assert_int_equal(cap_dispatch(c, 0, eb), 4);
	assert_int_equal(cap_dispatch(c, 0, eb), CAP_EOF);
	assert_int_equal(r.n, 1);
	assert_stream(&r.f[0], CAP_C2S, "A1B2A3B4");
	assert_int_equal(r.f[0].last_pkt[CAP_C2S], 4);
	cap_finish(c, false);
	cap_close(c);

	/* A user filter hides packets but packet numbers still count them. */
	memset(&r, 0, sizeof(r));
	cfg.filter = "tcp[7] != 1";	/* hides "A1" (sequence number 1) */
	cfg.nfiles = 1;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), 0);
	assert_int_equal(cap_dispatch(c, 0, eb), 2);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.f[0].info.pkt, 2);
	assert_stream(&r.f[0], CAP_C2S, "A3");
	assert_int_equal(r.f[0].last_pkt[CAP_C2S], 2);
	cap_finish(c, false);
	cap_close(c);
	cfg.filter = "tcp and and";
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	assert_non_null(strstr(eb, "bad filter 'tcp and and'"));
	cfg.filter = NULL;

	/* The last record cut short: the first packet, then the error. */
	memset(&r, 0, sizeof(r));
	pk[0] = p[0]; pk[1] = p[1];
	ts[0] = 1; ts[1] = 3;
	write_pcap(a, 1, ts, pk, len, 2, 20);
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), 0);
	total = 0;
	while ((rc = cap_dispatch(c, 0, eb)) > 0)
		total += rc;
	assert_int_equal(total, 1);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(eb, "truncated capture"));
	assert_non_null(strstr(eb, a));
	assert_stream(&r.f[0], CAP_C2S, "A1");
	assert_int_equal(cap_dispatch(c, 0, eb), CAP_EOF);
	cap_finish(c, false);
	cap_close(c);

	/* Not a capture, missing, empty, unsupported link type. */
	fp = fopen(t, "w");
	assert_non_null(fp);
	fputs("# README\nnot a capture at all\n", fp);
	fclose(fp);
	cfg.files[0] = t;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	snprintf(want, sizeof(want), "'%s' is not a pcap or pcapng capture", t);
	assert_string_equal(eb, want);
	cfg.files[0] = "/nonexistent/x.pcap";
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	assert_string_equal(eb,
	    "cannot read '/nonexistent/x.pcap': No such file or directory");
	fp = fopen(t, "w");
	assert_non_null(fp);
	fclose(fp);
	cfg.files[0] = t;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	assert_non_null(strstr(eb, "is empty"));
	write_pcap(a, 105, ts, pk, len, 1, 0);
	cfg.files[0] = a;
	assert_int_equal(cap_open(&c, &cfg, &cons, eb), -1);
	assert_non_null(strstr(eb, "unsupported link type IEEE802_11 (105)"));

	for (i = 0; i < 3; i++) {
		const char *n[] = { "a.pcap", "b.pcap", "text" };

		snprintf(t, sizeof(t), "%s/%s", dir, n[i]);
		unlink(t);
	}
	rmdir(dir);
}

/* A full table under a SYN flood evicts the flows that never carried
 * payload, oldest first: the conversation, older than all of them, lives
 * on; only when no such flow is left does the least recently active
 * conversation go. */
static void
test_flow_evict_quiet_first(void **state)
{
	struct cap_config cfg;
	struct rec r;
	struct cap *c;

	(void)state;
	cap_config_init(&cfg);
	cfg.limits.max_flows = 3;
	c = mkcap(&r, 1, &cfg);
	handshake(c, 40020, ISN_C, ISN_S);
	send4(c, false, 40020, ISN_S + 1, ISN_C + 1, TH_ACK, "220 hi\r\n");
	for (uint16_t p = 50000; p < 50010; p++)	/* 10 SYNs, none answered */
		send4(c, true, p, 7000, 0, TH_SYN, NULL);
	assert_int_equal(r.n, 11);
	assert_false(r.f[0].closed);
	for (int i = 1; i <= 8; i++) {
		assert_true(r.f[i].closed);
		assert_int_equal(r.f[i].end.reason, CAP_CLOSE_EVICTED);
	}
	assert_false(r.f[9].closed);
	assert_false(r.f[10].closed);
	assert_int_equal(an(c, CAP_AN_FLOW_LIMIT), 8);
	send4(c, true, 40020, ISN_C + 1, ISN_S + 9, TH_ACK, "EHLO x\r\n");
	assert_stream(&r.f[0], CAP_C2S, "EHLO x\r\n");
	/* Two more conversations: the quiet ones go, then the oldest talker. */
	send4(c, true, 40021, 1, 1, TH_ACK, "a");
	send4(c, true, 40022, 1, 1, TH_ACK, "b");
	assert_true(r.f[9].closed);
	assert_true(r.f[10].closed);
	assert_false(r.f[0].closed);
	send4(c, true, 40023, 1, 1, TH_ACK, "c");
	assert_true(r.f[0].closed);
	assert_int_equal(r.f[0].end.reason, CAP_CLOSE_EVICTED);
	cap_finish(c, false);
	cap_close(c);
}

/* Each data event says how much of the other side its packet had
 * acknowledged: from the SYN+ACK in a whole capture, from the handshake's
 * last ACK when only the client's side was captured, unknown without
 * either.  The ACK numbers of the missing side never make a gap. */
static void
test_flow_peer_acked(void **state)
{
	struct rec r;
	struct cap *c;

	(void)state;
	c = mkcap(&r, 1, NULL);
	/* Both sides: the EHLO acknowledged the 8-byte greeting. */
	handshake(c, 40010, ISN_C, ISN_S);
	send4(c, false, 40010, ISN_S + 1, ISN_C + 1, TH_ACK, "220 hi\r\n");
	assert_true(r.f[0].ack_known[CAP_S2C]);
	assert_int_equal(r.f[0].acked[CAP_S2C], 0);
	send4(c, true, 40010, ISN_C + 1, ISN_S + 9, TH_ACK, "EHLO x\r\n");
	assert_true(r.f[0].ack_known[CAP_C2S]);
	assert_int_equal(r.f[0].acked[CAP_C2S], 8);

	/* The client's side only: SYN, the handshake's ACK, data. */
	send4(c, true, 40011, ISN_C, 0, TH_SYN, NULL);
	send4(c, true, 40011, ISN_C + 1, ISN_S + 1, TH_ACK, NULL);
	send4(c, true, 40011, ISN_C + 1, ISN_S + 1, TH_ACK, "EHLO x\r\n");
	assert_int_equal(r.n, 2);
	assert_true(r.f[1].ack_known[CAP_C2S]);
	assert_int_equal(r.f[1].acked[CAP_C2S], 0);
	send4(c, true, 40011, ISN_C + 9, ISN_S + 41, TH_ACK, "QUIT\r\n");
	assert_true(r.f[1].ack_known[CAP_C2S]);
	assert_int_equal(r.f[1].acked[CAP_C2S], 40);
	send4(c, true, 40011, ISN_C + 15, ISN_S + 60, TH_ACK | TH_FIN, NULL);
	cap_finish(c, false);
	assert_true(r.f[1].closed);
	assert_int_equal(r.f[1].ngaps[CAP_S2C], 0);
	assert_int_equal(r.f[1].end.gap_bytes[CAP_S2C], 0);
	assert_int_equal(r.f[1].len[CAP_S2C], 0);
	assert_stream(&r.f[1], CAP_C2S, "EHLO x\r\nQUIT\r\n");
	cap_close(c);

	/* Joined mid-stream, no handshake: nothing to measure against. */
	c = mkcap(&r, 1, NULL);
	send4(c, true, 40012, ISN_C + 1, ISN_S + 1, TH_ACK, "EHLO x\r\n");
	assert_int_equal(r.n, 1);
	assert_false(r.f[0].ack_known[CAP_C2S]);
	cap_finish(c, false);
	cap_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_link_other),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_ipv4_options_and_errors),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_tcp_data_offset),
		cmocka_unit_test(test_fragments_every_order),
		cmocka_unit_test(test_fragment_overlap_and_timeout),
		cmocka_unit_test(test_flow_handshake_fin),
		cmocka_unit_test(test_flow_midstream_roles),
		cmocka_unit_test(test_flow_wraparound),
		cmocka_unit_test(test_flow_keepalive_probe_retrans_ooo),
		cmocka_unit_test(test_flow_ack_gap),
		cmocka_unit_test(test_flow_peer_acked),
		cmocka_unit_test(test_flow_evict_quiet_first),
		cmocka_unit_test(test_flow_cap_idle_onesided_reuse),
		cmocka_unit_test(test_parse_ports),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
