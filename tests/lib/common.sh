# tests/lib/common.sh - helpers shared by the integration tests that run
# real software (t-live.sh, t-probe.sh, t-outputs.sh).  Sourced, POSIX sh.
#
# What it gives a test: a private temporary directory ($T) removed at exit;
# a cleanup stack (t_at_exit) run in reverse order from one EXIT trap, so
# every process a test starts is ended by its pid however the test ends;
# bounded polls for readiness (t_poll) that never assert on durations;
# background processes started and stopped by pid (t_bg, t_stop);
# assertion helpers that count failures and keep going, so one run shows
# every broken assertion; and the skip convention of tests/run (exit 77,
# reason on the last line).
#
# What it deliberately does not do: kill anything by name, sleep for pacing
# (the only sleeps are the 50 ms steps inside a bounded poll), or decide
# what a test asserts.  It knows nothing of SMTP or of smtpscope's options.

: "${SMTPSCOPE:=$PWD/smtpscope}"
PY=/usr/bin/python3	# Debian's python: the test helpers use only its stdlib

_t_nexit=0
_t_cmd=
_t_fails=0
_t_oks=0

# t_skip REASON: skip the whole test (tests/run prints the last line).
t_skip() {
	echo "SKIP: $*"
	exit 77
}

# t_at_exit COMMAND: run COMMAND (eval'd) at exit, last registered first.
t_at_exit() {
	_t_nexit=$((_t_nexit + 1))
	eval "_t_exit_$_t_nexit=\$1"
}

_t_cleanup() {
	_t_rc=$?
	trap - EXIT INT TERM
	while [ "$_t_nexit" -gt 0 ]; do
		eval "_t_cmd=\$_t_exit_$_t_nexit"
		_t_nexit=$((_t_nexit - 1))
		eval "$_t_cmd" || true
	done
	[ -n "${T:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$T"
	[ -n "${KEEP:-}" ] && echo "kept $T" >&2
	exit "$_t_rc"
}
trap _t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# $T: the test's private directory.  0755 so that a smtpscope that dropped
# root to "nobody" can still reach the files it opened before the drop;
# out/ is world-writable so it can also rename its report into place there
# (not sticky: in a sticky directory "nobody" may not rename a temp file
# that root created; t-outputs.sh tests that case on its own).
T=$(mktemp -d "${TMPDIR:-/tmp}/smtpscope-it.XXXXXX") || exit 1
chmod 755 "$T"
mkdir "$T/out" && chmod 0777 "$T/out"

# --- assertions ----------------------------------------------------------------

t_ok() { _t_oks=$((_t_oks + 1)); echo "ok $1"; }

# t_fail NAME MESSAGE [FILE...]: count a failure; show the files, indented.
t_fail() {
	_t_name=$1 _t_msg=$2
	shift 2
	_t_fails=$((_t_fails + 1))
	echo "FAIL $_t_name: $_t_msg"
	for _t_f in "$@"; do
		[ -f "$_t_f" ] || continue
		echo "  --- $(basename "$_t_f") (last 30 lines):"
		tail -n 30 "$_t_f" | sed 's/^/  | /'
	done
	return 0
}

# t_eq NAME GOT WANT
t_eq() {
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1" "got '$2', want '$3'"; fi
}

# t_check NAME COMMAND...: passes when COMMAND exits 0.
t_check() {
	_t_name=$1
	shift
	if "$@"; then t_ok "$_t_name"; else t_fail "$_t_name" "failed: $*"; fi
}

# t_grep NAME EXTENDED-REGEX FILE: passes when FILE has a matching line.
t_grep() {
	if grep -Eq -- "$2" "$3" 2>/dev/null; then t_ok "$1"
	else t_fail "$1" "no line matching /$2/ in $(basename "$3")" "$3"; fi
}

# t_nogrep NAME EXTENDED-REGEX FILE: passes when FILE exists and no line
# matches.
t_nogrep() {
	if [ ! -f "$3" ]; then
		t_fail "$1" "$(basename "$3") does not exist"
	elif grep -Eq -- "$2" "$3"; then
		t_fail "$1" "unexpected line matching /$2/ in $(basename "$3")" "$3"
	else t_ok "$1"; fi
}

# t_done: the verdict.
t_done() {
	echo "$_t_oks ok, $_t_fails failed"
	[ "$_t_fails" -eq 0 ] && exit 0
	exit 1
}

# --- waiting and processes -----------------------------------------------------------

# t_poll TRIES COMMAND...: run COMMAND every 50 ms until it succeeds, at
# most TRIES times.  A bound on readiness, not a timing assertion.
t_poll() {
	_t_tries=$1
	shift
	while [ "$_t_tries" -gt 0 ]; do
		"$@" && return 0
		_t_tries=$((_t_tries - 1))
		sleep 0.05
	done
	return 1
}

# t_alive PID: true while PID runs (a zombie, exited but not yet waited
# for, counts as gone).
t_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_t_st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ "$_t_st" != Z ]
}
t_gone() { ! t_alive "$1"; }

# t_bg VAR COMMAND...: start COMMAND in the background, store its pid in
# VAR and make sure it is ended (TERM, then KILL) at exit.
t_bg() {
	_t_var=$1
	shift
	"$@" &
	eval "$_t_var=\$!"
	eval "t_at_exit \"t_stop \$$_t_var\""
}

# t_wait_exit PID [TRIES]: wait (bounded, default 10 s) for PID to exit;
# prints nothing, returns its exit status, or 124 if it had to be killed.
t_wait_exit() {
	if t_poll "${2:-200}" t_gone "$1"; then
		wait "$1" 2>/dev/null
		return $?
	fi
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 124
}

# t_stop PID: end a process this test started (TERM, bounded wait, KILL).
t_stop() {
	kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
	kill -TERM "$1" 2>/dev/null
	t_wait_exit "$1" 100 >/dev/null
	return 0
}

# t_listening ADDR PORT: something accepts TCP connections on ADDR:PORT.
t_listening() {
	ss -Htln "sport = :$2" 2>/dev/null | awk '{print $4}' | grep -qxF "$1:$2"
}

# t_need_root, t_need CMD...: skip unless the test can run here.
t_need_root() {
	[ "$(id -u)" -eq 0 ] || t_skip "needs root (live capture, Postfix)"
}
t_need() {
	for _t_c in "$@"; do
		command -v "$_t_c" >/dev/null 2>&1 || t_skip "$_t_c is not installed"
	done
}
t_need_python() {
	[ -x "$PY" ] || t_skip "$PY is not installed"
}
t_need_binary() {
	[ -x "$SMTPSCOPE" ] || t_skip "no smtpscope binary at $SMTPSCOPE (run make)"
}
