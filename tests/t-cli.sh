#!/bin/sh
# The command line as a user meets it: help, version, and every error path
# gives one clear line on stderr and the documented exit code.
set -u
cd "$(dirname "$0")/.."
: "${SMTPSCOPE:=./smtpscope}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
bad=0
# expect NAME WANT_RC STDERR_PATTERN -- ARGS...
expect() {
	name=$1 want=$2 pat=$3; shift 4
	"$SMTPSCOPE" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  | /' "$tmp/err"; bad=1; return
	fi
	if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$tmp/err" "$tmp/out"; then
		echo "FAIL $name: output lacks /$pat/:"; sed 's/^/  | /' "$tmp/err" "$tmp/out"; bad=1; return
	fi
	echo "ok $name"
}
expect help 0 '^usage: smtpscope' -- -h
expect version 0 '^smtpscope [0-9]+\.[0-9]+' -- --version
expect no-input 2 'nothing to read' --
expect bad-option 2 "^smtpscope: unknown option '--no-such-option' \\(smtpscope -h lists the options\\)\$" -- --no-such-option
expect bad-count 2 '-c: .* is invalid' -- -c abc -r pcaps/8bitmime-abort.pcap
expect bad-ports 2 '-P: ' -- -P 25,notaport -r pcaps/8bitmime-abort.pcap
expect missing-file 1 "nosuch\.pcap.*(No such file|not found)" -- -b -r "$tmp/nosuch.pcap"
printf 'This is not a capture file, just text.\n' >"$tmp/text.pcap"
expect not-a-capture 1 "text\.pcap.*not a pcap" -- -b -r "$tmp/text.pcap"
: >"$tmp/empty.pcap"
expect empty-file 1 "empty\.pcap" -- -b -r "$tmp/empty.pcap"
expect require-needs-probe 2 "^smtpscope: --require works with --probe only\$" -- --require 8BITMIME -r pcaps/8bitmime-abort.pcap
expect bad-filter 2 "filter" -- -b -r pcaps/8bitmime-abort.pcap 'port port port'
if [ -e pcaps/unsupported-linktype.pcap ]; then
	expect unsupported-link 1 "link type" -- -b -r pcaps/unsupported-linktype.pcap
fi
if [ -e pcaps/truncated.pcap ]; then
	# A truncated last record: everything before it is still analysed.
	expect truncated 1 "truncated" -- -b -r pcaps/truncated.pcap
	grep -q 'summary:' "$tmp/out" || { echo "FAIL truncated: no summary"; bad=1; }
fi
expect unwritable-json 3 "cannot create" -- -b -r pcaps/8bitmime-abort.pcap --json /nonexistent/dir/x.jsonl
expect demo 0 '8bitmime-abort' -- -b -r pcaps/8bitmime-abort.pcap
# stdin
"$SMTPSCOPE" -b -r - <pcaps/8bitmime-abort.pcap >"$tmp/stdin.out" 2>&1
if [ $? -eq 0 ] && grep -q 8bitmime-abort "$tmp/stdin.out"; then echo "ok stdin"
else echo "FAIL stdin"; cat "$tmp/stdin.out"; bad=1; fi
# Port 465 (implicit TLS) is counted, never decoded: one connection to 465
# (TLS-looking bytes) beside one SMTP session on 25.
if [ -x /usr/bin/python3 ]; then
	/usr/bin/python3 - "$tmp/smtps.pcap" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "lib"))
from minipcap import ACK, PSH, Session, write
a = Session(bytes([192, 0, 2, 1]), 40001, bytes([198, 51, 100, 1]), 465)
a.handshake()
a.c2s(PSH | ACK, b"\x16\x03\x01\x00\x05hello")
a.s2c(PSH | ACK, b"\x16\x03\x03\x00\x02hi")
a.close()
b = Session(bytes([192, 0, 2, 2]), 40002, bytes([198, 51, 100, 1]), 25)
b.handshake()
b.s2c(PSH | ACK, b"220 mx ESMTP\r\n")
b.c2s(PSH | ACK, b"QUIT\r\n")
b.s2c(PSH | ACK, b"221 bye\r\n")
b.close()
write(sys.argv[1], [a, b])
PY
	"$SMTPSCOPE" -b -r "$tmp/smtps.pcap" >"$tmp/smtps.out" 2>&1
	if grep -q '^  port 465 (implicit TLS, not decoded): 1 connections, 8 packets, 17 B of payload$' "$tmp/smtps.out" &&
	    grep -q ', 9 SMTP packets, 1 flows$' "$tmp/smtps.out"; then
		echo "ok smtps-counted"
	else
		echo "FAIL smtps-counted"; cat "$tmp/smtps.out"; bad=1
	fi
fi
# The progress bar: on standard error when it is a terminal (script(1)
# gives it one), bytes read of total, rate and time left, erased at the end;
# never when standard error is not a terminal.
if command -v script >/dev/null 2>&1; then
	script -q -c "$SMTPSCOPE -b -r pcaps/8bitmime-abort.pcap >/dev/null" "$tmp/tty.txt" >/dev/null 2>&1
	if grep -aqE '\] 100% 1.5 KiB/1.5 KiB [0-9.]+ ([KMG]i)?B/s 0:00 left' "$tmp/tty.txt" &&
	    grep -aq "$(printf '\033\\[K')" "$tmp/tty.txt"; then
		echo "ok progress-bar-on-tty"
	else
		echo "FAIL progress-bar-on-tty"; cat -v "$tmp/tty.txt"; bad=1
	fi
	"$SMTPSCOPE" -b -r pcaps/8bitmime-abort.pcap >/dev/null 2>"$tmp/notty.err"
	if grep -q 'left' "$tmp/notty.err"; then
		echo "FAIL progress-bar-not-on-pipe"; bad=1
	else
		echo "ok progress-bar-not-on-pipe"
	fi
fi

# The limits that were hit are named in the summary, with their options.
if [ -x /usr/bin/python3 ] && /usr/bin/python3 tests/bench/gen.py "$tmp/many.pcap" 300 50 >/dev/null 2>&1; then
	"$SMTPSCOPE" -b -r "$tmp/many.pcap" --max-flows 16 --max-transcript 10 >"$tmp/many.out" 2>&1
	if grep -qE '^  limit hit: flow table full [0-9]+ times \(--max-flows\)$' "$tmp/many.out" &&
	    grep -qE '^  limit hit: [0-9]+ transcript lines not kept \(--max-transcript\)$' "$tmp/many.out"; then
		echo "ok limits-in-summary"
	else
		echo "FAIL limits-in-summary"; tail -20 "$tmp/many.out"; bad=1
	fi
	"$SMTPSCOPE" -b -r "$tmp/many.pcap" >"$tmp/many2.out" 2>&1
	if grep -q 'limit hit' "$tmp/many2.out"; then
		echo "FAIL no-limits-by-default"; bad=1
	else
		echo "ok no-limits-by-default"
	fi
	# Batch mode prints a cause once: the first abort in full, the next
	# ones as one line each, and the causes with their clients at the end.
	n=$(grep -c '\[8bitmime-abort\]$' "$tmp/many2.out")
	if [ "$n" -ge 2 ] &&
	    [ "$(grep -c '^  diagnosis: ' "$tmp/many2.out")" -eq 1 ] &&
	    [ "$(grep -c '^error 8bitmime-abort .*: again, [0-9]* sessions so far' "$tmp/many2.out")" -eq $((n - 1)) ] &&
	    grep -q '^causes (1):$' "$tmp/many2.out" &&
	    grep -qE "^  error 8bitmime-abort: server 192\.0\.2\.25:25 \(mx\.example\.test\), $n sessions with $n clients," "$tmp/many2.out" &&
	    [ "$(grep '^    clients:' "$tmp/many2.out" | tr ',' '\n' | grep -c ' x1')" -eq "$n" ]; then
		echo "ok batch-one-block-per-cause ($n aborts)"
	else
		echo "FAIL batch-one-block-per-cause ($n aborts)"; grep -E 'again|^causes|^  error|diagnosis' "$tmp/many2.out" | head; bad=1
	fi
fi

# --trace-states: every state change of every session, on stderr, named by
# the session's uid; the abort shows EHLO, then RSET leaves it in "hello".
"$SMTPSCOPE" -b --trace-states --json "$tmp/trace.json" -r pcaps/8bitmime-abort.pcap \
    >"$tmp/trace.out" 2>"$tmp/trace.err"
uid=$(sed -n 's/.*"uid":"\(S[0-9a-z]*\)".*/\1/p' "$tmp/trace.json" | head -1)
if [ -n "$uid" ] &&
    grep -qx "trace $uid: connected -> greeted (greeting)" "$tmp/trace.err" &&
    grep -qx "trace $uid: greeted -> hello (EHLO)" "$tmp/trace.err" &&
    grep -qx "trace $uid: hello -> quit (QUIT)" "$tmp/trace.err" &&
    ! grep -q "$uid: .*-> mail" "$tmp/trace.err" &&
    ! grep -q '^trace' "$tmp/trace.out"; then
	echo "ok trace-states"
else
	echo "FAIL trace-states"; sed 's/^/  | /' "$tmp/trace.err"; bad=1
fi
"$SMTPSCOPE" -b -r pcaps/8bitmime-abort.pcap >/dev/null 2>"$tmp/notrace.err"
if grep -q '^trace' "$tmp/notrace.err"; then
	echo "FAIL no-trace-by-default"; bad=1
else
	echo "ok no-trace-by-default"
fi

# Non-ASCII wire text: UTF-8 as itself on a UTF-8 terminal and in the data
# exports (JSON, CSV); escaped on any other terminal, and in text reports.
if [ -x /usr/bin/python3 ] && command -v script >/dev/null 2>&1 &&
    /usr/bin/python3 tests/mkpcap_formula.py "$tmp/u8.pcap" "relais-ça.example" >/dev/null 2>&1; then
	LC_ALL=C.UTF-8 script -qec "$SMTPSCOPE -b -r $tmp/u8.pcap" /dev/null >"$tmp/u8.tty" 2>&1
	LC_ALL=C script -qec "$SMTPSCOPE -b -r $tmp/u8.pcap" /dev/null >"$tmp/c.tty" 2>&1
	"$SMTPSCOPE" -b -r "$tmp/u8.pcap" --json "$tmp/u8.jsonl" --report "$tmp/u8.csv" \
	    --report "$tmp/u8.txt" >"$tmp/u8.pipe" 2>&1
	if grep -q 'helo=relais-ça\.example' "$tmp/u8.tty" &&
	    grep -q '(relais-ça\.example) gave up' "$tmp/u8.tty" &&
	    grep -qF 'helo=relais-\303\247a.example' "$tmp/c.tty" &&
	    grep -qF 'helo=relais-\303\247a.example' "$tmp/u8.pipe" &&
	    grep -q '"helo":"relais-ça\.example"' "$tmp/u8.jsonl" &&
	    grep -q ',relais-ça\.example,' "$tmp/u8.csv" &&
	    grep -qF 'relais-\303\247a.example' "$tmp/u8.txt" &&
	    ! grep -q 'ç' "$tmp/u8.txt" "$tmp/c.tty" "$tmp/u8.pipe"; then
		echo "ok utf8-where-it-belongs"
	else
		echo "FAIL utf8-where-it-belongs"; grep -a 'helo=' "$tmp/u8.tty" "$tmp/c.tty" | head -4; bad=1
	fi
fi
# Our memory reader of classic pcap files and libpcap's reader give the
# same output, for every capture of ours (and the same error on a cut one).
diff_reader=
for f in pcaps/*.pcap; do
	"$SMTPSCOPE" -b -vv -r "$f" --json "$tmp/rd-m.json" >"$tmp/rd-m.txt" 2>&1; a=$?
	SMTPSCOPE_READER=libpcap "$SMTPSCOPE" -b -vv -r "$f" --json "$tmp/rd-l.json" \
	    >"$tmp/rd-l.txt" 2>&1; b=$?
	if [ $a != $b ] || ! cmp -s "$tmp/rd-m.json" "$tmp/rd-l.json" ||
	    ! cmp -s "$tmp/rd-m.txt" "$tmp/rd-l.txt"; then
		diff_reader="$diff_reader $f"
	fi
done
head -c $(($(wc -c <pcaps/8bitmime-abort.pcap) - 3)) pcaps/8bitmime-abort.pcap >"$tmp/cut.pcap"
"$SMTPSCOPE" -b -r "$tmp/cut.pcap" >"$tmp/rd-m.txt" 2>&1; a=$?
SMTPSCOPE_READER=libpcap "$SMTPSCOPE" -b -r "$tmp/cut.pcap" >"$tmp/rd-l.txt" 2>&1; b=$?
if [ -z "$diff_reader" ] && [ $a = $b ] && cmp -s "$tmp/rd-m.txt" "$tmp/rd-l.txt" &&
    grep -q 'truncated capture' "$tmp/rd-m.txt"; then
	echo "ok readers-agree"
else
	echo "FAIL readers-agree:$diff_reader (cut: $a $b)"; bad=1
fi
exit $bad
