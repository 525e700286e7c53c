/*
 * report.c - the end-of-run report: incidents grouped, run statistics, and
 * a safe write to disk in text, Markdown, JSON or CSV (export.h).
 *
 * report_add() takes each finished session and copies only what the report
 * needs: run totals, per-type counts, and the incidents grouped by root
 * cause (cause.h: the type and the host that must change, with the peers,
 * the refused addresses, the session uids, and one example with its log
 * keys (queue id, Message-ID, Subject, From, To),
 * diagnosis, fix and evidence, printed once per cause).  The causes are
 * capped (CAUSE_MAX; types need no cap: record.h's tally has a slot per
 * type), so memory is bounded whatever the run's length; what the caps
 * cut is counted and printed.  A CSV report keeps no groups:
 * its rows go straight into the file as sessions end.
 *
 * Files.  report_new() opens (and empties) the report file at once, so a
 * path that cannot be written fails before the first packet is read, and
 * it does so while smtpscope still runs as the user who started it: a live
 * capture gives up root later, and a report in a directory only root may
 * write (root's home, say) still works because the descriptor is already
 * open.  report_write() writes the whole report into that descriptor, then
 * fflush, fsync and fclose, each checked; on a failure the file is emptied
 * (and removed if smtpscope created it), so nobody reads half a report, and
 * the caller reports it (exit 3).  A file created but never written (a run
 * that failed to start) is removed too.  The UI's
 * snapshots (report_snapshot) name new files while smtpscope runs, as the
 * user it runs as then: those go to a temp file made with mkstemp(3)
 * beside the target and are renamed into place, so a reader sees the old
 * snapshot or the whole new one.  A target that exists and is not a
 * regular file (a device, a directory) is refused rather than replaced.
 * The file mode is 0644, whatever the umask (reading the umask is not
 * thread-safe).
 *
 * Deliberately not here: printing, deciding paths or names (smtpscope.c
 * does), anything about the capture layer (the caller hands in a plain
 * struct run_stats).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/tree.h>
#include <unistd.h>

#include "cause.h"
#include "escape.h"
#include "export.h"
#include "fields.h"

struct report {
	enum report_format fmt;
	char path[PATH_MAX];
	char tmp[PATH_MAX];	/* snapshots: the temp file, "" when none */
	int fd;			/* the report file, open from report_new; -1 */
	FILE *csv;		/* CSV: the report file as a stream (on a dup of fd) */
	bool created;		/* report_new made the file (removed if unwritten) */
	bool written;

	struct cause_set *causes;	/* NULL for CSV, or when out of memory */
	struct inc_tally types;		/* incidents by type */

	uint64_t sessions, transactions, incidents;
	uint64_t first_us, last_us;
	uint64_t by_state[SST_MAX], by_end[SEND_MAX], by_sev[SEV_ERROR + 1];
	uint64_t anomalies[SAN_MAX];
};

/* ------------------------------------------------------------------------
 * Accumulating
 * --------------------------------------------------------------------- */

void
report_add(struct report *rp, const struct sess_record *r)
{
	size_t i;

	if (rp == NULL || r == NULL || rp->written)
		return;
	rp->sessions++;
	rp->transactions += r->ntx;
	if (rp->first_us == 0 || (r->ts_start_us != 0 && r->ts_start_us < rp->first_us))
		rp->first_us = r->ts_start_us;
	if (r->ts_end_us > rp->last_us)
		rp->last_us = r->ts_end_us;
	if ((unsigned)r->state < SST_MAX)
		rp->by_state[r->state]++;
	if ((unsigned)r->end < SEND_MAX)
		rp->by_end[r->end]++;
	for (i = 0; i < SAN_MAX; i++)
		rp->anomalies[i] += r->anomalies[i];
	for (i = 0; i < r->ninc; i++) {
		const struct incident *inc = &r->inc[i];

		if (inc->type == NULL)
			continue;
		rp->incidents++;
		if ((unsigned)inc->severity <= SEV_ERROR)
			rp->by_sev[inc->severity]++;
		if (rp->fmt == REPORT_CSV)
			continue;
		inc_tally_one(&rp->types, inc);
	}
	if (rp->causes != NULL)
		(void)cause_add(rp->causes, r, NULL, 0);
	if (rp->fmt == REPORT_CSV && rp->csv != NULL)
		(void)export_csv_incidents(rp->csv, r);	/* errors latch */
}

/* ------------------------------------------------------------------------
 * Creating and freeing
 * --------------------------------------------------------------------- */

static const struct {
	const char *ext;
	enum report_format fmt;
} formats[] = {
	{ "txt", REPORT_TXT }, { "md", REPORT_MD }, { "json", REPORT_JSON },
	{ "csv", REPORT_CSV },
};

/* Split path into dir and base; false if it names no file. */
static bool
split_path(const char *path, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*base = path;
		return strlcpy(dir, ".", dlen) < dlen && path[0] != '\0';
	}
	*base = slash + 1;
	if (slash == path)
		return strlcpy(dir, "/", dlen) < dlen && **base != '\0';
	if ((size_t)(slash - path) >= dlen)
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return **base != '\0';
}

/* Refuse to replace something that is not a regular file. */
static int
check_target(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		(void)snprintf(errbuf, errlen, "%s: exists and is not a regular file",
		    path);
		return -1;
	}
	return 0;
}

/* Make the temp file beside the target; returns a stream or NULL. */
static FILE *
open_temp(struct report *rp, char *errbuf, size_t errlen)
{
	char dir[PATH_MAX];
	const char *base;
	FILE *f;
	int fd, e;

	if (!split_path(rp->path, dir, sizeof(dir), &base) ||
	    (size_t)snprintf(rp->tmp, sizeof(rp->tmp), "%s/.%s.XXXXXX", dir,
	    base) >= sizeof(rp->tmp)) {
		rp->tmp[0] = '\0';
		(void)snprintf(errbuf, errlen, "%s: path too long or no file name",
		    rp->path);
		return NULL;
	}
	if ((fd = mkstemp(rp->tmp)) == -1) {
		e = errno;
		rp->tmp[0] = '\0';
		(void)snprintf(errbuf, errlen, "%s: cannot create a file in %s: %s",
		    rp->path, dir, strerror(e));
		return NULL;
	}
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		e = errno;
		(void)close(fd);
		(void)unlink(rp->tmp);
		rp->tmp[0] = '\0';
		(void)snprintf(errbuf, errlen, "%s: %s", rp->path, strerror(e));
		return NULL;
	}
	return f;
}

/* The format named by path's extension; -1 with a message if none. */
static int
format_of(const char *path, enum report_format *fmt, char *errbuf, size_t errlen)
{
	const char *base, *dot;
	char dir[PATH_MAX];
	size_t i;

	if (path == NULL || !split_path(path, dir, sizeof(dir), &base)) {
		(void)snprintf(errbuf, errlen, "%s: not a file name",
		    path != NULL ? path : "(null)");
		return -1;
	}
	dot = strrchr(base, '.');
	for (i = 0; dot != NULL && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcasecmp(dot + 1, formats[i].ext) == 0) {
			*fmt = formats[i].fmt;
			return 0;
		}
	(void)snprintf(errbuf, errlen,
	    "%s: unknown report format (use .txt, .md, .json or .csv)", path);
	return -1;
}

/* Open (create or empty) the report file; -1 with a message. */
static int
open_target(struct report *rp, char *errbuf, size_t errlen)
{
	struct stat st;
	int e;

	rp->created = true;
	rp->fd = open(rp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
	if (rp->fd == -1 && errno == EEXIST) {
		if (check_target(rp->path, errbuf, errlen) == -1)
			return -1;
		rp->created = false;
		rp->fd = open(rp->path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (rp->fd == -1) {
		(void)snprintf(errbuf, errlen, "%s: cannot create: %s", rp->path,
		    strerror(errno));
		return -1;
	}
	if (fstat(rp->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)snprintf(errbuf, errlen, "%s: exists and is not a regular file",
		    rp->path);
		goto fail;
	}
	if ((rp->created && fchmod(rp->fd, 0644) == -1) || ftruncate(rp->fd, 0) == -1 ||
	    fcntl(rp->fd, F_SETFL, 0) == -1) {
		(void)snprintf(errbuf, errlen, "%s: %s", rp->path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	e = errno;
	(void)close(rp->fd);
	rp->fd = -1;
	if (rp->created)
		(void)unlink(rp->path);
	errno = e;
	return -1;
}

/* A stream on a copy of the descriptor: rp->fd stays, to empty the file
 * if writing fails. */
static FILE *
stream_of(struct report *rp)
{
	FILE *f;
	int fd;

	if ((fd = dup(rp->fd)) == -1)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL)
		(void)close(fd);
	return f;
}

struct report *
report_new(const char *path, char *errbuf, size_t errlen)
{
	struct report *rp;
	enum report_format fmt = REPORT_TXT;

	if (path != NULL && format_of(path, &fmt, errbuf, errlen) == -1)
		return NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		(void)snprintf(errbuf, errlen, "%s: out of memory",
		    path != NULL ? path : "report");
		return NULL;
	}
	rp->fmt = fmt;
	rp->fd = -1;
	if (fmt != REPORT_CSV && (rp->causes = cause_set_new()) == NULL) {
		(void)snprintf(errbuf, errlen, "%s: out of memory",
		    path != NULL ? path : "report");
		free(rp);
		return NULL;
	}
	if (path == NULL)
		return rp;	/* an accumulator only, for report_snapshot() */
	if (strlcpy(rp->path, path, sizeof(rp->path)) >= sizeof(rp->path)) {
		(void)snprintf(errbuf, errlen, "%s: path too long", path);
		report_free(rp);
		return NULL;
	}
	if (open_target(rp, errbuf, errlen) == -1) {
		report_free(rp);
		return NULL;
	}
	if (rp->fmt == REPORT_CSV) {
		/* Stream rows from the start. */
		if ((rp->csv = stream_of(rp)) == NULL) {
			(void)snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
			report_free(rp);
			return NULL;
		}
		(void)export_csv_header(rp->csv);
	}
	return rp;
}

bool
report_moved(const struct report *rp)
{
	struct stat a, b;

	if (rp == NULL || rp->fd == -1 || rp->path[0] == '\0' || fstat(rp->fd, &a) == -1)
		return false;
	return stat(rp->path, &b) == -1 || a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

enum report_format
report_format(const struct report *rp)
{
	return rp->fmt;
}

void
report_free(struct report *rp)
{
	if (rp == NULL)
		return;
	if (rp->csv != NULL)
		(void)fclose(rp->csv);
	if (rp->fd != -1)
		(void)close(rp->fd);
	if (rp->created && !rp->written)
		(void)unlink(rp->path);
	if (rp->tmp[0] != '\0')
		(void)unlink(rp->tmp);
	cause_set_free(rp->causes);
	free(rp);
}

/* ------------------------------------------------------------------------
 * Shared by the writers
 * --------------------------------------------------------------------- */

static const char *
nn(const char *s)
{
	return s != NULL ? s : "?";
}

static void
span(const struct report *rp, const struct run_stats *st, uint64_t *a,
    uint64_t *b)
{
	*a = st != NULL && st->first_ts_us != 0 ? st->first_ts_us : rp->first_us;
	*b = st != NULL && st->last_ts_us != 0 ? st->last_ts_us : rp->last_us;
}

/* ------------------------------------------------------------------------
 * Text and Markdown
 * --------------------------------------------------------------------- */

/* Escaped text; in Markdown also the characters Markdown would act on, so
 * wire text renders as itself and cannot add links or markup. */
static void
put_text(FILE *f, bool md, const char *s, size_t len)
{
	char buf[ESC_TEXT_SIZE(64)];
	size_t off, n, k;

	if (s == NULL)
		return;
	if (!md) {
		(void)esc_text_fput(f, s, len, 0);
		return;
	}
	/* Escape 64 bytes at a time; a NUL before a digit at a chunk edge
	 * must see its neighbour, so chunks end after a non-NUL byte. */
	for (off = 0; off < len; off += n) {
		n = len - off < 64 ? len - off : 64;
		while (n > 1 && s[off + n - 1] == '\0')
			n--;
		(void)esc_text(buf, sizeof(buf), s + off, n, 0);
		for (k = 0; buf[k] != '\0'; k++) {
			if (strchr("\\`*_[]<>|~#!", buf[k]) != NULL)
				(void)fputc('\\', f);
			(void)fputc(buf[k], f);
		}
	}
}

static void
put_cstr(FILE *f, bool md, const char *s)
{
	if (s != NULL)
		put_text(f, md, s, strlen(s));
}

static void
text_field(FILE *f, bool md, const char *label, const char *s)
{
	if (s == NULL)
		return;
	if (md)
		(void)fprintf(f, "**%s** ", label);
	else
		(void)fprintf(f, "    %-12s", label);
	put_cstr(f, md, s);
	(void)fputs(md ? "\n\n" : "\n", f);
}

/* A heading: "#"-style in Markdown, underlined in plain text. */
static void
heading(FILE *f, bool md, int level, const char *title)
{
	size_t n;

	if (md) {
		(void)fprintf(f, "%s %s\n\n", level == 1 ? "#" : "##", title);
		return;
	}
	(void)fprintf(f, "%s\n", title);
	for (n = strlen(title); n > 0; n--)
		(void)fputc(level == 1 ? '=' : '-', f);
	(void)fputs("\n\n", f);
}

/* How many causes each type has. */
static void
causes_by_type(const struct cause **v, size_t nv, uint64_t n[INC_MAX])
{
	memset(n, 0, sizeof(uint64_t) * INC_MAX);
	for (size_t i = 0; i < nv; i++)
		if ((unsigned)v[i]->kind < INC_MAX)
			n[v[i]->kind]++;
}

/* "127.0.0.31:25 (domino.example)": the host a cause is about. */
static void
cause_host(FILE *f, bool md, const struct cause *c)
{
	char a[EXPORT_ADDR_SIZE];

	(void)fputs(export_fmt_addr(a, sizeof(a), c->family, c->ip,
	    c->side == SIDE_SERVER ? c->port : -1), f);
	if (c->name.p != NULL) {
		(void)fputs(" (", f);
		put_text(f, md, c->name.p, c->name.len);
		(void)fputc(')', f);
	}
}

static void
put_md(FILE *f, const char *s, size_t len)
{
	put_text(f, true, s, len);
}

static void
put_plain(FILE *f, const char *s, size_t len)
{
	put_text(f, false, s, len);
}

#define TEXT_UIDS	20	/* session uids listed in text; JSON lists all kept */

/* One cause: what, where, how often, with whom, then the diagnosis and
 * the fix once, and the first session as the example. */
static void
text_cause(FILE *f, bool md, const struct cause *c)
{
	char t1[EXPORT_TS_SIZE], a[EXPORT_ADDR_SIZE], b[EXPORT_ADDR_SIZE];
	const char *ind = md ? "- " : "    ";
	const struct incident *inc = &c->ex.inc;
	size_t k;
	bool any;

	(void)fprintf(f, "%s%s %s: %s ", md ? "### " : "* ", inc_type_name(c->kind),
	    nn(severity_name(c->severity)), c->side == SIDE_SERVER ? "server" : "client");
	cause_host(f, md, c);
	(void)fprintf(f, ", %" PRIu64 " session%s with %zu%s %s%s\n\n", c->count,
	    c->count == 1 ? "" : "s", c->npeers, cause_peers_complete(c) ? "" : "+",
	    c->side == SIDE_SERVER ? "client" : "server",
	    c->npeers == 1 && cause_peers_complete(c) ? "" : "s");
	(void)fprintf(f, "%sconfidence: %s\n", ind, nn(confidence_name(c->confidence)));
	(void)fprintf(f, "%sfirst seen: %s UTC\n", ind,
	    export_fmt_time(t1, sizeof(t1), c->first_us, TS_READABLE));
	(void)fprintf(f, "%slast seen: %s UTC\n", ind,
	    export_fmt_time(t1, sizeof(t1), c->last_us, TS_READABLE));
	(void)fprintf(f, "%s%s:", ind, c->side == SIDE_SERVER ? "clients" : "servers");
	export_cause_peers(f, c);
	(void)fputc('\n', f);
	if (c->nrefusals > 0) {
		(void)fprintf(f, "%srefused:", ind);
		export_cause_refusals(f, c, md ? put_md : put_plain);
		(void)fputc('\n', f);
	}
	(void)fprintf(f, "%ssessions:", ind);
	for (k = 0; k < c->nuids && k < TEXT_UIDS; k++)
		(void)fprintf(f, " %s", c->uids[k]);
	if (c->nuids > TEXT_UIDS || c->uids_dropped > 0)
		(void)fprintf(f, " and %" PRIu64 " more", (uint64_t)(c->nuids -
		    (c->nuids > TEXT_UIDS ? TEXT_UIDS : c->nuids)) + c->uids_dropped);
	(void)fputs("\n\n", f);
	text_field(f, md, "diagnosis:", inc->diagnosis);
	text_field(f, md, "fix:", inc->fix);
	text_field(f, md, "rfc:", inc->rfc);
	text_field(f, md, "example:", inc->summary);
	text_field(f, md, "visibility:", inc->visibility);
	/* Its message's keys into the mail logs, labelled as the field
	 * table labels them. */
	for (k = 0, any = false; k < sizeof(cause_msg_fields) / sizeof(cause_msg_fields[0]); k++) {
		const struct rec_field *fl = &rec_tx_fields[cause_msg_fields[k]];
		const struct wstr *w = (const struct wstr *)(const void *)
		    ((const char *)&c->ex.msg + fl->off);

		if (w->p == NULL || w->len == 0)
			continue;
		if (any)
			(void)fputs("; ", f);
		else if (md)
			(void)fputs("**message:** ", f);
		else
			(void)fprintf(f, "    %-12s", "message:");
		any = true;
		(void)fprintf(f, "%s ", fl->label);
		put_text(f, md, w->p, w->len);
	}
	if (any)
		(void)fputs(md ? "\n\n" : "\n", f);
	(void)fprintf(f, "%s%s %s -> %s, %s UTC", md ? "Example session " :
	    "    session:    ", c->ex.uid,
	    export_fmt_addr(a, sizeof(a), c->family, c->ex.client_ip, c->ex.client_port),
	    export_fmt_addr(b, sizeof(b), c->family, c->ex.server_ip, c->ex.server_port),
	    export_fmt_time(t1, sizeof(t1), c->ex.start_us, TS_READABLE));
	if (c->ex.helo.p != NULL) {
		(void)fputs(", helo ", f);
		put_text(f, md, c->ex.helo.p, c->ex.helo.len);
	}
	(void)fputs(md ? ":\n\n```\n" : "\n", f);
	for (k = 0; k < inc->nevidence; k++) {
		const struct xline *x = &inc->evidence[k];

		(void)fprintf(f, "%s%s #%" PRIu64 " %s ", md ? "" : "      ",
		    export_fmt_time(t1, sizeof(t1), x->ts_us, TS_READABLE),
		    x->pkt, x->dir == XDIR_CLIENT ? "C:" :
		    x->dir == XDIR_SERVER ? "S:" : "--");
		/* Inside a code block Markdown is inert: text escaping only. */
		(void)esc_text_fput(f, x->text.p, x->text.len, 0);
		(void)fputs(x->flags & XL_TRUNCATED ? " [truncated]\n" : "\n", f);
	}
	(void)fputs(md ? "```\n\n" : "\n", f);
}

static void
write_text(FILE *f, struct report *rp, const struct run_stats *st, bool md,
    const struct cause **v, size_t nv)
{
	char t1[EXPORT_TS_SIZE], t2[EXPORT_TS_SIZE];
	const char *li = md ? "- " : "  ";
	enum inc_type types[INC_MAX];
	uint64_t s0, s1, ncauses[INC_MAX];
	size_t i, ntypes;
	bool any;

	span(rp, st, &s0, &s1);
	heading(f, md, 1, "smtpscope report");
	heading(f, md, 2, "Run");
	if (st != NULL && st->source != NULL) {
		(void)fprintf(f, "%ssource: ", li);
		put_cstr(f, md, st->source);
		(void)fputc('\n', f);
	}
	if (s0 != 0 && s1 != 0)
		(void)fprintf(f, "%sspan: %s UTC to %s UTC\n", li,
		    export_fmt_time(t1, sizeof(t1), s0, TS_READABLE),
		    export_fmt_time(t2, sizeof(t2), s1, TS_READABLE));
	else
		(void)fprintf(f, "%sspan: unknown (no timestamps)\n", li);
	if (st != NULL) {
		(void)fprintf(f, "%spackets: %" PRIu64 ", bytes: %" PRIu64 "\n", li,
		    st->packets, st->bytes);
		if (st->have_kernel)
			(void)fprintf(f, "%skernel drops: %" PRIu64 "\n", li,
			    st->kernel_drops);
		(void)fprintf(f, "%ssessions seen by the capture: %" PRIu64
		    ", still open at the end: %" PRIu64 "\n", li, st->sessions,
		    st->open_sessions);
		if (st->silent_flows > 0)
			(void)fprintf(f, "%sflows without payload (no session): %" PRIu64
			    ", %" PRIu64 " of them half-open\n", li, st->silent_flows,
			    st->half_open);
		if (st->tls_keys)
			(void)fprintf(f, "%sTLS sessions: %" PRIu64 ", decrypted %" PRIu64
			    ", without a key %" PRIu64 ", failed %" PRIu64 ", suite not "
			    "decrypted %" PRIu64 "; records failed authentication %" PRIu64
			    "\n", li, st->tls_sessions, st->tls_decrypted, st->tls_no_key,
			    st->tls_failed, st->tls_unsupported, st->tls_bad_records);
		else if (st->tls_sessions > 0)
			(void)fprintf(f, "%sTLS sessions: %" PRIu64 ", not decrypted (no "
			    "key log)\n", li, st->tls_sessions);
		(void)fprintf(f, "%slimits hit: %s", li, st->nlimits ? "" : "none");
		for (i = 0; i < st->nlimits; i++) {
			(void)fputs(i > 0 ? "; " : "", f);
			put_cstr(f, md, st->limits_hit[i]);
		}
		(void)fputc('\n', f);
		(void)fprintf(f, "%scapture anomalies:", li);
		for (i = 0, any = false; i < st->nanomalies; i++) {
			if (st->anomalies[i].count == 0)
				continue;
			(void)fprintf(f, "%s %s %" PRIu64, any ? "," : "",
			    nn(st->anomalies[i].name), st->anomalies[i].count);
			any = true;
		}
		(void)fputs(any ? "\n" : " none\n", f);
	}
	(void)fprintf(f, "%ssessions decoded: %" PRIu64 ", transactions: %"
	    PRIu64 "\n", li, rp->sessions, rp->transactions);
	(void)fprintf(f, "%ssession states:", li);
	for (i = 0, any = false; i < SST_MAX; i++) {
		if (rp->by_state[i] == 0)
			continue;
		(void)fprintf(f, "%s %s %" PRIu64, any ? "," : "",
		    nn(sess_state_name((enum sess_state)i)), rp->by_state[i]);
		any = true;
	}
	(void)fputs(any ? "\n" : " none\n", f);
	(void)fprintf(f, "%sprotocol anomalies:", li);
	for (i = 0, any = false; i < SAN_MAX; i++) {
		if (rp->anomalies[i] == 0)
			continue;
		(void)fprintf(f, "%s %s %" PRIu64, any ? "," : "",
		    nn(smtp_anomaly_name((enum smtp_anomaly)i)), rp->anomalies[i]);
		any = true;
	}
	(void)fputs(any ? "\n" : " none\n", f);
	(void)fprintf(f, "%sincidents: %" PRIu64 " (error %" PRIu64 ", warning %"
	    PRIu64 ", notice %" PRIu64 ")\n", li, rp->incidents,
	    rp->by_sev[SEV_ERROR], rp->by_sev[SEV_WARNING], rp->by_sev[SEV_NOTICE]);
	if (cause_dropped(rp->causes) || cause_nomem(rp->causes))
		(void)fprintf(f, "%snot detailed (report caps): %" PRIu64
		    " incidents past %d causes, %" PRIu64 " for lack of memory\n", li,
		    cause_dropped(rp->causes), CAUSE_MAX, cause_nomem(rp->causes));

	(void)fputc('\n', f);
	heading(f, md, 2, "Incidents by type");
	ntypes = inc_tally_sorted(&rp->types, TALLY_BY_SEVERITY, types);
	causes_by_type(v, nv, ncauses);
	if (ntypes == 0)
		(void)fputs("No incidents.\n", f);
	else if (md)
		(void)fputs("| type | severity | incidents | causes |\n"
		    "|---|---|---:|---:|\n", f);
	else
		(void)fprintf(f, "  %-28s %-8s %10s %8s\n", "type", "severity",
		    "incidents", "causes");
	for (i = 0; i < ntypes; i++) {
		enum inc_type t = types[i];

		if (md)
			(void)fprintf(f, "| %s | %s | %" PRIu64 " | %" PRIu64 " |\n",
			    inc_type_name(t), nn(severity_name(rp->types.sev[t])),
			    rp->types.n[t], ncauses[t]);
		else
			(void)fprintf(f, "  %-28s %-8s %10" PRIu64 " %8" PRIu64 "\n",
			    inc_type_name(t), nn(severity_name(rp->types.sev[t])),
			    rp->types.n[t], ncauses[t]);
	}
	if (nv > 0) {
		(void)fputc('\n', f);
		heading(f, md, 2, "Incidents by cause");
	}
	for (i = 0; i < nv; i++)
		text_cause(f, md, v[i]);
}

/* ------------------------------------------------------------------------
 * JSON
 * --------------------------------------------------------------------- */

/* The example session of a cause as record.h shapes it, pointing into
 * the cause's copies; and the members of it the report writes. */
static void
example_view(const struct cause *c, struct sess_record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->uid, c->ex.uid, sizeof(r->uid));
	r->family = c->family;
	memcpy(r->client_ip, c->ex.client_ip, sizeof(r->client_ip));
	memcpy(r->server_ip, c->ex.server_ip, sizeof(r->server_ip));
	r->client_port = c->ex.client_port;
	r->server_port = c->ex.server_port;
	r->ts_start_us = c->ex.start_us;
	r->ts_end_us = c->ex.end_us;
	r->helo = c->ex.helo;
}

static const enum sess_field example_fields[] = {
	SFLD_UID, SFLD_CLIENT_IP, SFLD_CLIENT_PORT, SFLD_SERVER_IP, SFLD_SERVER_PORT,
	SFLD_TS_START, SFLD_TS_END, SFLD_HELO,
};

/*
 * One cause as a JSON object: the key, the counts, the peers, the refused
 * addresses, every session uid kept, and the example.  A cause is not a
 * record (fields.h describes records), so its own members are written
 * here; the example session's come from the field table.
 */
static void
json_cause(FILE *f, const struct cause *c)
{
	char t[EXPORT_TS_SIZE], a[EXPORT_ADDR_SIZE];
	struct sess_record ex;
	bool first;
	size_t k;

	(void)fputs("{\"type\":", f);
	(void)esc_json_fput_str(f, inc_type_name(c->kind));
	(void)fprintf(f, ",\"family\":\"%s\",\"severity\":\"%s\",\"confidence\":\"%s\"",
	    inc_family_name(inc_type_family(c->kind)), nn(severity_name(c->severity)),
	    nn(confidence_name(c->confidence)));
	(void)fprintf(f, ",\"side\":\"%s\",\"host_ip\":\"%s\"",
	    c->side == SIDE_SERVER ? "server" : "client",
	    export_fmt_addr(a, sizeof(a), c->family, c->ip, -1));
	if (c->side == SIDE_SERVER)
		(void)fprintf(f, ",\"host_port\":%u", (unsigned)c->port);
	else
		(void)fputs(",\"host_port\":null", f);
	(void)fputs(",\"host_name\":", f);
	(void)esc_json_fput_wstr(f, &c->name);
	(void)fprintf(f, ",\"count\":%" PRIu64, c->count);
	(void)fprintf(f, ",\"first_seen\":%s", export_fmt_time(t, sizeof(t),
	    c->first_us, TS_EPOCH));
	(void)fprintf(f, ",\"last_seen\":%s", export_fmt_time(t, sizeof(t),
	    c->last_us, TS_EPOCH));
	(void)fputs(",\"peers\":[", f);
	for (k = 0; k < c->npeers; k++)
		(void)fprintf(f, "%s{\"ip\":\"%s\",\"count\":%" PRIu64 "}", k ? "," : "",
		    export_fmt_addr(a, sizeof(a), c->family, c->peers[k].ip, -1),
		    c->peers[k].n);
	(void)fprintf(f, "],\"peers_other\":%" PRIu64 ",\"refused\":[", c->peers_other);
	for (k = 0; k < c->nrefusals; k++) {
		const struct cause_refusal *r = &c->refusals[k];

		(void)fprintf(f, "%s{\"command\":\"%s\",\"code\":%d,\"enhanced\":",
		    k ? "," : "", r->mail ? "MAIL" : "RCPT", r->code);
		if (r->enh.cls != 0)
			(void)fprintf(f, "\"%u.%u.%u\"", r->enh.cls, r->enh.subject,
			    r->enh.detail);
		else
			(void)fputs("null", f);
		(void)fputs(",\"address\":", f);
		(void)esc_json_fput_wstr(f, &r->addr);
		(void)fprintf(f, ",\"count\":%" PRIu64 "}", r->n);
	}
	(void)fprintf(f, "],\"refused_other\":%" PRIu64 ",\"sessions\":[",
	    c->refusals_other);
	for (k = 0; k < c->nuids; k++)
		(void)fprintf(f, "%s\"%s\"", k ? "," : "", c->uids[k]);
	(void)fprintf(f, "],\"sessions_not_listed\":%" PRIu64, c->uids_dropped);
	/* The example session's members come from the field table, read from
	 * a view of the cause's copy as a record. */
	(void)fputs(",\"example\":{", f);
	example_view(c, &ex);
	for (k = 0, first = true; k < sizeof(example_fields) / sizeof(example_fields[0]); k++)
		export_json_field(f, &first, &rec_sess_fields[example_fields[k]], &ex);
	(void)fputs(",\"message\":{", f);
	for (k = 0, first = true; k < sizeof(cause_msg_fields) / sizeof(cause_msg_fields[0]); k++)
		export_json_field(f, &first, &rec_tx_fields[cause_msg_fields[k]], &c->ex.msg);
	(void)fputc('}', f);
	(void)fputs(",\"incident\":", f);
	(void)export_json_incident(f, &c->ex.inc);
	(void)fputs("}}", f);
}

static void
write_json(FILE *f, struct report *rp, const struct run_stats *st,
    const struct cause **v, size_t nv)
{
	char t[EXPORT_TS_SIZE];
	enum inc_type types[INC_MAX];
	uint64_t s0, s1, ncauses[INC_MAX];
	size_t i, ntypes;
	bool first;

	span(rp, st, &s0, &s1);
	(void)fputs("{\"report\":\"smtpscope\",\"version\":2,\"run\":{", f);
	(void)fputs("\"source\":", f);
	(void)esc_json_fput_str(f, st != NULL ? st->source : NULL);
	(void)fprintf(f, ",\"ts_first\":%s", export_fmt_time(t, sizeof(t), s0,
	    TS_EPOCH));
	(void)fprintf(f, ",\"ts_last\":%s", export_fmt_time(t, sizeof(t), s1,
	    TS_EPOCH));
	if (st != NULL) {
		(void)fprintf(f, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64,
		    st->packets, st->bytes);
		if (st->have_kernel)
			(void)fprintf(f, ",\"kernel_drops\":%" PRIu64, st->kernel_drops);
		else
			(void)fputs(",\"kernel_drops\":null", f);
		(void)fprintf(f, ",\"sessions\":%" PRIu64 ",\"open_sessions\":%"
		    PRIu64 ",\"flows_without_payload\":%" PRIu64 ",\"half_open\":%"
		    PRIu64, st->sessions, st->open_sessions, st->silent_flows,
		    st->half_open);
		(void)fprintf(f, ",\"tls_sessions\":%" PRIu64, st->tls_sessions);
		if (st->tls_keys)
			(void)fprintf(f, ",\"tls_decryption\":{\"decrypted\":%" PRIu64
			    ",\"no_key\":%" PRIu64 ",\"failed\":%" PRIu64
			    ",\"unsupported_suite\":%" PRIu64
			    ",\"records_failed_authentication\":%" PRIu64 "}",
			    st->tls_decrypted, st->tls_no_key, st->tls_failed,
			    st->tls_unsupported, st->tls_bad_records);
		else
			(void)fputs(",\"tls_decryption\":null", f);
		(void)fputs(",\"limits_hit\":[", f);
		for (i = 0; i < st->nlimits; i++) {
			if (i > 0)
				(void)fputc(',', f);
			(void)esc_json_fput_str(f, st->limits_hit[i]);
		}
		(void)fputs("],\"anomalies\":{", f);
		for (i = 0, first = true; i < st->nanomalies; i++) {
			if (st->anomalies[i].count == 0)
				continue;
			if (!first)
				(void)fputc(',', f);
			first = false;
			(void)esc_json_fput_str(f, nn(st->anomalies[i].name));
			(void)fprintf(f, ":%" PRIu64, st->anomalies[i].count);
		}
		(void)fputc('}', f);
	}
	(void)fprintf(f, "},\"totals\":{\"sessions\":%" PRIu64 ",\"transactions\":%"
	    PRIu64 ",\"incidents\":%" PRIu64, rp->sessions, rp->transactions,
	    rp->incidents);
	(void)fputs(",\"states\":{", f);
	for (i = 0, first = true; i < SST_MAX; i++) {
		if (rp->by_state[i] == 0)
			continue;
		(void)fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
		    nn(sess_state_name((enum sess_state)i)), rp->by_state[i]);
		first = false;
	}
	(void)fputs("},\"ends\":{", f);
	for (i = 0, first = true; i < SEND_MAX; i++) {
		if (rp->by_end[i] == 0)
			continue;
		(void)fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
		    nn(sess_end_name((enum sess_end)i)), rp->by_end[i]);
		first = false;
	}
	(void)fprintf(f, "},\"severities\":{\"error\":%" PRIu64 ",\"warning\":%"
	    PRIu64 ",\"notice\":%" PRIu64 "}", rp->by_sev[SEV_ERROR],
	    rp->by_sev[SEV_WARNING], rp->by_sev[SEV_NOTICE]);
	(void)fputs(",\"anomalies\":{", f);
	for (i = 0, first = true; i < SAN_MAX; i++) {
		if (rp->anomalies[i] == 0)
			continue;
		(void)fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
		    nn(smtp_anomaly_name((enum smtp_anomaly)i)), rp->anomalies[i]);
		first = false;
	}
	(void)fprintf(f, "},\"causes_dropped\":%" PRIu64 ",\"nomem_dropped\":%"
	    PRIu64 "}", cause_dropped(rp->causes), cause_nomem(rp->causes));
	(void)fputs(",\"types\":[", f);
	ntypes = inc_tally_sorted(&rp->types, TALLY_BY_SEVERITY, types);
	causes_by_type(v, nv, ncauses);
	for (i = 0; i < ntypes; i++) {
		enum inc_type k = types[i];

		(void)fputs(i > 0 ? ",{\"type\":" : "{\"type\":", f);
		(void)esc_json_fput_str(f, inc_type_name(k));
		(void)fprintf(f, ",\"severity\":\"%s\",\"count\":%" PRIu64
		    ",\"causes\":%" PRIu64 "}", nn(severity_name(rp->types.sev[k])),
		    rp->types.n[k], ncauses[k]);
	}
	(void)fputs("],\"causes\":[", f);
	for (i = 0; i < nv; i++) {
		(void)fputs(i > 0 ? "," : "", f);
		json_cause(f, v[i]);
	}
	(void)fputs("]}\n", f);
}

/* ------------------------------------------------------------------------
 * Writing safely
 * --------------------------------------------------------------------- */

/* Flush, sync and close f, each checked; the failed step or NULL. */
static const char *
finish(FILE *f, int *e)
{
	const char *what = NULL;
	struct stat st;

	*e = 0;
	if (fflush(f) == EOF || ferror(f))
		what = "write", *e = errno;
	else if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    fsync(fileno(f)) == -1)
		what = "fsync", *e = errno;
	if (fclose(f) == EOF && what == NULL)
		what = "close", *e = errno;
	return what;
}

/* The report file itself (report_new's descriptor). */
static int
commit_in_place(struct report *rp, FILE *f, char *errbuf, size_t errlen)
{
	const char *what;
	int e;

	if ((what = finish(f, &e)) != NULL) {
		/* No half report: empty the file, and remove it if it is ours. */
		(void)ftruncate(rp->fd, 0);
		if (rp->created)
			(void)unlink(rp->path);
		(void)snprintf(errbuf, errlen, "%s: %s failed: %s; nothing written",
		    rp->path, what, e != 0 ? strerror(e) : "stream error");
		return -1;
	}
	return 0;
}

/* A snapshot: finish the temp file and rename it; on failure remove it. */
static int
commit_rename(struct report *rp, FILE *f, char *errbuf, size_t errlen)
{
	const char *what;
	int e;

	what = finish(f, &e);
	if (what == NULL && check_target(rp->path, errbuf, errlen) == -1) {
		(void)unlink(rp->tmp);
		rp->tmp[0] = '\0';
		return -1;
	}
	if (what == NULL && rename(rp->tmp, rp->path) == -1)
		what = "rename", e = errno;
	if (what != NULL) {
		(void)unlink(rp->tmp);
		rp->tmp[0] = '\0';
		(void)snprintf(errbuf, errlen, "%s: %s failed: %s; nothing written",
		    rp->path, what, e != 0 ? strerror(e) : "stream error");
		return -1;
	}
	rp->tmp[0] = '\0';
	return 0;
}

int
report_write(struct report *rp, const struct run_stats *st, char *errbuf,
    size_t errlen)
{
	const struct cause **v = NULL;
	size_t nv;
	bool nomem;
	FILE *f;
	int rc;

	if (rp->path[0] == '\0') {
		(void)snprintf(errbuf, errlen, "no report path given");
		return -1;
	}
	if (rp->written) {
		(void)snprintf(errbuf, errlen, "%s: report already written",
		    rp->path);
		return -1;
	}
	rp->written = true;
	if (rp->fmt == REPORT_CSV) {
		f = rp->csv;
		rp->csv = NULL;
		return commit_in_place(rp, f, errbuf, errlen);
	}
	v = cause_sorted(rp->causes, &nv, &nomem);
	if (nomem) {
		(void)snprintf(errbuf, errlen, "%s: out of memory", rp->path);
		return -1;
	}
	if ((f = stream_of(rp)) == NULL) {
		(void)snprintf(errbuf, errlen, "%s: %s", rp->path, strerror(errno));
		free(v);
		return -1;
	}
	if (rp->fmt == REPORT_JSON)
		write_json(f, rp, st, v, nv);
	else
		write_text(f, rp, st, rp->fmt == REPORT_MD, v, nv);
	free(v);
	rc = commit_in_place(rp, f, errbuf, errlen);
	return rc;
}

int
report_snapshot(struct report *rp, const char *path, const struct run_stats *st,
    char *errbuf, size_t errlen)
{
	struct report *view;
	const struct cause **v;
	size_t nv;
	enum report_format fmt;
	bool nomem;
	FILE *f;
	int rc;

	if (format_of(path, &fmt, errbuf, errlen) == -1)
		return -1;
	if (fmt == REPORT_CSV) {
		(void)snprintf(errbuf, errlen, "%s: a CSV report lists every incident "
		    "and is written only with --report FILE.csv; use .txt, .md or .json",
		    path);
		return -1;
	}
	if (check_target(path, errbuf, errlen) == -1)
		return -1;
	/* A shallow view of rp with another path and format: the writers only
	 * read the groups, and the view owns no temp file or stream of rp's. */
	if ((view = malloc(sizeof(*view))) == NULL) {
		(void)snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	*view = *rp;
	view->fmt = fmt;
	view->csv = NULL;
	view->fd = -1;
	view->tmp[0] = '\0';
	if (strlcpy(view->path, path, sizeof(view->path)) >= sizeof(view->path)) {
		(void)snprintf(errbuf, errlen, "%s: path too long", path);
		free(view);
		return -1;
	}
	v = cause_sorted(view->causes, &nv, &nomem);
	if (nomem || (f = open_temp(view, errbuf, errlen)) == NULL) {
		if (nomem)
			(void)snprintf(errbuf, errlen, "%s: out of memory", path);
		free(v);
		free(view);
		return -1;
	}
	if (fmt == REPORT_JSON)
		write_json(f, view, st, v, nv);
	else
		write_text(f, view, st, fmt == REPORT_MD, v, nv);
	free(v);
	rc = commit_rename(view, f, errbuf, errlen);
	free(view);
	return rc;
}
