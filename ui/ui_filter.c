/*
 * ui_filter.c - the prompt line: the list filter and the paths for the
 * "write report" and "write pcap" keys.
 *
 * The filter applies as it is typed (the model rebuilds its index in
 * slices, so this stays responsive with hundreds of thousands of rows); Esc
 * restores the filter as it was, Enter keeps it.  Only printable ASCII is
 * accepted into the line, so what the prompt echoes is always safe.
 *
 * Deliberately not here: the matching itself (model.c matches the text,
 * case-insensitively, against addresses, HELO name, sender, first
 * recipient, state, incident type and uid); writing files (the caller's
 * struct ui_actions does, on this thread).
 */
#include <curses.h>
#include <string.h>

#include "ui/ui_int.h"

#define KEY_ESC 27

static void
apply_filter(struct ui *u)
{
	strlcpy(u->view.text, u->prompt.buf, sizeof(u->view.text));
	model_set_view(u->m, &u->view);
	u->list.sel = 0;
	u->list.top = 0;
	u->list.sel_uid[0] = '\0';
}

void
prompt_begin(struct ui *u, enum ui_prompt_kind kind)
{
	struct ui_prompt *p = &u->prompt;

	p->kind = kind;
	switch (kind) {
	case PROMPT_FILTER:
		strlcpy(p->saved, u->view.text, sizeof(p->saved));
		strlcpy(p->buf, u->view.text, sizeof(p->buf));
		break;
	case PROMPT_REPORT:
		strlcpy(p->buf, "smtpscope-report.txt", sizeof(p->buf));
		break;
	case PROMPT_PCAP:
		strlcpy(p->buf, "smtpscope-flagged.pcap", sizeof(p->buf));
		break;
	case PROMPT_NONE:
		break;
	}
	p->len = strlen(p->buf);
}

static void
accept_path(struct ui *u, enum ui_prompt_kind kind)
{
	const struct ui_actions *a = &u->cfg.actions;
	char err[256], path[96];
	int rc;

	if (u->prompt.len == 0) {
		ui_status(u, true, "no file name given: nothing written");
		return;
	}
	err[0] = '\0';
	if (kind == PROMPT_REPORT)
		rc = a->write_report(a->arg, u->prompt.buf, err, sizeof(err));
	else
		rc = a->write_pcap(a->arg, u->prompt.buf, err, sizeof(err));
	ui_escape(path, sizeof(path), u->prompt.buf, u->prompt.len);
	if (rc == 0) {
		ui_status(u, false, "%s written to %s", kind == PROMPT_REPORT ?
		    "report" : "flagged sessions' pcap", path);
	} else {
		char e[200];

		/* The message may quote a path or a host: escape it too. */
		ui_escape(e, sizeof(e), err, strlen(err));
		ui_status(u, true, "could not write %s: %s", path, e[0] ? e : "error");
	}
}

void
prompt_key(struct ui *u, int key)
{
	struct ui_prompt *p = &u->prompt;
	enum ui_prompt_kind kind = p->kind;
	bool edited = false;

	switch (key) {
	case KEY_RESIZE:
		return;
	case KEY_ESC:
		if (kind == PROMPT_FILTER) {
			strlcpy(p->buf, p->saved, sizeof(p->buf));
			apply_filter(u);
		}
		p->kind = PROMPT_NONE;
		return;
	case '\n':
	case '\r':
	case KEY_ENTER:
		p->kind = PROMPT_NONE;
		if (kind == PROMPT_FILTER)
			apply_filter(u);
		else
			accept_path(u, kind);
		return;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (p->len > 0) {
			p->buf[--p->len] = '\0';
			edited = true;
		}
		break;
	case 21:	/* ^U */
		p->len = 0;
		p->buf[0] = '\0';
		edited = true;
		break;
	default:
		if (key >= 0x20 && key < 0x7f && p->len + 1 < sizeof(p->buf) &&
		    (kind != PROMPT_FILTER || p->len + 1 < UI_FILTER_MAX)) {
			p->buf[p->len++] = (char)key;
			p->buf[p->len] = '\0';
			edited = true;
		}
		break;
	}
	if (edited && kind == PROMPT_FILTER)
		apply_filter(u);
}

void
prompt_draw(struct ui *u, int y)
{
	const struct ui_prompt *p = &u->prompt;
	const char *label;
	int x, w;

	switch (p->kind) {
	case PROMPT_FILTER: label = "Filter: "; break;
	case PROMPT_REPORT: label = "Write report to: "; break;
	case PROMPT_PCAP: label = "Write flagged sessions' pcap to: "; break;
	default: return;
	}
	draw_fill(&u->theme, y, 0, COLS, R_PROMPT);
	x = draw_text(&u->theme, y, 0, COLS, R_PROMPT, label);
	w = COLS - x - 1;
	/* Show the end of a long line: that is where the typing happens. */
	if ((int)p->len > w && w > 0)
		x += draw_text(&u->theme, y, x, w, R_PROMPT, p->buf + p->len - (size_t)w);
	else
		x += draw_text(&u->theme, y, x, w, R_PROMPT, p->buf);
	if (x < COLS) {
		move(y, x);
		curs_set(1);
	}
}
