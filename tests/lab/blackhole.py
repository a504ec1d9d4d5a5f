#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""blackhole.py - a DNS "server" that never answers, for the lab.

Listens on UDP and TCP at ADDR:PORT, reads whatever arrives and never
replies, so a resolver asking it sees a silent server (a timeout), not a
refused port. The lab's "dead" zones are delegated here.

With --servfail it answers every UDP query with SERVFAIL instead (TCP is
still held silent): a broken authoritative server, the second server of the
lab's "flaky" zones.

    python3 blackhole.py --listen 127.0.0.254:5300 --tag STATE/blackhole
(--tag only marks the process as the lab's, for lab.sh down.)
"""
import argparse
import select
import signal
import socket
import sys


def servfail(q):
    """The reply to query q: its ID and question, QR set, opcode and RD
    kept, RCODE 2 (SERVFAIL), no records (and no EDNS: a plain reply)."""
    flags = (q[2] << 8) | q[3]
    out_flags = 0x8000 | (flags & 0x7900) | 2   # QR, opcode, RD; SERVFAIL
    qdcount = (q[4] << 8) | q[5]
    # The question section: up to the end of the first question.
    pos = 12
    if qdcount:
        while pos < len(q) and q[pos] != 0:
            pos += 1 + q[pos]
        pos += 5
    question = q[12:pos] if qdcount and pos <= len(q) else b""
    return q[:2] + bytes([out_flags >> 8, out_flags & 0xFF]) + \
        bytes([0, 1 if question else 0, 0, 0, 0, 0, 0, 0]) + question


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--tag", default="")
    ap.add_argument("--servfail", action="store_true")
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
                q, peer = udp.recvfrom(65535)
                if a.servfail and len(q) >= 12:
                    udp.sendto(servfail(q), peer)
            elif s is tcp:
                conn, _ = tcp.accept()
                held.append(conn)
            else:
                if not s.recv(65535):
                    held.remove(s)
                    s.close()


if __name__ == "__main__":
    main()
