#!/bin/sh
# Print the README's text screenshots of the live view (80x24, in tmux):
# the session list, the 8bitmime-abort session and the incidents view, on
# captures from pcaps/.  Run from the top of the tree after make.
set -eu
S=smtpscope-shots-$$
T() { tmux -L "$S" "$@"; }
trap 'T kill-server 2>/dev/null || true' EXIT
T -f /dev/null new-session -d -s u -x 80 -y 24 "TERM=xterm-256color TZ=UTC ./smtpscope \
    -r pcaps/8bitmime-abort.pcap -r pcaps/8bitmime-ok.pcap -r pcaps/mail-deferred.pcap \
    -r pcaps/rcpt-rejected-deferred.pcap -r pcaps/starttls.pcap -r pcaps/probe.pcap \
    -r pcaps/8bitmime-unoffered.pcap; sleep 60"
shot() { sleep 1; echo "--- $1"; T capture-pane -p -t u | sed 's/ *$//'; }
shot list
T send-keys -t u Down Down Enter
shot session
T send-keys -t u i
shot incidents
