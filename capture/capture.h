/*
 * capture.h - the capture layer's only public header.
 *
 * The capture layer turns packets (live from an interface or replayed from
 * pcap/pcapng files) into ordered TCP byte streams and stream events.  It
 * knows libpcap, link layers, IPv4/IPv6 (with fragment reassembly), TCP and
 * flows; it knows nothing of SMTP.  A consumer (struct cap_consumer) gets
 * four events per flow: open, data, gap and close.
 *
 * Lifetimes: bytes handed to data() are valid only during the call; copy
 * what you keep.  The per-flow context returned by open() is the
 * consumer's; the layer passes it back unchanged and never frees it.
 *
 * Errors: functions that can fail return -1 and put one line (no newline)
 * in errbuf, in the manner of libpcap.  Nothing here prints or exits.
 */
#ifndef SMTPSCOPE_CAPTURE_H
#define SMTPSCOPE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_ERRBUF_SIZE 512
#define CAP_MAX_PORTS	32
#define CAP_MAX_FILES	64

/* Direction of a byte stream inside a flow. */
enum cap_dir {
	CAP_C2S = 0,	/* client to server */
	CAP_S2C = 1	/* server to client */
};

/* Why a flow was closed. */
enum cap_close_reason {
	CAP_CLOSE_FIN,		/* both sides sent FIN, or one FIN and then idle */
	CAP_CLOSE_RST,		/* a RST was seen */
	CAP_CLOSE_IDLE,		/* idle timeout */
	CAP_CLOSE_EVICTED,	/* flow table full: evicted (quiet flows first) */
	CAP_CLOSE_EOF,		/* still open at the end of the capture */
	CAP_CLOSE_INTERRUPTED	/* still open when the run was interrupted */
};
const char *cap_close_reason_name(enum cap_close_reason);

/*
 * Anomalies the network shows us.  Each is counted; none is fatal.
 * X(id, name, description)
 */
#define CAP_ANOMALIES(X)                                                        \
	X(LINK_TRUNC, "link-truncated", "link header cut short")                \
	X(IP_TRUNC, "ip-truncated", "IP header or payload cut short by snaplen") \
	X(IP_MALFORMED, "ip-malformed", "invalid IP header")                    \
	X(IP_CHECKSUM, "ip-checksum", "IPv4 header checksum wrong")              \
	X(FRAG_OVERLAP, "frag-overlap", "IP fragments overlapping with different data") \
	X(FRAG_TIMEOUT, "frag-timeout", "IP fragments never completed")          \
	X(FRAG_LIMIT, "frag-limit", "IP fragment memory cap hit")                \
	X(FRAG_MALFORMED, "frag-malformed", "invalid IP fragment")               \
	X(TCP_TRUNC, "tcp-truncated", "TCP header or payload cut short")         \
	X(TCP_MALFORMED, "tcp-malformed", "invalid TCP header")                  \
	X(TCP_OVERLAP, "tcp-overlap-conflict", "retransmitted bytes differ from the first copy") \
	X(TCP_GAP, "tcp-gap", "bytes never seen by the capture")                 \
	X(TCP_OOO_LIMIT, "tcp-ooo-limit", "out-of-order buffer cap hit")         \
	X(TCP_MIDSTREAM, "tcp-midstream", "flow joined without its handshake")  \
	X(TCP_ONE_SIDED, "tcp-one-sided", "only one direction of a flow seen")   \
	X(TCP_OUT_OF_WINDOW, "tcp-out-of-window", "segment far outside the expected window") \
	X(FLOW_LIMIT, "flow-limit", "flow table full: a flow was evicted")       \
	X(NON_TCP, "non-tcp", "IP packet that is not TCP")                       \
	X(UNKNOWN_ETHERTYPE, "unknown-ethertype", "link payload that is not IP")

enum cap_anomaly {
#define CAP_X_ENUM(id, name, desc) CAP_AN_##id,
	CAP_ANOMALIES(CAP_X_ENUM)
#undef CAP_X_ENUM
	CAP_AN_MAX
};
const char *cap_anomaly_name(enum cap_anomaly);
const char *cap_anomaly_desc(enum cap_anomaly);

/* Where in the capture an event happened. */
struct cap_pos {
	uint64_t ts_us;		/* packet time, microseconds since the epoch */
	uint64_t pkt;		/* 1-based packet number in the capture */
	uint64_t offset;	/* stream offset of the first byte (data, gap) */
	/* Data only: how many bytes of the other direction the packet that
	 * brought these bytes acknowledged (its ACK number as a stream
	 * offset).  Known from the other side's SYN+ACK, or, in a capture
	 * that holds one direction only, from this side's handshake ACK. */
	bool peer_ack_known;
	uint64_t peer_acked;
};

/* A flow as the consumer sees it at open. */
struct cap_flow_info {
	uint64_t id;		/* unique within a run, never reused */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t client_ip[16];	/* IPv4 in the first 4 bytes */
	uint8_t server_ip[16];
	uint16_t client_port, server_port;
	bool mid_stream;	/* no SYN seen: roles guessed from the port */
	uint64_t ts_us;		/* time of the first packet */
	uint64_t pkt;		/* number of the first packet */
};

/* Counters of one flow, handed over at close. */
struct cap_flow_end {
	enum cap_close_reason reason;
	uint64_t packets[2];	/* indexed by enum cap_dir */
	uint64_t bytes[2];	/* TCP payload bytes seen, retransmissions included */
	uint64_t gap_bytes[2];	/* bytes declared missing */
	uint64_t conflicts[2];	/* overlapping bytes that differed (first copy kept) */
};

struct cap_consumer {
	void *arg;
	/* A new flow.  Return a context for the other callbacks (may be NULL). */
	void *(*open)(void *arg, const struct cap_flow_info *);
	/* In-order bytes of one direction, each byte delivered exactly once. */
	void (*data)(void *flow, enum cap_dir, const uint8_t *, size_t,
	    const struct cap_pos *);
	/* len bytes of one direction will never come; data resumes after. */
	void (*gap)(void *flow, enum cap_dir, uint64_t len, const struct cap_pos *);
	/* The flow is over; the context is not used again. */
	void (*close)(void *flow, const struct cap_flow_end *, const struct cap_pos *);
};

/* Memory and time bounds.  Zero means "use the default". */
struct cap_limits {
	size_t max_flows;		/* default 65536 */
	size_t max_ooo_flow;		/* out-of-order bytes per direction, default 256 KiB */
	size_t max_ooo_total;		/* out-of-order bytes in all flows, default 64 MiB */
	unsigned idle_timeout;		/* seconds, default 600 (RFC 5321 4.5.3.2) */
	size_t max_frag_bytes;		/* IP fragment bytes held, default 4 MiB */
	unsigned frag_timeout;		/* seconds, default 30 */
};

struct cap_config {
	const char *files[CAP_MAX_FILES];	/* -r; "-" is stdin; merged by time */
	int nfiles;
	const char *iface;		/* -i; used when nfiles == 0 */
	const char *filter;		/* extra BPF expression, may be NULL */
	uint16_t ports[CAP_MAX_PORTS];	/* TCP ports kept (either side) */
	int nports;			/* 0: every TCP port */
	int snaplen;			/* 0: 262144 */
	int bufsize;			/* kernel buffer in bytes, 0: libpcap default */
	/* Live, Linux: share the interface's flows with the other members
	 * of this PACKET_FANOUT group (hashed by flow, both directions to
	 * the same member): one process per core. */
	bool fanout;
	uint16_t fanout_group;
	bool promisc;			/* promiscuous mode (default on; -p clears) */
	int timeout_ms;			/* live read timeout, 0: 100 */
	struct cap_limits limits;
	/*
	 * Evidence (see cap_flag_flow).  Packets are buffered per flow only
	 * when evidence_file or evidence_keep is set; otherwise it costs
	 * nothing.  Every input must have the same link type for -w.
	 */
	const char *evidence_file;	/* -w: flagged flows' packets, NULL: none */
	bool evidence_keep;		/* also retain flagged flows after their end,
					   for cap_evidence_write() (the UI's key) */
	size_t max_evidence_flow;	/* packet bytes kept per flow (its first
					   packets), 0: 1 MiB */
	size_t max_evidence_total;	/* all buffered and retained packet bytes,
					   0: 256 MiB */
	/*
	 * pcapng Decryption Secrets Blocks of the input files (read when the
	 * files are opened, before any packet), handed over as they are:
	 * type is the block's secrets type (0x544c534b: a TLS key log), the
	 * octets are the file's.  NULL: not read.
	 */
	void (*secrets)(void *arg, uint32_t type, const uint8_t *, size_t);
	void *secrets_arg;
};

struct cap_stats {
	uint64_t packets;		/* packets read */
	uint64_t bytes;			/* bytes on the wire (original length) */
	uint64_t tcp_packets;		/* TCP packets on the kept ports */
	uint64_t payload_bytes;		/* TCP payload delivered to the consumer */
	uint64_t flows;			/* flows opened */
	uint64_t flows_open;		/* flows open now */
	uint64_t anomalies[CAP_AN_MAX];
	bool have_kernel;		/* live capture: the next two are valid */
	uint64_t kernel_recv, kernel_drop, ifdrop;
	uint64_t file_bytes_total;	/* sum of the input files' sizes (0 if unknown) */
	uint64_t file_bytes_read;	/* how far through them we are */
	uint64_t first_ts_us, last_ts_us;
	uint64_t evidence_flows;	/* flagged flows whose packets were kept */
	uint64_t evidence_packets;	/* their packets kept (-w and/or retained) */
	uint64_t evidence_cut;		/* their packets not kept: a cap was hit */
	uint64_t evidence_evicted;	/* retained flows dropped to make room */
	uint64_t evidence_retained;	/* flows retained now (cap_evidence_write) */
	/* Port 465 (SMTP over implicit TLS, RFC 8314) when not a kept port:
	 * nothing to decode, so only counted. */
	uint64_t smtps_packets, smtps_bytes;	/* bytes: TCP payload */
	uint64_t smtps_connections;		/* SYNs to port 465 */
	/* TCP packets on no kept port (files only: a live capture's kernel
	 * filter never passes them); cap_other_ports() says which. */
	uint64_t other_tcp_packets;
	/* Live: times the interface went away or down (reading failed), and
	 * times it was opened again; cap_lost() says why while it is away. */
	uint64_t iface_lost, iface_back;
};

struct cap;

/* Fill *cfg with defaults (ports 25, 587, 2525; limits as above). */
void cap_config_init(struct cap_config *cfg);
/* Parse "25,587,2525" into cfg->ports. */
int cap_parse_ports(struct cap_config *cfg, const char *s, char errbuf[CAP_ERRBUF_SIZE]);

int cap_open(struct cap **, const struct cap_config *, const struct cap_consumer *,
    char errbuf[CAP_ERRBUF_SIZE]);
/* While a live interface is away: why ("The interface went down"); NULL
 * when capturing.  cap_dispatch() retries it (every 1 s, backing off to
 * 30 s) and goes on where it left off. */
const char *cap_lost(const struct cap *);
/* Selectable descriptor for live capture, -1 for files. */
int cap_fd(const struct cap *);
/* The link type's name ("EN10MB", ...). */
const char *cap_linktype(const struct cap *);
/*
 * Process up to max packets (0 or less: a buffer's worth).  Returns the
 * number processed, CAP_EOF at the end of every input, or -1 with errbuf set.
 */
#define CAP_EOF (-2)
int cap_dispatch(struct cap *, int max, char errbuf[CAP_ERRBUF_SIZE]);
/* Expire idle flows and fragments as of the given time (live: call often). */
void cap_tick(struct cap *, uint64_t now_us);
/* Ask a running cap_dispatch() to return early (signal-safe). */
void cap_breakloop(struct cap *);
/* Close every open flow with reason EOF or INTERRUPTED. */
void cap_finish(struct cap *, bool interrupted);
void cap_stats(struct cap *, struct cap_stats *);
void cap_close(struct cap *);

/*
 * Evidence: the packets of flows the consumer flags, from each flow's first
 * packet (its SYN when seen) to its last, as captured by libpcap (for an
 * IP datagram rebuilt from fragments, the frame that completed it).
 *
 * cap_flag_flow() marks a flow (by cap_flow_info.id) as evidence.  Call it
 * from inside the consumer's callbacks, close() included: after close()
 * returns, a flagged flow's packets are written to evidence_file (and
 * flushed) and, with evidence_keep, retained for cap_evidence_write(); an
 * unflagged flow's are freed.  Flagging a flow that has already ended does
 * nothing (its packets are gone).  Packets of a flagged flow that arrive
 * after its close (its last ACKs, within TIME_WAIT) are added too.
 *
 * cap_evidence_write() writes every retained flow to a new pcap at path
 * (merged in time order; a temp file beside it, renamed when complete).
 * Returns the number of flows written, or -1 with errbuf set.
 *
 * cap_evidence_close() finishes the -w file (flush, fsync, close); returns
 * -1 with errbuf set if any write to it failed, so the caller knows the
 * file is incomplete.  Call it after cap_finish() and before cap_close()
 * (which otherwise closes the file without reporting).
 *
 * All three, like the rest of this API, must be called from the thread
 * that drives the capture (cap_dispatch()): UI requests go through it.
 */
void cap_flag_flow(struct cap *, uint64_t flow_id);
int cap_evidence_write(struct cap *, const char *path, char errbuf[CAP_ERRBUF_SIZE]);
int cap_evidence_close(struct cap *, char errbuf[CAP_ERRBUF_SIZE]);

/* -D: print every capture device, one per line. */
/*
 * The n ports with the most packets among those counted in
 * other_tcp_packets, most first, into ports[] and counts[]; returns how
 * many were filled.
 */
size_t cap_other_ports(const struct cap *, uint16_t *ports, uint64_t *counts, size_t n);
/* libpcap's version line, for --version. */
const char *cap_lib_version(void);
int cap_list_devices(void (*fn)(void *arg, const char *name, const char *desc),
    void *arg, char errbuf[CAP_ERRBUF_SIZE]);

/*
 * --dump-streams: a consumer that writes each direction of each flow to its
 * own file in a directory, named as tcpflow 1.6 names them
 * ("SRCIP.SRCPORT-DSTIP.DSTPORT" with zero-padded fields), so that streams
 * can be compared byte for byte.
 */
struct dumpflow;
int dumpflow_open(struct dumpflow **, const char *dir, char errbuf[CAP_ERRBUF_SIZE]);
/* Prove that this process (as the user it now runs as) can create files in
 * the directory: create and remove one.  0, or -1 with errbuf. */
int dumpflow_check(struct dumpflow *, char errbuf[CAP_ERRBUF_SIZE]);
/* A consumer that writes to d; chain calls to next (may be NULL). */
void dumpflow_consumer(struct dumpflow *d, const struct cap_consumer *next,
    struct cap_consumer *out);
/* Append to the file of one direction's name plus suffix (decrypted TLS:
 * ".tls"), made 0600; one open per call.  0, or -1 (remembered for
 * dumpflow_close). */
int dumpflow_extra(struct dumpflow *, int family, const uint8_t *sip, uint16_t sport,
    const uint8_t *dip, uint16_t dport, const char *suffix, const uint8_t *, size_t);
/* Returns -1 with errbuf set if any write failed. */
int dumpflow_close(struct dumpflow *, char errbuf[CAP_ERRBUF_SIZE]);

#endif
