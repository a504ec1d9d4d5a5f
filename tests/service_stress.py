#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# service_stress.py - danesmtpd under concurrent clients, against the lab:
# sixteen connections at once, each doing what an Exim process does (check
# and route a destination, the connect event, the certificate at depth 0)
# for a mix of domains, and every answer must be the one that domain gets
# alone. make exim-test runs it on danesmtpd built with ThreadSanitizer
# (halt_on_error: a data race ends the service, and the clients see it).
#   python3 tests/service_stress.py DANESMTPD BUILD_DIR LAB_STATE
import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

DAEMON, BUILD, LAB = (os.path.abspath(a) for a in sys.argv[1:4])
env = dict(line.strip().split("=", 1) for line in open(os.path.join(LAB, "lab.env")) if "=" in line)
PORT = env["LAB_SMTP_PORT"].strip('"')
work = tempfile.mkdtemp(prefix="danesmtpd-stress-")
os.chmod(work, 0o700)
conf = os.path.join(work, "danesmtp.conf")
with open(conf, "w") as f:
    f.write(f"trust-anchor-file = {LAB}/trust-anchor\nroot-anchor = no\ntimeout = 3000\n")
    f.write(f"cache = {work}/answers.mdb\n")
    for line in open(os.path.join(LAB, "stubs")):
        zone, addr = line.split()
        f.write(f"stub = {zone} {addr}\n")
sock_path = os.path.join(work, "exim.sock")
ee_cert = base64.b64encode(open(os.path.join(BUILD, "pki", "ee-ec.der"), "rb").read()).decode()


def frame(strings):
    body = struct.pack("<H", len(strings))
    for s in strings:
        b = s.encode()
        body += struct.pack("<I", len(b)) + b
    return struct.pack("<I", len(body)) + body


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def call(s, *strings):
    s.sendall(frame(list(strings)))
    body = recv_exact(s, struct.unpack("<I", recv_exact(s, 4))[0])
    rc, ylen = struct.unpack("<iI", body[:8])
    return rc, body[8:8 + ylen].decode()


def extract(plan, key):
    for part in plan.split(" "):
        if part.startswith(key + "="):
            return part[len(key) + 1:].strip('"')
    return ""


# What each domain must get: (check result prefix, certificate verdict).
# ee: verified with the ee-ec certificate; nomatch: its TLSA record does not
# match that certificate; bogus: the check defers and there is no plan.
EXPECT = {"ee.dane.test": ("ok", ""), "nomatch.dane.test": ("ok", "refused"), "bogus.test": ("defer", None)}
errors = []
lock = threading.Lock()


def client(n):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock_path)
        domains = list(EXPECT)
        for i in range(40):
            d = domains[(n + i) % len(domains)]
            want_check, want_cert = EXPECT[d]
            rc, check = call(s, "danesmtp_exim_check", d, PORT, conf)
            if rc != 0 or not check.startswith(want_check):
                raise AssertionError(f"{d}: check gave {rc} {check[:80]}")
            rc, plan = call(s, "danesmtp_exim_route", d, PORT, conf)
            if want_cert is None:
                if rc == 0:
                    raise AssertionError(f"{d}: route must fail, gave {plan[:80]}")
                continue
            addr = extract(plan, "hosts").split(";")[-1]
            rc, veto = call(s, "danesmtp_exim_connect", addr, plan)
            if rc != 0 or veto != "":
                raise AssertionError(f"{d}: connect to {addr} vetoed: {veto}")
            rc, verdict = call(s, "danesmtp_exim_tls_cert", "0", ee_cert, addr, plan)
            got = "" if verdict == "" else "refused"
            if rc != 0 or got != want_cert:
                raise AssertionError(f"{d}: certificate verdict '{verdict[:80]}', wanted {want_cert or 'accepted'}")
        s.close()
    except Exception as e:  # noqa: BLE001 - every failure is a test failure
        with lock:
            errors.append(f"client {n}: {e}")


svc = subprocess.Popen([DAEMON, "--socket", sock_path], env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1"),
                       stderr=subprocess.PIPE)
try:
    for _ in range(100):
        if os.path.exists(sock_path) or svc.poll() is not None:
            break
        time.sleep(0.1)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # An edit of the configuration applies to the next lookup, without a
    # restart (audit-only turned on here; the plan says audit=1).
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(sock_path)
        before = call(s, "danesmtp_exim_route", "ee.dane.test", PORT, conf)[1]
        with open(conf, "a") as f:
            f.write("audit-only = yes\n")
        after = call(s, "danesmtp_exim_route", "ee.dane.test", PORT, conf)[1]
        s.close()
        if extract(before, "audit") != "0" or extract(after, "audit") != "1":
            errors.append(f"configuration edit not seen: audit {extract(before, 'audit')} -> {extract(after, 'audit')}")
    except Exception as e:  # noqa: BLE001
        errors.append(f"configuration edit: {e}")
    alive = svc.poll() is None
finally:
    if svc.poll() is None:
        svc.send_signal(signal.SIGTERM)
    try:
        svc.wait(timeout=15)
    except subprocess.TimeoutExpired:  # stuck (in a sanitizer report): by PID, for good
        svc.kill()
        svc.wait()
    err = svc.stderr.read().decode(errors="replace")
    shutil.rmtree(work, ignore_errors=True)

for e in errors[:10]:
    print("FAIL:", e, file=sys.stderr)
if not alive or "ThreadSanitizer" in err:
    print("FAIL: the service died or reported a race:\n" + err[-4000:], file=sys.stderr)
ok = not errors and alive and "ThreadSanitizer" not in err
print(f"service_stress: 16 clients x 40 destinations and a configuration edit, {len(errors)} wrong answers, "
      f"{'no race reported' if 'ThreadSanitizer' not in err else 'RACE'}")
sys.exit(0 if ok else 1)
