#!/bin/sh
# t-probe.sh - smtpscope --probe against real servers and bad ones.
#
# Two private Postfix instances on loopback (tests/lib/postfix.sh), one
# normal and one with smtpd_discard_ehlo_keywords = 8bitmime: the verdict
# says 8BITMIME offered for the first and NOT offered for the second, and
# --json - gives one session record whose capabilities match (and, for the
# second, the smtputf8-without-8bitmime notice: Postfix still offers
# SMTPUTF8 there).  Then the failures a user meets, each exit 4 with a
# message that says what happened: a closed port (connection refused), a
# server that accepts and never speaks (tests/fake_server.py silent: "no
# reply" / "timed out"), a web server (fake_server.py http: "does not speak
# SMTP"); and bad --probe arguments, exit 2.  Then what the probe says in
# the cases that mislead: a refused greeting (fake_server.py refuse: exit
# 4), a refused EHLO (fake_server.py noehlo: the EHLO reply quoted, not
# QUIT's), the EHLO name and source address used (a third Postfix hides
# 8BITMIME from 127.0.0.5 only), and --require's status line and
# monitoring-plugin exit codes.
#
# The probe waits 15 s for a silent server unless the binary has a
# --probe-timeout option (then 1 s is used); that probe runs in the
# background while the others run, so the test stays well under a minute.
# Skips (77) without root, postfix or /usr/bin/python3.  Addresses
# 127.0.0.42-44 and .48, ports 2540-2549.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh
. tests/lib/postfix.sh

t_need_binary
pf_require
t_need_python

PORT=2540
NORMAL=127.0.0.42
NO8BIT=127.0.0.43
FAKE=127.0.0.44
SILENT_PORT=2541
HTTP_PORT=2542
REFUSE_PORT=2543
NOEHLO_PORT=2544
CLOSED_PORT=2549
PERCLIENT=127.0.0.48

# --- the servers that are not SMTP servers ---------------------------------------
t_listening "$FAKE" "$CLOSED_PORT" && { echo "something listens on $FAKE:$CLOSED_PORT"; exit 1; }
t_bg SILENT "$PY" tests/fake_server.py silent "$FAKE" "$SILENT_PORT" "$T/silent.ready" 2>"$T/silent.err"
t_bg HTTP "$PY" tests/fake_server.py http "$FAKE" "$HTTP_PORT" "$T/http.ready" 2>"$T/http.err"
t_bg REFUSE "$PY" tests/fake_server.py refuse "$FAKE" "$REFUSE_PORT" "$T/refuse.ready" 2>"$T/refuse.err"
t_bg NOEHLO "$PY" tests/fake_server.py noehlo "$FAKE" "$NOEHLO_PORT" "$T/noehlo.ready" 2>"$T/noehlo.err"
for f in silent http refuse noehlo; do
	t_poll 200 test -e "$T/$f.ready" || { cat "$T/$f.err"; exit 1; }
done

# The slow one first, in the background.
TIMEOUT_OPT=
if "$SMTPSCOPE" -h 2>&1 | grep -q -- '--probe-timeout'; then
	TIMEOUT_OPT="--probe-timeout 1"
else
	echo "note: no --probe-timeout option: the silent-server probe waits the built-in 15 s"
fi
# shellcheck disable=SC2086
t_bg SILENTPROBE "$SMTPSCOPE" $TIMEOUT_OPT --probe "$FAKE:$SILENT_PORT" \
    >"$T/silent.out" 2>"$T/silent.probe.err" </dev/null

pf_start "$NO8BIT" "$PORT" myhostname=domino.northwind.test \
    "smtpd_discard_ehlo_keywords = 8bitmime" || exit 1
pf_start "$NORMAL" "$PORT" myhostname=mx1.northwind.test || exit 1
# A server with STARTTLS: a self-signed certificate made here.
TLSSRV=127.0.0.46
WRAPSRV=127.0.0.47
if pf_tls_cert tls.northwind.test; then
	pf_start "$TLSSRV" "$PORT" myhostname=tls.northwind.test \
	    "smtpd_tls_cert_file = $T/tls.crt" "smtpd_tls_key_file = $T/tls.key" \
	    "smtpd_tls_security_level = may" || exit 1
	# Implicit TLS, as on port 465: TLS from the first byte.
	pf_start "$WRAPSRV" "$PORT" myhostname=smtps.northwind.test \
	    "smtpd_tls_cert_file = $T/tls.crt" "smtpd_tls_key_file = $T/tls.key" \
	    "smtpd_tls_wrappermode = yes" "smtpd_tls_security_level = encrypt" || exit 1
	HAVE_TLS=1
else
	echo "note: no openssl to make a certificate: the --starttls probe is not tested"
	HAVE_TLS=0
fi
# A server that hides 8BITMIME from one client address only.
printf '127.0.0.5/32 8bitmime\n' >"$T/discard.cidr"
pf_start "$PERCLIENT" "$PORT" myhostname=mx3.northwind.test \
    "smtpd_discard_ehlo_keyword_address_maps = cidr:$T/discard.cidr" || exit 1

# probe NAME WANT_RC ARGS...: run a probe; output in $T/NAME.out, .err.
probe() {
	_n=$1 _want=$2
	shift 2
	"$SMTPSCOPE" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null
	_rc=$?
	if [ "$_rc" -eq "$_want" ]; then t_ok "$_n-exit-$_want"
	else t_fail "$_n-exit-$_want" "exit $_rc" "$T/$_n.err" "$T/$_n.out"; fi
}

# --- a server that offers 8BITMIME ---------------------------------------------------
probe normal 0 --probe "$NORMAL:$PORT"
t_grep normal-greeting '^greeting: 220 mx1\.northwind\.test ESMTP Postfix' "$T/normal.out"
t_grep normal-lists-8bitmime '^  8BITMIME$' "$T/normal.out"
t_grep normal-verdict-8bitmime '^  8BITMIME +offered ' "$T/normal.out"
t_grep normal-verdict-smtputf8 '^  SMTPUTF8 +offered ' "$T/normal.out"
t_grep normal-verdict-chunking '^  CHUNKING +offered ' "$T/normal.out"
t_grep normal-verdict-starttls '^  STARTTLS +NOT offered ' "$T/normal.out"
t_grep normal-verdict-size '^  SIZE +offered +messages up to 10240000 bytes' "$T/normal.out"

# --- the same with 8BITMIME discarded (the Domino stand-in) -------------------------
probe no8bit 0 --probe "$NO8BIT:$PORT"
t_grep no8bit-greeting '^greeting: 220 domino\.northwind\.test' "$T/no8bit.out"
t_nogrep no8bit-not-listed '^  8BITMIME$' "$T/no8bit.out"
t_grep no8bit-verdict-8bitmime '^  8BITMIME +NOT offered +.*(KB295734|convert it to 7-bit)' "$T/no8bit.out"
t_grep no8bit-verdict-smtputf8 '^  SMTPUTF8 +offered ' "$T/no8bit.out"

# --- --json -: one session record on standard output -----------------------------------
# jsonfacts FILE: "lines N", then the record's fields the test checks.
jsonfacts() {
	"$PY" - "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
print("lines", len(lines))
r = json.loads(lines[0])
print("server", r["server_ip"], r["server_port"])
print("banner", r["banner_code"], r["banner"])
print("ehlo", r["ehlo"])
print("caps", ",".join(sorted(c.split(" ")[0] for c in r["capabilities"])))
print("size", r["size_limit"])
print("end", r["end"], r["last_reply_code"])
print("incidents", ",".join(sorted(i["type"] for i in r["incidents"])) or "-")
EOF
}
probe normal-json 0 --probe "$NORMAL:$PORT" --json -
if jsonfacts "$T/normal-json.out" >"$T/normal-json.facts" 2>"$T/normal-json.facts.err"; then
	t_ok normal-json-parses
else
	t_fail normal-json-parses "not one JSON record" "$T/normal-json.facts.err" "$T/normal-json.out"
fi
t_eq normal-json-facts "$(tr '\n' ';' <"$T/normal-json.facts")" \
    "lines 1;server $NORMAL $PORT;banner 220 mx1.northwind.test ESMTP Postfix;ehlo True;caps 8BITMIME,CHUNKING,DSN,ENHANCEDSTATUSCODES,ETRN,PIPELINING,SIZE,SMTPUTF8,VRFY;size 10240000;end quit 221;incidents -;"

probe no8bit-json 0 --probe "$NO8BIT:$PORT" --json -
if jsonfacts "$T/no8bit-json.out" >"$T/no8bit-json.facts" 2>"$T/no8bit-json.facts.err"; then
	t_ok no8bit-json-parses
else
	t_fail no8bit-json-parses "not one JSON record" "$T/no8bit-json.facts.err" "$T/no8bit-json.out"
fi
t_eq no8bit-json-facts "$(tr '\n' ';' <"$T/no8bit-json.facts")" \
    "lines 1;server $NO8BIT $PORT;banner 220 domino.northwind.test ESMTP Postfix;ehlo True;caps CHUNKING,DSN,ENHANCEDSTATUSCODES,ETRN,PIPELINING,SIZE,SMTPUTF8,VRFY;size 10240000;end quit 221;incidents smtputf8-without-8bitmime;"

# --json FILE: the same record in a file, the verdict still on stdout.
probe no8bit-jsonfile 0 --probe "$NO8BIT:$PORT" --json "$T/out/probe.jsonl"
t_grep no8bit-jsonfile-verdict '^  8BITMIME +NOT offered' "$T/no8bit-jsonfile.out"
if jsonfacts "$T/out/probe.jsonl" >"$T/jsonfile.facts" 2>&1; then
	t_grep no8bit-jsonfile-caps '^caps CHUNKING,DSN,' "$T/jsonfile.facts"
else
	t_fail no8bit-jsonfile-parses "not one JSON record" "$T/jsonfile.facts"
fi

# --- failures: exit 4 and a message naming the cause ---------------------------------
probe refused 4 --probe "$FAKE:$CLOSED_PORT"
t_grep refused-message "^smtpscope: --probe: cannot connect to $FAKE port $CLOSED_PORT: Connection refused$" "$T/refused.err"
t_eq refused-no-stdout "$(wc -c <"$T/refused.out")" 0

probe http 4 --probe "$FAKE:$HTTP_PORT"
t_grep http-message "^smtpscope: --probe: .*does not speak SMTP" "$T/http.err"
t_nogrep http-no-verdict '^verdict:' "$T/http.out"

# --- honest output: a refused greeting, a refused EHLO, the EHLO name ---------------
probe refuse 4 --probe "$FAKE:$REFUSE_PORT"
t_grep refuse-greeting '^greeting: 554 5\.7\.1 No SMTP service for you here$' "$T/refuse.out"
t_grep refuse-says-so 'refused the session at the greeting.*permanent' "$T/refuse.out"
t_nogrep refuse-no-verdict '^verdict:' "$T/refuse.out"

probe noehlo 0 --probe "$FAKE:$NOEHLO_PORT"
t_grep noehlo-quotes-ehlo-reply '^EHLO was refused: 502 5\.5\.2 Error: command not recognized$' "$T/noehlo.out"
t_nogrep noehlo-not-quit-reply '221' "$T/noehlo.out"
t_grep noehlo-no-extension 'offers no extension at all' "$T/noehlo.out"

probe ehlo-name 0 --probe "$NORMAL:$PORT" --ehlo probe.northwind.test --json "$T/ehlo.jsonl"
t_grep ehlo-name-said '^as client 127\.0\.0\.1:[0-9]+, EHLO probe\.northwind\.test ' "$T/ehlo-name.out"
t_eq ehlo-name-sent "$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["helo"])' "$T/ehlo.jsonl" 2>&1)" probe.northwind.test
probe ehlo-bad 2 --probe "$NORMAL:$PORT" --ehlo "two words"

# --- per-client answers: the source address changes what is offered ------------------
probe src-hidden 0 --probe "$PERCLIENT:$PORT" --probe-source 127.0.0.5
t_grep src-hidden-said '^as client 127\.0\.0\.5:[0-9]+, EHLO ' "$T/src-hidden.out"
t_grep src-hidden-verdict '^  8BITMIME +NOT offered' "$T/src-hidden.out"
probe src-other 0 --probe "$PERCLIENT:$PORT" --probe-source 127.0.0.6
t_grep src-other-verdict '^  8BITMIME +offered' "$T/src-other.out"
probe src-bad 2 --probe "$PERCLIENT:$PORT" --probe-source not-an-address

# --- --require: one status line, monitoring-plugin exit codes --------------------------
probe req-ok 0 --probe "$NORMAL:$PORT" --require 8BITMIME,smtputf8
t_eq req-ok-one-line "$(wc -l <"$T/req-ok.out")" 1
t_grep req-ok-line "^SMTP OK - $NORMAL port $PORT offers 8BITMIME, SMTPUTF8 to EHLO [^ ]+ from 127\.0\.0\.1:[0-9]+ \| time=[0-9.]+s\$" "$T/req-ok.out"
probe req-missing 2 --probe "$NO8BIT:$PORT" --require 8BITMIME,SMTPUTF8
t_grep req-missing-line "^SMTP CRITICAL - $NO8BIT port $PORT does not offer 8BITMIME to EHLO .*it offers: .*SMTPUTF8" "$T/req-missing.out"
probe req-per-client 2 --probe "$PERCLIENT:$PORT" --probe-source 127.0.0.5 --require 8BITMIME
t_grep req-per-client-line 'does not offer 8BITMIME to EHLO [^ ]+ from 127\.0\.0\.5:' "$T/req-per-client.out"
probe req-unknown 3 --probe "$NORMAL:$PORT" --require 8BITMIME,NOSUCHEXT
t_grep req-unknown-line "^SMTP UNKNOWN - --require: 'NOSUCHEXT' is not an SMTP extension" "$T/req-unknown.out"
probe req-refused 2 --probe "$FAKE:$CLOSED_PORT" --require 8BITMIME
t_grep req-refused-line "^SMTP CRITICAL - cannot connect to $FAKE port $CLOSED_PORT: Connection refused\$" "$T/req-refused.out"
probe req-greeting 2 --probe "$FAKE:$REFUSE_PORT" --require 8BITMIME
t_grep req-greeting-line '^SMTP CRITICAL - .*refused the session at the greeting: 554 5\.7\.1 No SMTP service' "$T/req-greeting.out"
probe req-noehlo 2 --probe "$FAKE:$NOEHLO_PORT" --require 8BITMIME
t_grep req-noehlo-line '^SMTP CRITICAL - .*refused EHLO .*502 5\.5\.2' "$T/req-noehlo.out"

# --- bad arguments: exit 2 -------------------------------------------------------------
probe arg-empty 2 --probe ""
t_grep arg-empty-message "is not HOST or HOST:PORT" "$T/arg-empty.err"
probe arg-no-port 2 --probe "$NORMAL:"
probe arg-bracket 2 --probe "[::1"
probe arg-missing 2 --probe
# A port outside 1-65535 is a bad argument.  BUG (reported to the lead):
# smtpscope passes it to getaddrinfo(3), which takes it modulo 65536, so
# --probe HOST:99999 connects to port 34463 and exits 4 instead of 2.
probe arg-port-range 2 --probe "$NORMAL:99999"

# --- --starttls: the upgrade, the TLS session, the certificate, both lists --------
probe starttls-none 0 --probe "$NORMAL:$PORT" --starttls
t_grep starttls-none-said '^TLS: STARTTLS is not offered' "$T/starttls-none.out"
if [ "$HAVE_TLS" = 1 ]; then
	probe starttls 0 --probe "$TLSSRV:$PORT" --starttls --json "$T/starttls.json"
	t_grep starttls-session '^TLS: TLSv1\.[23] [A-Z0-9_-]+$' "$T/starttls.out"
	t_grep starttls-cert '^certificate: subject tls\.northwind\.test, names tls\.northwind\.test, issuer tls\.northwind\.test, expires 20[0-9-]+; self-signed certificate; does NOT cover 127\.0\.0\.46$' "$T/starttls.out"
	t_grep starttls-table '^  8BITMIME +offered +offered *$' "$T/starttls.out"
	t_grep starttls-table-tls '^  STARTTLS +offered +NOT offered +<- differs$' "$T/starttls.out"
	t_grep starttls-verdict '^  STARTTLS +offered +mail is encrypted in transit: this probe used it \(TLSv1\.[23] ' "$T/starttls.out"
	t_grep starttls-maillog 'disconnect from .* ehlo=2 starttls=1 quit=1 commands=4' \
	    "$(pf_log "$T/postfix-$TLSSRV-$PORT")"
	t_check starttls-json-tls [ "$(jq -r .tls "$T/starttls.json")" = true ]
	probe implicit-tls 0 --probe "$WRAPSRV:$PORT" --tls
	t_grep implicit-tls-session '^TLS: TLSv1\.[23] [A-Z0-9_-]+$' "$T/implicit-tls.out"
	t_grep implicit-tls-said '^\(implicit TLS: the whole session, greeting included, was inside TLS\)$' "$T/implicit-tls.out"
	t_grep implicit-tls-greeting '^greeting: 220 smtps\.northwind\.test ESMTP Postfix$' "$T/implicit-tls.out"
	t_grep implicit-tls-verdict '^  8BITMIME +offered ' "$T/implicit-tls.out"
	t_grep implicit-tls-verdict-tls '^  TLS +implicit +mail is encrypted in transit from the first byte \(TLSv1\.[23] ' "$T/implicit-tls.out"
	# Without --tls the same server sends no greeting in cleartext.
	probe implicit-tls-plain 4 --probe "$WRAPSRV:$PORT" --probe-timeout 2
	probe starttls-and-tls 2 --probe "$TLSSRV:$PORT" --starttls --tls
	t_grep starttls-and-tls-said 'exclude each other' "$T/starttls-and-tls.err"
fi

# --- the silent server, started first ------------------------------------------------------
t_wait_exit "$SILENTPROBE" 600	# bounded at 30 s: the built-in wait is 15 s
rc=$?
if [ "$rc" -eq 4 ]; then t_ok silent-exit-4; else t_fail silent-exit-4 "exit $rc" "$T/silent.probe.err"; fi
t_grep silent-message "^smtpscope: --probe: .*no greeting: (no reply|timed out)" "$T/silent.probe.err"
t_nogrep silent-no-verdict '^verdict:' "$T/silent.out"

t_done
