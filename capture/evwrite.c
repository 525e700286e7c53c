/*
 * evwrite.c - writing an evidence file: classic pcap through libpcap, or
 * pcapng written here (libpcap 1.10 writes no pcapng).
 *
 * The pcapng file is the minimum Wireshark and tcpdump read: one Section
 * Header Block (shb_userappl "smtpscope"), one Interface Description Block
 * (the link type, the snap length, microsecond timestamps, the default),
 * then an Enhanced Packet Block per packet whose opt_comment names the
 * packet's number in the capture smtpscope read: a report's evidence line
 * "#535" is the packet with the comment "smtpscope: packet 535", whatever
 * its place in the evidence file.  Blocks are in this host's byte order,
 * as the format allows (the byte-order magic says which).
 *
 * Errors stay in the stream (ferror) for evw_flush to report.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "capture/cap_int.h"

#define NG_SHB		0x0a0d0d0aU
#define NG_IDB		0x00000001U
#define NG_EPB		0x00000006U
#define NG_MAGIC	0x1a2b3c4dU
#define OPT_END		0
#define OPT_COMMENT	1
#define SHB_USERAPPL	4
#define IF_SNAPLEN_DEFAULT 262144

static const uint8_t zeros[4];

static void
put32(FILE *f, uint32_t v)
{
	(void)fwrite(&v, sizeof(v), 1, f);
}

static void
put16(FILE *f, uint16_t v)
{
	(void)fwrite(&v, sizeof(v), 1, f);
}

static size_t
pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

/* One option: code, length, value padded to 32 bits. */
static void
put_opt(FILE *f, uint16_t code, const void *v, size_t len)
{
	put16(f, code);
	put16(f, (uint16_t)len);
	if (len > 0)
		(void)fwrite(v, 1, len, f);
	(void)fwrite(zeros, 1, pad4(len), f);
}

static size_t
opt_size(size_t len)
{
	return 4 + len + pad4(len);
}

bool
evw_wants_ng(const char *path)
{
	size_t n = path != NULL ? strlen(path) : 0;

	return n >= 7 && strcasecmp(path + n - 7, ".pcapng") == 0;
}

int
evw_open(struct evw *w, FILE *fp, bool ng, pcap_t *dead, int dlt, int snaplen,
    char errbuf[CAP_ERRBUF_SIZE])
{
	static const char appl[] = "smtpscope";
	uint32_t len;
	uint64_t seclen = UINT64_MAX;	/* -1: not given */

	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->ng = ng;
	if (!ng) {
		if ((w->dump = pcap_dump_fopen(dead, fp)) == NULL) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "%s", pcap_geterr(dead));
			w->fp = NULL;
			return -1;
		}
		return 0;
	}
	len = (uint32_t)(4 + 4 + 4 + 2 + 2 + 8 + opt_size(sizeof(appl) - 1) +
	    opt_size(0) + 4);
	put32(fp, NG_SHB);
	put32(fp, len);
	put32(fp, NG_MAGIC);
	put16(fp, 1);
	put16(fp, 0);
	(void)fwrite(&seclen, sizeof(seclen), 1, fp);
	put_opt(fp, SHB_USERAPPL, appl, sizeof(appl) - 1);
	put_opt(fp, OPT_END, NULL, 0);
	put32(fp, len);

	len = 4 + 4 + 2 + 2 + 4 + (uint32_t)opt_size(0) + 4;
	put32(fp, NG_IDB);
	put32(fp, len);
	put16(fp, (uint16_t)dlt);
	put16(fp, 0);
	put32(fp, (uint32_t)(snaplen > 0 ? snaplen : IF_SNAPLEN_DEFAULT));
	put_opt(fp, OPT_END, NULL, 0);
	put32(fp, len);
	return 0;
}

void
evw_packet(struct evw *w, const struct ev_rec *r, const uint8_t *data)
{
	struct pcap_pkthdr h;
	char comment[48];
	uint32_t len, wire;
	int n;

	wire = r->wirelen < r->caplen ? r->caplen : r->wirelen;
	if (!w->ng) {
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = (time_t)(r->ts_us / US_PER_S);
		h.ts.tv_usec = (suseconds_t)(r->ts_us % US_PER_S);
		h.caplen = r->caplen;
		h.len = wire;
		pcap_dump((u_char *)w->dump, &h, data);
		return;
	}
	n = snprintf(comment, sizeof(comment), "smtpscope: packet %llu",
	    (unsigned long long)r->pkt);
	if (n < 0)
		n = 0;
	len = (uint32_t)(4 + 4 + 4 + 4 + 4 + 4 + 4 + r->caplen + pad4(r->caplen) +
	    opt_size((size_t)n) + opt_size(0) + 4);
	put32(w->fp, NG_EPB);
	put32(w->fp, len);
	put32(w->fp, 0);				/* interface 0 */
	put32(w->fp, (uint32_t)(r->ts_us >> 32));
	put32(w->fp, (uint32_t)r->ts_us);
	put32(w->fp, r->caplen);
	put32(w->fp, wire);
	(void)fwrite(data, 1, r->caplen, w->fp);
	(void)fwrite(zeros, 1, pad4(r->caplen), w->fp);
	put_opt(w->fp, OPT_COMMENT, comment, (size_t)n);
	put_opt(w->fp, OPT_END, NULL, 0);
	put32(w->fp, len);
}

int
evw_flush(struct evw *w)
{
	if (w->fp == NULL)
		return 0;
	if (w->dump != NULL ? pcap_dump_flush(w->dump) == -1 : fflush(w->fp) == EOF)
		return -1;
	if (ferror(w->fp)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

void
evw_close(struct evw *w)
{
	if (w->dump != NULL)
		pcap_dump_close(w->dump);	/* closes fp */
	else if (w->fp != NULL)
		(void)fclose(w->fp);
	memset(w, 0, sizeof(*w));
}
