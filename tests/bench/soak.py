#!/usr/bin/python3
"""soak.py - a long live run: smtpscope -i lo while SMTP sessions go on for
a while, with its memory sampled (make bench-soak; not a test).

A small SMTP server of our own (threads, no delivery) on 127.0.0.70:2570,
and a client that opens sessions at RATE per second for SECONDS: a
delivery, a KB295734 abort (no 8BITMIME from this server half of the
time), a refused recipient, a pipelined batch, a session cut mid-data,
in turn.  smtpscope -i lo -b -q --json and --report watch it (as root);
every STEP seconds the script records its VmRSS and the sessions seen so
far (the JSON Lines), and at the end prints the table and whether RSS
stayed flat after the first minute (the largest sample after 60 s minus
the one at 60 s).

Usage: soak.py SMTPSCOPE SECONDS [RATE] [STEP]      (as root)
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ADDR, PORT = "127.0.0.70", 2570


def serve(sock):
    n = 0
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        n += 1
        threading.Thread(target=session, args=(c, n % 2 == 0), daemon=True).start()


def session(c, eight):
    f = c.makefile("rb")
    try:
        c.sendall(b"220 soak.example ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            v = line[:4].upper()
            if v in (b"EHLO", b"HELO"):
                c.sendall(b"250-soak.example\r\n250-PIPELINING\r\n" +
                          (b"250-8BITMIME\r\n" if eight else b"") + b"250 SIZE 1000000\r\n")
            elif v == b"DATA":
                c.sendall(b"354 go\r\n")
                while True:
                    l2 = f.readline()
                    if not l2:
                        return
                    if l2 == b".\r\n":
                        break
                c.sendall(b"250 2.0.0 queued as SOAK\r\n")
            elif v == b"RCPT" and b"nobody" in line:
                c.sendall(b"550 5.1.1 unknown\r\n")
            elif v == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 ok\r\n")
    except OSError:
        pass
    finally:
        c.close()


def client(k):
    s = socket.create_connection((ADDR, PORT))
    f = s.makefile("rb")

    def reply():
        while True:
            l = f.readline()
            if len(l) < 4 or l[3:4] != b"-":
                return l

    reply()
    kind = k % 5
    s.sendall(b"EHLO c%d.example\r\n" % k)
    reply()
    if kind == 1:               # the abort
        s.sendall(b"RSET\r\n")
        reply()
    elif kind == 3:             # pipelined
        s.sendall(b"MAIL FROM:<a@c.example>\r\nRCPT TO:<b@soak.example>\r\nDATA\r\n")
        reply(), reply(), reply()
        s.sendall(b"Subject: p\r\n\r\n" + b"x" * 2000 + b"\r\n.\r\n")
        reply()
    else:
        s.sendall(b"MAIL FROM:<a@c.example>\r\n")
        reply()
        s.sendall(b"RCPT TO:<%s@soak.example>\r\n" % (b"nobody" if kind == 2 else b"b"))
        reply()
        s.sendall(b"DATA\r\n")
        reply()
        if kind == 4:           # cut in the middle of the content
            s.sendall(b"Subject: cut\r\n\r\npartial")
            s.close()
            return
        s.sendall(b"Subject: d\r\n\r\nhello\r\n.\r\n")
        reply()
    s.sendall(b"QUIT\r\n")
    reply()
    s.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as st:
        for line in st:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, seconds = sys.argv[1], int(sys.argv[2])
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 50
    step = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    tmp = tempfile.mkdtemp(prefix="smtpscope-soak.")
    os.chmod(tmp, 0o777)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ADDR, PORT))
    srv.listen(256)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    jl = os.path.join(tmp, "soak.jsonl")
    err = open(os.path.join(tmp, "soak.err"), "w")
    p = subprocess.Popen([binary, "-i", "lo", "-b", "-q", "-P", str(PORT),
                          "--json", jl, "--report", os.path.join(tmp, "soak.txt"),
                          "host " + ADDR], stdout=subprocess.DEVNULL, stderr=err)
    time.sleep(2)
    t0 = time.time()
    samples, k, nxt = [], 0, t0
    while time.time() - t0 < seconds:
        now = time.time()
        if now - nxt >= 0 or not samples:
            sess = sum(1 for _ in open(jl)) if os.path.exists(jl) else 0
            samples.append((int(now - t0), rss_kib(p.pid), sess))
            nxt = now + step
        try:
            client(k)
        except OSError:
            pass
        k += 1
        time.sleep(max(0.0, t0 + k / rate - time.time()))
    time.sleep(2)
    samples.append((int(time.time() - t0), rss_kib(p.pid),
                    sum(1 for _ in open(jl))))
    p.send_signal(2)
    p.wait()
    print("seconds\tVmRSS KiB\tsessions")
    for s in samples:
        print("%d\t%d\t%d" % s)
    after = [r for t, r, _ in samples if t >= 60]
    if len(after) >= 2:
        print("growth after the first minute: %d KiB over %d sessions"
              % (max(after) - after[0], samples[-1][2]))
    print("outputs in", tmp)


if __name__ == "__main__":
    main()
