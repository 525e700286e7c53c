/*
 * model.c - the UI's own bounded store of sessions and incidents, and the
 * only lock in the program.
 *
 * The capture thread posts session records (ui_post_session); this file
 * copies what the UI shows into rows keyed by the session uid (updated in
 * place), keeps a bounded detail copy for the session view, counts incidents
 * by type (record.h's tally, each session's types once) and by (type,
 * client, server) group, and holds the replay pacing state.  The UI thread reads it through a filtered, sorted index that it
 * rebuilds when the model's generation changes.
 *
 * Threading decision (STYLE.md 4.4).  Two threads when the UI is on:
 * capture+decode+exports on one, the terminal on the other.  ncurses writes
 * to a terminal that may block (a slow ssh link, a paused tmux, a terminal
 * scrolled back); a blocked write must never stop pcap_dispatch(), or the
 * kernel drops packets.  One poll() loop over the capture fd and the
 * terminal would be simpler but lets a blocked terminal write stall the
 * capture.  So the capture thread only ever takes the mutex below for
 * O(1)-ish work (a tree lookup, a copy of a row-sized struct, pointer swaps;
 * the escaping and the detail copy are built before the lock is taken), and
 * the UI thread takes it only to copy at most a screen's worth of rows, to
 * take a reference on a detail, or to scan the rows in slices of
 * IX_SLICE while rebuilding its index; it never holds it while calling
 * ncurses or handling a key.
 *
 * Caps (each counted when hit):
 *   rows      max_sessions (default 500000): at the cap the oldest finished
 *             session is dropped first, then the oldest open one.  A row is
 *             about 450 bytes, so the default cap is about 225 MB at most
 *             (measured: 263 MB resident with 500000 rows and 7000 details).
 *             Posting costs about 12 us on the capture thread (mostly
 *             vis(3)); rebuilding the index of 500000 rows about 70 ms on
 *             the UI thread, with the lock taken for 4096 rows at a time.
 *   details   the session view's copy (transcript, capabilities, incidents)
 *             is kept for the UI_DETAIL_RECENT most recently updated
 *             sessions without incidents and the UI_DETAIL_FLAGGED most
 *             recent ones with incidents, all within UI_DETAIL_BYTES; older
 *             ones show "details no longer kept".  A detail keeps at most
 *             UI_DETAIL_LINES transcript lines (first and last halves) of at
 *             most UI_DETAIL_LINE_MAX escaped bytes.
 *   incidents UI_MAX_GROUPS groups (types need no cap: a tally slot each).
 *
 * Deliberately not here: ncurses, drawing, keys; and any reference to the
 * decoder's records after ui_post_session returns (they are copied).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <time.h>

#include "decode/escape.h"
#include "ui/ui_int.h"

/* glibc's <sys/cdefs.h> lacks the BSD __unused that RB_GENERATE_STATIC uses. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

#define CHUNK_ROWS	4096	/* rows per pool chunk: rows never move */
#define IX_SLICE	4096	/* rows scanned per lock hold when indexing */
#define BIG_MODEL	20000	/* above this, index rebuilds are throttled */
#define REBUILD_MS	500

struct row {
	RB_ENTRY(row) by_uid;
	TAILQ_ENTRY(row) age;		/* openq, doneq or freeq */
	TAILQ_ENTRY(row) dlink;		/* drecent or dflagged */
	uint32_t slot, gen;		/* gen changes when the row is reused */
	bool live;
	uint64_t version;		/* changes on every post */
	uint64_t counted;		/* INC_BIT() of the types counted */
	struct ui_detail *detail;
	struct ui_rowdata d;
};
TAILQ_HEAD(rowq, row);
RB_HEAD(uidtree, row);

struct group {
	RB_ENTRY(group) e;
	/* key: the cause */
	unsigned type;			/* enum inc_type */
	unsigned side;			/* enum inc_side */
	int family;
	uint8_t ip[16];
	uint16_t port;
	/* the peers seen, for counting them */
	uint8_t peers[UI_GROUP_PEERS][16];
	struct ui_group g;
};
RB_HEAD(grouptree, group);

struct ixent {
	uint32_t slot, gen;
	uint64_t key, seq;
};

struct model {
	pthread_mutex_t mtx;
	pthread_cond_t cond;		/* pacing: pause, speed change, quit */

	/* Rows (lock). */
	size_t max_rows;
	struct row **chunks;
	size_t nchunks;
	uint32_t nslots;
	struct rowq freeq, openq, doneq;
	struct uidtree uids;
	uint64_t nlive, nopen, posted, evicted, seq, gen, dropped_nomem;

	/* Details (lock). */
	struct rowq drecent, dflagged;
	size_t ndrecent, ndflagged, dbytes;
	uint64_t ddropped;

	/* Incidents (lock). */
	struct inc_tally tally;		/* each session's types, counted once */
	struct grouptree groups;
	size_t ngroups;
	uint64_t groups_dropped;

	/* Stats (lock). */
	struct ui_stats stats;
	bool have_stats;

	/* Pacing (lock). */
	bool paused, quit, based;
	double speed;
	uint64_t base_ts;
	struct timespec base_wall;

	/* Index: UI thread only, no lock. */
	struct ui_view view;
	char needle[UI_FILTER_MAX];	/* view.text, lower case */
	bool view_changed;
	struct ixent *ix;
	size_t nix, ixcap;
	uint64_t ix_gen, ix_ms;
	bool ix_built;
};

static int
uid_cmp(const struct row *a, const struct row *b)
{
	return strcmp(a->d.uid, b->d.uid);
}
RB_GENERATE_STATIC(uidtree, row, by_uid, uid_cmp)

static int
group_cmp(const struct group *a, const struct group *b)
{
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->side != b->side)
		return a->side < b->side ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->ip, b->ip, sizeof(a->ip))) != 0)
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}
RB_GENERATE_STATIC(grouptree, group, e, group_cmp)

/* ------------------------------------------------------------------------
 * Life cycle
 * --------------------------------------------------------------------- */

size_t
model_row_bytes(void)
{
	/* The row, its tree links, and an index slot in each sort order. */
	return sizeof(struct row) + 4 * sizeof(void *);
}

struct model *
model_new(size_t max_rows, double speed, char *err, size_t errlen)
{
	struct model *m;
	pthread_condattr_t ca;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "ui model: %s", strerror(errno));
		return NULL;
	}
	if (max_rows == 0)
		max_rows = UI_DEFAULT_MAX_SESSIONS;
	if (max_rows > UINT32_MAX / 2)
		max_rows = UINT32_MAX / 2;
	m->max_rows = max_rows;
	m->speed = speed > 0 ? speed : 0;
	TAILQ_INIT(&m->freeq);
	TAILQ_INIT(&m->openq);
	TAILQ_INIT(&m->doneq);
	TAILQ_INIT(&m->drecent);
	TAILQ_INIT(&m->dflagged);
	RB_INIT(&m->uids);
	RB_INIT(&m->groups);
	m->view.sort = SORT_TIME;
	m->view.descending = true;
	m->view_changed = true;
	if (pthread_mutex_init(&m->mtx, NULL) != 0) {
		snprintf(err, errlen, "ui model: cannot create the lock");
		free(m);
		return NULL;
	}
	/* The pacing waits use the monotonic clock: a wall-clock step must
	 * not stall or rush a replay. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&m->cond, &ca) != 0) {
		snprintf(err, errlen, "ui model: cannot create the condition");
		pthread_mutex_destroy(&m->mtx);
		free(m);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	return m;
}

void
model_free(struct model *m)
{
	struct group *g, *gn;
	size_t c, i;

	if (m == NULL)
		return;
	for (c = 0; c < m->nchunks; c++) {
		for (i = 0; i < CHUNK_ROWS; i++)
			free(m->chunks[c][i].detail);
		free(m->chunks[c]);
	}
	free(m->chunks);
	RB_FOREACH_SAFE(g, grouptree, &m->groups, gn) {
		RB_REMOVE(grouptree, &m->groups, g);
		free(g);
	}
	free(m->ix);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mtx);
	free(m);
}

static struct row *
slot_row(const struct model *m, uint32_t slot)
{
	return &m->chunks[slot / CHUNK_ROWS][slot % CHUNK_ROWS];
}

/* ------------------------------------------------------------------------
 * Copying a record (capture thread, before the lock)
 * --------------------------------------------------------------------- */

static void
esc_wstr(char *dst, size_t size, const struct wstr *w)
{
	if (w->p == NULL)
		dst[0] = '\0';
	else
		ui_escape(dst, size, w->p, w->len);
}

static void
fmt_addr(char *dst, size_t size, int family, const uint8_t ip[16])
{
	if ((family != AF_INET && family != AF_INET6) ||
	    inet_ntop(family, ip, dst, (socklen_t)size) == NULL)
		strlcpy(dst, "?", size);
}

/* A numeric sort key: addresses in order, IPv4 before IPv6. */
static uint64_t
addr_key(int family, const uint8_t ip[16], uint16_t port)
{
	uint64_t k = 0;
	int i;

	if (family == AF_INET) {
		for (i = 0; i < 4; i++)
			k = k << 8 | ip[i];
		return 1ull << 56 | k << 16 | port;
	}
	for (i = 0; i < 7; i++)
		k = k << 8 | ip[i];
	return 2ull << 56 | k;
}

/* Incident type ids are ours (INCIDENTS.md), but come through a record:
 * keep them to a safe alphabet all the same. */
static void
type_name(char *dst, size_t size, const char *t)
{
	size_t i;

	if (t == NULL)
		t = "?";
	for (i = 0; t[i] != '\0' && i + 1 < size; i++) {
		unsigned char c = (unsigned char)t[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		dst[i] = ok ? (char)c : '?';
	}
	dst[i] = '\0';
}

static void
row_from_record(struct ui_rowdata *d, const struct sess_record *rec, bool ended)
{
	const struct wstr *text;
	char host[UI_HELO_MAX];
	size_t i, n;
	int code;

	memset(d, 0, sizeof(*d));
	type_name(d->uid, sizeof(d->uid), rec->uid);
	d->ts_start_us = rec->ts_start_us;
	d->ts_end_us = rec->ts_end_us;
	fmt_addr(d->client, sizeof(d->client), rec->family, rec->client_ip);
	fmt_addr(d->server, sizeof(d->server), rec->family, rec->server_ip);
	d->client_port = rec->client_port;
	d->server_port = rec->server_port;
	d->client_key = addr_key(rec->family, rec->client_ip, rec->client_port);
	d->server_key = addr_key(rec->family, rec->server_ip, rec->server_port);
	esc_wstr(d->helo, sizeof(d->helo), &rec->helo);
	d->last_reply_code = rec->last_reply_code;
	/* The Reply column: the refusal, not the 221 to QUIT. */
	if ((code = rec_decisive_reply(rec, &text)) > 0) {
		n = (size_t)snprintf(d->reply, sizeof(d->reply), "%03d", code % 1000);
		if (text != NULL && text->len > 0 && n + 2 < sizeof(d->reply)) {
			d->reply[n++] = ' ';
			ui_escape(d->reply + n, sizeof(d->reply) - n, text->p, text->len);
		}
	}
	rec_banner_host(rec, host, sizeof(host));
	ui_escape(d->server_name, sizeof(d->server_name), host, strlen(host));
	if (rec->ntx > 0 && rec->tx != NULL) {
		esc_wstr(d->mail_from, sizeof(d->mail_from), &rec->tx[0].mail_from);
		if (rec->tx[0].nrcpts > 0 && rec->tx[0].rcpts != NULL)
			esc_wstr(d->rcpt, sizeof(d->rcpt), &rec->tx[0].rcpts[0].addr);
	}
	d->state = (uint8_t)(rec->state < SST_MAX ? rec->state : SST_OPEN);
	d->end = (uint8_t)(rec->end < SEND_MAX ? rec->end : SEND_OPEN);
	d->ended = ended || rec->end != SEND_OPEN;
	d->nmsgs = (uint32_t)(rec->ntx + rec->tx_dropped);
	d->severity = -1;
	n = rec->inc != NULL ? rec->ninc : 0;
	d->ninc = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
	for (i = 0; i < n; i++)
		if ((unsigned)rec->inc[i].kind < INC_MAX)
			d->inc_mask |= INC_BIT(rec->inc[i].kind);
	for (i = 0; i < n; i++) {
		const struct incident *in = &rec->inc[i];

		if (inc_type_family(in->kind) == FAM_8BIT)
			d->eightbit = true;
		if ((int)in->severity > d->severity) {
			d->severity = (int8_t)in->severity;
			strlcpy(d->inc, inc_type_name(in->kind), sizeof(d->inc));
		}
	}
}

/*
 * The detail block is built in two passes over the same code: the first
 * escapes every string into a scratch arena and measures (every pointer
 * NULL, writes go to dummies), the second fills one malloc'd block, taking
 * the strings from the arena in the same order.  One block means one
 * free(), which the capture thread can afford under the lock.
 */
struct dbuild {
	char *base;		/* NULL: first pass */
	size_t off;
	char *arena;		/* escaped strings, NUL-separated, in call order */
	size_t alen, acap, ard;
	char *work;		/* ui_escape_work's buffer */
	size_t wcap;
	bool nomem;
};

static bool
db_grow(char **p, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 1024;
	char *np;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if ((np = realloc(*p, n)) == NULL)
		return false;
	*p = np;
	*cap = n;
	return true;
}

static void *
db_alloc(struct dbuild *b, size_t n, size_t align)
{
	void *p;

	b->off = (b->off + align - 1) / align * align;
	p = b->base != NULL ? b->base + b->off : NULL;
	b->off += n;
	return p;
}

static const char *
db_str(struct dbuild *b, const void *src, size_t len, size_t cap)
{
	size_t n, elen;
	char *p;

	if (src == NULL)
		len = 0;
	if (b->base == NULL) {
		n = len < cap - 1 ? len : cap - 1;
		if (b->nomem || !db_grow(&b->work, &b->wcap, n * 4 + 1) ||
		    !db_grow(&b->arena, &b->acap, b->alen + cap)) {
			b->nomem = true;
			return NULL;
		}
		elen = ui_escape_work(b->arena + b->alen, cap, src, len, b->work);
		b->alen += elen + 1;
		(void)db_alloc(b, elen + 1, 1);
		return NULL;
	}
	elen = strlen(b->arena + b->ard);
	p = db_alloc(b, elen + 1, 1);
	memcpy(p, b->arena + b->ard, elen + 1);
	b->ard += elen + 1;
	return p;
}

static const char *
db_wstr(struct dbuild *b, const struct wstr *w, size_t cap)
{
	return db_str(b, w->p, w->p != NULL ? w->len : 0, cap);
}

static void
db_line(struct dbuild *b, struct ui_dline *l, const struct xline *x)
{
	l->ts_us = x->ts_us;
	l->pkt = x->pkt;
	l->dir = (uint8_t)x->dir;
	l->flags = x->flags;
	l->text = db_wstr(b, &x->text, UI_DETAIL_LINE_MAX);
}

#define DB_ARRAY(b, type, n) ((type *)db_alloc((b), sizeof(type) * (n), _Alignof(type)))

static struct ui_detail *
db_fill(struct dbuild *b, const struct sess_record *rec, const struct ui_rowdata *rd)
{
	struct ui_detail dummy, *d, *blk;
	struct ui_dline dl, *lines;
	struct ui_dtx dt, *txs;
	struct ui_dinc di, *incs;
	const char *dc, **caps;
	size_t i, j, n, keep, nl;

	blk = DB_ARRAY(b, struct ui_detail, 1);
	d = blk != NULL ? blk : &dummy;
	memset(d, 0, sizeof(*d));
	strlcpy(d->uid, rd->uid, sizeof(d->uid));
	strlcpy(d->client, rd->client, sizeof(d->client));
	strlcpy(d->server, rd->server, sizeof(d->server));
	d->client_port = rec->client_port;
	d->server_port = rec->server_port;
	d->ts_start_us = rec->ts_start_us;
	d->ts_end_us = rec->ts_end_us;
	memcpy(d->packets, rec->packets, sizeof(d->packets));
	memcpy(d->bytes_dir, rec->bytes, sizeof(d->bytes_dir));
	d->flags = rec->flags;
	d->state = rd->state;
	d->end = rd->end;
	d->banner_code = rec->banner_code;
	d->banner = db_wstr(b, &rec->banner, 512);
	d->helo = db_wstr(b, &rec->helo, 512);
	d->auth_mechs = db_wstr(b, &rec->auth_mechs, 256);
	d->auth_used = db_wstr(b, &rec->auth_used, 64);
	d->last_reply = db_str(b, rd->reply, strlen(rd->reply), UI_REPLY_MAX * 4);
	d->ehlo = rec->ehlo;
	d->helo_fallback = rec->helo_fallback;
	d->starttls_cmd = rec->starttls_cmd;
	d->starttls_reply_code = rec->starttls_reply_code;
	d->tls_version = rec->tls.server_hello ? rec->tls.version : 0;
	d->tls_suite = rec->tls.suite;
	d->tls_dec = (uint8_t)rec->tls.decryption;
	d->auth_reply_code = rec->auth_reply_code;
	d->capflags = rec->capflags;
	d->capflags_ever = rec->capflags_ever;
	d->size_limit = rec->size_limit;
	memcpy(d->anomalies, rec->anomalies, sizeof(d->anomalies));

	n = rec->caps != NULL ? rec->ncaps : 0;
	caps = DB_ARRAY(b, const char *, n);
	for (i = 0; i < n; i++) {
		dc = db_wstr(b, &rec->caps[i], 256);
		if (caps != NULL)
			caps[i] = dc;
	}
	d->caps = caps;
	d->ncaps = n;
	d->caps_dropped = rec->caps_dropped;

	n = rec->tx != NULL ? rec->ntx : 0;
	txs = DB_ARRAY(b, struct ui_dtx, n);
	for (i = 0; i < n; i++) {
		const struct tx_record *tx = &rec->tx[i];
		struct ui_dtx *t = txs != NULL ? &txs[i] : &dt;

		memset(t, 0, sizeof(*t));
		t->mail_from = db_wstr(b, &tx->mail_from, 256);
		t->first_rcpt = "";
		if (tx->rcpts != NULL && tx->nrcpts > 0)
			t->first_rcpt = db_wstr(b, &tx->rcpts[0].addr, 256);
		t->reply = db_wstr(b, &tx->reply_text, 256);
		t->queue_id = db_wstr(b, &tx->queue_id, 128);
		t->message_id = db_wstr(b, &tx->message_id, 256);
		t->subject = db_wstr(b, &tx->subject, 256);
		t->nrcpts = (uint32_t)(tx->nrcpts + tx->rcpts_dropped);
		for (j = 0; tx->rcpts != NULL && j < tx->nrcpts; j++)
			if (tx->rcpts[j].reply_code >= 200 && tx->rcpts[j].reply_code < 300)
				t->rcpts_ok++;
		t->body = (uint8_t)tx->body;
		t->smtputf8 = tx->smtputf8;
		t->data_cmd = tx->data_cmd;
		t->bdat = tx->bdat;
		t->content_complete = tx->content_complete;
		t->mail_reply_code = tx->mail_reply_code;
		t->reply_code = tx->reply_code;
		t->data_bytes = tx->data_bytes;
		t->eightbit_bytes = tx->eightbit_bytes;
	}
	d->tx = txs;
	d->ntx = n;
	d->tx_dropped = rec->tx_dropped;

	/* Transcript: the first and the last halves beyond our cap. */
	n = rec->lines != NULL ? rec->nlines : 0;
	keep = n > UI_DETAIL_LINES ? UI_DETAIL_LINES : n;
	lines = DB_ARRAY(b, struct ui_dline, keep);
	for (i = 0, nl = 0; i < n; i++) {
		if (n > keep && i >= keep / 2 && i < n - (keep - keep / 2))
			continue;
		db_line(b, lines != NULL ? &lines[nl] : &dl, &rec->lines[i]);
		nl++;
	}
	d->lines = lines;
	d->nlines = keep;
	d->lines_dropped = rec->lines_dropped + (n - keep);

	n = rec->inc != NULL ? rec->ninc : 0;
	incs = DB_ARRAY(b, struct ui_dinc, n);
	for (i = 0; i < n; i++) {
		const struct incident *in = &rec->inc[i];
		struct ui_dinc *c = incs != NULL ? &incs[i] : &di;
		const char *t = inc_type_name(in->kind);
		size_t ne = in->nevidence < INC_MAX_EVIDENCE ? in->nevidence : INC_MAX_EVIDENCE;

		memset(c, 0, sizeof(*c));
		c->type = db_str(b, t, strlen(t), UI_TYPE_MAX);
		c->family = (uint8_t)inc_type_family(in->kind);
		c->severity = (uint8_t)in->severity;
		c->confidence = (uint8_t)in->confidence;
		c->summary = db_str(b, in->summary, in->summary ? strlen(in->summary) : 0,
		    UI_DETAIL_TEXT_MAX);
		c->diagnosis = db_str(b, in->diagnosis,
		    in->diagnosis ? strlen(in->diagnosis) : 0, UI_DETAIL_TEXT_MAX);
		c->fix = db_str(b, in->fix, in->fix ? strlen(in->fix) : 0,
		    UI_DETAIL_TEXT_MAX);
		c->rfc = db_str(b, in->rfc, in->rfc ? strlen(in->rfc) : 0, 256);
		c->visibility = in->visibility == NULL ? NULL :
		    db_str(b, in->visibility, strlen(in->visibility), UI_DETAIL_TEXT_MAX);
		c->evidence = DB_ARRAY(b, struct ui_dline, ne);
		c->nevidence = ne;
		for (j = 0; j < ne; j++)
			db_line(b, c->evidence != NULL ? &c->evidence[j] : &dl,
			    &in->evidence[j]);
	}
	d->inc = incs;
	d->ninc = n;
	d->flagged = n > 0;
	return blk;
}

static struct ui_detail *
detail_build(const struct sess_record *rec, const struct ui_rowdata *rd)
{
	struct dbuild b;
	struct ui_detail *d = NULL;
	size_t size;

	memset(&b, 0, sizeof(b));
	(void)db_fill(&b, rec, rd);
	size = b.off;
	if (!b.nomem && (b.base = malloc(size)) != NULL) {
		b.off = 0;
		d = db_fill(&b, rec, rd);
		d->bytes = size;
		d->refs = 0;
		d->attached = true;
	}
	free(b.arena);
	free(b.work);
	return d;
}

/* ------------------------------------------------------------------------
 * Posting (capture thread): the lock is held for O(1)-ish work only
 * --------------------------------------------------------------------- */

static void
detail_detach(struct model *m, struct row *r)
{
	struct ui_detail *d = r->detail;

	if (d == NULL)
		return;
	if (d->flagged) {
		TAILQ_REMOVE(&m->dflagged, r, dlink);
		m->ndflagged--;
	} else {
		TAILQ_REMOVE(&m->drecent, r, dlink);
		m->ndrecent--;
	}
	m->dbytes -= d->bytes;
	r->detail = NULL;
	d->attached = false;
	if (d->refs == 0)
		free(d);
}

static void
detail_attach(struct model *m, struct row *r, struct ui_detail *d)
{
	struct row *old;

	detail_detach(m, r);
	if (d == NULL)
		return;
	r->detail = d;
	m->dbytes += d->bytes;
	if (d->flagged) {
		TAILQ_INSERT_TAIL(&m->dflagged, r, dlink);
		m->ndflagged++;
	} else {
		TAILQ_INSERT_TAIL(&m->drecent, r, dlink);
		m->ndrecent++;
	}
	/* Oldest first: unflagged details go before flagged ones. */
	while (m->ndrecent > UI_DETAIL_RECENT ||
	    (m->dbytes > UI_DETAIL_BYTES && m->ndrecent > 1)) {
		old = TAILQ_FIRST(&m->drecent);
		if (old == r)
			break;
		detail_detach(m, old);
		m->ddropped++;
	}
	while (m->ndflagged > UI_DETAIL_FLAGGED ||
	    (m->dbytes > UI_DETAIL_BYTES && m->ndflagged > 1)) {
		old = TAILQ_FIRST(&m->dflagged);
		if (old == r)
			break;
		detail_detach(m, old);
		m->ddropped++;
	}
}

static void
row_evict(struct model *m, struct row *r)
{
	detail_detach(m, r);
	RB_REMOVE(uidtree, &m->uids, r);
	if (r->d.ended) {
		TAILQ_REMOVE(&m->doneq, r, age);
	} else {
		TAILQ_REMOVE(&m->openq, r, age);
		m->nopen--;
	}
	r->live = false;
	r->gen++;
	m->nlive--;
	TAILQ_INSERT_TAIL(&m->freeq, r, age);
}

static struct row *
row_alloc(struct model *m)
{
	struct row *r, **nc, *chunk;
	uint32_t i;

	if (m->nlive >= m->max_rows) {
		r = TAILQ_FIRST(&m->doneq);
		if (r == NULL)
			r = TAILQ_FIRST(&m->openq);
		if (r != NULL) {
			row_evict(m, r);
			m->evicted++;
		}
	}
	if ((r = TAILQ_FIRST(&m->freeq)) != NULL) {
		TAILQ_REMOVE(&m->freeq, r, age);
		return r;
	}
	if (m->nslots % CHUNK_ROWS == 0) {
		if (m->nslots / CHUNK_ROWS != m->nchunks)
			return NULL;
		nc = reallocarray(m->chunks, m->nchunks + 1, sizeof(*nc));
		if (nc == NULL)
			return NULL;
		m->chunks = nc;
		if ((chunk = calloc(CHUNK_ROWS, sizeof(*chunk))) == NULL)
			return NULL;
		for (i = 0; i < CHUNK_ROWS; i++)
			chunk[i].slot = m->nslots + i;
		m->chunks[m->nchunks++] = chunk;
	}
	return slot_row(m, m->nslots++);
}

/* Count a distinct peer of a cause (bounded: then "more"). */
static void
group_peer(struct group *g, const uint8_t ip[16])
{
	for (uint32_t i = 0; i < g->g.npeers; i++)
		if (memcmp(g->peers[i], ip, 16) == 0)
			return;
	if (g->g.npeers < UI_GROUP_PEERS)
		memcpy(g->peers[g->g.npeers++], ip, 16);
	else
		g->g.peers_more = true;
}

static void
count_incidents(struct model *m, struct row *r, const struct sess_record *rec)
{
	struct group key, *g;
	size_t i;

	for (i = 0; rec->inc != NULL && i < rec->ninc; i++) {
		const struct incident *in = &rec->inc[i];
		unsigned ti = (unsigned)in->kind;

		if (ti >= INC_MAX || (r->counted & INC_BIT(ti)))
			continue;
		r->counted |= INC_BIT(ti);
		inc_tally_one(&m->tally, in);

		memset(&key, 0, sizeof(key));
		key.type = ti;
		key.side = (unsigned)inc_type_side(in->kind);
		key.family = rec->family;
		memcpy(key.ip, key.side == SIDE_SERVER ? rec->server_ip : rec->client_ip, 16);
		key.port = key.side == SIDE_SERVER ? rec->server_port : 0;
		if ((g = RB_FIND(grouptree, &m->groups, &key)) == NULL) {
			if (m->ngroups >= UI_MAX_GROUPS ||
			    (g = calloc(1, sizeof(*g))) == NULL) {
				m->groups_dropped++;
				continue;
			}
			*g = key;
			strlcpy(g->g.type, inc_type_name(in->kind), sizeof(g->g.type));
			g->g.kind = (uint8_t)ti;
			g->g.family = (uint8_t)inc_type_family(in->kind);
			g->g.side = (uint8_t)key.side;
			g->g.port = key.port;
			if (key.side == SIDE_SERVER) {
				strlcpy(g->g.host, r->d.server, sizeof(g->g.host));
				strlcpy(g->g.name, r->d.server_name, sizeof(g->g.name));
			} else {
				strlcpy(g->g.host, r->d.client, sizeof(g->g.host));
				strlcpy(g->g.name, r->d.helo, sizeof(g->g.name));
			}
			g->g.severity = (int8_t)in->severity;
			g->g.first_us = rec->ts_start_us;
			g->g.last_us = rec->ts_start_us;
			RB_INSERT(grouptree, &m->groups, g);
			m->ngroups++;
		}
		group_peer(g, key.side == SIDE_SERVER ? rec->client_ip : rec->server_ip);
		g->g.count++;
		if ((int)in->severity > g->g.severity)
			g->g.severity = (int8_t)in->severity;
		if (rec->ts_start_us < g->g.first_us)
			g->g.first_us = rec->ts_start_us;
		if (rec->ts_start_us >= g->g.last_us) {
			g->g.last_us = rec->ts_start_us;
			strlcpy(g->g.example_uid, r->d.uid, sizeof(g->g.example_uid));
		} else if (g->g.example_uid[0] == '\0') {
			strlcpy(g->g.example_uid, r->d.uid, sizeof(g->g.example_uid));
		}
	}
}

void
model_post_session(struct model *m, const struct sess_record *rec, bool ended)
{
	struct ui_rowdata rd;
	struct ui_detail *d;
	struct row key, *r;
	bool was_ended;

	if (rec == NULL)
		return;
	row_from_record(&rd, rec, ended);
	if (rd.uid[0] == '\0')
		return;
	d = detail_build(rec, &rd);	/* NULL on no memory: shown as "not kept" */

	pthread_mutex_lock(&m->mtx);
	strlcpy(key.d.uid, rd.uid, sizeof(key.d.uid));
	if ((r = RB_FIND(uidtree, &m->uids, &key)) == NULL) {
		if ((r = row_alloc(m)) == NULL) {
			m->dropped_nomem++;
			pthread_mutex_unlock(&m->mtx);
			free(d);
			return;
		}
		r->live = true;
		r->version = 0;
		r->counted = 0;
		r->detail = NULL;
		rd.seq = ++m->seq;
		r->d = rd;
		r->d.ended = false;
		RB_INSERT(uidtree, &m->uids, r);
		TAILQ_INSERT_TAIL(&m->openq, r, age);
		m->nopen++;
		m->nlive++;
		m->posted++;
	}
	was_ended = r->d.ended;
	rd.seq = r->d.seq;
	r->d = rd;
	r->d.ended = was_ended || rd.ended;
	if (r->d.ended && !was_ended) {
		/* The finished queue is in order of ending: evicted first. */
		TAILQ_REMOVE(&m->openq, r, age);
		TAILQ_INSERT_TAIL(&m->doneq, r, age);
		m->nopen--;
	}
	r->version++;
	detail_attach(m, r, d);
	count_incidents(m, r, rec);
	m->gen++;
	pthread_mutex_unlock(&m->mtx);
}

void
model_post_stats(struct model *m, const struct ui_stats *st)
{
	pthread_mutex_lock(&m->mtx);
	m->stats = *st;
	m->have_stats = true;
	m->gen++;
	pthread_mutex_unlock(&m->mtx);
}

/* ------------------------------------------------------------------------
 * Pacing (capture thread waits, UI thread steers)
 * --------------------------------------------------------------------- */

static void
ts_add_us(struct timespec *t, uint64_t us)
{
	t->tv_sec += (time_t)(us / 1000000);
	t->tv_nsec += (long)(us % 1000000) * 1000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

bool
model_pace(struct model *m, uint64_t ts_us)
{
	struct timespec now, target;
	bool ok;

	pthread_mutex_lock(&m->mtx);
	for (;;) {
		if (m->quit)
			break;
		if (m->paused) {
			pthread_cond_wait(&m->cond, &m->mtx);
			continue;
		}
		if (m->speed <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!m->based || ts_us < m->base_ts) {
			/* First packet, after a pause or a speed change, or
			 * time going backwards in the file: start again here. */
			m->based = true;
			m->base_ts = ts_us;
			m->base_wall = now;
		}
		target = m->base_wall;
		ts_add_us(&target, (uint64_t)((double)(ts_us - m->base_ts) / m->speed));
		if (!ts_before(&now, &target))
			break;
		/* Interruptible by pause, speed change and quit. */
		pthread_cond_timedwait(&m->cond, &m->mtx, &target);
	}
	ok = !m->quit;
	pthread_mutex_unlock(&m->mtx);
	return ok;
}

void
model_set_paused(struct model *m, bool p)
{
	pthread_mutex_lock(&m->mtx);
	m->paused = p;
	m->based = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mtx);
}

void
model_set_speed(struct model *m, double s)
{
	pthread_mutex_lock(&m->mtx);
	m->speed = s > 0 ? s : 0;
	m->based = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mtx);
}

void
model_quit(struct model *m)
{
	pthread_mutex_lock(&m->mtx);
	m->quit = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mtx);
}

bool
model_quitting(struct model *m)
{
	bool q;

	pthread_mutex_lock(&m->mtx);
	q = m->quit;
	pthread_mutex_unlock(&m->mtx);
	return q;
}

/* ------------------------------------------------------------------------
 * Reading (UI thread)
 * --------------------------------------------------------------------- */

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive substring; the needle is already lower case. */
static bool
has_text(const char *hay, const char *needle)
{
	size_t i, j;

	for (i = 0; hay[i] != '\0'; i++) {
		for (j = 0; needle[j] != '\0' && hay[i + j] != '\0' &&
		    lower(hay[i + j]) == needle[j]; j++)
			;
		if (needle[j] == '\0')
			return true;
	}
	return false;
}

static bool
row_matches(const struct model *m, const struct row *r)
{
	const struct ui_rowdata *d = &r->d;
	const char *n = m->needle;

	if (m->view.incidents_only && d->ninc == 0)
		return false;
	if (m->view.cause) {
		const struct ui_view *v = &m->view;

		if (!(d->inc_mask & INC_BIT(v->cause_kind)))
			return false;
		if (v->cause_side == SIDE_SERVER ? strcmp(d->server, v->cause_host) != 0 ||
		    d->server_port != v->cause_port : strcmp(d->client, v->cause_host) != 0)
			return false;
	}
	if (n[0] == '\0')
		return true;
	return has_text(d->client, n) || has_text(d->server, n) ||
	    has_text(d->server_name, n) || has_text(d->helo, n) || has_text(d->mail_from, n) ||
	    has_text(d->rcpt, n) || has_text(d->inc, n) || has_text(d->uid, n) ||
	    has_text(ui_state_name(d->state), n);
}

/* Up to the first 8 characters, case folded, as a number that sorts the
 * same way (ties are broken by arrival order). */
static uint64_t
text_key(const char *s)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 8; i++) {
		k <<= 8;
		if (*s != '\0')
			k |= (unsigned char)lower(*s++);
	}
	return k;
}

static uint64_t
sort_key(enum ui_sort s, const struct ui_rowdata *d)
{
	uint64_t ts = d->ts_start_us & ((1ull << 56) - 1);

	switch (s) {
	case SORT_SEVERITY: return (uint64_t)(d->severity + 1 + (d->eightbit ? 1 : 0)) << 56 | ts;
	case SORT_CLIENT: return d->client_key;
	case SORT_SERVER: return d->server_key;
	case SORT_HELO: return text_key(d->helo);
	case SORT_STATE: return (uint64_t)d->state << 56 | ts;
	case SORT_INCIDENT: return text_key(d->inc);
	case SORT_MSGS: return (uint64_t)d->nmsgs << 32 | (ts >> 24);
	case SORT_TIME:
	default: return d->ts_start_us;
	}
}

static int
ix_asc(const void *a, const void *b)
{
	const struct ixent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
ix_desc(const void *a, const void *b)
{
	return ix_asc(b, a);
}

void
model_set_view(struct model *m, const struct ui_view *v)
{
	size_t i;

	m->view = *v;
	m->view.text[sizeof(m->view.text) - 1] = '\0';
	for (i = 0; m->view.text[i] != '\0'; i++)
		m->needle[i] = lower(m->view.text[i]);
	m->needle[i] = '\0';
	m->view_changed = true;
}

bool
model_refresh(struct model *m, bool force)
{
	uint64_t gen, nlive, t = now_ms();
	uint32_t nslots, s, e, i;
	struct ixent *nix;
	struct row *r;

	pthread_mutex_lock(&m->mtx);
	gen = m->gen;
	nslots = m->nslots;
	nlive = m->nlive;
	pthread_mutex_unlock(&m->mtx);

	if (!force && !m->view_changed && m->ix_built && gen == m->ix_gen)
		return false;
	/* Hundreds of thousands of rows: at most two rebuilds a second
	 * while the capture keeps posting. */
	if (!force && !m->view_changed && m->ix_built && nlive > BIG_MODEL &&
	    t - m->ix_ms < REBUILD_MS)
		return false;
	if (nslots > m->ixcap) {
		nix = reallocarray(m->ix, nslots, sizeof(*nix));
		if (nix == NULL)
			return false;
		m->ix = nix;
		m->ixcap = nslots;
	}
	m->nix = 0;
	for (s = 0; s < nslots; s = e) {
		e = nslots - s > IX_SLICE ? s + IX_SLICE : nslots;
		pthread_mutex_lock(&m->mtx);
		for (i = s; i < e; i++) {
			r = slot_row(m, i);
			if (!r->live || !row_matches(m, r))
				continue;
			m->ix[m->nix].slot = i;
			m->ix[m->nix].gen = r->gen;
			m->ix[m->nix].key = sort_key(m->view.sort, &r->d);
			m->ix[m->nix].seq = r->d.seq;
			m->nix++;
		}
		pthread_mutex_unlock(&m->mtx);
	}
	if (m->nix > 1)
		qsort(m->ix, m->nix, sizeof(*m->ix), m->view.descending ? ix_desc : ix_asc);
	m->ix_gen = gen;
	m->ix_ms = t;
	m->ix_built = true;
	m->view_changed = false;
	return true;
}

size_t
model_count(const struct model *m)
{
	return m->nix;
}

size_t
model_rows(struct model *m, size_t first, size_t n, struct ui_rowdata *out)
{
	size_t i, k = 0;
	struct row *r;

	pthread_mutex_lock(&m->mtx);
	for (i = first; i < m->nix && i - first < n; i++) {
		r = slot_row(m, m->ix[i].slot);
		if (!r->live || r->gen != m->ix[i].gen)
			continue;	/* evicted since the index was built */
		out[k] = r->d;
		out[k].has_detail = r->detail != NULL;
		k++;
	}
	pthread_mutex_unlock(&m->mtx);
	return k;
}

long
model_find(struct model *m, const char *uid)
{
	struct row key, *r;
	uint32_t slot = 0, gen = 0;
	bool found = false;
	size_t i;

	strlcpy(key.d.uid, uid, sizeof(key.d.uid));
	pthread_mutex_lock(&m->mtx);
	if ((r = RB_FIND(uidtree, &m->uids, &key)) != NULL) {
		slot = r->slot;
		gen = r->gen;
		found = true;
	}
	pthread_mutex_unlock(&m->mtx);
	if (!found)
		return -1;
	for (i = 0; i < m->nix; i++)
		if (m->ix[i].slot == slot && m->ix[i].gen == gen)
			return (long)i;
	return -1;
}

struct ui_detail *
model_detail_get(struct model *m, const char *uid, bool *known, uint64_t *version)
{
	struct ui_detail *d = NULL;
	struct row key, *r;

	strlcpy(key.d.uid, uid, sizeof(key.d.uid));
	pthread_mutex_lock(&m->mtx);
	r = RB_FIND(uidtree, &m->uids, &key);
	*known = r != NULL;
	*version = r != NULL ? r->version : 0;
	if (r != NULL && (d = r->detail) != NULL)
		d->refs++;
	pthread_mutex_unlock(&m->mtx);
	return d;
}

uint64_t
model_row_version(struct model *m, const char *uid)
{
	struct row key, *r;
	uint64_t v;

	strlcpy(key.d.uid, uid, sizeof(key.d.uid));
	pthread_mutex_lock(&m->mtx);
	r = RB_FIND(uidtree, &m->uids, &key);
	v = r != NULL ? r->version : 0;
	pthread_mutex_unlock(&m->mtx);
	return v;
}

void
model_detail_put(struct model *m, struct ui_detail *d)
{
	bool gone;

	if (d == NULL)
		return;
	pthread_mutex_lock(&m->mtx);
	gone = --d->refs == 0 && !d->attached;
	pthread_mutex_unlock(&m->mtx);
	if (gone)
		free(d);
}

/* Worst first, then the most frequent: what to fix first is on top. */
static int
group_order(const void *a, const void *b)
{
	const struct ui_group *x = a, *y = b;
	int c;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcmp(x->type, y->type)) != 0)
		return c;
	return strcmp(x->host, y->host);
}

size_t
model_groups(struct model *m, struct ui_group *out, size_t max)
{
	struct group *g;
	size_t n = 0;

	pthread_mutex_lock(&m->mtx);
	RB_FOREACH(g, grouptree, &m->groups) {
		if (n == max)
			break;
		out[n++] = g->g;
	}
	pthread_mutex_unlock(&m->mtx);
	if (n > 1)
		qsort(out, n, sizeof(*out), group_order);
	return n;
}

void
model_summary(struct model *m, struct ui_summary *s)
{
	pthread_mutex_lock(&m->mtx);
	s->stats = m->stats;
	s->have_stats = m->have_stats;
	s->rows = m->nlive;
	s->rows_open = m->nopen;
	s->rows_posted = m->posted;
	s->rows_evicted = m->evicted;
	s->details = m->ndrecent + m->ndflagged;
	s->details_dropped = m->ddropped;
	s->incidents = m->tally.total;
	s->groups_dropped = m->groups_dropped;
	s->ntypes = 0;
	for (unsigned k = 0; k < INC_MAX; k++) {
		struct ui_typecount *t = &s->types[s->ntypes];

		if (m->tally.n[k] == 0)
			continue;
		strlcpy(t->type, inc_type_name(k), sizeof(t->type));
		t->family = (uint8_t)inc_type_family(k);
		t->severity = (int8_t)m->tally.sev[k];
		t->count = m->tally.n[k];
		s->ntypes++;
	}
	s->gen = m->gen;
	s->paused = m->paused;
	s->speed = m->speed;
	pthread_mutex_unlock(&m->mtx);
}
