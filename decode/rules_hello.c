/*
 * rules_hello.c - the greeting, EHLO and capability rules.
 *
 * What goes wrong before the first MAIL FROM: a refused greeting or EHLO,
 * a client talking first, a client leaving after reading the capabilities,
 * a capability masked or stripped on the way.  Conditions, texts and
 * evidence only: incident.c runs the rules and makes the incidents.
 */
#include <stdio.h>

#include "rule_int.h"

bool
r_ehlo_rejected(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (!r->helo_fallback)
		return false;
	sb_add(&fd->sum, "Server %s refused EHLO from client %s, which fell back to HELO: "
	    "no ESMTP extension is available in this session.", peers(x)->server, peers(x)->client);
	sb_add(&fd->dia, "After HELO (RFC 5321 section 3.2) there is no 8BITMIME, SIZE, "
	    "PIPELINING, STARTTLS, DSN or SMTPUTF8: 8-bit messages must be "
	    "converted or bounced, and mail travels in cleartext. This is often the "
	    "root of the 8-bit incidents and of unencrypted delivery. A server "
	    "refusing EHLO is typically very old, or a firewall SMTP 'fixup' "
	    "(Cisco PIX/ASA inspection) is in the path.");
	sb_add(&fd->fix, "Find why %s refuses EHLO: if an SMTP inspection feature of a "
	    "firewall sits between the hosts, disable it or allow ESMTP; otherwise "
	    "upgrade or reconfigure the server to support ESMTP.", peers(x)->server);
	ev_add(&fd->e, x->f->ehlo_rej_seq, 5);
	ev_add(&fd->e, x->f->ehlo_rej_reply_seq, 5);
	ev_add(&fd->e, x->f->helo_seq, 4);
	ev_add(&fd->e, x->f->helo_reply_seq, 4);
	return true;
}

bool
r_greeting_refused(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char b[200];

	if (r->banner_code < 400)
		return false;
	claim_line(x, x->f->greeting_seq);
	sb_add(&fd->sum, "Server %s refused client %s at the greeting with %d.", peers(x)->server,
	    peers(x)->client, r->banner_code);
	sb_add(&fd->dia, "The first reply was %d (\"%s\") instead of 220 (RFC 5321 "
	    "section 3.1, 4.3.1): %s", r->banner_code, wire_str(&r->banner, b, sizeof(b)),
	    r->banner_code == 421 ? "the server is shutting down, overloaded or "
	    "limiting connections; the client will retry later." :
	    "the server will not talk to this client at all, typically a DNSBL "
	    "listing, a connection-rate policy or a blocked network.");
	sb_add(&fd->fix, "Read the greeting text; check %s against the blocklists or "
	    "connection limits named there, or raise the limits on %s.", peers(x)->cip,
	    peers(x)->server);
	ev_range(&fd->e, x->f->greeting_seq, x->f->greeting_last, 5);
	ev_add(&fd->e, x->f->quit_seq, 2);
	return true;
}

bool
r_early_talker(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	bool blind = f->greeting_lost || (x->r->flags & SF_ONE_SIDED);

	/* The client's ACK number on its first line says what it had
	 * received: more than nothing, and the greeting was sent (lost from a
	 * capture gap, or on the side a mirror port did not copy), so pair.c
	 * records no early line.  Without that number, a capture that cannot show the greeting cannot show a
	 * client talking first; nor can a session joined mid-stream (known
	 * once the server's first line failed to parse). */
	if (f->early_seq == NOSEQ || (x->r->flags & SF_MID_STREAM))
		return false;
	if (blind && !f->early_ack_known)
		return false;
	sb_add(&fd->sum, "Client %s spoke before %s sent its greeting.", peers(x)->client,
	    peers(x)->server);
	sb_add(&fd->dia, "RFC 5321 section 4.3.1: the client must wait for the 220 "
	    "greeting. Talking first is the signature of spam software; Postfix "
	    "postscreen, Sendmail greet_pause and Exim's early-talker check reject "
	    "such clients. A legitimate MTA doing this is broken, or a proxy in "
	    "front of the server delays the greeting.");
	if (blind) {
		/* Nothing received is not nothing sent: the greeting may have
		 * been in flight. */
		fd->conf = CONF_PROBABLE;
		sb_add(&fd->dia, " The capture does not hold the server's greeting%s; "
		    "the client's TCP acknowledgement on that line shows it had "
		    "received no byte from the server yet.",
		    (x->r->flags & SF_ONE_SIDED) ? " (only one direction was "
		    "captured)" : " (lost in a capture gap)");
	}
	sb_add(&fd->fix, "If %s is a legitimate sender, fix its SMTP client to wait "
	    "for the greeting, or whitelist it on %s.", peers(x)->cip, peers(x)->server);
	ev_add(&fd->e, f->early_seq, 5);
	ev_add(&fd->e, f->greeting_seq, 4);
	return true;
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

bool
r_abort_after_capabilities(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	char miss[200];
	bool in_tls = false;

	if (!abort_after_ehlo(x->s) && !(in_tls = abort_inside_tls(x, NULL)))
		return false;
	(void)missing_notable(r->capflags, miss, sizeof(miss));
	if (in_tls)
		sb_add(&fd->sum, "Client %s gave up on %s inside TLS: after STARTTLS it "
		    "sent its EHLO, no MAIL FROM, and closed.", peers(x)->client, peers(x)->server);
	else
		sb_add(&fd->sum, "Client %s gave up on %s after reading its EHLO reply: "
		    "RSET then %s, no MAIL FROM.", peers(x)->client, peers(x)->server, how_ended(x));
	sb_add(&fd->dia, "The server offered: ");
	caps_list(r, &fd->dia);
	sb_add(&fd->dia, ". Extensions a sender may need that were missing: %s. A "
	    "client that resets and leaves without MAIL FROM may need one of them "
	    "(STARTTLS under a mandatory-TLS policy, SIZE for a large message), or "
	    "may be a probe or an address verifier.", miss[0] ? miss : "none");
	sb_add(&fd->fix, "Check the sender %s's logs for why it did not proceed (TLS "
	    "policy, message size, a missing extension); if it is a monitoring "
	    "probe, no action is needed.", peers(x)->cip);
	fd->conf = abort_confidence(x, fd->conf, false, &fd->dia);
	if (in_tls) {
		sb_add(&fd->dia, " Inside TLS the server may offer less than before "
		    "STARTTLS (Postfix smtpd_discard_ehlo_keywords, an Exchange "
		    "connector): an 8BITMIME dropped there is the KB295734 abort.");
		(void)abort_inside_tls(x, &fd->dia);
		fd->conf = CONF_POSSIBLE;
		ev_add(&fd->e, x->f->starttls_seq, 4);
		ev_add(&fd->e, x->f->starttls_reply_seq, 4);
	}
	evidence_abort(x, &fd->e);
	return true;
}

bool
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
		    "keyword \"%s\": a middlebox is blanking an extension.", peers(x)->server,
		    peers(x)->client, l != NULL ? wire_str(&l->text, b, sizeof(b)) : "?");
		sb_add(&fd->dia, "A keyword of X's (XXXXXXXA stands where STARTTLS was) is "
		    "what Cisco PIX/ASA SMTP inspection (fixup/ESMTP inspection) "
		    "leaves when it removes an extension it does not know. Clients "
		    "then cannot use it (RFC 3207 section 4, 6): mail goes in "
		    "cleartext or 8-bit messages are refused. ");
	} else if (f->stripped_in_tls) {
		/* The reply inside TLS is authentic: no device rewrote it. */
		sb_add(&fd->sum, "Server %s offered 8BITMIME to client %s before STARTTLS "
		    "but not inside TLS.", peers(x)->server, peers(x)->client);
		sb_add(&fd->dia, "The EHLO reply inside TLS (decrypted with the key log) "
		    "is the server's own: no device in the path can change it. The "
		    "server is configured differently for TLS sessions, so a client "
		    "that decides after STARTTLS, as RFC 3207 section 4.2 requires, "
		    "cannot send 8-bit mail, while one that remembered the first "
		    "reply does so unannounced. ");
		sb_add(&fd->fix, "Make %s offer the same extensions inside TLS as before "
		    "it (Postfix: smtpd_discard_ehlo_keywords and the -o overrides of "
		    "the smtpd entry in master.cf; Exchange: the receive connector).",
		    peers(x)->server);
		ev_add(&fd->e, f->stripped_seq, 5);
		ev_add(&fd->e, f->ehlo_seq, 4);
		ev_range(&fd->e, f->ehlo_reply_seq, f->ehlo_reply_last, 2);
		return true;
	} else {
		sb_add(&fd->sum, "Server %s offered %s%s%s earlier in the session but no "
		    "longer does to client %s.", peers(x)->server,
		    (f->stripped_bits & CAPF(STARTTLS)) ? "STARTTLS" : "",
		    (f->stripped_bits & CAPF(STARTTLS)) && (f->stripped_bits & CAPF(8BITMIME)) ?
		    " and " : "",
		    (f->stripped_bits & CAPF(8BITMIME)) ? "8BITMIME" : "", peers(x)->client);
		sb_add(&fd->dia, "Two cleartext EHLO replies in one session differ: "
		    "something between the hosts rewrites the reply, or the server's "
		    "configuration depends on state it should not. ");
	}
	sb_add(&fd->fix, "Disable SMTP/ESMTP inspection on the firewall between %s and "
	    "%s (Cisco ASA: no inspect esmtp, or allow the extension in the "
	    "policy map), or make it pass EHLO replies unchanged.", peers(x)->cip, peers(x)->sip);
	if (f->masked_seq == NOSEQ)
		fd->conf = CONF_PROBABLE;
	ev_add(&fd->e, f->masked_seq, 5);
	ev_add(&fd->e, f->stripped_seq, 5);
	ev_add(&fd->e, f->ehlo_seq, 4);
	ev_range(&fd->e, f->ehlo_reply_seq, f->ehlo_reply_last, 2);
	return true;
}
