/*
 * mapfile.c - classic pcap files read straight from memory.
 *
 * Why: libpcap's savefile reader copies every record through stdio in
 * two small reads (the record header, then the packet) into its own
 * buffer.  On a replay of a large file that copy is most of the floor a
 * bare pcap_next_ex() loop costs.  A classic pcap file is a 24-octet
 * header and then records laid end to end, so a read-only mapping of the
 * whole file can hand out pointers into the page cache instead: no copy,
 * no system call per record.
 *
 * Only the plain case is taken: a regular file, the four magic numbers of
 * pcap 2.4 (either byte order, micro- or nanosecond timestamps), and no
 * pseudo-header libpcap would rewrite.  pcapng, the old variants (Kuznetzov's, version
 * 2.3 and older), pipes and live capture stay with libpcap, which opens
 * every file first anyway, so its checks and messages for a bad header
 * are the only ones.  Each record is then read as libpcap reads it, and
 * tests/fuzz/fuzz_mapfile.c holds the two readers to the same result on
 * any input: the same timestamps (nanoseconds cut to microseconds; but
 * see below for the seconds after 2038), a
 * capture length above the file's snapshot length cut to it, one above
 * the largest libpcap accepts an error, and a record cut short by the end
 * of the file an error whose text says "truncated".
 *
 * The mapping is taken once, of the size at open.  A file that another
 * program shortens while it is read would fault (SIGBUS); one that grows
 * is read to its size at open, as a capture being written should be read
 * with -r - from a pipe.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap_int.h"

#define MAGIC_US	0xa1b2c3d4U
#define MAGIC_NS	0xa1b23c4dU
#define FILEHDR_LEN	24
#define RECHDR_LEN	16
#define MAP_DROP_EVERY	(2 * 1024 * 1024)

static uint32_t
get32(const uint8_t *b, bool swap)
{
	uint32_t v;

	memcpy(&v, b, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t
get16(const uint8_t *b, bool swap)
{
	uint16_t v;

	memcpy(&v, b, sizeof(v));
	return swap ? __builtin_bswap16(v) : v;
}

/* libpcap's largest capture length for a link type (max_snaplen_for_dlt):
 * larger records are an error, not a packet. */
static uint32_t
max_caplen(int dlt)
{
	switch (dlt) {
	case 231:	/* DLT_DBUS */
		return 128 * 1024 * 1024;
	case 249:	/* DLT_USBPCAP */
	case 279:	/* DLT_EBHSCR */
		return 1024 * 1024;
	default:
		return 262144;
	}
}

/*
 * libpcap rewrites some link-layer pseudo-headers in place as it reads
 * (pcap_post_process(): USB, NFLOG, Linux cooked captures of the other
 * byte order...): a file of such a link type stays with it.  These are
 * the link types it hands out as they are in the file.
 */
static bool
plain_link(int dlt, bool swap)
{
	switch (dlt) {
	case 0:		/* DLT_NULL */
	case 1:		/* DLT_EN10MB */
	case 12:	/* DLT_RAW */
	case 14:	/* DLT_RAW (OpenBSD) */
	case 101:	/* LINKTYPE_RAW */
	case 108:	/* DLT_LOOP */
	case 228:	/* DLT_IPV4 */
	case 229:	/* DLT_IPV6 */
		return true;
	case 113:	/* DLT_LINUX_SLL */
	case 276:	/* DLT_LINUX_SLL2 */
		return !swap;
	default:
		return false;
	}
}

int
mapfile_init(struct mapfile *m, const uint8_t *base, size_t len, int dlt)
{
	uint32_t magic, snap;

	memset(m, 0, sizeof(*m));
	if (len < FILEHDR_LEN)
		return -1;
	memcpy(&magic, base, sizeof(magic));
	if (magic == MAGIC_US || magic == MAGIC_NS)
		m->swap = false;
	else if (magic == __builtin_bswap32(MAGIC_US) || magic == __builtin_bswap32(MAGIC_NS))
		m->swap = true;
	else
		return -1;
	if (!plain_link(dlt, m->swap))
		return -1;
	m->nsec = get32(base, m->swap) == MAGIC_NS;
	/* Version 2.4 only (two 16-bit numbers): 2.3 and older have quirks
	 * libpcap keeps for them. */
	if (get16(base + 4, m->swap) != 2 || get16(base + 6, m->swap) != 4)
		return -1;
	m->maxcap = max_caplen(dlt);
	snap = get32(base + 16, m->swap);
	/* libpcap takes a snapshot length of 0 or above its maximum as its
	 * maximum. */
	m->snap = snap == 0 || snap > m->maxcap ? m->maxcap : snap;
	m->base = base;
	m->len = len;
	m->off = FILEHDR_LEN;
	return 0;
}

/*
 * The pages behind the record being handed out are done with (a packet is
 * valid only until the next one of its file, as with libpcap): leave them
 * to the page cache, so that the process's resident memory stays flat in
 * the file's length instead of growing to its size.
 */
static void
drop_behind(struct mapfile *m)
{
	size_t end = m->off - m->off % m->page;

	if (end > m->dropped) {
		(void)madvise((void *)(uintptr_t)(m->base + m->dropped), end - m->dropped,
		    MADV_DONTNEED);
		m->dropped = end;
	}
}

int
mapfile_next(struct mapfile *m, const u_char **data, char *err, size_t errlen)
{
	const uint8_t *r;
	uint32_t caplen, len, sub;
	size_t left = m->len - m->off;

	if (left == 0)
		return 0;
	if (left < RECHDR_LEN) {
		snprintf(err, errlen, "truncated dump file; tried to read %d header "
		    "bytes, only got %zu", RECHDR_LEN, left);
		return -1;
	}
	r = m->base + m->off;
	caplen = get32(r + 8, m->swap);
	len = get32(r + 12, m->swap);
	if (caplen > m->maxcap) {
		snprintf(err, errlen, "invalid packet capture length %u, bigger "
		    "than snaplen of %u", caplen, m->snap);
		return -1;
	}
	left -= RECHDR_LEN;
	if (caplen > left) {
		snprintf(err, errlen, "truncated dump file; tried to read %u "
		    "captured bytes, only got %zu", caplen, left);
		return -1;
	}
	sub = get32(r + 4, m->swap);
	/* Unsigned, as the format has them (draft-ietf-opsawg-pcap): libpcap
	 * makes the seconds and fraction of a file in this machine's byte
	 * order signed, and so goes back to 1901 after January 2038 (the
	 * fuzzer found the two readers apart there; mapdiff.h allows for
	 * it). */
	m->hdr.ts.tv_sec = (time_t)get32(r, m->swap);
	m->hdr.ts.tv_usec = (suseconds_t)(m->nsec ? sub / 1000 : sub);
	/* As libpcap: more than the snapshot length is read and dropped. */
	m->hdr.caplen = caplen > m->snap ? m->snap : caplen;
	m->hdr.len = len;
	*data = r + RECHDR_LEN;
	if (m->mapped && m->off - m->dropped >= MAP_DROP_EVERY)
		drop_behind(m);
	m->off += RECHDR_LEN + (size_t)caplen;
	return 1;
}

int
mapfile_open(struct mapfile *m, int fd, uint64_t size, int dlt)
{
	void *p;

	memset(m, 0, sizeof(*m));
	if (size < FILEHDR_LEN || size > SIZE_MAX)
		return -1;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	if (mapfile_init(m, p, (size_t)size, dlt) == -1) {
		munmap(p, (size_t)size);
		memset(m, 0, sizeof(*m));
		return -1;
	}
	(void)madvise(p, (size_t)size, MADV_SEQUENTIAL);
	m->mapped = true;
	m->page = sysconf(_SC_PAGESIZE) > 0 ? (size_t)sysconf(_SC_PAGESIZE) : 4096;
	return 0;
}

void
mapfile_close(struct mapfile *m)
{
	if (m->mapped)
		munmap((void *)(uintptr_t)m->base, m->len);
	memset(m, 0, sizeof(*m));
}
