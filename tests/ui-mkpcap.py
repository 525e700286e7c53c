#!/usr/bin/python3
"""ui-mkpcap.py - write a tiny capture whose SMTP greeting is hostile.

Used by tests/t-ui.sh: one complete IPv4 SMTP session (handshake, greeting,
EHLO, QUIT, FINs) whose 220 banner carries terminal escape sequences: an
OSC 0 title change, BEL, an erase-display CSI, an OSC 52 clipboard write
and a C1 CSI byte.  The UI must show all of it as escaped text.

Usage: ui-mkpcap.py OUTPUT.pcap
Our own code; standard library only.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from minipcap import ACK, PSH, Session, write  # noqa: E402

BANNER = (b"220 \x1b]0;pwned\x07\x1b[2J evil \x1b]52;c;cHduZWQ=\x07"
          b"\x9b31m mx.hostile.example ESMTP\r\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ui-mkpcap.py OUTPUT.pcap")
    s = Session(bytes([192, 0, 2, 66]), 40066, bytes([198, 51, 100, 66]), 25,
                cseq=1000, sseq=5000)
    s.handshake()
    s.s2c(PSH | ACK, BANNER)
    s.c2s(PSH | ACK, b"EHLO client.example\r\n")
    s.s2c(PSH | ACK, b"250-mx.hostile.example\r\n250 PIPELINING\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 2.0.0 bye\r\n")
    s.close()
    write(sys.argv[1], [s])


if __name__ == "__main__":
    main()
