/*
 * rules_tx.c - the transaction rules: MAIL, RCPT, DATA and the message.
 *
 * Refusals and deferrals at each step of a transaction (the generic
 * rules skip the lines a more specific rule claimed), size limits, bare LF
 * and end-of-data look-alikes (SMTP smuggling), DSN misuse and bounces on
 * the wire.  Conditions, texts and evidence only: incident.c runs the
 * rules and makes the incidents.
 */
#include <string.h>

#include "rule_int.h"

bool
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
			ev_add(&fd->e, tf->mail_seq, 5);
			ev_add(&fd->e, tf->mail_reply_seq, 4);
		} else if (t->data_bytes > r->size_limit) {
			sb_add(&fd->dia, "The message was %llu octets, above the %llu the server "
			    "offered (RFC 1870). ", (unsigned long long)t->data_bytes,
			    (unsigned long long)r->size_limit);
			ev_add(&fd->e, tf->end_seq, 5);
			ev_add(&fd->e, tf->final_seq, 4);
		}
	}
	if (f->r552_seq != NOSEQ && (l = tr_find(x->s, f->r552_seq)) != NULL) {
		claim_line(x, f->r552_seq);
		sb_add(&fd->dia, "The server refused with \"%s\". ",
		    wire_str(&l->text, b, sizeof(b)));
		ev_add(&fd->e, f->r552_seq, 5);
		ev_add(&fd->e, f->r552_seq - 1, 3);
	}
	if (fd->dia.n == 0)
		return false;
	sb_add(&fd->sum, "A message from client %s to %s exceeds the server's size "
	    "limit.", peers(x)->client, peers(x)->server);
	sb_add(&fd->fix, "Raise the message size limit on %s (Postfix: "
	    "message_size_limit; Exchange: receive connector and transport limits) "
	    "or have the sender send smaller messages; the sender %s should honour "
	    "the SIZE offer and bounce early.", peers(x)->server, peers(x)->cip);
	return true;
}

bool
r_bare_lf(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;
	uint64_t in_data = 0;

	for (size_t i = 0; i < r->ntx; i++) {
		if (r->tx[i].bare_lf > 0) {
			in_data += r->tx[i].bare_lf;
			ev_add(&fd->e, x->s->txf[i].end_seq, 5);
			ev_add(&fd->e, x->s->txf[i].final_seq, 3);
		}
	}
	if (f->bare_cmd_seq == NOSEQ && in_data == 0 && f->r5611_seq == NOSEQ)
		return false;
	sb_add(&fd->sum, "Client %s sent bare LF or CR line endings to %s.", peers(x)->client,
	    peers(x)->server);
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
		claim_line(x, f->r5611_seq);
	}
	sb_add(&fd->fix, "Fix the sending software on %s to send CRLF line endings (an "
	    "application writing Unix text into the SMTP stream is the usual "
	    "cause).", peers(x)->cip);
	ev_add(&fd->e, f->bare_cmd_seq, 5);
	ev_add(&fd->e, f->r5611_seq, 5);
	return true;
}

bool
r_smuggling_eod(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	uint64_t n = 0;

	for (size_t i = 0; i < r->ntx; i++) {
		if (x->s->txf[i].smuggle > 0) {
			n += x->s->txf[i].smuggle;
			ev_add(&fd->e, x->s->txf[i].mail_seq, 3);
			ev_add(&fd->e, x->s->txf[i].end_seq, 5);
			ev_add(&fd->e, x->s->txf[i].final_seq, 4);
		}
	}
	if (n == 0)
		return false;
	sb_add(&fd->sum, "Client %s sent %llu end-of-data look-alike%s (\\n.\\n, "
	    "\\n.\\r\\n, \\r\\n.\\n or \\r.\\r) inside a message to %s: SMTP "
	    "smuggling.", peers(x)->client, (unsigned long long)n, n == 1 ? "" : "s",
	    peers(x)->server);
	sb_add(&fd->dia, "Only CRLF.CRLF ends a message (RFC 5321 section 4.1.1.4). A "
	    "server that also accepts these variants ends the message early and "
	    "reads what follows as new SMTP commands: a second, forged message "
	    "that passes SPF/DMARC for the outbound server's domain "
	    "(CVE-2023-51764, CVE-2023-51765, CVE-2023-51766). This transcript "
	    "took only CRLF.CRLF as the end.");
	sb_add(&fd->fix, "Patch %s (Postfix 3.8.5+/smtpd_forbid_bare_newline = yes, "
	    "Sendmail 8.18, Exim 4.97.1) and any outbound relay; find who "
	    "submitted this message through %s.", peers(x)->server, peers(x)->cip);
	return true;
}

/* MAIL refused with 5xx (reject) or 4xx (defer). */
static bool
mail_refused(struct ictx *x, struct finding *fd, bool perm)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200], kw[24];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		int code = t->mail_reply_code;
		const char *param;

		/* A nested MAIL refused (503 while a transaction was open) is
		 * the client's sequencing, not the sender being refused. */
		if ((perm ? code < 500 : (code < 400 || code >= 500)) ||
		    code == 421 || tf->nested || line_claimed(x, tf->mail_reply_seq))
			continue;
		/* A refused parameter is not a refused sender; BODY=,
		 * SMTPUTF8 and the DSN parameters have types of their own. */
		param = refused_param(code, &t->mail_enh, &t->mail_reply_text,
		    &t->mail_params, kw, sizeof(kw));
		if (param != NULL && (dsn_keyword(param) || strcmp(param, "BODY") == 0 ||
		    strcmp(param, "SMTPUTF8") == 0))
			continue;
		sb_add(&fd->sum, "Server %s %s MAIL FROM:<%s> from client %s with %d%s%s%s",
		    peers(x)->server, perm ? "rejected" : "deferred",
		    wire_str(&t->mail_from, a, sizeof(a)), peers(x)->client, code,
		    param != NULL ? ": it refused the " : ".", param != NULL ? param : "",
		    param != NULL ? " parameter." : "");
		sb_add(&fd->dia, "Reply \"%s\": %s, %s. %s", wire_str(&t->mail_reply_text, b,
		    sizeof(b)), code_class(&t->mail_enh, code, c, sizeof(c)),
		    class_advice(&t->mail_enh, code), retry_word(code));
		if (param != NULL)
			sb_add(&fd->fix, "The address is not at fault: make the sender %s send "
			    "the %s parameter as its extension defines it, and only when "
			    "%s offers that extension.", peers(x)->cip, param, peers(x)->server);
		else
			sb_add(&fd->fix, "Read the reply text: fix the sender address or its "
			    "domain's DNS/SPF if the server names it, or check %s's sender "
			    "restrictions and logs for client %s.", peers(x)->server, peers(x)->cip);
		ev_add(&fd->e, tf->mail_seq, 5);
		ev_range(&fd->e, tf->mail_reply_seq, tf->mail_reply_last, 5);
		return true;
	}
	return false;
}

bool
r_mail_rejected(struct ictx *x, struct finding *fd)
{
	return mail_refused(x, fd, true);
}

bool
r_mail_deferred(struct ictx *x, struct finding *fd)
{
	return mail_refused(x, fd, false);
}

bool
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
		    "transaction, and the client sent DATA anyway.", peers(x)->server, peers(x)->client);
		sb_add(&fd->dia, "Recipients refused:");
		for (size_t k = 0; k < t->nrcpts; k++) {
			sb_add(&fd->dia, "%s <%s> %d", k ? "," : "", wire_str(&t->rcpts[k].addr, a,
			    sizeof(a)), t->rcpts[k].reply_code);
			claim_line(x, tf->rf[k].reply_seq);
			ev_add(&fd->e, tf->rf[k].cmd_seq, 3);
			ev_add(&fd->e, tf->rf[k].reply_seq, 4);
		}
		if (t->data_reply_code == 354)
			sb_add(&fd->dia, ". DATA was accepted with 354 regardless (RFC 2920 "
			    "section 3.1 lets a pipelining client find out only now), so "
			    "the message went to no one.");
		else
			sb_add(&fd->dia, ". DATA was answered %d, as RFC 5321 section 3.3 "
			    "expects with no valid recipient.", t->data_reply_code);
		claim_line(x, tf->data_reply_seq);
		sb_add(&fd->fix, "Fix the recipient addresses (see each reply), or the "
		    "recipient restrictions of %s for client %s.", peers(x)->server, peers(x)->cip);
		ev_add(&fd->e, tf->data_seq, 5);
		ev_add(&fd->e, tf->data_reply_seq, 5);
		return true;
	}
	return false;
}

static bool
rcpt_refused(struct ictx *x, struct finding *fd, bool perm)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200], kw[24];
	size_t n = 0;
	const struct rcpt_record *first = NULL;

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		for (size_t k = 0; k < t->nrcpts; k++) {
			const struct rcpt_record *rc = &t->rcpts[k];

			if ((perm ? rc->reply_code < 500 :
			    (rc->reply_code < 400 || rc->reply_code >= 500)) ||
			    rc->reply_code == 421 || line_claimed(x, tf->rf[k].reply_seq))
				continue;
			/* A refused NOTIFY=/ORCPT= is dsn-unoffered's. */
			if (dsn_keyword(refused_param(rc->reply_code, &rc->enh,
			    &rc->reply_text, &rc->params, kw, sizeof(kw))))
				continue;
			if (n == 0) {
				first = rc;
				sb_add(&fd->dia, "Refused:");
			}
			sb_add(&fd->dia, "%s <%s> %d \"%s\"", n ? ";" : "",
			    wire_str(&rc->addr, a, sizeof(a)), rc->reply_code,
			    wire_str(&rc->reply_text, b, sizeof(b)));
			ev_add(&fd->e, tf->rf[k].cmd_seq, 4);
			ev_add(&fd->e, tf->rf[k].reply_seq, 5);
			n++;
		}
	}
	if (n == 0)
		return false;
	if (n == 1)
		sb_add(&fd->sum, "Server %s %s recipient <%s> from client %s with %d.",
		    peers(x)->server, perm ? "rejected" : "deferred",
		    wire_str(&first->addr, a, sizeof(a)), peers(x)->client, first->reply_code);
	else
		sb_add(&fd->sum, "Server %s %s %zu recipients from client %s.", peers(x)->server,
		    perm ? "rejected" : "deferred", n, peers(x)->client);
	sb_add(&fd->dia, ". The first is %s: %s. %s", code_class(&first->enh,
	    first->reply_code, c, sizeof(c)), class_advice(&first->enh,
	    first->reply_code), perm ? "The sender returns a non-delivery report "
	    "for these recipients; the others are unaffected." :
	    "The sender should retry these recipients later (greylisting and "
	    "temporary lookup failures clear by themselves).");
	if (perm)
		sb_add(&fd->fix, "Check the addresses with their owners, or the recipient "
		    "tables and restrictions of %s (unknown user, relay denied, "
		    "policy).", peers(x)->server);
	else
		sb_add(&fd->fix, "Usually nothing: the sender %s retries. If the deferral "
		    "persists, check %s's greylisting, policy service or directory "
		    "lookups.", peers(x)->cip, peers(x)->server);
	return true;
}

bool
r_rcpt_rejected(struct ictx *x, struct finding *fd)
{
	return rcpt_refused(x, fd, true);
}

bool
r_rcpt_deferred(struct ictx *x, struct finding *fd)
{
	return rcpt_refused(x, fd, false);
}

bool
r_data_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *l;
	char b[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		/* A refusal is 4xx or 5xx: a 2xx "answering" DATA is a reply
		 * out of step (a 354 lost in a hole of the capture, say), not a
		 * refusal, and the message may well have gone through. */
		if (!t->data_cmd || t->data_reply_code < 400 ||
		    t->data_reply_code == 421 || line_claimed(x, tf->data_reply_seq))
			continue;
		l = tr_find(x->s, tf->data_reply_seq);
		sb_add(&fd->sum, "Server %s refused DATA from client %s with %d.", peers(x)->server,
		    peers(x)->client, t->data_reply_code);
		sb_add(&fd->dia, "DATA must be answered 354 to go on (RFC 5321 section "
		    "4.1.1.4); the reply was \"%s\". %s", l != NULL ?
		    wire_str(&l->text, b, sizeof(b)) : "?", t->data_reply_code == 503 ?
		    "503 is a bad sequence: no MAIL or no accepted RCPT before DATA." :
		    retry_word(t->data_reply_code));
		if (tf->content_before_354)
			sb_add(&fd->dia, " The client had already sent content before the "
			    "reply.");
		sb_add(&fd->fix, "Check %s's logs for the DATA-stage restriction or "
		    "resource problem named in the reply.", peers(x)->server);
		if (t->data_reply_code < 500)
			fd->sev = SEV_WARNING;
		ev_add(&fd->e, tf->data_seq, 5);
		ev_add(&fd->e, tf->data_reply_seq, 5);
		ev_add(&fd->e, tf->content_before_354 ? x->f->content_early_seq : NOSEQ, 4);
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
		    line_claimed(x, tf->final_seq))
			continue;
		sb_add(&fd->sum, "Server %s %s the message from <%s> sent by client %s with "
		    "%d after the end of data.", peers(x)->server, perm ? "rejected" : "deferred",
		    wire_str(&t->mail_from, a, sizeof(a)), peers(x)->client, code);
		sb_add(&fd->dia, "Reply \"%s\": %s, that is %s. %s",
		    wire_str(&t->reply_text, b, sizeof(b)), code_class(&t->enh, code, c,
		    sizeof(c)), class_advice(&t->enh, code), retry_word(code));
		sb_add(&fd->fix, "Read %s's logs for this queue attempt (content filter, "
		    "milter, antivirus or policy named in the reply); if the content "
		    "is legitimate, adjust the filter or have the sender %s change "
		    "the message.", peers(x)->server, peers(x)->cip);
		ev_add(&fd->e, tf->mail_seq, 3);
		ev_add(&fd->e, tf->end_seq, 5);
		ev_range(&fd->e, tf->final_seq, tf->final_last, 5);
		return true;
	}
	return false;
}

bool
r_message_rejected(struct ictx *x, struct finding *fd)
{
	return message_refused(x, fd, true);
}

bool
r_message_deferred(struct ictx *x, struct finding *fd)
{
	return message_refused(x, fd, false);
}

bool
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
		    "notification) to %s%s%s%s.", peers(x)->client, peers(x)->server,
		    t->nrcpts > 0 ? " for <" : "",
		    t->nrcpts > 0 ? wire_str(&t->rcpts[0].addr, a, sizeof(a)) : "",
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
		    "reports (an earlier incident of client %s).", peers(x)->cip);
		ev_add(&fd->e, tf->mail_seq, 5);
		ev_add(&fd->e, tf->end_seq, 5);
		ev_add(&fd->e, tf->final_seq, 3);
		return true;
	}
	return false;
}

bool
r_dsn_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char kw[24];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool unoffered = t->dsn_params && tf->caps_known &&
		    !(tf->caps_at_mail & CAPF(DSN));
		int refused = dsn_keyword(refused_param(t->mail_reply_code, &t->mail_enh,
		    &t->mail_reply_text, &t->mail_params, kw, sizeof(kw))) ?
		    t->mail_reply_code : 0;

		if (refused) {
			claim_line(x, tf->mail_reply_seq);
			ev_range(&fd->e, tf->mail_reply_seq, tf->mail_reply_last, 5);
		}
		for (size_t k = 0; k < t->nrcpts; k++) {
			const struct rcpt_record *rc = &t->rcpts[k];

			if (!dsn_keyword(refused_param(rc->reply_code, &rc->enh,
			    &rc->reply_text, &rc->params, kw, sizeof(kw))))
				continue;
			if (!refused)
				refused = rc->reply_code;
			claim_line(x, tf->rf[k].reply_seq);
			ev_add(&fd->e, tf->rf[k].cmd_seq, 4);
			ev_add(&fd->e, tf->rf[k].reply_seq, 5);
		}
		if (!unoffered && !refused)
			continue;
		if (refused)
			sb_add(&fd->sum, "Server %s refused the DSN parameters "
			    "(NOTIFY/ORCPT/RET/ENVID) of client %s with %d%s.", peers(x)->server,
			    peers(x)->client, refused, unoffered ? "; it had not offered DSN" : "");
		else
			sb_add(&fd->sum, "Client %s used DSN parameters (NOTIFY/ORCPT/RET/"
			    "ENVID) with %s, which had not offered DSN.", peers(x)->client,
			    peers(x)->server);
		sb_add(&fd->dia, "RFC 3461 section 4: the DSN parameters may be sent only "
		    "after the server offered DSN; servers without it answer 555 "
		    "5.5.4 and the transaction fails.");
		sb_add(&fd->fix, "Make the sender %s drop DSN parameters when DSN is not "
		    "offered, or enable DSN on %s.", peers(x)->cip, peers(x)->server);
		ev_add(&fd->e, tf->dsn_param_seq, 5);
		evidence_tx_mail(&fd->e, tf);
		evidence_hello(x, &fd->e);
		return true;
	}
	return false;
}
