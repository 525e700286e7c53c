/*
 * fmt.c - text helpers of the UI that need no terminal: escaping of wire
 * bytes, names from record.h's tables, timestamps.
 *
 * Every string that came off the wire enters the UI's model through
 * ui_escape(), which is decode/escape.h's vis(3)-based text escaper: what the
 * model stores is printable ASCII, so nothing from the network can move the
 * cursor, set the title or reach the clipboard, whatever the panels do with
 * it later (draw.c still refuses any other byte, as a second guard).
 *
 * Deliberately not here: ncurses (the model and its unit test link this
 * file without a terminal), and the decoder's own name functions: the
 * tables are generated here from the same X-macros, so ui/ needs no decoder
 * code beyond the escaper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/escape.h"
#include "ui/ui_int.h"

/*
 * Length of the escape unit at s: one plain character, or a vis(3)
 * sequence: "\\ooo" (octal), else a backslash and one character.
 */
static size_t
unit_len(const char *s)
{
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
	elen = esc_text(work, n * ESC_TEXT_MAXCHAR + 1, src, n, 0);
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
 * Names, from record.h's X-macro tables
 * --------------------------------------------------------------------- */

#define NAME2(id, name) name,
#define NAME3(id, name, desc) name,
static const char *const state_names[] = { SESS_STATES(NAME2) };
static const char *const end_names[] = { SESS_ENDS(NAME2) };
static const char *const cap_names[] = { SMTP_CAPS(NAME2) };
static const char *const anomaly_names[] = { SMTP_ANOMALIES(NAME3) };
#undef NAME2
#undef NAME3

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
ui_state_name(unsigned s)
{
	return s < NELEM(state_names) ? state_names[s] : "?";
}

const char *
ui_end_name(unsigned e)
{
	return e < NELEM(end_names) ? end_names[e] : "?";
}

const char *
ui_cap_name(unsigned c)
{
	return c < NELEM(cap_names) ? cap_names[c] : "?";
}

const char *
ui_anomaly_name(unsigned a)
{
	return a < NELEM(anomaly_names) ? anomaly_names[a] : "?";
}

const char *
ui_severity_name(int s)
{
	switch (s) {
	case SEV_NOTICE: return "notice";
	case SEV_WARNING: return "warning";
	case SEV_ERROR: return "error";
	default: return "";
	}
}

const char *
ui_confidence_name(int c)
{
	switch (c) {
	case CONF_POSSIBLE: return "possible";
	case CONF_PROBABLE: return "probable";
	case CONF_CERTAIN: return "certain";
	default: return "?";
	}
}

const char *
ui_body_name(unsigned b)
{
	switch (b) {
	case BODY_NONE: return "";
	case BODY_7BIT: return "7BIT";
	case BODY_8BITMIME: return "8BITMIME";
	case BODY_BINARYMIME: return "BINARYMIME";
	default: return "other";
	}
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
