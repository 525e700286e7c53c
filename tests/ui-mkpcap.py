#!/usr/bin/python3
"""ui-mkpcap.py - write a tiny capture whose SMTP greeting is hostile.

Used by tests/t-ui.sh: one complete IPv4 SMTP session (handshake, greeting,
EHLO, QUIT, FINs) whose 220 banner carries terminal escape sequences: an
OSC 0 title change, BEL, an erase-display CSI, an OSC 52 clipboard write
and a C1 CSI byte.  The UI must show all of it as escaped text.

Usage: ui-mkpcap.py OUTPUT.pcap
Our own code; standard library only.
"""
import struct
import sys

CLIENT = bytes([192, 0, 2, 66])
SERVER = bytes([198, 51, 100, 66])
CPORT, SPORT = 40066, 25

BANNER = (b"220 \x1b]0;pwned\x07\x1b[2J evil \x1b]52;c;cHduZWQ=\x07"
          b"\x9b31m mx.hostile.example ESMTP\r\n")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ui-mkpcap.py OUTPUT.pcap")
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    cseq, sseq = 1000, 5000
    pkts = []

    def c2s(flags, data=b""):
        nonlocal cseq
        pkts.append(packet(CLIENT, SERVER, CPORT, SPORT, cseq, sseq, flags, data))
        cseq += len(data) + (1 if flags & (SYN | FIN) else 0)

    def s2c(flags, data=b""):
        nonlocal sseq
        pkts.append(packet(SERVER, CLIENT, SPORT, CPORT, sseq, cseq, flags, data))
        sseq += len(data) + (1 if flags & (SYN | FIN) else 0)

    pkts.append(packet(CLIENT, SERVER, CPORT, SPORT, cseq, 0, SYN))
    cseq += 1
    s2c(SYN | ACK)
    c2s(ACK)
    s2c(PSH | ACK, BANNER)
    c2s(PSH | ACK, b"EHLO client.example\r\n")
    s2c(PSH | ACK, b"250-mx.hostile.example\r\n250 PIPELINING\r\n")
    c2s(PSH | ACK, b"QUIT\r\n")
    s2c(PSH | ACK, b"221 2.0.0 bye\r\n")
    s2c(FIN | ACK)
    c2s(FIN | ACK)
    s2c(ACK)

    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1700000000
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", t, i * 10000, len(p), len(p)))
            f.write(p)


if __name__ == "__main__":
    main()
