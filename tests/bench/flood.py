#!/usr/bin/python3
"""flood.py - a SYN flood to port 25 with real sessions inside it.

Writes a pcap of N half-open connections (a SYN from each of N distinct
sources, never answered: what every internet-facing mail gateway sees)
to two servers, with two complete SMTP sessions among them (one halfway
through the flood, one at its end) that smtpscope must still decode and
report.  Used by tests/t-flood.sh and tests/bench/flood.sh.

Deterministic: fixed addresses, ports, ISNs and timestamps (one SYN per
10 microseconds).  Our own code; standard library only.

With "greet", each flood connection is answered instead: SYN+ACK and a
220 greeting, then silence, so every flow carries a decoder session (the
benchmark's measure of memory per open session).

Usage: flood.py OUTPUT.pcap N [greet]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from minipcap import ACK, PSH, SYN, Session, frame  # noqa: E402

SERVERS = (bytes([198, 51, 100, 25]), bytes([198, 51, 100, 26]))
T0 = 1700000000


def real_session(cport):
    s = Session(bytes([192, 0, 2, 10]), cport, SERVERS[0], 25,
                cseq=7000 + cport, sseq=90000 + cport)
    s.handshake()
    s.s2c(PSH | ACK, b"220 mx.flood.example ESMTP\r\n")
    s.c2s(PSH | ACK, b"EHLO app.example\r\n")
    s.s2c(PSH | ACK, b"250-mx.flood.example\r\n250 PIPELINING\r\n")
    s.c2s(PSH | ACK, b"MAIL FROM:<a@app.example>\r\n")
    s.s2c(PSH | ACK, b"250 2.1.0 Ok\r\n")
    s.c2s(PSH | ACK, b"RCPT TO:<nobody@flood.example>\r\n")
    s.s2c(PSH | ACK, b"550 5.1.1 <nobody@flood.example>: User unknown\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 2.0.0 Bye\r\n")
    s.close()
    return s.frames


def flood_src(i):
    return bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF]), 1024 + i % 60000


def syn(i):
    """The SYN of flood connection i: source 10.a.b.c, port 1024 + i % 60000."""
    src, port = flood_src(i)
    return frame(src, SERVERS[i % 2], port, 25, 100000 + i, 0, SYN)


def greeted(i):
    """Flood connection i answered: handshake and a greeting, then silence."""
    src, port = flood_src(i)
    s = Session(src, port, SERVERS[i % 2], 25, cseq=100000 + i, sseq=500000 + i)
    s.handshake()
    s.s2c(PSH | ACK, b"220 mx.flood.example ESMTP\r\n")
    return s.frames


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["greet"]):
        sys.exit("usage: flood.py OUTPUT.pcap N [greet]")
    n = int(sys.argv[2])
    greet = sys.argv[3:] == ["greet"]
    ts = 0

    def put(f, p):
        nonlocal ts
        f.write(struct.pack("<IIII", T0 + ts // 1000000, ts % 1000000,
                            len(p), len(p)))
        f.write(p)
        ts += 10

    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            if i == n // 2:
                for p in real_session(40001):
                    put(f, p)
            for p in (greeted(i) if greet else [syn(i)]):
                put(f, p)
        for p in real_session(40002):
            put(f, p)


if __name__ == "__main__":
    main()
