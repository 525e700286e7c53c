#!/bin/sh
# Enforce STYLE.md 4.3: who may include whom.  Exits 1 on any violation.
set -u
bad=0
fail() { echo "check-layers: $1" >&2; bad=1; }
for f in capture/*.[ch]; do
	[ -e "$f" ] || continue
	grep -nE '#include *"(\.\./)?(decode|ui)/' "$f" && fail "$f includes decode/ or ui/"
	grep -nE '#include *<n?curses' "$f" && fail "$f includes curses"
done
for f in decode/*.[ch]; do
	[ -e "$f" ] || continue
	grep -nE '#include *"(\.\./)?(capture|ui)/' "$f" && fail "$f includes capture/ or ui/"
	grep -nE '#include *<(pcap|n?curses)' "$f" && fail "$f includes pcap or curses"
done
for f in ui/*.[ch]; do
	[ -e "$f" ] || continue
	grep -nE '#include *"(\.\./)?capture/' "$f" && fail "$f includes capture/"
	grep -nE '#include *"(\.\./)?decode/(smtp|dec_int)\.h"' "$f" && fail "$f includes the decoder"
	grep -nE '#include *<pcap' "$f" && fail "$f includes pcap"
done
if [ -e smtpscope.c ]; then
	grep -nE '#include *"capture/(cap_int|reasm|cursor)' smtpscope.c && fail "smtpscope.c includes a private capture header"
	grep -nE '#include *<(pcap|n?curses)' smtpscope.c && fail "smtpscope.c includes pcap or curses"
fi
exit $bad
