/*
 * rule_int.h - what the incident rules share: decode/incident.c (the
 * table, the runner, the helpers) and decode/rules_*.c (one file a family).
 *
 * A rule is bool fn(struct ictx *, struct finding *): it reads the
 * finished session (record, facts, host memory) through the context,
 * fills the finding with its texts and evidence when it finds something,
 * and returns true; it never touches the record itself.  The runner in
 * incident.c skips a rule whose stands_back types already fired, and turns
 * each finding into the session's incident.  Included by those files only
 * (and the incident unit test): nothing here is a decoder interface.
 */
#ifndef SMTPSCOPE_RULE_INT_H
#define SMTPSCOPE_RULE_INT_H

#include "dec_int.h"

#define MAX_CLAIMS	64	/* reply lines a session's rules may claim */
#define EV_CAND		64	/* evidence candidates per finding */

/* The session the rules look at, and what they learnt so far. */
/* The peers as the texts name them. */
struct peer_names {
	char client[160];	/* "192.0.2.1:40000 (helo.name)" */
	char server[160];	/* "192.0.2.2:25 (banner.name)" */
	char cip[64], sip[64];
};

struct ictx {
	struct smtp_session *s;
	const struct sess_record *r;
	const struct sess_facts *f;
	const struct host_mem *hm;
	bool named;		/* names is made */
	struct peer_names names;
	uint32_t claimed[MAX_CLAIMS];
	size_t nclaimed;
	uint64_t fired;		/* INC_BIT() of each type raised so far */
};

/* A small text builder: fixed buffer, silently cut when full. */
struct sb {
	char b[2048];
	size_t n;
};

/* Evidence candidates: transcript lines by priority (the runner keeps the
 * INC_MAX_EVIDENCE most important, in transcript order). */
struct evb {
	uint32_t seq[EV_CAND];
	uint8_t prio[EV_CAND];
	size_t n;
};

/* What a rule found: its texts and evidence, and the severity and
 * confidence, which start as the type's defaults. */
struct finding {
	struct sb sum, dia, fix;
	struct evb e;
	enum severity sev;
	enum confidence conf;
};

/* A rule: true when it found something, with the finding filled in.  It
 * may claim lines either way (claim_line), nothing else. */
typedef bool (*rule_fn)(struct ictx *, struct finding *);

/* The peers' names, made on a rule's first use: most sessions raise
 * nothing, and formatting four addresses for each was a tenth of the
 * rules' cost on a replay of short sessions. */
const struct peer_names *peers(struct ictx *);

/* The sides whose silence a rule reads: "8BITMIME was not offered" rests
 * on what the server did not send, "no QUIT" on what the client did not.
 * When the capture lost bytes of such a side (a gap, or the side never
 * captured), the runner lowers the finding's confidence one step and says
 * why: the missing bytes may have held what the rule did not see. */
#define RA_CLIENT	(1u << XDIR_CLIENT)
#define RA_SERVER	(1u << XDIR_SERVER)
#define RA_BOTH		(RA_CLIENT | RA_SERVER)

/* A row of the table: the type (record.h's INCIDENT_TYPES has its name,
 * family, severity, confidence and RFC basis), its function, the sides
 * whose silence it reads (RA_*), and the types it stands back for: when
 * one of those fired earlier in this session, the rule does not run
 * (they already explain what it would). */
struct rule {
	enum inc_type kind;
	rule_fn fn;
	unsigned reads_absence;
	uint64_t stands_back;
};
/* Indexed by type: rules run in INCIDENT_TYPES order. */
extern const struct rule inc_rules[INC_MAX];

/* ---------------------------------------------------------------------
 * incident.c: helpers for the rules
 * ------------------------------------------------------------------ */
void sb_add(struct sb *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* Wire text made safe for a sentence: printable ASCII, \xHH, cut at 120. */
const char *wire_text(const char *p, size_t len, char *buf, size_t blen);
const char *wire_str(const struct wstr *, char *buf, size_t blen);
/* A reply line explained by a specific rule; generic rules skip it. */
void claim_line(struct ictx *, uint32_t seq);
bool line_claimed(const struct ictx *, uint32_t seq);
/* Add a transcript line as evidence (NOSEQ is ignored), or a multi-line
 * reply, its first line at prio and the others one below. */
void ev_add(struct evb *, uint32_t seq, uint8_t prio);
void ev_range(struct evb *, uint32_t first, uint32_t last, uint8_t prio);
void evidence_hello(struct ictx *, struct evb *);
void evidence_tx_mail(struct evb *, const struct tx_facts *);
void evidence_abort(struct ictx *, struct evb *);

/* The parameter keyword (of those in params, "RET", "NOTIFY"...) that a
 * MAIL or RCPT reply refused, copied into kw: the one its text names, or,
 * for a reply that refuses parameters as such (455, 555, x.5.4), the
 * first; NULL when the reply is not a parameter refusal. */
const char *refused_param(int code, const struct enh_code *en,
    const struct wstr *text, const struct wstr *params, char *kw, size_t kwlen);
/* A DSN parameter (RFC 3461: RET, ENVID on MAIL; NOTIFY, ORCPT on RCPT). */
bool dsn_keyword(const char *kw);

/* The connection was closed by a peer (FIN, RST or idle timeout). */
bool sess_closed(const struct sess_record *);
/* EHLO accepted, then RSET and no MAIL, then QUIT or a close. */
bool abort_after_ehlo(const struct smtp_session *);
/* The same seen through encryption (no keys): after STARTTLS the client
 * sent one record the size of an EHLO, then at least two (RSET and QUIT:
 * EHLO then QUIT alone is a monitoring probe) all too short to hold a
 * MAIL FROM (at most 12 octets), and the connection closed.  Adds the
 * sizes to dia when dia is not NULL. */
bool abort_inside_tls(const struct ictx *, struct sb *dia);
/* Confidence of an abort finding from the client's other sessions; adds
 * the reason to dia. */
enum confidence abort_confidence(const struct ictx *, enum confidence def,
    bool check_offered, struct sb *dia);
/* "QUIT", "a TCP reset", ... */
const char *how_ended(const struct ictx *);
void caps_list(const struct sess_record *, struct sb *);
/* "5.7.1, Security or policy status: ..." for a reply's enhanced code. */
const char *code_class(const struct enh_code *, int code, char *buf, size_t len);
const char *class_advice(const struct enh_code *, int code);
const char *retry_word(int code);

/* ---------------------------------------------------------------------
 * The rules, by family, in table order
 * ------------------------------------------------------------------ */
/* rules_8bit.c */
bool r_8bitmime_abort(struct ictx *, struct finding *);
bool r_8bitmime_unoffered(struct ictx *, struct finding *);
bool r_body_rejected(struct ictx *, struct finding *);
bool r_8bit_undeclared(struct ictx *, struct finding *);
bool r_8bit_rejected(struct ictx *, struct finding *);
bool r_smtputf8_abort(struct ictx *, struct finding *);
bool r_smtputf8_rejected(struct ictx *, struct finding *);
bool r_smtputf8_unoffered(struct ictx *, struct finding *);
bool r_smtputf8_without_8bitmime(struct ictx *, struct finding *);
bool r_chunking_unoffered(struct ictx *, struct finding *);
bool r_binarymime_violation(struct ictx *, struct finding *);
/* rules_hello.c */
bool r_ehlo_rejected(struct ictx *, struct finding *);
bool r_greeting_refused(struct ictx *, struct finding *);
bool r_early_talker(struct ictx *, struct finding *);
bool r_abort_after_capabilities(struct ictx *, struct finding *);
bool r_capability_stripped(struct ictx *, struct finding *);
/* rules_tls.c */
bool r_starttls_refused(struct ictx *, struct finding *);
bool r_starttls_not_used(struct ictx *, struct finding *);
bool r_starttls_handshake_failed(struct ictx *, struct finding *);
bool r_starttls_injection(struct ictx *, struct finding *);
bool r_tls_version_obsolete(struct ictx *, struct finding *);
bool r_tls_server_obsolete(struct ictx *, struct finding *);
bool r_tls_certificate(struct ictx *, struct finding *);
bool r_tls_required(struct ictx *, struct finding *);
bool r_auth_problem(struct ictx *, struct finding *);
/* rules_tx.c */
bool r_size_exceeded(struct ictx *, struct finding *);
bool r_bare_lf(struct ictx *, struct finding *);
bool r_smuggling_eod(struct ictx *, struct finding *);
bool r_mail_rejected(struct ictx *, struct finding *);
bool r_mail_deferred(struct ictx *, struct finding *);
bool r_all_recipients_rejected(struct ictx *, struct finding *);
bool r_rcpt_rejected(struct ictx *, struct finding *);
bool r_rcpt_deferred(struct ictx *, struct finding *);
bool r_data_rejected(struct ictx *, struct finding *);
bool r_message_rejected(struct ictx *, struct finding *);
bool r_message_deferred(struct ictx *, struct finding *);
bool r_ndr_on_wire(struct ictx *, struct finding *);
bool r_dsn_unoffered(struct ictx *, struct finding *);
/* rules_conn.c */
bool r_reset_mid_data(struct ictx *, struct finding *);
bool r_server_shutdown(struct ictx *, struct finding *);
bool r_no_quit(struct ictx *, struct finding *);
bool r_pipelining_violation(struct ictx *, struct finding *);
bool r_reply_mismatch(struct ictx *, struct finding *);
bool r_line_too_long(struct ictx *, struct finding *);

#endif
