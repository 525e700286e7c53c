#!/bin/sh
# t-corpus: HELO, MAIL FROM, RCPT TO and TLS against what Zeek, Suricata,
# Arkime and nDPI expect on the public captures in ../shared/corpus/public
# (tests/corpus_compare.py says how each output is read and compared, and
# explains every disagreement).  Skips when the corpus is not beside the
# project, as in a user's clone.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh

t_need_binary
t_need_python
CORPUS=$(cd .. && pwd)/shared/corpus/public
[ -d "$CORPUS" ] || t_skip "no corpus at $CORPUS (only the developers' machines have it)"
if "$PY" tests/corpus_compare.py "$SMTPSCOPE" "$CORPUS" >"$T/corpus.txt" 2>&1; then
	t_ok corpus
else
	t_fail corpus "disagreements with the other projects' expected outputs" "$T/corpus.txt"
fi
grep -v '^agree' "$T/corpus.txt" | cut -c1-300
t_done
