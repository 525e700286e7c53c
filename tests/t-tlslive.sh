#!/bin/sh
# t-tlslive.sh - decrypting live: smtpscope -i lo follows a key log that the
# client writes while smtpscope watches.
#
# A private Postfix with STARTTLS (tests/lib/postfix.sh, a certificate made
# here) and, for port 465, a second one in wrapper mode.  The key log file
# exists and is empty when smtpscope starts; a Python client (ssl module,
# keylog_filename: OpenSSL appends each secret as the handshake makes it)
# delivers a message over STARTTLS with TLS 1.3 and then with TLS 1.2, and
# once over implicit TLS.  In TLS 1.3 the server's first encrypted records
# are on the wire before the client has logged their secrets: smtpscope
# holds them and decrypts them when the key log grows.  After SIGINT, each
# JSON record says "decrypted", holds the commands sent inside TLS and the
# queue id the server gave inside TLS, and the summary counts them; a
# fourth session, whose client writes no key log, is "no-key".
#
# Needs root (capture, Postfix): CI runs as root.  Skips (77) without root,
# postfix, openssl or /usr/bin/python3.  Address 127.0.0.49, ports 2550 and
# 465; every wait is a bounded poll.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh
. tests/lib/postfix.sh

t_need_binary
pf_require
t_need_python
t_need openssl

ADDR=127.0.0.49
PORT=2550
WRAP=465	# implicit TLS is port 465 (RFC 8314)
O=$T/out

pf_tls_cert live.northwind.test || t_skip "openssl could not make a certificate"
pf_start "$ADDR" "$PORT" myhostname=live.northwind.test \
    "smtpd_tls_cert_file = $T/tls.crt" "smtpd_tls_key_file = $T/tls.key" \
    "smtpd_tls_security_level = may" || exit 1
pf_start "$ADDR" "$WRAP" myhostname=smtps.northwind.test \
    "smtpd_tls_cert_file = $T/tls.crt" "smtpd_tls_key_file = $T/tls.key" \
    "smtpd_tls_wrappermode = yes" "smtpd_tls_security_level = encrypt" || exit 1

# client MODE KEYLOG: one delivery (MODE: tls13, tls12, implicit).
client() {
	"$PY" - "$ADDR" "$1" "$2" "$PORT" "$WRAP" <<'EOF'
import socket, ssl, sys
addr, mode, keylog, port, wrap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if keylog != "-":
    ctx.keylog_filename = keylog
if mode == "tls12":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
else:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
def reply(f):
    while True:
        l = f.readline()
        if len(l) < 4:
            raise SystemExit("no reply")
        if l[3:4] != b"-":
            return l
def cmd(s, f, line, want):
    s.sendall(line + b"\r\n")
    r = reply(f)
    if not r.startswith(want):
        raise SystemExit("%r: %r" % (line, r))
    return r
raw = socket.create_connection((addr, wrap if mode == "implicit" else port))
if mode == "implicit":
    s = ctx.wrap_socket(raw)
    f = s.makefile("rb")
    reply(f)
else:
    f = raw.makefile("rb")
    reply(f)
    cmd(raw, f, b"EHLO client.contoso.test", b"250")
    cmd(raw, f, b"STARTTLS", b"220")
    s = ctx.wrap_socket(raw)
    f = s.makefile("rb")
cmd(s, f, b"EHLO client.contoso.test", b"250")
cmd(s, f, b"MAIL FROM:<sender@contoso.test>", b"250")
cmd(s, f, b"RCPT TO:<alice@northwind.test>", b"250")
cmd(s, f, b"DATA", b"354")
r = cmd(s, f, b"Subject: live " + mode.encode() + b"\r\n\r\nInside TLS.\r\n.", b"250")
print(r.decode().split()[-1])	# the queue id
cmd(s, f, b"QUIT", b"221")
s.close()
EOF
}

: >"$T/live.keys"
chmod 600 "$T/live.keys"	# root's only: read through the fd opened before the drop
t_bg SP "$SMTPSCOPE" -i lo -b -P "$PORT,$WRAP" --tls-keylog "$T/live.keys" \
    --json "$O/live.jsonl" "host $ADDR" >"$T/scope.out" 2>"$T/scope.err" </dev/null
t_poll 200 grep -q "listening on" "$T/scope.err" ||
    { t_fail start "smtpscope did not start listening" "$T/scope.err"; t_done; }
Q13=$(client tls13 "$T/live.keys") || t_fail client-tls13 "the client failed"
Q12=$(client tls12 "$T/live.keys") || t_fail client-tls12 "the client failed"
QI=$(client implicit "$T/live.keys") || t_fail client-implicit "the client failed"
QN=$(client tls13 -) || t_fail client-nokey "the client failed"
lines_ge() { [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; }
t_poll 400 lines_ge "$O/live.jsonl" 4 ||
    t_fail json-before-stop "the four sessions were not written" "$O/live.jsonl"
kill -INT "$SP"
t_wait_exit "$SP" 400
t_eq exit-0-after-SIGINT "$?" 0

# facts QUEUEID: decryption, version, verbs, queue ids of the session whose
# queue id (given inside TLS) is QUEUEID; "none" when absent.
facts() {
	"$PY" -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = r.get("tls_handshake") or {}
    q = [x.get("queue_id") for x in r.get("transactions", [])]
    if sys.argv[2] in q or (sys.argv[2] == "-" and t.get("decryption") == "no-key"):
        print(t.get("decryption"), t.get("version"), " ".join(r["verbs"]), r["state"])
        break
else:
    print("none")' "$O/live.jsonl" "$1"
}
t_eq tls13-decrypted "$(facts "$Q13")" "decrypted TLS 1.3 EHLO STARTTLS EHLO MAIL RCPT DATA QUIT delivered"
t_eq tls12-decrypted "$(facts "$Q12")" "decrypted TLS 1.2 EHLO STARTTLS EHLO MAIL RCPT DATA QUIT delivered"
t_eq implicit-decrypted "$(facts "$QI")" "decrypted TLS 1.3 EHLO MAIL RCPT DATA QUIT delivered"
t_eq no-key "$(facts -)" "no-key TLS 1.3 EHLO STARTTLS tls"
t_grep summary '^  TLS: 4 sessions, 3 decrypted, 1 without a key, 0 failed' "$T/scope.out"
t_check keylog-followed grep -q CLIENT_RANDOM "$T/live.keys"
t_done
