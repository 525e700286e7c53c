#!/bin/sh
# t-tshark: on every capture in pcaps/, the client commands and the MAIL
# FROM and RCPT TO addresses smtpscope reports against tshark's SMTP
# dissector; every difference is explained in tests/tshark_compare.py (and
# an explained one that goes away fails too).  Skips without tshark.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python
command -v tshark >/dev/null 2>&1 || t_skip "tshark is not installed"
if "$PY" tests/tshark_compare.py "$SMTPSCOPE" pcaps/*.pcap pcaps/*.pcapng >"$T/tshark.txt" 2>&1; then
	t_ok tshark-agrees-or-explained
else
	t_fail tshark-agrees-or-explained "unexplained differences from tshark" "$T/tshark.txt"
fi
tail -n 1 "$T/tshark.txt"

# The cleartext TLS handshake after STARTTLS: version, cipher suite, SNI
# and alert as tshark's TLS dissector reads them, on every capture in
# pcaps/ that has TLS records.
# (pcapng files are left out: the one with TLS carries its key log, and
# tshark then reads the encrypted close_notify as an alert too.)
for cap in pcaps/*.pcap; do
	n=$(tshark -r "$cap" -Y tls -T fields -e frame.number 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || continue
	name=$(basename "$cap"); name=${name%.pcap*}
	want=$(tshark -r "$cap" -Y 'tls.handshake.type == 1 || tls.handshake.type == 2 || tls.alert_message' \
	    -T fields -e tls.handshake.type -e tls.handshake.extensions.supported_version \
	    -e tls.handshake.ciphersuite -e tls.handshake.extensions_server_name \
	    -e tls.alert_message.desc -e tls.handshake.version 2>/dev/null | "$PY" -c 'import sys
ver = {"0x0301": "TLS 1.0", "0x0302": "TLS 1.1", "0x0303": "TLS 1.2", "0x0304": "TLS 1.3"}
out = {"version": None, "cipher": None, "sni": None, "alert": None}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t") + [""] * 6
    types = f[0].split(",")
    if "2" in types:	# ServerHello: supported_versions, else its version
        v = f[1]
        if not v and f[5]:
            v = f[5].split(",")[types.index("2")]
        out["version"] = ver.get(v, v) if v else None
        out["cipher"] = int(f[2].split(",")[0], 16) if f[2] else None
    if "1" in types and f[3]:
        out["sni"] = f[3]
    if f[4] and out["alert"] is None:
        out["alert"] = int(f[4])
print(out)')
	got=$("$SMTPSCOPE" -r "$cap" -P 25,465 --json - -b 2>/dev/null | "$PY" -c 'import json, sys
alerts = {"handshake_failure": 40, "protocol_version": 70, "unrecognized_name": 112}
for line in sys.stdin:
    t = json.loads(line).get("tls_handshake")
    if not t:
        continue
    names = {"TLS_AES_256_GCM_SHA384": 0x1302, "TLS_AES_128_GCM_SHA256": 0x1301,
             "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
             "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xc02f,
             "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xc02b,
             "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xc02c,
             "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xcca9}
    c = t["cipher"]
    print({"version": t["version"], "cipher": names.get(c, c), "sni": t["sni"],
           "alert": alerts.get(t["alert"], t["alert"])})
    break')
	t_eq "tls-$name" "$got" "$want"
done
t_done
