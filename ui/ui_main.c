/*
 * ui_main.c - the UI's life cycle, panel stack, input loop and frame.
 *
 * ui_new() builds the model only (the capture thread may post before the
 * terminal exists); ui_start() opens the terminal on the UI thread;
 * ui_run() loops: rebuild the model's index if it changed, draw a frame if
 * anything changed (or once a second for the clock), wait up to 100 ms for a
 * key.  A frame is erase() + draw + wnoutrefresh() + doupdate(): ncurses
 * sends only the cells that changed and never clears the screen, so it does
 * not flicker.  Resizing arrives as KEY_RESIZE (ncurses' own SIGWINCH
 * handling) and simply causes a redraw at the new size.
 *
 * Screens are panels on a stack (list at the bottom, then session,
 * incidents, help); keys go through the one key-action table (ui_help.c) to
 * the top panel, then to the global actions here.
 *
 * Deliberately not here: model locking (model.c), text output (draw.c).
 * The terminal is only touched from the thread that called ui_start().
 */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui/ui_int.h"

#define POLL_MS 100

static const struct ui_panel *const panels[P_MAX] = {
	[P_LIST] = &ui_list_panel,
	[P_SESSION] = &ui_session_panel,
	[P_INCIDENTS] = &ui_incidents_panel,
	[P_HELP] = &ui_help_panel,
};

/* Replay speeds the +/- keys step through; 0 is "as fast as possible". */
static const double speeds[] = { 0.25, 0.5, 1, 2, 4, 8, 16, 64, 0 };
#define NSPEEDS (sizeof(speeds) / sizeof(speeds[0]))

uint64_t
ui_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------
 * Life cycle
 * --------------------------------------------------------------------- */

const char *
ui_lib_version(void)
{
	return curses_version();
}

struct ui *
ui_new(const struct ui_config *cfg, char *err, size_t errlen)
{
	struct ui *u;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "ui: %s", strerror(errno));
		return NULL;
	}
	u->cfg = *cfg;
	u->source = strdup(cfg->source != NULL ? cfg->source : "");
	u->filter = cfg->filter != NULL ? strdup(cfg->filter) : NULL;
	if (u->source == NULL || (cfg->filter != NULL && u->filter == NULL)) {
		snprintf(err, errlen, "ui: %s", strerror(errno));
		ui_free(u);
		return NULL;
	}
	u->cfg.source = u->source;
	u->cfg.filter = u->filter;
	if (u->cfg.max_bytes > 0)
		u->cfg.max_sessions = u->cfg.max_bytes / model_row_bytes() > 16 ?
		    u->cfg.max_bytes / model_row_bytes() : 16;
	if (u->cfg.max_sessions == 0)
		u->cfg.max_sessions = UI_DEFAULT_MAX_SESSIONS;
	/* A live capture is never paced: only files replay. */
	if ((u->m = model_new(u->cfg.max_sessions, cfg->is_file ? cfg->speed : 0,
	    err, errlen)) == NULL) {
		ui_free(u);
		return NULL;
	}
	u->view.sort = SORT_TIME;
	u->view.descending = true;
	model_set_view(u->m, &u->view);
	u->stack[0] = P_LIST;
	u->depth = 1;
	return u;
}

int
ui_start(struct ui *u, char *err, size_t errlen)
{
	SCREEN *s;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "ui: standard input and output must be a terminal");
		return -1;
	}
	/* A UTF-8 terminal shows UTF-8 from the wire as itself (fmt.c,
	 * draw.c); any other keeps the C locale and sees it escaped. */
	if (setlocale(LC_CTYPE, "") != NULL &&
	    strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
		ui_set_utf8(true);
	else
		(void)setlocale(LC_CTYPE, "C");
	/* newterm, not initscr: initscr exits the program on failure. */
	if ((s = newterm(NULL, stdout, stdin)) == NULL) {
		snprintf(err, errlen, "ui: cannot use the terminal (TERM=%s)",
		    getenv("TERM") != NULL ? getenv("TERM") : "unset");
		return -1;
	}
	set_term(s);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	timeout(POLL_MS);
	theme_init(&u->theme, u->cfg.mono);
	u->started = true;
	u->start_ms = ui_now_ms();
	u->rate_ms = u->start_ms;
	u->dirty = true;
	return 0;
}

void
ui_stop(struct ui *u)
{
	if (u == NULL || !u->started)
		return;
	endwin();
	(void)setlocale(LC_CTYPE, "C");
	u->started = false;
}

void
ui_free(struct ui *u)
{
	if (u == NULL)
		return;
	if (u->m != NULL)
		session_close(u);
	model_free(u->m);
	free(u->list.rows);
	free(u->inc.groups);
	free(u->source);
	free(u->filter);
	free(u);
}

/* ------------------------------------------------------------------------
 * Thread-safe entry points: thin, the model does the locking
 * --------------------------------------------------------------------- */

void
ui_post_session(struct ui *u, const struct sess_record *rec, bool ended)
{
	model_post_session(u->m, rec, ended);
}

void
ui_post_stats(struct ui *u, const struct ui_stats *st)
{
	model_post_stats(u->m, st);
}

bool
ui_pace(struct ui *u, uint64_t pkt_ts_us)
{
	return model_pace(u->m, pkt_ts_us);
}

bool
ui_quit_requested(struct ui *u)
{
	return model_quitting(u->m);
}

void
ui_request_quit(struct ui *u)
{
	model_quit(u->m);
}

/* ------------------------------------------------------------------------
 * Panels, status
 * --------------------------------------------------------------------- */

void
ui_push(struct ui *u, enum ui_panel_id p)
{
	if (u->depth > 0 && u->stack[u->depth - 1] == p)
		return;
	if (u->depth == (int)(sizeof(u->stack) / sizeof(u->stack[0]))) {
		/* Deep enough: replace the top instead of growing. */
		if (u->stack[u->depth - 1] == P_SESSION)
			session_close(u);
		u->depth--;
	}
	u->stack[u->depth++] = p;
}

void
ui_pop(struct ui *u)
{
	if (u->depth <= 1)
		return;
	if (u->stack[u->depth - 1] == P_SESSION)
		session_close(u);
	u->depth--;
}

void
ui_status(struct ui *u, bool err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->status, sizeof(u->status), fmt, ap);
	va_end(ap);
	u->status_err = err;
	u->status_until = ui_now_ms() + 5000;
	u->dirty = true;
}

void
ui_open_session(struct ui *u, const char *uid)
{
	char keep[UI_UID_MAX];

	strlcpy(keep, uid, sizeof(keep));
	session_close(u);
	strlcpy(u->sess.uid, keep, sizeof(u->sess.uid));
	u->sess.d = model_detail_get(u->m, u->sess.uid, &u->sess.known,
	    &u->sess.version);
	u->sess.top = 0;
	u->sess.width = -1;
	if (u->depth == 0 || u->stack[u->depth - 1] != P_SESSION)
		ui_push(u, P_SESSION);
}

/* ------------------------------------------------------------------------
 * The frame: header, panel, bottom line
 * --------------------------------------------------------------------- */

static void
fmt_dur(char *dst, size_t size, uint64_t us)
{
	uint64_t s = us / 1000000;

	snprintf(dst, size, "%02u:%02u:%02u", (unsigned)(s / 3600 % 1000),
	    (unsigned)(s / 60 % 60), (unsigned)(s % 60));
}

static int
type_rank(const struct ui_typecount *t)
{
	return (t->family == FAM_8BIT ? 10 : 0) + t->severity;
}

static int
type_order(const void *a, const void *b)
{
	const struct ui_typecount *x = a, *y = b;

	if (type_rank(x) != type_rank(y))
		return type_rank(y) - type_rank(x);
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->type, y->type);
}

static void
draw_header(struct ui *u)
{
	const struct ui_summary *s = &u->sum;
	struct ui_typecount types[UI_MAX_TYPES];
	char src[96], flt[256], el[16], mode[48], buf[512], vt[UI_FILTER_MAX * 4];
	uint64_t now = ui_now_ms();
	size_t i, n;
	int x;

	ui_escape(src, sizeof(src), u->source, strlen(u->source));
	if (u->filter != NULL)
		ui_escape(flt, sizeof(flt), u->filter, strlen(u->filter));
	else
		strlcpy(flt, "(none)", sizeof(flt));
	/* The display filter too: what the list shows is the two together. */
	if (u->view.text[0] != '\0' || u->view.incidents_only || u->view.cause) {
		size_t fl = strlen(flt);

		ui_escape(vt, sizeof(vt), u->view.text, strlen(u->view.text));
		snprintf(flt + fl, sizeof(flt) - fl, "  show:%s%s%s%s%.100s",
		    u->view.incidents_only ? " flagged" : "",
		    u->view.cause ? " cause " : "",
		    u->view.cause ? inc_type_name(u->view.cause_kind) : "",
		    u->view.text[0] != '\0' ? " /" : "", vt);
	}
	if (u->cfg.is_file)
		fmt_dur(el, sizeof(el), s->stats.last_ts_us > s->stats.first_ts_us ?
		    s->stats.last_ts_us - s->stats.first_ts_us : 0);
	else
		fmt_dur(el, sizeof(el), (now - u->start_ms) * 1000);
	if (!u->cfg.is_file)
		strlcpy(mode, s->stats.finished ? "capture ended" : "live", sizeof(mode));
	else if (s->stats.finished)
		strlcpy(mode, "done 100%", sizeof(mode));
	else {
		unsigned pct = s->stats.file_bytes_total > 0 ? (unsigned)(
		    s->stats.file_bytes_read * 100 / s->stats.file_bytes_total) : 0;
		char sp[16];

		if (s->speed > 0)
			snprintf(sp, sizeof(sp), "x%g", s->speed);
		else
			strlcpy(sp, "max", sizeof(sp));
		snprintf(mode, sizeof(mode), "%s %u%% %s",
		    s->paused ? "PAUSED" : "replay", pct > 100 ? 100 : pct, sp);
	}
	/* Right: clock and mode; left: source and filter, cut to fit. */
	draw_fill(&u->theme, 0, 0, COLS, R_BAR);
	snprintf(buf, sizeof(buf), " %s %s ", el, mode);
	n = strlen(buf);
	x = COLS - (int)n;
	if (x < 0)
		x = 0;
	draw_text(&u->theme, 0, x, COLS - x, R_BAR, buf);
	{
		/* A long source gives way first (its tail is kept: the file
		 * name and "+N more"), so the filter stays in view. */
		int fixed = (int)strlen(" smtpscope  file   filter: ") + (int)strlen(flt);
		int room = x - 1 - fixed, sl = (int)strlen(src);

		if (sl > room && room >= 8)
			snprintf(buf, sizeof(buf), " smtpscope  %s ~%s  filter: %s",
			    u->cfg.is_file ? "file" : "iface", src + sl - (room - 1), flt);
		else if (sl > room)	/* no room at all: the filters matter more */
			snprintf(buf, sizeof(buf), " smtpscope  %s ~  filter: %s",
			    u->cfg.is_file ? "file" : "iface", flt);
		else
			snprintf(buf, sizeof(buf), " smtpscope  %s %s  filter: %s",
			    u->cfg.is_file ? "file" : "iface", src, flt);
	}
	if ((int)strlen(buf) > x - 1 && x > 2) {
		buf[x - 2] = '~';
		buf[x - 1] = '\0';
	}
	draw_text(&u->theme, 0, 0, x, R_BAR, buf);

	/* Rate over roughly one-second windows. */
	if (now - u->rate_ms >= 1000) {
		uint64_t p = s->stats.packets;

		u->rate = p >= u->rate_pkts ? (double)(p - u->rate_pkts) * 1000.0 /
		    (double)(now - u->rate_ms) : 0;
		u->rate_pkts = p;
		u->rate_ms = now;
	}
	x = 0;
	if (s->have_stats && s->stats.iface_away)
		x = draw_text(&u->theme, 1, 0, COLS, R_ERROR,
		    " INTERFACE AWAY, retrying |");
	x += draw_textf(&u->theme, 1, x, COLS - x, R_HEADER,
	    " pkts %llu %.0f/s  drops %llu  sessions %llu open %llu  |",
	    (unsigned long long)s->stats.packets, u->rate,
	    (unsigned long long)s->stats.kernel_drops,
	    (unsigned long long)(s->have_stats ? s->stats.sessions_total : s->rows_posted),
	    (unsigned long long)(s->have_stats ? s->stats.sessions_open : s->rows_open));
	if (s->ntypes == 0)
		x += draw_text(&u->theme, 1, x, COLS - x, R_HEADER, " no incident");
	/* The 8-bit family first, then by severity: what matters fits. */
	memcpy(types, s->types, sizeof(types[0]) * s->ntypes);
	qsort(types, s->ntypes, sizeof(types[0]), type_order);
	for (i = 0; i < s->ntypes && x < COLS; i++) {
		enum ui_role r = types[i].family == FAM_8BIT ? R_8BIT :
		    types[i].severity == SEV_ERROR ? R_ERROR :
		    types[i].severity == SEV_WARNING ? R_WARNING : R_NOTICE;

		x += draw_text(&u->theme, 1, x, COLS - x, R_HEADER, " ");
		x += draw_text(&u->theme, 1, x, COLS - x, r, types[i].type);
		x += draw_textf(&u->theme, 1, x, COLS - x, r, " %llu",
		    (unsigned long long)types[i].count);
	}
}

static void
draw_bottom(struct ui *u)
{
	int y = LINES - 1;
	const char *hint;

	if (u->prompt.kind != PROMPT_NONE) {
		prompt_draw(u, y);
		return;
	}
	curs_set(0);
	if (u->status[0] != '\0' && ui_now_ms() < u->status_until) {
		draw_fill(&u->theme, y, 0, COLS, u->status_err ? R_STATUS_ERR : R_NORMAL);
		draw_text(&u->theme, y, 1, COLS - 1, u->status_err ? R_STATUS_ERR :
		    R_NORMAL, u->status);
		return;
	}
	switch (u->stack[u->depth - 1]) {
	case P_SESSION:
		hint = "?:help Esc:back t:transcript d:diagnosis n/N:next/prev i:incidents q:quit";
		break;
	case P_INCIDENTS:
		hint = "?:help Esc:back Enter:its sessions w:report W:pcap q:quit";
		break;
	case P_HELP:
		hint = "Esc:close Up/Down:scroll q:quit";
		break;
	default:
		hint = "?:help Enter:open /:filter !:flagged s:sort i:incidents w:report q:quit";
		break;
	}
	draw_text(&u->theme, y, 0, COLS, R_DIM, hint);
}

static void
draw_frame(struct ui *u)
{
	const struct ui_panel *p = panels[u->stack[u->depth - 1]];

	erase();
	if (LINES < 8 || COLS < 40) {
		draw_text(&u->theme, 0, 0, COLS, R_NORMAL, "smtpscope: terminal too small");
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	draw_header(u);
	p->draw(u, 2, LINES - 3);
	draw_bottom(u);
	wnoutrefresh(stdscr);
	doupdate();
}

/* ------------------------------------------------------------------------
 * Keys
 * --------------------------------------------------------------------- */

static void
change_speed(struct ui *u, int dir)
{
	double cur = u->sum.speed;
	size_t i;

	if (!u->cfg.is_file) {
		ui_status(u, true, "speed applies to a file replay only");
		return;
	}
	for (i = 0; i < NSPEEDS && speeds[i] != cur; i++)
		;
	if (i == NSPEEDS)
		i = 2;	/* an odd speed from the command line: restart at x1 */
	if (dir > 0 && i + 1 < NSPEEDS)
		i++;
	else if (dir < 0 && i > 0)
		i--;
	model_set_speed(u->m, speeds[i]);
	u->sum.speed = speeds[i];
	if (speeds[i] > 0)
		ui_status(u, false, "replay speed x%g", speeds[i]);
	else
		ui_status(u, false, "replay as fast as possible");
}

static void
global_action(struct ui *u, enum ui_action a)
{
	switch (a) {
	case ACT_QUIT:
		u->quit = true;
		break;
	case ACT_HELP:
		u->help.top = 0;
		ui_push(u, P_HELP);
		break;
	case ACT_BACK:
		ui_pop(u);
		break;
	case ACT_REDRAW:
		clearok(curscr, TRUE);
		break;
	case ACT_INCIDENTS:
		ui_push(u, P_INCIDENTS);
		break;
	case ACT_PAUSE:
		if (!u->cfg.is_file) {
			ui_status(u, true, "a live capture cannot pause (it would drop packets)");
			break;
		}
		model_set_paused(u->m, !u->sum.paused);
		u->sum.paused = !u->sum.paused;
		ui_status(u, false, u->sum.paused ? "replay paused" : "replay resumed");
		break;
	case ACT_FASTER:
		change_speed(u, 1);
		break;
	case ACT_SLOWER:
		change_speed(u, -1);
		break;
	case ACT_WRITE_REPORT:
		if (u->cfg.actions.write_report == NULL)
			ui_status(u, true, "writing the report is not available here");
		else
			prompt_begin(u, PROMPT_REPORT);
		break;
	case ACT_WRITE_PCAP:
		if (u->cfg.actions.write_pcap == NULL)
			ui_status(u, true, "writing a pcap is not available here");
		else
			prompt_begin(u, PROMPT_PCAP);
		break;
	default:
		break;
	}
}

static void
handle_key(struct ui *u, int ch)
{
	const struct ui_panel *p;
	enum ui_action a;

	if (ch == KEY_RESIZE)
		return;		/* ncurses updated LINES and COLS: just redraw */
	u->status[0] = '\0';	/* a message lasts until the next key */
	if (u->prompt.kind != PROMPT_NONE) {
		prompt_key(u, ch);
		return;
	}
	p = panels[u->stack[u->depth - 1]];
	if ((a = ui_key_action(p->scope, ch)) == ACT_NONE)
		return;
	if (p->action != NULL && p->action(u, a))
		return;
	global_action(u, a);
}

int
ui_run(struct ui *u)
{
	uint64_t drawn_gen = 0, drawn_sec = 0, now;
	int ch;

	if (u == NULL || !u->started)
		return -1;
	model_summary(u->m, &u->sum);
	while (!u->quit && !model_quitting(u->m)) {
		bool changed = model_refresh(u->m, false);

		model_summary(u->m, &u->sum);
		now = ui_now_ms();
		if (changed || u->dirty || u->sum.gen != drawn_gen ||
		    now / 1000 != drawn_sec) {
			draw_frame(u);
			u->dirty = false;
			drawn_gen = u->sum.gen;
			drawn_sec = now / 1000;
		}
		if ((ch = getch()) == ERR)
			continue;
		handle_key(u, ch);
		u->dirty = true;
	}
	/* Let a paced or paused capture thread go. */
	model_quit(u->m);
	return 0;
}
