# tests/lib/postfix.sh - start and stop private Postfix instances for the
# integration tests.  Sourced after tests/lib/common.sh; POSIX sh.
#
# The approach is pcaps/make-pcaps.sh's: each instance has its own config,
# queue and data directories under the test's $T, logs to its own file,
# sends everything to the discard transport (nothing leaves the machine, no
# mailbox is written), and has one smtpd bound to one loopback address and
# port in master.cf (Linux lets it bind any 127/8 address without
# configuring it).  The system's Postfix is neither used nor touched.
#
# Unlike make-pcaps.sh it runs master(8) in the foreground (-d) in its own
# session, so the instance is one process this test started and knows by
# pid: stopping it is a SIGTERM to that pid (master then ends its own
# process group), never "postfix stop" on a guessed pid file.
#
#   pf_require                       skip (77) unless root, postfix, setsid, ss
#   pf_start ADDR PORT [PARAM=VALUE...]
#                                    start an instance whose main.cf has the
#                                    extra settings; returns when ADDR:PORT
#                                    accepts connections (bounded poll); its
#                                    directory is in $PF_DIR; stopped at exit
#   pf_stop DIR                      stop that instance now
#   pf_log DIR                       the path of its log (for failure output)
#   pf_tls_cert NAME                 a self-signed certificate in $T/tls.*
#
# What it does not do: TLS, real delivery, or picking free ports (tests use
# 127.0.0.40-49, addresses nothing else on a machine normally serves; an
# address already served makes pf_start fail loudly instead of testing a
# stranger's server).

pf_require() {
	t_need_root
	t_need postfix postconf setsid ss
	PF_DAEMON_DIR=$(postconf -dh daemon_directory 2>/dev/null)
	[ -x "$PF_DAEMON_DIR/master" ] ||
	    t_skip "postfix is installed but $PF_DAEMON_DIR/master is missing"
	getent passwd postfix >/dev/null 2>&1 || t_skip "no 'postfix' user"
}

pf_log() { echo "$1/maillog"; }

# pf_tls_cert NAME: a self-signed EC certificate for NAME (CN and DNS SAN)
# in $T/tls.crt and $T/tls.key, readable by the instances; fails without
# openssl.
pf_tls_cert() {
	command -v openssl >/dev/null 2>&1 &&
	    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$T/tls.key" -out "$T/tls.crt" -subj "/CN=$1" \
	    -addext "subjectAltName=DNS:$1" -days 30 >/dev/null 2>&1 &&
	    chmod 644 "$T/tls.key"
}

# _pf_ready DIR ADDR PORT: listening, or master died (then stop polling).
_pf_ready() {
	t_listening "$2" "$3" && return 0
	t_alive "$(cat "$1/master.child" 2>/dev/null || echo 0)" || return 0
	return 1
}

pf_start() {
	_pf_addr=$1 _pf_port=$2
	shift 2
	PF_DIR=$T/postfix-$_pf_addr-$_pf_port
	if t_listening "$_pf_addr" "$_pf_port"; then
		echo "pf_start: something already listens on $_pf_addr:$_pf_port" >&2
		return 1
	fi
	mkdir -p "$PF_DIR/etc" "$PF_DIR/spool" "$PF_DIR/data" || return 1
	chmod 755 "$PF_DIR"
	chown postfix "$PF_DIR/data"
	cat >"$PF_DIR/etc/main.cf" <<EOF
# Private instance for a smtpscope test (tests/lib/postfix.sh).
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = mx.northwind.test
mydomain = northwind.test
myorigin = \$mydomain
mydestination = northwind.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
default_transport = discard:no mail leaves this test instance
local_transport = discard:delivered to a test mailbox
local_recipient_maps =
alias_maps =
alias_database =
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP Postfix
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
biff = no
readme_directory = no
EOF
	cat >"$PF_DIR/etc/master.cf" <<EOF
$_pf_addr:$_pf_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
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
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
EOF
	# Extra settings through postconf -e: it replaces a parameter in place
	# instead of leaving two definitions.
	for _pf_kv in "$@"; do
		postconf -c "$PF_DIR/etc" -e "$_pf_kv" || {
			echo "pf_start: postconf rejected '$_pf_kv'" >&2
			return 1
		}
		# postconf only warns (exit 0) about a parameter it does not know.
		_pf_p=${_pf_kv%%=*}
		_pf_p=$(echo "$_pf_p" | tr -d ' ')
		if [ -n "$(postconf -c "$PF_DIR/etc" -d -h "$_pf_p" 2>&1 >/dev/null)" ]; then
			echo "pf_start: this Postfix does not know $_pf_p" >&2
			return 1
		fi
	done
	# Postfix waits (in 300 ms steps) for a main.cf modified within the
	# last second to settle, as if an editor were still writing it: date
	# the files we just wrote into the past.
	touch -d "@$(($(date +%s) - 10))" "$PF_DIR/etc/main.cf" "$PF_DIR/etc/master.cf"
	# "postfix check" creates the queue directories with their owners.
	postfix -c "$PF_DIR/etc" check >"$PF_DIR/check.out" 2>&1 || {
		echo "pf_start: postfix check failed:" >&2
		cat "$PF_DIR/check.out" "$PF_DIR/maillog" >&2 2>/dev/null
		return 1
	}
	setsid "$PF_DAEMON_DIR/master" -c "$PF_DIR/etc" -d \
	    </dev/null >"$PF_DIR/master.out" 2>&1 &
	echo $! >"$PF_DIR/master.child"
	t_at_exit "pf_stop '$PF_DIR'"
	t_poll 200 _pf_ready "$PF_DIR" "$_pf_addr" "$_pf_port"
	if ! t_listening "$_pf_addr" "$_pf_port"; then
		echo "pf_start: Postfix did not start listening on $_pf_addr:$_pf_port:" >&2
		cat "$PF_DIR/master.out" >&2
		tail -n 10 "$PF_DIR/maillog" >&2 2>/dev/null
		return 1
	fi
	return 0
}

pf_stop() {
	[ -f "$1/master.child" ] || return 0
	_pf_pid=$(cat "$1/master.child")
	rm -f "$1/master.child"
	# master(8) ends its process group (smtpd, qmgr, ...) on SIGTERM.
	t_stop "$_pf_pid"
}
