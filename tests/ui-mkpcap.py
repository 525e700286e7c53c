#!/usr/bin/python3
"""ui-mkpcap.py - write a tiny capture whose SMTP greeting is hostile.

Used by tests/t-ui.sh: one complete IPv4 SMTP session (handshake, greeting,
EHLO, QUIT, FINs) whose 220 banner carries terminal escape sequences: an
OSC 0 title change, BEL, an erase-display CSI, an OSC 52 clipboard write
and a C1 CSI byte.  The UI must show all of it as escaped text.

With --utf8, the banner is UTF-8 instead: characters a UTF-8 terminal
shows as themselves (an accented letter, a double-width CJK ideograph)
beside ones it must not (the C1 CSI encoded as UTF-8, a right-to-left
override, a byte that is not UTF-8).

Usage: ui-mkpcap.py [--utf8] OUTPUT.pcap
Our own code; standard library only.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from minipcap import ACK, PSH, Session, write  # noqa: E402

BANNER = (b"220 \x1b]0;pwned\x07\x1b[2J evil \x1b]52;c;cHduZWQ=\x07"
          b"\x9b31m mx.hostile.example ESMTP\r\n")

BANNER_UTF8 = ("220 mx.h\u00f4te.example ESMTP \u4e2d\u6587 ".encode() +
               b"csi\xc2\x9b31m rlo\xe2\x80\xaeevil bad\xff end\r\n")


def main():
    args = sys.argv[1:]
    banner = BANNER
    if args[:1] == ["--utf8"]:
        banner = BANNER_UTF8
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: ui-mkpcap.py [--utf8] OUTPUT.pcap")
    s = Session(bytes([192, 0, 2, 66]), 40066, bytes([198, 51, 100, 66]), 25,
                cseq=1000, sseq=5000)
    s.handshake()
    s.s2c(PSH | ACK, banner)
    s.c2s(PSH | ACK, b"EHLO client.example\r\n")
    s.s2c(PSH | ACK, b"250-mx.hostile.example\r\n250 PIPELINING\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 2.0.0 bye\r\n")
    s.close()
    write(args[0], [s])


if __name__ == "__main__":
    main()
