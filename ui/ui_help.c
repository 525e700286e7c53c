/*
 * ui_help.c - the key-action table, and the help screen generated from it.
 *
 * Every key the UI understands is one row of keytab[]: its scope (which
 * screen), the keys, the action and the line of help.  Dispatch
 * (ui_key_action) and the help screen read the same table, so the help can
 * never disagree with the keys (sngrep's keybinding.c, without globals).
 *
 * Deliberately not here: what an action does (the panels and ui_main.c).
 */
#include <curses.h>
#include <string.h>

#include "ui/ui_int.h"

#define KEY_CTRL(c) ((c) & 0x1f)
#define KEY_ESC 27

struct keybind {
	enum ui_scope scope;
	int keys[4];		/* 0-terminated when shorter */
	const char *label;
	enum ui_action act;
	const char *help;
};

static const struct keybind keytab[] = {
	{ SCOPE_GLOBAL, { 'q', 'Q' }, "q", ACT_QUIT, "quit (writes nothing unless asked)" },
	{ SCOPE_GLOBAL, { '?', KEY_F(1), 'h' }, "? F1 h", ACT_HELP, "this help" },
	{ SCOPE_GLOBAL, { KEY_ESC, KEY_LEFT, KEY_BACKSPACE, 127 }, "Esc Left", ACT_BACK,
	    "back to the previous screen" },
	{ SCOPE_GLOBAL, { 'i', 'I' }, "i", ACT_INCIDENTS, "incidents by type and client/server pair" },
	{ SCOPE_GLOBAL, { 'w' }, "w", ACT_WRITE_REPORT, "write the report to a file" },
	{ SCOPE_GLOBAL, { 'W' }, "W", ACT_WRITE_PCAP, "write the flagged sessions' packets (pcap)" },
	{ SCOPE_GLOBAL, { ' ', 'p' }, "Space p", ACT_PAUSE, "pause / resume a file replay" },
	{ SCOPE_GLOBAL, { '+', '>' }, "+", ACT_FASTER, "replay faster (up to: as fast as possible)" },
	{ SCOPE_GLOBAL, { '-', '<' }, "-", ACT_SLOWER, "replay slower (down to x0.25)" },
	{ SCOPE_GLOBAL, { KEY_CTRL('l') }, "^L", ACT_REDRAW, "redraw the screen" },

	{ SCOPE_MOVE, { KEY_UP, 'k' }, "Up k", ACT_UP, "previous line" },
	{ SCOPE_MOVE, { KEY_DOWN, 'j' }, "Down j", ACT_DOWN, "next line" },
	{ SCOPE_MOVE, { KEY_PPAGE, KEY_CTRL('b') }, "PgUp ^B", ACT_PGUP, "previous page" },
	{ SCOPE_MOVE, { KEY_NPAGE, KEY_CTRL('f') }, "PgDn ^F", ACT_PGDN, "next page" },
	{ SCOPE_MOVE, { KEY_HOME, 'g' }, "Home g", ACT_HOME, "first line" },
	{ SCOPE_MOVE, { KEY_END, 'G' }, "End G", ACT_END, "last line" },

	{ SCOPE_LIST, { '\n', '\r', KEY_ENTER, KEY_RIGHT }, "Enter", ACT_OPEN,
	    "open the session: transcript, extensions, diagnosis" },
	{ SCOPE_LIST, { '/' }, "/", ACT_FILTER,
	    "filter on address, HELO, sender, recipient, state, incident" },
	{ SCOPE_LIST, { 'c' }, "c", ACT_CLEAR_FILTER, "clear the filter" },
	{ SCOPE_LIST, { '!', 'f' }, "! f", ACT_FLAGGED_ONLY, "only sessions with incidents (toggle)" },
	{ SCOPE_LIST, { 's' }, "s", ACT_SORT_NEXT, "sort by the next column" },
	{ SCOPE_LIST, { 'r' }, "r", ACT_SORT_REVERSE, "reverse the sort order" },

	{ SCOPE_SESSION, { 't' }, "t", ACT_JUMP_TRANSCRIPT, "jump to the transcript" },
	{ SCOPE_SESSION, { 'd' }, "d", ACT_JUMP_INCIDENTS, "jump to the diagnosis and fix" },
	{ SCOPE_SESSION, { 'n' }, "n", ACT_NEXT_SESSION, "next session of the list" },
	{ SCOPE_SESSION, { 'N' }, "N", ACT_PREV_SESSION, "previous session of the list" },

	{ SCOPE_INCIDENTS, { '\n', '\r', KEY_ENTER, KEY_RIGHT }, "Enter", ACT_OPEN,
	    "list the cause's sessions (c in the list shows all again)" },
};
#define NKEYS (sizeof(keytab) / sizeof(keytab[0]))

static enum ui_action
lookup(enum ui_scope scope, int key)
{
	size_t i, j;

	for (i = 0; i < NKEYS; i++) {
		if (keytab[i].scope != scope)
			continue;
		for (j = 0; j < 4 && keytab[i].keys[j] != 0; j++)
			if (keytab[i].keys[j] == key)
				return keytab[i].act;
	}
	return ACT_NONE;
}

enum ui_action
ui_key_action(enum ui_scope scope, int key)
{
	enum ui_action a;

	if (key == 0)
		return ACT_NONE;
	if ((a = lookup(scope, key)) != ACT_NONE)
		return a;
	if (scope != SCOPE_GLOBAL && (a = lookup(SCOPE_MOVE, key)) != ACT_NONE)
		return a;
	return lookup(SCOPE_GLOBAL, key);
}

/* ------------------------------------------------------------------------
 * The help screen
 * --------------------------------------------------------------------- */

static const char *const scope_titles[SCOPE_MAX] = {
	[SCOPE_GLOBAL] = "Everywhere",
	[SCOPE_MOVE] = "Moving (list, session, incidents, help)",
	[SCOPE_LIST] = "Session list",
	[SCOPE_SESSION] = "Session view",
	[SCOPE_INCIDENTS] = "Incidents view",
};

static const char *const help_notes[] = {
	"",
	"Notes",
	"  Rows: ! failed 8-bit negotiation, E error, W warning, n notice.",
	"  Text from the network is shown escaped with vis(3): \\033 is ESC,",
	"  \\r CR, \\ooo a byte >= 0x80; nothing it holds can reach the terminal.",
	"  The session view keeps details for the 2000 most recent sessions and",
	"  for 20000 sessions with incidents; older ones say so.",
};
#define NNOTES (sizeof(help_notes) / sizeof(help_notes[0]))

/* The help as numbered lines: line i of the screen's content, or NULL. */
static bool
help_line(size_t i, char *buf, size_t size, enum ui_role *role)
{
	size_t n = 0, k;
	int s;

	for (s = 0; s < SCOPE_MAX; s++) {
		if (n++ == i) {
			strlcpy(buf, scope_titles[s], size);
			*role = R_SECTION;
			return true;
		}
		for (k = 0; k < NKEYS; k++) {
			if (keytab[k].scope != (enum ui_scope)s)
				continue;
			if (n++ == i) {
				snprintf(buf, size, "  %-10s %s", keytab[k].label,
				    keytab[k].help);
				*role = R_NORMAL;
				return true;
			}
		}
		if (n++ == i) {
			buf[0] = '\0';
			*role = R_NORMAL;
			return true;
		}
	}
	for (k = 0; k < NNOTES; k++) {
		if (n++ == i) {
			strlcpy(buf, help_notes[k], size);
			*role = k == 1 ? R_SECTION : R_NORMAL;
			return true;
		}
	}
	return false;
}

static size_t
help_count(void)
{
	return SCOPE_MAX * 2 + NKEYS + NNOTES;
}

static void
help_draw(struct ui *u, int y, int h)
{
	size_t i, n = help_count();
	size_t body = h > 1 ? (size_t)h - 1 : 1;
	enum ui_role role;
	char buf[256];

	if (n <= body)
		u->help.top = 0;
	else if (u->help.top > n - body)
		u->help.top = n - body;
	for (i = 0; i < body; i++) {
		if (!help_line(u->help.top + i, buf, sizeof(buf), &role))
			break;
		draw_text(&u->theme, y + (int)i, 1, COLS - 1, role, buf);
	}
	draw_fill(&u->theme, y + h - 1, 0, COLS, R_BAR);
	draw_textf(&u->theme, y + h - 1, 1, COLS - 2, R_BAR,
	    "help: lines %zu-%zu of %zu   Esc or ? closes", u->help.top + 1,
	    u->help.top + i, n);
}

static bool
help_action(struct ui *u, enum ui_action a)
{
	size_t n = help_count();

	switch (a) {
	case ACT_HELP:
	case ACT_BACK:
	case ACT_OPEN:
		ui_pop(u);
		return true;
	case ACT_UP:
		if (u->help.top > 0)
			u->help.top--;
		return true;
	case ACT_DOWN:
		if (u->help.top + 1 < n)
			u->help.top++;
		return true;
	case ACT_PGUP:
		u->help.top = u->help.top > 10 ? u->help.top - 10 : 0;
		return true;
	case ACT_PGDN:
		u->help.top += 10;
		return true;
	case ACT_HOME:
		u->help.top = 0;
		return true;
	case ACT_END:
		u->help.top = n;
		return true;
	default:
		return false;
	}
}

const struct ui_panel ui_help_panel = {
	"help", SCOPE_MOVE, help_draw, help_action,
};
