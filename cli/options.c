/*
 * options.c - the command line: usage, the option table, and parsing into
 * struct cli_opts.
 *
 * Where smtpscope's options overlap tcpdump's they mean what tcpdump
 * users expect (-i, -r, -w, -c, -s, -B, -Z, -F, -p, -n, -l, -U, -q, -v,
 * -t...); the tcpdump letters smtpscope lacks are refused with one line
 * naming the nearest smtpscope option.  Every message is one line and a
 * pointer to -h; options that take one value refuse to be given twice, so
 * nothing the user typed is silently dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "cli/cli.h"
#include "ui/ui.h"

#ifndef SMTPSCOPE_VERSION
#define SMTPSCOPE_VERSION "0.1.0"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: smtpscope [-bDhlnpqUv] [-c count] [-F file] [-i interface] [-P ports]\n"
"                 [-r file]... [-s snaplen] [-B buffer_size] [-t[ttt]]\n"
"                 [-w file] [-Z user] [--json file] [--report file]...\n"
"                 [--syslog] [--dump-streams dir] [--tls-keylog file]...\n"
"                 [--trace-states] [expression]\n"
"       smtpscope --probe host[:port] [--probe-timeout sec] [--ehlo name]\n"
"                 [--probe-source addr] [--starttls | --tls] [--require ext,...]\n"
"                 [--json file]\n"
"\n"
"  -i IFACE          capture live on IFACE (-D lists interfaces)\n"
"  -r FILE           read a pcap or pcapng file ('-' for stdin); repeat to\n"
"                    merge several files in time order\n"
"  -P, --ports PORTS SMTP ports to keep (default 25,587,2525; 'all' for every\n"
"                    TCP port)\n"
"  -p                do not put the interface into promiscuous mode\n"
"  -b                batch mode: one line per session, no UI (the default\n"
"                    when standard output is not a terminal)\n"
"  -q                batch: one line per incident, no session lines\n"
"  -v, -vv           batch: also the transcript of flagged (-v) or of every\n"
"                    (-vv) session\n"
"  -t                batch: no timestamps; -tt epoch seconds; -ttt since the\n"
"                    previous session; -tttt date and local time (default);\n"
"                    -ttttt since the first session.  TZ sets the zone\n"
"  -n                accepted for tcpdump's sake: smtpscope never resolves names\n"
"  -l, -U            flush standard output after every session\n"
"  -c COUNT          stop after COUNT packets\n"
"  -F FILE           read the filter expression from FILE\n"
"  -s SNAPLEN        live capture snapshot length (default 262144)\n"
"  -B KIB            live capture kernel buffer size, in KiB\n"
"  -Z USER           drop privileges to USER after opening the device\n"
"                    (default nobody; -Z root keeps root)\n"
"  -w FILE           write the packets of flagged sessions to a pcap\n"
"  --json FILE       session records as JSON Lines ('-' for stdout)\n"
"  --report FILE     incident report, format from the extension (.txt, .md,\n"
"                    .json, .csv); repeat for several\n"
"  --syslog          also send each incident to syslog\n"
"  --dump-streams DIR  write each direction of each flow to DIR (as tcpflow)\n"
"  --tls-keylog FILE decrypt TLS with the secrets in FILE (SSLKEYLOGFILE\n"
"                    format; read as it grows; repeat for several) and decode\n"
"                    the SMTP inside; adds port 465 (implicit TLS)\n"
"  --probe HOST[:PORT] connect, EHLO, QUIT, and report the capabilities\n"
"  --probe-timeout SEC  how long the probe waits to connect and per reply (15)\n"
"  --ehlo NAME       the probe's EHLO name (default this host's name)\n"
"  --probe-source ADDR  the probe's source address\n"
"  --starttls        the probe also upgrades with STARTTLS: the TLS version,\n"
"                    cipher and certificate, and the EHLO reply inside TLS\n"
"  --tls             the probe speaks TLS from the first byte (implicit TLS,\n"
"                    as on port 465 submissions)\n"
"  --require EXT,... one status line and monitoring-plugin exit codes (0 OK,\n"
"                    1 WARNING, 2 CRITICAL, 3 UNKNOWN): CRITICAL when the\n"
"                    server does not offer every extension listed\n"
"  --speed X         UI replay pace: 0 = as fast as possible, 1 = real time\n"
"  --mono            UI without colours;  --no-progress  no progress bar\n"
"  --max-flows N, --max-ooo BYTES, --max-ooo-total BYTES, --idle-timeout SEC,\n"
"  --max-frags BYTES, --max-line BYTES, --max-transcript LINES,\n"
"  --max-pipeline N, --max-recipients N, --max-evidence BYTES,\n"
"  --max-evidence-flow BYTES, --max-ui-memory MIB   memory and time limits\n"
"  --fanout GROUP    live (Linux): share the flows with the other processes\n"
"                    of the kernel's PACKET_FANOUT group GROUP, one per core\n"
"  --trace-states    print each session state change to standard error\n"
"  -h, --help        this text;  --version  the versions\n"
"  expression        a BPF filter (pcap-filter(7)), ANDed with the port filter\n");
}

enum {
	OPT_JSON = 256, OPT_REPORT, OPT_SYSLOG, OPT_DUMP, OPT_PROBE, OPT_VERSION,
	OPT_SPEED, OPT_MAXFLOWS, OPT_MAXOOO, OPT_MAXOOOT, OPT_IDLE, OPT_MAXLINE,
	OPT_MAXLINES, OPT_MONO, OPT_NOPROGRESS, OPT_PROBETO, OPT_TRACE, OPT_REQUIRE,
	OPT_EHLO, OPT_PSOURCE, OPT_STARTTLS, OPT_TLS, OPT_KEYLOG, OPT_MAXFRAGS,
	OPT_MAXPIPE, OPT_MAXRCPTS, OPT_MAXEV, OPT_MAXEVFLOW, OPT_MAXUI, OPT_FANOUT,
	OPT_MAX_
};

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "batch", no_argument, NULL, 'b' },
	{ "ports", required_argument, NULL, 'P' },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "dump-streams", required_argument, NULL, OPT_DUMP },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "probe-timeout", required_argument, NULL, OPT_PROBETO },
	{ "require", required_argument, NULL, OPT_REQUIRE },
	{ "ehlo", required_argument, NULL, OPT_EHLO },
	{ "probe-source", required_argument, NULL, OPT_PSOURCE },
	{ "starttls", no_argument, NULL, OPT_STARTTLS },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "tls-keylog", required_argument, NULL, OPT_KEYLOG },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "max-flows", required_argument, NULL, OPT_MAXFLOWS },
	{ "max-frags", required_argument, NULL, OPT_MAXFRAGS },
	{ "max-pipeline", required_argument, NULL, OPT_MAXPIPE },
	{ "max-recipients", required_argument, NULL, OPT_MAXRCPTS },
	{ "max-evidence", required_argument, NULL, OPT_MAXEV },
	{ "max-evidence-flow", required_argument, NULL, OPT_MAXEVFLOW },
	{ "max-ui-memory", required_argument, NULL, OPT_MAXUI },
	{ "max-ooo", required_argument, NULL, OPT_MAXOOO },
	{ "max-ooo-total", required_argument, NULL, OPT_MAXOOOT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "max-line", required_argument, NULL, OPT_MAXLINE },
	{ "max-transcript", required_argument, NULL, OPT_MAXLINES },
	{ "mono", no_argument, NULL, OPT_MONO },
	{ "no-progress", no_argument, NULL, OPT_NOPROGRESS },
	{ "trace-states", no_argument, NULL, OPT_TRACE },
	{ "fanout", required_argument, NULL, OPT_FANOUT },
	{ NULL, 0, NULL, 0 }
};

/* Options that take a list or a count and may be given again. */
static bool
repeatable(int ch)
{
	return ch == 'r' || ch == OPT_REPORT || ch == OPT_KEYLOG || ch == 'v' || ch == 't' || ch == 'n' ||
	    ch == 'b' || ch == 'q' || ch == 'l' || ch == 'U' || ch == 'p' ||
	    ch == OPT_SYSLOG || ch == OPT_MONO || ch == OPT_NOPROGRESS ||
	    ch == OPT_TRACE;
}

/*
 * tcpdump options smtpscope does not have, each with the nearest thing it
 * does have: a tcpdump user's habit gets one line that points somewhere.
 */
static const struct {
	char opt;
	const char *what, *instead;
} tcpdump_only[] = {
	{ 'A', "prints packet payloads", "-vv prints each session's SMTP dialogue; "
	    "--dump-streams DIR writes its bytes" },
	{ 'X', "prints packets in hex", "--dump-streams DIR writes each flow's bytes; "
	    "-w FILE keeps flagged sessions' packets for tshark" },
	{ 'x', "prints packets in hex", "--dump-streams DIR writes each flow's bytes" },
	{ 'e', "prints link-level headers", "smtpscope works on TCP streams; -w FILE "
	    "keeps flagged sessions' packets for tshark -e" },
	{ 'S', "prints absolute TCP sequence numbers", "-w FILE and tshark show them" },
	{ 'C', "rotates -w files by size", "-w writes one file of flagged sessions" },
	{ 'G', "rotates -w files by time", "-w writes one file of flagged sessions" },
	{ 'W', "limits rotated files", "-w writes one file of flagged sessions" },
	{ 'L', "lists link types", "-D lists interfaces; the link type is the "
	    "interface's own" },
	{ 'y', "sets the link type", "the link type is the interface's own" },
	{ 'I', "sets monitor mode", "capture on the wired side of the mail server" },
	{ 'K', "skips checksum checks", "smtpscope never drops a packet for its "
	    "checksum (bad ones are counted)" },
	{ 'Q', "selects a direction", "a BPF expression, e.g. 'dst port 25'" },
	{ 'N', "shortens host names", "smtpscope never resolves names" },
	{ 'E', "decrypts IPsec", "nothing" },
	{ 'T', "forces a protocol", "-P PORTS keeps SMTP on other ports" },
};

static bool
tcpdump_letter(int ch)
{
	size_t i;

	for (i = 0; i < sizeof(tcpdump_only) / sizeof(tcpdump_only[0]); i++)
		if (tcpdump_only[i].opt == ch) {
			cli_warn("-%c is tcpdump's (it %s), not an smtpscope option: %s", ch,
			    tcpdump_only[i].what, tcpdump_only[i].instead);
			return true;
		}
	return false;
}

static long long
num_arg(const char *opt, const char *s, long long lo, long long hi)
{
	const char *err;
	long long v;

	v = strtonum(s, lo, hi, &err);
	if (err != NULL) {
		cli_warn("%s: '%s' is %s (expected %lld to %lld)", opt, s, err, lo, hi);
		exit(EX_USAGE_);
	}
	return v;
}

/* Join the remaining arguments into one BPF expression, as tcpdump does. */
static char *
join_args(int argc, char **argv)
{
	size_t len = 0;
	char *s;
	int i;

	if (argc <= 0)
		return NULL;
	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strlcat(s, " ", len);
		strlcat(s, argv[i], len);
	}
	return s;
}

/* -F FILE: the expression from a file (at most 64 KiB), as tcpdump -F. */
static char *
read_filter_file(const char *path)
{
	FILE *f;
	char *buf;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		cli_warn("-F: cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(65537)) == NULL) {
		fclose(f);
		cli_warn("out of memory");
		return NULL;
	}
	n = fread(buf, 1, 65536, f);
	if (ferror(f) || !feof(f)) {
		cli_warn("-F: '%s': %s", path, ferror(f) ? strerror(errno) :
		    "longer than 64 KiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/*
 * A failed filter that looks like a port list ("2525", "25,587", "all")
 * was probably meant for -P: -p takes no value (no promiscuous mode, as in
 * tcpdump), so "-p 2525" leaves "2525" as the expression.
 */
void
cli_filter_hint(const struct cli_opts *o)
{
	const char *p = o->filter;

	if (p == NULL || *p == '\0')
		return;
	if (strcmp(p, "all") != 0 && strspn(p, "0123456789,") != strlen(p))
		return;
	cli_warn("did you mean -P %s? -p takes no value: it turns promiscuous mode "
	    "off, as in tcpdump", p);
}

/* -t counted, as tcpdump counts it. */
enum batch_ts
cli_batch_ts(int n)
{
	switch (n) {
	case 0:	return BATCH_TS_LOCAL;
	case 1:	return BATCH_TS_NONE;
	case 2:	return BATCH_TS_EPOCH;
	case 3:	return BATCH_TS_DELTA;
	case 4:	return BATCH_TS_LOCAL;
	default: return BATCH_TS_SINCE_FIRST;
	}
}

static void
print_device(void *arg, const char *name, const char *desc)
{
	int *n = arg;

	printf("%d.%s", ++*n, name);
	if (desc != NULL && *desc != '\0')
		printf(" (%s)", desc);
	putchar('\n');
}

/* The option as the user typed it, for messages. */
static const char *
opt_name(int ch, char *buf, size_t len)
{
	size_t i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == ch && ch >= 256) {
			snprintf(buf, len, "--%s", longopts[i].name);
			return buf;
		}
	snprintf(buf, len, "-%c", ch);
	return buf;
}

int
cli_parse_options(int argc, char **argv, struct cli_opts *o, int *rc)
{
	char errbuf[CAP_ERRBUF_SIZE], nm[32];
	unsigned char seen[OPT_MAX_] = { 0 };
	const char *bad;
	int ch, n;

	memset(o, 0, sizeof(*o));
	cap_config_init(&o->cap);
	smtp_limits_init(&o->smtp);
	strlcpy(o->ports_text, "25,587,2525", sizeof(o->ports_text));
	o->probe_timeout_ms = 15000;
	opterr = 0;	/* our own one-line messages */
	while ((ch = getopt_long(argc, argv, ":bB:c:DF:hi:lnpP:qr:s:tUvw:Z:AXxeSCGWLyIKQNET",
	    longopts, NULL)) != -1) {
		*rc = EX_USAGE_;
		if (ch == '?') {
			bad = argv[optind - 1];
			if (optopt != 0 && !tcpdump_letter(optopt))
				cli_warn("unknown option '-%c' (smtpscope -h lists the options)",
				    optopt);
			else if (optopt == 0)
				cli_warn("unknown option '%s' (smtpscope -h lists the options)", bad);
			return -1;
		}
		if (ch == ':') {
			cli_warn("%s needs a value (smtpscope -h lists the options)",
			    optopt != 0 ? opt_name(optopt, nm, sizeof(nm)) : argv[optind - 1]);
			return -1;
		}
		if (tcpdump_letter(ch))
			return -1;
		if (ch > 0 && ch < OPT_MAX_ && !repeatable(ch) && seen[ch]++) {
			cli_warn("%s given twice: it takes one value", opt_name(ch, nm, sizeof(nm)));
			return -1;
		}
		switch (ch) {
		case 'b':
			o->batch = true;
			break;
		case 'B':
			o->cap.bufsize = (int)num_arg("-B", optarg, 1, INT_MAX / 1024) * 1024;
			break;
		case OPT_FANOUT:
			o->cap.fanout = true;
			o->cap.fanout_group = (uint16_t)num_arg("--fanout", optarg, 0, 65535);
			break;
		case 'c':
			o->count = (uint64_t)num_arg("-c", optarg, 1, LLONG_MAX);
			break;
		case 'D':
			n = 0;
			if (cap_list_devices(print_device, &n, errbuf) == -1) {
				cli_warn("%s", errbuf);
				*rc = EX_INPUT_;
				return -1;
			}
			*rc = EX_OK_;
			return -1;
		case 'F':
			o->filter_file = optarg;
			break;
		case 'h':
			usage(stdout);
			*rc = EX_OK_;
			return -1;
		case 'i':
			o->cap.iface = optarg;
			break;
		case 'l':
		case 'U':
			o->line_buffered = true;
			break;
		case 'n':
			break;	/* names are never resolved */
		case 'p':
			o->cap.promisc = false;
			break;
		case 'P':
			if (cap_parse_ports(&o->cap, optarg, errbuf) == -1) {
				cli_warn("-P: %s", errbuf);
				return -1;
			}
			strlcpy(o->ports_text, optarg, sizeof(o->ports_text));
			break;
		case 'q':
			o->verbose = -1;
			break;
		case 'r':
			if (o->cap.nfiles >= CAP_MAX_FILES) {
				cli_warn("-r: at most %d files", CAP_MAX_FILES);
				return -1;
			}
			o->cap.files[o->cap.nfiles++] = optarg;
			break;
		case 's':
			o->cap.snaplen = (int)num_arg("-s", optarg, 64, 262144);
			break;
		case 't':
			o->tstamp++;
			break;
		case 'v':
			if (o->verbose < 2)
				o->verbose = o->verbose < 0 ? 1 : o->verbose + 1;
			break;
		case 'w':
			o->pcap_out = optarg;
			break;
		case 'Z':
			o->user = optarg;
			break;
		case OPT_VERSION:
			printf("smtpscope %s\n%s\n%s\n", SMTPSCOPE_VERSION, cap_lib_version(),
			    ui_lib_version());
			*rc = EX_OK_;
			return -1;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_REPORT:
			if (o->nreports >= CLI_MAX_REPORTS) {
				cli_warn("--report: at most %d reports", CLI_MAX_REPORTS);
				return -1;
			}
			for (n = 0; n < o->nreports; n++)
				if (strcmp(o->reports[n], optarg) == 0) {
					cli_warn("--report: '%s' given twice", optarg);
					return -1;
				}
			o->reports[o->nreports++] = optarg;
			break;
		case OPT_KEYLOG:
			if (o->nkeylogs >= CLI_MAX_KEYLOGS) {
				cli_warn("--tls-keylog: at most %d files", CLI_MAX_KEYLOGS);
				return -1;
			}
			o->keylogs[o->nkeylogs++] = optarg;
			break;
		case OPT_SYSLOG:
			o->syslog = true;
			break;
		case OPT_TRACE:
			o->trace_states = true;
			break;
		case OPT_DUMP:
			o->dump_dir = optarg;
			break;
		case OPT_PROBE:
			o->probe = optarg;
			break;
		case OPT_REQUIRE:
			o->require = optarg;
			break;
		case OPT_EHLO:
			o->ehlo = optarg;
			break;
		case OPT_PSOURCE:
			o->probe_source = optarg;
			break;
		case OPT_STARTTLS:
			o->probe_starttls = true;
			break;
		case OPT_TLS:
			o->probe_tls = true;
			break;
		case OPT_PROBETO:
			o->probe_timeout_ms = (int)num_arg("--probe-timeout", optarg, 1, 3600) * 1000;
			break;
		case OPT_SPEED: {
			char *end;
			errno = 0;
			o->speed = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || o->speed < 0 || o->speed > 1000) {
				cli_warn("--speed: '%s' is not a number from 0 to 1000", optarg);
				return -1;
			}
			break;
		}
		case OPT_MAXFLOWS:
			o->cap.limits.max_flows = (size_t)num_arg("--max-flows", optarg, 16, 100000000);
			break;
		case OPT_MAXFRAGS:
			o->cap.limits.max_frag_bytes = (size_t)num_arg("--max-frags", optarg,
			    65536, 1LL << 32);
			break;
		case OPT_MAXPIPE:
			o->smtp.max_queue = (size_t)num_arg("--max-pipeline", optarg, 4, 100000);
			break;
		case OPT_MAXRCPTS:
			o->smtp.max_rcpts = (size_t)num_arg("--max-recipients", optarg, 1, 100000);
			break;
		case OPT_MAXEV:
			o->cap.max_evidence_total = (size_t)num_arg("--max-evidence", optarg,
			    65536, 1LL << 40);
			break;
		case OPT_MAXEVFLOW:
			o->cap.max_evidence_flow = (size_t)num_arg("--max-evidence-flow", optarg,
			    4096, 1LL << 32);
			break;
		case OPT_MAXUI:
			o->ui_max_bytes = (size_t)num_arg("--max-ui-memory", optarg, 1, 1 << 20) *
			    1024 * 1024;
			break;
		case OPT_MAXOOO:
			o->cap.limits.max_ooo_flow = (size_t)num_arg("--max-ooo", optarg, 1024, 1LL << 32);
			break;
		case OPT_MAXOOOT:
			o->cap.limits.max_ooo_total = (size_t)num_arg("--max-ooo-total", optarg, 1024, 1LL << 40);
			break;
		case OPT_IDLE:
			o->cap.limits.idle_timeout = (unsigned)num_arg("--idle-timeout", optarg, 1, 86400);
			break;
		case OPT_MAXLINE:
			o->smtp.max_line = (size_t)num_arg("--max-line", optarg, 512, 1 << 20);
			break;
		case OPT_MAXLINES:
			o->smtp.max_lines = (size_t)num_arg("--max-transcript", optarg, 4, 100000);
			break;
		case OPT_MONO:
			o->mono = true;
			break;
		case OPT_NOPROGRESS:
			o->no_progress = true;
			break;
		default:
			cli_warn("unknown option (smtpscope -h lists the options)");
			return -1;
		}
	}
	argc -= optind;
	argv += optind;
	*rc = EX_USAGE_;
	if (o->filter_file != NULL) {
		if (argc > 0) {
			cli_warn("-F and an expression on the command line: give one of them");
			return -1;
		}
		if ((o->filter = read_filter_file(o->filter_file)) == NULL)
			return -1;
	} else
		o->filter = join_args(argc, argv);
	o->cap.filter = o->filter;
	if (o->probe != NULL) {
		if (o->probe_starttls && o->probe_tls) {
			cli_warn("--starttls and --tls exclude each other: a session "
			    "is either upgraded or in TLS from its start");
			return -1;
		}
		return 0;
	}
	if (o->require != NULL || o->ehlo != NULL || o->probe_source != NULL ||
	    o->probe_starttls || o->probe_tls) {
		cli_warn("%s works with --probe only", o->require != NULL ? "--require" :
		    o->ehlo != NULL ? "--ehlo" : o->probe_source != NULL ?
		    "--probe-source" : o->probe_starttls ? "--starttls" : "--tls");
		return -1;
	}
	if (o->cap.nfiles == 0 && o->cap.iface == NULL) {
		cli_warn("nothing to read: give -r FILE or -i INTERFACE (-h for help)");
		return -1;
	}
	if (o->cap.nfiles > 0 && o->cap.iface != NULL) {
		cli_warn("-r and -i cannot be used together");
		return -1;
	}
	if (o->cap.fanout && o->cap.iface == NULL) {
		cli_warn("--fanout shares a live capture: it needs -i");
		return -1;
	}
	/* With keys, implicit TLS (RFC 8314) is decoded too. */
	if (o->nkeylogs > 0 && o->cap.nports > 0 && o->cap.nports < CAP_MAX_PORTS) {
		bool has = false;

		for (n = 0; n < o->cap.nports; n++)
			has = has || o->cap.ports[n] == 465;
		if (!has) {
			o->cap.ports[o->cap.nports++] = 465;
			strlcat(o->ports_text, ",465", sizeof(o->ports_text));
		}
	}
	return 0;
}
