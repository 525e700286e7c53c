/*
 * ui_session.c - one session: who, the extensions offered (8BITMIME and
 * the others that matter, present or missing), the incidents, the
 * transcript with timestamps (client and server in different colours), the
 * transactions, and each incident's diagnosis and fix.
 *
 * The panel holds a reference on the session's detail (model.c builds it,
 * immutable, when the capture thread posts), so reading it takes no lock.
 * The content is rendered into lines of coloured segments for the current
 * width (paragraphs word-wrapped) and re-rendered only when the width or
 * the session changes; scrolling is then just drawing a window of lines.
 *
 * Deliberately not here: anything from the wire that is not already
 * escaped (the detail holds escaped ASCII only), drawing primitives.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui_int.h"

#define VSEG_MAX 12
#define TS_COL 17		/* "HH:MM:SS.mmm C: " */

struct vseg {
	int x;
	enum ui_role role;
	char *text;
};

struct ui_vline {
	int nseg;
	struct vseg seg[VSEG_MAX];
};

/* ------------------------------------------------------------------------
 * Line building
 * --------------------------------------------------------------------- */

static void
vl_clear(struct ui_session_state *s)
{
	size_t i;
	int k;

	for (i = 0; i < s->nlines; i++)
		for (k = 0; k < s->lines[i].nseg; k++)
			free(s->lines[i].seg[k].text);
	s->nlines = 0;
}

static struct ui_vline *
vl_new(struct ui_session_state *s)
{
	struct ui_vline *l;

	if (s->nlines == s->lines_cap) {
		size_t cap = s->lines_cap ? s->lines_cap * 2 : 256;
		struct ui_vline *nl = reallocarray(s->lines, cap, sizeof(*nl));

		if (nl == NULL)
			return NULL;
		s->lines = nl;
		s->lines_cap = cap;
	}
	l = &s->lines[s->nlines++];
	l->nseg = 0;
	return l;
}

static void
vl_seg(struct ui_vline *l, int x, enum ui_role role, const char *text, size_t len)
{
	char *t;

	if (l == NULL || l->nseg == VSEG_MAX || (t = strndup(text, len)) == NULL)
		return;
	l->seg[l->nseg].x = x;
	l->seg[l->nseg].role = role;
	l->seg[l->nseg].text = t;
	l->nseg++;
}

static void
vl_text(struct ui_session_state *s, enum ui_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
vl_text(struct ui_session_state *s, enum ui_role role, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vl_seg(vl_new(s), 0, role, buf, strlen(buf));
}

/*
 * A word-wrapped paragraph: `label` (in label_role) starts the first line at
 * x = indent, the text follows, continuation lines start at `hang`.
 */
static void
vl_para(struct ui_session_state *s, int width, int indent, int hang,
    enum ui_role label_role, const char *label, enum ui_role role, const char *text)
{
	struct ui_vline *l = vl_new(s);
	size_t len = strlen(text), pos = 0, n, cut, fit;
	int x = indent, room;

	if (label != NULL && label[0] != '\0') {
		vl_seg(l, x, label_role, label, strlen(label));
		x += (int)strlen(label);
	}
	if (width - hang < 10)
		hang = 0;
	for (;;) {
		room = width - x;
		if (room < 1)
			room = 1;
		n = len - pos;
		if ((fit = ui_text_fit(text + pos, n, room)) < n) {
			/* Break at the last space that fits, else hard (at a
			 * character's edge: UTF-8 is never split). */
			for (cut = fit; cut > 0 && text[pos + cut] != ' '; cut--)
				;
			n = cut > 0 ? cut : fit;
		}
		if (n > 0)
			vl_seg(l, x, role, text + pos, n);
		pos += n;
		while (pos < len && text[pos] == ' ')
			pos++;
		if (pos >= len)
			break;
		l = vl_new(s);
		x = hang;
	}
}

/* Items laid out left to right with two spaces between, wrapped. */
struct item {
	enum ui_role role;
	char text[96];
};

static void
vl_flow(struct ui_session_state *s, int width, int indent,
    const struct item *it, size_t n)
{
	struct ui_vline *l = NULL;
	int x = indent;
	size_t i;

	for (i = 0; i < n; i++) {
		int w = ui_text_cols(it[i].text);

		if (l == NULL || l->nseg == VSEG_MAX || (x > indent && x + w > width)) {
			l = vl_new(s);
			x = indent;
		}
		vl_seg(l, x, it[i].role, it[i].text, strlen(it[i].text));
		x += w + 2;
	}
}

/* ------------------------------------------------------------------------
 * Rendering a detail
 * --------------------------------------------------------------------- */

static enum ui_role
sev_role(int sev, unsigned family)
{
	if (family == FAM_8BIT)
		return R_8BIT;
	switch (sev) {
	case SEV_ERROR: return R_ERROR;
	case SEV_WARNING: return R_WARNING;
	default: return R_NOTICE;
	}
}

static void
render_xline(struct ui_session_state *s, int width, const struct ui_dline *x)
{
	char prefix[40], ts[24];
	enum ui_role role;
	const char *who;

	ui_fmt_ts(ts, sizeof(ts), x->ts_us, TS_HMS_MS);
	switch (x->dir) {
	case XDIR_CLIENT: who = "C:"; role = R_CLIENT; break;
	case XDIR_SERVER: who = "S:"; role = R_SERVER; break;
	default: who = "--"; role = R_NOTE; break;
	}
	snprintf(prefix, sizeof(prefix), "%-12s %s ", ts, who);
	vl_para(s, width, 0, TS_COL, R_DIM, prefix, role, x->text != NULL ? x->text : "");
	if ((x->flags & XL_TRUNCATED) && s->nlines > 0) {
		struct ui_vline *l = &s->lines[s->nlines - 1];
		int end = TS_COL;

		if (l->nseg > 0)
			end = l->seg[l->nseg - 1].x + ui_text_cols(l->seg[l->nseg - 1].text);
		if (end + 11 > width) {
			l = vl_new(s);
			end = TS_COL;
		}
		vl_seg(l, end, R_DIM, " [line cut]", 11);
	}
}

/* The extensions a failed delivery usually hinges on, 8BITMIME first. */
static const enum smtp_cap_bit cap_order[] = {
	CAPB_8BITMIME, CAPB_SMTPUTF8, CAPB_STARTTLS, CAPB_PIPELINING,
	CAPB_CHUNKING, CAPB_BINARYMIME, CAPB_SIZE, CAPB_DSN,
	CAPB_ENHANCEDSTATUSCODES, CAPB_AUTH,
};
#define NCAPORDER (sizeof(cap_order) / sizeof(cap_order[0]))

static void
render_caps(struct ui_session_state *s, int width, const struct ui_detail *d)
{
	struct item it[NCAPORDER];
	size_t i;

	if (!d->ehlo)
		vl_text(s, R_SECTION, "Extensions: none (%s)", d->helo_fallback ?
		    "EHLO refused, HELO used" : "no EHLO accepted");
	else
		vl_text(s, R_SECTION, "Extensions offered in the last EHLO reply");
	for (i = 0; i < NCAPORDER; i++) {
		unsigned b = cap_order[i];
		bool on = d->ehlo && (d->capflags & (1u << b));

		if (on && b == CAPB_SIZE && d->size_limit > 0)
			snprintf(it[i].text, sizeof(it[i].text), "SIZE %llu",
			    (unsigned long long)d->size_limit);
		else if (on && b == CAPB_AUTH && d->auth_mechs[0] != '\0')
			snprintf(it[i].text, sizeof(it[i].text), "AUTH %.60s", d->auth_mechs);
		else if (on)
			snprintf(it[i].text, sizeof(it[i].text), "%s yes", ui_cap_name(b));
		else if (d->capflags_ever & (1u << b))
			snprintf(it[i].text, sizeof(it[i].text), "%s missing (offered earlier)",
			    ui_cap_name(b));
		else
			snprintf(it[i].text, sizeof(it[i].text), "%s missing", ui_cap_name(b));
		it[i].role = on ? R_CAP_OK : (b == CAPB_8BITMIME || b == CAPB_STARTTLS ||
		    b == CAPB_SMTPUTF8) ? R_CAP_MISSING : R_DIM;
	}
	vl_flow(s, width, 2, it, NCAPORDER);
}

static void
render_tx(struct ui_session_state *s, int width, const struct ui_detail *d)
{
	char buf[768];
	size_t i;

	if (d->ntx == 0)
		return;
	vl_new(s);
	vl_text(s, R_SECTION, "Transactions (%zu%s)", d->ntx + d->tx_dropped,
	    d->tx_dropped ? ", some not kept" : "");
	for (i = 0; i < d->ntx; i++) {
		const struct ui_dtx *t = &d->tx[i];

		snprintf(buf, sizeof(buf),
		    "MAIL FROM:<%s>%s%s -> %d; %u recipient(s), %u accepted%s%s; "
		    "%s %llu bytes, %llu 8-bit -> %d %s",
		    t->mail_from, t->body ? " BODY=" : "", ui_body_name(t->body),
		    t->mail_reply_code, t->nrcpts, t->rcpts_ok,
		    t->first_rcpt[0] ? ", first " : "", t->first_rcpt,
		    t->bdat ? "BDAT" : t->data_cmd ? "DATA" : "no data",
		    (unsigned long long)t->data_bytes,
		    (unsigned long long)t->eightbit_bytes, t->reply_code, t->reply);
		vl_para(s, width, 2, 4, R_NORMAL, "", R_NORMAL, buf);
		/* What finds the message in the mail logs. */
		if (t->queue_id[0] != '\0' || t->message_id[0] != '\0' ||
		    t->subject[0] != '\0') {
			snprintf(buf, sizeof(buf), "queue id %s  Message-ID %s  Subject %s",
			    t->queue_id[0] ? t->queue_id : "-",
			    t->message_id[0] ? t->message_id : "-",
			    t->subject[0] ? t->subject : "-");
			vl_para(s, width, 4, 6, R_DIM, "", R_DIM, buf);
		}
	}
}

static void
render(struct ui *u, int width)
{
	struct ui_session_state *s = &u->sess;
	const struct ui_detail *d = s->d;
	char a[40], b[40], buf[512];
	size_t i, j;

	vl_clear(s);
	s->sec_incidents = s->sec_transcript = 0;
	s->width = width;
	if (d == NULL) {
		vl_text(s, R_SECTION, "Session %s", s->uid);
		vl_new(s);
		vl_para(s, width, 0, 0, R_NORMAL, "", R_WARNING, s->known ?
		    "Details no longer kept for this session: the live view keeps "
		    "them for the 2000 most recent sessions and 20000 sessions with "
		    "incidents. The report and the JSON output have them all." :
		    "This session is no longer kept by the live view (the oldest "
		    "finished sessions give way first).");
		return;
	}
	vl_text(s, R_SECTION, "Session %s  %s:%u -> %s:%u", d->uid, d->client,
	    d->client_port, d->server, d->server_port);
	ui_fmt_ts(a, sizeof(a), d->ts_start_us, TS_DATE);
	snprintf(buf, sizeof(buf), "State %s (%s)  start %s", ui_state_name(d->state),
	    d->end == SEND_OPEN ? "running" : ui_end_name(d->end), a);
	if (d->ts_end_us >= d->ts_start_us && d->ts_end_us > 0)
		snprintf(b, sizeof(b), "  %.3f s",
		    (double)(d->ts_end_us - d->ts_start_us) / 1e6);
	else
		b[0] = '\0';
	vl_text(s, R_NORMAL, "%s%s", buf, b);
	vl_text(s, R_NORMAL, "Packets %llu/%llu  bytes %llu/%llu (client/server)",
	    (unsigned long long)d->packets[XDIR_CLIENT],
	    (unsigned long long)d->packets[XDIR_SERVER],
	    (unsigned long long)d->bytes_dir[XDIR_CLIENT],
	    (unsigned long long)d->bytes_dir[XDIR_SERVER]);
	if (d->banner_code > 0)
		snprintf(buf, sizeof(buf), "%03d %s", d->banner_code % 1000, d->banner);
	else
		strlcpy(buf, "(not seen)", sizeof(buf));
	vl_para(s, width, 0, 10, R_DIM, "Greeting ", R_SERVER, buf);
	snprintf(buf, sizeof(buf), "%s  (%s)", d->helo[0] ? d->helo : "(none)",
	    d->helo_fallback ? "HELO after EHLO was refused" : d->ehlo ? "EHLO" :
	    d->helo[0] ? "HELO" : "no greeting command");
	vl_para(s, width, 0, 10, R_DIM, "HELO     ", R_CLIENT, buf);
	if (d->flags & SF_TLS) {
		const char *v = tls_version_name(d->tls_version);
		const char *c = tls_suite_name(d->tls_suite);
		const char *how = d->tls_dec == TD_DECRYPTED ?
		    "decrypted with the key log: the dialogue inside is shown" :
		    d->tls_dec == TD_NO_KEY ? "no key in the key log: encrypted" :
		    d->tls_dec == TD_FAILED ? "the key log's secrets do not decrypt it" :
		    d->tls_dec == TD_UNSUPPORTED ? "a cipher suite not decrypted" :
		    "encrypted (no key log)";

		if (d->tls_version != 0)
			snprintf(buf, sizeof(buf), "%s, %s; %s", v != NULL ? v : "unknown version",
			    c != NULL ? c : "unknown suite", how);
		else
			snprintf(buf, sizeof(buf), "no ServerHello seen; %s", how);
		vl_para(s, width, 0, 10, R_DIM, "TLS      ",
		    d->tls_dec == TD_DECRYPTED ? R_CLIENT : R_WARNING, buf);
	}
	/* Decrypted TLS hides nothing: not a limit of what was seen. */
	if ((d->flags & (SF_MID_STREAM | SF_GAP | SF_ONE_SIDED | SF_KERNEL_DROPS |
	    SF_OVERLAP)) || ((d->flags & SF_TLS) && d->tls_dec != TD_DECRYPTED))
		vl_text(s, R_WARNING, "Seen: %s%s%s%s%s%s",
		    d->flags & SF_MID_STREAM ? "joined mid-stream; " : "",
		    d->flags & SF_GAP ? "capture gap; " : "",
		    d->flags & SF_ONE_SIDED ? "one direction only; " : "",
		    (d->flags & SF_TLS) && d->tls_dec != TD_DECRYPTED ?
		    "encrypted after STARTTLS; " : "",
		    d->flags & SF_KERNEL_DROPS ? "kernel drops; " : "",
		    d->flags & SF_OVERLAP ? "TCP overlap conflict; " : "");
	vl_new(s);
	render_caps(s, width, d);

	vl_new(s);
	if (d->ninc == 0) {
		vl_text(s, R_SECTION, "Incidents: none");
	} else {
		vl_text(s, R_SECTION, "Incidents (%zu)  d: diagnosis and fix", d->ninc);
		for (i = 0; i < d->ninc; i++) {
			const struct ui_dinc *c = &d->inc[i];

			snprintf(buf, sizeof(buf), "%s [%s, %s] ", c->type,
			    ui_severity_name(c->severity), ui_confidence_name(c->confidence));
			vl_para(s, width, 2, 4, sev_role(c->severity, c->family), buf,
			    R_NORMAL, c->summary);
		}
	}

	vl_new(s);
	s->sec_transcript = s->nlines;
	vl_text(s, R_SECTION, "Transcript (%zu lines%s)", d->nlines,
	    d->lines_dropped ? ", some not kept" : "");
	if (d->lines_dropped)
		vl_text(s, R_DIM, "  (%zu lines not kept: the first and the last are shown)",
		    d->lines_dropped);
	for (i = 0; i < d->nlines; i++)
		render_xline(s, width, &d->lines[i]);

	render_tx(s, width, d);

	if (d->ninc > 0) {
		vl_new(s);
		s->sec_incidents = s->nlines;
		vl_text(s, R_SECTION, "Diagnosis and fix");
		for (i = 0; i < d->ninc; i++) {
			const struct ui_dinc *c = &d->inc[i];

			vl_text(s, sev_role(c->severity, c->family), "%s (%s, %s)", c->type,
			    ui_severity_name(c->severity), ui_confidence_name(c->confidence));
			vl_para(s, width, 2, 4, R_SECTION, "Diagnosis: ", R_NORMAL, c->diagnosis);
			vl_para(s, width, 2, 4, R_SECTION, "Fix: ", R_NORMAL, c->fix);
			if (c->rfc[0] != '\0')
				vl_para(s, width, 2, 4, R_SECTION, "Basis: ", R_NORMAL, c->rfc);
			if (c->visibility != NULL && c->visibility[0] != '\0')
				vl_para(s, width, 2, 4, R_SECTION, "Visibility: ", R_WARNING,
				    c->visibility);
			if (c->nevidence > 0)
				vl_text(s, R_DIM, "  Evidence:");
			for (j = 0; j < c->nevidence; j++)
				render_xline(s, width, &c->evidence[j]);
			vl_new(s);
		}
	}

	if (d->ncaps > 0) {
		vl_new(s);
		vl_text(s, R_SECTION, "Capability lines as offered%s",
		    d->caps_dropped ? " (some not kept)" : "");
		for (i = 0; i < d->ncaps; i++)
			vl_para(s, width, 2, 4, R_NORMAL, "", R_SERVER, d->caps[i]);
	}
	buf[0] = '\0';
	for (i = 0; i < SAN_MAX; i++) {
		if (d->anomalies[i] == 0)
			continue;
		snprintf(a, sizeof(a), "%s%s %u", buf[0] ? ", " : "",
		    ui_anomaly_name((unsigned)i), d->anomalies[i]);
		strlcat(buf, a, sizeof(buf));
	}
	if (buf[0] != '\0') {
		vl_new(s);
		vl_para(s, width, 0, 4, R_SECTION, "Anomalies: ", R_WARNING, buf);
	}
	if (s->sec_incidents == 0)
		s->sec_incidents = s->sec_transcript > 0 ? s->sec_transcript : 0;
}

/* ------------------------------------------------------------------------
 * Panel
 * --------------------------------------------------------------------- */

void
session_close(struct ui *u)
{
	struct ui_session_state *s = &u->sess;

	if (s->d != NULL)
		model_detail_put(u->m, s->d);
	s->d = NULL;
	vl_clear(s);
	free(s->lines);
	s->lines = NULL;
	s->lines_cap = 0;
	s->width = -1;
}

static void
session_draw(struct ui *u, int y, int h)
{
	struct ui_session_state *s = &u->sess;
	size_t body = h > 1 ? (size_t)h - 1 : 1, i;
	int k;

	/* The session was posted again: take the new detail, keep the place. */
	if (model_row_version(u->m, s->uid) != s->version || s->d == NULL) {
		uint64_t v;
		bool known;
		struct ui_detail *nd = model_detail_get(u->m, s->uid, &known, &v);

		if (nd != s->d || v != s->version) {
			model_detail_put(u->m, s->d);
			s->d = nd;
			s->known = known;
			s->version = v;
			s->width = -1;
		} else {
			model_detail_put(u->m, nd);
		}
	}
	if (s->width != COLS)
		render(u, COLS);
	s->page = body;
	if (s->nlines <= body)
		s->top = 0;
	else if (s->top > s->nlines - body)
		s->top = s->nlines - body;
	for (i = 0; i < body && s->top + i < s->nlines; i++) {
		const struct ui_vline *l = &s->lines[s->top + i];

		for (k = 0; k < l->nseg; k++)
			draw_text(&u->theme, y + (int)i, l->seg[k].x, COLS - l->seg[k].x,
			    l->seg[k].role, l->seg[k].text);
	}
	draw_fill(&u->theme, y + h - 1, 0, COLS, R_BAR);
	draw_textf(&u->theme, y + h - 1, 0, COLS, R_BAR,
	    " session %s  lines %zu-%zu of %zu%s", s->uid, s->nlines ? s->top + 1 : 0,
	    s->top + i, s->nlines, s->d != NULL && s->d->end == SEND_OPEN ?
	    "  (running: updates live)" : "");
}

static void
step_session(struct ui *u, int dir)
{
	struct ui_list_state *l = &u->list;
	size_t n = model_count(u->m), target;
	struct ui_rowdata row;

	if (dir > 0 && l->sel + 1 >= n)
		return;
	if (dir < 0 && l->sel == 0)
		return;
	target = dir > 0 ? l->sel + 1 : l->sel - 1;
	if (model_rows(u->m, target, 1, &row) != 1)
		return;
	l->sel = target;
	strlcpy(l->sel_uid, row.uid, sizeof(l->sel_uid));
	ui_open_session(u, row.uid);
}

static bool
session_action(struct ui *u, enum ui_action a)
{
	struct ui_session_state *s = &u->sess;
	size_t page = s->page > 0 ? s->page : 1;

	switch (a) {
	case ACT_UP:
		if (s->top > 0)
			s->top--;
		return true;
	case ACT_DOWN:
		s->top++;	/* clamped when drawn */
		return true;
	case ACT_PGUP:
		s->top = s->top > page ? s->top - page : 0;
		return true;
	case ACT_PGDN:
		s->top += page;
		return true;
	case ACT_HOME:
		s->top = 0;
		return true;
	case ACT_END:
		s->top = s->nlines;
		return true;
	case ACT_JUMP_TRANSCRIPT:
		s->top = s->sec_transcript;
		return true;
	case ACT_JUMP_INCIDENTS:
		s->top = s->sec_incidents;
		return true;
	case ACT_NEXT_SESSION:
		step_session(u, 1);
		return true;
	case ACT_PREV_SESSION:
		step_session(u, -1);
		return true;
	default:
		return false;
	}
}

const struct ui_panel ui_session_panel = {
	"session", SCOPE_SESSION, session_draw, session_action,
};
