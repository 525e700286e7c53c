/*
 * smtpscope.c - main(): wires the layers together.
 *
 * It takes the parsed command line (cli/options.c), opens the capture and
 * the outputs, wires the layers together and picks the exit code; the
 * program's other user-facing jobs are in cli/ (the summary, --probe, the
 * privilege drop).  The layers do not
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
#include "cli/writer.h"
#include "decode/cause.h"
#include "decode/escape.h"
#include "decode/export.h"
#include "decode/smtp.h"
#include "ui/ui.h"

/* One run: everything the adapters and sinks share.  Lives on main's stack. */
struct run {
	const struct cli_opts *o;
	struct cap *cap;
	struct smtp_ctx *smtp;
	struct dumpflow *dump;
	struct report *reports[CLI_MAX_REPORTS];	/* --report, in order */
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
	uint64_t sessions_open;
	int out_errors;		/* writes that failed */
	char out_err[256];	/* the first failure */
	struct summary sum;	/* the decoder's figures for the summary */
	struct smtp_keylog *keylog;	/* --tls-keylog files and pcapng secrets */
	/* Batch runs: the decoder keeps ended records (keep_ended) for the
	 * writer thread, which writes them while the next are decoded. */
	bool keep;
	struct writer *writer;
	char limit_text[3][96];	/* the report's "limits hit", fill_run_stats */
	const char *limit_ptr[3];
};

/* Per flow: the adapter's context (one small allocation per flow, not per
 * packet).  The decoder's session, with its line buffers and transcript,
 * is made when the first payload byte (or gap) arrives: a flow that never
 * carries any (a SYN of a flood, a port scan) costs this and the capture
 * layer's flow entry only, and is counted in the summary, not reported as
 * a session. */
struct flowctx {
	struct run *r;
	struct smtp_session *s;		/* NULL until the first payload */
	struct smtp_peers peers;
};


static volatile sig_atomic_t got_stop, got_usr1, got_hup;
static struct cap *sig_cap;	/* read by the signal handler only */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1) {
		got_usr1 = 1;
		return;
	}
	if (sig == SIGHUP) {
		got_hup = 1;
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
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}


static void reopen_outputs(struct run *);
static void fill_run_stats(struct run *, struct run_stats *, struct run_count [CAP_AN_MAX],
    char *, size_t);

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

/* --trace-states: every move of a session's state machine, and why. */
static void
sink_state(void *arg, const struct sess_record *rec, const char *from,
    const char *to, const char *why)
{
	(void)arg;
	fprintf(stderr, "trace %s: %s -> %s (%s)\n", rec->uid, from, to, why);
}

static void write_record(struct run *, const struct sess_record *);

static void
sink_end(void *arg, const struct sess_record *rec)
{
	struct run *r = arg;

	summary_add(&r->sum, rec);
	if (rec->ninc > 0)
		cap_flag_flow(r->cap, rec->flow_id);	/* -w and the UI's pcap key */
	if (r->writer != NULL) {
		writer_put(r->writer, rec);
		return;
	}
	write_record(r, rec);
	if (r->keep)		/* no writer thread after all */
		smtp_release(r->smtp, rec);
}

/* A record's outputs: JSON Lines, the batch line, the reports, syslog and
 * the live view.  On the writer's thread when there is one. */
static void
write_record(struct run *r, const struct sess_record *rec)
{
	char cl[EXPORT_ADDR_SIZE], sv[EXPORT_ADDR_SIZE];
	size_t i;

	if (r->json != NULL) {
		/* Live, a record is written as its session ends; a replay's
		 * records go out in large writes (and all at the end). */
		if (export_json_session(r->json, rec) == -1 ||
		    ((r->o->line_buffered || r->o->cap.nfiles == 0) && fflush(r->json) == EOF))
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

static void
writer_write(void *arg, const void *rec)
{
	write_record(arg, rec);
}

static void
writer_release(void *arg, const void *rec)
{
	struct run *r = arg;

	smtp_release(r->smtp, rec);
}

/* ---------------------------------------------------------------------
 * capture -> decode: the adapter
 * ------------------------------------------------------------------ */

static void *
ad_open(void *arg, const struct cap_flow_info *fi)
{
	struct run *r = arg;
	struct flowctx *fc;
	struct smtp_peers *p;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	p = &fc->peers;
	p->flow_id = fi->id;
	p->family = fi->family;
	memcpy(p->client_ip, fi->client_ip, sizeof(p->client_ip));
	memcpy(p->server_ip, fi->server_ip, sizeof(p->server_ip));
	p->client_port = fi->client_port;
	p->server_port = fi->server_port;
	p->mid_stream = fi->mid_stream;
	p->implicit_tls = fi->server_port == 465;	/* RFC 8314 */
	p->ts_us = fi->ts_us;
	p->pkt = fi->pkt;
	fc->r = r;
	return fc;
}

/* The flow's decoder session, made on its first payload; NULL when memory
 * ran out (the flow's bytes are then dropped, as a failed open would). */
static struct smtp_session *
fc_session(struct flowctx *fc)
{
	if (fc->s == NULL && (fc->s = smtp_session_new(fc->r->smtp, &fc->peers)) != NULL)
		fc->r->sessions_open++;
	return fc->s;
}

static void
ad_data(void *flow, enum cap_dir dir, const uint8_t *b, size_t len,
    const struct cap_pos *cp)
{
	struct flowctx *fc = flow;
	struct smtp_pos pos = { .ts_us = cp->ts_us, .pkt = cp->pkt,
	    .peer_ack_known = cp->peer_ack_known, .peer_acked = cp->peer_acked };

	if (fc != NULL && fc_session(fc) != NULL)
		smtp_feed(fc->s, dir == CAP_C2S ? XDIR_CLIENT : XDIR_SERVER, b, len, &pos);
}

static void
ad_gap(void *flow, enum cap_dir dir, uint64_t len, const struct cap_pos *cp)
{
	struct flowctx *fc = flow;
	struct smtp_pos pos = { .ts_us = cp->ts_us, .pkt = cp->pkt };

	if (fc != NULL && fc_session(fc) != NULL)
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
	struct smtp_pos pos = { .ts_us = cp->ts_us, .pkt = cp->pkt };
	struct smtp_end_info ei;

	if (fc == NULL)
		return;
	if (fc->s == NULL) {	/* no payload: counted, not a session */
		summary_silent(&fc->r->sum, fc->peers.family, fc->peers.server_ip,
		    fe->packets[CAP_S2C] > 0);
		free(fc);
		return;
	}
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
	us.iface_away = cap_lost(r->cap) != NULL;
	ui_post_stats(r->ui, &us);
}

/* Returns 0 at the end of the input or on a stop request, -1 on an error
 * (in errbuf) after which the run is still finished normally. */
static int
capture_loop(struct run *r, char *errbuf)
{
	const struct cli_opts *o = r->o;
	struct cap_stats st;
	uint64_t t0, now, last_tick = 0, last_prog = 0, last_ui = 0;
	bool show_progress, live = o->cap.nfiles == 0;
	uint64_t lost_seen = 0, back_seen = 0;
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
			/* The interface went away and came back: said once each
			 * (not over the live view, which shows its own state). */
			if (st.iface_lost > lost_seen && r->ui == NULL)
				cli_warn("lost interface %s: %s; retrying", o->cap.iface,
				    cap_lost(r->cap) != NULL ? cap_lost(r->cap) : "read error");
			if (st.iface_back > back_seen && r->ui == NULL)
				cli_warn("interface %s is back: capturing again", o->cap.iface);
			lost_seen = st.iface_lost;
			back_seen = st.iface_back;
		}
		if (got_hup) {
			got_hup = 0;
			if (r->writer != NULL)	/* the outputs are its until then */
				writer_sync(r->writer);
			pthread_mutex_lock(&r->mtx);
			reopen_outputs(r);
			pthread_mutex_unlock(&r->mtx);
		}
		if (got_usr1) {
			got_usr1 = 0;
			smtp_keylog_stats(r->keylog, &r->sum.kl);
			summary_print(stderr, &r->sum, r->cap, o->ports_text, r->sessions_open, false);
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
			summary_progress(r->cap, now, t0, false);
		}
	}
	if (show_progress)
		summary_progress(r->cap, cli_mono_us(), t0, true);
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

/* stdio buffer of the JSON Lines file: whole pages to the kernel, few
 * system calls on a replay. */
#define OUT_BUFSIZE	(256 * 1024)

static int
open_outputs(struct run *r)
{
	const struct cli_opts *o = r->o;
	char err[512];
	int i;

	if (o->json != NULL) {
		if (strcmp(o->json, "-") == 0)
			r->json = stdout;
		else if ((r->json = fopen(o->json, "w")) == NULL) {
			cli_warn("--json: cannot create '%s': %s", o->json, strerror(errno));
			return -1;
		} else
			(void)setvbuf(r->json, NULL, _IOFBF, OUT_BUFSIZE);
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


/*
 * SIGHUP (logrotate's postrotate): outputs whose path is no longer their
 * file are started anew at the path.  The JSON Lines file is reopened for
 * appending; a report is written complete into its old file (the period
 * it covered) and a new one starts empty.  An output whose path still is
 * its file is left alone, and one that cannot be reopened (the directory
 * not writable by the user smtpscope now runs as) keeps going to the old
 * file, with a warning: nothing is lost.
 */
static void
reopen_outputs(struct run *r)
{
	const struct cli_opts *o = r->o;
	struct run_stats rs;
	struct run_count an[CAP_AN_MAX];
	char err[512], src[300];
	struct stat a, b;
	FILE *nf;

	if (r->json != NULL && r->json != stdout && fstat(fileno(r->json), &a) == 0 &&
	    (stat(o->json, &b) == -1 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		if ((nf = fopen(o->json, "a")) == NULL)
			cli_warn("SIGHUP: --json: cannot reopen '%s': %s (still writing to "
			    "the old file)", o->json, strerror(errno));
		else {
			if (fflush(r->json) == EOF || fclose(r->json) == EOF)
				out_failed(r, o->json);
			(void)setvbuf(nf, NULL, _IOFBF, OUT_BUFSIZE);
			r->json = nf;
		}
	}
	fill_run_stats(r, &rs, an, src, sizeof(src));
	for (int i = 0; i < o->nreports; i++) {
		struct report *nr;

		if (!report_moved(r->reports[i]))
			continue;
		if ((nr = report_new(o->reports[i], err, sizeof(err))) == NULL) {
			cli_warn("SIGHUP: --report: %s (still reporting into the old file)", err);
			continue;
		}
		if (report_write(r->reports[i], &rs, err, sizeof(err)) == -1)
			cli_warn("--report: %s", err);
		report_free(r->reports[i]);
		r->reports[i] = nr;
	}
	if (o->syslog) {
		closelog();
		openlog("smtpscope", LOG_PID, LOG_DAEMON);
	}
}

/* What the report says about the run; an[] and src are the caller's. */
static void
fill_run_stats(struct run *r, struct run_stats *rs, struct run_count an[CAP_AN_MAX],
    char *src, size_t srclen)
{
	const struct cli_opts *o = r->o;
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
	rs->silent_flows = r->sum.silent;
	rs->half_open = r->sum.silent_unanswered;
	rs->tls_sessions = r->sum.tls;
	rs->tls_keys = r->sum.keylog;
	rs->tls_decrypted = r->sum.tls_dec[TD_DECRYPTED];
	rs->tls_no_key = r->sum.tls_dec[TD_NO_KEY];
	rs->tls_failed = r->sum.tls_dec[TD_FAILED];
	rs->tls_unsupported = r->sum.tls_dec[TD_UNSUPPORTED];
	rs->tls_bad_records = r->sum.tls_bad_records;
	/* The limits that cut something, with the option that sets each. */
	if (st.anomalies[CAP_AN_FLOW_LIMIT] > 0)
		snprintf(r->limit_text[rs->nlimits++], sizeof(r->limit_text[0]),
		    "flow table full, %llu flows evicted (--max-flows)",
		    (unsigned long long)st.anomalies[CAP_AN_FLOW_LIMIT]);
	if (st.anomalies[CAP_AN_TCP_OOO_LIMIT] > 0)
		snprintf(r->limit_text[rs->nlimits++], sizeof(r->limit_text[0]),
		    "out-of-order buffer full %llu times (--max-ooo, --max-ooo-total)",
		    (unsigned long long)st.anomalies[CAP_AN_TCP_OOO_LIMIT]);
	if (st.anomalies[CAP_AN_FRAG_LIMIT] > 0)
		snprintf(r->limit_text[rs->nlimits++], sizeof(r->limit_text[0]),
		    "IP fragment memory full %llu times",
		    (unsigned long long)st.anomalies[CAP_AN_FRAG_LIMIT]);
	for (k = 0; k < (int)rs->nlimits; k++)
		r->limit_ptr[k] = r->limit_text[k];
	rs->limits_hit = r->limit_ptr;
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
	const struct cli_opts *o = r->o;
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

/* --dump-streams: decrypted TLS next to the flow's files, as NAME.tls. */
static void
sink_tls_plaintext(void *arg, const struct sess_record *rec, enum xdir d,
    const uint8_t *p, size_t n)
{
	struct run *r = arg;

	if (d == XDIR_CLIENT)
		(void)dumpflow_extra(r->dump, rec->family, rec->client_ip, rec->client_port,
		    rec->server_ip, rec->server_port, ".tls", p, n);
	else
		(void)dumpflow_extra(r->dump, rec->family, rec->server_ip, rec->server_port,
		    rec->client_ip, rec->client_port, ".tls", p, n);
}

/* A pcapng Decryption Secrets Block: a TLS key log is read as one. */
static void
cap_secrets(void *arg, uint32_t type, const uint8_t *p, size_t n)
{
	if (type == 0x544c534bU)	/* "TLSK" */
		smtp_keylog_text(arg, p, n);
}

static int
run_capture(struct cli_opts *o)
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
	/* A batch run writes its records on a second thread (cli/writer.h).
	 * Not with --trace-states or --dump-streams, whose lines on the
	 * capture thread go with the records' in order. */
	r.keep = sink.keep_ended = !want_ui && !o->trace_states && o->dump_dir == NULL;
	/* Not over the live view's screen: only to a redirected stderr. */
	if (o->trace_states && (!want_ui || !isatty(STDERR_FILENO)))
		sink.state_change = sink_state;
	if (o->dump_dir != NULL)
		sink.tls_plaintext = sink_tls_plaintext;
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
	/* Key logs: opened now, before the privilege drop; read-only. */
	if ((r.keylog = smtp_keylog_new(0)) == NULL) {
		cli_warn("out of memory");
		rc = EX_INPUT_;
		goto fail;
	}
	for (int i = 0; i < o->nkeylogs; i++)
		if (smtp_keylog_open(r.keylog, o->keylogs[i]) == -1) {
			cli_warn("--tls-keylog: cannot read '%s': %s", o->keylogs[i],
			    strerror(errno));
			rc = EX_INPUT_;
			goto fail;
		}
	o->cap.secrets = cap_secrets;
	o->cap.secrets_arg = r.keylog;
	errbuf[0] = '\0';
	o->cap.evidence_file = o->pcap_out;
	o->cap.evidence_keep = want_ui;
	if (cap_open(&r.cap, &o->cap, use, errbuf) == -1) {
		bool out = strncmp(errbuf, "cannot create '", 15) == 0 ||
		    strncmp(errbuf, "cannot write '", 14) == 0;

		cli_warn("%s%s", out ? "-w: " : "", errbuf);
		cli_filter_hint(o);
		rc = out ? EX_OUTPUT_ : strstr(errbuf, "filter") != NULL ? EX_USAGE_ :
		    EX_INPUT_;
		goto fail;
	}
	if (errbuf[0] != '\0')
		cli_warn("warning: %s", errbuf);	/* e.g. promiscuous mode not supported */
	/* Decryption is on with a key log, or with secrets in the input
	 * files; otherwise TLS sessions cost nothing more than before. */
	smtp_keylog_stats(r.keylog, &r.sum.kl);
	if (o->nkeylogs > 0 || r.sum.kl.lines > 0) {
		smtp_ctx_keylog(r.smtp, r.keylog);
		r.sum.keylog = true;
	}
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
		uc.max_bytes = o->ui_max_bytes;
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
		r.bo.ts = cli_batch_ts(o->tstamp);
		r.bo.esc = r.batch != NULL && cli_utf8_terminal(STDOUT_FILENO) ? ESC_UTF8 : 0;
		r.bo.causes = r.batch != NULL ? cause_set_new() : NULL;
		if (r.keep) {
			struct writer_fns wf = { &r, writer_write, writer_release };

			/* Live, each record is written as its session ends. */
			r.writer = writer_start(&wf, o->cap.nfiles == 0);
		}
		loop_rc = capture_loop(&r, errbuf);
		cap_finish(r.cap, got_stop != 0);
		writer_stop(r.writer);
		r.writer = NULL;
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
	smtp_keylog_stats(r.keylog, &r.sum.kl);
	if (r.batch != NULL) {
		(void)export_batch_causes(stdout, &r.bo);
		summary_print(stdout, &r.sum, r.cap, o->ports_text, r.sessions_open, true);
	}
	else if (o->json != NULL && strcmp(o->json, "-") == 0 && !want_ui)
		summary_print(stderr, &r.sum, r.cap, o->ports_text, r.sessions_open, true);
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
	smtp_keylog_free(r.keylog);
	cause_set_free(r.bo.causes);
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
	smtp_keylog_free(r.keylog);
	pthread_mutex_destroy(&r.mtx);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	int rc = EX_OK_;

	tzset();
	if (cli_parse_options(argc, argv, &o, &rc) == -1) {
		free(o.filter);
		return rc;
	}
	if (o.line_buffered)
		setvbuf(stdout, NULL, _IOLBF, 0);
	else if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, OUT_BUFSIZE);
	if (o.probe != NULL) {
		struct probe_opts po = { o.probe, o.probe_timeout_ms, o.json, &o.smtp,
		    o.require, o.ehlo, o.probe_source, o.probe_starttls, o.probe_tls };

		rc = probe_run(&po);
	}
	else {
		install_signals();
		rc = run_capture(&o);
	}
	free(o.filter);
	return rc;
}
