/*
 * fields.h - the field table of the session record: one row per output
 * field, with its name and how to read it, for every writer.
 *
 * A new output field is one row in decode/fields.c.  The JSON Lines session
 * object (json.c) walks rec_sess_fields in order, with rec_tx_fields for
 * each transaction, rec_inc_fields for each incident and rec_xline_fields
 * for each evidence line; the CSV report (csv.c) and the JSON report's
 * groups (report.c) pick fields of these tables by id, so a name is spelled
 * once; the UI takes its column titles (label) and the names of enum values
 * (record.h's name functions, which the getters here use too) from the same
 * place.  The ids are the order: a table is indexed by its enum, and that
 * order is the JSON key order.
 *
 * A row says how its value is read: by type and offsetof() for plain
 * members, or by a getter for what is computed (enum names, "null unless",
 * a bit of the flags).  rec_get() turns a scalar row into a struct rec_val
 * that points into the record: nothing is allocated, nothing is formatted;
 * formatting and escaping are the writer's (export.h, escape.h).
 *
 * Nested fields (objects, arrays, the anomaly counters) are rows too, so
 * the key order stays in the table; only the JSON writer descends into
 * them, and they have no CSV or UI form (see fields.c for why).
 */
#ifndef SMTPSCOPE_FIELDS_H
#define SMTPSCOPE_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* How a row's value is read from its record. */
enum rec_type {
	RT_UINT,	/* unsigned integer member of `size` octets */
	RT_UINT_NZ,	/* the same, null when 0 */
	RT_CODE,	/* int reply code, null when <= 0 (never seen) */
	RT_BOOL,	/* bool member */
	RT_FLAG,	/* unsigned member of `size` octets: true when v & arg */
	RT_WSTR,	/* struct wstr; absent: null */
	RT_CSTR,	/* const char * (or char *); NULL: null */
	RT_CHARS,	/* char[size], up to the first NUL */
	RT_TS,		/* uint64_t microseconds since the epoch */
	RT_ADDR,	/* uint8_t[16] address; arg: offset of the record's int family */
	RT_ENH,		/* struct enh_code; class 0: null */
	RT_GET,		/* computed by get() */
	/* Nested: JSON only. */
	RT_OBJECT,	/* the sub-record at off, written with the fields of sub */
	RT_ARRAY,	/* count() elements elem(rec, i): objects of sub, or item values */
	RT_COUNTS	/* uint32_t[arg] at off: { key(i): n } for every n != 0 */
};

/* A scalar value as writers see it; p and ip point into the record. */
enum rec_vkind {
	RV_NULL,
	RV_UINT,	/* u */
	RV_BOOL,	/* u: 0 or 1 */
	RV_TEXT,	/* p, len: any bytes (wire text): escape for the output */
	RV_NAME,	/* p, len: our own printable ASCII (enum names): no escaping needed */
	RV_TS,		/* u: microseconds */
	RV_ADDR,	/* family, ip */
	RV_ENH		/* enh */
};
struct rec_val {
	enum rec_vkind kind;
	uint64_t u;
	const char *p;
	size_t len;
	int family;
	const uint8_t *ip;
	struct enh_code enh;
};

struct rec_table;

struct rec_field {
	const char *name;	/* JSON key and CSV column title */
	enum rec_type type;
	size_t off;		/* offsetof() the member in the record */
	size_t size;		/* sizeof() the member */
	uint64_t arg;		/* RT_FLAG: mask; RT_ADDR: family's offset; RT_COUNTS: n */
	void (*get)(const void *rec, struct rec_val *);		/* RT_GET */
	size_t (*count)(const void *rec);	/* RT_ARRAY; RT_OBJECT: 0 writes null */
	const void *(*elem)(const void *rec, size_t i);		/* RT_ARRAY */
	const struct rec_table *sub;	/* RT_OBJECT; RT_ARRAY of objects */
	const struct rec_field *item;	/* RT_ARRAY of values */
	const char *(*key)(size_t i);	/* RT_COUNTS */
	const char *label;	/* the UI's title for it, NULL where the UI does not show it */
};

struct rec_table {
	const char *what;	/* "session", "transaction", ... for tests and messages */
	const struct rec_field *fields;
	size_t n;
};

/* The session record (struct sess_record), in JSON key order. */
enum sess_field {
	SFLD_UID, SFLD_TS_START, SFLD_TS_END, SFLD_CLIENT_IP, SFLD_CLIENT_PORT,
	SFLD_SERVER_IP, SFLD_SERVER_PORT, SFLD_PACKETS, SFLD_BYTES,
	SFLD_BANNER_CODE, SFLD_BANNER, SFLD_HELO, SFLD_EHLO, SFLD_HELO_FALLBACK,
	SFLD_CAPS, SFLD_CAPS_DROPPED, SFLD_SIZE_LIMIT, SFLD_TLS,
	SFLD_STARTTLS_REPLY_CODE, SFLD_TLS_HANDSHAKE, SFLD_AUTH, SFLD_AUTH_REPLY_CODE, SFLD_TX,
	SFLD_TX_DROPPED, SFLD_COMMANDS, SFLD_VERBS, SFLD_VERBS_DROPPED, SFLD_REPLIES, SFLD_LAST_REPLY_CODE,
	SFLD_LAST_REPLY_TEXT, SFLD_END, SFLD_STATE, SFLD_MID_STREAM, SFLD_GAP,
	SFLD_ONE_SIDED, SFLD_KERNEL_DROPS, SFLD_OVERLAP_CONFLICT, SFLD_ANOMALIES,
	SFLD_TRANSCRIPT_LINES, SFLD_TRANSCRIPT_DROPPED, SFLD_INCIDENTS,
	SFLD_MAX
};

/* A transaction (struct tx_record), in JSON key order. */
enum tx_field {
	TFLD_TS, TFLD_MAIL_FROM, TFLD_MAIL_PARAMS, TFLD_MAIL_REPLY_CODE,
	TFLD_BODY, TFLD_SIZE, TFLD_SMTPUTF8, TFLD_RCPT_TO, TFLD_RCPT_REPLIES,
	TFLD_RCPTS_DROPPED, TFLD_DATA, TFLD_DATA_REPLY_CODE, TFLD_BDAT,
	TFLD_BDAT_CHUNKS, TFLD_DATA_BYTES, TFLD_CONTENT_COMPLETE, TFLD_EIGHTBIT,
	TFLD_EIGHTBIT_BYTES, TFLD_FIRST_8BIT_OFFSET, TFLD_BARE_LF, TFLD_NUL,
	TFLD_CTE, TFLD_CHARSET, TFLD_CONTENT_TYPE, TFLD_REPLY_CODE,
	TFLD_REPLY_ENHANCED, TFLD_REPLY_TEXT, TFLD_QUEUE_ID, TFLD_MESSAGE_ID,
	TFLD_SUBJECT, TFLD_HDR_FROM, TFLD_HDR_TO,
	TFLD_MAX
};

/* An incident (struct incident), in JSON key order. */
enum inc_field {
	IFLD_TYPE, IFLD_SEVERITY, IFLD_CONFIDENCE, IFLD_SUMMARY, IFLD_DIAGNOSIS,
	IFLD_FIX, IFLD_RFC, IFLD_VISIBILITY, IFLD_EVIDENCE,
	IFLD_MAX
};

/* An evidence line (struct xline), in JSON key order. */
enum xline_field {
	XFLD_TS, XFLD_PKT, XFLD_DIR, XFLD_LINE, XFLD_TRUNCATED,
	XFLD_MAX
};

extern const struct rec_field rec_sess_fields[SFLD_MAX];
extern const struct rec_field rec_tx_fields[TFLD_MAX];
extern const struct rec_field rec_inc_fields[IFLD_MAX];
extern const struct rec_field rec_xline_fields[XFLD_MAX];
extern const struct rec_table rec_sess_table, rec_tx_table, rec_inc_table,
    rec_xline_table;

/* The value of a scalar row (not RT_OBJECT, RT_ARRAY, RT_COUNTS: those
 * give RV_NULL) of rec, which is the row's kind of record. */
void rec_get(const struct rec_field *, const void *rec, struct rec_val *);

/* The row of t named name, or NULL. */
const struct rec_field *rec_field_find(const struct rec_table *t, const char *name);

#endif
