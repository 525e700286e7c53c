/*
 * ip.c - IPv4 and IPv6 headers: addresses, upper-layer protocol, payload span.
 *
 * "Truncated" (the capture holds fewer bytes than the header announces:
 * snaplen, a cut last record) and "malformed" (the bytes themselves are
 * impossible: wrong version, IHL below 5, total length shorter than the
 * header, an extension header running past the payload length) are told
 * apart, as tcpdump's nd_print_trunc/nd_print_invalid do; packet.c counts
 * them as different anomalies.  The IPv4 header checksum is verified and a
 * wrong one reported (ip_decode() fills the packet and returns
 * IP_RES_CHECKSUM); packet.c counts it and still uses the packet.  Wire
 * corruption that passes the link CRC is very rare, while captures whose
 * addresses were rewritten for anonymity without fixing the checksum are
 * common (several public SMTP samples are like that), and Wireshark and
 * tcpflow read those without complaint.  A checksum field of 0 is taken as
 * "left to the NIC" and not counted.
 *
 * IPv6 extension headers are walked (hop-by-hop, routing, destination
 * options, fragment, AH) up to a bound; ESP, "no next header" and unknown
 * values end the walk and surface as a non-TCP protocol.  A routing header
 * does not change the flow key: the addresses are the ones on the wire.
 *
 * Deliberately not here: options parsing (skipped by length), fragment
 * reassembly (ipfrag.c), anything about TCP.
 */
#include <sys/socket.h>

#include <string.h>

#include "capture/cap_int.h"
#include "capture/cursor.h"

#define IP6_MAX_EXT	16	/* extension headers walked before giving up */

#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_AH_		51
#define IPPROTO_DSTOPTS_	60

/* A big-endian 16-bit field of a header known to be all there. */
static uint16_t
be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One's-complement sum of a header of len octets (a multiple of 4). */
static uint16_t
ip4_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 2 <= len; i += 2)
		sum += be16_at(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Every packet on the wire comes through here, SMTP or not, so the header
 * is checked for length once and then read in place, not through the
 * cursor's check per field (that was a tenth of a replay of a capture
 * that is half background).
 */
static enum ip_res
ip4_decode(const struct l3 *l, struct ip_pkt *ip)
{
	const uint8_t *p = l->p;
	uint16_t total, fragw;
	size_t hlen;

	if (l->len < 1)
		return IP_RES_TRUNC;
	if (p[0] >> 4 != 4)
		return IP_RES_MALFORMED;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < 20)
		return IP_RES_MALFORMED;
	if (l->len < hlen)	/* cut; but a total length below hlen is wrong anyway */
		return l->len >= 4 && be16_at(p + 2) < hlen ? IP_RES_MALFORMED : IP_RES_TRUNC;
	total = be16_at(p + 2);
	if (total < hlen)
		return IP_RES_MALFORMED;
	fragw = be16_at(p + 6);
	memcpy(ip->src, p + 12, 4);
	memcpy(ip->dst, p + 16, 4);
	memset(ip->src + 4, 0, 12);
	memset(ip->dst + 4, 0, 12);
	ip->family = AF_INET;
	ip->proto = p[9];
	ip->payload = p + hlen;
	ip->declared = total - hlen;
	/* Bytes past the total length are link padding, not payload. */
	ip->len = l->len - hlen < ip->declared ? l->len - hlen : ip->declared;
	ip->cut = ip->len < ip->declared;
	ip->frag_more = (fragw & 0x2000) != 0;
	ip->frag_off = (uint32_t)(fragw & 0x1fff) * 8;
	ip->frag = ip->frag_more || ip->frag_off != 0;
	ip->frag_id = be16_at(p + 4);
	if (be16_at(p + 10) != 0 && ip4_cksum(p, hlen) != 0)
		return IP_RES_CHECKSUM;
	return IP_RES_OK;
}

enum ip_res
ip6_walk(struct ip_pkt *ip, uint8_t nh, const uint8_t *p, size_t avail,
    size_t declared, bool first)
{
	struct cur c;
	size_t hlen, start;
	uint8_t next, hl;
	uint16_t offw;
	uint32_t id;
	int i;

	/* Never look at captured bytes beyond what the header announces. */
	if (avail > declared)
		avail = declared;
	cur_init(&c, p, avail);
	for (i = 0; i < IP6_MAX_EXT; i++) {
		start = cur_offset(&c);
		switch (nh) {
		case IPPROTO_HOPOPTS_:
			/* RFC 8200 4.1: only right after the fixed header. */
			if (!first || i != 0)
				return IP_RES_MALFORMED;
			/* FALLTHROUGH */
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_AH_:
			next = cur_u8(&c);
			hl = cur_u8(&c);
			hlen = nh == IPPROTO_AH_ ? ((size_t)hl + 2) * 4 :
			    ((size_t)hl + 1) * 8;
			if (!cur_ok(&c))
				return declared - start < 2 ? IP_RES_MALFORMED :
				    IP_RES_TRUNC;
			if (declared - start < hlen)
				return IP_RES_MALFORMED;
			cur_skip(&c, hlen - 2);
			if (!cur_ok(&c))
				return IP_RES_TRUNC;
			nh = next;
			break;
		case IPPROTO_FRAGMENT_:
			if (declared - start < 8)
				return IP_RES_MALFORMED;
			next = cur_u8(&c);
			cur_skip(&c, 1);
			offw = cur_be16(&c);
			id = cur_be32(&c);
			if (!cur_ok(&c))
				return IP_RES_TRUNC;
			if ((offw & 0xfff8) == 0 && (offw & 1) == 0) {
				/* RFC 6946 atomic fragment: a whole datagram. */
				nh = next;
				break;
			}
			if (ip->frag)	/* a fragment inside a fragment */
				return IP_RES_MALFORMED;
			ip->frag = true;
			ip->frag_off = offw & 0xfff8;
			ip->frag_more = (offw & 1) != 0;
			ip->frag_id = id;
			ip->proto = next;
			ip->payload = cur_rest(&c);
			ip->len = cur_left(&c);
			ip->declared = declared - cur_offset(&c);
			ip->cut = ip->len < ip->declared;
			return IP_RES_OK;
		default:
			/* TCP, UDP, ESP, no-next-header, unknown: stop here. */
			ip->proto = nh;
			ip->payload = cur_rest(&c);
			ip->len = cur_left(&c);
			ip->declared = declared - cur_offset(&c);
			ip->cut = ip->len < ip->declared;
			return IP_RES_OK;
		}
	}
	return IP_RES_MALFORMED;
}

static enum ip_res
ip6_decode(const struct l3 *l, struct ip_pkt *ip)
{
	struct cur c;
	uint16_t plen;
	uint8_t ver, nh;

	cur_init(&c, l->p, l->len);
	ver = cur_u8(&c);
	if (!cur_ok(&c))
		return IP_RES_TRUNC;
	if (ver >> 4 != 6)
		return IP_RES_MALFORMED;
	cur_skip(&c, 3);	/* traffic class, flow label */
	plen = cur_be16(&c);
	nh = cur_u8(&c);
	cur_skip(&c, 1);	/* hop limit */
	cur_copy(&c, ip->src, 16);
	cur_copy(&c, ip->dst, 16);
	if (!cur_ok(&c))
		return IP_RES_TRUNC;
	/* Jumbograms (payload length 0 with a jumbo option) are not supported. */
	if (plen == 0 && nh != 59)
		return IP_RES_MALFORMED;
	ip->family = AF_INET6;
	return ip6_walk(ip, nh, cur_rest(&c), cur_left(&c), plen, true);
}

enum ip_res
ip_decode(const struct l3 *l, struct ip_pkt *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (l->kind == L3_IPV4)
		return ip4_decode(l, ip);
	return ip6_decode(l, ip);
}
