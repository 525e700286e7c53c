#!/usr/bin/python3
"""gen.py - write a large synthetic capture for the benchmark.

usage: gen.py OUT.pcap [SESSIONS] [NOISE_PERCENT] [--conc N] [--body MIN:MAX]
              [--lossy] [--truth FILE.json]

SESSIONS SMTP sessions (default 20000) over Ethernet/IPv4, --conc (default
64) open at a time and interleaved packet by packet, as on a busy gateway:
one in ten is the KB295734 abort (EHLO, RSET, QUIT), the others deliver a
message of --body octets (default 2-60 KiB) in full-size segments.
NOISE_PERCENT (default 50) adds non-SMTP TCP traffic (port 443) of that
percentage of the SMTP octets (100: half the capture is background, 900:
nine tenths), which smtpscope must skip at the cost of a header parse.  --lossy retransmits, reorders and loses packets (see damage()).
--truth writes what a correct reader must find: the number of SMTP
sessions, the incidents by type, the sessions with a hole, the packets and
octets of the file.  Checksums are left zero (offloaded), as on a capturing
host.  Deterministic for given arguments.
"""
import argparse
import json
import random
import struct
import sys

ETH = bytes.fromhex("020000000019" "02000000000a" "0800")
MSS = 1448


def ip4(a):
    return struct.pack("!I", a)


def pkt(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6,
                     0, ip4(src), ip4(dst))
    return ETH + ip + tcp


def smtp_story(rng, abort, body=(2048, 61440)):
    caps = [b"mx.example.test", b"PIPELINING", b"SIZE 52428800", b"ENHANCEDSTATUSCODES",
            b"DSN", b"CHUNKING"]
    if not abort:
        caps.insert(3, b"8BITMIME")
    ehlo = b"".join((b"250-" if i < len(caps) - 1 else b"250 ") + c + b"\r\n"
                    for i, c in enumerate(caps))
    st = [("s", b"220 mx.example.test ESMTP\r\n"), ("c", b"EHLO relay.example.test\r\n"),
          ("s", ehlo)]
    if abort:
        return st + [("c", b"RSET\r\n"), ("s", b"250 2.0.0 Ok\r\n"), ("c", b"QUIT\r\n"),
                     ("s", b"221 2.0.0 Bye\r\n")]
    n = rng.randrange(*body)
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    body = (b"From: a@example.test\r\nTo: b@example.test\r\nSubject: report\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + line * (n // len(line)) +
            b".\r\n")
    return st + [("c", b"MAIL FROM:<a@example.test> SIZE=%d\r\n" % len(body)),
                 ("s", b"250 2.1.0 Ok\r\n"), ("c", b"RCPT TO:<b@example.test>\r\n"),
                 ("s", b"250 2.1.5 Ok\r\n"), ("c", b"DATA\r\n"),
                 ("s", b"354 End data with <CR><LF>.<CR><LF>\r\n"), ("c", body),
                 ("s", b"250 2.0.0 Ok: queued\r\n"), ("c", b"QUIT\r\n"),
                 ("s", b"221 2.0.0 Bye\r\n")]


def session_packets(i, rng, abort, dport=25, story=None, body=(2048, 61440)):
    c, s = 0x0A000000 + ((i // 60000) << 16) + (i % 60000) + 1, 0xC0000219
    cp = 1024 + (i * 7919) % 60000
    cs, ss = rng.randrange(1 << 32), rng.randrange(1 << 32)
    out = [pkt(c, s, cp, dport, cs, 0, 0x02, b""), pkt(s, c, dport, cp, ss, cs + 1, 0x12, b""),
           pkt(c, s, cp, dport, cs + 1, ss + 1, 0x10, b"")]
    cs += 1
    ss += 1
    for d, data in (story if story is not None else smtp_story(rng, abort, body)):
        for off in range(0, len(data), MSS):
            seg = data[off:off + MSS]
            if d == "c":
                out.append(pkt(c, s, cp, dport, cs, ss, 0x18, seg))
                cs += len(seg)
                if (off // MSS) % 2 == 1 or off + MSS >= len(data):
                    out.append(pkt(s, c, dport, cp, ss, cs, 0x10, b""))
            else:
                out.append(pkt(s, c, dport, cp, ss, cs, 0x18, seg))
                ss += len(seg)
                out.append(pkt(c, s, cp, dport, cs, ss, 0x10, b""))
    out += [pkt(s, c, dport, cp, ss, cs, 0x11, b""), pkt(c, s, cp, dport, cs, ss + 1, 0x11, b""),
            pkt(s, c, dport, cp, ss + 1, cs + 1, 0x10, b"")]
    return out


def damage(rng, pkts, gap):
    """Retransmit, reorder and lose packets of one session, as a lossy
    link and a busy capturing host do: 2% of data segments are sent twice
    (the copy two to four packets later), 2% swap places with the next
    packet of the same direction, 1% of bare ACKs are never captured, and with GAP one body
    segment in the middle is never captured (a hole in the stream)."""
    data = [k for k, p in enumerate(pkts) if len(p) > 54 and k > 3]
    if gap and len(data) > 8:
        del pkts[data[len(data) // 2]]
    out = []
    for p in pkts:
        if len(p) == 54 and rng.random() < 0.01 and len(out) > 3:
            continue
        out.append(p)
    k = 3
    while k < len(out) - 5:
        r = rng.random()
        if r < 0.02 and len(out[k]) > 54:
            out.insert(k + rng.randrange(2, 5), out[k])
            k += 1
        elif r < 0.04 and out[k][26:34] == out[k + 1][26:34]:
            # Two segments of one direction overtake each other; never a
            # reply before its command, which no single tap can see.
            out[k], out[k + 1] = out[k + 1], out[k]
            k += 1
        k += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("sessions", nargs="?", type=int, default=20000)
    ap.add_argument("noise", nargs="?", type=int, default=50)
    ap.add_argument("--conc", type=int, default=64, help="sessions open at a time")
    ap.add_argument("--body", default="2048:61440", help="MIN:MAX body size in octets")
    ap.add_argument("--lossy", action="store_true",
                    help="retransmissions, reordering, lost ACKs, and a hole in 1 in 50 sessions")
    ap.add_argument("--truth", help="write the ground truth here as JSON")
    a = ap.parse_args()
    bmin, bmax = (int(x) for x in a.body.split(":"))
    rng = random.Random(1)
    t = 1767225600 * 1000000
    truth = {"sessions": a.sessions, "incidents": {}, "gap_sessions": 0, "packets": 0,
             "octets": 24}
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        active, nxt, smtp_bytes, noise_bytes = [], 0, 0, 0
        while nxt < a.sessions or active:
            while len(active) < a.conc and nxt < a.sessions:
                if a.noise and noise_bytes * 100 < smtp_bytes * a.noise:
                    blob = bytes(rng.getrandbits(8) for _ in range(64)) * 300
                    active.append(iter(session_packets(nxt + 1000000, rng, False, 443,
                                                       [("c", b"x"), ("s", blob)])))
                    noise_bytes += len(blob)
                    continue
                abort = nxt % 10 == 0
                p = session_packets(nxt, rng, abort, body=(bmin, bmax))
                if abort:
                    truth["incidents"]["8bitmime-abort"] = \
                        truth["incidents"].get("8bitmime-abort", 0) + 1
                if a.lossy:
                    gap = not abort and nxt % 50 == 1
                    p = damage(rng, p, gap)
                    truth["gap_sessions"] += gap
                smtp_bytes += sum(len(x) for x in p)
                active.append(iter(p))
                nxt += 1
            i = rng.randrange(len(active))
            frame = next(active[i], None)
            if frame is None:
                active[i] = active[-1]
                active.pop()
                continue
            t += 20
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)
            truth["packets"] += 1
            truth["octets"] += 16 + len(frame)
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump(truth, f, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
