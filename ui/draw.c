/*
 * draw.c - the only code in smtpscope that puts text on the screen.
 *
 * Every panel draws through these functions.  They take text that is
 * already escaped (wire bytes pass through ui_escape() before they enter
 * the model) or that is ours, clip it to the given width in terminal
 * columns and to the screen, and, as a second guard, draw as '?' any byte
 * that is not printable ASCII or, on a UTF-8 terminal (ui_utf8()), part of
 * a valid UTF-8 sequence of a shown character (escape.h's esc_utf8_shown)
 * of known width: no control byte, no ESC, no C1 byte, no bidirectional
 * override reaches the terminal from here, so nothing can move the
 * cursor, set the title or write to the clipboard (OSC 52).
 *
 * The theme maps roles (header, client line, missing capability, ...) to
 * attributes: colours when the terminal has them and the user did not ask
 * for monochrome, otherwise bold/underline/reverse only.
 *
 * Deliberately not here: deciding what to show (the panels do), refresh
 * (ui_main.c does one wnoutrefresh/doupdate per frame, no clear(), so the
 * screen never flickers).
 */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "decode/escape.h"
#include "ui/ui_int.h"

struct role_style {
	short fg, bg;
	unsigned color_attr, mono_attr;
};

/* One table: role -> colour pair and monochrome fallback. */
static const struct role_style styles[R_MAX] = {
	[R_NORMAL] = { -1, -1, A_NORMAL, A_NORMAL },
	[R_BAR] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[R_HEADER] = { -1, -1, A_NORMAL, A_NORMAL },
	[R_COLTITLE] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_SEL] = { -1, -1, A_REVERSE, A_REVERSE },
	[R_NOTICE] = { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[R_WARNING] = { COLOR_YELLOW, -1, A_BOLD, A_UNDERLINE },
	[R_ERROR] = { COLOR_RED, -1, A_BOLD, A_BOLD },
	[R_8BIT] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD | A_UNDERLINE },
	[R_CLIENT] = { COLOR_CYAN, -1, A_NORMAL, A_BOLD },
	[R_SERVER] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[R_NOTE] = { COLOR_MAGENTA, -1, A_NORMAL, A_DIM },
	[R_CAP_OK] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
	[R_CAP_MISSING] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD | A_REVERSE },
	[R_SECTION] = { COLOR_YELLOW, -1, A_BOLD | A_UNDERLINE, A_BOLD | A_UNDERLINE },
	[R_DIM] = { -1, -1, A_DIM, A_DIM },
	[R_PROMPT] = { COLOR_BLACK, COLOR_YELLOW, A_NORMAL, A_REVERSE },
	[R_STATUS_ERR] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD | A_REVERSE },
};

void
theme_init(struct ui_theme *t, bool mono)
{
	int i;
	bool defaults;

	t->color = !mono && has_colors() && start_color() == OK && COLOR_PAIRS > R_MAX;
	if (!t->color) {
		for (i = 0; i < R_MAX; i++)
			t->attr[i] = styles[i].mono_attr;
		return;
	}
	/* -1 is the terminal's own colour where it allows it. */
	defaults = use_default_colors() == OK;
	for (i = 1; i < R_MAX; i++) {
		short fg = styles[i].fg, bg = styles[i].bg;

		if (!defaults) {
			fg = fg < 0 ? COLOR_WHITE : fg;
			bg = bg < 0 ? COLOR_BLACK : bg;
		}
		if (init_pair((short)i, fg, bg) == OK)
			t->attr[i] = styles[i].color_attr | (unsigned)COLOR_PAIR(i);
		else
			t->attr[i] = styles[i].mono_attr;
	}
	t->attr[R_NORMAL] = A_NORMAL;
}

unsigned
draw_attr(const struct ui_theme *t, enum ui_role r)
{
	return (unsigned)r < R_MAX ? t->attr[r] : A_NORMAL;
}

/* The character at s (len bytes left) as drawn: its code point, its
 * columns and its length in bytes; anything not shown is '?'. */
static size_t
glyph(const char *s, size_t len, unsigned long *cp, int *cols)
{
	unsigned char c = (unsigned char)s[0];
	size_t k;
	int cw;

	*cp = '?';
	*cols = 1;
	if (c >= 0x20 && c < 0x7f) {
		*cp = c;
		return 1;
	}
	if (c < 0xc0 || !ui_utf8() ||
	    (k = esc_utf8_seq((const unsigned char *)s, len, cp)) == 0)
		return 1;
	if (!esc_utf8_shown(*cp) || (cw = wcwidth((wchar_t)*cp)) < 0) {
		*cp = '?';
		return k;
	}
	*cols = cw;
	return k;
}

int
ui_text_cols(const char *s)
{
	size_t i = 0, len = s != NULL ? strlen(s) : 0;
	unsigned long cp;
	int cols = 0, cw;

	while (i < len) {
		i += glyph(s + i, len - i, &cp, &cw);
		cols += cw;
	}
	return cols;
}

size_t
ui_text_fit(const char *s, size_t len, int cols)
{
	size_t i = 0, k;
	unsigned long cp;
	int used = 0, cw;

	while (i < len) {
		k = glyph(s + i, len - i, &cp, &cw);
		if (used + cw > cols && i > 0)
			break;
		used += cw;
		i += k;
		if (used >= cols)
			break;
	}
	return i;
}

int
draw_text_attr(int y, int x, int w, unsigned attr, const char *s)
{
	wchar_t buf[512];
	size_t i = 0, len;
	unsigned long cp;
	int n = 0, cols = 0, cw, max;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS || w <= 0 || s == NULL)
		return 0;
	max = COLS - x;
	if (w > max)
		w = max;
	len = strlen(s);
	while (i < len && n < (int)(sizeof(buf) / sizeof(buf[0])) - 1) {
		size_t k = glyph(s + i, len - i, &cp, &cw);

		if (cols + cw > w)
			break;
		buf[n++] = (wchar_t)cp;
		cols += cw;
		i += k;
	}
	buf[n] = L'\0';
	if (n == 0)
		return 0;
	attrset((attr_t)attr);
	mvaddnwstr(y, x, buf, n);
	attrset(A_NORMAL);
	return cols;
}

int
draw_text(const struct ui_theme *t, int y, int x, int w, enum ui_role r,
    const char *s)
{
	return draw_text_attr(y, x, w, draw_attr(t, r), s);
}

int
draw_textf(const struct ui_theme *t, int y, int x, int w, enum ui_role r,
    const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return draw_text(t, y, x, w, r, buf);
}

void
draw_fill(const struct ui_theme *t, int y, int x, int w, enum ui_role r)
{
	int i;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS || w <= 0)
		return;
	if (w > COLS - x)
		w = COLS - x;
	attrset((attr_t)draw_attr(t, r));
	for (i = 0; i < w; i++)
		mvaddch(y, x + i, ' ');
	attrset(A_NORMAL);
}
