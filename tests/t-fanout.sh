#!/bin/sh
# t-fanout.sh - two smtpscope processes in one kernel PACKET_FANOUT group
# (--fanout) share a live capture by flow: every session is decoded whole
# by exactly one of them (issue 13).
#
# A veth pair made here (scope-f0/scope-f1).  Two smtpscope -i scope-f1 -b
# --fanout 4243 --json run; tcpreplay sends a capture of 300 generated
# sessions (tests/bench/gen.py, with its ground truth) into scope-f0.
# After SIGINT: both exit 0, neither saw a kernel drop, each decoded some
# of the sessions, none twice and none cut (mid-stream or one-sided: a
# flow whose directions went to different members would be), and their
# records together match the ground truth (tests/bench/truth.py).  Then
# --fanout on a file is refused.  Skips (77) without root, veth support
# or tcpreplay.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_root
t_need ip tcpreplay
t_need_python
IF=scope-f0 PEER=scope-f1 GROUP=4243
ip link del "$IF" 2>/dev/null
ip link add "$IF" type veth peer name "$PEER" 2>/dev/null &&
    ip link set "$IF" mtu 9000 up && ip link set "$PEER" mtu 9000 up ||
    t_skip "cannot make a veth pair here"
t_at_exit "ip link del '$IF' 2>/dev/null"

"$PY" tests/bench/gen.py "$T/cap.pcap" 300 0 --truth "$T/cap.truth" >/dev/null ||
    { t_fail gen "gen.py failed"; t_done; }

for i in 1 2; do
	t_bg SP$i "$SMTPSCOPE" -i "$PEER" -b -Z root --fanout "$GROUP" \
	    --json "$T/s$i.json" >"$T/s$i.out" 2>"$T/s$i.err" </dev/null
done
for i in 1 2; do
	t_poll 200 grep -q "listening on $PEER" "$T/s$i.err" ||
	    { t_fail start$i "did not start" "$T/s$i.err"; t_done; }
done
# At 200 Mbit/s: well inside what one process keeps up with, so a drop
# would be a fault of the test's machine, not a finding.
tcpreplay -q -i "$IF" --mbps=200 "$T/cap.pcap" >"$T/replay.out" 2>&1 ||
    t_fail replay "tcpreplay failed" "$T/replay.out"
# Stopped once every session's record is out (a live capture writes
# each as its session ends), or after the poll's bound.
t_poll 200 sh -c "[ \$(cat '$T/s1.json' '$T/s2.json' 2>/dev/null | wc -l) -ge 300 ]" || true
for i in 1 2; do
	eval "p=\$SP$i"
	kill -INT "$p"
	t_wait_exit "$p" 200
	t_eq exit-0-$i "$?" 0
	t_grep no-drops-$i '^  kernel: [0-9]+ received, 0 dropped, 0 dropped by the interface$' "$T/s$i.out"
	n=$(wc -l <"$T/s$i.json")
	t_check share-$i [ "$n" -gt 0 ]
done
cat "$T/s1.json" "$T/s2.json" >"$T/all.json"
t_eq sessions-once "$(jq -r .uid "$T/all.json" | sort | uniq -d | wc -l)" 0
t_eq none-cut "$(jq -c 'select(.mid_stream or .one_sided)' "$T/all.json" | wc -l)" 0
t_eq truth "$("$PY" tests/bench/truth.py "$T/cap.truth" "$T/all.json" 2>&1 | tail -1)" ok

"$SMTPSCOPE" -r "$T/cap.pcap" --fanout 1 >"$T/file.out" 2>&1
t_eq file-refused "$?" 2
t_grep file-said 'fanout shares a live capture: it needs -i' "$T/file.out"
t_done
