/*
 * fuzz_flows.h - the capture consumer the capture-level fuzz targets share
 * (fuzz_packet.c, fuzz_pcapfile.c): each flow into an SMTP session of
 * fctx, and the stream invariants asserted on the way.  For every flow and
 * direction each data or gap event must start exactly where the previous
 * one ended (no byte delivered twice, offsets only grow, nothing skipped
 * without a gap); open_flows counts flows opened and not yet closed.
 * Static: included by one target each.
 */
#ifndef SMTPSCOPE_FUZZ_FLOWS_H
#define SMTPSCOPE_FUZZ_FLOWS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "decode/smtp.h"

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

static const struct cap_consumer flows_consumer = {
	NULL, f_open, f_data, f_gap, f_close
};

#endif
