#!/usr/bin/python3
"""expected-real.py - expected byte streams of the real captures in pcaps/.

For the captures made by make-pcaps.sh (real Postfix, real clients, on
loopback: in order, no loss), write pcaps/expected/<name>.c2s and .s2c
with the bytes each direction carried, and pcaps/expected/flows-real.tsv
with one row per flow in the same columns as flows.tsv (which
make-synthetic.py writes for the synthetic captures).

The streams come from two independent reassemblers that must agree byte
for byte: tshark's "follow,tcp,raw" and tcpflow.  If they disagree the
script stops, so nothing unchecked is written.  It only reads the captures;
it needs tshark and tcpflow.  What it does not do: judge SMTP (README.md
says what an analyzer should conclude) or handle captures with loss,
which is what the synthetic set and its story-derived streams are for.

Usage: expected-real.py [CAPTURE...]   (default: every real capture)
"""

import binascii
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = ["8bitmime-abort.pcap", "8bitmime-ok.pcap", "8bitmime-unoffered.pcap",
        "8bit-undeclared.pcap", "pipelining.pcap", "pipelining.pcapng",
        "pipelining-unoffered.pcap", "starttls.pcap",
        "rcpt-rejected-deferred.pcap", "mail-deferred.pcap", "bdat.pcap",
        "smtputf8.pcap", "ipv6.pcap", "probe.pcap", "rset-after-mail.pcap",
        "reset-mid-data.pcap", "auth-unoffered.pcap"]


def tshark(path, *args):
    r = subprocess.run(["tshark", "-n", "-r", path] + list(args),
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tshark failed on %s: %s" % (path, r.stderr.strip()))
    return r.stdout


def flows(path):
    """[(stream index, client, cport, server, sport, v6, end)] from SYNs."""
    out = []
    rows = tshark(path, "-T", "fields", "-e", "tcp.stream", "-e", "ip.src",
                  "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst",
                  "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.flags.syn",
                  "-e", "tcp.flags.ack", "-e", "tcp.flags.reset",
                  "-E", "separator=/t").splitlines()
    rst = set()
    for r in rows:
        f = r.split("\t")
        if f[9] in ("1", "True"):
            rst.add(f[0])
    for r in rows:
        f = r.split("\t")
        if f[7] in ("1", "True") and f[8] in ("0", "False"):
            v6 = f[2] != ""
            out.append((int(f[0]), f[2] or f[1], f[3], f[5] or f[4], f[6], v6,
                        "rst" if f[0] in rst else "fin"))
    return out


def follow(path, idx):
    """Client and server bytes of tcp.stream idx, from tshark."""
    c, s, started = b"", b"", False
    for line in tshark(path, "-q", "-z", "follow,tcp,raw,%d" % idx).splitlines():
        if line.startswith("Node 1:"):
            started = True
            continue
        if not started or line.startswith("===") or not line.strip():
            continue
        if line.startswith("\t"):
            s += binascii.unhexlify(line.strip())
        else:
            c += binascii.unhexlify(line.strip())
    return c, s


def tcpflow_name(addr, port, v6):
    if v6:
        return "%s.%05d" % (addr, int(port))
    return "%s.%05d" % (".".join("%03d" % int(x) for x in addr.split(".")), int(port))


def main(argv):
    names = argv[1:] or REAL
    rows = []
    for name in names:
        path = os.path.join(HERE, name)
        stem = name.rsplit(".", 1)[0] + ("-ng" if name.endswith(".pcapng") else "")
        with tempfile.TemporaryDirectory() as tf:
            subprocess.run(["tcpflow", "-r", path, "-o", tf], check=True,
                           capture_output=True)
            for k, (idx, cl, cp, sv, sp, v6, end) in enumerate(flows(path), 1):
                c2s, s2c = follow(path, idx)
                a, b = tcpflow_name(cl, cp, v6), tcpflow_name(sv, sp, v6)
                for data, fn in ((c2s, a + "-" + b), (s2c, b + "-" + a)):
                    p = os.path.join(tf, fn)
                    other = open(p, "rb").read() if os.path.exists(p) else b""
                    if other != data:
                        sys.exit("%s: tshark and tcpflow disagree on %s" % (name, fn))
                base = stem if k == 1 else "%s.%d" % (stem, k)
                for ext, data in (("c2s", c2s), ("s2c", s2c)):
                    with open(os.path.join(HERE, "expected", base + "." + ext), "wb") as f:
                        f.write(data)
                rows.append("\t".join([name, str(k), "ipv6" if v6 else "ipv4",
                                       cl, cp, sv, sp, base + ".c2s", str(len(c2s)),
                                       "-", base + ".s2c", str(len(s2c)), "-", end,
                                       "real capture; tshark and tcpflow agree"]))
    head = "\t".join(["capture", "session", "family", "client", "cport", "server",
                      "sport", "c2s_file", "c2s_len", "c2s_gaps", "s2c_file",
                      "s2c_len", "s2c_gaps", "end", "note"])
    if not argv[1:]:
        with open(os.path.join(HERE, "expected", "flows-real.tsv"), "w") as f:
            f.write(head + "\n" + "\n".join(rows) + "\n")
    else:
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
