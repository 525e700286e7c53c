/*
 * ui.h - the ncurses live view: the only public header of ui/.
 *
 * The UI shows sessions and incidents while a capture runs or a file
 * replays.  It reads only session records (decode/record.h): the capture
 * thread posts them with ui_post_session(), which copies what the UI shows
 * into the UI's own bounded model (ui/model.c), and the UI thread draws from
 * that copy.  Threading (decided in ui/model.c): two threads when the UI is
 * on, capture+decode+exports on one, the terminal on the other; the entry
 * points marked thread-safe below are the only ones the capture thread may
 * call.
 *
 * Deliberately not here: anything about pcap, flows or the decoder; writing
 * reports or pcaps (the caller passes those as struct ui_actions); printing
 * anything outside the terminal screen.  Errors come back as -1 with a
 * one-line message in err, never printed.
 */
#ifndef SMTPSCOPE_UI_H
#define SMTPSCOPE_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/record.h"

struct ui;

struct ui_stats {		/* posted by the capture thread */
	uint64_t packets, bytes, kernel_drops, sessions_total, sessions_open;
	uint64_t file_bytes_total, file_bytes_read;	/* progress; 0 total = live */
	uint64_t first_ts_us, last_ts_us;		/* capture time span */
	bool finished;					/* end of input reached */
	bool iface_away;		/* live: the interface went away, retried */
};

struct ui_actions {		/* called on the UI thread; may be NULL */
	void *arg;
	int (*write_report)(void *arg, const char *path, char *err, size_t errlen);
	int (*write_pcap)(void *arg, const char *path, char *err, size_t errlen);
};

struct ui_config {
	const char *source;	/* "eth0" or "file.pcap" */
	const char *filter;	/* BPF expression or NULL */
	bool is_file;
	double speed;		/* 0: as fast as possible; 1.0: capture's pace; 2.0 twice */
	bool mono;		/* force monochrome */
	size_t max_sessions;	/* rows kept (oldest finished dropped first), default 500000 */
	size_t max_bytes;	/* or: the rows' memory, in bytes (0: by max_sessions) */
	struct ui_actions actions;
};

#define UI_DEFAULT_MAX_SESSIONS 500000

/* The model only, no terminal yet.  The config's strings are copied. */
struct ui *ui_new(const struct ui_config *, char *err, size_t errlen);
/* initscr etc. on the calling (UI) thread; fails when there is no terminal. */
int ui_start(struct ui *, char *err, size_t errlen);

/* Thread-safe, called from the capture thread: */
/* Copies what it shows (rows keyed by rec->uid: update in place).  ended:
 * the session is over (its row may be evicted first when the cap is hit). */
void ui_post_session(struct ui *, const struct sess_record *, bool ended);
void ui_post_stats(struct ui *, const struct ui_stats *);
/*
 * Replay pacing for the capture thread: blocks while paused (until unpaused
 * or quit); returns false when the user quit.  Given the next packet's
 * capture timestamp, sleeps as the speed factor demands (not at all at
 * speed 0).
 */
bool ui_pace(struct ui *, uint64_t pkt_ts_us);
bool ui_quit_requested(struct ui *);

/* UI thread: draw if the model changed and handle keys; returns 0 when the
 * user quits (-1 if the UI was never started). */
int ui_run(struct ui *);
/* Ask ui_run() to return (thread-safe; e.g. from a signal-driven flag check). */
void ui_request_quit(struct ui *);
void ui_stop(struct ui *);	/* endwin */
void ui_free(struct ui *);
/* The curses library's version ("ncurses 6.4.20221231"), for --version. */
const char *ui_lib_version(void);

#endif
