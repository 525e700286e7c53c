/*
 * rules_tls.c - the STARTTLS, TLS and AUTH rules.
 *
 * STARTTLS refused, not used, failed or abused for injection; TLS
 * demanded by the server; AUTH refused, in cleartext or not offered.  What
 * follows a successful STARTTLS is encrypted and never seen: these rules
 * read only the cleartext part and the byte counts session.c kept.
 * Conditions, texts and evidence only: incident.c runs the rules.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rule_int.h"

bool
r_starttls_refused(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct xline *l;
	char b[200];
	bool offered;

	if (!r->starttls_cmd || r->starttls_reply_code == 0 ||
	    r->starttls_reply_code == 220)
		return false;
	claim_line(x, x->f->starttls_reply_seq);
	l = tr_find(x->s, x->f->starttls_reply_seq);
	sb_add(&fd->sum, "Server %s refused STARTTLS from client %s with %d.", peers(x)->server,
	    peers(x)->client, r->starttls_reply_code);
	sb_add(&fd->dia, "The reply was \"%s\" (RFC 3207 section 4). ",
	    l != NULL ? wire_str(&l->text, b, sizeof(b)) : "?");
	/* The fix depends on what the server said it could do. */
	offered = (r->capflags_ever & CAPF(STARTTLS)) != 0;
	if (!offered)
		sb_add(&fd->dia, "The server had not offered STARTTLS (it was not in the "
		    "EHLO reply%s), so the refusal is expected: the client asked for "
		    "TLS the server does not provide. ", x->f->ehlo_ok ? "" :
		    ", or no EHLO reply was seen");
	else if (r->starttls_reply_code == 454)
		sb_add(&fd->dia, "The server offered STARTTLS and then could not start "
		    "it: 454 usually means it cannot load its certificate or key, or "
		    "its TLS library failed. ");
	else
		sb_add(&fd->dia, "The server offered STARTTLS and then refused it. ");
	sb_add(&fd->dia, "%s", (x->f->cmds_ever & CMDB(MAIL)) ?
	    "The client then went on in cleartext." :
	    "The client did not send mail in this session.");
	if (offered)
		sb_add(&fd->fix, "Check the TLS configuration and logs of %s (certificate "
		    "and key files readable, matching, not expired), or stop offering "
		    "STARTTLS if TLS is not meant to work.", peers(x)->server);
	else
		sb_add(&fd->fix, "If mail to %s must be encrypted, enable TLS on it "
		    "(Postfix: smtpd_tls_security_level = may, with a certificate); "
		    "otherwise make the sender %s send STARTTLS only when it is "
		    "offered.", peers(x)->server, peers(x)->cip);
	ev_add(&fd->e, x->f->starttls_seq, 5);
	ev_add(&fd->e, x->f->starttls_reply_seq, 5);
	ev_add(&fd->e, x->s->rec.ntx > 0 ? x->s->txf[0].mail_seq : NOSEQ, 3);
	return true;
}

static bool
is_loopback(const struct sess_record *r)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (r->family == AF_INET6)
		return memcmp(r->client_ip, v6lo, 16) == 0 &&
		    memcmp(r->server_ip, v6lo, 16) == 0;
	return r->client_ip[0] == 127 && r->server_ip[0] == 127;
}

bool
r_starttls_not_used(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;

	if (r->starttls_cmd || (r->flags & SF_TLS) || is_loopback(r))
		return false;
	for (size_t i = 0; i < r->ntx; i++) {
		const struct tx_facts *tf = &x->s->txf[i];

		if (!(tf->caps_at_mail & CAPF(STARTTLS)))
			continue;
		sb_add(&fd->sum, "Client %s sent mail to %s in cleartext although the "
		    "server offered STARTTLS.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "The server offered STARTTLS (RFC 3207) and the client "
		    "went on to MAIL FROM without it: envelope and message crossed "
		    "the network unencrypted.");
		sb_add(&fd->fix, "Enable opportunistic TLS on the sender %s (Postfix: "
		    "smtp_tls_security_level = may; Exchange: TLS on the send "
		    "connector).", peers(x)->cip);
		evidence_hello(x, &fd->e);
		ev_add(&fd->e, tf->mail_seq, 5);
		return true;
	}
	return false;
}

/* "2026-12-03": the day of an epoch second, UTC. */
static const char *
fmt_day(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		(void)snprintf(buf, len, "unknown");
	return buf;
}

/* "TLS 1.0 to TLS 1.2", "TLS 1.2": the versions a ClientHello offered. */
static const char *
offered_versions(const struct tls_seen *t, char *buf, size_t len)
{
	const char *lo = tls_version_name(t->offered_min), *hi = tls_version_name(t->offered_max);

	if (!t->client_hello)
		(void)snprintf(buf, len, "(no ClientHello seen)");
	else if (t->offered_min == t->offered_max)
		(void)snprintf(buf, len, "%s", hi != NULL ? hi : "an unknown version");
	else
		(void)snprintf(buf, len, "%s to %s", lo != NULL ? lo : "?", hi != NULL ? hi : "?");
	return buf;
}

/* A fatal alert in cleartext ended the handshake: name it, its sender, and
 * the fix for that cause. */
static bool
handshake_alert(struct ictx *x, struct finding *fd)
{
	const struct tls_seen *t = &x->r->tls;
	const char *a = tls_alert_name(t->alert_desc);
	bool by_server = t->alert_from == XDIR_SERVER;
	const char *who = by_server ? peers(x)->server : peers(x)->client;
	const char *peer = by_server ? peers(x)->client : peers(x)->server;
	char vers[64], sni[140];

	sb_add(&fd->sum, "The TLS handshake between client %s and %s failed: the %s sent "
	    "the fatal alert %s (%u).", peers(x)->client, peers(x)->server, by_server ? "server" : "client",
	    a != NULL ? a : "unknown", t->alert_desc);
	sb_add(&fd->dia, "RFC 8446 section 6.2: %s ended the handshake with %s. The "
	    "client offered %s and %u cipher suites%s%s%s. ", who, a != NULL ? a : "an "
	    "alert this tool does not know", offered_versions(t, vers, sizeof(vers)),
	    t->nsuites, t->sni.p != NULL ? " (SNI " : "",
	    t->sni.p != NULL ? wire_str(&t->sni, sni, sizeof(sni)) : "",
	    t->sni.p != NULL ? ")" : "");
	switch (t->alert_desc) {
	case 70:	/* protocol_version */
		sb_add(&fd->dia, "No protocol version both sides allow.");
		sb_add(&fd->fix, "Allow a common version: TLS 1.2 or 1.3 on both (Postfix "
		    "smtp_tls_protocols / smtpd_tls_protocols, Exchange TLS settings); "
		    "a peer that offers only SSL 3.0 to TLS 1.1 needs an upgrade.");
		break;
	case 40:	/* handshake_failure */
	case 71:	/* insufficient_security */
		sb_add(&fd->dia, "No cipher suite or key-exchange group both sides accept.");
		sb_add(&fd->fix, "Compare the cipher lists of both sides (Postfix "
		    "tls_*_cipherlist, smtp_tls_mandatory_ciphers; openssl ciphers -v) "
		    "and enable a common modern suite (ECDHE with AES-GCM or "
		    "ChaCha20-Poly1305) on %s.", who);
		break;
	case 42: case 43: case 44: case 45: case 46: case 48:
		sb_add(&fd->dia, "%s refused the certificate %s presented (%s).", who, peer,
		    a != NULL ? a : "certificate problem");
		sb_add(&fd->fix, "Renew or fix the certificate chain of %s (expired, "
		    "self-signed or missing intermediate), or the CA store of %s.",
		    peer, who);
		break;
	case 116:	/* certificate_required */
		sb_add(&fd->dia, "The server requires a client certificate and got none.");
		sb_add(&fd->fix, "Configure a client certificate on %s, or stop requiring "
		    "one on %s for this client.", peers(x)->cip, peers(x)->server);
		break;
	case 112:	/* unrecognized_name */
		sb_add(&fd->dia, "The server knows no certificate for the name the client "
		    "asked for (SNI).");
		sb_add(&fd->fix, "Make the name the client connects to match a "
		    "certificate on %s, or have the client send the right SNI.", peers(x)->server);
		break;
	default:
		sb_add(&fd->fix, "Read the TLS logs of %s for why it sent %s, and compare "
		    "both TLS configurations.", who, a != NULL ? a : "this alert");
		break;
	}
	ev_add(&fd->e, x->f->starttls_seq, 4);
	ev_add(&fd->e, x->f->starttls_reply_seq, 4);
	ev_add(&fd->e, x->f->tls_alert_seq, 5);
	return true;
}

bool
r_starttls_handshake_failed(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;

	/* Decrypted records: the handshake succeeded. */
	if (!(r->flags & SF_TLS) || f->tls_decrypted)
		return false;
	if (f->plain_after_tls) {
		/* Cleartext commands after the 220: when the server answered
		 * them in cleartext too, the capture was decrypted (or taken
		 * behind a TLS proxy) and nothing failed; when it did not, the
		 * client never started TLS. */
		if (f->plain_replies > 0)
			return false;
		sb_add(&fd->sum, "Client %s did not start TLS after %s accepted STARTTLS: "
		    "it sent commands in cleartext.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "After 220 the client must send a TLS ClientHello, a "
		    "record starting 0x16 0x03 (RFC 3207 section 4.1); it sent SMTP "
		    "commands in cleartext, which the server did not answer: a client "
		    "or proxy that does not implement STARTTLS.");
	} else if (f->tls_c_bytes >= 2 && !(f->tls_c_first[0] == 0x16 && f->tls_c_first[1] == 0x03)) {
		bool text = f->tls_c_first[0] >= 0x20 && f->tls_c_first[0] < 0x7f;

		sb_add(&fd->sum, "Client %s did not start TLS after %s accepted STARTTLS: "
		    "its first bytes are %s.", peers(x)->client, peers(x)->server,
		    text ? "plaintext" : "not a TLS record");
		sb_add(&fd->dia, "After 220 the client must send a TLS ClientHello, a "
		    "record starting 0x16 0x03 (RFC 3207 section 4.1); it sent 0x%02x "
		    "0x%02x%s.", f->tls_c_first[0], f->tls_c_first[1],
		    text ? ", which looks like SMTP commands in cleartext: a client "
		    "or proxy that does not implement STARTTLS" : "");
	} else if (r->tls.alert && r->tls.alert_level == 2) {
		return handshake_alert(x, fd);
	} else if (f->tls_c_bytes == 0 && sess_closed(r)) {
		sb_add(&fd->sum, "Client %s closed the connection to %s right after STARTTLS "
		    "was accepted, without a TLS handshake.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "No TLS byte followed the 220 (RFC 3207 section 4.1): the "
		    "client's TLS library failed before the handshake, or a policy "
		    "made it give up.");
	} else if (f->tls_c_bytes > 0 && f->tls_s_bytes == 0 && sess_closed(r)) {
		fd->conf = CONF_PROBABLE;
		sb_add(&fd->sum, "The TLS handshake between client %s and %s failed: the "
		    "server never answered the client's hello.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "The client sent %llu bytes of TLS and the connection "
		    "closed before the server sent any: the server rejected the "
		    "ClientHello (no common protocol version or cipher) or its TLS "
		    "setup is broken.", (unsigned long long)f->tls_c_bytes);
	} else {
		return false;
	}
	sb_add(&fd->fix, "Check both TLS configurations (protocol versions, ciphers, "
	    "certificate) and the logs of %s for the handshake error; if a device "
	    "in the path intercepts STARTTLS, disable that.", peers(x)->server);
	ev_add(&fd->e, f->starttls_seq, 5);
	ev_add(&fd->e, f->starttls_reply_seq, 5);
	ev_add(&fd->e, f->starttls_reply_seq == NOSEQ ? NOSEQ : f->starttls_reply_seq + 1, 4);
	if (f->plain_after_tls)
		ev_add(&fd->e, f->plain_seq + 1, 5);	/* the first cleartext command */
	return true;
}

/* The client offered nothing newer than TLS 1.1 (RFC 8996 deprecates
 * TLS 1.0 and 1.1), and the handshake went on: the server accepted it.
 * When the handshake failed instead, starttls-handshake-failed explains it
 * and this stands back. */
bool
r_tls_version_obsolete(struct ictx *x, struct finding *fd)
{
	const struct tls_seen *t = &x->r->tls;
	char vers[64];

	if (!t->client_hello || t->offered_max > 0x0302)
		return false;
	sb_add(&fd->sum, "Client %s offered only %s to %s in its TLS handshake after "
	    "STARTTLS.", peers(x)->client, offered_versions(t, vers, sizeof(vers)), peers(x)->server);
	sb_add(&fd->dia, "RFC 8996 deprecates TLS 1.0 and 1.1 (and SSL 3.0 is long "
	    "broken); current MTAs and policies (MTA-STS, DANE deployments, "
	    "Microsoft 365 since 2022) refuse them, so this client's mail will "
	    "fail or fall back to cleartext elsewhere.");
	if (t->server_hello)
		sb_add(&fd->dia, " %s accepted %s.", peers(x)->server,
		    tls_version_name(t->version) != NULL ? tls_version_name(t->version) :
		    "it");
	sb_add(&fd->fix, "Upgrade the TLS library or settings of %s to offer TLS 1.2 "
	    "and 1.3 (on Windows, enable TLS 1.2 for SChannel; on old Exchange "
	    "or IIS SMTP, the .NET and SChannel TLS 1.2 updates); then disable "
	    "TLS 1.0 and 1.1 on %s.", peers(x)->cip, peers(x)->server);
	ev_add(&fd->e, x->f->starttls_seq, 4);
	ev_add(&fd->e, x->f->starttls_reply_seq, 5);
	ev_add(&fd->e, x->f->tls_hs_seq, 5);
	return true;
}

/* The client offered TLS 1.2 or newer and the server chose TLS 1.1 or
 * older: the server's TLS is what is obsolete.  (A client that offered
 * nothing newer is tls-version-obsolete's.) */
bool
r_tls_server_obsolete(struct ictx *x, struct finding *fd)
{
	const struct tls_seen *t = &x->r->tls;
	const char *chose = tls_version_name(t->version);
	char vers[64];

	if (!t->client_hello || !t->server_hello || t->offered_max <= 0x0302 ||
	    t->version > 0x0302 || chose == NULL)
		return false;
	sb_add(&fd->sum, "Server %s chose %s in its TLS handshake although client %s "
	    "offered %s.", peers(x)->server, chose, peers(x)->client,
	    offered_versions(t, vers, sizeof(vers)));
	sb_add(&fd->dia, "RFC 8996 deprecates TLS 1.0 and 1.1 (and SSL 3.0 is long "
	    "broken). A server that chooses one when the client offers TLS 1.2 "
	    "has nothing newer enabled: senders that require TLS 1.2 (MTA-STS "
	    "and DANE policies, Microsoft 365 since 2022, current OpenSSL at its "
	    "default security level) fail the handshake with it and defer, or "
	    "fall back to cleartext.");
	sb_add(&fd->fix, "Enable TLS 1.2 and 1.3 on %s (Windows: TLS 1.2 for SChannel "
	    "and the .NET strong-crypto settings; Domino 9 and older: the TLS 1.2 "
	    "fix packs; OpenSSL-based MTAs: a current library and a protocol "
	    "list without the old versions), then disable TLS 1.0 and 1.1.",
	    peers(x)->server);
	ev_add(&fd->e, x->f->starttls_seq, 4);
	ev_add(&fd->e, x->f->starttls_reply_seq, 5);
	ev_add(&fd->e, x->f->tls_hs_seq, 5);
	return true;
}

/* The server's certificate, read in cleartext (TLS 1.2 and older): out of
 * its validity window at the time of the session, or not covering the
 * name the client asked for (SNI) or, without SNI, the name the server
 * gives in its greeting. */
bool
r_tls_certificate(struct ictx *x, struct finding *fd)
{
	const struct tls_seen *t = &x->r->tls;
	int64_t now = (int64_t)(x->r->ts_start_us / 1000000);
	char host[256], a[300], b[300], nm[300], d1[16], d2[16];
	size_t hl;
	bool expired, early, mismatch;

	if (!t->cert)
		return false;
	if (t->sni.p != NULL && t->sni.len > 0) {
		hl = t->sni.len < sizeof(host) - 1 ? t->sni.len : sizeof(host) - 1;
		memcpy(host, t->sni.p, hl);
		host[hl] = '\0';
	} else {
		rec_banner_host(x->r, host, sizeof(host));
		hl = strlen(host);
	}
	expired = t->cert_not_after != 0 && now > t->cert_not_after;
	early = t->cert_not_before != 0 && now < t->cert_not_before;
	mismatch = hl > 0 && !tls_cert_match(t, host, hl);
	if (!expired && !early && !mismatch)
		return false;
	sb_add(&fd->sum, "The certificate of %s %s%s%s.", peers(x)->server,
	    expired ? "had expired" : early ? "was not yet valid" : "",
	    (expired || early) && mismatch ? " and " : "",
	    mismatch ? "does not cover the server's name" : "");
	sb_add(&fd->dia, "Certificate: subject %s, issuer %s%s, names %s, valid %s "
	    "to %s (RFC 5280).", wire_str(&t->cert_subject, a, sizeof(a)),
	    wire_str(&t->cert_issuer, b, sizeof(b)),
	    t->cert_self_signed ? " (self-signed)" : "",
	    t->cert_names.p != NULL ? wire_str(&t->cert_names, nm, sizeof(nm)) : "none",
	    fmt_day(t->cert_not_before, d1, sizeof(d1)), fmt_day(t->cert_not_after, d2,
	    sizeof(d2)));
	if (expired || early)
		sb_add(&fd->dia, " The session was on %s, outside that window.",
		    fmt_day(now, d1, sizeof(d1)));
	if (mismatch) {
		sb_add(&fd->dia, " It does not cover %s (%s; RFC 6125 section 6).",
		    wire_text(host, strlen(host), a, sizeof(a)),
		    t->sni.p != NULL ? "the name the client asked for" :
		    "the name in the greeting");
	}
	sb_add(&fd->dia, " Opportunistic STARTTLS senders deliver anyway; senders "
	    "that verify (DANE, MTA-STS, Exchange Online's TLS-required "
	    "connectors) defer or bounce.");
	sb_add(&fd->fix, "Install a current certificate on %s whose names include "
	    "the host name its MX record points to (and renew it before it "
	    "expires: certbot or the vendor's certificate management).", peers(x)->server);
	ev_add(&fd->e, x->f->starttls_reply_seq, 4);
	ev_add(&fd->e, x->f->tls_hs_seq, 5);
	return true;
}

bool
r_starttls_injection(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;

	if (f->inj_client_seq == NOSEQ && f->inj_server_bytes == 0)
		return false;
	if (f->inj_client_seq != NOSEQ) {
		sb_add(&fd->sum, "Client %s sent commands after STARTTLS in the same packet, "
		    "before %s answered.", peers(x)->client, peers(x)->server);
		sb_add(&fd->dia, "STARTTLS must end a pipelined group (RFC 3207 section 4.2, "
		    "RFC 2920 section 3.1). A server that buffers those bytes and runs "
		    "them inside the TLS session is open to command injection "
		    "(CVE-2011-0411 class); an attacker in the path can plant them. ");
	}
	if (f->inj_server_bytes > 0) {
		if (fd->sum.n == 0)
			sb_add(&fd->sum, "Server %s sent %llu bytes after accepting STARTTLS "
			    "from client %s, before the TLS handshake.", peers(x)->server,
			    (unsigned long long)f->inj_server_bytes, peers(x)->client);
		sb_add(&fd->dia, "After 220 Ready to start TLS the server must wait for the "
		    "client's handshake; %llu cleartext bytes came first. A "
		    "man-in-the-middle injecting responses that a vulnerable client "
		    "would read as coming from inside TLS looks like this.",
		    (unsigned long long)f->inj_server_bytes);
	}
	sb_add(&fd->fix, "Make sure %s discards buffered input when TLS starts (patched "
	    "MTA), and investigate the path between %s and %s for an intercepting "
	    "device.", peers(x)->server, peers(x)->cip, peers(x)->sip);
	ev_add(&fd->e, f->starttls_seq, 5);
	ev_add(&fd->e, f->inj_client_seq, 5);
	ev_add(&fd->e, f->starttls_reply_seq, 4);
	return true;
}

bool
r_tls_required(struct ictx *x, struct finding *fd)
{
	const struct sess_facts *f = x->f;
	const struct xline *l;
	char b[200];

	if (f->r530_seq == NOSEQ || (l = tr_find(x->s, f->r530_seq)) == NULL ||
	    !a_contains(l->text.p, l->text.len, "TLS"))
		return false;
	claim_line(x, f->r530_seq);
	sb_add(&fd->sum, "Server %s requires STARTTLS and refused client %s's "
	    "cleartext command with 530.", peers(x)->server, peers(x)->client);
	sb_add(&fd->dia, "The reply was \"%s\" (RFC 3207 section 4): the server's "
	    "policy demands TLS and the client %s.", wire_str(&l->text, b, sizeof(b)),
	    (x->r->capflags & CAPF(STARTTLS)) ? "did not use the STARTTLS it was "
	    "offered" : "was not even offered STARTTLS, so a middlebox may have "
	    "removed it");
	sb_add(&fd->fix, "Enable TLS on the sender %s (Postfix: smtp_tls_security_level "
	    "= may or encrypt), or relax the TLS requirement on %s for this client.",
	    peers(x)->cip, peers(x)->server);
	ev_add(&fd->e, f->r530_seq, 5);
	ev_add(&fd->e, f->r530_seq - 1, 4);
	evidence_hello(x, &fd->e);
	return true;
}

bool
r_auth_problem(struct ictx *x, struct finding *fd)
{
	const struct sess_record *r = x->r;
	const struct sess_facts *f = x->f;
	char m[80];
	bool failed = r->auth_reply_code == 535 || r->auth_reply_code == 534 ||
	    r->auth_reply_code == 538 || r->auth_reply_code == 454 ||
	    r->auth_reply_code == 504;
	bool required = f->r530_seq != NOSEQ && !line_claimed(x, f->r530_seq);

	if (!failed && !f->auth_cleartext && !f->auth_unoffered && !required)
		return false;
	if (failed)
		sb_add(&fd->sum, "Server %s refused AUTH %s from client %s with %d.",
		    peers(x)->server, wire_str(&r->auth_used, m, sizeof(m)), peers(x)->client,
		    r->auth_reply_code);
	else if (f->auth_cleartext)
		sb_add(&fd->sum, "Client %s authenticated to %s in cleartext although "
		    "STARTTLS was offered.", peers(x)->client, peers(x)->server);
	else if (f->auth_unoffered)
		sb_add(&fd->sum, "Client %s sent AUTH to %s, which had not offered AUTH.",
		    peers(x)->client, peers(x)->server);
	else
		sb_add(&fd->sum, "Server %s requires authentication from client %s (530).",
		    peers(x)->server, peers(x)->client);
	if (failed) {
		sb_add(&fd->dia, "RFC 4954: %s. ", r->auth_reply_code == 535 ?
		    "535 5.7.8 means the credentials were wrong (or the account is "
		    "locked)" : r->auth_reply_code == 534 ?
		    "534 5.7.9 means the mechanism is too weak for the server's policy" :
		    r->auth_reply_code == 538 ?
		    "538 5.7.11 means the mechanism needs an encrypted session" :
		    r->auth_reply_code == 504 ? "504 means the mechanism is not supported" :
		    "454 4.7.0 means a temporary authentication failure on the server");
		claim_line(x, f->auth_reply_seq);
	}
	if (f->auth_cleartext)
		sb_add(&fd->dia, "AUTH was sent before STARTTLS although STARTTLS was "
		    "offered: the credentials crossed the network readable (they are "
		    "masked in this transcript). ");
	if (f->auth_unoffered)
		sb_add(&fd->dia, "The EHLO reply had no AUTH keyword. ");
	if (required) {
		sb_add(&fd->dia, "The server answered 530: it wants authentication before "
		    "it accepts this mail. ");
		claim_line(x, f->r530_seq);
	}
	sb_add(&fd->fix, "Check the account and mechanism configured on the sender %s; "
	    "use STARTTLS before AUTH (Postfix: smtp_tls_security_level = encrypt "
	    "with smtp_sasl_auth_enable); on %s, offer AUTH only over TLS "
	    "(smtpd_tls_auth_only = yes).", peers(x)->cip, peers(x)->server);
	if (failed)
		fd->sev = SEV_ERROR;
	ev_add(&fd->e, f->auth_seq, 5);
	ev_add(&fd->e, f->auth_reply_seq, 5);
	ev_add(&fd->e, required ? f->r530_seq : NOSEQ, 5);
	evidence_hello(x, &fd->e);
	return true;
}
