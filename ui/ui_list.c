/*
 * ui_list.c - the session list: one row per session, newest first.
 *
 * Each frame copies only the rows on screen from the model (model_rows,
 * under the lock for that copy only) and lays out the columns from the
 * widths of what is visible: fixed columns (mark, start, state, messages)
 * and elastic ones (client, server, HELO, reply, incident) that shrink in a
 * fixed order when the terminal is narrow, so an 80-column terminal still
 * shows the incident type.  A wide terminal also gets the optional columns
 * (the server's name from its banner, MAIL FROM, the first RCPT), each
 * shown only when it fits whole.  A cut cell ends in '~'; a cut title
 * keeps the sort marker.
 *
 * The selection follows its session when rows arrive above it, except on
 * the first row, which follows the newest session (like top(1)).
 *
 * Deliberately not here: filtering and sorting (model.c), text output
 * (draw.c).
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui_int.h"

enum col_id {
	C_TIME, C_CLIENT, C_SERVER, C_NAME, C_HELO, C_FROM, C_RCPT, C_STATE,
	C_REPLY, C_MSGS, C_INC, C_MAX
};

struct col {
	enum sess_field field;	/* the title is this field's label ... */
	const char *title;	/* ... unless it shows a derived value (SFLD_MAX) */
	int min, max;		/* width bounds; min == max: fixed */
	int shrink;		/* order in which elastic columns give way (1 first) */
	bool right;
	enum ui_sort sort;	/* the sort this column shows */
	int optional;		/* shown only when it fits whole: 1 first, 0 always */
};

static const struct col cols[C_MAX] = {
	[C_TIME] = { SFLD_TS_START, NULL, 8, 8, 0, false, SORT_TIME, 0 },
	[C_CLIENT] = { SFLD_CLIENT_IP, NULL, 7, 39, 3, false, SORT_CLIENT, 0 },
	[C_SERVER] = { SFLD_SERVER_IP, NULL, 7, 39, 3, false, SORT_SERVER, 0 },
	[C_NAME] = { SFLD_MAX, "Name", 4, 28, 0, false, SORT_MAX, 1 },
	[C_HELO] = { SFLD_HELO, NULL, 4, 28, 2, false, SORT_HELO, 0 },
	[C_FROM] = { SFLD_MAX, "MAIL FROM", 9, 32, 0, false, SORT_MAX, 2 },
	[C_RCPT] = { SFLD_MAX, "RCPT", 4, 32, 0, false, SORT_MAX, 3 },
	[C_STATE] = { SFLD_STATE, NULL, 9, 9, 0, false, SORT_STATE, 0 },
	[C_REPLY] = { SFLD_MAX, "Reply", 5, 32, 1, false, SORT_MAX, 0 },
	[C_MSGS] = { SFLD_TX, NULL, 3, 3, 0, true, SORT_MSGS, 0 },
	[C_INC] = { SFLD_INCIDENTS, NULL, 8, 24, 4, false, SORT_INCIDENT, 0 },
};
#define OPT_COLS	3	/* optional columns, ranks 1..3 */

/* The Name, MAIL FROM, RCPT and (decisive) Reply columns show values
 * derived from several fields, so they carry their own titles. */
static const char *
col_title(int c)
{
	return cols[c].title != NULL ? cols[c].title : ui_field_label(cols[c].field);
}

static void
cell(const struct ui_rowdata *r, enum col_id c, char *buf, size_t size)
{
	switch (c) {
	case C_TIME:
		ui_fmt_ts(buf, size, r->ts_start_us, TS_HMS);
		break;
	case C_CLIENT:
		strlcpy(buf, r->client, size);
		break;
	case C_SERVER:
		strlcpy(buf, r->server, size);
		break;
	case C_NAME:
		strlcpy(buf, r->server_name[0] != '\0' ? r->server_name : "-", size);
		break;
	case C_HELO:
		strlcpy(buf, r->helo[0] != '\0' ? r->helo : "-", size);
		break;
	case C_FROM:
		strlcpy(buf, r->nmsgs > 0 ? (r->mail_from[0] != '\0' ? r->mail_from :
		    "<>") : "-", size);
		break;
	case C_RCPT:
		strlcpy(buf, r->rcpt[0] != '\0' ? r->rcpt : "-", size);
		break;
	case C_STATE:
		strlcpy(buf, ui_state_name(r->state), size);
		break;
	case C_REPLY:
		strlcpy(buf, r->reply[0] != '\0' ? r->reply : "-", size);
		break;
	case C_MSGS:
		snprintf(buf, size, "%u", r->nmsgs);
		break;
	case C_INC:
		if (r->ninc > 1)
			snprintf(buf, size, "%s +%u", r->inc, (unsigned)(r->ninc - 1));
		else
			strlcpy(buf, r->inc, size);
		break;
	case C_MAX:
		buf[0] = '\0';
		break;
	}
}

static char
row_mark(const struct ui_rowdata *r)
{
	if (r->ninc == 0)
		return ' ';
	if (r->eightbit)
		return '!';
	switch (r->severity) {
	case SEV_ERROR: return 'E';
	case SEV_WARNING: return 'W';
	default: return 'n';
	}
}

static enum ui_role
row_role(const struct ui_rowdata *r)
{
	if (r->ninc == 0)
		return R_NORMAL;
	if (r->eightbit)
		return R_8BIT;
	switch (r->severity) {
	case SEV_ERROR: return R_ERROR;
	case SEV_WARNING: return R_WARNING;
	default: return R_NOTICE;
	}
}

/* Widths from the visible content (a sorted column's title with its
 * marker), then the optional columns that fit whole, then shrunk to fit
 * `avail` columns; a hidden column has width 0. */
static void
layout(const struct ui_rowdata *rows, size_t n, int avail, enum ui_sort sort,
    int w[C_MAX])
{
	char buf[128];
	int c, total, step, rank;
	size_t i;

	for (c = 0; c < C_MAX; c++) {
		w[c] = (int)strlen(col_title(c)) + (cols[c].sort == sort ? 2 : 0);
		for (i = 0; i < n; i++) {
			cell(&rows[i], (enum col_id)c, buf, sizeof(buf));
			if ((int)strlen(buf) > w[c])
				w[c] = (int)strlen(buf);
		}
		if (w[c] < cols[c].min)
			w[c] = cols[c].min;
		if (w[c] > cols[c].max)
			w[c] = cols[c].max;
	}
	total = 1;	/* the mark */
	for (c = 0; c < C_MAX; c++)
		if (cols[c].optional == 0)
			total += w[c] + 1;
	for (rank = 1; rank <= OPT_COLS; rank++)
		for (c = 0; c < C_MAX; c++) {
			if (cols[c].optional != rank)
				continue;
			if (total + w[c] + 1 <= avail)
				total += w[c] + 1;
			else
				w[c] = 0;
		}
	for (;;) {
		total = 1;
		for (c = 0; c < C_MAX; c++)
			if (w[c] > 0)
				total += w[c] + 1;
		if (total <= avail)
			return;
		/* Shrink the first elastic column, in order, still above its
		 * minimum; by one column at a time so they share the cut. */
		for (step = 1; step <= 4; step++) {
			bool any = false;

			for (c = 0; c < C_MAX && total > avail; c++) {
				if (cols[c].shrink != step || w[c] <= cols[c].min)
					continue;
				w[c]--;
				total--;
				any = true;
			}
			if (any)
				break;
		}
		if (step > 4)
			return;		/* nothing left to shrink: clip */
	}
}

static int
draw_cell(int y, int x, int w, unsigned attr, const char *s, bool right)
{
	int len = ui_text_cols(s), used;

	if (w <= 0)
		return x;
	if (len > w) {
		/* Cut: keep w-1 columns and mark the cut. */
		used = draw_text_attr(y, x, w - 1, attr, s);
		draw_text_attr(y, x + used, 1, attr, "~");
	} else if (right) {
		draw_text_attr(y, x + w - len, w, attr, s);
	} else {
		draw_text_attr(y, x, w, attr, s);
	}
	return x + w + 1;
}

static void
list_draw(struct ui *u, int y, int h)
{
	struct ui_list_state *l = &u->list;
	size_t n, page, got, i;
	int w[C_MAX], x, c;
	char buf[160];
	long pos;

	page = h > 2 ? (size_t)h - 2 : 1;
	l->page = page;
	n = model_count(u->m);
	/* Keep the selection on its session, unless it follows the newest. */
	if (l->sel > 0 && l->sel_uid[0] != '\0' &&
	    (pos = model_find(u->m, l->sel_uid)) >= 0)
		l->sel = (size_t)pos;
	if (n == 0)
		l->sel = 0;
	else if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + page)
		l->top = l->sel - page + 1;
	if (l->top + page > n)
		l->top = n > page ? n - page : 0;

	if (l->rows_cap < page) {
		struct ui_rowdata *nr = reallocarray(l->rows, page, sizeof(*nr));

		if (nr == NULL)
			return;
		l->rows = nr;
		l->rows_cap = page;
	}
	got = model_rows(u->m, l->top, page, l->rows);
	l->nrows = got;

	layout(l->rows, got, COLS, u->view.sort, w);
	/* Column titles; the sorted one carries the direction, even when
	 * its title has to be cut for it. */
	draw_fill(&u->theme, y, 0, COLS, R_COLTITLE);
	x = 1;
	for (c = 0; c < C_MAX; c++) {
		if (cols[c].sort == u->view.sort) {
			int tl = (int)strlen(col_title(c));

			if (tl + 2 > w[c])
				tl = w[c] > 2 ? w[c] - 2 : 0;
			snprintf(buf, sizeof(buf), "%.*s%s%s", tl, col_title(c),
			    tl > 0 ? " " : "", u->view.descending ? "v" : "^");
		} else
			strlcpy(buf, col_title(c), sizeof(buf));
		x = draw_cell(y, x, w[c], draw_attr(&u->theme, R_COLTITLE), buf,
		    cols[c].right);
	}
	if (u->view.sort == SORT_SEVERITY)
		draw_text(&u->theme, y, 0, 1, R_COLTITLE, u->view.descending ? "v" : "^");

	for (i = 0; i < got; i++) {
		const struct ui_rowdata *r = &l->rows[i];
		unsigned attr = draw_attr(&u->theme, row_role(r));
		int ry = y + 1 + (int)i;

		if (l->top + i == l->sel) {
			attr |= A_REVERSE;
			strlcpy(l->sel_uid, r->uid, sizeof(l->sel_uid));
			draw_fill(&u->theme, ry, 0, COLS, R_SEL);
			attrset(attr);
			mvhline(ry, 0, ' ', COLS);
			attrset(A_NORMAL);
		}
		buf[0] = row_mark(r);
		buf[1] = '\0';
		draw_text_attr(ry, 0, 1, attr, buf);
		x = 1;
		for (c = 0; c < C_MAX; c++) {
			cell(r, (enum col_id)c, buf, sizeof(buf));
			/* A reply squeezed to a few columns still shows its code. */
			if (c == C_REPLY && w[c] < (int)strlen(buf) && w[c] < 8)
				buf[w[c] < 3 ? w[c] : 3] = '\0';
			x = draw_cell(ry, x, w[c], attr, buf, cols[c].right);
		}
	}
	if (n == 0) {
		const char *msg = u->view.text[0] != '\0' || u->view.incidents_only ||
		    u->view.cause ?
		    "no session matches the filter (c clears it)" : "no SMTP session yet";

		draw_text(&u->theme, y + 2, 2, COLS - 2, R_DIM, msg);
	}

	/* Status bar. */
	draw_fill(&u->theme, y + h - 1, 0, COLS, R_BAR);
	x = draw_textf(&u->theme, y + h - 1, 0, COLS, R_BAR,
	    " sessions %zu/%zu of %llu  sort %s %s", n ? l->sel + 1 : 0, n,
	    (unsigned long long)u->sum.rows, ui_sort_name(u->view.sort),
	    u->view.descending ? "desc" : "asc");
	if (u->view.text[0] != '\0')
		x += draw_textf(&u->theme, y + h - 1, x, COLS - x, R_BAR,
		    "  filter \"%s\"", u->view.text);
	if (u->view.incidents_only)
		x += draw_text(&u->theme, y + h - 1, x, COLS - x, R_BAR,
		    "  incidents only");
	if (u->view.cause)
		x += draw_textf(&u->theme, y + h - 1, x, COLS - x, R_BAR,
		    "  cause %s@%s", inc_type_name(u->view.cause_kind), u->view.cause_host);
	if (u->sum.rows_evicted > 0)
		draw_textf(&u->theme, y + h - 1, x, COLS - x, R_BAR,
		    "  %llu oldest dropped", (unsigned long long)u->sum.rows_evicted);
}

static bool
list_action(struct ui *u, enum ui_action a)
{
	struct ui_list_state *l = &u->list;
	size_t n = model_count(u->m);
	size_t page = l->page > 0 ? l->page : 1;

	switch (a) {
	case ACT_UP:
		if (l->sel > 0)
			l->sel--;
		break;
	case ACT_DOWN:
		if (l->sel + 1 < n)
			l->sel++;
		break;
	case ACT_PGUP:
		l->sel = l->sel > page ? l->sel - page : 0;
		break;
	case ACT_PGDN:
		l->sel = l->sel + page < n ? l->sel + page : (n > 0 ? n - 1 : 0);
		break;
	case ACT_HOME:
		l->sel = 0;
		break;
	case ACT_END:
		l->sel = n > 0 ? n - 1 : 0;
		break;
	case ACT_OPEN:
		if (n > 0 && l->sel >= l->top && l->sel - l->top < l->nrows)
			ui_open_session(u, l->rows[l->sel - l->top].uid);
		return true;
	case ACT_FILTER:
		prompt_begin(u, PROMPT_FILTER);
		return true;
	case ACT_CLEAR_FILTER:
		u->view.text[0] = '\0';
		u->view.incidents_only = false;
		u->view.cause = false;
		model_set_view(u->m, &u->view);
		l->sel = 0;
		return true;
	case ACT_FLAGGED_ONLY:
		u->view.incidents_only = !u->view.incidents_only;
		model_set_view(u->m, &u->view);
		l->sel = 0;
		return true;
	case ACT_SORT_NEXT:
		u->view.sort = (enum ui_sort)((u->view.sort + 1) % SORT_MAX);
		/* Newest, worst, busiest first; names and addresses A to Z. */
		u->view.descending = u->view.sort == SORT_TIME ||
		    u->view.sort == SORT_SEVERITY || u->view.sort == SORT_MSGS;
		model_set_view(u->m, &u->view);
		l->sel = 0;
		return true;
	case ACT_SORT_REVERSE:
		u->view.descending = !u->view.descending;
		model_set_view(u->m, &u->view);
		l->sel = 0;
		return true;
	default:
		return false;
	}
	/* Moved: a selection off the first row tracks its session; the index
	 * row is copied by the next draw. */
	if (l->sel == 0)
		l->sel_uid[0] = '\0';
	else if (l->sel >= l->top && l->sel - l->top < l->nrows)
		strlcpy(l->sel_uid, l->rows[l->sel - l->top].uid, sizeof(l->sel_uid));
	else
		l->sel_uid[0] = '\0';
	return true;
}

const struct ui_panel ui_list_panel = {
	"sessions", SCOPE_LIST, list_draw, list_action,
};
