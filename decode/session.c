/*
 * session.c - the SMTP session: its life, its state, its record.
 *
 * One struct smtp_session per TCP session.  Each direction's bytes go
 * through a line assembler (line.c), except the client's message content,
 * which goes to the content tracker (body.c), and everything after an
 * accepted STARTTLS, which is only counted.  Complete lines go to pair.c,
 * which makes commands and replies of them and pairs them through a FIFO
 * of outstanding commands (that is what survives PIPELINING, RFC 2920);
 * what each verb does is its row in verbs.c; the transcript is
 * transcript.c's.  This file feeds them, moves the session between its
 * named states (enter_state(): the one door, traced by --trace-states),
 * handles gaps and the end, and decides the session's state for the
 * record.
 *
 * The rules the decoder implements, in words (most of them in pair.c and
 * verbs.c; they are kept together here because they interlock):
 *
 * - Pipelined DATA.  After a DATA line the client's following bytes are
 *   taken as message content at once, unless the transaction is already
 *   known to be refused (MAIL refused, or every RCPT answered and none
 *   accepted, or no RCPT).  A 354 confirms it; any other reply to DATA
 *   switches back to commands: content already taken stays taken and is
 *   noted in the transcript ("content sent before DATA was accepted").
 *   If DATA was held back as refused and a 354 comes anyway, content mode
 *   starts then.  In the normal order (reply before content) both readings
 *   agree.
 * - BDAT: the chunk is the next chunk-size octets after the command line,
 *   whatever the replies say (RFC 3030 section 2).  When the line after a
 *   chunk is not a command, the declared size did not match (anomaly
 *   bdat-mismatch).
 * - STARTTLS: after the 220, both directions are only counted.  The
 *   client's first two octets are kept (a TLS record starts 0x16 0x03);
 *   server octets after the 220 and before any client octet are counted
 *   as possible injection (CVE-2011-0411 class).
 * - Mid-stream: a session opened without a handshake, or whose first
 *   server line is not a greeting, is marked SF_MID_STREAM; each direction
 *   then skips lines until one parses unmistakably (cmd_strict(), a valid
 *   reply), and decodes from there.
 * - Gaps: the session gets SF_GAP, an anomaly and a transcript note, and
 *   the direction resynchronises as for mid-stream.  Inside BDAT the chunk
 *   end is still known and is kept.  Inside DATA content the end cannot be
 *   known: the client side reads lines and ends the content at a line that
 *   is exactly ".", or at a line that is unmistakably a command (it is
 *   then decoded as one), or when a server reply arrives while nothing is
 *   outstanding (the reply to the unseen end of data).  data_bytes then
 *   includes the missing octets as an estimate.
 * - AUTH: the mechanism is recorded; an initial response and every client
 *   line until AUTH's final (non-334) reply are replaced by "********"
 *   (XL_MASKED) before they reach the transcript.  Credentials are never
 *   copied anywhere.
 * - The transcript keeps the first max_lines/2 lines and a ring of the
 *   last ones; message content is replaced by one note.
 *
 * Session state (rec->state), decided by sess_state() at each build:
 *   1. Each transaction's outcome: refused at MAIL (by class), message
 *      accepted (2xx to "." or BDAT LAST), message refused (by class),
 *      DATA refused (by class), every recipient refused (5xx if any was 5xx,
 *      else 4xx), cut (content or its reply cut by the end of the
 *      session), or none (abandoned by RSET/QUIT, or still running).
 *   2. Some message accepted: "partial" if any transaction or any
 *      recipient was refused or cut, else "delivered".
 *   3. Otherwise a cut transaction: "broken".  Otherwise the last refused
 *      transaction: "rejected" (5xx) or "deferred" (4xx).
 *   4. Otherwise: "tls" if STARTTLS was accepted; "open" while the session
 *      runs; "rejected"/"deferred" if the greeting was 5xx/4xx; "aborted"
 *      if a transaction was abandoned or the client sent RSET without MAIL
 *      (gave up, as in KB295734); else "no-mail".
 *
 * This file does not judge: incident.c reads the record and the facts
 * collected in struct sess_facts.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"
#include "export.h"

/* ---------------------------------------------------------------------
 * Limits, context and host memory
 * ------------------------------------------------------------------ */
void
smtp_limits_init(struct smtp_limits *l)
{
	l->max_line = 4096;
	l->max_lines = 200;
	l->max_queue = 128;
	l->max_rcpts = TX_MAX_RCPTS;
	l->max_hosts = 4096;
	l->update_ms = 250;
}

static int
host_cmp(const struct host_mem *a, const struct host_mem *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->ip, b->ip, sizeof(a->ip));
}
/* libbsd's RB_GENERATE_STATIC marks its functions __unused, a BSD
 * spelling glibc lacks. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
RB_GENERATE_STATIC(host_tree, host_mem, rb, host_cmp)

struct smtp_ctx *
smtp_ctx_new(const struct smtp_limits *lim, const struct smtp_sink *sink)
{
	struct smtp_ctx *c;
	struct smtp_limits def;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	smtp_limits_init(&def);
	c->lim = lim != NULL ? *lim : def;
	/* Zero means "default"; tiny values would make lines meaningless. */
	if (c->lim.max_line == 0)
		c->lim.max_line = def.max_line;
	if (c->lim.max_line < 32)
		c->lim.max_line = 32;
	if (c->lim.max_lines == 0)
		c->lim.max_lines = def.max_lines;
	if (c->lim.max_lines < 2)
		c->lim.max_lines = 2;
	if (c->lim.max_queue == 0)
		c->lim.max_queue = def.max_queue;
	if (c->lim.max_rcpts == 0)
		c->lim.max_rcpts = def.max_rcpts;
	if (c->lim.update_ms == 0)
		c->lim.update_ms = def.update_ms;
	if (sink != NULL)
		c->sink = *sink;
	RB_INIT(&c->hosts);
	TAILQ_INIT(&c->lru);
	return c;
}

void
smtp_ctx_keylog(struct smtp_ctx *c, struct smtp_keylog *k)
{
	c->keylog = k;
}

void
smtp_ctx_free(struct smtp_ctx *c)
{
	struct host_mem *h;

	if (c == NULL)
		return;
	while ((h = TAILQ_FIRST(&c->lru)) != NULL) {
		TAILQ_REMOVE(&c->lru, h, lru);
		RB_REMOVE(host_tree, &c->hosts, h);
		free(h);
	}
	while (c->spare != NULL) {
		struct smtp_session *s = c->spare;

		c->spare = s->next_spare;
		free(s);
	}
	free(c);
}

/* The client's entry, created or refreshed; the least recently seen
 * client is evicted when max_hosts are held.  NULL when none are kept. */
static struct host_mem *
host_get(struct smtp_ctx *c, int family, const uint8_t ip[16])
{
	struct host_mem key, *h;

	if (c->lim.max_hosts == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.family = family;
	memcpy(key.ip, ip, 16);
	if ((h = RB_FIND(host_tree, &c->hosts, &key)) != NULL) {
		TAILQ_REMOVE(&c->lru, h, lru);
		TAILQ_INSERT_TAIL(&c->lru, h, lru);
		return h;
	}
	if (c->nhosts >= c->lim.max_hosts) {
		h = TAILQ_FIRST(&c->lru);
		TAILQ_REMOVE(&c->lru, h, lru);
		RB_REMOVE(host_tree, &c->hosts, h);
		c->nhosts--;
	} else if ((h = malloc(sizeof(*h))) == NULL) {
		return NULL;
	}
	*h = key;
	RB_INSERT(host_tree, &c->hosts, h);
	TAILQ_INSERT_TAIL(&c->lru, h, lru);
	c->nhosts++;
	return h;
}

/* ---------------------------------------------------------------------
 * Formatting helpers
 * ------------------------------------------------------------------ */
void
fmt_host(char *buf, size_t len, int family, const uint8_t ip[16])
{
	(void)export_fmt_addr(buf, len, family, ip, -1);
}

void
fmt_hostport(char *buf, size_t len, int family, const uint8_t ip[16],
    uint16_t port)
{
	(void)export_fmt_addr(buf, len, family, ip, port);
}

/* The uid: "S" and 16 base32 characters from an 80-bit mix of the first
 * packet's time and the 4-tuple (two FNV-1a-64 lanes with different seeds,
 * each finished by a murmur-style avalanche).  Not the flow id: the same
 * session must get the same uid whether its capture is read alone or
 * merged with others, so a uid from one run finds it in the next. */
static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
make_uid(char uid[20], const struct smtp_peers *p)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	uint64_t lane[2] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };
	uint8_t port[4];

	port[0] = (uint8_t)(p->client_port >> 8);
	port[1] = (uint8_t)p->client_port;
	port[2] = (uint8_t)(p->server_port >> 8);
	port[3] = (uint8_t)p->server_port;
	for (int i = 0; i < 2; i++) {
		lane[i] = fnv(lane[i], &p->ts_us, sizeof(p->ts_us));
		lane[i] = fnv(lane[i], p->client_ip, 16);
		lane[i] = fnv(lane[i], p->server_ip, 16);
		lane[i] = fnv(lane[i], port, sizeof(port));
		lane[i] = mix64(lane[i] + (uint64_t)i);
	}
	uid[0] = 'S';
	/* 64 bits of lane 0 and 16 of lane 1: 80 bits, 16 characters. */
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (i < 12)
			v = (unsigned)(lane[0] >> (59 - 5 * i)) & 31;
		else if (i == 12)
			v = (unsigned)((lane[0] & 0xf) << 1 | (lane[1] >> 63)) & 31;
		else
			v = (unsigned)(lane[1] >> (58 - 5 * (i - 13))) & 31;
		uid[1 + i] = b32[v];
	}
	uid[17] = '\0';
}

/* ---------------------------------------------------------------------
 * States (STYLE.md rule 14: named, one door)
 * ------------------------------------------------------------------ */
const char *
phase_name(enum sphase p)
{
	static const char *const names[] = {
#define DEC_X_PH(id, name) name,
		SMTP_PHASES(DEC_X_PH)
#undef DEC_X_PH
	};
	return (unsigned)p < SP_MAX ? names[p] : "?";
}

void
enter_state(struct smtp_session *s, enum sphase to, const char *why)
{
	const struct smtp_sink *k = &s->ctx->sink;
	enum sphase from = s->phase;

	if (from == to)
		return;
	/* Once encrypted, nothing of the session is readable again, unless
	 * the capture turned out to hold cleartext (plain_after_starttls()
	 * clears srv_tls first) or a key log decrypts it. */
	if (from == SP_TLS && s->srv_tls && !s->f.tls_decrypted)
		return;
	s->phase = to;
	if (k->state_change != NULL)
		k->state_change(k->arg, &s->rec, phase_name(from), phase_name(to), why);
}
/* ---------------------------------------------------------------------
 * Feeding
 * ------------------------------------------------------------------ */
/* Read TLS octets of one direction (tls.c); what the handshake shows
 * goes into the transcript as notes: the server's choice, a cleartext
 * alert. */
static void
tls_read(struct smtp_session *s, enum xdir d, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	struct tls_seen *t = &s->rec.tls;
	bool had_sh = t->server_hello, had_alert = t->alert;
	char b[300];

	tls_feed(&s->tlsd[d], t, d, p, n, pos);
	if (!had_sh && t->server_hello) {
		const char *v = tls_version_name(t->version), *c = tls_suite_name(t->suite);

		/* The SNI is wire text: the exporters escape notes as they
		 * escape every transcript line. */
		(void)snprintf(b, sizeof(b), "[TLS handshake: %s, %s%s%.*s%s]",
		    v != NULL ? v : "unknown version",
		    c != NULL ? c : "unknown cipher suite",
		    t->sni.p != NULL ? ", SNI " : "",
		    t->sni.p != NULL ? (int)(t->sni.len > 100 ? 100 : t->sni.len) : 0,
		    t->sni.p != NULL ? t->sni.p : "",
		    t->client_hello ? "" : " (no ClientHello seen)");
		s->f.tls_hs_seq = tr_note(s, pos, "%s", b);
	}
	if (!had_alert && t->alert) {
		const char *a = tls_alert_name(t->alert_desc);

		s->f.tls_alert_seq = tr_note(s, pos, "[TLS alert from the %s: %s %s (%u)]",
		    t->alert_from == XDIR_CLIENT ? "client" : "server",
		    t->alert_level == 2 ? "fatal" : "warning", a != NULL ? a : "unknown",
		    t->alert_desc);
	}
}

static void
tls_client_bytes(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	for (size_t i = 0; i < n && s->f.tls_c_bytes + i < 2; i++)
		s->f.tls_c_first[s->f.tls_c_bytes + i] = p[i];
	s->f.tls_c_bytes += n;
	s->tls_client_seen = true;
	tls_read(s, XDIR_CLIENT, p, n, pos);
}

static void
tls_server_bytes(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	if (!s->tls_client_seen)
		s->f.inj_server_bytes += n;
	else
		s->f.tls_s_bytes += n;
	if (p != NULL)
		tls_read(s, XDIR_SERVER, p, n, pos);
	else
		tls_lost(&s->tlsd[XDIR_SERVER]);
}

/*
 * Cleartext where TLS should be: a capture decrypted after the fact (or
 * taken behind a TLS proxy), or a client and server that never started
 * TLS.  Decode on, as after a new greeting (RFC 3207 section 4.2: the
 * client starts over with EHLO); the rules tell the two apart by whether
 * the server answers in cleartext too.
 */
static void
plain_after_starttls(struct smtp_session *s, const struct smtp_pos *pos)
{
	s->f.plain_after_tls = true;
	s->f.plain_seq = tr_note(s, pos, "[cleartext after STARTTLS: a decrypted "
	    "capture, or TLS was never started]");
	s->srv_tls = false;
	enter_state(s, SP_HELLO, "cleartext after STARTTLS");
	line_reset(&s->lb[XDIR_CLIENT]);
	line_reset(&s->lb[XDIR_SERVER]);
}

/*
 * TLS with a key log.  The wire stays TLS (tls.c frames it, tlscrypt.c
 * decrypts it); the plaintext of application data records comes back
 * here and is decoded as cleartext from where TLS began: after STARTTLS
 * the client starts over with EHLO (RFC 3207 section 4.2), with implicit
 * TLS the greeting comes first.
 */
static void stream_gap(struct smtp_session *, enum xdir, uint64_t,
    const struct smtp_pos *, bool tls_record);

static void client_plain(struct smtp_session *, const uint8_t *, size_t,
    const struct smtp_pos *);
static void server_plain(struct smtp_session *, const uint8_t *, size_t,
    const struct smtp_pos *);

static void
tls_plaintext(void *arg, enum xdir d, uint8_t type, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	struct smtp_session *s = arg;
	struct tls_seen *t = &s->rec.tls;

	switch (type) {
	case 22:			/* handshake: Finished, certificate... */
		tls_hs_plain(&s->tlsd[d], t, d, p, n);
		break;
	case 21:			/* an alert sent encrypted */
		if (n >= 2 && p[0] == 2 && !t->alert) {
			const char *a = tls_alert_name(p[1]);

			t->alert = true;
			t->alert_from = d;
			t->alert_level = p[0];
			t->alert_desc = p[1];
			s->f.tls_alert_seq = tr_note(s, pos, "[TLS alert from the %s "
			    "(decrypted): fatal %s (%u)]", d == XDIR_CLIENT ?
			    "client" : "server", a != NULL ? a : "unknown", p[1]);
		}
		break;
	case 0:				/* a record that failed authentication */
		if (s->f.tls_decrypted)
			stream_gap(s, d, n, pos, true);
		break;
	case 23:			/* SMTP */
		if (!s->f.tls_decrypted) {
			s->f.tls_decrypted = true;
			s->f.tls_dec_seq = tr_note(s, pos, "[TLS decrypted with the key "
			    "log: the dialogue inside follows]");
			enter_state(s, s->implicit_tls ? SP_CONNECTED : SP_HELLO,
			    "TLS decrypted");
			line_reset(&s->lb[XDIR_CLIENT]);
			line_reset(&s->lb[XDIR_SERVER]);
		}
		if (s->ctx->sink.tls_plaintext != NULL)
			s->ctx->sink.tls_plaintext(s->ctx->sink.arg, &s->rec, d, p, n);
		if (d == XDIR_CLIENT)
			client_plain(s, p, n, pos);
		else
			server_plain(s, p, n, pos);
		break;
	}
}

/* TLS begins (STARTTLS accepted, or implicit TLS): with a key log, the
 * records will be decrypted. */
void
tls_begin(struct smtp_session *s)
{
	if (s->ctx->keylog == NULL || s->cr != NULL)
		return;
	s->cr = tls_crypt_new(s->ctx->keylog, tls_plaintext, s);
	s->tlsd[XDIR_CLIENT].cr = s->tlsd[XDIR_SERVER].cr = s->cr;
}

static void
client_feed(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	/* A TLS record starts 0x16 (SSLv2: 0x80); a letter starts a command
	 * in cleartext, so one octet decides. */
	if (s->phase == SP_TLS && s->f.tls_c_bytes == 0 && !s->f.plain_after_tls &&
	    !s->implicit_tls && ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z'))
		plain_after_starttls(s, pos);
	if (s->phase == SP_TLS || (s->srv_tls && s->f.tls_decrypted))
		tls_client_bytes(s, p, n, pos);
	else
		client_plain(s, p, n, pos);
}

/* Client octets in cleartext (or decrypted). */
static void
client_plain(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	while (n > 0) {
		size_t k;
		bool done;

		switch (s->phase) {
		case SP_TLS:
			/* STARTTLS accepted inside this flight: the rest is
			 * TLS (or, inside decrypted TLS, nothing to read). */
			if (!s->f.tls_decrypted)
				client_feed(s, p, n, pos);
			return;
		case SP_CONTENT:
			k = body_data(&s->body, p, n, &done);
			if (done)
				content_end(s, pos, true, 3);
			break;
		case SP_CHUNK:
			k = s->chunk_left < n ? (size_t)s->chunk_left : n;
			body_bytes(&s->body, p, k);
			s->chunk_left -= k;
			if (s->chunk_left == 0)
				chunk_end(s, pos);
			break;
		default:
			k = line_feed(&s->lb[XDIR_CLIENT], p, n, &done);
			if (done) {
				client_line(s, pos);
				line_reset(&s->lb[XDIR_CLIENT]);
			}
			break;
		}
		p += k;
		n -= k;
	}
}

static void
server_feed(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	if (s->srv_tls)
		tls_server_bytes(s, p, n, pos);
	else
		server_plain(s, p, n, pos);
}

/* Server octets in cleartext (or decrypted). */
static void
server_plain(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	while (n > 0) {
		size_t k;
		bool done;

		if (s->srv_tls && !s->f.tls_decrypted) {
			/* STARTTLS accepted inside this flight. */
			tls_server_bytes(s, p, n, pos);
			return;
		}
		k = line_feed(&s->lb[XDIR_SERVER], p, n, &done);
		if (done) {
			server_line(s, pos);
			line_reset(&s->lb[XDIR_SERVER]);
		}
		p += k;
		n -= k;
	}
}

static void rec_build(struct smtp_session *);

static void
maybe_update(struct smtp_session *s, const struct smtp_pos *pos)
{
	const struct smtp_sink *k = &s->ctx->sink;
	uint64_t iv = (uint64_t)s->ctx->lim.update_ms * 1000;

	if (k->session_update == NULL)
		return;
	if (!s->want_update && pos->ts_us >= s->last_update_us &&
	    pos->ts_us - s->last_update_us < iv)
		return;
	s->want_update = false;
	s->last_update_us = pos->ts_us;
	rec_build(s);
	k->session_update(k->arg, &s->rec);
}

void
smtp_feed(struct smtp_session *s, enum xdir dir, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	if (s == NULL || p == NULL || n == 0 || (dir != XDIR_CLIENT && dir != XDIR_SERVER))
		return;
	s->fed[dir] += n;
	if (dir == XDIR_CLIENT)
		client_feed(s, p, n, pos);
	else
		server_feed(s, p, n, pos);
	maybe_update(s, pos);
}

void
smtp_gap(struct smtp_session *s, enum xdir dir, uint64_t len,
    const struct smtp_pos *pos)
{
	if (s == NULL || (dir != XDIR_CLIENT && dir != XDIR_SERVER))
		return;
	stream_gap(s, dir, len, pos, false);
}

/*
 * len octets of one direction are missing: from the wire (a capture gap),
 * or, with tls_record, the plaintext of a TLS record that failed
 * authentication (never decoded).  Either way the direction resynchronises
 * on the next recognisable line, as after any gap; a wire gap inside TLS
 * also ends that direction's TLS reading (the record framing is lost).
 */
static void
stream_gap(struct smtp_session *s, enum xdir dir, uint64_t len,
    const struct smtp_pos *pos, bool tls_record)
{
	s->rec.flags |= SF_GAP;
	san_add(&s->rec.anomalies[SAN_GAP], 1);
	s->f.gap_bytes[dir] += len;
	if (dir == XDIR_CLIENT)
		s->f.gap_client = true;
	else {
		s->f.gap_server = true;
		if (!s->f.greeting_seen)
			s->f.greeting_lost = true;
	}
	{
		uint32_t seq = tls_record ?
		    tr_note(s, pos, "[TLS record failed authentication: %llu bytes from "
		    "the %s not decoded]", (unsigned long long)len,
		    dir == XDIR_CLIENT ? "client" : "server") :
		    tr_note(s, pos, "[gap: %llu bytes missing from the %s]",
		    (unsigned long long)len, dir == XDIR_CLIENT ? "client" : "server");

		if (s->f.gap_seq == NOSEQ)
			s->f.gap_seq = seq;
	}
	if (!tls_record && s->f.tls_decrypted && s->srv_tls) {
		/* Decrypting: the wire's TLS framing is lost for good. */
		tls_lost(&s->tlsd[dir]);
		if (dir == XDIR_SERVER)
			return;
	}
	if (dir == XDIR_SERVER) {
		if (s->srv_tls && !tls_record && !s->f.tls_decrypted) {
			tls_server_bytes(s, NULL, (size_t)(len > SIZE_MAX ? SIZE_MAX : len), pos);
			return;
		}
		line_reset(&s->lb[XDIR_SERVER]);
		if (s->rp.open)
			reply_end(s, NULL, pos);
		s->resync[XDIR_SERVER] = true;
		return;
	}
	switch (s->phase) {
	case SP_TLS:
		s->f.tls_c_bytes += len;
		s->tls_client_seen = true;
		tls_lost(&s->tlsd[XDIR_CLIENT]);
		return;
	case SP_CONTENT:
	case SP_CONTENT_RESYNC:
		s->body.off += len;
		if (tx_at(s, s->body_tx) != NULL)
			s->txf[s->body_tx].content_gap = true;
		line_reset(&s->lb[XDIR_CLIENT]);
		enter_state(s, SP_CONTENT_RESYNC, "gap in the content");
		return;
	case SP_CHUNK:
		if (tx_at(s, s->body_tx) != NULL)
			s->txf[s->body_tx].content_gap = true;
		if (len < s->chunk_left) {
			s->chunk_left -= len;
			s->body.off += len;
			return;
		}
		s->body.off += s->chunk_left;
		s->chunk_left = 0;
		chunk_end(s, pos);
		s->after_chunk = false;
		break;
	default:
		break;
	}
	line_reset(&s->lb[XDIR_CLIENT]);
	s->resync[XDIR_CLIENT] = true;
}

/* ---------------------------------------------------------------------
 * Session life
 * ------------------------------------------------------------------ */
struct smtp_session *
smtp_session_new(struct smtp_ctx *ctx, const struct smtp_peers *peers)
{
	struct smtp_session *s;
	const struct smtp_limits *l;

	if (ctx == NULL || peers == NULL)
		return NULL;
	/* Zeroed up to the pool: its octets are written before they are read. */
	if ((s = ctx->spare) != NULL) {
		ctx->spare = s->next_spare;
		ctx->nspare--;
	} else if ((s = malloc(sizeof(*s))) == NULL)
		return NULL;
	memset(s, 0, offsetof(struct smtp_session, pool));
	s->pool.used = 0;
	l = &ctx->lim;
	s->ctx = ctx;
	s->rcap_lines = 0;	/* rec.lines grows in rec_build */
	if (line_init(&s->lb[0], l->max_line) != 0 ||
	    line_init(&s->lb[1], l->max_line) != 0 ||
	    tr_init(&s->tr, l->max_lines) != 0) {
		line_free(&s->lb[0]);
		line_free(&s->lb[1]);
		free(s->tr.head);
		free(s->tr.ring);
		free(s);
		return NULL;
	}
	make_uid(s->rec.uid, peers);
	s->rec.flow_id = peers->flow_id;
	s->rec.family = peers->family;
	memcpy(s->rec.client_ip, peers->client_ip, 16);
	memcpy(s->rec.server_ip, peers->server_ip, 16);
	s->rec.client_port = peers->client_port;
	s->rec.server_port = peers->server_port;
	s->rec.ts_start_us = s->rec.ts_end_us = peers->ts_us;
	s->rec.end = SEND_OPEN;
	s->rec.state = SST_OPEN;
	s->cur_tx = s->body_tx = s->helo_prev_tx = -1;
	s->phase = SP_CONNECTED;

	sess_facts_unset(&s->f);

	if (peers->mid_stream) {
		struct smtp_pos pos = { .ts_us = peers->ts_us, .pkt = peers->pkt };

		s->rec.flags |= SF_MID_STREAM;
		san_add(&s->rec.anomalies[SAN_MID_STREAM], 1);
		s->resync[XDIR_CLIENT] = s->resync[XDIR_SERVER] = true;
		(void)tr_note(s, &pos, "[joined mid-stream: decoding from the first recognisable line]");
	}
	if (peers->implicit_tls) {
		/* RFC 8314: TLS from the first octet, SMTP inside. */
		s->implicit_tls = true;
		s->rec.flags |= SF_TLS;
		enter_state(s, SP_TLS, "implicit TLS");
		s->srv_tls = true;
		tls_begin(s);
	}
	return s;
}

/* Transaction outcome for the state rules. */
enum tx_outcome { TXO_NONE, TXO_OK, TXO_REJ, TXO_DEF, TXO_CUT };

static enum tx_outcome
by_class(int code)
{
	return code >= 500 ? TXO_REJ : TXO_DEF;
}

static enum tx_outcome
tx_outcome(const struct smtp_session *s, size_t i, bool ended)
{
	const struct tx_record *t = &s->rec.tx[i];
	bool any_ok = false, all_replied = true;
	int worst = 0;

	if (t->mail_reply_code >= 400)
		return by_class(t->mail_reply_code);
	if (t->reply_code >= 200 && t->reply_code < 300)
		return TXO_OK;
	if (t->reply_code >= 400)
		return by_class(t->reply_code);
	if (t->data_reply_code >= 400)
		return by_class(t->data_reply_code);
	for (size_t k = 0; k < t->nrcpts; k++) {
		int c = t->rcpts[k].reply_code;

		if (c == 0)
			all_replied = false;
		else if (c < 400)
			any_ok = true;
		else if (c > worst)
			worst = c;
	}
	if (t->nrcpts > 0 && all_replied && !any_ok)
		return by_class(worst);
	if (ended && t->content_seen && !s->txf[i].rset)
		return TXO_CUT;
	return TXO_NONE;
}

static enum sess_state
sess_state(const struct smtp_session *s)
{
	const struct sess_record *r = &s->rec;
	bool ended = r->end != SEND_OPEN;
	size_t nok = 0, nrefused = 0, ncut = 0, nnone = 0;
	bool rcpt_refused = false;
	enum tx_outcome last_refused = TXO_NONE;

	for (size_t i = 0; i < r->ntx; i++) {
		enum tx_outcome o = tx_outcome(s, i, ended);

		switch (o) {
		case TXO_OK:
			nok++;
			for (size_t k = 0; k < r->tx[i].nrcpts; k++)
				if (r->tx[i].rcpts[k].reply_code >= 400)
					rcpt_refused = true;
			break;
		case TXO_REJ:
		case TXO_DEF:
			nrefused++;
			last_refused = o;
			break;
		case TXO_CUT:
			ncut++;
			break;
		case TXO_NONE:
			nnone++;
			break;
		}
	}
	if (nok > 0)
		return nrefused > 0 || ncut > 0 || rcpt_refused ? SST_PARTIAL : SST_DELIVERED;
	if (ncut > 0)
		return SST_BROKEN;
	if (nrefused > 0)
		return last_refused == TXO_REJ ? SST_REJECTED : SST_DEFERRED;
	if (tls_opaque(s))
		return SST_TLS;
	if (!ended)
		return SST_OPEN;
	if (r->banner_code >= 500)
		return SST_REJECTED;
	if (r->banner_code >= 400)
		return SST_DEFERRED;
	if (nnone > 0 || (s->f.cmds_ever & CMDB(RSET)))
		return SST_ABORTED;
	return SST_NO_MAIL;
}

/* Make rec current: the transcript flattened (first lines, then the last
 * ones in order) and the state. */
static void
rec_build(struct smtp_session *s)
{
	struct sess_record *r = &s->rec;
	size_t need = s->tr.nhead + s->tr.nring;
	struct xline *nl;

	/* As many as the transcript holds (never more than max_lines); if
	 * memory runs out, the record keeps the first ones that fit. */
	if (need > s->rcap_lines &&
	    (nl = reallocarray(r->lines, need, sizeof(*r->lines))) != NULL) {
		r->lines = nl;
		s->rcap_lines = need;
	}
	r->nlines = tr_copy(&s->tr, r->lines, s->rcap_lines);
	r->lines_dropped = s->tr.dropped;
	r->state = sess_state(s);
}

const struct sess_record *
smtp_record(struct smtp_session *s)
{
	if (s == NULL)
		return NULL;
	rec_build(s);
	return &s->rec;
}

/*
 * An ended session's memory, kept for the next one.  Not under
 * AddressSanitizer: there each session is its own allocation, so a read
 * of an ended session is caught.
 */
#define SPARE_SESSIONS 256	/* 1.7 MiB */
#if defined(__SANITIZE_ADDRESS__)
#define SMTP_RECYCLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMTP_RECYCLE 0
#endif
#endif
#ifndef SMTP_RECYCLE
#define SMTP_RECYCLE 1
#endif

static void
session_recycle(struct smtp_session *s)
{
	struct smtp_ctx *c = s->ctx;

	if (SMTP_RECYCLE && c->nspare < SPARE_SESSIONS) {
		s->next_spare = c->spare;
		c->spare = s;
		c->nspare++;
		return;
	}
	free(s);
}

static void
session_free(struct smtp_session *s)
{
	for (size_t i = 0; i < s->rec.ntx && s->txf != NULL; i++)
		free(s->txf[i].rf);
	free(s->txf);
	free(s->q);
	line_free(&s->lb[0]);
	line_free(&s->lb[1]);
	tls_dir_free(&s->tlsd[0]);
	tls_dir_free(&s->tlsd[1]);
	tls_crypt_free(s->cr);
	tr_free(&s->tr);
	wstr_clear(&s->helo_try);
	rec_free(&s->rec);
	session_recycle(s);
}

/* A line without its terminator when the session ended: shown, marked
 * truncated, never acted upon (the peer never saw it complete either). */
static void
flush_partial(struct smtp_session *s, enum xdir d, const struct smtp_pos *pos)
{
	struct linebuf *lb = &s->lb[d];
	uint32_t seq;

	if (lb->total == 0 || s->resync[d])
		return;
	if (d == XDIR_CLIENT && (s->phase == SP_CONTENT || s->phase == SP_CHUNK ||
	    s->phase == SP_TLS))
		return;
	if (d == XDIR_SERVER && s->srv_tls && !s->f.tls_decrypted)
		return;
	/* A line that never ended is counted like one that did: a 100 MB
	 * command without a line end is long and cut all the same. */
	if (d == XDIR_CLIENT && s->auth_sasl)
		seq = tr_add(s, d, XL_MASKED | XL_TRUNCATED, MASK, strlen(MASK), pos);
	else
		seq = tr_add(s, d, XL_TRUNCATED, lb->buf,
		    lb->total < lb->len ? (size_t)lb->total : lb->len, pos);
	if (lb->total > lb->len)
		lb->flags |= LN_CUT;
	line_anomalies(s, lb, d == XDIR_CLIENT, seq);
	line_reset(lb);
}

void
smtp_end(struct smtp_session *s, const struct smtp_end_info *ei,
    const struct smtp_pos *pos)
{
	struct sess_record *r;
	struct sess_facts *f;
	const struct smtp_sink *k;
	struct host_mem *hm;
	struct smtp_pos zero = { .ts_us = 0 };
	uint64_t bc, bs;

	if (s == NULL)
		return;
	if (pos == NULL)
		pos = &zero;
	r = &s->rec;
	f = &s->f;
	k = &s->ctx->sink;
	/* Records held for a key the key log had not yet given go first:
	 * their plaintext belongs before everything below. */
	tls_crypt_finish(s->cr, &r->tls);
	flush_partial(s, XDIR_CLIENT, pos);
	flush_partial(s, XDIR_SERVER, pos);
	if (s->phase == SP_CONTENT || s->phase == SP_CONTENT_RESYNC) {
		f->cut_in_content = true;
		content_end(s, pos, false, 0);
	} else if (s->phase == SP_CHUNK) {
		f->cut_in_content = true;
		chunk_cut(s, pos);
	}
	for (size_t i = 0; i < s->qlen; i++) {
		const struct pending *p = &s->q[(s->qhead + i) % s->qcap];

		if (p->cmd == CMD_EOD || (p->cmd == CMD_BDAT && p->bdat_last)) {
			f->cut_awaiting_reply = true;
			if (f->cut_seq == NOSEQ)
				f->cut_seq = p->seq;
		}
	}

	bc = s->fed[XDIR_CLIENT];
	bs = s->fed[XDIR_SERVER];
	if (ei != NULL) {
		memcpy(r->packets, ei->packets, sizeof(r->packets));
		memcpy(r->bytes, ei->bytes, sizeof(r->bytes));
		if (ei->bytes[XDIR_CLIENT] > bc)
			bc = ei->bytes[XDIR_CLIENT];
		if (ei->bytes[XDIR_SERVER] > bs)
			bs = ei->bytes[XDIR_SERVER];
		if (ei->kernel_drops)
			r->flags |= SF_KERNEL_DROPS;
		if (ei->overlap_conflict)
			r->flags |= SF_OVERLAP;
	}
	if (r->bytes[XDIR_CLIENT] == 0 && r->bytes[XDIR_SERVER] == 0) {
		r->bytes[XDIR_CLIENT] = s->fed[XDIR_CLIENT];
		r->bytes[XDIR_SERVER] = s->fed[XDIR_SERVER];
	}
	if ((bc == 0) != (bs == 0)) {
		r->flags |= SF_ONE_SIDED;
		san_add(&r->anomalies[SAN_ONE_SIDED], 1);
	}
	r->end = f->quit_seq != NOSEQ ? SEND_QUIT :
	    (ei != NULL && ei->reason != SEND_OPEN ? ei->reason : SEND_EOF);
	if (pos->ts_us != 0)
		r->ts_end_us = pos->ts_us;

	/* Cross-session memory of the client, then the rules. */
	hm = host_get(s->ctx, r->family, r->client_ip);
	if (hm != NULL) {
		bool offered8 = false, body8 = false;

		hm->sessions++;
		if (f->cmds_ever & CMDB(MAIL))
			hm->mail_sessions++;
		for (size_t i = 0; i < r->ntx; i++)
			if (r->tx[i].body == BODY_8BITMIME)
				body8 = true;
		if (body8)
			hm->body8_sessions++;
		if (abort_pattern(s, &offered8)) {
			if (offered8)
				hm->aborts_offered++;
			else
				hm->aborts_unoffered++;
		}
	}
	rec_build(s);
	incidents_run(s, hm);
	rec_build(s);
	if (k->session_end != NULL)
		k->session_end(k->arg, r);
	if (!k->keep_ended)
		session_free(s);
}

void
smtp_release(struct smtp_ctx *ctx, const struct sess_record *r)
{
	struct smtp_session *s;

	if (r == NULL)
		return;
	s = (struct smtp_session *)(void *)((char *)(uintptr_t)r -
	    offsetof(struct smtp_session, rec));
	if (s->ctx == ctx)
		session_free(s);
}
