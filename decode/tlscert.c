/*
 * tlscert.c - the server certificate a TLS 1.2 (or older) handshake sends
 * in cleartext, read with OpenSSL's libcrypto (d2i_X509): a maintained
 * X.509 parser, not ours.
 *
 * From the first certificate of the chain (the server's own) it keeps the
 * subject and issuer common names (the whole one-line name when there is
 * no CN), the DNS names of subjectAltName (the first TLS_CERT_NAMES, comma
 * separated), the validity window in epoch seconds, and whether it is
 * self-issued.  tls_cert_match() says whether a host name is covered, by
 * RFC 6125 rules: the SAN DNS names when there are any, else the CN; a
 * wildcard covers exactly one leftmost label.
 *
 * Hostile input: the DER is bounded by the handshake message (tls.c caps
 * it), d2i_X509 reads within the length it is given, and every string
 * taken from the certificate is a copy capped at 255 octets, printed by
 * the exporters' escapers like any wire text.
 */
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dec_int.h"

#define TLS_CERT_NAMES	8

static void
name_cn(X509_NAME *n, struct wstr *out)
{
	char buf[256];
	int k;

	if (n == NULL)
		return;
	k = X509_NAME_get_text_by_NID(n, NID_commonName, buf, sizeof(buf));
	if (k <= 0) {
		if (X509_NAME_oneline(n, buf, sizeof(buf)) == NULL)
			return;
		k = (int)strlen(buf);
	}
	wstr_set(out, buf, (size_t)k, 255);
}

static int64_t
asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

void
tls_cert_read(struct tls_seen *t, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	GENERAL_NAMES *gens;
	X509 *x;
	char names[256];
	size_t o = 0;
	int n = 0;

	if (t->cert || len == 0 || len > 65536)
		return;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		t->hello_bad++;
		return;
	}
	t->cert = true;
	name_cn(X509_get_subject_name(x), &t->cert_subject);
	name_cn(X509_get_issuer_name(x), &t->cert_issuer);
	t->cert_not_before = asn1_epoch(X509_get0_notBefore(x));
	t->cert_not_after = asn1_epoch(X509_get0_notAfter(x));
	t->cert_self_signed = X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0;
	names[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) &&
	    n < TLS_CERT_NAMES; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *s;
		int sl;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		sl = ASN1_STRING_length(g->d.dNSName);
		if (sl <= 0 || (size_t)sl + 2 >= sizeof(names) - o)
			break;
		if (o > 0)
			names[o++] = ',';
		memcpy(names + o, s, (size_t)sl);
		o += (size_t)sl;
		names[o] = '\0';
		n++;
	}
	GENERAL_NAMES_free(gens);
	if (o > 0)
		wstr_set(&t->cert_names, names, o, 255);
	X509_free(x);
}

/* host matches pattern (one DNS name, maybe "*.example.com"). */
static bool
one_match(const char *pat, size_t pl, const char *host, size_t hl)
{
	const char *dot;

	if (pl == hl && strncasecmp(pat, host, hl) == 0)
		return true;
	if (pl < 3 || pat[0] != '*' || pat[1] != '.')
		return false;
	if ((dot = memchr(host, '.', hl)) == NULL || dot == host)
		return false;
	return (size_t)(host + hl - dot) == pl - 1 &&
	    strncasecmp(dot, pat + 1, pl - 1) == 0;
}

bool
tls_cert_match(const struct tls_seen *t, const char *host, size_t hl)
{
	const struct wstr *w = t->cert_names.p != NULL ? &t->cert_names : &t->cert_subject;
	size_t i = 0, s;

	if (w->p == NULL || hl == 0)
		return false;
	while (i <= w->len) {
		for (s = i; i < w->len && w->p[i] != ','; i++)
			;
		if (one_match(w->p + s, i - s, host, hl))
			return true;
		i++;
	}
	return false;
}
