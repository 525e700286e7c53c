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
# main and cli/ (its helpers) wire the layers: public headers only.
for f in smtpscope.c cli/*.[ch]; do
	[ -e "$f" ] || continue
	grep -nE '#include *"(\.\./)?capture/(cap_int|reasm|cursor)' "$f" && fail "$f includes a private capture header"
	grep -nE '#include *"(\.\./)?decode/dec_int' "$f" && fail "$f includes a private decode header"
	grep -nE '#include *"(\.\./)?ui/ui_int' "$f" && fail "$f includes a private ui header"
	grep -nE '#include *<(pcap|n?curses)' "$f" && fail "$f includes pcap or curses"
done
# ... and no library includes cli/.
for f in capture/*.[ch] decode/*.[ch] ui/*.[ch]; do
	grep -nE '#include *"(\.\./)?cli/' "$f" && fail "$f includes cli/"
done
exit $bad
