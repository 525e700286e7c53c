#!/bin/sh
# t-ui.sh - the live view, driven in tmux the way a user drives it.
#
# Runs the real binary on captures from pcaps/ inside a private tmux server
# (80x24), sends keys, reads the screen with capture-pane and asserts on what
# a user would see: the flagged session in the list with its incident type,
# the filter narrowing the list, the session view (transcript, 8BITMIME
# marked missing, diagnosis and fix), the incidents view, a resize to
# 100x30, the columns of wide and narrow terminals, and a greeting full of terminal escape sequences shown as text
# (no title change, no clipboard write, no cleared screen), on a terminal
# without colours.
#
# Waiting is polling the pane for a condition, bounded; nothing here asserts
# how long anything takes.  Skips (77) when tmux is missing or when the
# binary does not open the UI on a terminal.
set -u
cd "$(dirname "$0")/.."
: "${SMTPSCOPE:=$PWD/smtpscope}"

command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed"; exit 77; }
[ -x "$SMTPSCOPE" ] || { echo "no binary at $SMTPSCOPE"; exit 77; }
for f in 8bitmime-abort 8bitmime-ok mail-deferred probe; do
	[ -f "pcaps/$f.pcap" ] || { echo "pcaps/$f.pcap is missing"; exit 77; }
done

SOCK="smtpscope-test-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-ui.XXXXXX")
T() { tmux -L "$SOCK" "$@"; }
cleanup() {
	T kill-server >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

screen() { T capture-pane -p -t ui; }
# wait_for FIXED-TEXT [polls]: true once the pane shows the text.
wait_for() {
	n=0
	while [ "$n" -lt "${2:-100}" ]; do
		screen | grep -qF -- "$1" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
# wait_re REGEX [polls]
wait_re() {
	n=0
	while [ "$n" -lt "${2:-100}" ]; do
		screen | grep -qE -- "$1" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
# wait_gone FIXED-TEXT [polls]: true once the pane no longer shows it.
wait_gone() {
	n=0
	while [ "$n" -lt "${2:-100}" ]; do
		screen | grep -qF -- "$1" || return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
fail() {
	echo "FAIL: $1"
	echo "--- screen ---"
	screen
	exit 1
}
ok() { echo "ok: $1"; }
keys() { T send-keys -t ui "$@"; }
text() { T send-keys -t ui -l "$1"; }

# start WIDTH HEIGHT TERM ARGS...: the binary in a fresh session; "EXITED rc"
# is printed when it ends, and the pane stays so the tests can read it.
# TERM may be followed by more VAR=value words ("screen LC_ALL=C.UTF-8").
start() {
	w=$1 h=$2 term=$3
	shift 3
	T kill-session -t ui >/dev/null 2>&1
	T new-session -d -s ui -x "$w" -y "$h" -c "$PWD" \
	    "TERM=$term TZ=UTC \"$SMTPSCOPE\" $*; echo EXITED \$?; sleep 600" ||
	    fail "tmux new-session"
}

# A server of our own (no user config), with OSC 52 honoured so that a
# clipboard write by the program would show up as a paste buffer.
T -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 600" || fail "cannot start tmux"
T set-option -g set-clipboard on >/dev/null

# ---------------------------------------------------------------------------
# 1. The list at 80x24, replaying four captures as fast as possible.
# ---------------------------------------------------------------------------
start 80 24 screen -r pcaps/8bitmime-abort.pcap -r pcaps/8bitmime-ok.pcap \
    -r pcaps/mail-deferred.pcap -r pcaps/probe.pcap
if ! wait_for "done 100%" 100; then
	screen | grep -q "smtpscope .*filter:" &&
	    fail "the replay never reached the end of the files"
	if screen | grep -q "EXITED 0"; then
		# Ran to the end in batch mode: the UI is not wired to -r yet.
		screen
		echo "smtpscope -r on a terminal did not open the UI (not wired in smtpscope.c yet)"
		exit 77
	fi
	fail "the binary failed before showing the UI"
fi
ok "UI opened, replay done"
screen | head -n 1 | grep -q 'pcap +3 more  filter: (none)' ||
    fail "the header does not name the first file and the count of the others"

wait_re '^!.*8bitmime-abort' || fail "no flagged 8bitmime-abort row in the list"
ok "8bitmime-abort row flagged in the list"
wait_re 'sessions 1/4 of 4' || fail "the list does not show 4 sessions"
screen | grep -q 'Start .*Client .*Server .*HELO .*State' || fail "no column titles"
screen | sed -n 2p | grep -q '8bitmime-abort 1' || fail "header has no incident count"
ok "header and columns"
# Colours (TERM=screen has them): the failed 8BITMIME negotiation stands out
# on a red background, the deferred session is yellow.
esc=$(printf '\033')
T capture-pane -e -p -t ui | grep -E '![0-9]{2}:[0-9]{2}:[0-9]{2}.*8bitmime-abort' |
    grep -q "${esc}\[41m" || fail "the 8bitmime-abort row is not on red"
T capture-pane -e -p -t ui | grep -E 'W[0-9]{2}:[0-9]{2}:[0-9]{2}.*mail-deferred' |
    grep -q "${esc}\[33m" || fail "the deferred row is not yellow"
ok "rows coloured by severity"

# ---------------------------------------------------------------------------
# 2. The filter narrows the list, Esc on an empty match restores, c clears.
# ---------------------------------------------------------------------------
keys /
wait_for "Filter:" || fail "no filter prompt"
text "127.0.0.31"
keys Enter
wait_for 'filter "127.0.0.31"' || fail "filter not shown in the status bar"
rows=$(screen | grep -cE '^.[0-9]{2}:[0-9]{2}:[0-9]{2} ')
[ "$rows" -ge 1 ] && [ "$rows" -lt 4 ] || fail "filter shows $rows rows, expected 1 to 3"
screen | grep -qE '^[^ ].*127\.0\.0\.30' && fail "a 127.0.0.30 row survived the filter"
screen | grep -qE '^!.*8bitmime-abort' || fail "the filter lost the matching 8bitmime-abort row"
ok "filter narrows the list to $rows of 4"
keys /
text "no-such-host"
keys Enter
wait_for "no session matches the filter" || fail "an unmatched filter still shows rows"
keys c
wait_re 'sessions 1/4 of 4' || fail "c did not clear the filter"
ok "unmatched filter and clearing"

# ---------------------------------------------------------------------------
# 3. The session view: select the flagged row, Enter.
# ---------------------------------------------------------------------------
line=$(screen | grep -nE '^!.*8bitmime-abort' | head -n 1 | cut -d: -f1)
[ -n "$line" ] || fail "flagged row vanished"
i=4		# the first row is line 4: bar, header, column titles
while [ "$i" -lt "$line" ]; do
	keys Down
	i=$((i + 1))
done
keys Enter
wait_for "Extensions offered" || wait_for "Extensions: none" || fail "Enter did not open the session view"
screen | grep -q "8BITMIME missing" || fail "8BITMIME is not marked missing"
screen | grep -qE '^Session S.*127\.0\.0\.10:[0-9]+ -> 127\.0\.0\.31:25' ||
    fail "session title does not name client and server"
screen | grep -q "8bitmime-abort \[error" || fail "incident not listed in the session view"
ok "session view: 8BITMIME marked missing, incident listed"
keys t
wait_re '^[0-9:.]+ +S: 220' || fail "no server greeting in the transcript"
screen | grep -qE '^[0-9:.]+ +C: (EHLO|ehlo)' || fail "no client EHLO in the transcript"
screen | grep -qE '^[0-9:.]+ +C: (RSET|QUIT)' || fail "no RSET/QUIT in the transcript"
ok "transcript with timestamps, client and server lines"
keys d
wait_for "Diagnosis:" || fail "d did not show the diagnosis"
screen | grep -q "Fix:" || fail "no fix shown"
ok "diagnosis and fix"
keys Escape
wait_re 'sessions [0-9]+/4 of 4' || fail "Esc did not return to the list"

# ---------------------------------------------------------------------------
# 4. The incidents view: one row per cause (the type and the host that must
#    change), worst first; Enter lists that cause's sessions.
# ---------------------------------------------------------------------------
keys i
wait_re 'Type +Sev +Fix on +Host +(Name +)?Count +Peers +First +Last' || fail "no incidents view"
screen | grep -qE '^ 8bitmime-abort +error +server +127\.0\.0\.31:25 +(dom[^ ]* +)?1 +1 ' ||
    fail "no 8bitmime-abort cause on server 127.0.0.31:25 with count 1 and 1 peer"
screen | grep -qE 'incidents: [0-9]+ causes' || fail "no cause count"
[ "$(screen | grep -nE '^ 8bitmime-abort ' | cut -d: -f1)" -lt \
    "$(screen | grep -nE '^ mail-deferred ' | cut -d: -f1)" ] ||
    fail "the error cause is not above the warning"
ok "incidents view: one row per cause, worst first"
gline=$(screen | grep -nE '^ 8bitmime-abort ' | head -n 1 | cut -d: -f1)
i=4
while [ "$i" -lt "$gline" ]; do
	keys Down
	i=$((i + 1))
done
keys Enter
wait_re 'sessions 1/1 of 4' || fail "Enter on a cause did not list its session"
screen | grep -qE '^!.*8bitmime-abort' || fail "the cause's session is not listed"
screen | grep -q 'cause 8bitmime-abort@127.0.0.31' || fail "the status bar does not name the cause"
keys Enter
wait_for "8BITMIME missing" || fail "Enter in the cause's list did not open the session"
keys Escape
wait_re 'sessions 1/1 of 4' || fail "Esc did not return to the cause's list"
keys c
wait_re 'sessions [0-9]+/4 of 4' || fail "c did not show every session again"
ok "a cause lists its sessions; c shows all"

# ---------------------------------------------------------------------------
# 5. Help lists the keys; resize redraws at the new size.
# ---------------------------------------------------------------------------
keys '?'
wait_for "Everywhere" || fail "no help screen"
screen | grep -qE '^ +q +quit' || fail "help does not list q"
keys PPage NPage
wait_re '^ +/ +filter' || fail "help does not list the filter key further down"
keys Escape
wait_re 'sessions [0-9]+/4 of 4' || fail "Esc did not close the help"
ok "help"

w1=$(screen | head -n 1 | awk '{ print length($0) }')
T resize-window -t ui -x 100 -y 30
n=0
while [ "$n" -lt 100 ]; do
	[ "$(screen | wc -l)" -eq 30 ] && screen | sed -n 29p | grep -q 'sessions [0-9]*/4 of 4' && break
	sleep 0.1
	n=$((n + 1))
done
[ "$(screen | wc -l)" -eq 30 ] || fail "pane is not 30 lines after resize"
screen | sed -n 29p | grep -q 'sessions [0-9]*/4 of 4' || fail "status bar not on line 29 after resize"
w2=$(screen | head -n 1 | awk '{ print length($0) }')
[ "$w2" -gt "$w1" ] && [ "$w2" -le 100 ] || fail "header not redrawn to the new width ($w1 -> $w2)"
screen | head -n 1 | grep -qE 'done 100%$' || fail "header clock not at the right edge"
screen | grep -qE '^!.*8bitmime-abort' || fail "list lost its rows after resize"
[ "$(screen | grep -cE '^.[0-9]{2}:[0-9]{2}:[0-9]{2} ')" -eq 4 ] || fail "not 4 rows after resize"
ok "resize to 100x30 ($w1 -> $w2 columns)"

# ---------------------------------------------------------------------------
# 5b. w writes the report from inside the UI (a snapshot; any number of times).
# ---------------------------------------------------------------------------
keys w
wait_for "Write report to:" || fail "w did not prompt for a report path"
keys C-u
text "$tmp/ui-report.md"
keys Enter
wait_for "report written to" || fail "the report was not written"
[ -s "$tmp/ui-report.md" ] || fail "no report file"
grep -q '8bitmime-abort' "$tmp/ui-report.md" || fail "the report lacks the incident"
grep -q 'Router/SMTP' "$tmp/ui-report.md" || fail "the report lacks the Domino fix"
ok "w writes the report"

# 5c. W writes the flagged sessions' packets: the same packets as a batch
# run with -w over the same files (compared as tcpdump prints them, sorted).
keys W
wait_for "pcap to:" || fail "W did not prompt for a pcap path"
keys C-u
text "$tmp/ui-flagged.pcap"
keys Enter
wait_for "pcap written to" || fail "the pcap was not written"
"$SMTPSCOPE" -b -r pcaps/8bitmime-abort.pcap -r pcaps/8bitmime-ok.pcap \
    -r pcaps/mail-deferred.pcap -r pcaps/probe.pcap -w "$tmp/batch-flagged.pcap" \
    >/dev/null 2>&1 || fail "batch -w run failed"
if command -v tcpdump >/dev/null 2>&1; then
	tcpdump -tt -n -r "$tmp/ui-flagged.pcap" 2>/dev/null | sort >"$tmp/ui-flagged.txt"
	tcpdump -tt -n -r "$tmp/batch-flagged.pcap" 2>/dev/null | sort >"$tmp/batch-flagged.txt"
	[ -s "$tmp/ui-flagged.txt" ] || fail "the UI's pcap holds no packets"
	cmp -s "$tmp/ui-flagged.txt" "$tmp/batch-flagged.txt" ||
	    fail "the UI's pcap differs from the batch -w pcap"
	ok "W writes the flagged sessions' pcap ($(wc -l <"$tmp/ui-flagged.txt") packets)"
else
	[ -s "$tmp/ui-flagged.pcap" ] || fail "no pcap file"
	ok "W writes a pcap (tcpdump not installed: contents not compared)"
fi

# ---------------------------------------------------------------------------
# 5d. The list as a postmaster reads it: the Reply column shows the refusal
#     (not the 221 to QUIT), a wide terminal adds the server's name, MAIL
#     FROM and RCPT, a narrow one keeps whole titles and the sort marker,
#     / finds the server by its banner name and the header shows that
#     display filter, and a status message goes with the next key.
# ---------------------------------------------------------------------------
screen | grep -E '^W.*mail-deferred' | grep -qE ' 451 ' ||
    fail "the deferred row's Reply is not its 451 refusal"
screen | grep -E '^W.*mail-deferred' | grep -qE ' 221 ' &&
    fail "the deferred row's Reply is the 221 to QUIT"
ok "Reply shows the decisive reply"
T resize-window -t ui -x 200 -y 30
wait_re 'Start .*Server +Name +HELO +MAIL FROM +RCPT +State' ||
    fail "no Name, MAIL FROM and RCPT columns on a 200-column terminal"
screen | grep -E '^!.*8bitmime-abort' | grep -q 'domino\.northwind\.test' ||
    fail "the abort row does not name the server from its banner"
screen | grep -qE '^ .*newsletter@contoso\.test +bob@northwind\.test +delivered' ||
    fail "the delivered row lacks its MAIL FROM and RCPT"
ok "wide terminal: Name, MAIL FROM, RCPT"
T resize-window -t ui -x 80 -y 24
wait_re '^ Start v +Client +Server +HELO +State +Reply +Msg +Incident *$' ||
    fail "80 columns: a title is cut, the sort marker is lost or an optional column stayed"
ok "narrow terminal: whole titles and the sort marker"
keys /
wait_for "Filter:" || fail "no filter prompt"
text "domino.northwind"
keys Enter
wait_for 'filter "domino.northwind"' || fail "the banner-name filter is not applied"
rows=$(screen | grep -cE '^.[0-9]{2}:[0-9]{2}:[0-9]{2} ')
[ "$rows" -eq 2 ] || fail "/domino.northwind shows $rows rows, expected the 2 sessions to 127.0.0.31"
screen | head -n 1 | grep -q 'show: /domino\.northwind' ||
    fail "the header does not show the display filter"
ok "/ matches the server's banner name; the header shows it"
keys c
wait_re 'sessions [0-9]+/4 of 4' || fail "c did not clear the filter"
keys -
wait_for "replay speed x" || fail "no status message after -"
keys Down
wait_re 'sessions 2/4 of 4' || fail "Down did not move the selection"
screen | grep -q "replay speed x" && fail "the status message outlived the next key"
ok "a status message goes with the next key"

# ---------------------------------------------------------------------------
# 6. q quits.
# ---------------------------------------------------------------------------
keys q
wait_for "EXITED 0" || fail "q did not quit with status 0"
ok "q quits"

# ---------------------------------------------------------------------------
# 7. Replay at the capture's own pace: two captures eight minutes apart, so
#    the replay is still waiting for the second when we look; pause, resume,
#    then speed up to "as fast as possible" and see it finish.
# ---------------------------------------------------------------------------
start 80 24 screen --speed 1 -r pcaps/8bitmime-ok.pcap -r pcaps/8bitmime-abort.pcap
wait_re 'sessions 1/1 of 1' || fail "paced replay: the first session never showed"
wait_re 'replay [0-9]+% x1 *$' || fail "paced replay: no progress and speed in the header"
screen | grep -q "8bitmime-abort" && fail "paced replay ran ahead of the capture's pace"
keys ' '
wait_re 'PAUSED [0-9]+% x1' || fail "space did not pause"
keys ' '
wait_re 'replay [0-9]+% x1 *$' || fail "space did not resume"
ok "paced replay shows progress, pauses and resumes"
keys + + + + + + + +
wait_for "done 100%" || fail "speeding up to the maximum did not finish the replay"
wait_re 'sessions 1/2 of 2' || fail "the second session did not arrive"
wait_re '^!.*8bitmime-abort' || fail "no 8bitmime-abort row after the replay"
ok "speed up to max finishes the replay"
keys q
wait_for "EXITED 0" || fail "q did not quit the paced run"

# ---------------------------------------------------------------------------
# 7b. The session view names what finds the message in the mail logs.
# ---------------------------------------------------------------------------
start 100 70 screen -r pcaps/8bitmime-ok.pcap
wait_for "done 100%" || fail "8bitmime-ok: no UI"
wait_re 'sessions 1/1 of 1' || fail "8bitmime-ok: no session"
keys Enter
wait_for "Transactions" || fail "8bitmime-ok: no session view"
wait_re 'queue id 4B3E7A722D2 +Message-ID <kb295734\.0001@iis-smtp\.contoso\.test>' ||
    fail "the session view lacks the queue id and Message-ID"
ok "session view: queue id, Message-ID, Subject"
keys q
wait_for "EXITED 0" || fail "q did not quit the 8bitmime-ok run"

# ---------------------------------------------------------------------------
# 8. A greeting full of escape sequences, on a terminal without colours.
# ---------------------------------------------------------------------------
/usr/bin/python3 tests/ui-mkpcap.py "$tmp/hostile.pcap" || fail "could not write the hostile capture"
T delete-buffer >/dev/null 2>&1
start 80 24 vt100 -r "$tmp/hostile.pcap"
title0=$(T display-message -p -t ui '#{pane_title}')
wait_for "done 100%" || fail "hostile capture: no UI"
wait_re 'sessions 1/1 of 1' || fail "hostile capture: no session"
keys Enter
wait_for "Greeting" || fail "hostile capture: no session view"
screen | grep -qF 'Greeting 220 \033]0;pwned\a\033[2J evil \033]52;c;cHduZWQ=\a\23331m' ||
    fail "the greeting is not shown escaped"
screen | head -n 1 | grep -q "smtpscope" || fail "the header is gone (screen cleared?)"
keys t
wait_re '^[0-9:.]+ +S: 220 \\033\]0;pwned\\a' || fail "the transcript line is not escaped"
title1=$(T display-message -p -t ui '#{pane_title}')
[ "$title1" = "$title0" ] || fail "pane title changed from '$title0' to '$title1'"
case $title1 in *pwned*) fail "pane title was set by the capture" ;; esac
[ -z "$(T list-buffers 2>/dev/null)" ] || fail "the capture wrote to the clipboard: $(T list-buffers)"
T capture-pane -e -p -t ui | grep -q "$(printf '\033')\[3[0-7]m" &&
    fail "colours on a terminal without colours"
ok "escape sequences shown as text; title and clipboard untouched; monochrome terminal"
keys q
wait_for "EXITED 0" || fail "q did not quit the second run"

# ---------------------------------------------------------------------------
# 9. UTF-8 from the wire: itself on a UTF-8 terminal (double-width
#    characters counted as two columns), escaped where it is a control
#    (C1 CSI, right-to-left override) or not UTF-8; all escaped in the C
#    locale.
# ---------------------------------------------------------------------------
/usr/bin/python3 tests/ui-mkpcap.py --utf8 "$tmp/utf8.pcap" || fail "could not write the UTF-8 capture"
U8_SHOWN='Greeting 220 mx.hôte.example ESMTP 中文 csi\302\23331m rlo\342\200\256evil bad\377 end'
start 94 24 "screen LC_ALL=C.UTF-8" -r "$tmp/utf8.pcap"
wait_for "done 100%" || fail "UTF-8 capture: no UI"
keys Enter
wait_for "Greeting" || fail "UTF-8 capture: no session view"
screen | grep -qF -- "$U8_SHOWN" || fail "UTF-8 is not shown as itself, or a control in it is not escaped"
keys t
wait_re '^[0-9:.]+ +S: 220 mx\.hôte\.example ESMTP 中文 csi' || fail "the transcript does not show the UTF-8 greeting"
# 93 columns of text (96 bytes) on a 94-column terminal: one line when
# columns are counted, not bytes.
line=$(screen | grep -F 'S: 220 mx.h')
case $line in *' end') ;; *) fail "the transcript line is cut or garbled: $line" ;; esac
ok "UTF-8 shown as itself on a UTF-8 terminal, controls in it escaped"
keys q
wait_for "EXITED 0" || fail "q did not quit the UTF-8 run"
start 100 24 "screen LC_ALL=C" -r "$tmp/utf8.pcap"
wait_for "done 100%" || fail "UTF-8 capture in the C locale: no UI"
keys Enter
wait_for "Greeting" || fail "UTF-8 capture in the C locale: no session view"
screen | grep -qF 'Greeting 220 mx.h\303\264te.example ESMTP \344\270\255\346\226\207 csi' ||
    fail "UTF-8 is not escaped in the C locale"
ok "UTF-8 escaped in the C locale"
keys q
wait_for "EXITED 0" || fail "q did not quit the C-locale run"
# ---------------------------------------------------------------------------
# 10. TLS in the session view: decrypted with a key log, the dialogue
#     inside TLS and the TLS line; without the key log, encrypted.
# ---------------------------------------------------------------------------
start 100 30 screen -r pcaps/tls13-8bitmime-abort.pcap \
    --tls-keylog pcaps/keys/tls13-8bitmime-abort.keys
wait_for "done 100%" || fail "TLS capture: no UI"
keys Enter
wait_for "Greeting" || fail "TLS capture: no session view"
screen | grep -qF 'TLS      TLS 1.3, TLS_AES_128_GCM_SHA256; decrypted with the key log' ||
    fail "the session view has no TLS line saying it was decrypted"
screen | grep -q 'encrypted after STARTTLS' && fail "a decrypted session is shown as encrypted"
screen | grep -q '8bitmime-abort' || fail "the abort inside TLS is not among the incidents"
keys t
wait_for "lines " || fail "t did not open the transcript of the TLS session"
keys G
wait_re 'C: RSET' || fail "the transcript does not show the RSET sent inside TLS"
ok "decrypted TLS: the TLS line, the incident and the dialogue inside"
keys q
wait_for "EXITED 0" || fail "q did not quit the TLS run"
start 100 30 screen -r pcaps/tls13-8bitmime-abort.pcap
wait_for "done 100%" || fail "TLS capture without keys: no UI"
keys Enter
wait_for "Greeting" || fail "TLS capture without keys: no session view"
screen | grep -qF 'TLS      TLS 1.3, TLS_AES_128_GCM_SHA256; encrypted (no key log)' ||
    fail "without a key log the TLS line does not say encrypted"
screen | grep -q 'Seen: .*encrypted after STARTTLS' || fail "without keys the view does not warn"
ok "TLS without a key log: encrypted, and said so"
keys q
wait_for "EXITED 0" || fail "q did not quit the TLS run without keys"
echo "all UI checks passed"
exit 0
