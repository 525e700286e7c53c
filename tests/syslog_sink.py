#!/usr/bin/python3
"""syslog_sink.py - a minimal syslog receiver for tests/t-live.sh.

Binds a Unix datagram socket at SOCKET_PATH (on a machine without a syslog
daemon the test uses /dev/log, where syslog(3) writes), makes it writable
by everyone (smtpscope has dropped root to "nobody" by the time it logs),
creates READY_FILE once bound, and appends every datagram it receives, one
per line, to OUT_FILE.  On SIGTERM it removes the socket it created and
exits.

What it does not do: parse priorities, handle stream sockets (glibc's
syslog(3) tries a datagram socket first), or replace a running syslog
daemon (the test only starts it where no /dev/log exists).

Usage: syslog_sink.py SOCKET_PATH OUT_FILE READY_FILE
Our own code; standard library only.
"""
import os
import signal
import socket
import sys


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: syslog_sink.py SOCKET_PATH OUT_FILE READY_FILE\n")
        return 2
    path, out, ready = argv[1], argv[2], argv[3]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        os.chmod(path, 0o666)
        with open(ready, "w") as f:
            f.write(path + "\n")
        with open(out, "ab") as f:
            while True:
                data = sock.recv(65536)
                f.write(data.replace(b"\n", b" ").rstrip(b"\0") + b"\n")
                f.flush()
    finally:
        sock.close()
        os.unlink(path)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sys.exit(main(sys.argv))
