/*
 * report.c - the end-of-run report: incidents grouped, run statistics, and
 * a safe write to disk in text, Markdown, JSON or CSV (export.h).
 *
 * report_add() takes each finished session and copies only what the report
 * needs: run totals, per-type counts, and per group of incidents (type,
 * client ip, server ip, server port) a count, first and last seen, and one
 * example session's incident with its evidence.  Groups and types are
 * capped (REPORT_MAX_GROUPS, REPORT_MAX_TYPES) and evidence lines are cut
 * at REPORT_MAX_LINE bytes, so memory is bounded whatever the run's length;
 * what the caps cut is counted and printed.  A CSV report keeps no groups:
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

#include "escape.h"
#include "export.h"

#define REPORT_MAX_LINE	1024	/* evidence bytes kept per line */

struct rgroup {
	RB_ENTRY(rgroup) entry;
	/* key */
	char *type;
	int family;
	uint8_t client_ip[16], server_ip[16];
	uint16_t server_port;
	/* counts */
	enum severity severity;		/* highest seen */
	enum confidence confidence;	/* highest seen */
	uint64_t count;
	uint64_t first_us, last_us;
	/* the example: the first session that raised it */
	char uid[sizeof(((struct sess_record *)0)->uid) + 1];
	uint16_t client_port;
	uint64_t ex_start_us, ex_end_us;
	struct wstr helo;		/* owned copy */
	char *summary, *diagnosis, *fix, *rfc, *visibility;
	struct xline evidence[INC_MAX_EVIDENCE];	/* text owned */
	size_t nevidence;
};

struct rtype {
	char *type;
	enum severity severity;
	uint64_t count, groups;
};

RB_HEAD(rgroup_tree, rgroup);

struct report {
	enum report_format fmt;
	char path[PATH_MAX];
	char tmp[PATH_MAX];	/* snapshots: the temp file, "" when none */
	int fd;			/* the report file, open from report_new; -1 */
	FILE *csv;		/* CSV: the report file as a stream (on a dup of fd) */
	bool created;		/* report_new made the file (removed if unwritten) */
	bool written;

	struct rgroup_tree groups;
	size_t ngroups;
	uint64_t groups_dropped;	/* incidents not grouped: cap */
	struct rtype types[REPORT_MAX_TYPES];
	size_t ntypes;
	uint64_t types_dropped;		/* incidents of types past the cap */
	uint64_t nomem;			/* incidents not kept: out of memory */

	uint64_t sessions, transactions, incidents;
	uint64_t first_us, last_us;
	uint64_t by_state[SST_MAX], by_end[SEND_MAX], by_sev[SEV_ERROR + 1];
	uint64_t anomalies[SAN_MAX];
};

/* ------------------------------------------------------------------------
 * Accumulating
 * --------------------------------------------------------------------- */

static int
rgroup_cmp(const struct rgroup *a, const struct rgroup *b)
{
	int c = strcmp(a->type, b->type);

	if (c != 0)
		return c;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->client_ip, b->client_ip, sizeof(a->client_ip))) != 0)
		return c;
	if ((c = memcmp(a->server_ip, b->server_ip, sizeof(a->server_ip))) != 0)
		return c;
	return a->server_port < b->server_port ? -1 :
	    a->server_port > b->server_port;
}

/* RB_GENERATE_STATIC needs __unused, which libbsd's cdefs.h leaves out. */
RB_GENERATE_INTERNAL(rgroup_tree, rgroup, entry, rgroup_cmp,
    __attribute__((__unused__)) static)

static char *
dup_bytes(const char *s, size_t len, size_t cap)
{
	char *p;

	if (s == NULL)
		return NULL;
	if (len > cap)
		len = cap;
	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static char *
dup_str(const char *s)
{
	return s == NULL ? NULL : dup_bytes(s, strlen(s), SIZE_MAX - 1);
}

static void
rgroup_free(struct rgroup *g)
{
	size_t i;

	free(g->type);
	free(g->helo.p);
	free(g->summary);
	free(g->diagnosis);
	free(g->fix);
	free(g->rfc);
	free(g->visibility);
	for (i = 0; i < g->nevidence; i++)
		free(g->evidence[i].text.p);
	free(g);
}

/* Copy the example; false when memory ran out (the group is then freed). */
static bool
rgroup_fill(struct rgroup *g, const struct sess_record *r,
    const struct incident *inc)
{
	size_t i, n;

	memcpy(g->uid, r->uid, sizeof(r->uid));
	g->uid[sizeof(r->uid)] = '\0';
	g->client_port = r->client_port;
	g->ex_start_us = r->ts_start_us;
	g->ex_end_us = r->ts_end_us;
	if (r->helo.p != NULL) {
		if ((g->helo.p = dup_bytes(r->helo.p, r->helo.len,
		    REPORT_MAX_LINE)) == NULL)
			return false;
		g->helo.len = r->helo.len < REPORT_MAX_LINE ? r->helo.len :
		    REPORT_MAX_LINE;
	}
	if ((inc->summary && !(g->summary = dup_str(inc->summary))) ||
	    (inc->diagnosis && !(g->diagnosis = dup_str(inc->diagnosis))) ||
	    (inc->fix && !(g->fix = dup_str(inc->fix))) ||
	    (inc->rfc && !(g->rfc = dup_str(inc->rfc))) ||
	    (inc->visibility && !(g->visibility = dup_str(inc->visibility))))
		return false;
	n = inc->nevidence < INC_MAX_EVIDENCE ? inc->nevidence : INC_MAX_EVIDENCE;
	for (i = 0; i < n; i++) {
		const struct xline *x = &inc->evidence[i];
		struct xline *y = &g->evidence[i];

		*y = *x;
		y->text.p = NULL;
		y->text.len = 0;
		if (x->text.p != NULL) {
			if ((y->text.p = dup_bytes(x->text.p, x->text.len,
			    REPORT_MAX_LINE)) == NULL)
				return false;
			if (x->text.len > REPORT_MAX_LINE) {
				y->text.len = REPORT_MAX_LINE;
				y->flags |= XL_TRUNCATED;
			} else
				y->text.len = x->text.len;
		}
		g->nevidence = i + 1;
	}
	return true;
}

static uint64_t
inc_ts(const struct sess_record *r, const struct incident *inc)
{
	return inc->nevidence > 0 ? inc->evidence[0].ts_us : r->ts_start_us;
}

static void
count_type(struct report *rp, const struct incident *inc, bool new_group)
{
	size_t i;

	for (i = 0; i < rp->ntypes; i++)
		if (strcmp(rp->types[i].type, inc->type) == 0)
			break;
	if (i == rp->ntypes) {
		char *t;

		if (rp->ntypes == REPORT_MAX_TYPES) {
			rp->types_dropped++;
			return;
		}
		if ((t = dup_str(inc->type)) == NULL) {
			rp->nomem++;
			return;
		}
		rp->types[i].type = t;
		rp->types[i].severity = inc->severity;
		rp->ntypes++;
	}
	rp->types[i].count++;
	if (new_group)
		rp->types[i].groups++;
	if (inc->severity > rp->types[i].severity)
		rp->types[i].severity = inc->severity;
}

static void
group_incident(struct report *rp, const struct sess_record *r,
    const struct incident *inc)
{
	struct rgroup key, *g;
	uint64_t ts = inc_ts(r, inc);

	memset(&key, 0, sizeof(key));
	key.type = (char *)(uintptr_t)inc->type;
	key.family = r->family;
	memcpy(key.client_ip, r->client_ip, sizeof(key.client_ip));
	memcpy(key.server_ip, r->server_ip, sizeof(key.server_ip));
	key.server_port = r->server_port;
	if ((g = RB_FIND(rgroup_tree, &rp->groups, &key)) != NULL) {
		g->count++;
		if (ts < g->first_us)
			g->first_us = ts;
		if (ts > g->last_us)
			g->last_us = ts;
		if (inc->severity > g->severity)
			g->severity = inc->severity;
		if (inc->confidence > g->confidence)
			g->confidence = inc->confidence;
		count_type(rp, inc, false);
		return;
	}
	if (rp->ngroups >= REPORT_MAX_GROUPS) {
		rp->groups_dropped++;
		count_type(rp, inc, false);
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		rp->nomem++;
		return;
	}
	key.type = NULL;
	*g = key;
	if ((g->type = dup_str(inc->type)) == NULL || !rgroup_fill(g, r, inc)) {
		rgroup_free(g);
		rp->nomem++;
		return;
	}
	g->severity = inc->severity;
	g->confidence = inc->confidence;
	g->count = 1;
	g->first_us = g->last_us = ts;
	RB_INSERT(rgroup_tree, &rp->groups, g);
	rp->ngroups++;
	count_type(rp, inc, true);
}

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
		group_incident(rp, r, inc);
	}
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
	RB_INIT(&rp->groups);
	if (path == NULL)
		return rp;	/* an accumulator only, for report_snapshot() */
	if (strlcpy(rp->path, path, sizeof(rp->path)) >= sizeof(rp->path)) {
		(void)snprintf(errbuf, errlen, "%s: path too long", path);
		free(rp);
		return NULL;
	}
	if (open_target(rp, errbuf, errlen) == -1) {
		free(rp);
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

enum report_format
report_format(const struct report *rp)
{
	return rp->fmt;
}

void
report_free(struct report *rp)
{
	struct rgroup *g, *next;
	size_t i;

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
	RB_FOREACH_SAFE(g, rgroup_tree, &rp->groups, next) {
		RB_REMOVE(rgroup_tree, &rp->groups, g);
		rgroup_free(g);
	}
	for (i = 0; i < rp->ntypes; i++)
		free(rp->types[i].type);
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

/* Groups in report order: severity, then count (both descending), type. */
static int
group_order(const void *a, const void *b)
{
	const struct rgroup *x = *(const struct rgroup *const *)a;
	const struct rgroup *y = *(const struct rgroup *const *)b;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return rgroup_cmp(x, y);
}

static int
type_order(const void *a, const void *b)
{
	const struct rtype *x = a, *y = b;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->type, y->type);
}

/* The groups sorted, in a fresh array (NULL with ngroups 0 is fine). */
static struct rgroup **
sorted_groups(struct report *rp, bool *nomem)
{
	struct rgroup **v, *g;
	size_t n = 0;

	*nomem = false;
	if (rp->ngroups == 0)
		return NULL;
	if ((v = reallocarray(NULL, rp->ngroups, sizeof(*v))) == NULL) {
		*nomem = true;
		return NULL;
	}
	RB_FOREACH(g, rgroup_tree, &rp->groups)
		v[n++] = g;
	qsort(v, n, sizeof(*v), group_order);
	qsort(rp->types, rp->ntypes, sizeof(rp->types[0]), type_order);
	return v;
}

static void
span(const struct report *rp, const struct run_stats *st, uint64_t *a,
    uint64_t *b)
{
	*a = st != NULL && st->first_ts_us != 0 ? st->first_ts_us : rp->first_us;
	*b = st != NULL && st->last_ts_us != 0 ? st->last_ts_us : rp->last_us;
}

/* An incident as record.h shapes it, pointing into a group's copies. */
static void
group_incident_view(const struct rgroup *g, struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->type = g->type;
	inc->severity = g->severity;
	inc->confidence = g->confidence;
	inc->summary = g->summary;
	inc->diagnosis = g->diagnosis;
	inc->fix = g->fix;
	inc->rfc = g->rfc;
	inc->visibility = g->visibility;
	memcpy(inc->evidence, g->evidence, sizeof(inc->evidence));
	inc->nevidence = g->nevidence;
}

/* The session fields a group keeps (key and example), as record.h shapes
 * them, pointing into the group's copies. */
static void
group_session_view(const struct rgroup *g, struct sess_record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->uid, g->uid, sizeof(r->uid));
	r->family = g->family;
	memcpy(r->client_ip, g->client_ip, sizeof(r->client_ip));
	memcpy(r->server_ip, g->server_ip, sizeof(r->server_ip));
	r->client_port = g->client_port;
	r->server_port = g->server_port;
	r->ts_start_us = g->ex_start_us;
	r->ts_end_us = g->ex_end_us;
	r->helo = g->helo;
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

static void
write_text(FILE *f, struct report *rp, const struct run_stats *st, bool md,
    struct rgroup **v)
{
	char t1[EXPORT_TS_SIZE], t2[EXPORT_TS_SIZE], a[EXPORT_ADDR_SIZE],
	    b[EXPORT_ADDR_SIZE];
	const char *li = md ? "- " : "  ";
	uint64_t s0, s1;
	size_t i, k;
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
	if (rp->groups_dropped || rp->types_dropped || rp->nomem)
		(void)fprintf(f, "%snot detailed (report caps): %" PRIu64
		    " incidents past %d groups, %" PRIu64 " past %d types, %"
		    PRIu64 " for lack of memory\n", li, rp->groups_dropped,
		    REPORT_MAX_GROUPS, rp->types_dropped, REPORT_MAX_TYPES, rp->nomem);

	(void)fputc('\n', f);
	heading(f, md, 2, "Incidents by type");
	if (rp->ntypes == 0)
		(void)fputs("No incidents.\n", f);
	else if (md)
		(void)fputs("| type | severity | incidents | server pairs |\n"
		    "|---|---|---:|---:|\n", f);
	else
		(void)fprintf(f, "  %-28s %-8s %10s %12s\n", "type", "severity",
		    "incidents", "server pairs");
	for (i = 0; i < rp->ntypes; i++) {
		const struct rtype *t = &rp->types[i];

		if (md)
			(void)fprintf(f, "| %s | %s | %" PRIu64 " | %" PRIu64 " |\n",
			    t->type, nn(severity_name(t->severity)), t->count,
			    t->groups);
		else
			(void)fprintf(f, "  %-28s %-8s %10" PRIu64 " %12" PRIu64 "\n",
			    t->type, nn(severity_name(t->severity)), t->count,
			    t->groups);
	}

	if (rp->ngroups > 0) {
		(void)fputc('\n', f);
		heading(f, md, 2, "Incidents by server pair");
	}
	for (i = 0; i < rp->ngroups; i++) {
		const struct rgroup *g = v[i];

		export_fmt_addr(a, sizeof(a), g->family, g->client_ip, -1);
		export_fmt_addr(b, sizeof(b), g->family, g->server_ip, g->server_port);
		(void)fprintf(f, "%s%s %s: %s -> %s, %" PRIu64 " time%s\n\n",
		    md ? "### " : "* ", g->type,
		    nn(severity_name(g->severity)), a, b, g->count,
		    g->count == 1 ? "" : "s");
		(void)fprintf(f, "%sconfidence: %s\n", md ? "- " : "    ",
		    nn(confidence_name(g->confidence)));
		(void)fprintf(f, "%sfirst seen: %s UTC\n%slast seen: %s UTC\n\n",
		    md ? "- " : "    ",
		    export_fmt_time(t1, sizeof(t1), g->first_us, TS_READABLE),
		    md ? "- " : "    ",
		    export_fmt_time(t2, sizeof(t2), g->last_us, TS_READABLE));
		text_field(f, md, "diagnosis:", g->diagnosis);
		text_field(f, md, "fix:", g->fix);
		text_field(f, md, "rfc:", g->rfc);
		text_field(f, md, "example:", g->summary);
		text_field(f, md, "visibility:", g->visibility);
		(void)fprintf(f, "%s%s %s -> %s, %s UTC", md ? "Example session " :
		    "    session:    ", g->uid,
		    export_fmt_addr(a, sizeof(a), g->family, g->client_ip,
		    g->client_port), b,
		    export_fmt_time(t1, sizeof(t1), g->ex_start_us, TS_READABLE));
		if (g->helo.p != NULL) {
			(void)fputs(", helo ", f);
			put_text(f, md, g->helo.p, g->helo.len);
		}
		(void)fputs(md ? ":\n\n```\n" : "\n", f);
		for (k = 0; k < g->nevidence; k++) {
			const struct xline *x = &g->evidence[k];

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
}

/* ------------------------------------------------------------------------
 * JSON
 * --------------------------------------------------------------------- */

/*
 * A group's members come from the field tables (fields.h), read from views
 * of the group as records: the incident (type, and the highest severity and
 * confidence seen), the session (the group's addresses and port, and the
 * example's uid, client port, times and HELO), and the group's own counts.
 * The rest of the report (run, totals, types) describes the run, not a
 * record, and is written as it is above.
 */
enum group_of { OF_INC, OF_SESS, OF_GROUP };

static const struct rec_field group_fields[] = {
	{ .name = "count", .type = RT_UINT, .off = offsetof(struct rgroup, count),
	  .size = sizeof(uint64_t) },
	{ .name = "first_seen", .type = RT_TS, .off = offsetof(struct rgroup, first_us),
	  .size = sizeof(uint64_t) },
	{ .name = "last_seen", .type = RT_TS, .off = offsetof(struct rgroup, last_us),
	  .size = sizeof(uint64_t) },
};

static const struct group_member {
	enum group_of of;
	const struct rec_field *field;
} group_json[] = {
	{ OF_INC, &rec_inc_fields[IFLD_TYPE] },
	{ OF_INC, &rec_inc_fields[IFLD_SEVERITY] },
	{ OF_INC, &rec_inc_fields[IFLD_CONFIDENCE] },
	{ OF_SESS, &rec_sess_fields[SFLD_CLIENT_IP] },
	{ OF_SESS, &rec_sess_fields[SFLD_SERVER_IP] },
	{ OF_SESS, &rec_sess_fields[SFLD_SERVER_PORT] },
	{ OF_GROUP, &group_fields[0] },
	{ OF_GROUP, &group_fields[1] },
	{ OF_GROUP, &group_fields[2] },
}, example_json[] = {
	{ OF_SESS, &rec_sess_fields[SFLD_UID] },
	{ OF_SESS, &rec_sess_fields[SFLD_CLIENT_PORT] },
	{ OF_SESS, &rec_sess_fields[SFLD_TS_START] },
	{ OF_SESS, &rec_sess_fields[SFLD_TS_END] },
	{ OF_SESS, &rec_sess_fields[SFLD_HELO] },
};

static void
json_members(FILE *f, bool *first, const struct group_member *m, size_t n,
    const void *const views[])
{
	for (size_t i = 0; i < n; i++)
		export_json_field(f, first, m[i].field, views[m[i].of]);
}

/* The members of one group object (without its braces). */
static void
json_group(FILE *f, const struct rgroup *g)
{
	struct incident inc;
	struct sess_record r;
	const void *views[] = { [OF_INC] = &inc, [OF_SESS] = &r, [OF_GROUP] = g };
	bool first = true;

	group_incident_view(g, &inc);
	group_session_view(g, &r);
	json_members(f, &first, group_json, sizeof(group_json) / sizeof(group_json[0]),
	    views);
	(void)fputs(",\"example\":{", f);
	first = true;
	json_members(f, &first, example_json,
	    sizeof(example_json) / sizeof(example_json[0]), views);
	(void)fputs(",\"incident\":", f);
	(void)export_json_incident(f, &inc);
	(void)fputc('}', f);
}

static void
write_json(FILE *f, struct report *rp, const struct run_stats *st,
    struct rgroup **v)
{
	char t[EXPORT_TS_SIZE];
	uint64_t s0, s1;
	size_t i;
	bool first;

	span(rp, st, &s0, &s1);
	(void)fputs("{\"report\":\"smtpscope\",\"version\":1,\"run\":{", f);
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
		    PRIu64, st->sessions, st->open_sessions);
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
	(void)fprintf(f, "},\"groups_dropped\":%" PRIu64 ",\"types_dropped\":%"
	    PRIu64 ",\"nomem_dropped\":%" PRIu64 "}", rp->groups_dropped,
	    rp->types_dropped, rp->nomem);
	(void)fputs(",\"types\":[", f);
	for (i = 0; i < rp->ntypes; i++) {
		(void)fputs(i > 0 ? ",{\"type\":" : "{\"type\":", f);
		(void)esc_json_fput_str(f, rp->types[i].type);
		(void)fprintf(f, ",\"severity\":\"%s\",\"count\":%" PRIu64
		    ",\"server_pairs\":%" PRIu64 "}",
		    nn(severity_name(rp->types[i].severity)), rp->types[i].count,
		    rp->types[i].groups);
	}
	(void)fputs("],\"groups\":[", f);
	for (i = 0; i < rp->ngroups; i++) {
		(void)fputs(i > 0 ? ",{" : "{", f);
		json_group(f, v[i]);
		(void)fputc('}', f);
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
	struct rgroup **v = NULL;
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
	v = sorted_groups(rp, &nomem);
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
		write_json(f, rp, st, v);
	else
		write_text(f, rp, st, rp->fmt == REPORT_MD, v);
	free(v);
	rc = commit_in_place(rp, f, errbuf, errlen);
	return rc;
}

int
report_snapshot(struct report *rp, const char *path, const struct run_stats *st,
    char *errbuf, size_t errlen)
{
	struct report *view;
	struct rgroup **v;
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
	v = sorted_groups(view, &nomem);
	if (nomem || (f = open_temp(view, errbuf, errlen)) == NULL) {
		if (nomem)
			(void)snprintf(errbuf, errlen, "%s: out of memory", path);
		free(v);
		free(view);
		return -1;
	}
	if (fmt == REPORT_JSON)
		write_json(f, view, st, v);
	else
		write_text(f, view, st, fmt == REPORT_MD, v);
	free(v);
	rc = commit_rename(view, f, errbuf, errlen);
	free(view);
	return rc;
}
