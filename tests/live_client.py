#!/usr/bin/python3
"""live_client.py - run one scripted SMTP client against a test server.

Used by tests/t-live.sh and tests/t-outputs.sh while smtpscope captures
live on lo.  The scenarios that also made the checked-in captures come
from pcaps/clients/smtpclient.py (imported, so both always send the same
bytes): "iis-abort" (EHLO, RSET, QUIT after an EHLO reply without
8BITMIME; the KB295734 story) and "8bit-ok" (a clean delivery with
BODY=8BITMIME).  One scenario is only needed here: "hold" connects, reads
the greeting, says EHLO and then keeps the session open until it is killed,
so that the session is still open when smtpscope is stopped.

The client binds to BIND_ADDR on an ephemeral port and, once connected,
prints "local ADDR PORT" on standard output, so the test knows the exact
endpoints to look for.  "hold" also prints "ready" after the EHLO reply.

What it does not do: retry, or decide anything about smtpscope; it fails
(exit 1, message on stderr) when the server does not behave as the story
needs, so a broken server setup shows up as a client failure, not as a
wrong capture.

Usage: live_client.py SCENARIO SERVER PORT BIND_ADDR
Our own code; standard library only.
"""
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pcaps", "clients"))
import smtpclient  # noqa: E402  (pcaps/clients/smtpclient.py)


def hold(s):
    """Greeting, EHLO, then nothing: the session stays open."""
    s.reply(220)
    s.ehlo(b"holder.contoso.test")
    print("ready", flush=True)
    signal.pause()


SCENARIOS = {
    "iis-abort": smtpclient.iis_abort,
    "8bit-ok": smtpclient.bit8_ok,
    "hold": hold,
}


def main(argv):
    if len(argv) != 5 or argv[1] not in SCENARIOS:
        sys.stderr.write("usage: live_client.py SCENARIO SERVER PORT BIND_ADDR\n"
                         "scenarios: %s\n" % " ".join(sorted(SCENARIOS)))
        return 2
    try:
        s = smtpclient.Session(argv[2], argv[4], 0, port=int(argv[3]))
        addr, port = s.sock.getsockname()[:2]
        print("local %s %d" % (addr, port), flush=True)
        SCENARIOS[argv[1]](s)
    except (smtpclient.Fail, OSError, ValueError) as e:
        sys.stderr.write("live_client %s: %s\n" % (argv[1], e))
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sys.exit(main(sys.argv))
