#!/usr/bin/python3
"""mkseeds.py - the seed corpora of the fuzz targets, from pcaps/.

  seeds/packet/NAME   fuzz_packet.c: every classic pcap of a link type it
                      drives: the index of the link type in its links[], a
                      flags octet (0), then each frame as u16 length, u16
                      milliseconds since the previous frame, the frame;
  seeds/smtp/NAME     fuzz_smtp.c: the TCP payloads of every IPv4/Ethernet
                      capture with one session, in capture order, as
                      chunks (kind octet 0 client / 1 server, u16 length,
                      bytes);
  seeds/keylog/NAME   fuzz_keylog.c: the same for each capture with a key
                      log in pcaps/keys/, after the key log (u16: bit 15
                      late, bit 14 implicit TLS, 14 bits of length); and
                      NAME.late with the key log handed over late.

Deterministic, stdlib only.  Run it after adding captures to pcaps/.
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PCAPS = os.path.join(TOP, "pcaps")
LINKS = [1, 113, 276, 0, 108, 12, 14, 101, 228, 229]


def frames(data):
    """(link type, [(ms since previous, frame)]) of a classic pcap."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    dlt = struct.unpack_from(e + "I", data, 20)[0] & 0xffff
    out, off, prev = [], 24, None
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, off)
        t = sec * 1000 + (frac // (1000000 if nsec else 1000))
        out.append((0 if prev is None else max(0, min(0xffff, t - prev)),
                    data[off + 16:off + 16 + incl][:0xffff]))
        prev = t
        off += 16 + incl
    return dlt, out


def payloads(dlt, fr):
    """(0 client / 1 server, TCP payload) of an Ethernet IPv4 capture with
    one TCP session; None when it is anything else."""
    if dlt != 1:
        return None
    out, ports = [], set()
    for _, pkt in fr:
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00" or pkt[23] != 6:
            return None
        ihl = (pkt[14] & 15) * 4
        tot = struct.unpack_from(">H", pkt, 16)[0]
        tcp = 14 + ihl
        sport, dport = struct.unpack_from(">HH", pkt, tcp)
        ports.add(frozenset((sport, dport)))
        thl = (pkt[tcp + 12] >> 4) * 4
        body = pkt[tcp + thl:14 + tot]
        if body:
            out.append((1 if sport in (25, 465, 587, 2525) else 0, body))
    return out if len(ports) == 1 else None


def chunks(pl):
    return b"".join(struct.pack(">BH", d, len(b)) + b for d, b in pl)


def write(kind, name, data):
    d = os.path.join(HERE, "seeds", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for cap in sorted(glob.glob(os.path.join(PCAPS, "*.pcap"))):
        name = os.path.basename(cap)[:-5]
        dlt, fr = frames(open(cap, "rb").read())
        if dlt in LINKS and fr:
            write("packet", name, bytes([LINKS.index(dlt), 0]) + b"".join(
                struct.pack(">HH", len(p), d) + p for d, p in fr))
        pl = payloads(dlt, fr)
        if not pl:
            continue
        write("smtp", name, chunks(pl))
        keys = os.path.join(PCAPS, "keys", name + ".keys")
        if os.path.exists(keys):
            kl = open(keys, "rb").read()
            assert len(kl) < 0x4000
            implicit = 0x4000 if name.startswith("smtps") else 0
            for suffix, flag in (("", 0), (".late", 0x8000)):
                write("keylog", name + suffix,
                      struct.pack(">H", len(kl) | flag | implicit) + kl + chunks(pl))


if __name__ == "__main__":
    main()
