#!/usr/bin/python3
"""mkseeds-keylog.py - seeds for fuzz_keylog.c from the TLS captures.

For each pcaps/keys/NAME.keys with its pcaps/NAME.pcap (classic pcap,
Ethernet, IPv4, TCP, one session): the key log, then every TCP payload
as a chunk in capture order, in fuzz_keylog.c's format; a second seed
NAME.late has the key log handed over late.  Written into
tests/fuzz/seeds/keylog/.  Deterministic; stdlib only.
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "seeds", "keylog")


def payloads(path):
    data = open(path, "rb").read()
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 15) * 4
        tot = struct.unpack_from(">H", pkt, 16)[0]
        tcp = 14 + ihl
        sport = struct.unpack_from(">H", pkt, tcp)[0]
        thl = (pkt[tcp + 12] >> 4) * 4
        body = pkt[tcp + thl:14 + tot]
        if body:
            yield (1 if sport in (25, 465) else 0), body


def main():
    os.makedirs(OUT, exist_ok=True)
    for keys in sorted(glob.glob(os.path.join(TOP, "pcaps", "keys", "*.keys"))):
        name = os.path.basename(keys)[:-5]
        cap = os.path.join(TOP, "pcaps", name + ".pcap")
        if not os.path.exists(cap):
            continue
        kl = open(keys, "rb").read()
        chunks = b"".join(struct.pack(">BH", d, len(b)) + b for d, b in payloads(cap))
        implicit = 0x4000 if name.startswith("smtps") else 0
        assert len(kl) < 0x4000
        for suffix, flag in (("", 0), (".late", 0x8000)):
            with open(os.path.join(OUT, name + suffix), "wb") as f:
                f.write(struct.pack(">H", len(kl) | flag | implicit) + kl + chunks)


if __name__ == "__main__":
    main()
