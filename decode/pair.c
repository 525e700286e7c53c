/*
 * pair.c - lines into commands and replies, and the queue that pairs them.
 *
 * Client lines become commands (cmd.c) that join a FIFO of outstanding
 * commands; server lines become replies (reply.c), multi-line replies are
 * assembled here, and each complete reply answers the command at the head
 * of the FIFO.  That is what makes pairing survive PIPELINING (RFC 2920):
 * replies come in command order.  What every command shares (the
 * transcript line, line anomalies, the early-talker and pipelining checks)
 * and what every reply shares (the last reply, the special codes the rules
 * look for, EHLO capabilities) is done here; what a verb means is its row
 * in verbs.c, called once per command and once per complete reply.
 *
 * Resynchronisation (after a gap, or a session joined mid-stream) is also
 * here: a direction skips lines until one is unmistakably a command
 * (cmd_strict()) or a valid reply.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"

#define SMTP_LINE_LIMIT	512	/* RFC 5321 4.5.3.1.4/5, CRLF included */

/* ---------------------------------------------------------------------
 * Outstanding commands (a ring that grows up to max_queue)
 * ------------------------------------------------------------------ */
bool
q_push(struct smtp_session *s, const struct pending *p)
{
	if (s->qlen == s->qcap) {
		size_t ncap = s->qcap ? s->qcap * 2 : 8;
		struct pending *nq;

		if (s->qcap >= s->ctx->lim.max_queue) {
			san_add(&s->rec.anomalies[SAN_QUEUE_FULL], 1);
			return false;
		}
		if (ncap > s->ctx->lim.max_queue)
			ncap = s->ctx->lim.max_queue;
		if ((nq = reallocarray(NULL, ncap, sizeof(*nq))) == NULL) {
			san_add(&s->rec.anomalies[SAN_QUEUE_FULL], 1);
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
 * Resynchronisation
 * ------------------------------------------------------------------ */
/* While a direction resynchronises (s->resync[d]), only a recognisable
 * line (ok) is decoded; the others are skipped and counted.  Returns
 * whether to decode this line. */
static bool
resync_line(struct smtp_session *s, enum xdir d, bool ok, const struct smtp_pos *pos)
{
	if (!ok) {
		s->skipped[d] += line_octets(&s->lb[d]);
		return false;
	}
	s->resync[d] = false;
	if (s->skipped[d] > 0)
		(void)tr_note(s, pos, "[%s: %llu bytes skipped to resynchronise]",
		    d == XDIR_CLIENT ? "client" : "server",
		    (unsigned long long)s->skipped[d]);
	s->skipped[d] = 0;
	return true;
}

/* ---------------------------------------------------------------------
 * Client lines
 * ------------------------------------------------------------------ */
void
line_anomalies(struct smtp_session *s, const struct linebuf *lb, bool client,
    uint32_t seq)
{
	uint32_t *a = s->rec.anomalies;

	if (line_octets(lb) > SMTP_LINE_LIMIT) {
		if (client) {
			san_add(&a[SAN_LONG_CMD], 1);
			if (s->f.long_cmd_seq == NOSEQ)
				s->f.long_cmd_seq = seq;
		} else {
			san_add(&a[SAN_LONG_REPLY], 1);
			if (s->f.long_reply_seq == NOSEQ)
				s->f.long_reply_seq = seq;
		}
	}
	if (lb->flags & LN_CUT)
		san_add(&a[SAN_LINE_CAP], 1);
	if (lb->flags & LN_BARE_LF)
		san_add(&a[SAN_BARE_LF], 1);
	if (lb->flags & LN_BARE_CR)
		san_add(&a[SAN_BARE_CR], 1);
	if (lb->flags & LN_NUL)
		san_add(&a[SAN_NUL_BYTE], 1);
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
	if (verb_table[t->cmd].flags & VF_GROUP_END) {
		if (s->f.pipe_term++ == 0)
			s->f.pipe_term_seq = seq;
	} else if (s->f.hello_ok && !(s->rec.capflags & CAPF(PIPELINING))) {
		/* (Only once the offer is known: an EHLO reply lost in a gap
		 * says nothing about PIPELINING.) */
		san_add(&s->rec.anomalies[SAN_PIPELINING_UNOFFERED], 1);
		if (s->f.pipe_unoffered++ == 0)
			s->f.pipe_unoffered_seq = seq;
	}
}

static void
client_command(struct smtp_session *s, const struct cmd *c,
    const struct linebuf *lb, const struct smtp_pos *pos)
{
	struct sess_record *r = &s->rec;
	struct sess_facts *f = &s->f;
	struct pending p;
	struct verb_cmd v;
	uint32_t seq;

	seq = command_to_transcript(s, c, lb, pos);
	if (c->id != CMD_AUTH)
		line_anomalies(s, lb, true, seq);
	r->commands++;
	if (r->nverbs < SESS_MAX_VERBS)
		r->verbs[r->nverbs++] = (uint8_t)c->id;
	else
		r->verbs_dropped++;
	if (c->id == CMD_UNKNOWN)
		san_add(&r->anomalies[SAN_UNKNOWN_COMMAND], 1);
	if (s->phase == SP_QUIT)
		san_add(&r->anomalies[SAN_DATA_AFTER_QUIT], 1);
	/* Before the greeting, unless the client's ACK shows it had received
	 * server bytes (the greeting is then only missing from the capture). */
	if (!f->greeting_seen && !(r->flags & SF_MID_STREAM) &&
	    !(pos->peer_ack_known && pos->peer_acked > 0)) {
		if (f->early_seq == NOSEQ) {
			f->early_seq = seq;
			f->early_ack_known = pos->peer_ack_known;
			san_add(&r->anomalies[SAN_EARLY_TALKER], 1);
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
	if (verb_table[c->id].on_command != NULL) {
		v.c = c;
		v.p = &p;
		v.pos = pos;
		v.seq = seq;
		verb_table[c->id].on_command(s, &v);
	}
	(void)q_push(s, &p);
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

void
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
	if (s->resync[XDIR_CLIENT] &&
	    !resync_line(s, XDIR_CLIENT, cmd_strict(lb->buf, lb->len), pos))
		return;
	cmd_parse(lb->buf, lb->len, &c);
	if (s->after_chunk) {
		s->after_chunk = false;
		if (c.id == CMD_UNKNOWN || !c.syntax_ok) {
			int ti = s->body_tx;

			san_add(&s->rec.anomalies[SAN_BDAT_MISMATCH], 1);
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
			wstr_set_in(&s->pool, &s->rec.banner, rl->text.p, rl->text.len,
			    s->ctx->lim.max_line);
			return;
		}
		if (!(s->rec.flags & SF_MID_STREAM)) {
			/* We joined after the greeting. */
			s->rec.flags |= SF_MID_STREAM;
			san_add(&s->rec.anomalies[SAN_MID_STREAM], 1);
		}
	}
	if (s->qlen == 0 && s->phase == SP_CONTENT_RESYNC)
		content_end(s, pos, false, 0);
	if ((h = q_head(s)) == NULL) {
		san_add(&s->rec.anomalies[SAN_UNSOLICITED_REPLY], 1);
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
		wstr_set_in(&s->pool, &r->auth_mechs, cl.rest.p, cl.rest.len, cap);
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
	if ((buf = wstr_alloc(&s->pool, &r->caps[r->ncaps], n)) == NULL) {
		r->caps_dropped++;
		return;
	}
	memcpy(buf, text->p, n);
	for (size_t i = 0; i < cl.kw.len && i < n; i++)
		buf[i] = (char)a_upper((uint8_t)buf[i]);
	r->ncaps++;
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

void
reply_end(struct smtp_session *s, const struct span *text,
    const struct smtp_pos *pos)
{
	struct sess_record *r = &s->rec;
	struct sess_facts *f = &s->f;
	struct cur_reply *rp = &s->rp;
	const struct verb *vb;
	struct verb_reply v;

	rp->open = false;
	if (f->plain_after_tls)
		f->plain_replies++;
	r->replies++;
	r->last_reply_code = rp->code;
	r->last_enh = rp->enh;
	if (text != NULL)
		wstr_set_in(&s->pool, &r->last_reply_text, text->p, text->len, s->ctx->lim.max_line);
	note_special_reply(s);
	if (rp->greeting) {
		f->greeting_seq = rp->first_seq;
		f->greeting_last = rp->last_seq;
		if (s->phase == SP_CONNECTED)
			enter_state(s, SP_GREETED, "greeting");
		s->want_update = true;
		return;
	}
	if (!rp->paired)
		return;
	v.pd = &rp->pend;
	v.t = tx_at(s, v.pd->tx);
	v.tf = v.t != NULL ? &s->txf[v.pd->tx] : NULL;
	v.text = text;
	v.pos = pos;
	v.ok = rp->code >= 200 && rp->code < 300;
	vb = &verb_table[v.pd->cmd];
	if (vb->on_reply != NULL && !vb->on_reply(s, &v))
		return;
	q_pop(s);
}

void
server_line(struct smtp_session *s, const struct smtp_pos *pos)
{
	struct linebuf *lb = &s->lb[XDIR_SERVER];
	struct reply_line rl;
	uint32_t seq;

	s->saw_line[XDIR_SERVER] = true;
	reply_parse(lb->buf, lb->len, &rl);
	if (s->resync[XDIR_SERVER] && !resync_line(s, XDIR_SERVER, rl.valid, pos))
		return;
	seq = tr_add(s, XDIR_SERVER,
	    (uint8_t)((s->rp.open ? XL_CONT : 0) | ((lb->flags & LN_CUT) ? XL_TRUNCATED : 0)),
	    lb->buf, lb->len, pos);
	line_anomalies(s, lb, false, seq);
	if (!rl.valid) {
		san_add(&s->rec.anomalies[SAN_BAD_REPLY], 1);
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
			san_add(&s->rec.anomalies[SAN_REPLY_CODE_CHANGE], 1);
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
