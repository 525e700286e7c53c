/*
 * rules_conn.c - the connection and protocol rules.
 *
 * How the session went and ended: cut in the middle of a message, closed
 * by the server with 421, closed without QUIT (standing back for the rules
 * that already explain the close), and RFC 5321/2920 protocol breaches:
 * pipelining, replies out of step, lines over the limits.  Conditions,
 * texts and evidence only: incident.c runs the rules.
 */
#include "rule_int.h"

/* Client plaintext left unanswered inside TLS that looks like a message
 * (commands are tens of octets; a pipelined MAIL, RCPT, DATA group stays
 * well under it). */
#define TLS_MESSAGE_OCTETS	256

bool
r_reset_mid_data(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct tls_seen *t = &x->r->tls;
	/* Inside TLS, without keys: the client's last flight was message-sized
	 * and the server sent nothing after it before the close. */
	bool tls_cut = tls_opaque(x->s) && t->sizes_known && t->c_tail >= TLS_MESSAGE_OCTETS;

	if (!(f->cut_in_content || f->cut_awaiting_reply || tls_cut) || !sess_closed(x->r))
		return false;
	if (tls_cut && !f->cut_in_content && !f->cut_awaiting_reply) {
		fd->conf = CONF_POSSIBLE;
		sb_add(&fd->sum, "The connection between client %s and %s ended inside TLS "
		    "after the client sent %llu octets the server never answered.",
		    peers(x)->client, peers(x)->server, (unsigned long long)t->c_tail);
		sb_add(&fd->dia, "Seen through encryption, without keys: the client's "
		    "last records held %llu octets of plaintext, the size of a "
		    "message rather than of commands, and the connection ended by "
		    "%s with no record from the server after them. The message was "
		    "probably cut in its content, or sent whole and left without "
		    "its reply: either way the sender will retry it, and a server "
		    "that had queued it delivers a duplicate (RFC 5321 section "
		    "4.1.1.4).", (unsigned long long)t->c_tail, how_ended(x));
	} else if (f->cut_in_content) {
		sb_add(&fd->sum, "The connection between client %s and %s ended in the "
		    "middle of a message, before its end of data.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "The session ended by %s while message content was "
		    "flowing: the message was not delivered and the sender will "
		    "retry it in full (RFC 5321 section 4.1.1.4).", how_ended(x));
	} else {
		sb_add(&fd->sum, "The connection between client %s and %s ended after the "
		    "end of data but before the server's reply.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "The server may have accepted and queued the message "
		    "while the client, without the reply, will send it again: the "
		    "duplicate-delivery window of RFC 1047 (RFC 5321 section "
		    "4.1.1.4). A content filter slower than the client's timeout "
		    "(RFC 5321 section 4.5.3.2.6: 10 minutes after the dot) is the "
		    "usual cause.");
	}
	sb_add(&fd->fix, "Look for timeouts or resets on the path (firewall idle "
	    "timers, proxies) and for slow content filtering on %s; raise the "
	    "sender %s's data timeouts if they are below RFC 5321's.", peers(x)->server,
	    peers(x)->cip);
	ev_add(&fd->e, f->cut_seq, 5);
	for (size_t i = 0; i < x->r->ntx; i++)
		ev_add(&fd->e, x->s->txf[i].data_seq, 3);
	return true;
}

bool
r_server_shutdown(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[200];

	if (f->r421_seq == NOSEQ || line_claimed(x, f->r421_seq))
		return false;
	l = tr_find(x->s, f->r421_seq);
	sb_add(&fd->sum, "Server %s closed the session with client %s with 421.",
	    peers(x)->server, peers(x)->client);
	sb_add(&fd->dia, "421 (\"%s\") means the service is closing the channel (RFC "
	    "5321 section 3.8): shutdown, overload, a timeout or too many errors. "
	    "The client will retry later.", l != NULL ? wire_str(&l->text, b, sizeof(b)) : "?");
	sb_add(&fd->fix, "Check %s's logs at this time for the reason (load, limits, "
	    "timeouts, restarts).", peers(x)->server);
	ev_add(&fd->e, f->r421_seq, 5);
	ev_add(&fd->e, f->r421_seq - 1, 3);
	return true;
}

bool
r_no_quit(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *last;

	if (x->f->quit_seq != NOSEQ || !sess_closed(r) || tls_opaque(x->s) ||
	    (r->flags & SF_ONE_SIDED) ||
	    x->s->tr.next_seq == 0)
		return false;
	sb_add(&fd->sum, "The session between client %s and %s ended by %s without "
	    "QUIT.", peers(x)->client, peers(x)->server, how_ended(x));
	sb_add(&fd->dia, "RFC 5321 section 4.1.1.10: a client ends a session with QUIT "
	    "and waits for 221. %s", r->end == SEND_TIMEOUT ? "The session went "
	    "idle past the timeouts of RFC 5321 section 4.5.3.2." :
	    "A peer that drops the connection instead is impolite at best; at "
	    "worst one side crashed or a middlebox cut the connection.");
	sb_add(&fd->fix, "Usually harmless; if frequent, look at the sender %s's "
	    "connection handling and at idle timers on the path.", peers(x)->cip);
	if ((last = tr_find(x->s, x->s->tr.next_seq - 1)) != NULL)
		ev_add(&fd->e, x->s->tr.next_seq - 1, 5);
	return true;
}

bool
r_pipelining_violation(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (f->pipe_unoffered == 0 && f->pipe_term == 0)
		return false;
	sb_add(&fd->sum, "Client %s pipelined commands to %s against RFC 2920.",
	    peers(x)->client, peers(x)->server);
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
	    "terminator.", peers(x)->cip);
	ev_add(&fd->e, f->pipe_unoffered_seq, 5);
	ev_add(&fd->e, f->pipe_unoffered_seq == NOSEQ ? NOSEQ : f->pipe_unoffered_seq - 1, 4);
	ev_add(&fd->e, f->pipe_term_seq, 5);
	ev_add(&fd->e, f->pipe_term_seq == NOSEQ ? NOSEQ : f->pipe_term_seq - 1, 4);
	if (f->pipe_unoffered > 0)
		evidence_hello(x, &fd->e);
	return true;
}

bool
r_reply_mismatch(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (x->r->flags & (SF_GAP | SF_MID_STREAM))
		return false;
	if (f->unsolicited_seq == NOSEQ && f->code_change_seq == NOSEQ &&
	    f->bad_code_seq == NOSEQ)
		return false;
	sb_add(&fd->sum, "Replies from %s to client %s do not follow RFC 5321 section "
	    "4.2.", peers(x)->server, peers(x)->client);
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
	    "it) that emits these replies.", peers(x)->server);
	ev_add(&fd->e, f->unsolicited_seq, 5);
	ev_add(&fd->e, f->code_change_seq, 5);
	ev_add(&fd->e, f->code_change_seq == NOSEQ ? NOSEQ : f->code_change_seq - 1, 4);
	ev_add(&fd->e, f->bad_code_seq, 5);
	return true;
}

bool
r_line_too_long(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	uint32_t lc = r->anomalies[SAN_LONG_CMD], lr = r->anomalies[SAN_LONG_REPLY],
	    lt = r->anomalies[SAN_LONG_TEXT];

	if (lc == 0 && lr == 0 && lt == 0)
		return false;
	sb_add(&fd->sum, "Lines longer than RFC 5321 allows between client %s and %s.",
	    peers(x)->client, peers(x)->server);
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
	    "(quoted-printable or base64) and keep commands short.", peers(x)->cip);
	fd->sev = lc > 0 || lr > 0 ? SEV_WARNING : SEV_NOTICE;
	ev_add(&fd->e, x->f->long_cmd_seq, 5);
	ev_add(&fd->e, x->f->long_reply_seq, 5);
	for (size_t i = 0; i < r->ntx; i++)
		if (x->s->txf[i].long_lines > 0)
			ev_add(&fd->e, x->s->txf[i].end_seq, 4);
	return true;
}
