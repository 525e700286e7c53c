/*
 * bare.c - the benchmark's baseline: a bare libpcap pcap_next_ex() loop
 * that touches every byte of every packet (a sum, so the compiler cannot
 * drop the reads).  smtpscope's replay is measured against this.
 */
#include <pcap.h>
#include <stdint.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, sum = 0;
	pcap_t *p;
	int rc;

	if (argc != 2 || (p = pcap_open_offline(argv[1], err)) == NULL) {
		fprintf(stderr, "usage: bare FILE (%s)\n", argc == 2 ? err : "");
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		for (bpf_u_int32 i = 0; i < h->caplen; i++)
			sum += d[i];
		n++;
	}
	printf("%llu packets, checksum %llu\n", (unsigned long long)n, (unsigned long long)sum);
	pcap_close(p);
	return rc == PCAP_ERROR ? 1 : 0;
}
