/*
 * keylog.c - TLS secrets from key log files (the NSS SSLKEYLOGFILE format,
 * draft-ietf-tls-keylogfile / RFC 9850), indexed by client random.
 *
 * A line is LABEL SP CLIENT-RANDOM SP SECRET, the last two in hex.  The
 * labels kept are CLIENT_RANDOM (the TLS 1.2 master secret) and the four
 * TLS 1.3 traffic secrets, handshake and application, client and server;
 * others (early data, exporter) are counted and skipped, as are comments
 * ('#') and blank lines.  Every line is hostile input (a key log can be
 * written by any process that can write the file): at most KL_LINE_MAX
 * octets, exactly 64 hex digits of client random, a secret of 1 to 48
 * octets; anything else is counted as a bad line, never half-used.
 *
 * Sources: files opened by smtp_keylog_open() (before the privilege drop:
 * the fd is kept and read from its offset as the file grows, as an MTA
 * writes it during a live capture; a file that shrank was rewritten and is
 * read again from its start), and text handed in by the caller (a pcapng
 * Decryption Secrets Block).  smtp_keylog_poll() reads what the files
 * gained, at most every KL_POLL_MS of wall-clock time, so a decoder that
 * asks for a key it does not have yet costs no more than that.
 *
 * Memory: at most max_entries client randoms (oldest forgotten first),
 * one fixed-size entry each.  Secrets are wiped (OPENSSL_cleanse) when an
 * entry is forgotten and when the store is freed; they are never printed.
 */
#include <sys/stat.h>
#include <sys/tree.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dec_int.h"

#define KL_LINE_MAX	512	/* longer lines are bad lines */
#define KL_SECRET_MAX	48	/* SHA-384: the longest secret of a suite */
#define KL_FILES_MAX	16
#define KL_POLL_MS	50

struct kl_entry {
	RB_ENTRY(kl_entry) rb;
	TAILQ_ENTRY(kl_entry) age;
	uint8_t random[32];
	uint8_t len[KL_MAX];
	uint8_t secret[KL_MAX][KL_SECRET_MAX];
};

/* libbsd's RB_GENERATE_STATIC marks its functions __unused. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

static int
kl_cmp(const struct kl_entry *a, const struct kl_entry *b)
{
	return memcmp(a->random, b->random, sizeof(a->random));
}
RB_HEAD(kl_tree, kl_entry);
RB_GENERATE_STATIC(kl_tree, kl_entry, rb, kl_cmp)

/* Where a source's line not yet ended waits for the rest. */
struct kl_part {
	char buf[KL_LINE_MAX + 1];
	size_t len;
	bool bad;		/* already too long */
};

struct kl_file {
	int fd;
	off_t off;
	struct kl_part part;
};

struct smtp_keylog {
	struct kl_tree tree;
	TAILQ_HEAD(, kl_entry) ages;
	size_t n, max;
	struct kl_file files[KL_FILES_MAX];
	size_t nfiles;
	struct kl_part text;		/* smtp_keylog_text()'s */
	uint64_t last_poll_ms;
	struct smtp_keylog_stats st;
};

static const struct {
	const char *name;
	enum kl_label label;
} labels[] = {
	{ "CLIENT_RANDOM", KL_MASTER },
	{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", KL_C_HS },
	{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", KL_S_HS },
	{ "CLIENT_TRAFFIC_SECRET_0", KL_C_AP },
	{ "SERVER_TRAFFIC_SECRET_0", KL_S_AP },
};
/* Labels of the format that carry nothing smtpscope decrypts. */
static const char *const other_labels[] = {
	"CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET",
	"RSA", "ECH_SECRET", "ECH_CONFIG",
};

struct smtp_keylog *
smtp_keylog_new(size_t max_entries)
{
	struct smtp_keylog *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	RB_INIT(&k->tree);
	TAILQ_INIT(&k->ages);
	k->max = max_entries > 0 ? max_entries : KEYLOG_MAX_ENTRIES;
	return k;
}

static void
entry_forget(struct smtp_keylog *k, struct kl_entry *e)
{
	RB_REMOVE(kl_tree, &k->tree, e);
	TAILQ_REMOVE(&k->ages, e, age);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	k->n--;
}

void
smtp_keylog_free(struct smtp_keylog *k)
{
	struct kl_entry *e;

	if (k == NULL)
		return;
	while ((e = TAILQ_FIRST(&k->ages)) != NULL)
		entry_forget(k, e);
	for (size_t i = 0; i < k->nfiles; i++)
		(void)close(k->files[i].fd);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n octets from exactly 2n hex digits; false on anything else. */
static bool
unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* The next space-separated field of [*p, end); its length in *len. */
static const char *
field(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (e = s; e < end && *e != ' ' && *e != '\t'; e++)
		;
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

/* One line, without its line end. */
static void
kl_line(struct smtp_keylog *k, const char *p, size_t n)
{
	const char *end = p + n, *lab, *rnd, *sec, *rest;
	size_t llen, rlen, slen, xlen, i;
	struct kl_entry key, *e;
	uint8_t secret[KL_SECRET_MAX];
	int label = -1;

	if (n > 0 && p[n - 1] == '\r')
		end--;
	lab = field(&p, end, &llen);
	if (llen == 0 || lab[0] == '#')
		return;
	k->st.lines++;
	rnd = field(&p, end, &rlen);
	sec = field(&p, end, &slen);
	rest = field(&p, end, &xlen);
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strlen(labels[i].name) == llen && memcmp(labels[i].name, lab, llen) == 0)
			label = (int)labels[i].label;
	if (label < 0) {
		for (i = 0; i < sizeof(other_labels) / sizeof(other_labels[0]); i++)
			if (strlen(other_labels[i]) == llen &&
			    memcmp(other_labels[i], lab, llen) == 0) {
				k->st.other++;
				return;
			}
		k->st.bad++;
		return;
	}
	(void)rest;
	if (xlen != 0 || slen % 2 != 0 || slen == 0 || slen > 2 * KL_SECRET_MAX ||
	    !unhex(rnd, rlen, key.random, sizeof(key.random)) ||
	    !unhex(sec, slen, secret, slen / 2) ||
	    (label == KL_MASTER ? slen != 96 : slen != 64 && slen != 96)) {
		k->st.bad++;
		OPENSSL_cleanse(secret, sizeof(secret));
		return;
	}
	if ((e = RB_FIND(kl_tree, &k->tree, &key)) == NULL) {
		if (k->n >= k->max) {
			entry_forget(k, TAILQ_FIRST(&k->ages));
			k->st.forgotten++;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			k->st.bad++;
			OPENSSL_cleanse(secret, sizeof(secret));
			return;
		}
		memcpy(e->random, key.random, sizeof(e->random));
		RB_INSERT(kl_tree, &k->tree, e);
		TAILQ_INSERT_TAIL(&k->ages, e, age);
		k->n++;
		k->st.randoms++;
	}
	memcpy(e->secret[label], secret, slen / 2);
	e->len[label] = (uint8_t)(slen / 2);
	OPENSSL_cleanse(secret, sizeof(secret));
	k->st.secrets++;
}

/* Text of one source, split into lines. */
static void
part_text(struct smtp_keylog *k, struct kl_part *pt, const uint8_t *p, size_t n)
{
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl != NULL ? (size_t)(nl - p) : n;

		if (pt->bad || pt->len + take > KL_LINE_MAX)
			pt->bad = true;
		else {
			memcpy(pt->buf + pt->len, p, take);
			pt->len += take;
		}
		if (nl == NULL)
			return;		/* the line goes on in the next text */
		if (pt->bad) {
			k->st.lines++;
			k->st.bad++;
		} else
			kl_line(k, pt->buf, pt->len);
		OPENSSL_cleanse(pt->buf, pt->len);
		pt->len = 0;
		pt->bad = false;
		p += take + 1;
		n -= take + 1;
	}
}

/* The end of a source's text: a last line without its newline counts. */
static void
part_end(struct smtp_keylog *k, struct kl_part *pt)
{
	static const uint8_t nl = '\n';

	if (pt->len > 0 || pt->bad)
		part_text(k, pt, &nl, 1);
}

void
smtp_keylog_text(struct smtp_keylog *k, const uint8_t *p, size_t n)
{
	if (k != NULL) {
		part_text(k, &k->text, p, n);
		part_end(k, &k->text);
	}
}

/* What one file gained since its offset. */
static void
file_read(struct smtp_keylog *k, struct kl_file *f, bool first)
{
	uint8_t buf[4096];
	struct stat sb;
	ssize_t r;
	bool got = false;

	if (fstat(f->fd, &sb) == 0 && sb.st_size < f->off) {
		f->off = 0;		/* rewritten: read it again */
		OPENSSL_cleanse(&f->part, sizeof(f->part));
	}
	while ((r = pread(f->fd, buf, sizeof(buf), f->off)) > 0) {
		f->off += r;
		part_text(k, &f->part, buf, (size_t)r);
		got = true;
	}
	/* A line still open at the end waits in f->part while the writer may
	 * be in the middle of it: until a reading finds nothing new (at once
	 * when the file is opened, which is the whole of it in a replay). */
	if (!got || first)
		part_end(k, &f->part);
	OPENSSL_cleanse(buf, sizeof(buf));
}

int
smtp_keylog_open(struct smtp_keylog *k, const char *path)
{
	int fd;

	if (k->nfiles >= KL_FILES_MAX) {
		errno = EMFILE;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	k->files[k->nfiles].fd = fd;
	k->files[k->nfiles].off = 0;
	file_read(k, &k->files[k->nfiles], true);
	k->nfiles++;
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
smtp_keylog_poll(struct smtp_keylog *k, bool now)
{
	uint64_t t;

	if (k == NULL || k->nfiles == 0)
		return;
	t = now_ms();
	if (!now && t - k->last_poll_ms < KL_POLL_MS)
		return;
	k->last_poll_ms = t;
	for (size_t i = 0; i < k->nfiles; i++)
		file_read(k, &k->files[i], false);
}

void
smtp_keylog_stats(const struct smtp_keylog *k, struct smtp_keylog_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (k != NULL) {
		*st = k->st;
		st->held = k->n;
	}
}

const uint8_t *
keylog_find(const struct smtp_keylog *k, const uint8_t random[32],
    enum kl_label label, size_t *len)
{
	struct kl_entry key, *e;

	if (k == NULL)
		return NULL;
	memcpy(key.random, random, sizeof(key.random));
	e = RB_FIND(kl_tree, (struct kl_tree *)&k->tree, &key);
	if (e == NULL || e->len[label] == 0)
		return NULL;
	*len = e->len[label];
	return e->secret[label];
}
