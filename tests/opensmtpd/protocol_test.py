#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""protocol_test.py - danesmtp-opensmtpd against scripted smtpd input.

  protocol_test.py BUILD_DIR LAB_STATE [FILTER]

The filter binary, its stdin and stdout on pipes as smtpd's socketpair would
be, resolving the lab through stub zones (the dead zone's server reads queries
and never answers, so a lookup there outlives the deadline). Checks: the
handshakes of protocol 0.6 (OpenSMTPD 6.8, no config|protocol line) and 0.7
(7.x), answers per version, each token answered exactly once (also when the
lookup ends after the deadline answered), garbage and unknown lines, a line
over the bound, smtp-out report sequences and the audit lines they give,
fail-closed mode, bad options, and EOF with a lookup in flight.
"""
import os
import select
import subprocess
import sys
import time

BUILD, LAB = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
# An optional third argument: the filter built under a sanitizer.
FILTER = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else os.path.join(BUILD, "danesmtp-opensmtpd")
env_lab = {}
for line in open(os.path.join(LAB, "lab.env")):
    if "=" in line:
        k, v = line.strip().split("=", 1)
        env_lab[k] = v
PORT = env_lab.get("LAB_SMTP_PORT", "25")
WORK = os.path.join(BUILD, "opensmtpd-protocol-test")
os.makedirs(WORK, exist_ok=True)
CONF = os.path.join(WORK, "danesmtp-stub.conf")
with open(CONF, "w") as f:
    f.write("trust-anchor-file = %s\nroot-anchor = no\ntimeout = 3000\n" % os.path.join(LAB, "trust-anchor"))
    for line in open(os.path.join(LAB, "stubs")):
        if line.strip():
            f.write("stub = %s\n" % line.strip())

checks = 0
failed = 0


def check(name, cond, detail=""):
    global checks, failed
    checks += 1
    if not cond:
        failed += 1
        print("FAIL: %s %s" % (name, detail), file=sys.stderr)


class Filter:
    def __init__(self, *args, conf=CONF):
        self.p = subprocess.Popen([FILTER, "--conf", conf, "--port", PORT] + list(args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""
        self.err = b""

    def send(self, *lines):
        for l in lines:
            self.p.stdin.write(l.encode("latin-1") + b"\n")
        self.p.stdin.flush()

    def pump(self, seconds):
        """Read stdout and stderr for this long; returns new stdout lines."""
        end = time.monotonic() + seconds
        before = self.out.count(b"\n")
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.p.stdout, self.p.stderr], [], [], left)
            for fd in r:
                data = os.read(fd.fileno(), 65536)
                if fd is self.p.stdout:
                    self.out += data
                else:
                    self.err += data
        return self.out.decode("latin-1").split("\n")[before:-1]

    def lines(self):
        return self.out.decode("latin-1").split("\n")[:-1]

    def errlines(self):
        return self.err.decode("latin-1").split("\n")[:-1]

    def close(self):
        self.p.stdin.close()
        t0 = time.monotonic()
        try:
            rc = self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        took = time.monotonic() - t0
        self.err += self.p.stderr.read()
        # A sanitizer build (third argument) reports here.
        check("no sanitizer report", b"Sanitizer" not in self.err and b"runtime error" not in self.err,
              self.err.decode("latin-1")[-3000:])
        return rc, took


HS_68 = ["config|smtpd-version|6.8.0p2", "config|smtp-session-timeout|300", "config|subsystem|smtp-in",
         "config|admd|lab.test", "config|ready"]
HS_78 = ["config|smtpd-version|7.8.0", "config|protocol|0.7", "config|smtp-session-timeout|300",
         "config|subsystem|smtp-in", "config|subsystem|smtp-out", "config|admd|lab.test", "config|ready"]

# ---- 6.8: protocol 0.6
f = Filter("--deadline", "1000", "--local", "client.test")
f.send(*HS_68)
reg = f.pump(1.0)
check("0.6 handshake registers rcpt-to only", reg == ["register|filter|smtp-in|rcpt-to", "register|ready"], reg)
t0 = time.monotonic()
f.send("filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a01|0000000000000b01|a@ee.dane.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a02|0000000000000b02|b@bogus.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a03|0000000000000b03|c@nullmx.dane.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a04|0000000000000b04|d@deadtlsa.dane.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a05|0000000000000b05|e@client.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a06|0000000000000b06|postmaster",
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a07|0000000000000b07|g@deadtlsa.dane.test",
       "garbage without bars", "report|0.6|1.0|smtp-in|link-connect|a|b|c|d|e", "|||||||",
       "filter|0.6|1.0|smtp-in|rcpt-to|not-hex|0000000000000b08|x@ee.dane.test",
       "x" * 70000,
       "filter|0.4|1.0|smtp-in|rcpt-to|0000000000000a09|0000000000000b09|h@ee.dane.test")
first = f.pump(0.5)
# The local domain and the domain-less address are answered at once.
check("--local domain answered at once", "filter-result|0000000000000a05|0000000000000b05|proceed" in first, first)
check("address without a domain answered at once",
      "filter-result|0000000000000a06|0000000000000b06|proceed" in first, first)
f.pump(5.0)  # past the deadline (1 s) and the lookup timeout (3 s): late answers would show now
lines = f.lines()[2:]
by_token = {}
for l in lines:
    parts = l.split("|")
    check("every output line is a filter-result", parts[0] == "filter-result", l)
    key = parts[2] if parts[1] != "0000000000000b09" else parts[1]
    by_token.setdefault(key, []).append(l)
for tok in ["b01", "b02", "b03", "b04", "b05", "b06", "b07", "b09"]:
    key = "0000000000000" + tok
    check("token %s answered exactly once" % tok, len(by_token.get(key, [])) == 1, by_token.get(key))
get = lambda tok: (by_token.get("0000000000000" + tok) or [""])[0]
check("good domain: proceed", get("b01") == "filter-result|0000000000000a01|0000000000000b01|proceed", get("b01"))
check("bogus: 451 4.7.5", get("b02").startswith("filter-result|0000000000000a02|0000000000000b02|reject|451 4.7.5 DANE: bogus.test: "), get("b02"))
check("null MX: 550 5.1.10", get("b03").startswith("filter-result|0000000000000a03|0000000000000b03|reject|550 5.1.10 "), get("b03"))
check("dead zone: 451 at the deadline",
      get("b04") == "filter-result|0000000000000a04|0000000000000b04|reject|451 4.7.5 DANE: DNS lookups for "
      "deadtlsa.dane.test did not finish within 1000 ms", get("b04"))
check("second request for the dead zone waits on the same lookup, same answer",
      get("b07").endswith("did not finish within 1000 ms"), get("b07"))
check("protocol 0.4: token first", get("b09") == "filter-result|0000000000000b09|0000000000000a09|proceed", get("b09"))
check("request with a bad session id: not answered", "0000000000000b08" not in f.out.decode("latin-1"))
err = f.errlines()
check("garbage logged", any("line not understood" in e for e in err), err)
check("over-long line logged and dropped", any("dropped" in e for e in err), err)
check("refusal logged", any(e.startswith("danesmtp: RCPT for bogus.test refused: ") for e in err), err)
check("a verdict that comes after the deadline's answer is not logged",
      not any("RCPT for deadtlsa.dane.test refused: the only MX" in e for e in err), err)
# EOF with a lookup in flight: the filter leaves at once, status 0.
f.send("filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a10|0000000000000b10|z@deadtlsa.dane.test")
time.sleep(0.2)
rc, took = f.close()
check("EOF: exit status 0", rc == 0, rc)
check("EOF: exits without waiting for the lookup", took < 2.0, took)

# ---- 7.x: protocol 0.7, smtp-in and smtp-out
f = Filter("--deadline", "2000")
f.send(*HS_78)
reg = f.pump(1.0)
check("0.7 handshake: 10 registrations", len(reg) == 10, reg)
check("0.7 handshake: no filter for smtp-out", not any(l.startswith("register|filter|smtp-out") for l in reg), reg)
check("0.7 handshake: smtp-out reports", "register|report|smtp-out|tx-commit" in reg, reg)
f.send("filter|0.7|1.0|smtp-in|rcpt-to|00000000000000c1|00000000000000d1|a@ee.dane.test")
ans = f.pump(3.0)
check("0.7 answer", ans == ["filter-result|00000000000000c1|00000000000000d1|proceed"], ans)


def tx(sid, dest, tls, rcpts):
    lines = ["report|0.7|1.0|smtp-out|link-connect|%s|mx|pass|127.0.0.1:40000|%s" % (sid, dest)]
    if tls:
        lines.append("report|0.7|1.0|smtp-out|link-tls|%s|TLSv1.3:TLS_AES_256_GCM_SHA384:256" % sid)
    lines.append("report|0.7|1.0|smtp-out|tx-begin|%s|0000abcd" % sid)
    for r in rcpts:
        lines.append("report|0.7|1.0|smtp-out|tx-rcpt|%s|0000abcd|ok|%s" % (sid, r))
    lines += ["report|0.7|1.0|smtp-out|tx-commit|%s|0000abcd|300" % sid,
              "report|0.7|1.0|smtp-out|tx-reset|%s|0000abcd" % sid,
              "report|0.7|1.0|smtp-out|link-disconnect|%s" % sid]
    return lines


ee, nostarttls, bogus = env_lab["LAB_HOST_mx_ee"], env_lab["LAB_HOST_mx_nostarttls"], env_lab["LAB_HOST_mx_bogus"]
f.send(*tx("e1", "127.0.9.9:25", True, ["a@ee.dane.test"]))
f.send(*tx("e2", nostarttls + ":25", False, ["a@nostarttls.dane.test"]))
f.send(*tx("e3", bogus + ":25", True, ["a@bogus.test"]))
f.send(*tx("e4", ee + ":25", True, ["a@ee.dane.test"]))
f.send("report|0.7|1.0|smtp-out|no-such-event|e5|x", "report|0.7|1.0|smtp-out|tx-commit|e6|1|1")
out = f.pump(4.0)
check("reports are never answered", out == [], out)
err = f.errlines()
check("out-not-in-plan", any(e.startswith("danesmtp: out-not-in-plan: [127.0.9.9] took mail for ee.dane.test") for e in err), err)
check("out-cleartext", any(e.startswith("danesmtp: out-cleartext: H=mx.nostarttls.dane.test [%s] delivered in clear text" % nostarttls) for e in err), err)
check("out-despite-defer", any(e.startswith("danesmtp: out-despite-defer: [%s] took mail although bogus.test must wait" % bogus) for e in err), err)
check("out-unauthenticated", any(e.startswith("danesmtp: out-unauthenticated: H=mx.ee.dane.test [%s] TLS (TLSv1.3" % ee) for e in err), err)
check("audit lines: one per delivery", sum(e.startswith("danesmtp: out-") for e in err) == 4, err)
rc, _ = f.close()
check("0.7: exit 0 on EOF", rc == 0, rc)

# ---- fail closed
f = Filter("--fail-closed")
f.send(*HS_68)
f.pump(0.5)
f.send("filter|0.6|1.0|smtp-in|helo|00000000000000e1|00000000000000f1|client.test")
ans = f.pump(1.0)
check("--fail-closed: an unexpected phase is refused",
      ans == ["filter-result|00000000000000e1|00000000000000f1|reject|451 4.3.0 DANE filter: unexpected request"], ans)
f.close()
f = Filter()
f.send(*HS_68)
f.pump(0.5)
f.send("filter|0.6|1.0|smtp-in|helo|00000000000000e1|00000000000000f1|client.test")
ans = f.pump(1.0)
check("default: an unexpected phase proceeds", ans == ["filter-result|00000000000000e1|00000000000000f1|proceed"], ans)
f.close()

# ---- a slow domain and a good one in the same read, with one thread idle
# (made by a first request): the good one gets a thread of its own, not the
# place behind the slow lookup.
f = Filter("--deadline", "2000")
f.send(*HS_68)
f.pump(0.5)
f.send("filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a11|0000000000000b11|w@ee.dane.test")
warm = f.pump(1.0)
check("warm-up answered", warm == ["filter-result|0000000000000a11|0000000000000b11|proceed"], warm)
f.send("filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a12|0000000000000b12|s@deadtlsa.dane.test\n"
       "filter|0.6|1.0|smtp-in|rcpt-to|0000000000000a13|0000000000000b13|t@ee.dane.test")
quick = f.pump(0.7)
check("a good domain sent with a slow one is answered at once",
      quick == ["filter-result|0000000000000a13|0000000000000b13|proceed"], quick)
f.close()

# ---- audit-only in the configuration file: never a 451, also at the deadline
AUDIT_CONF = os.path.join(WORK, "danesmtp-audit.conf")
with open(AUDIT_CONF, "w") as out:
    out.write(open(CONF).read() + "audit-only = yes   # the first rollout\n")
f = Filter("--deadline", "1000", conf=AUDIT_CONF)
f.send(*HS_68)
f.pump(0.5)
f.send("filter|0.6|1.0|smtp-in|rcpt-to|00000000000000a1|00000000000000b1|a@deadtlsa.dane.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|00000000000000a2|00000000000000b2|b@bogus.test",
       "filter|0.6|1.0|smtp-in|rcpt-to|00000000000000a3|00000000000000b3|c@nullmx.dane.test")
ans = f.pump(2.0)
check("audit-only: the deadline proceeds", "filter-result|00000000000000a1|00000000000000b1|proceed" in ans, ans)
check("audit-only: bogus proceeds", "filter-result|00000000000000a2|00000000000000b2|proceed" in ans, ans)
check("audit-only: null MX is still refused",
      any(l.startswith("filter-result|00000000000000a3|00000000000000b3|reject|550 5.1.10 ") for l in ans), ans)
err = f.errlines()
check("audit-only: the deadline's refusal is logged as would-be",
      any(e.startswith("danesmtp: audit-only: RCPT for deadtlsa.dane.test would be refused: DNS lookups") for e in err), err)
f.close()

# ---- bad invocations: a clear message and a non-zero status (smtpd then stops)
for args, want in [(["--deadline", "5"], "--deadline wants a number from 100"),
                   (["--workers", "x"], "--workers wants a number"),
                   (["--conf", "/nonexistent/danesmtp.conf"], "configuration"),
                   (["--local", "@"], "--local wants a domain"),
                   (["operand"], "no operands expected")]:
    p = subprocess.run([FILTER] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    check("bad invocation %s: status 2" % args, p.returncode == 2, p.returncode)
    check("bad invocation %s: says why" % args, want in p.stderr.decode(), p.stderr)
    check("bad invocation %s: nothing on stdout" % args, p.stdout == b"", p.stdout)

print("opensmtpd protocol test (%s): %d checks, %d failed" % (os.path.relpath(FILTER), checks, failed))
sys.exit(1 if failed else 0)
