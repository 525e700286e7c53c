#!/usr/bin/python3
"""fake_server.py - servers that are not SMTP servers, for tests/t-probe.sh.

  silent  listens and never accepts: the kernel completes the TCP handshake
          (the connection sits in the backlog), so a client connects fine
          and then waits for a greeting that never comes.
  http    accepts, answers every connection at once with an HTTP/1.0
          response (what a probe meets when it is pointed at a web server)
          and closes it.
  refuse  an SMTP server that refuses every session at the greeting
          ("554 5.7.1 ..."), then answers QUIT.
  noehlo  an SMTP server of the HELO era: 220, then "502 5.5.2" to EHLO,
          250 to HELO, 221 to QUIT.

Once listening it creates READY_FILE, so the test can wait for it with a
bounded poll instead of a sleep.  It runs until killed (SIGTERM exits
cleanly).

What it does not do: read what the client sends, or anything TLS.

Usage: fake_server.py silent|http|refuse|noehlo ADDR PORT READY_FILE
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
    if len(argv) != 5 or argv[1] not in ("silent", "http", "refuse", "noehlo"):
        sys.stderr.write("usage: fake_server.py silent|http|refuse|noehlo "
                         "ADDR PORT READY_FILE\n")
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
        conn.settimeout(10)
        try:
            if mode == "http":
                conn.sendall(HTTP_REPLY)
                conn.shutdown(socket.SHUT_WR)
            else:
                smtp_dialogue(conn, mode)
        except OSError:
            pass
        conn.close()


def smtp_dialogue(conn, mode):
    """One session of the refuse or noehlo server, a line at a time."""
    if mode == "refuse":
        conn.sendall(b"554 5.7.1 No SMTP service for you here\r\n")
    else:
        conn.sendall(b"220 old.northwind.test SMTP ready\r\n")
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            verb = line.strip().split(b" ")[0].upper()
            if verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            if mode == "refuse":
                conn.sendall(b"503 5.5.1 No service\r\n")
            elif verb == b"EHLO":
                conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")
            elif verb == b"HELO":
                conn.sendall(b"250 old.northwind.test\r\n")
            else:
                conn.sendall(b"500 5.5.1 Unknown command\r\n")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sys.exit(main(sys.argv))
