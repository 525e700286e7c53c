#!/bin/bash
# make-tls-pcaps.sh - make the real TLS captures in pcaps/, with their key
# logs, so that the SMTP inside TLS can be decrypted (run as root).
#
# Like make-pcaps.sh it starts a private Postfix instance (its own config,
# queue and data directories in a temporary directory; nothing of the
# system's Postfix is used or touched), one server personality per
# loopback address, each with its own self-signed EC P-256 certificate made
# at run time (CN and subjectAltName = the personality's name):
#
#   127.0.0.50:25   tls.fabrikam.test         STARTTLS (level may), every
#                                             extension Postfix has, TLS 1.2
#                                             at least (see below)
#   127.0.0.51:25   domino-tls.fabrikam.test  STARTTLS, 8BITMIME and
#                                             SMTPUTF8 discarded (Lotus
#                                             Domino in KB295734)
#   127.0.0.52:25   expired.fabrikam.test     STARTTLS with a certificate
#                                             valid 2020-01-01 to 2021-01-01
#   127.0.0.53:465  smtps.fabrikam.test       implicit TLS (RFC 8314,
#                                             smtpd_tls_wrappermode)
#
# smtpd_tls_protocols = >=TLSv1.2 on tls.fabrikam.test is needed for the
# tls-bad-version story: Postfix 3.7's default is >=TLSv1, and for
# opportunistic TLS (cipher grade medium, aNULL included) Postfix sets
# OpenSSL's security level to 0, so TLS 1.0/1.1 would be accepted even on
# OpenSSL 3.  The other personalities keep Postfix's defaults.
#
# Local users alice, bob, postmaster @fabrikam.test; accepted mail goes to
# the discard transport: nothing leaves the machine, no mailbox is written.
#
# The client is pcaps/clients/tlsclient.py (python3, socket + ssl), bound to
# fixed source addresses (127.0.0.60-62) and ports (49101-49112); it pins
# the TLS version and suite of each scenario, writes the key log
# (ssl.SSLContext.keylog_filename) and the plaintext it sent and received
# inside TLS.  Each scenario is captured with tcpdump on lo into its own
# file and then checked with tshark: the key log decrypts it, the SMTP
# commands inside TLS are seen, tshark's decrypted TLS stream equals the
# client's plaintext byte for byte, the ServerHello has the intended version
# and suite (or, for the two failing handshakes, the server's alert is the
# intended one).  Any mismatch stops the script before that scenario's
# files are installed.
#
# Installs, for each scenario NAME: NAME.pcap, keys/NAME.keys and
# expected/NAME.tls.c2s / .tls.s2c (not for the failing handshakes: there
# is nothing inside TLS); and tls13-dsb.pcapng: tls13-aes128gcm.pcap with
# its key log embedded as a pcapng Decryption Secrets Block.
#
# The key logs are secrets of these throwaway sessions only.
#
# This script is for reproducibility; CI never runs it.  After a re-run,
# run describe.sh and update pcaps/README.md (sha256, packets).
#
# Usage: make-tls-pcaps.sh [-o OUTDIR] [SCENARIO...]  (default: all, into pcaps/)
# KEEP=1 keeps the temporary directory (config, maillog) for debugging.
# What it shares with make-pcaps.sh (options, cleanup, the common Postfix
# settings, the tcpdump helpers) is in capture-lib.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
CLIENT=$HERE/clients/tlsclient.py
CAP_PORTS="25 465"
# shellcheck source=pcaps/capture-lib.sh
. "$HERE/capture-lib.sh"

cap_options "$@"
shift $((OPTIND - 1))
cap_require postfix postconf tcpdump tshark editcap openssl ss
$PY -c 'import socket, ssl, ctypes' || die "$PY does not work"

SERVERS="127.0.0.50:25 127.0.0.51:25 127.0.0.52:25 127.0.0.53:465"

# Refuse to start on an address someone else already serves (a wildcard
# listener on the port would take our connections too).
for a in $SERVERS; do
	port=${a##*:}
	if ss -Htln "sport = :$port" | awk '{print $4}' |
	    grep -qxF -e "$a" -e "0.0.0.0:$port" -e "*:$port" -e "[::]:$port"; then
		die "something already listens on $a (or on every address, port $port)"
	fi
done

# cleanup (capture-lib.sh) calls this when the script fails.
cap_on_failure() {
	if grep -qv '^Running as user' "$T/tshark.err" 2>/dev/null; then
		echo "make-tls-pcaps: tshark said:" >&2
		grep -v '^Running as user' "$T/tshark.err" | tail -n 5 >&2
	fi
}
cap_tmpdir smtpscope-tls-pcaps

# --- certificates ---------------------------------------------------------------

mkdir -p "$T/ca/newcerts"

# selfsigned NAME SERIAL: a P-256 key and a self-signed certificate, valid
# from now for 30 days.
selfsigned() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$CONF/$1.key" -out "$CONF/$1.crt" -days 30 -set_serial "$2" \
	    -subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null ||
	    die "openssl could not make the certificate of $1"
}
selfsigned tls.fabrikam.test 0x50
selfsigned domino-tls.fabrikam.test 0x51
selfsigned smtps.fabrikam.test 0x53

# The expired one: openssl req cannot set dates in the past, openssl ca can
# (-selfsign signs the request with its own key; a minimal CA config).
cat >"$T/ca/ca.cnf" <<EOF
[ca]
default_ca = ca_expired
[ca_expired]
dir = $T/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_cn
x509_extensions = ext_server
unique_subject = no
copy_extensions = none
[policy_cn]
commonName = supplied
[ext_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:expired.fabrikam.test
EOF
: >"$T/ca/index.txt"
echo 52 >"$T/ca/serial"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$CONF/expired.fabrikam.test.key" -out "$T/ca/expired.csr" \
    -subj "/CN=expired.fabrikam.test" 2>/dev/null
openssl ca -batch -notext -config "$T/ca/ca.cnf" -selfsign \
    -keyfile "$CONF/expired.fabrikam.test.key" -in "$T/ca/expired.csr" \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -out "$CONF/expired.fabrikam.test.crt" >"$T/ca/ca.log" 2>&1 ||
    die "openssl ca failed: $(cat "$T/ca/ca.log")"
[ "$(openssl x509 -in "$CONF/expired.fabrikam.test.crt" -noout -enddate)" = \
    "notAfter=Jan  1 00:00:00 2021 GMT" ] || die "the expired certificate is not"
chmod 600 "$CONF"/*.key

# --- the private Postfix instance -------------------------------------------

cat >"$CONF/users" <<'EOF'
alice@fabrikam.test	ok
bob@fabrikam.test	ok
postmaster@fabrikam.test	ok
EOF

main_cf tls.fabrikam.test fabrikam.test <<EOF
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_tls_loglevel = 1
EOF

# tls NAME: the -o lines of a TLS personality with its own certificate.
tls() {
	printf '  -o myhostname=%s\n' "$1"
	printf '  -o smtpd_tls_chain_files=%s,%s\n' "$CONF/$1.key" "$CONF/$1.crt"
}
{
	echo "127.0.0.50:25 inet n - n - - smtpd"
	tls tls.fabrikam.test
	echo "  -o smtpd_tls_security_level=may"
	echo "  -o smtpd_tls_protocols=>=TLSv1.2"
	echo "127.0.0.51:25 inet n - n - - smtpd"
	tls domino-tls.fabrikam.test
	echo "  -o smtpd_tls_security_level=may"
	echo "  -o smtpd_discard_ehlo_keywords=8bitmime,smtputf8"
	echo "127.0.0.52:25 inet n - n - - smtpd"
	tls expired.fabrikam.test
	echo "  -o smtpd_tls_security_level=may"
	echo "127.0.0.53:465 inet n - n - - smtpd"
	tls smtps.fabrikam.test
	echo "  -o smtpd_tls_wrappermode=yes"
	echo "  -o smtpd_tls_security_level=encrypt"
	master_services
} >"$CONF/master.cf"

postfix_needs smtpd_discard_ehlo_keywords smtpd_tls_wrappermode smtpd_tls_chain_files

# shellcheck disable=SC2086 # the four ADDR:PORTs
postfix_start $SERVERS

# --- checks with tshark ---------------------------------------------------------

ts() { tshark -n -r "$@" 2>>"$T/tshark.err"; }

# check_stream PCAP C2S S2C CLIENT [TSHARK-OPTION...]: tshark's decrypted TLS
# stream 0 equals the client's plaintext, both directions.
check_stream() {
	local pcap=$1 c2s=$2 s2c=$3 client=$4
	shift 4
	ts "$pcap" "$@" -q -z follow,tls,raw,0 >"$T/follow.txt"
	$PY - "$T/follow.txt" "$c2s" "$s2c" "$client" <<'EOF'
import sys
follow, c2s, s2c, client = sys.argv[1:]
nodes, data = {}, {0: bytearray(), 1: bytearray()}
for line in open(follow):
    line = line.rstrip("\n")
    if line.startswith("Node "):
        k, addr = line[5:].split(": ", 1)
        nodes[int(k)] = addr
    elif line and line[0] in "\t0123456789abcdef" and not line.startswith("==="):
        node = 1 if line.startswith("\t") else 0
        data[node] += bytes.fromhex(line.strip())
if len(nodes) != 2:
    sys.exit("follow,tls: no stream (not decrypted?)")
cnode = 0 if nodes[0].rsplit(":", 1)[0] == client else 1
got = {"c2s": bytes(data[cnode]), "s2c": bytes(data[1 - cnode])}
for d, f in (("c2s", c2s), ("s2c", s2c)):
    want = open(f, "rb").read()
    if got[d] != want:
        sys.exit("follow,tls %s: %d bytes decrypted, the client's plaintext has %d"
                 " (first difference at %d)" % (d, len(got[d]), len(want),
                 next((i for i in range(min(len(got[d]), len(want)))
                       if got[d][i] != want[i]), min(len(got[d]), len(want)))))
EOF
}

# check_tls NAME PCAP KEYS C2S S2C CLIENT VERSION SUITE COMMANDS
check_tls() {
	local name=$1 pcap=$2 keys=$3 c2s=$4 s2c=$5 client=$6 ver=$7 suite=$8 cmds=$9
	local ko=(-o "tls.keylog_file:$keys")
	[ -n "$keys" ] || ko=(-o "tls.keylog_file:")
	local sh got
	sh=$(ts "$pcap" "${ko[@]}" -Y "tls.handshake.type == 2" -T fields \
	    -e tls.handshake.version -e tls.handshake.extensions.supported_version \
	    -e tls.handshake.ciphersuite)
	got=$(echo "$sh" | awk -F'\t' '{ print ($2 != "" ? $2 : $1), $3 }')
	[ "$got" = "$ver $suite" ] ||
	    die "$name: ServerHello says '$got', wanted '$ver $suite'"
	got=$(ts "$pcap" "${ko[@]}" -Y smtp.req -T fields -e smtp.req.command |
	    tr '\n' ' ' | sed 's/ *$//')
	[ "$got" = "$cmds" ] ||
	    die "$name: tshark sees the commands '$got', wanted '$cmds'"
	# Without the secrets the commands inside TLS are not seen.
	if [ -n "$keys" ]; then
		got=$(ts "$pcap" -o "tls.keylog_file:" -Y smtp.req -T fields \
		    -e smtp.req.command | wc -l)
		[ "$got" -lt "$(echo "$cmds" | wc -w)" ] ||
		    die "$name: tshark sees every command even without the key log"
	fi
	check_stream "$pcap" "$c2s" "$s2c" "$client" "${ko[@]}" ||
	    die "$name: the decrypted stream is not the client's plaintext"
	echo "make-tls-pcaps: $name: $(ts "$pcap" "${ko[@]}" -Y "tls.handshake.type == 2" -V |
	    sed -n 's/^ *Cipher Suite: //p' | head -n 1), $ver; inside TLS: $cmds" >&2
}

# check_alert NAME PCAP SERVER DESC HELLO: the ClientHello is HELLO (its
# version, supported_versions, suites) and the handshake ends with a fatal
# alert DESC from the server.
check_alert() {
	local name=$1 pcap=$2 server=$3 desc=$4 hello=$5 got
	got=$(ts "$pcap" -Y "tls.handshake.type == 1" -T fields -e tls.handshake.version \
	    -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite \
	    -E occurrence=a | tr '\t' ' ')
	# shellcheck disable=SC2053 # HELLO may be a pattern
	[[ $got == $hello ]] || die "$name: ClientHello '$got', wanted '$hello'"
	got=$(ts "$pcap" -Y tls.alert_message -T fields -e ip.src \
	    -e tls.alert_message.level -e tls.alert_message.desc)
	[ "$got" = "$server	2	$desc" ] ||
	    die "$name: alerts '$got', wanted a fatal alert $desc from $server"
	echo "make-tls-pcaps: $name: $(ts "$pcap" -Y tls.alert_message -V |
	    sed -n 's/^ *Description: //p' | head -n 1) alert from $server" >&2
}

# --- scenarios ------------------------------------------------------------------
# scenario NAME SERVER CLIENT-ADDR CLIENT-PORT CHECK ARG...: capture the
# client's run of NAME, check it (CHECK tls VERSION SUITE COMMANDS, or
# CHECK alert DESC), then install it.

mkdir -p "$OUT/keys" "$OUT/expected"
scenario() {
	local name=$1 addr=$2 caddr=$3 cport=$4 check=$5
	shift 5
	wanted "$name" || return 0
	capture "$name" "$addr" "tcp and host $addr and (port 25 or port 465)" \
	    $PY "$CLIENT" "$name" "$addr" "$caddr" "$cport" "$T/$name.keys" "$T/$name"
	case $check in
	tls)
		check_tls "$name" "$T/$name.pcap" "$T/$name.keys" "$T/$name.tls.c2s" \
		    "$T/$name.tls.s2c" "$caddr" "$@"
		install -m 0644 "$T/$name.keys" "$OUT/keys/$name.keys"
		install -m 0644 "$T/$name.tls.c2s" "$OUT/expected/$name.tls.c2s"
		install -m 0644 "$T/$name.tls.s2c" "$OUT/expected/$name.tls.s2c"
		;;
	alert)
		check_alert "$name" "$T/$name.pcap" "$addr" "$@"
		;;
	esac
	install_capture "$name"
}

# TLS versions and suites as the ServerHello carries them; the commands as
# tshark 4.0 names them (STARTTLS as STAR).
V12=0x0303 V13=0x0304
STARTTLS8="EHLO STAR EHLO MAIL RCPT DATA QUIT"
STARTTLS7=$STARTTLS8

scenario tls12-aes128gcm 127.0.0.50 127.0.0.60 49101 tls $V12 0xc02b "$STARTTLS8"
scenario tls12-aes256gcm 127.0.0.50 127.0.0.60 49102 tls $V12 0xc02c "$STARTTLS8"
scenario tls12-chacha20 127.0.0.50 127.0.0.60 49103 tls $V12 0xcca9 "$STARTTLS8"
scenario tls13-aes128gcm 127.0.0.50 127.0.0.60 49104 tls $V13 0x1301 "$STARTTLS7"
scenario tls13-aes256gcm 127.0.0.50 127.0.0.60 49105 tls $V13 0x1302 "$STARTTLS7"
scenario tls13-chacha20 127.0.0.50 127.0.0.60 49106 tls $V13 0x1303 "$STARTTLS7"
scenario tls13-8bitmime-abort 127.0.0.51 127.0.0.61 49107 tls $V13 0x1301 \
    "EHLO STAR EHLO RSET QUIT"
scenario tls12-expired-cert 127.0.0.52 127.0.0.60 49108 tls $V12 0xc02b "$STARTTLS8"
# TLS 1.2 with RSA-authenticated suites only (and the renegotiation SCSV);
# TLS 1.1 at most, no supported_versions extension, whatever suites.
scenario tls-no-shared-cipher 127.0.0.50 127.0.0.62 49109 alert 40 \
    "0x0303  0xc02f,0x009c,0x00ff"
scenario tls-bad-version 127.0.0.50 127.0.0.62 49110 alert 70 "0x0302  0x*"
scenario smtps-tls13 127.0.0.53 127.0.0.60 49111 tls $V13 0x1302 \
    "EHLO MAIL RCPT DATA QUIT"
scenario tls13-keyupdate 127.0.0.50 127.0.0.60 49112 tls $V13 0x1301 "$STARTTLS7"

# The expired certificate really is in the capture, in cleartext (TLS 1.2).
if [[ " $made " == *" tls12-expired-cert "* ]]; then
	ts "$OUT/tls12-expired-cert.pcap" -Y tls.handshake.certificate -T fields \
	    -e x509af.utcTime -E occurrence=a | grep -qxF '2020-01-01 00:00:00 (UTC),2021-01-01 00:00:00 (UTC)' ||
	    die "tls12-expired-cert: the certificate's validity is not 2020-01-01 to 2021-01-01"
fi

# Three KeyUpdates (the client's, requested; the server's answer; the
# client's, not requested), and the stream decrypted across them (above).
if [[ " $made " == *" tls13-keyupdate "* ]]; then
	ku=$(ts "$OUT/tls13-keyupdate.pcap" -o "tls.keylog_file:$OUT/keys/tls13-keyupdate.keys" \
	    -Y "tls.handshake.type == 24" -T fields -e ip.src -e tls.handshake.key_update.request_update) ||
	    die "tls13-keyupdate: tshark failed"
	[ "$ku" = "127.0.0.60	1
127.0.0.50	0
127.0.0.60	0" ] || die "tls13-keyupdate: KeyUpdates seen: '$ku'"
fi

# tls13-aes128gcm with its key log embedded (pcapng Decryption Secrets Block):
# tshark decrypts it with no key log file given.
if [[ " $made " == *" tls13-aes128gcm "* ]] || wanted tls13-dsb; then
	echo "make-tls-pcaps: tls13-dsb" >&2
	[ -f "$OUT/tls13-aes128gcm.pcap" ] || die "tls13-dsb: make tls13-aes128gcm first"
	editcap --inject-secrets "tls,$OUT/keys/tls13-aes128gcm.keys" \
	    "$OUT/tls13-aes128gcm.pcap" "$T/tls13-dsb.pcapng"
	check_tls tls13-dsb "$T/tls13-dsb.pcapng" "" \
	    "$OUT/expected/tls13-aes128gcm.tls.c2s" "$OUT/expected/tls13-aes128gcm.tls.s2c" \
	    127.0.0.60 $V13 0x1301 "$STARTTLS7"
	install -m 0644 "$T/tls13-dsb.pcapng" "$OUT/tls13-dsb.pcapng"
	made="$made tls13-dsb"
fi

for w in "$@"; do
	[[ " $made " == *" $w "* ]] || die "no scenario named $w"
done
echo "make-tls-pcaps: made:$made (Postfix $PF_VERSION, $(tcpdump --version 2>&1 | head -n 1), $($PY -c 'import ssl; print(ssl.OPENSSL_VERSION)'))" >&2
