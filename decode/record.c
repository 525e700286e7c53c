/*
 * record.c - name tables for record.h, and the string helpers the decoder
 * uses to fill and free records.
 *
 * The tables are generated from the X-macros in record.h so that a name can
 * never drift from its enum.  wstr_set() is the only place a wire string is
 * copied into a record: it caps the length and never fails loudly (an
 * allocation failure leaves the string absent, which every reader handles).
 * This file deliberately knows nothing of sessions or parsing.
 */
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

/* ---------------------------------------------------------------------
 * Name tables
 * ------------------------------------------------------------------ */
const char *
smtp_cap_name(enum smtp_cap_bit b)
{
	static const char *const names[] = {
#define REC_X_CAP(id, kw) kw,
		SMTP_CAPS(REC_X_CAP)
#undef REC_X_CAP
	};
	return (unsigned)b < CAPB_MAX ? names[b] : "?";
}

static const char *const an_names[] = {
#define REC_X_AN(id, name, desc) name,
	SMTP_ANOMALIES(REC_X_AN)
#undef REC_X_AN
};
static const char *const an_descs[] = {
#define REC_X_AN(id, name, desc) desc,
	SMTP_ANOMALIES(REC_X_AN)
#undef REC_X_AN
};

const char *
smtp_anomaly_name(enum smtp_anomaly a)
{
	return (unsigned)a < SAN_MAX ? an_names[a] : "?";
}

const char *
smtp_anomaly_desc(enum smtp_anomaly a)
{
	return (unsigned)a < SAN_MAX ? an_descs[a] : "?";
}

const char *
sess_end_name(enum sess_end e)
{
	static const char *const names[] = {
#define REC_X_END(id, name) name,
		SESS_ENDS(REC_X_END)
#undef REC_X_END
	};
	return (unsigned)e < SEND_MAX ? names[e] : "?";
}

const char *
sess_state_name(enum sess_state st)
{
	static const char *const names[] = {
#define REC_X_ST(id, name) name,
		SESS_STATES(REC_X_ST)
#undef REC_X_ST
	};
	return (unsigned)st < SST_MAX ? names[st] : "?";
}

const char *
body_type_name(enum body_type b)
{
	switch (b) {
	case BODY_NONE:		return "";
	case BODY_7BIT:		return "7BIT";
	case BODY_8BITMIME:	return "8BITMIME";
	case BODY_BINARYMIME:	return "BINARYMIME";
	case BODY_OTHER:	return "other";
	}
	return "?";
}

const char *
severity_name(enum severity s)
{
	switch (s) {
	case SEV_NOTICE:	return "notice";
	case SEV_WARNING:	return "warning";
	case SEV_ERROR:		return "error";
	}
	return "?";
}

const char *
confidence_name(enum confidence c)
{
	switch (c) {
	case CONF_POSSIBLE:	return "possible";
	case CONF_PROBABLE:	return "probable";
	case CONF_CERTAIN:	return "certain";
	}
	return "?";
}

/* ---------------------------------------------------------------------
 * Incident types and families
 * ------------------------------------------------------------------ */
static const struct {
	const char *name;
	enum inc_family family;
	enum inc_side side;
	enum severity sev;
	enum confidence conf;
	const char *rfc;
} inc_types[INC_MAX] = {
#define REC_X_INC(id, nm, fam, sd, sv, cf, basis) \
	[INC_##id] = { .name = nm, .family = fam, .side = sd, .sev = sv, .conf = cf, \
	    .rfc = basis },
	INCIDENT_TYPES(REC_X_INC)
#undef REC_X_INC
};

const char *
inc_type_name(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].name : "?";
}

enum inc_family
inc_type_family(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].family : FAM_MAX;
}

enum inc_side
inc_type_side(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].side : SIDE_SERVER;
}

enum severity
inc_type_severity(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].sev : SEV_NOTICE;
}

enum confidence
inc_type_confidence(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].conf : CONF_POSSIBLE;
}

const char *
inc_type_rfc(enum inc_type t)
{
	return (unsigned)t < INC_MAX ? inc_types[t].rfc : "?";
}

const char *
inc_family_name(enum inc_family f)
{
	static const char *const names[] = {
#define REC_X_FAM(id, name) name,
		INCIDENT_FAMILIES(REC_X_FAM)
#undef REC_X_FAM
	};
	return (unsigned)f < FAM_MAX ? names[f] : "?";
}

enum inc_type
inc_type_from_name(const char *name)
{
	if (name != NULL)
		for (unsigned t = 0; t < INC_MAX; t++)
			if (strcmp(inc_types[t].name, name) == 0)
				return (enum inc_type)t;
	return INC_MAX;
}

/* ---------------------------------------------------------------------
 * Incidents by type
 * ------------------------------------------------------------------ */
void
inc_tally_one(struct inc_tally *t, const struct incident *inc)
{
	unsigned k = (unsigned)inc->kind;

	if (k >= INC_MAX)
		return;
	if (t->n[k]++ == 0 || inc->severity > t->sev[k])
		t->sev[k] = inc->severity;
	t->total++;
}

void
inc_tally_add(struct inc_tally *t, const struct sess_record *r)
{
	for (size_t i = 0; r->inc != NULL && i < r->ninc; i++)
		inc_tally_one(t, &r->inc[i]);
}

/* Does type a come before type b? */
static bool
tally_before(const struct inc_tally *t, enum tally_order o, enum inc_type a,
    enum inc_type b)
{
	if (o == TALLY_BY_SEVERITY && t->sev[a] != t->sev[b])
		return t->sev[a] > t->sev[b];
	if (t->n[a] != t->n[b])
		return t->n[a] > t->n[b];
	return strcmp(inc_types[a].name, inc_types[b].name) < 0;
}

size_t
inc_tally_sorted(const struct inc_tally *t, enum tally_order o,
    enum inc_type out[INC_MAX])
{
	size_t n = 0;

	/* Insertion sort: at most INC_MAX entries. */
	for (unsigned k = 0; k < INC_MAX; k++) {
		size_t j;

		if (t->n[k] == 0)
			continue;
		for (j = n; j > 0 && tally_before(t, o, (enum inc_type)k, out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = (enum inc_type)k;
		n++;
	}
	return n;
}

/* ---------------------------------------------------------------------
 * ASCII comparisons (no locale: these compare protocol keywords)
 * ------------------------------------------------------------------ */
/* Without strlen(kw) first: the verb and capability lookups try a dozen
 * keywords per line, and nearly all differ at the first octet. */
bool
a_eq(const char *p, size_t len, const char *kw)
{
	for (size_t i = 0; i < len; i++)
		if (kw[i] == '\0' || a_upper((uint8_t)p[i]) != a_upper((uint8_t)kw[i]))
			return false;
	return kw[len] == '\0';
}

bool
a_prefix(const char *p, size_t len, const char *kw)
{
	size_t n = strlen(kw);

	if (len < n)
		return false;
	return a_eq(p, n, kw);
}

bool
a_contains(const char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return true;
	for (size_t i = 0; i + n <= len; i++)
		if (a_eq(p + i, n, needle))
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * Strings and teardown
 * ------------------------------------------------------------------ */
void
wstr_clear(struct wstr *w)
{
	if (!w->pooled)
		free(w->p);
	w->p = NULL;
	w->len = 0;
	w->pooled = false;
}

char *
wstr_alloc(struct spool *sp, struct wstr *w, size_t n)
{
	wstr_clear(w);
	if (sp != NULL && n < SPOOL_SIZE - sp->used) {
		w->p = sp->b + sp->used;
		sp->used += n + 1;
		w->pooled = true;
	} else if ((w->p = malloc(n + 1)) == NULL)
		return NULL;
	w->p[n] = '\0';
	w->len = n;
	return w->p;
}

void
wstr_set_in(struct spool *sp, struct wstr *w, const char *p, size_t len,
    size_t cap)
{
	char *n;

	if (p == NULL) {
		wstr_clear(w);
		return;
	}
	if (len > cap)
		len = cap;
	if ((n = wstr_alloc(sp, w, len)) != NULL && len > 0)
		memcpy(n, p, len);
}

void
wstr_set(struct wstr *w, const char *p, size_t len, size_t cap)
{
	wstr_set_in(NULL, w, p, len, cap);
}

static void
tx_free(struct tx_record *t)
{
	wstr_clear(&t->mail_from);
	wstr_clear(&t->mail_params);
	wstr_clear(&t->mail_reply_text);
	for (size_t i = 0; i < t->nrcpts; i++) {
		wstr_clear(&t->rcpts[i].addr);
		wstr_clear(&t->rcpts[i].params);
		wstr_clear(&t->rcpts[i].reply_text);
	}
	free(t->rcpts);
	t->rcpts = NULL;
	t->nrcpts = 0;
	wstr_clear(&t->cte);
	wstr_clear(&t->charset);
	wstr_clear(&t->content_type);
	wstr_clear(&t->reply_text);
	wstr_clear(&t->queue_id);
	wstr_clear(&t->message_id);
	wstr_clear(&t->subject);
	wstr_clear(&t->hdr_from);
	wstr_clear(&t->hdr_to);
}

void
incident_free(struct incident *inc)
{
	free(inc->summary);
	free(inc->diagnosis);
	free(inc->fix);
	free(inc->visibility);
	for (size_t i = 0; i < inc->nevidence; i++)
		wstr_clear(&inc->evidence[i].text);
	memset(inc, 0, sizeof(*inc));
}

/* Frees what the record owns.  The transcript lines (rec->lines) are
 * shallow views of the session's transcript and are freed with it. */
void
rec_free(struct sess_record *r)
{
	wstr_clear(&r->banner);
	wstr_clear(&r->helo);
	wstr_clear(&r->tls.sni);
	wstr_clear(&r->tls.alpn);
	wstr_clear(&r->tls.cert_subject);
	wstr_clear(&r->tls.cert_issuer);
	wstr_clear(&r->tls.cert_names);
	for (size_t i = 0; i < r->ncaps; i++)
		wstr_clear(&r->caps[i]);
	free(r->caps);
	r->caps = NULL;
	r->ncaps = 0;
	wstr_clear(&r->auth_mechs);
	wstr_clear(&r->auth_used);
	for (size_t i = 0; i < r->ntx; i++)
		tx_free(&r->tx[i]);
	free(r->tx);
	r->tx = NULL;
	r->ntx = 0;
	wstr_clear(&r->last_reply_text);
	free(r->lines);
	r->lines = NULL;
	r->nlines = 0;
	for (size_t i = 0; i < r->ninc; i++)
		incident_free(&r->inc[i]);
	free(r->inc);
	r->inc = NULL;
	r->ninc = 0;
}

/* ---------------------------------------------------------------------
 * Reading a record
 * ------------------------------------------------------------------ */
struct pick {
	int code;
	const struct wstr *text;
	const struct enh_code *enh;
	int tx;			/* the transaction, or -1 */
};

static void
consider(struct pick *refusal, struct pick *accept, int code, const struct wstr *text,
    const struct enh_code *enh, int tx)
{
	struct pick p = { code, text, enh, tx };

	if (code >= 400)
		*refusal = p;
	else if (code >= 200 && code < 300 && accept != NULL)
		*accept = p;
}

static struct pick
decisive(const struct sess_record *r)
{
	struct pick refusal = { 0, NULL, NULL, -1 }, accept = { 0, NULL, NULL, -1 };

	consider(&refusal, NULL, r->banner_code, &r->banner, NULL, -1);
	for (size_t i = 0; i < r->ntx && r->tx != NULL; i++) {
		const struct tx_record *t = &r->tx[i];

		consider(&refusal, NULL, t->mail_reply_code, &t->mail_reply_text,
		    &t->mail_enh, (int)i);
		for (size_t k = 0; k < t->nrcpts && t->rcpts != NULL; k++)
			consider(&refusal, NULL, t->rcpts[k].reply_code,
			    &t->rcpts[k].reply_text, &t->rcpts[k].enh, (int)i);
		if (t->data_reply_code >= 400 && t->reply_code == 0)
			consider(&refusal, NULL, t->data_reply_code, NULL, NULL, (int)i);
		consider(&refusal, &accept, t->reply_code, &t->reply_text, &t->enh, (int)i);
	}
	if (refusal.code == 0)
		refusal = accept;
	if (refusal.code == 0) {
		refusal.code = r->last_reply_code;
		refusal.text = &r->last_reply_text;
		refusal.enh = &r->last_enh;
		refusal.tx = r->ntx > 0 ? (int)r->ntx - 1 : -1;
	}
	if (refusal.tx < 0 && r->ntx > 0)
		refusal.tx = (int)r->ntx - 1;
	return refusal;
}

int
rec_decisive_reply(const struct sess_record *r, const struct wstr **text)
{
	struct pick p = decisive(r);

	if (text != NULL)
		*text = p.text != NULL && p.text->p != NULL ? p.text : NULL;
	return p.code;
}

void
rec_decisive_enh(const struct sess_record *r, struct enh_code *enh)
{
	struct pick p = decisive(r);

	if (p.enh != NULL && p.code > 0)
		*enh = *p.enh;
	else
		memset(enh, 0, sizeof(*enh));
}

const struct tx_record *
rec_decisive_tx(const struct sess_record *r)
{
	struct pick p = decisive(r);

	return p.tx >= 0 && (size_t)p.tx < r->ntx && r->tx != NULL ? &r->tx[p.tx] : NULL;
}

void
rec_banner_host(const struct sess_record *r, char *buf, size_t len)
{
	size_t n = 0;
	bool dot = false, letter = false;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (r->banner.p == NULL)
		return;
	while (n < r->banner.len && n + 1 < len) {
		uint8_t c = (uint8_t)r->banner.p[n];

		if (c == ' ')
			break;
		if (!(a_alpha(c) || a_digit(c) || c == '.' || c == '-'))
			return;
		dot |= c == '.';
		letter |= a_alpha(c);
		n++;
	}
	if (!dot || !letter || n == 0 || n + 1 >= len)
		return;
	memcpy(buf, r->banner.p, n);
	buf[n] = '\0';
}

const char *
sess_verb_name(unsigned id)
{
	return cmd_name((enum cmd_id)id);
}
