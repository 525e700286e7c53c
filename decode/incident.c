/*
 * incident.c - the incident rules of INCIDENTS.md, as one table.
 *
 * Each type of record.h's INCIDENT_TYPES (name, family, severity,
 * confidence, RFC basis) has a row here: {function, stands back for}.
 * The function reads the finished session record and the facts session.c
 * collected (struct sess_facts, struct tx_facts) and says whether it found
 * something, filling a struct finding: a one-sentence summary naming both
 * hosts, a diagnosis, the fix, and the transcript lines that show it.  The
 * runner turns a finding into the session's incident (finding_commit:
 * evidence copied with times and packet numbers), at most one per rule.
 * Rules run in table order, the 8-bit family first and 8bitmime-abort
 * above all.
 *
 * Avoiding duplicates: a specific rule "claims" the reply lines it
 * explains (tls-required claims a 530, all-recipients-rejected claims the
 * RCPT refusals, 8bit-rejected the final reply...), and the generic rules
 * (mail-rejected, rcpt-rejected, message-rejected, server-shutdown...)
 * skip claimed lines; a 421 anywhere is server-shutdown's alone.  A row's
 * stands_back lists the earlier types that already explain what it would
 * report: abort-after-capabilities and smtputf8-without-8bitmime stand
 * back for 8bitmime-abort, no-quit for every rule that explains the
 * close; the runner skips the rule when one of them fired.  Per-recipient
 * findings are one incident per session listing the recipients.
 *
 * Judgement calls, documented here because they shape what is reported:
 * - 8bitmime-abort needs RSET after the EHLO reply and no MAIL, then QUIT
 *   or a close: a monitoring probe (EHLO then QUIT) is not it.  Its
 *   confidence drops to "possible" when the same client (smtp_ctx memory)
 *   also aborted against servers that do offer 8BITMIME, or sent no MAIL
 *   in three or more sessions; a BODY=8BITMIME from it elsewhere is
 *   mentioned as support.
 * - starttls-not-used is not raised between loopback addresses: that
 *   traffic never leaves the host, and cleartext there is no finding.
 * - reset-mid-data and no-quit need the connection to have closed (FIN,
 *   RST or idle timeout); the end of a capture file says nothing about
 *   the peers.
 * - Wire text quoted in incident texts is reduced to printable ASCII
 *   (other octets as \xHH) and cut at 120 characters; the evidence lines
 *   are raw copies for the exporters to escape.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

#define MAX_CLAIMS	64
#define EV_CAND		64

struct ictx {
	struct smtp_session *s;
	const struct sess_record *r;
	const struct sess_facts *f;
	const struct host_mem *hm;
	char client[160];	/* "192.0.2.1:40000 (helo.name)" */
	char server[160];	/* "192.0.2.2:25 (banner.name)" */
	char cip[64], sip[64];
	uint32_t claimed[MAX_CLAIMS];
	size_t nclaimed;
	uint64_t fired;		/* INC_BIT() of each type raised so far */
};

/* A small text builder: fixed buffer, silently cut when full. */
struct sb {
	char b[2048];
	size_t n;
};

/* Evidence candidates: transcript lines by priority (ev_commit keeps the
 * INC_MAX_EVIDENCE most important). */
struct evb {
	uint32_t seq[EV_CAND];
	uint8_t prio[EV_CAND];
	size_t n;
};

/* What a rule found: its texts and evidence, and the severity and
 * confidence, which start as the type's defaults. */
struct finding {
	struct sb sum, dia, fix;
	struct evb e;
	enum severity sev;
	enum confidence conf;
};

/* A rule: true when it found something, with fd filled in.  It may claim
 * lines (claim()) either way, but adds nothing to the record itself: the
 * runner turns the finding into an incident. */
typedef bool (*rule_fn)(struct ictx *, struct finding *);

/* A row of the table: the type (record.h's INCIDENT_TYPES has its name,
 * family, severity, confidence and RFC basis), its function, and the
 * types it stands back for: when one of those fired earlier in this
 * session, the rule does not run (they already explain what it would). */
struct rule {
	enum inc_type kind;
	rule_fn fn;
	uint64_t stands_back;
};

static void sb_add(struct sb *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sb *sb, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (sb->n >= sizeof(sb->b) - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	sb->n += (size_t)k;
	if (sb->n >= sizeof(sb->b))
		sb->n = sizeof(sb->b) - 1;
}

static char *
sb_dup(const struct sb *sb)
{
	char *p = malloc(sb->n + 1);

	if (p != NULL) {
		memcpy(p, sb->b, sb->n);
		p[sb->n] = '\0';
	}
	return p;
}

/* Wire text made safe for a sentence. */
static const char *
wt(const char *p, size_t len, char *buf, size_t blen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (p == NULL || blen < 8) {
		if (blen > 0)
			buf[0] = '\0';
		return buf;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)p[i];

		if (o + 8 >= blen || o >= 120) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

static const char *
ws(const struct wstr *w, char *buf, size_t blen)
{
	return wt(w->p, w->len, buf, blen);
}

/* ---------------------------------------------------------------------
 * Claims, incidents, evidence
 * ------------------------------------------------------------------ */
static void
claim(struct ictx *x, uint32_t seq)
{
	if (seq != NOSEQ && x->nclaimed < MAX_CLAIMS)
		x->claimed[x->nclaimed++] = seq;
}

static bool
claimed(const struct ictx *x, uint32_t seq)
{
	for (size_t i = 0; i < x->nclaimed; i++)
		if (x->claimed[i] == seq)
			return true;
	return false;
}

static char *
visibility(const struct ictx *x)
{
	const struct sess_record *r = x->r;
	struct sb sb = { .n = 0 };
	const char *sep = "";

	if (r->flags & SF_MID_STREAM) {
		sb_add(&sb, "%sjoined mid-stream", sep);
		sep = "; ";
	}
	if (x->f->gap_bytes[XDIR_CLIENT] > 0) {
		sb_add(&sb, "%s%llu bytes missing from the client", sep,
		    (unsigned long long)x->f->gap_bytes[XDIR_CLIENT]);
		sep = "; ";
	}
	if (x->f->gap_bytes[XDIR_SERVER] > 0) {
		sb_add(&sb, "%s%llu bytes missing from the server", sep,
		    (unsigned long long)x->f->gap_bytes[XDIR_SERVER]);
		sep = "; ";
	}
	if ((r->flags & SF_GAP) && x->f->gap_bytes[0] == 0 && x->f->gap_bytes[1] == 0) {
		sb_add(&sb, "%sa capture gap", sep);
		sep = "; ";
	}
	if (r->flags & SF_KERNEL_DROPS) {
		sb_add(&sb, "%sthe kernel dropped packets", sep);
		sep = "; ";
	}
	if (r->flags & SF_ONE_SIDED) {
		sb_add(&sb, "%sonly one direction captured", sep);
		sep = "; ";
	}
	if (r->flags & SF_OVERLAP)
		sb_add(&sb, "%sTCP retransmissions with different data", sep);
	return sb.n > 0 ? sb_dup(&sb) : NULL;
}

static struct incident *
inc_new(struct ictx *x, const struct rule *ru)
{
	struct sess_record *r = &x->s->rec;
	struct incident *inc;

	if (r->ninc >= SESS_MAX_INC)
		return NULL;
	if (r->inc == NULL && (r->inc = calloc(SESS_MAX_INC, sizeof(*r->inc))) == NULL)
		return NULL;
	inc = &r->inc[r->ninc++];
	memset(inc, 0, sizeof(*inc));
	inc->kind = ru->kind;
	inc->type = inc_type_name(ru->kind);
	inc->severity = inc_type_severity(ru->kind);
	inc->confidence = inc_type_confidence(ru->kind);
	inc->rfc = inc_type_rfc(ru->kind);
	inc->visibility = visibility(x);
	x->fired |= INC_BIT(ru->kind);
	return inc;
}

static void
ev(struct evb *e, uint32_t seq, uint8_t prio)
{
	if (seq == NOSEQ)
		return;
	for (size_t i = 0; i < e->n; i++) {
		if (e->seq[i] == seq) {
			if (prio > e->prio[i])
				e->prio[i] = prio;
			return;
		}
	}
	if (e->n < EV_CAND) {
		e->seq[e->n] = seq;
		e->prio[e->n] = prio;
		e->n++;
	}
}

/* A multi-line reply: its first line matters most. */
static void
ev_range(struct evb *e, uint32_t first, uint32_t last, uint8_t prio)
{
	if (first == NOSEQ)
		return;
	ev(e, first, prio);
	if (last == NOSEQ || last < first)
		return;
	for (uint32_t q = first + 1; q <= last && q - first < EV_CAND; q++)
		ev(e, q, prio > 0 ? (uint8_t)(prio - 1) : 0);
}

/* Keep the INC_MAX_EVIDENCE most important, in transcript order. */
static void
ev_commit(struct ictx *x, struct incident *inc, struct evb *e)
{
	uint32_t pick[INC_MAX_EVIDENCE];
	size_t np = 0;

	for (size_t i = 1; i < e->n; i++) {	/* by priority, then order */
		for (size_t j = i; j > 0; j--) {
			bool sw = e->prio[j] > e->prio[j - 1] ||
			    (e->prio[j] == e->prio[j - 1] && e->seq[j] < e->seq[j - 1]);
			uint32_t ts;
			uint8_t tp;

			if (!sw)
				break;
			ts = e->seq[j]; e->seq[j] = e->seq[j - 1]; e->seq[j - 1] = ts;
			tp = e->prio[j]; e->prio[j] = e->prio[j - 1]; e->prio[j - 1] = tp;
		}
	}
	for (size_t i = 0; i < e->n && np < INC_MAX_EVIDENCE; i++)
		if (tr_find(x->s, e->seq[i]) != NULL)
			pick[np++] = e->seq[i];
	for (size_t i = 1; i < np; i++)
		for (size_t j = i; j > 0 && pick[j] < pick[j - 1]; j--) {
			uint32_t t = pick[j];

			pick[j] = pick[j - 1];
			pick[j - 1] = t;
		}
	for (size_t i = 0; i < np; i++) {
		const struct xline *l = tr_find(x->s, pick[i]);
		struct xline *d = &inc->evidence[inc->nevidence];

		*d = *l;
		d->text.p = NULL;
		d->text.len = 0;
		wstr_set(&d->text, l->text.p, l->text.len, l->text.len);
		inc->nevidence++;
	}
}

/* The incident of a finding, added to the session's record; NULL when the
 * record holds SESS_MAX_INC already (or memory ran out). */
static struct incident *
finding_commit(struct ictx *x, const struct rule *ru, struct finding *fd)
{
	struct incident *inc;

	if ((inc = inc_new(x, ru)) == NULL)
		return NULL;
	inc->severity = fd->sev;
	inc->confidence = fd->conf;
	inc->summary = sb_dup(&fd->sum);
	inc->diagnosis = sb_dup(&fd->dia);
	inc->fix = sb_dup(&fd->fix);
	ev_commit(x, inc, &fd->e);
	return inc;
}

/* ---------------------------------------------------------------------
 * Shared predicates and phrases
 * ------------------------------------------------------------------ */
static bool
closed(const struct sess_record *r)
{
	return r->end == SEND_CLOSE || r->end == SEND_RESET || r->end == SEND_TIMEOUT;
}

/* EHLO accepted, then RSET and no MAIL, then QUIT or a close: the client
 * gave up after reading the capabilities. */
static bool
abort_after_ehlo(const struct smtp_session *s)
{
	const struct sess_facts *f = &s->f;
	const struct sess_record *r = &s->rec;
	uint32_t since = f->cmds_since_ehlo;

	if (!f->ehlo_ok || (r->flags & SF_TLS) || f->rset_seq == NOSEQ)
		return false;
	if (since & (CMDB(MAIL) | CMDB(RCPT) | CMDB(DATA) | CMDB(BDAT) |
	    CMDB(AUTH) | CMDB(STARTTLS)))
		return false;
	return f->quit_seq != NOSEQ || closed(r);
}

bool
abort_pattern(const struct smtp_session *s, bool *offered8)
{
	*offered8 = (s->rec.capflags & CAPF(8BITMIME)) != 0;
	return abort_after_ehlo(s);
}

/* "RSET then QUIT", "RSET then closed the connection", ... */
static const char *
how_ended(const struct ictx *x)
{
	if (x->f->quit_seq != NOSEQ)
		return "QUIT";
	switch (x->r->end) {
	case SEND_RESET:	return "a TCP reset";
	case SEND_TIMEOUT:	return "silence until the idle timeout";
	default:		return "closing the connection";
	}
}

static void
caps_list(const struct sess_record *r, struct sb *sb)
{
	for (size_t i = 0; i < r->ncaps; i++) {
		char b[160];

		sb_add(sb, "%s%s", i ? ", " : "", ws(&r->caps[i], b, sizeof(b)));
	}
	if (r->ncaps == 0)
		sb_add(sb, "no extensions");
}

static const char *
code_class(const struct enh_code *e, int code, char *buf, size_t len)
{
	const char *d;

	if (e->cls == 0) {
		(void)snprintf(buf, len, "%s without an enhanced status code",
		    code >= 500 ? "a permanent failure" : "a temporary failure");
		return buf;
	}
	d = enh_detail_text(e);
	(void)snprintf(buf, len, "%u.%u.%u, %s: %s", e->cls, e->subject, e->detail,
	    enh_subject_name(e->subject), d != NULL ? d : "");
	return buf;
}

/* What a class of refusal usually means, by enhanced code subject. */
static const char *
class_advice(const struct enh_code *e, int code)
{
	switch (e->cls == 0 ? 0 : e->subject) {
	case 1:	return "an addressing problem: the address does not exist or is "
		    "misspelled on the receiving side";
	case 2:	return "a condition of this mailbox: full, disabled, over a "
		    "size limit, or a per-recipient policy such as greylisting";
	case 3:	return "a problem of the receiving mail system itself (storage, "
		    "configuration, a dependency such as a database or a milter)";
	case 4:	return "a network or routing problem on the receiving side";
	case 5:	return "a protocol problem: the client sent something out of "
		    "sequence or malformed";
	case 6:	return "a content problem: the message's media type, encoding "
		    "or charset was refused";
	case 7:	return "a policy decision: authentication, relaying, sender "
		    "reputation, SPF/DKIM/DMARC or content filtering";
	default:
		return code >= 500 ? "a permanent refusal; read the reply text for "
		    "the reason" : "a temporary refusal; the sender should retry";
	}
}

static const char *
retry_word(int code)
{
	return code >= 500 ? "The sender will not retry: it generates a "
	    "non-delivery report." : "The sender should queue the message and "
	    "retry; if refusals persist it will bounce after its queue lifetime.";
}

static bool
looks_8bit_text(const struct wstr *w)
{
	return w->p != NULL && (a_contains(w->p, w->len, "8bit") ||
	    a_contains(w->p, w->len, "8-bit") || a_contains(w->p, w->len, "8 bit") ||
	    a_contains(w->p, w->len, "charset") || a_contains(w->p, w->len, "non-ascii") ||
	    a_contains(w->p, w->len, "8BITMIME"));
}

static bool
is_loopback(const struct sess_record *r)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (r->family == AF_INET6)
		return memcmp(r->client_ip, v6lo, 16) == 0 &&
		    memcmp(r->server_ip, v6lo, 16) == 0;
	return r->client_ip[0] == 127 && r->server_ip[0] == 127;
}

static const char *
missing_notable(uint32_t caps, char *buf, size_t len)
{
	static const int notable[] = { CAPB_8BITMIME, CAPB_SMTPUTF8, CAPB_STARTTLS,
	    CAPB_PIPELINING, CAPB_SIZE, CAPB_CHUNKING, CAPB_DSN, CAPB_AUTH,
	    CAPB_ENHANCEDSTATUSCODES };
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(notable) / sizeof(notable[0]); i++) {
		int k;

		if (caps & (1u << notable[i]))
			continue;
		k = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
		    smtp_cap_name((enum smtp_cap_bit)notable[i]));
		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
	return buf;
}

/* ---------------------------------------------------------------------
 * The 8-bit family
 * ------------------------------------------------------------------ */
static void
evidence_abort(struct ictx *x, struct evb *e)
{
	ev(e, x->f->ehlo_seq, 5);
	ev_range(e, x->f->ehlo_reply_seq, x->f->ehlo_reply_last, 3);
	ev(e, x->f->rset_seq, 5);
	ev(e, x->f->quit_seq, 5);
	ev(e, x->f->quit_reply_seq, 1);
	ev(e, x->f->greeting_seq, 1);
}

/* Confidence of an abort finding from the client's other sessions. */
static enum confidence
abort_confidence(const struct ictx *x, enum confidence def, bool check_offered,
    struct sb *dia)
{
	const struct host_mem *h = x->hm;
	enum confidence c = def;

	if (h == NULL)
		return c;
	if (check_offered && h->aborts_offered > 0) {
		sb_add(dia, " The same client also gave up this way in %u session(s) "
		    "against servers that did offer 8BITMIME, which looks like a "
		    "monitoring probe or an address verifier rather than a stuck "
		    "8-bit message.", h->aborts_offered);
		c = CONF_POSSIBLE;
	} else if (h->sessions >= 3 && h->mail_sessions == 0) {
		sb_add(dia, " The same client has sent no MAIL FROM in any of its "
		    "%u sessions seen, which looks like a monitoring probe.", h->sessions);
		c = CONF_POSSIBLE;
	}
	if (h->body8_sessions > 0)
		sb_add(dia, " It did send BODY=8BITMIME in %u other session(s), so it "
		    "does handle 8-bit messages: that supports this diagnosis.",
		    h->body8_sessions);
	return c;
}

static bool
r_8bitmime_abort(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!abort_after_ehlo(x->s) || (r->capflags & CAPF(8BITMIME)))
		return false;
	sb_add(&fd->sum, "Client %s gave up on %s after its EHLO reply lacked 8BITMIME: "
	    "RSET then %s, no MAIL FROM.", x->client, x->server, how_ended(x));
	sb_add(&fd->dia, "Server %s did not offer 8BITMIME (RFC 6152) in its EHLO reply "
	    "(it offered: ", x->server);
	caps_list(r, &fd->dia);
	sb_add(&fd->dia, "). Client %s reset and ended the session before MAIL FROM. It "
	    "probably holds a message with 8-bit MIME content that it does not "
	    "convert to 7-bit, so it will return a non-delivery report to the "
	    "sender (the Microsoft KB295734/KB195252 case: IIS or Exchange "
	    "relaying to Lotus Domino).", x->cip);
	if (r->capflags & CAPF(SMTPUTF8))
		sb_add(&fd->dia, " The server does offer SMTPUTF8, which RFC 6531 requires "
		    "to come with 8BITMIME: 8BITMIME was most likely removed on "
		    "purpose, by a keyword filter in the server's configuration or "
		    "by a middlebox rewriting the EHLO reply.");
	fd->conf = abort_confidence(x, fd->conf, true, &fd->dia);
	sb_add(&fd->fix, "Enable 8BITMIME on the receiving server %s: on Lotus Domino, "
	    "in the server's Configuration document, Router/SMTP tab, Advanced "
	    "tab, Commands and Extensions, set \"8-bit MIME extension\" to "
	    "Enabled; on Postfix, remove 8BITMIME from smtpd_discard_ehlo_keywords. "
	    "Or make the sender %s convert 8-bit messages to 7-bit "
	    "(quoted-printable or base64) when the next hop does not offer "
	    "8BITMIME. If %s is configured to offer 8BITMIME, look for a "
	    "firewall or SMTP proxy rewriting its EHLO reply.", x->server, x->cip,
	    x->sip);
	evidence_abort(x, &fd->e);
	return true;
}

static void
evidence_tx_mail(struct evb *e, const struct tx_facts *tf)
{
	ev(e, tf->mail_seq, 5);
	ev(e, tf->mail_reply_seq, 4);
}

static void
evidence_hello(struct ictx *x, struct evb *e)
{
	const struct sess_facts *f = x->f;

	if (f->ehlo_ok) {
		ev(e, f->ehlo_seq, 3);
		ev_range(e, f->ehlo_reply_seq, f->ehlo_reply_last, 2);
	} else {
		ev(e, f->ehlo_rej_seq, 3);
		ev(e, f->ehlo_rej_reply_seq, 3);
		ev(e, f->helo_seq, 3);
		ev(e, f->helo_reply_seq, 2);
	}
}

static bool
r_8bitmime_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (t->body != BODY_8BITMIME || !tf->caps_known ||
		    (tf->caps_at_mail & CAPF(8BITMIME)))
			continue;
		sb_add(&fd->sum, "Client %s sent MAIL FROM:<%s> BODY=8BITMIME to %s, "
		    "which had not offered 8BITMIME%s.", x->client,
		    ws(&t->mail_from, a, sizeof(a)), x->server,
		    tf->via_helo ? " (the session fell back to HELO, so no extension "
		    "was available)" : "");
		sb_add(&fd->dia, "RFC 6152 section 3 allows BODY=8BITMIME only when the "
		    "server offered 8BITMIME in its EHLO reply. The server answered "
		    "%d", t->mail_reply_code);
		if (t->mail_reply_code >= 400)
			sb_add(&fd->dia, ": it refused the transaction.");
		else if (t->mail_reply_code != 0)
			sb_add(&fd->dia, ": it accepted the parameter anyway, but the next "
			    "hop may not, and 8-bit content may be damaged on the way.");
		else
			sb_add(&fd->dia, " (no reply was seen).");
		sb_add(&fd->fix, "Fix the sender %s: it must look at the EHLO reply and, "
		    "without 8BITMIME, convert the message to 7-bit (quoted-printable "
		    "or base64) or return it; or enable 8BITMIME on %s.", x->cip,
		    x->server);
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		return true;
	}
	return false;
}

static bool
r_body_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		int code = t->mail_reply_code;
		const struct enh_code *en = &t->mail_enh;

		if (t->body == BODY_NONE || code < 400)
			continue;
		if (!(code == 501 || code == 504 || code == 555 ||
		    (en->subject == 5 && (en->detail == 2 || en->detail == 4)) ||
		    en->subject == 6 || a_contains(t->mail_reply_text.p,
		    t->mail_reply_text.len, "BODY") || looks_8bit_text(&t->mail_reply_text)))
			continue;
		claim(x, tf->mail_reply_seq);
		sb_add(&fd->sum, "Server %s refused MAIL FROM:<%s> BODY=%s from client %s "
		    "with %d.", x->server, ws(&t->mail_from, a, sizeof(a)),
		    body_type_name(t->body), x->client, code);
		sb_add(&fd->dia, "The server rejected the BODY= parameter (%s; reply \"%s\"). ",
		    code_class(en, code, c, sizeof(c)), ws(&t->mail_reply_text, b, sizeof(b)));
		if ((t->body == BODY_8BITMIME && !(tf->caps_at_mail & CAPF(8BITMIME))) ||
		    (t->body == BODY_BINARYMIME && !(tf->caps_at_mail & CAPF(BINARYMIME))))
			sb_add(&fd->dia, "It had not offered the extension, so the client "
			    "should not have used it (RFC 6152 section 3, RFC 3030).");
		else
			sb_add(&fd->dia, "It offered the extension, yet refuses the parameter: "
			    "a server or proxy that advertises what it does not implement.");
		sb_add(&fd->fix, "On the sender %s: use BODY= only when the EHLO reply offers "
		    "it, and convert to 7-bit otherwise. On %s: offer only the "
		    "extensions it implements (or enable 8BITMIME/BINARYMIME "
		    "properly). %s", x->cip, x->server, retry_word(code));
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		return true;
	}
	return false;
}

static bool
r_8bit_undeclared(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[80], b[80];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool offered = (tf->caps_at_mail & CAPF(8BITMIME)) != 0;
		bool declared = t->body == BODY_8BITMIME || t->body == BODY_BINARYMIME;

		/* The catalogue: 8-bit octets when 8BITMIME was not offered, or
		 * when MAIL did not declare them.  Declared and offered is fine. */
		if (t->eightbit_bytes == 0 || (declared && (offered || !tf->caps_known)))
			continue;
		if (declared)
			sb_add(&fd->sum, "Client %s sent %llu octets >= 0x80 (first at "
			    "offset %llu) in a message to %s, which had not offered "
			    "8BITMIME.", x->client,
			    (unsigned long long)t->eightbit_bytes,
			    (unsigned long long)t->first_8bit_off, x->server);
		else
			sb_add(&fd->sum, "Client %s sent %llu octets >= 0x80 (first at "
			    "offset %llu) in a message to %s without declaring "
			    "BODY=8BITMIME%s.", x->client,
			    (unsigned long long)t->eightbit_bytes,
			    (unsigned long long)t->first_8bit_off, x->server,
			    tf->caps_known && !offered ? "; the server had not offered 8BITMIME" : "");
		sb_add(&fd->dia, "%s (RFC 6152 section 3, RFC 5321 section 2.4); its top-level ",
		    declared ? "Without the server's 8BITMIME offer a message must be 7-bit, "
		    "whatever its BODY= parameter says" :
		    "A message sent without BODY=8BITMIME must be 7-bit");
		sb_add(&fd->dia, "Content-Transfer-Encoding is %s%s%s and its charset "
		    "%s%s%s (RFC 2045 section 6 wants 8bit declared as such). The "
		    "server may refuse it, strip the high bit, or pass it on to a hop "
		    "that does.",
		    t->cte.p ? "\"" : "", t->cte.p ? ws(&t->cte, a, sizeof(a)) : "not declared",
		    t->cte.p ? "\"" : "", t->charset.p ? "\"" : "",
		    t->charset.p ? ws(&t->charset, b, sizeof(b)) : "not declared",
		    t->charset.p ? "\"" : "");
		if (t->reply_code != 0)
			sb_add(&fd->dia, " The server answered the message with %d.",
			    t->reply_code);
		if (offered)
			sb_add(&fd->fix, "The server offers 8BITMIME: make the sender %s declare "
			    "BODY=8BITMIME for 8-bit messages.", x->cip);
		else
			sb_add(&fd->fix, "Make the sender %s encode 8-bit content as "
			    "quoted-printable or base64 when the server does not offer "
			    "8BITMIME, or enable 8BITMIME on %s.", x->cip, x->server);
		evidence_tx_mail(&fd->e, tf);
		ev(&fd->e, tf->data_seq, 3);
		ev(&fd->e, tf->end_seq, 5);
		ev(&fd->e, tf->final_seq, 4);
		if (!offered)
			evidence_hello(x, &fd->e);
		return true;
	}
	return false;
}

static bool
r_8bit_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (t->eightbit_bytes == 0 || tf->final_seq == NOSEQ ||
		    t->reply_code < 400)
			continue;
		if (t->enh.subject != 6 && !looks_8bit_text(&t->reply_text))
			continue;
		claim(x, tf->final_seq);
		sb_add(&fd->sum, "Server %s refused an 8-bit message from client %s with %d.",
		    x->server, x->client, t->reply_code);
		sb_add(&fd->dia, "The message held %llu octets >= 0x80 (BODY=%s) and the "
		    "server refused it at the end of data with %s (\"%s\"). ",
		    (unsigned long long)t->eightbit_bytes,
		    t->body == BODY_NONE ? "not declared" : body_type_name(t->body),
		    code_class(&t->enh, t->reply_code, c, sizeof(c)),
		    ws(&t->reply_text, b, sizeof(b)));
		sb_add(&fd->dia, "%s", retry_word(t->reply_code));
		sb_add(&fd->fix, "Make the sender %s encode the content as quoted-printable "
		    "or base64 (and declare the charset), or allow 8-bit content on %s.",
		    x->cip, x->server);
		evidence_tx_mail(&fd->e, tf);
		ev(&fd->e, tf->end_seq, 5);
		ev_range(&fd->e, tf->final_seq, tf->final_last, 5);
		return true;
	}
	return false;
}

static bool
r_smtputf8_abort(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!abort_after_ehlo(x->s) || !(r->capflags & CAPF(8BITMIME)) ||
	    (r->capflags & CAPF(SMTPUTF8)))
		return false;
	sb_add(&fd->sum, "Client %s gave up on %s after its EHLO reply lacked SMTPUTF8: "
	    "RSET then %s, no MAIL FROM.", x->client, x->server, how_ended(x));
	sb_add(&fd->dia, "Server %s offered 8BITMIME but not SMTPUTF8 (RFC 6531). Client "
	    "%s reset and ended the session before MAIL FROM: it probably holds a "
	    "message with a UTF-8 address or UTF-8 headers that it cannot "
	    "downgrade, so it will return a non-delivery report to the sender.",
	    x->server, x->cip);
	fd->conf = abort_confidence(x, fd->conf, false, &fd->dia);
	sb_add(&fd->fix, "Enable SMTPUTF8 on %s (Postfix: smtputf8_enable = yes; "
	    "Exchange and most current MTAs support it), or have the sender use "
	    "ASCII addresses for this destination.", x->server);
	evidence_abort(x, &fd->e);
	return true;
}

static bool
r_smtputf8_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool offered = (tf->caps_at_mail & CAPF(SMTPUTF8)) != 0;
		bool param_unoffered = t->smtputf8 && tf->caps_known && !offered;
		bool addr_undeclared = tf->addr_8bit && (!t->smtputf8 || !offered);

		if (!param_unoffered && !addr_undeclared)
			continue;
		if (param_unoffered)
			sb_add(&fd->sum, "Client %s sent MAIL FROM:<%s> SMTPUTF8 to %s, which "
			    "had not offered SMTPUTF8.", x->client,
			    ws(&t->mail_from, a, sizeof(a)), x->server);
		else
			sb_add(&fd->sum, "Client %s sent a non-ASCII envelope address to %s "
			    "without %s.", x->client, x->server,
			    t->smtputf8 ? "the server's SMTPUTF8 offer" :
			    "the SMTPUTF8 parameter");
		sb_add(&fd->dia, "RFC 6531 section 3 allows UTF-8 in envelope addresses only "
		    "with the SMTPUTF8 parameter on MAIL, after the server offered "
		    "SMTPUTF8. Servers refuse such addresses (553 5.6.7 typically) or "
		    "mangle them.");
		sb_add(&fd->fix, "Make the sender %s use SMTPUTF8 only when offered, and "
		    "otherwise use an ASCII alias of the address or bounce; or enable "
		    "SMTPUTF8 on %s.", x->cip, x->server);
		evidence_tx_mail(&fd->e, tf);
		ev(&fd->e, tf->addr_8bit_seq, 5);
		ev(&fd->e, x->f->r567_seq, 4);
		if (!offered)
			evidence_hello(x, &fd->e);
		return true;
	}
	if (x->f->r567_seq != NOSEQ) {
		sb_add(&fd->sum, "Server %s refused a non-ASCII address from client %s "
		    "(5.6.7).", x->server, x->client);
		sb_add(&fd->dia, "RFC 6531: a UTF-8 address needs SMTPUTF8 on both sides; "
		    "the server says this one is not permitted.");
		sb_add(&fd->fix, "Use an ASCII address for this recipient or sender, or "
		    "enable SMTPUTF8 on %s.", x->server);
		ev(&fd->e, x->f->r567_seq, 5);
		ev(&fd->e, x->f->r567_seq - 1, 4);
		return true;
	}
	return false;
}

static bool
r_smtputf8_without_8bitmime(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!x->f->ehlo_ok || !(r->capflags & CAPF(SMTPUTF8)) ||
	    (r->capflags & CAPF(8BITMIME)))
		return false;
	sb_add(&fd->sum, "Server %s offers SMTPUTF8 but not 8BITMIME to client %s.",
	    x->server, x->client);
	sb_add(&fd->dia, "RFC 6531 section 3 requires a server offering SMTPUTF8 to "
	    "offer 8BITMIME too. The missing 8BITMIME points to a keyword removed "
	    "on purpose (a keyword filter or a middlebox); senders holding 8-bit "
	    "messages will abort or downgrade.");
	sb_add(&fd->fix, "Offer 8BITMIME on %s again (Postfix: remove it from "
	    "smtpd_discard_ehlo_keywords; Domino: enable the 8-bit MIME extension), "
	    "or stop offering SMTPUTF8.", x->server);
	ev(&fd->e, x->f->ehlo_seq, 3);
	ev_range(&fd->e, x->f->ehlo_reply_seq, x->f->ehlo_reply_last, 3);
	return true;
}

static bool
r_binarymime_violation(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	bool any = false;

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		uint32_t need = CAPF(BINARYMIME) | CAPF(CHUNKING);

		if (t->body == BODY_BINARYMIME && tf->caps_known &&
		    (tf->caps_at_mail & need) != need) {
			sb_add(&fd->dia, "BODY=BINARYMIME was sent without the BINARYMIME and "
			    "CHUNKING offers (RFC 3030 section 3). ");
			ev(&fd->e, tf->mail_seq, 5);
			any = true;
		}
		if (tf->binary_data_seq != NOSEQ) {
			sb_add(&fd->dia, "A BINARYMIME message was sent with DATA; it must go "
			    "with BDAT (RFC 3030 section 3). ");
			ev(&fd->e, tf->binary_data_seq, 5);
			any = true;
		}
		if (tf->first_bdat_seq != NOSEQ && tf->caps_known &&
		    !(tf->caps_at_mail & CAPF(CHUNKING))) {
			sb_add(&fd->dia, "BDAT was sent although CHUNKING was not offered "
			    "(RFC 3030 section 2). ");
			ev(&fd->e, tf->first_bdat_seq, 5);
			any = true;
		}
		if (tf->bdat_mismatch) {
			sb_add(&fd->dia, "A BDAT chunk size did not match the octets sent: the "
			    "line after the chunk is not a command, so client and server "
			    "no longer agree where commands are. ");
			ev(&fd->e, tf->first_bdat_seq, 4);
			ev(&fd->e, tf->mismatch_seq, 5);
			any = true;
		}
		if (tf->data_and_bdat) {
			sb_add(&fd->dia, "DATA and BDAT were mixed in one transaction (RFC 3030 "
			    "section 2 forbids it). ");
			ev(&fd->e, tf->data_seq, 5);
			ev(&fd->e, tf->first_bdat_seq, 5);
			any = true;
		}
		if (any) {
			ev(&fd->e, tf->end_seq, 3);
			ev(&fd->e, tf->final_seq, 3);
			break;
		}
	}
	if (!any)
		return false;
	sb_add(&fd->sum, "Client %s broke the BINARYMIME/CHUNKING rules of RFC 3030 in "
	    "a transaction with %s.", x->client, x->server);
	sb_add(&fd->fix, "Fix the sender %s: use BDAT and BODY=BINARYMIME only when "
	    "CHUNKING (and BINARYMIME) are offered, send exactly the announced "
	    "chunk sizes, and never mix DATA and BDAT.", x->cip);
	evidence_hello(x, &fd->e);
	return true;
}

/* ---------------------------------------------------------------------
 * Greeting, EHLO, capabilities
 * ------------------------------------------------------------------ */
static bool
r_ehlo_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!r->helo_fallback)
		return false;
	sb_add(&fd->sum, "Server %s refused EHLO from client %s, which fell back to HELO: "
	    "no ESMTP extension is available in this session.", x->server, x->client);
	sb_add(&fd->dia, "After HELO (RFC 5321 section 3.2) there is no 8BITMIME, SIZE, "
	    "PIPELINING, STARTTLS, DSN or SMTPUTF8: 8-bit messages must be "
	    "converted or bounced, and mail travels in cleartext. This is often the "
	    "root of the 8-bit incidents and of unencrypted delivery. A server "
	    "refusing EHLO is typically very old, or a firewall SMTP 'fixup' "
	    "(Cisco PIX/ASA inspection) is in the path.");
	sb_add(&fd->fix, "Find why %s refuses EHLO: if an SMTP inspection feature of a "
	    "firewall sits between the hosts, disable it or allow ESMTP; otherwise "
	    "upgrade or reconfigure the server to support ESMTP.", x->server);
	ev(&fd->e, x->f->ehlo_rej_seq, 5);
	ev(&fd->e, x->f->ehlo_rej_reply_seq, 5);
	ev(&fd->e, x->f->helo_seq, 4);
	ev(&fd->e, x->f->helo_reply_seq, 4);
	return true;
}

static bool
r_greeting_refused(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char b[200];

	if (r->banner_code < 400)
		return false;
	claim(x, x->f->greeting_seq);
	sb_add(&fd->sum, "Server %s refused client %s at the greeting with %d.", x->server,
	    x->client, r->banner_code);
	sb_add(&fd->dia, "The first reply was %d (\"%s\") instead of 220 (RFC 5321 "
	    "section 3.1, 4.3.1): %s", r->banner_code, ws(&r->banner, b, sizeof(b)),
	    r->banner_code == 421 ? "the server is shutting down, overloaded or "
	    "limiting connections; the client will retry later." :
	    "the server will not talk to this client at all, typically a DNSBL "
	    "listing, a connection-rate policy or a blocked network.");
	sb_add(&fd->fix, "Read the greeting text; check %s against the blocklists or "
	    "connection limits named there, or raise the limits on %s.", x->cip,
	    x->server);
	ev_range(&fd->e, x->f->greeting_seq, x->f->greeting_last, 5);
	ev(&fd->e, x->f->quit_seq, 2);
	return true;
}

static bool
r_early_talker(struct ictx *x, struct finding *fd)
{

	/* A greeting lost in a capture gap, or a session joined mid-stream
	 * (known only once the server's first line failed to parse), is not
	 * a client talking first. */
	if (x->f->early_seq == NOSEQ || x->f->greeting_lost ||
	    (x->r->flags & SF_MID_STREAM))
		return false;
	sb_add(&fd->sum, "Client %s spoke before %s sent its greeting.", x->client,
	    x->server);
	sb_add(&fd->dia, "RFC 5321 section 4.3.1: the client must wait for the 220 "
	    "greeting. Talking first is the signature of spam software; Postfix "
	    "postscreen, Sendmail greet_pause and Exim's early-talker check reject "
	    "such clients. A legitimate MTA doing this is broken, or a proxy in "
	    "front of the server delays the greeting.");
	sb_add(&fd->fix, "If %s is a legitimate sender, fix its SMTP client to wait "
	    "for the greeting, or whitelist it on %s.", x->cip, x->server);
	ev(&fd->e, x->f->early_seq, 5);
	ev(&fd->e, x->f->greeting_seq, 4);
	return true;
}

static bool
r_abort_after_capabilities(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char miss[200];

	if (!abort_after_ehlo(x->s))
		return false;
	(void)missing_notable(r->capflags, miss, sizeof(miss));
	sb_add(&fd->sum, "Client %s gave up on %s after reading its EHLO reply: RSET then "
	    "%s, no MAIL FROM.", x->client, x->server, how_ended(x));
	sb_add(&fd->dia, "The server offered: ");
	caps_list(r, &fd->dia);
	sb_add(&fd->dia, ". Extensions a sender may need that were missing: %s. A "
	    "client that resets and leaves without MAIL FROM may need one of them "
	    "(STARTTLS under a mandatory-TLS policy, SIZE for a large message), or "
	    "may be a probe or an address verifier.", miss[0] ? miss : "none");
	sb_add(&fd->fix, "Check the sender %s's logs for why it did not proceed (TLS "
	    "policy, message size, a missing extension); if it is a monitoring "
	    "probe, no action is needed.", x->cip);
	fd->conf = abort_confidence(x, fd->conf, false, &fd->dia);
	evidence_abort(x, &fd->e);
	return true;
}

static bool
r_capability_stripped(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[160];

	if (f->masked_seq == NOSEQ && f->stripped_bits == 0)
		return false;
	if (f->masked_seq != NOSEQ) {
		l = tr_find(x->s, f->masked_seq);
		sb_add(&fd->sum, "The EHLO reply from %s to client %s holds a masked "
		    "keyword \"%s\": a middlebox is blanking an extension.", x->server,
		    x->client, l != NULL ? ws(&l->text, b, sizeof(b)) : "?");
		sb_add(&fd->dia, "A keyword of X's (XXXXXXXA stands where STARTTLS was) is "
		    "what Cisco PIX/ASA SMTP inspection (fixup/ESMTP inspection) "
		    "leaves when it removes an extension it does not know. Clients "
		    "then cannot use it (RFC 3207 section 4, 6): mail goes in "
		    "cleartext or 8-bit messages are refused. ");
	} else {
		sb_add(&fd->sum, "Server %s offered %s%s%s earlier in the session but no "
		    "longer does to client %s.", x->server,
		    (f->stripped_bits & CAPF(STARTTLS)) ? "STARTTLS" : "",
		    (f->stripped_bits & CAPF(STARTTLS)) && (f->stripped_bits & CAPF(8BITMIME)) ?
		    " and " : "",
		    (f->stripped_bits & CAPF(8BITMIME)) ? "8BITMIME" : "", x->client);
		sb_add(&fd->dia, "Two cleartext EHLO replies in one session differ: "
		    "something between the hosts rewrites the reply, or the server's "
		    "configuration depends on state it should not. ");
	}
	sb_add(&fd->fix, "Disable SMTP/ESMTP inspection on the firewall between %s and "
	    "%s (Cisco ASA: no inspect esmtp, or allow the extension in the "
	    "policy map), or make it pass EHLO replies unchanged.", x->cip, x->sip);
	if (f->masked_seq == NOSEQ)
		fd->conf = CONF_PROBABLE;
	ev(&fd->e, f->masked_seq, 5);
	ev(&fd->e, f->stripped_seq, 5);
	ev(&fd->e, f->ehlo_seq, 4);
	ev_range(&fd->e, f->ehlo_reply_seq, f->ehlo_reply_last, 2);
	return true;
}

/* ---------------------------------------------------------------------
 * STARTTLS
 * ------------------------------------------------------------------ */
static bool
r_starttls_refused(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *l;
	char b[200];

	if (!r->starttls_cmd || r->starttls_reply_code == 0 ||
	    r->starttls_reply_code == 220)
		return false;
	claim(x, x->f->starttls_reply_seq);
	l = tr_find(x->s, x->f->starttls_reply_seq);
	sb_add(&fd->sum, "Server %s refused STARTTLS from client %s with %d.", x->server,
	    x->client, r->starttls_reply_code);
	sb_add(&fd->dia, "The reply was \"%s\" (RFC 3207 section 4). ",
	    l != NULL ? ws(&l->text, b, sizeof(b)) : "?");
	if (r->starttls_reply_code == 454)
		sb_add(&fd->dia, "454 usually means the server cannot load its certificate "
		    "or key, or its TLS library failed. ");
	sb_add(&fd->dia, "%s", (x->f->cmds_ever & CMDB(MAIL)) ?
	    "The client then went on in cleartext." :
	    "The client did not send mail in this session.");
	sb_add(&fd->fix, "Check the TLS configuration and logs of %s (certificate and "
	    "key files readable, matching, not expired), or stop offering STARTTLS "
	    "if TLS is not meant to work.", x->server);
	ev(&fd->e, x->f->starttls_seq, 5);
	ev(&fd->e, x->f->starttls_reply_seq, 5);
	ev(&fd->e, x->s->rec.ntx > 0 ? x->s->txf[0].mail_seq : NOSEQ, 3);
	return true;
}

static bool
r_starttls_not_used(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (r->starttls_cmd || (r->flags & SF_TLS) || is_loopback(r))
		return false;
	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_facts *tf = &x->s->txf[i];

		if (!(tf->caps_at_mail & CAPF(STARTTLS)))
			continue;
		sb_add(&fd->sum, "Client %s sent mail to %s in cleartext although the "
		    "server offered STARTTLS.", x->client, x->server);
		sb_add(&fd->dia, "The server offered STARTTLS (RFC 3207) and the client "
		    "went on to MAIL FROM without it: envelope and message crossed "
		    "the network unencrypted.");
		sb_add(&fd->fix, "Enable opportunistic TLS on the sender %s (Postfix: "
		    "smtp_tls_security_level = may; Exchange: TLS on the send "
		    "connector).", x->cip);
		evidence_hello(x, &fd->e);
		ev(&fd->e, tf->mail_seq, 5);
		return true;
	}
	return false;
}

static bool
r_starttls_handshake_failed(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;

	if (!(r->flags & SF_TLS))
		return false;
	if (f->plain_after_tls) {
		/* Cleartext commands after the 220: when the server answered
		 * them in cleartext too, the capture was decrypted (or taken
		 * behind a TLS proxy) and nothing failed; when it did not, the
		 * client never started TLS. */
		if (f->plain_replies > 0)
			return false;
		sb_add(&fd->sum, "Client %s did not start TLS after %s accepted STARTTLS: "
		    "it sent commands in cleartext.", x->client, x->server);
		sb_add(&fd->dia, "After 220 the client must send a TLS ClientHello, a "
		    "record starting 0x16 0x03 (RFC 3207 section 4.1); it sent SMTP "
		    "commands in cleartext, which the server did not answer: a client "
		    "or proxy that does not implement STARTTLS.");
	} else if (f->tls_c_bytes >= 2 && !(f->tls_c_first[0] == 0x16 && f->tls_c_first[1] == 0x03)) {
		bool text = f->tls_c_first[0] >= 0x20 && f->tls_c_first[0] < 0x7f;

		sb_add(&fd->sum, "Client %s did not start TLS after %s accepted STARTTLS: "
		    "its first bytes are %s.", x->client, x->server,
		    text ? "plaintext" : "not a TLS record");
		sb_add(&fd->dia, "After 220 the client must send a TLS ClientHello, a "
		    "record starting 0x16 0x03 (RFC 3207 section 4.1); it sent 0x%02x "
		    "0x%02x%s.", f->tls_c_first[0], f->tls_c_first[1],
		    text ? ", which looks like SMTP commands in cleartext: a client "
		    "or proxy that does not implement STARTTLS" : "");
	} else if (f->tls_c_bytes == 0 && closed(r)) {
		sb_add(&fd->sum, "Client %s closed the connection to %s right after STARTTLS "
		    "was accepted, without a TLS handshake.", x->client, x->server);
		sb_add(&fd->dia, "No TLS byte followed the 220 (RFC 3207 section 4.1): the "
		    "client's TLS library failed before the handshake, or a policy "
		    "made it give up.");
	} else if (f->tls_c_bytes > 0 && f->tls_s_bytes == 0 && closed(r)) {
		fd->conf = CONF_PROBABLE;
		sb_add(&fd->sum, "The TLS handshake between client %s and %s failed: the "
		    "server never answered the client's hello.", x->client, x->server);
		sb_add(&fd->dia, "The client sent %llu bytes of TLS and the connection "
		    "closed before the server sent any: the server rejected the "
		    "ClientHello (no common protocol version or cipher) or its TLS "
		    "setup is broken.", (unsigned long long)f->tls_c_bytes);
	} else {
		return false;
	}
	sb_add(&fd->fix, "Check both TLS configurations (protocol versions, ciphers, "
	    "certificate) and the logs of %s for the handshake error; if a device "
	    "in the path intercepts STARTTLS, disable that.", x->server);
	ev(&fd->e, f->starttls_seq, 5);
	ev(&fd->e, f->starttls_reply_seq, 5);
	ev(&fd->e, f->starttls_reply_seq == NOSEQ ? NOSEQ : f->starttls_reply_seq + 1, 4);
	if (f->plain_after_tls)
		ev(&fd->e, f->plain_seq + 1, 5);	/* the first cleartext command */
	return true;
}

static bool
r_starttls_injection(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (f->inj_client_seq == NOSEQ && f->inj_server_bytes == 0)
		return false;
	if (f->inj_client_seq != NOSEQ) {
		sb_add(&fd->sum, "Client %s sent commands after STARTTLS in the same packet, "
		    "before %s answered.", x->client, x->server);
		sb_add(&fd->dia, "STARTTLS must end a pipelined group (RFC 3207 section 4.2, "
		    "RFC 2920 section 3.1). A server that buffers those bytes and runs "
		    "them inside the TLS session is open to command injection "
		    "(CVE-2011-0411 class); an attacker in the path can plant them. ");
	}
	if (f->inj_server_bytes > 0) {
		if (fd->sum.n == 0)
			sb_add(&fd->sum, "Server %s sent %llu bytes after accepting STARTTLS "
			    "from client %s, before the TLS handshake.", x->server,
			    (unsigned long long)f->inj_server_bytes, x->client);
		sb_add(&fd->dia, "After 220 Ready to start TLS the server must wait for the "
		    "client's handshake; %llu cleartext bytes came first. A "
		    "man-in-the-middle injecting responses that a vulnerable client "
		    "would read as coming from inside TLS looks like this.",
		    (unsigned long long)f->inj_server_bytes);
	}
	sb_add(&fd->fix, "Make sure %s discards buffered input when TLS starts (patched "
	    "MTA), and investigate the path between %s and %s for an intercepting "
	    "device.", x->server, x->cip, x->sip);
	ev(&fd->e, f->starttls_seq, 5);
	ev(&fd->e, f->inj_client_seq, 5);
	ev(&fd->e, f->starttls_reply_seq, 4);
	return true;
}

static bool
r_tls_required(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[200];

	if (f->r530_seq == NOSEQ || (l = tr_find(x->s, f->r530_seq)) == NULL ||
	    !a_contains(l->text.p, l->text.len, "TLS"))
		return false;
	claim(x, f->r530_seq);
	sb_add(&fd->sum, "Server %s requires STARTTLS and refused client %s's "
	    "cleartext command with 530.", x->server, x->client);
	sb_add(&fd->dia, "The reply was \"%s\" (RFC 3207 section 4): the server's "
	    "policy demands TLS and the client %s.", ws(&l->text, b, sizeof(b)),
	    (x->r->capflags & CAPF(STARTTLS)) ? "did not use the STARTTLS it was "
	    "offered" : "was not even offered STARTTLS, so a middlebox may have "
	    "removed it");
	sb_add(&fd->fix, "Enable TLS on the sender %s (Postfix: smtp_tls_security_level "
	    "= may or encrypt), or relax the TLS requirement on %s for this client.",
	    x->cip, x->server);
	ev(&fd->e, f->r530_seq, 5);
	ev(&fd->e, f->r530_seq - 1, 4);
	evidence_hello(x, &fd->e);
	return true;
}

/* ---------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------ */
static bool
r_size_exceeded(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (r->size_limit == 0)
			break;
		if (t->size_param > r->size_limit) {
			sb_add(&fd->dia, "MAIL declared SIZE=%llu, above the %llu the server "
			    "offered (RFC 1870). ", (unsigned long long)t->size_param,
			    (unsigned long long)r->size_limit);
			ev(&fd->e, tf->mail_seq, 5);
			ev(&fd->e, tf->mail_reply_seq, 4);
		} else if (t->data_bytes > r->size_limit) {
			sb_add(&fd->dia, "The message was %llu octets, above the %llu the server "
			    "offered (RFC 1870). ", (unsigned long long)t->data_bytes,
			    (unsigned long long)r->size_limit);
			ev(&fd->e, tf->end_seq, 5);
			ev(&fd->e, tf->final_seq, 4);
		}
	}
	if (f->r552_seq != NOSEQ && (l = tr_find(x->s, f->r552_seq)) != NULL) {
		claim(x, f->r552_seq);
		sb_add(&fd->dia, "The server refused with \"%s\". ", ws(&l->text, b, sizeof(b)));
		ev(&fd->e, f->r552_seq, 5);
		ev(&fd->e, f->r552_seq - 1, 3);
	}
	if (fd->dia.n == 0)
		return false;
	sb_add(&fd->sum, "A message from client %s to %s exceeds the server's size "
	    "limit.", x->client, x->server);
	sb_add(&fd->fix, "Raise the message size limit on %s (Postfix: "
	    "message_size_limit; Exchange: receive connector and transport limits) "
	    "or have the sender send smaller messages; the sender %s should honour "
	    "the SIZE offer and bounce early.", x->server, x->cip);
	return true;
}

static bool
r_auth_problem(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;
	char m[80];
	bool failed = r->auth_reply_code == 535 || r->auth_reply_code == 534 ||
	    r->auth_reply_code == 538 || r->auth_reply_code == 454 ||
	    r->auth_reply_code == 504;
	bool required = f->r530_seq != NOSEQ && !claimed(x, f->r530_seq);

	if (!failed && !f->auth_cleartext && !f->auth_unoffered && !required)
		return false;
	if (failed)
		sb_add(&fd->sum, "Server %s refused AUTH %s from client %s with %d.",
		    x->server, ws(&r->auth_used, m, sizeof(m)), x->client,
		    r->auth_reply_code);
	else if (f->auth_cleartext)
		sb_add(&fd->sum, "Client %s authenticated to %s in cleartext although "
		    "STARTTLS was offered.", x->client, x->server);
	else if (f->auth_unoffered)
		sb_add(&fd->sum, "Client %s sent AUTH to %s, which had not offered AUTH.",
		    x->client, x->server);
	else
		sb_add(&fd->sum, "Server %s requires authentication from client %s (530).",
		    x->server, x->client);
	if (failed) {
		sb_add(&fd->dia, "RFC 4954: %s. ", r->auth_reply_code == 535 ?
		    "535 5.7.8 means the credentials were wrong (or the account is "
		    "locked)" : r->auth_reply_code == 534 ?
		    "534 5.7.9 means the mechanism is too weak for the server's policy" :
		    r->auth_reply_code == 538 ?
		    "538 5.7.11 means the mechanism needs an encrypted session" :
		    r->auth_reply_code == 504 ? "504 means the mechanism is not supported" :
		    "454 4.7.0 means a temporary authentication failure on the server");
		claim(x, f->auth_reply_seq);
	}
	if (f->auth_cleartext)
		sb_add(&fd->dia, "AUTH was sent before STARTTLS although STARTTLS was "
		    "offered: the credentials crossed the network readable (they are "
		    "masked in this transcript). ");
	if (f->auth_unoffered)
		sb_add(&fd->dia, "The EHLO reply had no AUTH keyword. ");
	if (required) {
		sb_add(&fd->dia, "The server answered 530: it wants authentication before "
		    "it accepts this mail. ");
		claim(x, f->r530_seq);
	}
	sb_add(&fd->fix, "Check the account and mechanism configured on the sender %s; "
	    "use STARTTLS before AUTH (Postfix: smtp_tls_security_level = encrypt "
	    "with smtp_sasl_auth_enable); on %s, offer AUTH only over TLS "
	    "(smtpd_tls_auth_only = yes).", x->cip, x->server);
	if (failed)
		fd->sev = SEV_ERROR;
	ev(&fd->e, f->auth_seq, 5);
	ev(&fd->e, f->auth_reply_seq, 5);
	ev(&fd->e, required ? f->r530_seq : NOSEQ, 5);
	evidence_hello(x, &fd->e);
	return true;
}

static bool
r_bare_lf(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;
	uint64_t in_data = 0;

	for (size_t i = 0; i < r->ntx; i++) {
		if (r->tx[i].bare_lf > 0) {
			in_data += r->tx[i].bare_lf;
			ev(&fd->e, x->s->txf[i].end_seq, 5);
			ev(&fd->e, x->s->txf[i].final_seq, 3);
		}
	}
	if (f->bare_cmd_seq == NOSEQ && in_data == 0 && f->r5611_seq == NOSEQ)
		return false;
	sb_add(&fd->sum, "Client %s sent bare LF or CR line endings to %s.", x->client,
	    x->server);
	if (f->bare_cmd_seq != NOSEQ)
		sb_add(&fd->dia, "Command lines ended without CRLF (%u bare LF, %u bare CR "
		    "lines). ", r->anomalies[SAN_BARE_LF], r->anomalies[SAN_BARE_CR]);
	if (in_data > 0)
		sb_add(&fd->dia, "The message content held %llu bare LF or CR. ",
		    (unsigned long long)in_data);
	sb_add(&fd->dia, "RFC 5321 section 2.3.8 allows CR and LF only as CRLF. Servers "
	    "differ in how they read them, which is what SMTP smuggling exploits "
	    "(CVE-2023-51764/5/6); Exchange refuses with 550 5.6.11, Postfix "
	    "with smtpd_forbid_bare_newline.");
	if (f->r5611_seq != NOSEQ) {
		sb_add(&fd->dia, " The server refused with 5.6.11.");
		claim(x, f->r5611_seq);
	}
	sb_add(&fd->fix, "Fix the sending software on %s to send CRLF line endings (an "
	    "application writing Unix text into the SMTP stream is the usual "
	    "cause).", x->cip);
	ev(&fd->e, f->bare_cmd_seq, 5);
	ev(&fd->e, f->r5611_seq, 5);
	return true;
}

static bool
r_smuggling_eod(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	uint64_t n = 0;

	for (size_t i = 0; i < r->ntx; i++) {
		if (x->s->txf[i].smuggle > 0) {
			n += x->s->txf[i].smuggle;
			ev(&fd->e, x->s->txf[i].mail_seq, 3);
			ev(&fd->e, x->s->txf[i].end_seq, 5);
			ev(&fd->e, x->s->txf[i].final_seq, 4);
		}
	}
	if (n == 0)
		return false;
	sb_add(&fd->sum, "Client %s sent %llu end-of-data look-alike%s (\\n.\\n, "
	    "\\n.\\r\\n, \\r\\n.\\n or \\r.\\r) inside a message to %s: SMTP "
	    "smuggling.", x->client, (unsigned long long)n, n == 1 ? "" : "s",
	    x->server);
	sb_add(&fd->dia, "Only CRLF.CRLF ends a message (RFC 5321 section 4.1.1.4). A "
	    "server that also accepts these variants ends the message early and "
	    "reads what follows as new SMTP commands: a second, forged message "
	    "that passes SPF/DMARC for the outbound server's domain "
	    "(CVE-2023-51764, CVE-2023-51765, CVE-2023-51766). This transcript "
	    "took only CRLF.CRLF as the end.");
	sb_add(&fd->fix, "Patch %s (Postfix 3.8.5+/smtpd_forbid_bare_newline = yes, "
	    "Sendmail 8.18, Exim 4.97.1) and any outbound relay; find who "
	    "submitted this message through %s.", x->server, x->cip);
	return true;
}

/* MAIL refused with 5xx (reject) or 4xx (defer). */
static bool
mail_refused(struct ictx *x, struct finding *fd, bool perm)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		int code = t->mail_reply_code;

		/* A nested MAIL refused (503 while a transaction was open) is
		 * the client's sequencing, not the sender being refused. */
		if ((perm ? code < 500 : (code < 400 || code >= 500)) ||
		    code == 421 || tf->nested || claimed(x, tf->mail_reply_seq))
			continue;
		sb_add(&fd->sum, "Server %s %s MAIL FROM:<%s> from client %s with %d.",
		    x->server, perm ? "rejected" : "deferred",
		    ws(&t->mail_from, a, sizeof(a)), x->client, code);
		sb_add(&fd->dia, "Reply \"%s\": %s, %s. %s", ws(&t->mail_reply_text, b,
		    sizeof(b)), code_class(&t->mail_enh, code, c, sizeof(c)),
		    class_advice(&t->mail_enh, code), retry_word(code));
		sb_add(&fd->fix, "Read the reply text: fix the sender address or its "
		    "domain's DNS/SPF if the server names it, or check %s's sender "
		    "restrictions and logs for client %s.", x->server, x->cip);
		ev(&fd->e, tf->mail_seq, 5);
		ev_range(&fd->e, tf->mail_reply_seq, tf->mail_reply_last, 5);
		return true;
	}
	return false;
}

static bool
r_mail_rejected(struct ictx *x, struct finding *fd)
{
	return mail_refused(x, fd, true);
}

static bool
r_mail_deferred(struct ictx *x, struct finding *fd)
{
	return mail_refused(x, fd, false);
}

static bool
r_all_recipients_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool all = t->nrcpts > 0;

		for (size_t k = 0; k < t->nrcpts; k++)
			if (t->rcpts[k].reply_code < 400)
				all = false;
		if (!all || !t->data_cmd || t->mail_reply_code >= 400)
			continue;
		sb_add(&fd->sum, "Server %s refused every recipient of client %s's "
		    "transaction, and the client sent DATA anyway.", x->server, x->client);
		sb_add(&fd->dia, "Recipients refused:");
		for (size_t k = 0; k < t->nrcpts; k++) {
			sb_add(&fd->dia, "%s <%s> %d", k ? "," : "", ws(&t->rcpts[k].addr, a,
			    sizeof(a)), t->rcpts[k].reply_code);
			claim(x, tf->rf[k].reply_seq);
			ev(&fd->e, tf->rf[k].cmd_seq, 3);
			ev(&fd->e, tf->rf[k].reply_seq, 4);
		}
		if (t->data_reply_code == 354)
			sb_add(&fd->dia, ". DATA was accepted with 354 regardless (RFC 2920 "
			    "section 3.1 lets a pipelining client find out only now), so "
			    "the message went to no one.");
		else
			sb_add(&fd->dia, ". DATA was answered %d, as RFC 5321 section 3.3 "
			    "expects with no valid recipient.", t->data_reply_code);
		claim(x, tf->data_reply_seq);
		sb_add(&fd->fix, "Fix the recipient addresses (see each reply), or the "
		    "recipient restrictions of %s for client %s.", x->server, x->cip);
		ev(&fd->e, tf->data_seq, 5);
		ev(&fd->e, tf->data_reply_seq, 5);
		return true;
	}
	return false;
}

static bool
rcpt_refused(struct ictx *x, struct finding *fd, bool perm)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];
	size_t n = 0;
	const struct rcpt_record *first = NULL;

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		for (size_t k = 0; k < t->nrcpts; k++) {
			const struct rcpt_record *rc = &t->rcpts[k];

			if ((perm ? rc->reply_code < 500 :
			    (rc->reply_code < 400 || rc->reply_code >= 500)) ||
			    rc->reply_code == 421 || claimed(x, tf->rf[k].reply_seq))
				continue;
			if (n == 0) {
				first = rc;
				sb_add(&fd->dia, "Refused:");
			}
			sb_add(&fd->dia, "%s <%s> %d \"%s\"", n ? ";" : "",
			    ws(&rc->addr, a, sizeof(a)), rc->reply_code,
			    ws(&rc->reply_text, b, sizeof(b)));
			ev(&fd->e, tf->rf[k].cmd_seq, 4);
			ev(&fd->e, tf->rf[k].reply_seq, 5);
			n++;
		}
	}
	if (n == 0)
		return false;
	if (n == 1)
		sb_add(&fd->sum, "Server %s %s recipient <%s> from client %s with %d.",
		    x->server, perm ? "rejected" : "deferred",
		    ws(&first->addr, a, sizeof(a)), x->client, first->reply_code);
	else
		sb_add(&fd->sum, "Server %s %s %zu recipients from client %s.", x->server,
		    perm ? "rejected" : "deferred", n, x->client);
	sb_add(&fd->dia, ". The first is %s: %s. %s", code_class(&first->enh,
	    first->reply_code, c, sizeof(c)), class_advice(&first->enh,
	    first->reply_code), perm ? "The sender returns a non-delivery report "
	    "for these recipients; the others are unaffected." :
	    "The sender should retry these recipients later (greylisting and "
	    "temporary lookup failures clear by themselves).");
	if (perm)
		sb_add(&fd->fix, "Check the addresses with their owners, or the recipient "
		    "tables and restrictions of %s (unknown user, relay denied, "
		    "policy).", x->server);
	else
		sb_add(&fd->fix, "Usually nothing: the sender %s retries. If the deferral "
		    "persists, check %s's greylisting, policy service or directory "
		    "lookups.", x->cip, x->server);
	return true;
}

static bool
r_rcpt_rejected(struct ictx *x, struct finding *fd)
{
	return rcpt_refused(x, fd, true);
}

static bool
r_rcpt_deferred(struct ictx *x, struct finding *fd)
{
	return rcpt_refused(x, fd, false);
}

static bool
r_data_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *l;
	char b[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (!t->data_cmd || t->data_reply_code == 0 || t->data_reply_code == 354 ||
		    t->data_reply_code == 421 || claimed(x, tf->data_reply_seq))
			continue;
		l = tr_find(x->s, tf->data_reply_seq);
		sb_add(&fd->sum, "Server %s refused DATA from client %s with %d.", x->server,
		    x->client, t->data_reply_code);
		sb_add(&fd->dia, "DATA must be answered 354 to go on (RFC 5321 section "
		    "4.1.1.4); the reply was \"%s\". %s", l != NULL ?
		    ws(&l->text, b, sizeof(b)) : "?", t->data_reply_code == 503 ?
		    "503 is a bad sequence: no MAIL or no accepted RCPT before DATA." :
		    retry_word(t->data_reply_code));
		if (tf->content_before_354)
			sb_add(&fd->dia, " The client had already sent content before the "
			    "reply.");
		sb_add(&fd->fix, "Check %s's logs for the DATA-stage restriction or "
		    "resource problem named in the reply.", x->server);
		if (t->data_reply_code < 500)
			fd->sev = SEV_WARNING;
		ev(&fd->e, tf->data_seq, 5);
		ev(&fd->e, tf->data_reply_seq, 5);
		ev(&fd->e, tf->content_before_354 ? x->f->content_early_seq : NOSEQ, 4);
		return true;
	}
	return false;
}

static bool
message_refused(struct ictx *x, struct finding *fd, bool perm)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		int code = t->reply_code;

		if (tf->final_seq == NOSEQ || (perm ? code < 500 :
		    (code < 400 || code >= 500)) || code == 421 ||
		    claimed(x, tf->final_seq))
			continue;
		sb_add(&fd->sum, "Server %s %s the message from <%s> sent by client %s with "
		    "%d after the end of data.", x->server, perm ? "rejected" : "deferred",
		    ws(&t->mail_from, a, sizeof(a)), x->client, code);
		sb_add(&fd->dia, "Reply \"%s\": %s, that is %s. %s",
		    ws(&t->reply_text, b, sizeof(b)), code_class(&t->enh, code, c,
		    sizeof(c)), class_advice(&t->enh, code), retry_word(code));
		sb_add(&fd->fix, "Read %s's logs for this queue attempt (content filter, "
		    "milter, antivirus or policy named in the reply); if the content "
		    "is legitimate, adjust the filter or have the sender %s change "
		    "the message.", x->server, x->cip);
		ev(&fd->e, tf->mail_seq, 3);
		ev(&fd->e, tf->end_seq, 5);
		ev_range(&fd->e, tf->final_seq, tf->final_last, 5);
		return true;
	}
	return false;
}

static bool
r_message_rejected(struct ictx *x, struct finding *fd)
{
	return message_refused(x, fd, true);
}

static bool
r_message_deferred(struct ictx *x, struct finding *fd)
{
	return message_refused(x, fd, false);
}

static bool
r_ndr_on_wire(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (t->mail_from.p == NULL || t->mail_from.len != 0 || !tf->dsn_report)
			continue;
		sb_add(&fd->sum, "Client %s delivered a bounce (delivery status "
		    "notification) to %s%s%s%s.", x->client, x->server,
		    t->nrcpts > 0 ? " for <" : "",
		    t->nrcpts > 0 ? ws(&t->rcpts[0].addr, a, sizeof(a)) : "",
		    t->nrcpts > 0 ? ">" : "");
		sb_add(&fd->dia, "MAIL FROM:<> with a multipart/report; "
		    "report-type=delivery-status body (RFC 3461, RFC 3464): a "
		    "non-delivery or delay report is on its way to the original "
		    "sender.");
		if (x->hm != NULL && x->hm->aborts_unoffered > 0)
			sb_add(&fd->dia, " The same client gave up %u time(s) on a server "
			    "that did not offer 8BITMIME (8bitmime-abort): this is likely "
			    "the resulting NDR.", x->hm->aborts_unoffered);
		sb_add(&fd->fix, "Nothing to fix here by itself; look for the failure it "
		    "reports (an earlier incident of client %s).", x->cip);
		ev(&fd->e, tf->mail_seq, 5);
		ev(&fd->e, tf->end_seq, 5);
		ev(&fd->e, tf->final_seq, 3);
		return true;
	}
	return false;
}

static bool
r_dsn_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool unoffered = t->dsn_params && tf->caps_known &&
		    !(tf->caps_at_mail & CAPF(DSN));
		bool refused = t->dsn_params && t->mail_reply_code == 555;

		if (!unoffered && !refused)
			continue;
		sb_add(&fd->sum, "Client %s used DSN parameters (NOTIFY/ORCPT/RET/ENVID) "
		    "with %s, which %s.", x->client, x->server, unoffered ?
		    "had not offered DSN" : "refused them with 555");
		sb_add(&fd->dia, "RFC 3461 section 4: the DSN parameters may be sent only "
		    "after the server offered DSN; servers without it answer 555 "
		    "5.5.4 and the transaction fails.");
		if (refused)
			claim(x, tf->mail_reply_seq);
		sb_add(&fd->fix, "Make the sender %s drop DSN parameters when DSN is not "
		    "offered, or enable DSN on %s.", x->cip, x->server);
		ev(&fd->e, tf->dsn_param_seq, 5);
		evidence_tx_mail(&fd->e, tf);
		evidence_hello(x, &fd->e);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Connection and protocol
 * ------------------------------------------------------------------ */
static bool
r_reset_mid_data(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (!(f->cut_in_content || f->cut_awaiting_reply) || !closed(x->r))
		return false;
	if (f->cut_in_content) {
		sb_add(&fd->sum, "The connection between client %s and %s ended in the "
		    "middle of a message, before its end of data.", x->client, x->server);
		sb_add(&fd->dia, "The session ended by %s while message content was "
		    "flowing: the message was not delivered and the sender will "
		    "retry it in full (RFC 5321 section 4.1.1.4).", how_ended(x));
	} else {
		sb_add(&fd->sum, "The connection between client %s and %s ended after the "
		    "end of data but before the server's reply.", x->client, x->server);
		sb_add(&fd->dia, "The server may have accepted and queued the message "
		    "while the client, without the reply, will send it again: the "
		    "duplicate-delivery window of RFC 1047 (RFC 5321 section "
		    "4.1.1.4). A content filter slower than the client's timeout "
		    "(RFC 5321 section 4.5.3.2.6: 10 minutes after the dot) is the "
		    "usual cause.");
	}
	sb_add(&fd->fix, "Look for timeouts or resets on the path (firewall idle "
	    "timers, proxies) and for slow content filtering on %s; raise the "
	    "sender %s's data timeouts if they are below RFC 5321's.", x->server,
	    x->cip);
	ev(&fd->e, f->cut_seq, 5);
	for (size_t i = 0; i < x->r->ntx; i++)
		ev(&fd->e, x->s->txf[i].data_seq, 3);
	return true;
}

static bool
r_server_shutdown(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[200];

	if (f->r421_seq == NOSEQ || claimed(x, f->r421_seq))
		return false;
	l = tr_find(x->s, f->r421_seq);
	sb_add(&fd->sum, "Server %s closed the session with client %s with 421.",
	    x->server, x->client);
	sb_add(&fd->dia, "421 (\"%s\") means the service is closing the channel (RFC "
	    "5321 section 3.8): shutdown, overload, a timeout or too many errors. "
	    "The client will retry later.", l != NULL ? ws(&l->text, b, sizeof(b)) : "?");
	sb_add(&fd->fix, "Check %s's logs at this time for the reason (load, limits, "
	    "timeouts, restarts).", x->server);
	ev(&fd->e, f->r421_seq, 5);
	ev(&fd->e, f->r421_seq - 1, 3);
	return true;
}

static bool
r_no_quit(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *last;

	if (x->f->quit_seq != NOSEQ || !closed(r) || (r->flags & (SF_TLS | SF_ONE_SIDED)) ||
	    x->s->tr.next_seq == 0)
		return false;
	sb_add(&fd->sum, "The session between client %s and %s ended by %s without "
	    "QUIT.", x->client, x->server, how_ended(x));
	sb_add(&fd->dia, "RFC 5321 section 4.1.1.10: a client ends a session with QUIT "
	    "and waits for 221. %s", r->end == SEND_TIMEOUT ? "The session went "
	    "idle past the timeouts of RFC 5321 section 4.5.3.2." :
	    "A peer that drops the connection instead is impolite at best; at "
	    "worst one side crashed or a middlebox cut the connection.");
	sb_add(&fd->fix, "Usually harmless; if frequent, look at the sender %s's "
	    "connection handling and at idle timers on the path.", x->cip);
	if ((last = tr_find(x->s, x->s->tr.next_seq - 1)) != NULL)
		ev(&fd->e, x->s->tr.next_seq - 1, 5);
	return true;
}

static bool
r_pipelining_violation(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (f->pipe_unoffered == 0 && f->pipe_term == 0)
		return false;
	sb_add(&fd->sum, "Client %s pipelined commands to %s against RFC 2920.",
	    x->client, x->server);
	if (f->pipe_unoffered > 0)
		sb_add(&fd->dia, "%u command(s) were sent in the same packet as earlier "
		    "unanswered ones although PIPELINING was not offered. ",
		    f->pipe_unoffered);
	if (f->pipe_term > 0)
		sb_add(&fd->dia, "%u command(s) followed EHLO, DATA, VRFY, EXPN, QUIT, "
		    "NOOP, STARTTLS or AUTH in the same packet; those must end a "
		    "group (RFC 2920 section 3.1). ", f->pipe_term);
	sb_add(&fd->dia, "A server that reads strictly may lose or misorder those "
	    "commands; spam software often does this.");
	sb_add(&fd->fix, "Fix the SMTP client on %s to wait for replies unless "
	    "PIPELINING is offered, and never to pipeline past a group "
	    "terminator.", x->cip);
	ev(&fd->e, f->pipe_unoffered_seq, 5);
	ev(&fd->e, f->pipe_unoffered_seq == NOSEQ ? NOSEQ : f->pipe_unoffered_seq - 1, 4);
	ev(&fd->e, f->pipe_term_seq, 5);
	ev(&fd->e, f->pipe_term_seq == NOSEQ ? NOSEQ : f->pipe_term_seq - 1, 4);
	if (f->pipe_unoffered > 0)
		evidence_hello(x, &fd->e);
	return true;
}

static bool
r_reply_mismatch(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (x->r->flags & (SF_GAP | SF_MID_STREAM))
		return false;
	if (f->unsolicited_seq == NOSEQ && f->code_change_seq == NOSEQ &&
	    f->bad_code_seq == NOSEQ)
		return false;
	sb_add(&fd->sum, "Replies from %s to client %s do not follow RFC 5321 section "
	    "4.2.", x->server, x->client);
	if (f->unsolicited_seq != NOSEQ)
		sb_add(&fd->dia, "%u reply(ies) came with no command outstanding. ",
		    x->r->anomalies[SAN_UNSOLICITED_REPLY]);
	if (f->code_change_seq != NOSEQ)
		sb_add(&fd->dia, "A multi-line reply changed its code between lines. ");
	if (f->bad_code_seq != NOSEQ)
		sb_add(&fd->dia, "A reply code outside 2xx-5xx was sent. ");
	sb_add(&fd->dia, "Client and server may disagree on which reply answers which "
	    "command, so the client can take a refusal for an acceptance.");
	sb_add(&fd->fix, "Look at the server software on %s (or a proxy in front of "
	    "it) that emits these replies.", x->server);
	ev(&fd->e, f->unsolicited_seq, 5);
	ev(&fd->e, f->code_change_seq, 5);
	ev(&fd->e, f->code_change_seq == NOSEQ ? NOSEQ : f->code_change_seq - 1, 4);
	ev(&fd->e, f->bad_code_seq, 5);
	return true;
}

static bool
r_line_too_long(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	uint32_t lc = r->anomalies[SAN_LONG_CMD], lr = r->anomalies[SAN_LONG_REPLY],
	    lt = r->anomalies[SAN_LONG_TEXT];

	if (lc == 0 && lr == 0 && lt == 0)
		return false;
	sb_add(&fd->sum, "Lines longer than RFC 5321 allows between client %s and %s.",
	    x->client, x->server);
	if (lc > 0)
		sb_add(&fd->dia, "%u command line(s) over 512 octets. ", lc);
	if (lr > 0)
		sb_add(&fd->dia, "%u reply line(s) over 512 octets. ", lr);
	if (lt > 0)
		sb_add(&fd->dia, "%u message line(s) over 1000 octets. ", lt);
	sb_add(&fd->dia, "RFC 5321 section 4.5.3.1 sets these limits; servers may "
	    "refuse, truncate or fold such lines (Postfix folds message lines over "
	    "line_length_limit, which can break DKIM signatures).");
	sb_add(&fd->fix, "Make the sender %s encode long message lines "
	    "(quoted-printable or base64) and keep commands short.", x->cip);
	fd->sev = lc > 0 || lr > 0 ? SEV_WARNING : SEV_NOTICE;
	ev(&fd->e, x->f->long_cmd_seq, 5);
	ev(&fd->e, x->f->long_reply_seq, 5);
	for (size_t i = 0; i < r->ntx; i++)
		if (x->s->txf[i].long_lines > 0)
			ev(&fd->e, x->s->txf[i].end_seq, 4);
	return true;
}

/* ---------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------ */
/* Indexed by type, so the rules run in INCIDENT_TYPES order. */
#define RULE(id, fn, sb) [INC_##id] = { INC_##id, fn, sb }
static const struct rule inc_rules[INC_MAX] = {
	RULE(8BITMIME_ABORT, r_8bitmime_abort, 0),
	RULE(8BITMIME_UNOFFERED, r_8bitmime_unoffered, 0),
	RULE(BODY_REJECTED, r_body_rejected, 0),
	RULE(8BIT_UNDECLARED, r_8bit_undeclared, 0),
	RULE(8BIT_REJECTED, r_8bit_rejected, 0),
	RULE(SMTPUTF8_ABORT, r_smtputf8_abort, 0),
	RULE(SMTPUTF8_UNOFFERED, r_smtputf8_unoffered, 0),
	RULE(SMTPUTF8_WITHOUT_8BITMIME, r_smtputf8_without_8bitmime,
	    INCB(8BITMIME_ABORT)),
	RULE(BINARYMIME_VIOLATION, r_binarymime_violation, 0),
	RULE(EHLO_REJECTED, r_ehlo_rejected, 0),
	RULE(GREETING_REFUSED, r_greeting_refused, 0),
	RULE(EARLY_TALKER, r_early_talker, 0),
	RULE(ABORT_AFTER_CAPABILITIES, r_abort_after_capabilities,
	    INCB(8BITMIME_ABORT) | INCB(SMTPUTF8_ABORT)),
	RULE(CAPABILITY_STRIPPED, r_capability_stripped, 0),
	RULE(STARTTLS_REFUSED, r_starttls_refused, 0),
	RULE(STARTTLS_NOT_USED, r_starttls_not_used, 0),
	RULE(STARTTLS_HANDSHAKE_FAILED, r_starttls_handshake_failed, 0),
	RULE(STARTTLS_INJECTION, r_starttls_injection, 0),
	RULE(TLS_REQUIRED, r_tls_required, 0),
	RULE(SIZE_EXCEEDED, r_size_exceeded, 0),
	RULE(AUTH_PROBLEM, r_auth_problem, 0),
	RULE(BARE_LF, r_bare_lf, 0),
	RULE(SMUGGLING_EOD, r_smuggling_eod, 0),
	RULE(MAIL_REJECTED, r_mail_rejected, 0),
	RULE(MAIL_DEFERRED, r_mail_deferred, 0),
	RULE(ALL_RECIPIENTS_REJECTED, r_all_recipients_rejected, 0),
	RULE(RCPT_REJECTED, r_rcpt_rejected, 0),
	RULE(RCPT_DEFERRED, r_rcpt_deferred, 0),
	RULE(DATA_REJECTED, r_data_rejected, 0),
	RULE(MESSAGE_REJECTED, r_message_rejected, 0),
	RULE(MESSAGE_DEFERRED, r_message_deferred, 0),
	RULE(NDR_ON_WIRE, r_ndr_on_wire, 0),
	RULE(DSN_UNOFFERED, r_dsn_unoffered, 0),
	RULE(RESET_MID_DATA, r_reset_mid_data, 0),
	RULE(SERVER_SHUTDOWN, r_server_shutdown, 0),
	RULE(NO_QUIT, r_no_quit,
	    INCB(RESET_MID_DATA) | INCB(8BITMIME_ABORT) |
	    INCB(SMTPUTF8_ABORT) | INCB(ABORT_AFTER_CAPABILITIES) |
	    INCB(SERVER_SHUTDOWN) | INCB(GREETING_REFUSED) |
	    INCB(STARTTLS_HANDSHAKE_FAILED)),
	RULE(PIPELINING_VIOLATION, r_pipelining_violation, 0),
	RULE(REPLY_MISMATCH, r_reply_mismatch, 0),
	RULE(LINE_TOO_LONG, r_line_too_long, 0),
};
#undef RULE

/* The first word of the banner when it looks like a host name. */
static void
banner_host(const struct sess_record *r, char *buf, size_t len)
{
	size_t n = 0;
	bool dot = false;

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
		n++;
	}
	if (!dot || n == 0 || n + 1 >= len) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, r->banner.p, n);
	buf[n] = '\0';
}

void
incidents_run(struct smtp_session *s, const struct host_mem *hm)
{
	struct ictx x;
	struct finding fd;
	char hp[80], b[100], bh[80];

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.r = &s->rec;
	x.f = &s->f;
	x.hm = hm;
	fmt_host(x.cip, sizeof(x.cip), s->rec.family, s->rec.client_ip);
	fmt_host(x.sip, sizeof(x.sip), s->rec.family, s->rec.server_ip);
	fmt_hostport(hp, sizeof(hp), s->rec.family, s->rec.client_ip,
	    s->rec.client_port);
	if (s->rec.helo.p != NULL && s->rec.helo.len > 0)
		(void)snprintf(x.client, sizeof(x.client), "%s (%s)", hp,
		    ws(&s->rec.helo, b, 64));
	else
		strlcpy(x.client, hp, sizeof(x.client));
	fmt_hostport(hp, sizeof(hp), s->rec.family, s->rec.server_ip,
	    s->rec.server_port);
	banner_host(&s->rec, bh, sizeof(bh));
	if (bh[0] != '\0')
		(void)snprintf(x.server, sizeof(x.server), "%s (%s)", hp, bh);
	else
		strlcpy(x.server, hp, sizeof(x.server));
	for (size_t k = 0; k < INC_MAX; k++) {
		const struct rule *ru = &inc_rules[k];

		if ((x.fired & ru->stands_back) != 0)
			continue;
		fd.sum.n = fd.dia.n = fd.fix.n = 0;
		fd.e.n = 0;
		fd.sev = inc_type_severity(ru->kind);
		fd.conf = inc_type_confidence(ru->kind);
		if (ru->fn(&x, &fd))
			(void)finding_commit(&x, ru, &fd);
	}
}
