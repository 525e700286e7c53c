/*
 * bare.c - the benchmark's baseline: a bare libpcap pcap_next_ex() loop
 * that touches every byte of every packet (a sum, so the compiler cannot
 * drop the reads).  smtpscope's replay is measured against this.
 * usage: bare FILE [COUNT]: COUNT packets at most, as tshark -c.
 */
#include <pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, sum = 0, max = UINT64_MAX;
	pcap_t *p;
	int rc = 1;

	if (argc < 2 || argc > 3 || (p = pcap_open_offline(argv[1], err)) == NULL) {
		fprintf(stderr, "usage: bare FILE [COUNT] (%s)\n", argc >= 2 ? err : "");
		return 1;
	}
	if (argc == 3)
		max = strtoull(argv[2], NULL, 10);
	while (n < max && (rc = pcap_next_ex(p, &h, &d)) == 1) {
		for (bpf_u_int32 i = 0; i < h->caplen; i++)
			sum += d[i];
		n++;
	}
	printf("%llu packets, checksum %llu\n", (unsigned long long)n, (unsigned long long)sum);
	pcap_close(p);
	return rc == PCAP_ERROR ? 1 : 0;
}
