# shellcheck shell=bash
# capture-lib.sh - what make-pcaps.sh and make-tls-pcaps.sh share: options,
# the temporary directory and its cleanup, the private Postfix instance's
# common configuration and start, the tcpdump helpers and the scenario
# plumbing.  Sourced by both (bash, after set -euo pipefail); not run alone.
#
# The sourcing script sets HERE (its directory) and CAP_PORTS (the server
# ports its captures are on, e.g. "25 465") before calling anything here.
# Everything here prefixes its messages with ME (the script's name, less .sh).
#
#   cap_options "$@"          -o OUTDIR into OUT (default HERE), the rest
#                             (SCENARIO...) into WANT; then shift $((OPTIND - 1))
#   die MESSAGE...            say it and exit 1 (cleanup runs)
#   cap_require TOOL...       root, and every TOOL installed, or die
#   cap_tmpdir PREFIX         T (/tmp/PREFIX.XXXXXX), CONF=$T/etc, spool and
#                             data directories; cleanup at exit
#   main_cf HOSTNAME DOMAIN   $CONF/main.cf: the settings both share, then
#                             the lines on standard input
#   master_services           the non-smtpd lines of master.cf
#   postfix_needs PARAM...    PF_VERSION, and die unless Postfix knows PARAM
#   postfix_start ADDR:PORT...  start the instance, return when it listens
#                             on every ADDR:PORT (IPv6 as [ADDR]:PORT)
#   cap_start FILE FILTER     tcpdump on lo into FILE, ready on return
#   cap_stop FILE ADDR        wait for ADDR's connections on CAP_PORTS to
#                             close and FILE to stop growing; stop tcpdump
#   wanted NAME               NAME was asked for (or nothing was)
#   capture NAME ADDR FILTER COMMAND...
#                             $T/NAME.pcap of COMMAND talking to ADDR; die
#                             (with its output) if COMMAND fails
#   install_capture NAME      $T/NAME.pcap into OUT; NAME appended to made
#
# A script may define cap_on_failure: cleanup calls it first when the
# script fails (before the tail of the Postfix log).

ME=${0##*/}
ME=${ME%.sh}
TCPDUMP_PID=""
POSTFIX_UP=""
made=""

die() { echo "$ME: $*" >&2; exit 1; }

cap_options() {
	local opt
	OUT=$HERE
	while getopts o: opt; do
		case $opt in
		o) OUT=$(cd "$OPTARG" && pwd) ;;
		*) echo "usage: $0 [-o OUTDIR] [SCENARIO...]" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	WANT=" $* "
}

cap_require() {
	local t
	[ "$(id -u)" -eq 0 ] || die "run as root (postfix and tcpdump need it)"
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t is not installed"
	done
}

# --- the temporary directory --------------------------------------------------

cap_tmpdir() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$T"
	CONF=$T/etc
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$CONF" "$T/spool" "$T/data"
	chown postfix "$T/data"
}

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
	if [ "$rc" -ne 0 ] && declare -F cap_on_failure >/dev/null; then
		cap_on_failure || true
	fi
	if [ "$rc" -ne 0 ] && [ -e "$T/maillog" ]; then
		echo "$ME: last lines of the Postfix log:" >&2
		tail -n 20 "$T/maillog" >&2
	fi
	if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
	exit "$rc"
}

# --- the private Postfix instance -------------------------------------------

# Its own directories and log, mail to the discard transport only, the local
# users in $CONF/users, no TLS unless master.cf turns it on for an smtpd.
# Each smtpd in master.cf names its own address (the addresses are not
# configured on lo, so they cannot be listed here; Linux binds them anyway).
main_cf() {
	{
		cat <<EOF
# Private instance for pcaps/$ME.sh; see that script.
compatibility_level = 3.6
queue_directory = $T/spool
data_directory = $T/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $T/maillog
maillog_file_prefixes = $T
myhostname = $1
mydomain = $2
myorigin = \$mydomain
mydestination = $2
inet_interfaces = loopback-only
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
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
biff = no
readme_directory = no
EOF
		cat
	} >"$CONF/main.cf"
}

# No chroot: the queue lives in a temporary directory.
master_services() {
	cat <<'EOF'
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
}

postfix_needs() {
	local p
	PF_VERSION=$(postconf -c "$CONF" -h mail_version)
	for p in "$@"; do
		# postconf only warns (exit 0) about a parameter it does not know.
		[ -z "$(postconf -c "$CONF" -d -h "$p" 2>&1 >/dev/null)" ] ||
		    die "Postfix $PF_VERSION lacks $p"
	done
}

# _listening ADDR:PORT...: how many of them have a listener.
_listening() {
	local n=0 a
	for a in "$@"; do
		ss -Htln "sport = :${a##*:}" | awk '{print $4}' | grep -qxF "$a" &&
		    n=$((n + 1))
	done
	echo "$n"
}

postfix_start() {
	postfix -c "$CONF" check >/dev/null 2>&1 || true	# creates the queue dirs
	POSTFIX_UP=1	# from here on, cleanup stops it (harmless if it never ran)
	postfix -c "$CONF" start >"$T/postfix.out" 2>&1 ||
	    die "postfix would not start: $(cat "$T/postfix.out"; tail -n 5 "$T/maillog" 2>/dev/null)"
	for _ in $(seq 100); do
		[ "$(_listening "$@")" -eq $# ] && break
		sleep 0.1
	done
	[ "$(_listening "$@")" -eq $# ] ||
	    die "postfix is not listening on all $# addresses ($*)"
	echo "$ME: Postfix $PF_VERSION up in $T" >&2
}

# --- capture helpers ----------------------------------------------------------

cap_start() {
	local file=$1 filter=$2
	rm -f "$file" "$T/tcpdump.err"
	tcpdump -i lo -s 0 -U --immediate-mode -w "$file" "$filter" 2>"$T/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 100); do
		grep -q "listening on" "$T/tcpdump.err" 2>/dev/null && return 0
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.05
	done
	die "tcpdump did not start: $(cat "$T/tcpdump.err")"
}

cap_stop() {
	local file=$1 addr=$2 size=-1 same=0 ports="" p
	addr=${addr#[}; addr=${addr%]}
	[[ $addr == *:* ]] && addr="[$addr]"
	for p in $CAP_PORTS; do
		ports="${ports:+$ports or }sport = :$p or dport = :$p"
	done
	for _ in $(seq 100); do
		ss -Htan "( $ports )" | grep -v -e LISTEN -e TIME-WAIT |
		    grep -qF "$addr:" || break
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

wanted() { [ "$WANT" = "  " ] || [[ $WANT == *" $1 "* ]]; }

capture() {
	local name=$1 addr=$2 filter=$3
	shift 3
	echo "$ME: $name" >&2
	cap_start "$T/$name.pcap" "$filter"
	if ! "$@" >"$T/$name.client.log" 2>&1; then
		cat "$T/$name.client.log" >&2
		die "$name: the client failed"
	fi
	cap_stop "$T/$name.pcap" "$addr"
}

install_capture() {
	install -m 0644 "$T/$1.pcap" "$OUT/$1.pcap"
	made="$made $1"
}
