#!/usr/bin/python3
"""tlsclient.py - scripted SMTP-over-TLS clients for pcaps/make-tls-pcaps.sh.

Each scenario talks to one server of the private Postfix instance, either
with STARTTLS (RFC 3207) on port 25 or with implicit TLS (RFC 8314) on port
465, pins the TLS version and the cipher suite, and writes:

  KEYLOG            the session's secrets (ssl.SSLContext.keylog_filename:
                    the NSS key log format, as OpenSSL hands it to Python),
                    so that tshark can decrypt the capture;
  STEM.tls.c2s      the exact plaintext bytes the client wrote inside TLS
  STEM.tls.s2c      and read inside TLS, after the handshake, CRLFs kept
                    (for the failing handshakes nothing is written).

No smtplib (see smtpclient.py for why); the SMTP session (line and reply
reading, EHLO) and the message helpers are smtpclient.py's, so replies are
read and dot-stuffing is done the same way.  Certificates are not
verified (check_hostname False, CERT_NONE): the servers' certificates are
self-signed and one has expired on purpose; SNI is sent all the same.

TLS 1.2 suites are pinned with set_ciphers(); Python has no call for the
TLS 1.3 suites, so the client writes a small OPENSSL_CONF (a system_default
section with Ciphersuites = ...) and points OpenSSL at it before the ssl
module is first imported, then checks with get_ciphers() that exactly the
pinned TLS 1.3 suite is offered.  After the handshake the negotiated version
and suite are checked against the pin; a mismatch fails the run.

The keyupdate scenario needs SSL_key_update(), which Python does not wrap:
it is called through ctypes on the SSL object of the connection, after
checking that the pointer found really is this connection's (same file
descriptor, TLS 1.3, same cipher).

A scenario fails loudly (exit 1) when the server answers something its
story does not expect.  For the two handshake-failure scenarios, exit 0
means the handshake failed with the expected alert.

Usage: tlsclient.py SCENARIO SERVER BIND_ADDR BIND_PORT KEYLOG STEM
"""

import os
import select
import socket
import sys
import tempfile
import warnings

sys.dont_write_bytecode = True     # no __pycache__ in pcaps/clients/
import smtpclient
from smtpclient import Fail, data, message

ssl = None      # imported in main(), after OPENSSL_CONF is set

SENDER = b"sender@contoso.test"
RCPT = b"alice@fabrikam.test"


class Session(smtpclient.Session):
    """One SMTP connection, plain first, TLS after starttls(); every byte
    written or read inside TLS is also appended to the plaintext files."""

    def __init__(self, server, bind_addr, bind_port, port):
        super().__init__(server, bind_addr, bind_port, port)
        self.tls = None
        self.c2s = bytearray()
        self.s2c = bytearray()

    # --- bytes ---------------------------------------------------------------

    def send(self, data):
        if self.tls is not None:
            self.tls.sendall(data)
            self.c2s += data
        else:
            self.sock.sendall(data)

    def recv(self):
        if self.tls is not None:
            chunk = self.tls.recv(4096)
            self.s2c += chunk
        else:
            chunk = self.sock.recv(4096)
        return chunk

    # --- TLS -------------------------------------------------------------------

    def handshake(self, ctx, sni):
        """Wrap the connection; return None, or the SSLError of a failed
        handshake (the socket is then still open, for close_plain())."""
        if self.buf:
            raise Fail("server sent %r before the TLS handshake" % self.buf)
        tls = ctx.wrap_socket(self.sock, server_hostname=sni,
                              do_handshake_on_connect=False)
        self.sock = tls     # the plain socket object is detached now
        try:
            tls.do_handshake()
        except ssl.SSLError as e:
            return e
        self.tls = tls
        if tls.version() == "TLSv1.3":
            self.settle()
        return None

    def settle(self):
        """TLS 1.3: Postfix sends its NewSessionTicket after our Finished.
        Wait (up to 1 s) for it and read it, so that in every run it comes
        before our first command instead of racing with it.  Any data read
        with it (the greeting, in implicit TLS) is kept for reply()."""
        if not select.select([self.tls], [], [], 1.0)[0]:
            return
        self.tls.setblocking(False)
        try:
            chunk = self.tls.recv(4096)
        except ssl.SSLWantReadError:
            chunk = b""
        finally:
            self.tls.settimeout(30)
        self.s2c += chunk
        self.buf += chunk

    def starttls(self, ctx, sni):
        if b"STARTTLS" not in self.caps:
            raise Fail("server does not offer STARTTLS")
        self.cmd(b"STARTTLS", 220)
        return self.handshake(ctx, sni)

    def close(self):
        """After QUIT: read to the server's close_notify (TLS) and FIN, send
        our FIN.  No close_notify from the client: Postfix has closed its
        socket by then, and more data to it would only draw an RST."""
        try:
            if self.tls is not None:
                while True:
                    chunk = self.recv()
                    if not chunk:
                        break
                    raise Fail("server sent %r after QUIT" % chunk)
            self.close_plain()
        finally:
            self.sock.close()

    def close_plain(self):
        """Read the raw socket to EOF (bypassing TLS), then FIN."""
        while True:
            chunk = socket.socket.recv(self.sock, 4096)
            if not chunk:
                break
            if self.tls is not None:
                raise Fail("raw bytes after close_notify: %r" % chunk)
        self.sock.shutdown(socket.SHUT_WR)

    def key_update(self, requested):
        """SSL_key_update() on this connection; sent with the next write."""
        import ctypes
        lib = ctypes.CDLL(ssl._ssl.__file__)    # resolves into its libssl
        lib.SSL_get_fd.argtypes = [ctypes.c_void_p]
        lib.SSL_version.argtypes = [ctypes.c_void_p]
        lib.SSL_get_current_cipher.argtypes = [ctypes.c_void_p]
        lib.SSL_get_current_cipher.restype = ctypes.c_void_p
        lib.SSL_CIPHER_get_name.argtypes = [ctypes.c_void_p]
        lib.SSL_CIPHER_get_name.restype = ctypes.c_char_p
        lib.SSL_key_update.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.SSL_get_key_update_type.argtypes = [ctypes.c_void_p]
        # CPython's PySSLSocket: PyObject_HEAD, PyObject *Socket, SSL *ssl.
        obj = self.tls._sslobj
        off = ctypes.sizeof(ctypes.c_ssize_t) + 2 * ctypes.sizeof(ctypes.c_void_p)
        p = ctypes.c_void_p.from_address(id(obj) + off).value
        if (not p or lib.SSL_get_fd(p) != self.tls.fileno()
                or lib.SSL_version(p) != 0x0304
                or lib.SSL_CIPHER_get_name(lib.SSL_get_current_cipher(p)).decode()
                != self.tls.cipher()[0]):
            raise Fail("could not find this connection's SSL object")
        if lib.SSL_key_update(p, 1 if requested else 0) != 1:
            raise Fail("SSL_key_update failed")
        if lib.SSL_get_key_update_type(p) != (1 if requested else 0):
            raise Fail("SSL_key_update did not schedule the update")


# --- stories -----------------------------------------------------------------

def starttls(s, sc, ctx):
    """Greeting, EHLO, STARTTLS: the handshake's SSLError, or None."""
    s.reply(220)
    s.ehlo(sc["ehlo"])
    return s.starttls(ctx, sc["sni"])


def check_tls(s, sc, err):
    """The handshake succeeded, with the pinned version and suite."""
    if err:
        raise Fail("handshake failed: %s" % err)
    got = (s.tls.version(), s.tls.cipher()[0])
    want = (sc["version"], sc["suite"])
    if got != want:
        raise Fail("negotiated %s %s, wanted %s %s" % (got + want))


def transaction(s, sc, caps):
    """MAIL (BODY=8BITMIME for the 8-bit message), RCPT to alice, DATA."""
    mail = b"MAIL FROM:<" + SENDER + b">"
    if sc["msg"] == "msg-8bit.eml":
        if b"8BITMIME" not in caps:
            raise Fail("server does not offer 8BITMIME")
        mail += b" BODY=8BITMIME"
    s.cmd(mail, 250)
    s.cmd(b"RCPT TO:<" + RCPT + b">", 250)
    data(s, message(sc["msg"]))


def quit_session(s):
    """QUIT (221), then the orderly close."""
    s.cmd(b"QUIT", 221)
    s.close()


def deliver(s, sc, ctx):
    """STARTTLS, EHLO again, one message to alice, QUIT.  On port 465
    (implicit TLS) the handshake comes first, then greeting and EHLO."""
    implicit = sc["port"] == 465
    if implicit:
        check_tls(s, sc, s.handshake(ctx, sc["sni"]))
        s.reply(220)
    else:
        check_tls(s, sc, starttls(s, sc, ctx))
    caps = s.ehlo(sc["ehlo"])
    if b"STARTTLS" in caps:
        raise Fail("STARTTLS offered inside implicit TLS" if implicit
                   else "STARTTLS offered again inside TLS")
    transaction(s, sc, caps)
    quit_session(s)


def abort_8bitmime(s, sc, ctx):
    """KB295734 inside TLS: the EHLO reply after STARTTLS lacks 8BITMIME,
    the client holds an 8-bit message, so it says RSET and QUIT."""
    check_tls(s, sc, starttls(s, sc, ctx))
    if b"8BITMIME" in s.ehlo(sc["ehlo"]):
        raise Fail("server offers 8BITMIME: wrong server for this story")
    message(sc["msg"])      # the message it holds (8-bit), never sent
    s.cmd(b"RSET", 250)
    quit_session(s)


def handshake_fails(s, sc, ctx):
    """STARTTLS accepted, then the handshake fails with the expected alert."""
    err = starttls(s, sc, ctx)
    if err is None:
        raise Fail("the handshake succeeded (%s, %s): it should have failed"
                   % (s.tls.version(), s.tls.cipher()[0]))
    if sc["alert"] not in str(err):
        raise Fail("handshake failed, but not with %s: %s" % (sc["alert"], err))
    sys.stderr.write("tlsclient: handshake failed as expected: %s\n" % err)
    s.close_plain()
    s.sock.close()


def keyupdate(s, sc, ctx):
    """A TLS 1.3 delivery with KeyUpdates: one asking the server to update
    too (before MAIL), one not asking (before QUIT)."""
    check_tls(s, sc, starttls(s, sc, ctx))
    caps = s.ehlo(sc["ehlo"])
    s.key_update(requested=True)
    transaction(s, sc, caps)
    s.key_update(requested=False)
    quit_session(s)


# --- scenarios ---------------------------------------------------------------
# version: the one TLS version offered (min = max), as ssl.TLSVersion names
# it; suite: the one suite offered, OpenSSL's name (TLS 1.2: set_ciphers();
# TLS 1.3: Ciphersuites in OPENSSL_CONF).

def sc(story, version, suite, sni, ehlo, msg=None, port=25, **kw):
    d = dict(story=story, version=version, suite=suite, sni=sni,
             ehlo=ehlo, msg=msg, port=port)
    d.update(kw)
    return d


TLS = "tls.fabrikam.test"
# The plain deliveries to tls.fabrikam.test, one per version and suite:
# TLS 1.2 with the 8-bit message (BODY=8BITMIME), TLS 1.3 with the 7-bit one.
DELIVERIES = {
    ("TLSv1.2", "msg-8bit.eml"): {
        "tls12-aes128gcm": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "tls12-aes256gcm": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "tls12-chacha20": "ECDHE-ECDSA-CHACHA20-POLY1305",
    },
    ("TLSv1.3", "msg-7bit.eml"): {
        "tls13-aes128gcm": "TLS_AES_128_GCM_SHA256",
        "tls13-aes256gcm": "TLS_AES_256_GCM_SHA384",
        "tls13-chacha20": "TLS_CHACHA20_POLY1305_SHA256",
    },
}
SCENARIOS = {name: sc(deliver, version, suite, TLS, b"mail.contoso.test", msg)
             for (version, msg), suites in DELIVERIES.items()
             for name, suite in suites.items()}
SCENARIOS.update({
    "tls13-8bitmime-abort": sc(abort_8bitmime, "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                               "domino-tls.fabrikam.test",
                               b"iis-smtp.contoso.test", "msg-8bit.eml"),
    "tls12-expired-cert": sc(deliver, "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256",
                             "expired.fabrikam.test", b"mail.contoso.test",
                             "msg-8bit.eml"),
    # Only RSA-authenticated suites against an ECDSA-only server.
    "tls-no-shared-cipher": sc(handshake_fails, "TLSv1.2",
                               "ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256",
                               TLS, b"legacy.contoso.test",
                               alert="SSLV3_ALERT_HANDSHAKE_FAILURE"),
    # TLS 1.0 and 1.1 only; OpenSSL 3 needs security level 0 for them.
    "tls-bad-version": sc(handshake_fails, "TLSv1.1", "DEFAULT:@SECLEVEL=0",
                          TLS, b"legacy.contoso.test", minimum="TLSv1",
                          alert="TLSV1_ALERT_PROTOCOL_VERSION"),
    "smtps-tls13": sc(deliver, "TLSv1.3", "TLS_AES_256_GCM_SHA384",
                      "smtps.fabrikam.test", b"mail.contoso.test",
                      "msg-7bit.eml", port=465),
    "tls13-keyupdate": sc(keyupdate, "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                          TLS, b"mail.contoso.test", "msg-7bit.eml"),
})


def openssl_conf(s):
    """An OPENSSL_CONF replacing the system's: TLS 1.3 suites pinned."""
    fd, path = tempfile.mkstemp(prefix="tlsclient.", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write("openssl_conf = tlsclient_init\n"
                "[tlsclient_init]\n"
                "ssl_conf = tlsclient_ssl\n"
                "[tlsclient_ssl]\n"
                "system_default = tlsclient_default\n"
                "[tlsclient_default]\n")
        if s["version"] == "TLSv1.3":
            f.write("Ciphersuites = %s\n" % s["suite"])
    return path


def context(s):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():     # TLSv1 and TLSv1_1 are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = getattr(ssl.TLSVersion,
                                      s.get("minimum", s["version"]).replace(".", "_"))
        ctx.maximum_version = getattr(ssl.TLSVersion,
                                      s["version"].replace(".", "_"))
    if s["version"] == "TLSv1.3":
        tls13 = [c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.3"]
        if tls13 != [s["suite"]]:
            raise Fail("TLS 1.3 suites offered %r, not only %s (OPENSSL_CONF "
                       "not read?)" % (tls13, s["suite"]))
    else:
        ctx.set_ciphers(s["suite"])
    return ctx


def main(argv):
    global ssl
    if len(argv) != 7 or argv[1] not in SCENARIOS:
        sys.stderr.write("usage: tlsclient.py SCENARIO SERVER BIND_ADDR BIND_PORT "
                         "KEYLOG STEM\nscenarios: %s\n" % " ".join(SCENARIOS))
        return 2
    name, server, bind_addr, bind_port, keylog, stem = argv[1:]
    s = SCENARIOS[name]
    conf = openssl_conf(s)
    os.environ["OPENSSL_CONF"] = conf
    os.environ.pop("SSLKEYLOGFILE", None)
    try:
        import ssl as ssl_module    # OpenSSL reads its configuration now
        ssl = ssl_module
        for f in (keylog, stem + ".tls.c2s", stem + ".tls.s2c"):
            if os.path.exists(f):
                os.unlink(f)
        ctx = context(s)
        ctx.keylog_filename = keylog
        sess = Session(server, bind_addr, int(bind_port), s["port"])
        s["story"](sess, s, ctx)
        if sess.c2s or sess.s2c:
            with open(stem + ".tls.c2s", "wb") as f:
                f.write(sess.c2s)
            with open(stem + ".tls.s2c", "wb") as f:
                f.write(sess.s2c)
    except (Fail, OSError, ValueError) as e:
        sys.stderr.write("tlsclient %s: %s\n" % (name, e))
        return 1
    finally:
        os.unlink(conf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
