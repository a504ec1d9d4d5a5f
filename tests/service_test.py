#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# service_test.py - danesmtpd (plugin/daemon/danesmtpd.cpp) at the protocol
# level: answers in order, ends a connection on anything malformed and keeps
# serving others, refuses other users, bounds its clients, refuses to start
# where someone else could replace its socket, removes its socket on SIGTERM.
#   python3 tests/service_test.py BUILD_DIR       (root: it runs the service as Debian-exim)
# Every process it starts it stops, by PID. The Exim side (the C client,
# fail-closed routing and events) is in tests/exim/exim_test.sh.
import base64
import ctypes
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1])
DAEMON = os.path.join(BUILD, "danesmtpd")
checks = 0
failed = 0


def check(name, ok, detail=""):
    global checks, failed
    checks += 1
    if not ok:
        failed += 1
        print(f"FAIL: {name} {detail}", file=sys.stderr)


def fnv(data):
    h = 14695981039346656037
    for x in data:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def frame(strings):
    body = struct.pack("<H", len(strings))
    for s in strings:
        b = s if isinstance(s, bytes) else s.encode()
        body += struct.pack("<I", len(b)) + b
    return struct.pack("<I", len(body)) + body


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def reply(sock):
    """(rc, yield, logs) or None when the service closed the connection."""
    head = recv_exact(sock, 4)
    if head is None:
        return None
    body = recv_exact(sock, struct.unpack("<I", head)[0])
    if body is None:
        return None
    rc, ylen = struct.unpack("<iI", body[:8])
    y = body[8:8 + ylen].decode()
    at = 8 + ylen
    (count,) = struct.unpack("<H", body[at:at + 2])
    at += 2
    logs = []
    for _ in range(count):
        (n,) = struct.unpack("<I", body[at:at + 4])
        logs.append(body[at + 4:at + 4 + n].decode())
        at += 4 + n
    return rc, y, logs


def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def closed_after(path, data):
    """Send raw bytes; True when the service ends the connection."""
    s = connect(path)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR) if data[-1:] == b"\xff" else None
        return reply(s) is None
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.close()


exim = pwd.getpwnam("Debian-exim")
top = tempfile.mkdtemp(prefix="danesmtpd-test-")
os.chmod(top, 0o755)


def service_dir(name, mode=0o700, owner=exim):
    d = os.path.join(top, name)
    os.mkdir(d)
    os.chown(d, owner.pw_uid, owner.pw_gid)
    os.chmod(d, mode)
    return d


def start(sock, *extra):
    p = subprocess.Popen(["setpriv", "--reuid", "Debian-exim", "--regid", "Debian-exim", "--clear-groups",
                          DAEMON, "--socket", sock, *extra], stderr=subprocess.PIPE)
    for _ in range(50):
        if os.path.exists(sock) or p.poll() is not None:
            break
        time.sleep(0.1)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)


procs = []
try:
    d = service_dir("svc")
    sock = os.path.join(d, "exim.sock")
    p = start(sock, "--max-clients", "3")
    procs.append(p)
    check("starts and listens", os.path.exists(sock) and p.poll() is None)
    check("socket closed to group and others", (os.stat(sock).st_mode & 0o077) == 0, oct(os.stat(sock).st_mode))

    # Answers, in order, on one connection.
    s = connect(sock)
    plan = 'hosts="<;192.0.2.1"'
    s.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
    s.sendall(frame(["danesmtp_exim_connect", "192.0.2.9", plan]))
    r1, r2 = reply(s), reply(s)
    check("a host in the plan is accepted", r1 is not None and r1[0] == 0 and r1[1] == "", str(r1))
    check("a host outside the plan is refused", r2 is not None and r2[0] == 0 and "not in the DANE plan" in r2[1],
          str(r2))
    s.sendall(frame(["danesmtp_exim_route", "bad..domain", "25"]))
    r3 = reply(s)
    check("route: a malformed domain fails the expansion", r3 is not None and r3[0] in (2, 3), str(r3))
    # Answer files (plugin/exim/plan_file.h): kept for answers only, and
    # for a handshake only when it ran from its tcp:connect to the leaf with
    # every answer on the way "".
    svc_conf = os.path.join(top, "svc-danesmtp.conf")
    with open(svc_conf, "w") as f:
        f.write("timeout = 1000\n")
    os.chmod(svc_conf, 0o644)

    def answers(kind):
        return sorted(f for f in os.listdir(d) if f.startswith(kind + "-"))

    s = connect(sock)
    s.sendall(frame(["danesmtp_exim_route", "bad..domain", "25", svc_conf, "refuse"]))
    r = reply(s)
    check("route: a failed lookup (absolute configuration) leaves no plan file",
          r is not None and r[0] in (2, 3) and answers("plan") == [], f"{r} {answers('plan')}")
    may = 'hosts="<;192.0.2.1" host@192.0.2.1=0 name.0=mx.example verdict.0=may config="%s"' % svc_conf
    cert = base64.b64encode(b"not even DER").decode()
    hs = [frame(["danesmtp_exim_connect", "192.0.2.1", may]),
          frame(["danesmtp_exim_tls_cert", "0", cert, "192.0.2.1", may])]
    s.sendall(b"".join(hs))
    r1, r2 = reply(s), reply(s)
    files = answers("cert")
    kept = b""
    if len(files) == 1:
        with open(os.path.join(d, files[0]), "rb") as f:
            kept = f.read()
    qlen, rlen = struct.unpack("<II", kept[56:64]) if len(kept) >= 64 else (0, 0)
    check("a handshake from connect to leaf, answered \"\": its verdict is kept, keyed by the requests as sent",
          r1 == (0, "", []) and r2 == (0, "", []) and len(files) == 1 and kept[64:64 + qlen] == b"".join(hs) and
          files[0] == "cert-%03x" % (fnv(b"".join(hs)) % 1024) and os.stat(os.path.join(d, files[0])).st_mode & 0o777 == 0o600,
          f"{r1} {r2} {files}")
    os.unlink(os.path.join(d, files[0])) if files else None
    for name, frames in (("a refused connect on the way", [frame(["danesmtp_exim_connect", "192.0.2.9", may]),
                                                           frame(["danesmtp_exim_tls_cert", "0", cert, "192.0.2.9", may])]),
                         ("a route in between", [frame(["danesmtp_exim_connect", "192.0.2.1", may]),
                                                 frame(["danesmtp_exim_route", "bad..domain", "25", svc_conf]),
                                                 frame(["danesmtp_exim_tls_cert", "0", cert, "192.0.2.1", may])]),
                         ("no connect first", [frame(["danesmtp_exim_tls_cert", "0", cert, "192.0.2.1", may])])):
        s.sendall(b"".join(frames))
        for _ in frames:
            reply(s)
        check(f"no verdict kept after {name}", answers("cert") == [], str(answers("cert")))
    s.close()
    s.close()

    # Anything malformed ends that connection; the service goes on.
    bad = {
        "garbage": os.urandom(64),
        "frame over 1 MiB": struct.pack("<I", 0xFFFFFFFF),
        "unknown entry point": frame(["system", "rm -rf /"]),
        "no strings": struct.pack("<IH", 2, 0),
        "NUL in an argument": frame(["danesmtp_exim_connect", b"1.2.3.4\0x", "y"]),
        "count beyond the body": struct.pack("<IHI", 6, 3, 100),
        "too many strings": frame(["danesmtp_exim_connect"] + ["x"] * 20),
    }
    for name, data in bad.items():
        check(f"malformed request ends the connection: {name}", closed_after(sock, data))
    s = connect(sock)
    s.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]) + frame(["danesmtp_exim_connect", "192.0.2.9", plan]) +
              frame(["system", "x"]))
    r1, r2, r3 = reply(s), reply(s), reply(s)
    check("requests sent together: each answered, then a malformed one ends the connection",
          r1 == (0, "", []) and r2 is not None and "not in the DANE plan" in r2[1] and r3 is None, f"{r1} {r2} {r3}")
    s.close()
    s = connect(sock)
    s.sendall(struct.pack("<I", 100) + b"half")
    s.shutdown(socket.SHUT_WR)
    check("a truncated request ends the connection", reply(s) is None)
    s.close()
    s = connect(sock)
    s.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
    check("still serving after all of that", reply(s) == (0, "", []))
    s.close()
    check("still running", p.poll() is None)

    # At most --max-clients connections are served at once; the next waits
    # in the listen queue and is served when one ends.
    idle = [connect(sock) for _ in range(3)]
    for c in idle:
        c.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
        reply(c)
    waiting = connect(sock, timeout=1.0)
    waiting.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
    try:
        early = reply(waiting)
    except socket.timeout:
        early = "timeout"
    check("a fourth client waits while three are served", early == "timeout", str(early))
    idle[0].close()
    waiting.settimeout(5.0)
    check("and is served when one leaves", reply(waiting) == (0, "", []))
    for c in idle[1:] + [waiting]:
        c.close()

    # Another user who reaches the socket is refused (SO_PEERCRED).
    os.chmod(d, 0o711)
    os.chmod(sock, 0o666)
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(65534)
            os.setuid(65534)
            c = connect(sock)
        except Exception:
            os._exit(3)  # could not even reach the socket: the test is wrong
        try:
            c.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
            os._exit(0 if reply(c) is None else 1)
        except (ConnectionResetError, BrokenPipeError):
            os._exit(0)  # closed on us: refused
        except Exception:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    check("another user is refused", os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, str(status))
    os.chmod(sock, 0o600)
    os.chmod(d, 0o700)

    # SIGTERM: it exits and removes its socket.
    stop(p)
    check("SIGTERM: exit 0", p.returncode == 0, str(p.returncode))
    check("SIGTERM: socket removed", not os.path.exists(sock))

    # It refuses to start where another user could replace its socket, or
    # over a file that is not a socket.
    open_dir = service_dir("open", 0o777)
    p2 = start(os.path.join(open_dir, "exim.sock"))
    procs.append(p2)
    p2.wait(timeout=10)
    err = p2.stderr.read().decode()
    check("refuses a directory others may write", p2.returncode == 1 and "writable by no one else" in err, err)
    d3 = service_dir("file")
    f = os.path.join(d3, "exim.sock")
    open(f, "w").close()
    p3 = start(f)
    procs.append(p3)
    p3.wait(timeout=10)
    err = p3.stderr.read().decode()
    check("refuses to replace a file that is not a socket", p3.returncode == 1 and "not a socket" in err, err)
    check("that file is left alone", os.path.isfile(f))
    p4 = subprocess.run([DAEMON, "--socket", "relative.sock"], capture_output=True)
    check("usage error for a relative path", p4.returncode == 2)
    # A second danesmtpd on the same socket refuses to start and leaves the
    # first alone.
    d5 = service_dir("twice")
    s5 = os.path.join(d5, "exim.sock")
    first = start(s5)
    procs.append(first)
    second = start(s5)
    procs.append(second)
    second.wait(timeout=10)
    err = second.stderr.read().decode()
    check("a second instance refuses to start", second.returncode == 1 and "another danesmtpd" in err, err)
    c = connect(s5)
    c.sendall(frame(["danesmtp_exim_connect", "192.0.2.1", plan]))
    check("the first still serves", reply(c) == (0, "", []))
    c.close()
    stop(first)

    # The client (danesmtp-exim-client.so, as Exim calls it) against a
    # service that misbehaves: only the answers the entry points can give
    # pass; everything else refuses (events) or fails the expansion (lookups).
    client = ctypes.CDLL(os.path.join(BUILD, "danesmtp-exim-client.so"))
    client.danesmtp_client.restype = ctypes.c_int

    def call_client(path, entry, *args):
        argv = [path.encode(), entry.encode()] + [a.encode() for a in args]
        arr = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
        out = ctypes.c_char_p()
        rc = client.danesmtp_client(ctypes.byref(out), len(argv), arr)
        return rc, (out.value or b"").decode()

    fake_dir = tempfile.mkdtemp(prefix="fake-", dir=top)
    os.chmod(fake_dir, 0o700)
    fake_path = os.path.join(fake_dir, "exim.sock")
    behaviours = []
    connections = []
    received = []  # the requests the fake service got, as lists of strings

    def parse_request(body):
        n = struct.unpack("<H", body[:2])[0]
        at, out = 2, []
        for _ in range(n):
            ln = struct.unpack("<I", body[at:at + 4])[0]
            out.append(body[at + 4:at + 4 + ln].decode(errors="replace"))
            at += 4 + ln
        return out
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(fake_path)
    listener.listen(16)

    def fake_server():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=fake_session, args=(conn,), daemon=True).start()

    def fake_session(conn):
        if True:
            while True:
                head = recv_exact(conn, 4)
                if head is None:
                    break
                body = recv_exact(conn, struct.unpack("<I", head)[0])
                if body is None:
                    break
                received.append(parse_request(body))
                how = behaviours.pop(0) if behaviours else ("ok", 0, b"")
                if how[0] == "close":
                    conn.close()
                    break
                body = struct.pack("<iI", how[1], len(how[2])) + how[2] + struct.pack("<H", 0)
                data = struct.pack("<I", len(body)) + body
                if how[0] == "split":
                    conn.sendall(data[:1])
                    time.sleep(0.05)
                    conn.sendall(data[1:])
                else:
                    conn.sendall(data)

    threading.Thread(target=fake_server, daemon=True).start()
    behaviours.append(("ok", 2, b""))
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: an event answered with code 2 refuses", rc == 0 and "refused" in y, f"{rc} {y}")
    behaviours.append(("ok", 0, b"\0danesmtp: refused"))
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: a result with a NUL refuses", rc == 0 and y.startswith("danesmtp: service unreachable"), f"{rc} {y}")
    behaviours.append(("ok", 7, b"status=ok"))
    rc, y = call_client(fake_path, "danesmtp_exim_route", "example.org", "25", "/etc/danesmtp.conf")
    check("client: a lookup answered with an unknown code fails", rc == 3, f"{rc} {y}")
    behaviours.append(("split", 0, b""))
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: a reply split across reads is read whole", (rc, y) == (0, ""), f"{rc} {y}")
    behaviours.extend([("close",), ("close",)])
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: closed twice without an answer: refused", rc == 0 and "service unreachable" in y, f"{rc} {y}")
    rc, y = call_client(fake_path, "danesmtp_exim_route", "example.org", "25", "/etc/danesmtp.conf")
    check("client: then asks again and is answered", (rc, y) == (0, ""), f"{rc} {y}")
    before = len(connections)
    pid = os.fork()
    if pid == 0:
        rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
        os._exit(0 if (rc, y) == (0, "") else 1)
    _, status = os.waitpid(pid, 0)
    check("client: a forked child answered on a connection of its own",
          os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and len(connections) == before + 1,
          f"{status} {len(connections) - before}")
    # Certificates above the leaf wait for the leaf's request and go with it
    # in one write (issue 11); a refusal of one of them refuses the leaf's
    # event.
    del received[:]
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "2", "AAAA", "192.0.2.1", plan)
    rc1, y1 = call_client(fake_path, "danesmtp_exim_tls_cert", "1", "BBBB", "192.0.2.1", plan)
    check("client: certificates above the leaf are held back", (rc, y, rc1, y1, received) == (0, "", 0, "", []),
          f"{rc} {y} {rc1} {y1} {received}")
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "CCCC", "192.0.2.1", plan)
    check("client: the leaf's request takes them along, in order",
          (rc, y) == (0, "") and [r[1] for r in received] == ["2", "1", "0"] and
          [r[2] for r in received] == ["AAAA", "BBBB", "CCCC"], f"{rc} {y} {received}")
    del received[:]
    call_client(fake_path, "danesmtp_exim_tls_cert", "1", "BBBB", "192.0.2.1", plan)
    behaviours.extend([("ok", 0, b"danesmtp: refused at depth 1"), ("ok", 0, b"")])
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "CCCC", "192.0.2.1", plan)
    check("client: a refusal of a held-back certificate refuses the leaf", rc == 0 and y == "danesmtp: refused at depth 1",
          f"{rc} {y} {received}")
    del received[:]
    call_client(fake_path, "danesmtp_exim_tls_cert", "1", "BBBB", "192.0.2.1", plan)
    behaviours.extend([("ok", 2, b""), ("ok", 0, b"")])
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "CCCC", "192.0.2.1", plan)
    check("client: a held-back certificate answered with code 2 refuses the leaf", rc == 0 and "refused" in y,
          f"{rc} {y}")
    del received[:]
    for depth in ("00", "0x", "1000"):
        call_client(fake_path, "danesmtp_exim_tls_cert", depth, "AAAA", "192.0.2.1", plan)
    check("client: only a plain depth above 0 is held back", [r[1] for r in received] == ["00", "0x", "1000"],
          str(received))
    del received[:]
    for k in range(12):
        call_client(fake_path, "danesmtp_exim_tls_cert", str(12 - k), "AAAA", "192.0.2.1", plan)
    check("client: at most 8 held back, then sent", len(received) == 9, str(len(received)))
    call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    del received[:]
    call_client(fake_path, "danesmtp_exim_tls_cert", "1", "PARENT", "192.0.2.1", plan)
    pid = os.fork()
    if pid == 0:
        rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
        os._exit(0 if (rc, y) == (0, "") else 1)
    _, status = os.waitpid(pid, 0)
    check("client: a forked child does not send its parent's held-back certificates",
          os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and
          [r[2] for r in received] == ["AAAA"], str(received))
    call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: the parent still sends its own", [r[2] for r in received[1:]] == ["PARENT", "AAAA"], str(received))
    # tcp:connect is decided by the client itself (the library's rule,
    # plan_hosts.h), and told to the service with the next request.
    del received[:]
    rc, y = call_client(fake_path, "danesmtp_exim_connect", "192.0.2.1", plan)
    check("client: connect to a host of the plan: accepted without asking", (rc, y, received) == (0, "", []),
          f"{rc} {y} {received}")
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: the connect goes with the next request, first",
          (rc, y) == (0, "") and [r[0] for r in received] == ["danesmtp_exim_connect", "danesmtp_exim_tls_cert"],
          f"{rc} {y} {received}")
    del received[:]
    call_client(fake_path, "danesmtp_exim_connect", "192.0.2.1", plan)
    behaviours.extend([("ok", 0, b"danesmtp: the service refused the connect"), ("ok", 0, b"")])
    rc, y = call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)
    check("client: the service refusing the queued connect refuses the next event",
          (rc, y) == (0, "danesmtp: the service refused the connect"), f"{rc} {y} {received}")
    del received[:]
    rc, y = call_client(fake_path, "danesmtp_exim_connect", "192.0.2.9", plan)
    check("client: connect to a host outside the plan: refused without asking",
          rc == 0 and y == "danesmtp: 192.0.2.9 is not in the DANE plan for this destination" and received == [],
          f"{rc} {y} {received}")
    rc, y = call_client(fake_path, "danesmtp_exim_connect", "", plan)
    check("client: connect with no address: refused", (rc, y) == (0, "danesmtp: empty host address"), f"{rc} {y}")
    for tricky, addr, want in (('hosts="<;192.0.2.10;192.0.2.1"', "192.0.2.1", ""),
                               ('HOSTS="<;192.0.2.1" hosts="<;192.0.2.2"', "192.0.2.2", "refused"),
                               ('hosts="<;192.0.2.1\\;x"', "192.0.2.1", ""),
                               ("x=1 hosts=<;192.0.2.1;2001:db8::1", "2001:db8::1", ""),
                               ('hosts="<;192.0.2.11"', "192.0.2.1", "refused")):
        rc, y = call_client(fake_path, "danesmtp_exim_connect", addr, tricky)
        check(f"client: connect rule on {tricky} for {addr}", rc == 0 and (y == "" if want == "" else y != ""),
              f"{rc} {y}")
    call_client(fake_path, "danesmtp_exim_tls_cert", "0", "AAAA", "192.0.2.1", plan)

    # Plans danesmtpd left in its directory (plugin/exim/plan_file.h): a
    # routing request is answered from a recent, whole, matching file of the
    # service's user, without asking; anything else, and the service is asked.
    conf = os.path.join(fake_dir, "danesmtp.conf")
    with open(conf, "w") as f:
        f.write("timeout = 3000\n")

    def write_answer(kind, req, yield_text, made=None, rc=0, slot=None, damage=False):
        """An answer file as danesmtpd writes one (plan_file.h), written here
        independently: the header, REQ, the reply and the checksum."""
        reply = struct.pack("<iI", rc, len(yield_text)) + yield_text.encode() + struct.pack("<H", 0)
        st = os.stat(conf)
        made = time.time_ns() if made is None else made
        head = struct.pack("<IIqQQqqqII", 0x31505344, 64 + len(req) + len(reply) + 8, made, st.st_dev, st.st_ino,
                           st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9, st.st_size, len(req), len(reply))
        body = head + req + reply
        body += struct.pack("<Q", fnv(body))
        if damage:
            body = body[:70] + bytes([body[70] ^ 1]) + body[71:]
        path = os.path.join(fake_dir, "%s-%03x" % (kind, fnv(slot or req) % 1024))
        if os.path.lexists(path):
            os.unlink(path)
        with open(path, "wb") as f:
            f.write(body)
        os.chmod(path, 0o600)
        return path

    def request_of(args):
        return b"".join(a.encode() + b"\0" for a in args)

    def write_plan(args, yield_text, name_of=None, **kw):
        return write_answer("plan", request_of(args), yield_text, slot=name_of and request_of(name_of), **kw)

    route_args = ["example.org", "25", conf, "refuse"]
    stored = 'status=ok domain="example.org" hosts="<;192.0.2.1"'

    def from_file():
        del received[:]
        rc, y = call_client(fake_path, "danesmtp_exim_route", *route_args)
        return (rc, y) == (0, stored) and received == []

    p = write_plan(route_args, stored)
    check("plan file: a recent one answers the request without asking", from_file(), str(received))
    check("plan file: the plain mode is another request", not call_client(fake_path, "danesmtp_exim_route",
                                                                          *route_args[:3])[1] == stored)
    cases = {
        "older than 2 s": dict(made=time.time_ns() - 2_500_000_000),
        "made in the future": dict(made=time.time_ns() + 1_000_000_000),
        "damaged": dict(damage=True),
        "not an answer (rc 2)": dict(rc=2),
        "another request in its slot": dict(name_of=route_args),
    }
    for what, kw in cases.items():
        args = ["other.example", "25", conf, "refuse"] if what == "another request in its slot" else route_args
        p = write_plan(args, stored, **kw)
        if what == "another request in its slot":
            os.rename(p, os.path.join(fake_dir, "plan-%03x" % (fnv(b"".join(a.encode() + b"\0" for a in route_args)) % 1024)))
        check(f"plan file {what}: the service is asked", not from_file(), str(received))
    p = write_plan(route_args, stored)
    os.chmod(p, 0o620)
    check("plan file writable by the group: the service is asked", not from_file())
    os.chmod(p, 0o600)
    os.chown(p, 65534, 65534)
    check("plan file of another user: the service is asked", not from_file())
    p = write_plan(route_args, stored)
    os.link(p, p + ".link")
    check("plan file with a second link: the service is asked", not from_file())
    os.unlink(p + ".link")
    check("plan file: whole again, used again", from_file())
    target = p + ".target"
    os.rename(p, target)
    os.symlink(target, p)
    check("plan file that is a symbolic link: the service is asked", not from_file())
    os.unlink(p)
    os.unlink(target)
    p = write_plan(route_args, stored)
    with open(conf, "a") as f:
        f.write("timeout = 4000\n")
    check("plan file made under another configuration: the service is asked", not from_file())
    p = write_plan(route_args, stored)
    os.chmod(fake_dir, 0o720)
    check("plan file in a directory others may write: not used", not from_file())
    os.chmod(fake_dir, 0o700)
    # A handshake's verdict (cert-XXX): the requests from its tcp:connect to
    # the leaf's tls:cert, byte for byte as the client sends them.
    cplan = 'hosts="<;192.0.2.1" config="%s"' % conf

    def write_verdict(frames, yield_text, **kw):
        return write_answer("cert", b"".join(frame(f) for f in frames), yield_text, **kw)

    handshake = [["danesmtp_exim_connect", "192.0.2.1", cplan],
                 ["danesmtp_exim_tls_cert", "1", "INT", "192.0.2.1", cplan],
                 ["danesmtp_exim_tls_cert", "0", "LEAF", "192.0.2.1", cplan]]

    def run_handshake(leaf="LEAF", connect=True):
        del received[:]
        if connect:
            call_client(fake_path, *handshake[0])
        call_client(fake_path, *handshake[1])
        return call_client(fake_path, "danesmtp_exim_tls_cert", "0", leaf, "192.0.2.1", cplan)

    write_verdict(handshake, "danesmtp: stored refusal")
    rc, y = run_handshake()
    check("verdict file: the same handshake is answered from it, without asking",
          (rc, y, received) == (0, "danesmtp: stored refusal", []), f"{rc} {y} {received}")
    rc, y = run_handshake(leaf="LEAF2")
    check("verdict file: another leaf certificate is asked about", len(received) == 3 and y == "", f"{y} {received}")
    write_verdict(handshake[1:], "danesmtp: stored refusal")
    rc, y = run_handshake(connect=False)
    check("verdict file: not without the handshake's tcp:connect first, even one for those very requests",
          len(received) == 2 and y == "", f"{y} {received}")
    write_verdict(handshake, "", made=time.time_ns() - 3_000_000_000)
    rc, y = run_handshake()
    check("verdict file: an old one is not used", len(received) == 3, str(received))
    rel = ["example.org", "25", "danesmtp.conf", "refuse"]
    write_plan(rel, stored)
    del received[:]
    call_client(fake_path, "danesmtp_exim_route", *rel)
    check("plan file for a relative configuration path: never used", len(received) == 1, str(received))
    listener.close()
    rc, y = call_client(os.path.join(top, "none", "exim.sock"), "danesmtp_exim_tls_cert", "0", "AAAA", "1.2.3.4", plan)
    check("client: no service: tls_cert refuses", rc == 0 and "service unreachable" in y, f"{rc} {y}")
    rc, y = call_client(os.path.join(top, "none", "exim.sock"), "danesmtp_exim_check", "example.org")
    check("client: no service: check fails the expansion", rc == 3, f"{rc} {y}")
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(top, ignore_errors=True)

print(f"service_test: {checks} checks, {failed} failed")
sys.exit(1 if failed else 0)
