#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""blackhole.py - a DNS "server" that never answers, for the lab.

Listens on UDP and TCP at ADDR:PORT, reads whatever arrives and never
replies, so a resolver asking it sees a silent server (a timeout), not a
refused port. The lab's "dead" zones are delegated here.

    python3 blackhole.py --listen 127.0.0.254:5300 --tag STATE/blackhole
(--tag only marks the process as the lab's, for lab.sh down.)
"""
import argparse
import select
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((host, int(port)))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((host, int(port)))
    tcp.listen(16)
    held = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        ready, _, _ = select.select([udp, tcp] + held, [], [])
        for s in ready:
            if s is udp:
                udp.recvfrom(65535)
            elif s is tcp:
                conn, _ = tcp.accept()
                held.append(conn)
            else:
                if not s.recv(65535):
                    held.remove(s)
                    s.close()


if __name__ == "__main__":
    main()
