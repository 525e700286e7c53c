#!/usr/bin/python3
"""make-synthetic.py - synthetic captures for the capture layer's edge cases.

Writes pcap and pcapng files byte by byte (struct only, no libraries) into
pcaps/, each holding a short SMTP exchange so that both the reassembler and
the SMTP decoder see something real: every link type smtpscope reads, IP
fragments (IPv4 out of order, IPv6 behind extension headers), TCP out of
order, retransmitted, overlapping with different bytes, with a gap, with
sequence numbers wrapping, joined mid-stream, one-sided (either side), reset in DATA, and
damaged files (cut short, not a capture, unsupported link type, short
snaplen).  Next to the captures it writes pcaps/expected/: for each flow the
exact client-to-server (.c2s) and server-to-client (.s2c) bytes a correct
reassembler delivers, and flows.tsv describing every flow (addresses,
lengths, gaps, how it ends).

The expected streams are derived from the story each capture tells (the
SMTP lines written below), not by reassembling the packets again, so the
two are independent: a reassembler bug cannot hide in its own expectations.

Deterministic: fixed timestamps, addresses, ports, ISNs and IP ids; running
it twice gives byte-identical files.  What it deliberately does not do:
random fuzzing (tests/fuzz does that) or anything a real stack would never
send apart from the damage each file is named after.

Usage: make-synthetic.py [OUTDIR]     (default: the directory of this script)
"""

import os
import struct
import sys

# --- constants ------------------------------------------------------------

BASE_TS_US = 1717406100 * 1000000     # 2024-06-03 09:15:00 UTC
STEP_US = 1000                         # one millisecond between packets

C4, S4 = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 25])
C6 = bytes.fromhex("20010db8000000000000000000000010")
S6 = bytes.fromhex("20010db8000000000000000000000025")
CMAC, SMAC = bytes.fromhex("02000000000a"), bytes.fromhex("020000000019")

SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04

LINKTYPE_NULL, LINKTYPE_EN10MB, LINKTYPE_RAW = 0, 1, 101
LINKTYPE_IEEE802_11, LINKTYPE_LOOP, LINKTYPE_SLL = 105, 108, 113
LINKTYPE_IPV4, LINKTYPE_SLL2 = 228, 276

# --- the SMTP stories -------------------------------------------------------

CAPS_DOMINO = [b"domino.northwind.test", b"PIPELINING", b"SIZE 10240000",
               b"VRFY", b"ETRN", b"ENHANCEDSTATUSCODES", b"DSN",
               b"CHUNKING"]
CAPS_MX = [b"mx1.northwind.test", b"PIPELINING", b"SIZE 10240000", b"VRFY",
           b"ETRN", b"ENHANCEDSTATUSCODES", b"8BITMIME", b"DSN",
           b"SMTPUTF8", b"CHUNKING"]


def ehlo_reply(caps):
    lines = [b"250-" + c for c in caps[:-1]] + [b"250 " + caps[-1]]
    return b"".join(l + b"\r\n" for l in lines)


# KB295734: IIS meets a server without 8BITMIME: EHLO, RSET, QUIT.
ABORT = [
    ("s", b"220 domino.northwind.test ESMTP Postfix\r\n"),
    ("c", b"EHLO iis-smtp.contoso.test\r\n"),
    ("s", ehlo_reply(CAPS_DOMINO)),
    ("c", b"RSET\r\n"),
    ("s", b"250 2.0.0 Ok\r\n"),
    ("c", b"QUIT\r\n"),
    ("s", b"221 2.0.0 Bye\r\n"),
]

BODY = (b"From: Contoso Apps <sender@contoso.test>\r\n"
        b"To: Alice <alice@northwind.test>\r\n"
        b"Subject: Quarterly report\r\n"
        b"Date: Mon, 03 Jun 2024 09:20:00 +0000\r\n"
        b"Message-ID: <report.0002@app.contoso.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"Hello Alice,\r\n"
        b"\r\n"
        b"the quarterly report is ready. This message is plain 7-bit ASCII.\r\n"
        b"..A line that starts with a dot is dot-stuffed on the wire.\r\n"
        b"\r\n"
        b"Regards,\r\n"
        b"Contoso Apps\r\n"
        b".\r\n")
# The body is sent in three TCP segments; the cuts fall inside lines.
BODY_CUTS = [0, 150, 300, len(BODY)]
BODY_PARTS = [BODY[BODY_CUTS[i]:BODY_CUTS[i + 1]] for i in range(3)]


def delivery(body_parts=BODY_PARTS):
    """A complete 7-bit delivery to mx1 (8BITMIME offered, not needed)."""
    return [
        ("s", b"220 mx1.northwind.test ESMTP Postfix\r\n"),
        ("c", b"EHLO app.contoso.test\r\n"),
        ("s", ehlo_reply(CAPS_MX)),
        ("c", b"MAIL FROM:<sender@contoso.test>\r\n"),
        ("s", b"250 2.1.0 Ok\r\n"),
        ("c", b"RCPT TO:<alice@northwind.test>\r\n"),
        ("s", b"250 2.1.5 Ok\r\n"),
        ("c", b"DATA\r\n"),
        ("s", b"354 End data with <CR><LF>.<CR><LF>\r\n"),
        ("c", list(body_parts)),
        ("s", b"250 2.0.0 Ok: queued as 4Vt1Xq0bKz9\r\n"),
        ("c", b"QUIT\r\n"),
        ("s", b"221 2.0.0 Bye\r\n"),
    ]


def story_bytes(story, who):
    out = b""
    for d, data in story:
        if d == who:
            out += b"".join(data) if isinstance(data, list) else data
    return out


def tls13_story(caps, tail):
    """STARTTLS after an EHLO reply with caps, a TLS 1.3 handshake
    (ClientHello offering 1.3 and 1.2, ServerHello choosing TLS 1.3 and
    TLS_AES_128_GCM_SHA256, the client's CCS and Finished), the encrypted
    EHLO and its reply, then tail: (side, plaintext octets) for each further
    encrypted record.  Record contents are pseudo-random, as ciphertext is;
    each record is its plaintext size plus the 17 octets of AEAD overhead."""
    rnd = bytes((i * 37 + 11) & 0xFF for i in range(8192))

    def rec(ctype, body):
        return bytes([ctype]) + b"\x03\x03" + struct.pack("!H", len(body)) + body

    def hs(htype, body):
        return rec(22, bytes([htype]) + struct.pack("!I", len(body))[1:] + body)
    ext_c = struct.pack("!HHB", 43, 5, 4) + struct.pack("!HH", 0x0304, 0x0303)
    hello = (struct.pack("!H", 0x0303) + rnd[:32] + b"\x00" +
             struct.pack("!HHH", 4, 0x1301, 0x1302) + b"\x01\x00" +
             struct.pack("!H", len(ext_c)) + ext_c)
    ext_s = struct.pack("!HHH", 43, 2, 0x0304)
    shello = (struct.pack("!H", 0x0303) + rnd[32:64] + b"\x00" +
              struct.pack("!H", 0x1301) + b"\x00" +
              struct.pack("!H", len(ext_s)) + ext_s)
    inner_ehlo = b"EHLO iis-smtp.contoso.test\r\n"
    story = [
        ("s", b"220 " + caps[0] + b" ESMTP Postfix\r\n"),
        ("c", inner_ehlo),
        ("s", ehlo_reply(caps)),
        ("c", b"STARTTLS\r\n"),
        ("s", b"220 2.0.0 Ready to start TLS\r\n"),
        ("c", hs(1, hello)),
        ("s", hs(2, shello) + rec(20, b"\x01") + rec(23, rnd[100:900])),
        ("c", rec(20, b"\x01") + rec(23, rnd[900:953])),
        ("c", rec(23, rnd[1000:1000 + len(inner_ehlo) + 17])),
        ("s", rec(23, rnd[1100:1100 + len(ehlo_reply(caps)) + 17])),
    ]
    k = 2000
    for side, n in tail:
        story.append((side, rec(23, rnd[k:k + n + 17])))
        k += n + 17
    return story


# --- checksums and headers ------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Pkt:
    """One TCP segment of a flow, before IP and link encapsulation."""

    def __init__(self, flow, d, seq, ack, flags, payload, note=""):
        self.flow, self.d, self.seq, self.ack = flow, d, seq, ack
        self.flags, self.payload, self.note = flags, payload, note
        self.frag = None        # IP fragmentation plan: list of (start, end)
        self.frag_order = None  # order in which the fragments are written

    def tcp(self):
        f = self.flow
        sport, dport = (f.cport, f.sport) if self.d == "c" else (f.sport, f.cport)
        src, dst = f.addrs(self.d)
        opts = b""
        if self.flags & SYN:
            opts = struct.pack("!BBH", 2, 4, 1460)      # MSS
        hlen = 20 + len(opts)
        hdr = struct.pack("!HHIIBBHHH", sport, dport, self.seq & 0xFFFFFFFF,
                          self.ack & 0xFFFFFFFF if self.flags & ACK else 0,
                          (hlen // 4) << 4, self.flags, 65535, 0, 0) + opts
        seg = hdr + self.payload
        if f.v6:
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
        else:
            pseudo = src + dst + struct.pack("!xBH", 6, len(seg))
        c = csum(pseudo + seg)
        return seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4(src, dst, ident, payload, proto=6, frag_off=0, more=False, df=True):
    flags = (0x4000 if df else 0) | (0x2000 if more else 0) | (frag_off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                      flags, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nxt, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nxt, 64,
                       src, dst) + payload


def hbh(nxt):
    """Hop-by-Hop options: Router Alert (value 0) and PadN to 8 bytes."""
    return struct.pack("!BB", nxt, 0) + bytes([5, 2, 0, 0, 1, 0])


def dstopt(nxt):
    """Destination options: one PadN of 4 + PadN of 2 (16 bytes total),
    so the walker has to use the length field."""
    return struct.pack("!BB", nxt, 1) + bytes([1, 4, 0, 0, 0, 0, 1, 6]) + bytes(6)


class Flow:
    """A TCP connection: sequence numbers advance as segments are made."""

    def __init__(self, v6=False, cport=50001, sport=25, cisn=1000000,
                 sisn=2000000, ip_id=0x1000):
        self.v6, self.cport, self.sport = v6, cport, sport
        self.nxt = {"c": cisn, "s": sisn}
        self.ip_id = ip_id
        self.v6_ext = False     # carry HBH + destination options headers

    def addrs(self, d):
        c, s = (C6, S6) if self.v6 else (C4, S4)
        return (c, s) if d == "c" else (s, c)

    def seg(self, d, payload=b"", flags=ACK | PSH, note=""):
        o = "s" if d == "c" else "c"
        if not payload and flags == ACK | PSH:
            flags = ACK
        p = Pkt(self, d, self.nxt[d], self.nxt[o], flags, payload, note)
        self.nxt[d] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        return p

    def handshake(self):
        syn = Pkt(self, "c", self.nxt["c"], 0, SYN, b"", "SYN")
        self.nxt["c"] += 1
        synack = Pkt(self, "s", self.nxt["s"], self.nxt["c"], SYN | ACK, b"", "SYN-ACK")
        self.nxt["s"] += 1
        return [syn, synack, self.seg("c", flags=ACK, note="ACK")]

    def ip(self, p):
        """The IP packet(s) for segment p: a list (several when fragmented)."""
        src, dst = self.addrs(p.d)
        tcp = p.tcp()
        self.ip_id += 1
        if not self.v6:
            if p.frag is None:
                return [ipv4(src, dst, self.ip_id, tcp)]
            frags = [ipv4(src, dst, self.ip_id, tcp[a:b], frag_off=a,
                          more=b < len(tcp), df=False) for a, b in p.frag]
            return [frags[i] for i in p.frag_order]
        if not self.v6_ext:
            return [ipv6(src, dst, 6, tcp)]
        if p.frag is None:
            return [ipv6(src, dst, 0, hbh(60) + dstopt(6) + tcp)]
        # RFC 8200 4.5: the Hop-by-Hop header is per-fragment; the
        # destination options and TCP form the fragmentable part.
        body = dstopt(6) + tcp
        out = []
        for a, b in p.frag:
            more = 1 if b < len(body) else 0
            fh = struct.pack("!BBHI", 60, 0, a | more, 0x5A5A0000 + self.ip_id)
            out.append(ipv6(src, dst, 0, hbh(44) + fh + body[a:b]))
        return [out[i] for i in p.frag_order]


def session(flow, story, close="fin"):
    """Packets of a whole session: handshake, each story step as one data
    segment (or one per part when the step is a list) followed by the
    peer's pure ACK, then the server's FIN, the client's FIN and the last
    ACK (Postfix closes first after 221)."""
    pkts = flow.handshake()
    for d, data in story:
        parts = data if isinstance(data, list) else [data]
        for part in parts:
            pkts.append(flow.seg(d, part))
        pkts.append(flow.seg("s" if d == "c" else "c", flags=ACK))
    if close == "fin":
        pkts.append(flow.seg("s", flags=FIN | ACK, note="FIN"))
        pkts.append(flow.seg("c", flags=FIN | ACK, note="FIN"))
        pkts.append(flow.seg("s", flags=ACK))
    return pkts


# --- link layers ----------------------------------------------------------------

def af_of(ip):
    return 6 if ip[0] >> 4 == 6 else 4


def eth(ip, tags=()):
    et = 0x86DD if af_of(ip) == 6 else 0x0800
    hdr = SMAC + CMAC
    for tpid, vid in tags:
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", et) + ip


def sll(ip):
    et = 0x86DD if af_of(ip) == 6 else 0x0800
    return struct.pack("!HHH8sH", 0, 1, 6, CMAC + b"\0\0", et) + ip


def sll2(ip):
    et = 0x86DD if af_of(ip) == 6 else 0x0800
    return struct.pack("!HHIHBB8s", et, 0, 2, 1, 0, 6, CMAC + b"\0\0") + ip


def null_le(ip):
    # DLT_NULL: the AF in the capturing host's byte order.  IPv6 as Darwin (30).
    return struct.pack("<I", 30 if af_of(ip) == 6 else 2) + ip


def null_be(ip):
    # A big-endian capturing host; IPv6 as FreeBSD (28).
    return struct.pack(">I", 28 if af_of(ip) == 6 else 2) + ip


def loop(ip):
    # DLT_LOOP: the AF always in network byte order.  IPv6 as OpenBSD (24).
    return struct.pack("!I", 24 if af_of(ip) == 6 else 2) + ip


def wifi(ip):
    # IEEE 802.11 data frame, FromDS, with an LLC/SNAP header.
    fc = struct.pack("<HH", 0x0208, 0)
    return fc + SMAC + b"\x02\0\0\0\0\x01" + CMAC + struct.pack("<H", 0) + \
        bytes([0xAA, 0xAA, 0x03, 0, 0, 0]) + struct.pack("!H", 0x0800) + ip


# --- file writers -----------------------------------------------------------------

def frames(pkts, link):
    """Encapsulate in capture order; returns [(ts_us, frame)]."""
    out = []
    for p in pkts:
        for ip in p.flow.ip(p):
            out.append(link(ip))
    return [(BASE_TS_US + i * STEP_US, f) for i, f in enumerate(out)]


def pcap_bytes(recs, linktype, snaplen=262144, nsec=False, endian="<"):
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, frame in recs:
        sub = ts % 1000000 * (1000 if nsec else 1)
        cap = frame[:snaplen]
        out += struct.pack(endian + "IIII", ts // 1000000, sub, len(cap),
                           len(frame)) + cap
    return out


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def pcapng_block(btype, body, endian):
    body = pad4(body)
    n = 12 + len(body)
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def pcapng_opt(code, value, endian):
    return struct.pack(endian + "HH", code, len(value)) + pad4(value)


def pcapng_bytes(ifaces, recs, endian="<"):
    """ifaces: [(linktype, tsresol_exponent)]; recs: [(iface, ts_us, frame)]."""
    shb = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) + \
        pcapng_opt(4, b"smtpscope make-synthetic.py", endian) + \
        pcapng_opt(0, b"", endian)
    out = pcapng_block(0x0A0D0D0A, shb, endian)
    for i, (lt, res) in enumerate(ifaces):
        opts = pcapng_opt(2, b"synthetic%d" % i, endian)
        if res != 6:
            opts += pcapng_opt(9, bytes([res]), endian)
        idb = struct.pack(endian + "HHI", lt, 0, 0) + opts + pcapng_opt(0, b"", endian)
        out += pcapng_block(1, idb, endian)
    # An unknown (local use) block type: a reader must skip it by length.
    out += pcapng_block(0x80000123, b"skip me, I am not a packet", endian)
    for ifc, ts_us, frame in recs:
        ts = ts_us * 10 ** (ifaces[ifc][1] - 6)
        epb = struct.pack(endian + "IIIII", ifc, ts >> 32, ts & 0xFFFFFFFF,
                          len(frame), len(frame)) + pad4(frame)
        out += pcapng_block(6, epb, endian)
    return out


# --- expected streams -------------------------------------------------------------

class Expect:
    def __init__(self, outdir):
        self.dir = os.path.join(outdir, "expected")
        os.makedirs(self.dir, exist_ok=True)
        self.rows = []

    def flow(self, name, k, flow, c2s, s2c, end, c2s_gaps="-", s2c_gaps="-",
             note=""):
        """Record session k of capture name; k == 1 is <name>.c2s."""
        base = name.rsplit(".", 1)[0]
        stem = base if k == 1 else "%s.%d" % (base, k)
        for ext, data in (("c2s", c2s), ("s2c", s2c)):
            with open(os.path.join(self.dir, stem + "." + ext), "wb") as f:
                f.write(data)
        fam = "ipv6" if flow.v6 else "ipv4"
        c, s = flow.addrs("c")
        fmt = ipfmt(c, flow.v6), ipfmt(s, flow.v6)
        self.rows.append("\t".join([
            name, str(k), fam, fmt[0], str(flow.cport), fmt[1],
            str(flow.sport), stem + ".c2s", str(len(c2s)), c2s_gaps,
            stem + ".s2c", str(len(s2c)), s2c_gaps, end, note]))

    def write(self):
        head = "\t".join(["capture", "session", "family", "client", "cport",
                          "server", "sport", "c2s_file", "c2s_len", "c2s_gaps",
                          "s2c_file", "s2c_len", "s2c_gaps", "end", "note"])
        with open(os.path.join(self.dir, "flows.tsv"), "w") as f:
            f.write(head + "\n" + "\n".join(self.rows) + "\n")


def ipfmt(a, v6):
    if not v6:
        return ".".join(str(x) for x in a)
    words = ["%x" % w for w in struct.unpack("!8H", a)]
    s = ":".join(words)
    # 2001:db8:0:0:0:0:0:10 -> 2001:db8::10 (the only zero run we use)
    return s.replace(":0:0:0:0:0:", "::")


# --- the captures -------------------------------------------------------------------

class Maker:
    def __init__(self, outdir):
        self.out = outdir
        self.exp = Expect(outdir)
        self.port = 50000

    def next_port(self):
        self.port += 1
        return self.port

    def write(self, name, data):
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(data)

    def abort_flow(self, name, k, v6=False):
        f = Flow(v6=v6, cport=self.next_port(), cisn=1000000 * k + 11,
                 sisn=3000000 * k + 7)
        pkts = session(f, ABORT)
        self.exp.flow(name, k, f, story_bytes(ABORT, "c"),
                      story_bytes(ABORT, "s"), "fin")
        return pkts

    def link(self, name, linktype, link, v6_too=False):
        """The abort story over one link type (and over IPv6 as session 2)."""
        pkts = self.abort_flow(name, 1)
        if v6_too:
            pkts += self.abort_flow(name, 2, v6=True)
        self.write(name, pcap_bytes(frames(pkts, link), linktype))

    def delivery_flow(self, name, story=None, **kw):
        story = story or delivery()
        f = Flow(cport=self.next_port(), **kw)
        return f, story, session(f, story)

    def all(self):
        # Link types.  The abort story, so incident detection can be tested
        # across encapsulations.
        self.link("link-en10mb-vlan.pcap", LINKTYPE_EN10MB,
                  lambda ip: eth(ip, [(0x8100, 100)]))
        self.link("link-qinq.pcap", LINKTYPE_EN10MB,
                  lambda ip: eth(ip, [(0x88A8, 200), (0x8100, 100)]), v6_too=True)
        self.link("link-sll.pcap", LINKTYPE_SLL, sll, v6_too=True)
        self.link("link-sll2.pcap", LINKTYPE_SLL2, sll2, v6_too=True)
        self.link("link-null.pcap", LINKTYPE_NULL, null_le, v6_too=True)
        self.link("link-null-be.pcap", LINKTYPE_NULL, null_be, v6_too=True)
        self.link("link-loop.pcap", LINKTYPE_LOOP, loop, v6_too=True)
        self.link("link-raw.pcap", LINKTYPE_RAW, lambda ip: ip, v6_too=True)
        self.link("link-ipv4-dlt.pcap", LINKTYPE_IPV4, lambda ip: ip)

        self.ipv4_frag()
        self.ipv6_frag_ext()
        self.tcp_ooo()
        self.tcp_retrans()
        self.tcp_overlap()
        self.tcp_gap()
        self.tcp_wrap()
        self.tcp_midstream()
        self.tcp_one_sided()
        self.tcp_rst()
        self.file_formats()
        self.damaged()
        self.tcp_client_only()
        self.early_talker_client_only()
        self.starttls_alert()
        self.starttls_abort()
        self.starttls_cut()
        self.starttls_cert()
        self.exp.write()

    def ipv4_frag(self):
        """The message body in one TCP segment, split into three IPv4
        fragments written in the order 3, 1, 2."""
        name = "ipv4-frag.pcap"
        story = delivery([BODY])
        f = Flow(cport=self.next_port())
        pkts = session(f, story)
        body = [p for p in pkts if p.payload == BODY][0]
        n = 20 + len(BODY)          # TCP header + payload
        body.frag, body.frag_order = [(0, 128), (128, 256), (256, n)], [2, 0, 1]
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="body segment in 3 IPv4 fragments, order 3,1,2")

    def ipv6_frag_ext(self):
        """IPv6 with Hop-by-Hop and Destination Options headers on every
        packet; the body segment in two fragments (second written first)."""
        name = "ipv6-frag-ext.pcap"
        story = delivery([BODY])
        f = Flow(v6=True, cport=self.next_port())
        f.v6_ext = True
        pkts = session(f, story)
        body = [p for p in pkts if p.payload == BODY][0]
        n = 16 + 20 + len(BODY)     # dstopt + TCP header + payload
        body.frag, body.frag_order = [(0, 200), (200, n)], [1, 0]
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="HBH+DSTOPT on all packets; body in 2 fragments, order 2,1")

    def tcp_ooo(self):
        """Out of order: the body's three segments written 3, 1, 2, and
        the server's EHLO reply in two segments written second first."""
        name = "tcp-ooo.pcap"
        ehlo = ehlo_reply(CAPS_MX)
        story = delivery()
        story[2] = ("s", [ehlo[:60], ehlo[60:]])
        f = Flow(cport=self.next_port())
        pkts = session(f, story)
        i = [k for k, p in enumerate(pkts) if p.payload == BODY_PARTS[0]][0]
        pkts[i:i + 3] = [pkts[i + 2], pkts[i], pkts[i + 1]]
        j = [k for k, p in enumerate(pkts) if p.payload == ehlo[:60]][0]
        pkts[j:j + 2] = [pkts[j + 1], pkts[j]]
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="body segments 3,1,2; EHLO reply segments 2,1")

    def tcp_retrans(self):
        """Exact retransmissions: the SYN, the EHLO command (at once), the
        server's EHLO reply (late, after the next command), the second body
        segment and the server's FIN."""
        name = "tcp-retrans.pcap"
        f, story, pkts = self.delivery_flow(name)
        out = []
        ehlo_rep = None
        for p in pkts:
            out.append(p)
            if p.flags == SYN:
                out.append(p)
            elif p.payload.startswith(b"EHLO"):
                out.append(p)
            elif p.payload.startswith(b"250-"):
                ehlo_rep = p
            elif p.payload.startswith(b"MAIL") and ehlo_rep is not None:
                out.append(ehlo_rep)
            elif p.payload == BODY_PARTS[1]:
                out.append(p)
            elif p.d == "s" and p.flags & FIN:
                out.append(p)
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="5 exact duplicates; no conflict")

    def tcp_overlap(self):
        """Overlapping retransmissions with different bytes (first copy
        wins): (a) 10 bytes inside the delivered RCPT line, (b) the DATA
        command sent as a segment that starts 6 bytes early with different
        bytes there, (c) out of order: body part 3 first, then part 2
        extended by 8 different bytes over part 3's head, then part 1."""
        name = "tcp-overlap.pcap"
        f = Flow(cport=self.next_port())
        story = delivery()
        pkts = session(f, story)
        out = []
        conflict = 0
        k = 0
        while k < len(pkts):
            p = pkts[k]
            if p.payload.startswith(b"RCPT"):
                out.append(p)
                bad = garble(p.payload[5:15])
                out.append(Pkt(f, "c", p.seq + 5, p.ack, ACK | PSH, bad, "overlap a"))
                conflict += 10
            elif p.payload == b"DATA\r\n":
                prev = pkts[[i for i in range(k) if pkts[i].payload.startswith(b"RCPT")][0]]
                bad = garble(prev.payload[-6:]) + p.payload
                out.append(Pkt(f, "c", p.seq - 6, p.ack, ACK | PSH, bad, "overlap b"))
                conflict += 6
            elif p.payload == BODY_PARTS[0]:
                p1, p2, p3 = pkts[k], pkts[k + 1], pkts[k + 2]
                ext = p2.payload + garble(p3.payload[:8])
                out += [p3, Pkt(f, "c", p2.seq, p2.ack, ACK | PSH, ext, "overlap c"), p1]
                conflict += 8
                k += 2
            else:
                out.append(p)
            k += 1
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="%d conflicting bytes (10+6+8), first copy wins" % conflict)

    def tcp_gap(self):
        """The second body segment never reaches the capture; the server's
        ACK (and its 250 reply) acknowledge it, so it is a gap."""
        name = "tcp-gap.pcap"
        f, story, pkts = self.delivery_flow(name)
        out = [p for p in pkts if p.payload != BODY_PARTS[1]]
        c2s = story_bytes(story, "c")
        off = c2s.index(BODY_PARTS[1])
        present = c2s[:off] + c2s[off + len(BODY_PARTS[1]):]
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, present, story_bytes(story, "s"), "fin",
                      c2s_gaps="%d+%d" % (off, len(BODY_PARTS[1])),
                      note="body segment 2 missing, acked by the server")

    def tcp_wrap(self):
        """Sequence numbers cross 2^32: inside the client's MAIL command
        and inside the server's EHLO reply."""
        name = "tcp-wrap.pcap"
        f, story, pkts = self.delivery_flow(name, cisn=2 ** 32 - 40,
                                            sisn=2 ** 32 - 100)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="client ISN 2^32-40, server ISN 2^32-100")

    def tcp_midstream(self):
        """The capture starts after the handshake and the greeting: the
        first packet is the client's EHLO."""
        name = "tcp-midstream.pcap"
        f, story, pkts = self.delivery_flow(name)
        i = [k for k, p in enumerate(pkts) if p.payload.startswith(b"EHLO")][0]
        self.write(name, pcap_bytes(frames(pkts[i:], eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story[1:], "c"),
                      story_bytes(story[1:], "s"), "fin",
                      note="no handshake, no 220: mid-stream, roles from port 25")

    def tcp_one_sided(self):
        """Only the server-to-client direction was captured."""
        name = "tcp-one-sided.pcap"
        f, story, pkts = self.delivery_flow(name)
        out = [p for p in pkts if p.d == "s"]
        c2s = story_bytes(story, "c")
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, b"", story_bytes(story, "s"), "fin",
                      c2s_gaps="0+%d" % len(c2s),
                      note="no client packet; server ACKs prove %d client bytes" % len(c2s))

    def tcp_client_only(self):
        """Only the client-to-server direction was captured (a mirror port
        that copies one direction).  The client's ACK numbers show that the
        greeting had arrived before its EHLO: no early talker."""
        name = "tcp-client-only.pcap"
        f, story, pkts = self.delivery_flow(name)
        out = [p for p in pkts if p.d == "c"]
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), b"", "fin",
                      note="no server packet; client ACKs show %d server bytes"
                      % len(story_bytes(story, "s")))

    def early_talker_client_only(self):
        """Client side only, and the client sends EHLO before the greeting:
        its ACK number on the EHLO acknowledges no server byte."""
        name = "early-talker-client-only.pcap"
        story = delivery()
        story = [story[1], story[0]] + story[2:]
        f, story, pkts = self.delivery_flow(name, story=story)
        out = [p for p in pkts if p.d == "c"]
        self.write(name, pcap_bytes(frames(out, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), b"", "fin",
                      note="no server packet; the EHLO acknowledges no server byte")

    def starttls_alert(self):
        """STARTTLS accepted, then a ClientHello offering only TLS 1.1
        (legacy version 0x0302, no supported_versions, SNI
        mx1.northwind.test) that the server answers with a cleartext fatal
        protocol_version alert (70), then the close."""
        name = "starttls-alert.pcap"
        caps = CAPS_MX[:1] + [b"STARTTLS"] + CAPS_MX[1:]
        sni = b"mx1.northwind.test"
        sni_ext = (struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni)
        body = (struct.pack("!H", 0x0302) + bytes(range(32)) + b"\x00" +
                struct.pack("!HHH", 4, 0xc014, 0x002f) + b"\x01\x00" +
                struct.pack("!H", len(sni_ext)) + sni_ext)
        hello = b"\x01" + struct.pack("!I", len(body))[1:] + body
        record = b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello
        alert = b"\x15\x03\x02\x00\x02\x02\x46"
        story = [
            ("s", b"220 mx1.northwind.test ESMTP Postfix\r\n"),
            ("c", b"EHLO old.contoso.test\r\n"),
            ("s", ehlo_reply(caps)),
            ("c", b"STARTTLS\r\n"),
            ("s", b"220 2.0.0 Ready to start TLS\r\n"),
            ("c", record),
            ("s", alert),
        ]
        f, story, pkts = self.delivery_flow(name, story=story)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), story_bytes(story, "s"),
                      "fin", note="TLS 1.1 ClientHello refused with a protocol_version alert")

    def starttls_abort(self):
        """KB295734 inside TLS: the EHLO reply before STARTTLS lacks
        8BITMIME; a TLS 1.3 handshake (TLS_AES_128_GCM_SHA256), then records
        whose sizes are those of EHLO, its reply, RSET, 250, QUIT, 221 plus
        the 17 octets of AEAD overhead (their contents are random, as
        ciphertext is), then the close."""
        name = "starttls-8bitmime-abort.pcap"
        caps = CAPS_DOMINO[:1] + [b"STARTTLS"] + CAPS_DOMINO[1:]
        story = tls13_story(caps, [("c", 6), ("s", 14), ("c", 6), ("s", 15)])
        f, story, pkts = self.delivery_flow(name, story=story)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), story_bytes(story, "s"),
                      "fin", note="EHLO, RSET, QUIT inside TLS 1.3, sized, not decryptable")

    def starttls_cut(self):
        """A delivery inside TLS 1.3 cut short: after EHLO and its reply, a
        pipelined MAIL, RCPT, DATA (70 octets) answered by the server, then
        a 600-octet flight (the message) and a reset from the client with
        no record from the server after it."""
        name = "starttls-cut.pcap"
        caps = CAPS_MX[:1] + [b"STARTTLS"] + CAPS_MX[1:]
        f = Flow(cport=self.next_port())
        story = tls13_story(caps, [("c", 70), ("s", 51), ("c", 600)])
        pkts = session(f, story, close="none")
        pkts.append(f.seg("c", flags=RST | ACK, note="RST"))
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), story_bytes(story, "s"),
                      "rst", note="a message-sized flight inside TLS, then RST")

    def starttls_cert(self):
        """TLS 1.2 after STARTTLS, the server's Certificate in cleartext:
        certs/mail-contoso.der (made once with openssl req, kept here), for
        mail.contoso.test and *.relay.contoso.test, valid from 2026-12-04 for
        30 days: at the capture's time (2024) not yet valid, and not
        covering mx1.northwind.test, the greeting's name (no SNI).  Then
        the client's key exchange, CCS, Finished, and encrypted records of
        an EHLO, its reply, QUIT and 221 (AES-128-GCM sizes)."""
        name = "starttls-cert.pcap"
        der = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "certs", "mail-contoso.der"), "rb").read()
        caps = CAPS_MX[:1] + [b"STARTTLS"] + CAPS_MX[1:]
        rnd = bytes((i * 53 + 7) & 0xFF for i in range(4096))

        def rec(ctype, body):
            return bytes([ctype]) + b"\x03\x03" + struct.pack("!H", len(body)) + body

        def hs(htype, body):
            return bytes([htype]) + struct.pack("!I", len(body))[1:] + body
        hello = (struct.pack("!H", 0x0303) + rnd[:32] + b"\x00" +
                 struct.pack("!HH", 2, 0xc02f) + b"\x01\x00")
        shello = (struct.pack("!H", 0x0303) + rnd[32:64] + b"\x00" +
                  struct.pack("!H", 0xc02f) + b"\x00")
        chain = struct.pack("!I", len(der))[1:] + der
        cert = struct.pack("!I", len(chain))[1:] + chain
        flight = hs(2, shello) + hs(11, cert) + hs(12, rnd[100:200]) + hs(14, b"")
        story = [
            ("s", b"220 mx1.northwind.test ESMTP Postfix\r\n"),
            ("c", b"EHLO app.contoso.test\r\n"),
            ("s", ehlo_reply(caps)),
            ("c", b"STARTTLS\r\n"),
            ("s", b"220 2.0.0 Ready to start TLS\r\n"),
            ("c", rec(22, hs(1, hello))),
            ("s", rec(22, flight)),
            ("c", rec(22, hs(16, rnd[300:366])) + rec(20, b"\x01") + rec(22, rnd[400:440])),
            ("s", rec(20, b"\x01") + rec(22, rnd[500:540])),
            ("c", rec(23, rnd[600:600 + 23 + 24])),
            ("s", rec(23, rnd[700:700 + len(ehlo_reply(caps)) + 24])),
            ("c", rec(23, rnd[1000:1000 + 6 + 24])),
            ("s", rec(23, rnd[1100:1100 + 15 + 24])),
        ]
        f, story, pkts = self.delivery_flow(name, story=story)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"), story_bytes(story, "s"),
                      "fin", note="TLS 1.2 with a certificate for another name, not yet valid")

    def tcp_rst(self):
        """The client sends RST after the first body segment (mid-DATA)."""
        name = "tcp-rst.pcap"
        f = Flow(cport=self.next_port())
        story = delivery()[:9] + [("c", [BODY_PARTS[0]])]
        pkts = session(f, story, close="none")
        pkts.append(f.seg("c", flags=RST | ACK, note="RST"))
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB))
        self.exp.flow(name, 1, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "rst",
                      note="RST from the client in DATA, no end marker")

    def file_formats(self):
        """Container variants: nanosecond pcap, big-endian pcap, pcapng with
        two interfaces (microsecond and nanosecond) and two interleaved
        sessions, and a big-endian pcapng."""
        name = "pcap-nsec.pcap"
        pkts = self.abort_flow(name, 1)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB, nsec=True))

        name = "pcap-be.pcap"
        pkts = self.abort_flow(name, 1)
        self.write(name, pcap_bytes(frames(pkts, eth), LINKTYPE_EN10MB, endian=">"))

        name = "pcapng-multi.pcapng"
        a = frames(self.abort_flow(name, 1), eth)
        f, story, pkts = self.delivery_flow(name, cisn=5000000, sisn=6000000)
        self.exp.flow(name, 2, f, story_bytes(story, "c"),
                      story_bytes(story, "s"), "fin",
                      note="interface 1 (nanosecond timestamps)")
        b = frames(pkts, eth)
        # Interleave: session 1 on interface 0, session 2 on interface 1,
        # half a step later, so both flows are open at the same time.
        recs = [(0, ts, fr) for ts, fr in a] + \
               [(1, ts + STEP_US // 2, fr) for ts, fr in b]
        recs.sort(key=lambda r: r[1])
        self.write(name, pcapng_bytes([(LINKTYPE_EN10MB, 6),
                                       (LINKTYPE_EN10MB, 9)], recs))

        name = "pcapng-be.pcapng"
        recs = [(0, ts, fr) for ts, fr in frames(self.abort_flow(name, 1), eth)]
        self.write(name, pcapng_bytes([(LINKTYPE_EN10MB, 6)], recs, endian=">"))

    def damaged(self):
        # The abort story whose last record (the 221 reply) is cut short;
        # the closing FINs never made it into the file.
        name = "truncated.pcap"
        f = Flow(cport=self.next_port())
        pkts = session(f, ABORT)
        last = [k for k, p in enumerate(pkts) if p.payload.startswith(b"221")][0]
        data = pcap_bytes(frames(pkts[:last + 1], eth), LINKTYPE_EN10MB)
        self.write(name, data[:-10])
        self.exp.flow(name, 1, f, story_bytes(ABORT, "c"),
                      story_bytes(ABORT[:-1], "s"), "eof",
                      note="last record cut: the 221 reply is lost with it")

        self.write("not-a-capture.pcap",
                   b"This is not a capture file.\n"
                   b"It is plain text that happens to be named .pcap, so a\n"
                   b"reader must fail with a clear message and no crash.\n")

        # 802.11 data frames carrying the abort story: well formed, but a
        # link type smtpscope does not read.
        name = "unsupported-linktype.pcap"
        f = Flow(cport=self.next_port())
        self.write(name, pcap_bytes(frames(session(f, ABORT), wifi),
                                    LINKTYPE_IEEE802_11))

        # snaplen 60: Ethernet + IPv4 + TCP leave 6 payload bytes a packet.
        name = "snaplen-short.pcap"
        f = Flow(cport=self.next_port())
        self.write(name, pcap_bytes(frames(session(f, ABORT), eth),
                                    LINKTYPE_EN10MB, snaplen=60))


def garble(b):
    """Bytes of the same length that differ from b at every position."""
    return bytes((ord("X") if c != ord("X") else ord("Y")) for c in b)


def main(argv):
    outdir = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(outdir, exist_ok=True)
    Maker(outdir).all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
