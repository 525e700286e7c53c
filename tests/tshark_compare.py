#!/usr/bin/python3
"""tshark_compare.py - smtpscope's SMTP view against tshark's.

usage: tshark_compare.py SMTPSCOPE CAPTURE...

For each capture: the number of client commands, and the MAIL FROM and
RCPT TO addresses in order, as tshark's SMTP dissector reports them
(smtp.req.command, smtp.req.parameter) and as smtpscope's JSON does
(commands, transactions[].mail_from, transactions[].rcpt_to).  Every
difference must be explained in EXPLAINED (after looking at the bytes);
an explained difference that no longer occurs is a failure too, so the
table stays true.  Standard library only.
"""
import json
import os
import re
import subprocess
import sys

EXPLAINED = {
    ("bdat.pcap", "commands"):
        "tshark 4.0 does not dissect BDAT as a command (frames 13-18 carry no "
        "smtp.req.command); smtpscope counts EHLO, MAIL, RCPT, three BDAT and "
        "QUIT: 7, which the bytes show",
    ("tcp-overlap.pcap", "commands"):
        "the DATA command is retransmitted in a segment that starts 6 bytes "
        "early with 6 different bytes; tshark does not find a command in that "
        "segment, smtpscope keeps the first copy of the overlapping bytes "
        "(its documented policy) and decodes DATA",
    ("snaplen-short.pcap", "commands"):
        "captured with snaplen 60: 6 payload bytes per packet; both read "
        "fragments, tshark 3 (it parses the 6-byte stubs on their own), "
        "smtpscope 2 (the stubs are reassembled with the gaps declared and "
        "the lines cut at each gap are dropped): neither can be right",
    ("smtputf8.pcap", "mail_from"):
        "the address is UTF-8 on the wire (SMTPUTF8, RFC 6531: 'ren' c3 a9 "
        "'@'); tshark 4.0 decodes the parameter as ASCII and replaces each "
        "octet above 0x7f with U+FFFD, smtpscope keeps the UTF-8",
    ("smtputf8.pcap", "rcpt_to"):
        "as for mail_from: 'jos' c3 a9 '@' on the wire, U+FFFD twice in tshark",
    ("unsupported-linktype.pcap", "commands"):
        "IEEE 802.11 link type: tshark decodes it, smtpscope refuses it with "
        "a clear error (exit 1), as its supported link types are Ethernet, "
        "SLL/SLL2, NULL/LOOP and raw IP",
}


def tshark_view(cap):
    out = subprocess.run(
        ["tshark", "-r", cap, "-Y", "smtp.req.command", "-T", "fields",
         "-E", "occurrence=a", "-E", "separator=\t", "-E", "aggregator=\x1f",
         "-e", "smtp.req.command", "-e", "smtp.req.parameter"],
        capture_output=True, check=False).stdout.decode("utf-8", "replace")
    ncmd, froms, rcpts = 0, [], []
    for line in out.splitlines():
        f = line.split("\t")
        cmds = f[0].split("\x1f") if f[0] else []
        params = f[1].split("\x1f") if len(f) > 1 else []
        params += [""] * (len(cmds) - len(params))
        for c, p in zip(cmds, params):
            ncmd += 1
            m = re.match(r"(?i)(FROM|TO):\s*<([^>]*)>", p)
            if c.upper() == "MAIL" and m:
                froms.append(m.group(2))
            elif c.upper() == "RCPT" and m:
                rcpts.append(m.group(2))
    return ncmd, froms, rcpts


def our_view(binary, cap):
    p = subprocess.run([binary, "-r", cap, "--json", "-"], capture_output=True,
                       check=False)
    ncmd, froms, rcpts = 0, [], []
    for line in p.stdout.decode("utf-8").splitlines():
        s = json.loads(line)
        ncmd += s.get("commands", 0)
        for t in s.get("transactions", []):
            if t.get("mail_from") is not None:
                froms.append(t["mail_from"])
            rcpts.extend(t.get("rcpt_to") or [])
    return ncmd, froms, rcpts


def main():
    binary, caps = sys.argv[1], sys.argv[2:]
    seen, fails, agree = set(), 0, 0
    for cap in caps:
        name = os.path.basename(cap)
        theirs, ours = tshark_view(cap), our_view(binary, cap)
        diff = False
        for i, field in enumerate(("commands", "mail_from", "rcpt_to")):
            if theirs[i] == ours[i]:
                continue
            diff = True
            key = (name, field)
            if key in EXPLAINED:
                seen.add(key)
                print("known %s %s: tshark %r, smtpscope %r\n      %s" %
                      (name, field, theirs[i], ours[i], EXPLAINED[key]))
            else:
                fails += 1
                print("DIFF  %s %s: tshark %r, smtpscope %r" % (name, field, theirs[i], ours[i]))
        if not diff:
            agree += 1
    for key in sorted(set(EXPLAINED) - seen):
        if any(os.path.basename(c) == key[0] for c in caps):
            fails += 1
            print("STALE %r: no longer differs; remove it from EXPLAINED" % (key,))
    print("tshark: %d captures, %d agree, %d explained, %d unexplained" %
          (len(caps), agree, len(seen), fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
