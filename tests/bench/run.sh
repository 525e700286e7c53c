#!/bin/sh
# make bench: smtpscope's batch replay (decoding, incident rules and JSON
# on) against the floor, a bare libpcap pcap_next_ex() loop that touches
# every byte of the same file (tests/bench/bare.c), on five shapes of
# traffic that gen.py writes deterministically:
#   mixed    ~500 MB, half SMTP with 2-60 KiB bodies, half background
#   smtp     the same size, no background
#   noise90  the same size, nine tenths background
#   short    100,000 short sessions (1-8 KiB), 2,048 open at a time
#   lossy    retransmissions, reordering, lost ACKs and holes
# Each round runs the floor, smtpscope and tcpdump with a port filter in
# turn; the median of the rounds' ratios to the floor is quoted.  tshark
# runs once per shape on the first BENCH_TSHARK_PKTS packets, against the
# floor on the same packets.  smtpscope's records are checked against the
# generator's ground truth (tests/bench/truth.py); a mismatch fails.
# Not part of make check: speed lives here, not in tests.
#   BENCH_SCALE  percent of the default sizes (default 100)
#   BENCH_RUNS   rounds per shape (default 5)
#   BENCH_SHAPES the shapes to run (default all five)
#   BENCH_TSHARK 0 to leave tshark out; BENCH_TSHARK_PKTS (default 200000)
set -eu
cd "$(dirname "$0")/../.."
: "${SMTPSCOPE:=./smtpscope}" "${BUILD:=build}"
SCALE=${BENCH_SCALE:-100} RUNS=${BENCH_RUNS:-5}
SHAPES=${BENCH_SHAPES:-mixed smtp noise90 short lossy}
TPKTS=${BENCH_TSHARK_PKTS:-200000}
dir=$BUILD/bench
mkdir -p "$dir"
cc -O2 -o "$dir/bare" tests/bench/bare.c $(pkg-config --cflags --libs libpcap)

. tests/bench/shapes.sh
run() {	# label command...: one timed run; appends "label_ wall rss user sys"
	l=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$dir/t" "$@" >/dev/null 2>"$dir/err" ||
	    { echo "bench: $* failed:" >&2; tail -3 "$dir/err" >&2; exit 1; }
	echo "${l}_ $(tail -1 "$dir/t")" >>"$dir/times"
}
median() {	# label: the median of column 2 of that label's lines in $dir/times
	grep "^$1 " "$dir/times" | awk '{print $2}' | sort -g |
	    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
col() {	# label column: the largest value of that column (peak RSS)
	grep "^$1 " "$dir/times" | awk -v c="$2" 'BEGIN {m = 0} $c > m {m = $c} END {print m}'
}

printf 'smtpscope %s, %s, %s cores, %s\n' "$("$SMTPSCOPE" --version 2>&1 | head -1 | awk '{print $NF}')" \
    "$(uname -m)" "$(nproc)" "$(date -u +%Y-%m-%d)"
printf '%-8s %-9s %8s %8s %9s %9s %8s %7s\n' shape reader wall MB/s kpkts/s sess/s 'RSS MiB' ratio
fail=0
for shape in $SHAPES; do
	cap=$(shape_cap "$shape")
	cat "$cap" >/dev/null	# warm the page cache
	mb=$(stat -c %s "$cap")
	pk=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$cap.truth")
	ss=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"])' "$cap.truth")
	: >"$dir/times"
	for i in $(seq "$RUNS"); do
		run floor "$dir/bare" "$cap"
		run smtpscope "$SMTPSCOPE" -b -r "$cap" --json "$dir/out.json"
		run tcpdump tcpdump -n -r "$cap" -w /dev/null 'tcp port 25'
	done
	# The ratio of each round, smtpscope's and tcpdump's wall time over the floor's.
	paste -d' ' $(for r in floor smtpscope tcpdump; do grep "^${r}_ " "$dir/times" | awk '{print $2}' >"$dir/c.$r"; echo "$dir/c.$r"; done) |
	    awk '{printf "ratio.smtpscope %f\nratio.tcpdump %f\n", $2 / $1, $3 / $1}' >>"$dir/times"
	floor=$(median floor_)
	for r in floor smtpscope tcpdump; do
		w=$(median "${r}_") rss=$(col "${r}_" 3)
		ratio=$( [ "$r" = floor ] && echo 1.00 || median "ratio.$r")
		printf '%-8s %-9s %7.2fs %8.0f %9.0f %9.0f %8.1f %6.2fx\n' "$shape" "$r" "$w" \
		    "$(echo "$mb $w" | awk '{print $1 / 1e6 / $2}')" \
		    "$(echo "$pk $w" | awk '{print $1 / 1e3 / $2}')" \
		    "$(echo "$ss $w" | awk '{print $1 / $2}')" \
		    "$(echo "$rss" | awk '{print $1 / 1024}')" "$ratio"
	done
	if command -v tshark >/dev/null && [ "${BENCH_TSHARK:-1}" = 1 ]; then
		: >"$dir/times"
		run floor "$dir/bare" "$cap" "$TPKTS"
		run tshark tshark -n -r "$cap" -c "$TPKTS" -Y smtp -T fields -e smtp.req.command
		tw=$(median tshark_) fw=$(median floor_)
		printf '%-8s %-9s %7.2fs %8s %9.0f %9s %8.1f %6.1fx  (first %d packets)\n' "$shape" tshark \
		    "$tw" - "$(echo "$TPKTS $tw" | awk '{print $1 / 1e3 / $2}')" - \
		    "$(col tshark_ 3 | awk '{print $1 / 1024}')" \
		    "$(echo "$tw $fw" | awk '{print ($2 > 0) ? $1 / $2 : 0}')" "$TPKTS"
	fi
	t=$(/usr/bin/python3 tests/bench/truth.py "$cap.truth" "$dir/out.json") || fail=1
	printf '%-8s truth: %s (%s sessions, %s packets, %s MB)\n' "$shape" "$t" "$ss" "$pk" "$((mb / 1000000))"
done
exit $fail
