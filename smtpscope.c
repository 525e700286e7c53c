/*
 * smtpscope.c - main(): the only file that talks to the user.
 *
 * It parses the command line (tcpdump's conventions), opens the capture,
 * wires the layers together and picks the exit code.  The layers do not
 * know each other: capture/ hands stream events to the adapter below, which
 * feeds decode/; decode/ hands finished session records to the sink below,
 * which writes the exports (and posts to the UI).  Nothing here parses a
 * packet or an SMTP line.
 *
 * Signals only set flags (and ask libpcap to break its loop); the main loop
 * acts on them, so every output is flushed and every open session is closed
 * as "interrupted" and run through the incident rules before exit.
 */
#include <sys/types.h>
#include <sys/stat.h>


#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "capture/capture.h"
#include "cli/cli.h"
#include "decode/escape.h"
#include "decode/export.h"
#include "decode/smtp.h"
#include "ui/ui.h"


#ifndef SMTPSCOPE_VERSION
#define SMTPSCOPE_VERSION "0.1.0"
#endif

#define MAX_REPORTS 8	/* --report may be given this many times */

struct opts {
	struct cap_config cap;
	struct smtp_limits smtp;
	char *filter;
	const char *json, *pcap_out, *dump_dir, *probe, *user, *filter_file;
	const char *reports[MAX_REPORTS];
	int nreports;
	bool batch, syslog, mono, no_progress, line_buffered;
	int verbose;		/* -q: -1, -v: 1, -vv: 2 */
	char ports_text[64];	/* the kept ports as given, for messages */
	int tstamp;		/* how many -t */
	int probe_timeout_ms;	/* --probe-timeout */
	double speed;
	uint64_t count;
};

/* One run: everything the adapters and sinks share.  Lives on main's stack. */
struct run {
	const struct opts *o;
	struct cap *cap;
	struct smtp_ctx *smtp;
	struct dumpflow *dump;
	struct report *reports[MAX_REPORTS];	/* --report, in order */
	struct ui *ui;
	struct report *ui_report;	/* UI mode: for the "write report" key */
	/*
	 * Held by the capture thread around each batch of packets (the sinks
	 * run inside it) and by the UI thread's write keys, so those see the
	 * capture and the report between batches, never in the middle of one.
	 * Uncontended in batch mode.
	 */
	pthread_mutex_t mtx;
	FILE *json;
	FILE *batch;		/* batch lines, or NULL */
	struct batch_opts bo;	/* how they are printed (-q, -v, -t) */
	bool started;		/* the capture is open and being read */
	bool kernel_drops_seen;
	uint64_t sessions, sessions_open;
	int out_errors;		/* writes that failed */
	char out_err[256];	/* the first failure */
	struct inc_tally by_type;	/* incidents by type, for the summary */
	/* the decoder's anomalies and cut lists, summed over sessions */
	uint64_t san[SAN_MAX];
	uint64_t cut_caps, cut_tx, cut_rcpts, cut_lines, cut_inc;
};

/* Per flow: the adapter's context (one allocation per flow, not per packet). */
struct flowctx {
	struct run *r;
	struct smtp_session *s;
};

static void filter_hint(const struct opts *);
static enum batch_ts batch_ts_of(int);

static volatile sig_atomic_t got_stop, got_usr1;
static struct cap *sig_cap;	/* read by the signal handler only */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1) {
		got_usr1 = 1;
		return;
	}
	got_stop = 1;
	if (sig_cap != NULL)
		cap_breakloop(sig_cap);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}


static void
out_failed(struct run *r, const char *what)
{
	if (r->out_errors++ == 0)
		snprintf(r->out_err, sizeof(r->out_err), "%s: %s", what,
		    errno != 0 ? strerror(errno) : "write error");
}

/* ---------------------------------------------------------------------
 * decode -> outputs: the sink
 * ------------------------------------------------------------------ */

static void
sink_update(void *arg, const struct sess_record *rec)
{
	struct run *r = arg;

	if (r->ui != NULL)
		ui_post_session(r->ui, rec, false);
}

static void
sink_end(void *arg, const struct sess_record *rec)
{
	struct run *r = arg;
	char cl[EXPORT_ADDR_SIZE], sv[EXPORT_ADDR_SIZE];
	size_t i;

	r->sessions++;
	for (i = 0; i < SAN_MAX; i++)
		r->san[i] += rec->anomalies[i];
	r->cut_caps += rec->caps_dropped;
	r->cut_tx += rec->tx_dropped;
	r->cut_lines += rec->lines_dropped;
	for (i = 0; i < rec->ntx; i++)
		r->cut_rcpts += rec->tx[i].rcpts_dropped;
	if (rec->ninc > 0)
		cap_flag_flow(r->cap, rec->flow_id);	/* -w and the UI's pcap key */
	inc_tally_add(&r->by_type, rec);
	if (r->json != NULL) {
		if (export_json_session(r->json, rec) == -1 || fflush(r->json) == EOF)
			out_failed(r, r->o->json);
	}
	if (r->batch != NULL) {
		export_batch_session(r->batch, rec, &r->bo);
		/* Live, each session is news: out at once.  A file's replay
		 * lets stdio fill its buffer, unless -l asks for lines. */
		if ((r->o->line_buffered || r->o->cap.nfiles == 0) &&
		    fflush(r->batch) == EOF && errno != EPIPE)
			out_failed(r, "standard output");
	}
	for (i = 0; i < (size_t)r->o->nreports; i++)
		if (r->reports[i] != NULL)
			report_add(r->reports[i], rec);
	if (r->ui_report != NULL)
		report_add(r->ui_report, rec);
	if (r->o->syslog && rec->ninc > 0) {
		export_fmt_addr(cl, sizeof(cl), rec->family, rec->client_ip, rec->client_port);
		export_fmt_addr(sv, sizeof(sv), rec->family, rec->server_ip, rec->server_port);
		for (i = 0; i < rec->ninc; i++)
			syslog(rec->inc[i].severity == SEV_ERROR ? LOG_ERR :
			    rec->inc[i].severity == SEV_WARNING ? LOG_WARNING : LOG_NOTICE,
			    "incident=%s severity=%s confidence=%s uid=%s client=%s server=%s: %s",
			    rec->inc[i].type, severity_name(rec->inc[i].severity),
			    confidence_name(rec->inc[i].confidence), rec->uid, cl, sv,
			    rec->inc[i].summary != NULL ? rec->inc[i].summary : "");
	}
	if (r->ui != NULL)
		ui_post_session(r->ui, rec, true);
}

/* ---------------------------------------------------------------------
 * capture -> decode: the adapter
 * ------------------------------------------------------------------ */

static void *
ad_open(void *arg, const struct cap_flow_info *fi)
{
	struct run *r = arg;
	struct flowctx *fc;
	struct smtp_peers p;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.flow_id = fi->id;
	p.family = fi->family;
	memcpy(p.client_ip, fi->client_ip, sizeof(p.client_ip));
	memcpy(p.server_ip, fi->server_ip, sizeof(p.server_ip));
	p.client_port = fi->client_port;
	p.server_port = fi->server_port;
	p.mid_stream = fi->mid_stream;
	p.ts_us = fi->ts_us;
	p.pkt = fi->pkt;
	fc->r = r;
	if ((fc->s = smtp_session_new(r->smtp, &p)) == NULL) {
		free(fc);
		return NULL;
	}
	r->sessions_open++;
	return fc;
}

static void
ad_data(void *flow, enum cap_dir dir, const uint8_t *b, size_t len,
    const struct cap_pos *cp)
{
	struct flowctx *fc = flow;
	struct smtp_pos pos = { cp->ts_us, cp->pkt };

	if (fc != NULL)
		smtp_feed(fc->s, dir == CAP_C2S ? XDIR_CLIENT : XDIR_SERVER, b, len, &pos);
}

static void
ad_gap(void *flow, enum cap_dir dir, uint64_t len, const struct cap_pos *cp)
{
	struct flowctx *fc = flow;
	struct smtp_pos pos = { cp->ts_us, cp->pkt };

	if (fc != NULL)
		smtp_gap(fc->s, dir == CAP_C2S ? XDIR_CLIENT : XDIR_SERVER, len, &pos);
}

static enum sess_end
end_reason(enum cap_close_reason why)
{
	switch (why) {
	case CAP_CLOSE_FIN:		return SEND_CLOSE;
	case CAP_CLOSE_RST:		return SEND_RESET;
	case CAP_CLOSE_IDLE:		return SEND_TIMEOUT;
	case CAP_CLOSE_EVICTED:		return SEND_EVICTED;
	case CAP_CLOSE_EOF:		return SEND_EOF;
	case CAP_CLOSE_INTERRUPTED:	return SEND_INTERRUPTED;
	}
	return SEND_EOF;
}

static void
ad_close(void *flow, const struct cap_flow_end *fe, const struct cap_pos *cp)
{
	struct flowctx *fc = flow;
	struct smtp_pos pos = { cp->ts_us, cp->pkt };
	struct smtp_end_info ei;

	if (fc == NULL)
		return;
	memset(&ei, 0, sizeof(ei));
	ei.reason = end_reason(fe->reason);
	ei.packets[XDIR_CLIENT] = fe->packets[CAP_C2S];
	ei.packets[XDIR_SERVER] = fe->packets[CAP_S2C];
	ei.bytes[XDIR_CLIENT] = fe->bytes[CAP_C2S];
	ei.bytes[XDIR_SERVER] = fe->bytes[CAP_S2C];
	ei.kernel_drops = fc->r->kernel_drops_seen;
	ei.overlap_conflict = fe->conflicts[CAP_C2S] + fe->conflicts[CAP_S2C] > 0;
	if (fc->r->sessions_open > 0)
		fc->r->sessions_open--;
	smtp_end(fc->s, &ei, &pos);
	free(fc);
}

/* ---------------------------------------------------------------------
 * statistics, progress and the end-of-run summary
 * ------------------------------------------------------------------ */


/*
 * A file with TCP traffic but none on the kept ports: say so, and where the
 * traffic was, with the option that would keep it.
 */
static void
print_other_ports(struct run *r, FILE *f, const struct cap_stats *st)
{
	uint16_t ports[5];
	uint64_t counts[5];
	size_t i, n;

	if (st->tcp_packets > 0 || st->other_tcp_packets == 0)
		return;
	n = cap_other_ports(r->cap, ports, counts, 5);
	fprintf(f, "  no TCP traffic on the selected ports (%s); %llu TCP packets "
	    "on other ports", r->o->ports_text, (unsigned long long)st->other_tcp_packets);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%u (%llu)", i == 0 ? ", the busiest: " : ", ", ports[i],
		    (unsigned long long)counts[i]);
	fprintf(f, "\n  try -P %u, or -P all for every TCP port\n", n > 0 ? ports[0] : 25);
}

static void
print_stats(struct run *r, FILE *f, bool final)
{
	struct cap_stats st;
	enum inc_type types[INC_MAX];
	char b1[16], t1[EXPORT_TS_SIZE], t2[EXPORT_TS_SIZE], zone[64];
	size_t i, n;
	int k;

	cap_stats(r->cap, &st);
	cli_fmt_bytes(b1, sizeof(b1), st.bytes);
	fprintf(f, "%s%llu packets (%s), %llu SMTP packets, %llu flows\n",
	    final ? "\nsummary: " : "stats: ",
	    (unsigned long long)st.packets, b1,
	    (unsigned long long)st.tcp_packets, (unsigned long long)st.flows);
	if (st.first_ts_us > 0) {
		fprintf(f, "  time: %s to %s, local time %s\n",
		    export_fmt_time(t1, sizeof(t1), st.first_ts_us, TS_LOCAL_MILLI),
		    export_fmt_time(t2, sizeof(t2), st.last_ts_us, TS_LOCAL_MILLI),
		    export_fmt_zone(zone, sizeof(zone), st.first_ts_us));
	}
	print_other_ports(r, f, &st);
	if (st.have_kernel)
		fprintf(f, "  kernel: %llu received, %llu dropped, %llu dropped by the interface\n",
		    (unsigned long long)st.kernel_recv, (unsigned long long)st.kernel_drop,
		    (unsigned long long)st.ifdrop);
	fprintf(f, "  sessions: %llu finished, %llu open; incidents: %llu\n",
	    (unsigned long long)r->sessions, (unsigned long long)r->sessions_open,
	    (unsigned long long)r->by_type.total);
	/* Incident types by count, most first (then by name). */
	n = inc_tally_sorted(&r->by_type, TALLY_BY_COUNT, types);
	for (i = 0; i < n; i++)
		fprintf(f, "    %-28s %llu\n", inc_type_name(types[i]),
		    (unsigned long long)r->by_type.n[types[i]]);
	for (k = 0; k < CAP_AN_MAX; k++)
		if (st.anomalies[k] > 0)
			fprintf(f, "  anomaly %-24s %llu  (%s)\n", cap_anomaly_name(k),
			    (unsigned long long)st.anomalies[k], cap_anomaly_desc(k));
	for (k = 0; k < SAN_MAX; k++)
		if (r->san[k] > 0)
			fprintf(f, "  smtp anomaly %-19s %llu  (%s)\n", smtp_anomaly_name(k),
			    (unsigned long long)r->san[k], smtp_anomaly_desc(k));
	/* The limits that were hit, each with the option that sets it. */
	if (st.anomalies[CAP_AN_FLOW_LIMIT] > 0)
		fprintf(f, "  limit hit: flow table full %llu times (--max-flows)\n",
		    (unsigned long long)st.anomalies[CAP_AN_FLOW_LIMIT]);
	if (st.anomalies[CAP_AN_TCP_OOO_LIMIT] > 0)
		fprintf(f, "  limit hit: out-of-order buffer full %llu times "
		    "(--max-ooo, --max-ooo-total)\n",
		    (unsigned long long)st.anomalies[CAP_AN_TCP_OOO_LIMIT]);
	if (st.anomalies[CAP_AN_FRAG_LIMIT] > 0)
		fprintf(f, "  limit hit: IP fragment memory full %llu times\n",
		    (unsigned long long)st.anomalies[CAP_AN_FRAG_LIMIT]);
	if (r->san[SAN_LINE_CAP] > 0)
		fprintf(f, "  limit hit: %llu lines cut (--max-line)\n",
		    (unsigned long long)r->san[SAN_LINE_CAP]);
	if (r->cut_lines > 0)
		fprintf(f, "  limit hit: %llu transcript lines not kept (--max-transcript)\n",
		    (unsigned long long)r->cut_lines);
	if (r->cut_caps + r->cut_tx + r->cut_rcpts > 0)
		fprintf(f, "  limit hit: not kept per session: %llu capabilities, "
		    "%llu transactions, %llu recipients\n",
		    (unsigned long long)r->cut_caps, (unsigned long long)r->cut_tx,
		    (unsigned long long)r->cut_rcpts);
	if (st.smtps_packets > 0) {
		cli_fmt_bytes(b1, sizeof(b1), st.smtps_bytes);
		fprintf(f, "  port 465 (implicit TLS, not decoded): %llu connections, "
		    "%llu packets, %s of payload\n",
		    (unsigned long long)st.smtps_connections,
		    (unsigned long long)st.smtps_packets, b1);
	}
	if (st.evidence_flows > 0 || st.evidence_cut > 0 || st.evidence_evicted > 0)
		fprintf(f, "  evidence: %llu flagged sessions, %llu packets kept, "
		    "%llu not kept (a cap was hit), %llu evicted\n",
		    (unsigned long long)st.evidence_flows,
		    (unsigned long long)st.evidence_packets,
		    (unsigned long long)st.evidence_cut,
		    (unsigned long long)st.evidence_evicted);
	fflush(f);
}

/* "[=====>     ]  45%  12.3 MB/27.0 MB  8.1 MB/s  0:02 left" on stderr. */
static void
progress(struct run *r, uint64_t now_us, uint64_t start_us, bool done)
{
	struct cap_stats st;
	char a[16], b[16], c[16];
	double frac, rate, left;
	int i, fill;

	cap_stats(r->cap, &st);
	if (st.file_bytes_total == 0)
		return;
	frac = (double)st.file_bytes_read / (double)st.file_bytes_total;
	if (frac > 1)
		frac = 1;
	rate = now_us > start_us ? st.file_bytes_read / ((now_us - start_us) / 1e6) : 0;
	left = rate > 0 ? (st.file_bytes_total - st.file_bytes_read) / rate : 0;
	cli_fmt_bytes(a, sizeof(a), st.file_bytes_read);
	cli_fmt_bytes(b, sizeof(b), st.file_bytes_total);
	cli_fmt_bytes(c, sizeof(c), (uint64_t)rate);
	fill = (int)(frac * 30);
	fputs("\r[", stderr);
	for (i = 0; i < 30; i++)
		fputc(i < fill ? '=' : (i == fill ? '>' : ' '), stderr);
	fprintf(stderr, "] %3d%% %s/%s %s/s %d:%02d left ", (int)(frac * 100), a, b, c,
	    (int)left / 60, (int)left % 60);
	if (done)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}



/* ---------------------------------------------------------------------
 * the capture loop (the main thread in batch mode, a thread under the UI)
 * ------------------------------------------------------------------ */

static void
post_ui_stats(struct run *r, bool finished)
{
	struct cap_stats st;
	struct ui_stats us;

	cap_stats(r->cap, &st);
	memset(&us, 0, sizeof(us));
	us.packets = st.packets;
	us.bytes = st.bytes;
	us.kernel_drops = st.kernel_drop;
	us.sessions_total = st.flows;
	us.sessions_open = r->sessions_open;
	us.file_bytes_total = st.file_bytes_total;
	us.file_bytes_read = st.file_bytes_read;
	us.first_ts_us = st.first_ts_us;
	us.last_ts_us = st.last_ts_us;
	us.finished = finished;
	ui_post_stats(r->ui, &us);
}

/* Returns 0 at the end of the input or on a stop request, -1 on an error
 * (in errbuf) after which the run is still finished normally. */
static int
capture_loop(struct run *r, char *errbuf)
{
	const struct opts *o = r->o;
	struct cap_stats st;
	uint64_t t0, now, last_tick = 0, last_prog = 0, last_ui = 0;
	bool show_progress, live = o->cap.nfiles == 0;
	int n, max;

	t0 = cli_mono_us();
	show_progress = !o->no_progress && !live && r->ui == NULL && isatty(STDERR_FILENO);
	for (;;) {
		if (got_stop || (r->ui != NULL && ui_quit_requested(r->ui)))
			break;
		max = (r->ui != NULL && o->speed > 0) ? 1 : 512;
		if (o->count > 0) {
			cap_stats(r->cap, &st);
			if (st.packets >= o->count)
				break;
			if (o->count - st.packets < (uint64_t)max)
				max = (int)(o->count - st.packets);
		}
		pthread_mutex_lock(&r->mtx);
		n = cap_dispatch(r->cap, max, errbuf);
		pthread_mutex_unlock(&r->mtx);
		if (n == CAP_EOF)
			break;
		if (n == -1)
			return -1;
		now = cli_mono_us();
		if (live && now - last_tick >= 100000) {
			last_tick = now;
			pthread_mutex_lock(&r->mtx);
			cap_tick(r->cap, cli_wall_us());
			pthread_mutex_unlock(&r->mtx);
			cap_stats(r->cap, &st);
			if (st.kernel_drop > 0)
				r->kernel_drops_seen = true;
		}
		if (got_usr1) {
			got_usr1 = 0;
			print_stats(r, stderr, false);
		}
		if (r->ui != NULL) {
			if (now - last_ui >= 100000) {
				last_ui = now;
				post_ui_stats(r, false);
			}
			cap_stats(r->cap, &st);
			if (!ui_pace(r->ui, st.last_ts_us))
				break;
		}
		if (show_progress && now - last_prog >= 200000) {
			last_prog = now;
			progress(r, now, t0, false);
		}
	}
	if (show_progress)
		progress(r, cli_mono_us(), t0, true);
	return 0;
}

struct capthread {
	struct run *r;
	int rc;
	char errbuf[CAP_ERRBUF_SIZE];
};

static void *
capture_thread(void *arg)
{
	struct capthread *ct = arg;
	struct run *r = ct->r;

	ct->rc = capture_loop(r, ct->errbuf);
	pthread_mutex_lock(&r->mtx);
	cap_finish(r->cap, got_stop || ui_quit_requested(r->ui));
	pthread_mutex_unlock(&r->mtx);
	post_ui_stats(r, true);
	/* The UI stays up after the end of a file until the user quits;
	 * a SIGINT/SIGTERM meanwhile must still end it. */
	while (!ui_quit_requested(r->ui)) {
		if (got_stop)
			ui_request_quit(r->ui);
		usleep(50000);
	}
	return NULL;
}

static int
open_outputs(struct run *r)
{
	const struct opts *o = r->o;
	char err[512];
	int i;

	if (o->json != NULL) {
		if (strcmp(o->json, "-") == 0)
			r->json = stdout;
		else if ((r->json = fopen(o->json, "w")) == NULL) {
			cli_warn("--json: cannot create '%s': %s", o->json, strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < o->nreports; i++)
		if ((r->reports[i] = report_new(o->reports[i], err, sizeof(err))) == NULL) {
			cli_warn("--report: %s", err);
			return -1;
		}
	if (o->syslog)
		openlog("smtpscope", LOG_PID, LOG_DAEMON);
	return 0;
}

/* What the report says about the run; an[] and src are the caller's. */
static void
fill_run_stats(struct run *r, struct run_stats *rs, struct run_count an[CAP_AN_MAX],
    char *src, size_t srclen)
{
	const struct opts *o = r->o;
	struct cap_stats st;
	int k;

	cap_stats(r->cap, &st);
	memset(rs, 0, sizeof(*rs));
	if (o->cap.nfiles > 0)
		snprintf(src, srclen, "file%s %s%s", o->cap.nfiles > 1 ? "s" : "",
		    o->cap.files[0], o->cap.nfiles > 1 ? " ..." : "");
	else
		snprintf(src, srclen, "interface %s", o->cap.iface);
	rs->source = src;
	rs->first_ts_us = st.first_ts_us;
	rs->last_ts_us = st.last_ts_us;
	rs->packets = st.packets;
	rs->bytes = st.bytes;
	rs->have_kernel = st.have_kernel;
	rs->kernel_drops = st.kernel_drop;
	rs->sessions = st.flows;
	rs->open_sessions = r->sessions_open;
	for (k = 0; k < CAP_AN_MAX; k++)
		if (st.anomalies[k] > 0) {
			an[rs->nanomalies].name = cap_anomaly_name(k);
			an[rs->nanomalies++].count = st.anomalies[k];
		}
	rs->anomalies = an;
}

/* The UI's "write report" key (UI thread). */
static int
ui_write_report(void *arg, const char *path, char *err, size_t errlen)
{
	struct run *r = arg;
	struct run_stats rs;
	struct run_count an[CAP_AN_MAX];
	char src[300];
	int rc;

	pthread_mutex_lock(&r->mtx);
	fill_run_stats(r, &rs, an, src, sizeof(src));
	rc = report_snapshot(r->ui_report, path, &rs, err, errlen);
	pthread_mutex_unlock(&r->mtx);
	return rc;
}

/* The UI's "write pcap" key (UI thread): the flagged sessions so far. */
static int
ui_write_pcap(void *arg, const char *path, char *err, size_t errlen)
{
	struct run *r = arg;
	char eb[CAP_ERRBUF_SIZE];
	int n;

	pthread_mutex_lock(&r->mtx);
	n = cap_evidence_write(r->cap, path, eb);
	pthread_mutex_unlock(&r->mtx);
	if (n == -1) {
		strlcpy(err, eb, errlen);
		return -1;
	}
	return 0;
}

static int
close_outputs(struct run *r)
{
	const struct opts *o = r->o;
	struct run_stats rs;
	struct run_count an[CAP_AN_MAX];
	char err[512], src[300];
	int i, rc = 0;

	if (r->json != NULL && r->json != stdout) {
		struct stat sb;

		/* fsync only what can be synced: /dev/null or a pipe cannot. */
		if (fflush(r->json) == EOF || (fstat(fileno(r->json), &sb) == 0 &&
		    S_ISREG(sb.st_mode) && fsync(fileno(r->json)) == -1))
			out_failed(r, o->json);
		if (fclose(r->json) == EOF)
			out_failed(r, o->json);
	} else if (r->json == stdout && fflush(stdout) == EOF)
		out_failed(r, "standard output");
	r->json = NULL;
	/* Only a run that got as far as reading writes its reports; one that
	 * failed to start leaves no empty report behind (report_free). */
	if (r->started)
		fill_run_stats(r, &rs, an, src, sizeof(src));
	for (i = 0; i < o->nreports; i++) {
		if (r->reports[i] == NULL)
			continue;
		if (r->started &&
		    report_write(r->reports[i], &rs, err, sizeof(err)) == -1) {
			cli_warn("--report: %s", err);
			rc = -1;
		}
		report_free(r->reports[i]);
		r->reports[i] = NULL;
	}
	if (r->dump != NULL) {
		if (dumpflow_close(r->dump, err) == -1) {
			cli_warn("--dump-streams: %s", err);
			rc = -1;
		}
		r->dump = NULL;
	}
	if (r->out_errors > 0) {
		cli_warn("output incomplete: %s", r->out_err);
		rc = -1;
	}
	if (o->syslog)
		closelog();
	return rc;
}

static int
run_capture(struct opts *o)
{
	struct run r;
	struct smtp_sink sink;
	struct cap_consumer dec, dumped;
	const struct cap_consumer *use = &dec;
	struct ui_config uc;
	struct capthread ct;
	pthread_t tid;
	char errbuf[CAP_ERRBUF_SIZE], as[64], srcname[PATH_MAX + 32];
	struct stat sb;
	bool want_ui, made_dir = false;
	int rc = EX_OK_, loop_rc = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	pthread_mutex_init(&r.mtx, NULL);
	want_ui = !o->batch && isatty(STDOUT_FILENO) && o->dump_dir == NULL &&
	    (o->json == NULL || strcmp(o->json, "-") != 0);

	memset(&sink, 0, sizeof(sink));
	sink.arg = &r;
	sink.session_update = want_ui ? sink_update : NULL;
	sink.session_end = sink_end;
	if ((r.smtp = smtp_ctx_new(&o->smtp, &sink)) == NULL) {
		cli_warn("out of memory");
		return EX_INPUT_;
	}
	memset(&dec, 0, sizeof(dec));
	dec.arg = &r;
	dec.open = ad_open;
	dec.data = ad_data;
	dec.gap = ad_gap;
	dec.close = ad_close;
	if (o->dump_dir != NULL) {
		made_dir = stat(o->dump_dir, &sb) == -1;
		if (dumpflow_open(&r.dump, o->dump_dir, errbuf) == -1) {
			cli_warn("--dump-streams: %s", errbuf);
			smtp_ctx_free(r.smtp);
			return EX_OUTPUT_;
		}
		dumpflow_consumer(r.dump, &dec, &dumped);
		use = &dumped;
	}
	if (open_outputs(&r) == -1) {
		rc = EX_OUTPUT_;
		goto fail;
	}
	errbuf[0] = '\0';
	o->cap.evidence_file = o->pcap_out;
	o->cap.evidence_keep = want_ui;
	if (cap_open(&r.cap, &o->cap, use, errbuf) == -1) {
		bool out = strncmp(errbuf, "cannot create '", 15) == 0 ||
		    strncmp(errbuf, "cannot write '", 14) == 0;

		cli_warn("%s%s", out ? "-w: " : "", errbuf);
		filter_hint(o);
		rc = out ? EX_OUTPUT_ : strstr(errbuf, "filter") != NULL ? EX_USAGE_ :
		    EX_INPUT_;
		goto fail;
	}
	if (errbuf[0] != '\0')
		cli_warn("warning: %s", errbuf);	/* e.g. promiscuous mode not supported */
	sig_cap = r.cap;
	as[0] = '\0';
	if (o->cap.nfiles == 0 && cli_drop_privileges(o->user, made_dir ? o->dump_dir : NULL,
	    as, sizeof(as)) == -1) {
		rc = EX_INPUT_;
		goto fail;
	}
	if (r.dump != NULL && dumpflow_check(r.dump, errbuf) == -1) {
		if (as[0] != '\0')
			cli_warn("--dump-streams: %s (running as '%s' after giving up root; "
			    "make the directory writable for '%s', or keep root with -Z root)",
			    errbuf, as, as);
		else
			cli_warn("--dump-streams: %s", errbuf);
		rc = EX_OUTPUT_;
		goto fail;
	}
	r.started = true;
	if (o->cap.nfiles == 0 && !want_ui)
		fprintf(stderr, "smtpscope: listening on %s, link-type %s\n", o->cap.iface,
		    cap_linktype(r.cap));

	if (want_ui) {
		memset(&uc, 0, sizeof(uc));
		if (o->cap.nfiles > 1) {
			snprintf(srcname, sizeof(srcname), "%s +%d more", o->cap.files[0],
			    o->cap.nfiles - 1);
			uc.source = srcname;
		} else
			uc.source = o->cap.nfiles > 0 ? o->cap.files[0] : o->cap.iface;
		uc.filter = o->filter;
		uc.is_file = o->cap.nfiles > 0;
		uc.speed = o->speed;
		uc.mono = o->mono;
		if ((r.ui_report = report_new(NULL, errbuf, sizeof(errbuf))) != NULL) {
			uc.actions.arg = &r;
			uc.actions.write_report = ui_write_report;
		}
		uc.actions.arg = &r;
		uc.actions.write_pcap = ui_write_pcap;
		if ((r.ui = ui_new(&uc, errbuf, sizeof(errbuf))) == NULL ||
		    ui_start(r.ui, errbuf, sizeof(errbuf)) == -1) {
			cli_warn("%s", errbuf);
			if (r.ui != NULL)
				ui_free(r.ui);
			r.ui = NULL;
			report_free(r.ui_report);
			r.ui_report = NULL;
			want_ui = false;
		}
	}
	if (!want_ui) {
		if (o->json == NULL || strcmp(o->json, "-") != 0)
			r.batch = stdout;
		r.bo.color = r.batch != NULL && isatty(STDOUT_FILENO) &&
		    getenv("NO_COLOR") == NULL;
		r.bo.verbose = o->verbose;
		r.bo.ts = batch_ts_of(o->tstamp);
		loop_rc = capture_loop(&r, errbuf);
		cap_finish(r.cap, got_stop != 0);
	} else {
		memset(&ct, 0, sizeof(ct));
		ct.r = &r;
		if (pthread_create(&tid, NULL, capture_thread, &ct) != 0) {
			ui_stop(r.ui);
			cli_warn("cannot start the capture thread");
			cap_close(r.cap);
			return EX_INPUT_;
		}
		ui_run(r.ui);
		ui_request_quit(r.ui);
		cap_breakloop(r.cap);
		pthread_join(tid, NULL);
		ui_stop(r.ui);
		loop_rc = ct.rc;
		if (loop_rc == -1)
			strlcpy(errbuf, ct.errbuf, sizeof(errbuf));
	}
	if (loop_rc == -1) {
		cli_warn("%s", errbuf);
		rc = EX_INPUT_;
	}
	if (r.batch != NULL)
		print_stats(&r, stdout, true);
	else if (o->json != NULL && strcmp(o->json, "-") == 0 && !want_ui)
		print_stats(&r, stderr, true);
	if (close_outputs(&r) == -1 && rc == EX_OK_)
		rc = EX_OUTPUT_;
	if (cap_evidence_close(r.cap, errbuf) == -1) {
		cli_warn("-w: %s", errbuf);
		if (rc == EX_OK_)
			rc = EX_OUTPUT_;
	}
	sig_cap = NULL;
	cap_close(r.cap);
	smtp_ctx_free(r.smtp);
	if (r.ui != NULL)
		ui_free(r.ui);
	if (r.ui_report != NULL)
		report_free(r.ui_report);
	pthread_mutex_destroy(&r.mtx);
	return rc;

fail:	/* before the first packet: nothing was read, nothing is written */
	sig_cap = NULL;
	close_outputs(&r);
	cap_close(r.cap);
	smtp_ctx_free(r.smtp);
	pthread_mutex_destroy(&r.mtx);
	return rc;
}

/* ---------------------------------------------------------------------
 * usage and options
 * ------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: smtpscope [-bDhlnpqUv] [-c count] [-F file] [-i interface] [-P ports]\n"
"                 [-r file]... [-s snaplen] [-B buffer_size] [-t[ttt]]\n"
"                 [-w file] [-Z user] [--json file] [--report file]...\n"
"                 [--syslog] [--dump-streams dir] [--probe host[:port]]\n"
"                 [expression]\n"
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
"  --probe HOST[:PORT] connect, EHLO, QUIT, and report the capabilities\n"
"  --probe-timeout SEC  how long the probe waits to connect and per reply (15)\n"
"  --speed X         UI replay pace: 0 = as fast as possible, 1 = real time\n"
"  --mono            UI without colours;  --no-progress  no progress bar\n"
"  --max-flows N, --max-ooo BYTES, --max-ooo-total BYTES, --idle-timeout SEC,\n"
"  --max-line BYTES, --max-transcript LINES   memory and time limits\n"
"  -h, --help        this text;  --version  the versions\n"
"  expression        a BPF filter (pcap-filter(7)), ANDed with the port filter\n");
}

enum {
	OPT_JSON = 256, OPT_REPORT, OPT_SYSLOG, OPT_DUMP, OPT_PROBE, OPT_VERSION,
	OPT_SPEED, OPT_MAXFLOWS, OPT_MAXOOO, OPT_MAXOOOT, OPT_IDLE, OPT_MAXLINE,
	OPT_MAXLINES, OPT_MONO, OPT_NOPROGRESS, OPT_PROBETO, OPT_MAX_
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
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "max-flows", required_argument, NULL, OPT_MAXFLOWS },
	{ "max-ooo", required_argument, NULL, OPT_MAXOOO },
	{ "max-ooo-total", required_argument, NULL, OPT_MAXOOOT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "max-line", required_argument, NULL, OPT_MAXLINE },
	{ "max-transcript", required_argument, NULL, OPT_MAXLINES },
	{ "mono", no_argument, NULL, OPT_MONO },
	{ "no-progress", no_argument, NULL, OPT_NOPROGRESS },
	{ NULL, 0, NULL, 0 }
};

/* Options that take a list or a count and may be given again. */
static bool
repeatable(int ch)
{
	return ch == 'r' || ch == OPT_REPORT || ch == 'v' || ch == 't' || ch == 'n' ||
	    ch == 'b' || ch == 'q' || ch == 'l' || ch == 'U' || ch == 'p' ||
	    ch == OPT_SYSLOG || ch == OPT_MONO || ch == OPT_NOPROGRESS;
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
static void
filter_hint(const struct opts *o)
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
static enum batch_ts
batch_ts_of(int n)
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

/* Parse the command line into *o; returns -1 to exit with *rc. */
static int
parse_options(int argc, char **argv, struct opts *o, int *rc)
{
	char errbuf[CAP_ERRBUF_SIZE], nm[32];
	unsigned char seen[OPT_MAX_] = { 0 };
	const char *bad;
	int ch, n;

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
			if (o->nreports >= MAX_REPORTS) {
				cli_warn("--report: at most %d reports", MAX_REPORTS);
				return -1;
			}
			for (n = 0; n < o->nreports; n++)
				if (strcmp(o->reports[n], optarg) == 0) {
					cli_warn("--report: '%s' given twice", optarg);
					return -1;
				}
			o->reports[o->nreports++] = optarg;
			break;
		case OPT_SYSLOG:
			o->syslog = true;
			break;
		case OPT_DUMP:
			o->dump_dir = optarg;
			break;
		case OPT_PROBE:
			o->probe = optarg;
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
	if (o->probe != NULL)
		return 0;
	if (o->cap.nfiles == 0 && o->cap.iface == NULL) {
		cli_warn("nothing to read: give -r FILE or -i INTERFACE (-h for help)");
		return -1;
	}
	if (o->cap.nfiles > 0 && o->cap.iface != NULL) {
		cli_warn("-r and -i cannot be used together");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc = EX_OK_;

	memset(&o, 0, sizeof(o));
	cap_config_init(&o.cap);
	smtp_limits_init(&o.smtp);
	strlcpy(o.ports_text, "25,587,2525", sizeof(o.ports_text));
	o.probe_timeout_ms = 15000;
	tzset();
	if (parse_options(argc, argv, &o, &rc) == -1) {
		free(o.filter);
		return rc;
	}
	if (o.line_buffered)
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.probe != NULL) {
		struct probe_opts po = { o.probe, o.probe_timeout_ms, o.json, &o.smtp };

		rc = probe_run(&po);
	}
	else {
		install_signals();
		rc = run_capture(&o);
	}
	free(o.filter);
	return rc;
}
