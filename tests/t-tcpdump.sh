#!/bin/sh
# The command line as a tcpdump user meets it: -p, -P, -n, -v/-vv, -q, the
# -t family and TZ, -e and the other tcpdump-only letters, --version, an
# unknown option in one line, options given twice, -F, and the summary's
# figures (KiB, the zone, incident types by count, traffic on other ports).
set -u
cd "$(dirname "$0")/.."
: "${SMTPSCOPE:=./smtpscope}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
bad=0
ABORT=pcaps/8bitmime-abort.pcap
export TZ=UTC
ok() { echo "ok $1"; }
no() { echo "FAIL $1: $2"; shift 2; for f in "$@"; do sed 's/^/  | /' "$f"; done; bad=1; }
# run NAME ARGS...: stdout to $tmp/NAME.out, stderr to $tmp/NAME.err, rc in $rc
run() {
	n=$1; shift
	"$SMTPSCOPE" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err" </dev/null
	rc=$?
}
# has NAME FILE ERE: FILE has a line matching ERE
has() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else no "$1" "no line /$3/" "$2"; fi
}
hasnt() {
	if grep -Eq -- "$3" "$2"; then no "$1" "a line matches /$3/" "$2"; else ok "$1"; fi
}
rc_is() {
	if [ "$rc" -eq "$2" ]; then ok "$1"; else no "$1" "exit $rc, expected $2" "$tmp/$n.err"; fi
}

# -p is tcpdump's "no promiscuous mode": it takes no value.
run p -p -b -r $ABORT
rc_is p-no-value 0
has p-still-decodes "$tmp/p.out" '\[8bitmime-abort\]'
# The old form "-p 2525" leaves "2525" as the filter: refused, with a hint.
run pold -b -p 2525 -r $ABORT
rc_is p-old-form-exit-2 2
has p-old-form-hint "$tmp/pold.err" 'did you mean -P 2525\?'
# The ports are -P / --ports.
run ports -b -P 25 -r $ABORT
has ports-short "$tmp/ports.out" '\[8bitmime-abort\]'
run portsl -b --ports=2525 -r $ABORT
hasnt ports-long-keeps-only-2525 "$tmp/portsl.out" '\[8bitmime-abort\]'

# Nothing on the selected ports: the summary says so, names the busiest
# ports seen and the option.
has other-ports-said "$tmp/portsl.out" '^  no TCP traffic on the selected ports \(2525\); 15 TCP packets on other ports, the busiest: 25 \(15\)$'
has other-ports-suggest "$tmp/portsl.out" '^  try -P 25, or -P all for every TCP port$'
run portsok -b -r $ABORT
hasnt other-ports-quiet-when-found "$tmp/portsok.out" 'no TCP traffic'

# -n and -nn: names are never resolved, so nothing changes.
run plain -b -r $ABORT
run n -n -b -r $ABORT
run nn -nn -b -r $ABORT
if cmp -s "$tmp/plain.out" "$tmp/n.out" && cmp -s "$tmp/plain.out" "$tmp/nn.out"; then
	ok n-accepted; else no n-accepted "output differs" "$tmp/n.out" "$tmp/n.err"; fi

# -q: one line per incident, no session lines, still the summary.
run q -q -r pcaps/rcpt-rejected-deferred.pcap
if [ "$(grep -c '^2026-11-28 17:50:05.422 \(error\|warning\) rcpt-' "$tmp/q.out")" -eq 2 ] &&
    ! grep -q 'helo=' "$tmp/q.out" && ! grep -q 'diagnosis:' "$tmp/q.out" &&
    grep -q '^summary: ' "$tmp/q.out"; then ok q-one-line-per-incident
else no q-one-line-per-incident "unexpected output" "$tmp/q.out"; fi
# -v: the transcript of a flagged session; -vv: of every session.
run v -v -b -r $ABORT
has v-transcript "$tmp/v.out" '^  transcript \(14 lines\):$'
has v-transcript-line "$tmp/v.out" '^    2026-11-28 17:58:06\.[0-9]{6} #9 C: RSET$'
run vclean -v -b -r pcaps/8bitmime-ok.pcap
hasnt v-not-for-clean "$tmp/vclean.out" 'transcript'
run vv -vv -b -r pcaps/8bitmime-ok.pcap
has vv-every-session "$tmp/vv.out" '^  transcript \([0-9]+ lines\):$'
has vv-body-command "$tmp/vv.out" ' C: DATA$'

# The -t family, as tcpdump counts it.
run t -t -b -r $ABORT
has t-none "$tmp/t.out" '^127\.0\.0\.10:49001 -> 127\.0\.0\.31:25 helo='
has t-none-evidence "$tmp/t.out" '^    #4 S: 220 domino'
run tt -tt -b -r $ABORT
has tt-epoch "$tmp/tt.out" '^1795888686\.283[0-9]{3} 127\.0\.0\.10:49001'
run tttt -tttt -b -r $ABORT
if cmp -s "$tmp/tttt.out" "$tmp/plain.out"; then ok tttt-is-default
else no tttt-is-default "-tttt differs from the default" "$tmp/tttt.out"; fi
args=""
for f in pcaps/8bitmime-abort.pcap pcaps/8bitmime-ok.pcap; do args="$args -r $f"; done
# shellcheck disable=SC2086
run ttt -ttt -b $args
if [ "$(grep -c '^+[0-9]*\.[0-9]\{6\} 127' "$tmp/ttt.out")" -eq 2 ] &&
    grep -q '^+0\.000000 127' "$tmp/ttt.out"; then ok ttt-delta
else no ttt-delta "no +S.UUUUUU lines" "$tmp/ttt.out"; fi
# shellcheck disable=SC2086
run ttttt -ttttt -b $args
if grep -q '^+0\.000000 127' "$tmp/ttttt.out" &&
    [ "$(grep -c '^+[0-9]*\.[0-9]\{6\} 127' "$tmp/ttttt.out")" -eq 2 ]; then ok ttttt-since-first
else no ttttt-since-first "no +S.UUUUUU lines" "$tmp/ttttt.out"; fi

# Local time, as tcpdump: TZ applies, and the summary names the zone.
TZ=JST-9 "$SMTPSCOPE" -b -r $ABORT >"$tmp/jst.out" 2>&1
has tz-line-local "$tmp/jst.out" '^2026-11-29 02:58:06\.283 127\.0\.0\.10:49001'
has tz-evidence-local "$tmp/jst.out" '^    2026-11-29 02:58:06\.297435 #4 S: 220 '
has tz-summary-zone "$tmp/jst.out" '^  time: 2026-11-29 02:58:06\.283 to 2026-11-29 02:58:06\.298, local time UTC\+09:00 \(JST\)$'
has utc-summary-zone "$tmp/plain.out" 'local time UTC\+00:00 \(UTC\)$'

# The summary counts in powers of 1024 and says so.
run ok21 -b -r pcaps/8bitmime-ok.pcap
has kib "$tmp/ok21.out" '^summary: 21 packets \(2\.4 KiB\), 21 SMTP packets, 1 flows$'
# Incident types by count, most first.
args=""
for f in pcaps/*.pcap; do
	case $f in *not-a-capture*|*truncated*|*unsupported*) continue ;; esac
	args="$args -r $f"
done
# shellcheck disable=SC2086
run all -b $args
sed -n '/^  sessions: /,/^  anomaly/p' "$tmp/all.out" | sed -n 's/^    [a-z0-9-]* *\([0-9]*\)$/\1/p' >"$tmp/counts"
if [ "$(wc -l <"$tmp/counts")" -ge 3 ] && sort -rn -c "$tmp/counts" 2>/dev/null; then
	ok types-by-count
else no types-by-count "not sorted by count" "$tmp/all.out"; fi

# tcpdump-only letters: one line naming what to use instead.
for o in e A X S C; do
	run "only$o" -$o -r $ABORT
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/only$o.err")" -eq 1 ] &&
	    grep -q "^smtpscope: -$o is tcpdump's (it .*), not an smtpscope option: ." "$tmp/only$o.err"; then
		ok "tcpdump-only-$o"
	else no "tcpdump-only-$o" "exit $rc" "$tmp/only$o.err"; fi
done
has e-points-to-w "$tmp/onlye.err" '-w FILE'
# An unknown option: one line and a pointer to -h, not the whole help.
for o in -k --frobnicate; do
	run unk "$o" -r $ABORT
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/unk.err")" -eq 1 ] &&
	    grep -q "unknown option '$o' (smtpscope -h lists the options)" "$tmp/unk.err" &&
	    [ ! -s "$tmp/unk.out" ]; then ok "unknown-one-line$o"
	else no "unknown-one-line$o" "exit $rc" "$tmp/unk.err"; fi
done
run noval -b -r
rc_is missing-value-exit-2 2
has missing-value-line "$tmp/noval.err" '^smtpscope: -r needs a value \(smtpscope -h lists the options\)$'
# --version: ours, libpcap's and the curses library's.
run ver --version
if [ "$rc" -eq 0 ] && grep -q '^smtpscope [0-9]' "$tmp/ver.out" &&
    grep -q '^libpcap version ' "$tmp/ver.out" && grep -q '^ncurses ' "$tmp/ver.out"; then
	ok version-lines; else no version-lines "exit $rc" "$tmp/ver.out"; fi

# Options given twice are never silently dropped.
run jj -b -r $ABORT --json "$tmp/a.jsonl" --json "$tmp/b.jsonl"
rc_is json-twice-exit-2 2
has json-twice-said "$tmp/jj.err" '^smtpscope: --json given twice: it takes one value$'
[ ! -e "$tmp/a.jsonl" ] && [ ! -e "$tmp/b.jsonl" ] && ok json-twice-writes-nothing ||
    no json-twice-writes-nothing "a file was written"
run ww -b -r $ABORT -w "$tmp/a.pcap" -w "$tmp/b.pcap"
rc_is w-twice-exit-2 2
run cc -b -c 5 -c 6 -r $ABORT
rc_is c-twice-exit-2 2
run rr -b -r $ABORT --report "$tmp/a.md" --report "$tmp/b.csv" --report "$tmp/c.json"
rc_is reports-exit-0 0
has reports-md "$tmp/a.md" '8bitmime-abort'
has reports-csv "$tmp/b.csv" '^[^,]*,[^,]*,8bitmime-abort,'
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/c.json" 2>/dev/null; then
	ok reports-json; else no reports-json "not JSON" "$tmp/c.json"; fi
run rsame -b -r $ABORT --report "$tmp/d.md" --report "$tmp/d.md"
rc_is report-same-twice-exit-2 2
# An unwritable report is found before the first packet: the analysis
# does not run (no session line) and the other outputs leave nothing.
run unw -b -r $ABORT --report "$tmp/e.md" --report /nonexistent/dir/r.md
rc_is unwritable-report-exit-3 3
has unwritable-report-said "$tmp/unw.err" '/nonexistent/dir/r.md: cannot create'
hasnt unwritable-report-before-reading "$tmp/unw.out" '8bitmime-abort'
[ ! -e "$tmp/e.md" ] && ok unwritable-report-nothing-left ||
    no unwritable-report-nothing-left "$tmp/e.md was left"

# -F FILE: the expression from a file, as tcpdump -F.
printf 'host 127.0.0.99\n' >"$tmp/filter"
run ff -b -F "$tmp/filter" -r $ABORT
hasnt F-filters "$tmp/ff.out" '8bitmime-abort'
has F-read "$tmp/ff.out" '^summary: 15 packets'
run ff2 -b -F "$tmp/filter" -r $ABORT 'port 25'
rc_is F-and-expression-exit-2 2
run ff3 -b -F "$tmp/nosuch" -r $ABORT
rc_is F-missing-exit-2 2
# -l: a line out as soon as a session ends, even into a pipe (a FIFO read
# while smtpscope still runs would show it; here: the flag is accepted and
# the output is the same).
run l -l -b -r $ABORT
if cmp -s "$tmp/l.out" "$tmp/plain.out"; then ok l-accepted
else no l-accepted "output differs" "$tmp/l.out"; fi

# -h and the man page name the same options.
"$SMTPSCOPE" -h >"$tmp/help.txt"
for o in $(grep -oE '(^| |\[|,)--?[A-Za-z][A-Za-z-]*' "$tmp/help.txt" | sed 's/^[ [,]*//' | sort -u); do
	case $o in --*) pat="Fl -${o#--}" ;; *) pat="Fl ${o#-}" ;; esac
	case $o in -t|-v) pat="Fl ${o#-}" ;; esac
	if grep -q -- "$pat\b" smtpscope.1 || { [ ${#o} -eq 2 ] && grep -q "^\.Op Fl [a-zA-Z]*${o#-}" smtpscope.1; }; then :
	else no "man-has$o" "smtpscope.1 does not document $o"; fi
done
ok help-options-in-man
exit $bad
