/*
 * tcp.c - the TCP header: ports, sequence and acknowledgement numbers,
 * flags, window and the payload span.
 *
 * The data offset is validated against both what was captured (too short:
 * truncated) and what the IP header announces (too short: malformed).
 * Options are skipped by length, never parsed: nothing the capture layer
 * does needs them (SACK blocks would only say what the receiver got, and
 * ACKs already say that).
 *
 * Deliberately not here: the TCP checksum (checksum offload makes captures
 * on the sending host show wrong checksums on good segments, so checking it
 * would drop real data), and any state: that is flow.c.
 */
#include "capture/cap_int.h"
#include "capture/cursor.h"

#define TCP_MIN_HDR	20

enum tcp_res
tcp_decode(const uint8_t *p, size_t avail, size_t declared, struct tcp_seg *t)
{
	struct cur c;
	size_t hlen;
	uint8_t off;

	if (avail > declared)
		avail = declared;
	if (declared < TCP_MIN_HDR)
		return TCP_RES_MALFORMED;
	cur_init(&c, p, avail);
	t->sport = cur_be16(&c);
	t->dport = cur_be16(&c);
	t->seq = cur_be32(&c);
	t->ack = cur_be32(&c);
	off = cur_u8(&c);
	t->flags = cur_u8(&c);
	t->win = cur_be16(&c);
	cur_skip(&c, 4);	/* checksum, urgent pointer */
	if (!cur_ok(&c))
		return TCP_RES_TRUNC;
	hlen = (size_t)(off >> 4) * 4;
	if (hlen < TCP_MIN_HDR || hlen > declared)
		return TCP_RES_MALFORMED;
	cur_skip(&c, hlen - TCP_MIN_HDR);	/* options */
	if (!cur_ok(&c))
		return TCP_RES_TRUNC;
	t->data = cur_rest(&c);
	t->len = cur_left(&c);
	return TCP_RES_OK;
}
