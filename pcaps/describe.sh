#!/bin/sh
# describe.sh - print the facts pcaps/README.md records about each capture.
#
# For each capture given (default: every *.pcap and *.pcapng in pcaps/):
# the index-table row (packets tshark reads, SMTP sessions opened with a
# client SYN, how tshark reads the file, sha256), then, with -v, tshark's
# TCP conversations and SMTP transcript.  Run it after make-pcaps.sh or
# make-synthetic.py and paste what changed into the README; tests/t-pcaps.sh
# checks the README's index against the files.
#
# It only reads the captures.  Usage: describe.sh [-v] [FILE...]
set -eu
cd "$(dirname "$0")"
verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
[ $# -gt 0 ] || set -- *.pcap *.pcapng
for f in "$@"; do
	f=${f##*/}
	if tshark -n -r "$f" >/dev/null 2>&1; then
		how=ok
	elif [ "$(tshark -n -r "$f" 2>/dev/null | wc -l)" -gt 0 ]; then
		how=cut-short
	else
		how=unreadable
	fi
	pk=$(tshark -n -r "$f" 2>/dev/null | wc -l | tr -d ' ')
	syn=$(tshark -n -r "$f" -T fields -e tcp.flags.syn -e tcp.flags.ack 2>/dev/null |
	    awk -F'\t' '($1 == "1" || $1 == "True") && ($2 == "0" || $2 == "False")' |
	    wc -l | tr -d ' ')
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	echo "| \`$f\` | $pk | $syn | $how | \`$sum\` |"
	[ "$verbose" -eq 1 ] || continue
	[ "$how" != unreadable ] || continue
	echo
	tshark -n -r "$f" -q -z conv,tcp 2>/dev/null | sed -n '/<->/p'
	echo
	tshark -n -r "$f" -Y smtp -T fields -e frame.number -e ip.src -e ipv6.src \
	    -e smtp.req.command -e smtp.req.parameter -e smtp.response.code \
	    -e smtp.rsp.parameter -E occurrence=a -E aggregator='|' 2>/dev/null
	echo
done
