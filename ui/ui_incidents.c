/*
 * ui_incidents.c - incidents grouped by root cause: the type and the host
 * that must change for it (the server, or the client), with counts,
 * distinct peers, and first and last seen; Enter lists the cause's
 * sessions (the list, filtered to them; c clears it).
 *
 * The causes (at most UI_MAX_GROUPS, counted by the model as sessions end)
 * are copied from the model when its generation changes: a bounded copy,
 * sorted by severity and then by count, so what to fix first is on top.
 *
 * Deliberately not here: deciding what an incident is (decode/incident.c),
 * keeping sessions (model.c).
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui_int.h"

enum { G_TYPE, G_SEV, G_SIDE, G_HOST, G_NAME, G_COUNT, G_PEERS, G_FIRST, G_LAST,
	G_MAX };

static const struct gcol {
	const char *title;
	int min, max;
	bool right;
} gcols[G_MAX] = {
	[G_TYPE] = { "Type", 8, 28, false },
	[G_SEV] = { "Sev", 7, 7, false },
	[G_SIDE] = { "Fix on", 6, 6, false },
	[G_HOST] = { "Host", 7, 46, false },
	[G_NAME] = { "Name", 4, 28, false },
	[G_COUNT] = { "Count", 5, 10, true },
	[G_PEERS] = { "Peers", 5, 6, true },
	[G_FIRST] = { "First", 8, 8, false },
	[G_LAST] = { "Last", 8, 8, false },
};

static void
gcell(const struct ui_group *g, int c, char *buf, size_t size)
{
	switch (c) {
	case G_TYPE: strlcpy(buf, g->type, size); break;
	case G_SEV: strlcpy(buf, ui_severity_name(g->severity), size); break;
	case G_SIDE: strlcpy(buf, g->side == SIDE_SERVER ? "server" : "client", size); break;
	case G_HOST:
		if (g->side == SIDE_SERVER)
			snprintf(buf, size, "%s:%u", g->host, (unsigned)g->port);
		else
			strlcpy(buf, g->host, size);
		break;
	case G_NAME: strlcpy(buf, g->name[0] != '\0' ? g->name : "-", size); break;
	case G_COUNT: snprintf(buf, size, "%llu", (unsigned long long)g->count); break;
	case G_PEERS: snprintf(buf, size, "%u%s", g->npeers, g->peers_more ? "+" : ""); break;
	case G_FIRST: ui_fmt_ts(buf, size, g->first_us, TS_HMS); break;
	case G_LAST: ui_fmt_ts(buf, size, g->last_us, TS_HMS); break;
	default: buf[0] = '\0'; break;
	}
}

static enum ui_role
grole(const struct ui_group *g)
{
	if (g->family == FAM_8BIT)
		return R_8BIT;
	switch (g->severity) {
	case SEV_ERROR: return R_ERROR;
	case SEV_WARNING: return R_WARNING;
	default: return R_NOTICE;
	}
}

static void
refresh_groups(struct ui *u)
{
	struct ui_incidents_state *s = &u->inc;

	if (s->groups == NULL &&
	    (s->groups = calloc(UI_MAX_GROUPS, sizeof(*s->groups))) == NULL)
		return;
	if (s->gen == u->sum.gen && s->ngroups > 0)
		return;
	s->ngroups = model_groups(u->m, s->groups, UI_MAX_GROUPS);
	s->gen = u->sum.gen;
}

static void
inc_draw(struct ui *u, int y, int h)
{
	struct ui_incidents_state *s = &u->inc;
	size_t page = h > 2 ? (size_t)h - 2 : 1, i, e;
	int w[G_MAX], c, x, total;
	char buf[128];

	refresh_groups(u);
	s->page = page;
	if (s->ngroups == 0)
		s->sel = 0;
	else if (s->sel >= s->ngroups)
		s->sel = s->ngroups - 1;
	if (s->sel < s->top)
		s->top = s->sel;
	if (s->sel >= s->top + page)
		s->top = s->sel - page + 1;
	e = s->top + page < s->ngroups ? s->top + page : s->ngroups;

	/* Widths from what is visible; name and host give way first. */
	for (c = 0; c < G_MAX; c++) {
		w[c] = (int)strlen(gcols[c].title);
		for (i = s->top; i < e; i++) {
			gcell(&s->groups[i], c, buf, sizeof(buf));
			if ((int)strlen(buf) > w[c])
				w[c] = (int)strlen(buf);
		}
		if (w[c] < gcols[c].min)
			w[c] = gcols[c].min;
		if (w[c] > gcols[c].max)
			w[c] = gcols[c].max;
	}
	for (;;) {
		for (total = 1, c = 0; c < G_MAX; c++)
			total += w[c] > 0 ? w[c] + 1 : 0;
		if (total <= COLS)
			break;
		if (w[G_NAME] > 0)	/* a name too cut to read goes */
			w[G_NAME] = w[G_NAME] > gcols[G_NAME].min ? w[G_NAME] - 1 : 0;
		else if (w[G_HOST] > gcols[G_HOST].min)
			w[G_HOST]--;
		else if (w[G_TYPE] > gcols[G_TYPE].min)
			w[G_TYPE]--;
		else
			break;
	}

	draw_fill(&u->theme, y, 0, COLS, R_COLTITLE);
	for (x = 1, c = 0; c < G_MAX; c++) {
		if (w[c] == 0)
			continue;
		if (gcols[c].right)
			draw_text(&u->theme, y, x + w[c] - (int)strlen(gcols[c].title),
			    w[c], R_COLTITLE, gcols[c].title);
		else
			draw_text(&u->theme, y, x, w[c], R_COLTITLE, gcols[c].title);
		x += w[c] + 1;
	}
	for (i = s->top; i < e; i++) {
		const struct ui_group *g = &s->groups[i];
		unsigned attr = draw_attr(&u->theme, grole(g));
		int ry = y + 1 + (int)(i - s->top);

		if (i == s->sel) {
			attr |= A_REVERSE;
			attrset(attr);
			mvhline(ry, 0, ' ', COLS);
			attrset(A_NORMAL);
		}
		for (x = 1, c = 0; c < G_MAX; c++) {
			size_t len;

			if (w[c] == 0)
				continue;
			gcell(g, c, buf, sizeof(buf));
			len = strlen(buf);
			if ((int)len > w[c] && w[c] > 1) {
				buf[w[c] - 1] = '~';
				buf[w[c]] = '\0';
			}
			if (gcols[c].right && (int)len < w[c])
				draw_text_attr(ry, x + w[c] - (int)len, w[c], attr, buf);
			else
				draw_text_attr(ry, x, w[c], attr, buf);
			x += w[c] + 1;
		}
	}
	if (s->ngroups == 0)
		draw_text(&u->theme, y + 2, 2, COLS - 2, R_DIM, "no incident yet");

	draw_fill(&u->theme, y + h - 1, 0, COLS, R_BAR);
	x = draw_textf(&u->theme, y + h - 1, 0, COLS, R_BAR,
	    " incidents: %zu causes, %llu incidents", s->ngroups,
	    (unsigned long long)u->sum.incidents);
	if (u->sum.groups_dropped > 0)
		draw_textf(&u->theme, y + h - 1, x, COLS - x, R_BAR,
		    "  (%llu beyond the caps)",
		    (unsigned long long)u->sum.groups_dropped);
}

/* Enter: the list, showing the sessions of this cause only. */
static void
show_cause(struct ui *u, const struct ui_group *g)
{
	u->view.text[0] = '\0';
	u->view.incidents_only = false;
	u->view.cause = true;
	u->view.cause_kind = g->kind;
	u->view.cause_side = g->side;
	strlcpy(u->view.cause_host, g->host, sizeof(u->view.cause_host));
	u->view.cause_port = g->port;
	model_set_view(u->m, &u->view);
	u->list.sel = 0;
	u->list.top = 0;
	ui_pop(u);
	ui_status(u, false, "the %llu session%s of %s on %s %s (c shows all)",
	    (unsigned long long)g->count, g->count == 1 ? "" : "s", g->type,
	    g->side == SIDE_SERVER ? "server" : "client", g->host);
}

static bool
inc_action(struct ui *u, enum ui_action a)
{
	struct ui_incidents_state *s = &u->inc;
	size_t n = s->ngroups, page = s->page > 0 ? s->page : 1;

	switch (a) {
	case ACT_UP:
		if (s->sel > 0)
			s->sel--;
		return true;
	case ACT_DOWN:
		if (s->sel + 1 < n)
			s->sel++;
		return true;
	case ACT_PGUP:
		s->sel = s->sel > page ? s->sel - page : 0;
		return true;
	case ACT_PGDN:
		s->sel = s->sel + page < n ? s->sel + page : (n > 0 ? n - 1 : 0);
		return true;
	case ACT_HOME:
		s->sel = 0;
		return true;
	case ACT_END:
		s->sel = n > 0 ? n - 1 : 0;
		return true;
	case ACT_OPEN:
		if (s->sel < n)
			show_cause(u, &s->groups[s->sel]);
		return true;
	case ACT_INCIDENTS:
		return true;	/* already here */
	default:
		return false;
	}
}

const struct ui_panel ui_incidents_panel = {
	"incidents", SCOPE_INCIDENTS, inc_draw, inc_action,
};
