#!/bin/sh
# make bench: time smtpscope's batch replay of a large synthetic capture
# against a bare pcap_next_ex() loop over the same file (tests/bench/bare.c)
# and tshark, and report the ratios and peak memory.  Not part of make
# check: speed lives here, not in tests.
#   BENCH_SESSIONS (default 20000), BENCH_NOISE (percent, default 50)
set -eu
cd "$(dirname "$0")/../.."
: "${SMTPSCOPE:=./smtpscope}" "${BUILD:=build}"
S=${BENCH_SESSIONS:-20000} N=${BENCH_NOISE:-50}
cap=$BUILD/bench/bench-$S-$N.pcap
mkdir -p "$BUILD/bench"
[ -e "$cap" ] || { echo "generating $cap ..."; /usr/bin/python3 tests/bench/gen.py "$cap" "$S" "$N"; }
cc -O2 -o "$BUILD/bench/bare" tests/bench/bare.c $(pkg-config --cflags --libs libpcap)
cat "$cap" >/dev/null	# warm the page cache
best() {	# command...: the best of 5 wall-clock runs, in seconds, and peak RSS
	b=999999 m=0
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%e %M' -o "$BUILD/bench/t" "$@" >/dev/null 2>&1 || true
		read -r t k <"$BUILD/bench/t"
		b=$(echo "$t $b" | awk '{print ($1 < $2) ? $1 : $2}')
		m=$k
	done
	echo "$b $m"
}
size=$(stat -c %s "$cap")
set -- $(best "$BUILD/bench/bare" "$cap"); tb=$1 mb=$2
set -- $(best "$SMTPSCOPE" -b -r "$cap" --json /dev/null); ts=$1 ms=$2
printf '%-34s %8s s %8s KiB\n' "capture: $(basename "$cap") ($((size / 1048576)) MiB)" "" ""
printf '%-34s %8s s %8s KiB\n' "bare pcap_next_ex loop" "$tb" "$mb"
printf '%-34s %8s s %8s KiB  (%.2fx the bare loop)\n' "smtpscope -b --json" "$ts" "$ms" \
    "$(echo "$ts $tb" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
if command -v tshark >/dev/null && [ "${BENCH_TSHARK:-1}" = 1 ]; then
	set -- $(best tshark -r "$cap" -Y smtp -T fields -e smtp.req.command); tt=$1 mt=$2
	printf '%-34s %8s s %8s KiB  (%.1fx)\n' "tshark -Y smtp" "$tt" "$mt" \
	    "$(echo "$tt $tb" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
fi
