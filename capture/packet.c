/*
 * packet.c - one packet through the layers: link, IP, fragments, TCP, flow.
 *
 * This is the only place that turns a layer's verdict into an anomaly
 * count, so every packet that cannot be used is counted exactly once, at
 * the layer that gave up (link-truncated, ip-truncated, ip-malformed, ...).
 * A TCP segment whose payload was cut by the snaplen is counted
 * (tcp-truncated) but still used: its header is whole, the bytes that were
 * captured are real, and the missing tail becomes a gap when the receiver's
 * ACK shows it existed.
 *
 * It also keeps capture time: timeouts (idle flows, fragments, out-of-order
 * waits) are driven by packet timestamps, checked once per second of
 * capture time, so replaying a file gives the same result at any speed.
 *
 * While a packet goes through, the frame as libpcap gave it is noted in
 * c->ev so that flow.c can hand it to evidence.c once it knows the flow;
 * for a datagram rebuilt from IP fragments that is the frame that
 * completed it (earlier fragments are not attributed to any flow).
 *
 * Deliberately not here: where packets come from (source.c) and what a
 * flow does with a segment (flow.c).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

/*
 * A TCP packet on no kept port: counted by its likely server port (the
 * SYN's destination, the SYN-ACK's source, else the lower port), so the
 * summary can say where the traffic was when none was on the kept ports.
 * One increment; the table (256 KiB) exists only once such a packet came.
 */
static void
count_other_port(struct cap *c, const struct tcp_seg *t)
{
	uint16_t port;

	c->st.other_tcp_packets++;
	if (c->other_ports == NULL &&
	    (c->other_ports = calloc(65536, sizeof(*c->other_ports))) == NULL)
		return;
	if ((t->flags & (TH_SYN | TH_ACK)) == TH_SYN)
		port = t->dport;
	else if ((t->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
		port = t->sport;
	else
		port = t->sport < t->dport ? t->sport : t->dport;
	if (c->other_ports[port] < UINT32_MAX)
		c->other_ports[port]++;
}

size_t
cap_other_ports(const struct cap *c, uint16_t *ports, uint64_t *counts, size_t n)
{
	size_t k = 0, i, j;
	uint32_t v;

	if (c->other_ports == NULL || n == 0)
		return 0;
	/* Insertion into a short sorted list: n is a handful. */
	for (i = 0; i < 65536; i++) {
		if ((v = c->other_ports[i]) == 0 || (k == n && v <= counts[k - 1]))
			continue;
		j = k < n ? k++ : n - 1;
		for (; j > 0 && counts[j - 1] < v; j--) {
			counts[j] = counts[j - 1];
			ports[j] = ports[j - 1];
		}
		counts[j] = v;
		ports[j] = (uint16_t)i;
	}
	return k;
}

static void
transport(struct cap *c, struct ip_pkt *ip, const struct cap_pos *pos)
{
	struct tcp_seg t;

	if (ip->proto != 6) {
		if (ip->cut)
			cap_anomaly(c, CAP_AN_IP_TRUNC);
		else
			cap_anomaly(c, CAP_AN_NON_TCP);
		return;
	}
	switch (tcp_decode(ip->payload, ip->len, ip->declared, &t)) {
	case TCP_RES_OK:
		break;
	case TCP_RES_TRUNC:
		cap_anomaly(c, CAP_AN_TCP_TRUNC);
		return;
	case TCP_RES_MALFORMED:
		cap_anomaly(c, ip->cut ? CAP_AN_TCP_TRUNC : CAP_AN_TCP_MALFORMED);
		return;
	}
	if (!cap_port_kept(c, t.sport) && !cap_port_kept(c, t.dport)) {
		if (t.sport == CAP_SMTPS_PORT || t.dport == CAP_SMTPS_PORT) {
			c->st.smtps_packets++;
			c->st.smtps_bytes += t.len;
			if ((t.flags & (TH_SYN | TH_ACK)) == TH_SYN &&
			    t.dport == CAP_SMTPS_PORT)
				c->st.smtps_connections++;
		} else
			count_other_port(c, &t);
		return;
	}
	if (ip->cut)
		cap_anomaly(c, CAP_AN_TCP_TRUNC);
	c->st.tcp_packets++;
	flow_input(c, ip, &t, pos);
}

static void
network(struct cap *c, const struct l3 *l, const struct cap_pos *pos)
{
	struct ip_pkt ip;
	struct frag_dgram *dg;
	const uint8_t *data;
	size_t len;

	switch (ip_decode(l, &ip)) {
	case IP_RES_OK:
		break;
	case IP_RES_TRUNC:
		cap_anomaly(c, CAP_AN_IP_TRUNC);
		return;
	case IP_RES_MALFORMED:
		cap_anomaly(c, CAP_AN_IP_MALFORMED);
		return;
	case IP_RES_CHECKSUM:	/* counted, used anyway: see ip.c */
		cap_anomaly(c, CAP_AN_IP_CHECKSUM);
		break;
	}
	if (!ip.frag) {
		transport(c, &ip, pos);
		return;
	}
	if (ip.cut) {	/* a fragment we cannot rebuild from */
		cap_anomaly(c, CAP_AN_IP_TRUNC);
		return;
	}
	if (ipfrag_add(&c->frag, &ip, c->now_us, &dg, &data, &len) != 1)
		return;
	ip.frag = true;	/* lets ip6_walk() refuse a nested fragment header */
	if (ip.family == AF_INET6) {
		switch (ip6_walk(&ip, ip.proto, data, len, len, false)) {
		case IP_RES_OK:
			break;
		default:
			cap_anomaly(c, CAP_AN_FRAG_MALFORMED);
			ipfrag_done(&c->frag, dg);
			return;
		}
	} else {
		ip.payload = data;
		ip.len = len;
		ip.declared = len;
		ip.cut = false;
	}
	ip.frag = false;
	transport(c, &ip, pos);
	ipfrag_done(&c->frag, dg);
}

void
cap_advance(struct cap *c, uint64_t now_us)
{
	if (now_us > c->now_us)
		c->now_us = now_us;
	if (c->now_us < c->next_tick_us)
		return;
	c->next_tick_us = c->now_us + US_PER_S;
	ipfrag_expire(&c->frag, c->now_us);
	flow_expire(c, c->now_us);
}

static void
decode_frame(struct cap *c, const struct link_type *lt, uint64_t ts_us,
    const uint8_t *p, size_t caplen)
{
	struct cap_pos pos;
	struct l3 l;

	memset(&pos, 0, sizeof(pos));
	pos.ts_us = ts_us;
	pos.pkt = c->pktno;
	if (lt->decode(p, caplen, &l) != LINK_OK) {
		cap_anomaly(c, CAP_AN_LINK_TRUNC);
		return;
	}
	if (l.kind == L3_OTHER) {
		cap_anomaly(c, CAP_AN_UNKNOWN_ETHERTYPE);
		return;
	}
	network(c, &l, &pos);
}

void
cap_input_link(struct cap *c, const struct link_type *lt, uint64_t ts_us,
    const uint8_t *p, size_t caplen, size_t wirelen)
{
	cap_advance(c, ts_us);
	c->ev.frame = p;
	c->ev.caplen = caplen;
	c->ev.wirelen = wirelen;
	c->ev.ts_us = ts_us;
	c->ev.pkt = c->pktno;
	decode_frame(c, lt, ts_us, p, caplen);
	c->ev.frame = NULL;	/* timeouts between packets record nothing */
}

void
cap_count(struct cap *c, uint64_t ts_us, size_t wirelen)
{
	c->pktno++;
	c->st.packets++;
	c->st.bytes += wirelen;
	if (c->st.first_ts_us == 0 || ts_us < c->st.first_ts_us)
		c->st.first_ts_us = ts_us;
	if (ts_us > c->st.last_ts_us)
		c->st.last_ts_us = ts_us;
}

void
cap_input(struct cap *c, uint64_t ts_us, const uint8_t *p, size_t caplen,
    size_t wirelen)
{
	cap_count(c, ts_us, wirelen);
	cap_input_link(c, c->link, ts_us, p, caplen, wirelen);
}
