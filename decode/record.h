/*
 * record.h - the session and incident records that everyone else reads.
 *
 * The decoder (decode/smtp.h) builds one struct sess_record per TCP session
 * and hands it, const, to a sink: while the session runs (for the live view)
 * and once when it ends (for the exports).  Records are plain data: readers
 * never modify them, and a record is valid only during the sink call that
 * passes it; a reader copies what it keeps.
 *
 * Strings from the wire are struct wstr: raw bytes with a length, any octet
 * possible (NUL included), already capped in length by the decoder.  They
 * are never printed as they are: decode/escape.h escapes them for a
 * terminal, a text file, JSON or CSV.
 *
 * Every array has a cap; what a cap cut off is counted in a *_dropped field
 * so outputs can say so.
 */
#ifndef SMTPSCOPE_RECORD_H
#define SMTPSCOPE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Raw bytes from the wire.  p is NUL-terminated for convenience, but may
 * hold NULs inside: always use len.  p == NULL means "absent".  pooled is
 * the decoder's: p lies in its session's string pool, freed with the
 * session, never on its own. */
struct wstr {
	char *p;
	size_t len;
	bool pooled;
};

/* Direction of a transcript line or an event. */
enum xdir { XDIR_CLIENT = 0, XDIR_SERVER = 1, XDIR_NOTE = 2 };

/* One line of the transcript: a command, a reply line, or a note of ours
 * ("[DATA: 2773 bytes, 8-bit]", "[gap of 1460 bytes]", "[TLS from here]"). */
#define XL_TRUNCATED	0x01	/* the line was longer than stored */
#define XL_MASKED	0x02	/* AUTH data replaced by "********" */
#define XL_CONT		0x04	/* a continuation line of a multi-line reply */
struct xline {
	uint64_t ts_us;
	uint64_t pkt;		/* packet that completed the line */
	enum xdir dir;
	uint8_t flags;
	struct wstr text;	/* without CRLF */
};

/* EHLO capabilities that rules and views care about, as bits. */
#define SMTP_CAPS(X)                                   \
	X(8BITMIME, "8BITMIME")                         \
	X(PIPELINING, "PIPELINING")                     \
	X(SIZE, "SIZE")                                 \
	X(STARTTLS, "STARTTLS")                         \
	X(CHUNKING, "CHUNKING")                         \
	X(BINARYMIME, "BINARYMIME")                     \
	X(SMTPUTF8, "SMTPUTF8")                         \
	X(DSN, "DSN")                                   \
	X(ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES")   \
	X(AUTH, "AUTH")                                 \
	X(VRFY, "VRFY")                                 \
	X(ETRN, "ETRN")                                 \
	X(HELP, "HELP")
enum smtp_cap_bit {
#define REC_X_CAP(id, kw) CAPB_##id,
	SMTP_CAPS(REC_X_CAP)
#undef REC_X_CAP
	CAPB_MAX
};
#define CAPF(id) (1u << CAPB_##id)
_Static_assert(CAPB_MAX <= 32, "capflags and the other CAPF() sets are uint32_t");
const char *smtp_cap_name(enum smtp_cap_bit);

/* Anomalies the decoder counts per session.  X(id, name, description) */
#define SMTP_ANOMALIES(X)                                                      \
	X(LONG_CMD, "long-command", "command line over 512 octets")            \
	X(LONG_REPLY, "long-reply", "reply line over 512 octets")              \
	X(LONG_TEXT, "long-text-line", "message line over 1000 octets")        \
	X(LINE_CAP, "line-cap", "line longer than the buffer cap: cut")        \
	X(BARE_LF, "bare-lf", "line ended by LF without CR")                   \
	X(BARE_CR, "bare-cr", "CR not followed by LF")                         \
	X(NUL_BYTE, "nul-byte", "NUL octet in a command or reply")             \
	X(BAD_REPLY, "bad-reply", "server line that is not a reply")           \
	X(REPLY_CODE_CHANGE, "reply-code-change", "code changed inside a multi-line reply") \
	X(UNSOLICITED_REPLY, "unsolicited-reply", "reply with no outstanding command") \
	X(UNKNOWN_COMMAND, "unknown-command", "command not in RFC 5321 or its extensions") \
	X(PIPELINING_UNOFFERED, "pipelining-unoffered", "commands pipelined without the PIPELINING offer") \
	X(QUEUE_FULL, "queue-full", "too many outstanding commands")            \
	X(GAP, "gap", "bytes missing from the capture")                        \
	X(MID_STREAM, "mid-stream", "capture started inside the session")      \
	X(ONE_SIDED, "one-sided", "only one direction seen")                   \
	X(BDAT_MISMATCH, "bdat-mismatch", "BDAT size does not match the octets sent") \
	X(TRANSCRIPT_CAP, "transcript-cap", "transcript longer than kept")     \
	X(DATA_AFTER_QUIT, "data-after-quit", "bytes after QUIT")              \
	X(EARLY_TALKER, "early-talker", "client bytes before the greeting")

enum smtp_anomaly {
#define REC_X_AN(id, name, desc) SAN_##id,
	SMTP_ANOMALIES(REC_X_AN)
#undef REC_X_AN
	SAN_MAX
};
const char *smtp_anomaly_name(enum smtp_anomaly);
const char *smtp_anomaly_desc(enum smtp_anomaly);

/* How a session ended. */
#define SESS_ENDS(X)                                                   \
	X(OPEN, "open")		/* not ended yet (live updates) */       \
	X(QUIT, "quit")		/* QUIT sent (and normally 221) */       \
	X(CLOSE, "close")	/* FIN without QUIT */                   \
	X(RESET, "reset")	/* RST */                                \
	X(TIMEOUT, "timeout")	/* idle timeout */                       \
	X(EVICTED, "evicted")	/* flow table full */                    \
	X(EOF, "eof")		/* end of the capture file(s) */         \
	X(INTERRUPTED, "interrupted")	/* SIGINT/SIGTERM */
enum sess_end {
#define REC_X_END(id, name) SEND_##id,
	SESS_ENDS(REC_X_END)
#undef REC_X_END
	SEND_MAX
};
const char *sess_end_name(enum sess_end);

/* The one-word state a list shows. */
#define SESS_STATES(X)                                                 \
	X(OPEN, "open")                                                \
	X(DELIVERED, "delivered")	/* every message accepted */      \
	X(PARTIAL, "partial")		/* some accepted, some refused */ \
	X(REJECTED, "rejected")		/* a 5xx ended the attempt */     \
	X(DEFERRED, "deferred")		/* a 4xx ended the attempt */     \
	X(ABORTED, "aborted")		/* client gave up before MAIL */  \
	X(TLS, "tls")			/* went encrypted */              \
	X(NO_MAIL, "no-mail")		/* no transaction attempted */    \
	X(BROKEN, "broken")		/* reset or cut mid-transaction */
enum sess_state {
#define REC_X_ST(id, name) SST_##id,
	SESS_STATES(REC_X_ST)
#undef REC_X_ST
	SST_MAX
};
const char *sess_state_name(enum sess_state);

enum body_type { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME, BODY_BINARYMIME, BODY_OTHER };
const char *body_type_name(enum body_type);

/* An RFC 3463 enhanced status code; class 0 means none. */
struct enh_code {
	uint8_t cls;		/* 2, 4, 5 */
	uint16_t subject, detail;
};

struct rcpt_record {
	struct wstr addr;	/* between < and >, as sent */
	struct wstr params;	/* everything after the address */
	int reply_code;		/* 0: no reply seen */
	struct enh_code enh;
	struct wstr reply_text;	/* the (last) reply line after the code */
};

#define TX_MAX_RCPTS 64		/* the default of smtp_limits.max_rcpts */
struct tx_record {
	uint64_t ts_us, pkt;		/* when MAIL was sent */
	struct wstr mail_from;		/* between < and >, as sent */
	struct wstr mail_params;	/* everything after the address */
	enum body_type body;		/* BODY= */
	uint64_t size_param;		/* SIZE=, 0 if absent */
	bool smtputf8;			/* SMTPUTF8 parameter */
	bool dsn_params;		/* RET= or ENVID= (or NOTIFY=/ORCPT= on a RCPT) */
	int mail_reply_code;
	struct enh_code mail_enh;
	struct wstr mail_reply_text;
	struct rcpt_record *rcpts;
	size_t nrcpts, rcpts_dropped;
	/* The message.  Nothing of its content is kept but these facts. */
	bool data_cmd;			/* DATA was sent */
	int data_reply_code;		/* reply to DATA (354 expected) */
	bool bdat;			/* sent with BDAT */
	uint64_t bdat_chunks;
	bool content_seen;		/* message bytes were sent */
	bool content_complete;		/* end of data (or BDAT LAST) seen */
	uint64_t data_bytes;		/* octets between 354 and CRLF.CRLF, or BDAT sizes */
	uint64_t eightbit_bytes;	/* octets >= 0x80 */
	uint64_t first_8bit_off;	/* offset of the first, if any */
	uint64_t bare_lf;		/* bare LF or CR in the content */
	bool nul_seen;
	struct wstr cte;		/* top-level Content-Transfer-Encoding */
	struct wstr charset;		/* top-level charset= */
	struct wstr content_type;	/* top-level Content-Type (type/subtype) */
	int reply_code;			/* final reply to the message (0: none) */
	struct enh_code enh;
	struct wstr reply_text;
	uint64_t end_ts_us, end_pkt;	/* when the final reply came */
	/* For finding the message in the mail logs (absent when not seen):
	 * the server's queue id from its final reply, and the first
	 * Message-ID, Subject, From and To of the top-level header, as sent. */
	struct wstr queue_id;
	struct wstr message_id, subject, hdr_from, hdr_to;
};

/* What the cleartext part of a TLS handshake after STARTTLS showed
 * (tls.c).  Versions are the wire's 0x0303 (TLS 1.2), 0x0304 (TLS 1.3). */
enum tls_dec {
	TD_NONE = 0,		/* no key log, or nothing encrypted to read */
	TD_DECRYPTED,		/* records decrypted, the SMTP inside decoded */
	TD_NO_KEY,		/* the key log has no secret for the session */
	TD_FAILED,		/* secrets, but no record authenticated */
	TD_UNSUPPORTED,		/* a suite smtpscope does not decrypt (CBC...) */
};
const char *tls_dec_name(enum tls_dec);	/* "decrypted", "no-key"...; NULL for TD_NONE */

struct tls_seen {
	bool client_hello;		/* a ClientHello was parsed */
	bool versions_ext;		/* ... with supported_versions */
	uint16_t offered_max, offered_min;	/* the versions it offered */
	uint16_t nsuites;		/* cipher suites it offered */
	struct wstr sni;		/* server_name (host_name), as sent */
	struct wstr alpn;		/* the first ALPN protocol */
	bool server_hello;		/* a ServerHello was parsed */
	uint16_t version, suite;	/* what the server chose */
	bool alert;			/* the first alert sent in cleartext */
	enum xdir alert_from;
	uint8_t alert_level, alert_desc;	/* 2 fatal, 1 warning; RFC 8446 6 */
	uint64_t records[2];		/* TLS records seen, [XDIR_CLIENT], [XDIR_SERVER] */
	/* Application data (encrypted, unread): records and octets per
	 * direction; for the client, with an AEAD suite whose overhead is
	 * known (sizes_known), the plaintext size of its first record (its
	 * EHLO) and the largest of those after it, and how many came after:
	 * what the session did inside TLS, without keys. */
	uint64_t app_records[2], app_bytes[2];
	bool sizes_known;
	uint32_t c_first_len, c_after_max, c_after;
	uint64_t c_tail;		/* client plaintext since the server's last record */
	bool not_tls[2];		/* octets that are no TLS framing */
	uint32_t hello_bad;		/* hellos too big or malformed to read */
	/* The server's certificate, when sent in cleartext (TLS 1.2 and
	 * older; tlscert.c): common names, SAN DNS names (comma separated,
	 * the first 8), validity in epoch seconds, self-issued. */
	bool cert;
	struct wstr cert_subject, cert_issuer, cert_names;
	int64_t cert_not_before, cert_not_after;
	bool cert_self_signed;
	/* Decryption with a key log (tlscrypt.c): what became of it, records
	 * decrypted per direction, records that failed authentication. */
	enum tls_dec decryption;
	uint64_t dec_records[2];
	uint64_t bad_records;
};
/* "TLS 1.2", "TLS_AES_128_GCM_SHA256", "handshake_failure"; NULL if unknown. */
const char *tls_version_name(unsigned);
const char *tls_suite_name(unsigned);
const char *tls_alert_name(unsigned);
/* Does the certificate cover host (SAN DNS names, else CN; RFC 6125)? */
bool tls_cert_match(const struct tls_seen *, const char *host, size_t len);

enum severity { SEV_NOTICE = 0, SEV_WARNING, SEV_ERROR };
enum confidence { CONF_POSSIBLE = 0, CONF_PROBABLE, CONF_CERTAIN };
const char *severity_name(enum severity);
const char *confidence_name(enum confidence);

/*
 * Incident families: what part of SMTP a finding is about.  The UI flags
 * the 8-bit family and sorts it first; summaries may group by family.
 */
#define INCIDENT_FAMILIES(X)                                              \
	X(8BIT, "8bit")		/* 8BITMIME, BODY=, SMTPUTF8, BINARYMIME */ \
	X(HELLO, "hello")	/* greeting, EHLO, capabilities */          \
	X(TLS, "tls")		/* STARTTLS, TLS, AUTH */                   \
	X(TX, "transaction")	/* MAIL, RCPT, DATA, the message */         \
	X(CONN, "connection")	/* how the session went and ended */
/* The host that must change for a cause. */
enum inc_side { SIDE_SERVER, SIDE_CLIENT };

enum inc_family {
#define REC_X_FAM(id, name) FAM_##id,
	INCIDENT_FAMILIES(REC_X_FAM)
#undef REC_X_FAM
	FAM_MAX
};

/*
 * The incident types of INCIDENTS.md: X(id, stable name, family, the side
 * whose fix it is, default severity, default confidence, RFC basis).  The
 * side groups incidents by cause: a server-side cause (8BITMIME not
 * offered, recipients refused) is one entry per server listing its
 * clients; a client-side one (bare LF, a TLS policy) one per client.  The order is the order the
 * rules run in (decode/incident.c) and so the order of a session's
 * incidents in every output: the 8-bit family first, 8bitmime-abort above
 * all; a rule may stand back for one listed before it, never after.
 * Severity and confidence are defaults: a rule may raise or lower them for
 * one incident (struct incident has the final values).
 */
#define INCIDENT_TYPES(X)                                                  \
	X(8BITMIME_ABORT, "8bitmime-abort", FAM_8BIT, SIDE_SERVER,      \
	  SEV_ERROR, CONF_PROBABLE,                                     \
	  "RFC 6152 section 3; Microsoft KB295734, KB195252")           \
	X(8BITMIME_UNOFFERED, "8bitmime-unoffered", FAM_8BIT,           \
	  SIDE_CLIENT, SEV_WARNING, CONF_CERTAIN, "RFC 6152 section 3") \
	X(BODY_REJECTED, "body-rejected", FAM_8BIT, SIDE_CLIENT,        \
	  SEV_ERROR, CONF_CERTAIN,                                      \
	  "RFC 5321 section 4.1.1.11; RFC 6152; RFC 3030")              \
	X(8BIT_UNDECLARED, "8bit-undeclared", FAM_8BIT, SIDE_CLIENT,    \
	  SEV_WARNING, CONF_CERTAIN,                                    \
	  "RFC 6152 section 3; RFC 2045 section 6")                     \
	X(8BIT_REJECTED, "8bit-rejected", FAM_8BIT, SIDE_CLIENT,        \
	  SEV_ERROR, CONF_CERTAIN, "RFC 3463 section 3.7")              \
	X(SMTPUTF8_ABORT, "smtputf8-abort", FAM_8BIT, SIDE_SERVER,      \
	  SEV_ERROR, CONF_PROBABLE, "RFC 6531 section 3")               \
	X(SMTPUTF8_REJECTED, "smtputf8-rejected", FAM_8BIT, SIDE_SERVER,  \
	  SEV_ERROR, CONF_CERTAIN, "RFC 6531 section 3.4")              \
	X(SMTPUTF8_UNOFFERED, "smtputf8-unoffered", FAM_8BIT,           \
	  SIDE_CLIENT, SEV_WARNING, CONF_CERTAIN, "RFC 6531 section 3") \
	X(SMTPUTF8_WITHOUT_8BITMIME, "smtputf8-without-8bitmime",       \
	  FAM_8BIT, SIDE_SERVER, SEV_NOTICE, CONF_CERTAIN,              \
	  "RFC 6531 section 3")                                         \
	X(CHUNKING_UNOFFERED, "chunking-unoffered", FAM_TX, SIDE_CLIENT,  \
	  SEV_ERROR, CONF_CERTAIN, "RFC 3030 section 2")                \
	X(BINARYMIME_VIOLATION, "binarymime-violation", FAM_8BIT,       \
	  SIDE_CLIENT, SEV_WARNING, CONF_CERTAIN,                       \
	  "RFC 3030 sections 2-3")                                      \
	X(EHLO_REJECTED, "ehlo-rejected", FAM_HELLO, SIDE_SERVER,       \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321 sections 3.2, 4.1.1.1")  \
	X(GREETING_REFUSED, "greeting-refused", FAM_HELLO, SIDE_SERVER, \
	  SEV_ERROR, CONF_CERTAIN, "RFC 5321 sections 3.1, 4.3.1")      \
	X(EARLY_TALKER, "early-talker", FAM_HELLO, SIDE_CLIENT,         \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321 section 4.3.1")          \
	X(ABORT_AFTER_CAPABILITIES, "abort-after-capabilities",         \
	  FAM_HELLO, SIDE_CLIENT, SEV_WARNING, CONF_POSSIBLE,           \
	  "RFC 5321")                                                   \
	X(CAPABILITY_STRIPPED, "capability-stripped", FAM_HELLO,        \
	  SIDE_SERVER, SEV_WARNING, CONF_CERTAIN,                       \
	  "RFC 3207 sections 4, 6")                                     \
	X(STARTTLS_REFUSED, "starttls-refused", FAM_TLS, SIDE_SERVER,   \
	  SEV_WARNING, CONF_CERTAIN, "RFC 3207 section 4")              \
	X(STARTTLS_NOT_USED, "starttls-not-used", FAM_TLS, SIDE_CLIENT, \
	  SEV_NOTICE, CONF_CERTAIN, "RFC 3207")                         \
	X(STARTTLS_HANDSHAKE_FAILED, "starttls-handshake-failed",       \
	  FAM_TLS, SIDE_SERVER, SEV_ERROR, CONF_CERTAIN,                \
	  "RFC 3207 section 4.1")                                       \
	X(STARTTLS_INJECTION, "starttls-injection", FAM_TLS,            \
	  SIDE_SERVER, SEV_ERROR, CONF_CERTAIN,                         \
	  "RFC 3207 section 4.2; RFC 2920 section 3.1; CVE-2011-0411")  \
	X(TLS_VERSION_OBSOLETE, "tls-version-obsolete", FAM_TLS,        \
	  SIDE_CLIENT, SEV_WARNING, CONF_CERTAIN, "RFC 8996; RFC 8446") \
	X(TLS_SERVER_OBSOLETE, "tls-server-obsolete", FAM_TLS,          \
	  SIDE_SERVER, SEV_WARNING, CONF_CERTAIN, "RFC 8996; RFC 8446") \
	X(TLS_CERTIFICATE, "tls-certificate-problem", FAM_TLS,          \
	  SIDE_SERVER, SEV_WARNING, CONF_CERTAIN,                       \
	  "RFC 5280 section 4.1.2.5; RFC 6125 section 6; RFC 7672")     \
	X(TLS_REQUIRED, "tls-required", FAM_TLS, SIDE_CLIENT,           \
	  SEV_ERROR, CONF_CERTAIN, "RFC 3207 section 4")                \
	X(SIZE_EXCEEDED, "size-exceeded", FAM_TX, SIDE_CLIENT,          \
	  SEV_ERROR, CONF_CERTAIN, "RFC 1870")                          \
	X(AUTH_PROBLEM, "auth-problem", FAM_TLS, SIDE_CLIENT,           \
	  SEV_WARNING, CONF_CERTAIN, "RFC 4954")                        \
	X(BARE_LF, "bare-lf", FAM_TX, SIDE_CLIENT, SEV_WARNING,         \
	  CONF_CERTAIN, "RFC 5321 sections 2.3.8, 4.1.1.4")             \
	X(SMUGGLING_EOD, "smuggling-eod", FAM_TX, SIDE_SERVER,          \
	  SEV_ERROR, CONF_CERTAIN,                                      \
	  "RFC 5321 section 4.1.1.4; CVE-2023-51764, CVE-2023-51765,    \
	  CVE-2023-51766")                                              \
	X(MAIL_REJECTED, "mail-rejected", FAM_TX, SIDE_SERVER,          \
	  SEV_ERROR, CONF_CERTAIN, "RFC 5321; RFC 3463")                \
	X(MAIL_DEFERRED, "mail-deferred", FAM_TX, SIDE_SERVER,          \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321; RFC 3463")              \
	X(ALL_RECIPIENTS_REJECTED, "all-recipients-rejected", FAM_TX,   \
	  SIDE_SERVER, SEV_ERROR, CONF_CERTAIN,                         \
	  "RFC 5321 section 3.3; RFC 2920 section 3.1")                 \
	X(RCPT_REJECTED, "rcpt-rejected", FAM_TX, SIDE_SERVER,          \
	  SEV_ERROR, CONF_CERTAIN, "RFC 5321; RFC 3463")                \
	X(RCPT_DEFERRED, "rcpt-deferred", FAM_TX, SIDE_SERVER,          \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321; RFC 3463")              \
	X(DATA_REJECTED, "data-rejected", FAM_TX, SIDE_SERVER,          \
	  SEV_ERROR, CONF_CERTAIN, "RFC 5321 section 4.1.1.4")          \
	X(MESSAGE_REJECTED, "message-rejected", FAM_TX, SIDE_SERVER,    \
	  SEV_ERROR, CONF_CERTAIN, "RFC 5321; RFC 3463")                \
	X(MESSAGE_DEFERRED, "message-deferred", FAM_TX, SIDE_SERVER,    \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321; RFC 3463")              \
	X(NDR_ON_WIRE, "ndr-on-wire", FAM_TX, SIDE_CLIENT, SEV_NOTICE,  \
	  CONF_CERTAIN, "RFC 3461; RFC 3464")                           \
	X(DSN_UNOFFERED, "dsn-unoffered", FAM_TX, SIDE_CLIENT,          \
	  SEV_WARNING, CONF_CERTAIN, "RFC 3461 section 4")              \
	X(RESET_MID_DATA, "reset-mid-data", FAM_CONN, SIDE_SERVER,      \
	  SEV_ERROR, CONF_CERTAIN,                                      \
	  "RFC 5321 section 4.1.1.4; RFC 1047")                         \
	X(SERVER_SHUTDOWN, "server-shutdown", FAM_CONN, SIDE_SERVER,    \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321 section 3.8")            \
	X(NO_QUIT, "no-quit", FAM_CONN, SIDE_CLIENT, SEV_NOTICE,        \
	  CONF_CERTAIN, "RFC 5321 sections 4.1.1.10, 4.5.3.2")          \
	X(PIPELINING_VIOLATION, "pipelining-violation", FAM_CONN,       \
	  SIDE_CLIENT, SEV_WARNING, CONF_CERTAIN,                       \
	  "RFC 2920 section 3.1")                                       \
	X(REPLY_MISMATCH, "reply-mismatch", FAM_CONN, SIDE_SERVER,      \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321 section 4.2")            \
	X(LINE_TOO_LONG, "line-too-long", FAM_CONN, SIDE_CLIENT,        \
	  SEV_WARNING, CONF_CERTAIN, "RFC 5321 section 4.5.3.1")
enum inc_type {
#define REC_X_INC(id, name, fam, side, sev, conf, rfc) INC_##id,
	INCIDENT_TYPES(REC_X_INC)
#undef REC_X_INC
	INC_MAX
};
/* Sets of incident types are uint64_t bit masks (the rules' "fired" and
 * "stands back for", the UI's per-session "counted"): INCB(8BITMIME_ABORT). */
#define INCB(id) ((uint64_t)1 << INC_##id)
#define INC_BIT(t) ((uint64_t)1 << (t))
_Static_assert(INC_MAX <= 64, "a uint64_t mask holds a bit per incident type");

/* The table's columns; out of range: "?", FAM_MAX, SEV_NOTICE... */
const char *inc_type_name(enum inc_type);
enum inc_family inc_type_family(enum inc_type);
enum inc_side inc_type_side(enum inc_type);
enum severity inc_type_severity(enum inc_type);
enum confidence inc_type_confidence(enum inc_type);
const char *inc_type_rfc(enum inc_type);
const char *inc_family_name(enum inc_family);
/* The type of a stable name, or INC_MAX when there is none. */
enum inc_type inc_type_from_name(const char *);

#define INC_MAX_EVIDENCE 12
struct incident {
	enum inc_type kind;		/* the type: family, default severity... */
	const char *type;		/* inc_type_name(kind), e.g. "8bitmime-abort" */
	enum severity severity;
	enum confidence confidence;
	char *summary;			/* one sentence naming both hosts */
	char *diagnosis;
	char *fix;
	const char *rfc;		/* "RFC 6152 section 3; KB295734" */
	char *visibility;		/* NULL, or what limits what we saw */
	struct xline evidence[INC_MAX_EVIDENCE];	/* copies, text owned */
	size_t nevidence;
};

/* Session flags. */
#define SF_MID_STREAM	0x01	/* joined without the greeting or handshake */
#define SF_GAP		0x02	/* bytes missing */
#define SF_ONE_SIDED	0x04	/* only one direction carried data */
#define SF_TLS		0x08	/* STARTTLS accepted: the rest is encrypted */
#define SF_KERNEL_DROPS	0x10	/* the kernel dropped packets during it */
#define SF_OVERLAP	0x20	/* TCP overlap with different data */

#define SESS_MAX_CAPS	32
#define SESS_MAX_TX	32
#define SESS_MAX_INC	16
#define SESS_MAX_VERBS	64
struct sess_record {
	char uid[20];			/* "S" + base32: stable for a given flow */
	uint64_t flow_id;		/* the capture layer's flow id */
	int family;			/* AF_INET, AF_INET6 */
	uint8_t client_ip[16], server_ip[16];
	uint16_t client_port, server_port;
	uint64_t ts_start_us, ts_end_us;
	uint64_t packets[2], bytes[2];	/* [XDIR_CLIENT], [XDIR_SERVER] */
	uint32_t flags;			/* SF_* */

	int banner_code;		/* 0: no greeting seen */
	struct wstr banner;		/* greeting text after the code (first line) */
	struct wstr helo;		/* the last HELO/EHLO argument */
	bool ehlo;			/* EHLO was accepted (250) */
	bool helo_fallback;		/* EHLO refused, then HELO */
	struct wstr *caps;		/* advertised lines, keyword uppercased */
	size_t ncaps, caps_dropped;
	uint32_t capflags;		/* CAPF() bits of the last EHLO reply */
	uint32_t capflags_ever;		/* CAPF() bits offered in any EHLO reply */
	uint64_t size_limit;		/* SIZE n, 0 if none */
	struct wstr auth_mechs;		/* AUTH line's mechanisms */
	struct wstr auth_used;		/* mechanism the client chose (never data) */
	int auth_reply_code;
	bool starttls_cmd;		/* client sent STARTTLS */
	int starttls_reply_code;
	struct tls_seen tls;		/* the cleartext handshake after it */

	struct tx_record *tx;
	size_t ntx, tx_dropped;

	int last_reply_code;
	struct enh_code last_enh;
	struct wstr last_reply_text;
	uint64_t commands;		/* commands seen */
	/* The verbs in order (command ids: sess_verb_name()), the first
	 * SESS_MAX_VERBS; the rest counted. */
	uint8_t verbs[SESS_MAX_VERBS];
	size_t nverbs;
	uint64_t verbs_dropped;
	uint64_t replies;		/* replies seen */
	enum sess_end end;
	enum sess_state state;
	uint32_t anomalies[SAN_MAX];

	struct xline *lines;		/* transcript: the first lines, then the last */
	size_t nlines, lines_dropped;

	struct incident *inc;
	size_t ninc;
};

/*
 * Incidents counted by type: the one tally the end-of-run summary, the
 * report and the UI each keep.  Only incidents with a kind in the table
 * count.  sev is the highest severity among a type's incidents (a rule
 * may raise or lower its type's default).
 */
struct inc_tally {
	uint64_t n[INC_MAX];
	enum severity sev[INC_MAX];	/* valid where n > 0 */
	uint64_t total;
};
void inc_tally_one(struct inc_tally *, const struct incident *);
void inc_tally_add(struct inc_tally *, const struct sess_record *);
enum tally_order {
	TALLY_BY_COUNT,		/* most first, then by name */
	TALLY_BY_SEVERITY	/* highest first, then by count, then by name */
};
/* The types counted (n > 0), in that order, into out; returns how many. */
size_t inc_tally_sorted(const struct inc_tally *, enum tally_order,
    enum inc_type out[INC_MAX]);

/* ---------------------------------------------------------------------
 * Reading a record: what every output says the same way
 * ------------------------------------------------------------------ */
/* The reply that decided the session, for a one-line view: the last
 * refusal (4xx/5xx to the greeting, MAIL, RCPT, DATA or the message),
 * else the last message's acceptance, else the last reply.  Returns its
 * code (0: none) and sets *text (NULL when no text was kept). */
int rec_decisive_reply(const struct sess_record *, const struct wstr **text);
/* Its enhanced status code (class 0: none), and the transaction it
 * belongs to (else the last one; NULL without transactions). */
void rec_decisive_enh(const struct sess_record *, struct enh_code *);
const struct tx_record *rec_decisive_tx(const struct sess_record *);
/* The server's name from its banner ("mx.example.com ESMTP ..."): the
 * first word when it is shaped like a host name (letters, digits, '-',
 * '.', at least one dot and one letter; never an enhanced status code
 * such as "5.7.1").  "" when there is none. */
void rec_banner_host(const struct sess_record *, char *buf, size_t len);
/* The verb of a sess_record.verbs entry: "EHLO", "MAIL", ..., "unknown". */
const char *sess_verb_name(unsigned id);

#endif
