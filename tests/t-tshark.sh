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
t_done
