#!/usr/bin/python3
"""outcheck.py - parse smtpscope's output files strictly and print the
facts the shell tests assert on, one per line, tab-separated.

  jsonl FILE        JSON Lines session records: every line must be one JSON
                    object with the record's keys.  Prints, per session,
                        session UID CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT END STATE TYPES
                    (TYPES: the incident types joined by ",", or "-"), and
                    per incident
                        incident UID TYPE SEVERITY
  csv FILE FIELD... the CSV report, read with the csv module: the header
                    must name every FIELD; prints "row" and the FIELDs of
                    each row (values shown with repr(), so a leading quote
                    or space is visible and tabs cannot split a column)
  rjson FILE        the JSON report: prints "incidents N", "sessions N" and
                    "type TYPE COUNT" per type

Exit status 0 when the file parses, 1 (message on stderr) when it does not.
What it does not do: decide whether the facts are right; the tests do.
Our own code; standard library only.
"""
import csv
import json
import sys

SESSION_KEYS = ("uid", "client_ip", "client_port", "server_ip", "server_port",
                "end", "state", "incidents")


def clean(v):
    return str(v).replace("\t", " ").replace("\n", " ")


def do_jsonl(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw and not raw.endswith(b"\n"):
        raise ValueError("last line is not terminated (a partial record)")
    for n, line in enumerate(raw.decode("utf-8").split("\n")[:-1], 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise ValueError("line %d is not JSON: %s" % (n, e))
        if not isinstance(rec, dict):
            raise ValueError("line %d is not a JSON object" % n)
        missing = [k for k in SESSION_KEYS if k not in rec]
        if missing:
            raise ValueError("line %d lacks %s" % (n, ", ".join(missing)))
        types = [i["type"] for i in rec["incidents"]]
        print("\t".join(clean(x) for x in (
            "session", rec["uid"], rec["client_ip"], rec["client_port"],
            rec["server_ip"], rec["server_port"], rec["end"], rec["state"],
            ",".join(types) or "-")))
        for i in rec["incidents"]:
            print("\t".join(clean(x) for x in (
                "incident", rec["uid"], i["type"], i["severity"])))


def do_csv(path, fields):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    if not rows:
        raise ValueError("no header")
    head = rows[0]
    idx = []
    for fld in fields:
        if fld not in head:
            raise ValueError("header lacks %r: %r" % (fld, head))
        idx.append(head.index(fld))
    for n, r in enumerate(rows[1:], 2):
        if len(r) != len(head):
            raise ValueError("row %d has %d fields, header %d" % (n, len(r), len(head)))
        print("\t".join(["row"] + [repr(r[i]) for i in idx]))


def do_rjson(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("report") != "smtpscope":
        raise ValueError("not a smtpscope report: %r" % doc.get("report"))
    print("incidents\t%d" % doc["totals"]["incidents"])
    print("sessions\t%d" % doc["totals"]["sessions"])
    for t in doc["types"]:
        print("type\t%s\t%d" % (t["type"], t["count"]))


def main(argv):
    if len(argv) < 3 or argv[1] not in ("jsonl", "csv", "rjson"):
        sys.stderr.write("usage: outcheck.py jsonl|csv|rjson FILE [FIELD...]\n")
        return 2
    try:
        if argv[1] == "jsonl":
            do_jsonl(argv[2])
        elif argv[1] == "csv":
            do_csv(argv[2], argv[3:])
        else:
            do_rjson(argv[2])
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as e:
        sys.stderr.write("outcheck %s %s: %s\n" % (argv[1], argv[2], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
