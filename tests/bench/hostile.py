#!/usr/bin/python3
"""hostile.py - captures of hostile SMTP traffic, each between two real
sessions that must still be decoded (tests/t-hostile.sh, make bench-flood).

Modes (N scales each):
  longline N   a client line of N MiB with no line end, then the close
  contlines N  a reply of N continuation lines ("250-x") before its end
  bdat N       BDAT announcing a chunk of N GB, 1000 octets of it, a close
  pipeline N   N pipelined NOOPs in one flight, the server answering some
  overlap N    N TCP segments that overlap earlier ones with other bytes,
               and N IPv4 fragments that overlap with other bytes
  tiny N       N tiny sessions: handshake, greeting, QUIT, 221, close

The real sessions (before and after) are flood.py's: EHLO, MAIL, a RCPT
refused 550 5.1.1, QUIT.  Deterministic; our own code; stdlib only.

Usage: hostile.py OUTPUT.pcap MODE N
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minipcap import ACK, FIN, PSH, SYN, Session, csum, frame  # noqa: E402
from flood import SERVERS, T0, real_session  # noqa: E402

CLIENT = bytes([203, 0, 113, 7])
MSS = 1460


def hostile_session(cport):
    s = Session(CLIENT, cport, SERVERS[0], 25, cseq=3000, sseq=80000)
    s.handshake()
    s.s2c(PSH | ACK, b"220 mx.flood.example ESMTP\r\n")
    return s


def hello(cport, caps=b""):
    """A hostile session after its EHLO: the reply offers caps."""
    s = hostile_session(cport)
    s.c2s(PSH | ACK, b"EHLO x.example\r\n")
    s.s2c(PSH | ACK, (b"250-mx.flood.example\r\n250 " + caps if caps else
                      b"250 mx.flood.example") + b"\r\n")
    return s


def segments(send, data):
    for i in range(0, len(data), MSS):
        send(PSH | ACK, data[i:i + MSS])


def longline(n):
    s = hello(41001)
    segments(s.c2s, b"MAIL FROM:<" + b"a" * (n * 1024 * 1024))
    s.close()
    return s.frames


def contlines(n):
    s = hostile_session(41002)
    s.c2s(PSH | ACK, b"EHLO x.example\r\n")
    segments(s.s2c, b"250-x\r\n" * n + b"250 end\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 bye\r\n")
    s.close()
    return s.frames


def bdat(n):
    s = hello(41003, b"CHUNKING")
    s.c2s(PSH | ACK, b"MAIL FROM:<a@x.example>\r\n")
    s.s2c(PSH | ACK, b"250 ok\r\n")
    s.c2s(PSH | ACK, b"RCPT TO:<b@flood.example>\r\n")
    s.s2c(PSH | ACK, b"250 ok\r\n")
    s.c2s(PSH | ACK, b"BDAT %d LAST\r\n" % (n * 10 ** 9) + b"x" * 1000)
    s.close()
    return s.frames


def pipeline(n):
    s = hello(41004, b"PIPELINING")
    segments(s.c2s, b"NOOP\r\n" * n)
    segments(s.s2c, b"250 ok\r\n" * min(n, 1000))
    s.close()
    return s.frames


def overlap(n):
    s = hello(41005)
    for i in range(n):
        line = b"NOOP %08d\r\n" % i
        s.c2s(PSH | ACK, line)
        s.cseq -= len(line)	# the same bytes again, other content
        s.c2s(PSH | ACK, b"QUIT %08d\r\n" % i)
    s.close()
    frames = s.frames
    # IPv4 fragments: datagram id k in two fragments whose second overlaps
    # the first's last 8 octets with other bytes.
    src, dst = bytes([203, 0, 113, 8]), SERVERS[1]
    for k in range(n):
        payload = struct.pack("!HHIIBBHHH", 41006, 25, k, 0, 5 << 4, ACK, 65535, 0, 0) \
            + b"A" * 36
        for off, part in ((0, payload[:32]), (24, b"B" * 32)):
            mf = 0x2000 if off == 0 else 0
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), k & 0xffff,
                             mf | (off // 8), 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frames.append(b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" +
                          ip + part)
    return frames


def tiny(i):
    src = bytes([10, 9, (i >> 8) & 0xff, i & 0xff])
    s = Session(src, 1024 + (i >> 16) % 60000 + 0, SERVERS[i % 2], 25,
                cseq=1000 + i, sseq=90000 + i)
    s.cp = 1024 + (i % 60000)
    s.cl = bytes([10, 9 + (i >> 16) % 100, (i >> 8) & 0xff, i & 0xff])
    s.handshake()
    s.s2c(PSH | ACK, b"220 mx ESMTP\r\n")
    s.c2s(PSH | ACK, b"QUIT\r\n")
    s.s2c(PSH | ACK, b"221 bye\r\n")
    s.close()
    return s.frames


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mode, n = sys.argv[2], int(sys.argv[3])
    ts = 0

    def put(f, p):
        nonlocal ts
        f.write(struct.pack("<IIII", T0 + ts // 1000000, ts % 1000000, len(p), len(p)))
        f.write(p)
        ts += 10

    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for p in real_session(40001):
            put(f, p)
        if mode == "tiny":
            for i in range(n):
                for p in tiny(i):
                    put(f, p)
        else:
            gen = {"longline": longline, "contlines": contlines, "bdat": bdat,
                   "pipeline": pipeline, "overlap": overlap}.get(mode)
            if gen is None:
                sys.exit("hostile.py: unknown mode " + mode)
            for p in gen(n):
                put(f, p)
        for p in real_session(40002):
            put(f, p)


if __name__ == "__main__":
    main()
