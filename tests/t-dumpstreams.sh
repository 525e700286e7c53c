#!/bin/sh
# t-dumpstreams: our TCP reassembly against tcpflow 1.6, byte for byte.
#
# For every capture in pcaps/ and, when it exists, in ../shared/corpus
# (outside the repository; skipped with a message when absent), run
#   $SMTPSCOPE -r F -P all --dump-streams D1
#   tcpflow -r F -o D2
# and compare the two directories file by file.  Every difference must be
# explained by an entry in the KNOWN list below, which names the capture,
# the checks that replace plain equality for it, and why; each reason was
# verified by hand (tshark and the files themselves).  A capture that is
# not listed must match exactly, and a listed capture must still pass its
# relaxed checks, so the test keeps checking what it can.
#
# tcpflow is run without a BPF filter: with "tcp" libpcap's filter does not
# look inside VLAN tags, and tcpflow only writes TCP anyway.  tcpflow names
# 802.1Q-tagged flows with a "--VLAN" suffix; that suffix is removed before
# comparing (our names carry no VLAN: a flow is its 4-tuple).
#
# Relaxed checks (a file passes if any of its capture's checks passes; a
# check applies to files present on either side):
#   holes    ours is tcpflow's with NUL bytes removed.  tcpflow writes each
#            segment at its sequence offset, so bytes the capture missed are
#            a hole (NULs) in its file and absent from ours; a packet after
#            the close makes it open a "cN" file of NULs.
#   trailer  as holes, and tcpflow's file may go on for at most 64 more
#            bytes: tcpflow takes link-layer bytes after the IP datagram
#            (Ethernet padding of short frames, a captured FCS) as payload of
#            the FIN or of a packet after the close ("cN" files).
#   zerofill same size, and where the files differ tcpflow has NULs: tcpflow
#            does not reassemble IP fragments, it writes the first fragment's
#            payload and leaves the rest of the datagram's range zero.
#   overlap  same size: the capture retransmits bytes with different
#            content; we keep the first copy (reasm.c's policy, counted as
#            tcp-overlap-conflict), tcpflow the last.
#   ours     tcpflow writes nothing for the flow (it cannot read this link
#            type or IPv6 layout); our file must be non-empty.
#   error    the capture must be refused (smtpscope fails), tcpflow too.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${SMTPSCOPE:=$PWD/smtpscope}"

if ! command -v tcpflow >/dev/null 2>&1; then
	echo "tcpflow is not installed"
	exit 77
fi
if [ ! -x "$SMTPSCOPE" ]; then
	echo "no smtpscope binary at $SMTPSCOPE"
	exit 77
fi

# capture (path relative to pcaps/ or to the corpus) : checks : why
KNOWN='
pcaps/ipv4-frag.pcap:zerofill:tcpflow does not reassemble IPv4 fragments
pcaps/ipv6-frag-ext.pcap:ours:tcpflow ignores IPv6 with extension headers and fragments
pcaps/link-ipv4-dlt.pcap:ours:tcpflow does not support DLT_IPV4 (228)
pcaps/link-loop.pcap:ours:tcpflow does not support DLT_LOOP (108)
pcaps/link-sll2.pcap:ours:tcpflow does not support DLT_LINUX_SLL2 (276)
pcaps/link-null-be.pcap:ours:tcpflow reads DLT_NULL only in its own byte order
pcaps/link-null.pcap:ours:tcpflow reads only IPv4 on DLT_NULL
pcaps/tcp-overlap.pcap:overlap:retransmission with different bytes (first copy wins)
pcaps/tcp-gap.pcap:holes:segment missing from the capture
pcaps/snaplen-short.pcap:holes:snaplen cut the payload; the rest is a gap
pcaps/not-a-capture.pcap:error:not a capture
pcaps/unsupported-linktype.pcap:error:802.11 link type is refused
public/arkime/smtp-data-250.pcap:holes:Ethernet padding (NUL) of the FIN counted as data by tcpflow
public/arkime/smtp-decrypted.pcap:holes:segments missing from the capture; tcpflow opens c1 files of NULs for packets after RST
public/arkime/smtp-originating.pcap:holes:tcpflow opens a c1 file of NULs for the RST after both FINs
public/arkime/smtp-subject-8859-b.pcap:holes:Ethernet padding (NUL) counted as data by tcpflow
public/arkime/socks5-smtp-503.pcap:holes:Ethernet padding (NUL) counted as data by tcpflow
public/ndpi/emotet.pcap:holes:Ethernet padding (NUL) counted as data by tcpflow; c1 file of NULs after the close
public/ndpi/smtp-starttls.pcap:holes:Ethernet padding (NUL) counted as data by tcpflow
public/ndpi/smtp.pcap:holes:Ethernet padding (NUL) counted as data by tcpflow; c1 file of NULs after the close
public/suricata-verify/bug-3616-smtp/input.pcap:trailer:non-NUL Ethernet padding of the FIN and of a packet after the close (c1) counted as data by tcpflow
public/zeek/smtp.pcap:trailer:same capture as suricata-verify/bug-3616-smtp
public/suricata-verify/bug-7126/input.pcap:trailer:non-NUL Ethernet padding of a packet after the close (c1)
public/zeek/smtp/smtp-bdat-pipeline-8bitmime.pcap:trailer:same capture as suricata-verify/bug-7126
public/suricata-verify/smtp-file-data-01/input.pcap:trailer:frames carry their 4-byte FCS, counted as data by tcpflow
public/suricata-verify/smtp-bug-5981/input.pcap:overlap trailer:39 retransmitted segments with different bytes; Ethernet padding of the FIN
public/suricata-verify/smtp-long-DATA-line/input.pcap:overlap trailer:same flow as smtp-bug-5981, 32 conflicting retransmissions
public/suricata-verify/smtp-raw-extraction/input.pcap:trailer:non-NUL Ethernet padding of the FIN
public/zeek/http/connect-with-smtp.pcap:trailer:non-NUL Ethernet padding of the FIN
public/zeek/smtp/smtp-bdat-gap.pcap:holes:segment missing from the capture
public/zeek/tls/smtp-starttls.pcap:holes:tcpflow opens a c1 file of NULs (Ethernet padding) for RSTs after both FINs
'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-dumpstreams.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0 ncap=0 nexact=0 nrelaxed=0

# Byte values of a file, one per line (od is POSIX).
bytes() {
	od -An -v -tu1 "$1" | tr -s ' \t' '\n\n' | sed '/^$/d'
}

# relaxed_ok MODE OURS THEIRS: 0 if the pair passes the check; either file
# may be missing (then it counts as empty).
relaxed_ok() {
	mode=$1 a=$2 b=$3
	[ -f "$a" ] && bytes "$a" >"$tmp/ba" || : >"$tmp/ba"
	[ -f "$b" ] && bytes "$b" >"$tmp/bb" || : >"$tmp/bb"
	case $mode in
	ours)
		[ -s "$a" ] && { [ ! -f "$b" ] || cmp -s "$a" "$b"; }
		return ;;
	overlap)
		[ -f "$a" ] && [ -f "$b" ] &&
		    [ "$(wc -c <"$a")" -eq "$(wc -c <"$b")" ]
		return ;;
	esac
	awk -v mode="$mode" -v fa="$tmp/ba" '
		FILENAME == fa { a[na++] = $1; next }
		{ b[nb++] = $1 }
		END {
			if (mode == "zerofill") {
				if (na != nb) exit 1
				for (i = 0; i < na; i++)
					if (a[i] != b[i] && b[i] != 0) exit 1
				exit 0
			}
			i = 0; j = 0
			while (i < na && j < nb) {
				if (a[i] == b[j]) { i++; j++ }
				else if (b[j] == 0) j++
				else exit 1
			}
			if (i < na) exit 1
			for (k = j; k < nb; k++)
				if (b[k] != 0) break
			if (k == nb) exit 0
			exit (mode == "trailer" && nb - j <= 64) ? 0 : 1
		}' "$tmp/ba" "$tmp/bb"
}

known() {	# key -> "checks:why" or nothing
	printf '%s\n' "$KNOWN" | while IFS= read -r line; do
		case $line in "$1:"*) printf '%s\n' "${line#"$1":}"; break ;; esac
	done
}

check_one() {	# file key
	f=$1 key=$2
	ncap=$((ncap + 1))
	rm -rf "$tmp/a" "$tmp/b" "$tmp/in"
	mkdir "$tmp/a" "$tmp/b"
	case $f in
	*.gz) zcat "$f" >"$tmp/in" || { echo "FAIL $key: cannot decompress"; fails=$((fails + 1)); return; }
	      f=$tmp/in ;;
	esac
	entry=$(known "$key")
	checks=${entry%%:*}
	why=${entry#*:}
	"$SMTPSCOPE" -r "$f" -P all --dump-streams "$tmp/a" >"$tmp/out" 2>&1
	rc=$?
	tcpflow -r "$f" -o "$tmp/b" >/dev/null 2>&1
	rm -f "$tmp/b/report.xml"
	for n in "$tmp"/b/*--*; do
		[ -e "$n" ] && mv "$n" "${n%--*}"
	done
	if [ "$checks" = error ]; then
		if [ "$rc" -eq 0 ] || [ -n "$(ls "$tmp/a")" ]; then
			echo "FAIL $key: should be refused ($why)"
			fails=$((fails + 1))
		fi
		return
	fi
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; } ||
	    grep -q 'Sanitizer\|runtime error' "$tmp/out"; then
		echo "FAIL $key: smtpscope exited $rc:"; sed 's/^/    /' "$tmp/out" | head -5
		fails=$((fails + 1))
		return
	fi
	bad="" relaxed=0
	# NAME.tls files are decrypted TLS (a capture with its secrets inside):
	# ours only, checked by t-tls.sh against the client and tshark.
	for n in $( (ls "$tmp/a" | grep -v '\.tls$'; ls "$tmp/b") | sort -u); do
		if [ -f "$tmp/a/$n" ] && [ -f "$tmp/b/$n" ] &&
		    cmp -s "$tmp/a/$n" "$tmp/b/$n"; then
			continue
		fi
		ok=no
		for m in $checks; do
			if relaxed_ok "$m" "$tmp/a/$n" "$tmp/b/$n"; then
				ok=yes
				break
			fi
		done
		if [ $ok = yes ]; then
			relaxed=1
		else
			bad="$bad $n"
		fi
	done
	if [ -n "$bad" ]; then
		echo "FAIL $key:${checks:+ (allowed: $checks: $why)} differs:$bad"
		fails=$((fails + 1))
	elif [ $relaxed = 1 ]; then
		nrelaxed=$((nrelaxed + 1))
		echo "ok   $key (relaxed: $checks: $why)"
	else
		nexact=$((nexact + 1))
		[ -n "$checks" ] && echo "note $key: listed as '$checks' but now matches exactly"
		echo "ok   $key"
	fi
}

for f in pcaps/*.pcap pcaps/*.pcapng pcaps/*.pcap.gz pcaps/*.pcapng.gz; do
	[ -f "$f" ] || continue
	check_one "$f" "$f"
done

corpus=$(dirname "$0")/../../shared/corpus
if [ -d "$corpus" ]; then
	find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \
	    -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) | sort >"$tmp/list"
	while IFS= read -r f; do
		check_one "$f" "${f#"$corpus"/}"
	done <"$tmp/list"
else
	echo "note: $corpus not found: shared corpus part skipped"
fi

echo "$ncap captures: $nexact identical to tcpflow, $nrelaxed with explained differences, $fails failed"
[ "$fails" -eq 0 ]
