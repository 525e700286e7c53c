/*
 * verbs.c - what each SMTP verb does to a session: the verb table.
 *
 * One row per command id, in the manner of OpenSMTPD's commands[]: the
 * verb as sent on the wire, its argument parser (cmd.c), its properties
 * (ends a pipelined group, how strict a resynchronising line must be) and
 * two small handlers: on_command when the client sends it, on_reply when
 * its reply is complete.  pair.c does what every command and every reply
 * share (transcript, anomalies, the queue) and then calls the row; adding
 * a verb is an enum entry (dec_int.h) and a row here.
 *
 * The pseudo commands are rows too: the end of DATA content is queued
 * like a command and answered like one (its reply decides the message);
 * an unknown line is answered and counted.
 *
 * The judgement calls of the pairing rules are in session.c's file
 * comment (pipelined DATA, BDAT sizes, STARTTLS, AUTH).  This file also
 * owns the session's transactions and the end of message content, which
 * only the verbs start and stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dec_int.h"
#include "export.h"

/* ---------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------ */
struct tx_record *
tx_at(struct smtp_session *s, int ti)
{
	return ti >= 0 && (size_t)ti < s->rec.ntx ? &s->rec.tx[ti] : NULL;
}

static int
tx_new(struct smtp_session *s)
{
	size_t i;

	if (s->rec.ntx >= SESS_MAX_TX) {
		s->rec.tx_dropped++;
		return -1;
	}
	if (s->rec.ntx == s->txcap) {
		size_t ncap = s->txcap ? s->txcap * 2 : 4;
		struct tx_record *nt;
		struct tx_facts *nf;

		if (ncap > SESS_MAX_TX)
			ncap = SESS_MAX_TX;
		if ((nt = reallocarray(s->rec.tx, ncap, sizeof(*nt))) == NULL) {
			s->rec.tx_dropped++;
			return -1;
		}
		s->rec.tx = nt;
		if ((nf = reallocarray(s->txf, ncap, sizeof(*nf))) == NULL) {
			s->rec.tx_dropped++;
			return -1;
		}
		s->txf = nf;
		s->txcap = ncap;
	}
	i = s->rec.ntx++;
	memset(&s->rec.tx[i], 0, sizeof(s->rec.tx[i]));
	memset(&s->txf[i], 0, sizeof(s->txf[i]));
	tx_facts_unset(&s->txf[i]);
	return (int)i;
}

static int
rcpt_new(struct smtp_session *s, int ti)
{
	struct tx_record *t = &s->rec.tx[ti];
	struct tx_facts *tf = &s->txf[ti];
	size_t i;

	if (t->nrcpts >= s->ctx->lim.max_rcpts) {
		t->rcpts_dropped++;
		return -1;
	}
	if (t->nrcpts == tf->rcap) {
		size_t ncap = tf->rcap ? tf->rcap * 2 : 4;
		struct rcpt_record *nr;
		struct rcpt_facts *nf;

		if (ncap > s->ctx->lim.max_rcpts)
			ncap = s->ctx->lim.max_rcpts;
		if ((nr = reallocarray(t->rcpts, ncap, sizeof(*nr))) == NULL) {
			t->rcpts_dropped++;
			return -1;
		}
		t->rcpts = nr;
		if ((nf = reallocarray(tf->rf, ncap, sizeof(*nf))) == NULL) {
			t->rcpts_dropped++;
			return -1;
		}
		tf->rf = nf;
		tf->rcap = ncap;
	}
	i = t->nrcpts++;
	memset(&t->rcpts[i], 0, sizeof(t->rcpts[i]));
	rcpt_facts_unset(&tf->rf[i]);
	return (int)i;
}

/* A transaction starts: what was known of the server then. */
static void
tx_begin(struct smtp_session *s, int ti, const struct smtp_pos *pos)
{
	struct tx_facts *tf = &s->txf[ti];

	s->rec.tx[ti].ts_us = pos->ts_us;
	s->rec.tx[ti].pkt = pos->pkt;
	tf->caps_at_mail = s->rec.capflags;
	tf->caps_known = s->f.hello_ok;
	tf->via_helo = s->f.hello_ok && !s->f.ehlo_ok;
}

/* Is the transaction known to be refused before DATA is answered? */
static bool
tx_refused_early(const struct tx_record *t)
{
	bool all_replied = true, any_ok = false;

	if (t->mail_reply_code >= 400)
		return true;
	if (t->nrcpts == 0)
		return t->rcpts_dropped == 0;
	for (size_t i = 0; i < t->nrcpts; i++) {
		if (t->rcpts[i].reply_code == 0)
			all_replied = false;
		else if (t->rcpts[i].reply_code < 400)
			any_ok = true;
	}
	return all_replied && !any_ok;
}

/* After a client gap or a mid-stream join the MAIL line may be lost: a
 * RCPT, DATA or BDAT with no transaction then opens one whose MAIL is
 * unseen (mail_from absent), so that the rest still decodes. */
static int
implicit_tx(struct smtp_session *s, const struct smtp_pos *pos)
{
	int ti;

	if (s->cur_tx >= 0 || !(s->f.gap_client || (s->rec.flags & SF_MID_STREAM)))
		return s->cur_tx;
	if ((ti = tx_new(s)) < 0)
		return -1;
	tx_begin(s, ti, pos);
	s->cur_tx = ti;
	return ti;
}

/* The reply that decides a message (the transaction's reply_code). */
static void
tx_set_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct tx_record *t = v->t;

	t->reply_code = s->rp.code;
	t->enh = s->rp.enh;
	if (v->text != NULL)
		wstr_set_in(&s->pool, &t->reply_text, v->text->p, v->text->len,
		    s->ctx->lim.max_line);
	t->end_ts_us = v->pos->ts_us;
	t->end_pkt = v->pos->pkt;
}

/* ... and, for end of data and BDAT, the end of the transaction: an
 * accepted message's reply usually names the server's queue id. */
static void
tx_final_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct span id;

	tx_set_reply(s, v);
	if (v->ok && v->text != NULL && v->t->queue_id.p == NULL &&
	    queue_id_parse(v->text->p, v->text->len, &id))
		wstr_set_in(&s->pool, &v->t->queue_id, id.p, id.len, 128);
	v->tf->final_seq = s->rp.first_seq;
	v->tf->final_last = s->rp.last_seq;
	v->tf->done = true;
	s->want_update = true;
}

/* ---------------------------------------------------------------------
 * Message content
 * ------------------------------------------------------------------ */
/* A note's text, built by pieces; what does not fit is cut. */
struct nb {
	char b[240];
	size_t o;
};

static void
nb_n(struct nb *n, const char *s, size_t l)
{
	if (l > sizeof(n->b) - n->o)
		l = sizeof(n->b) - n->o;
	memcpy(n->b + n->o, s, l);
	n->o += l;
}

static void
nb_s(struct nb *n, const char *s)
{
	nb_n(n, s, strlen(s));
}

static void
nb_u(struct nb *n, uint64_t v)
{
	char d[EXPORT_U64_SIZE], *p = export_u64(d + sizeof(d), v);

	nb_n(n, p, (size_t)(d + sizeof(d) - p));
}

/* pre, the number v, then one or many after it ("1 line", "2 lines"). */
static void
nb_count(struct nb *n, const char *pre, uint64_t v, const char *one,
    const char *many)
{
	nb_s(n, pre);
	nb_u(n, v);
	nb_s(n, v == 1 ? one : many);
}

static void
note_message(struct smtp_session *s, const struct smtp_pos *pos,
    const struct tx_record *t, bool cut)
{
	const struct body *b = &s->body;
	struct nb n = { .o = 0 };

	/* Without printf: snprintf of this note was 2% of the decoding
	 * thread's instructions on short sessions. */
	nb_s(&n, cut ? "[message cut short: " : "[message: ");
	nb_u(&n, t != NULL ? t->data_bytes : b->off);
	nb_s(&n, " bytes");
	if (t != NULL && t->bdat)
		nb_count(&n, " in ", t->bdat_chunks, " BDAT chunk", " BDAT chunks");
	if (cut && s->chunk_left > 0) {
		nb_s(&n, " (");
		nb_u(&n, s->chunk_left);
		nb_s(&n, " more announced, never sent)");
	}
	if (b->eightbit > 0) {
		nb_s(&n, ", 8-bit (");
		nb_u(&n, b->eightbit);
		nb_s(&n, " octets >= 0x80, first at offset ");
		nb_u(&n, b->first8);
		nb_s(&n, ")");
	} else
		nb_s(&n, ", 7-bit");
	if (b->long_lines > 0)
		nb_count(&n, ", ", b->long_lines, " line over 1000 octets",
		    " lines over 1000 octets");
	if (b->dot_rules && b->bare > 0)
		nb_count(&n, ", ", b->bare, " bare LF/CR", " bare LF/CR");
	if (b->nul)
		nb_s(&n, ", NUL octets");
	if (b->smuggle > 0)
		nb_count(&n, ", ", b->smuggle, " end-of-data look-alike",
		    " end-of-data look-alikes");
	nb_s(&n, "]");
	(void)tr_add(s, XDIR_NOTE, 0, n.b, n.o, pos);
}

/* A header value the tracker found, unless an earlier chunk gave one. */
static void
keep_header(struct smtp_session *s, struct wstr *w, const char *v, size_t cap)
{
	if (v[0] != '\0' && w->p == NULL)
		wstr_set_in(&s->pool, w, v, strlen(v), cap);
}

/* Copy what the content tracker learned into the transaction. */
static void
content_facts(struct smtp_session *s, struct tx_record *t, struct tx_facts *tf)
{
	const struct body *b = &s->body;
	size_t cap = s->ctx->lim.max_line;

	t->eightbit_bytes = b->eightbit;
	t->first_8bit_off = b->first8;
	t->bare_lf = b->dot_rules ? b->bare : 0;
	t->nul_seen = b->nul;
	keep_header(s, &t->cte, b->cte, cap);
	keep_header(s, &t->content_type, b->ctype, cap);
	keep_header(s, &t->charset, b->charset, cap);
	keep_header(s, &t->message_id, b->msgid, cap);
	keep_header(s, &t->subject, b->subject, cap);
	keep_header(s, &t->hdr_from, b->from, cap);
	keep_header(s, &t->hdr_to, b->to, cap);
	tf->long_lines = b->long_lines;
	tf->smuggle = b->smuggle;
	tf->dsn_report = a_eq(b->ctype, strlen(b->ctype), "multipart/report") &&
	    a_eq(b->report_type, strlen(b->report_type), "delivery-status");
}

static void
start_content(struct smtp_session *s, int ti, const char *why)
{
	body_start(&s->body, true);
	s->body_tx = ti;
	enter_state(s, SP_CONTENT, why);
}

void
content_end(struct smtp_session *s, const struct smtp_pos *pos, bool marker,
    uint64_t marker_len)
{
	struct tx_record *t = tx_at(s, s->body_tx);
	struct tx_facts *tf = t != NULL ? &s->txf[s->body_tx] : NULL;
	struct pending p;

	body_finish(&s->body);
	san_add(&s->rec.anomalies[SAN_LONG_TEXT], s->body.long_lines);
	if (t != NULL) {
		uint64_t off = s->body.off;

		t->data_bytes = marker && off >= marker_len ? off - marker_len : off;
		t->content_seen = t->data_bytes > 0 || marker;
		t->content_complete = marker;
		content_facts(s, t, tf);
	}
	note_message(s, pos, t, !marker);
	if (tf != NULL)
		tf->end_seq = s->tr.next_seq - 1;
	if (!marker) {
		if (tf != NULL)
			s->f.cut_seq = tf->end_seq;
		enter_state(s, SP_MAIL, "content ended without its marker");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.cmd = CMD_EOD;
	p.tx = s->body_tx;
	p.rcpt = p.prev_tx = -1;
	p.seq = s->tr.next_seq - 1;
	p.pkt = pos->pkt;
	(void)q_push(s, &p);
	enter_state(s, SP_HELLO, "end of data");
}

/* The content's end seen by the tracker, for the last chunk or a cut. */
static void
chunk_finish(struct smtp_session *s, const struct smtp_pos *pos, bool cut)
{
	struct tx_record *t = tx_at(s, s->body_tx);

	body_finish(&s->body);
	if (!cut)
		san_add(&s->rec.anomalies[SAN_LONG_TEXT], s->body.long_lines);
	if (t != NULL) {
		if (!cut)
			t->content_complete = true;
		content_facts(s, t, &s->txf[s->body_tx]);
	}
	note_message(s, pos, t, cut);
	if (t != NULL)
		s->txf[s->body_tx].end_seq = s->tr.next_seq - 1;
}

void
chunk_end(struct smtp_session *s, const struct smtp_pos *pos)
{
	s->after_chunk = true;
	enter_state(s, SP_MAIL, "BDAT chunk consumed");
	if (!s->chunk_last)
		return;
	chunk_finish(s, pos, false);
	enter_state(s, SP_HELLO, "last BDAT chunk consumed");
}

void
chunk_cut(struct smtp_session *s, const struct smtp_pos *pos)
{
	struct tx_record *t = tx_at(s, s->body_tx);

	if (t == NULL)
		return;
	/* The chunk's size was counted when announced: what never came is
	 * not message data (a BDAT claiming 100 GB and sending 1000 octets
	 * carried 1000). */
	t->data_bytes -= s->chunk_left <= t->data_bytes ? s->chunk_left : t->data_bytes;
	chunk_finish(s, pos, true);
	s->f.cut_seq = s->txf[s->body_tx].end_seq;
}

/* ---------------------------------------------------------------------
 * The verbs' handlers: on_command, then on_reply
 * ------------------------------------------------------------------ */

/*
 * HELO and EHLO: accepted, the name becomes the client's and any
 * transaction is reset (RFC 5321 section 4.1.4); refused (501 for a
 * missing name, say), nothing changes.  So the name and the reset wait
 * for the reply; the name shows at once only while no HELO or EHLO has
 * been accepted.
 */
static void
hello_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	size_t cap = s->ctx->lim.max_line;

	wstr_set_in(&s->pool, &s->helo_try, v->c->arg.p, v->c->arg.len, cap);
	if (!s->f.hello_ok)
		wstr_set_in(&s->pool, &s->rec.helo, v->c->arg.p, v->c->arg.len, cap);
	s->helo_prev_tx = (s->cur_tx >= 0 && !s->txf[s->cur_tx].done) ?
	    s->cur_tx : -1;
	s->cur_tx = -1;
	enter_state(s, SP_HELLO, v->c->id == CMD_EHLO ? "EHLO" : "HELO");
}

/* What HELO and EHLO replies share: the name, and the reset. */
static void
hello_outcome(struct smtp_session *s, const struct verb_reply *v)
{
	if (v->ok) {
		if (s->helo_try.p != NULL)
			wstr_set_in(&s->pool, &s->rec.helo, s->helo_try.p, s->helo_try.len,
			    s->ctx->lim.max_line);
		if (s->helo_prev_tx >= 0)
			s->txf[s->helo_prev_tx].done = true;
	} else if (s->helo_prev_tx >= 0 && s->cur_tx < 0 &&
	    !s->txf[s->helo_prev_tx].done) {
		/* Refused: the open transaction goes on. */
		s->cur_tx = s->helo_prev_tx;
		enter_state(s, SP_MAIL, "hello refused, transaction goes on");
	}
	s->helo_prev_tx = -1;
	s->want_update = true;
}

static bool
ehlo_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct sess_record *r = &s->rec;
	struct sess_facts *f = &s->f;
	const struct cur_reply *rp = &s->rp;
	uint32_t lost;

	hello_outcome(s, v);
	if (!v->ok) {
		f->ehlo_rej_seq = v->pd->seq;
		f->ehlo_rej_reply_seq = rp->first_seq;
		return true;
	}
	/* After TLS, STARTTLS must no longer be offered (RFC 3207 section
	 * 4.2): not a loss. */
	lost = r->capflags_ever & ~rp->capflags &
	    (CAPF(8BITMIME) | (f->plain_after_tls || f->tls_decrypted ? 0 :
	    CAPF(STARTTLS)));

	if (f->ehlo_ok && lost != 0) {
		f->stripped_bits |= lost;
		f->stripped_seq = rp->first_seq;
		f->stripped_in_tls = f->tls_decrypted;
	}
	f->ehlo_ok = f->hello_ok = true;
	r->ehlo = true;
	r->capflags = rp->capflags;
	r->capflags_ever |= rp->capflags;
	r->size_limit = rp->size_limit;
	f->cmds_since_ehlo = 0;
	f->rset_seq = NOSEQ;
	f->ehlo_seq = v->pd->seq;
	f->ehlo_reply_seq = rp->first_seq;
	f->ehlo_reply_last = rp->last_seq;
	return true;
}

static bool
helo_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct sess_facts *f = &s->f;

	hello_outcome(s, v);
	if (!v->ok)
		return true;
	f->hello_ok = true;
	f->ehlo_ok = false;
	if (f->ehlo_rej_seq != NOSEQ)
		s->rec.helo_fallback = true;
	f->helo_seq = v->pd->seq;
	f->helo_reply_seq = s->rp.first_seq;
	s->rec.capflags = 0;
	s->rec.size_limit = 0;
	f->cmds_since_ehlo = 0;
	f->rset_seq = NOSEQ;
	return true;
}

static void
mail_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	const struct cmd *c = v->c;
	size_t cap = s->ctx->lim.max_line;
	int ti;

	if ((ti = tx_new(s)) >= 0) {
		struct tx_record *t = &s->rec.tx[ti];
		struct tx_facts *tf = &s->txf[ti];

		tx_begin(s, ti, v->pos);
		wstr_set_in(&s->pool, &t->mail_from, c->addr.p, c->addr.len, cap);
		wstr_set_in(&s->pool, &t->mail_params, c->params.p, c->params.len, cap);
		t->body = c->body;
		t->size_param = c->size;
		t->smtputf8 = c->smtputf8;
		t->dsn_params = c->ret || c->envid;
		tf->mail_seq = v->seq;
		if (c->addr_8bit) {
			tf->addr_8bit = true;
			tf->addr_8bit_seq = v->seq;
		}
		if (t->dsn_params)
			tf->dsn_param_seq = v->seq;
	}
	/*
	 * A MAIL while a transaction is open: the server refuses it (503,
	 * nested MAIL) and the open one goes on, or accepts it and the open
	 * one is abandoned.  Which, the reply says; until then the new one
	 * is current.
	 */
	if (s->cur_tx >= 0 && !s->txf[s->cur_tx].done &&
	    s->rec.tx[s->cur_tx].mail_reply_code / 100 == 2)
		v->p->prev_tx = s->cur_tx;
	else if (s->cur_tx >= 0)
		s->txf[s->cur_tx].done = true;
	s->cur_tx = ti;
	v->p->tx = ti;
	enter_state(s, SP_MAIL, "MAIL");
}

static bool
mail_reply(struct smtp_session *s, const struct verb_reply *v)
{
	const struct pending *pd = v->pd;
	struct tx_record *t = v->t;

	if (t == NULL)
		return true;
	t->mail_reply_code = s->rp.code;
	t->mail_enh = s->rp.enh;
	if (v->text != NULL)
		wstr_set_in(&s->pool, &t->mail_reply_text, v->text->p, v->text->len,
		    s->ctx->lim.max_line);
	v->tf->mail_reply_seq = s->rp.first_seq;
	v->tf->mail_reply_last = s->rp.last_seq;
	if (v->ok) {
		if (pd->prev_tx >= 0)
			s->txf[pd->prev_tx].done = true;
		return true;
	}
	v->tf->done = true;
	s->want_update = true;
	if (pd->prev_tx >= 0 && !s->txf[pd->prev_tx].done && s->cur_tx == pd->tx) {
		/* Nested MAIL refused: the open one goes on. */
		v->tf->nested = true;
		s->cur_tx = pd->prev_tx;
	}
	return true;
}

static void
rcpt_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	const struct cmd *c = v->c;
	size_t cap = s->ctx->lim.max_line;
	struct tx_record *t;
	struct tx_facts *tf;
	int ti, ri;

	ti = implicit_tx(s, v->pos);
	if (ti < 0 || s->txf[ti].done)
		return;
	t = &s->rec.tx[ti];
	tf = &s->txf[ti];
	ri = rcpt_new(s, ti);
	v->p->tx = ti;
	v->p->rcpt = ri;
	if (c->notify || c->orcpt) {
		t->dsn_params = true;
		if (tf->dsn_param_seq == NOSEQ)
			tf->dsn_param_seq = v->seq;
	}
	if (c->addr_8bit && !tf->addr_8bit) {
		tf->addr_8bit = true;
		tf->addr_8bit_seq = v->seq;
	}
	if (ri >= 0) {
		wstr_set_in(&s->pool, &t->rcpts[ri].addr, c->addr.p, c->addr.len, cap);
		wstr_set_in(&s->pool, &t->rcpts[ri].params, c->params.p, c->params.len, cap);
		tf->rf[ri].cmd_seq = v->seq;
	}
}

static bool
rcpt_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct tx_record *t = v->t;
	int ri = v->pd->rcpt;

	if (t == NULL || ri < 0 || (size_t)ri >= t->nrcpts)
		return true;
	t->rcpts[ri].reply_code = s->rp.code;
	t->rcpts[ri].enh = s->rp.enh;
	if (v->text != NULL)
		wstr_set_in(&s->pool, &t->rcpts[ri].reply_text, v->text->p, v->text->len,
		    s->ctx->lim.max_line);
	v->tf->rf[ri].reply_seq = s->rp.first_seq;
	v->tf->rf[ri].reply_last = s->rp.last_seq;
	return true;
}

static void
data_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	int ti = implicit_tx(s, v->pos);
	struct tx_record *t = tx_at(s, ti);

	v->p->tx = ti;
	if (t == NULL || s->txf[ti].done)
		return;
	t->data_cmd = true;
	s->txf[ti].data_seq = v->seq;
	if (t->bdat)
		s->txf[ti].data_and_bdat = true;
	if (t->body == BODY_BINARYMIME)
		s->txf[ti].binary_data_seq = v->seq;
	/* Pipelined DATA: see session.c's file comment.  "DATA with an
	 * argument" is refused by a strict server: commands follow (a 354
	 * would still start the content, in data_reply). */
	if (v->c->syntax_ok && !tx_refused_early(t))
		start_content(s, ti, "DATA");
}

static bool
data_reply(struct smtp_session *s, const struct verb_reply *v)
{
	struct tx_record *t = v->t;
	struct tx_facts *tf = v->tf;
	bool in_content = s->phase == SP_CONTENT || s->phase == SP_CONTENT_RESYNC;

	if (t == NULL)
		return true;
	t->data_reply_code = s->rp.code;
	tf->data_reply_seq = s->rp.first_seq;
	tf->data_reply_last = s->rp.last_seq;
	if (s->rp.code == 354) {
		/* Held back as refused, accepted anyway: content follows. */
		if (!in_content && s->phase != SP_TLS && s->cur_tx == v->pd->tx)
			start_content(s, v->pd->tx, "354 after DATA held back");
		return true;
	}
	tf->done = true;
	if (t->reply_code == 0)
		tx_set_reply(s, v);
	if (in_content && s->body_tx == v->pd->tx) {
		if (s->body.off > 0) {
			tf->content_before_354 = true;
			t->content_seen = true;
			t->data_bytes = s->body.off;
			s->f.content_early_seq = tr_note(s, v->pos,
			    "[content sent before DATA was accepted: %llu bytes]",
			    (unsigned long long)s->body.off);
		}
		enter_state(s, SP_MAIL, "DATA refused");
	}
	s->want_update = true;
	return true;
}

/* BDAT: the chunk is the next chunk-size octets, whatever the replies
 * say (RFC 3030 section 2); they follow the command line at once. */
static void
bdat_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	const struct cmd *c = v->c;
	int ti;
	struct tx_record *t;

	/* A size or LAST that does not parse: a strict server refuses the
	 * command and cannot know a chunk's length, so none follows and the
	 * reply is the command's, not the message's. */
	if (!c->syntax_ok) {
		(void)tr_note(s, v->pos, "[BDAT arguments do not parse: no chunk "
		    "follows]");
		return;
	}
	ti = implicit_tx(s, v->pos);
	t = tx_at(s, ti);

	if (t != NULL && s->txf[ti].done)
		t = NULL, ti = -1;
	v->p->tx = ti;
	v->p->bdat_last = c->bdat_last;
	if (t != NULL) {
		if (!t->bdat) {
			body_start(&s->body, false);
			s->txf[ti].first_bdat_seq = v->seq;
		}
		t->bdat = true;
		t->bdat_chunks++;
		t->data_bytes += c->bdat_size;
		t->content_seen = true;
		if (t->data_cmd)
			s->txf[ti].data_and_bdat = true;
	} else {
		/* Still consume the chunk, counted nowhere. */
		body_start(&s->body, false);
	}
	s->body_tx = ti;
	s->chunk_left = c->bdat_size;
	s->chunk_last = c->bdat_last;
	if (s->chunk_left > 0)
		enter_state(s, SP_CHUNK, "BDAT");
	else
		chunk_end(s, v->pos);
}

static bool
bdat_reply(struct smtp_session *s, const struct verb_reply *v)
{
	if (v->t != NULL && (v->pd->bdat_last || !v->ok))
		tx_final_reply(s, v);
	return true;
}

static bool
eod_reply(struct smtp_session *s, const struct verb_reply *v)
{
	if (v->t != NULL)
		tx_final_reply(s, v);
	return true;
}

static void
rset_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	if (s->cur_tx >= 0 && !s->txf[s->cur_tx].done)
		s->txf[s->cur_tx].done = s->txf[s->cur_tx].rset = true;
	s->cur_tx = -1;
	if (s->f.rset_seq == NOSEQ)
		s->f.rset_seq = v->seq;
	if (s->f.hello_ok)
		enter_state(s, SP_HELLO, "RSET");
}

static void
quit_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	if (s->f.quit_seq == NOSEQ)
		s->f.quit_seq = v->seq;
	enter_state(s, SP_QUIT, "QUIT");
}

static bool
quit_reply(struct smtp_session *s, const struct verb_reply *v)
{
	(void)v;
	s->f.quit_reply_seq = s->rp.first_seq;
	return true;
}

static void
starttls_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	s->rec.starttls_cmd = true;
	s->f.starttls_seq = v->seq;
	s->f.starttls_pending = true;
	s->f.starttls_pkt = v->pos->pkt;
}

/* After the 220 both directions are only counted (session.c). */
static bool
starttls_reply(struct smtp_session *s, const struct verb_reply *v)
{
	s->rec.starttls_reply_code = s->rp.code;
	s->f.starttls_reply_seq = s->rp.first_seq;
	s->f.starttls_pending = false;
	if (s->rp.code != 220)
		return true;
	s->rec.flags |= SF_TLS;
	(void)tr_note(s, v->pos, "[STARTTLS: encrypted from here]");
	s->auth_sasl = false;
	enter_state(s, SP_TLS, "STARTTLS 220");
	s->srv_tls = true;	/* after the door: it closes it behind */
	tls_begin(s);
	s->want_update = true;
	return true;
}

/* AUTH: the mechanism is kept; the exchange that follows is masked
 * (pair.c) until the final reply. */
static void
auth_cmd(struct smtp_session *s, const struct verb_cmd *v)
{
	struct sess_record *r = &s->rec;

	wstr_set_in(&s->pool, &r->auth_used, v->c->mech.p, v->c->mech.len, s->ctx->lim.max_line);
	s->f.auth_seq = v->seq;
	if ((r->capflags & CAPF(STARTTLS)) && !(r->flags & SF_TLS))
		s->f.auth_cleartext = true;
	if (s->f.ehlo_ok && !(r->capflags & CAPF(AUTH)))
		s->f.auth_unoffered = true;
	s->auth_sasl = true;
}

static bool
auth_reply(struct smtp_session *s, const struct verb_reply *v)
{
	(void)v;
	if (s->rp.code == 334)
		return false;		/* the exchange goes on */
	s->rec.auth_reply_code = s->rp.code;
	s->f.auth_reply_seq = s->rp.first_seq;
	s->auth_sasl = false;
	return true;
}

/* ---------------------------------------------------------------------
 * The table
 * ------------------------------------------------------------------ */
#define W	VF_WIRE
#define G	VF_GROUP_END
const struct verb verb_table[CMD_MAX] = {
	[CMD_NONE]	= { "-",	NULL,		0,	NULL,	NULL },
	[CMD_HELO]	= { "HELO",	cmd_args_word,	W,	hello_cmd, helo_reply },
	[CMD_EHLO]	= { "EHLO",	cmd_args_word,	W | G,	hello_cmd, ehlo_reply },
	[CMD_MAIL]	= { "MAIL",	cmd_args_mail,	W | VF_STRICT_PATH, mail_cmd, mail_reply },
	[CMD_RCPT]	= { "RCPT",	cmd_args_rcpt,	W | VF_STRICT_PATH, rcpt_cmd, rcpt_reply },
	[CMD_DATA]	= { "DATA",	cmd_args_none,	W | G,	data_cmd, data_reply },
	[CMD_BDAT]	= { "BDAT",	cmd_args_bdat,	W,	bdat_cmd, bdat_reply },
	[CMD_RSET]	= { "RSET",	cmd_args_none,	W,	rset_cmd, NULL },
	[CMD_QUIT]	= { "QUIT",	cmd_args_none,	W | G,	quit_cmd, quit_reply },
	[CMD_NOOP]	= { "NOOP",	cmd_args_any,	W | G | VF_STRICT_BARE, NULL, NULL },
	[CMD_VRFY]	= { "VRFY",	cmd_args_word,	W | G,	NULL,	NULL },
	[CMD_EXPN]	= { "EXPN",	cmd_args_word,	W | G,	NULL,	NULL },
	[CMD_HELP]	= { "HELP",	cmd_args_any,	W | VF_STRICT_BARE, NULL, NULL },
	[CMD_STARTTLS]	= { "STARTTLS",	cmd_args_none,	W | G,	starttls_cmd, starttls_reply },
	[CMD_AUTH]	= { "AUTH",	cmd_args_auth,	W | G,	auth_cmd, auth_reply },
	[CMD_ETRN]	= { "ETRN",	cmd_args_word,	W,	NULL,	NULL },
	[CMD_UNKNOWN]	= { "unknown",	NULL,		0,	NULL,	NULL },
	[CMD_EOD]	= { "end of data", NULL,	0,	NULL,	eod_reply },
	[CMD_GREETING]	= { "greeting",	NULL,		0,	NULL,	NULL },
};
#undef W
#undef G

const char *
cmd_name(enum cmd_id id)
{
	return (unsigned)id < CMD_MAX ? verb_table[id].name : "?";
}
