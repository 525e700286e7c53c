/*
 * fuzz_tls.c - libFuzzer target for decode/tls.c and tlscert.c, the
 * cleartext TLS handshake reader and the certificate it hands to libcrypto
 * (make fuzz; not part of make check).
 *
 * The input is two directions' bytes: the first octet says where the
 * client's part ends (as a fraction of the rest), and each part is fed in
 * chunks whose sizes come from the data itself, so record and message
 * boundaries fall everywhere.  The reader must never read past what it is
 * given, never allocate past its caps, and leave a record that exporters
 * can print (names within their bounds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/dec_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
feed(struct tls_dir *d, struct tls_seen *t, enum xdir dir, const uint8_t *p,
    size_t n)
{
	size_t off = 0;

	while (off < n) {
		size_t k = 1 + (p[off] % 61);

		if (k > n - off)
			k = n - off;
		tls_feed(d, t, dir, p + off, k, NULL);
		off += k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_dir dc, ds;
	struct tls_seen t;
	size_t cut;

	if (size < 1)
		return 0;
	memset(&dc, 0, sizeof(dc));
	memset(&ds, 0, sizeof(ds));
	memset(&t, 0, sizeof(t));
	cut = (size - 1) * data[0] / 255;
	feed(&dc, &t, XDIR_CLIENT, data + 1, cut);
	feed(&ds, &t, XDIR_SERVER, data + 1 + cut, size - 1 - cut);
	if (t.sni.len > 255 || t.alpn.len > 255)
		abort();
	(void)tls_version_name(t.version);
	(void)tls_suite_name(t.suite);
	(void)tls_alert_name(t.alert_desc);
	tls_dir_free(&dc);
	tls_dir_free(&ds);
	wstr_clear(&t.sni);
	wstr_clear(&t.alpn);
	wstr_clear(&t.cert_subject);
	wstr_clear(&t.cert_issuer);
	wstr_clear(&t.cert_names);
	return 0;
}
