/*
 * rules_8bit.c - the 8-bit family: 8BITMIME, BODY=, SMTPUTF8, BINARYMIME.
 *
 * The rules of INCIDENTS.md that explain why an 8-bit or UTF-8 message
 * does not get through: the client aborting after an EHLO reply without
 * 8BITMIME or SMTPUTF8 (8bitmime-abort, the KB295734 case, comes first of
 * all rules), BODY= and SMTPUTF8 used without the offer, 8-bit content
 * undeclared or refused, BINARYMIME/CHUNKING broken.  Each function only
 * tests, writes its texts and picks its evidence into the struct finding
 * (rule_int.h); incident.c runs them and makes the incidents.
 */
#include <string.h>

#include "rule_int.h"

static bool
looks_8bit_text(const struct wstr *w)
{
	return w->p != NULL && (a_contains(w->p, w->len, "8bit") ||
	    a_contains(w->p, w->len, "8-bit") || a_contains(w->p, w->len, "8 bit") ||
	    a_contains(w->p, w->len, "charset") || a_contains(w->p, w->len, "non-ascii") ||
	    a_contains(w->p, w->len, "8BITMIME"));
}

/* A refused MAIL whose reply blames the parameter kw (refused_param: its
 * text names it, or it refuses parameters as such and kw is the first).
 * A refusal for another reason (a sender check, a greylist, a bad
 * address) is not blamed on the parameter. */
static bool
param_refused(const struct tx_record *t, const char *kw)
{
	char got[24];
	const char *p = refused_param(t->mail_reply_code, &t->mail_enh,
	    &t->mail_reply_text, &t->mail_params, got, sizeof(got));

	return p != NULL && strcmp(p, kw) == 0;
}

/* BODY= refused: a parameter refusal, or one about 8-bit content. */
static bool
body_refused(const struct tx_record *t)
{
	return t->body != BODY_NONE && t->mail_reply_code >= 400 &&
	    (param_refused(t, "BODY") || t->mail_enh.subject == 6 ||
	    looks_8bit_text(&t->mail_reply_text));
}

bool
r_8bitmime_abort(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	bool in_tls = false;

	if (r->capflags & CAPF(8BITMIME))
		return false;
	if (!abort_after_ehlo(x->s) && !(in_tls = abort_inside_tls(x, NULL)))
		return false;
	if (in_tls)
		sb_add(&fd->sum, "Client %s gave up on %s inside TLS: its EHLO reply "
		    "before STARTTLS lacked 8BITMIME, and after STARTTLS it sent its "
		    "EHLO, no MAIL FROM, and closed.", peers(x)->client, peers(x)->server);
	else
		sb_add(&fd->sum, "Client %s gave up on %s after its EHLO reply lacked "
		    "8BITMIME: RSET then %s, no MAIL FROM.", peers(x)->client, peers(x)->server,
		    how_ended(x));
	sb_add(&fd->dia, "Server %s did not offer 8BITMIME (RFC 6152) in its EHLO reply "
	    "(it offered: ", peers(x)->server);
	caps_list(r, &fd->dia);
	sb_add(&fd->dia, "). Client %s reset and ended the session before MAIL FROM. It "
	    "probably holds a message with 8-bit MIME content that it does not "
	    "convert to 7-bit, so it will return a non-delivery report to the "
	    "sender (the Microsoft KB295734/KB195252 case: IIS or Exchange "
	    "relaying to Lotus Domino).", peers(x)->cip);
	if (x->f->tls_decrypted)
		sb_add(&fd->dia, " The reply was inside TLS (decrypted with the key log), "
		    "so it is the server's own: no device in the path rewrote it.");
	if (r->capflags & CAPF(SMTPUTF8))
		sb_add(&fd->dia, " The server does offer SMTPUTF8, which RFC 6531 requires "
		    "to come with 8BITMIME: 8BITMIME was most likely removed on "
		    "purpose, by a keyword filter in the server's configuration%s.",
		    x->f->tls_decrypted ? "" : " or by a middlebox rewriting the EHLO reply");
	fd->conf = abort_confidence(x, fd->conf, true, &fd->dia);
	if (in_tls) {
		(void)abort_inside_tls(x, &fd->dia);
		fd->conf = CONF_POSSIBLE;
		ev_add(&fd->e, x->f->starttls_seq, 4);
		ev_add(&fd->e, x->f->starttls_reply_seq, 4);
	}
	sb_add(&fd->fix, "Enable 8BITMIME on the receiving server %s: on Lotus Domino, "
	    "in the server's Configuration document, Router/SMTP tab, Advanced "
	    "tab, Commands and Extensions, set \"8-bit MIME extension\" to "
	    "Enabled; on Postfix, remove 8BITMIME from smtpd_discard_ehlo_keywords. "
	    "Or make the sender %s convert 8-bit messages to 7-bit "
	    "(quoted-printable or base64) when the next hop does not offer "
	    "8BITMIME.", peers(x)->server, peers(x)->cip);
	if (!x->f->tls_decrypted)
		sb_add(&fd->fix, " If %s is configured to offer 8BITMIME, look for a "
		    "firewall or SMTP proxy rewriting its EHLO reply.", peers(x)->sip);
	evidence_abort(x, &fd->e);
	return true;
}

bool
r_8bitmime_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160], b[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (t->body != BODY_8BITMIME || !tf->caps_known ||
		    (tf->caps_at_mail & CAPF(8BITMIME)) || body_refused(t))
			continue;	/* (a refused BODY= is body-rejected's) */
		sb_add(&fd->sum, "Client %s sent MAIL FROM:<%s> BODY=8BITMIME to %s, "
		    "which had not offered 8BITMIME%s.", peers(x)->client,
		    wire_str(&t->mail_from, a, sizeof(a)), peers(x)->server,
		    tf->via_helo ? " (the session fell back to HELO, so no extension "
		    "was available)" : "");
		sb_add(&fd->dia, "RFC 6152 section 3 allows BODY=8BITMIME only when the "
		    "server offered 8BITMIME in its EHLO reply. The server answered "
		    "%d", t->mail_reply_code);
		if (t->mail_reply_code >= 400)
			sb_add(&fd->dia, " (\"%s\"), a refusal its reply does not tie to "
			    "BODY= (see the other findings of this session).",
			    wire_str(&t->mail_reply_text, b, sizeof(b)));
		else if (t->mail_reply_code != 0)
			sb_add(&fd->dia, ": it accepted the parameter anyway, but the next "
			    "hop may not, and 8-bit content may be damaged on the way.");
		else
			sb_add(&fd->dia, " (no reply was seen).");
		if (t->eightbit_bytes > 0)
			sb_add(&fd->dia, " The message held %llu octets >= 0x80 (first at "
			    "offset %llu).", (unsigned long long)t->eightbit_bytes,
			    (unsigned long long)t->first_8bit_off);
		sb_add(&fd->fix, "Fix the sender %s: it must look at the EHLO reply and, "
		    "without 8BITMIME, convert the message to 7-bit (quoted-printable "
		    "or base64) or return it; or enable 8BITMIME on %s.", peers(x)->cip,
		    peers(x)->server);
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		return true;
	}
	return false;
}

bool
r_body_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		int code = t->mail_reply_code;
		const struct enh_code *en = &t->mail_enh;

		if (!body_refused(t))
			continue;
		claim_line(x, tf->mail_reply_seq);
		sb_add(&fd->sum, "Server %s refused MAIL FROM:<%s> BODY=%s from client %s "
		    "with %d.", peers(x)->server, wire_str(&t->mail_from, a, sizeof(a)),
		    body_type_name(t->body), peers(x)->client, code);
		sb_add(&fd->dia, "The server rejected the BODY= parameter (%s; reply \"%s\"). ",
		    code_class(en, code, c, sizeof(c)),
		    wire_str(&t->mail_reply_text, b, sizeof(b)));
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
		    "properly). %s", peers(x)->cip, peers(x)->server, retry_word(code));
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		return true;
	}
	return false;
}

bool
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
			    "8BITMIME.", peers(x)->client,
			    (unsigned long long)t->eightbit_bytes,
			    (unsigned long long)t->first_8bit_off, peers(x)->server);
		else
			sb_add(&fd->sum, "Client %s sent %llu octets >= 0x80 (first at "
			    "offset %llu) in a message to %s without declaring "
			    "BODY=8BITMIME%s.", peers(x)->client,
			    (unsigned long long)t->eightbit_bytes,
			    (unsigned long long)t->first_8bit_off, peers(x)->server,
			    tf->caps_known && !offered ? "; the server had not offered 8BITMIME" : "");
		sb_add(&fd->dia, "%s (RFC 6152 section 3, RFC 5321 section 2.4); its top-level ",
		    declared ? "Without the server's 8BITMIME offer a message must be 7-bit, "
		    "whatever its BODY= parameter says" :
		    "A message sent without BODY=8BITMIME must be 7-bit");
		sb_add(&fd->dia, "Content-Transfer-Encoding is %s%s%s and its charset "
		    "%s%s%s (RFC 2045 section 6 wants 8bit declared as such). The "
		    "server may refuse it, strip the high bit, or pass it on to a hop "
		    "that does.",
		    t->cte.p ? "\"" : "",
		    t->cte.p ? wire_str(&t->cte, a, sizeof(a)) : "not declared",
		    t->cte.p ? "\"" : "", t->charset.p ? "\"" : "",
		    t->charset.p ? wire_str(&t->charset, b, sizeof(b)) : "not declared",
		    t->charset.p ? "\"" : "");
		if (t->reply_code != 0)
			sb_add(&fd->dia, " The server answered the message with %d.",
			    t->reply_code);
		if (offered)
			sb_add(&fd->fix, "The server offers 8BITMIME: make the sender %s declare "
			    "BODY=8BITMIME for 8-bit messages.", peers(x)->cip);
		else
			sb_add(&fd->fix, "Make the sender %s encode 8-bit content as "
			    "quoted-printable or base64 when the server does not offer "
			    "8BITMIME, or enable 8BITMIME on %s.", peers(x)->cip, peers(x)->server);
		evidence_tx_mail(&fd->e, tf);
		ev_add(&fd->e, tf->data_seq, 3);
		ev_add(&fd->e, tf->end_seq, 5);
		ev_add(&fd->e, tf->final_seq, 4);
		if (!offered)
			evidence_hello(x, &fd->e);
		return true;
	}
	return false;
}

bool
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
		claim_line(x, tf->final_seq);
		sb_add(&fd->sum, "Server %s refused an 8-bit message from client %s with %d.",
		    peers(x)->server, peers(x)->client, t->reply_code);
		sb_add(&fd->dia, "The message held %llu octets >= 0x80 (BODY=%s) and the "
		    "server refused it at the end of data with %s (\"%s\"). ",
		    (unsigned long long)t->eightbit_bytes,
		    t->body == BODY_NONE ? "not declared" : body_type_name(t->body),
		    code_class(&t->enh, t->reply_code, c, sizeof(c)),
		    wire_str(&t->reply_text, b, sizeof(b)));
		sb_add(&fd->dia, "%s", retry_word(t->reply_code));
		sb_add(&fd->fix, "Make the sender %s encode the content as quoted-printable "
		    "or base64 (and declare the charset), or allow 8-bit content on %s.",
		    peers(x)->cip, peers(x)->server);
		evidence_tx_mail(&fd->e, tf);
		ev_add(&fd->e, tf->end_seq, 5);
		ev_range(&fd->e, tf->final_seq, tf->final_last, 5);
		return true;
	}
	return false;
}

bool
r_smtputf8_abort(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!abort_after_ehlo(x->s) || !(r->capflags & CAPF(8BITMIME)) ||
	    (r->capflags & CAPF(SMTPUTF8)))
		return false;
	sb_add(&fd->sum, "Client %s gave up on %s after its EHLO reply lacked SMTPUTF8: "
	    "RSET then %s, no MAIL FROM.", peers(x)->client, peers(x)->server, how_ended(x));
	sb_add(&fd->dia, "Server %s offered 8BITMIME but not SMTPUTF8 (RFC 6531). Client "
	    "%s reset and ended the session before MAIL FROM: it probably holds a "
	    "message with a UTF-8 address or UTF-8 headers that it cannot "
	    "downgrade, so it will return a non-delivery report to the sender.",
	    peers(x)->server, peers(x)->cip);
	fd->conf = abort_confidence(x, fd->conf, false, &fd->dia);
	sb_add(&fd->fix, "Enable SMTPUTF8 on %s (Postfix: smtputf8_enable = yes; "
	    "Exchange and most current MTAs support it), or have the sender use "
	    "ASCII addresses for this destination.", peers(x)->server);
	evidence_abort(x, &fd->e);
	return true;
}

bool
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
			    "had not offered SMTPUTF8.", peers(x)->client,
			    wire_str(&t->mail_from, a, sizeof(a)), peers(x)->server);
		else
			sb_add(&fd->sum, "Client %s sent a non-ASCII envelope address to %s "
			    "without %s.", peers(x)->client, peers(x)->server,
			    t->smtputf8 ? "the server's SMTPUTF8 offer" :
			    "the SMTPUTF8 parameter");
		sb_add(&fd->dia, "RFC 6531 section 3 allows UTF-8 in envelope addresses only "
		    "with the SMTPUTF8 parameter on MAIL, after the server offered "
		    "SMTPUTF8. Servers refuse such addresses (553 5.6.7 typically) or "
		    "mangle them.");
		sb_add(&fd->fix, "Make the sender %s use SMTPUTF8 only when offered, and "
		    "otherwise use an ASCII alias of the address or bounce; or enable "
		    "SMTPUTF8 on %s.", peers(x)->cip, peers(x)->server);
		evidence_tx_mail(&fd->e, tf);
		ev_add(&fd->e, tf->addr_8bit_seq, 5);
		ev_add(&fd->e, x->f->r567_seq, 4);
		if (!offered)
			evidence_hello(x, &fd->e);
		return true;
	}
	if (x->f->r567_seq != NOSEQ) {
		sb_add(&fd->sum, "Server %s refused a non-ASCII address from client %s "
		    "(5.6.7).", peers(x)->server, peers(x)->client);
		sb_add(&fd->dia, "RFC 6531: a UTF-8 address needs SMTPUTF8 on both sides; "
		    "the server says this one is not permitted.");
		sb_add(&fd->fix, "Use an ASCII address for this recipient or sender, or "
		    "enable SMTPUTF8 on %s.", peers(x)->server);
		ev_add(&fd->e, x->f->r567_seq, 5);
		ev_add(&fd->e, x->f->r567_seq - 1, 4);
		return true;
	}
	return false;
}

bool
r_smtputf8_without_8bitmime(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!x->f->ehlo_ok || !(r->capflags & CAPF(SMTPUTF8)) ||
	    (r->capflags & CAPF(8BITMIME)))
		return false;
	sb_add(&fd->sum, "Server %s offers SMTPUTF8 but not 8BITMIME to client %s.",
	    peers(x)->server, peers(x)->client);
	sb_add(&fd->dia, "RFC 6531 section 3 requires a server offering SMTPUTF8 to "
	    "offer 8BITMIME too. The missing 8BITMIME points to a keyword removed "
	    "on purpose (a keyword filter or a middlebox); senders holding 8-bit "
	    "messages will abort or downgrade.");
	sb_add(&fd->fix, "Offer 8BITMIME on %s again (Postfix: remove it from "
	    "smtpd_discard_ehlo_keywords; Domino: enable the 8-bit MIME extension), "
	    "or stop offering SMTPUTF8.", peers(x)->server);
	ev_add(&fd->e, x->f->ehlo_seq, 3);
	ev_range(&fd->e, x->f->ehlo_reply_seq, x->f->ehlo_reply_last, 3);
	return true;
}

bool
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
			ev_add(&fd->e, tf->mail_seq, 5);
			any = true;
		}
		if (tf->binary_data_seq != NOSEQ) {
			sb_add(&fd->dia, "A BINARYMIME message was sent with DATA; it must go "
			    "with BDAT (RFC 3030 section 3). ");
			ev_add(&fd->e, tf->binary_data_seq, 5);
			any = true;
		}
		/* (BDAT without CHUNKING and no BINARYMIME is chunking-unoffered.) */
		if (t->body == BODY_BINARYMIME && tf->first_bdat_seq != NOSEQ &&
		    tf->caps_known && !(tf->caps_at_mail & CAPF(CHUNKING))) {
			sb_add(&fd->dia, "BDAT was sent although CHUNKING was not offered "
			    "(RFC 3030 section 2). ");
			ev_add(&fd->e, tf->first_bdat_seq, 5);
			any = true;
		}
		if (tf->bdat_mismatch) {
			sb_add(&fd->dia, "A BDAT chunk size did not match the octets sent: the "
			    "line after the chunk is not a command, so client and server "
			    "no longer agree where commands are. ");
			ev_add(&fd->e, tf->first_bdat_seq, 4);
			ev_add(&fd->e, tf->mismatch_seq, 5);
			any = true;
		}
		if (tf->data_and_bdat) {
			sb_add(&fd->dia, "DATA and BDAT were mixed in one transaction (RFC 3030 "
			    "section 2 forbids it). ");
			ev_add(&fd->e, tf->data_seq, 5);
			ev_add(&fd->e, tf->first_bdat_seq, 5);
			any = true;
		}
		if (any) {
			ev_add(&fd->e, tf->end_seq, 3);
			ev_add(&fd->e, tf->final_seq, 3);
			break;
		}
	}
	if (!any)
		return false;
	sb_add(&fd->sum, "Client %s broke the BINARYMIME/CHUNKING rules of RFC 3030 in "
	    "a transaction with %s.", peers(x)->client, peers(x)->server);
	sb_add(&fd->fix, "Fix the sender %s: use BDAT and BODY=BINARYMIME only when "
	    "CHUNKING (and BINARYMIME) are offered, send exactly the announced "
	    "chunk sizes, and never mix DATA and BDAT.", peers(x)->cip);
	evidence_hello(x, &fd->e);
	return true;
}

/* BDAT without the CHUNKING offer: its own cause, and the server's refusal
 * of the command is not a refusal of the message. */
bool
r_chunking_unoffered(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];

		if (tf->first_bdat_seq == NOSEQ || !tf->caps_known ||
		    (tf->caps_at_mail & CAPF(CHUNKING)) || t->body == BODY_BINARYMIME)
			continue;	/* (with BINARYMIME: binarymime-violation's) */
		sb_add(&fd->sum, "Client %s sent BDAT to %s, which had not offered "
		    "CHUNKING.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "RFC 3030 section 2 allows BDAT only after the server "
		    "offered CHUNKING in its EHLO reply. ");
		if (t->reply_code >= 400) {
			claim_line(x, tf->final_seq);
			sb_add(&fd->dia, "The server refused the BDAT command with %s "
			    "(\"%s\"): it does not implement BDAT, so the message was not "
			    "delivered; the refusal says nothing about the message itself.",
			    code_class(&t->enh, t->reply_code, c, sizeof(c)),
			    wire_str(&t->reply_text, b, sizeof(b)));
		} else if (t->reply_code != 0)
			sb_add(&fd->dia, "The server accepted it anyway (%d), but the next "
			    "hop may not.", t->reply_code);
		sb_add(&fd->fix, "Fix the sender %s: use DATA unless the EHLO reply offers "
		    "CHUNKING (a client that always uses BDAT is broken); or enable "
		    "CHUNKING on %s.", peers(x)->cip, peers(x)->server);
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		ev_add(&fd->e, tf->first_bdat_seq, 5);
		ev_range(&fd->e, tf->final_seq, tf->final_last, 5);
		return true;
	}
	return false;
}

/* MAIL ... SMTPUTF8 refused as a parameter: the extension's problem, not
 * the sender address's. */
bool
r_smtputf8_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char a[160], b[200], c[200];

	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_record *t = &r->tx[i];
		const struct tx_facts *tf = &x->s->txf[i];
		bool offered = (tf->caps_at_mail & CAPF(SMTPUTF8)) != 0;

		if (!t->smtputf8 || !param_refused(t, "SMTPUTF8") || body_refused(t))
			continue;
		claim_line(x, tf->mail_reply_seq);
		sb_add(&fd->sum, "Server %s refused MAIL FROM:<%s> SMTPUTF8 from client %s "
		    "with %d.", peers(x)->server, wire_str(&t->mail_from, a, sizeof(a)), peers(x)->client,
		    t->mail_reply_code);
		sb_add(&fd->dia, "The server refused the SMTPUTF8 parameter (%s; reply "
		    "\"%s\"). ", code_class(&t->mail_enh, t->mail_reply_code, c, sizeof(c)),
		    wire_str(&t->mail_reply_text, b, sizeof(b)));
		if (tf->caps_known && !offered)
			sb_add(&fd->dia, "It had not offered SMTPUTF8, so the client should "
			    "not have used it (RFC 6531 section 3.4): a message with UTF-8 "
			    "addresses or headers then needs a downgrade or a bounce.");
		else
			sb_add(&fd->dia, "It offered SMTPUTF8, yet refuses the parameter: a "
			    "server or proxy that advertises what it does not implement.");
		if (tf->caps_known && !offered)
			sb_add(&fd->fix, "Make the sender %s use SMTPUTF8 only when offered "
			    "(and downgrade or bounce otherwise), or enable SMTPUTF8 on %s "
			    "(Postfix: smtputf8_enable = yes).", peers(x)->cip, peers(x)->server);
		else
			sb_add(&fd->fix, "Make %s implement what it offers (enable SMTPUTF8 "
			    "properly, or stop offering it), and look for a proxy in front "
			    "of it that rewrites the EHLO reply.", peers(x)->server);
		evidence_hello(x, &fd->e);
		evidence_tx_mail(&fd->e, tf);
		return true;
	}
	return false;
}
