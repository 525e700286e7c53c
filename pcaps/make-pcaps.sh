#!/bin/bash
# make-pcaps.sh - make the real SMTP captures in pcaps/ (run as root).
#
# Starts a private Postfix instance (its own config, queue and data
# directories in a temporary directory; nothing of the system's Postfix is
# used or touched) that listens on port 25 of a few loopback addresses, one
# server personality per address:
#
#   127.0.0.30  mx1.northwind.test     every extension Postfix has, no TLS
#   127.0.0.31  domino.northwind.test  8BITMIME discarded (stands in for
#                                      Lotus Domino in KB295734)
#   127.0.0.32  legacy.northwind.test  8BITMIME, PIPELINING and CHUNKING
#                                      discarded (an old server)
#
# SMTPUTF8 is discarded wherever 8BITMIME is: RFC 6531 3.1 makes a server
# that offers SMTPUTF8 offer 8BITMIME too, and the old servers these two
# stand in for offered neither, so the captures show no second, unrelated
# misconfiguration (smtputf8-without-8bitmime) beside their story.
#   127.0.0.33  tls.northwind.test     STARTTLS with a self-signed
#                                      certificate made at run time
#   [::1]       mx6.northwind.test     IPv6, every extension, no TLS
#
# Every server knows a few local users (unknown ones get 550 5.1.1),
# greylists greylist@northwind.test (450 4.2.0) and defers the sender
# slowpoke@contoso.test at MAIL (451 4.3.0).  Accepted mail goes to the
# discard transport: nothing leaves the machine, no mailbox is written.
#
# Clients are swaks and pcaps/clients/smtpclient.py (our own), bound to
# fixed source addresses and ports so that the captures differ between runs
# only in timestamps, TCP options and queue ids (and TLS bytes).  Each
# scenario is captured with tcpdump on lo into its own file.
#
# This script is for reproducibility; CI never runs it.  The captures it
# made are checked in and are the fixed inputs of the tests.  After a
# re-run, run expected-real.py, then describe.sh, and update pcaps/README.md
# (sha256, packets) and the golden outputs in the same change.
#
# Usage: make-pcaps.sh [-o OUTDIR] [SCENARIO...]   (default: all, into pcaps/)
# KEEP=1 keeps the temporary directory (config, maillog) for debugging.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE
PY=/usr/bin/python3
CLIENT=$HERE/clients/smtpclient.py

while getopts o: opt; do
	case $opt in
	o) OUT=$(cd "$OPTARG" && pwd) ;;
	*) echo "usage: $0 [-o OUTDIR] [SCENARIO...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

die() { echo "make-pcaps: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (postfix and tcpdump need it)"
for t in postfix postconf tcpdump swaks openssl ss editcap; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
$PY -c 'import socket' || die "$PY does not work"

T=$(mktemp -d /tmp/smtpscope-pcaps.XXXXXX)
chmod 755 "$T"
CONF=$T/etc
TCPDUMP_PID=""
POSTFIX_UP=""

cleanup() {
	local rc=$?
	if [ -n "$TCPDUMP_PID" ]; then
		kill -INT "$TCPDUMP_PID" 2>/dev/null || true
		wait "$TCPDUMP_PID" 2>/dev/null || true
	fi
	if [ -n "$POSTFIX_UP" ]; then
		postfix -c "$CONF" stop >/dev/null 2>&1 || true
		# master(8) exits asynchronously; wait (bounded) for its pid file
		# to go so the temporary queue can be removed.
		for _ in $(seq 100); do
			[ -e "$T/spool/pid/master.pid" ] || break
			kill -0 "$(cat "$T/spool/pid/master.pid" 2>/dev/null || echo 0)" \
			    2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ "$rc" -ne 0 ] && [ -e "$T/maillog" ]; then
		echo "make-pcaps: last lines of the Postfix log:" >&2
		tail -n 20 "$T/maillog" >&2
	fi
	[ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the private Postfix instance -------------------------------------------

mkdir -p "$CONF" "$T/spool" "$T/data"
chown postfix "$T/data"

# A self-signed certificate for the STARTTLS personality.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$CONF/tls.key" -out "$CONF/tls.crt" -days 30 \
    -subj "/CN=tls.northwind.test" 2>/dev/null
chmod 600 "$CONF/tls.key"

# Local users; everyone else at northwind.test is unknown (550 5.1.1).
cat >"$CONF/users" <<'EOF'
alice@northwind.test	ok
bob@northwind.test	ok
carol@northwind.test	ok
dave@northwind.test	ok
greylist@northwind.test	ok
josé@northwind.test	ok
postmaster@northwind.test	ok
EOF
cat >"$CONF/rcpt_access" <<'EOF'
greylist@northwind.test	450 4.2.0 Greylisted, please try again later
EOF
cat >"$CONF/sender_access" <<'EOF'
slowpoke@contoso.test	451 4.3.0 Sender temporarily deferred, try again later
EOF

cat >"$CONF/main.cf" <<EOF
# Private instance for pcaps/make-pcaps.sh; see that script.
compatibility_level = 3.6
queue_directory = $T/spool
data_directory = $T/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $T/maillog
maillog_file_prefixes = $T
myhostname = mx1.northwind.test
mydomain = northwind.test
myorigin = \$mydomain
mydestination = northwind.test
# Each smtpd in master.cf names its own address (127.0.0.30-33 are not
# configured on lo, so they cannot be listed here; Linux binds them anyway).
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
relayhost =
default_transport = discard:no mail leaves this test instance
local_transport = discard:delivered to a test mailbox
local_recipient_maps = texthash:$CONF/users
alias_maps =
alias_database =
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP Postfix
smtpd_peername_lookup = no
smtpd_delay_reject = no
smtpd_sender_restrictions = check_sender_access texthash:$CONF/sender_access
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$CONF/rcpt_access
smtpd_tls_security_level = none
biff = no
readme_directory = no
EOF

# No chroot: the queue lives in a temporary directory.
cat >"$CONF/master.cf" <<EOF
127.0.0.30:smtp inet n - n - - smtpd
  -o myhostname=mx1.northwind.test
127.0.0.31:smtp inet n - n - - smtpd
  -o myhostname=domino.northwind.test
  -o smtpd_discard_ehlo_keywords=8bitmime,smtputf8
127.0.0.32:smtp inet n - n - - smtpd
  -o myhostname=legacy.northwind.test
  -o smtpd_discard_ehlo_keywords=8bitmime,smtputf8,pipelining,chunking
127.0.0.33:smtp inet n - n - - smtpd
  -o myhostname=tls.northwind.test
  -o smtpd_tls_security_level=may
  -o smtpd_tls_cert_file=$CONF/tls.crt
  -o smtpd_tls_key_file=$CONF/tls.key
[::1]:smtp inet n - n - - smtpd
  -o myhostname=mx6.northwind.test
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

PF_VERSION=$(postconf -c "$CONF" -h mail_version)
for p in smtpd_discard_ehlo_keywords smtputf8_enable smtpd_peername_lookup; do
	# postconf only warns (exit 0) about a parameter it does not know.
	[ -z "$(postconf -c "$CONF" -d -h "$p" 2>&1 >/dev/null)" ] ||
	    die "Postfix $PF_VERSION lacks $p"
done

# Refuse to start on an address someone else already serves.
for a in 127.0.0.30 127.0.0.31 127.0.0.32 127.0.0.33 '[::1]'; do
	if ss -Htln "sport = :25" | awk '{print $4}' | grep -qF "$a:25"; then
		die "something already listens on $a:25"
	fi
done

postfix -c "$CONF" check >/dev/null 2>&1 || true	# creates the queue dirs
POSTFIX_UP=1	# from here on, cleanup stops it (harmless if it never ran)
postfix -c "$CONF" start >"$T/postfix.out" 2>&1 ||
    die "postfix would not start: $(cat "$T/postfix.out"; tail -n 5 "$T/maillog" 2>/dev/null)"
for _ in $(seq 100); do
	n=$(ss -Htln "sport = :25" | grep -cE '127\.0\.0\.3[0-3]:25|\[::1\]:25' || true)
	[ "$n" -ge 5 ] && break
	sleep 0.1
done
[ "$n" -ge 5 ] || die "postfix is not listening on all five addresses"
echo "make-pcaps: Postfix $PF_VERSION up in $T" >&2

# --- capture helpers ----------------------------------------------------------

# cap_start FILE ADDR: tcpdump on lo for port 25 of ADDR, ready on return.
cap_start() {
	local file=$1 addr=$2
	rm -f "$file" "$T/tcpdump.err"
	tcpdump -i lo -s 0 -U --immediate-mode -w "$file" \
	    "tcp port 25 and host $addr" 2>"$T/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && return 0
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.05
	done
	die "tcpdump did not start: $(cat "$T/tcpdump.err")"
}

# cap_stop FILE ADDR: wait until no connection to ADDR:25 is still closing
# and the file stops growing, then stop tcpdump.
cap_stop() {
	local file=$1 addr=$2 size=-1 same=0
	addr=${addr#[}; addr=${addr%]}
	for _ in $(seq 100); do
		ss -Htan "( dport = :25 or sport = :25 )" | grep -v -e LISTEN -e TIME-WAIT |
		    grep -qF "$addr" || break
		sleep 0.05
	done
	for _ in $(seq 40); do
		local now
		now=$(stat -c %s "$file")
		if [ "$now" = "$size" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && break
		else
			same=0 size=$now
		fi
		sleep 0.05
	done
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=""
}

# --- scenarios ------------------------------------------------------------------
# scenario NAME SERVER-ADDR COMMAND...: capture COMMAND talking to SERVER-ADDR.

WANT=" $* "
made=""
scenario() {
	local name=$1 addr=$2
	shift 2
	[ "$WANT" = "  " ] || [[ $WANT == *" $name "* ]] || return 0
	echo "make-pcaps: $name" >&2
	cap_start "$T/$name.pcap" "$addr"
	if ! "$@" >"$T/$name.client.log" 2>&1; then
		cat "$T/$name.client.log" >&2
		die "$name: the client failed"
	fi
	cap_stop "$T/$name.pcap" "$addr"
	install -m 0644 "$T/$name.pcap" "$OUT/$name.pcap"
	made="$made $name"
}

py() { $PY "$CLIENT" "$@"; }

# The demo capture: IIS (127.0.0.10) meets Domino without 8BITMIME (KB295734).
scenario 8bitmime-abort 127.0.0.31 py iis-abort 127.0.0.31 127.0.0.10 49001
scenario 8bitmime-ok 127.0.0.30 py 8bit-ok 127.0.0.30 127.0.0.10 49002
scenario 8bitmime-unoffered 127.0.0.31 py 8bit-unoffered 127.0.0.31 127.0.0.12 49003
scenario 8bit-undeclared 127.0.0.30 py 8bit-undeclared 127.0.0.30 127.0.0.12 49004
scenario pipelining 127.0.0.30 swaks --pipeline --server 127.0.0.30 \
    --local-interface 127.0.0.11 --local-port 49005 --helo pipe.contoso.test \
    --from sender@contoso.test --to alice@northwind.test,bob@northwind.test \
    --data "$HERE/clients/msg-7bit.eml"
scenario pipelining-unoffered 127.0.0.32 py pipelining-unoffered 127.0.0.32 127.0.0.12 49006
scenario starttls 127.0.0.33 swaks -tls --server 127.0.0.33 \
    --local-interface 127.0.0.11 --local-port 49007 --helo tls.contoso.test \
    --from sender@contoso.test --to alice@northwind.test \
    --data "$HERE/clients/msg-7bit.eml"
scenario rcpt-rejected-deferred 127.0.0.30 py rcpt-errors 127.0.0.30 127.0.0.11 49008
scenario mail-deferred 127.0.0.30 py mail-deferred 127.0.0.30 127.0.0.11 49009
scenario bdat 127.0.0.30 py bdat 127.0.0.30 127.0.0.11 49010
scenario smtputf8 127.0.0.30 py smtputf8 127.0.0.30 127.0.0.11 49011
scenario ipv6 ::1 swaks --server ::1 -6 \
    --local-interface ::1 --local-port 49012 --helo v6.contoso.test \
    --from sender@contoso.test --to alice@northwind.test \
    --data "$HERE/clients/msg-7bit.eml"
scenario probe 127.0.0.31 py probe 127.0.0.31 127.0.0.20 49013
scenario rset-after-mail 127.0.0.31 py rset-after-mail 127.0.0.31 127.0.0.12 49014
scenario reset-mid-data 127.0.0.30 py reset-mid-data 127.0.0.30 127.0.0.11 49015
scenario auth-unoffered 127.0.0.30 py auth-unoffered 127.0.0.30 127.0.0.11 49016

# The same pipelining capture as pcapng, for the pcapng reader.
if [[ " $made " == *" pipelining "* ]]; then
	editcap -F pcapng "$OUT/pipelining.pcap" "$OUT/pipelining.pcapng"
	chmod 0644 "$OUT/pipelining.pcapng"
fi

echo "make-pcaps: made:$made (Postfix $PF_VERSION, $(tcpdump --version 2>&1 | head -n 1))" >&2
