#!/usr/bin/python3
"""Compare two JSON Lines files of session records field by field.

usage: jsoncmp.py EXPECTED ACTUAL

Records are matched in order.  Every key of the expected record must be in
the actual one with an equal value (nested objects and arrays are compared
recursively, and each difference is printed with its path, e.g.
"session 1 (S...): transactions[0].rcpt_replies[1]: expected 550, got 250").
Keys the actual record has beyond the expected ones are allowed, so adding
a field does not break every golden file; removing or changing one does.
Exit 0 when equal, 1 when not, 2 on bad input.
"""
import json
import sys


def diff(path, exp, act, out):
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            out.append(f"{path}: expected an object, got {json.dumps(act)}")
            return
        for k, v in exp.items():
            if k not in act:
                out.append(f"{path}.{k}: missing")
            else:
                diff(f"{path}.{k}", v, act[k], out)
    elif isinstance(exp, list):
        if not isinstance(act, list):
            out.append(f"{path}: expected an array, got {json.dumps(act)}")
            return
        if len(exp) != len(act):
            out.append(f"{path}: expected {len(exp)} elements, got {len(act)}: {json.dumps(act)[:300]}")
        for i, (e, a) in enumerate(zip(exp, act)):
            diff(f"{path}[{i}]", e, a, out)
    elif exp != act or type(exp) != type(act):
        out.append(f"{path}: expected {json.dumps(exp)}, got {json.dumps(act)}")


def load(fn):
    recs = []
    with open(fn, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    recs.append(json.loads(line))
                except ValueError as e:
                    print(f"{fn}:{n}: not JSON: {e}")
                    sys.exit(2)
    return recs


def main():
    exp, act = load(sys.argv[1]), load(sys.argv[2])
    out = []
    if len(exp) != len(act):
        out.append(f"expected {len(exp)} sessions, got {len(act)}")
    for i, (e, a) in enumerate(zip(exp, act), 1):
        d = []
        diff("", e, a, d)
        out += [f"session {i} ({e.get('uid', '?')}){p}" for p in d]
    for line in out:
        print(line)
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
