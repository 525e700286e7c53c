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
expect bad-option 2 'usage' -- --no-such-option
expect bad-count 2 '-c: .* is invalid' -- -c abc -r pcaps/8bitmime-abort.pcap
expect bad-ports 2 '-p: ' -- -p 25,notaport -r pcaps/8bitmime-abort.pcap
expect missing-file 1 "nosuch\.pcap.*(No such file|not found)" -- -b -r "$tmp/nosuch.pcap"
printf 'This is not a capture file, just text.\n' >"$tmp/text.pcap"
expect not-a-capture 1 "text\.pcap.*not a pcap" -- -b -r "$tmp/text.pcap"
: >"$tmp/empty.pcap"
expect empty-file 1 "empty\.pcap" -- -b -r "$tmp/empty.pcap"
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
exit $bad
