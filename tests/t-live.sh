#!/bin/sh
# t-live.sh - smtpscope capturing live on lo while real SMTP happens.
#
# Two private Postfix instances on loopback (tests/lib/postfix.sh): one
# with smtpd_discard_ehlo_keywords = 8bitmime, smtputf8 standing in for
# Lotus Domino, one normal.  smtpscope runs with -i lo; our scripted
# clients (tests/live_client.py, which reuses pcaps/clients/smtpclient.py)
# talk to the servers; smtpscope is stopped with SIGINT (or SIGTERM) and
# what it wrote is checked with real parsers:
#
#   run A  the IIS-style abort (EHLO, RSET, QUIT) to "Domino" and a clean
#          8-bit delivery to the normal server; --json, --report .md, -w,
#          --syslog.  The JSON Lines hold exactly one 8bitmime-abort, on the
#          right endpoints, and the clean session with no incident; the
#          report names the incident and the Domino fix; -w's pcap opens in
#          tshark and holds the flagged session and nothing else; the
#          incident reached syslog.
#   run B  an abort plus a session still open (greeting and EHLO, then
#          silence) at SIGINT; --report .csv.  The open session's record is
#          written at the stop, with end "interrupted"; the CSV parses and
#          has the incident's row.
#   run C  one abort, stopped with SIGTERM; --report .json parses and
#          counts the incident.
#
# Needs root (capture, Postfix): CI runs as root.  Skips (77) without root,
# postfix or /usr/bin/python3; without tshark only the -w checks are
# skipped.  Every wait is a bounded poll for a condition; nothing asserts
# how long anything takes.  Addresses are 127.0.0.40-47, port 2540, and
# smtpscope's filter is narrowed to them, so other traffic on lo cannot
# disturb the counts.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh
. tests/lib/postfix.sh

t_need_binary
pf_require
t_need_python

PORT=2540
NORMAL=127.0.0.40	# mx1: every extension
DOMINO=127.0.0.41	# 8BITMIME and SMTPUTF8 discarded
IIS=127.0.0.46		# the client that aborts
CLEAN=127.0.0.47	# the client that delivers
HOLDER=127.0.0.45	# the client that is still talking at SIGINT
FILTER="net 127.0.0.40/29"
O=$T/out

pf_start "$DOMINO" "$PORT" myhostname=domino.northwind.test \
    "smtpd_discard_ehlo_keywords = 8bitmime, smtputf8" || exit 1
pf_start "$NORMAL" "$PORT" myhostname=mx1.northwind.test || exit 1

# --- syslog --------------------------------------------------------------------
# smtpscope logs with syslog(3), which writes to /dev/log.  Where no syslog
# daemon owns /dev/log, a tiny receiver is bound there for the test's
# duration (and removed after; only when it did not exist before).  Where a
# daemon runs, its journal or log file is read instead.
SYSLOG=none
if [ ! -e /dev/log ]; then
	t_at_exit '[ -S /dev/log ] && rm -f /dev/log'	# runs after the stop below
	t_bg SINK "$PY" tests/syslog_sink.py /dev/log "$T/syslog.txt" "$T/syslog.ready"
	if t_poll 100 test -e "$T/syslog.ready"; then SYSLOG=sink
	else echo "note: could not bind a receiver at /dev/log"; fi
elif command -v journalctl >/dev/null 2>&1 && journalctl -q -n 0 >/dev/null 2>&1; then
	SYSLOG=journal
else
	for f in /var/log/syslog /var/log/messages; do
		[ -r "$f" ] && SYSLOG=$f && break
	done
fi
syslog_has() {	# FIXED-TEXT
	case $SYSLOG in
	sink) grep -qF -- "$1" "$T/syslog.txt" 2>/dev/null ;;
	journal) journalctl -q -t smtpscope --no-pager 2>/dev/null | grep -qF -- "$1" ;;
	*) grep -F -- "$1" "$SYSLOG" 2>/dev/null | grep -q smtpscope ;;
	esac
}

# --- helpers -----------------------------------------------------------------

# scope NAME ARGS...: start smtpscope -i lo in the background (pid in $SP)
# and wait until it says it is listening.
scope() {
	_n=$1
	shift
	t_bg SP "$SMTPSCOPE" -i lo -b -P "$PORT" "$@" "$FILTER" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	if ! t_poll 200 grep -q "listening on" "$T/$_n.err"; then
		t_fail "$_n-start" "smtpscope did not start listening" "$T/$_n.err"
		t_done
	fi
}

# client NAME SCENARIO SERVER BIND: run a scripted client to completion;
# sets $LPORT to its local port.
client() {
	if ! "$PY" tests/live_client.py "$2" "$3" "$PORT" "$4" >"$T/$1.client" 2>&1; then
		t_fail "$1-client" "the $2 client failed" "$T/$1.client" \
		    "$(pf_log "$T/postfix-$3-$PORT")"
	fi
	LPORT=$(sed -n 's/^local [^ ]* \([0-9]*\)$/\1/p' "$T/$1.client")
}

lines_ge() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# stop NAME SIGNAL: signal smtpscope, wait (bounded) for it, check exit 0.
stop() {
	kill "-$2" "$SP"
	t_wait_exit "$SP" 400
	_rc=$?
	if [ "$_rc" -eq 0 ]; then t_ok "$1-exit-0-after-SIG$2"
	else t_fail "$1-exit-0-after-SIG$2" "exit $_rc" "$T/$1.err" "$T/$1.out"; fi
}

# =============================================================================
# run A: abort + clean delivery; --json, --report .md, -w, --syslog
# =============================================================================
scope A --json "$O/a.jsonl" --report "$O/a.md" -w "$O/a.pcap" --syslog
client iis iis-abort "$DOMINO" "$IIS"
IIS_PORT=$LPORT
client clean 8bit-ok "$NORMAL" "$CLEAN"
CLEAN_PORT=$LPORT
t_poll 200 lines_ge "$O/a.jsonl" 2 ||
    t_fail A-json-before-stop "the two sessions were not written before the stop" "$O/a.jsonl"
stop A INT

if "$PY" tests/outcheck.py jsonl "$O/a.jsonl" >"$T/a.facts" 2>"$T/a.facts.err"; then
	t_ok A-json-parses
else
	t_fail A-json-parses "not valid JSON Lines" "$T/a.facts.err"
fi
t_eq A-json-sessions "$(grep -c '^session' "$T/a.facts")" 2
t_eq A-json-one-incident "$(grep -c '^incident' "$T/a.facts")" 1
t_eq A-json-abort-endpoints \
    "$(awk -F'\t' '$1 == "session" && $9 == "8bitmime-abort" {print $3, $4, $5, $6, $7}' "$T/a.facts")" \
    "$IIS $IIS_PORT $DOMINO $PORT quit"
t_eq A-json-clean-no-incident \
    "$(awk -F'\t' -v c="$CLEAN" '$1 == "session" && $3 == c {print $4, $5, $6, $8, $9}' "$T/a.facts")" \
    "$CLEAN_PORT $NORMAL $PORT delivered -"
ABORT_UID=$(awk -F'\t' '$1 == "incident" && $3 == "8bitmime-abort" {print $2}' "$T/a.facts")

# The Markdown report: the incident, both hosts, the Domino fix.
t_grep A-report-names-incident '^\| 8bitmime-abort \| error \| 1 \|' "$O/a.md"
t_grep A-report-cause "8bitmime-abort error: server $DOMINO:$PORT .*1 session with 1 client" "$O/a.md"
t_grep A-report-cause-client "^- clients: $IIS x1\$" "$O/a.md"
t_grep A-report-domino-fix 'Lotus Domino.*Router/SMTP tab.*8-bit MIME extension' "$O/a.md"
t_nogrep A-report-clean-not-flagged "$CLEAN" "$O/a.md"

# -w: the pcap of flagged sessions holds the abort's packets and no other.
if ! command -v tshark >/dev/null 2>&1; then
	echo "NOTE: tshark is not installed: the -w assertions were skipped"
elif [ ! -e "$O/a.pcap" ]; then
	# -w is being implemented; these assertions start running once the
	# binary creates the file.
	echo "NOTE: -w did not create a.pcap (not implemented in this binary yet): the -w assertions were skipped"
else
	if tshark -r "$O/a.pcap" -T fields -e ip.src -e tcp.srcport -e ip.dst \
	    -e tcp.dstport >"$T/a.pcap.flows" 2>"$T/a.pcap.err"; then
		t_ok A-pcap-opens-in-tshark
	else
		t_fail A-pcap-opens-in-tshark "tshark cannot read it" "$T/a.pcap.err"
	fi
	awk -v a="$IIS $IIS_PORT $DOMINO $PORT" -v b="$DOMINO $PORT $IIS $IIS_PORT" \
	    '{ k = $1 " " $2 " " $3 " " $4 } k == a || k == b { n++; next } { bad++ }
	     END { print n + 0, bad + 0 }' "$T/a.pcap.flows" >"$T/a.pcap.count"
	read -r n_in n_out <"$T/a.pcap.count"
	t_eq A-pcap-only-flagged-session "$n_out" 0
	t_check A-pcap-has-packets [ "$n_in" -ge 10 ]
	t_eq A-pcap-one-syn "$(tshark -r "$O/a.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' 2>/dev/null | wc -l)" 1
	for cmd in "EHLO iis-smtp" RSET QUIT; do
		t_eq "A-pcap-has-$(echo "$cmd" | cut -d' ' -f1)" \
		    "$(tshark -r "$O/a.pcap" -Y "tcp.payload contains \"$cmd\"" 2>/dev/null | wc -l)" 1
	done
fi

# --syslog: the incident, with its uid, reached syslog.
if [ "$SYSLOG" = none ]; then
	echo "NOTE: no syslog receiver available: the --syslog assertion was skipped"
elif t_poll 100 syslog_has "uid=$ABORT_UID"; then
	t_ok A-syslog-incident
	if syslog_has "incident=8bitmime-abort severity=error confidence=probable uid=$ABORT_UID client=$IIS:$IIS_PORT server=$DOMINO:$PORT"; then
		t_ok A-syslog-fields
	else
		t_fail A-syslog-fields "the syslog line lacks the expected fields" "$T/syslog.txt"
	fi
else
	t_fail A-syslog-incident "no syslog line with uid=$ABORT_UID ($SYSLOG)" "$T/syslog.txt"
fi

# =============================================================================
# run B: abort + a session still open at SIGINT; --report .csv
# =============================================================================
scope B --json "$O/b.jsonl" --report "$O/b.csv"
# The holder first: once the abort that follows it has been written, every
# packet of the holder's (earlier) greeting and EHLO has been read too,
# since a capture delivers packets in order; so the stop cannot race with
# their delivery.
t_bg HOLD "$PY" tests/live_client.py hold "$NORMAL" "$PORT" "$HOLDER" >"$T/hold.client" 2>&1
t_poll 200 grep -q '^ready' "$T/hold.client" ||
    t_fail B-hold-client "the holding client did not get its EHLO reply" "$T/hold.client"
HOLD_PORT=$(sed -n 's/^local [^ ]* \([0-9]*\)$/\1/p' "$T/hold.client")
client iisb iis-abort "$DOMINO" "$IIS"
IISB_PORT=$LPORT
t_poll 200 lines_ge "$O/b.jsonl" 1 ||
    t_fail B-json-abort-before-stop "the abort was not written before the stop" "$O/b.jsonl"
# Before the stop only the finished session has been written.
t_eq B-json-before-stop "$(wc -l <"$O/b.jsonl")" 1
stop B INT
t_stop "$HOLD"

if "$PY" tests/outcheck.py jsonl "$O/b.jsonl" >"$T/b.facts" 2>"$T/b.facts.err"; then
	t_ok B-json-parses
else
	t_fail B-json-parses "not valid JSON Lines" "$T/b.facts.err"
fi
t_eq B-json-sessions "$(grep -c '^session' "$T/b.facts")" 2
t_eq B-open-session-interrupted \
    "$(awk -F'\t' -v h="$HOLDER" '$1 == "session" && $3 == h {print $4, $5, $6, $7}' "$T/b.facts")" \
    "$HOLD_PORT $NORMAL $PORT interrupted"
t_nogrep B-open-session-no-abort "^session	[^	]*	$HOLDER	.*8bitmime-abort" "$T/b.facts"

if "$PY" tests/outcheck.py csv "$O/b.csv" type client_ip client_port server_ip server_port \
    >"$T/b.rows" 2>"$T/b.rows.err"; then
	t_ok B-csv-parses
else
	t_fail B-csv-parses "the CSV report does not parse" "$T/b.rows.err" "$O/b.csv"
fi
t_eq B-csv-rows "$(grep -c '^row' "$T/b.rows")" 1
t_eq B-csv-abort-row "$(grep '^row' "$T/b.rows" | head -n 1)" \
    "$(printf "row\t'8bitmime-abort'\t'%s'\t'%s'\t'%s'\t'%s'" "$IIS" "$IISB_PORT" "$DOMINO" "$PORT")"

# =============================================================================
# run C: one abort, stopped by SIGTERM; --report .json
# =============================================================================
scope C --report "$O/c.json"
client iisc iis-abort "$DOMINO" "$IIS"
# No JSON Lines here to poll: wait for the batch line on standard output.
t_poll 200 grep -q "8bitmime-abort" "$T/C.out" ||
    t_fail C-batch-line "no batch line for the session" "$T/C.out"
stop C TERM
if "$PY" tests/outcheck.py rjson "$O/c.json" >"$T/c.facts" 2>"$T/c.facts.err"; then
	t_ok C-report-json-parses
else
	t_fail C-report-json-parses "the JSON report does not parse" "$T/c.facts.err" "$O/c.json"
fi
t_eq C-report-json-counts "$(tr '\t' ' ' <"$T/c.facts" | sort | tr '\n' ';')" \
    "incidents 1;sessions 1;type 8bitmime-abort 1;"
t_grep C-summary-after-sigterm '^  sessions: 1 finished, 0 open; incidents: 1' "$T/C.out"

# =============================================================================
# run D: SIGHUP after logrotate moved the files: --json, --report .txt and
# .csv start anew at their paths; the first period's report is complete
# in the moved file.  smtpscope runs as nobody by then ($O is writable).
# =============================================================================
scope D --json "$O/d.jsonl" --report "$O/d.txt" --report "$O/d.csv"
client iisd iis-abort "$DOMINO" "$IIS"
t_poll 200 lines_ge "$O/d.jsonl" 1 || t_fail D-first-json "no record of the first session" "$O/d.jsonl"
mv "$O/d.jsonl" "$O/d.jsonl.1"
mv "$O/d.txt" "$O/d.1.txt"
mv "$O/d.csv" "$O/d.1.csv"
: >"$O/d.marker"	# the period boundary
kill -HUP "$SP"
t_poll 200 test -e "$O/d.jsonl" || t_fail D-json-reopened "SIGHUP did not reopen --json" "$T/D.err"
t_poll 200 test -s "$O/d.1.txt" || t_fail D-report-written "SIGHUP did not write the moved report" "$T/D.err"
client cleand 8bit-ok "$NORMAL" "$CLEAN"
t_poll 200 lines_ge "$O/d.jsonl" 1 || t_fail D-second-json "no record of the second session" "$O/d.jsonl"
# -Z (the default, nobody): after the drop every uid and gid of the
# process is nobody's and it holds no capability, so no code path can
# write as root; the file SIGHUP created is nobody's.
nb_uid=$(id -u nobody) nb_gid=$(id -g nobody)
t_eq D-uids-nobody "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$SP/status")" \
    "$nb_uid $nb_uid $nb_uid $nb_uid"
t_eq D-gids-nobody "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$SP/status")" \
    "$nb_gid $nb_gid $nb_gid $nb_gid"
t_eq D-groups-nobodys "$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$SP/status" | xargs -n1 | sort -n | xargs)" \
    "$(id -G nobody | xargs -n1 | sort -n | xargs)"
t_eq D-no-capabilities "$(awk '/^CapEff:/ {print $2}' "/proc/$SP/status")" 0000000000000000
t_eq D-reopened-as-nobody "$(stat -c %u "$O/d.jsonl")" "$nb_uid"
stop D INT
t_eq D-old-json "$(wc -l <"$O/d.jsonl.1")" 1
t_eq D-new-json "$(wc -l <"$O/d.jsonl")" 1
t_check D-old-json-is-first grep -q '"8bitmime-abort"' "$O/d.jsonl.1"
t_nogrep D-new-json-is-second '"8bitmime-abort"' "$O/d.jsonl"
t_grep D-old-report-period '^  sessions decoded: 1, ' "$O/d.1.txt"
t_grep D-old-report-abort '8bitmime-abort' "$O/d.1.txt"
t_grep D-new-report-period '^  sessions decoded: 1, ' "$O/d.txt"
t_nogrep D-new-report-no-abort '8bitmime-abort' "$O/d.txt"
t_grep D-old-csv-row '^[^,]*,[^,]*,8bitmime-abort,' "$O/d.1.csv"
t_check D-new-csv-header test "$(head -n 1 "$O/d.csv")" = "$(head -n 1 "$O/d.1.csv")"
t_eq D-new-csv-no-rows "$(wc -l <"$O/d.csv")" 1
t_nogrep D-no-warning 'SIGHUP' "$T/D.err"

t_done
