/*
 * dumpflow.c - the --dump-streams consumer: each direction of each flow to
 * its own file, named as tcpflow 1.6 names them, so that our reassembly can
 * be compared with tcpflow's byte for byte.
 *
 * Names: "SRC.SPORT-DST.DPORT"; an IPv4 address is four zero-padded
 * three-digit fields ("127.000.000.010"), an IPv6 address is inet_ntop()'s
 * compressed form ("2001:db8::1"), ports are five zero-padded digits.  The
 * second flow with the same name (port reuse) gets "c1" appended, the third
 * "c2", and so on, as tcpflow does (checked by running tcpflow 1.6 on a
 * capture with three connections on one 4-tuple).  A file is created at the
 * first byte of its direction; a direction that carries no data has no file.
 *
 * Gaps: nothing is written for bytes the capture missed, so a file is the
 * concatenation of the bytes that were delivered.  tcpflow instead writes
 * each segment at its sequence-number offset, so its file has a hole (read
 * back as zero bytes) where ours has nothing: the two agree exactly on every
 * stream without gaps, and on the bytes before the first gap otherwise.
 *
 * Resources: one allocation per flow and one per distinct file name; file
 * descriptors stay open while a flow is open, at most DF_MAX_OPEN at once
 * (the least recently written flow's are closed and reopened for append
 * when needed).  A write error is remembered and reported by
 * dumpflow_close(); the consumer chained behind still gets every event.
 * Call cap_finish() before dumpflow_close(): flows still open then are not
 * closed by it.
 *
 * Deliberately not here: any reassembly (the capture layer delivers bytes
 * in order, once), tcpflow's report.xml, timestamps on the files.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"

#define DF_NAME_MAX	160
#define DF_MAX_OPEN	64

struct df_name {
	RB_ENTRY(df_name) e;
	unsigned count;		/* flows that used this name so far */
	char name[DF_NAME_MAX];
};
RB_HEAD(df_names, df_name);

struct df_flow {
	struct dumpflow *d;
	void *next;		/* the chained consumer's context */
	char name[2][DF_NAME_MAX];
	int fd[2];
	bool created[2];
	bool in_lru;
	TAILQ_ENTRY(df_flow) lru;
};

struct dumpflow {
	int dirfd;
	char *dir;
	struct cap_consumer next;
	struct df_names names;
	TAILQ_HEAD(, df_flow) lru;	/* flows with an open fd, least recent first */
	int nopen;
	bool failed;
	char err[CAP_ERRBUF_SIZE];
};

static int
name_cmp(const struct df_name *a, const struct df_name *b)
{
	return strcmp(a->name, b->name);
}

/* Not static: the static variant warns about the functions we do not use. */
RB_PROTOTYPE(df_names, df_name, e, name_cmp)
RB_GENERATE(df_names, df_name, e, name_cmp)

static void
fail(struct dumpflow *d, const char *what, const char *name, int err)
{
	if (d->failed)
		return;
	d->failed = true;
	snprintf(d->err, sizeof(d->err), "cannot %s '%s/%s': %s", what, d->dir,
	    name, strerror(err));
}

int
dumpflow_open(struct dumpflow **dp, const char *dir, char errbuf[CAP_ERRBUF_SIZE])
{
	struct dumpflow *d;

	*dp = NULL;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->dir = strdup(dir)) == NULL) {
		free(d);
		snprintf(errbuf, CAP_ERRBUF_SIZE, "out of memory");
		return -1;
	}
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (d->dirfd == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot open '%s': %s", dir,
		    strerror(errno));
		free(d->dir);
		free(d);
		return -1;
	}
	RB_INIT(&d->names);
	TAILQ_INIT(&d->lru);
	*dp = d;
	return 0;
}

int
dumpflow_check(struct dumpflow *d, char errbuf[CAP_ERRBUF_SIZE])
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), ".smtpscope-check.%ld", (long)getpid());
	fd = openat(d->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(errbuf, CAP_ERRBUF_SIZE, "cannot create files in '%s': %s",
		    d->dir, strerror(errno));
		return -1;
	}
	(void)close(fd);
	(void)unlinkat(d->dirfd, name, 0);
	return 0;
}

static void
addr_text(int family, const uint8_t *ip, char *buf, size_t len)
{
	if (family == AF_INET)
		snprintf(buf, len, "%03u.%03u.%03u.%03u", ip[0], ip[1], ip[2], ip[3]);
	else if (inet_ntop(AF_INET6, ip, buf, (socklen_t)len) == NULL)
		strlcpy(buf, "?", len);
}

/* The tcpflow name for one direction, with its "cN" suffix if reused. */
static void
make_name(struct dumpflow *d, int family, const uint8_t *sip, uint16_t sport,
    const uint8_t *dip, uint16_t dport, char out[DF_NAME_MAX])
{
	char s[INET6_ADDRSTRLEN + 1], t[INET6_ADDRSTRLEN + 1];
	struct df_name key, *n;
	size_t len;

	addr_text(family, sip, s, sizeof(s));
	addr_text(family, dip, t, sizeof(t));
	snprintf(key.name, sizeof(key.name), "%s.%05u-%s.%05u", s, sport, t, dport);
	n = RB_FIND(df_names, &d->names, &key);
	if (n == NULL) {
		if ((n = calloc(1, sizeof(*n))) != NULL) {
			strlcpy(n->name, key.name, sizeof(n->name));
			RB_INSERT(df_names, &d->names, n);
		}
		strlcpy(out, key.name, DF_NAME_MAX);
	} else {
		len = strlcpy(out, key.name, DF_NAME_MAX);
		snprintf(out + len, DF_NAME_MAX - len, "c%u", n->count);
	}
	if (n != NULL)
		n->count++;
}

static void *
df_open(void *arg, const struct cap_flow_info *info)
{
	struct dumpflow *d = arg;
	struct df_flow *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		if (!d->failed) {
			d->failed = true;
			snprintf(d->err, sizeof(d->err), "out of memory");
		}
		return NULL;
	}
	f->d = d;
	f->fd[0] = f->fd[1] = -1;
	make_name(d, info->family, info->client_ip, info->client_port,
	    info->server_ip, info->server_port, f->name[CAP_C2S]);
	make_name(d, info->family, info->server_ip, info->server_port,
	    info->client_ip, info->client_port, f->name[CAP_S2C]);
	if (d->next.open != NULL)
		f->next = d->next.open(d->next.arg, info);
	return f;
}

static void
close_fds(struct df_flow *f)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (f->fd[i] != -1) {
			if (close(f->fd[i]) == -1)
				fail(f->d, "write", f->name[i], errno);
			f->fd[i] = -1;
			f->d->nopen--;
		}
	}
	if (f->in_lru) {
		TAILQ_REMOVE(&f->d->lru, f, lru);
		f->in_lru = false;
	}
}

static int
get_fd(struct df_flow *f, int dir)
{
	struct dumpflow *d = f->d;
	struct df_flow *old;
	int flags = O_WRONLY | O_CREAT;

	if (f->in_lru) {
		TAILQ_REMOVE(&d->lru, f, lru);
		f->in_lru = false;
	}
	if (f->fd[dir] == -1) {
		while (d->nopen >= DF_MAX_OPEN && (old = TAILQ_FIRST(&d->lru)) != NULL)
			close_fds(old);
		flags |= f->created[dir] ? O_APPEND : O_TRUNC;
		f->fd[dir] = openat(d->dirfd, f->name[dir], flags, 0644);
		if (f->fd[dir] == -1) {
			fail(d, "create", f->name[dir], errno);
		} else {
			f->created[dir] = true;
			d->nopen++;
		}
	}
	TAILQ_INSERT_TAIL(&d->lru, f, lru);
	f->in_lru = true;
	return f->fd[dir];
}

static void
df_data(void *ctx, enum cap_dir dir, const uint8_t *p, size_t len,
    const struct cap_pos *pos)
{
	struct df_flow *f = ctx;
	const uint8_t *q = p;
	size_t left = len;
	ssize_t w;
	int fd;

	if (f == NULL)
		return;
	if (!f->d->failed && (fd = get_fd(f, dir)) != -1) {
		while (left > 0) {
			w = write(fd, q, left);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0) {
				fail(f->d, "write", f->name[dir], w == 0 ? EIO : errno);
				break;
			}
			q += w;
			left -= (size_t)w;
		}
	}
	if (f->d->next.data != NULL)
		f->d->next.data(f->next, dir, p, len, pos);
}

int
dumpflow_extra(struct dumpflow *d, int family, const uint8_t *sip, uint16_t sport,
    const uint8_t *dip, uint16_t dport, const char *suffix, const uint8_t *p,
    size_t len)
{
	char s[INET6_ADDRSTRLEN + 1], t[INET6_ADDRSTRLEN + 1], name[DF_NAME_MAX + 16];
	ssize_t w;
	int fd;

	if (d == NULL || d->failed)
		return -1;
	addr_text(family, sip, s, sizeof(s));
	addr_text(family, dip, t, sizeof(t));
	snprintf(name, sizeof(name), "%s.%05u-%s.%05u%s", s, sport, t, dport, suffix);
	fd = openat(d->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1) {
		fail(d, "create", name, errno);
		return -1;
	}
	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			fail(d, "write", name, w == 0 ? EIO : errno);
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	(void)close(fd);
	return d->failed ? -1 : 0;
}

static void
df_gap(void *ctx, enum cap_dir dir, uint64_t len, const struct cap_pos *pos)
{
	struct df_flow *f = ctx;

	if (f != NULL && f->d->next.gap != NULL)
		f->d->next.gap(f->next, dir, len, pos);
}

static void
df_close(void *ctx, const struct cap_flow_end *end, const struct cap_pos *pos)
{
	struct df_flow *f = ctx;

	if (f == NULL)
		return;
	close_fds(f);
	if (f->d->next.close != NULL)
		f->d->next.close(f->next, end, pos);
	free(f);
}

void
dumpflow_consumer(struct dumpflow *d, const struct cap_consumer *next,
    struct cap_consumer *out)
{
	if (next != NULL)
		d->next = *next;
	else
		memset(&d->next, 0, sizeof(d->next));
	out->arg = d;
	out->open = df_open;
	out->data = df_data;
	out->gap = df_gap;
	out->close = df_close;
}

int
dumpflow_close(struct dumpflow *d, char errbuf[CAP_ERRBUF_SIZE])
{
	struct df_name *n, *nn;
	struct df_flow *f;
	int rc = 0;

	if (d == NULL)
		return 0;
	while ((f = TAILQ_FIRST(&d->lru)) != NULL)
		close_fds(f);
	RB_FOREACH_SAFE(n, df_names, &d->names, nn) {
		RB_REMOVE(df_names, &d->names, n);
		free(n);
	}
	close(d->dirfd);
	if (d->failed) {
		strlcpy(errbuf, d->err, CAP_ERRBUF_SIZE);
		rc = -1;
	}
	free(d->dir);
	free(d);
	return rc;
}
