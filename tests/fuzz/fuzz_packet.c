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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = { 1, 113, 276, 0, 108, 12, 14, 101, 228, 229 };

struct fflow {
	uint64_t next[2];	/* the next offset expected, per direction */
	struct smtp_session *s;
};

static struct smtp_ctx *fctx;
static long open_flows;

static void *
f_open(void *arg, const struct cap_flow_info *fi)
{
	struct fflow *f = calloc(1, sizeof(*f));
	struct smtp_peers p = { .flow_id = fi->id, .family = fi->family,
	    .client_port = fi->client_port, .server_port = fi->server_port,
	    .mid_stream = fi->mid_stream, .ts_us = fi->ts_us, .pkt = fi->pkt,
	    .implicit_tls = fi->server_port == 465 };

	(void)arg;
	if (f == NULL)
		abort();
	memcpy(p.client_ip, fi->client_ip, 16);
	memcpy(p.server_ip, fi->server_ip, 16);
	f->s = smtp_session_new(fctx, &p);
	open_flows++;
	return f;
}

static void
check(struct fflow *f, enum cap_dir d, uint64_t off, uint64_t len)
{
	if (f == NULL || (d != CAP_C2S && d != CAP_S2C) || off != f->next[d])
		abort();	/* a byte twice, or bytes lost without a gap */
	f->next[d] = off + len;
}

static void
f_data(void *flow, enum cap_dir d, const uint8_t *p, size_t n, const struct cap_pos *pos)
{
	struct fflow *f = flow;
	struct smtp_pos sp = { .ts_us = pos->ts_us, .pkt = pos->pkt,
	    .peer_ack_known = pos->peer_ack_known, .peer_acked = pos->peer_acked };

	check(f, d, pos->offset, n);
	if (n == 0 || p == NULL)
		abort();
	smtp_feed(f->s, d == CAP_C2S ? XDIR_CLIENT : XDIR_SERVER, p, n, &sp);
}

static void
f_gap(void *flow, enum cap_dir d, uint64_t len, const struct cap_pos *pos)
{
	struct fflow *f = flow;
	struct smtp_pos sp = { .ts_us = pos->ts_us, .pkt = pos->pkt };

	check(f, d, pos->offset, len);
	smtp_gap(f->s, d == CAP_C2S ? XDIR_CLIENT : XDIR_SERVER, len, &sp);
}

static void
f_close(void *flow, const struct cap_flow_end *fe, const struct cap_pos *pos)
{
	struct fflow *f = flow;
	struct smtp_pos sp = { .ts_us = pos->ts_us, .pkt = pos->pkt };
	struct smtp_end_info ei = { .reason = SEND_CLOSE };

	(void)fe;
	if (f == NULL)
		abort();
	smtp_end(f->s, &ei, &sp);
	free(f);
	open_flows--;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_consumer cons = { NULL, f_open, f_data, f_gap, f_close };
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
