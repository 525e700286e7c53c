#!/bin/sh
# t-tls.sh - TLS decryption with key logs, on the real captures that
# pcaps/make-tls-pcaps.sh made (Postfix with STARTTLS and on port 465,
# Python clients that wrote their key logs into pcaps/keys/).
#
# For every capture with a key log:
#   - the session is decrypted (tls_handshake.decryption "decrypted", no
#     record failing authentication), and the summary says so;
#   - --dump-streams writes the decrypted application data of each
#     direction, and it is byte for byte what the client wrote and read
#     inside TLS (pcaps/expected/NAME.tls.c2s, .s2c, from the client) and
#     what tshark decrypts with the same key log (-z follow,tls,raw);
#   - the commands inside TLS are in the record (the second EHLO, MAIL...).
# Then what a user meets:
#   - the KB295734 abort inside TLS is found from the decrypted dialogue,
#     with the diagnosis that no middlebox rewrote the reply, and without
#     keys only as the size inference ("possible", "no keys");
#   - the expired certificate; the TLS 1.3 certificate (encrypted in the
#     handshake, read only when decrypted);
#   - the key log of another session: "no-key"; a secret with one wrong
#     digit: "failed"; a record with one flipped bit: counted as failing
#     authentication, never decoded, the records around it still decoded;
#   - a pcapng with a Decryption Secrets Block decrypts without
#     --tls-keylog; implicit TLS on 465 is decoded with keys, only counted
#     without;
#   - a missing key log is a usage error with a message.
# Skips (77) without /usr/bin/python3; the tshark comparison is skipped
# without tshark.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python
HAVE_TSHARK=
command -v tshark >/dev/null 2>&1 && HAVE_TSHARK=1

# json NAME CAPTURE ARGS...: the first session record as $T/NAME.json
json() {
	_n=$1 _c=$2
	shift 2
	"$SMTPSCOPE" -r "$_c" -b --json "$T/$_n.json" "$@" >"$T/$_n.out" 2>"$T/$_n.err"
	echo $? >"$T/$_n.rc"
}
# field NAME PYTHON-EXPR: an expression over the first record r
field() {
	"$PY" -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
t = r.get("tls_handshake") or {}
print(eval(sys.argv[2]))' "$T/$1.json" "$2" 2>/dev/null
}

# tshark's decrypted application data of stream 0, one direction: hex
# lines, node 0's unindented, node 1's indented (node 0 is whoever sent
# first).
tshark_plain() {	# CAPTURE KEYS DIR(c|s) OUT
	tshark -r "$1" -o "tls.keylog_file:$2" -q -z follow,tls,raw,0 2>/dev/null |
	    "$PY" -c 'import sys, binascii
want = sys.argv[1]
out = bytearray()
body = False
node0_server = False	# unindented lines: node 0, the first to send
for line in sys.stdin:
    if line.startswith("====="):
        body = True
        continue
    if line.startswith("Node 0: "):
        node0_server = line.rstrip().endswith((":25", ":465"))
    if not body or line.startswith(("Follow:", "Filter:", "Node ")) or not line.strip():
        continue
    node0 = not line.startswith("\t")
    side = "s" if node0 == node0_server else "c"
    if side == want:
        out += binascii.unhexlify(line.strip())
open(sys.argv[2], "wb").write(out)' "$3" "$4"
}

n_caps=0
for keys in pcaps/keys/*.keys; do
	[ -e "$keys" ] || t_skip "no key logs in pcaps/keys"
	name=$(basename "$keys" .keys)
	cap=pcaps/$name.pcap
	[ -e "$cap" ] || { t_fail "$name-capture" "no $cap for $keys"; continue; }
	n_caps=$((n_caps + 1))
	d=$T/dump-$name
	json "$name" "$cap" --tls-keylog "$keys" --dump-streams "$d"
	t_eq "$name-decrypted" "$(field "$name" 't.get("decryption")')" decrypted
	t_eq "$name-auth-ok" "$(field "$name" 't.get("records_failed_authentication")')" 0
	t_grep "$name-summary" '^  TLS: 1 sessions, 1 decrypted, 0 without a key, 0 failed' "$T/$name.out"
	t_eq "$name-second-ehlo" "$(field "$name" '[v for v in r["verbs"]].count("EHLO") + [v for v in r["verbs"]].count("QUIT")')" \
	    "$(case $name in smtps-*) echo 2 ;; *) echo 3 ;; esac)"
	# The decrypted bytes, each direction, against the client's own.
	c2s=$(ls "$d"/*.tls 2>/dev/null | grep -v -e '\.00025-' -e '\.00465-' | head -n 1)
	s2c=$(ls "$d"/*.tls 2>/dev/null | grep -e '\.00025-' -e '\.00465-' | head -n 1)
	t_check "$name-c2s-bytes" cmp -s "$c2s" "pcaps/expected/$name.tls.c2s"
	t_check "$name-s2c-bytes" cmp -s "$s2c" "pcaps/expected/$name.tls.s2c"
	if [ -n "$HAVE_TSHARK" ]; then
		tshark_plain "$cap" "$keys" c "$T/$name.ts.c2s"
		tshark_plain "$cap" "$keys" s "$T/$name.ts.s2c"
		t_check "$name-c2s-tshark" cmp -s "$c2s" "$T/$name.ts.c2s"
		t_check "$name-s2c-tshark" cmp -s "$s2c" "$T/$name.ts.s2c"
	fi
done
[ "$n_caps" -ge 8 ] || t_fail captures-with-keys "only $n_caps captures with key logs"

# --- the abort inside TLS ---------------------------------------------------------
A=tls13-8bitmime-abort
t_eq abort-type "$(field $A '",".join(i["type"] for i in r["incidents"])')" 8bitmime-abort
t_eq abort-verbs "$(field $A '" ".join(r["verbs"])')" "EHLO STARTTLS EHLO RSET QUIT"
t_eq abort-no-middlebox "$(field $A '"no device in the path rewrote it" in r["incidents"][0]["diagnosis"] and "rewriting its EHLO reply" not in r["incidents"][0]["fix"]')" True
t_eq abort-visible "$(field $A 'r["incidents"][0].get("visibility")')" None
json abort-nokeys "pcaps/$A.pcap"
t_eq abort-nokeys-type "$(field abort-nokeys '",".join(i["type"] + "/" + i["confidence"] for i in r["incidents"])')" 8bitmime-abort/possible
t_eq abort-nokeys-note "$(field abort-nokeys '"no keys" in (r["incidents"][0].get("visibility") or "")')" True
t_eq abort-nokeys-dec "$(field abort-nokeys 't.get("decryption")')" None
t_grep abort-nokeys-summary '^  TLS: 1 sessions, not decrypted \(no --tls-keylog\)' "$T/abort-nokeys.out"

# --- certificates -------------------------------------------------------------------
t_eq expired-cert "$(field tls12-expired-cert '",".join(i["type"] for i in r["incidents"])')" tls-certificate-problem
t_eq expired-cert-state "$(field tls12-expired-cert 'r["state"]')" delivered
t_eq tls13-cert "$(field tls13-aes128gcm 't["certificate"]["subject"]')" tls.fabrikam.test
json tls13-nokeys pcaps/tls13-aes128gcm.pcap
t_eq tls13-cert-hidden "$(field tls13-nokeys 't.get("certificate")')" None

# --- wrong keys, damaged records ----------------------------------------------------------
json otherkey pcaps/tls13-aes128gcm.pcap --tls-keylog pcaps/keys/tls12-aes128gcm.keys
t_eq otherkey-dec "$(field otherkey 't.get("decryption")')" no-key
t_eq otherkey-state "$(field otherkey 'r["state"]')" tls
t_grep otherkey-summary '^  TLS: 1 sessions, 0 decrypted, 1 without a key, 0 failed' "$T/otherkey.out"
# One hex digit of every secret changed: the keys are wrong.
"$PY" -c 'import sys
out = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 3 and not f[0].startswith("#"):
        s = f[2]
        f[2] = ("1" if s[0] != "1" else "2") + s[1:]
        line = " ".join(f) + "\n"
    out.append(line)
open(sys.argv[2], "w").write("".join(out))' pcaps/keys/tls13-aes128gcm.keys "$T/wrong.keys"
json wrongkey pcaps/tls13-aes128gcm.pcap --tls-keylog "$T/wrong.keys"
t_eq wrongkey-dec "$(field wrongkey 't.get("decryption")')" failed
t_eq wrongkey-nothing-decoded "$(field wrongkey '" ".join(r["verbs"])')" "EHLO STARTTLS"
# One bit flipped in the client's third application data record (its
# MAIL FROM in TLS 1.2: Finished, EHLO, MAIL): that record fails, the
# records before and after it decrypt.
"$PY" - pcaps/tls12-aes128gcm.pcap "$T/flipped.pcap" <<'EOF'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
off, n = 24, 0
flipped = False
while off + 16 <= len(data) and not flipped:
    incl = struct.unpack_from("<I", data, off + 8)[0]
    pkt = off + 16
    eth = 14
    ihl = (data[pkt + eth] & 15) * 4
    tcp = pkt + eth + ihl
    sport = struct.unpack_from(">H", data, tcp)[0]
    thl = (data[tcp + 12] >> 4) * 4
    pl = tcp + thl
    end = pkt + incl
    # A client packet whose payload starts an application data record.
    if sport != 25 and end - pl > 5 and data[pl] == 0x17 and data[pl + 1] == 3:
        n += 1
        if n == 2:	# the client's 2nd application data record (TLS 1.2: after Finished)
            data[pl + 5 + 10] ^= 0x01
            flipped = True
    off = end
assert flipped, "no record to flip"
open(sys.argv[2], "wb").write(data)
EOF
json flipped "$T/flipped.pcap" --tls-keylog pcaps/keys/tls12-aes128gcm.keys
t_eq flipped-counted "$(field flipped 't.get("records_failed_authentication")')" 1
t_eq flipped-dec "$(field flipped 't.get("decryption")')" decrypted
t_eq flipped-verbs "$(field flipped '" ".join(r["verbs"])')" "EHLO STARTTLS EHLO RCPT DATA QUIT"
t_grep flipped-summary '1 records failed authentication$' "$T/flipped.out"

# --- the key in the capture, implicit TLS, bad arguments ------------------------------------
json dsb pcaps/tls13-dsb.pcapng
t_eq dsb-dec "$(field dsb 't.get("decryption")')" decrypted
t_eq dsb-verbs "$(field dsb '" ".join(r["verbs"])')" "$(field tls13-aes128gcm '" ".join(r["verbs"])')"
json smtps-nokeys pcaps/smtps-tls13.pcap
t_grep smtps-counted '^  port 465 \(implicit TLS, not decoded\): 1 connections' "$T/smtps-nokeys.out"
t_eq smtps-greeting "$(field smtps-tls13 'r["banner_code"]')" 220
t_eq smtps-tls "$(field smtps-tls13 'r["tls"]')" True
json smtps-p465 pcaps/smtps-tls13.pcap -P 465
t_eq smtps-p465-handshake "$(field smtps-p465 't.get("version")')" "TLS 1.3"
t_eq smtps-p465-no-starttls-finding "$(field smtps-p465 'len(r["incidents"])')" 0
json missing pcaps/tls12-aes128gcm.pcap --tls-keylog "$T/no-such.keys"
t_eq missing-rc "$(cat "$T/missing.rc")" 1
t_grep missing-msg "^smtpscope: --tls-keylog: cannot read '.*no-such.keys': No such file or directory$" "$T/missing.err"
# The reports' run block counts them too.
"$SMTPSCOPE" -b -r pcaps/tls13-aes128gcm.pcap -r pcaps/tls12-chacha20.pcap \
    --tls-keylog pcaps/keys/tls13-aes128gcm.keys --report "$T/run.json" \
    --report "$T/run.txt" >/dev/null 2>&1
t_eq report-json-tls "$("$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))["run"]
print(r["tls_sessions"], r["tls_decryption"])' "$T/run.json")" \
    "2 {'decrypted': 1, 'no_key': 1, 'failed': 0, 'unsupported_suite': 0, 'records_failed_authentication': 0}"
t_grep report-txt-tls '^  TLS sessions: 2, decrypted 1, without a key 1, failed 0' "$T/run.txt"
# Secrets never reach an output.
secret=$(awk '$1 == "CLIENT_RANDOM" { print $3; exit }' pcaps/keys/tls12-aes128gcm.keys)
t_check secret-not-in-outputs sh -c "! grep -rqi '$secret' '$T'/*.json '$T'/*.out '$T'/*.err"
t_done
