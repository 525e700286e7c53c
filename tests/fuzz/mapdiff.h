/*
 * mapdiff.h - hold capture/mapfile.c to libpcap: read the same bytes as a
 * classic pcap file with both, record by record, and say where they part.
 * Used by the fuzz target fuzz_mapfile.c (any input) and the unit test
 * tests/unit/capture_mapfile.c (crafted files and pcaps/).
 *
 * mapdiff() returns 1 when both read the file alike to its end (or to
 * the same kind of error: "truncated" or another), 0 when the memory
 * reader does not take the file (libpcap refuses it, or it is not plain
 * pcap 2.4), and -1 with the reason in why when they differ.
 */
#ifndef SMTPSCOPE_MAPDIFF_H
#define SMTPSCOPE_MAPDIFF_H

#include <stdio.h>
#include <string.h>

#include "capture/cap_int.h"

static int
mapdiff(const uint8_t *data, size_t size, char *why, size_t whylen, long *npkts)
{
	char pe[PCAP_ERRBUF_SIZE], me[256];
	struct pcap_pkthdr *h;
	const u_char *d, *md;
	struct mapfile m;
	FILE *fp;
	pcap_t *p;
	int rc = 1, a, b;

	*npkts = 0;
	if (size == 0 || (fp = fmemopen((void *)(uintptr_t)data, size, "rb")) == NULL)
		return 0;
	if ((p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
	    pe)) == NULL) {
		fclose(fp);
		return 0;
	}
	if (mapfile_init(&m, data, size, pcap_datalink(p)) == -1) {
		pcap_close(p);
		return 0;
	}
	for (;;) {
		a = pcap_next_ex(p, &h, &d);
		b = mapfile_next(&m, &md, me, sizeof(me));
		if (a == 1 && b == 1) {
			/* libpcap sign-extends the seconds and the fraction of a
			 * file in this machine's byte order (only); we read them
			 * unsigned, as the format has them.  So: the seconds modulo
			 * 2^32, and the fraction only when it is a valid one (under
			 * a second; libpcap's reading of others depends on it). */
			if ((uint32_t)h->ts.tv_sec != (uint32_t)m.hdr.ts.tv_sec ||
			    (m.hdr.ts.tv_usec < 1000000 && h->ts.tv_usec != m.hdr.ts.tv_usec) ||
			    h->caplen != m.hdr.caplen || h->len != m.hdr.len ||
			    memcmp(d, md, h->caplen) != 0) {
				snprintf(why, whylen, "packet %ld: libpcap %ld.%06ld %u/%u, "
				    "mapfile %ld.%06ld %u/%u%s", *npkts + 1,
				    (long)h->ts.tv_sec, (long)h->ts.tv_usec, h->caplen, h->len,
				    (long)m.hdr.ts.tv_sec, (long)m.hdr.ts.tv_usec, m.hdr.caplen,
				    m.hdr.len, h->caplen == m.hdr.caplen &&
				    memcmp(d, md, h->caplen) != 0 ? ", data differs" : "");
				rc = -1;
			}
			if (rc == -1)
				break;
			(*npkts)++;
			continue;
		}
		if (a == PCAP_ERROR_BREAK && b == 0)
			break;
		if (a == PCAP_ERROR && b == -1 &&
		    (strstr(pcap_geterr(p), "truncated") != NULL) == (strstr(me, "truncated") != NULL))
			break;
		snprintf(why, whylen, "after %ld packets: libpcap %d (%s), mapfile %d (%s)",
		    *npkts, a, a == PCAP_ERROR ? pcap_geterr(p) : "", b, b == -1 ? me : "");
		rc = -1;
		break;
	}
	pcap_close(p);
	return rc;
}

#endif
