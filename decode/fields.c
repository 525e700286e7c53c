/*
 * fields.c - the field tables of fields.h: every output field of a session
 * record, its transactions, incidents and evidence lines, one row each.
 *
 * Rows are indexed by their enum (designated initializers), so an id can
 * never name the wrong row and a unit test finds any id left without one.
 * Plain members are read through offsetof()/sizeof(); a getter is used only
 * where the value is computed, and the getters take enum names from
 * record.h's name functions, the same ones every other output uses.
 *
 * Why the nested rows are not flat fields: capabilities, transactions,
 * rcpt_to/rcpt_replies, incidents and evidence are arrays of any length, and
 * anomalies is a map whose keys are the non-zero counters; packets and bytes
 * are {client, server} pairs.  A CSV cell or a UI column holds one value, so
 * those rows describe the JSON shape only (RT_OBJECT, RT_ARRAY, RT_COUNTS,
 * each with the table of its elements), and keep their place in the key
 * order here.  The CSV report (csv.c) has its one computed column, the
 * incident's time, which needs both the incident and its session.
 *
 * Deliberately not here: formatting, escaping and output (json.c, csv.c,
 * report.c), and the UI's display rules (ui/fmt.c).
 */
#include <string.h>

#include "fields.h"

/* Rows, by kind.  M is a member of struct S. */
#define MSIZE(S, M)	sizeof(((S *)0)->M)
#define F_MEMBER(n, t, S, M) \
	{ .name = (n), .type = (t), .off = offsetof(S, M), .size = MSIZE(S, M) }
#define F_MEMBER_L(n, t, S, M, l) \
	{ .name = (n), .type = (t), .off = offsetof(S, M), .size = MSIZE(S, M), \
	  .label = (l) }
#define F_FLAG(n, S, M, mask) \
	{ .name = (n), .type = RT_FLAG, .off = offsetof(S, M), .size = MSIZE(S, M), \
	  .arg = (mask) }
#define F_GET(n, fn)	{ .name = (n), .type = RT_GET, .get = (fn) }
#define F_ARRAY(n, cnt, el, tab, it) \
	{ .name = (n), .type = RT_ARRAY, .count = (cnt), .elem = (el), .sub = (tab), \
	  .item = (it) }

/* ------------------------------------------------------------------------
 * Getters
 * --------------------------------------------------------------------- */

static void
val_name(struct rec_val *v, const char *s)
{
	v->kind = RV_NAME;
	v->p = s;
	v->len = strlen(s);
}

static void
val_uint(struct rec_val *v, uint64_t u)
{
	v->kind = RV_UINT;
	v->u = u;
}

/* An enum member M of S by record.h's name function fn. */
#define NAME_OF(get, S, M, fn)						\
static void get(const void *rec, struct rec_val *v)			\
{ val_name(v, fn(((const S *)rec)->M)); }

NAME_OF(get_end, struct sess_record, end, sess_end_name)
NAME_OF(get_state, struct sess_record, state, sess_state_name)
NAME_OF(get_severity, struct incident, severity, severity_name)
NAME_OF(get_confidence, struct incident, confidence, confidence_name)
#undef NAME_OF

/* BODY= as sent, null without one. */
static void
get_body(const void *rec, struct rec_val *v)
{
	const struct tx_record *t = rec;

	if (t->body != BODY_NONE)
		val_name(v, body_type_name(t->body));
}

static void
get_eightbit(const void *rec, struct rec_val *v)
{
	v->kind = RV_BOOL;
	v->u = ((const struct tx_record *)rec)->eightbit_bytes > 0;
}

/* Null when the content had no 8-bit octet (offset 0 is a real offset). */
static void
get_first_8bit(const void *rec, struct rec_val *v)
{
	const struct tx_record *t = rec;

	if (t->eightbit_bytes > 0)
		val_uint(v, t->first_8bit_off);
}

static void
get_dir(const void *rec, struct rec_val *v)
{
	switch (((const struct xline *)rec)->dir) {
	case XDIR_CLIENT:
		val_name(v, "C");
		break;
	case XDIR_SERVER:
		val_name(v, "S");
		break;
	default:
		val_name(v, "note");
		break;
	}
}

/* ------------------------------------------------------------------------
 * Arrays
 * --------------------------------------------------------------------- */

/* count and element accessors of an array member A, counted by N, of S */
#define ARRAY_OF(name, S, A, N)						\
static size_t n_##name(const void *rec) { return ((const S *)rec)->N; }	\
static const void *el_##name(const void *rec, size_t i)		\
{ return &((const S *)rec)->A[i]; }

ARRAY_OF(caps, struct sess_record, caps, ncaps)
ARRAY_OF(tx, struct sess_record, tx, ntx)
ARRAY_OF(inc, struct sess_record, inc, ninc)
ARRAY_OF(rcpt, struct tx_record, rcpts, nrcpts)
ARRAY_OF(verbs, struct sess_record, verbs, nverbs)
#undef ARRAY_OF

/* At most INC_MAX_EVIDENCE lines, whatever nevidence says. */
static size_t
n_evidence(const void *rec)
{
	size_t n = ((const struct incident *)rec)->nevidence;

	return n < INC_MAX_EVIDENCE ? n : INC_MAX_EVIDENCE;
}

static const void *
el_evidence(const void *rec, size_t i)
{
	return &((const struct incident *)rec)->evidence[i];
}

static const char *
anomaly_key(size_t i)
{
	return smtp_anomaly_name((enum smtp_anomaly)i);
}

/* Array items: the value of each element. */
static const struct rec_field cap_item = { .type = RT_WSTR, .size = sizeof(struct wstr) };

/* One verb of sess_record.verbs (a command id). */
static void
get_verb(const void *rec, struct rec_val *v)
{
	val_name(v, sess_verb_name(*(const uint8_t *)rec));
}
static const struct rec_field verb_item = { .type = RT_GET, .get = get_verb };
static const struct rec_field rcpt_addr_item =
    F_MEMBER(NULL, RT_WSTR, struct rcpt_record, addr);
static const struct rec_field rcpt_code_item =
    F_MEMBER(NULL, RT_CODE, struct rcpt_record, reply_code);

/* The TLS handshake seen after STARTTLS (struct tls_seen): names where
 * record.h knows them, else the number from the wire; null when not seen. */
static void
val_code(struct rec_val *v, bool seen, unsigned code, const char *(*name)(unsigned))
{
	const char *s;

	if (!seen)
		return;
	if ((s = name(code)) != NULL)
		val_name(v, s);
	else
		val_uint(v, code);
}

/* A code member M of struct tls_seen, named by fn, when flag F is set. */
#define TLS_CODE(get, F, M, fn)						\
static void get(const void *rec, struct rec_val *v)			\
{ val_code(v, ((const struct tls_seen *)rec)->F,			\
    ((const struct tls_seen *)rec)->M, fn); }

TLS_CODE(get_offered_max, client_hello, offered_max, tls_version_name)
TLS_CODE(get_offered_min, client_hello, offered_min, tls_version_name)
TLS_CODE(get_tls_version, server_hello, version, tls_version_name)
TLS_CODE(get_tls_suite, server_hello, suite, tls_suite_name)
TLS_CODE(get_alert, alert, alert_desc, tls_alert_name)
#undef TLS_CODE

#define T struct tls_seen
static void
get_alert_from(const void *rec, struct rec_val *v)
{
	if (((const T *)rec)->alert)
		val_name(v, ((const T *)rec)->alert_from == XDIR_CLIENT ? "client" :
		    "server");
}
static void
get_alert_level(const void *rec, struct rec_val *v)
{
	const T *t = rec;

	if (t->alert)
		val_name(v, t->alert_level == 2 ? "fatal" : t->alert_level == 1 ?
		    "warning" : "unknown");
}
#undef T

/* packets and bytes: uint64_t[2] indexed by enum xdir. */
static const struct rec_field dir_fields[] = {
	{ .name = "client", .type = RT_UINT, .off = XDIR_CLIENT * sizeof(uint64_t),
	  .size = sizeof(uint64_t) },
	{ .name = "server", .type = RT_UINT, .off = XDIR_SERVER * sizeof(uint64_t),
	  .size = sizeof(uint64_t) },
};
static const struct rec_table dir_table = { "client/server pair", dir_fields, 2 };

/* The client's plaintext sizes inferred from its encrypted records
 * (AEAD overhead known), or null. */
static size_t
sizes_known(const void *rec)
{
	return ((const struct tls_seen *)rec)->sizes_known &&
	    ((const struct tls_seen *)rec)->app_records[XDIR_CLIENT] > 0;
}
#define T struct tls_seen
static const struct rec_field plain_fields[] = {
	F_MEMBER("first", RT_UINT, T, c_first_len),
	F_MEMBER("largest_after_first", RT_UINT, T, c_after_max),
	F_MEMBER("records_after_first", RT_UINT, T, c_after),
};
#undef T
static const struct rec_table plain_table = { "TLS client plaintext sizes",
    plain_fields, sizeof(plain_fields) / sizeof(plain_fields[0]) };

/* The server certificate (TLS 1.2 and older), or null. */
static size_t
cert_seen(const void *rec)
{
	return ((const struct tls_seen *)rec)->cert;
}
/* An epoch-seconds member M of struct tls_seen as a timestamp. */
#define EPOCH_OF(get, M)						\
static void get(const void *rec, struct rec_val *v)			\
{ v->kind = RV_TS;							\
  v->u = (uint64_t)((const struct tls_seen *)rec)->M * 1000000; }

EPOCH_OF(get_not_before, cert_not_before)
EPOCH_OF(get_not_after, cert_not_after)
#undef EPOCH_OF
#define T struct tls_seen
static const struct rec_field cert_fields[] = {
	F_MEMBER("subject", RT_WSTR, T, cert_subject),
	F_MEMBER("issuer", RT_WSTR, T, cert_issuer),
	F_MEMBER("names", RT_WSTR, T, cert_names),
	F_GET("not_before", get_not_before),
	F_GET("not_after", get_not_after),
	F_MEMBER("self_signed", RT_BOOL, T, cert_self_signed),
};
#undef T
static const struct rec_table cert_table = { "TLS server certificate",
    cert_fields, sizeof(cert_fields) / sizeof(cert_fields[0]) };

/* What decryption made of the session: null without a key log. */
static void
get_decryption(const void *rec, struct rec_val *v)
{
	const char *n = tls_dec_name(((const struct tls_seen *)rec)->decryption);

	if (n != NULL)
		val_name(v, n);
}

/* null in JSON when no TLS record was seen. */
static size_t
tls_present(const void *rec)
{
	const struct tls_seen *t = &((const struct sess_record *)rec)->tls;

	return t->records[XDIR_CLIENT] + t->records[XDIR_SERVER] > 0;
}

#define T struct tls_seen
static const struct rec_field tls_fields[] = {
	F_MEMBER("client_hello", RT_BOOL, T, client_hello),
	F_GET("offered_max", get_offered_max),
	F_GET("offered_min", get_offered_min),
	F_MEMBER("suites_offered", RT_UINT, T, nsuites),
	F_MEMBER("sni", RT_WSTR, T, sni),
	F_MEMBER("alpn", RT_WSTR, T, alpn),
	F_MEMBER("server_hello", RT_BOOL, T, server_hello),
	F_GET("version", get_tls_version),
	F_GET("cipher", get_tls_suite),
	F_GET("alert", get_alert),
	F_GET("alert_from", get_alert_from),
	F_GET("alert_level", get_alert_level),
	{ .name = "records", .type = RT_OBJECT, .off = offsetof(T, records),
	  .size = MSIZE(T, records), .sub = &dir_table },
	{ .name = "app_records", .type = RT_OBJECT, .off = offsetof(T, app_records),
	  .size = MSIZE(T, app_records), .sub = &dir_table },
	{ .name = "app_bytes", .type = RT_OBJECT, .off = offsetof(T, app_bytes),
	  .size = MSIZE(T, app_bytes), .sub = &dir_table },
	{ .name = "client_plaintext", .type = RT_OBJECT, .sub = &plain_table,
	  .count = sizes_known },
	{ .name = "certificate", .type = RT_OBJECT, .sub = &cert_table,
	  .count = cert_seen },
	F_GET("decryption", get_decryption),
	{ .name = "decrypted_records", .type = RT_OBJECT, .off = offsetof(T, dec_records),
	  .size = MSIZE(T, dec_records), .sub = &dir_table },
	F_MEMBER("records_failed_authentication", RT_UINT, T, bad_records),
};
#undef T
static const struct rec_table tls_table = { "TLS handshake", tls_fields,
    sizeof(tls_fields) / sizeof(tls_fields[0]) };


/* ------------------------------------------------------------------------
 * The tables
 * --------------------------------------------------------------------- */

#define S struct sess_record
const struct rec_field rec_sess_fields[SFLD_MAX] = {
	[SFLD_UID] = F_MEMBER("uid", RT_CHARS, S, uid),
	[SFLD_TS_START] = { .name = "ts_start", .type = RT_TS,
	    .off = offsetof(S, ts_start_us), .size = MSIZE(S, ts_start_us),
	    .label = "Start" },
	[SFLD_TS_END] = F_MEMBER("ts_end", RT_TS, S, ts_end_us),
	[SFLD_CLIENT_IP] = { .name = "client_ip", .type = RT_ADDR,
	    .off = offsetof(S, client_ip), .size = MSIZE(S, client_ip),
	    .arg = offsetof(S, family), .label = "Client" },
	[SFLD_CLIENT_PORT] = F_MEMBER("client_port", RT_UINT, S, client_port),
	[SFLD_SERVER_IP] = { .name = "server_ip", .type = RT_ADDR,
	    .off = offsetof(S, server_ip), .size = MSIZE(S, server_ip),
	    .arg = offsetof(S, family), .label = "Server" },
	[SFLD_SERVER_PORT] = F_MEMBER("server_port", RT_UINT, S, server_port),
	[SFLD_PACKETS] = { .name = "packets", .type = RT_OBJECT,
	    .off = offsetof(S, packets), .size = MSIZE(S, packets), .sub = &dir_table },
	[SFLD_BYTES] = { .name = "bytes", .type = RT_OBJECT,
	    .off = offsetof(S, bytes), .size = MSIZE(S, bytes), .sub = &dir_table },
	[SFLD_BANNER_CODE] = F_MEMBER("banner_code", RT_CODE, S, banner_code),
	[SFLD_BANNER] = F_MEMBER("banner", RT_WSTR, S, banner),
	[SFLD_HELO] = { .name = "helo", .type = RT_WSTR, .off = offsetof(S, helo),
	    .size = MSIZE(S, helo), .label = "HELO" },
	[SFLD_EHLO] = F_MEMBER("ehlo", RT_BOOL, S, ehlo),
	[SFLD_HELO_FALLBACK] = F_MEMBER("helo_fallback", RT_BOOL, S, helo_fallback),
	[SFLD_CAPS] = F_ARRAY("capabilities", n_caps, el_caps, NULL, &cap_item),
	[SFLD_CAPS_DROPPED] = F_MEMBER("capabilities_dropped", RT_UINT, S, caps_dropped),
	[SFLD_SIZE_LIMIT] = F_MEMBER("size_limit", RT_UINT_NZ, S, size_limit),
	[SFLD_TLS] = F_FLAG("tls", S, flags, SF_TLS),
	[SFLD_STARTTLS_REPLY_CODE] = F_MEMBER("starttls_reply_code", RT_CODE, S,
	    starttls_reply_code),
	[SFLD_TLS_HANDSHAKE] = { .name = "tls_handshake", .type = RT_OBJECT,
	    .off = offsetof(S, tls), .size = MSIZE(S, tls), .sub = &tls_table,
	    .count = tls_present },
	[SFLD_AUTH] = F_MEMBER("auth", RT_WSTR, S, auth_used),
	[SFLD_AUTH_REPLY_CODE] = F_MEMBER("auth_reply_code", RT_CODE, S, auth_reply_code),
	[SFLD_TX] = { .name = "transactions", .type = RT_ARRAY, .count = n_tx,
	    .elem = el_tx, .sub = &rec_tx_table, .label = "Msg" },
	[SFLD_TX_DROPPED] = F_MEMBER("transactions_dropped", RT_UINT, S, tx_dropped),
	[SFLD_COMMANDS] = F_MEMBER("commands", RT_UINT, S, commands),
	[SFLD_VERBS] = F_ARRAY("verbs", n_verbs, el_verbs, NULL, &verb_item),
	[SFLD_VERBS_DROPPED] = F_MEMBER("verbs_dropped", RT_UINT, S, verbs_dropped),
	[SFLD_REPLIES] = F_MEMBER("replies", RT_UINT, S, replies),
	[SFLD_LAST_REPLY_CODE] = F_MEMBER("last_reply_code", RT_CODE, S, last_reply_code),
	[SFLD_LAST_REPLY_TEXT] = { .name = "last_reply_text", .type = RT_WSTR,
	    .off = offsetof(S, last_reply_text), .size = MSIZE(S, last_reply_text),
	    .label = "Reply" },
	[SFLD_END] = F_GET("end", get_end),
	[SFLD_STATE] = { .name = "state", .type = RT_GET, .get = get_state,
	    .label = "State" },
	[SFLD_MID_STREAM] = F_FLAG("mid_stream", S, flags, SF_MID_STREAM),
	[SFLD_GAP] = F_FLAG("gap", S, flags, SF_GAP),
	[SFLD_ONE_SIDED] = F_FLAG("one_sided", S, flags, SF_ONE_SIDED),
	[SFLD_KERNEL_DROPS] = F_FLAG("kernel_drops", S, flags, SF_KERNEL_DROPS),
	[SFLD_OVERLAP_CONFLICT] = F_FLAG("overlap_conflict", S, flags, SF_OVERLAP),
	[SFLD_ANOMALIES] = { .name = "anomalies", .type = RT_COUNTS,
	    .off = offsetof(S, anomalies), .size = MSIZE(S, anomalies),
	    .arg = SAN_MAX, .key = anomaly_key },
	[SFLD_TRANSCRIPT_LINES] = F_MEMBER("transcript_lines", RT_UINT, S, nlines),
	[SFLD_TRANSCRIPT_DROPPED] = F_MEMBER("transcript_dropped", RT_UINT, S,
	    lines_dropped),
	[SFLD_INCIDENTS] = { .name = "incidents", .type = RT_ARRAY, .count = n_inc,
	    .elem = el_inc, .sub = &rec_inc_table, .label = "Incident" },
};
#undef S

#define T struct tx_record
const struct rec_field rec_tx_fields[TFLD_MAX] = {
	[TFLD_TS] = F_MEMBER("ts", RT_TS, T, ts_us),
	[TFLD_MAIL_FROM] = F_MEMBER("mail_from", RT_WSTR, T, mail_from),
	[TFLD_MAIL_PARAMS] = F_MEMBER("mail_params", RT_WSTR, T, mail_params),
	[TFLD_MAIL_REPLY_CODE] = F_MEMBER("mail_reply_code", RT_CODE, T, mail_reply_code),
	[TFLD_BODY] = F_GET("body", get_body),
	[TFLD_SIZE] = F_MEMBER("size", RT_UINT_NZ, T, size_param),
	[TFLD_SMTPUTF8] = F_MEMBER("smtputf8", RT_BOOL, T, smtputf8),
	[TFLD_RCPT_TO] = F_ARRAY("rcpt_to", n_rcpt, el_rcpt, NULL, &rcpt_addr_item),
	[TFLD_RCPT_REPLIES] = F_ARRAY("rcpt_replies", n_rcpt, el_rcpt, NULL,
	    &rcpt_code_item),
	[TFLD_RCPTS_DROPPED] = F_MEMBER("rcpts_dropped", RT_UINT, T, rcpts_dropped),
	[TFLD_DATA] = F_MEMBER("data", RT_BOOL, T, data_cmd),
	[TFLD_DATA_REPLY_CODE] = F_MEMBER("data_reply_code", RT_CODE, T, data_reply_code),
	[TFLD_BDAT] = F_MEMBER("bdat", RT_BOOL, T, bdat),
	[TFLD_BDAT_CHUNKS] = F_MEMBER("bdat_chunks", RT_UINT, T, bdat_chunks),
	[TFLD_DATA_BYTES] = F_MEMBER("data_bytes", RT_UINT, T, data_bytes),
	[TFLD_CONTENT_COMPLETE] = F_MEMBER("content_complete", RT_BOOL, T,
	    content_complete),
	[TFLD_EIGHTBIT] = F_GET("eightbit", get_eightbit),
	[TFLD_EIGHTBIT_BYTES] = F_MEMBER("eightbit_bytes", RT_UINT, T, eightbit_bytes),
	[TFLD_FIRST_8BIT_OFFSET] = F_GET("first_8bit_offset", get_first_8bit),
	[TFLD_BARE_LF] = F_MEMBER("bare_lf", RT_UINT, T, bare_lf),
	[TFLD_NUL] = F_MEMBER("nul", RT_BOOL, T, nul_seen),
	[TFLD_CTE] = F_MEMBER("content_transfer_encoding", RT_WSTR, T, cte),
	[TFLD_CHARSET] = F_MEMBER("charset", RT_WSTR, T, charset),
	[TFLD_CONTENT_TYPE] = F_MEMBER("content_type", RT_WSTR, T, content_type),
	[TFLD_REPLY_CODE] = F_MEMBER("reply_code", RT_CODE, T, reply_code),
	[TFLD_REPLY_ENHANCED] = F_MEMBER("reply_enhanced", RT_ENH, T, enh),
	[TFLD_REPLY_TEXT] = F_MEMBER("reply_text", RT_WSTR, T, reply_text),
	/* For finding the message in the mail logs. */
	[TFLD_QUEUE_ID] = F_MEMBER_L("queue_id", RT_WSTR, T, queue_id, "queue id"),
	[TFLD_MESSAGE_ID] = F_MEMBER_L("message_id", RT_WSTR, T, message_id,
	    "Message-ID"),
	[TFLD_SUBJECT] = F_MEMBER_L("subject", RT_WSTR, T, subject, "Subject"),
	[TFLD_HDR_FROM] = F_MEMBER_L("header_from", RT_WSTR, T, hdr_from, "From"),
	[TFLD_HDR_TO] = F_MEMBER_L("header_to", RT_WSTR, T, hdr_to, "To"),
};
#undef T

#define I struct incident
const struct rec_field rec_inc_fields[IFLD_MAX] = {
	[IFLD_TYPE] = F_MEMBER("type", RT_CSTR, I, type),
	[IFLD_SEVERITY] = F_GET("severity", get_severity),
	[IFLD_CONFIDENCE] = F_GET("confidence", get_confidence),
	[IFLD_SUMMARY] = F_MEMBER("summary", RT_CSTR, I, summary),
	[IFLD_DIAGNOSIS] = F_MEMBER("diagnosis", RT_CSTR, I, diagnosis),
	[IFLD_FIX] = F_MEMBER("fix", RT_CSTR, I, fix),
	[IFLD_RFC] = F_MEMBER("rfc", RT_CSTR, I, rfc),
	[IFLD_VISIBILITY] = F_MEMBER("visibility", RT_CSTR, I, visibility),
	[IFLD_EVIDENCE] = F_ARRAY("evidence", n_evidence, el_evidence,
	    &rec_xline_table, NULL),
};
#undef I

#define X struct xline
const struct rec_field rec_xline_fields[XFLD_MAX] = {
	[XFLD_TS] = F_MEMBER("ts", RT_TS, X, ts_us),
	[XFLD_PKT] = F_MEMBER("pkt", RT_UINT, X, pkt),
	[XFLD_DIR] = F_GET("dir", get_dir),
	[XFLD_LINE] = F_MEMBER("line", RT_WSTR, X, text),
	[XFLD_TRUNCATED] = F_FLAG("truncated", X, flags, XL_TRUNCATED),
};
#undef X

const struct rec_table rec_sess_table = { "session", rec_sess_fields, SFLD_MAX };
const struct rec_table rec_tx_table = { "transaction", rec_tx_fields, TFLD_MAX };
const struct rec_table rec_inc_table = { "incident", rec_inc_fields, IFLD_MAX };
const struct rec_table rec_xline_table = { "evidence line", rec_xline_fields, XFLD_MAX };

/* ------------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

/* An unsigned member of 1, 2, 4 or 8 octets. */
static uint64_t
read_uint(const char *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, sizeof(u64));
		return u64;
	}
}

void
rec_get(const struct rec_field *fd, const void *rec, struct rec_val *v)
{
	const char *p = (const char *)rec + fd->off;
	const struct wstr *w;
	const char *s;
	int code;
	bool b;

	memset(v, 0, sizeof(*v));
	switch (fd->type) {
	case RT_UINT:
		val_uint(v, read_uint(p, fd->size));
		break;
	case RT_UINT_NZ:
		if ((v->u = read_uint(p, fd->size)) != 0)
			v->kind = RV_UINT;
		break;
	case RT_CODE:
		memcpy(&code, p, sizeof(code));
		if (code > 0)
			val_uint(v, (uint64_t)code);
		break;
	case RT_BOOL:
		memcpy(&b, p, sizeof(b));
		v->kind = RV_BOOL;
		v->u = b;
		break;
	case RT_FLAG:
		v->kind = RV_BOOL;
		v->u = (read_uint(p, fd->size) & fd->arg) != 0;
		break;
	case RT_WSTR:
		w = (const struct wstr *)(const void *)p;
		if (w->p != NULL) {
			v->kind = RV_TEXT;
			v->p = w->p;
			v->len = w->len;
		}
		break;
	case RT_CSTR:
		memcpy(&s, p, sizeof(s));
		if (s != NULL) {
			v->kind = RV_TEXT;
			v->p = s;
			v->len = strlen(s);
		}
		break;
	case RT_CHARS:
		v->kind = RV_TEXT;
		v->p = p;
		v->len = strnlen(p, fd->size);
		break;
	case RT_TS:
		v->kind = RV_TS;
		memcpy(&v->u, p, sizeof(v->u));
		break;
	case RT_ADDR:
		v->kind = RV_ADDR;
		memcpy(&v->family, (const char *)rec + fd->arg, sizeof(v->family));
		v->ip = (const uint8_t *)p;
		break;
	case RT_ENH:
		memcpy(&v->enh, p, sizeof(v->enh));
		if (v->enh.cls != 0)
			v->kind = RV_ENH;
		break;
	case RT_GET:
		fd->get(rec, v);
		break;
	case RT_OBJECT:
	case RT_ARRAY:
	case RT_COUNTS:
		break;
	}
}

const struct rec_field *
rec_field_find(const struct rec_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->fields[i].name != NULL && strcmp(t->fields[i].name, name) == 0)
			return &t->fields[i];
	return NULL;
}
