/*
 * export.h - writing session and incident records out: JSON Lines, batch
 * lines, and whole-run reports in text, Markdown, JSON or CSV.
 *
 * The writers are pure functions of records (record.h) to a FILE *: they
 * read records, never keep pointers into them, and return 0, or -1 when the
 * stream is in error (ferror).  Every wire string goes through escape.h.
 * The report accumulator (struct report) copies the little it keeps from
 * each finished session and has bounded memory whatever the run's length.
 *
 * Times: JSON carries epoch seconds as a number with exactly six decimals
 * (1795860001.123456), as Zeek does, printed from the integer microseconds
 * so no float rounding touches them.  Reports and the CSV ts column print
 * UTC and say so ("2026-11-28T10:00:01.123456Z" in CSV); batch text prints
 * local time, as tcpdump does (TZ applies), and its summary names the zone.
 *
 * JSON Lines schema (export_json_session), one object per session, keys in
 * this order (the order of the field tables in fields.h, which define it); absent strings are null, codes that were never seen are null:
 *   uid, ts_start, ts_end, client_ip, client_port, server_ip, server_port,
 *   packets {client, server}, bytes {client, server},
 *   banner_code, banner, helo, ehlo (EHLO accepted), helo_fallback,
 *   capabilities [..], capabilities_dropped, size_limit (null if none),
 *   tls (STARTTLS accepted), starttls_reply_code,
 *   tls_handshake (null when no TLS record was seen) {client_hello,
 *     offered_max, offered_min ("TLS 1.2"..., the number when unknown),
 *     suites_offered, sni, alpn, server_hello, version, cipher
 *     ("TLS_AES_256_GCM_SHA384"... or the number), alert
 *     ("handshake_failure"... of the first cleartext alert), alert_from
 *     ("client"/"server"), alert_level ("fatal"/"warning"), records
 *     {client, server}, app_records {client, server}, app_bytes {client,
 *     server}, client_plaintext {first, largest_after_first,
 *     records_after_first} (AEAD suites; else null), certificate {subject,
 *     issuer, names, not_before, not_after, self_signed} (TLS 1.2 and
 *     older; else null)}, auth (mechanism used),
 *   auth_reply_code,
 *   transactions [{ts, mail_from, mail_params, mail_reply_code, body
 *     ("7BIT".. or null), size (null if absent), smtputf8, rcpt_to [..],
 *     rcpt_replies [code|null, parallel to rcpt_to], rcpts_dropped, data,
 *     data_reply_code, bdat, bdat_chunks, data_bytes, content_complete,
 *     eightbit, eightbit_bytes, first_8bit_offset (null if none), bare_lf,
 *     nul, content_transfer_encoding, charset, content_type, reply_code,
 *     reply_enhanced ("5.6.1" or null), reply_text, queue_id (from the
 *     final reply), message_id, subject, header_from, header_to (the first
 *     of each in the top-level header, as sent)}], transactions_dropped,
 *   commands, verbs [the first 64 verbs in order: "EHLO", "MAIL", ...],
 *   verbs_dropped, replies, last_reply_code, last_reply_text, end, state,
 *   mid_stream, gap, one_sided, kernel_drops, overlap_conflict,
 *   anomalies {name: count, only non-zero}, transcript_lines,
 *   transcript_dropped,
 *   incidents [{type, severity, confidence, summary, diagnosis, fix, rfc,
 *     visibility, evidence [{ts, pkt, dir ("C", "S", "note"), line,
 *     truncated}]}].
 * The transcript itself is not exported here (it is in the evidence).
 */
#ifndef SMTPSCOPE_EXPORT_H
#define SMTPSCOPE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fields.h"
#include "record.h"

/* ------------------------------------------------------------------------
 * Per session
 * --------------------------------------------------------------------- */

/* One JSON object on one line, then '\n'. */
int export_json_session(FILE *, const struct sess_record *);

/*
 * How batch text shows times, as tcpdump's -t options do.  Batch text is in
 * local time (TZ applies); the summary names the zone.
 */
enum batch_ts {
	BATCH_TS_LOCAL,		/* default and -tttt: "2026-11-28 10:00:01.123" */
	BATCH_TS_NONE,		/* -t: no time */
	BATCH_TS_EPOCH,		/* -tt: "1795860001.123456" */
	BATCH_TS_DELTA,		/* -ttt: "+0.004210" since the previous session */
	BATCH_TS_SINCE_FIRST	/* -ttttt: "+12.004210" since the first session */
};

/*
 * Batch text options.  verbose: -1 (-q) one line per incident and no
 * session lines; 0 the session line and a block per incident; 1 (-v) also
 * the transcript of sessions with incidents; 2 (-vv) the transcript of
 * every session.  first_us and prev_us are the writer's own state for the
 * relative time styles: start them at 0.
 */
struct cause_set;
struct batch_opts {
	bool color;		/* ANSI colours by severity */
	enum batch_ts ts;
	int verbose;
	uint64_t first_us, prev_us;
	/* When set, incidents are grouped by cause (cause.h): the first of a
	 * cause is printed in full, the next ones as one line. */
	struct cause_set *causes;
	/* Extra escape.h flags for wire text: ESC_UTF8 on a UTF-8 terminal. */
	int esc;
};

/*
 * Everything batch mode prints for one finished session, by o->verbose:
 * export_batch_line(), export_batch_incident() per incident (or one line
 * each with -q) and the transcript.  o may not be NULL (it holds state).
 */
int export_batch_session(FILE *, const struct sess_record *, struct batch_opts *o);
/* The causes of the run, one short block each (with o->causes, at the
 * end): the cause, its counts, peers and refused addresses. */
int export_batch_causes(FILE *, const struct batch_opts *o);
/* A cause's peers and its refused addresses as text, for batch mode and
 * the reports: " 192.0.2.1 x3, ..., others x2" and " 550 5.1.1 RCPT
 * TO:<a@b> x24, ..."; put writes a wire string escaped for the output. */
struct cause;
typedef void (*export_put_fn)(FILE *, const char *, size_t);
void export_cause_peers(FILE *, const struct cause *);
void export_cause_refusals(FILE *, const struct cause *, export_put_fn put);

/*
 * One readable line per finished session (batch mode, -b), e.g.
 * 2026-11-28 10:00:01.123 127.0.0.10:37331 -> 127.0.0.31:25 \
 *   helo=iis-smtp.contoso.test ehlo caps=9 (no 8BITMIME) tx=0 end=quit \
 *   last=221 state=aborted [8bitmime-abort]
 * Wire strings are text-escaped with spaces escaped too, so every token is
 * one word.  o NULL: no colour, local time.
 */
int export_batch_line(FILE *, const struct sess_record *, const struct batch_opts *o);

/*
 * A readable block for one incident: a header line (severity, type,
 * confidence, uid, hosts), then summary, diagnosis, fix, rfc, visibility and
 * the evidence lines "  2026-11-28 10:00:01.123456 #4 S: 250-8BITMIME",
 * escaped, then an empty line.
 */
int export_batch_incident(FILE *, const struct sess_record *,
    const struct incident *, const struct batch_opts *o);

/* One incident as a JSON object (no newline): the element of "incidents". */
int export_json_incident(FILE *, const struct incident *);

/*
 * One member "name":value of a JSON object from a row of the field tables
 * (fields.h) read from rec, the row's kind of record; a comma first unless
 * *first, which is then cleared.  Nested rows are written whole.  Errors
 * latch in the stream.
 */
void export_json_field(FILE *, bool *first, const struct rec_field *,
    const void *rec);

/*
 * CSV, one row per incident (RFC 4180, CRLF line ends, formula-guarded; see
 * escape.h).  Columns: ts (the incident's first evidence line, else the
 * session start; ISO 8601 UTC), uid, type, severity, confidence, client_ip,
 * client_port, server_ip, server_port, helo, reply_code, reply_enhanced,
 * reply_text (the reply that refused: the incident's first 4xx/5xx
 * evidence line, else the session's decisive reply), mail_from, rcpt_to
 * (space-separated), queue_id, message_id, subject (of the decisive
 * transaction), summary, diagnosis, fix, rfc, visibility.  Every column is a row of the field tables (fields.h) but ts,
 * which needs the incident and its session.
 */
int export_csv_header(FILE *);
int export_csv_incidents(FILE *, const struct sess_record *);
/* The columns' rows, in order, into out[max]; returns how many there are. */
size_t export_csv_columns(const struct rec_field **out, size_t max);

/* ------------------------------------------------------------------------
 * Formatting helpers, shared with the UI
 * --------------------------------------------------------------------- */

/* Timestamp styles for export_fmt_time(). */
enum ts_style {
	TS_EPOCH,	/* "1795860001.123456" */
	TS_ISO,		/* "2026-11-28T10:00:01.123456Z" */
	TS_READABLE,	/* "2026-11-28 10:00:01.123456" (UTC) */
	TS_MILLI,	/* "2026-11-28 10:00:01.123" (UTC) */
	TS_LOCAL,	/* "2026-11-28 11:00:01.123456" (local time, TZ) */
	TS_LOCAL_MILLI	/* "2026-11-28 11:00:01.123" (local time, TZ) */
};
#define EXPORT_TS_SIZE 40
/* Format microseconds since the epoch, in UTC or local time.  Returns dst. */
char *export_fmt_time(char *dst, size_t size, uint64_t ts_us, enum ts_style);
/* The local zone at ts_us, for labels: "UTC+01:00 (CET)".  Returns dst. */
char *export_fmt_zone(char *dst, size_t size, uint64_t ts_us);

/* The decimal digits of v, written backwards so that they end just
 * before end (which has EXPORT_U64_SIZE octets of room before it);
 * returns where they start.  Every writer's numbers, without printf. */
#define EXPORT_U64_SIZE 20
static inline char *
export_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

#define EXPORT_ADDR_SIZE 56	/* "[v6 address]:port" */
/* "192.0.2.1" (port 0 omitted: -1) or "192.0.2.1:25" / "[2001:db8::1]:25".
 * ip holds 16 bytes; IPv4 uses the first 4.  Returns dst. */
char *export_fmt_addr(char *dst, size_t size, int family, const uint8_t *ip,
    int port);

/* ------------------------------------------------------------------------
 * Whole-run reports
 * --------------------------------------------------------------------- */

/* A name and a count, for tables the caller owns (anomalies by name). */
struct run_count {
	const char *name;
	uint64_t count;
};

/*
 * What the rest of the program knows about the run, handed in by the
 * caller at write time.  Layer-neutral on purpose: decode/ does not know
 * the capture layer; smtpscope.c fills this from it.  Any pointer may be
 * NULL with its count 0.
 */
struct run_stats {
	const char *source;		/* "file x.pcap", "interface eth0" */
	uint64_t first_ts_us, last_ts_us;	/* 0: unknown */
	uint64_t packets, bytes;
	bool have_kernel;		/* live capture: kernel_drops is valid */
	uint64_t kernel_drops;
	uint64_t sessions;		/* sessions (flows) the capture opened */
	uint64_t open_sessions;		/* still open at the end */
	uint64_t silent_flows;		/* flows that ended without payload (no session) */
	uint64_t half_open;		/* of them, the server never answered */
	/* TLS sessions (STARTTLS or implicit) and, when a key log was in
	 * use (tls_keys), what decryption made of them. */
	uint64_t tls_sessions;
	bool tls_keys;
	uint64_t tls_decrypted, tls_no_key, tls_failed, tls_unsupported;
	uint64_t tls_bad_records;	/* records that failed authentication */
	const char *const *limits_hit;	/* readable, e.g. "flow table full (3 evicted)" */
	size_t nlimits;
	const struct run_count *anomalies;	/* capture anomalies, by name */
	size_t nanomalies;
};

/*
 * A report groups incidents by root cause (cause.h): the type and the host
 * that must change, with its peers, refused addresses, session uids and one
 * example; past CAUSE_MAX causes, incidents of new causes are only counted
 * (causes_dropped) and still appear in the per-type totals.
 */
enum report_format { REPORT_TXT, REPORT_MD, REPORT_JSON, REPORT_CSV };

struct report;

/*
 * Start a report to be written to path; the format comes from the
 * extension: .txt, .md, .json, .csv (case-insensitive).  The file is
 * opened (created, or emptied) now, so call this before giving up
 * privileges: the rest goes through the open descriptor.  A CSV report
 * streams one row per incident into it as sessions are added, so its
 * memory stays flat.  NULL on error (unknown extension, cannot create, not
 * a regular file, no memory) with a message in errbuf.
 */
struct report *report_new(const char *path, char *errbuf, size_t errlen);
enum report_format report_format(const struct report *);
/* Take what the report needs from a finished session. */
void report_add(struct report *, const struct sess_record *);
/*
 * Write the report into the file report_new() opened, then flush, fsync
 * and close it, every step checked.  On error returns -1 with a message in
 * errbuf, and the file is emptied (removed if report_new created it).  A report is written once; it is
 * still to be freed.  stats may be NULL.
 */
int report_write(struct report *, const struct run_stats *, char *errbuf,
    size_t errlen);
/*
 * Write what has been added so far to path (.txt, .md or .json; a CSV
 * report lists every incident and exists only as report_new's streaming
 * form) through a temp file renamed into place, so a reader never sees half
 * of one; may be called any number of times, e.g. from the UI's "write
 * report" key.  report_new(NULL, ...) makes an
 * accumulator for this use only (report_write() then fails).
 */
int report_snapshot(struct report *, const char *path, const struct run_stats *,
    char *errbuf, size_t errlen);
/* Is the report's path no longer its file (moved or removed: logrotate)?
 * Then the caller may write it (report_write) and start a new one there. */
bool report_moved(const struct report *);
/* Free; removes the file of a report that report_new() created and that
 * was never written (a run that failed to start leaves nothing behind). */
void report_free(struct report *);

#endif
