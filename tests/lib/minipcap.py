"""minipcap.py - the smallest pcap writer the tests need: plain IPv4 TCP
over Ethernet with correct checksums and sequence numbers; no options, no
loss, no reordering.  Used by tests/ui-mkpcap.py and tests/mkpcap_formula.py.
Our own code; standard library only.
"""
import struct

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """One Ethernet/IPv4/TCP frame; src and dst are 4-byte addresses."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                     1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


class Session:
    """One TCP connection: c2s()/s2c() append frames and keep the sequence
    numbers; handshake() and close() do the SYNs and FINs."""

    def __init__(self, client, cport, server, sport, cseq=1000, sseq=50000):
        self.cl, self.cp, self.sv, self.sp = client, cport, server, sport
        self.cseq, self.sseq, self.frames = cseq, sseq, []

    def c2s(self, flags, data=b""):
        self.frames.append(frame(self.cl, self.sv, self.cp, self.sp, self.cseq,
                                 self.sseq if flags & ACK else 0, flags, data))
        self.cseq += len(data) + (1 if flags & (SYN | FIN) else 0)

    def s2c(self, flags, data=b""):
        self.frames.append(frame(self.sv, self.cl, self.sp, self.cp, self.sseq,
                                 self.cseq, flags, data))
        self.sseq += len(data) + (1 if flags & (SYN | FIN) else 0)

    def handshake(self):
        self.c2s(SYN)
        self.s2c(SYN | ACK)
        self.c2s(ACK)

    def close(self):
        self.s2c(FIN | ACK)
        self.c2s(FIN | ACK)
        self.s2c(ACK)


def write(path, sessions, t0=1700000000, step_us=10000):
    """Write each session's frames in turn, session n starting at t0 + n s."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, s in enumerate(sessions):
            for i, p in enumerate(s.frames):
                f.write(struct.pack("<IIII", t0 + n, i * step_us, len(p), len(p)))
                f.write(p)
