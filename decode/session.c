/*
 * session.c - the SMTP session state machine and the session record.
 *
 * One struct smtp_session per TCP session.  Each direction's bytes go
 * through a line assembler (line.c), except the client's message content,
 * which goes to the content tracker (body.c), and everything after an
 * accepted STARTTLS, which is only counted.  Client lines become commands
 * (cmd.c) that join a FIFO of outstanding commands; server lines become
 * replies (reply.c), multi-line replies assembled here, and each complete
 * reply answers the command at the head of the FIFO.  That is what makes
 * pairing survive PIPELINING (RFC 2920): replies come in command order.
 *
 * Rules this file implements, in words:
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

#define SMTP_LINE_LIMIT	512	/* RFC 5321 4.5.3.1.4/5, CRLF included */
#define MASK		"********"

static void reply_begin(struct smtp_session *, const struct reply_line *,
    uint32_t seq, const struct smtp_pos *);
static void reply_end(struct smtp_session *, const struct span *text,
    const struct smtp_pos *);
static void content_end(struct smtp_session *, const struct smtp_pos *,
    bool marker, uint64_t marker_len);

/* ---------------------------------------------------------------------
 * Limits, context and host memory
 * ------------------------------------------------------------------ */
void
smtp_limits_init(struct smtp_limits *l)
{
	l->max_line = 4096;
	l->max_lines = 200;
	l->max_queue = 128;
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
	if (c->lim.update_ms == 0)
		c->lim.update_ms = def.update_ms;
	if (sink != NULL)
		c->sink = *sink;
	RB_INIT(&c->hosts);
	TAILQ_INIT(&c->lru);
	return c;
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
	if (len == 0)
		return;
	if (inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, ip, buf,
	    (socklen_t)len) == NULL)
		strlcpy(buf, "?", len);
}

void
fmt_hostport(char *buf, size_t len, int family, const uint8_t ip[16],
    uint16_t port)
{
	char h[INET6_ADDRSTRLEN];

	fmt_host(h, sizeof(h), family, ip);
	if (family == AF_INET6)
		(void)snprintf(buf, len, "[%s]:%u", h, (unsigned)port);
	else
		(void)snprintf(buf, len, "%s:%u", h, (unsigned)port);
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

static void
enter_state(struct smtp_session *s, enum sphase to)
{
	if (s->phase == to)
		return;
	/* Once encrypted, nothing of the session is readable again. */
	if (s->phase == SP_TLS)
		return;
	s->phase = to;
}

/* ---------------------------------------------------------------------
 * Transcript
 * ------------------------------------------------------------------ */
static uint32_t
tr_add(struct smtp_session *s, enum xdir dir, uint8_t flags, const char *text,
    size_t len, const struct smtp_pos *pos)
{
	struct transcript *t = &s->tr;
	struct tline *l;
	uint32_t seq = t->next_seq++;

	if (t->nhead < t->cap_head) {
		l = &t->head[t->nhead++];
	} else if (t->nring < t->cap_ring) {
		l = &t->ring[(t->ring_start + t->nring++) % t->cap_ring];
	} else {
		l = &t->ring[t->ring_start];
		wstr_clear(&l->x.text);
		t->ring_start = (t->ring_start + 1) % t->cap_ring;
		t->dropped++;
		s->rec.anomalies[SAN_TRANSCRIPT_CAP]++;
	}
	l->seq = seq;
	l->x.ts_us = pos->ts_us;
	l->x.pkt = pos->pkt;
	l->x.dir = dir;
	l->x.flags = flags;
	l->x.text.p = NULL;
	wstr_set(&l->x.text, text, len, s->ctx->lim.max_line);
	return seq;
}

static uint32_t
tr_note(struct smtp_session *s, const struct smtp_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static uint32_t
tr_note(struct smtp_session *s, const struct smtp_pos *pos, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NOSEQ;
	return tr_add(s, XDIR_NOTE, 0, buf, strlen(buf), pos);
}

const struct xline *
tr_find(const struct smtp_session *s, uint32_t seq)
{
	const struct transcript *t = &s->tr;
	uint32_t first;

	if (seq == NOSEQ || seq >= t->next_seq)
		return NULL;
	if (seq < t->nhead)
		return &t->head[seq].x;
	first = t->next_seq - (uint32_t)t->nring;
	if (seq < first)
		return NULL;		/* dropped from the middle */
	return &t->ring[(t->ring_start + (seq - first)) % t->cap_ring].x;
}

static void
tr_free(struct transcript *t)
{
	for (size_t i = 0; i < t->nhead; i++)
		wstr_clear(&t->head[i].x.text);
	for (size_t i = 0; i < t->nring; i++)
		wstr_clear(&t->ring[(t->ring_start + i) % t->cap_ring].x.text);
	free(t->head);
	free(t->ring);
}

/* ---------------------------------------------------------------------
 * Outstanding commands (a ring that grows up to max_queue)
 * ------------------------------------------------------------------ */
static bool
q_push(struct smtp_session *s, const struct pending *p)
{
	if (s->qlen == s->qcap) {
		size_t ncap = s->qcap ? s->qcap * 2 : 8;
		struct pending *nq;

		if (s->qcap >= s->ctx->lim.max_queue) {
			s->rec.anomalies[SAN_QUEUE_FULL]++;
			return false;
		}
		if (ncap > s->ctx->lim.max_queue)
			ncap = s->ctx->lim.max_queue;
		if ((nq = reallocarray(NULL, ncap, sizeof(*nq))) == NULL) {
			s->rec.anomalies[SAN_QUEUE_FULL]++;
			return false;
		}
		for (size_t i = 0; i < s->qlen; i++)
			nq[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = nq;
		s->qcap = ncap;
		s->qhead = 0;
	}
	s->q[(s->qhead + s->qlen) % s->qcap] = *p;
	s->qlen++;
	return true;
}

static const struct pending *
q_head(const struct smtp_session *s)
{
	return s->qlen > 0 ? &s->q[s->qhead] : NULL;
}

static const struct pending *
q_tail(const struct smtp_session *s)
{
	return s->qlen > 0 ? &s->q[(s->qhead + s->qlen - 1) % s->qcap] : NULL;
}

static void
q_pop(struct smtp_session *s)
{
	if (s->qlen == 0)
		return;
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
}

/* ---------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------ */
static struct tx_record *
tx_at(struct smtp_session *s, int ti)
{
	return ti >= 0 && (size_t)ti < s->rec.ntx ? &s->rec.tx[ti] : NULL;
}

static int
tx_new(struct smtp_session *s)
{
	size_t i;

	if (s->rec.ntx >= SESS_MAX_TX) {
		s->rec.tx_dropped++;
		return -1;
	}
	if (s->rec.ntx == s->txcap) {
		size_t ncap = s->txcap ? s->txcap * 2 : 4;
		struct tx_record *nt;
		struct tx_facts *nf;

		if (ncap > SESS_MAX_TX)
			ncap = SESS_MAX_TX;
		if ((nt = reallocarray(s->rec.tx, ncap, sizeof(*nt))) == NULL) {
			s->rec.tx_dropped++;
			return -1;
		}
		s->rec.tx = nt;
		if ((nf = reallocarray(s->txf, ncap, sizeof(*nf))) == NULL) {
			s->rec.tx_dropped++;
			return -1;
		}
		s->txf = nf;
		s->txcap = ncap;
	}
	i = s->rec.ntx++;
	memset(&s->rec.tx[i], 0, sizeof(s->rec.tx[i]));
	memset(&s->txf[i], 0, sizeof(s->txf[i]));
	s->txf[i].mail_seq = s->txf[i].mail_reply_seq = s->txf[i].mail_reply_last = NOSEQ;
	s->txf[i].data_seq = s->txf[i].data_reply_seq = s->txf[i].data_reply_last = NOSEQ;
	s->txf[i].end_seq = s->txf[i].final_seq = s->txf[i].final_last = NOSEQ;
	s->txf[i].first_bdat_seq = s->txf[i].mismatch_seq = NOSEQ;
	s->txf[i].binary_data_seq = s->txf[i].addr_8bit_seq = NOSEQ;
	s->txf[i].dsn_param_seq = NOSEQ;
	return (int)i;
}

static int
rcpt_new(struct smtp_session *s, int ti)
{
	struct tx_record *t = &s->rec.tx[ti];
	struct tx_facts *tf = &s->txf[ti];
	size_t i;

	if (t->nrcpts >= TX_MAX_RCPTS) {
		t->rcpts_dropped++;
		return -1;
	}
	if (t->nrcpts == tf->rcap) {
		size_t ncap = tf->rcap ? tf->rcap * 2 : 4;
		struct rcpt_record *nr;
		struct rcpt_facts *nf;

		if (ncap > TX_MAX_RCPTS)
			ncap = TX_MAX_RCPTS;
		if ((nr = reallocarray(t->rcpts, ncap, sizeof(*nr))) == NULL) {
			t->rcpts_dropped++;
			return -1;
		}
		t->rcpts = nr;
		if ((nf = reallocarray(tf->rf, ncap, sizeof(*nf))) == NULL) {
			t->rcpts_dropped++;
			return -1;
		}
		tf->rf = nf;
		tf->rcap = ncap;
	}
	i = t->nrcpts++;
	memset(&t->rcpts[i], 0, sizeof(t->rcpts[i]));
	tf->rf[i].cmd_seq = tf->rf[i].reply_seq = tf->rf[i].reply_last = NOSEQ;
	return (int)i;
}

/* Is the transaction known to be refused before DATA is answered? */
static bool
tx_refused_early(const struct tx_record *t)
{
	bool all_replied = true, any_ok = false;

	if (t->mail_reply_code >= 400)
		return true;
	if (t->nrcpts == 0)
		return t->rcpts_dropped == 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (t->rcpts[i].reply_code == 0)
			all_replied = false;
		else if (t->rcpts[i].reply_code < 400)
			any_ok = true;
	}
	return all_replied && !any_ok;
}

/* ---------------------------------------------------------------------
 * Message content
 * ------------------------------------------------------------------ */
static void
note_message(struct smtp_session *s, const struct smtp_pos *pos,
    const struct tx_record *t, bool cut)
{
	const struct body *b = &s->body;
	char buf[240];
	size_t o = 0;
	int n;

#define APPEND(...) do {                                                 \
	n = snprintf(buf + o, sizeof(buf) - o, __VA_ARGS__);              \
	if (n > 0 && (size_t)n < sizeof(buf) - o)                          \
		o += (size_t)n;                                            \
} while (0)
	APPEND("[message%s: %llu bytes", cut ? " cut short" : "",
	    (unsigned long long)(t != NULL ? t->data_bytes : b->off));
	if (t != NULL && t->bdat)
		APPEND(" in %u BDAT chunk%s", (unsigned)t->bdat_chunks,
		    t->bdat_chunks == 1 ? "" : "s");
	if (b->eightbit > 0)
		APPEND(", 8-bit (%llu octets >= 0x80, first at offset %llu)",
		    (unsigned long long)b->eightbit, (unsigned long long)b->first8);
	else
		APPEND(", 7-bit");
	if (b->long_lines > 0)
		APPEND(", %llu line%s over 1000 octets",
		    (unsigned long long)b->long_lines, b->long_lines == 1 ? "" : "s");
	if (b->dot_rules && b->bare > 0)
		APPEND(", %llu bare LF/CR", (unsigned long long)b->bare);
	if (b->nul)
		APPEND(", NUL octets");
	if (b->smuggle > 0)
		APPEND(", %u end-of-data look-alike%s", b->smuggle,
		    b->smuggle == 1 ? "" : "s");
	APPEND("]");
#undef APPEND
	(void)tr_add(s, XDIR_NOTE, 0, buf, o,
	    pos);
}

/* Copy what the content tracker learned into the transaction. */
static void
content_facts(struct smtp_session *s, struct tx_record *t, struct tx_facts *tf)
{
	const struct body *b = &s->body;
	size_t cap = s->ctx->lim.max_line;

	t->eightbit_bytes = b->eightbit;
	t->first_8bit_off = b->first8;
	t->bare_lf = b->dot_rules ? b->bare : 0;
	t->nul_seen = b->nul;
	if (b->cte[0] != '\0' && t->cte.p == NULL)
		wstr_set(&t->cte, b->cte, strlen(b->cte), cap);
	if (b->ctype[0] != '\0' && t->content_type.p == NULL)
		wstr_set(&t->content_type, b->ctype, strlen(b->ctype), cap);
	if (b->charset[0] != '\0' && t->charset.p == NULL)
		wstr_set(&t->charset, b->charset, strlen(b->charset), cap);
	tf->long_lines = b->long_lines;
	tf->smuggle = b->smuggle;
	tf->dsn_report = a_eq(b->ctype, strlen(b->ctype), "multipart/report") &&
	    a_eq(b->report_type, strlen(b->report_type), "delivery-status");
}

/* The end of DATA content: marker says whether CRLF.CRLF was seen (its
 * octets, marker_len, are not content). */
static void
content_end(struct smtp_session *s, const struct smtp_pos *pos, bool marker,
    uint64_t marker_len)
{
	struct tx_record *t = tx_at(s, s->body_tx);
	struct tx_facts *tf = t != NULL ? &s->txf[s->body_tx] : NULL;
	struct pending p;

	body_finish(&s->body);
	s->rec.anomalies[SAN_LONG_TEXT] += (uint32_t)s->body.long_lines;
	if (t != NULL) {
		uint64_t off = s->body.off;

		t->data_bytes = marker && off >= marker_len ? off - marker_len : off;
		t->content_seen = t->data_bytes > 0 || marker;
		t->content_complete = marker;
		content_facts(s, t, tf);
	}
	note_message(s, pos, t, !marker);
	if (tf != NULL)
		tf->end_seq = s->tr.next_seq - 1;
	if (!marker) {
		if (tf != NULL)
			s->f.cut_seq = tf->end_seq;
		enter_state(s, SP_MAIL);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.cmd = CMD_EOD;
	p.tx = s->body_tx;
	p.rcpt = p.prev_tx = -1;
	p.seq = s->tr.next_seq - 1;
	p.pkt = pos->pkt;
	(void)q_push(s, &p);
	enter_state(s, SP_HELLO);
}

/* A BDAT chunk was consumed entirely. */
static void
chunk_end(struct smtp_session *s, const struct smtp_pos *pos)
{
	struct tx_record *t = tx_at(s, s->body_tx);

	s->after_chunk = true;
	enter_state(s, SP_MAIL);
	if (!s->chunk_last)
		return;
	body_finish(&s->body);
	s->rec.anomalies[SAN_LONG_TEXT] += (uint32_t)s->body.long_lines;
	if (t != NULL) {
		t->content_complete = true;
		content_facts(s, t, &s->txf[s->body_tx]);
	}
	note_message(s, pos, t, false);
	if (t != NULL)
		s->txf[s->body_tx].end_seq = s->tr.next_seq - 1;
	enter_state(s, SP_HELLO);
}

static void
start_content(struct smtp_session *s, int ti)
{
	body_start(&s->body, true);
	s->body_tx = ti;
	enter_state(s, SP_CONTENT);
}

/* ---------------------------------------------------------------------
 * Client lines
 * ------------------------------------------------------------------ */
static bool
is_group_terminator(enum cmd_id c)
{
	/* RFC 2920 section 3.1, plus STARTTLS and AUTH (RFC 3207, 4954). */
	switch (c) {
	case CMD_EHLO: case CMD_DATA: case CMD_VRFY: case CMD_EXPN:
	case CMD_QUIT: case CMD_NOOP: case CMD_STARTTLS: case CMD_AUTH:
		return true;
	default:
		return false;
	}
}

static void
line_anomalies(struct smtp_session *s, const struct linebuf *lb, bool client,
    uint32_t seq)
{
	uint32_t *a = s->rec.anomalies;

	if (line_octets(lb) > SMTP_LINE_LIMIT) {
		if (client) {
			a[SAN_LONG_CMD]++;
			if (s->f.long_cmd_seq == NOSEQ)
				s->f.long_cmd_seq = seq;
		} else {
			a[SAN_LONG_REPLY]++;
			if (s->f.long_reply_seq == NOSEQ)
				s->f.long_reply_seq = seq;
		}
	}
	if (lb->flags & LN_CUT)
		a[SAN_LINE_CAP]++;
	if (lb->flags & LN_BARE_LF)
		a[SAN_BARE_LF]++;
	if (lb->flags & LN_BARE_CR)
		a[SAN_BARE_CR]++;
	if (lb->flags & LN_NUL)
		a[SAN_NUL_BYTE]++;
	if (client && (lb->flags & (LN_BARE_LF | LN_BARE_CR)) &&
	    s->f.bare_cmd_seq == NOSEQ)
		s->f.bare_cmd_seq = seq;
}

/* The transcript text of a command: AUTH's initial response masked. */
static uint32_t
command_to_transcript(struct smtp_session *s, const struct cmd *c,
    const struct linebuf *lb, const struct smtp_pos *pos)
{
	uint8_t fl = (lb->flags & LN_CUT) ? XL_TRUNCATED : 0;
	char buf[96];
	int n;

	if (c->id == CMD_AUTH && c->auth_initial) {
		n = snprintf(buf, sizeof(buf), "%.*s %.*s " MASK,
		    (int)(c->verb.len > 16 ? 16 : c->verb.len), c->verb.p,
		    (int)(c->mech.len > 40 ? 40 : c->mech.len), c->mech.p);
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(buf))
			n = (int)sizeof(buf) - 1;
		return tr_add(s, XDIR_CLIENT, XL_MASKED, buf, (size_t)n, pos);
	}
	return tr_add(s, XDIR_CLIENT, fl, lb->buf, lb->len, pos);
}

/* Pipelining checks against the last outstanding command (RFC 2920):
 * a flight is what one packet carried. */
static void
check_pipelining(struct smtp_session *s, uint32_t seq, const struct smtp_pos *pos)
{
	const struct pending *t = q_tail(s);

	if (t == NULL || t->pkt != pos->pkt || t->cmd == CMD_EOD)
		return;
	/* STARTTLS followed in its flight is starttls-injection's finding. */
	if (t->cmd == CMD_STARTTLS)
		return;
	if (is_group_terminator(t->cmd)) {
		if (s->f.pipe_term++ == 0)
			s->f.pipe_term_seq = seq;
	} else if (s->f.hello_ok && !(s->rec.capflags & CAPF(PIPELINING))) {
		/* (Only once the offer is known: an EHLO reply lost in a gap
		 * says nothing about PIPELINING.) */
		s->rec.anomalies[SAN_PIPELINING_UNOFFERED]++;
		if (s->f.pipe_unoffered++ == 0)
			s->f.pipe_unoffered_seq = seq;
	}
}

/* After a client gap or a mid-stream join the MAIL line may be lost: a
 * RCPT, DATA or BDAT with no transaction then opens one whose MAIL is
 * unseen (mail_from absent), so that the rest still decodes. */
static int
implicit_tx(struct smtp_session *s, const struct smtp_pos *pos)
{
	int ti;

	if (s->cur_tx >= 0 || !(s->f.gap_client || (s->rec.flags & SF_MID_STREAM)))
		return s->cur_tx;
	if ((ti = tx_new(s)) < 0)
		return -1;
	s->rec.tx[ti].ts_us = pos->ts_us;
	s->rec.tx[ti].pkt = pos->pkt;
	s->txf[ti].caps_at_mail = s->rec.capflags;
	s->txf[ti].caps_known = s->f.hello_ok;
	s->txf[ti].via_helo = s->f.hello_ok && !s->f.ehlo_ok;
	s->cur_tx = ti;
	return ti;
}

static void
client_command(struct smtp_session *s, const struct cmd *c,
    const struct linebuf *lb, const struct smtp_pos *pos)
{
	struct sess_record *r = &s->rec;
	struct sess_facts *f = &s->f;
	size_t cap = s->ctx->lim.max_line;
	struct pending p;
	struct tx_record *t;
	uint32_t seq;
	int ti;

	seq = command_to_transcript(s, c, lb, pos);
	if (c->id != CMD_AUTH)
		line_anomalies(s, lb, true, seq);
	r->commands++;
	if (c->id == CMD_UNKNOWN)
		r->anomalies[SAN_UNKNOWN_COMMAND]++;
	if (s->phase == SP_QUIT)
		r->anomalies[SAN_DATA_AFTER_QUIT]++;
	if (!f->greeting_seen && !(r->flags & SF_MID_STREAM)) {
		if (f->early_seq == NOSEQ) {
			f->early_seq = seq;
			r->anomalies[SAN_EARLY_TALKER]++;
		}
	}
	if (f->starttls_pending && pos->pkt == f->starttls_pkt &&
	    f->inj_client_seq == NOSEQ)
		f->inj_client_seq = seq;
	check_pipelining(s, seq, pos);
	f->cmds_since_ehlo |= 1u << c->id;
	f->cmds_ever |= 1u << c->id;

	memset(&p, 0, sizeof(p));
	p.cmd = c->id;
	p.tx = p.rcpt = p.prev_tx = -1;
	p.seq = seq;
	p.pkt = pos->pkt;

	switch (c->id) {
	case CMD_HELO:
	case CMD_EHLO:
		/*
		 * Accepted, it names the client and resets any transaction
		 * (RFC 5321 section 4.1.4); refused (501 for a missing name,
		 * say), it changes nothing.  So the name and the reset wait
		 * for the reply; the name shows at once only while no HELO or
		 * EHLO has been accepted.
		 */
		wstr_set(&s->helo_try, c->arg.p, c->arg.len, cap);
		if (!f->hello_ok)
			wstr_set(&r->helo, c->arg.p, c->arg.len, cap);
		s->helo_prev_tx = (s->cur_tx >= 0 && !s->txf[s->cur_tx].done) ?
		    s->cur_tx : -1;
		s->cur_tx = -1;
		enter_state(s, SP_HELLO);
		break;
	case CMD_MAIL:
		if ((ti = tx_new(s)) >= 0) {
			struct tx_facts *tf = &s->txf[ti];

			t = &r->tx[ti];
			t->ts_us = pos->ts_us;
			t->pkt = pos->pkt;
			wstr_set(&t->mail_from, c->addr.p, c->addr.len, cap);
			wstr_set(&t->mail_params, c->params.p, c->params.len, cap);
			t->body = c->body;
			t->size_param = c->size;
			t->smtputf8 = c->smtputf8;
			t->dsn_params = c->ret || c->envid;
			tf->caps_at_mail = r->capflags;
			tf->caps_known = f->hello_ok;
			tf->via_helo = f->hello_ok && !f->ehlo_ok;
			tf->mail_seq = seq;
			if (c->addr_8bit) {
				tf->addr_8bit = true;
				tf->addr_8bit_seq = seq;
			}
			if (t->dsn_params)
				tf->dsn_param_seq = seq;
		}
		/*
		 * A MAIL while a transaction is open: the server refuses it
		 * (503, nested MAIL) and the open one goes on, or accepts it
		 * and the open one is abandoned.  Which, the reply says; until
		 * then the new one is current.
		 */
		if (s->cur_tx >= 0 && !s->txf[s->cur_tx].done &&
		    r->tx[s->cur_tx].mail_reply_code / 100 == 2)
			p.prev_tx = s->cur_tx;
		else if (s->cur_tx >= 0)
			s->txf[s->cur_tx].done = true;
		s->cur_tx = ti;
		p.tx = ti;
		enter_state(s, SP_MAIL);
		break;
	case CMD_RCPT:
		ti = implicit_tx(s, pos);
		if (ti >= 0 && !s->txf[ti].done) {
			int ri = rcpt_new(s, ti);

			p.tx = ti;
			p.rcpt = ri;
			t = &r->tx[ti];
			if (c->notify || c->orcpt) {
				t->dsn_params = true;
				if (s->txf[ti].dsn_param_seq == NOSEQ)
					s->txf[ti].dsn_param_seq = seq;
			}
			if (c->addr_8bit && !s->txf[ti].addr_8bit) {
				s->txf[ti].addr_8bit = true;
				s->txf[ti].addr_8bit_seq = seq;
			}
			if (ri >= 0) {
				wstr_set(&t->rcpts[ri].addr, c->addr.p, c->addr.len, cap);
				wstr_set(&t->rcpts[ri].params, c->params.p, c->params.len, cap);
				s->txf[ti].rf[ri].cmd_seq = seq;
			}
		}
		break;
	case CMD_DATA:
		ti = implicit_tx(s, pos);
		p.tx = ti;
		if ((t = tx_at(s, ti)) != NULL && !s->txf[ti].done) {
			t->data_cmd = true;
			s->txf[ti].data_seq = seq;
			if (t->bdat)
				s->txf[ti].data_and_bdat = true;
			if (t->body == BODY_BINARYMIME)
				s->txf[ti].binary_data_seq = seq;
			if (!tx_refused_early(t))
				start_content(s, ti);
		}
		break;
	case CMD_BDAT:
		ti = implicit_tx(s, pos);
		if ((t = tx_at(s, ti)) != NULL && s->txf[ti].done)
			t = NULL, ti = -1;
		p.tx = ti;
		p.bdat_last = c->bdat_last;
		if (t != NULL) {
			if (!t->bdat) {
				body_start(&s->body, false);
				s->txf[ti].first_bdat_seq = seq;
			}
			t->bdat = true;
			t->bdat_chunks++;
			t->data_bytes += c->bdat_size;
			t->content_seen = true;
			if (t->data_cmd)
				s->txf[ti].data_and_bdat = true;
		} else {
			/* Still consume the chunk, counted nowhere. */
			body_start(&s->body, false);
		}
		s->body_tx = ti;
		s->chunk_left = c->bdat_size;
		s->chunk_last = c->bdat_last;
		break;
	case CMD_RSET:
		if (s->cur_tx >= 0 && !s->txf[s->cur_tx].done)
			s->txf[s->cur_tx].done = s->txf[s->cur_tx].rset = true;
		s->cur_tx = -1;
		if (f->rset_seq == NOSEQ)
			f->rset_seq = seq;
		enter_state(s, f->hello_ok ? SP_HELLO : s->phase);
		break;
	case CMD_QUIT:
		if (f->quit_seq == NOSEQ)
			f->quit_seq = seq;
		enter_state(s, SP_QUIT);
		break;
	case CMD_STARTTLS:
		r->starttls_cmd = true;
		f->starttls_seq = seq;
		f->starttls_pending = true;
		f->starttls_pkt = pos->pkt;
		break;
	case CMD_AUTH:
		wstr_set(&r->auth_used, c->mech.p, c->mech.len, cap);
		f->auth_seq = seq;
		if ((r->capflags & CAPF(STARTTLS)) && !(r->flags & SF_TLS))
			f->auth_cleartext = true;
		if (f->ehlo_ok && !(r->capflags & CAPF(AUTH)))
			f->auth_unoffered = true;
		s->auth_sasl = true;
		break;
	default:
		break;
	}
	(void)q_push(s, &p);
	/* BDAT: the chunk octets follow the line at once. */
	if (c->id == CMD_BDAT) {
		if (s->chunk_left > 0)
			enter_state(s, SP_CHUNK);
		else
			chunk_end(s, pos);
	}
}

/* A line of content after a gap inside DATA: see the file comment. */
static bool
content_resync_line(struct smtp_session *s, const struct linebuf *lb,
    const struct smtp_pos *pos)
{
	if (lb->len == 1 && lb->buf[0] == '.') {
		content_end(s, pos, true, 0);
		return false;
	}
	if (cmd_strict(lb->buf, lb->len)) {
		content_end(s, pos, false, 0);
		(void)tr_note(s, pos, "[end of message not seen after the gap]");
		return true;
	}
	s->body.off += line_octets(lb);
	return false;
}

static void
client_line(struct smtp_session *s, const struct smtp_pos *pos)
{
	struct linebuf *lb = &s->lb[XDIR_CLIENT];
	struct cmd c;

	s->saw_line[XDIR_CLIENT] = true;
	if (s->auth_sasl) {
		/* SASL data: never parsed, never stored. */
		(void)tr_add(s, XDIR_CLIENT, XL_MASKED, MASK, strlen(MASK), pos);
		return;
	}
	if (s->phase == SP_CONTENT_RESYNC && !content_resync_line(s, lb, pos))
		return;
	if (s->resync[XDIR_CLIENT]) {
		if (!cmd_strict(lb->buf, lb->len)) {
			s->skipped[XDIR_CLIENT] += line_octets(lb);
			return;
		}
		s->resync[XDIR_CLIENT] = false;
		if (s->skipped[XDIR_CLIENT] > 0)
			(void)tr_note(s, pos, "[client: %llu bytes skipped to resynchronise]",
			    (unsigned long long)s->skipped[XDIR_CLIENT]);
		s->skipped[XDIR_CLIENT] = 0;
	}
	cmd_parse(lb->buf, lb->len, &c);
	if (s->after_chunk) {
		s->after_chunk = false;
		if (c.id == CMD_UNKNOWN || !c.syntax_ok) {
			int ti = s->body_tx;

			s->rec.anomalies[SAN_BDAT_MISMATCH]++;
			if (tx_at(s, ti) != NULL) {
				s->txf[ti].bdat_mismatch = true;
				s->txf[ti].mismatch_seq = s->tr.next_seq;
			}
		}
	}
	client_command(s, &c, lb, pos);
}

/* ---------------------------------------------------------------------
 * Server replies
 * ------------------------------------------------------------------ */
static bool
is_greeting(const struct smtp_session *s, const struct reply_line *rl)
{
	if (rl->code == 220 || rl->code == 421 || rl->code == 554)
		return s->qlen == 0 || !(s->rec.flags & SF_MID_STREAM);
	return rl->code >= 400 && s->qlen == 0 && !(s->rec.flags & SF_MID_STREAM);
}

static void
reply_begin(struct smtp_session *s, const struct reply_line *rl, uint32_t seq,
    const struct smtp_pos *pos)
{
	struct cur_reply *rp = &s->rp;
	const struct pending *h;

	memset(rp, 0, sizeof(*rp));
	rp->code = rl->code;
	rp->first_seq = rp->last_seq = seq;
	if (!s->f.greeting_seen) {
		s->f.greeting_seen = true;
		if (is_greeting(s, rl)) {
			rp->greeting = true;
			s->rec.banner_code = rl->code;
			wstr_set(&s->rec.banner, rl->text.p, rl->text.len,
			    s->ctx->lim.max_line);
			return;
		}
		if (!(s->rec.flags & SF_MID_STREAM)) {
			/* We joined after the greeting. */
			s->rec.flags |= SF_MID_STREAM;
			s->rec.anomalies[SAN_MID_STREAM]++;
		}
	}
	if (s->qlen == 0 && s->phase == SP_CONTENT_RESYNC)
		content_end(s, pos, false, 0);
	if ((h = q_head(s)) == NULL) {
		s->rec.anomalies[SAN_UNSOLICITED_REPLY]++;
		if (s->f.unsolicited_seq == NOSEQ)
			s->f.unsolicited_seq = seq;
		return;
	}
	rp->paired = true;
	rp->pend = *h;
	if (h->cmd == CMD_EHLO && rl->code == 250) {
		struct sess_record *r = &s->rec;

		rp->ehlo_caps = true;
		for (size_t i = 0; i < r->ncaps; i++)
			wstr_clear(&r->caps[i]);
		r->ncaps = 0;
		r->caps_dropped = 0;
		wstr_clear(&r->auth_mechs);
	}
}

/* One capability line of an EHLO reply (not the first line). */
static void
add_cap(struct smtp_session *s, const struct span *text, uint32_t seq)
{
	struct sess_record *r = &s->rec;
	struct cap_line cl;
	size_t cap = s->ctx->lim.max_line, n;
	char *buf;

	cap_parse(text->p, text->len, &cl);
	if (cl.bit >= 0)
		s->rp.capflags |= 1u << cl.bit;
	if (cl.masked && s->f.masked_seq == NOSEQ)
		s->f.masked_seq = seq;
	if (cl.bit == CAPB_SIZE && cl.rest.len > 0) {
		char num[24];
		const char *err = NULL;
		long long v;

		if (cl.rest.len < sizeof(num)) {
			memcpy(num, cl.rest.p, cl.rest.len);
			num[cl.rest.len] = '\0';
			v = strtonum(num, 0, LLONG_MAX, &err);
			if (err == NULL)
				s->rp.size_limit = (uint64_t)v;
		}
	}
	if (cl.bit == CAPB_AUTH)
		wstr_set(&r->auth_mechs, cl.rest.p, cl.rest.len, cap);
	if (r->ncaps >= SESS_MAX_CAPS) {
		r->caps_dropped++;
		return;
	}
	if (r->caps == NULL &&
	    (r->caps = calloc(SESS_MAX_CAPS, sizeof(*r->caps))) == NULL) {
		r->caps_dropped++;
		return;
	}
	/* Keyword uppercased, the rest as sent. */
	n = text->len > cap ? cap : text->len;
	if ((buf = malloc(n + 1)) == NULL) {
		r->caps_dropped++;
		return;
	}
	memcpy(buf, text->p, n);
	for (size_t i = 0; i < cl.kw.len && i < n; i++)
		buf[i] = (char)a_upper((uint8_t)buf[i]);
	buf[n] = '\0';
	r->caps[r->ncaps].p = buf;
	r->caps[r->ncaps].len = n;
	r->ncaps++;
}

static void
start_tls(struct smtp_session *s, const struct smtp_pos *pos)
{
	s->rec.flags |= SF_TLS;
	(void)tr_note(s, pos, "[STARTTLS: encrypted from here]");
	s->auth_sasl = false;
	enter_state(s, SP_TLS);
	s->srv_tls = true;
	s->want_update = true;
}

static void
note_special_reply(struct smtp_session *s)
{
	const struct cur_reply *rp = &s->rp;
	struct sess_facts *f = &s->f;

	if (rp->code == 421 && f->r421_seq == NOSEQ)
		f->r421_seq = rp->first_seq;
	if (rp->code == 530 && f->r530_seq == NOSEQ)
		f->r530_seq = rp->first_seq;
	if (rp->enh.subject == 6 && rp->enh.detail == 7 && f->r567_seq == NOSEQ)
		f->r567_seq = rp->first_seq;
	if (rp->enh.subject == 6 && rp->enh.detail == 11 && f->r5611_seq == NOSEQ)
		f->r5611_seq = rp->first_seq;
	if ((rp->code == 552 || (rp->enh.subject == 3 && rp->enh.detail == 4)) &&
	    f->r552_seq == NOSEQ)
		f->r552_seq = rp->first_seq;
}

static void
reply_end(struct smtp_session *s, const struct span *text,
    const struct smtp_pos *pos)
{
	struct sess_record *r = &s->rec;
	struct sess_facts *f = &s->f;
	struct cur_reply *rp = &s->rp;
	const struct pending *pd = &rp->pend;
	size_t cap = s->ctx->lim.max_line;
	struct tx_record *t;
	struct tx_facts *tf;
	bool ok = rp->code >= 200 && rp->code < 300;

	rp->open = false;
	if (f->plain_after_tls)
		f->plain_replies++;
	r->replies++;
	r->last_reply_code = rp->code;
	r->last_enh = rp->enh;
	if (text != NULL)
		wstr_set(&r->last_reply_text, text->p, text->len, cap);
	note_special_reply(s);
	if (rp->greeting) {
		f->greeting_seq = rp->first_seq;
		f->greeting_last = rp->last_seq;
		enter_state(s, s->phase == SP_CONNECTED ? SP_GREETED : s->phase);
		s->want_update = true;
		return;
	}
	if (!rp->paired)
		return;
	t = tx_at(s, pd->tx);
	tf = t != NULL ? &s->txf[pd->tx] : NULL;
	switch (pd->cmd) {
	case CMD_EHLO:
	case CMD_HELO:
		if (ok) {
			if (s->helo_try.p != NULL)
				wstr_set(&r->helo, s->helo_try.p, s->helo_try.len, cap);
			if (s->helo_prev_tx >= 0)
				s->txf[s->helo_prev_tx].done = true;
		} else if (s->helo_prev_tx >= 0 && s->cur_tx < 0 &&
		    !s->txf[s->helo_prev_tx].done) {
			/* Refused: the open transaction goes on. */
			s->cur_tx = s->helo_prev_tx;
			enter_state(s, SP_MAIL);
		}
		s->helo_prev_tx = -1;
		break;
	default:
		break;
	}
	switch (pd->cmd) {
	case CMD_EHLO:
		if (ok) {
			/* After TLS, STARTTLS must no longer be offered
			 * (RFC 3207 section 4.2): not a loss. */
			uint32_t lost = r->capflags_ever & ~rp->capflags &
			    (CAPF(8BITMIME) | (f->plain_after_tls ? 0 : CAPF(STARTTLS)));

			if (f->ehlo_ok && lost != 0) {
				f->stripped_bits |= lost;
				f->stripped_seq = rp->first_seq;
			}
			f->ehlo_ok = f->hello_ok = true;
			r->ehlo = true;
			r->capflags = rp->capflags;
			r->capflags_ever |= rp->capflags;
			r->size_limit = rp->size_limit;
			f->cmds_since_ehlo = 0;
			f->rset_seq = NOSEQ;
			f->ehlo_seq = pd->seq;
			f->ehlo_reply_seq = rp->first_seq;
			f->ehlo_reply_last = rp->last_seq;
		} else {
			f->ehlo_rej_seq = pd->seq;
			f->ehlo_rej_reply_seq = rp->first_seq;
		}
		s->want_update = true;
		break;
	case CMD_HELO:
		if (ok) {
			f->hello_ok = true;
			f->ehlo_ok = false;
			if (f->ehlo_rej_seq != NOSEQ)
				r->helo_fallback = true;
			f->helo_seq = pd->seq;
			f->helo_reply_seq = rp->first_seq;
			r->capflags = 0;
			r->size_limit = 0;
			f->cmds_since_ehlo = 0;
			f->rset_seq = NOSEQ;
		}
		s->want_update = true;
		break;
	case CMD_MAIL:
		if (t == NULL)
			break;
		t->mail_reply_code = rp->code;
		t->mail_enh = rp->enh;
		if (text != NULL)
			wstr_set(&t->mail_reply_text, text->p, text->len, cap);
		tf->mail_reply_seq = rp->first_seq;
		tf->mail_reply_last = rp->last_seq;
		if (!ok) {
			tf->done = true;
			s->want_update = true;
			if (pd->prev_tx >= 0 && !s->txf[pd->prev_tx].done &&
			    s->cur_tx == pd->tx) {
				/* Nested MAIL refused: the open one goes on. */
				tf->nested = true;
				s->cur_tx = pd->prev_tx;
			}
		} else if (pd->prev_tx >= 0) {
			s->txf[pd->prev_tx].done = true;
		}
		break;
	case CMD_RCPT:
		if (t == NULL || pd->rcpt < 0 || (size_t)pd->rcpt >= t->nrcpts)
			break;
		t->rcpts[pd->rcpt].reply_code = rp->code;
		t->rcpts[pd->rcpt].enh = rp->enh;
		if (text != NULL)
			wstr_set(&t->rcpts[pd->rcpt].reply_text, text->p, text->len, cap);
		tf->rf[pd->rcpt].reply_seq = rp->first_seq;
		tf->rf[pd->rcpt].reply_last = rp->last_seq;
		break;
	case CMD_DATA:
		if (t == NULL)
			break;
		t->data_reply_code = rp->code;
		tf->data_reply_seq = rp->first_seq;
		tf->data_reply_last = rp->last_seq;
		if (rp->code == 354) {
			/* Held back as refused, accepted anyway: content follows. */
			if (s->phase != SP_CONTENT && s->phase != SP_CONTENT_RESYNC &&
			    s->phase != SP_TLS && s->cur_tx == pd->tx)
				start_content(s, pd->tx);
			break;
		}
		tf->done = true;
		if (t->reply_code == 0) {
			t->reply_code = rp->code;
			t->enh = rp->enh;
			if (text != NULL)
				wstr_set(&t->reply_text, text->p, text->len, cap);
			t->end_ts_us = pos->ts_us;
			t->end_pkt = pos->pkt;
		}
		if ((s->phase == SP_CONTENT || s->phase == SP_CONTENT_RESYNC) &&
		    s->body_tx == pd->tx) {
			if (s->body.off > 0) {
				tf->content_before_354 = true;
				t->content_seen = true;
				t->data_bytes = s->body.off;
				f->content_early_seq = tr_note(s, pos,
				    "[content sent before DATA was accepted: %llu bytes]",
				    (unsigned long long)s->body.off);
			}
			enter_state(s, SP_MAIL);
		}
		s->want_update = true;
		break;
	case CMD_BDAT:
		if (t == NULL)
			break;
		if (pd->bdat_last || !ok) {
			t->reply_code = rp->code;
			t->enh = rp->enh;
			if (text != NULL)
				wstr_set(&t->reply_text, text->p, text->len, cap);
			t->end_ts_us = pos->ts_us;
			t->end_pkt = pos->pkt;
			tf->final_seq = rp->first_seq;
			tf->final_last = rp->last_seq;
			tf->done = true;
			s->want_update = true;
		}
		break;
	case CMD_EOD:
		if (t == NULL)
			break;
		t->reply_code = rp->code;
		t->enh = rp->enh;
		if (text != NULL)
			wstr_set(&t->reply_text, text->p, text->len, cap);
		t->end_ts_us = pos->ts_us;
		t->end_pkt = pos->pkt;
		tf->final_seq = rp->first_seq;
		tf->final_last = rp->last_seq;
		tf->done = true;
		s->want_update = true;
		break;
	case CMD_QUIT:
		f->quit_reply_seq = rp->first_seq;
		break;
	case CMD_STARTTLS:
		r->starttls_reply_code = rp->code;
		f->starttls_reply_seq = rp->first_seq;
		f->starttls_pending = false;
		if (rp->code == 220)
			start_tls(s, pos);
		break;
	case CMD_AUTH:
		if (rp->code == 334)
			return;		/* the exchange goes on */
		r->auth_reply_code = rp->code;
		f->auth_reply_seq = rp->first_seq;
		s->auth_sasl = false;
		break;
	default:
		break;
	}
	q_pop(s);
}

static void
server_line(struct smtp_session *s, const struct smtp_pos *pos)
{
	struct linebuf *lb = &s->lb[XDIR_SERVER];
	struct reply_line rl;
	uint32_t seq;

	s->saw_line[XDIR_SERVER] = true;
	reply_parse(lb->buf, lb->len, &rl);
	if (s->resync[XDIR_SERVER]) {
		if (!rl.valid) {
			s->skipped[XDIR_SERVER] += line_octets(lb);
			return;
		}
		s->resync[XDIR_SERVER] = false;
		if (s->skipped[XDIR_SERVER] > 0)
			(void)tr_note(s, pos, "[server: %llu bytes skipped to resynchronise]",
			    (unsigned long long)s->skipped[XDIR_SERVER]);
		s->skipped[XDIR_SERVER] = 0;
	}
	seq = tr_add(s, XDIR_SERVER,
	    (uint8_t)((s->rp.open ? XL_CONT : 0) | ((lb->flags & LN_CUT) ? XL_TRUNCATED : 0)),
	    lb->buf, lb->len, pos);
	line_anomalies(s, lb, false, seq);
	if (!rl.valid) {
		s->rec.anomalies[SAN_BAD_REPLY]++;
		if (rl.shaped && s->f.bad_code_seq == NOSEQ)
			s->f.bad_code_seq = seq;
		return;
	}
	if (!s->rp.open) {
		reply_begin(s, &rl, seq, pos);
	} else {
		s->rp.nlines++;
		s->rp.last_seq = seq;
		if (rl.code != s->rp.code && !s->rp.code_changed) {
			s->rp.code_changed = true;
			s->rec.anomalies[SAN_REPLY_CODE_CHANGE]++;
			if (s->f.code_change_seq == NOSEQ)
				s->f.code_change_seq = seq;
		}
		if (s->rp.ehlo_caps)
			add_cap(s, &rl.text, seq);
	}
	if (s->rp.enh.cls == 0)
		s->rp.enh = rl.enh;
	if (rl.more)
		s->rp.open = true;
	else
		reply_end(s, &rl.text, pos);
}

/* ---------------------------------------------------------------------
 * Feeding
 * ------------------------------------------------------------------ */
static void
tls_client_bytes(struct smtp_session *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && s->f.tls_c_bytes + i < 2; i++)
		s->f.tls_c_first[s->f.tls_c_bytes + i] = p[i];
	s->f.tls_c_bytes += n;
	s->tls_client_seen = true;
}

static void
tls_server_bytes(struct smtp_session *s, size_t n)
{
	if (!s->tls_client_seen)
		s->f.inj_server_bytes += n;
	else
		s->f.tls_s_bytes += n;
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
	s->phase = SP_HELLO;	/* past enter_state()'s "once encrypted" */
	line_reset(&s->lb[XDIR_CLIENT]);
	line_reset(&s->lb[XDIR_SERVER]);
}

static void
client_feed(struct smtp_session *s, const uint8_t *p, size_t n,
    const struct smtp_pos *pos)
{
	while (n > 0) {
		size_t k;
		bool done;

		switch (s->phase) {
		case SP_TLS:
			/* A TLS record starts 0x16 (SSLv2: 0x80); a letter
			 * starts a command in cleartext, so one octet decides. */
			if (s->f.tls_c_bytes == 0 && !s->f.plain_after_tls &&
			    ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z')) {
				plain_after_starttls(s, pos);
				continue;
			}
			tls_client_bytes(s, p, n);
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
	while (n > 0) {
		size_t k;
		bool done;

		if (s->srv_tls) {
			tls_server_bytes(s, n);
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
	s->rec.flags |= SF_GAP;
	s->rec.anomalies[SAN_GAP]++;
	s->f.gap_bytes[dir] += len;
	if (dir == XDIR_CLIENT)
		s->f.gap_client = true;
	else {
		s->f.gap_server = true;
		if (!s->f.greeting_seen)
			s->f.greeting_lost = true;
	}
	{
		uint32_t seq = tr_note(s, pos, "[gap: %llu bytes missing from the %s]",
		    (unsigned long long)len, dir == XDIR_CLIENT ? "client" : "server");

		if (s->f.gap_seq == NOSEQ)
			s->f.gap_seq = seq;
	}
	if (dir == XDIR_SERVER) {
		if (s->srv_tls) {
			tls_server_bytes(s, (size_t)(len > SIZE_MAX ? SIZE_MAX : len));
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
		return;
	case SP_CONTENT:
	case SP_CONTENT_RESYNC:
		s->body.off += len;
		if (tx_at(s, s->body_tx) != NULL)
			s->txf[s->body_tx].content_gap = true;
		line_reset(&s->lb[XDIR_CLIENT]);
		enter_state(s, SP_CONTENT_RESYNC);
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
	struct sess_facts *f;

	if (ctx == NULL || peers == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	l = &ctx->lim;
	s->ctx = ctx;
	s->tr.cap_head = l->max_lines / 2;
	s->tr.cap_ring = l->max_lines - s->tr.cap_head;
	s->rcap_lines = l->max_lines;
	if (line_init(&s->lb[0], l->max_line) != 0 ||
	    line_init(&s->lb[1], l->max_line) != 0 ||
	    (s->tr.head = calloc(s->tr.cap_head, sizeof(*s->tr.head))) == NULL ||
	    (s->tr.ring = calloc(s->tr.cap_ring, sizeof(*s->tr.ring))) == NULL ||
	    (s->rec.lines = calloc(s->rcap_lines, sizeof(*s->rec.lines))) == NULL) {
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

	f = &s->f;
	f->greeting_seq = f->greeting_last = NOSEQ;
	f->ehlo_seq = f->ehlo_reply_seq = f->ehlo_reply_last = NOSEQ;
	f->ehlo_rej_seq = f->ehlo_rej_reply_seq = NOSEQ;
	f->helo_seq = f->helo_reply_seq = NOSEQ;
	f->rset_seq = f->quit_seq = f->quit_reply_seq = f->early_seq = NOSEQ;
	f->starttls_seq = f->starttls_reply_seq = f->inj_client_seq = NOSEQ;
	f->masked_seq = f->stripped_seq = NOSEQ;
	f->pipe_unoffered_seq = f->pipe_term_seq = NOSEQ;
	f->unsolicited_seq = f->code_change_seq = f->bad_code_seq = NOSEQ;
	f->long_cmd_seq = f->long_reply_seq = f->bare_cmd_seq = NOSEQ;
	f->auth_seq = f->auth_reply_seq = NOSEQ;
	f->r421_seq = f->r530_seq = f->r567_seq = f->r5611_seq = f->r552_seq = NOSEQ;
	f->gap_seq = f->cut_seq = f->content_early_seq = NOSEQ;

	if (peers->mid_stream) {
		struct smtp_pos pos = { peers->ts_us, peers->pkt };

		s->rec.flags |= SF_MID_STREAM;
		s->rec.anomalies[SAN_MID_STREAM]++;
		s->resync[XDIR_CLIENT] = s->resync[XDIR_SERVER] = true;
		(void)tr_note(s, &pos, "[joined mid-stream: decoding from the first recognisable line]");
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
	if (r->flags & SF_TLS)
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
	const struct transcript *t = &s->tr;
	size_t n = 0;

	for (size_t i = 0; i < t->nhead && n < s->rcap_lines; i++)
		r->lines[n++] = t->head[i].x;
	for (size_t i = 0; i < t->nring && n < s->rcap_lines; i++)
		r->lines[n++] = t->ring[(t->ring_start + i) % t->cap_ring].x;
	r->nlines = n;
	r->lines_dropped = t->dropped;
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

static void
session_free(struct smtp_session *s)
{
	for (size_t i = 0; i < s->rec.ntx && s->txf != NULL; i++)
		free(s->txf[i].rf);
	free(s->txf);
	free(s->q);
	line_free(&s->lb[0]);
	line_free(&s->lb[1]);
	tr_free(&s->tr);
	free(s->helo_try.p);
	rec_free(&s->rec);
	free(s);
}

/* A line without its terminator when the session ended: shown, marked
 * truncated, never acted upon (the peer never saw it complete either). */
static void
flush_partial(struct smtp_session *s, enum xdir d, const struct smtp_pos *pos)
{
	struct linebuf *lb = &s->lb[d];

	if (lb->total == 0 || s->resync[d])
		return;
	if (d == XDIR_CLIENT && (s->phase == SP_CONTENT || s->phase == SP_CHUNK ||
	    s->phase == SP_TLS))
		return;
	if (d == XDIR_SERVER && s->srv_tls)
		return;
	if (d == XDIR_CLIENT && s->auth_sasl)
		(void)tr_add(s, d, XL_MASKED | XL_TRUNCATED, MASK, strlen(MASK), pos);
	else
		(void)tr_add(s, d, XL_TRUNCATED, lb->buf,
		    lb->total < lb->len ? (size_t)lb->total : lb->len, pos);
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
	struct smtp_pos zero = { 0, 0 };
	uint64_t bc, bs;

	if (s == NULL)
		return;
	if (pos == NULL)
		pos = &zero;
	r = &s->rec;
	f = &s->f;
	k = &s->ctx->sink;
	flush_partial(s, XDIR_CLIENT, pos);
	flush_partial(s, XDIR_SERVER, pos);
	if (s->phase == SP_CONTENT || s->phase == SP_CONTENT_RESYNC) {
		f->cut_in_content = true;
		content_end(s, pos, false, 0);
	} else if (s->phase == SP_CHUNK) {
		f->cut_in_content = true;
		if (tx_at(s, s->body_tx) != NULL) {
			body_finish(&s->body);
			content_facts(s, &r->tx[s->body_tx], &s->txf[s->body_tx]);
			note_message(s, pos, &r->tx[s->body_tx], true);
			s->txf[s->body_tx].end_seq = f->cut_seq = s->tr.next_seq - 1;
		}
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
		r->anomalies[SAN_ONE_SIDED]++;
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
	session_free(s);
}
