/*
 * smtp.h - the SMTP decoder's public interface.
 *
 * decode/ turns the two byte streams of a TCP session into a session record
 * (decode/record.h) and runs the incident rules (INCIDENTS.md) over it.  It
 * knows nothing of pcap or ncurses: bytes come in with positions in its own
 * types, records go out through a sink.
 *
 * A struct smtp_ctx is one run: limits, the sink, and a bounded memory of
 * clients seen across sessions (used to tell a monitoring probe from a
 * sender that aborts).  A struct smtp_session is one TCP session.
 *
 * Feeding is incremental: smtp_feed() accepts any split of the stream, down
 * to one byte at a time, and never needs more than one capped line buffer
 * per direction.  smtp_end() finishes the record, runs the rules, hands the
 * record to the sink's session_end and frees the session (or leaves that
 * to smtp_release(), for a sink that writes records on another thread).
 */
#ifndef SMTPSCOPE_SMTP_H
#define SMTPSCOPE_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct smtp_limits {
	size_t max_line;	/* longest line kept, default 4096 (RFC: 512) */
	size_t max_lines;	/* transcript lines kept per session, default 200 */
	size_t max_queue;	/* outstanding pipelined commands, default 128 */
	size_t max_rcpts;	/* recipients kept per transaction, default 64 */
	size_t max_hosts;	/* clients remembered across sessions, default 4096 */
	unsigned update_ms;	/* min interval between session_update calls, default 250 */
};

struct smtp_sink {
	void *arg;
	/* A running session changed (throttled; may be NULL). */
	void (*session_update)(void *arg, const struct sess_record *);
	/* A session ended; its incidents are in rec->inc. */
	void (*session_end)(void *arg, const struct sess_record *);
	/* The sink keeps each ended record after session_end returns (to
	 * write it on another thread): the record stays valid, unchanged,
	 * until smtp_release(). */
	bool keep_ended;
	/* The session's state machine moved from one named state to another,
	 * and why (may be NULL; smtpscope --trace-states).  rec is the record
	 * as it stands, not rebuilt: read its uid and addresses only. */
	void (*state_change)(void *arg, const struct sess_record *,
	    const char *from, const char *to, const char *why);
	/* Decrypted TLS application data of one direction, as it is
	 * decoded (may be NULL; --dump-streams). */
	void (*tls_plaintext)(void *arg, const struct sess_record *, enum xdir,
	    const uint8_t *, size_t);
};

/* Who talks in a session, from the capture layer's flow. */
struct smtp_peers {
	uint64_t flow_id;
	int family;		/* AF_INET or AF_INET6 */
	uint8_t client_ip[16], server_ip[16];
	uint16_t client_port, server_port;
	bool mid_stream;	/* no handshake seen */
	bool implicit_tls;	/* TLS from the first byte (port 465, RFC 8314) */
	uint64_t ts_us;		/* first packet */
	uint64_t pkt;
};

/* Where in the capture bytes came from. */
struct smtp_pos {
	uint64_t ts_us;
	uint64_t pkt;
	/* Data only: how many bytes of the other direction the packet had
	 * acknowledged, when the capture layer knows (its ACK number). */
	bool peer_ack_known;
	uint64_t peer_acked;
};

/* Counters from the capture layer at the end. */
struct smtp_end_info {
	enum sess_end reason;
	uint64_t packets[2], bytes[2];	/* [XDIR_CLIENT], [XDIR_SERVER] */
	bool kernel_drops;		/* the kernel dropped packets meanwhile */
	bool overlap_conflict;		/* TCP overlap with different data */
};

struct smtp_ctx;
struct smtp_session;

void smtp_limits_init(struct smtp_limits *);
struct smtp_ctx *smtp_ctx_new(const struct smtp_limits *, const struct smtp_sink *);
void smtp_ctx_free(struct smtp_ctx *);

struct smtp_session *smtp_session_new(struct smtp_ctx *, const struct smtp_peers *);
/* dir: XDIR_CLIENT or XDIR_SERVER. */
void smtp_feed(struct smtp_session *, enum xdir, const uint8_t *, size_t,
    const struct smtp_pos *);
/* len bytes of one direction are missing; resynchronise on the next line. */
void smtp_gap(struct smtp_session *, enum xdir, uint64_t len, const struct smtp_pos *);
/* Finish, run the rules, emit session_end, free the session (unless the
 * sink keeps it: keep_ended). */
void smtp_end(struct smtp_session *, const struct smtp_end_info *,
    const struct smtp_pos *);
/* Free a session whose record the sink kept.  On the thread that feeds
 * the context, before smtp_ctx_free(). */
void smtp_release(struct smtp_ctx *, const struct sess_record *);
/* The current record (for tests and the probe); valid until the next call. */
const struct sess_record *smtp_record(struct smtp_session *);

/*
 * TLS key logs (SSLKEYLOGFILE, the NSS key log format): with one, the
 * decoder decrypts TLS after STARTTLS (and implicit TLS, smtp_peers.
 * implicit_tls) and decodes the SMTP inside like cleartext.  Secrets stay
 * inside decode/: never printed, wiped when freed.
 */
#define KEYLOG_MAX_ENTRIES	65536	/* client randoms held, oldest forgotten */
struct smtp_keylog;
struct smtp_keylog_stats {
	uint64_t lines;		/* lines read (not comments or blank) */
	uint64_t secrets;	/* of them, secrets kept */
	uint64_t other;		/* labels with nothing to decrypt (exporter...) */
	uint64_t bad;		/* malformed lines, skipped */
	uint64_t randoms;	/* client randoms learnt */
	uint64_t forgotten;	/* ... forgotten to stay under the cap */
	uint64_t held;		/* ... held now */
};
struct smtp_keylog *smtp_keylog_new(size_t max_entries);	/* 0: default */
/* Read path and keep it open, to read again as it grows (open it before
 * dropping privileges).  0, or -1 with errno. */
int smtp_keylog_open(struct smtp_keylog *, const char *path);
/* Key log text from elsewhere (a pcapng Decryption Secrets Block). */
void smtp_keylog_text(struct smtp_keylog *, const uint8_t *, size_t);
/* Read what the files gained (now: even if read less than 50 ms ago). */
void smtp_keylog_poll(struct smtp_keylog *, bool now);
void smtp_keylog_stats(const struct smtp_keylog *, struct smtp_keylog_stats *);
void smtp_keylog_free(struct smtp_keylog *);
/* Decrypt with k (not owned; NULL: no decryption) from now on. */
void smtp_ctx_keylog(struct smtp_ctx *, struct smtp_keylog *k);

#endif
