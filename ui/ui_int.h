/*
 * ui_int.h - declarations shared by the files of ui/ only (and ui unit tests).
 *
 * Three parts: the model (model.c: the bounded store the capture thread
 * posts into and the UI thread reads from, under the only lock in the
 * program), the drawing primitives (draw.c: the only code that puts text on
 * the screen), and the panels (ui_*.c: one screen each, with a small
 * vtable, driven by one key-action table in ui_help.c).
 *
 * Deliberately not here: ncurses types in the model part, so the model and
 * its unit test need no terminal.
 */
#ifndef SMTPSCOPE_UI_INT_H
#define SMTPSCOPE_UI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/fields.h"
#include "decode/record.h"
#include "ui/ui.h"

/* ------------------------------------------------------------------------
 * Model (model.c)
 * --------------------------------------------------------------------- */

/* Sizes of the escaped strings a row keeps (including the NUL). */
#define UI_UID_MAX	20
#define UI_ADDR_MAX	46	/* INET6_ADDRSTRLEN */
#define UI_HELO_MAX	40
#define UI_REPLY_MAX	48
#define UI_MAIL_MAX	40
#define UI_TYPE_MAX	32

/* Caps of the model (documented in model.c). */
#define UI_MAX_TYPES		64	/* incident types in a summary (>= INC_MAX) */
#define UI_MAX_GROUPS		4096	/* incident groups (type, client, server) */
#define UI_DETAIL_RECENT	2000	/* details kept for sessions without incidents */
#define UI_DETAIL_FLAGGED	20000	/* details kept for sessions with incidents */
#define UI_DETAIL_BYTES		(128u * 1024 * 1024)	/* all details together */
#define UI_DETAIL_LINES		400	/* transcript lines per detail */
#define UI_DETAIL_LINE_MAX	1024	/* escaped bytes per transcript line */
#define UI_DETAIL_TEXT_MAX	4096	/* escaped bytes per incident paragraph */
#define UI_FILTER_MAX		128

/* What one list row shows: a plain copy, every string escaped ASCII. */
struct ui_rowdata {
	char uid[UI_UID_MAX];
	uint64_t seq;			/* order of first post (set by the model) */
	uint64_t ts_start_us, ts_end_us;
	char client[UI_ADDR_MAX], server[UI_ADDR_MAX];
	uint16_t client_port, server_port;
	char helo[UI_HELO_MAX];
	char reply[UI_REPLY_MAX];	/* the decisive reply: code and text */
	char server_name[UI_HELO_MAX];	/* from the banner, or "" */
	char mail_from[UI_MAIL_MAX];	/* first transaction's sender */
	char rcpt[UI_MAIL_MAX];		/* and its first recipient */
	char inc[UI_TYPE_MAX];		/* the most severe incident type, or "" */
	uint64_t inc_mask;		/* INC_BIT() of every type it raised */
	int last_reply_code;
	uint8_t state;			/* enum sess_state */
	uint8_t end;			/* enum sess_end */
	int8_t severity;		/* enum severity, -1 without incidents */
	bool ended;
	bool eightbit;			/* an incident of the 8-bit family */
	bool has_detail;		/* set on copy-out: the session view can open it */
	uint16_t ninc;
	uint32_t nmsgs;			/* transactions (MAIL commands) */
	uint64_t client_key, server_key;	/* numeric sort keys of the addresses */
};

/* The bounded copy the session view shows; immutable once built, shared by
 * reference count, freed as one block. */
struct ui_dline {
	uint64_t ts_us, pkt;
	uint8_t dir;			/* enum xdir */
	uint8_t flags;			/* XL_* */
	const char *text;		/* escaped */
};
struct ui_dtx {
	const char *mail_from, *first_rcpt, *reply;
	const char *queue_id, *message_id, *subject;	/* "" when not seen */
	uint32_t nrcpts, rcpts_ok;
	uint8_t body;			/* enum body_type */
	bool smtputf8, data_cmd, bdat, content_complete;
	int mail_reply_code, reply_code;
	uint64_t data_bytes, eightbit_bytes;
};
struct ui_dinc {
	const char *type, *summary, *diagnosis, *fix, *rfc, *visibility;
	uint8_t family;			/* enum inc_family */
	uint8_t severity, confidence;
	size_t nevidence;
	struct ui_dline *evidence;
};
struct ui_detail {
	int refs;			/* model lock */
	bool attached;			/* still owned by a row */
	bool flagged;			/* has incidents */
	size_t bytes;			/* size of the block */
	char uid[UI_UID_MAX];
	char client[UI_ADDR_MAX], server[UI_ADDR_MAX];
	uint16_t client_port, server_port;
	uint64_t ts_start_us, ts_end_us;
	uint64_t packets[2], bytes_dir[2];
	uint32_t flags;			/* SF_* */
	uint8_t state, end;
	int banner_code;
	const char *banner, *helo, *auth_mechs, *auth_used, *last_reply;
	bool ehlo, helo_fallback, starttls_cmd;
	int starttls_reply_code, auth_reply_code;
	/* TLS: what the server chose (0: no ServerHello seen), decryption */
	uint16_t tls_version, tls_suite;
	uint8_t tls_dec;		/* enum tls_dec */
	uint32_t capflags, capflags_ever;
	uint64_t size_limit;
	size_t ncaps, caps_dropped;
	const char **caps;
	size_t ntx, tx_dropped;
	struct ui_dtx *tx;
	size_t nlines, lines_dropped;	/* dropped: by the decoder and by us */
	struct ui_dline *lines;
	size_t ninc;
	struct ui_dinc *inc;
	uint32_t anomalies[SAN_MAX];
};

/* One cause: an incident type and the host that must change for it
 * (decode/cause.h's key), with its counts. */
#define UI_GROUP_PEERS	64	/* distinct peers counted per cause */
struct ui_group {
	char type[UI_TYPE_MAX];
	uint8_t kind;			/* enum inc_type */
	uint8_t family;			/* enum inc_family */
	uint8_t side;			/* enum inc_side */
	int8_t severity;
	char host[UI_ADDR_MAX];		/* the host's address */
	uint16_t port;			/* a server's port, 0 for a client */
	char name[UI_HELO_MAX];		/* its banner name or HELO, escaped */
	uint32_t npeers;		/* distinct peers (up to UI_GROUP_PEERS) */
	bool peers_more;		/* more than that */
	uint64_t count, first_us, last_us;
	char example_uid[UI_UID_MAX];	/* the most recent session */
};

struct ui_typecount {
	char type[UI_TYPE_MAX];
	uint8_t family;			/* enum inc_family */
	int8_t severity;
	uint64_t count;
};
_Static_assert(INC_MAX <= UI_MAX_TYPES, "the summary has room for every incident type");

/* Everything the header shows, copied in one go. */
struct ui_summary {
	struct ui_stats stats;
	bool have_stats;
	uint64_t rows, rows_open, rows_posted, rows_evicted;
	uint64_t details, details_dropped;
	uint64_t incidents, groups_dropped;
	size_t ntypes;
	struct ui_typecount types[UI_MAX_TYPES];
	uint64_t gen;			/* changes on every post */
	bool paused;
	double speed;
};

enum ui_sort {
	SORT_TIME = 0, SORT_SEVERITY, SORT_CLIENT, SORT_SERVER, SORT_HELO,
	SORT_STATE, SORT_INCIDENT, SORT_MSGS, SORT_MAX
};
const char *ui_sort_name(enum ui_sort);

struct ui_view {
	char text[UI_FILTER_MAX];	/* case-insensitive substring, "" = all */
	bool incidents_only;
	/* The sessions of one cause (the incidents view's Enter): */
	bool cause;
	uint8_t cause_kind, cause_side;
	char cause_host[UI_ADDR_MAX];
	uint16_t cause_port;
	enum ui_sort sort;
	bool descending;
};

struct model;
struct model *model_new(size_t max_rows, double speed, char *err, size_t errlen);
/* What one row costs: its struct and its share of the index (for a cap in
 * bytes). */
size_t model_row_bytes(void);
void model_free(struct model *);

/* Capture thread. */
void model_post_session(struct model *, const struct sess_record *, bool ended);
void model_post_stats(struct model *, const struct ui_stats *);
bool model_pace(struct model *, uint64_t ts_us);

/* UI thread. */
void model_set_view(struct model *, const struct ui_view *);
/* Rebuild the filtered, sorted index if anything changed (force: now,
 * otherwise throttled on big models).  Returns true if it was rebuilt. */
bool model_refresh(struct model *, bool force);
size_t model_count(const struct model *);	/* rows in the index */
/* Copy index rows [first, first + n) into out; returns how many. */
size_t model_rows(struct model *, size_t first, size_t n, struct ui_rowdata *out);
/* Position of a session in the index, or -1. */
long model_find(struct model *, const char *uid);
/* The detail of a session, referenced (release with model_detail_put), or
 * NULL; *known tells whether the session itself is still in the model. */
struct ui_detail *model_detail_get(struct model *, const char *uid, bool *known,
    uint64_t *version);
uint64_t model_row_version(struct model *, const char *uid);
void model_detail_put(struct model *, struct ui_detail *);
/* Copy up to max causes, sorted by severity, then count (descending). */
size_t model_groups(struct model *, struct ui_group *out, size_t max);
void model_summary(struct model *, struct ui_summary *);

void model_set_paused(struct model *, bool);
void model_set_speed(struct model *, double);
void model_quit(struct model *);
bool model_quitting(struct model *);

/* Names of enum values: record.h's name functions, with the UI's display
 * rules (fmt.c); column titles from decode/fields.h's labels. */
const char *ui_state_name(unsigned);
const char *ui_end_name(unsigned);
const char *ui_severity_name(int);
const char *ui_confidence_name(int);
const char *ui_body_name(unsigned);
const char *ui_cap_name(unsigned);
const char *ui_anomaly_name(unsigned);
const char *ui_field_label(enum sess_field);

/* Escape wire bytes to printable ASCII in dst[size] (decode/escape.h's
 * text form; cut at an escape boundary and marked with "..."). Returns the
 * length written.  The _work form takes a buffer of
 * 4 * min(len, size - 1) + 1 bytes. */
#define UI_ESCAPE_STACK 256
size_t ui_escape(char *dst, size_t size, const void *src, size_t len);
/* UTF-8 passes ui_escape() as itself (a UTF-8 terminal), or is escaped. */
void ui_set_utf8(bool);
bool ui_utf8(void);
/* Terminal columns of escaped text as draw.c shows it. */
int ui_text_cols(const char *);
/* Bytes of s (len bytes) that fit in cols columns, whole characters, at
 * least one character when len > 0. */
size_t ui_text_fit(const char *s, size_t len, int cols);
size_t ui_escape_work(char *dst, size_t size, const void *src, size_t len, char *work);

/* Format a capture timestamp: "HH:MM:SS", "HH:MM:SS.mmm", or a full date. */
enum ui_tsfmt { TS_HMS, TS_HMS_MS, TS_DATE };
void ui_fmt_ts(char *dst, size_t size, uint64_t ts_us, enum ui_tsfmt);

/* ------------------------------------------------------------------------
 * Drawing (draw.c) and panels (ui_*.c): ncurses side
 * --------------------------------------------------------------------- */

enum ui_role {
	R_NORMAL = 0, R_BAR, R_HEADER, R_COLTITLE, R_SEL, R_NOTICE, R_WARNING,
	R_ERROR, R_8BIT, R_CLIENT, R_SERVER, R_NOTE, R_CAP_OK, R_CAP_MISSING,
	R_SECTION, R_DIM, R_PROMPT, R_STATUS_ERR, R_MAX
};

struct ui_theme {
	bool color;
	unsigned attr[R_MAX];	/* attr_t values */
};
void theme_init(struct ui_theme *, bool mono);

/* Put already-escaped (or our own) text at (y, x), clipped to w columns
 * and to the screen; any byte that is not printable ASCII is drawn as '?'.
 * Returns the columns used. */
int draw_text(const struct ui_theme *, int y, int x, int w, enum ui_role, const char *);
int draw_textf(const struct ui_theme *, int y, int x, int w, enum ui_role,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void draw_fill(const struct ui_theme *, int y, int x, int w, enum ui_role);
unsigned draw_attr(const struct ui_theme *, enum ui_role);
/* Same, with an explicit attribute (a role's attr combined with A_REVERSE). */
int draw_text_attr(int y, int x, int w, unsigned attr, const char *);

/* Key actions, one table (ui_help.c) drives dispatch and the help screen. */
enum ui_action {
	ACT_NONE = 0, ACT_QUIT, ACT_HELP, ACT_BACK, ACT_REDRAW,
	ACT_UP, ACT_DOWN, ACT_PGUP, ACT_PGDN, ACT_HOME, ACT_END,
	ACT_OPEN, ACT_FILTER, ACT_CLEAR_FILTER, ACT_FLAGGED_ONLY,
	ACT_SORT_NEXT, ACT_SORT_REVERSE, ACT_INCIDENTS,
	ACT_PAUSE, ACT_FASTER, ACT_SLOWER, ACT_WRITE_REPORT, ACT_WRITE_PCAP,
	ACT_JUMP_TRANSCRIPT, ACT_JUMP_INCIDENTS, ACT_NEXT_SESSION, ACT_PREV_SESSION,
	ACT_MAX
};
enum ui_scope {
	SCOPE_GLOBAL = 0, SCOPE_MOVE, SCOPE_LIST, SCOPE_SESSION, SCOPE_INCIDENTS,
	SCOPE_MAX
};
enum ui_action ui_key_action(enum ui_scope, int key);

enum ui_panel_id { P_LIST = 0, P_SESSION, P_INCIDENTS, P_HELP, P_MAX };

struct ui_panel {
	const char *title;
	enum ui_scope scope;
	/* draw into rows [y, y + h) of the screen */
	void (*draw)(struct ui *, int y, int h);
	/* true if the panel handled the action */
	bool (*action)(struct ui *, enum ui_action);
};
extern const struct ui_panel ui_list_panel, ui_session_panel,
    ui_incidents_panel, ui_help_panel;

/* Prompt line (ui_filter.c): the filter, and paths for the write keys. */
enum ui_prompt_kind { PROMPT_NONE = 0, PROMPT_FILTER, PROMPT_REPORT, PROMPT_PCAP };
struct ui_prompt {
	enum ui_prompt_kind kind;
	char buf[256];
	size_t len;
	char saved[UI_FILTER_MAX];	/* filter text before editing (Esc) */
};

struct ui_list_state {
	size_t top, sel, page;
	char sel_uid[UI_UID_MAX];
	struct ui_rowdata *rows;	/* the screen's rows, copied from the model */
	size_t nrows, rows_cap;
};

struct ui_vline;
struct ui_session_state {
	char uid[UI_UID_MAX];
	struct ui_detail *d;		/* referenced, or NULL */
	bool known;			/* the row still exists */
	uint64_t version;
	struct ui_vline *lines;		/* rendered for width */
	size_t nlines, lines_cap;
	int width;			/* the width lines were rendered for */
	size_t top, page;
	size_t sec_incidents, sec_transcript;	/* section starts */
};

struct ui_incidents_state {
	struct ui_group *groups;
	size_t ngroups;
	size_t top, sel, page;
	uint64_t gen;			/* model generation of the copy */
};

struct ui_help_state {
	size_t top;
};

struct ui {
	struct ui_config cfg;
	char *source, *filter;		/* copies, raw */
	struct model *m;
	bool started, quit;
	struct ui_theme theme;

	enum ui_panel_id stack[8];
	int depth;

	struct ui_view view;
	struct ui_prompt prompt;
	struct ui_list_state list;
	struct ui_session_state sess;
	struct ui_incidents_state inc;
	struct ui_help_state help;
	struct ui_summary sum;

	char status[160];		/* one-line message of ours */
	bool status_err;
	uint64_t status_until;		/* monotonic ms */
	uint64_t start_ms;		/* monotonic, for the live clock */
	uint64_t rate_ms, rate_pkts;	/* packet rate window */
	double rate;
	bool dirty;
};

/* ui_main.c helpers the panels use */
void ui_push(struct ui *, enum ui_panel_id);
void ui_pop(struct ui *);
void ui_status(struct ui *, bool err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ui_open_session(struct ui *, const char *uid);
uint64_t ui_now_ms(void);

/* ui_filter.c */
void prompt_begin(struct ui *, enum ui_prompt_kind);
void prompt_key(struct ui *, int key);
void prompt_draw(struct ui *, int y);

/* ui_session.c */
void session_close(struct ui *);

#endif
