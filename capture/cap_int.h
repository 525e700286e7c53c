/*
 * cap_int.h - private declarations shared by the capture/ sources (and their unit
 * tests); never included from outside capture/.
 *
 * The pipeline, one packet at a time:
 *   source.c  pcap handles, file merge, filter, packet numbers
 *   mapfile.c classic pcap files read from memory
 *   packet.c  link -> IP -> (fragments) -> TCP -> flow, anomaly counting
 *   link.c    link-type table, link header -> IPv4/IPv6 span
 *   ip.c      IPv4/IPv6 headers and the IPv6 extension-header walk
 *   ipfrag.c  bounded fragment reassembly
 *   tcp.c     TCP header
 *   flow.c    flow table, roles, sequence numbers -> offsets, reasm calls
 *   evidence.c  flagged flows' packets: per-flow buffers, -w, retained store
 * Each stage reports what it found in a small struct of spans into the
 * packet (no copies) and an enum result; only packet.c turns results into
 * anomaly counts, so each packet is counted once at the layer that failed.
 *
 * Nothing here is thread-safe: one struct cap is driven by one thread.
 */
#ifndef SMTPSCOPE_CAP_INT_H
#define SMTPSCOPE_CAP_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/queue.h>

#include <pcap/pcap.h>

#include "capture/capture.h"
#include "capture/reasm.h"

/* ---------------------------------------------------------------- defaults */

#define CAP_DEF_MAX_FLOWS	65536
#define CAP_DEF_MAX_OOO_FLOW	(256 * 1024)
#define CAP_DEF_MAX_OOO_TOTAL	(64 * 1024 * 1024)
#define CAP_DEF_IDLE_TIMEOUT	600
#define CAP_DEF_MAX_FRAG_BYTES	(4 * 1024 * 1024)
#define CAP_DEF_FRAG_TIMEOUT	30
#define CAP_DEF_SNAPLEN		262144
#define CAP_DEF_TIMEOUT_MS	100

#define US_PER_S		1000000ULL
/* Out-of-order data waits at most this long (capture time) for its hole. */
#define CAP_OOO_WAIT_US		(5 * US_PER_S)
/* An ACK for bytes never seen declares a gap after this long (capture time). */
#define CAP_ACK_WAIT_US		(1 * US_PER_S)
/* A closed flow's 4-tuple is remembered this long (TIME_WAIT-like). */
#define CAP_TIMEWAIT_US		(120 * US_PER_S)
/* Fragmented datagrams held at once, whatever their size. */
#define CAP_FRAG_MAX_DGRAMS	256
/* Segments further than this from the expected sequence are ignored. */
#define CAP_SEQ_WINDOW		(1L << 30)
/* Packets per cap_dispatch() call when the caller says "any". */
#define CAP_DISPATCH_BATCH	4096
/* SMTP over implicit TLS (RFC 8314): counted, never decoded. */
#define CAP_SMTPS_PORT		465
#define CAP_DEF_MAX_EV_FLOW	(1024 * 1024)
#define CAP_DEF_MAX_EV_TOTAL	(256 * 1024 * 1024)

/* ---------------------------------------------------------------- link.c */

enum l3_kind { L3_IPV4, L3_IPV6, L3_OTHER };

struct l3 {
	enum l3_kind kind;
	const uint8_t *p;	/* network-layer bytes as captured */
	size_t len;
};

enum link_res { LINK_OK, LINK_TRUNC };

struct link_type {
	int dlt;
	const char *name;
	enum link_res (*decode)(const uint8_t *, size_t caplen, struct l3 *);
};

/* The decoder for a DLT, or NULL when we do not support it. */
const struct link_type *link_lookup(int dlt);

/* ---------------------------------------------------------------- ip.c */

struct ip_pkt {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];
	uint8_t proto;		/* upper-layer protocol (after extensions) */
	const uint8_t *payload;	/* upper-layer bytes as captured */
	size_t len;		/* captured upper-layer bytes */
	size_t declared;	/* upper-layer bytes the header announces */
	bool cut;		/* captured < declared (snaplen) */
	/* A fragment (then payload is the fragment's data). */
	bool frag;
	bool frag_more;
	uint32_t frag_off;	/* in bytes */
	uint32_t frag_id;
};

enum ip_res {
	IP_RES_OK,
	IP_RES_TRUNC,		/* header cut short by the capture */
	IP_RES_MALFORMED,	/* header invalid */
	IP_RES_CHECKSUM		/* IPv4 checksum wrong; the packet is decoded */
};

enum ip_res ip_decode(const struct l3 *, struct ip_pkt *);
/*
 * Walk IPv6 extension headers from next-header value nh over p; avail bytes
 * are captured, declared bytes announced.  Stops at the first upper-layer
 * header or at a fragment header (then ip->frag is set).  Used by ip_decode
 * and again on a reassembled datagram.
 */
enum ip_res ip6_walk(struct ip_pkt *, uint8_t nh, const uint8_t *p,
    size_t avail, size_t declared, bool first);

/* ---------------------------------------------------------------- ipfrag.c */

struct frag_dgram;
TAILQ_HEAD(frag_q, frag_dgram);

struct ipfrag {
	struct frag_q q;	/* datagrams, oldest first */
	size_t ndgrams;
	size_t held;		/* buffer bytes allocated */
	size_t max_bytes;
	uint64_t timeout_us;
	uint64_t *anom;		/* the run's anomaly counters */
};

void ipfrag_init(struct ipfrag *, size_t max_bytes, unsigned timeout_s,
    uint64_t *anom);
/*
 * Add a fragment.  Returns 1 when the datagram is complete: the data and len outputs are
 * its upper-layer bytes, valid until ipfrag_done(*dg).  Returns 0 when it
 * was held, -1 when it was dropped (the anomaly is counted).
 */
int ipfrag_add(struct ipfrag *, const struct ip_pkt *, uint64_t now_us,
    struct frag_dgram **dg, const uint8_t **data, size_t *len);
void ipfrag_done(struct ipfrag *, struct frag_dgram *);
void ipfrag_expire(struct ipfrag *, uint64_t now_us);
void ipfrag_free(struct ipfrag *);

/* ---------------------------------------------------------------- tcp.c */

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PUSH	0x08
#define TH_ACK	0x10

struct tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *data;	/* payload as captured */
	size_t len;
};

enum tcp_res { TCP_RES_OK, TCP_RES_TRUNC, TCP_RES_MALFORMED };

/* avail bytes captured, declared bytes announced by the IP header. */
enum tcp_res tcp_decode(const uint8_t *, size_t avail, size_t declared,
    struct tcp_seg *);

/* ---------------------------------------------------------------- evidence.c */

/* Packets of one flow, back to back: struct ev_rec, then caplen bytes. */
struct ev_buf {
	uint8_t *p;
	size_t len;		/* bytes used */
	size_t size;		/* bytes allocated: what counts against the total */
	uint64_t npkt;
};

struct ev_kept;
TAILQ_HEAD(ev_kept_q, ev_kept);

/* Evidence state of one flow (inside struct flow). */
struct ev_flow {
	struct ev_buf b;	/* while the flow is open */
	uint64_t id;
	uint64_t cut;		/* packets not kept */
	bool full;		/* a cap was hit: keep nothing more (a prefix) */
	bool flagged;
	bool closed;
	struct ev_kept *kept;	/* closed and retained: its copy, or NULL */
};

/*
 * evwrite.c: one evidence file being written, pcap or pcapng.  A path
 * ending in ".pcapng" gets pcapng (RFC-draft "PCAP Next Generation"), with
 * each packet's number in the capture that was read as a packet comment
 * ("smtpscope: packet 535"), so the "#535" of a report is found in
 * Wireshark (frame.comment); any other path gets a classic pcap, as
 * tcpdump -w writes.
 */
struct ev_rec {			/* a packet's header in a buffer (memcpy) */
	uint64_t ts_us;
	uint64_t pkt;		/* its number in the input (cap_pos.pkt) */
	uint32_t caplen;
	uint32_t wirelen;
};
struct evw {
	FILE *fp;		/* owned: closed by evw_close */
	pcap_dumper_t *dump;	/* pcap: libpcap's writer on fp */
	bool ng;
};
bool evw_wants_ng(const char *path);
/* Start the file (the header blocks now); -1 with a message. */
int evw_open(struct evw *, FILE *fp, bool ng, pcap_t *dead, int dlt, int snaplen,
    char errbuf[CAP_ERRBUF_SIZE]);
void evw_packet(struct evw *, const struct ev_rec *, const uint8_t *data);
/* Flush; 0, or -1 with errno set. */
int evw_flush(struct evw *);
void evw_close(struct evw *);

struct evidence {
	bool on;		/* buffer packets at all */
	bool keep;		/* retain flagged flows after close */
	bool mixed;		/* the inputs' link types differ */
	int dlt, snaplen;	/* of the pcaps we write */
	size_t max_flow, max_total;
	size_t total;		/* bytes allocated for buffers and retained flows */
	struct ev_kept_q kept;	/* retained flows, oldest first */
	pcap_t *dead;		/* for pcap_dump_fopen */
	struct evw w;		/* -w, when w.fp != NULL */
	int fd;			/* -w: our descriptor (the dumper has a dup) */
	bool regular;		/* -w is a regular file: fsync it */
	int werr;		/* errno of the first -w write error, 0: none */
	struct ev_flow *closing;	/* in its close() callback now */
	/* The frame being decoded (packet.c): what a flow records. */
	const uint8_t *frame;
	size_t caplen, wirelen;
	uint64_t ts_us, pkt;
};

void ev_init(struct cap *);
/* After the sources are open; raw_dlt >= 0 for cap_open_raw(). */
int ev_open(struct cap *, int raw_dlt, char errbuf[CAP_ERRBUF_SIZE]);
void ev_free(struct cap *);
void ev_flow_start(struct cap *, struct ev_flow *, uint64_t id);
/* The current frame belongs to this open flow / this closed flow. */
void ev_packet(struct cap *, struct ev_flow *);
void ev_tail(struct cap *, struct ev_flow *);
/* After the consumer's close(): write/retain if flagged, else free. */
void ev_flow_closed(struct cap *, struct ev_flow *);
/* The flow struct is forgotten or reused: detach and free. */
void ev_flow_drop(struct cap *, struct ev_flow *);

/* ---------------------------------------------------------------- flow.c */

struct flow;
TAILQ_HEAD(flow_q, flow);
LIST_HEAD(flow_bucket, flow);

struct flow_table {
	struct flow_bucket *buckets;
	size_t nbuckets;	/* power of two */
	uint32_t seed;
	struct flow_q active;	/* open flows that carried payload, least recently active first */
	struct flow_q quiet;	/* open flows with no payload yet (a SYN flood's):
				 * the same order; evicted before any of active */
	struct flow_q closed;	/* closed 4-tuples kept for TIME_WAIT, oldest first */
	size_t nflows;		/* active + closed */
	size_t nalloc;		/* structs allocated (<= max_flows), one per flow */
	size_t max_flows;
	uint64_t next_id;
	/* The two directions' state of an open flow is allocated apart and
	 * given back at the close (flow.c); a few are kept for reuse. */
	void *spare_dirs;
	size_t nspare_dirs;
};

struct cap;
int flow_init(struct cap *, char errbuf[CAP_ERRBUF_SIZE]);
void flow_input(struct cap *, const struct ip_pkt *, const struct tcp_seg *,
    const struct cap_pos *);
void flow_expire(struct cap *, uint64_t now_us);
void flow_finish(struct cap *, enum cap_close_reason);
void flow_free(struct cap *);
/* The evidence state of the open flow with this id, or NULL. */
struct ev_flow *flow_ev_find(struct cap *, uint64_t id);

/* ---------------------------------------------------------------- source.c */

/* mapfile.c: a classic pcap file read from a read-only mapping (files
 * libpcap has opened and validated; see there for which ones).
 * mapfile_next: 1 and the packet in hdr and *data, 0 at the end, -1 and a
 * message as libpcap's in err. */
struct mapfile {
	const uint8_t *base;
	size_t len, off;
	size_t dropped, page;	/* pages before dropped are given back */
	bool swap, nsec, mapped;
	uint32_t snap, maxcap;
	struct pcap_pkthdr hdr;
};
int mapfile_init(struct mapfile *m, const uint8_t *base, size_t len, int dlt);
int mapfile_open(struct mapfile *m, int fd, uint64_t size, int dlt);
int mapfile_next(struct mapfile *m, const u_char **data, char *err, size_t errlen);
void mapfile_close(struct mapfile *m);

struct cap_source {
	char *name;		/* as given; "-" for stdin */
	pcap_t *p;
	const struct link_type *link;
	struct bpf_program prog;	/* the user's filter (files) */
	bool have_prog;
	/* The next packet, peeked (valid until the next pcap_next_ex). */
	struct pcap_pkthdr *hdr;
	const u_char *data;
	bool have_pkt;
	bool done;
	char *err;		/* read error to report, or NULL */
	uint64_t size;		/* file size, 0 if unknown */
	struct mapfile map;	/* when map.base: read from it, not libpcap */
};

struct cap {
	struct cap_config cfg;
	struct cap_consumer cons;
	struct cap_source *src;
	int nsrc;
	bool live;
	/* Live: the interface went away (or down) and is retried: when, how
	 * long to wait after a failed try, why it was lost; the kernel's
	 * counters of the handles closed so far. */
	bool lost;
	uint64_t retry_us;
	unsigned retry_s;
	char lost_why[CAP_ERRBUF_SIZE];
	uint64_t kbase_recv, kbase_drop, kbase_ifdrop;
	const struct link_type *link;	/* of the first source */
	uint8_t portmap[65536 / 8];	/* kept ports; all when nports == 0 */
	uint32_t *other_ports;	/* TCP packets per port not kept (saturating);
				   allocated when the first such packet comes */

	uint64_t pktno;		/* last packet number handed out */
	uint64_t now_us;	/* capture time: newest packet or tick */
	uint64_t next_tick_us;
	volatile sig_atomic_t brk;

	struct cap_stats st;
	struct ipfrag frag;
	struct flow_table ft;
	struct reasm_pool rpool;
	struct evidence ev;
};

/* ---------------------------------------------------------------- packet.c */

/* Number and count a packet read (before any filter). */
void cap_count(struct cap *, uint64_t ts_us, size_t wirelen);
/* One packet through link, IP, fragments, TCP and the flow table. */
void cap_input_link(struct cap *, const struct link_type *, uint64_t ts_us,
    const uint8_t *, size_t caplen, size_t wirelen);
/* Expire what is due as of now_us (idle flows, fragments, waits). */
void cap_advance(struct cap *, uint64_t now_us);

static inline bool
cap_port_kept(const struct cap *c, uint16_t port)
{
	return c->cfg.nports == 0 || (c->portmap[port >> 3] & (1u << (port & 7)));
}

static inline void
cap_anomaly(struct cap *c, enum cap_anomaly a)
{
	c->st.anomalies[a]++;
}

/*
 * Test entry points: a capture with no pcap source, fed packets of one link
 * type by the caller.  cap_input() numbers packets like a file would.
 */
int cap_open_raw(struct cap **, const struct cap_config *,
    const struct cap_consumer *, int dlt, char errbuf[CAP_ERRBUF_SIZE]);
void cap_input(struct cap *, uint64_t ts_us, const uint8_t *, size_t caplen,
    size_t wirelen);

#endif
