/*
 * probe.c - --probe HOST[:PORT]: the one active thing smtpscope does.
 *
 * The admin's own check after a fix is to telnet to port 25 and type EHLO.
 * --probe does that: connect, read the greeting, EHLO, QUIT, nothing that
 * could deliver mail.  The bytes go through the same decoder as captured
 * traffic, so the result is an ordinary session record (and JSON with
 * --json), and the verdict below reads that record.  Every wait (connect,
 * each reply) is bounded by the probe's timeout.
 *
 * Deliberately not here: anything of the capture layer, retries, TLS.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "decode/escape.h"
#include "decode/export.h"
#include "decode/smtp.h"

static int p_timeout_ms;	/* this run's --probe-timeout, in ms */

/*
 * The admin's own check after a fix is to telnet to port 25 and type EHLO.
 * --probe does that: connect, read the greeting, EHLO, QUIT, nothing that
 * could deliver mail.  The bytes go through the same decoder as captured
 * traffic, so the result is an ordinary session record (and JSON with
 * --json), and the verdict below reads that record.
 */

static void
sockaddr_to_peer(const struct sockaddr_storage *ss, uint8_t ip[16], uint16_t *port,
    int *family)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(ip, 0, 16);
	if (ss->ss_family == AF_INET) {
		memcpy(ip, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(ip, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
	*family = ss->ss_family;
}

struct probe {
	const struct probe_opts *o;
	const char *host;
	FILE *json;
	int rc;
	bool done;
};

static void
probe_verdict_line(const struct sess_record *rec, const char *kw, unsigned bit,
    const char *yes, const char *no)
{
	bool on = (rec->capflags & (1u << bit)) != 0;

	printf("  %-9s %-12s %s\n", kw, on ? "offered" : "NOT offered", on ? yes : no);
}

static void
probe_sink_end(void *arg, const struct sess_record *rec)
{
	struct probe *p = arg;
	char buf[1024], sz[16];
	size_t i;

	p->done = true;
	if (p->json != NULL && (export_json_session(p->json, rec) == -1 ||
	    fflush(p->json) == EOF)) {
		cli_warn("--json: %s", strerror(errno));
		p->rc = EX_OUTPUT_;
	}
	if (p->json == stdout)
		return;
	esc_text_wstr(buf, sizeof(buf), &rec->banner, 0);
	printf("greeting: %d %s\n", rec->banner_code, buf);
	if (!rec->ehlo) {
		printf("EHLO was not accepted (last reply %d): the server offers no "
		    "extensions at all, so 8-bit, SMTPUTF8 and STARTTLS are unavailable.\n",
		    rec->last_reply_code);
		return;
	}
	printf("capabilities (%zu):\n", rec->ncaps);
	for (i = 0; i < rec->ncaps; i++) {
		esc_text_wstr(buf, sizeof(buf), &rec->caps[i], 0);
		printf("  %s\n", buf);
	}
	printf("verdict:\n");
	probe_verdict_line(rec, "8BITMIME", CAPB_8BITMIME,
	    "8-bit MIME mail is accepted as it is (RFC 6152).",
	    "senders holding 8-bit MIME mail must convert it to 7-bit or bounce it "
	    "(the KB295734 failure); enable the 8BITMIME extension on this server.");
	probe_verdict_line(rec, "SMTPUTF8", CAPB_SMTPUTF8,
	    "UTF-8 addresses are accepted (RFC 6531).",
	    "mail to or from UTF-8 addresses will be refused or bounced.");
	probe_verdict_line(rec, "CHUNKING", CAPB_CHUNKING,
	    "BDAT may be used (RFC 3030).", "senders must use DATA.");
	probe_verdict_line(rec, "STARTTLS", CAPB_STARTTLS,
	    "mail can be encrypted in transit (RFC 3207).",
	    "mail to this server travels in clear text.");
	if (rec->capflags & CAPF(SIZE)) {
		if (rec->size_limit > 0) {
			cli_fmt_bytes(sz, sizeof(sz), rec->size_limit);
			printf("  %-9s %-12s messages up to %llu bytes (%s).\n", "SIZE",
			    "offered", (unsigned long long)rec->size_limit, sz);
		} else
			printf("  %-9s %-12s no fixed limit announced.\n", "SIZE", "offered");
	} else
		printf("  %-9s %-12s senders learn the size limit only when refused.\n",
		    "SIZE", "NOT offered");
}

static int
probe_split(const char *arg, char *host, size_t hlen, char *port, size_t plen)
{
	const char *c;

	if (arg[0] == '[') {
		if ((c = strchr(arg, ']')) == NULL || (size_t)(c - arg) > hlen)
			return -1;
		strlcpy(host, arg + 1, (size_t)(c - arg));
		c++;
		if (*c == ':')
			strlcpy(port, c + 1, plen);
		else if (*c == '\0')
			strlcpy(port, "25", plen);
		else
			return -1;
	} else if ((c = strchr(arg, ':')) != NULL && strchr(c + 1, ':') == NULL) {
		if ((size_t)(c - arg) >= hlen)
			return -1;
		strlcpy(host, arg, (size_t)(c - arg) + 1);
		strlcpy(port, c + 1, plen);
	} else {
		strlcpy(host, arg, hlen);
		strlcpy(port, "25", plen);
	}
	return host[0] != '\0' && port[0] != '\0' ? 0 : -1;
}

/* Connect with a timeout; returns the socket or -1 with a message. */
static int
probe_connect(const char *host, const char *port, char *err, size_t errlen,
    char *addrbuf, size_t addrlen)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t sl;
	int fd = -1, e, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve '%s' port '%s': %s", host, port,
		    gai_strerror(e));
		return -1;
	}
	snprintf(err, errlen, "no address for '%s'", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK,
		    ai->ai_protocol)) == -1)
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addrbuf, addrlen, NULL, 0,
		    NI_NUMERICHOST);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			e = poll(&pfd, 1, p_timeout_ms);
			sl = sizeof(soerr);
			if (e == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				break;
			if (e == 0)
				snprintf(err, errlen, "connection to %s port %s timed out after %d s",
				    addrbuf, port, p_timeout_ms / 1000);
			else
				snprintf(err, errlen, "cannot connect to %s port %s: %s", addrbuf,
				    port, strerror(soerr != 0 ? soerr : errno));
		} else
			snprintf(err, errlen, "cannot connect to %s port %s: %s", addrbuf, port,
			    strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Read one complete reply (the last line is "NNN " or "NNN" alone), feeding
 * every byte to the decoder.  Returns the reply code, or -1 with a message.
 */
static int
probe_reply(int fd, struct smtp_session *s, uint64_t *pkt, char *err, size_t errlen)
{
	char buf[4096], line[8];
	struct pollfd pfd;
	struct smtp_pos pos;
	size_t ll = 0;
	ssize_t n;
	ssize_t i;
	int code = -1;
	bool at_bol = true, last = false;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, p_timeout_ms) != 1) {
			snprintf(err, errlen, "no reply within %d s", p_timeout_ms / 1000);
			return -1;
		}
		if ((n = read(fd, buf, sizeof(buf))) <= 0) {
			snprintf(err, errlen, "connection closed by the server%s%s",
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return -1;
		}
		pos.ts_us = cli_wall_us();
		pos.pkt = ++*pkt;
		smtp_feed(s, XDIR_SERVER, (const uint8_t *)buf, (size_t)n, &pos);
		/* Find the end of the reply: a line whose 4th byte is not '-'. */
		for (i = 0; i < n; i++) {
			if (at_bol) {
				ll = 0;
				at_bol = false;
			}
			if (buf[i] == '\n') {
				if (ll >= 3 && line[0] >= '0' && line[0] <= '9' &&
				    line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
				    line[2] <= '9') {
					code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
					    (line[2] - '0');
					last = ll == 3 || line[3] != '-';
				} else {
					snprintf(err, errlen, "the server does not speak SMTP");
					return -1;
				}
				at_bol = true;
				if (last)
					return code;
				continue;
			}
			if (ll < sizeof(line))
				line[ll] = buf[i];
			ll++;
		}
	}
}

static int
probe_send(int fd, struct smtp_session *s, uint64_t *pkt, const char *cmd)
{
	struct smtp_pos pos;
	size_t len = strlen(cmd);

	pos.ts_us = cli_wall_us();
	pos.pkt = ++*pkt;
	smtp_feed(s, XDIR_CLIENT, (const uint8_t *)cmd, len, &pos);
	return write(fd, cmd, len) == (ssize_t)len ? 0 : -1;
}

int
probe_run(const struct probe_opts *o)
{
	struct probe p;
	struct smtp_sink sink;
	struct smtp_ctx *ctx;
	struct smtp_session *s;
	struct smtp_peers peers;
	struct smtp_end_info ei;
	struct smtp_pos pos;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[256], port[32], addr[INET6_ADDRSTRLEN + 8], err[512];
	char me[256], cmd[300];
	uint64_t pkt = 0;
	int fd, code;

	memset(&p, 0, sizeof(p));
	p.o = o;
	p_timeout_ms = o->timeout_ms;
	if (probe_split(o->target, host, sizeof(host), port, sizeof(port)) == -1) {
		cli_warn("--probe: '%s' is not HOST or HOST:PORT", o->target);
		return EX_USAGE_;
	}
	if (strspn(port, "0123456789") == strlen(port)) {
		const char *e = NULL;

		(void)strtonum(port, 1, 65535, &e);
		if (e != NULL) {
			cli_warn("--probe: port '%s' is not from 1 to 65535", port);
			return EX_USAGE_;
		}
	} else if (getservbyname(port, "tcp") == NULL) {
		cli_warn("--probe: '%s' is neither a port number nor a TCP service name",
		    port);
		return EX_USAGE_;
	}
	if (o->json != NULL) {
		if (strcmp(o->json, "-") == 0)
			p.json = stdout;
		else if ((p.json = fopen(o->json, "w")) == NULL) {
			cli_warn("--json: cannot create '%s': %s", o->json, strerror(errno));
			return EX_OUTPUT_;
		}
	}
	addr[0] = '\0';
	if ((fd = probe_connect(host, port, err, sizeof(err), addr, sizeof(addr))) == -1) {
		cli_warn("--probe: %s", err);
		if (p.json != NULL && p.json != stdout)
			fclose(p.json);
		return EX_PROBE_;
	}
	if (p.json != stdout)
		printf("probing %s (%s) port %s\n", host, addr, port);

	memset(&sink, 0, sizeof(sink));
	sink.arg = &p;
	sink.session_end = probe_sink_end;
	ctx = smtp_ctx_new(o->limits, &sink);
	memset(&peers, 0, sizeof(peers));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_peer(&ss, peers.client_ip, &peers.client_port, &peers.family);
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_peer(&ss, peers.server_ip, &peers.server_port, &peers.family);
	peers.ts_us = cli_wall_us();
	s = ctx != NULL ? smtp_session_new(ctx, &peers) : NULL;
	if (s == NULL) {
		cli_warn("out of memory");
		close(fd);
		return EX_PROBE_;
	}
	if (gethostname(me, sizeof(me)) == -1 || me[0] == '\0' || strchr(me, '.') == NULL)
		strlcpy(me, "smtpscope-probe.invalid", sizeof(me));
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", me);
	p.rc = EX_OK_;
	if ((code = probe_reply(fd, s, &pkt, err, sizeof(err))) == -1 ||
	    (code / 100 == 2 && (probe_send(fd, s, &pkt, cmd) == -1 ||
	    probe_reply(fd, s, &pkt, err, sizeof(err)) == -1))) {
		cli_warn("--probe: %s:%s: %s", host, port, err);
		p.rc = EX_PROBE_;
	} else {
		if (code / 100 != 2)
			cli_warn("--probe: the server refused the connection with %d", code);
		if (probe_send(fd, s, &pkt, "QUIT\r\n") == 0)
			(void)probe_reply(fd, s, &pkt, err, sizeof(err));
	}
	close(fd);
	memset(&ei, 0, sizeof(ei));
	ei.reason = SEND_CLOSE;
	pos.ts_us = cli_wall_us();
	pos.pkt = pkt;
	smtp_end(s, &ei, &pos);
	smtp_ctx_free(ctx);
	if (p.json != NULL && p.json != stdout && fclose(p.json) == EOF) {
		cli_warn("--json: %s", strerror(errno));
		p.rc = EX_OUTPUT_;
	}
	return p.rc;
}
