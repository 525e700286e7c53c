/*
 * fuzz_keylog.c - libFuzzer target for decode/keylog.c and tlscrypt.c:
 * the key log parser, and decryption through the whole decoder (make
 * fuzz FUZZ=keylog; not part of make check).
 *
 * The input is a key log, then one TCP session as chunks:
 *   u16: bit 15 late key log, bit 14 implicit TLS (port 465), 14 bits of
 *        length; the key log text;
 *   then chunks: one octet (bit 0: 0 client, 1 server), u16 length, bytes.
 * The key log is handed over before the session, or, when the late bit is
 * set, after the first third of the chunks (the live case:
 * records held until the keys come).  The seeds (tests/fuzz/seeds/keylog,
 * made by mkseeds.py from pcaps/ and pcaps/keys/) are real STARTTLS
 * and SMTPS sessions with their key logs, so mutations reach records that
 * decrypt, records that fail authentication, hellos whose random has no
 * key, key log lines of every shape.  The finished record goes through
 * the JSON exporter: every field getter runs on what decryption left.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/export.h"
#include "decode/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_end(void *arg, const struct sess_record *r)
{
	(void)arg;
	(void)export_json_session((FILE *)arg, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_sink sink = { .session_end = on_end };
	struct smtp_peers peers = { .family = AF_INET, .client_port = 49000,
	    .server_port = 25, .client_ip = { 192, 0, 2, 1 }, .server_ip = { 192, 0, 2, 2 } };
	struct smtp_keylog *k;
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	size_t off = 2, klen, nchunks = 0, chunk = 0, late_at;
	bool late;
	FILE *out;

	if (size < 2)
		return 0;
	klen = (size_t)(data[0] & 0x3f) << 8 | data[1];
	late = (data[0] & 0x80) != 0;
	peers.implicit_tls = (data[0] & 0x40) != 0;
	if (klen > size - 2)
		klen = size - 2;
	off += klen;
	if ((out = fopen("/dev/null", "w")) == NULL)
		return 0;
	sink.arg = out;
	k = smtp_keylog_new(64);
	ctx = smtp_ctx_new(NULL, &sink);
	smtp_ctx_keylog(ctx, k);
	if (peers.implicit_tls)
		peers.server_port = 465;
	/* Count the chunks, for the late key log. */
	for (size_t o = off; o + 3 <= size; nchunks++)
		o += 3 + ((size_t)data[o + 1] << 8 | data[o + 2]);
	late_at = nchunks / 3;
	if (!late)
		smtp_keylog_text(k, data + 2, klen);
	s = smtp_session_new(ctx, &peers);
	while (off + 3 <= size) {
		enum xdir dir = (data[off] & 1) ? XDIR_SERVER : XDIR_CLIENT;
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		struct smtp_pos pos = { .ts_us = 1000 * (chunk + 1), .pkt = chunk + 1 };

		off += 3;
		if (n > size - off)
			n = size - off;
		if (late && chunk == late_at)
			smtp_keylog_text(k, data + 2, klen);
		smtp_feed(s, dir, data + off, n, &pos);
		off += n;
		chunk++;
	}
	smtp_end(s, NULL, NULL);
	smtp_ctx_free(ctx);
	smtp_keylog_free(k);
	fclose(out);
	return 0;
}
