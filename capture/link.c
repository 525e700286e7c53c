/*
 * link.c - the link-type table: from a DLT to the IPv4/IPv6 bytes it carries.
 *
 * Like tcpflow's handlers[], one row per supported DLT {value, name,
 * decoder}; unlike tcpflow's dl_null, every byte is read through the bounds
 * checked cursor.  A decoder either returns the network-layer span with its
 * kind (IPv4, IPv6 or "other", e.g. ARP) or says the link header itself is
 * cut short.  VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8 and the old QinQ
 * 0x9100) are peeled off in any number, on Ethernet and on Linux cooked
 * captures alike.
 *
 * Deliberately not here: anything above the link layer, and any link type
 * not in the table (802.11, PPP, ...): cap_open() refuses those by name
 * rather than guess.
 */
#include <stddef.h>

#include <pcap/pcap.h>

#include "capture/cap_int.h"
#include "capture/cursor.h"

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define ETHERTYPE_8021Q	0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETHERTYPE_QINQ	0x9100

/* BSD address families carried by DLT_NULL / DLT_LOOP. */
#define BSD_AF_INET		2
#define BSD_AF_INET6_BSD	24	/* NetBSD, OpenBSD, BSD/OS */
#define BSD_AF_INET6_FREEBSD	28
#define BSD_AF_INET6_DARWIN	30

/* Set out from an ethertype and the bytes after it, peeling VLAN tags. */
static enum link_res
from_ethertype(struct cur *c, uint16_t type, struct l3 *out)
{
	while (type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD ||
	    type == ETHERTYPE_QINQ) {
		cur_skip(c, 2);		/* PCP, DEI, VLAN id */
		type = cur_be16(c);
		if (!cur_ok(c))
			return LINK_TRUNC;
	}
	switch (type) {
	case ETHERTYPE_IPV4:
		out->kind = L3_IPV4;
		break;
	case ETHERTYPE_IPV6:
		out->kind = L3_IPV6;
		break;
	default:
		out->kind = L3_OTHER;
		break;
	}
	out->p = cur_rest(c);
	out->len = cur_left(c);
	return LINK_OK;
}

static enum link_res
dl_ether(const uint8_t *p, size_t caplen, struct l3 *out)
{
	struct cur c;
	uint16_t type;

	cur_init(&c, p, caplen);
	cur_skip(&c, 12);	/* destination, source */
	type = cur_be16(&c);
	if (!cur_ok(&c))
		return LINK_TRUNC;
	/* Values up to 1500 are 802.3 lengths (LLC follows): not IP for us. */
	return from_ethertype(&c, type, out);
}

/* Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes, protocol. */
static enum link_res
dl_sll(const uint8_t *p, size_t caplen, struct l3 *out)
{
	struct cur c;
	uint16_t type;

	cur_init(&c, p, caplen);
	cur_skip(&c, 14);
	type = cur_be16(&c);
	if (!cur_ok(&c))
		return LINK_TRUNC;
	return from_ethertype(&c, type, out);
}

/* Linux cooked v2: protocol, reserved, ifindex, ARPHRD, type, addr len, 8 bytes. */
static enum link_res
dl_sll2(const uint8_t *p, size_t caplen, struct l3 *out)
{
	struct cur c;
	uint16_t type;

	cur_init(&c, p, caplen);
	type = cur_be16(&c);
	cur_skip(&c, 18);
	if (!cur_ok(&c))
		return LINK_TRUNC;
	return from_ethertype(&c, type, out);
}

static enum l3_kind
bsd_af(uint32_t af)
{
	switch (af) {
	case BSD_AF_INET:
		return L3_IPV4;
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return L3_IPV6;
	default:
		return L3_OTHER;
	}
}

/*
 * DLT_NULL holds the family in the byte order of the machine that wrote the
 * capture, which a reader cannot know; DLT_LOOP is meant to be network
 * order but writers disagree.  Both are tried: the values cannot collide
 * (2 swapped is 0x02000000).
 */
static enum link_res
dl_null(const uint8_t *p, size_t caplen, struct l3 *out)
{
	struct cur c, c2;
	uint32_t le, be;

	cur_init(&c, p, caplen);
	c2 = c;
	le = cur_le32(&c);
	be = cur_be32(&c2);
	if (!cur_ok(&c))
		return LINK_TRUNC;
	out->kind = bsd_af(le);
	if (out->kind == L3_OTHER)
		out->kind = bsd_af(be);
	out->p = cur_rest(&c);
	out->len = cur_left(&c);
	return LINK_OK;
}

/* Raw IP: the version nibble says which. */
static enum link_res
dl_raw(const uint8_t *p, size_t caplen, struct l3 *out)
{
	struct cur c;
	uint8_t v;

	cur_init(&c, p, caplen);
	v = cur_u8(&c);
	if (!cur_ok(&c))
		return LINK_TRUNC;
	switch (v >> 4) {
	case 4:
		out->kind = L3_IPV4;
		break;
	case 6:
		out->kind = L3_IPV6;
		break;
	default:
		out->kind = L3_OTHER;
		break;
	}
	out->p = p;
	out->len = caplen;
	return LINK_OK;
}

static enum link_res
dl_ipv4(const uint8_t *p, size_t caplen, struct l3 *out)
{
	out->kind = L3_IPV4;
	out->p = p;
	out->len = caplen;
	return LINK_OK;
}

static enum link_res
dl_ipv6(const uint8_t *p, size_t caplen, struct l3 *out)
{
	out->kind = L3_IPV6;
	out->p = p;
	out->len = caplen;
	return LINK_OK;
}

/*
 * DLT values as libpcap reports them.  Raw IP appears as 12 (most systems),
 * 14 (OpenBSD's DLT_RAW) and 101 (LINKTYPE_RAW, mapped by libpcap but listed
 * for captures handed in by value); 228/229 are the explicit IPv4/IPv6 types.
 */
static const struct link_type link_types[] = {
	{ 1, "EN10MB", dl_ether },
	{ 113, "LINUX_SLL", dl_sll },
	{ 276, "LINUX_SLL2", dl_sll2 },
	{ 0, "NULL", dl_null },
	{ 108, "LOOP", dl_null },
	{ 12, "RAW", dl_raw },
	{ 14, "RAW", dl_raw },
	{ 101, "RAW", dl_raw },
	{ 228, "IPV4", dl_ipv4 },
	{ 229, "IPV6", dl_ipv6 },
};

const struct link_type *
link_lookup(int dlt)
{
	size_t i;

	for (i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++)
		if (link_types[i].dlt == dlt)
			return &link_types[i];
	return NULL;
}
