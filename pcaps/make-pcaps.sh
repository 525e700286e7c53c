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
# What it shares with make-tls-pcaps.sh (options, cleanup, the common Postfix
# settings, the tcpdump helpers) is in capture-lib.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
CLIENT=$HERE/clients/smtpclient.py
CAP_PORTS=25
# shellcheck source=pcaps/capture-lib.sh
. "$HERE/capture-lib.sh"

cap_options "$@"
shift $((OPTIND - 1))
cap_require postfix postconf tcpdump swaks openssl ss editcap
$PY -c 'import socket' || die "$PY does not work"

cap_tmpdir smtpscope-pcaps

# --- the private Postfix instance -------------------------------------------

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

main_cf mx1.northwind.test northwind.test <<EOF
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_sender_restrictions = check_sender_access texthash:$CONF/sender_access
smtpd_recipient_restrictions = check_recipient_access texthash:$CONF/rcpt_access
EOF

{
	cat <<EOF
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
EOF
	master_services
} >"$CONF/master.cf"

postfix_needs smtpd_discard_ehlo_keywords smtputf8_enable smtpd_peername_lookup

# Refuse to start on an address someone else already serves.
for a in 127.0.0.30 127.0.0.31 127.0.0.32 127.0.0.33 '[::1]'; do
	if ss -Htln "sport = :25" | awk '{print $4}' | grep -qF "$a:25"; then
		die "something already listens on $a:25"
	fi
done

postfix_start 127.0.0.30:25 127.0.0.31:25 127.0.0.32:25 127.0.0.33:25 '[::1]:25'

# --- scenarios ------------------------------------------------------------------
# scenario NAME SERVER-ADDR COMMAND...: capture COMMAND talking to SERVER-ADDR.

scenario() {
	local name=$1 addr=$2
	shift 2
	wanted "$name" || return 0
	capture "$name" "$addr" "tcp port 25 and host $addr" "$@"
	install_capture "$name"
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
