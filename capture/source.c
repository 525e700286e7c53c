/*
 * source.c - where packets come from: pcap/pcapng files (several merged in
 * timestamp order as one capture) or a live interface.
 *
 * Files.  Each -r file ("-" is standard input) is opened with microsecond
 * timestamps whatever its resolution, and its next packet is peeked; the
 * merge always takes the earliest peeked packet (ties go to the file given
 * first).  Packet numbers count every packet read, so with one file they
 * are Wireshark's frame numbers.  For that reason files are NOT filtered by
 * BPF in libpcap: the port selection is done by packet.c after decoding,
 * and a user's BPF expression is compiled per file and applied with
 * pcap_offline_filter() after numbering, so even then numbers still match
 * Wireshark's.  A read error (typically a last record cut short) is
 * reported by cap_dispatch() returning -1 after every earlier packet of
 * that file has been delivered; the file is then finished and further
 * cap_dispatch() calls carry on with the other files, so the caller may
 * treat it as a warning.
 *
 * Live.  pcap_create/pcap_activate with snaplen, promiscuous mode, timeout
 * and buffer size; activation warnings do not fail cap_open() but are left
 * in errbuf (which is otherwise emptied on success), errors do.  The kernel
 * filter is "tcp and (port A or port B ...)" (plus non-first fragments,
 * which carry no ports) ANDed with the user's expression.
 *
 * Deliberately not here: decoding (packet.c) and printing anything.
 */
#include <sys/stat.h>
#include <sys/socket.h>
#if defined(__linux__)
#include <linux/if_packet.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap_int.h"

/* ---------------------------------------------------------------- config */

static const uint16_t default_ports[] = { 25, 587, 2525 };

void
cap_config_init(struct cap_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(default_ports) / sizeof(default_ports[0]); i++)
		cfg->ports[i] = default_ports[i];
	cfg->nports = (int)i;
	cfg->limits.max_flows = CAP_DEF_MAX_FLOWS;
	cfg->limits.max_ooo_flow = CAP_DEF_MAX_OOO_FLOW;
	cfg->limits.max_ooo_total = CAP_DEF_MAX_OOO_TOTAL;
	cfg->limits.idle_timeout = CAP_DEF_IDLE_TIMEOUT;
	cfg->limits.max_frag_bytes = CAP_DEF_MAX_FRAG_BYTES;
	cfg->limits.frag_timeout = CAP_DEF_FRAG_TIMEOUT;
	cfg->max_evidence_flow = CAP_DEF_MAX_EV_FLOW;
	cfg->max_evidence_total = CAP_DEF_MAX_EV_TOTAL;
	cfg->promisc = true;	/* as tcpdump: -p turns it off */
}

/* "25,587,2525"; "all" or "0" keeps every TCP port (nports 0). */
int
cap_parse_ports(struct cap_config *cfg, const char *s, char errbuf[CAP_ERRBUF_SIZE])
{
	char buf[16];
	const char *p, *comma, *errstr;
	size_t n;
	long long v;
	int i, np = 0;
	uint16_t ports[CAP_MAX_PORTS];

	if (strcmp(s, "all") == 0 || strcmp(s, "0") == 0) {
		cfg->nports = 0;
		return 0;
	}
	for (p = s;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(buf)) {
			snprintf(errbuf, CAP_ERRBUF_SIZE,
			    "bad port list '%s': expected numbers separated by commas", s);
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		v = strtonum(buf, 1, 65535, &errstr);
		if (errstr != NULL) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "bad port '%s': %s", buf, errstr);
			return -1;
		}
		for (i = 0; i < np && ports[i] != v; i++)
			;
		if (i == np) {
			if (np == CAP_MAX_PORTS) {
				snprintf(errbuf, CAP_ERRBUF_SIZE,
				    "too many ports in '%s' (at most %d)", s, CAP_MAX_PORTS);
				return -1;
			}
			ports[np++] = (uint16_t)v;
		}
		if (comma == NULL)
			break;
	}
	memcpy(cfg->ports, ports, sizeof(ports[0]) * (size_t)np);
	cfg->nports = np;
	return 0;
}

/* ---------------------------------------------------------------- open */

static const char *
src_label(const char *name)
{
	return strcmp(name, "-") == 0 ? "(stdin)" : name;
}

static void
link_name(int dlt, char *buf, size_t len)
{
	const char *n = pcap_datalink_val_to_name(dlt);

	snprintf(buf, len, "%s (%d)", n != NULL ? n : "unknown", dlt);
}

/*
 * pcapng Decryption Secrets Blocks (pcapng spec, section 4.7), which
 * libpcap skips: a walk over the blocks of a regular file with pread,
 * before libpcap reads it.  Writers put the secrets before the packets
 * that need them (editcap --inject-secrets: right after the header), so
 * the walk stops at the first packet block unless it found secrets by
 * then; a file that carries them (dumpcap can add more as it goes) is
 * walked to its end.  Every length is checked against the block and the
 * file; a block that does not add up ends the walk (libpcap then says
 * what is wrong with the file, if anything).
 */
#define PCAPNG_SHB	0x0a0d0d0aU
#define PCAPNG_DSB	0x0000000aU
#define DSB_MAX		(1024 * 1024)		/* secrets per block */
#define DSB_TOTAL_MAX	(16 * 1024 * 1024)	/* per file */

static uint32_t
u32_order(const uint8_t *b, bool be)
{
	return be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] :
	    (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static void
scan_secrets(const struct cap *c, int fd, uint64_t size)
{
	uint8_t h[16], *data;
	uint64_t off = 0, total = 0;
	bool be = false, found = false;

	if (c->cfg.secrets == NULL || pread(fd, h, 4, 0) != 4 ||
	    u32_order(h, false) != PCAPNG_SHB)
		return;
	while (off + 12 <= size) {
		uint32_t type, len;

		if (pread(fd, h, 12, (off_t)off) != 12)
			return;
		type = u32_order(h, be);
		if (type == PCAPNG_SHB) {	/* a section: its byte order */
			if (h[8] == 0x1a && h[9] == 0x2b && h[10] == 0x3c && h[11] == 0x4d)
				be = true;
			else if (h[8] == 0x4d && h[9] == 0x3c && h[10] == 0x2b && h[11] == 0x1a)
				be = false;
			else
				return;
		}
		len = u32_order(h + 4, be);
		if (len < 12 || len % 4 != 0 || len > size - off)
			return;
		if ((type == 2 || type == 3 || type == 6) && !found)
			return;			/* packets, and no secrets before */
		if (type == PCAPNG_DSB && len >= 20 && pread(fd, h, 16, (off_t)off) == 16) {
			uint32_t st = u32_order(h + 8, be), sl = u32_order(h + 12, be);

			if (sl <= len - 20 && sl <= DSB_MAX && total + sl <= DSB_TOTAL_MAX &&
			    (data = malloc(sl > 0 ? sl : 1)) != NULL) {
				if (pread(fd, data, sl, (off_t)(off + 16)) == (ssize_t)sl) {
					c->cfg.secrets(c->cfg.secrets_arg, st, data, sl);
					found = true;
					total += sl;
				}
				/* Secrets: not left in freed memory. */
				explicit_bzero(data, sl);
				free(data);
			}
		}
		off += len;
	}
}

static int
open_file(struct cap *c, struct cap_source *s, char errbuf[CAP_ERRBUF_SIZE])
{
	char pe[PCAP_ERRBUF_SIZE], ln[64];
	struct stat sb;
	FILE *fp;
	int fd;

	if (strcmp(s->name, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(s->name, O_RDONLY);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot read '%s': %s",
		    src_label(s->name), strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot read '%s': %s",
		    src_label(s->name), strerror(EISDIR));
		close(fd);
		return -1;
	}
	if (S_ISREG(sb.st_mode)) {
		s->size = (uint64_t)sb.st_size;
		if (sb.st_size == 0) {
			snprintf(errbuf, CAP_ERRBUF_SIZE,
			    "'%s' is empty, not a pcap or pcapng capture",
			    src_label(s->name));
			close(fd);
			return -1;
		}
	}
	if (S_ISREG(sb.st_mode))
		scan_secrets(c, fd, (uint64_t)sb.st_size);
	if ((fp = fdopen(fd, "rb")) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot read '%s': %s",
		    src_label(s->name), strerror(errno));
		close(fd);
		return -1;
	}
	pe[0] = '\0';
	s->p = pcap_fopen_offline_with_tstamp_precision(fp,
	    PCAP_TSTAMP_PRECISION_MICRO, pe);
	if (s->p == NULL) {
		fclose(fp);
		if (strstr(pe, "unknown file format") != NULL ||
		    strstr(pe, "not a pcap") != NULL)
			snprintf(errbuf, CAP_ERRBUF_SIZE,
			    "'%s' is not a pcap or pcapng capture", src_label(s->name));
		else if (strstr(pe, "truncated") != NULL)
			snprintf(errbuf, CAP_ERRBUF_SIZE,
			    "'%s': truncated capture file header", src_label(s->name));
		else
			snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot read '%s': %s",
			    src_label(s->name), pe);
		return -1;
	}
	s->link = link_lookup(pcap_datalink(s->p));
	if (s->link == NULL) {
		link_name(pcap_datalink(s->p), ln, sizeof(ln));
		snprintf(errbuf, CAP_ERRBUF_SIZE, "'%s': unsupported link type %s",
		    src_label(s->name), ln);
		return -1;
	}
	/* The plain classic format, from a regular file: read from memory
	 * (mapfile.c), unless SMTPSCOPE_READER=libpcap asks for libpcap's
	 * reader (to compare the two). */
	if (S_ISREG(sb.st_mode)) {
		const char *r = getenv("SMTPSCOPE_READER");

		if (r == NULL || strcmp(r, "libpcap") != 0)
			(void)mapfile_open(&s->map, fileno(fp), s->size,
			    pcap_datalink(s->p));
	}
	if (c->cfg.filter != NULL && c->cfg.filter[0] != '\0') {
		if (pcap_compile(s->p, &s->prog, c->cfg.filter, 1,
		    PCAP_NETMASK_UNKNOWN) == -1) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "bad filter '%s': %s",
			    c->cfg.filter, pcap_geterr(s->p));
			return -1;
		}
		s->have_prog = true;
	}
	return 0;
}

/* Append to buf; false if it did not fit. */
static bool
append(char *buf, size_t len, const char *s)
{
	return strlcat(buf, s, len) < len;
}

/* "(tcp and (port 25 or ...) or <fragments>) and (USER)" */
static int
live_filter(const struct cap *c, char *buf, size_t len)
{
	char num[32];
	int i;
	bool ok = true;

	buf[0] = '\0';
	if (c->cfg.nports > 0) {
		ok = append(buf, len, "((tcp and (");
		for (i = 0; i < c->cfg.nports; i++) {
			snprintf(num, sizeof(num), "%sport %u", i > 0 ? " or " : "",
			    c->cfg.ports[i]);
			ok = ok && append(buf, len, num);
		}
		if (!cap_port_kept(c, CAP_SMTPS_PORT))	/* counted only */
			ok = ok && append(buf, len, " or port 465");
		/* Non-first fragments have no ports; packet.c sorts them out. */
		ok = ok && append(buf, len, ")) or (ip and ip[6:2] & 0x1fff != 0)"
		    " or (ip6 and ip6[6] = 44))");
	} else
		ok = append(buf, len, "(tcp or (ip and ip[6:2] & 0x1fff != 0)"
		    " or (ip6 and ip6[6] = 44))");
	if (c->cfg.filter != NULL && c->cfg.filter[0] != '\0') {
		ok = ok && append(buf, len, " and (");
		ok = ok && append(buf, len, c->cfg.filter);
		ok = ok && append(buf, len, ")");
	}
	return ok ? 0 : -1;
}

/*
 * Join the kernel's PACKET_FANOUT group: the kernel hashes each packet's
 * flow (symmetrically: both directions of a connection go to the same
 * member) and hands it to one socket of the group, so N processes each
 * see whole sessions, a 1/N share of them, with no dispatcher of ours.
 * Fragments are reassembled before the hash (FLAG_DEFRAG) so they follow
 * their flow.
 */
static int
fanout_join(pcap_t *p, uint16_t group, char *err, size_t len)
{
#if defined(__linux__) && defined(PACKET_FANOUT)
	/* The mode in the high 16 bits: unsigned, as FLAG_DEFRAG is 0x8000. */
	uint32_t u = (uint32_t)group |
	    (uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
	int v;

	memcpy(&v, &u, sizeof(v));

	if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)) == -1) {
		snprintf(err, len, "cannot join fanout group %u: %s%s", group,
		    strerror(errno), errno == EINVAL ? " (the group's other "
		    "members may use another fanout mode)" : "");
		return -1;
	}
	return 0;
#else
	(void)p;
	snprintf(err, len, "fanout group %u: PACKET_FANOUT is Linux's", group);
	return -1;
#endif
}

static int
open_live(struct cap *c, struct cap_source *s, char errbuf[CAP_ERRBUF_SIZE])
{
	char pe[PCAP_ERRBUF_SIZE], ln[64], fbuf[4096];
	struct bpf_program prog;
	const char *pe_s;
	int rc;

	pe[0] = '\0';
	if ((s->p = pcap_create(c->cfg.iface, pe)) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot capture on '%s': %s",
		    c->cfg.iface, pe);
		return -1;
	}
	pcap_set_snaplen(s->p, c->cfg.snaplen > 0 ? c->cfg.snaplen : CAP_DEF_SNAPLEN);
	pcap_set_promisc(s->p, c->cfg.promisc ? 1 : 0);
	pcap_set_timeout(s->p, c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms :
	    CAP_DEF_TIMEOUT_MS);
	if (c->cfg.bufsize > 0)
		pcap_set_buffer_size(s->p, c->cfg.bufsize);
	rc = pcap_activate(s->p);
	if (rc < 0) {
		/* libpcap's own text says more than the status, when it has one. */
		pe_s = pcap_geterr(s->p);
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot capture on '%s': %s%s",
		    c->cfg.iface, pe_s != NULL && pe_s[0] != '\0' ? pe_s :
		    pcap_statustostr(rc),
		    rc == PCAP_ERROR_PERM_DENIED ? " (capturing needs root, or "
		    "the capabilities CAP_NET_RAW and CAP_NET_ADMIN: "
		    "setcap cap_net_raw,cap_net_admin=eip smtpscope)" :
		    rc == PCAP_ERROR_NO_SUCH_DEVICE ? " (smtpscope -D lists the "
		    "interfaces)" : "");
		return -1;
	}
	/*
	 * Non-blocking, and cap_dispatch() polls with the read timeout: with
	 * TPACKET_V3, libpcap's own blocking read may wait forever on a quiet
	 * interface (the kernel retires no empty block), and a signal merely
	 * restarts it, so idle timeouts, SIGUSR1 and a stop would all wait
	 * for the next packet.
	 */
	if (pcap_setnonblock(s->p, 1, pe) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot capture on '%s': %s",
		    c->cfg.iface, pe);
		return -1;
	}
	if (c->cfg.fanout && fanout_join(s->p, c->cfg.fanout_group, pe, sizeof(pe)) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "'%s': %s", c->cfg.iface, pe);
		return -1;
	}
	if (rc > 0)	/* a warning: keep going, leave it for the caller */
		snprintf(errbuf, CAP_ERRBUF_SIZE, "warning: '%s': %s (%s)",
		    c->cfg.iface, pcap_statustostr(rc), pcap_geterr(s->p));
	s->link = link_lookup(pcap_datalink(s->p));
	if (s->link == NULL) {
		link_name(pcap_datalink(s->p), ln, sizeof(ln));
		snprintf(errbuf, CAP_ERRBUF_SIZE, "'%s': unsupported link type %s",
		    c->cfg.iface, ln);
		return -1;
	}
	if (live_filter(c, fbuf, sizeof(fbuf)) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "filter expression too long");
		return -1;
	}
	if (pcap_compile(s->p, &prog, fbuf, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "bad filter '%s': %s",
		    c->cfg.filter != NULL ? c->cfg.filter : fbuf, pcap_geterr(s->p));
		return -1;
	}
	rc = pcap_setfilter(s->p, &prog);
	pcap_freecode(&prog);
	if (rc == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot set filter on '%s': %s",
		    c->cfg.iface, pcap_geterr(s->p));
		return -1;
	}
	return 0;
}

/* Peek the next packet of a file source. */
static void
src_next(struct cap_source *s)
{
	char msg[CAP_ERRBUF_SIZE], out[CAP_ERRBUF_SIZE + 64];
	const char *pe;
	int rc;

	s->have_pkt = false;
	if (s->map.base != NULL) {
		rc = mapfile_next(&s->map, &s->data, msg, sizeof(msg));
		s->hdr = &s->map.hdr;
		if (rc == 0)
			rc = PCAP_ERROR_BREAK;	/* the end */
		pe = msg;
	} else {
		rc = pcap_next_ex(s->p, &s->hdr, &s->data);
		pe = rc == 1 ? NULL : pcap_geterr(s->p);
	}
	if (rc == 1) {
		s->have_pkt = true;
		return;
	}
	s->done = true;
	if (rc == PCAP_ERROR_BREAK)
		return;
	if (strstr(pe, "truncated") != NULL)
		snprintf(out, sizeof(out), "'%s': truncated capture: last packet "
		    "cut short (packets before it were processed)",
		    src_label(s->name));
	else
		snprintf(out, sizeof(out), "'%s': read error: %s",
		    src_label(s->name), pe);
	free(s->err);
	s->err = strdup(out);
}

static struct cap *
cap_alloc(const struct cap_config *cfg, const struct cap_consumer *cons,
    char errbuf[CAP_ERRBUF_SIZE])
{
	struct cap *c;
	struct cap_limits *l;
	int i;

	if (cfg->nports < 0 || cfg->nports > CAP_MAX_PORTS ||
	    cfg->nfiles < 0 || cfg->nfiles > CAP_MAX_FILES) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "bad configuration: %d ports, %d files",
		    cfg->nports, cfg->nfiles);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	if (cons != NULL)
		c->cons = *cons;
	l = &c->cfg.limits;
	if (l->max_flows == 0)
		l->max_flows = CAP_DEF_MAX_FLOWS;
	if (l->max_ooo_flow == 0)
		l->max_ooo_flow = CAP_DEF_MAX_OOO_FLOW;
	if (l->max_ooo_total == 0)
		l->max_ooo_total = CAP_DEF_MAX_OOO_TOTAL;
	if (l->idle_timeout == 0)
		l->idle_timeout = CAP_DEF_IDLE_TIMEOUT;
	if (l->max_frag_bytes == 0)
		l->max_frag_bytes = CAP_DEF_MAX_FRAG_BYTES;
	if (l->frag_timeout == 0)
		l->frag_timeout = CAP_DEF_FRAG_TIMEOUT;
	for (i = 0; i < c->cfg.nports; i++)
		c->portmap[c->cfg.ports[i] >> 3] |= (uint8_t)(1u << (c->cfg.ports[i] & 7));
	c->rpool.max_total = l->max_ooo_total;
	ev_init(c);
	ipfrag_init(&c->frag, l->max_frag_bytes, l->frag_timeout, c->st.anomalies);
	if (flow_init(c, errbuf) == -1) {
		free(c);
		return NULL;
	}
	return c;
}

int
cap_open_raw(struct cap **cp, const struct cap_config *cfg,
    const struct cap_consumer *cons, int dlt, char errbuf[CAP_ERRBUF_SIZE])
{
	const struct link_type *lt = link_lookup(dlt);
	char ln[64];
	struct cap *c;

	*cp = NULL;
	if (lt == NULL) {
		link_name(dlt, ln, sizeof(ln));
		snprintf(errbuf, CAP_ERRBUF_SIZE, "unsupported link type %s", ln);
		return -1;
	}
	if ((c = cap_alloc(cfg, cons, errbuf)) == NULL)
		return -1;
	c->link = lt;
	if (ev_open(c, dlt, errbuf) == -1) {
		cap_close(c);
		return -1;
	}
	*cp = c;
	return 0;
}

int
cap_open(struct cap **cp, const struct cap_config *cfg,
    const struct cap_consumer *cons, char errbuf[CAP_ERRBUF_SIZE])
{
	struct cap *c;
	int i, n;

	*cp = NULL;
	errbuf[0] = '\0';
	if (cfg->nfiles == 0 && (cfg->iface == NULL || cfg->iface[0] == '\0')) {
		snprintf(errbuf, CAP_ERRBUF_SIZE,
		    "nothing to read: give a capture file or an interface");
		return -1;
	}
	if ((c = cap_alloc(cfg, cons, errbuf)) == NULL)
		return -1;
	n = cfg->nfiles > 0 ? cfg->nfiles : 1;
	if ((c->src = calloc((size_t)n, sizeof(*c->src))) == NULL) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		cap_close(c);
		return -1;
	}
	c->nsrc = n;
	c->live = cfg->nfiles == 0;
	for (i = 0; i < n; i++) {
		c->src[i].name = strdup(c->live ? cfg->iface : cfg->files[i]);
		if (c->src[i].name == NULL) {
			snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
			cap_close(c);
			return -1;
		}
		if ((c->live ? open_live(c, &c->src[i], errbuf) :
		    open_file(c, &c->src[i], errbuf)) == -1) {
			cap_close(c);
			return -1;
		}
		if (!c->live)
			src_next(&c->src[i]);
	}
	c->link = c->src[0].link;
	if (ev_open(c, -1, errbuf) == -1) {
		cap_close(c);
		return -1;
	}
	*cp = c;
	return 0;
}

/* ---------------------------------------------------------------- reading */

static void
live_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	struct cap *c = (struct cap *)(void *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * US_PER_S + (uint64_t)h->ts.tv_usec;

	cap_count(c, ts, h->len);
	cap_input_link(c, c->src[0].link, ts, data, h->caplen, h->len);
}

static int
dispatch_files(struct cap *c, int max, char errbuf[CAP_ERRBUF_SIZE])
{
	struct cap_source *s, *best;
	uint64_t ts, bts = 0;
	int i, n = 0;

	if (max <= 0)
		max = CAP_DISPATCH_BATCH;
	while (n < max) {
		if (c->brk) {
			c->brk = 0;
			return n;
		}
		best = NULL;
		for (i = 0; i < c->nsrc; i++) {
			s = &c->src[i];
			if (s->err != NULL) {
				if (n > 0)	/* count what was done; report next call */
					return n;
				strlcpy(errbuf, s->err, CAP_ERRBUF_SIZE);
				free(s->err);
				s->err = NULL;
				return -1;
			}
			if (!s->have_pkt)
				continue;
			ts = (uint64_t)s->hdr->ts.tv_sec * US_PER_S +
			    (uint64_t)s->hdr->ts.tv_usec;
			if (best == NULL || ts < bts) {
				best = s;
				bts = ts;
			}
		}
		if (best == NULL)
			return n > 0 ? n : CAP_EOF;
		cap_count(c, bts, best->hdr->len);
		if (!best->have_prog ||
		    pcap_offline_filter(&best->prog, best->hdr, best->data) != 0)
			cap_input_link(c, best->link, bts, best->data,
			    best->hdr->caplen, best->hdr->len);
		n++;
		src_next(best);
	}
	return n;
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * The live interface failed to read (removed, or its link went down: the
 * kernel ends the socket): keep the flows, close the handle, and try again
 * in a second.  A capture on a gateway must outlive a link flap.
 */
static void
iface_lose(struct cap *c)
{
	struct cap_source *s = &c->src[0];
	struct pcap_stat ps;

	snprintf(c->lost_why, sizeof(c->lost_why), "%s", pcap_geterr(s->p));
	if (pcap_stats(s->p, &ps) == 0) {
		c->kbase_recv += ps.ps_recv;
		c->kbase_drop += ps.ps_drop;
		c->kbase_ifdrop += ps.ps_ifdrop;
	}
	pcap_close(s->p);
	s->p = NULL;
	c->lost = true;
	c->st.iface_lost++;
	c->retry_s = 1;
	c->retry_us = mono_us() + US_PER_S;
}

/* While lost: wait a read timeout, and now and then try to open it again
 * (same name, same filter; it must keep its link type: -w and the flows
 * depend on it). */
static int
iface_retry(struct cap *c)
{
	struct cap_source *s = &c->src[0];
	char eb[CAP_ERRBUF_SIZE];
	int ms = c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms : CAP_DEF_TIMEOUT_MS;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	if (!c->brk)
		(void)nanosleep(&ts, NULL);
	if (c->brk) {
		c->brk = 0;
		return 0;
	}
	if (mono_us() < c->retry_us)
		return 0;
	eb[0] = '\0';
	if (open_live(c, s, eb) == 0 && s->link == c->link) {
		c->lost = false;
		c->st.iface_back++;
		return 0;
	}
	if (s->p != NULL) {
		pcap_close(s->p);
		s->p = NULL;
	}
	if (eb[0] != '\0')
		snprintf(c->lost_why, sizeof(c->lost_why), "%s", eb);
	c->retry_s = c->retry_s < 16 ? c->retry_s * 2 : 30;
	c->retry_us = mono_us() + (uint64_t)c->retry_s * US_PER_S;
	return 0;
}

const char *
cap_lost(const struct cap *c)
{
	return c->lost ? c->lost_why : NULL;
}

int
cap_dispatch(struct cap *c, int max, char errbuf[CAP_ERRBUF_SIZE])
{
	int rc;

	if (!c->live)
		return dispatch_files(c, max, errbuf);
	if (c->lost)
		return iface_retry(c);
	rc = pcap_dispatch(c->src[0].p, max > 0 ? max : -1, live_cb, (u_char *)c);
	if (rc == 0 && !c->brk) {
		/* Nothing waiting: sleep in poll() for at most the read timeout
		 * (a signal ends it early), then take what came. */
		struct pollfd pfd;

		pfd.fd = pcap_get_selectable_fd(c->src[0].p);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd == -1 || poll(&pfd, 1, c->cfg.timeout_ms > 0 ?
		    c->cfg.timeout_ms : CAP_DEF_TIMEOUT_MS) <= 0)
			return 0;
		rc = pcap_dispatch(c->src[0].p, max > 0 ? max : -1, live_cb,
		    (u_char *)c);
	}
	if (rc == PCAP_ERROR_BREAK) {
		c->brk = 0;
		return 0;
	}
	if (rc < 0) {
		iface_lose(c);
		return 0;
	}
	return rc;
}

int
cap_fd(const struct cap *c)
{
	if (!c->live || c->nsrc == 0 || c->src[0].p == NULL)
		return -1;
	return pcap_get_selectable_fd(c->src[0].p);
}

const char *
cap_linktype(const struct cap *c)
{
	return c->link != NULL ? c->link->name : "unknown";
}

void
cap_tick(struct cap *c, uint64_t now_us)
{
	cap_advance(c, now_us);
}

void
cap_breakloop(struct cap *c)
{
	c->brk = 1;
	if (c->live && c->nsrc > 0 && c->src[0].p != NULL)
		pcap_breakloop(c->src[0].p);
}

void
cap_finish(struct cap *c, bool interrupted)
{
	flow_finish(c, interrupted ? CAP_CLOSE_INTERRUPTED : CAP_CLOSE_EOF);
}

void
cap_close(struct cap *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsrc; i++) {
		if (c->src[i].have_prog)
			pcap_freecode(&c->src[i].prog);
		mapfile_close(&c->src[i].map);
		if (c->src[i].p != NULL)
			pcap_close(c->src[i].p);
		free(c->src[i].err);
		free(c->src[i].name);
	}
	free(c->src);
	flow_free(c);
	ev_free(c);
	ipfrag_free(&c->frag);
	free(c->other_ports);
	free(c);
}

const char *
cap_lib_version(void)
{
	return pcap_lib_version();
}

int
cap_list_devices(void (*fn)(void *arg, const char *name, const char *desc),
    void *arg, char errbuf[CAP_ERRBUF_SIZE])
{
	char pe[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;

	pe[0] = '\0';
	if (pcap_findalldevs(&all, pe) == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot list devices: %s", pe);
		return -1;
	}
	for (d = all; d != NULL; d = d->next)
		fn(arg, d->name, d->description != NULL ? d->description : "");
	pcap_freealldevs(all);
	return 0;
}
