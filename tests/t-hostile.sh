#!/bin/sh
# t-hostile.sh - hostile traffic under fixed memory (issue 12).
#
# tests/bench/hostile.py writes each hostile session between two real ones
# (flood.py's: EHLO, MAIL, a RCPT refused 550, QUIT):
#   longline   a 100 MiB command line with no line end
#   contlines  a reply of 1,000,000 continuation lines
#   bdat       BDAT announcing a 100 GB chunk, 1000 octets of it, a close
#   pipeline   1,000,000 pipelined NOOPs in one flight
#   overlap    10,000 TCP segments overlapping earlier ones with other
#              bytes, and 10,000 overlapping IPv4 fragments
#   tiny       100,000 tiny sessions, then 1,000,000 (not under the
#              sanitizers), whose peak must be the 100,000's plus at most 8 MiB
# For each, smtpscope -b --json at the default limits: it exits 0, both
# real sessions are decoded and reported (their batch lines and their
# rcpt-rejected), the hostile session's anomaly or finding is counted in
# the summary, and peak memory (ru_maxrss) stays under a bound: 32 MiB for
# one hostile session, 96 MiB for 100,000 tiny ones (each finished session
# is freed; what stays is the flow table's and the host memory's share).
# Under the sanitizers the memory bounds are not checked.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python

sanitized=false
ldd "$SMTPSCOPE" 2>/dev/null | grep -q 'libasan' && sanitized=true

# hostile MODE N BOUND_MIB: generate, run, check the real sessions and the
# memory; the summary is $T/MODE.out for the mode's own checks.
hostile() {
	_m=$1
	"$PY" tests/bench/hostile.py "$T/$_m.pcap" "$_m" "$2" ||
	    { t_fail "$_m-generate" "hostile.py failed"; return; }
	kb=$("$PY" -c 'import resource, subprocess, sys
with open(sys.argv[1] + ".out", "wb") as o, open(sys.argv[1] + ".err", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e, stdin=subprocess.DEVNULL)
open(sys.argv[1] + ".rc", "w").write("%d\n" % rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$T/$_m" \
	    "$SMTPSCOPE" -b -r "$T/$_m.pcap" --json "$T/$_m.jsonl")
	t_eq "$_m-exit-0" "$(cat "$T/$_m.rc")" 0
	t_grep "$_m-real-before" '^2023-.* 192\.0\.2\.10:40001 -> 198\.51\.100\.25:25 helo=app\.example .*\[rcpt-rejected\]' "$T/$_m.out"
	t_grep "$_m-real-after" '^2023-.* 192\.0\.2\.10:40002 -> 198\.51\.100\.25:25 helo=app\.example .*\[rcpt-rejected\]' "$T/$_m.out"
	if $sanitized; then
		echo "note: $_m: sanitizer build, memory not checked (peak $kb KiB)"
	else
		t_check "$_m-below-$3MiB" [ "$kb" -lt $(($3 * 1024)) ]
		echo "$_m: peak RSS $kb KiB"
	fi
	rm -f "$T/$_m.pcap"
}

hostile longline 100 32
t_grep longline-counted '^  smtp anomaly long-command +1 ' "$T/longline.out"
t_grep longline-cut '^  limit hit: 1 lines cut \(--max-line\)' "$T/longline.out"
t_grep longline-finding 'line-too-long +1$' "$T/longline.out"

hostile contlines 1000000 32
t_grep contlines-counted '^  smtp anomaly transcript-cap +[0-9]{6} ' "$T/contlines.out"
t_grep contlines-caps '^  limit hit: not kept per session: [0-9]{6} capabilities' "$T/contlines.out"

hostile bdat 100 32
t_grep bdat-note '\[message cut short: 1000 bytes in 1 BDAT chunk \(99999999000 more announced, never sent\)' "$T/bdat.out"
t_eq bdat-data-bytes "$("$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    for t in json.loads(l)["transactions"]:
        if t["bdat"]:
            print(t["data_bytes"], t["content_complete"])' "$T/bdat.jsonl")" "1000 False"

hostile pipeline 1000000 32
t_grep pipeline-counted '^  smtp anomaly queue-full +999872 ' "$T/pipeline.out"

hostile overlap 10000 32
t_grep overlap-frag '^  anomaly frag-overlap +10000 ' "$T/overlap.out"
t_grep overlap-tcp '^  anomaly tcp-overlap-conflict +[0-9]+ ' "$T/overlap.out"

hostile tiny 100000 96
t_eq tiny-all-decoded "$(wc -l <"$T/tiny.jsonl")" 100002
t_grep tiny-summary '^  sessions: 100002 finished, 0 open' "$T/tiny.out"
kb100k=$kb

# A million tiny sessions (not under the sanitizers: their speed): all
# decoded, and memory flat, no more than the 100,000's plus 8 MiB.
if ! $sanitized; then
	rm -f "$T/tiny.jsonl"
	hostile tiny 1000000 96
	t_grep tiny-1m-summary '^  sessions: 1000002 finished, 0 open' "$T/tiny.out"
	t_eq tiny-1m-all-decoded "$(wc -l <"$T/tiny.jsonl")" 1000002
	t_check tiny-1m-flat [ "$kb" -le $((kb100k + 8 * 1024)) ]
	rm -f "$T/tiny.jsonl"
fi
t_done
