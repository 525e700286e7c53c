#!/bin/sh
# Rewrite tests/golden/NAME.jsonl from the current binary for the named
# captures (or all that have a golden file).  Review the diff by hand
# against tshark before committing: a golden file is a claim of truth.
set -eu
cd "$(dirname "$0")/../.."
: "${SMTPSCOPE:=./smtpscope}"
names="$*"
[ -n "$names" ] || names=$(for f in tests/golden/*.jsonl; do basename "$f" .jsonl; done)
for name in $names; do
	cap=pcaps/$name.pcap
	[ -e "$cap" ] || cap=pcaps/$name.pcapng
	set +e
	"$SMTPSCOPE" -r "$cap" -P all --json - -b 2>/dev/null |
	    /usr/bin/python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    for k in ("transcript_lines","transcript_dropped"):
        d.pop(k, None)
    print(json.dumps(d, ensure_ascii=False))' >"tests/golden/$name.jsonl"
	set -e
	echo "wrote tests/golden/$name.jsonl"
done
