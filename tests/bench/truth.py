#!/usr/bin/python3
"""truth.py - check smtpscope's JSON Lines against gen.py's ground truth.

usage: truth.py TRUTH.json RECORDS.jsonl

Prints "ok" or what differs (sessions, incidents by type, sessions with a
hole) and exits 1 on any difference, so a speed-up that loses or invents
sessions shows in the benchmark.
"""
import collections
import json
import sys


def main():
    truth = json.load(open(sys.argv[1]))
    n, gaps, inc = 0, 0, collections.Counter()
    with open(sys.argv[2]) as f:
        for line in f:
            r = json.loads(line)
            n += 1
            gaps += bool(r.get("gap"))
            inc.update(i["type"] for i in r.get("incidents", []))
    bad = []
    if n != truth["sessions"]:
        bad.append("sessions %d, expected %d" % (n, truth["sessions"]))
    if dict(inc) != truth["incidents"]:
        bad.append("incidents %s, expected %s" % (dict(inc), truth["incidents"]))
    if gaps != truth["gap_sessions"]:
        bad.append("sessions with a hole %d, expected %d" % (gaps, truth["gap_sessions"]))
    print("; ".join(bad) if bad else "ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
