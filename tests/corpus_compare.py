#!/usr/bin/python3
"""corpus_compare.py - smtpscope against what other projects expect.

usage: corpus_compare.py SMTPSCOPE CORPUS_PUBLIC_DIR

../shared/corpus/public holds SMTP captures from Zeek, suricata-verify,
Arkime and nDPI, each beside that project's expected output.  For every
capture, this runs smtpscope (--json) and checks the values those outputs
state: the HELO/EHLO name, MAIL FROM, RCPT TO and whether STARTTLS took
the session to TLS.  It reads, per project:

  Zeek      <capture>.zeek-*smtp.log: one row per transaction; helo,
            mailfrom, rcptto (a set), tls (T/F).
  Suricata  test.yaml checks on eve.json with event_type smtp: smtp.helo,
            smtp.mail_from, smtp.rcpt_to[i] (checks with count 0 are
            absences and are skipped).  The capture is the one pcap in the
            yaml's directory.
  Arkime    <capture>.test: email.smtpHello, email.src (MAIL FROM and the
            From: header), email.dst (RCPT TO and To:/Cc:), the tag
            smtp:starttls.
  nDPI      <capture>.ndpi.out: a flow classified SMTPS (or SMTP and
            Encrypted) went to TLS; SMTP and ClearText did not.

Normalisation, and why: one pair of angle brackets around an address is
dropped (Suricata keeps them, Zeek and smtpscope do not); Arkime lowercases
what it stores, so its values are compared without case; Arkime's src/dst
mix envelope and header addresses, so ours must be among theirs (not
equal); Suricata's rcpt_to[i] checks name some recipients, so those must
be among ours.  Everything else is compared exactly.  A record is matched
to our session by client address and port when the output gives them.

smtpscope runs with -P 25,587,2525 plus any server port the expected
output names (a capture on port 1224, say), so every session the other
project decoded is ours to decode too.

Every disagreement must be listed in EXPLAINED with the reason, after
looking at the bytes; the script fails on an unexplained disagreement, on
an explained one that no longer occurs (the table stays honest), and when
smtpscope exits non-zero on a capture.  Standard library only.
"""
import glob
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

# Captures that are damaged; smtpscope must exit 1 after reading what is
# before the damage (and the comparison still runs on that).
DAMAGED = {
    "suricata-verify/smtp-to-comma/10.7.29.101_49898-178.63.41.150_25.pcap":
        "the 19th record header claims a 3925868813-byte packet (tshark: "
        "'appears to be damaged or corrupt'); the 18 records before it hold "
        "the whole session",
}

# (capture relative to the corpus, project, client port or "", field) ->
# why the other project and smtpscope differ, and who is right.
EXPLAINED = {
    ("arkime/socks5-smtp-503.pcap", "arkime", "53709", "helo"):
        "SMTP tunnelled through a SOCKS5 proxy (port 1080): each direction "
        "starts with SOCKS5 negotiation in binary, with no line end before "
        "the greeting and the EHLO, so those two share a line with the binary "
        "prefix; smtpscope decodes SMTP only, treats the session as joined "
        "mid-stream and resynchronises on the next clean line (AUTH LOGIN). "
        "Arkime parses SOCKS and hands the rest to its SMTP parser, so it is "
        "right here; smtpscope reports the session as mid-stream rather than "
        "guess.",
}


def unbracket(a):
    if a is None:
        return None
    a = a.strip()
    if len(a) >= 2 and a[0] == "<" and a[-1] == ">":
        a = a[1:-1]
    return a


# ---------------------------------------------------------------- readers

def zeek_records(cap):
    out = []
    for log in sorted(glob.glob(glob.escape(cap) + ".zeek-*smtp.log")):
        fields = None
        for line in open(log, encoding="utf-8", errors="replace"):
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
                continue
            if line.startswith("#") or not fields:
                continue
            row = dict(zip(fields, line.split("\t")))
            rec = {"src": "zeek:" + os.path.basename(log), "cip": row.get("id.orig_h"),
                   "cport": row.get("id.orig_p"), "sport": row.get("id.resp_p")}
            if row.get("helo", "-") != "-":
                rec["helo"] = row["helo"]
            if row.get("mailfrom", "-") != "-":
                rec["mail_from"] = unbracket(row["mailfrom"])
            if row.get("rcptto", "-") not in ("-", "(empty)"):
                rec["rcpt_to"] = sorted(unbracket(x) for x in row["rcptto"].split(","))
                rec["rcpt_mode"] = "equal"
            if row.get("tls") in ("T", "F"):
                rec["tls"] = row["tls"] == "T"
            out.append(rec)
    return out


def yaml_scalar(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        q = v[0]
        v = v[1:-1]
        if q == "'":
            v = v.replace("''", "'")
    return v


def suricata_checks(path):
    """The match blocks of a test.yaml, as dicts (a minimal reader for the
    two-level layout these files use)."""
    checks, cur, inmatch = [], None, False
    for line in open(path, encoding="utf-8", errors="replace"):
        if re.match(r"^\s*-\s*filter:\s*$", line):
            cur = {"count": None}
            checks.append(cur)
            inmatch = False
            continue
        if cur is None:
            continue
        m = re.match(r"^(\s*)([A-Za-z_][\w.\[\]-]*):\s*(.*)$", line)
        if not m:
            continue
        key, val = m.group(2), m.group(3)
        if key == "count":
            cur["count"] = yaml_scalar(val)
        elif key == "match":
            inmatch = True
        elif inmatch and val != "":
            cur[key] = yaml_scalar(val)
    return checks


def suricata_records(cap):
    d = os.path.dirname(cap)
    out = []
    for y in sorted(glob.glob(os.path.join(glob.escape(d), "*.yaml"))):
        for c in suricata_checks(y):
            if c.get("event_type") != "smtp" or c.get("count") == "0":
                continue
            rec = {"src": "suricata:" + os.path.basename(y), "cip": c.get("src_ip"),
                   "cport": c.get("src_port"), "sport": c.get("dest_port")}
            if "smtp.helo" in c:
                rec["helo"] = c["smtp.helo"]
            if "smtp.mail_from" in c:
                rec["mail_from"] = unbracket(c["smtp.mail_from"])
            rc = [unbracket(v) for k, v in sorted(c.items())
                  if re.match(r"smtp\.rcpt_to\[\d+\]$", k)]
            if rc:
                rec["rcpt_to"] = sorted(rc)
                rec["rcpt_mode"] = "theirs-in-ours"
            if len(rec) > 4:
                out.append(rec)
    return out


def arkime_records(cap):
    t = re.sub(r"\.pcap(ng)?$", ".test", cap)
    if not os.path.exists(t):
        return []
    out = []
    for s in json.load(open(t)).get("sessions3", []):
        b = s.get("body", {})
        e = b.get("email", {})
        rec = {"src": "arkime:" + os.path.basename(t), "nocase": True,
               "cip": b.get("source", {}).get("ip"),
               "cport": str(b.get("source", {}).get("port", "")),
               "sport": str(b.get("destination", {}).get("port", ""))}
        if e.get("smtpHello"):
            rec["helo"] = e["smtpHello"][0]
        if e.get("src") is not None:
            rec["mail_from_in"] = [unbracket(x) for x in e["src"]]
        if e.get("dst") is not None:
            rec["rcpt_to"] = sorted(unbracket(x) for x in e["dst"])
            rec["rcpt_mode"] = "ours-in-theirs"
        if "smtp" in b.get("protocol", []):
            rec["tls"] = "smtp:starttls" in (b.get("tags") or [])
        out.append(rec)
    return out


FLOW = re.compile(r"^\s*\d+\s+TCP\s+\[?([0-9a-fA-F:.]+?)\]?:(\d+)\s+<->\s+"
                  r"\[?([0-9a-fA-F:.]+?)\]?:(\d+)\s+(.*)$")


def ndpi_records(cap):
    out = []
    o = cap + ".ndpi.out"
    if not os.path.exists(o):
        return out
    for line in open(o, encoding="utf-8", errors="replace"):
        m = FLOW.match(line)
        if not m:
            continue
        rest = m.group(5)
        p = re.search(r"\[proto: [\d.]+/([A-Za-z0-9_.]+)\]", rest)
        if not p or not p.group(1).startswith("SMTP"):
            continue
        tls = p.group(1).startswith("SMTPS") or "[Encrypted]" in rest
        out.append({"src": "ndpi:" + os.path.basename(o), "cip": m.group(1),
                    "cport": m.group(2), "sport": m.group(4), "tls": tls})
    return out


# ---------------------------------------------------------------- compare

def run_smtpscope(binary, cap, ports):
    with tempfile.TemporaryDirectory() as td:
        src = cap
        if cap.endswith(".gz"):
            src = os.path.join(td, "in.pcap")
            with gzip.open(cap) as f, open(src, "wb") as g:
                g.write(f.read())
        js = os.path.join(td, "s.jsonl")
        p = subprocess.run([binary, "-b", "-r", src, "-P", ",".join(sorted(ports, key=int)),
                            "--json", js], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120)
        sess = []
        if os.path.exists(js):
            for line in open(js, encoding="utf-8"):
                sess.append(json.loads(line))
        return p.returncode, p.stderr.decode("utf-8", "replace").strip(), sess


def norm(v, nocase):
    if v is None:
        return None
    return v.lower() if nocase else v


def candidates(sessions, rec):
    """Our sessions this record may describe: by client address and port
    when given, else by server port, else all."""
    if rec.get("cport"):
        return [s for s in sessions if str(s["client_port"]) == str(rec["cport"])
                and (not rec.get("cip") or s["client_ip"] == rec["cip"])]
    if rec.get("sport"):
        return [s for s in sessions if str(s["server_port"]) == str(rec["sport"])]
    return list(sessions)


def compare(rec, s):
    """Yields (field, expected, got) for each disagreement."""
    nc = rec.get("nocase", False)
    if "helo" in rec:
        if norm(s.get("helo"), nc) != norm(rec["helo"], nc):
            yield "helo", rec["helo"], s.get("helo")
    txs = s.get("transactions") or []
    ours_from = [t.get("mail_from") for t in txs]
    if "mail_from" in rec:
        if rec["mail_from"] not in ours_from:
            yield "mail_from", rec["mail_from"], ours_from
    if "mail_from_in" in rec:
        theirs = [norm(x, nc) for x in rec["mail_from_in"]]
        bad = [x for x in ours_from if norm(x, nc) not in theirs]
        if bad or (theirs and not ours_from):
            yield "mail_from", rec["mail_from_in"], ours_from
    if "rcpt_to" in rec:
        ours_sets = [sorted(norm(x, nc) for x in (t.get("rcpt_to") or [])) for t in txs]
        theirs = [norm(x, nc) for x in rec["rcpt_to"]]
        mode = rec["rcpt_mode"]
        if mode == "equal":
            ok = theirs in ours_sets
        elif mode == "theirs-in-ours":
            ok = any(all(x in o for x in theirs) for o in ours_sets)
        else:
            allours = [x for o in ours_sets for x in o]
            ok = all(x in theirs for x in allours) and (bool(allours) or not theirs)
        if not ok:
            yield "rcpt_to", rec["rcpt_to"], ours_sets
    if "tls" in rec and bool(s.get("tls")) != rec["tls"]:
        yield "tls", rec["tls"], s.get("tls")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: corpus_compare.py SMTPSCOPE CORPUS_PUBLIC_DIR")
    binary, root = sys.argv[1], sys.argv[2]
    caps = sorted(p for p in glob.glob(os.path.join(root, "**", "*"), recursive=True)
                  if re.search(r"\.(pcap|pcapng)(\.gz)?$", p))
    seen_explained = set()
    ncap = nagree = nexpl = nnone = 0
    failures = []
    for cap in caps:
        rel = os.path.relpath(cap, root)
        recs = zeek_records(cap) + suricata_records(cap) + arkime_records(cap) + ndpi_records(cap)
        ncap += 1
        ports = {"25", "587", "2525"} | {r["sport"] for r in recs if r.get("sport")}
        rc, err, sess = run_smtpscope(binary, cap, ports)
        if rel in DAMAGED:
            # A damaged file: everything before the damage is still read,
            # and the run must say so with exit 1.
            if rc != 1:
                failures.append("%s: damaged capture, smtpscope exited %d, not 1" % (rel, rc))
            else:
                print("dmgd  %s: exit 1 as it should (%s); %s" % (rel, err, DAMAGED[rel]))
        elif rc != 0:
            failures.append("%s: smtpscope exited %d: %s" % (rel, rc, err))
            print("FAIL %s: smtpscope exited %d" % (rel, rc))
            continue
        if not recs:
            nnone += 1
            print("none  %s: no HELO/MAIL/RCPT/TLS expectation (%d sessions)" % (rel, len(sess)))
            continue
        bad = []
        for rec in recs:
            cands = candidates(sess, rec)
            if not cands:
                bad.append((rec, "session", "%s:%s" % (rec.get("cip"), rec.get("cport")), None))
                continue
            # The candidate that agrees best (all of them, when the record
            # names no endpoint: one must agree).
            diffs = min((list(compare(rec, s)) for s in cands), key=len)
            for field, exp, got in diffs:
                bad.append((rec, field, exp, got))
        if not bad:
            nagree += 1
            print("agree %s (%d expectations: %s)" % (rel, len(recs),
                  ", ".join(sorted({r["src"].split(":")[0] for r in recs}))))
            continue
        unexplained = False
        for rec, field, exp, got in bad:
            key = (rel, rec["src"].split(":")[0], str(rec.get("cport") or ""), field)
            if key in EXPLAINED:
                seen_explained.add(key)
                print("known %s %s port %s %s: expected %r, smtpscope %r\n      %s" %
                      (rel, key[1], key[2], field, exp, got, EXPLAINED[key]))
            else:
                unexplained = True
                failures.append("%s: %s (client port %s) %s: expected %r, smtpscope %r" %
                                (rel, rec["src"], rec.get("cport"), field, exp, got))
                print("DIFF  %s: %s (client port %s) %s: expected %r, smtpscope %r" %
                      (rel, rec["src"], rec.get("cport"), field, exp, got))
        if not unexplained:
            nexpl += 1
    for key in sorted(set(EXPLAINED) - seen_explained):
        failures.append("explained disagreement no longer occurs: %r" % (key,))
        print("STALE %r" % (key,))
    print("corpus: %d captures, %d agree, %d with explained disagreements, "
          "%d no expectation, %d failures" % (ncap, nagree, nexpl, nnone, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
