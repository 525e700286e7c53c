#!/bin/sh
# t-limits.sh - the limit options do what the README's table says (issue
# 12): each changes its cap, and the cap's effect is counted.
#   --max-recipients 1   the second recipient of pipelining.pcap dropped
#   --max-pipeline 4     more commands refused a queue slot than at 128
#   --max-evidence-flow  a flagged session's packets past the cap not kept
#   --max-ui-memory 1    the live view keeps fewer rows, oldest dropped
#   out-of-range values  refused with a message, exit 2
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python

rc_of() { "$SMTPSCOPE" "$@" >"$T/last.out" 2>"$T/last.err" </dev/null; echo $?; }

"$SMTPSCOPE" -r pcaps/pipelining.pcap --json "$T/r.jsonl" -b --max-recipients 1 >/dev/null 2>&1
t_eq recipients-cap "$("$PY" -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
print([(len(t["rcpt_to"]), t["rcpts_dropped"]) for t in r["transactions"]])' "$T/r.jsonl")" "[(1, 1)]"

"$PY" tests/bench/hostile.py "$T/pipe.pcap" pipeline 1000
q() { "$SMTPSCOPE" -b -r "$T/pipe.pcap" "$@" | awk '$3 == "queue-full" {print $4}'; }
t_eq pipeline-default "$(q)" 872
t_eq pipeline-4 "$(q --max-pipeline 4)" 996

ev() { "$SMTPSCOPE" -b -r pcaps/tls12-expired-cert.pcap -w "$T/ev.pcap" "$@" | grep '^  evidence: '; }
t_eq evidence-default "$(ev)" "  evidence: 1 flagged sessions, 30 packets kept, 0 not kept (a cap was hit), 0 evicted"
t_eq evidence-flow-cap "$(ev --max-evidence-flow 4096)" "  evidence: 1 flagged sessions, 22 packets kept, 8 not kept (a cap was hit), 0 evicted"

t_eq bad-recipients "$(rc_of -r pcaps/pipelining.pcap --max-recipients 0)" 2
t_grep bad-recipients-msg 'max-recipients' "$T/last.err"
t_eq bad-ui-memory "$(rc_of -r pcaps/pipelining.pcap --max-ui-memory 0)" 2
t_eq bad-frags "$(rc_of -r pcaps/pipelining.pcap --max-frags 10)" 2

if command -v tmux >/dev/null 2>&1; then
	"$PY" tests/bench/hostile.py "$T/tiny.pcap" tiny 3000
	TM="tmux -L smtpscope-limits-$$ -f /dev/null"
	t_at_exit "$TM kill-server 2>/dev/null"
	$TM new-session -d -s ui -x 100 -y 24 \
	    "TERM=screen \"$SMTPSCOPE\" -r \"$T/tiny.pcap\" --max-ui-memory 1; sleep 60"
	t_poll 400 sh -c "$TM capture-pane -p -t ui | grep -q 'done 100%'" ||
	    t_fail ui-replay "the live view did not finish the replay"
	$TM capture-pane -p -t ui >"$T/ui.txt"
	t_grep ui-rows-capped '^ sessions 1/[0-9]+ of [0-9]+ .* [0-9]+ oldest dropped' "$T/ui.txt"
	kept=$(sed -n 's/^ sessions 1\/\([0-9]*\) of.*/\1/p' "$T/ui.txt")
	t_check ui-rows-fit-1MiB sh -c '[ "$1" -lt 3002 ] && [ "$1" -gt 1000 ]' _ "${kept:-0}"
	$TM send-keys -t ui q
fi
t_done
