/*
 * cli.h - what main (smtpscope.c) shares with the files that do its
 * user-facing jobs: the exit codes, the one way to print a message, the
 * clocks, and the entry points of the command line (options.c), --probe
 * (probe.c), the statistics and summary printer (summary.c) and the
 * privilege drop (privs.c).
 *
 * cli/ is the program's own layer above the three libraries: like
 * smtpscope.c, its files may include capture/capture.h, decode/smtp.h,
 * decode/export.h and ui/ui.h, never a private header (make check-layers).
 * They print and pick exit codes; the libraries never do.
 */
#ifndef SMTPSCOPE_CLI_H
#define SMTPSCOPE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/capture.h"
#include "decode/export.h"
#include "decode/smtp.h"

/* Exit codes (documented in smtpscope.1). */
enum {
	EX_OK_ = 0,		/* success, including a clean stop on SIGINT/SIGTERM */
	EX_INPUT_ = 1,		/* capture could not be opened or read */
	EX_USAGE_ = 2,		/* bad command line or filter */
	EX_OUTPUT_ = 3,		/* an output could not be written completely */
	EX_PROBE_ = 4		/* --probe: connection refused, timed out or failed */
};

/* "smtpscope: <message>" on standard error, after flushing stdout. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Microseconds: monotonic (for durations), and since the epoch. */
uint64_t cli_mono_us(void);
uint64_t cli_wall_us(void);
/* Is fd a terminal whose locale ($LANG, $LC_ALL) is UTF-8?  Then wire
 * text may show valid UTF-8 as itself (escape.h ESC_UTF8). */
bool cli_utf8_terminal(int fd);
/* "17 B", "1.2 KiB", "118 MiB" (powers of 1024, so named). */
void cli_fmt_bytes(char *buf, size_t len, uint64_t n);

/* ----------------------------------------------------------- options.c */

#define CLI_MAX_REPORTS 8	/* --report may be given this many times */
#define CLI_MAX_KEYLOGS 16	/* --tls-keylog likewise */

/* The command line, parsed. */
struct cli_opts {
	struct cap_config cap;
	struct smtp_limits smtp;
	char *filter;
	const char *json, *pcap_out, *dump_dir, *probe, *user, *filter_file;
	const char *require, *ehlo, *probe_source;	/* --probe's */
	bool probe_starttls;				/* --starttls */
	bool probe_tls;					/* --tls */
	const char *reports[CLI_MAX_REPORTS];
	int nreports;
	const char *keylogs[CLI_MAX_KEYLOGS];	/* --tls-keylog */
	int nkeylogs;
	bool batch, syslog, mono, no_progress, line_buffered, trace_states;
	int verbose;		/* -q: -1, -v: 1, -vv: 2 */
	char ports_text[64];	/* the kept ports as given, for messages */
	int tstamp;		/* how many -t */
	int probe_timeout_ms;	/* --probe-timeout */
	size_t ui_max_bytes;	/* --max-ui-memory, in bytes; 0: the default rows */
	double speed;
	uint64_t count;
};
/* Defaults, then the command line; returns -1 to exit with *rc (after a
 * message, or after -h, -D, --version with *rc 0). */
int cli_parse_options(int argc, char **argv, struct cli_opts *, int *rc);
/* After a bad filter: "did you mean -P ...?" when it looks like ports. */
void cli_filter_hint(const struct cli_opts *);
/* -t counted, as tcpdump counts it. */
enum batch_ts cli_batch_ts(int n);

/* ------------------------------------------------------------- privs.c */

/*
 * As root: become -Z user (NULL: "nobody"; "root": stay), giving mydir
 * (a directory smtpscope made, or NULL) to that user first.  as[] gets the
 * user's name, "" when nothing changed.  0, or -1 after a message.
 */
int cli_drop_privileges(const char *user, const char *mydir, char *as, size_t aslen);

/* ----------------------------------------------------------- summary.c */

/* The decoder's figures for the summary, summed over finished sessions. */
#define SUMMARY_SILENT_SERVERS 16
struct summary {
	uint64_t sessions;
	struct inc_tally by_type;	/* incidents by type */
	uint64_t san[SAN_MAX];		/* decoder anomalies */
	uint64_t cut_caps, cut_tx, cut_rcpts, cut_lines;	/* caps hit */
	/* Flows that ended without a payload byte (no session was made):
	 * how many, how many the server never answered (half-open: a SYN
	 * flood, a scan), and by server, the first SUMMARY_SILENT_SERVERS
	 * servers seen and the rest together. */
	uint64_t silent, silent_unanswered, silent_other;
	struct {
		int family;
		uint8_t ip[16];
		uint64_t n;
	} silent_by[SUMMARY_SILENT_SERVERS];
	size_t nsilent_by;
	/* TLS sessions (STARTTLS or implicit) by what decryption made of
	 * them, records that failed authentication, and the key logs. */
	uint64_t tls, tls_dec[TD_UNSUPPORTED + 1], tls_bad_records;
	bool keylog;		/* decryption was on */
	struct smtp_keylog_stats kl;
};
void summary_add(struct summary *, const struct sess_record *);
/* A flow that ended without payload, to server ip; answered: the server
 * sent a packet. */
void summary_silent(struct summary *, int family, const uint8_t ip[16],
    bool answered);
/* "stats: ..." (final: "summary: ..."), with the capture's counters. */
void summary_print(FILE *, const struct summary *, struct cap *,
    const char *ports_text, uint64_t sessions_open, bool final);
/* The progress bar on stderr while files are read; done erases it. */
void summary_progress(struct cap *, uint64_t now_us, uint64_t start_us, bool done);

/* ------------------------------------------------------------- probe.c */

struct probe_opts {
	const char *target;		/* "host", "host:port", "[v6]:port" */
	int timeout_ms;			/* connect, and each reply */
	const char *json;		/* --json path, "-" or NULL */
	const struct smtp_limits *limits;
	const char *require;		/* --require "8BITMIME,SMTPUTF8", or NULL */
	const char *ehlo;		/* --ehlo NAME, or NULL: this host's name */
	const char *source;		/* --probe-source ADDR, or NULL */
	bool starttls;			/* --starttls: upgrade, EHLO again */
	bool implicit_tls;		/* --tls: TLS from the first byte (port 465) */
};
/* Connect, EHLO, QUIT, print the verdict; returns the exit code (with
 * require, the monitoring-plugin one: 0 OK, 1 WARNING, 2 CRITICAL, 3
 * UNKNOWN). */
int probe_run(const struct probe_opts *);

#endif
