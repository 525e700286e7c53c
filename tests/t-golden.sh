#!/bin/sh
# Golden tests: for every capture in pcaps/ that has an expected record file
# tests/golden/NAME.jsonl, run the real binary and compare the JSON records
# field by field (tests/jsoncmp.py).  The expected files were produced by
# smtpscope and then checked by hand against tshark's view of the capture
# and the story in pcaps/README.md; `sh tests/golden/update.sh` rewrites
# them (review the diff before committing).
set -u
cd "$(dirname "$0")/.."
: "${SMTPSCOPE:=./smtpscope}"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: /usr/bin/python3 is needed"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0 bad=0
for exp in tests/golden/*.jsonl; do
	[ -e "$exp" ] || continue
	name=$(basename "$exp" .jsonl)
	cap=""
	for ext in pcap pcapng; do
		[ -e "pcaps/$name.$ext" ] && cap="pcaps/$name.$ext"
	done
	if [ -z "$cap" ]; then
		echo "FAIL $name: no capture pcaps/$name.pcap for $exp"
		bad=$((bad + 1)); continue
	fi
	n=$((n + 1))
	"$SMTPSCOPE" -r "$cap" -P all --json "$tmp/$name.jsonl" -b >/dev/null 2>"$tmp/$name.err"
	rc=$?
	want_rc=0
	[ -e "tests/golden/$name.rc" ] && want_rc=$(cat "tests/golden/$name.rc")
	if [ "$rc" -ne "$want_rc" ]; then
		echo "FAIL $name: exit $rc, expected $want_rc"; cat "$tmp/$name.err"
		bad=$((bad + 1)); continue
	fi
	if ! $PY tests/jsoncmp.py "$exp" "$tmp/$name.jsonl" >"$tmp/$name.diff"; then
		echo "FAIL $name:"; sed 's/^/  /' "$tmp/$name.diff"
		bad=$((bad + 1)); continue
	fi
	echo "ok $name"
done
[ "$n" -gt 0 ] || { echo "FAIL: no golden files found"; exit 1; }
echo "$n captures compared, $bad failed"
[ "$bad" -eq 0 ]
