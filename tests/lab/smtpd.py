#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""smtpd.py -- a small ESMTP server with STARTTLS for the danesmtp test lab.

Usage:
  python3 tests/lab/smtpd.py --listen IP:PORT --cert CHAIN.pem --key KEY.pem
      --spool DIR [--no-starttls] [--broken-tls] [--hostname NAME]
      [--cert2 CHAIN2.pem --key2 KEY2.pem] [--pidfile F]

Speaks enough ESMTP for a real MTA (Exim) and the danesmtp client: 220
greeting, EHLO/HELO (advertising SIZE, 8BITMIME and, unless --no-starttls,
STARTTLS), STARTTLS, MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET,
NOOP, HELP, VRFY, QUIT; anything else gets 500.  One thread per connection.

STARTTLS presents every certificate of CHAIN.pem, in file order (leaf
first), with the key from KEY.pem, and records the SNI name the client sent.
SIGHUP reads CHAIN.pem and KEY.pem again (a key rollover); sessions already
in TLS keep their chain.
After STARTTLS the client must say EHLO/HELO again.

--cert2/--key2 a second certificate of another key type (RSA beside EC):
               OpenSSL presents the one the client's signature algorithms
               allow.
--no-starttls  STARTTLS is neither advertised nor accepted (500).
--broken-tls   STARTTLS is advertised and answered with 220, then the
               server reads the ClientHello, sends bytes that are not TLS and
               closes: every handshake fails.
--fault-dir D  faults a test switches on at run time (the soak test):
               D/die    present when a DATA command arrives: the file is
                        removed and the process exits at once (exit status
                        70), before the message is accepted: a server killed
                        mid-session, never a half-accepted message
               D/stall  present when a TLS handshake completes: the session
                        says nothing for the number of seconds in the file
                        (default 30), then closes

Each accepted message is written (atomically: a hidden temporary file is
renamed) to DIR/<UTC timestamp>-<n>.eml, n counting from 1 per process,
with LF line endings:

  X-Lab-TLS: yes|no
  X-Lab-TLS-Version: TLSv1.3|TLSv1.2|...|none
  X-Lab-SNI: NAME|none
  X-Lab-Peer: CLIENT-IP
  X-Lab-Mail-From: <reverse-path>          (<> for the null sender)
  X-Lab-Rcpt-To: <rcpt1>, <rcpt2>, ...
  <blank line>
  the message as received, dot-unstuffed

Logs one line per event to stderr.  SIGTERM and SIGINT stop it cleanly
(exit status 0, pidfile removed).  The pidfile is written once the socket
listens.  Python standard library only.
"""

import argparse
import itertools
import logging
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time

MAX_LINE = 65536            # longest command or data line accepted
MAX_SIZE = 50 * 1024 * 1024  # SIZE advertised and enforced
MAX_RCPTS = 1000
MAX_ERRORS = 20             # bad commands before the server hangs up
CMD_TIMEOUT = 300           # seconds of client silence tolerated
GARBAGE = (b"\x00\xffThis is not TLS. The danesmtp lab server was started "
           b"with --broken-tls.\r\n" * 4)

log = logging.getLogger("smtpd")


class Closed(Exception):
    """The client went away (EOF, reset or timeout)."""


class Stop(BaseException):
    """Raised by the signal handler to leave the accept loop."""


class Spool:
    """Writes accepted messages into one directory."""

    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.counter = itertools.count(1)

    def store(self, headers, body):
        with self.lock:
            n = next(self.counter)
        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        stamp += ".%06dZ" % int((now % 1) * 1000000)
        name = "%s-%d.eml" % (stamp, n)
        tmp = os.path.join(self.dir, ".tmp-%d-%s" % (os.getpid(), name))
        with open(tmp, "wb") as f:
            for key, value in headers:
                f.write(("%s: %s\n" % (key, value)).encode("utf-8",
                                                         "replace"))
            f.write(b"\n")
            f.write(body)
        os.rename(tmp, os.path.join(self.dir, name))
        return name


class Session:
    """One SMTP connection."""

    def __init__(self, server, sock, peer):
        self.srv = server
        self.sock = sock
        self.peer = peer
        self.buf = b""
        self.tls = False
        self.tls_version = "none"
        self.sni = None
        self.helo = None
        self.errors = 0
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    # -- I/O ---------------------------------------------------------------
    def send(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def reply(self, code, *lines):
        """Send a (possibly multi-line) reply: reply(250, "a", "b")."""
        out = []
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            out.append("%d%s%s" % (code, sep, line))
        self.send("\r\n".join(out))

    def readline(self):
        """Return one line without its line ending (CRLF or bare LF)."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                if line.endswith(b"\r"):
                    line = line[:-1]
                return line
            if len(self.buf) > MAX_LINE:
                raise Closed("line too long")
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                try:
                    self.reply(421, "4.4.2 %s timeout, closing" %
                               self.srv.hostname)
                except OSError:
                    pass
                raise Closed("timeout")
            except (OSError, ssl.SSLError) as e:
                raise Closed(str(e))
            if not data:
                raise Closed("eof")
            self.buf += data

    # -- main loop -----------------------------------------------------------
    def run(self):
        self.sock.settimeout(CMD_TIMEOUT)
        self.reply(220, "%s ESMTP danesmtp lab" % self.srv.hostname)
        while True:
            raw = self.readline()
            line = raw.decode("utf-8", "replace")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            arg = arg.strip()
            handler = getattr(self, "cmd_" + verb, None)
            if verb == "" or not verb.isalpha() or handler is None:
                log.info("%s: unknown command %r", self.peer, line[:80])
                self.error(500, "5.5.2 Error: command not recognized")
                continue
            if handler(arg) == "quit":
                return

    def error(self, code, text):
        self.reply(code, text)
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            self.reply(421, "4.7.0 %s Too many errors" % self.srv.hostname)
            raise Closed("too many errors")

    # -- commands ------------------------------------------------------------
    def cmd_EHLO(self, arg):
        if not arg:
            return self.error(501, "5.5.4 Syntax: EHLO hostname")
        self.helo = arg
        self.reset()
        ext = ["SIZE %d" % MAX_SIZE, "8BITMIME"]
        if not self.tls and not self.srv.no_starttls:
            ext.append("STARTTLS")
        ext.append("HELP")
        self.reply(250, "%s Hello %s [%s]" % (self.srv.hostname, arg,
                                              self.peer), *ext)

    def cmd_HELO(self, arg):
        if not arg:
            return self.error(501, "5.5.4 Syntax: HELO hostname")
        self.helo = arg
        self.reset()
        self.reply(250, self.srv.hostname)

    def cmd_STARTTLS(self, arg):
        if self.srv.no_starttls:
            return self.error(500, "5.5.2 Error: command not recognized")
        if arg:
            return self.error(501, "5.5.4 Syntax: STARTTLS")
        if self.tls:
            return self.error(503, "5.5.1 TLS already active")
        self.reply(220, "2.0.0 Ready to start TLS")
        # Anything the client pipelined after STARTTLS is plaintext that must
        # not be executed inside TLS (STARTTLS command injection).
        if self.buf:
            log.info("%s: discarding %d bytes sent before the handshake",
                     self.peer, len(self.buf))
        self.buf = b""
        if self.srv.broken_tls:
            self.sock.settimeout(2)
            try:
                self.sock.recv(65536)       # the ClientHello, ignored
                self.sock.sendall(GARBAGE)
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            log.info("%s: --broken-tls: sent garbage instead of a handshake",
                     self.peer)
            raise Closed("broken-tls")
        self.srv.tls_state.sni = None
        try:
            self.sock.settimeout(30)
            self.sock = self.srv.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log.info("%s: TLS handshake failed: %s", self.peer, e)
            raise Closed("handshake failed")
        self.sock.settimeout(CMD_TIMEOUT)
        stall = self.srv.fault("stall")
        if stall is not None:
            seconds = int(stall) if stall.strip().isdigit() else 30
            log.info("%s: fault: stalling %d s after STARTTLS", self.peer, seconds)
            time.sleep(seconds)
            raise Closed("stalled")
        self.tls = True
        self.tls_version = self.sock.version() or "unknown"
        self.sni = self.srv.tls_state.sni
        cipher = self.sock.cipher()
        log.info("%s: TLS established: %s %s, SNI %s", self.peer,
                 self.tls_version, cipher[0] if cipher else "?",
                 self.sni or "none")
        self.helo = None
        self.reset()

    def cmd_MAIL(self, arg):
        if self.helo is None:
            return self.error(503, "5.5.1 Error: send HELO/EHLO first")
        if self.mail_from is not None:
            return self.error(503, "5.5.1 Error: nested MAIL command")
        m = re.match(r"(?i)FROM:\s*<([^>]*)>\s*(.*)$", arg)
        if not m:
            return self.error(501, "5.5.4 Syntax: MAIL FROM:<address>")
        for param in m.group(2).split():
            key, _, value = param.partition("=")
            if key.upper() == "SIZE" and value.isdigit() and \
                    int(value) > MAX_SIZE:
                return self.error(552, "5.3.4 Message size exceeds limit")
        self.mail_from = "<%s>" % m.group(1)
        self.reply(250, "2.1.0 Ok")

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            return self.error(503, "5.5.1 Error: need MAIL command")
        m = re.match(r"(?i)TO:\s*<([^>]+)>", arg)
        if not m:
            return self.error(501, "5.5.4 Syntax: RCPT TO:<address>")
        if len(self.rcpts) >= MAX_RCPTS:
            return self.error(452, "4.5.3 Too many recipients")
        self.rcpts.append("<%s>" % m.group(1))
        self.reply(250, "2.1.5 Ok")

    def cmd_DATA(self, arg):
        if arg:
            return self.error(501, "5.5.4 Syntax: DATA")
        if self.mail_from is None:
            return self.error(503, "5.5.1 Error: need MAIL command")
        if not self.rcpts:
            return self.error(554, "5.5.1 Error: no valid recipients")
        if self.srv.fault("die", take=True) is not None:
            log.info("%s: fault: the server dies in the middle of the session", self.peer)
            logging.shutdown()
            os._exit(70)
        self.reply(354, "End data with <CR><LF>.<CR><LF>")
        body = []
        size = 0
        while True:
            line = self.readline()
            if line == b".":
                break
            if line.startswith(b"."):
                line = line[1:]
            size += len(line) + 2
            if size <= MAX_SIZE:
                body.append(line)
        if size > MAX_SIZE:
            self.reset()
            return self.reply(552, "5.3.4 Message size exceeds limit")
        headers = [
            ("X-Lab-TLS", "yes" if self.tls else "no"),
            ("X-Lab-TLS-Version", self.tls_version),
            ("X-Lab-SNI", self.sni or "none"),
            ("X-Lab-Peer", self.peer),
            ("X-Lab-Mail-From", self.mail_from),
            ("X-Lab-Rcpt-To", ", ".join(self.rcpts)),
        ]
        data = b"".join(line + b"\n" for line in body)
        name = self.srv.spool.store(headers, data)
        log.info("%s: accepted %s from %s to %s (%d bytes, tls=%s, sni=%s)",
                 self.peer, name, self.mail_from, ",".join(self.rcpts),
                 len(data), self.tls_version, self.sni or "none")
        self.reset()
        self.reply(250, "2.0.0 Ok: queued as %s" % name)

    def cmd_RSET(self, arg):
        self.reset()
        self.reply(250, "2.0.0 Ok")

    def cmd_NOOP(self, arg):
        self.reply(250, "2.0.0 Ok")

    def cmd_HELP(self, arg):
        self.reply(214, "2.0.0 Commands: EHLO HELO STARTTLS MAIL RCPT DATA "
                        "RSET NOOP VRFY QUIT")

    def cmd_VRFY(self, arg):
        self.reply(252, "2.5.2 Cannot VRFY user")

    def cmd_QUIT(self, arg):
        self.reply(221, "2.0.0 Bye")
        return "quit"


class Server:
    def __init__(self, opts):
        host, sep, port = opts.listen.rpartition(":")
        if not sep or not port.isdigit():
            raise SystemExit("smtpd: --listen wants IP:PORT")
        self.addr = (host.strip("[]"), int(port))
        self.hostname = opts.hostname or socket.getfqdn()
        self.no_starttls = opts.no_starttls
        self.broken_tls = opts.broken_tls
        self.spool = Spool(opts.spool)
        self.fault_dir = opts.fault_dir
        self.tls_state = threading.local()
        self.opts = opts
        self.ctx = None
        if not self.no_starttls:
            self.ctx = self.make_ctx()

    def make_ctx(self):
        opts = self.opts
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
        if opts.cert2:
            # a second key type: OpenSSL keeps one certificate per key
            # type and picks by the client's signature algorithms
            ctx.load_cert_chain(opts.cert2, opts.key2)
        ctx.sni_callback = self.on_sni
        return ctx

    def reload(self):
        """SIGHUP: read the certificate and key files again (a key
        rollover: sessions from now on present the new chain)."""
        if self.no_starttls:
            return
        try:
            self.ctx = self.make_ctx()
            log.info("reloaded %s", self.opts.cert)
        except (OSError, ssl.SSLError) as e:
            log.error("reload failed, keeping the old chain: %s", e)

    def fault(self, name, take=False):
        """The text of fault file NAME, or None when it is not switched on;
        take=True removes it (a one-shot fault)."""
        if not self.fault_dir:
            return None
        path = os.path.join(self.fault_dir, name)
        try:
            with open(path) as f:
                text = f.read()
            if take:
                os.unlink(path)
            return text
        except OSError:
            return None

    def on_sni(self, sslobj, server_name, ctx):
        # Runs inside the handshake, in the connection's own thread.
        self.tls_state.sni = server_name
        return None

    def handle(self, sock, peer):
        s = Session(self, sock, peer)
        log.info("%s: connected", peer)
        try:
            s.run()
        except Closed as e:
            log.info("%s: closed (%s)", peer, e)
        except (OSError, ssl.SSLError) as e:
            log.info("%s: connection error: %s", peer, e)
        except Exception:
            log.exception("%s: internal error", peer)
        finally:
            # A TLS session ends with close_notify, as a real MTA's does.
            if isinstance(s.sock, ssl.SSLSocket):
                try:
                    s.sock.settimeout(2)
                    s.sock.unwrap()
                except (OSError, ssl.SSLError, ValueError):
                    pass
            try:
                s.sock.close()
            except OSError:
                pass
        log.info("%s: disconnected", peer)

    def serve(self, pidfile):
        fam = socket.AF_INET6 if ":" in self.addr[0] else socket.AF_INET
        lsock = socket.socket(fam, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(self.addr)
        lsock.listen(128)
        if pidfile:
            tmp = pidfile + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(tmp, pidfile)
        log.info("listening on %s:%d as %s%s", self.addr[0], self.addr[1],
                 self.hostname,
                 " (no STARTTLS)" if self.no_starttls else
                 " (broken TLS)" if self.broken_tls else "")
        try:
            while True:
                conn, peer = lsock.accept()
                # Each reply leaves at once, as from a real MTA: without
                # this, a TLS 1.3 session's tickets and the next reply met
                # Nagle and the client's delayed ACK, a 40 ms stall per
                # session (three quarters of exim-bench's wall time).
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t = threading.Thread(target=self.handle,
                                     args=(conn, peer[0]), daemon=True)
                t.start()
        finally:
            lsock.close()
            if pidfile:
                try:
                    os.unlink(pidfile)
                except OSError:
                    pass


def main():
    p = argparse.ArgumentParser(description="danesmtp lab SMTP server")
    p.add_argument("--listen", required=True, metavar="IP:PORT")
    p.add_argument("--cert", metavar="CHAIN.pem",
                   help="certificate chain, leaf first")
    p.add_argument("--key", metavar="KEY.pem")
    p.add_argument("--cert2", metavar="CHAIN.pem",
                   help="a second certificate chain, of another key type")
    p.add_argument("--key2", metavar="KEY.pem")
    p.add_argument("--spool", required=True, metavar="DIR")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--broken-tls", action="store_true")
    p.add_argument("--hostname", metavar="NAME")
    p.add_argument("--fault-dir", metavar="DIR")
    p.add_argument("--pidfile", metavar="FILE")
    opts = p.parse_args()
    if not opts.no_starttls and not (opts.cert and opts.key):
        p.error("--cert and --key are needed unless --no-starttls")

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO,
        format="%(asctime)s smtpd[" + opts.listen + "] %(message)s")

    def on_signal(signum, frame):
        raise Stop(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    os.makedirs(opts.spool, exist_ok=True)
    try:
        server = Server(opts)
        signal.signal(signal.SIGHUP, lambda signum, frame: server.reload())
        server.serve(opts.pidfile)
    except Stop as e:
        log.info("stopping on signal %s", e.args[0])
        return 0
    except OSError as e:
        log.error("cannot serve on %s: %s", opts.listen, e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
