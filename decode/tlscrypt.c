/*
 * tlscrypt.c - decrypting one session's TLS records with secrets from a
 * key log (keylog.c), with OpenSSL's libcrypto: the TLS 1.2 PRF and the
 * TLS 1.3 HKDF key schedule through EVP_KDF, the AEAD ciphers through
 * EVP_CIPHER.  No cryptography of our own: this file only lays out nonces,
 * additional data and labels as RFC 5246, RFC 5288, RFC 7905 and RFC 8446
 * say.
 *
 * Suites: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305, in TLS 1.2
 * (ECDHE, DHE and RSA key exchange: the key exchange does not matter once
 * the master secret is known) and TLS 1.3, including KeyUpdate.  CBC
 * suites are not decrypted (counted as unsupported): they are rare between
 * MTAs today, and their MAC-then-encrypt layout is the source of a decade
 * of padding-oracle mistakes that a passive reader does not need.
 *
 * tls.c frames the records and hands each protected one here whole (an
 * AEAD record is only known authentic at its last octet: no plaintext is
 * released before its tag is checked).  A record that fails
 * authentication is counted and dropped, never decoded.  When the key for
 * a record is not known yet (during a live capture the MTA writes its key
 * log while the handshake runs: the server's first encrypted records are
 * on the wire before the client has logged their secrets) the record is
 * held, in order with everything after it, up to TC_HELD_MAX octets, and
 * the key log is polled again at each later record and at the end.
 *
 * Memory: one struct per session, only when a key log is in use; a held
 * queue only while keys are awaited.  Keys and secrets are wiped when the
 * session ends.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "dec_int.h"

#define TC_HELD_MAX	(32 * 1024)	/* records held while keys are awaited */
#define TC_HOLD_US	2000000		/* ... for at most this much capture time */
#define TAG_LEN		16

enum aead { AEAD_AES128GCM, AEAD_AES256GCM, AEAD_CHACHA };

static const struct suite {
	uint16_t id;
	bool tls13;
	enum aead aead;
	const char *md;		/* the PRF's or the HKDF's hash */
} suites[] = {
	{ 0x1301, true, AEAD_AES128GCM, "SHA256" },
	{ 0x1302, true, AEAD_AES256GCM, "SHA384" },
	{ 0x1303, true, AEAD_CHACHA, "SHA256" },
	{ 0xc02b, false, AEAD_AES128GCM, "SHA256" },	/* ECDHE_ECDSA */
	{ 0xc02f, false, AEAD_AES128GCM, "SHA256" },	/* ECDHE_RSA */
	{ 0x009e, false, AEAD_AES128GCM, "SHA256" },	/* DHE_RSA */
	{ 0x009c, false, AEAD_AES128GCM, "SHA256" },	/* RSA */
	{ 0xc02c, false, AEAD_AES256GCM, "SHA384" },
	{ 0xc030, false, AEAD_AES256GCM, "SHA384" },
	{ 0x009f, false, AEAD_AES256GCM, "SHA384" },
	{ 0x009d, false, AEAD_AES256GCM, "SHA384" },
	{ 0xcca8, false, AEAD_CHACHA, "SHA256" },	/* ECDHE_RSA */
	{ 0xcca9, false, AEAD_CHACHA, "SHA256" },	/* ECDHE_ECDSA */
	{ 0xccaa, false, AEAD_CHACHA, "SHA256" },	/* DHE_RSA */
};

static const EVP_CIPHER *
aead_cipher(enum aead a)
{
	switch (a) {
	case AEAD_AES128GCM: return EVP_aes_128_gcm();
	case AEAD_AES256GCM: return EVP_aes_256_gcm();
	case AEAD_CHACHA: return EVP_chacha20_poly1305();
	}
	return NULL;
}

static size_t
aead_key_len(enum aead a)
{
	return a == AEAD_AES128GCM ? 16 : 32;
}

/* One direction's sending keys. */
struct tc_dir {
	EVP_CIPHER_CTX *c;
	uint8_t iv[12];		/* TLS 1.3, ChaCha: the whole; 1.2 GCM: 4 of salt */
	uint64_t seq;
	bool keyed;
	/* TLS 1.3: 0 handshake keys, 1 application keys, 2... after KeyUpdate;
	 * the generation's secret, for the next. */
	unsigned gen;
	uint8_t secret[48];
	size_t secret_len;
};

struct tls_crypt {
	struct smtp_keylog *kl;
	tls_plain_fn *fn;
	void *arg;
	uint8_t cr[32], sr[32];
	bool have_cr, have_sr, have_suite;
	uint16_t version, suite_id;
	const struct suite *su;
	bool unsupported;
	bool given_up;		/* the held queue overflowed */
	bool ever_keyed;
	struct tc_dir d[2];
	uint8_t *held;
	size_t held_len, held_cap;
	uint64_t held_since_us;		/* capture time of the first held */
	uint64_t ok[2], bad;
};

/* A held record: its header, then hdr[5] and the body. */
struct held_hdr {
	uint8_t dir;
	uint16_t len;
	struct smtp_pos pos;
};

struct tls_crypt *
tls_crypt_new(struct smtp_keylog *kl, tls_plain_fn *fn, void *arg)
{
	struct tls_crypt *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->kl = kl;
	c->fn = fn;
	c->arg = arg;
	return c;
}

void
tls_crypt_free(struct tls_crypt *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < 2; i++)
		EVP_CIPHER_CTX_free(c->d[i].c);
	if (c->held != NULL) {
		OPENSSL_cleanse(c->held, c->held_cap);
		free(c->held);
	}
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void
tls_crypt_hello(struct tls_crypt *c, enum xdir dir, const uint8_t random[32],
    uint16_t version, uint16_t suite)
{
	if (c == NULL)
		return;
	if (dir == XDIR_CLIENT && !c->have_cr) {
		memcpy(c->cr, random, 32);
		c->have_cr = true;
	} else if (dir == XDIR_SERVER && !c->have_sr) {
		memcpy(c->sr, random, 32);
		c->have_sr = true;
		c->version = version;
		c->suite_id = suite;
		c->have_suite = true;
		for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
			if (suites[i].id == suite && suites[i].tls13 == (version == 0x0304))
				c->su = &suites[i];
		/* SSL 3.0 to TLS 1.1 have no AEAD suites. */
		c->unsupported = c->su == NULL || version < 0x0303;
	}
}

/* ------------------------------------------------------------------------
 * Key derivation (EVP_KDF)
 * --------------------------------------------------------------------- */

/* TLS 1.2 PRF (RFC 5246 section 5) with the suite's hash. */
static bool
prf(const char *md, const uint8_t *secret, size_t slen, const uint8_t *seed,
    size_t seedlen, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *k = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4];
	bool ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
	    (void *)secret, slen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
	    (void *)seed, seedlen);
	p[3] = OSSL_PARAM_construct_end();
	ok = k != NULL && EVP_KDF_derive(k, out, outlen, p) == 1;
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok;
}

/* HKDF-Expand-Label(secret, label, "", outlen) (RFC 8446 section 7.1). */
static bool
expand_label(const char *md, const uint8_t *secret, size_t slen,
    const char *label, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint8_t info[2 + 1 + 255 + 1];
	size_t ll = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[5];
	bool ok;

	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;				/* empty context */
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	p[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[4] = OSSL_PARAM_construct_end();
	ok = k != NULL && EVP_KDF_derive(k, out, outlen, p) == 1;
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok;
}

static bool
dir_key(struct tc_dir *d, enum aead a, const uint8_t *key)
{
	const EVP_CIPHER *ci = aead_cipher(a);

	if (d->c == NULL && (d->c = EVP_CIPHER_CTX_new()) == NULL)
		return false;
	if (EVP_DecryptInit_ex(d->c, ci, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(d->c, NULL, NULL, key, NULL) != 1)
		return false;
	d->keyed = true;
	d->seq = 0;
	return true;
}

/* TLS 1.2: both directions from the master secret (RFC 5246 6.3). */
static bool
keys12(struct tls_crypt *c)
{
	const uint8_t *ms;
	size_t mlen, kl = aead_key_len(c->su->aead);
	size_t ivl = c->su->aead == AEAD_CHACHA ? 12 : 4;
	uint8_t seed[13 + 64], kb[2 * 32 + 2 * 12];
	bool ok;

	if (!c->have_cr || !c->have_sr ||
	    (ms = keylog_find(c->kl, c->cr, KL_MASTER, &mlen)) == NULL)
		return false;
	memcpy(seed, "key expansion", 13);
	memcpy(seed + 13, c->sr, 32);
	memcpy(seed + 45, c->cr, 32);
	/* No MAC keys with an AEAD suite: client key, server key, client
	 * IV, server IV. */
	ok = prf(c->su->md, ms, mlen, seed, sizeof(seed), kb, 2 * kl + 2 * ivl) &&
	    dir_key(&c->d[XDIR_CLIENT], c->su->aead, kb) &&
	    dir_key(&c->d[XDIR_SERVER], c->su->aead, kb + kl);
	if (ok) {
		memcpy(c->d[XDIR_CLIENT].iv, kb + 2 * kl, ivl);
		memcpy(c->d[XDIR_SERVER].iv, kb + 2 * kl + ivl, ivl);
	}
	OPENSSL_cleanse(kb, sizeof(kb));
	return ok;
}

/* TLS 1.3: dir's key and IV from its current secret. */
static bool
keys13_from_secret(struct tls_crypt *c, struct tc_dir *d)
{
	uint8_t key[32];
	size_t kl = aead_key_len(c->su->aead);
	bool ok;

	ok = expand_label(c->su->md, d->secret, d->secret_len, "key", key, kl) &&
	    expand_label(c->su->md, d->secret, d->secret_len, "iv", d->iv, 12) &&
	    dir_key(d, c->su->aead, key);
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

/* TLS 1.3: dir's keys of generation gen (0 or 1) from the key log. */
static bool
keys13(struct tls_crypt *c, enum xdir dir, unsigned gen)
{
	static const enum kl_label lab[2][2] = {
		[XDIR_CLIENT] = { KL_C_HS, KL_C_AP },
		[XDIR_SERVER] = { KL_S_HS, KL_S_AP },
	};
	struct tc_dir *d = &c->d[dir];
	const uint8_t *s;
	size_t len;

	if (!c->have_cr || gen > 1 ||
	    (s = keylog_find(c->kl, c->cr, lab[dir][gen], &len)) == NULL ||
	    len > sizeof(d->secret))
		return false;
	memcpy(d->secret, s, len);
	d->secret_len = len;
	d->gen = gen;
	return keys13_from_secret(c, d);
}

/* Are dir's keys known (deriving them now when the key log has them)? */
static bool
have_keys(struct tls_crypt *c, enum xdir dir)
{
	struct tc_dir *d = &c->d[dir];

	if (d->keyed)
		return true;
	if (c->unsupported || c->su == NULL)
		return false;
	if (!c->su->tls13)
		(void)keys12(c);
	else if (!keys13(c, dir, d->gen) && d->gen == 0)
		/* No handshake secret: the application one, if the key log
		 * has only that (the handshake then stays unread). */
		(void)keys13(c, dir, 1);
	if (d->keyed)
		c->ever_keyed = true;
	return d->keyed;
}

/* ------------------------------------------------------------------------
 * Records
 * --------------------------------------------------------------------- */

static void
seq_nonce(uint8_t nonce[12], const uint8_t iv[12], uint64_t seq)
{
	memcpy(nonce, iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* AEAD-open buf[0..len) (ciphertext then tag) in place; its plaintext
 * length in *plen. */
static bool
aead_open(EVP_CIPHER_CTX *ctx, const uint8_t nonce[12], const uint8_t *aad,
    size_t aadlen, uint8_t *buf, size_t len, size_t *plen)
{
	int outl = 0, fin = 0;
	size_t clen;

	if (len < TAG_LEN || len - TAG_LEN > INT_MAX)
		return false;
	clen = len - TAG_LEN;
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, buf + clen) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, buf, &outl, buf, (int)clen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, buf + outl, &fin) != 1)
		return false;
	*plen = clen;
	return true;
}

/* One record with dir's current keys: the inner type and the plaintext
 * (inside body) on success. */
static bool
open_one(struct tls_crypt *c, enum xdir dir, const uint8_t hdr[5], uint8_t *body,
    size_t len, uint8_t *type, uint8_t **pt, size_t *plen)
{
	struct tc_dir *d = &c->d[dir];
	uint8_t nonce[12], aad[13];
	bool ok;

	if (c->su->tls13) {
		size_t n;

		seq_nonce(nonce, d->iv, d->seq);
		ok = aead_open(d->c, nonce, hdr, 5, body, len, &n);
		if (!ok)
			return false;
		/* TLSInnerPlaintext: content, the type, zero padding. */
		while (n > 0 && body[n - 1] == 0)
			n--;
		if (n == 0)
			return false;		/* no type: RFC 8446 5.4 */
		*type = body[n - 1];
		*pt = body;
		*plen = n - 1;
		return true;
	}
	/* TLS 1.2: additional data is seq, type, version, plaintext length
	 * (RFC 5246 6.2.3.3). */
	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(d->seq >> (56 - 8 * i));
	aad[8] = hdr[0];
	aad[9] = hdr[1];
	aad[10] = hdr[2];
	if (c->su->aead == AEAD_CHACHA) {	/* RFC 7905: no explicit nonce */
		if (len < TAG_LEN)
			return false;
		seq_nonce(nonce, d->iv, d->seq);
		aad[11] = (uint8_t)((len - TAG_LEN) >> 8);
		aad[12] = (uint8_t)(len - TAG_LEN);
		ok = aead_open(d->c, nonce, aad, 13, body, len, plen);
		*pt = body;
	} else {			/* RFC 5288: salt, 8 octets explicit */
		if (len < 8 + TAG_LEN)
			return false;
		memcpy(nonce, d->iv, 4);
		memcpy(nonce + 4, body, 8);
		aad[11] = (uint8_t)((len - 8 - TAG_LEN) >> 8);
		aad[12] = (uint8_t)(len - 8 - TAG_LEN);
		ok = aead_open(d->c, nonce, aad, 13, body + 8, len - 8, plen);
		*pt = body + 8;
	}
	*type = hdr[0];
	return ok;
}

/* Decrypt one record whose keys are known and hand its plaintext on. */
static void
open_record(struct tls_crypt *c, struct tls_seen *t, enum xdir dir,
    const uint8_t hdr[5], uint8_t *body, size_t len, const struct smtp_pos *pos)
{
	struct tc_dir *d = &c->d[dir];
	uint8_t type, *pt, *copy = NULL;
	size_t plen;
	bool ok;

	/* In TLS 1.3, a failure under the handshake keys may be the first
	 * application record after a Finished we did not read: it is tried
	 * once under the application keys, from a copy (the open is in
	 * place). */
	if (c->su->tls13 && d->gen == 0 && (copy = malloc(len > 0 ? len : 1)) != NULL)
		memcpy(copy, body, len);
	ok = open_one(c, dir, hdr, body, len, &type, &pt, &plen);
	d->seq++;
	if (!ok && copy != NULL) {
		uint64_t seq = d->seq;

		if (keys13(c, dir, 1)) {
			ok = open_one(c, dir, hdr, copy, len, &type, &pt, &plen);
			d->seq++;
			if (ok) {
				memcpy(body, copy, len);
				pt = body + (pt - copy);
			} else if (keys13(c, dir, 0))
				d->seq = seq;	/* back to the handshake keys */
		}
	}
	if (copy != NULL) {
		OPENSSL_cleanse(copy, len);
		free(copy);
	}
	if (!ok) {
		/* Never decoded: the decoder is told that about this much
		 * plaintext of dir is missing (inner type 0). */
		c->bad++;
		t->bad_records++;
		c->fn(c->arg, dir, 0, NULL, len > TAG_LEN ? len - TAG_LEN : 0, pos);
		return;
	}
	c->ok[dir]++;
	t->dec_records[dir]++;
	t->decryption = TD_DECRYPTED;
	c->fn(c->arg, dir, type, pt, plen, pos);
}

/* Decrypt held records from the front while their keys are known. */
static void
drain(struct tls_crypt *c, struct tls_seen *t)
{
	size_t off = 0;

	while (off < c->held_len) {
		struct held_hdr h;
		uint8_t *rec;

		memcpy(&h, c->held + off, sizeof(h));
		if (!have_keys(c, (enum xdir)h.dir))
			break;
		rec = c->held + off + sizeof(h);
		open_record(c, t, (enum xdir)h.dir, rec, rec + 5, h.len, &h.pos);
		off += sizeof(h) + 5 + h.len;
	}
	if (off > 0) {
		OPENSSL_cleanse(c->held, off);
		memmove(c->held, c->held + off, c->held_len - off);
		c->held_len -= off;
	}
}

static void
give_up(struct tls_crypt *c)
{
	c->given_up = true;
	if (c->held != NULL)
		OPENSSL_cleanse(c->held, c->held_cap);
	free(c->held);
	c->held = NULL;
	c->held_len = c->held_cap = 0;
}

static void
hold(struct tls_crypt *c, enum xdir dir, const uint8_t hdr[5], const uint8_t *body,
    size_t len, const struct smtp_pos *pos)
{
	struct held_hdr h;
	size_t need = sizeof(h) + 5 + len;

	if (c->held_len == 0)
		c->held_since_us = pos->ts_us;
	if (c->held_len + need > TC_HELD_MAX ||
	    pos->ts_us - c->held_since_us > TC_HOLD_US) {
		give_up(c);
		return;
	}
	if (c->held_cap < c->held_len + need) {
		size_t cap = c->held_cap > 0 ? c->held_cap : 4096;
		uint8_t *nb;

		while (cap < c->held_len + need)
			cap *= 2;
		if (cap > TC_HELD_MAX)
			cap = TC_HELD_MAX;
		if ((nb = malloc(cap)) == NULL) {
			give_up(c);
			return;
		}
		if (c->held != NULL) {
			memcpy(nb, c->held, c->held_len);
			OPENSSL_cleanse(c->held, c->held_cap);
			free(c->held);
		}
		c->held = nb;
		c->held_cap = cap;
	}
	memset(&h, 0, sizeof(h));
	h.dir = (uint8_t)dir;
	h.len = (uint16_t)len;
	h.pos = *pos;
	memcpy(c->held + c->held_len, &h, sizeof(h));
	memcpy(c->held + c->held_len + sizeof(h), hdr, 5);
	memcpy(c->held + c->held_len + sizeof(h) + 5, body, len);
	c->held_len += need;
}

void
tls_crypt_record(struct tls_crypt *c, struct tls_seen *t, enum xdir dir,
    const uint8_t hdr[5], uint8_t *body, size_t len, const struct smtp_pos *pos)
{
	if (c == NULL || c->given_up || len > 0xffff)
		return;
	if (c->have_suite && c->unsupported) {
		t->decryption = TD_UNSUPPORTED;
		return;
	}
	if (c->held_len == 0 && have_keys(c, dir)) {
		open_record(c, t, dir, hdr, body, len, pos);
		return;
	}
	/* Wait for the key log, keeping the order of the records. */
	if (c->held_len > 0) {
		drain(c, t);
		if (c->held_len == 0 && have_keys(c, dir)) {
			open_record(c, t, dir, hdr, body, len, pos);
			return;
		}
	}
	smtp_keylog_poll(c->kl, false);
	drain(c, t);
	if (c->held_len == 0 && have_keys(c, dir))
		open_record(c, t, dir, hdr, body, len, pos);
	else
		hold(c, dir, hdr, body, len, pos);
}

void
tls_crypt_next(struct tls_crypt *c, enum xdir dir, bool key_update)
{
	struct tc_dir *d;
	uint8_t next[48];

	if (c == NULL || c->su == NULL || !c->su->tls13)
		return;
	d = &c->d[dir];
	if (!key_update) {		/* Finished: the application keys next */
		if (d->gen == 0) {
			d->gen = 1;
			d->keyed = false;
		}
		return;
	}
	if (!d->keyed || d->gen == 0)
		return;
	/* RFC 8446 7.2: the next secret from this one. */
	if (!expand_label(c->su->md, d->secret, d->secret_len, "traffic upd",
	    next, d->secret_len)) {
		d->keyed = false;
		return;
	}
	memcpy(d->secret, next, d->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	d->gen++;
	if (!keys13_from_secret(c, d))
		d->keyed = false;
}

void
tls_crypt_finish(struct tls_crypt *c, struct tls_seen *t)
{
	if (c == NULL)
		return;
	if (c->held_len > 0) {
		smtp_keylog_poll(c->kl, true);
		drain(c, t);
	}
	if (c->ok[0] + c->ok[1] > 0)
		t->decryption = TD_DECRYPTED;
	else if (c->have_suite && c->unsupported)
		t->decryption = TD_UNSUPPORTED;
	else if (c->ever_keyed)
		t->decryption = TD_FAILED;
	else if (c->held_len > 0 || c->given_up || c->bad > 0)
		t->decryption = TD_NO_KEY;
	/* else: no protected record; nothing was needed. */
}
