/*
 * cause.h - incidents grouped by root cause, for every output that
 * summarises a run: the reports, batch mode and the live view.
 *
 * A cause is an incident type plus the host that must change for it
 * (inc_type_side(): the server for "does not offer 8BITMIME" or "refuses
 * these recipients", the client for "sends bare LF"), and for a server its
 * port.  An admin then reads "notes01 (192.0.2.26:25) does not offer
 * 8BITMIME: 35 sessions from 26 clients", once, with the diagnosis and the
 * fix of the first such incident, the affected peers with counts, first
 * and last seen, the refused addresses with their reply codes and counts,
 * and the uids of the sessions.
 *
 * Memory is bounded whatever the run: at most CAUSE_MAX causes (further
 * incidents of new causes are counted as dropped), CAUSE_PEERS peers and
 * CAUSE_REFUSALS addresses per cause (the rest counted as "other"),
 * CAUSE_UIDS session uids per cause (the rest counted), and wire strings
 * cut at CAUSE_MAX_TEXT bytes.  Strings are kept raw (wire bytes): each
 * output escapes them its own way.  Not thread-safe: one set per user.
 */
#ifndef SMTPSCOPE_CAUSE_H
#define SMTPSCOPE_CAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fields.h"
#include "record.h"

#define CAUSE_MAX	2048
#define CAUSE_PEERS	32
#define CAUSE_REFUSALS	16
#define CAUSE_UIDS	1000
#define CAUSE_MAX_TEXT	1024

struct cause_peer {
	uint8_t ip[16];		/* the other side (same family as the cause) */
	uint64_t n;		/* incidents with it */
};

/* A refused address: MAIL FROM or RCPT TO, with the reply that refused it. */
struct cause_refusal {
	bool mail;		/* MAIL FROM (else RCPT TO) */
	int code;
	struct enh_code enh;
	struct wstr addr;	/* owned, raw */
	uint64_t n;
};

struct cause {
	/* the key: what, and who must change */
	enum inc_type kind;
	enum inc_side side;
	int family;
	uint8_t ip[16];
	uint16_t port;		/* the server's port; 0 for a client */
	struct wstr name;	/* its banner name or HELO, raw; absent: p NULL */
	/* how often, how bad */
	enum severity severity;		/* highest seen */
	enum confidence confidence;	/* highest seen */
	uint64_t count;			/* incidents (at most one per session) */
	uint64_t first_us, last_us;
	struct cause_peer peers[CAUSE_PEERS];
	size_t npeers;
	uint64_t peers_other;		/* incidents with peers not listed */
	struct cause_refusal refusals[CAUSE_REFUSALS];
	size_t nrefusals;
	uint64_t refusals_other;	/* refusals of addresses not listed */
	char (*uids)[sizeof(((struct sess_record *)0)->uid)];
	size_t nuids, cap_uids;
	uint64_t uids_dropped;
	/* the example: the first session that showed it */
	struct {
		char uid[sizeof(((struct sess_record *)0)->uid)];
		uint8_t client_ip[16], server_ip[16];
		uint16_t client_port, server_port;
		uint64_t start_us, end_us;
		struct wstr helo;
		/* what finds its message in the mail logs: the members
		 * cause_msg_fields name, from the decisive transaction first,
		 * then any other; nothing else of msg is set */
		struct tx_record msg;
		struct incident inc;	/* texts and evidence owned */
	} ex;
};

/* The log keys an example keeps (fields.h rows of rec_tx_fields, all
 * RT_WSTR): queue id, Message-ID, Subject, From, To. */
extern const enum tx_field cause_msg_fields[5];

struct cause_set;

struct cause_set *cause_set_new(void);
void cause_set_free(struct cause_set *);
/*
 * Add a finished session's incidents.  news[] (may be NULL) receives the
 * causes this session showed first, up to maxnews; returns how many.
 */
size_t cause_add(struct cause_set *, const struct sess_record *,
    const struct cause **news, size_t maxnews);
/* The cause an incident of this record belongs to, or NULL. */
const struct cause *cause_of(const struct cause_set *, const struct sess_record *,
    const struct incident *);
/* Report order: severity, count (both highest first), type, host. */
const struct cause **cause_sorted(const struct cause_set *, size_t *n, bool *nomem);
size_t cause_count(const struct cause_set *);
/* Incidents not grouped: past CAUSE_MAX causes, or out of memory. */
uint64_t cause_dropped(const struct cause_set *);
uint64_t cause_nomem(const struct cause_set *);
/* Distinct peers: npeers, and "+" when some were not listed. */
bool cause_peers_complete(const struct cause *);

#endif
