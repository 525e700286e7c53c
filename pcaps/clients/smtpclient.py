#!/usr/bin/python3
"""smtpclient.py - scripted SMTP clients for the captures in pcaps/.

Each scenario is a small function that talks to one server over a plain
socket and behaves exactly as the story of its capture needs: the IIS-style
abort after an EHLO reply without 8BITMIME, BODY=8BITMIME to a server that
did not offer it, BDAT chunks, SMTPUTF8 addresses, a reset in the middle of
DATA, and so on.  smtplib is not used on purpose: it lowercases verbs, adds
SIZE= by itself and cannot send BDAT or half a message, and the captures
must show precisely the bytes written here.

What it does not do: retries, TLS (swaks covers STARTTLS), or any check of
the server beyond what a scenario needs to decide its next command.  A
scenario fails loudly (exit 1) when the server answers something the story
does not expect, so a broken server setup never produces a quiet, wrong
capture.

Usage: smtpclient.py SCENARIO SERVER BIND_ADDR BIND_PORT
"""

import fcntl
import os
import select
import socket
import struct
import sys
import termios

HERE = os.path.dirname(os.path.abspath(__file__))


def message(name):
    """A fixed message from pcaps/clients/, already CRLF-terminated."""
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def dot_stuff(body):
    """RFC 5321 4.5.2: a line starting with '.' gets one more '.'."""
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


class Fail(Exception):
    pass


class Session:
    """One SMTP connection with reply reading; bytes are sent exactly as given.
    tlsclient.py's Session is this one with send() and recv() through TLS."""

    def __init__(self, server, bind_addr, bind_port, port=25):
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # One write per command: Nagle would merge some of them and make the
        # packet layout depend on timing.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(30)
        self.sock.bind((bind_addr, bind_port))
        self.sock.connect((server, port))
        self.buf = b""
        self.caps = []

    def send(self, data):
        self.sock.sendall(data)

    def recv(self):
        return self.sock.recv(4096)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.recv()
            if not chunk:
                raise Fail("server closed the connection")
            self.buf += chunk
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def reply(self, expect=None):
        """Read one (possibly multi-line) reply; check its code if asked."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3:4] != b"-":
                break
        code = int(lines[0][:3])
        if expect is not None and code != expect:
            raise Fail("expected %d, got %r" % (expect, lines))
        return code, lines

    def cmd(self, text, expect=None):
        self.send(text + b"\r\n")
        return self.reply(expect)

    def ehlo(self, name):
        code, lines = self.cmd(b"EHLO " + name, 250)
        self.caps = [l[4:].split(b" ")[0].upper() for l in lines[1:]]
        return self.caps

    def close(self):
        """Orderly close: FIN, then wait for the server's FIN."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            while self.sock.recv(4096):
                pass
        finally:
            self.sock.close()

    def abort(self):
        """Abortive close: SO_LINGER with a zero timeout sends RST at once.
        Unsent bytes would be thrown away, so first wait (bounded) until the
        server has acknowledged everything written."""
        for _ in range(1000):
            if struct.unpack("i", fcntl.ioctl(self.sock, termios.TIOCOUTQ,
                                              b"\0\0\0\0"))[0] == 0:
                break
            select.select([], [], [], 0.005)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.sock.close()


def data(s, body):
    s.cmd(b"DATA", 354)
    s.send(dot_stuff(body) + b".\r\n")
    return s.reply(250)


# --- scenarios ------------------------------------------------------------

def iis_abort(s):
    """KB295734: IIS SMTP holds an 8-bit MIME message; the Domino server does
    not offer 8BITMIME, so IIS resets and quits (and later bounces an NDR)."""
    s.reply(220)
    caps = s.ehlo(b"iis-smtp.contoso.test")
    if b"8BITMIME" in caps:
        raise Fail("server offers 8BITMIME: wrong server for this story")
    s.cmd(b"RSET", 250)
    s.cmd(b"QUIT", 221)
    s.close()


def bit8_ok(s):
    """Clean 8-bit delivery: 8BITMIME offered, BODY=8BITMIME declared."""
    s.reply(220)
    if b"8BITMIME" not in s.ehlo(b"iis-smtp.contoso.test"):
        raise Fail("server does not offer 8BITMIME")
    s.cmd(b"MAIL FROM:<newsletter@contoso.test> BODY=8BITMIME", 250)
    s.cmd(b"RCPT TO:<bob@northwind.test>", 250)
    data(s, message("msg-8bit.eml"))
    s.cmd(b"QUIT", 221)
    s.close()


def bit8_unoffered(s):
    """BODY=8BITMIME and 8-bit content to a server that did not offer it."""
    s.reply(220)
    if b"8BITMIME" in s.ehlo(b"relay.contoso.test"):
        raise Fail("server offers 8BITMIME: wrong server for this story")
    s.cmd(b"MAIL FROM:<newsletter@contoso.test> BODY=8BITMIME", 250)
    s.cmd(b"RCPT TO:<bob@northwind.test>", 250)
    data(s, message("msg-8bit.eml"))
    s.cmd(b"QUIT", 221)
    s.close()


def bit8_undeclared(s):
    """8-bit content without BODY=8BITMIME, to a server that offers it."""
    s.reply(220)
    s.ehlo(b"legacy-app.contoso.test")
    s.cmd(b"MAIL FROM:<newsletter@contoso.test>", 250)
    s.cmd(b"RCPT TO:<bob@northwind.test>", 250)
    data(s, message("msg-8bit.eml"))
    s.cmd(b"QUIT", 221)
    s.close()


def bdat(s):
    """RFC 3030 CHUNKING: the message in three BDAT chunks, the last with LAST.
    Chunk boundaries fall inside lines on purpose."""
    s.reply(220)
    if b"CHUNKING" not in s.ehlo(b"chunky.contoso.test"):
        raise Fail("server does not offer CHUNKING")
    s.cmd(b"MAIL FROM:<sender@contoso.test>", 250)
    s.cmd(b"RCPT TO:<carol@northwind.test>", 250)
    body = message("msg-7bit.eml")    # BDAT: no dot-stuffing, no end marker
    cuts = [0, 100, 300, len(body)]
    for i in range(3):
        chunk = body[cuts[i]:cuts[i + 1]]
        last = b" LAST" if i == 2 else b""
        s.send(b"BDAT %d%s\r\n" % (len(chunk), last) + chunk)
        s.reply(250)
    s.cmd(b"QUIT", 221)
    s.close()


def smtputf8(s):
    """RFC 6531: UTF-8 envelope addresses with the SMTPUTF8 parameter."""
    s.reply(220)
    if b"SMTPUTF8" not in s.ehlo(b"mail.contoso.test"):
        raise Fail("server does not offer SMTPUTF8")
    s.cmd("MAIL FROM:<rené@contoso.test> SMTPUTF8 BODY=8BITMIME".encode(), 250)
    s.cmd("RCPT TO:<josé@northwind.test>".encode(), 250)
    data(s, message("msg-utf8.eml"))
    s.cmd(b"QUIT", 221)
    s.close()


def probe(s):
    """A monitoring probe: greeting, EHLO, QUIT.  Not an incident."""
    s.reply(220)
    s.ehlo(b"monitor.northwind.test")
    s.cmd(b"QUIT", 221)
    s.close()


def rset_after_mail(s):
    """An address verifier: MAIL, RCPT, then RSET and QUIT.  MAIL was sent,
    so this is no 8bitmime-abort even though 8BITMIME is not offered."""
    s.reply(220)
    s.ehlo(b"verify.contoso.test")
    s.cmd(b"MAIL FROM:<>", 250)
    s.cmd(b"RCPT TO:<alice@northwind.test>", 250)
    s.cmd(b"RSET", 250)
    s.cmd(b"QUIT", 221)
    s.close()


def rcpt_errors(s):
    """One recipient accepted, one unknown (550 5.1.1), one greylisted
    (450 4.2.0); the message goes to the accepted one."""
    s.reply(220)
    s.ehlo(b"app.contoso.test")
    s.cmd(b"MAIL FROM:<sender@contoso.test>", 250)
    s.cmd(b"RCPT TO:<alice@northwind.test>", 250)
    s.cmd(b"RCPT TO:<nobody@northwind.test>", 550)
    s.cmd(b"RCPT TO:<greylist@northwind.test>", 450)
    data(s, message("msg-7bit.eml"))
    s.cmd(b"QUIT", 221)
    s.close()


def mail_deferred(s):
    """The sender is deferred at MAIL (451 4.3.0); the client gives up."""
    s.reply(220)
    s.ehlo(b"app.contoso.test")
    s.cmd(b"MAIL FROM:<slowpoke@contoso.test>", 451)
    s.cmd(b"QUIT", 221)
    s.close()


def reset_mid_data(s):
    """The client dies in the middle of the message: part of the content,
    then RST (SO_LINGER 0).  The server never sees the end marker."""
    s.reply(220)
    s.ehlo(b"crashy.contoso.test")
    s.cmd(b"MAIL FROM:<sender@contoso.test>", 250)
    s.cmd(b"RCPT TO:<alice@northwind.test>", 250)
    s.cmd(b"DATA", 354)
    body = dot_stuff(message("msg-7bit.eml"))
    s.send(body[:200])
    s.abort()


def auth_unoffered(s):
    """AUTH PLAIN to a server that offers no AUTH: 503 5.5.1.  The
    credentials are dummies (user "demo", password "not-a-secret")."""
    s.reply(220)
    caps = s.ehlo(b"app.contoso.test")
    if b"AUTH" in caps:
        raise Fail("server offers AUTH: wrong server for this story")
    s.cmd(b"AUTH PLAIN AGRlbW8Abm90LWEtc2VjcmV0", 503)
    s.cmd(b"QUIT", 221)
    s.close()


def pipelining_unoffered(s):
    """MAIL, RCPT and DATA in one write to a server that did not offer
    PIPELINING (RFC 2920 3.1 violation); then the rest of the session."""
    s.reply(220)
    if b"PIPELINING" in s.ehlo(b"eager.contoso.test"):
        raise Fail("server offers PIPELINING: wrong server for this story")
    s.send(b"MAIL FROM:<sender@contoso.test>\r\n"
           b"RCPT TO:<alice@northwind.test>\r\n"
           b"DATA\r\n")
    s.reply(250)
    s.reply(250)
    s.reply(354)
    s.send(dot_stuff(message("msg-7bit.eml")) + b".\r\n")
    s.reply(250)
    s.cmd(b"QUIT", 221)
    s.close()


SCENARIOS = {
    "iis-abort": iis_abort,
    "8bit-ok": bit8_ok,
    "8bit-unoffered": bit8_unoffered,
    "8bit-undeclared": bit8_undeclared,
    "bdat": bdat,
    "smtputf8": smtputf8,
    "probe": probe,
    "rset-after-mail": rset_after_mail,
    "rcpt-errors": rcpt_errors,
    "mail-deferred": mail_deferred,
    "reset-mid-data": reset_mid_data,
    "auth-unoffered": auth_unoffered,
    "pipelining-unoffered": pipelining_unoffered,
}


def main(argv):
    if len(argv) != 5 or argv[1] not in SCENARIOS:
        sys.stderr.write("usage: smtpclient.py SCENARIO SERVER BIND_ADDR BIND_PORT\n"
                         "scenarios: %s\n" % " ".join(sorted(SCENARIOS)))
        return 2
    try:
        s = Session(argv[2], argv[3], int(argv[4]))
        SCENARIOS[argv[1]](s)
    except (Fail, OSError, ValueError) as e:
        sys.stderr.write("smtpclient %s: %s\n" % (argv[1], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
