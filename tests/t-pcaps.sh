#!/bin/sh
# t-pcaps.sh - pcaps/ integrity: the captures the other tests run on are
# the ones pcaps/README.md describes.
#
# Checks, for every row of the README's capture index: the file exists and
# its sha256 matches (an accidental change to a fixed input is caught);
# every capture in pcaps/ has a row; and, when tshark is installed, tshark
# reads the file as the row says (ok, cut-short or unreadable), with the
# listed number of packets and of client SYNs (tcp.flags.syn==1 &&
# tcp.flags.ack==0, one per SMTP session the capture opens).  Then every
# stream file named in pcaps/expected/flows*.tsv exists with the listed
# length.  It does not run smtpscope: the golden-output tests do that.
set -u
cd "$(dirname "$0")/../pcaps" || exit 1
readme=README.md
fail=0
bad() { echo "FAIL: $*"; fail=1; }

[ -f "$readme" ] || { echo "FAIL: pcaps/README.md missing"; exit 1; }
command -v sha256sum >/dev/null 2>&1 || { echo "sha256sum not installed"; exit 77; }

# Index rows: | `file` | packets | client SYNs | tshark | `sha256` |
rows=$(awk -F'|' 'NF == 7 && $2 ~ /^ `[^`]+\.pcap(ng)?` $/ && $6 ~ /^ `[0-9a-f]+` $/ {
	gsub(/[ `]/, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $4);
	gsub(/ /, "", $5); gsub(/[ `]/, "", $6);
	print $2, $3, $4, $5, $6 }' "$readme")
[ -n "$rows" ] || { echo "FAIL: no capture index in pcaps/README.md"; exit 1; }

have_tshark=0
command -v tshark >/dev/null 2>&1 && have_tshark=1
tmp=$(mktemp "${TMPDIR:-/tmp}/t-pcaps.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM

n=0
echo "$rows" | {
	fail=0
	while read -r file pk syn how sum; do
		n=$((n + 1))
		if [ ! -f "$file" ]; then bad "$file: listed but missing"; continue; fi
		got=$(sha256sum "$file" | cut -d' ' -f1)
		[ "$got" = "$sum" ] || bad "$file: sha256 $got, README says $sum"
		[ "$have_tshark" -eq 1 ] || continue
		tshark -n -r "$file" -T fields -e tcp.flags.syn -e tcp.flags.ack \
		    >"$tmp" 2>/dev/null
		rc=$?
		case $how in
		ok) [ "$rc" -eq 0 ] || bad "$file: tshark failed (exit $rc)" ;;
		cut-short|unreadable)
			[ "$rc" -ne 0 ] || bad "$file: tshark read it cleanly, README says $how" ;;
		*) bad "$file: unknown tshark status '$how' in README" ;;
		esac
		gotpk=$(wc -l <"$tmp" | tr -d ' ')
		[ "$gotpk" = "$pk" ] || bad "$file: tshark read $gotpk packets, README says $pk"
		gotsyn=$(awk -F'\t' '($1 == "1" || $1 == "True") && ($2 == "0" || $2 == "False")' \
		    "$tmp" | wc -l | tr -d ' ')
		[ "$gotsyn" = "$syn" ] || bad "$file: $gotsyn client SYNs, README says $syn"
	done
	echo "checked $n captures listed in pcaps/README.md"
	exit "$fail"
} || fail=1

# Every capture present is listed.
for f in *.pcap *.pcapng; do
	[ -e "$f" ] || continue
	echo "$rows" | awk -v f="$f" '$1 == f { found = 1 } END { exit !found }' ||
	    bad "$f: in pcaps/ but not in the README index"
done

# Expected streams: each file exists with the length flows*.tsv gives.
for tsv in expected/flows.tsv expected/flows-real.tsv; do
	[ -f "$tsv" ] || { bad "$tsv missing"; continue; }
	while IFS='	' read -r cap k fam cl cp sv sp cf clen cg sf slen sg end note; do
		[ "$cap" = capture ] && continue
		[ -f "$cap" ] || bad "$tsv: capture $cap missing"
		for pair in "$cf:$clen" "$sf:$slen"; do
			sf_=${pair%:*}
			len=${pair##*:}
			if [ ! -f "expected/$sf_" ]; then
				bad "expected/$sf_ missing"
			elif [ "$(wc -c <"expected/$sf_" | tr -d ' ')" != "$len" ]; then
				bad "expected/$sf_: not $len bytes"
			fi
		done
	done <"$tsv"
done

if [ "$have_tshark" -eq 0 ]; then
	echo "tshark not installed: packet and SYN counts not checked"
fi
[ "$fail" -eq 0 ] && echo "pcaps/ intact"
exit "$fail"
