#!/bin/sh
# make bench-flood: peak memory against the number of flows (not a test).
# For 10k, 100k and 1M half-open SYNs (tests/bench/flood.py), and for 6k
# and 60k flows that each got a greeting and stay open (every one a
# decoder session), the peak RSS of smtpscope -b at the default limits
# (flow cap 65536), and what that makes per flow or per session.
set -eu
cd "$(dirname "$0")/../.."
: "${SMTPSCOPE:=./smtpscope}" "${BUILD:=build}"
mkdir -p "$BUILD/bench"
rss() {	# capture: peak RSS in KiB of a batch run
	/usr/bin/time -f '%M' -o "$BUILD/bench/t" "$SMTPSCOPE" -b -r "$1" >/dev/null 2>&1 || true
	cat "$BUILD/bench/t"
}
gen() {	# name count [greet]
	[ -e "$BUILD/bench/$1.pcap" ] ||
	    /usr/bin/python3 tests/bench/flood.py "$BUILD/bench/$1.pcap" "$2" ${3:-}
}
gen flood-0 0
base=$(rss "$BUILD/bench/flood-0.pcap")
printf '%-40s %10s KiB\n' "no flood (2 sessions)" "$base"
for n in 10000 100000 1000000; do
	gen "flood-$n" "$n"
	k=$(rss "$BUILD/bench/flood-$n.pcap")
	f=$n; [ "$f" -gt 65536 ] && f=65536
	printf '%-40s %10s KiB  (%.2f KiB per tracked flow)\n' "$n half-open SYNs" "$k" \
	    "$(echo "$k $base $f" | awk '{print ($1 - $2) / $3}')"
done
for n in 6000 60000; do
	gen "greet-$n" "$n" greet
	k=$(rss "$BUILD/bench/greet-$n.pcap")
	printf '%-40s %10s KiB  (%.2f KiB per open session)\n' "$n open sessions (greeted)" "$k" \
	    "$(echo "$k $base $n" | awk '{print ($1 - $2) / $3}')"
done
