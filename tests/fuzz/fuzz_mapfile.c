/*
 * fuzz_mapfile.c - libFuzzer target, differential: capture/mapfile.c, our
 * reader of classic pcap files from memory, against libpcap's savefile
 * reader on the same bytes (tests/fuzz/mapdiff.h).  Any input either is
 * refused by both, or yields the same packets (timestamps, lengths, bytes)
 * and the same end; a difference aborts with both readings.  Seeds:
 * pcaps/ (tests/fuzz/seeds/mapfile is a link to it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/mapdiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];
	long n;

	if (mapdiff(data, size, why, sizeof(why), &n) == -1) {
		fprintf(stderr, "fuzz_mapfile: the readers differ: %s\n", why);
		abort();
	}
	return 0;
}
