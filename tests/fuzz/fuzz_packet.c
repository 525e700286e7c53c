/*
 * fuzz_packet.c - libFuzzer target for the capture layer and the decoder
 * behind it: raw frames of every supported link type through link, IPv4
 * and IPv6 (extension headers, fragment reassembly), TCP, the flow table
 * and stream reassembly, and the bytes into SMTP sessions (make fuzz
 * FUZZ=packet; make check replays its corpus).
 *
 * The input: one octet choosing the link type (an index into links[]),
 * one octet of flags (bit 0: every TCP port, not only the SMTP ones; bit
 * 1: tiny limits, so the flow, out-of-order and fragment caps are hit),
 * then frames: u16 length, u16 milliseconds since the previous frame, the
 * frame.  The seeds (mkseeds.py) are every capture in pcaps/ in
 * this form.
 *
 * Asserted, for every flow and direction: each data or gap event starts
 * exactly where the previous one ended (no byte delivered twice, offsets
 * only grow, nothing skipped without a gap); events come only between a
 * flow's open and close; every open flow is closed by cap_finish().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"
#include "decode/smtp.h"
#include "tests/fuzz/fuzz_flows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = { 1, 113, 276, 0, 108, 12, 14, 101, 228, 229 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_consumer cons = flows_consumer;
	struct smtp_sink sink = { 0 };
	struct cap_config cfg;
	char eb[CAP_ERRBUF_SIZE];
	struct cap *c;
	uint64_t ts = 1700000000ULL * 1000000;
	size_t off = 2;

	if (size < 2)
		return 0;
	cap_config_init(&cfg);
	if (data[1] & 1)
		cfg.nports = 0;
	if (data[1] & 2) {
		cfg.limits.max_flows = 4;
		cfg.limits.max_ooo_flow = 512;
		cfg.limits.max_ooo_total = 2048;
	}
	fctx = smtp_ctx_new(NULL, &sink);
	open_flows = 0;
	if (cap_open_raw(&c, &cfg, &cons, links[data[0] % (sizeof(links) / sizeof(links[0]))],
	    eb) != 0)
		abort();
	while (off + 4 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];

		ts += ((uint64_t)data[off + 2] << 8 | data[off + 3]) * 1000;
		off += 4;
		if (n > size - off)
			n = size - off;
		cap_input(c, ts, data + off, n, n);
		off += n;
	}
	cap_finish(c, false);
	if (open_flows != 0)
		abort();	/* a flow never closed */
	cap_close(c);
	smtp_ctx_free(fctx);
	return 0;
}
