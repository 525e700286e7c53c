/*
 * incident.c - the incident rules of INCIDENTS.md: the table, the runner and
 * the helpers every rule uses.
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
 * above all.  The rules themselves live one family a file:
 * rules_8bit.c, rules_hello.c, rules_tls.c, rules_tx.c, rules_conn.c,
 * sharing rule_int.h.
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
 * - A finding that rests on what a side did not send (the table's RA_*
 *   column) drops one confidence step when the capture misses bytes of
 *   that side; early-talker reads the client's ACK number instead.
 * - Wire text quoted in incident texts is reduced to printable ASCII and
 *   valid UTF-8 of shown characters (other octets as \xHH) and cut at 120
 *   characters; the evidence lines
 *   are raw copies for the exporters to escape.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "rule_int.h"

/* ---------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------ */
void
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
const char *
wire_text(const char *p, size_t len, char *buf, size_t blen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned long cp;
	size_t o = 0, n;

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
		} else if (c >= 0x80 && (n = esc_utf8_seq((const unsigned char *)p + i,
		    len - i, &cp)) > 0 && esc_utf8_shown(cp) && o + n + 8 < blen) {
			/* UTF-8 stays UTF-8: each output escapes it its way. */
			memcpy(buf + o, p + i, n);
			o += n;
			i += n - 1;
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

const char *
wire_str(const struct wstr *w, char *buf, size_t blen)
{
	return wire_text(w->p, w->len, buf, blen);
}

/* ---------------------------------------------------------------------
 * Claims, incidents, evidence
 * ------------------------------------------------------------------ */
void
claim_line(struct ictx *x, uint32_t seq)
{
	if (seq != NOSEQ && x->nclaimed < MAX_CLAIMS)
		x->claimed[x->nclaimed++] = seq;
}

bool
line_claimed(const struct ictx *x, uint32_t seq)
{
	for (size_t i = 0; i < x->nclaimed; i++)
		if (x->claimed[i] == seq)
			return true;
	return false;
}

static const char *
nn_str(const char *s)
{
	return s != NULL ? s : "unknown";
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
	if (tls_opaque(x->s) && r->tls.app_records[XDIR_CLIENT] > 0) {
		sb_add(&sb, "%sencrypted after STARTTLS (no keys): the dialogue "
		    "inside is not visible", sep);
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
	/* Not zeroed: 11 KiB, and each entry is cleared as it is taken. */
	if (r->inc == NULL &&
	    (r->inc = reallocarray(NULL, SESS_MAX_INC, sizeof(*r->inc))) == NULL)
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

void
ev_add(struct evb *e, uint32_t seq, uint8_t prio)
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
void
ev_range(struct evb *e, uint32_t first, uint32_t last, uint8_t prio)
{
	if (first == NOSEQ)
		return;
	ev_add(e, first, prio);
	if (last == NOSEQ || last < first)
		return;
	for (uint32_t q = first + 1; q <= last && q - first < EV_CAND; q++)
		ev_add(e, q, prio > 0 ? (uint8_t)(prio - 1) : 0);
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
		memset(&d->text, 0, sizeof(d->text));	/* the copy is its own */
		wstr_set(&d->text, l->text.p, l->text.len, l->text.len);
		inc->nevidence++;
	}
}

/* A side of the conversation the capture does not hold whole. */
static bool
side_incomplete(const struct ictx *x, enum xdir d)
{
	return x->f->gap_bytes[d] > 0 ||
	    ((x->r->flags & SF_ONE_SIDED) && x->r->bytes[d] == 0);
}

/* Lower a finding that rests on a side's silence when that side is not
 * all in the capture (rule_int.h, RA_*). */
static void
absence_check(const struct ictx *x, const struct rule *ru, struct finding *fd)
{
	static const char *const side[] = { "the client", "the server" };
	const char *which = NULL;

	for (int d = XDIR_CLIENT; d <= XDIR_SERVER; d++)
		if ((ru->reads_absence & (1u << d)) && side_incomplete(x, (enum xdir)d))
			which = which == NULL ? side[d] : "either side";
	if (which == NULL)
		return;
	if (fd->conf > CONF_POSSIBLE)
		fd->conf--;
	sb_add(&fd->dia, " Confidence lowered: this finding rests on what %s did "
	    "not send, and the capture is missing bytes from %s.", which, which);
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
 * Shared predicates, phrases and evidence
 * ------------------------------------------------------------------ */
static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* text names kw (klen octets) as a word, ignoring ASCII case. */
static bool
names_word(const struct wstr *text, const char *kw, size_t klen)
{
	const char *p = text->p;

	if (p == NULL || klen == 0)
		return false;
	for (size_t i = 0; i + klen <= text->len; i++) {
		size_t k;

		for (k = 0; k < klen; k++) {
			char a = p[i + k], b = kw[k];

			if (a >= 'a' && a <= 'z')
				a = (char)(a - 32);
			if (b >= 'a' && b <= 'z')
				b = (char)(b - 32);
			if (a != b)
				break;
		}
		if (k == klen && (i == 0 || !is_alnum(p[i - 1])) &&
		    (i + klen == text->len || !is_alnum(p[i + klen])))
			return true;
	}
	return false;
}

const char *
refused_param(int code, const struct enh_code *en, const struct wstr *text,
    const struct wstr *params, char *kw, size_t kwlen)
{
	const char *p = params->p, *first = NULL;
	size_t i = 0, n = params->len, flen = 0;
	bool as_such = code == 455 || code == 555 ||
	    (en->cls >= 4 && en->subject == 5 && en->detail == 4);

	if (code < 400 || p == NULL || kwlen == 0)
		return NULL;
	while (i < n) {
		size_t s, k;

		while (i < n && p[i] == ' ')
			i++;
		for (s = i; i < n && p[i] != ' '; i++)
			;
		for (k = s; k < i && p[k] != '='; k++)
			;
		if (k == s)
			continue;
		if (first == NULL) {
			first = p + s;
			flen = k - s;
		}
		if (names_word(text, p + s, k - s)) {
			first = p + s;
			flen = k - s;
			as_such = true;
			break;
		}
	}
	if (first == NULL || !as_such)
		return NULL;
	if (flen >= kwlen)
		flen = kwlen - 1;
	for (size_t j = 0; j < flen; j++)
		kw[j] = first[j] >= 'a' && first[j] <= 'z' ? (char)(first[j] - 32) : first[j];
	kw[flen] = '\0';
	return kw;
}

bool
dsn_keyword(const char *kw)
{
	return kw != NULL && (strcmp(kw, "RET") == 0 || strcmp(kw, "ENVID") == 0 ||
	    strcmp(kw, "NOTIFY") == 0 || strcmp(kw, "ORCPT") == 0);
}

bool
sess_closed(const struct sess_record *r)
{
	return r->end == SEND_CLOSE || r->end == SEND_RESET || r->end == SEND_TIMEOUT;
}

/* EHLO accepted, then RSET and no MAIL, then QUIT or a close: the client
 * gave up after reading the capabilities. */
bool
abort_after_ehlo(const struct smtp_session *s)
{
	const struct sess_facts *f = &s->f;
	const struct sess_record *r = &s->rec;
	uint32_t since = f->cmds_since_ehlo;

	if (!f->ehlo_ok || tls_opaque(s) || f->rset_seq == NOSEQ)
		return false;
	if (since & (CMDB(MAIL) | CMDB(RCPT) | CMDB(DATA) | CMDB(BDAT) |
	    CMDB(AUTH) | CMDB(STARTTLS)))
		return false;
	return f->quit_seq != NOSEQ || sess_closed(r);
}

/* The shortest MAIL command: "MAIL FROM:<>" and CRLF. */
#define MAIL_MIN_OCTETS	14

bool
abort_inside_tls(const struct ictx *x, struct sb *dia)
{
	const struct sess_record *r = x->r;
	const struct tls_seen *t = &r->tls;

	if (!tls_opaque(x->s) || !t->server_hello ||
	    !t->sizes_known || t->alert || t->c_after < 2 ||
	    t->c_first_len < 8 || t->c_after_max >= MAIL_MIN_OCTETS - 1 ||
	    !sess_closed(r))
		return false;
	if (dia != NULL)
		sb_add(dia, " Seen through encryption, without keys: after STARTTLS "
		    "(%s, %s) the client's first record held %u octets of "
		    "plaintext, the size of an EHLO, and its %u records after it at "
		    "most %u each, too short for a MAIL FROM (at least %d): RSET, "
		    "QUIT or NOOP. The server's EHLO reply inside TLS is not "
		    "visible; it usually repeats the one before STARTTLS. Decrypt "
		    "the capture (the client's SSLKEYLOGFILE in Wireshark) to "
		    "confirm.", nn_str(tls_version_name(t->version)),
		    nn_str(tls_suite_name(t->suite)), t->c_first_len, t->c_after,
		    t->c_after_max, MAIL_MIN_OCTETS);
	return true;
}

bool
abort_pattern(const struct smtp_session *s, bool *offered8)
{
	*offered8 = (s->rec.capflags & CAPF(8BITMIME)) != 0;
	return abort_after_ehlo(s);
}

/* "RSET then QUIT", "RSET then closed the connection", ... */
const char *
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

void
caps_list(const struct sess_record *r, struct sb *sb)
{
	for (size_t i = 0; i < r->ncaps; i++) {
		char b[160];

		sb_add(sb, "%s%s", i ? ", " : "", wire_str(&r->caps[i], b, sizeof(b)));
	}
	if (r->ncaps == 0)
		sb_add(sb, "no extensions");
}

const char *
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
const char *
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

const char *
retry_word(int code)
{
	return code >= 500 ? "The sender will not retry: it generates a "
	    "non-delivery report." : "The sender should queue the message and "
	    "retry; if refusals persist it will bounce after its queue lifetime.";
}

void
evidence_abort(struct ictx *x, struct evb *e)
{
	ev_add(e, x->f->ehlo_seq, 5);
	ev_range(e, x->f->ehlo_reply_seq, x->f->ehlo_reply_last, 3);
	ev_add(e, x->f->rset_seq, 5);
	ev_add(e, x->f->quit_seq, 5);
	ev_add(e, x->f->quit_reply_seq, 1);
	ev_add(e, x->f->greeting_seq, 1);
}

/* Confidence of an abort finding from the client's other sessions. */
enum confidence
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

void
evidence_tx_mail(struct evb *e, const struct tx_facts *tf)
{
	ev_add(e, tf->mail_seq, 5);
	ev_add(e, tf->mail_reply_seq, 4);
}

void
evidence_hello(struct ictx *x, struct evb *e)
{
	const struct sess_facts *f = x->f;

	if (f->ehlo_ok) {
		ev_add(e, f->ehlo_seq, 3);
		ev_range(e, f->ehlo_reply_seq, f->ehlo_reply_last, 2);
	} else {
		ev_add(e, f->ehlo_rej_seq, 3);
		ev_add(e, f->ehlo_rej_reply_seq, 3);
		ev_add(e, f->helo_seq, 3);
		ev_add(e, f->helo_reply_seq, 2);
	}
}

/* ---------------------------------------------------------------------
 * The table and the runner
 * ------------------------------------------------------------------ */
/* Indexed by type, so the rules run in INCIDENT_TYPES order.  Columns:
 * the type, its rule, the sides whose silence it reads (RA_*), and the
 * types it stands back for. */
#define RULE(id, fn, ra, sb) [INC_##id] = { INC_##id, fn, ra, sb }
const struct rule inc_rules[INC_MAX] = {
	RULE(8BITMIME_ABORT, r_8bitmime_abort, RA_BOTH, 0),
	RULE(8BITMIME_UNOFFERED, r_8bitmime_unoffered, RA_SERVER, 0),
	RULE(BODY_REJECTED, r_body_rejected, 0, 0),
	RULE(8BIT_UNDECLARED, r_8bit_undeclared, 0, INCB(8BITMIME_UNOFFERED)),
	RULE(8BIT_REJECTED, r_8bit_rejected, 0, 0),
	RULE(SMTPUTF8_ABORT, r_smtputf8_abort, RA_BOTH, 0),
	RULE(SMTPUTF8_REJECTED, r_smtputf8_rejected, 0, 0),
	RULE(SMTPUTF8_UNOFFERED, r_smtputf8_unoffered, RA_SERVER,
	    INCB(SMTPUTF8_REJECTED)),
	RULE(SMTPUTF8_WITHOUT_8BITMIME, r_smtputf8_without_8bitmime, RA_SERVER,
	    INCB(8BITMIME_ABORT)),
	RULE(CHUNKING_UNOFFERED, r_chunking_unoffered, RA_SERVER, 0),
	RULE(BINARYMIME_VIOLATION, r_binarymime_violation, 0, 0),
	RULE(EHLO_REJECTED, r_ehlo_rejected, 0, 0),
	RULE(GREETING_REFUSED, r_greeting_refused, 0, 0),
	RULE(EARLY_TALKER, r_early_talker, 0, 0),
	RULE(ABORT_AFTER_CAPABILITIES, r_abort_after_capabilities, RA_CLIENT,
	    INCB(8BITMIME_ABORT) | INCB(SMTPUTF8_ABORT)),
	RULE(CAPABILITY_STRIPPED, r_capability_stripped, RA_SERVER, 0),
	RULE(STARTTLS_REFUSED, r_starttls_refused, 0, 0),
	RULE(STARTTLS_NOT_USED, r_starttls_not_used, RA_BOTH, 0),
	RULE(STARTTLS_HANDSHAKE_FAILED, r_starttls_handshake_failed, RA_SERVER,
	    0),
	RULE(STARTTLS_INJECTION, r_starttls_injection, 0, 0),
	RULE(TLS_VERSION_OBSOLETE, r_tls_version_obsolete, 0,
	    INCB(STARTTLS_HANDSHAKE_FAILED)),
	RULE(TLS_SERVER_OBSOLETE, r_tls_server_obsolete, 0,
	    INCB(STARTTLS_HANDSHAKE_FAILED)),
	RULE(TLS_CERTIFICATE, r_tls_certificate, 0, 0),
	RULE(TLS_REQUIRED, r_tls_required, 0, 0),
	RULE(SIZE_EXCEEDED, r_size_exceeded, 0, 0),
	RULE(AUTH_PROBLEM, r_auth_problem, 0, 0),
	RULE(BARE_LF, r_bare_lf, 0, 0),
	RULE(SMUGGLING_EOD, r_smuggling_eod, 0, 0),
	RULE(MAIL_REJECTED, r_mail_rejected, 0, 0),
	RULE(MAIL_DEFERRED, r_mail_deferred, 0, 0),
	RULE(ALL_RECIPIENTS_REJECTED, r_all_recipients_rejected, 0, 0),
	RULE(RCPT_REJECTED, r_rcpt_rejected, 0, 0),
	RULE(RCPT_DEFERRED, r_rcpt_deferred, 0, 0),
	RULE(DATA_REJECTED, r_data_rejected, 0, 0),
	RULE(MESSAGE_REJECTED, r_message_rejected, 0, 0),
	RULE(MESSAGE_DEFERRED, r_message_deferred, 0, 0),
	RULE(NDR_ON_WIRE, r_ndr_on_wire, 0, 0),
	RULE(DSN_UNOFFERED, r_dsn_unoffered, RA_SERVER, 0),
	RULE(RESET_MID_DATA, r_reset_mid_data, 0, 0),
	RULE(SERVER_SHUTDOWN, r_server_shutdown, 0, 0),
	RULE(NO_QUIT, r_no_quit, RA_CLIENT,
	    INCB(RESET_MID_DATA) | INCB(8BITMIME_ABORT) | INCB(SMTPUTF8_ABORT) |
	    INCB(ABORT_AFTER_CAPABILITIES) | INCB(SERVER_SHUTDOWN) |
	    INCB(GREETING_REFUSED) | INCB(STARTTLS_HANDSHAKE_FAILED)),
	RULE(PIPELINING_VIOLATION, r_pipelining_violation, RA_SERVER, 0),
	RULE(REPLY_MISMATCH, r_reply_mismatch, 0, 0),
	RULE(LINE_TOO_LONG, r_line_too_long, 0, 0),
};
#undef RULE

const struct peer_names *
peers(struct ictx *x)
{
	const struct sess_record *r = x->r;
	struct peer_names *n = &x->names;
	char hp[80], b[100], bh[80];

	if (x->named)
		return n;
	x->named = true;
	fmt_host(n->cip, sizeof(n->cip), r->family, r->client_ip);
	fmt_host(n->sip, sizeof(n->sip), r->family, r->server_ip);
	fmt_hostport(hp, sizeof(hp), r->family, r->client_ip, r->client_port);
	if (r->helo.p != NULL && r->helo.len > 0)
		(void)snprintf(n->client, sizeof(n->client), "%s (%s)", hp,
		    wire_str(&r->helo, b, 64));
	else
		strlcpy(n->client, hp, sizeof(n->client));
	fmt_hostport(hp, sizeof(hp), r->family, r->server_ip, r->server_port);
	rec_banner_host(r, bh, sizeof(bh));
	if (bh[0] != '\0')
		(void)snprintf(n->server, sizeof(n->server), "%s (%.72s)", hp, bh);
	else
		strlcpy(n->server, hp, sizeof(n->server));
	return n;
}

void
incidents_run(struct smtp_session *s, const struct host_mem *hm)
{
	struct ictx x;
	struct finding fd;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.r = &s->rec;
	x.f = &s->f;
	x.hm = hm;
	for (size_t k = 0; k < INC_MAX; k++) {
		const struct rule *ru = &inc_rules[k];

		if ((x.fired & ru->stands_back) != 0)
			continue;
		fd.sum.n = fd.dia.n = fd.fix.n = 0;
		fd.e.n = 0;
		fd.sev = inc_type_severity(ru->kind);
		fd.conf = inc_type_confidence(ru->kind);
		if (ru->fn(&x, &fd)) {
			absence_check(&x, ru, &fd);
			(void)finding_commit(&x, ru, &fd);
		}
	}
}
