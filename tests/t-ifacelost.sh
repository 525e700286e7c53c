#!/bin/sh
# t-ifacelost.sh - a live interface that goes away and comes back is
# reported and retried, not a silent hang (issue 12).
#
# A veth pair made here (sc0/sc1, 10.99.0.1/24, a static neighbour so a
# SYN leaves without ARP).  smtpscope -i sc0 -b runs; the pair is deleted
# (the capture's socket dies: "The interface disappeared"), smtpscope says
# so on standard error and keeps running; the pair is made again, and it
# says the interface is back; a SYN to 10.99.0.2:25 is then captured (the
# summary counts its flow); SIGINT ends it with exit 0 and a summary that
# counts the loss.  Then the same in the live view (tmux): its header says
# INTERFACE AWAY while it is, and no longer once it is back.  Skips (77)
# without root or without veth support.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_root
t_need ip
t_need_python
IF=scope-t0 PEER=scope-t1
mk() {
	ip link add "$IF" type veth peer name "$PEER" 2>/dev/null &&
	    ip link set "$IF" up && ip link set "$PEER" up &&
	    ip addr add 10.99.0.1/24 dev "$IF" &&
	    ip neigh replace 10.99.0.2 lladdr 02:00:00:00:99:02 dev "$IF" nud permanent
}
ip link del "$IF" 2>/dev/null
mk || t_skip "cannot make a veth pair here"
t_at_exit "ip link del '$IF' 2>/dev/null"

t_bg SP "$SMTPSCOPE" -i "$IF" -b -Z root >"$T/scope.out" 2>"$T/scope.err" </dev/null
t_poll 200 grep -q "listening on $IF" "$T/scope.err" || { t_fail start "did not start" "$T/scope.err"; t_done; }
ip link del "$IF"
t_poll 200 grep -q "lost interface $IF: " "$T/scope.err" ||
    t_fail lost-said "the loss of the interface was not reported" "$T/scope.err"
t_check still-running t_alive "$SP"
mk || t_fail remake "could not make the veth pair again"
t_poll 400 grep -q "interface $IF is back: capturing again" "$T/scope.err" ||
    t_fail back-said "the interface's return was not reported" "$T/scope.err"
"$PY" -c 'import socket
s = socket.socket()
s.settimeout(0.3)
try:
    s.connect(("10.99.0.2", 25))
except OSError:
    pass'
kill -INT "$SP"
t_wait_exit "$SP" 200
t_eq exit-0 "$?" 0
t_grep captured-after '^  flows without payload \(no session\): 1, 1 of them half-open' "$T/scope.out"
t_grep summary-counts '^  interface: went away 1 time, opened again 1; capturing$' "$T/scope.out"

# The live view says it too, in its header, while the interface is away.
if command -v tmux >/dev/null 2>&1; then
	TM="tmux -L smtpscope-iface-$$ -f /dev/null"
	t_at_exit "$TM kill-server 2>/dev/null"
	$TM new-session -d -s ui -x 100 -y 24 "TERM=screen \"$SMTPSCOPE\" -i $IF -Z root; sleep 60" ||
	    t_fail ui-start "tmux did not start"
	t_poll 200 sh -c "$TM capture-pane -p -t ui | grep -q 'pkts '" ||
	    t_fail ui-open "the live view did not open"
	ip link del "$IF"
	t_poll 200 sh -c "$TM capture-pane -p -t ui | sed -n 2p | grep -q 'INTERFACE AWAY, retrying'" ||
	    t_fail ui-away "the live view does not say the interface is away"
	mk || t_fail ui-remake "could not make the veth pair again"
	t_poll 400 sh -c "! $TM capture-pane -p -t ui | grep -q 'INTERFACE AWAY'" ||
	    t_fail ui-back "the live view still says the interface is away"
	t_ok ui-away-and-back
	$TM send-keys -t ui q
fi
t_done
