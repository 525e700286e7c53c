/*
 * ipfrag.c - bounded IPv4 and IPv6 fragment reassembly.
 *
 * A datagram is keyed by (family, source, destination, identification, and
 * for IPv4 the protocol) and rebuilt in one buffer that grows to the
 * highest fragment end seen, with a bitmap of the 8-byte units received.
 * It is complete when the last fragment (MF clear) has fixed the length and
 * every unit below it is present; the caller then gets the whole payload
 * and hands the datagram back with ipfrag_done().  One allocation per
 * datagram, none per fragment.
 *
 * Bounds (STYLE.md rule 5), each counted when hit:
 *   - at most CAP_FRAG_MAX_DGRAMS datagrams and max_bytes of buffers held;
 *     to make room the oldest datagram is dropped (frag-limit);
 *   - a datagram not complete timeout seconds (capture time) after its
 *     first fragment is dropped (frag-timeout);
 *   - a fragment that would end past 65535 bytes, a non-final fragment
 *     whose length is not a multiple of 8, or fragments disagreeing on the
 *     length are invalid (frag-malformed).
 *
 * Overlap policy: the first copy of a byte wins, for IPv4 and IPv6 alike;
 * an overlap that repeats the same bytes is normal (a retransmitted
 * fragment) and silent, one that brings different bytes is counted
 * (frag-overlap) once per fragment.  RFC 5722 tells IPv6 receivers to drop
 * such datagrams instead; a passive analyzer that cannot know what the host
 * did keeps the data and flags the anomaly, which is also what the TCP
 * reassembler does for overlapping segments.
 *
 * Deliberately not here: parsing what the datagram carries (ip.c, tcp.c).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

#define FRAG_MAX_LEN	65535		/* largest reassembled payload */
#define FRAG_UNITS	((FRAG_MAX_LEN + 8) / 8)
#define FRAG_GROW	2048		/* buffer growth step */

struct frag_dgram {
	TAILQ_ENTRY(frag_dgram) q;
	int family;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
	uint64_t first_us;
	uint8_t *buf;
	size_t cap;		/* bytes allocated in buf */
	size_t total;		/* payload length, once the last fragment came */
	bool have_last;
	uint8_t units[(FRAG_UNITS + 7) / 8];
};

void
ipfrag_init(struct ipfrag *t, size_t max_bytes, unsigned timeout_s,
    uint64_t *anom)
{
	TAILQ_INIT(&t->q);
	t->ndgrams = 0;
	t->held = 0;
	t->max_bytes = max_bytes;
	t->timeout_us = (uint64_t)timeout_s * US_PER_S;
	t->anom = anom;
}

static void
drop(struct ipfrag *t, struct frag_dgram *d)
{
	TAILQ_REMOVE(&t->q, d, q);
	t->ndgrams--;
	t->held -= d->cap;
	free(d->buf);
	free(d);
}

static bool
unit_has(const struct frag_dgram *d, size_t u)
{
	return (d->units[u >> 3] & (1u << (u & 7))) != 0;
}

static void
unit_set(struct frag_dgram *d, size_t u)
{
	d->units[u >> 3] |= (uint8_t)(1u << (u & 7));
}

static struct frag_dgram *
find(struct ipfrag *t, const struct ip_pkt *ip)
{
	struct frag_dgram *d;
	size_t alen = ip->family == AF_INET ? 4 : 16;

	TAILQ_FOREACH(d, &t->q, q) {
		if (d->family == ip->family && d->id == ip->frag_id &&
		    (ip->family != AF_INET || d->proto == ip->proto) &&
		    memcmp(d->src, ip->src, alen) == 0 &&
		    memcmp(d->dst, ip->dst, alen) == 0)
			return d;
	}
	return NULL;
}

/* Make room for grow more buffer bytes, dropping the oldest others. */
static bool
make_room(struct ipfrag *t, struct frag_dgram *keep, size_t grow)
{
	struct frag_dgram *d, *next;

	for (d = TAILQ_FIRST(&t->q); d != NULL && t->max_bytes - t->held < grow;
	    d = next) {
		next = TAILQ_NEXT(d, q);
		if (d == keep)
			continue;
		t->anom[CAP_AN_FRAG_LIMIT]++;
		drop(t, d);
	}
	return t->max_bytes - t->held >= grow;
}

static bool
complete(const struct frag_dgram *d)
{
	size_t u, n;

	if (!d->have_last)
		return false;
	n = (d->total + 7) / 8;
	for (u = 0; u < n; u++)
		if (!unit_has(d, u))
			return false;
	return true;
}

int
ipfrag_add(struct ipfrag *t, const struct ip_pkt *ip, uint64_t now_us,
    struct frag_dgram **dgp, const uint8_t **data, size_t *len)
{
	struct frag_dgram *d;
	size_t end, ncap, u, from, to;
	uint8_t *nbuf;
	bool differ = false;

	end = (size_t)ip->frag_off + ip->len;
	if (end > FRAG_MAX_LEN || (ip->frag_more && (ip->len == 0 ||
	    ip->len % 8 != 0))) {
		t->anom[CAP_AN_FRAG_MALFORMED]++;
		return -1;
	}
	d = find(t, ip);
	if (d == NULL) {
		if (t->ndgrams >= CAP_FRAG_MAX_DGRAMS) {
			t->anom[CAP_AN_FRAG_LIMIT]++;
			drop(t, TAILQ_FIRST(&t->q));
		}
		if ((d = calloc(1, sizeof(*d))) == NULL) {
			t->anom[CAP_AN_FRAG_LIMIT]++;
			return -1;
		}
		d->family = ip->family;
		memcpy(d->src, ip->src, sizeof(d->src));
		memcpy(d->dst, ip->dst, sizeof(d->dst));
		d->id = ip->frag_id;
		d->proto = ip->proto;
		d->first_us = now_us;
		TAILQ_INSERT_TAIL(&t->q, d, q);
		t->ndgrams++;
	}

	/* The fragments must agree on where the datagram ends. */
	if (d->have_last && (end > d->total ||
	    (!ip->frag_more && end != d->total))) {
		t->anom[CAP_AN_FRAG_MALFORMED]++;
		drop(t, d);
		return -1;
	}
	if (!ip->frag_more && !d->have_last) {
		/* No unit beyond the end may be present already. */
		for (u = (end + 7) / 8; u * 8 < d->cap; u++) {
			if (unit_has(d, u)) {
				t->anom[CAP_AN_FRAG_MALFORMED]++;
				drop(t, d);
				return -1;
			}
		}
		d->have_last = true;
		d->total = end;
	}

	if (end > d->cap) {
		ncap = ((end + FRAG_GROW - 1) / FRAG_GROW) * FRAG_GROW;
		if (ncap > FRAG_MAX_LEN + 1)
			ncap = FRAG_MAX_LEN + 1;
		if (!make_room(t, d, ncap - d->cap) ||
		    (nbuf = realloc(d->buf, ncap)) == NULL) {
			t->anom[CAP_AN_FRAG_LIMIT]++;
			drop(t, d);
			return -1;
		}
		d->buf = nbuf;
		t->held += ncap - d->cap;
		d->cap = ncap;
	}

	/* Copy unit by unit; the first copy of a unit wins. */
	for (u = ip->frag_off / 8; u * 8 < end; u++) {
		from = u * 8;
		to = from + 8 < end ? from + 8 : end;
		if (unit_has(d, u)) {
			if (memcmp(d->buf + from, ip->payload +
			    (from - ip->frag_off), to - from) != 0)
				differ = true;
			continue;
		}
		memcpy(d->buf + from, ip->payload + (from - ip->frag_off),
		    to - from);
		unit_set(d, u);
	}
	if (differ)
		t->anom[CAP_AN_FRAG_OVERLAP]++;

	if (!complete(d))
		return 0;
	*dgp = d;
	*data = d->buf;
	*len = d->total;
	return 1;
}

void
ipfrag_done(struct ipfrag *t, struct frag_dgram *d)
{
	drop(t, d);
}

void
ipfrag_expire(struct ipfrag *t, uint64_t now_us)
{
	struct frag_dgram *d;

	while ((d = TAILQ_FIRST(&t->q)) != NULL &&
	    now_us - d->first_us >= t->timeout_us && now_us >= d->first_us) {
		t->anom[CAP_AN_FRAG_TIMEOUT]++;
		drop(t, d);
	}
}

void
ipfrag_free(struct ipfrag *t)
{
	struct frag_dgram *d;

	while ((d = TAILQ_FIRST(&t->q)) != NULL)
		drop(t, d);
}
