#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""submit.py - an SMTP client for tests/opensmtpd/opensmtpd_test.sh.

  submit.py rcpt PORT ADDRESS...     one session, MAIL then one RCPT per
                                     address; prints "ADDRESS CODE TEXT" each
  submit.py send PORT TOKEN ADDRESS...  a message with Subject TOKEN to the
                                     addresses; prints the reply to DATA's end
  submit.py burst PORT SLOW_DOMAIN N FAST_DOMAIN M
                                     N sessions opened, then all RCPT to
                                     SLOW_DOMAIN at once, and (0.3 s later,
                                     while they wait) M more to FAST_DOMAIN;
                                     prints one JSON object:
                                     {"slow": [[code, seconds]...], "fast": [...]}

Talks to 127.0.0.1 only. Sender: sender@ee.dane.test (a lab domain that
routes, so a relay's sender verification passes).
"""
import json
import smtplib
import sys
import threading
import time

SENDER = "sender@ee.dane.test"


def session(port):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.test")
    return s


def rcpt(port, addresses):
    s = session(port)
    s.mail(SENDER)
    for a in addresses:
        code, text = s.rcpt(a)
        print(a, code, text.decode(errors="replace"))
    s.quit()


def send(port, token, addresses):
    s = session(port)
    msg = "Subject: %s\r\nFrom: %s\r\n\r\nmessage %s\r\n" % (token, SENDER, token)
    try:
        refused = s.sendmail(SENDER, addresses, msg)
        print("250 accepted", " ".join(sorted(refused)) if refused else "")
    except smtplib.SMTPRecipientsRefused as e:
        print("refused", e.recipients)
    except smtplib.SMTPResponseException as e:
        print(e.smtp_code, e.smtp_error.decode(errors="replace"))
    s.quit()


def burst(port, slow, n, fast, m):
    # The sessions are opened one after another (banner, EHLO, MAIL), then
    # their RCPTs sent at once from threads: the concurrency under test is
    # the filter's, not 55 simultaneous connects to smtpd. Every wait is
    # bounded: a stuck session is reported as [null, null], never a hang.
    out = {"slow": [[None, None]] * n, "fast": [[None, None]] * m}
    sessions = []
    for kind, count, domain in (("slow", n, slow), ("fast", m, fast)):
        for i in range(count):
            try:
                s = smtplib.SMTP("127.0.0.1", port, timeout=30)
                s.ehlo("client.test")
                s.mail(SENDER)
                sessions.append((kind, i, domain, s))
            except (OSError, smtplib.SMTPException) as e:
                print("burst: session %s %d: %s" % (kind, i, e), file=sys.stderr)
    start = threading.Event()

    def one(kind, i, domain, s, delay):
        start.wait(60)
        time.sleep(delay)
        t0 = time.monotonic()
        try:
            code, _ = s.rcpt("user%d@%s" % (i, domain))
            out[kind][i] = [code, round(time.monotonic() - t0, 3)]
            s.quit()
        except (OSError, smtplib.SMTPException) as e:
            print("burst: RCPT %s %d: %s" % (kind, i, e), file=sys.stderr)

    threads = [threading.Thread(target=one, args=(k, i, d, s, 0.3 if k == "fast" else 0.0), daemon=True)
               for k, i, d, s in sessions]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    print(json.dumps(out))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "rcpt":
        rcpt(port, sys.argv[3:])
    elif cmd == "send":
        send(port, sys.argv[3], sys.argv[4:])
    elif cmd == "burst":
        burst(port, sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    else:
        sys.exit("submit.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
