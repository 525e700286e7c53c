/*
 * dec_int.h - private declarations shared by the decode/ sources only.
 *
 * The decoder is split by role: line.c assembles lines, cmd.c parses client
 * commands, reply.c parses server replies and EHLO capabilities, body.c
 * follows message content (DATA and BDAT); the session is session.c (life
 * and state), pair.c (commands and replies paired), verbs.c (the verb
 * table) and transcript.c; incident.c runs the rules of rules_*.c (one
 * family a file, sharing rule_int.h) over the record plus the facts
 * collected here, record.c holds the name tables and string helpers,
 * enhcode.c describes RFC 3463 codes.
 *
 * Nothing here is visible outside decode/: exporters and the UI read only
 * record.h.  Parsers take bytes and return spans into the caller's buffer;
 * they never allocate.  Only the session's files allocate, and only per
 * line of the transcript or per transaction, never per byte of content.
 */
#ifndef SMTPSCOPE_DEC_INT_H
#define SMTPSCOPE_DEC_INT_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp.h"

/* ---------------------------------------------------------------------
 * ASCII helpers: wire bytes are never classified with locale ctype.
 * ------------------------------------------------------------------ */
static inline bool a_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline bool a_alpha(uint8_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool a_wsp(uint8_t c) { return c == ' ' || c == '\t'; }
static inline uint8_t a_upper(uint8_t c) { return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c; }
static inline uint8_t a_lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* Case-insensitive compare of a span with a NUL-terminated ASCII keyword. */
bool a_eq(const char *p, size_t len, const char *kw);
/* Does the span start with kw, case-insensitively? */
bool a_prefix(const char *p, size_t len, const char *kw);
/* Case-insensitive search of an ASCII needle in a span. */
bool a_contains(const char *p, size_t len, const char *needle);

struct span {
	const char *p;
	size_t len;
};

/* ---------------------------------------------------------------------
 * record.c: wire strings and record teardown
 * ------------------------------------------------------------------ */
/* Replace *w by a copy of p[0..len), cut at cap.  On allocation failure
 * the string is left absent: never fatal. */
void wstr_set(struct wstr *, const char *p, size_t len, size_t cap);
void wstr_clear(struct wstr *);
/*
 * A session's string pool: the few hundred octets of wire text a typical
 * session keeps (banner, HELO name, capabilities, addresses, reply texts,
 * transcript lines) are carved from one block inside the session, not
 * malloc'd one by one: on a replay of short sessions the mallocs and frees
 * of those strings were an eighth of all the work.  A string that does not
 * fit goes to malloc as before, so the pool caps nothing; what a replaced
 * string leaves behind in the pool is not reused (the pool is small and
 * dies with the session).
 */
#define SPOOL_SIZE 2048
struct spool {
	size_t used;
	char b[SPOOL_SIZE];
};
/* wstr_set(), from the pool when it has room (sp may be NULL). */
void wstr_set_in(struct spool *sp, struct wstr *, const char *p, size_t len,
    size_t cap);
/* *w becomes a string of n octets (and a NUL) for the caller to fill;
 * NULL, and *w absent, when memory ran out. */
char *wstr_alloc(struct spool *sp, struct wstr *w, size_t n);
/* Free every string and array a record owns (not the record itself). */
void rec_free(struct sess_record *);

/* ---------------------------------------------------------------------
 * line.c: one line assembler per direction
 * ------------------------------------------------------------------ */
#define LN_BARE_LF	0x01	/* ended by LF without CR */
#define LN_BARE_CR	0x02	/* held a CR not followed by LF */
#define LN_NUL		0x04	/* held a NUL octet */
#define LN_CUT		0x08	/* longer than the cap: only the start kept */
#define LINE_SMALL	128	/* a line buffer's first room, inside it */
struct linebuf {
	char *buf;		/* size + 1 bytes, NUL-terminated when done:
				 * small until a line needs more (a linebuf
				 * is never copied or moved) */
	char small[LINE_SMALL + 1];
	size_t cap;		/* the most it keeps of a line */
	size_t size;		/* allocated (grows to cap as lines need it) */
	size_t len;		/* bytes kept of the line (no CR/LF once done) */
	uint64_t total;		/* octets of the line so far, before the LF */
	uint8_t flags;		/* LN_* */
	bool cr;		/* the last octet seen was a CR */
};
int line_init(struct linebuf *, size_t cap);
void line_free(struct linebuf *);
/* Consume up to the end of one line; sets *done when a line is complete
 * (then read buf/len/flags and call line_reset).  Returns bytes used. */
size_t line_feed(struct linebuf *, const uint8_t *, size_t, bool *done);
void line_reset(struct linebuf *);
/* Octets of the completed line including its terminator. */
uint64_t line_octets(const struct linebuf *);

/* ---------------------------------------------------------------------
 * cmd.c: client commands
 * ------------------------------------------------------------------ */
/* The command ids.  Each has one row in verbs.c's verb_table[] (name,
 * argument parser, properties, handlers); a static assertion there keeps
 * the two the same length.  The last four are not verbs on the wire: an
 * unknown line, the end of DATA content and the greeting are paired with
 * replies like commands. */
enum cmd_id {
	CMD_NONE,
	CMD_HELO, CMD_EHLO, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_BDAT,
	CMD_RSET, CMD_QUIT, CMD_NOOP, CMD_VRFY, CMD_EXPN, CMD_HELP,
	CMD_STARTTLS, CMD_AUTH, CMD_ETRN,
	CMD_UNKNOWN, CMD_EOD, CMD_GREETING,
	CMD_MAX
};
#define CMDB(id) (1u << CMD_##id)
/* sess_facts.cmds_since_ehlo and cmds_ever hold CMDB() bits. */
_Static_assert(CMD_MAX <= 32, "CMDB() bits must fit a uint32_t");
const char *cmd_name(enum cmd_id);

struct cmd {
	enum cmd_id id;
	bool syntax_ok;		/* arguments as the verb requires */
	struct span verb, arg;	/* arg: after the verb and its spaces */
	/* MAIL / RCPT */
	struct span addr, params;
	bool addr_8bit;		/* octets >= 0x80 in the address */
	enum body_type body;
	uint64_t size;
	bool smtputf8, ret, envid, notify, orcpt;
	/* BDAT */
	uint64_t bdat_size;
	bool bdat_last;
	/* AUTH: the mechanism, and whether an initial response follows */
	struct span mech;
	bool auth_initial;
};
/* Parse one command line (without CRLF).  Never fails: an unknown verb
 * yields CMD_UNKNOWN. */
void cmd_parse(const char *line, size_t len, struct cmd *);
/* Strict check used to resynchronise after a gap or mid-stream: only a
 * line that is unmistakably a command passes. */
bool cmd_strict(const char *line, size_t len);
/* The argument parsers, for the verb table: each sets syntax_ok and the
 * spans its verb takes. */
void cmd_args_none(struct cmd *);	/* no argument */
void cmd_args_any(struct cmd *);	/* anything, or nothing */
void cmd_args_word(struct cmd *);	/* something (a name, an address) */
void cmd_args_mail(struct cmd *);	/* FROM:<path> params */
void cmd_args_rcpt(struct cmd *);	/* TO:<path> params */
void cmd_args_bdat(struct cmd *);	/* size [LAST] */
void cmd_args_auth(struct cmd *);	/* mechanism [initial-response] */

/* ---------------------------------------------------------------------
 * reply.c: server replies and EHLO capabilities
 * ------------------------------------------------------------------ */
struct reply_line {
	int code;		/* 100..999 when shaped like a reply */
	bool shaped;		/* three digits then SP, '-' or end */
	bool valid;		/* shaped, and code in 2xx-5xx */
	bool more;		/* '-': more lines follow */
	struct enh_code enh;	/* class 0: none */
	struct span text;	/* after the code and separator */
};
void reply_parse(const char *line, size_t len, struct reply_line *);
/* RFC 3463 "c.s.d" at the start of p; returns octets used, 0 if none. */
size_t enh_parse(const char *p, size_t len, struct enh_code *);
/* One EHLO capability line: the keyword's bit (-1 if not in SMTP_CAPS),
 * the keyword span and the rest. */
struct cap_line {
	int bit;
	struct span kw, rest;
	bool masked;		/* "XXXXXXXA": a keyword blanked by a middlebox */
};
void cap_parse(const char *text, size_t len, struct cap_line *);

/* queueid.c: the queue id in a final reply ("Ok: queued as 13CAA15C0D1",
 * Exim's "id=", Sendmail's, Exchange's InternalId, qmail's "qp"...);
 * returns false when the text names none. */
bool queue_id_parse(const char *text, size_t len, struct span *id);

/* enhcode.c */
const char *enh_subject_name(unsigned subject);
const char *enh_detail_text(const struct enh_code *);

/* ---------------------------------------------------------------------
 * body.c: message content trackers
 * ------------------------------------------------------------------ */
#define BODY_HDR_CAP	1024	/* a logical header line kept for sniffing */
#define BODY_HDR_MAX	65536	/* stop looking for headers after this */
#define BODY_ID_CAP	256	/* Message-ID, Subject, From, To kept */
struct body {
	uint8_t st;		/* DATA end-of-data state machine */
	uint8_t xkind;		/* smuggling: '.' after bare LF (0) or CR (1) */
	bool dot_rules;		/* DATA (dot-stuffing) vs BDAT (counted) */
	uint64_t off;		/* content octets consumed */
	uint64_t line_len;	/* octets of the current line */
	uint64_t long_lines;	/* lines over 998 octets + CRLF */
	uint64_t eightbit, first8;
	uint64_t bare;		/* bare LF or CR */
	uint32_t smuggle;	/* end-of-data look-alikes */
	bool nul;
	/* top-level header sniffing */
	bool in_headers, hdr_bol;
	char hb[BODY_HDR_CAP + 1];
	size_t hlen;
	char cte[64], ctype[96], charset[64], report_type[48];
	/* for finding the message in the mail logs: first occurrences */
	char msgid[BODY_ID_CAP], subject[BODY_ID_CAP], from[BODY_ID_CAP],
	    to[BODY_ID_CAP];
};
void body_start(struct body *, bool dot_rules);
/* DATA: consume content up to and including the end marker; *end is set
 * when CRLF.CRLF was seen (data_bytes is then off - 3). */
size_t body_data(struct body *, const uint8_t *, size_t, bool *end);
/* BDAT (or content we cannot delimit): count and sniff n octets. */
void body_bytes(struct body *, const uint8_t *, size_t);
/* Flush a header still being collected when the content ends. */
void body_finish(struct body *);

/* ---------------------------------------------------------------------
 * session.c: the session, its facts and its transcript
 * ------------------------------------------------------------------ */
#define NOSEQ UINT32_MAX

struct tline {
	struct xline x;
	uint32_t seq;		/* position in the whole transcript */
};

struct transcript {
	struct tline *head;	/* the first lines */
	size_t nhead, cap_head, alloc_head;
	struct tline *ring;	/* the last lines (contiguous until it wraps) */
	size_t cap_ring, ring_start, nring, alloc_ring;
	uint32_t next_seq;
	size_t dropped;
};

/* One outstanding command awaiting its reply. */
struct pending {
	enum cmd_id cmd;
	int tx, rcpt;		/* indexes, -1 when none */
	int prev_tx;		/* MAIL: the transaction open before it, or -1 */
	uint32_t seq;		/* transcript line of the command */
	uint64_t pkt;
	bool bdat_last;
};

/*
 * Facts for the rules.  A "seq" is a transcript line number (struct
 * tline.seq): where the rules find the evidence.  Each list below names
 * the seq fields of one struct, so that all of them start out NOSEQ
 * ("not seen") through one generated function (*_facts_unset()), and a new fact is
 * one line.
 */
#define DEC_X_SEQ_FIELD(name) uint32_t name;
#define DEC_X_SEQ_UNSET(name) f->name = NOSEQ;

#define RCPT_SEQS(X)	X(cmd_seq) X(reply_seq) X(reply_last)
struct rcpt_facts {
	RCPT_SEQS(DEC_X_SEQ_FIELD)
};

#define TX_SEQS(X)                                                       \
	X(mail_seq) X(mail_reply_seq) X(mail_reply_last)                 \
	X(data_seq) X(data_reply_seq) X(data_reply_last)                 \
	X(end_seq)		/* the "[message: ...]" note */          \
	X(final_seq) X(final_last)	/* the reply deciding the message */ \
	X(first_bdat_seq) X(mismatch_seq) X(binary_data_seq)             \
	X(addr_8bit_seq)	/* the MAIL or RCPT with a non-ASCII address */ \
	X(dsn_param_seq)	/* first MAIL/RCPT with DSN parameters */

/* What the rules need about one transaction beyond struct tx_record. */
struct tx_facts {
	TX_SEQS(DEC_X_SEQ_FIELD)
	uint32_t caps_at_mail;	/* capflags when MAIL was sent */
	bool caps_known;	/* an EHLO or HELO reply had been seen */
	bool via_helo;		/* the session said HELO, not EHLO */
	bool done;		/* final reply seen, or RSET */
	bool nested;		/* MAIL refused while another was open (503) */
	bool rset;		/* ended by RSET */
	struct rcpt_facts *rf;	/* parallel to tx_record.rcpts */
	size_t rcap;
	uint64_t long_lines, smuggle;
	bool content_gap;	/* a gap inside the content */
	bool content_before_354;
	bool data_and_bdat;	/* DATA and BDAT in one transaction */
	bool bdat_mismatch;
	bool addr_8bit;		/* non-ASCII address in MAIL or a RCPT */
	bool dsn_report;	/* multipart/report; report-type=delivery-status */
};

#define SESS_SEQS(X)                                                     \
	X(greeting_seq) X(greeting_last)                                 \
	X(ehlo_seq) X(ehlo_reply_seq) X(ehlo_reply_last)                 \
	X(ehlo_rej_seq) X(ehlo_rej_reply_seq)                            \
	X(helo_seq) X(helo_reply_seq)                                    \
	X(rset_seq)		/* first RSET since the last accepted hello */ \
	X(quit_seq) X(quit_reply_seq)                                    \
	X(early_seq)		/* first client line before the greeting */ \
	X(starttls_seq) X(starttls_reply_seq)                            \
	X(inj_client_seq)	/* a command in STARTTLS's flight */     \
	X(plain_seq)		/* the "[cleartext after STARTTLS]" note */ \
	X(masked_seq)		/* a masked keyword line */              \
	X(stripped_seq)		/* the reply that lost a capability */   \
	X(pipe_unoffered_seq) X(pipe_term_seq)                           \
	X(unsolicited_seq) X(code_change_seq) X(bad_code_seq)            \
	X(long_cmd_seq) X(long_reply_seq)                                \
	X(bare_cmd_seq)		/* a command line with bare LF/CR */     \
	X(auth_seq) X(auth_reply_seq)                                    \
	X(r421_seq) X(r530_seq) X(r567_seq) X(r5611_seq) X(r552_seq)     \
	X(gap_seq)                                                       \
	X(cut_seq)		/* "[message cut...]" for reset-mid-data */ \
	X(content_early_seq)	/* content before the 354 */ \
	X(tls_alert_seq)	/* the "[TLS alert ...]" note */ \
	X(tls_hs_seq)		/* the "[TLS handshake ...]" note */ \
	X(tls_dec_seq)		/* the "[TLS decrypted ...]" note */

/* Session-wide facts for the rules. */
struct sess_facts {
	SESS_SEQS(DEC_X_SEQ_FIELD)
	bool greeting_seen;
	bool ehlo_ok;		/* the last EHLO/HELO accepted was an EHLO */
	bool hello_ok;		/* some EHLO or HELO was accepted */
	uint32_t cmds_since_ehlo;	/* CMDB() bits since the last accepted hello */
	uint32_t cmds_ever;
	/* STARTTLS */
	bool starttls_pending;		/* sent, no reply yet */
	uint64_t starttls_pkt;
	uint64_t inj_server_bytes;	/* server octets after 220, before the handshake */
	uint8_t tls_c_first[2];
	/* The client's first octet after the STARTTLS 220 was a letter: the
	 * capture holds cleartext (decrypted after the fact, or no TLS at
	 * all); decoding went on.  plain_replies: server replies since. */
	bool plain_after_tls;
	uint32_t plain_replies;
	/* A key log decrypted the TLS: the dialogue inside is decoded. */
	bool tls_decrypted;
	uint64_t tls_c_bytes, tls_s_bytes;
	/* capabilities */
	uint32_t stripped_bits;	/* offered earlier, missing from the last reply */
	bool stripped_in_tls;	/* ... a reply inside TLS, decrypted */
	/* protocol */
	uint32_t pipe_unoffered, pipe_term;
	bool auth_cleartext;	/* AUTH while STARTTLS was offered, before TLS */
	bool auth_unoffered;
	uint64_t gap_bytes[2];
	bool gap_client, gap_server;
	bool greeting_lost;	/* a server gap before the greeting was seen */
	/* early_seq's packet acknowledged no server byte (TCP evidence that
	 * holds when the server's side is not captured). */
	bool early_ack_known;
	bool cut_in_content, cut_awaiting_reply;
};

static inline void rcpt_facts_unset(struct rcpt_facts *f) { RCPT_SEQS(DEC_X_SEQ_UNSET) }
static inline void tx_facts_unset(struct tx_facts *f) { TX_SEQS(DEC_X_SEQ_UNSET) }
static inline void sess_facts_unset(struct sess_facts *f) { SESS_SEQS(DEC_X_SEQ_UNSET) }

/* The named states of the client side of a session (STYLE.md rule 14). */
#define SMTP_PHASES(X)                                                   \
	X(CONNECTED, "connected")	/* before the greeting */          \
	X(GREETED, "greeted")		/* greeting seen */                \
	X(HELLO, "hello")		/* EHLO/HELO sent */               \
	X(MAIL, "mail")			/* in a transaction */             \
	X(CONTENT, "content")		/* DATA content */                 \
	X(CONTENT_RESYNC, "content-resync")	/* content after a gap */  \
	X(CHUNK, "chunk")		/* BDAT chunk octets */            \
	X(QUIT, "quit")			/* QUIT sent */                    \
	X(TLS, "tls")			/* encrypted: count only */
enum sphase {
#define DEC_X_PH(id, name) SP_##id,
	SMTP_PHASES(DEC_X_PH)
#undef DEC_X_PH
	SP_MAX
};

/* The reply being assembled (multi-line replies arrive line by line). */
struct cur_reply {
	bool open;		/* a '-' line was seen, more to come */
	bool greeting;
	bool paired;		/* answers pend (the queue head) */
	struct pending pend;
	int code;
	struct enh_code enh;
	uint32_t first_seq, last_seq;
	uint32_t nlines;
	bool ehlo_caps;		/* collecting capabilities */
	uint32_t capflags;
	uint64_t size_limit;
	bool code_changed;
};

/* A client remembered across sessions (smtp_ctx), for the probe test. */
struct host_mem {
	RB_ENTRY(host_mem) rb;
	TAILQ_ENTRY(host_mem) lru;
	int family;
	uint8_t ip[16];
	uint32_t sessions;
	uint32_t mail_sessions;		/* sessions that sent MAIL */
	uint32_t aborts_offered;	/* EHLO, RSET, no MAIL, 8BITMIME offered */
	uint32_t aborts_unoffered;	/* the 8bitmime-abort pattern */
	uint32_t body8_sessions;	/* sessions with BODY=8BITMIME */
};
RB_HEAD(host_tree, host_mem);
TAILQ_HEAD(host_lru, host_mem);

struct smtp_ctx {
	struct smtp_limits lim;
	struct smtp_sink sink;
	struct smtp_keylog *keylog;
	struct host_tree hosts;
	struct host_lru lru;
	size_t nhosts;
	/* Ended sessions kept for the next ones (at most SPARE_SESSIONS):
	 * a session is 6.5 KiB, which malloc hands out and takes back slowly. */
	struct smtp_session *spare;
	size_t nspare;
};

/* keylog.c: a secret of the key log, by client random and label. */
enum kl_label { KL_MASTER, KL_C_HS, KL_S_HS, KL_C_AP, KL_S_AP, KL_MAX };
const uint8_t *keylog_find(const struct smtp_keylog *, const uint8_t random[32],
    enum kl_label, size_t *len);

/* tlscrypt.c: one session's decryption.  fn gets each record's plaintext
 * with its inner content type (22 handshake, 21 alert, 23 data), or, for
 * a record that failed authentication, type 0, no octets, and about how
 * many its plaintext had. */
struct tls_crypt;
typedef void tls_plain_fn(void *arg, enum xdir, uint8_t type, const uint8_t *,
    size_t, const struct smtp_pos *);
struct tls_crypt *tls_crypt_new(struct smtp_keylog *, tls_plain_fn *, void *arg);
void tls_crypt_free(struct tls_crypt *);
/* A hello's random; the server's with the version and suite chosen. */
void tls_crypt_hello(struct tls_crypt *, enum xdir, const uint8_t random[32],
    uint16_t version, uint16_t suite);
/* A protected record, whole (body is decrypted in place). */
void tls_crypt_record(struct tls_crypt *, struct tls_seen *, enum xdir,
    const uint8_t hdr[5], uint8_t *body, size_t len, const struct smtp_pos *);
/* TLS 1.3: dir's Finished (the application keys next) or KeyUpdate. */
void tls_crypt_next(struct tls_crypt *, enum xdir, bool key_update);
/* The end: held records get a last chance; t->decryption is final. */
void tls_crypt_finish(struct tls_crypt *, struct tls_seen *);

/* tls.c: one direction's reading of the TLS records after STARTTLS. */
struct tls_dir {
	uint8_t hdr[5], hlen;		/* the record header being read */
	uint8_t rtype;
	uint16_t rec_len, rec_left;	/* the record's length, and what is left */
	uint8_t alert[2], alen;
	bool ccs;			/* sent ChangeCipherSpec: encrypted since */
	bool finished;			/* TLS 1.3: the client's Finished went by */
	bool dead;			/* framing lost or never TLS: stopped */
	uint8_t hsh[4], hshlen;		/* the handshake message header */
	uint8_t hs_type;
	bool hs_keep;			/* a hello being assembled into hs */
	uint32_t hs_left, hs_len, hs_cap;
	uint8_t *hs;
	/* Decryption (NULL without a key log): protected records are
	 * assembled in rec and handed to cr whole. */
	struct tls_crypt *cr;
	bool protect;			/* the record being read is protected */
	uint8_t *rec;
	uint32_t rec_cap, rec_have;
};
void tls_feed(struct tls_dir *, struct tls_seen *, enum xdir, const uint8_t *, size_t,
    const struct smtp_pos *);
/* Decrypted handshake octets (inner type 22) of dir. */
void tls_hs_plain(struct tls_dir *, struct tls_seen *, enum xdir, const uint8_t *, size_t);
void tls_lost(struct tls_dir *);
/* tlscert.c: the first certificate of a Certificate message's chain. */
void tls_cert_read(struct tls_seen *, const uint8_t *der, size_t len);
void tls_dir_free(struct tls_dir *);

struct smtp_session {
	struct smtp_ctx *ctx;
	struct sess_record rec;
	struct sess_facts f;
	enum sphase phase;
	struct linebuf lb[2];
	bool resync[2];		/* accept only recognisable lines */
	bool saw_line[2];	/* a line of this direction was decoded */
	uint64_t skipped[2];	/* octets skipped while resynchronising */
	struct body body;
	int body_tx;		/* transaction the content belongs to */
	uint64_t chunk_left;
	bool chunk_last;
	bool after_chunk;	/* the next client line must be a command */
	bool auth_sasl;		/* AUTH in progress: client lines are SASL */
	bool srv_tls;		/* server side encrypted */
	bool implicit_tls;	/* TLS from the first byte (port 465) */
	struct tls_crypt *cr;	/* decryption, with a key log */
	bool tls_client_seen;
	struct tls_dir tlsd[2];	/* [XDIR_CLIENT], [XDIR_SERVER] */
	struct wstr helo_try;	/* the name of the HELO/EHLO awaiting its reply */
	int helo_prev_tx;	/* the transaction open when it was sent, or -1 */
	struct transcript tr;
	struct pending *q;
	size_t qcap, qhead, qlen;
	struct tx_facts *txf;
	size_t txcap;
	int cur_tx;
	struct cur_reply rp;
	uint64_t fed[2];
	uint64_t last_update_us;
	bool want_update;
	size_t rcap_lines;	/* rec.lines capacity (grows with the transcript) */
	struct smtp_session *next_spare;	/* in smtp_ctx.spare */
	struct spool pool;	/* last: a recycled session is zeroed up to here */
};

/* ---------------------------------------------------------------------
 * The session's parts, by job:
 *   session.c	 its life (new, feed, gap, end), its state, the record
 *   pair.c	 lines into commands and replies, the queue that pairs them
 *   verbs.c	 what each verb does: the verb table and its handlers,
 *		 transactions, message content
 *   transcript.c the transcript (read by the rules through tr_find)
 * ------------------------------------------------------------------ */

/* A session's anomaly counter: saturates at UINT32_MAX, never wraps (a
 * week-long hostile session can send more bare LFs than that). */
static inline void
san_add(uint32_t *c, uint64_t n)
{
	*c = n > (uint64_t)(UINT32_MAX - *c) ? UINT32_MAX : *c + (uint32_t)n;
}

/* Encrypted and unread: TLS began, and neither cleartext after STARTTLS
 * nor a key log let the decoder read the dialogue inside. */
static inline bool
tls_opaque(const struct smtp_session *s)
{
	return (s->rec.flags & SF_TLS) && !s->f.plain_after_tls && !s->f.tls_decrypted;
}

/* session.c */
const char *phase_name(enum sphase);
/* TLS begins (STARTTLS 220, or implicit TLS): decrypt with the key log. */
void tls_begin(struct smtp_session *);
/* The one door for every state change: why says what caused it (for
 * --trace-states).  Once encrypted (srv_tls), the session stays so: only
 * the cleartext-after-STARTTLS path, which clears srv_tls, leaves SP_TLS. */
void enter_state(struct smtp_session *, enum sphase to, const char *why);
/* Format an address for text: "192.0.2.1:25" or "[2001:db8::1]:25". */
void fmt_hostport(char *buf, size_t len, int family, const uint8_t ip[16],
    uint16_t port);
void fmt_host(char *buf, size_t len, int family, const uint8_t ip[16]);

/* transcript.c */
#define MASK		"********"	/* what AUTH data shows as */
int tr_init(struct transcript *, size_t max_lines);
void tr_free(struct transcript *);
/* Add a line; returns its seq (the line may later leave the ring). */
uint32_t tr_add(struct smtp_session *, enum xdir, uint8_t flags,
    const char *text, size_t len, const struct smtp_pos *);
/* Add a note (XDIR_NOTE), formatted. */
uint32_t tr_note(struct smtp_session *, const struct smtp_pos *,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The line with this seq, or NULL when never added or dropped. */
const struct xline *tr_find(const struct smtp_session *, uint32_t seq);
/* The lines kept, first ones then the last ones, into out[0..cap). */
size_t tr_copy(const struct transcript *, struct xline *out, size_t cap);

/* pair.c */
void client_line(struct smtp_session *, const struct smtp_pos *);
/* Count a line's anomalies (too long, cut, bare CR/LF, NUL); seq is its
 * transcript line. */
void line_anomalies(struct smtp_session *, const struct linebuf *, bool client,
    uint32_t seq);
void server_line(struct smtp_session *, const struct smtp_pos *);
/* Close the reply being assembled (a gap cut it: text NULL). */
void reply_end(struct smtp_session *, const struct span *text,
    const struct smtp_pos *);
/* Queue a command awaiting its reply; false when the queue is full. */
bool q_push(struct smtp_session *, const struct pending *);

/* ---------------------------------------------------------------------
 * verbs.c: one row per verb, in the manner of OpenSMTPD's commands[]
 * ------------------------------------------------------------------ */
#define VF_WIRE		0x01	/* a verb on the wire (else a pseudo command) */
#define VF_GROUP_END	0x02	/* ends a pipelined group (RFC 2920 3.1) */
#define VF_STRICT_BARE	0x04	/* resync: a command only without argument */
#define VF_STRICT_PATH	0x08	/* resync: a command only with a <path> */

/* What an on_command handler gets.  The common work (transcript,
 * anomalies, pipelining) is done; p is queued after the handler. */
struct verb_cmd {
	const struct cmd *c;
	struct pending *p;
	const struct smtp_pos *pos;
	uint32_t seq;		/* the command's transcript line */
};

/* What an on_reply handler gets; the complete reply is s->rp. */
struct verb_reply {
	const struct pending *pd;	/* the command answered */
	struct tx_record *t;		/* its transaction, or NULL */
	struct tx_facts *tf;		/* t's facts, or NULL */
	const struct span *text;	/* the last line's text; NULL after a gap */
	const struct smtp_pos *pos;
	bool ok;			/* 2xx */
};

struct verb {
	const char *name;
	void (*parse)(struct cmd *);	/* cmd_args_*(); NULL: pseudo */
	uint8_t flags;			/* VF_* */
	void (*on_command)(struct smtp_session *, const struct verb_cmd *);
	/* Returns false when the exchange goes on (AUTH's 334): the
	 * command stays at the head of the queue. */
	bool (*on_reply)(struct smtp_session *, const struct verb_reply *);
};
extern const struct verb verb_table[CMD_MAX];

struct tx_record *tx_at(struct smtp_session *, int ti);
/* The end of DATA content: marker says whether CRLF.CRLF was seen (its
 * octets, marker_len, are not content). */
void content_end(struct smtp_session *, const struct smtp_pos *, bool marker,
    uint64_t marker_len);
/* A BDAT chunk was consumed entirely. */
void chunk_end(struct smtp_session *, const struct smtp_pos *);
/* A BDAT chunk cut by the end of the session. */
void chunk_cut(struct smtp_session *, const struct smtp_pos *);

/* ---------------------------------------------------------------------
 * incident.c
 * ------------------------------------------------------------------ */
/* Run every rule over a finished session; fills s->rec.inc/ninc.  hm is
 * the client's cross-session memory (already counting this session), or
 * NULL when none is kept. */
void incidents_run(struct smtp_session *, const struct host_mem *hm);
void incident_free(struct incident *);
/* Did this session show the 8bitmime-abort pattern (for host memory)? */
bool abort_pattern(const struct smtp_session *, bool *offered8);

#endif
