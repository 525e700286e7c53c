#!/bin/sh
# make bench-live: how fast live capture keeps up.  A capture of make
# bench is replayed with tcpreplay onto one end of a veth pair in a
# network namespace made for the run; smtpscope captures on the other end
# (-b, decoding, incident rules and JSON on, a 64 MiB kernel buffer) and
# is stopped with SIGTERM when the replay is done.  At each rate the
# kernel's drop count (from pcap_stats, in smtpscope's summary) is read
# and the sessions decoded are checked against the generator's ground
# truth; the highest rate with zero drops and every session is reported.
# Then the same with the kernel's PACKET_FANOUT: N processes in one
# fanout group (--fanout), the flows hashed among them, their JSON Lines
# concatenated: 1 to BENCH_FANOUT processes.  Needs root, ip(8) and
# tcpreplay.  The sender shares the machine: on 2 cores, tcpreplay's own
# top speed may be the limit, and the table says what it reached.
#   BENCH_SCALE        percent of the default capture sizes (default 100)
#   BENCH_LIVE_SHAPES  shapes of make bench to replay (default: mixed short)
#   BENCH_RATES        tcpreplay rates in Mbit/s (default 250 500 1000 2000
#                      top; top is as fast as tcpreplay goes)
#   BENCH_FANOUT       the most processes (default: the number of cores)
set -eu
cd "$(dirname "$0")/../.."
: "${SMTPSCOPE:=./smtpscope}" "${BUILD:=build}"
SCALE=${BENCH_SCALE:-100}
SHAPES=${BENCH_LIVE_SHAPES:-mixed short}
RATES=${BENCH_RATES:-250 500 1000 2000 top}
NFAN=${BENCH_FANOUT:-$(nproc)}
dir=$BUILD/bench
mkdir -p "$dir"
[ "$(id -u)" = 0 ] || { echo "bench-live: needs root (a network namespace)" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "bench-live: needs tcpreplay (apt-get install tcpreplay)" >&2; exit 2; }
. tests/bench/shapes.sh

ns=smtpscope-bench-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
for d in va vb; do
	ip -n "$ns" link set "$d" mtu 9000 up
done
in_ns() { ip netns exec "$ns" "$@"; }

# One run: capture, rate, processes.  Prints "drops Mbit/s kpkts/s load truth".
one() {
	cap=$1 rate=$2 n=$3 pids=
	rm -f "$dir"/live.*.json "$dir"/live.*.err "$dir"/live.*.out
	for i in $(seq "$n"); do
		fan=
		[ "$n" -gt 1 ] && fan="--fanout 4242"
		# -B 64 MiB, as a gateway would run it: the default 2 MiB ring
		# holds 2 ms at 10 Gbit/s.
		ip netns exec "$ns" "$SMTPSCOPE" -i vb -b -B 65536 $fan --json "$dir/live.$i.json" \
		    >"$dir/live.$i.out" 2>"$dir/live.$i.err" &
		pids="$pids $!"
	done
	# Until every one of them is capturing.
	for i in $(seq "$n"); do
		t=0
		until grep -q 'listening on' "$dir/live.$i.err" 2>/dev/null; do
			t=$((t + 1))
			[ "$t" -lt 100 ] || { echo "bench-live: smtpscope did not start:" >&2;
			    cat "$dir/live.$i.err" >&2; exit 1; }
			sleep 0.1
		done
	done
	if [ "$rate" = top ]; then r=--topspeed; else r=--mbps=$rate; fi
	in_ns tcpreplay -i va $r "$cap" >"$dir/live.tcpreplay" 2>&1 ||
	    { echo "bench-live: tcpreplay failed:" >&2; tail -5 "$dir/live.tcpreplay" >&2; exit 1; }
	sleep 1
	# smtpscope's CPU time (user and system, all processes) over the
	# replay's duration: its load, and so its headroom at this rate.
	tk=$(getconf CLK_TCK)
	cpu=$(for p in $pids; do cut -d' ' -f14,15 "/proc/$p/stat"; done | awk '{t += $1 + $2} END {print t}')
	secs=$(sed -n 's/^Actual: .* sent in \([0-9.]*\) seconds.*/\1/p' "$dir/live.tcpreplay")
	load=$(echo "$cpu $tk ${secs:-0}" | awk '{printf "%.0f%%", ($3 > 0) ? 100 * $1 / $2 / $3 : 0}')
	# SIGTERM, as a service manager stops it: the summary, with the
	# kernel's counts, is printed on the way out.
	kill -TERM $pids
	wait $pids || true
	drops=0
	for i in $(seq "$n"); do
		d=$(sed -n 's/.*kernel: [0-9]* received, \([0-9]*\) dropped, \([0-9]*\) dropped by the interface.*/\1 \2/p' \
		    "$dir/live.$i.out" | awk '{print $1 + $2}')
		[ -n "$d" ] || { echo "bench-live: no kernel statistics from smtpscope:" >&2;
		    tail -5 "$dir/live.$i.err" "$dir/live.$i.out" >&2; exit 1; }
		drops=$((drops + d))
	done
	cat "$dir"/live.*.json >"$dir/live.json"
	t=$(/usr/bin/python3 tests/bench/truth.py "$cap.truth" "$dir/live.json" 2>&1 | tail -1) || true
	got=$(sed -n 's/.*Rated: [0-9.]* Bps, \([0-9.]*\) Mbps, \([0-9.]*\) pps.*/\1 \2/p' \
	    "$dir/live.tcpreplay" | tail -1 | awk '{printf "%.0f %.0f", $1, $2 / 1000}')
	echo "$drops ${got:-? ?} $load $t"
}

printf 'smtpscope %s, %s, %s cores, %s\n' \
    "$("$SMTPSCOPE" --version 2>&1 | head -1 | awk '{print $NF}')" "$(uname -m)" "$(nproc)" \
    "$(date -u +%Y-%m-%d)"
printf '%-8s %-9s %-6s %10s %10s %8s %6s  %s\n' shape processes asked 'sent Mb/s' 'kpkts/s' drops CPU truth
for shape in $SHAPES; do
	cap=$(shape_cap "$shape")
	cat "$cap" >/dev/null	# warm the page cache
	for n in $(seq "$NFAN"); do
		best=none
		for rate in $RATES; do
			set -- $(one "$cap" "$rate" "$n")
			drops=$1 got=$2 kp=$3 load=$4
			shift 4
			printf '%-8s %-9s %-6s %10s %10s %8s %6s  %s\n' "$shape" "$n" "$rate" "$got" "$kp" "$drops" "$load" "$*"
			if [ "$drops" = 0 ] && [ "$1" = ok ]; then
				best="$got Mbit/s, $kp kpkts/s, CPU $load (asked $rate)"
			else
				break
			fi
		done
		printf '%-8s %s process(es): highest rate with no drop and every session: %s\n' \
		    "$shape" "$n" "$best"
	done
done
