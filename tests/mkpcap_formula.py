#!/usr/bin/python3
"""mkpcap_formula.py - write a capture whose EHLO names are spreadsheet
formulas, for the CSV formula-injection check in tests/t-outputs.sh.

Each session is the KB295734 abort (greeting, EHLO, a 250 reply without
8BITMIME, RSET, QUIT, FINs), so each raises an 8bitmime-abort incident and
gets a row in a CSV report, whose "helo" column then starts with the
hostile text: "=cmd|' /C calc'!A0" and its "+", "-" and "@" variants (the
characters a spreadsheet takes as the start of a formula).  One client
address per session, one server.  The names are printed, one per line, so
the test compares against exactly what was written.

What it does not do: anything but plain IPv4 over Ethernet with correct
checksums and sequence numbers; no options, no loss, no reordering.

Usage: mkpcap_formula.py OUTPUT.pcap [HELO...]
  With HELO names, those (as bytes of the command line: UTF-8 for a test
  of non-ASCII names) replace the formulas.
Our own code; standard library only.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from minipcap import ACK, PSH, Session, write  # noqa: E402

SERVER = bytes([198, 51, 100, 25])
HELOS = [
    b"=cmd|' /C calc'!A0",
    b"+cmd|' /C calc'!A0",
    b"-cmd|' /C calc'!A0",
    b"@SUM(1+1)*cmd|' /C calc'!A0",
]


def session(client, cport, helo):
    """One aborting session."""
    s = Session(client, cport, SERVER, 25)
    s.handshake()
    s.s2c(PSH | ACK, b"220 mx.formula.example ESMTP\r\n")
    s.c2s(PSH | ACK, b"EHLO " + helo + b"\r\n")
    s.s2c(PSH | ACK, b"250-mx.formula.example\r\n250-PIPELINING\r\n"
          b"250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES\r\n")
    s.c2s(PSH | ACK, b"RSET\r\n")
    s.s2c(PSH | ACK, b"250 2.0.0 Ok\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 2.0.0 Bye\r\n")
    s.close()
    return s


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: mkpcap_formula.py OUTPUT.pcap [HELO...]")
    helos = [os.fsencode(a) for a in sys.argv[2:]] or HELOS
    write(sys.argv[1], [session(bytes([192, 0, 2, 10 + n]), 40000 + n, h)
                        for n, h in enumerate(helos)], step_us=1000)
    for helo in helos:
        sys.stdout.buffer.write(helo + b"\n")


if __name__ == "__main__":
    main()
