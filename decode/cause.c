/*
 * cause.c - grouping incidents by root cause (cause.h).
 *
 * The set is a red-black tree keyed by (type, side, family, address,
 * port).  Adding a session walks its incidents once; each finds or makes
 * its cause, counts itself with its peer, and adds the refused addresses
 * the type is about (MAIL FROM for mail-*, RCPT TO for rcpt-* and
 * all-recipients-rejected, the transaction's sender for refusals of the
 * message).  The first incident of a cause is copied as its example: the
 * diagnosis and fix printed once for the whole cause.
 */
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "dec_int.h"

struct cnode {
	RB_ENTRY(cnode) rb;
	struct cause c;
};

RB_HEAD(cause_tree, cnode);

struct cause_set {
	struct cause_tree tree;
	size_t n;
	uint64_t dropped, nomem;
};

static int
cnode_cmp(const struct cnode *a, const struct cnode *b)
{
	const struct cause *x = &a->c, *y = &b->c;
	int d;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->side != y->side)
		return x->side < y->side ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((d = memcmp(x->ip, y->ip, sizeof(x->ip))) != 0)
		return d;
	return x->port < y->port ? -1 : x->port > y->port;
}

RB_GENERATE_INTERNAL(cause_tree, cnode, rb, cnode_cmp,
    __attribute__((__unused__)) static)

struct cause_set *
cause_set_new(void)
{
	struct cause_set *s = calloc(1, sizeof(*s));

	if (s != NULL)
		RB_INIT(&s->tree);
	return s;
}

const enum tx_field cause_msg_fields[5] = {
	TFLD_QUEUE_ID, TFLD_MESSAGE_ID, TFLD_SUBJECT, TFLD_HDR_FROM, TFLD_HDR_TO,
};

/* The k-th log key of t, through the field table. */
static struct wstr *
msg_wstr(struct tx_record *t, size_t k)
{
	return (struct wstr *)(void *)((char *)t + rec_tx_fields[cause_msg_fields[k]].off);
}

static void
cause_free(struct cause *c)
{
	wstr_clear(&c->name);
	for (size_t i = 0; i < c->nrefusals; i++)
		wstr_clear(&c->refusals[i].addr);
	free(c->uids);
	wstr_clear(&c->ex.helo);
	for (size_t i = 0; i < 5; i++)
		wstr_clear(msg_wstr(&c->ex.msg, i));
	incident_free(&c->ex.inc);
}

void
cause_set_free(struct cause_set *s)
{
	struct cnode *n, *next;

	if (s == NULL)
		return;
	for (n = RB_MIN(cause_tree, &s->tree); n != NULL; n = next) {
		next = RB_NEXT(cause_tree, &s->tree, n);
		RB_REMOVE(cause_tree, &s->tree, n);
		cause_free(&n->c);
		free(n);
	}
	free(s);
}

/* The key of an incident of r. */
static void
key_of(struct cnode *k, const struct sess_record *r, const struct incident *inc)
{
	memset(k, 0, sizeof(*k));
	k->c.kind = inc->kind;
	k->c.side = inc_type_side(inc->kind);
	k->c.family = r->family;
	if (k->c.side == SIDE_SERVER) {
		memcpy(k->c.ip, r->server_ip, 16);
		k->c.port = r->server_port;
	} else
		memcpy(k->c.ip, r->client_ip, 16);
}

static bool
copy_wstr(struct wstr *dst, const char *p, size_t len)
{
	wstr_set(dst, p, len, CAUSE_MAX_TEXT);
	return p == NULL || dst->p != NULL;
}

static char *
copy_str(const char *s, bool *ok)
{
	char *d;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((d = malloc(n + 1)) == NULL) {
		*ok = false;
		return NULL;
	}
	memcpy(d, s, n + 1);
	return d;
}

/* The first incident of a cause: its texts and evidence, owned. */
static bool
copy_example(struct cause *c, const struct sess_record *r, const struct incident *inc)
{
	struct incident *e = &c->ex.inc;
	bool ok = true;

	memcpy(c->ex.uid, r->uid, sizeof(c->ex.uid));
	memcpy(c->ex.client_ip, r->client_ip, 16);
	memcpy(c->ex.server_ip, r->server_ip, 16);
	c->ex.client_port = r->client_port;
	c->ex.server_port = r->server_port;
	c->ex.start_us = r->ts_start_us;
	c->ex.end_us = r->ts_end_us;
	if (!copy_wstr(&c->ex.helo, r->helo.p, r->helo.len))
		ok = false;
	/* The decisive transaction's log keys first, then any other's. */
	for (size_t i = 0; i <= r->ntx; i++) {
		const struct tx_record *t = i == 0 ? rec_decisive_tx(r) : &r->tx[i - 1];

		for (size_t k = 0; t != NULL && k < 5; k++) {
			struct wstr *d = msg_wstr(&c->ex.msg, k);
			const struct wstr *w = msg_wstr((struct tx_record *)(uintptr_t)t, k);

			if (d->p == NULL && w->len > 0 && !copy_wstr(d, w->p, w->len))
				ok = false;
		}
	}
	*e = *inc;
	e->summary = copy_str(inc->summary, &ok);
	e->diagnosis = copy_str(inc->diagnosis, &ok);
	e->fix = copy_str(inc->fix, &ok);
	e->visibility = copy_str(inc->visibility, &ok);
	for (size_t i = 0; i < e->nevidence; i++) {
		memset(&e->evidence[i].text, 0, sizeof(e->evidence[i].text));
		if (!copy_wstr(&e->evidence[i].text, inc->evidence[i].text.p,
		    inc->evidence[i].text.len))
			ok = false;
		else if (inc->evidence[i].text.len > CAUSE_MAX_TEXT)
			e->evidence[i].flags |= XL_TRUNCATED;
	}
	return ok;
}

static struct cause *
cause_get(struct cause_set *s, const struct sess_record *r,
    const struct incident *inc, bool *isnew)
{
	struct cnode key, *n;
	char host[128];

	*isnew = false;
	key_of(&key, r, inc);
	if ((n = RB_FIND(cause_tree, &s->tree, &key)) != NULL)
		return &n->c;
	if (s->n >= CAUSE_MAX) {
		s->dropped++;
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		s->nomem++;
		return NULL;
	}
	n->c = key.c;
	if (n->c.side == SIDE_SERVER) {
		rec_banner_host(r, host, sizeof(host));
		if (host[0] != '\0')
			wstr_set(&n->c.name, host, strlen(host), sizeof(host));
	} else if (r->helo.p != NULL)
		wstr_set(&n->c.name, r->helo.p, r->helo.len, 255);
	if (!copy_example(&n->c, r, inc)) {
		cause_free(&n->c);
		free(n);
		s->nomem++;
		return NULL;
	}
	n->c.severity = inc->severity;
	n->c.confidence = inc->confidence;
	RB_INSERT(cause_tree, &s->tree, n);
	s->n++;
	*isnew = true;
	return &n->c;
}

static void
add_peer(struct cause *c, const uint8_t ip[16])
{
	for (size_t i = 0; i < c->npeers; i++)
		if (memcmp(c->peers[i].ip, ip, 16) == 0) {
			c->peers[i].n++;
			return;
		}
	if (c->npeers < CAUSE_PEERS) {
		memcpy(c->peers[c->npeers].ip, ip, 16);
		c->peers[c->npeers++].n = 1;
	} else
		c->peers_other++;
}

static void
add_refusal(struct cause *c, bool mail, int code, const struct enh_code *enh,
    const struct wstr *addr)
{
	const char *p = addr->p != NULL ? addr->p : "";
	size_t len = addr->p != NULL ? addr->len : 0;

	if (len > CAUSE_MAX_TEXT)
		len = CAUSE_MAX_TEXT;
	for (size_t i = 0; i < c->nrefusals; i++) {
		struct cause_refusal *f = &c->refusals[i];

		if (f->mail == mail && f->code == code && f->addr.len == len &&
		    (len == 0 || memcmp(f->addr.p, p, len) == 0)) {
			f->n++;
			return;
		}
	}
	if (c->nrefusals >= CAUSE_REFUSALS) {
		c->refusals_other++;
		return;
	}
	c->refusals[c->nrefusals].mail = mail;
	c->refusals[c->nrefusals].code = code;
	c->refusals[c->nrefusals].enh = *enh;
	c->refusals[c->nrefusals].n = 1;
	wstr_set(&c->refusals[c->nrefusals].addr, p, len, CAUSE_MAX_TEXT);
	c->nrefusals++;
}

/* The refused addresses an incident of this type is about. */
static void
add_refusals(struct cause *c, const struct sess_record *r)
{
	for (size_t i = 0; i < r->ntx && r->tx != NULL; i++) {
		const struct tx_record *t = &r->tx[i];

		switch (c->kind) {
		case INC_MAIL_REJECTED:
		case INC_MAIL_DEFERRED:
			if (t->mail_reply_code / 100 == (c->kind == INC_MAIL_REJECTED ? 5 : 4))
				add_refusal(c, true, t->mail_reply_code, &t->mail_enh,
				    &t->mail_from);
			break;
		case INC_RCPT_REJECTED:
		case INC_RCPT_DEFERRED:
		case INC_ALL_RECIPIENTS_REJECTED:
			for (size_t k = 0; k < t->nrcpts && t->rcpts != NULL; k++) {
				int code = t->rcpts[k].reply_code;

				if (code < 400 || (c->kind == INC_RCPT_REJECTED && code < 500) ||
				    (c->kind == INC_RCPT_DEFERRED && code >= 500))
					continue;
				add_refusal(c, false, code, &t->rcpts[k].enh,
				    &t->rcpts[k].addr);
			}
			break;
		case INC_MESSAGE_REJECTED:
		case INC_MESSAGE_DEFERRED:
		case INC_SIZE_EXCEEDED:
		case INC_TLS_REQUIRED:
		case INC_BODY_REJECTED:
		case INC_8BIT_REJECTED:
			if (t->reply_code >= 400)
				add_refusal(c, true, t->reply_code, &t->enh, &t->mail_from);
			else if (t->mail_reply_code >= 400)
				add_refusal(c, true, t->mail_reply_code, &t->mail_enh,
				    &t->mail_from);
			break;
		default:
			return;
		}
	}
}

static void
add_uid(struct cause *c, const struct sess_record *r)
{
	if (c->nuids > 0 && memcmp(c->uids[c->nuids - 1], r->uid, sizeof(r->uid)) == 0)
		return;		/* two incidents of one session: not possible, but cheap */
	if (c->nuids == c->cap_uids) {
		size_t ncap = c->cap_uids ? c->cap_uids * 2 : 8;
		char (*nu)[sizeof(r->uid)];

		if (ncap > CAUSE_UIDS)
			ncap = CAUSE_UIDS;
		if (c->nuids >= ncap ||
		    (nu = reallocarray(c->uids, ncap, sizeof(*nu))) == NULL) {
			c->uids_dropped++;
			return;
		}
		c->uids = nu;
		c->cap_uids = ncap;
	}
	memcpy(c->uids[c->nuids++], r->uid, sizeof(r->uid));
}

static uint64_t
inc_ts(const struct sess_record *r, const struct incident *inc)
{
	return inc->nevidence > 0 ? inc->evidence[0].ts_us : r->ts_start_us;
}

size_t
cause_add(struct cause_set *s, const struct sess_record *r,
    const struct cause **news, size_t maxnews)
{
	size_t nnew = 0;

	if (s == NULL || r == NULL)
		return 0;
	for (size_t i = 0; i < r->ninc && r->inc != NULL; i++) {
		const struct incident *inc = &r->inc[i];
		uint64_t ts = inc_ts(r, inc);
		struct cause *c;
		bool isnew;

		if ((unsigned)inc->kind >= INC_MAX)
			continue;
		if ((c = cause_get(s, r, inc, &isnew)) == NULL)
			continue;
		if (c->count == 0 || ts < c->first_us)
			c->first_us = ts;
		if (ts > c->last_us)
			c->last_us = ts;
		c->count++;
		if (inc->severity > c->severity)
			c->severity = inc->severity;
		if (inc->confidence > c->confidence)
			c->confidence = inc->confidence;
		add_peer(c, c->side == SIDE_SERVER ? r->client_ip : r->server_ip);
		add_refusals(c, r);
		add_uid(c, r);
		if (isnew && news != NULL && nnew < maxnews)
			news[nnew++] = c;
	}
	return nnew;
}

const struct cause *
cause_of(const struct cause_set *s, const struct sess_record *r,
    const struct incident *inc)
{
	struct cnode key, *n;

	if (s == NULL || (unsigned)inc->kind >= INC_MAX)
		return NULL;
	key_of(&key, r, inc);
	n = RB_FIND(cause_tree, &((struct cause_set *)(uintptr_t)s)->tree, &key);
	return n != NULL ? &n->c : NULL;
}

static int
cause_order(const void *a, const void *b)
{
	const struct cause *x = *(const struct cause *const *)a;
	const struct cause *y = *(const struct cause *const *)b;
	int d;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((d = strcmp(inc_type_name(x->kind), inc_type_name(y->kind))) != 0)
		return d;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((d = memcmp(x->ip, y->ip, 16)) != 0)
		return d;
	return x->port < y->port ? -1 : x->port > y->port;
}

const struct cause **
cause_sorted(const struct cause_set *s, size_t *n, bool *nomem)
{
	const struct cause **v;
	struct cnode *c;
	size_t k = 0;

	*n = 0;
	*nomem = false;
	if (s == NULL || s->n == 0)
		return NULL;
	if ((v = reallocarray(NULL, s->n, sizeof(*v))) == NULL) {
		*nomem = true;
		return NULL;
	}
	RB_FOREACH(c, cause_tree, &((struct cause_set *)(uintptr_t)s)->tree)
		v[k++] = &c->c;
	qsort(v, k, sizeof(*v), cause_order);
	*n = k;
	return v;
}

size_t
cause_count(const struct cause_set *s)
{
	return s != NULL ? s->n : 0;
}

uint64_t
cause_dropped(const struct cause_set *s)
{
	return s != NULL ? s->dropped : 0;
}

uint64_t
cause_nomem(const struct cause_set *s)
{
	return s != NULL ? s->nomem : 0;
}

bool
cause_peers_complete(const struct cause *c)
{
	return c->peers_other == 0;
}
