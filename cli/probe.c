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
 * A server may offer different extensions to different clients (Exchange
 * receive connectors, Postfix smtpd_discard_ehlo_keyword_address_maps), so
 * the EHLO name (--ehlo) and the source address (--probe-source) can be
 * chosen, and the output says which were used.
 *
 * For monitoring, --require LIST turns the output into one status line
 * and the exit status into the monitoring-plugin convention (Nagios,
 * Icinga): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "decode/escape.h"
#include "decode/export.h"
#include "decode/smtp.h"

static int p_timeout_ms;	/* this run's --probe-timeout, in ms */

/* Monitoring-plugin exit codes (--require). */
enum { MON_OK = 0, MON_WARNING = 1, MON_CRITICAL = 2, MON_UNKNOWN = 3 };
static const char *const mon_word[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

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

/* One reply as the probe saw it: its code and its last line's text. */
struct seen_reply {
	int code;		/* 0: none */
	char text[512];		/* raw wire bytes, NUL-terminated */
};

struct probe {
	const struct probe_opts *o;
	const char *host;
	char target[300];	/* "host (addr) port N", for messages */
	char client[EXPORT_ADDR_SIZE];	/* our address:port */
	const char *ehlo_name;
	FILE *json;
	int rc;
	bool done;
	uint32_t require;	/* --require: CAPF() bits */
	struct seen_reply greeting, ehlo;
	uint64_t t0_us, t1_us;	/* connected, EHLO answered */
	int mon;		/* --require: MON_* */
	char status[1024];	/* --require: the status line */
	/* --starttls/--tls: the capability bits before STARTTLS, and what
	 * the TLS session was */
	bool tls_tried, tls_up, tls_dead;
	uint32_t pre_flags;
	char tls_what[700];	/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or the failure */
	char cert_what[700];	/* subject, names, issuer, expiry, verification */
};

/* The TLS session of --starttls, once up: replies and commands go through
 * it instead of the socket. */
static SSL *p_ssl;

static void
probe_verdict_line(const struct sess_record *rec, const char *kw, unsigned bit,
    const char *yes, const char *no)
{
	bool on = (rec->capflags & (1u << bit)) != 0;

	printf("  %-9s %-12s %s\n", kw, on ? "offered" : "NOT offered", on ? yes : no);
}

/* "NNN text" of a reply, escaped for the terminal. */
static const char *
reply_str(const struct seen_reply *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%d ", r->code);

	if (n < 0 || (size_t)n >= len)
		return "";
	(void)esc_text(buf + n, len - (size_t)n, r->text, strlen(r->text), 0);
	return buf;
}

/* The offered keywords of rec, space-separated, for a status line. */
static void
offered_list(const struct sess_record *rec, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < CAPB_MAX; b++)
		if (rec->capflags & (1u << b)) {
			int n = snprintf(buf + o, len - o, "%s%s", o ? " " : "",
			    smtp_cap_name((enum smtp_cap_bit)b));

			if (n < 0 || (size_t)n >= len - o)
				break;
			o += (size_t)n;
		}
	if (o == 0)
		strlcpy(buf, "none", len);
}

/* The required keywords of mask that rec offers (on) or lacks (!on). */
static void
required_list(const struct sess_record *rec, uint32_t mask, bool on, char *buf,
    size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < CAPB_MAX; b++)
		if ((mask & (1u << b)) && ((rec->capflags & (1u << b)) != 0) == on) {
			int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
			    smtp_cap_name((enum smtp_cap_bit)b));

			if (n < 0 || (size_t)n >= len - o)
				break;
			o += (size_t)n;
		}
}

/* --require: the one status line and the monitoring exit code. */
static void
probe_status(struct probe *p, const struct sess_record *rec)
{
	char r[700], have[300], miss[300], offered[300];
	double secs = p->t1_us > p->t0_us ? (double)(p->t1_us - p->t0_us) / 1e6 : 0;

	if (p->greeting.code / 100 != 2) {
		p->mon = p->greeting.code / 100 == 4 ? MON_WARNING : MON_CRITICAL;
		snprintf(p->status, sizeof(p->status), "%s refused the session at the "
		    "greeting: %s", p->target, reply_str(&p->greeting, r, sizeof(r)));
		return;
	}
	if (!rec->ehlo) {
		p->mon = MON_CRITICAL;
		snprintf(p->status, sizeof(p->status), "%s refused EHLO %s from %s: "
		    "%s; no extension is offered", p->target, p->ehlo_name, p->client,
		    reply_str(&p->ehlo, r, sizeof(r)));
		return;
	}
	required_list(rec, p->require, true, have, sizeof(have));
	required_list(rec, p->require, false, miss, sizeof(miss));
	if (miss[0] != '\0') {
		offered_list(rec, offered, sizeof(offered));
		p->mon = MON_CRITICAL;
		snprintf(p->status, sizeof(p->status), "%s does not offer %s to EHLO %s "
		    "from %s (it offers: %s) | time=%.3fs", p->target, miss, p->ehlo_name,
		    p->client, offered, secs);
		return;
	}
	p->mon = MON_OK;
	snprintf(p->status, sizeof(p->status), "%s offers %s to EHLO %s from %s | "
	    "time=%.3fs", p->target, have, p->ehlo_name, p->client, secs);
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
	if (p->greeting.code == 0)
		return;		/* the failure was already said */
	if (p->require != 0) {
		probe_status(p, rec);
		return;
	}
	if (p->json == stdout)
		return;
	printf("greeting: %s\n", reply_str(&p->greeting, buf, sizeof(buf)));
	if (p->greeting.code / 100 != 2) {
		printf("the server refused the session at the greeting: it will not "
		    "take mail from %s now%s.\n", p->client, p->greeting.code / 100 == 4 ?
		    " (a temporary refusal: overloaded, rate-limited or shutting down)" :
		    " (a permanent refusal: a blocklist, a connection policy, or no "
		    "mail service here)");
		return;
	}
	if (!rec->ehlo) {
		printf("EHLO was refused: %s\n", reply_str(&p->ehlo, buf, sizeof(buf)));
		printf("the server offers no extension at all to this client, so 8-bit "
		    "MIME, SMTPUTF8 and STARTTLS are unavailable: it is very old, or a "
		    "firewall's SMTP inspection sits in the path.\n");
		return;
	}
	if (p->tls_tried) {
		static const struct { const char *kw; unsigned bit; } ext[] = {
			{ "8BITMIME", CAPB_8BITMIME }, { "SMTPUTF8", CAPB_SMTPUTF8 },
			{ "CHUNKING", CAPB_CHUNKING }, { "SIZE", CAPB_SIZE },
			{ "PIPELINING", CAPB_PIPELINING }, { "DSN", CAPB_DSN },
			{ "AUTH", CAPB_AUTH }, { "STARTTLS", CAPB_STARTTLS },
		};

		printf("TLS: %s\n", p->tls_what);
		if (p->cert_what[0] != '\0')
			printf("certificate: %s\n", p->cert_what);
		if (p->tls_up && p->o->implicit_tls) {
			printf("(implicit TLS: the whole session, greeting included, was "
			    "inside TLS)\n");
		} else if (p->tls_up) {
			printf("capabilities before and inside TLS (servers may offer "
			    "different ones):\n");
			for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
				bool b = (p->pre_flags & (1u << ext[i].bit)) != 0;
				bool a = (rec->capflags & (1u << ext[i].bit)) != 0;

				printf("  %-11s %-12s %-12s%s\n", ext[i].kw,
				    b ? "offered" : "NOT offered", a ? "offered" : "NOT offered",
				    a != b ? "  <- differs" : "");
			}
			printf("(the capabilities and the verdict below are those inside "
			    "TLS, where mail would go)\n");
		}
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
	if (p->tls_up && p->o->implicit_tls)
		printf("  %-9s %-12s mail is encrypted in transit from the first "
		    "byte (%s).\n", "TLS", "implicit", p->tls_what);
	else if (p->tls_up)	/* inside TLS STARTTLS is gone, by RFC 3207 */
		printf("  %-9s %-12s mail is encrypted in transit: this probe used "
		    "it (%s).\n", "STARTTLS", "offered", p->tls_what);
	else
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

/* Connect with a timeout, from src when given (its family only); returns
 * the socket or -1 with a message. */
static int
probe_connect(const char *host, const char *port, const struct sockaddr_storage *src,
    socklen_t srclen, char *err, size_t errlen, char *addrbuf, size_t addrlen)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	socklen_t sl;
	int fd = -1, e, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (src != NULL)
		hints.ai_family = src->ss_family;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve '%s' port '%s'%s: %s", host, port,
		    src != NULL ? (src->ss_family == AF_INET6 ? " over IPv6" :
		    " over IPv4") : "", gai_strerror(e));
		return -1;
	}
	snprintf(err, errlen, "no address for '%s'", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK,
		    ai->ai_protocol)) == -1)
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addrbuf, addrlen, NULL, 0,
		    NI_NUMERICHOST);
		if (src != NULL && bind(fd, (const struct sockaddr *)src, srclen) == -1) {
			snprintf(err, errlen, "cannot use source address --probe-source: %s",
			    strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
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
 * every byte to the decoder; *out gets its code and its last line's text.
 * Returns the reply code, or -1 with a message.
 */
static int
probe_reply(int fd, struct smtp_session *s, uint64_t *pkt, struct seen_reply *out,
    char *err, size_t errlen)
{
	char buf[4096], line[sizeof(out->text) + 4];
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
		if ((p_ssl == NULL || SSL_pending(p_ssl) == 0) &&
		    poll(&pfd, 1, p_timeout_ms) != 1) {
			snprintf(err, errlen, "no reply within %d s", p_timeout_ms / 1000);
			return -1;
		}
		if (p_ssl != NULL) {
			int k = SSL_read(p_ssl, buf, (int)sizeof(buf));

			if (k <= 0 && SSL_get_error(p_ssl, k) == SSL_ERROR_WANT_READ)
				continue;
			n = k;
		} else
			n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
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
			if (buf[i] != '\n') {
				if (ll < sizeof(line))
					line[ll] = buf[i];
				ll++;
				continue;
			}
			if (ll < 3 || line[0] < '0' || line[0] > '9' || line[1] < '0' ||
			    line[1] > '9' || line[2] < '0' || line[2] > '9') {
				snprintf(err, errlen, "the server does not speak SMTP");
				return -1;
			}
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			last = ll == 3 || line[3] != '-';
			at_bol = true;
			if (!last)
				continue;
			if (ll > sizeof(line))
				ll = sizeof(line);
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			out->code = code;
			ll = ll > 4 ? ll - 4 : 0;
			if (ll >= sizeof(out->text))
				ll = sizeof(out->text) - 1;
			memcpy(out->text, line + 4, ll);
			out->text[ll] = '\0';
			return code;
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
	if (p_ssl != NULL)
		return SSL_write(p_ssl, cmd, (int)len) == (int)len ? 0 : -1;
	return write(fd, cmd, len) == (ssize_t)len ? 0 : -1;
}

/* "2027-01-03" of a certificate time. */
static void
asn1_day(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		strlcpy(buf, "unknown", len);
}

/* The certificate the server presented, as posttls-finger tells it:
 * subject, DNS names, issuer, expiry, and whether it verifies against the
 * system's CA store and matches the host probed. */
static void
describe_cert(struct probe *p, X509 *x, long verify, const char *host)
{
	char sub[256] = "?", iss[256] = "?", names[300] = "", na[16];
	GENERAL_NAMES *gens;
	size_t o = 0;

	(void)X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    sub, sizeof(sub));
	(void)X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName,
	    iss, sizeof(iss));
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int k;

		if (g->type != GEN_DNS)
			continue;
		k = snprintf(names + o, sizeof(names) - o, "%s%.*s", o ? "," : "",
		    ASN1_STRING_length(g->d.dNSName),
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		if (k < 0 || (size_t)k >= sizeof(names) - o)
			break;
		o += (size_t)k;
	}
	GENERAL_NAMES_free(gens);
	asn1_day(X509_get0_notAfter(x), na, sizeof(na));
	{
		char es[900];

		snprintf(es, sizeof(es), "subject %s, names %s, issuer %s, expires %s; "
		    "%s; %s %s", sub, names[0] ? names : "none", iss, na,
		    verify == X509_V_OK ? "verifies against the system's CA store" :
		    X509_verify_cert_error_string(verify),
		    X509_check_host(x, host, 0, 0, NULL) == 1 ? "covers" :
		    "does NOT cover", host);
		esc_text(p->cert_what, sizeof(p->cert_what), es, strlen(es), 0);
	}
}

/* The TLS handshake on fd (p_ssl set when it succeeds): 0, or -1 with the
 * failure in p->tls_what.  From its first byte the connection is TLS's:
 * a failed handshake leaves nothing to say QUIT on. */
static int
probe_handshake(struct probe *p, int fd, const char *host)
{
	struct timeval tv;
	SSL_CTX *ctx;
	X509 *x;

	p->tls_tried = true;
	p->tls_dead = true;
	/* Blocking, with the probe's timeout on each read and write. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	tv.tv_sec = p_timeout_ms / 1000;
	tv.tv_usec = (p_timeout_ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (p_ssl = SSL_new(ctx)) == NULL) {
		SSL_CTX_free(ctx);
		snprintf(p->tls_what, sizeof(p->tls_what), "TLS: out of memory");
		return -1;
	}
	(void)SSL_CTX_set_default_verify_paths(ctx);
	SSL_set_verify(p_ssl, SSL_VERIFY_NONE, NULL);	/* report, do not refuse */
	(void)SSL_set_tlsext_host_name(p_ssl, host);
	SSL_set_fd(p_ssl, fd);
	SSL_CTX_free(ctx);	/* the SSL keeps its reference */
	if (SSL_connect(p_ssl) != 1) {
		unsigned long e = ERR_get_error();

		snprintf(p->tls_what, sizeof(p->tls_what), "the TLS handshake failed: %s",
		    e != 0 ? ERR_reason_error_string(e) : "the connection closed");
		SSL_free(p_ssl);
		p_ssl = NULL;
		return -1;
	}
	p->tls_up = true;
	p->tls_dead = false;
	snprintf(p->tls_what, sizeof(p->tls_what), "%s %s", SSL_get_version(p_ssl),
	    SSL_get_cipher_name(p_ssl));
	if ((x = SSL_get1_peer_certificate(p_ssl)) != NULL) {
		describe_cert(p, x, SSL_get_verify_result(p_ssl), host);
		X509_free(x);
	}
	return 0;
}

/* STARTTLS, the handshake, and EHLO again inside TLS.  0 when TLS is up
 * (p_ssl set), -1 with the failure in p->tls_what. */
static int
probe_starttls(struct probe *p, int fd, struct smtp_session *s, uint64_t *pkt,
    const char *host, const char *ehlo_cmd)
{
	struct seen_reply r;
	char err[256], rb[300];

	p->tls_tried = true;
	if (probe_send(fd, s, pkt, "STARTTLS\r\n") == -1 ||
	    probe_reply(fd, s, pkt, &r, err, sizeof(err)) == -1) {
		snprintf(p->tls_what, sizeof(p->tls_what), "STARTTLS: %s", err);
		return -1;
	}
	if (r.code != 220) {
		snprintf(p->tls_what, sizeof(p->tls_what), "STARTTLS refused: %s",
		    reply_str(&r, rb, sizeof(rb)));
		return -1;
	}
	if (probe_handshake(p, fd, host) == -1)
		return -1;
	if (probe_send(fd, s, pkt, ehlo_cmd) == -1 ||
	    probe_reply(fd, s, pkt, &p->ehlo, err, sizeof(err)) == -1) {
		snprintf(p->tls_what + strlen(p->tls_what), sizeof(p->tls_what) -
		    strlen(p->tls_what), "; EHLO inside TLS: %s", err);
		return -1;
	}
	return 0;
}

/* --require "8BITMIME,SMTPUTF8": CAPF() bits, or -1 naming the bad word. */
static int
parse_require(const char *list, uint32_t *mask, char *bad, size_t badlen)
{
	const char *p = list;

	*mask = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ", ");
		unsigned b;

		for (b = 0; b < CAPB_MAX; b++) {
			const char *kw = smtp_cap_name((enum smtp_cap_bit)b);

			if (n > 0 && strlen(kw) == n && strncasecmp(kw, p, n) == 0)
				break;
		}
		if (n > 0 && b == CAPB_MAX) {
			(void)esc_text(bad, badlen, p, n, 0);
			return -1;
		}
		if (n > 0)
			*mask |= 1u << b;
		p += n;
		p += strspn(p, ", ");
	}
	if (*mask == 0) {
		strlcpy(bad, "", badlen);
		return -1;
	}
	return 0;
}

/* An EHLO name we may send: a domain or an address literal, no spaces or
 * control bytes (it goes on the wire as it is). */
static bool
ehlo_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)n[i] <= ' ' || (unsigned char)n[i] >= 0x7f)
			return false;
	return true;
}

/* A failure before any verdict: exit 4, or a CRITICAL status line. */
static int
probe_fail(const struct probe *p, const char *what)
{
	char e[1024];

	(void)esc_text(e, sizeof(e), what, strlen(what), 0);
	if (p->require != 0) {
		printf("SMTP CRITICAL - %s\n", e);
		return MON_CRITICAL;
	}
	cli_warn("--probe: %s", e);
	return EX_PROBE_;
}

/* Bad arguments: exit 2, or an UNKNOWN status line with --require. */
static int
probe_usage(bool mon, const char *msg)
{
	if (mon) {
		printf("SMTP UNKNOWN - %s\n", msg);
		return MON_UNKNOWN;
	}
	cli_warn("%s", msg);
	return EX_USAGE_;
}

/* --starttls after the first EHLO: keep its capabilities, then upgrade
 * when STARTTLS is offered. */
static void
probe_tls_step(struct probe *p, int fd, struct smtp_session *s, uint64_t *pkt,
    const char *host, const char *ehlo_cmd)
{
	const struct sess_record *rec = smtp_record(s);

	p->pre_flags = rec->capflags;
	if (!(rec->capflags & CAPF(STARTTLS))) {
		p->tls_tried = true;
		snprintf(p->tls_what, sizeof(p->tls_what), "STARTTLS is not offered: "
		    "mail to this server travels in clear text");
		return;
	}
	(void)probe_starttls(p, fd, s, pkt, host, ehlo_cmd);
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
	struct sockaddr_storage ss, src;
	struct seen_reply quit;
	socklen_t sl, srclen = 0;
	char host[256], port[32], addr[INET6_ADDRSTRLEN + 8], err[512], msg[900];
	char me[256], cmd[300], bad[64];
	uint64_t pkt = 0;
	bool mon = o->require != NULL;
	int fd, code;

	memset(&p, 0, sizeof(p));
	p.o = o;
	p_timeout_ms = o->timeout_ms;
	if (mon && parse_require(o->require, &p.require, bad, sizeof(bad)) == -1) {
		snprintf(msg, sizeof(msg), "--require: '%s' is not an SMTP extension "
		    "smtpscope knows (8BITMIME, SMTPUTF8, CHUNKING, STARTTLS, SIZE, "
		    "PIPELINING, DSN, ...)", bad);
		return probe_usage(mon, msg);
	}
	if (probe_split(o->target, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(msg, sizeof(msg), "--probe: '%.200s' is not HOST or HOST:PORT",
		    o->target);
		return probe_usage(mon, msg);
	}
	if (strspn(port, "0123456789") == strlen(port)) {
		const char *e = NULL;

		(void)strtonum(port, 1, 65535, &e);
		if (e != NULL) {
			snprintf(msg, sizeof(msg), "--probe: port '%s' is not from 1 to "
			    "65535", port);
			return probe_usage(mon, msg);
		}
	} else if (getservbyname(port, "tcp") == NULL) {
		snprintf(msg, sizeof(msg), "--probe: '%s' is neither a port number nor "
		    "a TCP service name", port);
		return probe_usage(mon, msg);
	}
	if (o->ehlo != NULL && !ehlo_name_ok(o->ehlo)) {
		return probe_usage(mon, "--ehlo: the name must be 1 to 255 printable "
		    "characters without spaces");
	}
	memset(&src, 0, sizeof(src));
	if (o->source != NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;

		if (inet_pton(AF_INET, o->source, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			srclen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, o->source, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			srclen = sizeof(*s6);
		} else {
			return probe_usage(mon, "--probe-source: not an IPv4 or IPv6 "
			    "address");
		}
	}
	if (gethostname(me, sizeof(me)) == -1 || me[0] == '\0' || strchr(me, '.') == NULL)
		strlcpy(me, "smtpscope-probe.invalid", sizeof(me));
	p.ehlo_name = o->ehlo != NULL ? o->ehlo : me;
	if (o->json != NULL) {
		if (strcmp(o->json, "-") == 0)
			p.json = stdout;
		else if ((p.json = fopen(o->json, "w")) == NULL) {
			cli_warn("--json: cannot create '%s': %s", o->json, strerror(errno));
			return mon ? MON_UNKNOWN : EX_OUTPUT_;
		}
	}
	addr[0] = '\0';
	snprintf(p.target, sizeof(p.target), "%s port %s", host, port);
	if ((fd = probe_connect(host, port, o->source != NULL ? &src : NULL, srclen,
	    err, sizeof(err), addr, sizeof(addr))) == -1) {
		if (p.json != NULL && p.json != stdout)
			fclose(p.json);
		return probe_fail(&p, err);
	}
	if (strcmp(host, addr) != 0)
		snprintf(p.target, sizeof(p.target), "%s (%s) port %s", host, addr, port);

	memset(&sink, 0, sizeof(sink));
	sink.arg = &p;
	sink.session_end = probe_sink_end;
	ctx = smtp_ctx_new(o->limits, &sink);
	memset(&peers, 0, sizeof(peers));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		sockaddr_to_peer(&ss, peers.client_ip, &peers.client_port, &peers.family);
		export_fmt_addr(p.client, sizeof(p.client), peers.family, peers.client_ip,
		    peers.client_port);
	}
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_peer(&ss, peers.server_ip, &peers.server_port, &peers.family);
	peers.ts_us = p.t0_us = cli_wall_us();
	s = ctx != NULL ? smtp_session_new(ctx, &peers) : NULL;
	if (s == NULL) {
		cli_warn("out of memory");
		close(fd);
		return mon ? MON_UNKNOWN : EX_PROBE_;
	}
	if (!mon && p.json != stdout) {
		printf("probing %s\n", p.target);
		printf("as client %s, EHLO %s (a server may offer other extensions to "
		    "other clients or names: see --ehlo, --probe-source)\n", p.client,
		    p.ehlo_name);
	}
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", p.ehlo_name);
	p.rc = EX_OK_;
	if (o->implicit_tls && probe_handshake(&p, fd, host) == -1) {
		/* Implicit TLS (port 465): no greeting without the handshake. */
		p.greeting.code = 0;
		snprintf(msg, sizeof(msg), "%s: %.500s", p.target, p.tls_what);
		p.rc = probe_fail(&p, msg);
	} else if ((code = probe_reply(fd, s, &pkt, &p.greeting, err, sizeof(err))) == -1) {
		p.greeting.code = 0;
		snprintf(msg, sizeof(msg), "%s: no greeting: %s", p.target, err);
		p.rc = probe_fail(&p, msg);
	} else if (code / 100 != 2) {
		/* Refused at the greeting: a probe that found no service. */
		p.rc = mon ? EX_OK_ : EX_PROBE_;
		if (probe_send(fd, s, &pkt, "QUIT\r\n") == 0)
			(void)probe_reply(fd, s, &pkt, &quit, err, sizeof(err));
	} else if (probe_send(fd, s, &pkt, cmd) == -1 ||
	    probe_reply(fd, s, &pkt, &p.ehlo, err, sizeof(err)) == -1) {
		p.greeting.code = 0;
		snprintf(msg, sizeof(msg), "%s: after EHLO: %s", p.target, err);
		p.rc = probe_fail(&p, msg);
	} else {
		p.t1_us = cli_wall_us();
		if (o->starttls && !o->implicit_tls)
			probe_tls_step(&p, fd, s, &pkt, host, cmd);
		if (!p.tls_dead && probe_send(fd, s, &pkt, "QUIT\r\n") == 0)
			(void)probe_reply(fd, s, &pkt, &quit, err, sizeof(err));
	}
	if (p_ssl != NULL) {
		(void)SSL_shutdown(p_ssl);
		SSL_free(p_ssl);
		p_ssl = NULL;
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
	if (mon && p.status[0] != '\0') {
		printf("SMTP %s - %s\n", mon_word[p.mon], p.status);
		return p.rc == EX_OUTPUT_ ? MON_UNKNOWN : p.mon;
	}
	return p.rc;
}
