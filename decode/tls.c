/*
 * tls.c - the cleartext part of a TLS handshake after STARTTLS, read
 * passively from each direction's bytes (RFC 8446 and RFC 5246 framing).
 *
 * What it reads, and only that: the record layer (type, version, length),
 * the handshake messages in cleartext records, of which it parses the
 * ClientHello (the versions offered, from supported_versions or else the
 * legacy version; how many cipher suites; SNI; the first ALPN protocol)
 * and the ServerHello (the version chosen, from supported_versions in TLS
 * 1.3, and the suite), and alerts sent in cleartext.  A direction's
 * records after its ChangeCipherSpec, and application data records, are
 * counted, not read.  An alert is taken as cleartext when its record holds
 * exactly the two octets of an alert: an encrypted one carries at least a
 * 16-octet tag more.
 *
 * Every octet is hostile: a record is at most 2^14 + 2048 octets
 * (RFC 5246 6.2.3), a handshake message that is kept at most TLS_HS_MAX
 * (larger ClientHello or ServerHello messages are skipped, counted as not
 * parsed), every field is read through a bounds-checked cursor, and the
 * first octet that cannot be TLS framing (or a gap, which loses the
 * framing) stops the reading of that direction for good (tls_dir.dead).
 * Memory: the per-direction state is small and inline; a message buffer
 * is allocated only while a hello is being assembled across records.
 *
 * The server's Certificate message (TLS 1.2 and older send it in
 * cleartext) is kept up to TLS_CERT_MAX and its first certificate handed
 * to tlscert.c, which reads X.509 with OpenSSL.
 *
 * Deliberately not here: decryption, and any judgement (rules_tls.c).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dec_int.h"

#define TLS_REC_MAX	(16384 + 2048)
#define TLS_HS_MAX	16384

enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPDATA = 23 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11,
	HS_FINISHED = 20, HS_KEY_UPDATE = 24 };
#define TLS_CERT_MAX	65536	/* a Certificate message kept (the chain) */
enum { EXT_SNI = 0, EXT_ALPN = 16, EXT_VERSIONS = 43 };

/* A bounds-checked reader over one message. */
struct rd {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static uint32_t
rd_u(struct rd *r, size_t k)
{
	uint32_t v = 0;

	if (r->bad || r->n - r->off < k) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < k; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += k;
	return v;
}

/* A sub-reader of the next len octets (a vector's body). */
static struct rd
rd_sub(struct rd *r, size_t len)
{
	struct rd s = { NULL, 0, 0, true };

	if (r->bad || r->n - r->off < len) {
		r->bad = true;
		return s;
	}
	s.p = r->p + r->off;
	s.n = len;
	s.bad = false;
	r->off += len;
	return s;
}

static void
set_name(struct wstr *w, const uint8_t *p, size_t len)
{
	if (w->p == NULL && len > 0)
		wstr_set(w, (const char *)p, len, 255);
}

static void
client_ext(struct tls_seen *t, unsigned type, struct rd *e)
{
	struct rd l, v;

	switch (type) {
	case EXT_SNI:		/* server_name_list: type 0 (host_name), name */
		l = rd_sub(e, rd_u(e, 2));
		while (!l.bad && l.off < l.n) {
			unsigned nt = rd_u(&l, 1);

			v = rd_sub(&l, rd_u(&l, 2));
			if (!v.bad && nt == 0)
				set_name(&t->sni, v.p, v.n);
		}
		break;
	case EXT_ALPN:		/* protocol_name_list: the first */
		l = rd_sub(e, rd_u(e, 2));
		v = rd_sub(&l, rd_u(&l, 1));
		if (!v.bad)
			set_name(&t->alpn, v.p, v.n);
		break;
	case EXT_VERSIONS:	/* versions<2..254> */
		l = rd_sub(e, rd_u(e, 1));
		while (!l.bad && l.n - l.off >= 2) {
			unsigned ver = rd_u(&l, 2);

			if ((ver & 0x0f0f) == 0x0a0a)	/* GREASE (RFC 8701) */
				continue;
			if (!t->versions_ext || ver > t->offered_max)
				t->offered_max = (uint16_t)ver;
			if (!t->versions_ext || ver < t->offered_min)
				t->offered_min = (uint16_t)ver;
			t->versions_ext = true;
		}
		break;
	}
}

static void
client_hello(struct tls_dir *d, struct tls_seen *t, struct rd *r)
{
	unsigned legacy = rd_u(r, 2);
	struct rd ext, rnd;

	rnd = rd_sub(r, 32);
	(void)rd_sub(r, rd_u(r, 1));		/* session id */
	t->nsuites = (uint16_t)(rd_u(r, 2) / 2);
	(void)rd_sub(r, (size_t)t->nsuites * 2);
	(void)rd_sub(r, rd_u(r, 1));		/* compression methods */
	if (r->bad)
		return;
	tls_crypt_hello(d->cr, XDIR_CLIENT, rnd.p, 0, 0);
	t->client_hello = true;
	t->offered_max = t->offered_min = (uint16_t)legacy;
	if (r->off == r->n)
		return;				/* no extensions */
	ext = rd_sub(r, rd_u(r, 2));
	while (!ext.bad && ext.off < ext.n) {
		unsigned type = rd_u(&ext, 2);
		struct rd e = rd_sub(&ext, rd_u(&ext, 2));

		if (!e.bad)
			client_ext(t, type, &e);
	}
}

static void
server_hello(struct tls_dir *d, struct tls_seen *t, struct rd *r)
{
	unsigned legacy = rd_u(r, 2), suite;
	struct rd ext, rnd;

	rnd = rd_sub(r, 32);
	(void)rd_sub(r, rd_u(r, 1));
	suite = rd_u(r, 2);
	(void)rd_u(r, 1);			/* compression */
	if (r->bad)
		return;
	t->server_hello = true;
	t->version = (uint16_t)legacy;
	t->suite = (uint16_t)suite;
	if (r->off < r->n) {
		ext = rd_sub(r, rd_u(r, 2));
		while (!ext.bad && ext.off < ext.n) {
			unsigned type = rd_u(&ext, 2);
			struct rd e = rd_sub(&ext, rd_u(&ext, 2));

			if (!e.bad && type == EXT_VERSIONS) {
				unsigned v = rd_u(&e, 2);

				if (!e.bad)
					t->version = (uint16_t)v;
			}
		}
	}
	tls_crypt_hello(d->cr, XDIR_SERVER, rnd.p, t->version, t->suite);
}

static void
hs_message(struct tls_dir *d, struct tls_seen *t, enum xdir dir)
{
	struct rd r = { d->hs, d->hs_len, 0, false };

	if (d->hs_type == HS_CLIENT_HELLO && dir == XDIR_CLIENT && !t->client_hello)
		client_hello(d, t, &r);
	else if (d->hs_type == HS_SERVER_HELLO && dir == XDIR_SERVER && !t->server_hello)
		server_hello(d, t, &r);
	else if (d->hs_type == HS_CERTIFICATE && dir == XDIR_SERVER && !t->cert) {
		/* certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>: the first.
		 * TLS 1.3 (decrypted) puts a request context before it, and
		 * extensions after each certificate. */
		struct rd l;

		if (t->version == 0x0304)
			(void)rd_sub(&r, rd_u(&r, 1));
		l = rd_sub(&r, rd_u(&r, 3));
		struct rd c = rd_sub(&l, rd_u(&l, 3));

		if (!c.bad)
			tls_cert_read(t, c.p, c.n);
		r.bad = r.bad || l.bad || c.bad;
	}
	if (r.bad)
		t->hello_bad++;
}

/* Handshake octets of a cleartext record: message headers, bodies kept
 * for the hellos, others skipped. */
static void
hs_bytes(struct tls_dir *d, struct tls_seen *t, enum xdir dir,
    const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (d->hshlen < 4) {
			d->hsh[d->hshlen++] = *p++;
			n--;
			if (d->hshlen < 4)
				continue;
			d->hs_type = d->hsh[0];
			d->hs_left = (uint32_t)d->hsh[1] << 16 | (uint32_t)d->hsh[2] << 8 | d->hsh[3];
			d->hs_len = 0;
			d->hs_keep = ((d->hs_type == HS_CLIENT_HELLO ||
			    d->hs_type == HS_SERVER_HELLO) && d->hs_left <= TLS_HS_MAX) ||
			    (d->hs_type == HS_CERTIFICATE && dir == XDIR_SERVER &&
			    !t->cert && d->hs_left <= TLS_CERT_MAX);
			if (d->hs_keep && d->hs_cap < d->hs_left) {
				uint8_t *nb = realloc(d->hs, d->hs_left > 0 ? d->hs_left : 1);

				if (nb == NULL)
					d->hs_keep = false;
				else {
					d->hs = nb;
					d->hs_cap = d->hs_left;
				}
			}
			if (!d->hs_keep && (d->hs_type == HS_CLIENT_HELLO ||
			    d->hs_type == HS_SERVER_HELLO))
				t->hello_bad++;
		}
		k = n < d->hs_left ? n : d->hs_left;
		if (d->hs_keep && k > 0) {
			memcpy(d->hs + d->hs_len, p, k);
			d->hs_len += (uint32_t)k;
		}
		p += k;
		n -= k;
		d->hs_left -= (uint32_t)k;
		if (d->hs_left == 0) {
			if (d->hs_keep)
				hs_message(d, t, dir);
			/* TLS 1.3, read decrypted: the keys change after a
			 * Finished and a KeyUpdate (RFC 8446 7.2). */
			if (t->version == 0x0304 && (d->hs_type == HS_FINISHED ||
			    d->hs_type == HS_KEY_UPDATE))
				tls_crypt_next(d->cr, dir, d->hs_type == HS_KEY_UPDATE);
			d->hshlen = 0;
			d->hs_keep = false;
			if (t->client_hello && t->server_hello &&
			    (dir == XDIR_CLIENT || t->cert || t->version >= 0x0304)) {
				free(d->hs);	/* nothing more to assemble */
				d->hs = NULL;
				d->hs_cap = 0;
			}
		}
	}
}

/* The octets an AEAD record adds to its plaintext, for the suite the
 * server chose; 0 when unknown (CBC, or no ServerHello seen). */
static unsigned
aead_overhead(const struct tls_seen *t)
{
	if (!t->server_hello)
		return 0;
	if (t->version == 0x0304)
		return 16 + 1;		/* tag, inner content type (no padding) */
	switch (t->suite) {
	case 0xc02b: case 0xc02c: case 0xc02f: case 0xc030:
	case 0x009c: case 0x009d: case 0x009e: case 0x009f:
		return 8 + 16;		/* explicit nonce, tag */
	case 0xcca8: case 0xcca9: case 0xccaa:
		return 16;
	}
	return 0;
}

/* An application data record of len octets: counted, and for the client
 * sized.  In TLS 1.3 the client's first such record is its Finished. */
static void
app_record(struct tls_dir *d, struct tls_seen *t, enum xdir dir, unsigned len)
{
	unsigned ov = aead_overhead(t), plain;

	if (dir == XDIR_CLIENT && t->version == 0x0304 && t->server_hello &&
	    !d->finished) {
		d->finished = true;
		return;
	}
	t->app_records[dir]++;
	t->app_bytes[dir] += len;
	if (dir != XDIR_CLIENT) {
		t->c_tail = 0;
		return;
	}
	if (t->app_records[dir] == 1)
		t->sizes_known = ov > 0;
	if (ov == 0 || len < ov)
		t->sizes_known = false;
	plain = len >= ov ? len - ov : 0;
	t->c_tail += plain;
	if (t->app_records[dir] == 1) {
		t->c_first_len = plain;
		return;
	}
	t->c_after++;
	if (plain > t->c_after_max)
		t->c_after_max = plain;
}

void
tls_hs_plain(struct tls_dir *d, struct tls_seen *t, enum xdir dir,
    const uint8_t *p, size_t n)
{
	hs_bytes(d, t, dir, p, n);
}

/* Is the record whose header was just read protected (encrypted)?  Only
 * asked when decrypting.  TLS 1.3 encrypts every record of type
 * application_data after the ServerHello; TLS 1.2 every record of a
 * direction after its ChangeCipherSpec. */
static bool
protected_record(const struct tls_dir *d, const struct tls_seen *t)
{
	if (d->rtype == CT_CCS)
		return false;
	if (t->server_hello && t->version == 0x0304)
		return d->rtype == CT_APPDATA;
	return d->ccs;
}

/* Room for a protected record of len octets in d->rec. */
static bool
rec_room(struct tls_dir *d, uint32_t len)
{
	uint8_t *nb;
	uint32_t cap = d->rec_cap > 0 ? d->rec_cap : 512;

	if (len <= d->rec_cap)
		return true;
	while (cap < len)
		cap *= 2;
	if (cap > TLS_REC_MAX)
		cap = TLS_REC_MAX;
	if ((nb = realloc(d->rec, cap)) == NULL)
		return false;
	d->rec = nb;
	d->rec_cap = cap;
	return true;
}

void
tls_feed(struct tls_dir *d, struct tls_seen *t, enum xdir dir,
    const uint8_t *p, size_t n, const struct smtp_pos *pos)
{
	while (n > 0 && !d->dead) {
		size_t k;

		if (d->hlen < 5) {
			d->hdr[d->hlen++] = *p++;
			n--;
			/* A record type and a major version of 3 (SSL 3.0 to TLS
			 * 1.3) or the framing is lost. */
			if ((d->hlen == 1 && (d->hdr[0] < CT_CCS || d->hdr[0] > CT_APPDATA)) ||
			    (d->hlen == 2 && d->hdr[1] != 3)) {
				d->dead = true;
				t->not_tls[dir] = true;
				break;
			}
			if (d->hlen < 5)
				continue;
			d->rtype = d->hdr[0];
			d->rec_left = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);
			if (d->rec_left > TLS_REC_MAX) {
				d->dead = true;
				t->not_tls[dir] = true;
				break;
			}
			d->rec_len = d->rec_left;
			d->alen = 0;
			t->records[dir]++;
			if (d->rtype == CT_CCS)
				d->ccs = true;
			if (d->rtype == CT_APPDATA)
				app_record(d, t, dir, d->rec_len);
			d->protect = d->cr != NULL && protected_record(d, t) &&
			    rec_room(d, d->rec_len);
			d->rec_have = 0;
			if (d->rec_left > 0)
				continue;
		}
		k = n < d->rec_left ? n : d->rec_left;
		if (d->protect) {
			memcpy(d->rec + d->rec_have, p, k);
			d->rec_have += (uint32_t)k;
		} else if (d->rtype == CT_HANDSHAKE && !d->ccs)
			hs_bytes(d, t, dir, p, k);
		else if (d->rtype == CT_ALERT && d->rec_len == 2) {
			for (size_t i = 0; i < k && d->alen < 2; i++)
				d->alert[d->alen++] = p[i];
			if (d->alen == 2 && !t->alert) {
				t->alert = true;
				t->alert_from = dir;
				t->alert_level = d->alert[0];
				t->alert_desc = d->alert[1];
			}
		}
		p += k;
		n -= k;
		d->rec_left -= (uint16_t)k;
		if (d->rec_left == 0) {
			d->hlen = 0;
			if (d->protect)
				tls_crypt_record(d->cr, t, dir, d->hdr, d->rec,
				    d->rec_have, pos);
			d->protect = false;
		}
	}
}

void
tls_lost(struct tls_dir *d)
{
	d->dead = true;		/* a gap: the framing is lost */
}

void
tls_dir_free(struct tls_dir *d)
{
	free(d->hs);
	d->hs = NULL;
	d->hs_cap = 0;
	if (d->rec != NULL)
		OPENSSL_cleanse(d->rec, d->rec_cap);	/* plaintext */
	free(d->rec);
	d->rec = NULL;
	d->rec_cap = 0;
}

const char *
tls_dec_name(enum tls_dec d)
{
	switch (d) {
	case TD_NONE: return NULL;
	case TD_DECRYPTED: return "decrypted";
	case TD_NO_KEY: return "no-key";
	case TD_FAILED: return "failed";
	case TD_UNSUPPORTED: return "unsupported-suite";
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Names
 * --------------------------------------------------------------------- */

const char *
tls_version_name(unsigned v)
{
	switch (v) {
	case 0x0300: return "SSL 3.0";
	case 0x0301: return "TLS 1.0";
	case 0x0302: return "TLS 1.1";
	case 0x0303: return "TLS 1.2";
	case 0x0304: return "TLS 1.3";
	}
	return NULL;
}

const char *
tls_suite_name(unsigned s)
{
	static const struct { uint16_t id; const char *name; } suites[] = {
		{ 0x1301, "TLS_AES_128_GCM_SHA256" },
		{ 0x1302, "TLS_AES_256_GCM_SHA384" },
		{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
		{ 0x1304, "TLS_AES_128_CCM_SHA256" },
		{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
		{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
		{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
		{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
		{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
		{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" },
		{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
		{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	};

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == s)
			return suites[i].name;
	return NULL;
}

const char *
tls_alert_name(unsigned a)
{
	switch (a) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 113: return "bad_certificate_status_response";
	case 115: return "unknown_psk_identity";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	}
	return NULL;
}
