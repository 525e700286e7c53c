#!/usr/bin/python3
"""fake_server.py - servers that are not SMTP servers, for tests/t-probe.sh.

  silent  listens and never accepts: the kernel completes the TCP handshake
          (the connection sits in the backlog), so a client connects fine
          and then waits for a greeting that never comes.
  http    accepts, answers every connection at once with an HTTP/1.0
          response (what a probe meets when it is pointed at a web server)
          and closes it.

Once listening it creates READY_FILE, so the test can wait for it with a
bounded poll instead of a sleep.  It runs until killed (SIGTERM exits
cleanly).

What it does not do: read what the client sends, or anything TLS.

Usage: fake_server.py silent|http ADDR PORT READY_FILE
Our own code; standard library only.
"""
import signal
import socket
import sys

HTTP_REPLY = (b"HTTP/1.0 200 OK\r\n"
              b"Content-Type: text/html\r\n"
              b"Content-Length: 21\r\n"
              b"\r\n"
              b"<html>hello</html>\r\n\r\n")


def main(argv):
    if len(argv) != 5 or argv[1] not in ("silent", "http"):
        sys.stderr.write("usage: fake_server.py silent|http ADDR PORT READY_FILE\n")
        return 2
    mode, addr, port, ready = argv[1], argv[2], int(argv[3]), argv[4]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    with open(ready, "w") as f:
        f.write("%s %d\n" % (addr, port))
    if mode == "silent":
        while True:
            signal.pause()
    while True:
        conn, _ = srv.accept()
        try:
            conn.sendall(HTTP_REPLY)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sys.exit(main(sys.argv))
