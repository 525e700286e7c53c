/*
 * fuzz_pcapfile.c - libFuzzer target for the whole reading path on a
 * capture file: the input is a file (pcap or pcapng), opened by cap_open()
 * as smtpscope -r opens one: our pcapng Decryption Secrets Block walk,
 * libpcap's reader, the link, IP, TCP, flow and reassembly layers, the
 * secrets into a key log, and every flow into an SMTP session that
 * decrypts with them (make fuzz FUZZ=pcapfile; make check replays it).
 *
 * The file lives in a memfd, so nothing is written to disk.  A file
 * libpcap refuses is an error message, nothing more; asserted, as in
 * fuzz_packet.c, that every flow's events follow each other without
 * overlap or loss and that every flow is closed.  Seeds: pcaps/ itself
 * (tests/fuzz/seeds/pcapfile is a link to it).
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "decode/smtp.h"
#include "tests/fuzz/fuzz_flows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
secrets(void *arg, uint32_t type, const uint8_t *p, size_t n)
{
	if (type == 0x544c534bU)
		smtp_keylog_text(arg, p, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_consumer cons = flows_consumer;
	struct smtp_sink sink = { 0 };
	struct smtp_keylog *kl;
	struct cap_config cfg;
	char eb[CAP_ERRBUF_SIZE], path[64];
	struct cap *c = NULL;
	int fd, n, idle = 0;

	if ((fd = memfd_create("fuzz-pcapfile", MFD_CLOEXEC)) < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	kl = smtp_keylog_new(64);
	fctx = smtp_ctx_new(NULL, &sink);
	smtp_ctx_keylog(fctx, kl);
	open_flows = 0;
	cap_config_init(&cfg);
	cfg.files[0] = path;
	cfg.nfiles = 1;
	cfg.nports = 0;			/* every TCP port */
	cfg.secrets = secrets;
	cfg.secrets_arg = kl;
	if (cap_open(&c, &cfg, &cons, eb) == 0) {
		/* To the end of the file (or an error); a reader that makes no
		 * progress is a hang, and libFuzzer's -timeout reports it. */
		while ((n = cap_dispatch(c, 0, eb)) >= 0 && idle < 1000)
			idle = n == 0 ? idle + 1 : 0;
		cap_finish(c, false);
		if (open_flows != 0)
			abort();
	}
	cap_close(c);
	smtp_ctx_free(fctx);
	smtp_keylog_free(kl);
	close(fd);
	return 0;
}
