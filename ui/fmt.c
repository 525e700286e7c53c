/*
 * fmt.c - text helpers of the UI that need no terminal: escaping of wire
 * bytes, names from record.h's tables, timestamps.
 *
 * Every string that came off the wire enters the UI's model through
 * ui_escape(), which is decode/escape.h's vis(3)-based text escaper: what the
 * model stores is printable ASCII, and on a UTF-8 terminal also valid UTF-8
 * of characters that are shown (escape.h's esc_utf8_shown: no C1 control,
 * no bidirectional override), so nothing from the network can move the
 * cursor, set the title or reach the clipboard, whatever the panels do with
 * it later (draw.c checks every character again, as a second guard).
 *
 * Names of enum values are record.h's own functions (the ones the exports
 * use), and column titles are the labels of decode/fields.h's table; what
 * the UI shows differently (an empty severity for "no incident") is a
 * display rule written here on top of them, not a second copy.
 *
 * Deliberately not here: ncurses (the model and its unit test link this
 * file without a terminal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/escape.h"
#include "decode/fields.h"
#include "ui/ui_int.h"

/* ESC_UTF8 once ui_start() found a UTF-8 terminal, else 0. */
static int ui_esc_flags;

void
ui_set_utf8(bool on)
{
	ui_esc_flags = on ? ESC_UTF8 : 0;
}

bool
ui_utf8(void)
{
	return ui_esc_flags != 0;
}

/*
 * Length of the escape unit at s: one plain character, a UTF-8 sequence
 * (escaped text holds only valid ones), or a vis(3) sequence: "\\ooo"
 * (octal), else a backslash and one character.
 */
static size_t
unit_len(const char *s)
{
	size_t n = 1;

	if ((unsigned char)s[0] >= 0xc0) {
		while (n < 4 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n++;
		return n;
	}
	if (s[0] != '\\')
		return 1;
	if (s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
	    s[3] >= '0' && s[3] <= '7')
		return 4;
	return s[1] != '\0' ? 2 : 1;
}

/*
 * Only the first size-1 input bytes can reach the output (each makes at
 * least one character), so those are escaped in one strvisx(3) call (the
 * escaper's fast path: its per-byte path costs an allocation per byte in
 * libbsd), then copied whole units at a time, with "..." where cut.
 */
size_t
ui_escape_work(char *dst, size_t size, const void *src, size_t len, char *work)
{
	size_t n, elen, out = 0, u;

	if (size == 0)
		return 0;
	if (src == NULL)
		len = 0;
	n = len < size - 1 ? len : size - 1;
	elen = esc_text(work, n * ESC_TEXT_MAXCHAR + 1, src, n, ui_esc_flags);
	if (n == len && elen < size) {
		memcpy(dst, work, elen + 1);
		return elen;
	}
	for (;;) {
		u = unit_len(work + out);
		if (work[out] == '\0' || out + u + 3 > size - 1)
			break;
		out += u;
	}
	memcpy(dst, work, out);
	if (size >= 4) {
		memcpy(dst + out, "...", 3);
		out += 3;
	}
	dst[out] = '\0';
	return out;
}

size_t
ui_escape(char *dst, size_t size, const void *src, size_t len)
{
	char stackwork[UI_ESCAPE_STACK * ESC_TEXT_MAXCHAR + 1], *work;
	size_t n = len < size ? len : size, r;

	if (size == 0)
		return 0;
	if (n <= UI_ESCAPE_STACK)
		return ui_escape_work(dst, size, src, len, stackwork);
	if ((work = malloc(n * ESC_TEXT_MAXCHAR + 1)) == NULL) {
		dst[0] = '\0';
		return 0;
	}
	r = ui_escape_work(dst, size, src, len, work);
	free(work);
	return r;
}

/* ------------------------------------------------------------------------
 * Names and labels: record.h's name functions and decode/fields.h's table,
 * the same every export uses, with the UI's display rules on top
 * --------------------------------------------------------------------- */

const char *
ui_state_name(unsigned s)
{
	return sess_state_name((enum sess_state)s);
}

const char *
ui_end_name(unsigned e)
{
	return sess_end_name((enum sess_end)e);
}

const char *
ui_cap_name(unsigned c)
{
	return smtp_cap_name((enum smtp_cap_bit)c);
}

const char *
ui_anomaly_name(unsigned a)
{
	return smtp_anomaly_name((enum smtp_anomaly)a);
}

/* Display rule: a row or group without incidents has severity -1, and the
 * UI shows nothing for it (and for anything else outside the enum) rather
 * than record.h's "?". */
const char *
ui_severity_name(int s)
{
	if (s < SEV_NOTICE || s > SEV_ERROR)
		return "";
	return severity_name((enum severity)s);
}

const char *
ui_confidence_name(int c)
{
	return confidence_name((enum confidence)c);
}

const char *
ui_body_name(unsigned b)
{
	return body_type_name((enum body_type)b);
}

/* The UI title of a session field (its row's label, else its name). */
const char *
ui_field_label(enum sess_field id)
{
	const struct rec_field *fd;

	if ((unsigned)id >= SFLD_MAX)
		return "?";
	fd = &rec_sess_fields[id];
	return fd->label != NULL ? fd->label : fd->name;
}

static const char *const sort_names[SORT_MAX] = {
	[SORT_TIME] = "time", [SORT_SEVERITY] = "severity",
	[SORT_CLIENT] = "client", [SORT_SERVER] = "server",
	[SORT_HELO] = "helo", [SORT_STATE] = "state",
	[SORT_INCIDENT] = "incident", [SORT_MSGS] = "messages",
};

const char *
ui_sort_name(enum ui_sort s)
{
	return (unsigned)s < SORT_MAX ? sort_names[s] : "?";
}

/* Capture timestamps are shown in local time, like tcpdump's default. */
void
ui_fmt_ts(char *dst, size_t size, uint64_t ts_us, enum ui_tsfmt f)
{
	time_t t = (time_t)(ts_us / 1000000);
	unsigned ms = (unsigned)(ts_us % 1000000 / 1000);
	struct tm tm;

	if (size == 0)
		return;
	if (ts_us == 0 || localtime_r(&t, &tm) == NULL) {
		strlcpy(dst, "-", size);
		return;
	}
	switch (f) {
	case TS_HMS:
		snprintf(dst, size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
		break;
	case TS_HMS_MS:
		snprintf(dst, size, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ms);
		break;
	case TS_DATE:
		snprintf(dst, size, "%04d-%02d-%02d %02d:%02d:%02d.%03u",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ms);
		break;
	}
}
