#!/bin/sh
# t-flood.sh - a SYN flood costs the flow table, not gigabytes, and hides
# nothing (issue 14).
#
# tests/bench/flood.py writes 100,000 half-open SYNs to two servers with
# two real SMTP sessions inside (one halfway, one at the end); a second
# capture has 1,000,000.  smtpscope -b with -w, --json and a report, at
# the default limits:
#   - the two real sessions are decoded and reported: two batch lines, two
#     JSON records, their incident, and their packets (all of them) in the
#     evidence pcap;
#   - the flood is summarised once: the summary and the report count the
#     flows without payload, half-open, by server; no session line each;
#   - peak memory (ru_maxrss of the child, read by python) stays below
#     96 MiB for 100,000, and the 1,000,000 flood costs no more than the
#     100,000 one plus 8 MiB: flat at the flow cap's cost.  Under the
#     sanitizers (their shadow memory) the memory bounds are not checked.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python

# rss NAME ARGS...: run the binary, output in $T/NAME.out/.err, peak RSS
# in KiB on stdout; the exit status in $T/NAME.rc.
rss() {
	_n=$1
	shift
	"$PY" -c 'import resource, subprocess, sys
with open(sys.argv[1] + ".out", "wb") as o, open(sys.argv[1] + ".err", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e, stdin=subprocess.DEVNULL)
open(sys.argv[1] + ".rc", "w").write("%d\n" % rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$T/$_n" "$SMTPSCOPE" "$@"
}

sanitized=false
ldd "$SMTPSCOPE" 2>/dev/null | grep -q 'libasan' && sanitized=true

"$PY" tests/bench/flood.py "$T/flood100k.pcap" 100000 || t_skip "cannot write the flood capture"
kb=$(rss f100k -b -r "$T/flood100k.pcap" --json "$T/f.jsonl" --report "$T/f.txt" -w "$T/ev.pcap")
t_eq flood-exit-0 "$(cat "$T/f100k.rc")" 0

# The two real sessions, and nothing else, as sessions.
t_eq flood-batch-lines "$(grep -c ' -> 198\.51\.100\.2[56]:25 ' "$T/f100k.out")" 2
t_grep flood-real-1 '^2023-.* 192\.0\.2\.10:40001 -> 198\.51\.100\.25:25 helo=app\.example .*\[rcpt-rejected\]' "$T/f100k.out"
t_grep flood-real-2 '^2023-.* 192\.0\.2\.10:40002 -> 198\.51\.100\.25:25 helo=app\.example .*\[rcpt-rejected\]' "$T/f100k.out"
t_eq flood-json-records "$(wc -l <"$T/f.jsonl")" 2
t_grep flood-summary-count '^  flows without payload \(no session\): 100000, 100000 of them half-open' "$T/f100k.out"
t_grep flood-summary-servers '^    to: 198\.51\.100\.2[56] x50000, 198\.51\.100\.2[56] x50000$' "$T/f100k.out"
t_grep flood-report-count 'flows without payload \(no session\): 100000, 100000 of them half-open' "$T/f.txt"
t_grep flood-report-limit 'limits hit: flow table full, [0-9]+ flows evicted \(--max-flows\)' "$T/f.txt"

# Every packet of the two flagged sessions is in the evidence pcap (15
# each: handshake, 9 data segments, FINs and the last ACK, as flood.py
# writes them; 4 port pairs), and no packet of the flood.
n=$("$PY" -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
o, n, ports = 24, 0, set()
while o + 16 <= len(d):
    cl = struct.unpack("<I", d[o + 8:o + 12])[0]
    f = d[o + 16:o + 16 + cl]
    ports.add(struct.unpack("!HH", f[34:38]))
    o += 16 + cl
    n += 1
print(n, len(ports))' "$T/ev.pcap")
t_eq flood-evidence-packets "$n" "30 4"

if $sanitized; then
	echo "note: sanitizer build: memory bounds not checked (peak $kb KiB)"
else
	t_check flood-100k-below-96MiB [ "$kb" -lt $((96 * 1024)) ]
	"$PY" tests/bench/flood.py "$T/flood1m.pcap" 1000000 || t_skip "cannot write the 1M flood"
	kb1m=$(rss f1m -b -r "$T/flood1m.pcap" --json "$T/f1m.jsonl" --report "$T/f1m.txt" \
	    -w "$T/ev1m.pcap")
	t_eq flood-1m-exit-0 "$(cat "$T/f1m.rc")" 0
	t_eq flood-1m-batch-lines "$(grep -c ' -> 198\.51\.100\.2[56]:25 ' "$T/f1m.out")" 2
	t_check flood-1m-flat [ "$kb1m" -le $((kb + 8 * 1024)) ]
	echo "peak RSS: 100k half-open flows $kb KiB, 1M $kb1m KiB"
	rm -f "$T/flood1m.pcap"
fi
t_done
