#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""labgen.py -- build the danesmtp test lab's data; helper of lab.sh.

  labgen.py generate --cases FILE --state DIR --pki DIR
                     --dns-port N --smtp-port N
      Reads the case table (tests/lab/cases, format documented there) and
      writes into DIR (which must exist and be empty of earlier output):
        certs/   lab leaf certificates (NAME.pem .key .der .spki.der
                 .chain.pem = leaf + int + root)
        keys/    DNSSEC keys, one subdirectory per zone (ldns-keygen)
        zones/   ZONE.zone (unsigned source) and ZONE.signed
        nsd/     nsd.conf and NSD's state files
        trust-anchor, stubs, unbound.conf, lab.env, servers
      "servers" lists the SMTP servers lab.sh starts, one per line:
        LABEL IP HOSTNAME CHAIN KEY FLAGS      (FLAGS: comma list or "-")

  labgen.py wait --state DIR [--timeout SECONDS]
      Waits until NSD answers authoritatively for every served zone and
      every SMTP server greets with 220, while checking that the processes
      listed in DIR/procs are alive.  Exit status 0 when all answer.

Uses only the Python standard library plus the openssl, ldns-keygen,
ldns-signzone and ldns-key2ds commands.
"""

import argparse
import base64
import hashlib
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

TLD = "test."
TTL = 60
DNS_ADDR = "127.0.0.1"
DEAD_ADDR = "127.0.0.254"
SERVFAIL_ADDR = "127.0.0.253"   # tests/lab/blackhole.py --servfail
NORMAL_START = "20200101000000Z"
NORMAL_END = "20400101000000Z"
EXPIRED_INCEPTION = "20200101000000"
EXPIRED_EXPIRATION = "20210101000000"
ZONE_MODES = ("signed", "unsigned", "bogus-ds", "expired", "dead", "split",
              "flaky", "dynamic", "no-ds")
DYNAMIC_TTL = 5   # dynamic zones: short, so a rollover test waits for real
SERVER_FLAGS = ("no-starttls", "broken-tls", "leaf-only", "reloadable")
ALGORITHM = "ECDSAP256SHA256"

prog = "labgen"
DNS_PORT_HOLDER = [5300]   # generate: the lab's DNS port, for BIND's


class LabError(Exception):
    pass


def die(msg):
    sys.stderr.write("%s: %s\n" % (prog, msg))
    sys.exit(1)


def run(cmd, cwd=None):
    """Run a command; return its stdout; on failure raise with its output."""
    p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise LabError("command failed (exit %d): %s\n%s%s" % (
            p.returncode, " ".join(cmd),
            p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# names

LABEL_RE = re.compile(r"^[A-Za-z0-9_*]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")
# A label written with RFC 1035 section 5.1 escapes (\DDD or \X), for the
# cases whose names hold bytes a host name cannot (a space, a '.').
ESCAPED_LABEL_RE = re.compile(r"^(?:[A-Za-z0-9_*-]|\\[0-9]{3}|\\[^0-9])+$")
LABELS_RE = re.compile(r"(?:\\[0-9]{3}|\\.|[^.\\])+")


def fqdn(name, where):
    """Lower-case absolute name with trailing dot; checks syntax."""
    if name == ".":
        return "."
    n = name.lower()
    if not n.endswith("."):
        n += "."
    if "\\" in n:
        labels = LABELS_RE.findall(n[:-1])
        if ".".join(labels) != n[:-1] or \
                not all(ESCAPED_LABEL_RE.match(lb) for lb in labels):
            raise LabError("%s: bad name %r" % (where, name))
        return n
    for label in n[:-1].split("."):
        if not LABEL_RE.match(label) or len(label) > 63:
            raise LabError("%s: bad name %r" % (where, name))
    return n


def ipv6_available():
    """Can a server listen on ::1 here?"""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sk:
            sk.bind(("::1", 0))
        return True
    except OSError:
        return False


def under(name, zone):
    """True if name is zone or below it."""
    return zone == "." or name == zone or name.endswith("." + zone)


def file_stem(zone):
    return zone.rstrip(".") or "root"


# ---------------------------------------------------------------------------
# the case table


class Zone:
    def __init__(self, name, mode):
        self.name = name
        self.mode = mode
        self.parent = None
        self.children = []
        self.records = []        # (owner, type, rdata)
        self.ds = []             # DS lines for the parent
        self.ksk = None          # key base names
        self.zsk = None
        self.corrupt = set()     # (owner, covered type) to corrupt
        self.first_only = set()  # (owner, type, rdata) the lagging copy lacks
        self.file_lagging = None  # split: the lagging server's signed file

    @property
    def served(self):
        """Served by the lab's main NSD."""
        return self.mode not in ("dead", "split", "dynamic")

    @property
    def signed(self):
        return self.mode != "unsigned"


class Case:
    def __init__(self, cid, domain, expect):
        self.id = cid
        self.domain = domain
        self.expect = expect
        self.servers = []


class Server:
    def __init__(self, label, host, ip, cert, flags, case):
        self.label = label
        self.host = host
        self.ip = ip
        self.cert = cert
        self.flags = flags
        self.case = case
        self.chain = None
        self.key = None


class Table:
    def __init__(self):
        self.zones = {}
        self.leaves = {}         # name -> [dnsnames]
        self.leaf_ca = {}        # leaf name -> lab CA name ("" = the PKI's int)
        self.cas = {}            # lab CA name -> CN
        self.cases = []
        self.servers = []
        self.records = []        # (owner, type, rdata, where)
        self.tlsa = []           # (owner, u, s, m, ref, bad, where)
        self.many = []           # domains of "many" directives
        self.ipv6 = True         # False: the ::1 server was left out


def parse_cases(path, smtp_port):
    t = Table()
    case = None
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for num, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, num)
        line = raw.split("#", 1)[0].replace("{port}", str(smtp_port))
        w = line.split()
        if not w:
            continue
        kw, args = w[0], w[1:]

        def need(lo, hi=None):
            if len(args) < lo or (hi is not None and len(args) > hi):
                raise LabError("%s: wrong number of fields for %s" %
                               (where, kw))

        if kw == "zone":
            need(2, 2)
            name = fqdn(args[0], where)
            if args[1] not in ZONE_MODES:
                raise LabError("%s: unknown zone mode %s" % (where, args[1]))
            if name in t.zones:
                raise LabError("%s: zone %s twice" % (where, name))
            if not under(name, TLD):
                raise LabError("%s: zone %s not under %s" % (where, name, TLD))
            t.zones[name] = Zone(name, args[1])
        elif kw == "leaf":
            need(2)
            if not re.match(r"^[A-Za-z0-9._-]+$", args[0]):
                raise LabError("%s: bad leaf name %s" % (where, args[0]))
            names = [n.rstrip(".") for n in args[1].split(",") if n]
            for n in names:
                fqdn(n, where)
            t.leaves[args[0]] = names
            t.leaf_ca[args[0]] = ""
            for opt in args[2:]:
                if not opt.startswith("ca=") or opt[3:] not in t.cas:
                    raise LabError("%s: %s is not ca=NAME of a ca line above" %
                                   (where, opt))
                t.leaf_ca[args[0]] = opt[3:]
        elif kw == "ca":
            need(2)
            if not re.match(r"^[A-Za-z0-9._-]+$", args[0]) or \
                    args[0] in t.cas or args[0] in t.leaves:
                raise LabError("%s: bad or repeated CA name %s" % (where, args[0]))
            cn = " ".join(args[1:])
            if not re.match(r"^[A-Za-z0-9 ._-]+$", cn):
                raise LabError("%s: bad CN %s" % (where, cn))
            t.cas[args[0]] = cn
        elif kw == "case":
            need(3, 3)
            if not re.match(r"^[a-z0-9]+$", args[0]):
                raise LabError("%s: bad case id %s" % (where, args[0]))
            if any(c.id == args[0] for c in t.cases):
                raise LabError("%s: case %s twice" % (where, args[0]))
            case = Case(args[0], fqdn(args[1], where), args[2])
            t.cases.append(case)
        elif kw == "server":
            need(4)
            label, host, ip, cert = args[:4]
            flags = args[4:]
            if not re.match(r"^[A-Za-z0-9_]+$", label):
                raise LabError("%s: bad server label %s" % (where, label))
            if any(s.label == label for s in t.servers):
                raise LabError("%s: server label %s twice" % (where, label))
            if ip == "::1":
                # IPv6 loopback: one server at most; left out (with its
                # AAAA record) where the machine has no IPv6 (LAB_IPV6=0)
                if not ipv6_available():
                    t.ipv6 = False
                    continue
            elif not re.match(r"^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$", ip) or \
                    any(int(x) > 255 for x in ip.split(".")):
                raise LabError("%s: %s is not a 127/8 address or ::1" %
                               (where, ip))
            if ip in (DNS_ADDR, DEAD_ADDR, SERVFAIL_ADDR) or \
                    any(s.ip == ip for s in t.servers):
                raise LabError("%s: address %s already used" % (where, ip))
            for fl in flags:
                if fl.startswith("second="):
                    continue  # a second certificate: checked in server_chain
                if fl not in SERVER_FLAGS:
                    raise LabError("%s: unknown server flag %s" % (where, fl))
            s = Server(label, fqdn(host, where), ip, cert, flags, case)
            t.servers.append(s)
            if case is not None:
                case.servers.append(s)
            t.records.append((s.host, "AAAA" if ":" in ip else "A", ip,
                              where))
        elif kw == "rr":
            need(3)
            owner = fqdn(args[0], where)
            rtype = args[1].upper()
            rdata = args[2:]
            if rtype in ("CNAME", "NS", "DNAME"):
                if len(rdata) != 1:
                    raise LabError("%s: bad %s data" % (where, rtype))
                rdata = [fqdn(rdata[0], where)]
            elif rtype == "MX":
                if len(rdata) != 2 or not rdata[0].isdigit():
                    raise LabError("%s: bad MX data" % where)
                rdata = [rdata[0], fqdn(rdata[1], where)]
            t.records.append((owner, rtype, " ".join(rdata), where))
        elif kw == "bulk":
            # bulk OWNER A|TLSA COUNT: hostile volume. A: COUNT addresses
            # 127.3.X.Y (loopback, nothing listens); TLSA: COUNT records
            # "3 1 1 SHA-256(i)" that match no key.
            need(3, 3)
            owner = fqdn(args[0], where)
            rtype = args[1].upper()
            if rtype not in ("A", "TLSA") or not args[2].isdigit() or \
                    not 0 < int(args[2]) <= 60000:
                raise LabError("%s: bulk OWNER A|TLSA COUNT(1-60000)" % where)
            for i in range(int(args[2])):
                if rtype == "A":
                    rdata = "127.3.%d.%d" % (i // 250, i % 250 + 1)
                else:
                    rdata = "3 1 1 " + hashlib.sha256(
                        b"bulk %d" % i).hexdigest()
                t.records.append((owner, rtype, rdata, where))
        elif kw == "many":
            # many COUNT PARENT CERT IP[,IP...]: COUNT good DANE domains
            # dN.PARENT (N = 1..COUNT), each with its own MX host mx.dN.PARENT
            # (A: the IPs in turn, servers of CERT) and a "3 1 1" of CERT;
            # listed in STATE/many-domains. For `danesmtp check --from` and
            # its benchmark against posttls-finger.
            need(4, 4)
            if not args[0].isdigit() or not 0 < int(args[0]) <= 10000:
                raise LabError("%s: many COUNT(1-10000) PARENT CERT IPS" % where)
            parent = fqdn(args[1], where)
            ips = args[3].split(",")
            for i in range(1, int(args[0]) + 1):
                dom = "d%d.%s" % (i, parent)
                mx = "mx." + dom
                t.records.append((dom, "MX", "10 " + mx, where))
                t.records.append((mx, "A", ips[i % len(ips)], where))
                t.tlsa.append(("_%d._tcp.%s" % (smtp_port, mx), 3, 1, 1,
                               args[2], False, where))
                t.many.append(dom.rstrip("."))
        elif kw == "tlsa":
            need(5, 6)
            owner = fqdn(args[0], where)
            try:
                u, s, m = (int(x) for x in args[1:4])
            except ValueError:
                raise LabError("%s: TLSA parameters must be numbers" % where)
            bad = False
            ref = args[4]
            if len(args) == 6:
                if args[5] == "bad-rrsig":
                    bad = True
                elif args[5] == "first-only":
                    # only on the first of a split zone's two servers
                    ref = "first-only:" + ref
                elif args[5] == "other-selector" and s in (0, 1):
                    # the data of the other selector's object: a
                    # publisher's mistake for `danesmtp check` to find
                    ref = "other-selector:" + ref
                else:
                    raise LabError("%s: unknown TLSA flag %s" %
                                   (where, args[5]))
            t.tlsa.append((owner, u, s, m, ref, bad, where))
        else:
            raise LabError("%s: unknown directive %s" % (where, kw))
    return t


def link_zones(t):
    if TLD not in t.zones or t.zones[TLD].mode != "signed":
        raise LabError("the case table must define zone %s signed" % TLD)
    for z in t.zones.values():
        best = None
        for p in t.zones.values():
            if p is not z and under(z.name, p.name) and \
                    (best is None or len(p.name) > len(best.name)):
                best = p
        z.parent = best
        if best is None and z.name != TLD:
            raise LabError("zone %s has no parent" % z.name)
        if best is not None:
            best.children.append(z)


def owning_zone(t, owner, where):
    best = None
    for z in t.zones.values():
        if under(owner, z.name) and (best is None or
                                     len(z.name) > len(best.name)):
            best = z
    if best is None:
        raise LabError("%s: %s is in no lab zone" % (where, owner))
    return best


# ---------------------------------------------------------------------------
# certificates

# The CA configuration is shared with tests/pki/make-pki.sh.
CA_CNF_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pki", "ca.cnf")

LEAF_EXT = """\
[ ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = %s
"""


CA_EXT = """\
[ ext ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
"""


def issue_leaves(t, pki, certdir):
    if not t.leaves and not t.cas:
        return
    work = os.path.join(certdir, "work")
    os.makedirs(os.path.join(work, "newcerts"), exist_ok=True)
    cnf = os.path.join(work, "openssl.cnf")
    with open(cnf, "w") as f:
        with open(CA_CNF_FILE) as src:
            f.write(src.read())
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "index.txt.attr"), "w") as f:
        f.write("unique_subject = no\n")
    # Random serials, so they never collide with the PKI's own int leaves.
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("%016X\n" % random.SystemRandom().getrandbits(63))
    env_cnf = ["env", "OPENSSL_CONF=" + cnf]

    def issue(name, cn, ext_text, ca_pem, ca_key):
        """An EC P-256 key and certificate NAME (CN, extensions) signed by
        CA, with its DER and SPKI DER beside it in certdir."""
        key = os.path.join(certdir, name + ".key")
        pem = os.path.join(certdir, name + ".pem")
        csr = os.path.join(work, name + ".csr")
        ext = os.path.join(work, name + ".ext")
        with open(ext, "w") as f:
            f.write(ext_text)
        run(env_cnf + ["openssl", "req", "-config", cnf, "-new", "-utf8",
                       "-newkey", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-pkeyopt", "ec_param_enc:named_curve", "-noenc",
                       "-keyout", key, "-subj", "/CN=" + cn, "-out", csr],
            cwd=work)
        run(env_cnf + ["openssl", "ca", "-config", cnf, "-batch", "-notext",
                       "-utf8", "-md", "sha256",
                       "-cert", ca_pem, "-keyfile", ca_key,
                       "-startdate", NORMAL_START, "-enddate", NORMAL_END,
                       "-extfile", ext, "-extensions", "ext",
                       "-in", csr, "-out", pem], cwd=work)
        run(env_cnf + ["openssl", "x509", "-in", pem, "-outform", "DER",
                       "-out", os.path.join(certdir, name + ".der")])
        run(env_cnf + ["openssl", "pkey", "-in", key, "-pubout", "-outform",
                       "DER", "-out", os.path.join(certdir,
                                                   name + ".spki.der")])
        return pem

    # Lab CAs (the "ca" lines): issued by the PKI's root, beside int.
    for name, cn in t.cas.items():
        issue(name, cn, CA_EXT, os.path.join(pki, "root.pem"),
              os.path.join(pki, "root.key"))
    for name, dnsnames in t.leaves.items():
        ca = t.leaf_ca.get(name, "")
        ca_pem = os.path.join(certdir, ca + ".pem") if ca else \
            os.path.join(pki, "int.pem")
        ca_key = os.path.join(certdir, ca + ".key") if ca else \
            os.path.join(pki, "int.key")
        pem = issue(name, dnsnames[0],
                    LEAF_EXT % ", ".join("DNS:" + n for n in dnsnames),
                    ca_pem, ca_key)
        with open(os.path.join(certdir, name + ".chain.pem"), "w") as out:
            for part in (pem, ca_pem, os.path.join(pki, "root.pem")):
                with open(part) as f:
                    out.write(f.read())


def cert_files(ref, pki, certdir, t, where):
    """(directory, name) of a pki:NAME or lab:NAME reference."""
    kind, _, name = ref.partition(":")
    if kind == "pki":
        d = pki
    elif kind == "lab":
        if name not in t.leaves and name not in t.cas:
            raise LabError("%s: no leaf or CA %s in the case table" % (where, name))
        d = certdir
    else:
        raise LabError("%s: bad certificate reference %s" % (where, ref))
    if not os.path.exists(os.path.join(d, name + ".der")):
        raise LabError("%s: %s.der not found in %s" % (where, name, d))
    return d, name


def server_chain(s, pki, certdir, t):
    d, name = cert_files(s.cert, pki, certdir, t, "server " + s.label)
    if d == certdir:
        return (os.path.join(d, name + ".chain.pem"),
                os.path.join(d, name + ".key"))
    for suffix in (".full.pem", ".chain.pem", ".pem"):
        p = os.path.join(d, name + suffix)
        if os.path.exists(p):
            return p, os.path.join(d, name + ".key")
    raise LabError("no certificate file for %s" % s.cert)


def tlsa_data(u, s, m, ref, pki, certdir, t, where):
    if not (0 <= u <= 255 and 0 <= s <= 255 and 0 <= m <= 255):
        raise LabError("%s: TLSA parameter out of range" % where)
    if ref.startswith("hex:"):
        h = ref[4:]
        if not re.match(r"^([0-9A-Fa-f]{2})+$", h):
            raise LabError("%s: bad hex %s" % (where, h))
        return h.upper()
    d, name = cert_files(ref, pki, certdir, t, where)
    if s == 0:
        fn = name + ".der"
    elif s == 1:
        fn = name + ".spki.der"
    else:
        raise LabError("%s: selector %d needs hex: data" % (where, s))
    with open(os.path.join(d, fn), "rb") as f:
        data = f.read()
    if m == 0:
        return data.hex().upper()
    if m == 1:
        return hashlib.sha256(data).hexdigest().upper()
    if m == 2:
        return hashlib.sha512(data).hexdigest().upper()
    raise LabError("%s: matching type %d needs hex: data" % (where, m))


# ---------------------------------------------------------------------------
# zones and DNSSEC

def keygen(zone, keydir, ksk):
    cmd = ["ldns-keygen", "-a", ALGORITHM, "-r", "/dev/urandom"]
    if ksk:
        cmd.append("-k")
    base = run(cmd + [zone], cwd=keydir).strip().splitlines()[-1].strip()
    # ldns-keygen also writes a .ds file; DS records are made explicitly.
    try:
        os.unlink(os.path.join(keydir, base + ".ds"))
    except OSError:
        pass
    return os.path.join(keydir, base)


def ds_of(keybase):
    """DS (SHA-256) RRs of a key, with the lab's TTL."""
    out = run(["ldns-key2ds", "-n", "-2", keybase + ".key"])
    ds = []
    for line in out.splitlines():
        w = line.split(";", 1)[0].split()
        if len(w) >= 5 and w[1].isdigit():
            w[1] = str(TTL)
        if w:
            ds.append(" ".join(w))
    return ds


def dnskey_of(keybase):
    with open(keybase + ".key") as f:
        return [l.strip() for l in f if l.strip() and
                not l.startswith(";")]


def corrupt_rrsigs(path, targets):
    """Flip bytes in the RRSIGs covering (owner, type) in targets."""
    out = []
    done = set()
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) > 12 and w[3] == "RRSIG" and \
                    (w[0].lower(), w[4].upper()) in targets:
                sig = bytearray(base64.b64decode("".join(w[12:])))
                for i in (0, len(sig) // 2, len(sig) - 1):
                    sig[i] ^= 0x5A
                w = w[:12] + [base64.b64encode(bytes(sig)).decode()]
                line = "\t".join(w[:4]) + "\t" + " ".join(w[4:]) + "\n"
                done.add((w[0].lower(), w[4].upper()))
            out.append(line)
    missing = targets - done
    if missing:
        raise LabError("no RRSIG found to corrupt for %s" %
                       ", ".join("%s %s" % m for m in sorted(missing)))
    with open(path, "w") as f:
        f.writelines(out)


def build_zones(t, state, pki, certdir, serial):
    zonedir = os.path.join(state, "zones")
    keyroot = os.path.join(state, "keys")
    for owner, rtype, rdata, where in t.records:
        owning_zone(t, owner, where).records.append((owner, rtype, rdata))
    for owner, u, s, m, ref, bad, where in t.tlsa:
        z = owning_zone(t, owner, where)
        first_only = ref.startswith("first-only:")
        if first_only:
            if z.mode != "split":
                raise LabError("%s: first-only outside a split zone" % where)
            ref = ref.split(":", 1)[1]
        if ref.startswith("other-selector:"):
            data = tlsa_data(u, 1 - s, m, ref.split(":", 1)[1], pki, certdir,
                             t, where)
        else:
            data = tlsa_data(u, s, m, ref, pki, certdir, t, where)
        z.records.append((owner, "TLSA", "%d %d %d %s" % (u, s, m, data)))
        if first_only:
            z.first_only.add((owner, "TLSA", "%d %d %d %s" % (u, s, m, data)))
        if bad:
            if not z.signed:
                raise LabError("%s: bad-rrsig in unsigned zone %s" %
                               (where, z.name))
            z.corrupt.add((owner, "TLSA"))

    now = int(time.time())
    inception = time.strftime("%Y%m%d%H%M%S", time.gmtime(now - 86400))
    expiration = time.strftime("%Y%m%d%H%M%S",
                               time.gmtime(now + 90 * 86400))

    dynamic = [z for z in t.zones.values() if z.mode == "dynamic"]
    if dynamic:
        write_bind_conf(dynamic, state)
    # Deepest zones first: a parent needs its children's DS records.
    for z in sorted(t.zones.values(), key=lambda z: -z.name.count(".")):
        if z.mode == "dynamic":
            build_dynamic(z, state, serial)
            continue
        if z.signed:
            kd = os.path.join(keyroot, file_stem(z.name))
            os.makedirs(kd, exist_ok=True)
            z.ksk = keygen(z.name, kd, True)
            z.zsk = keygen(z.name, kd, False)
            if z.mode == "no-ds":
                z.ds = []   # signed, but the parent publishes no DS
            elif z.mode == "bogus-ds":
                # A KSK that never signs anything: the parent's DS names it.
                z.ds = ds_of(keygen(z.name, kd, True))
            else:
                z.ds = ds_of(z.ksk)
        ns = "ns." + z.name
        lines = ["$TTL %d" % TTL,
                 "%s %d IN SOA %s hostmaster.%s %d 3600 600 86400 %d" %
                 (z.name, TTL, ns, z.name, serial, TTL),
                 "%s %d IN NS %s" % (z.name, TTL, ns),
                 "%s %d IN A %s" % (ns, TTL,
                                    DEAD_ADDR if z.mode == "dead" else DNS_ADDR)]
        for c in sorted(z.children, key=lambda c: c.name):
            cns = "ns." + c.name
            lines.append("%s %d IN NS %s" % (c.name, TTL, cns))
            lines.append("%s %d IN A %s" %
                         (cns, TTL, DEAD_ADDR if c.mode == "dead" else DNS_ADDR))
            lines.extend(c.ds)
        for owner, rtype, rdata in z.records:
            lines.append("%s %d IN %s %s" % (owner, TTL, rtype, rdata))
        src = os.path.join(zonedir, file_stem(z.name) + ".zone")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        if not z.signed:
            z.file = src
            continue
        signed = os.path.join(zonedir, file_stem(z.name) + ".signed")
        if z.mode == "expired":
            dates = ["-i", EXPIRED_INCEPTION, "-e", EXPIRED_EXPIRATION]
        else:
            dates = ["-i", inception, "-e", expiration]
        run(["ldns-signzone"] + dates + ["-f", signed, "-o", z.name, src,
                                         z.ksk, z.zsk])
        if z.corrupt:
            corrupt_rrsigs(signed, z.corrupt)
        z.file = signed
        if z.mode == "split":
            # The lagging server's copy: an older serial, without the
            # records marked first-only (a secondary that missed an update).
            lag = [l for l in lines if not any(
                l == "%s %d IN %s %s" % (o, TTL, ty, rd)
                for o, ty, rd in z.first_only)]
            lag[1] = lag[1].replace(" %d 3600 " % serial,
                                    " %d 3600 " % (serial - 1))
            src = os.path.join(zonedir, file_stem(z.name) + ".lagging.zone")
            with open(src, "w") as f:
                f.write("\n".join(lag) + "\n")
            z.file_lagging = os.path.join(
                zonedir, file_stem(z.name) + ".lagging.signed")
            run(["ldns-signzone"] + dates + ["-f", z.file_lagging, "-o",
                                             z.name, src, z.ksk, z.zsk])


# ---- dynamic zones: BIND 9 (inline signing, RFC 2136 updates with TSIG)
# and an NSD secondary that transfers the signed zone only when told to
# (lab.sh sync-secondary: a NOTIFY), so a test can make it lag.

BIND_CONF = """\
# Generated by tests/lab/labgen.py -- the danesmtp lab's BIND 9 (dynamic zones).
options {{
    directory "{bind}";
    pid-file "{bind}/named.pid";
    session-keyfile "{bind}/session.key";
    listen-on port {port} {{ {addr}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ {addr}; }};
}};
controls {{ }};
logging {{
    channel lab {{ file "{log}"; severity info; print-time yes; }};
    category default {{ lab; }};
}};
include "{bind}/roll-key.conf";
include "{bind}/other-key.conf";
dnssec-policy "lab" {{
    keys {{ csk key-directory lifetime unlimited algorithm ecdsap256sha256; }};
    dnskey-ttl {ttl};
    max-zone-ttl {ttl};
    zone-propagation-delay 1;
    parent-propagation-delay 1;
}};
"""

BIND_ZONE = """\
zone "{name}" {{
    type primary;
    file "{file}";
    key-directory "{keys}";
    dnssec-policy "lab";
    inline-signing yes;
    // roll-key may change TLSA RRsets, nothing else; other-key nothing.
    update-policy {{ grant roll-key zonesub TLSA; }};
}};
"""


def bind_port(dns_port):
    """BIND's port (DNS port + 4) and its NSD secondary's (+ 5)."""
    return dns_port + 4


def write_bind_conf(zones, state):
    d = os.path.join(state, "bind")
    os.makedirs(d, exist_ok=True)
    for key in ("roll-key", "other-key"):
        with open(os.path.join(d, key + ".conf"), "w") as f:
            f.write(run(["tsig-keygen", "-a", "hmac-sha256", key]))
    text = BIND_CONF.format(bind=d, port=bind_port(DNS_PORT_HOLDER[0]),
                            addr=DNS_ADDR, ttl=DYNAMIC_TTL,
                            log=os.path.join(state, "log", "named.log"))
    for z in sorted(zones, key=lambda z: z.name):
        kd = os.path.join(state, "keys", file_stem(z.name))
        os.makedirs(kd, exist_ok=True)
        text += BIND_ZONE.format(name=z.name.rstrip("."), keys=kd,
                                 file=os.path.join(d, file_stem(z.name) +
                                                   ".zone"))
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(text)


def build_dynamic(z, state, serial):
    """The unsigned zone file BIND signs, its key (made by dnssec-keygen
    from the "lab" policy, so named adopts it) and the DS for the parent."""
    d = os.path.join(state, "bind")
    kd = os.path.join(state, "keys", file_stem(z.name))
    ns = "ns." + z.name
    lines = ["$TTL %d" % DYNAMIC_TTL,
             "%s %d IN SOA %s hostmaster.%s %d 3600 600 86400 %d" %
             (z.name, DYNAMIC_TTL, ns, z.name, serial, DYNAMIC_TTL),
             "%s %d IN NS %s" % (z.name, DYNAMIC_TTL, ns),
             "%s %d IN A %s" % (ns, DYNAMIC_TTL, DNS_ADDR)]
    for owner, rtype, rdata in z.records:
        lines.append("%s %d IN %s %s" % (owner, DYNAMIC_TTL, rtype, rdata))
    z.file = os.path.join(d, file_stem(z.name) + ".zone")
    with open(z.file, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = run(["dnssec-keygen", "-q", "-k", "lab", "-l",
               os.path.join(d, "named.conf"), "-K", kd, z.name.rstrip(".")])
    base = os.path.join(kd, out.strip().splitlines()[-1].strip())
    z.ds = []
    for line in run(["dnssec-dsfromkey", "-2", base + ".key"]).splitlines():
        w = line.split()
        if len(w) >= 7 and w[2] == "DS":
            z.ds.append("%s %d IN DS %s" % (w[0], TTL, " ".join(w[3:])))
    if not z.ds:
        raise LabError("dnssec-dsfromkey gave no DS for %s" % z.name)


def write_secondary_conf(t, state, dns_port, extra):
    """An NSD secondary of every dynamic zone, transferring from BIND."""
    dynamic = [z for z in t.zones.values() if z.mode == "dynamic"]
    if not dynamic:
        return
    d = os.path.join(state, "nsd-secondary")
    os.makedirs(d, exist_ok=True)
    port = bind_port(dns_port) + 1
    text = NSD_CONF.format(addr=DNS_ADDR, port=port, nsd=d, zones=d,
                           log=os.path.join(state, "log",
                                            "nsd-secondary.log"))
    for z in sorted(dynamic, key=lambda z: z.name):
        text += ('\nzone:\n    name: "%s"\n    zonefile: "%s"\n'
                 '    request-xfr: AXFR %s@%d NOKEY\n'
                 '    allow-notify: %s NOKEY\n') % (
                     z.name, os.path.join(d, file_stem(z.name) + ".zone"),
                     DNS_ADDR, bind_port(dns_port), DNS_ADDR)
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(text)
    extra.write("nsd-secondary %s %s:%d\n" % (
        os.path.join(d, "nsd.conf"), DNS_ADDR, port))


NSD_CONF = """\
# Generated by tests/lab/labgen.py -- the danesmtp lab's NSD.
server:
    ip-address: {addr}@{port}
    do-ip4: yes
    do-ip6: no
    port: {port}
    username: ""
    chroot: ""
    database: ""
    zonesdir: "{zones}"
    zonelistfile: "{nsd}/zone.list"
    xfrdfile: "{nsd}/xfrd.state"
    xfrdir: "{nsd}"
    pidfile: "{nsd}/nsd.pid"
    logfile: "{log}"
    verbosity: 1
    server-count: 1
    hide-version: yes
    hide-identity: yes
    refuse-any: no
    round-robin: no
    reuseport: no
    zonefiles-check: yes
    zonefiles-write: 0
    # Response rate limiting off: the lab's only client is loopback, and
    # `danesmtp check --from` asks hundreds of names a second (RRL answers
    # part of them with nothing, which a resolver reports as SERVFAIL).
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0

remote-control:
    control-enable: no
"""


def write_nsd_conf(t, state, dns_port):
    nsd = os.path.join(state, "nsd")
    os.makedirs(nsd, exist_ok=True)
    text = NSD_CONF.format(addr=DNS_ADDR, port=dns_port, nsd=nsd,
                           zones=os.path.join(state, "zones"),
                           log=os.path.join(state, "log", "nsd.log"))
    for z in sorted(t.zones.values(), key=lambda z: z.name):
        if z.served:
            text += '\nzone:\n    name: "%s"\n    zonefile: "%s"\n' % (
                z.name, z.file)
    with open(os.path.join(nsd, "nsd.conf"), "w") as f:
        f.write(text)
    # The two servers of the split zones, each an NSD of its own
    # (STATE/extra-nsd: "KIND CONF ADDR:PORT" per line, for lab.sh).
    split = [z for z in t.zones.values() if z.mode == "split"]
    with open(os.path.join(state, "extra-nsd"), "w") as extra:
        for i, which in enumerate(("primary", "lagging")):
            if not split:
                break
            d = os.path.join(state, "nsd-split-" + which)
            os.makedirs(d, exist_ok=True)
            port = split_port(dns_port, i)
            text = NSD_CONF.format(addr=DNS_ADDR, port=port, nsd=d,
                                   zones=os.path.join(state, "zones"),
                                   log=os.path.join(state, "log",
                                                    "nsd-split-%s.log" % which))
            for z in sorted(split, key=lambda z: z.name):
                text += '\nzone:\n    name: "%s"\n    zonefile: "%s"\n' % (
                    z.name, z.file if which == "primary" else z.file_lagging)
            with open(os.path.join(d, "nsd.conf"), "w") as f:
                f.write(text)
            extra.write("nsd-split-%s %s %s:%d\n" % (
                which, os.path.join(d, "nsd.conf"), DNS_ADDR, port))
        write_secondary_conf(t, state, dns_port, extra)


def split_port(dns_port, i):
    """Ports of the split zones' two servers: DNS port + 2 and + 3 (+1 is
    lab.sh's stripped NSD)."""
    return dns_port + 2 + i


SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./:@,+=-]*$")


def env_line(key, value):
    value = str(value)
    if not SAFE_VALUE.match(value):
        value = "'" + value.replace("'", "'\\''") + "'"
    return "%s=%s\n" % (key, value)


def generate(a):
    state = os.path.abspath(a.state)
    pki = os.path.abspath(a.pki)
    t = parse_cases(a.cases, a.smtp_port)
    link_zones(t)
    certdir = os.path.join(state, "certs")
    for d in ("certs", "keys", "zones", "nsd", "log", "spool", "run"):
        os.makedirs(os.path.join(state, d), exist_ok=True)

    issue_leaves(t, pki, certdir)
    for s in t.servers:
        s.chain, s.key = server_chain(s, pki, certdir, t)
        if "leaf-only" in s.flags:
            # serve the leaf alone: a server that does not send its
            # intermediate CA
            with open(s.chain) as f:
                pem = f.read()
            end = "-----END CERTIFICATE-----"
            leaf = os.path.join(certdir, s.label + ".leaf.pem")
            with open(leaf, "w") as f:
                f.write(pem[:pem.index(end) + len(end)] + "\n")
            s.chain = leaf
        if "reloadable" in s.flags:
            # the server's own copies, which a test replaces before a
            # SIGHUP (lab.sh reload): STATE/certs/LABEL.served.{pem,key}
            for src, ext in ((s.chain, ".served.pem"), (s.key, ".served.key")):
                dst = os.path.join(certdir, s.label + ext)
                shutil.copyfile(src, dst)
            s.chain = os.path.join(certdir, s.label + ".served.pem")
            s.key = os.path.join(certdir, s.label + ".served.key")
        for i, fl in enumerate(s.flags):
            if fl.startswith("second="):
                # a second certificate and key (another key type), written
                # to STATE/servers as second=CHAIN|KEY for lab.sh
                other = Server(s.label, s.host, s.ip, fl.split("=", 1)[1],
                               [], s.case)
                c2, k2 = server_chain(other, pki, certdir, t)
                s.flags[i] = "second=%s|%s" % (c2, k2)
    DNS_PORT_HOLDER[0] = a.dns_port
    build_zones(t, state, pki, certdir, int(time.time()))
    write_nsd_conf(t, state, a.dns_port)

    top = t.zones[TLD]
    with open(os.path.join(state, "trust-anchor"), "w") as f:
        for line in ds_of(top.ksk) + dnskey_of(top.ksk):
            # Drop ldns' ";{id = ...}" comment: one bare RR per line.
            f.write(" ".join(line.split(";", 1)[0].split()) + "\n")

    with open(os.path.join(state, "stubs"), "w") as f:
        f.write("%s %s@%d\n" % (TLD, DNS_ADDR, a.dns_port))
        for z in sorted(t.zones.values(), key=lambda z: z.name):
            if z.mode == "dead":
                f.write("%s %s@%d\n" % (z.name, DEAD_ADDR, a.dns_port))
            elif z.mode == "split":
                for i in (0, 1):
                    f.write("%s %s@%d\n" % (z.name, DNS_ADDR,
                                             split_port(a.dns_port, i)))
            elif z.mode == "flaky":
                for addr in (DNS_ADDR, SERVFAIL_ADDR):
                    f.write("%s %s@%d\n" % (z.name, addr, a.dns_port))
            elif z.mode == "dynamic":
                for port in (bind_port(a.dns_port), bind_port(a.dns_port) + 1):
                    f.write("%s %s@%d\n" % (z.name, DNS_ADDR, port))

    # The same setup as one libunbound/unbound-host configuration file.
    # Note: libunbound has "test." among its default local zones (RFC 6761,
    # always NXDOMAIN); it must be switched off.
    with open(os.path.join(state, "unbound.conf"), "w") as f:
        f.write("# Generated by tests/lab/lab.sh up: the lab as a libunbound "
                "configuration\n# (ub_ctx_config, unbound-host -C).\n"
                "server:\n"
                "    do-not-query-localhost: no\n"
                "    local-zone: \"%s\" nodefault\n"
                "    trust-anchor-file: \"%s\"\n" %
                (TLD, os.path.join(state, "trust-anchor")))
        f.write("stub-zone:\n    name: \"%s\"\n    stub-addr: %s@%d\n" %
                (TLD, DNS_ADDR, a.dns_port))
        for z in sorted(t.zones.values(), key=lambda z: z.name):
            if z.mode == "dead":
                f.write("stub-zone:\n    name: \"%s\"\n"
                        "    stub-addr: %s@%d\n" %
                        (z.name, DEAD_ADDR, a.dns_port))
            elif z.mode == "split":
                f.write("stub-zone:\n    name: \"%s\"\n"
                        "    stub-addr: %s@%d\n    stub-addr: %s@%d\n" %
                        (z.name, DNS_ADDR, split_port(a.dns_port, 0),
                         DNS_ADDR, split_port(a.dns_port, 1)))
            elif z.mode == "flaky":
                f.write("stub-zone:\n    name: \"%s\"\n"
                        "    stub-addr: %s@%d\n    stub-addr: %s@%d\n" %
                        (z.name, DNS_ADDR, a.dns_port, SERVFAIL_ADDR,
                         a.dns_port))
            elif z.mode == "dynamic":
                f.write("stub-zone:\n    name: \"%s\"\n"
                        "    stub-addr: %s@%d\n    stub-addr: %s@%d\n" %
                        (z.name, DNS_ADDR, bind_port(a.dns_port), DNS_ADDR,
                         bind_port(a.dns_port) + 1))

    with open(os.path.join(state, "many-domains"), "w") as f:
        for d in t.many:
            f.write(d + "\n")

    with open(os.path.join(state, "servers"), "w") as f:
        for s in t.servers:
            os.makedirs(os.path.join(state, "spool", s.ip), exist_ok=True)
            f.write("%s %s %s %s %s %s\n" % (
                s.label, s.ip, s.host.rstrip("."), s.chain, s.key,
                ",".join(s.flags) or "-"))

    with open(os.path.join(state, "lab.env"), "w") as f:
        f.write("# Generated by tests/lab/lab.sh up -- the danesmtp lab.\n")
        for k, v in (
                ("LAB_DNS_PORT", a.dns_port),
                ("LAB_SMTP_PORT", a.smtp_port),
                ("LAB_STATE", state),
                ("LAB_PKI", pki),
                ("LAB_DIR", os.path.dirname(os.path.abspath(__file__))),
                ("LAB_DNS_ADDR", DNS_ADDR),
                ("LAB_DEAD_ADDR", DEAD_ADDR),
                ("LAB_IPV6", 1 if t.ipv6 else 0),
                ("LAB_TLD", TLD),
                ("LAB_TRUST_ANCHOR", os.path.join(state, "trust-anchor")),
                ("LAB_STUBS", os.path.join(state, "stubs")),
                ("LAB_UNBOUND_CONF", os.path.join(state, "unbound.conf")),
                ("LAB_CERTS", certdir),
                ("LAB_SPOOL", os.path.join(state, "spool")),
                ("LAB_ZONES", ",".join(sorted(t.zones))),
                ("LAB_CASES", ",".join(c.id for c in t.cases)),
                ("LAB_SERVERS", ",".join(s.label for s in t.servers))):
            f.write(env_line(k, v))
        for c in t.cases:
            f.write("# case %s\n" % c.id)
            f.write(env_line("LAB_DOMAIN_" + c.id, c.domain.rstrip(".")))
            f.write(env_line("LAB_EXPECT_" + c.id, c.expect))
            f.write(env_line("LAB_HOSTS_" + c.id,
                             ",".join(s.label for s in c.servers)))
            for s in c.servers:
                f.write(env_line("LAB_HOST_" + s.label, s.ip))
                f.write(env_line("LAB_NAME_" + s.label, s.host.rstrip(".")))
                f.write(env_line("LAB_CHAIN_" + s.label, s.chain))
                f.write(env_line("LAB_SPOOL_" + s.label,
                                 os.path.join(state, "spool", s.ip)))
                f.write(env_line("LAB_FLAGS_" + s.label,
                                 ",".join(s.flags) or "none"))
        for s in t.servers:
            if s.case is None:
                f.write(env_line("LAB_HOST_" + s.label, s.ip))
                f.write(env_line("LAB_NAME_" + s.label, s.host.rstrip(".")))
        for name in t.leaves:
            key = "LAB_LEAF_" + re.sub(r"[^A-Za-z0-9]", "_", name)
            f.write(env_line(key, os.path.join(certdir, name + ".chain.pem")))


# ---------------------------------------------------------------------------
# readiness

def soa_query(addr, port, zone, dnssec=False):
    """The reply to an SOA query (EDNS with the DO bit when dnssec), or
    None."""
    qid = random.getrandbits(16)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if dnssec else 0)
    for label in zone.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 6, 1)
    if dnssec:
        q += b"\x00" + struct.pack(">HHIH", 41, 4096, 0x8000, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(0.3)
        s.sendto(q, (DNS_ADDR, port))
        r, _ = s.recvfrom(65535)
    except OSError:
        return None
    finally:
        s.close()
    if len(r) < 12 or struct.unpack(">H", r[:2])[0] != qid:
        return None
    return r


def soa_facts(r):
    """(serial, RRSIG count) of an SOA reply with one question."""
    _, flags, qd, an = struct.unpack(">HHHH", r[:8])
    if not flags & 0x0400 or flags & 0xF or an == 0:
        return None, 0
    i = 12
    while r[i]:
        i += 1 + r[i]
    i += 5
    serial, sigs = None, 0
    for _ in range(an):
        if r[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while r[i]:
                i += 1 + r[i]
            i += 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[i:i + 10])
        rd = r[i + 10:i + 10 + rdlen]
        if rtype == 46:
            sigs += 1
        elif rtype == 6:
            j = 0
            for _ in range(2):   # MNAME, RNAME (compressed or not)
                while j < len(rd) and rd[j] and rd[j] & 0xC0 != 0xC0:
                    j += 1 + rd[j]
                j += 2 if j < len(rd) and rd[j] & 0xC0 == 0xC0 else 1
            serial = struct.unpack(">I", rd[j:j + 4])[0]
        i += 10 + rdlen
    return serial, sigs


def probe(a):
    """Wait until the server on DNS_ADDR:port serves zone (signed, or with
    the serial the server on --serial-of serves)."""
    deadline = time.monotonic() + a.timeout
    while True:
        r = soa_query(DNS_ADDR, a.port, a.zone, dnssec=a.signed)
        serial, sigs = soa_facts(r) if r else (None, 0)
        ok = serial is not None and (sigs > 0 or not a.signed)
        if ok and a.serial_of:
            r2 = soa_query(DNS_ADDR, a.serial_of, a.zone)
            ok = r2 is not None and soa_facts(r2)[0] == serial
        if ok:
            return
        if time.monotonic() > deadline:
            die("%s@%d: zone %s not served%s after %gs" % (
                DNS_ADDR, a.port, a.zone, " signed" if a.signed else
                " with the serial of port %d" % a.serial_of
                if a.serial_of else "", a.timeout))
        time.sleep(0.05)


def dns_probe(addr, port, zone):
    """True if the server answers SOA for zone authoritatively."""
    qid = random.getrandbits(16)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in zone.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(0.3)
        s.sendto(q, (addr, port))
        r, _ = s.recvfrom(4096)
    except OSError:
        return False
    finally:
        s.close()
    if len(r) < 12:
        return False
    rid, flags, _, ancount = struct.unpack(">HHHH", r[:8])
    return rid == qid and flags & 0x8000 and flags & 0x0400 and \
        flags & 0xF == 0 and ancount > 0


def smtp_probe(ip, port):
    try:
        with socket.create_connection((ip, port), timeout=1) as s:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            ok = data.startswith(b"220")
            s.sendall(b"QUIT\r\n")
            return ok
    except OSError:
        return False


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2:].split()[0] not in ("Z", "X")


def wait(a):
    state = os.path.abspath(a.state)
    env = {}
    with open(os.path.join(state, "lab.env")) as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep and not k.startswith("#"):
                env[k] = v.strip("'")
    dns_port = int(env["LAB_DNS_PORT"])
    smtp_port = int(env["LAB_SMTP_PORT"])
    procs = []
    with open(os.path.join(state, "procs")) as f:
        for line in f:
            w = line.split()
            if w:
                procs.append((int(w[0]), w[1], w[2], w[3]))
    zones = []
    with open(os.path.join(state, "nsd", "nsd.conf")) as f:
        for line in f:
            m = re.match(r'\s*name:\s*"([^"]+)"', line)
            if m:
                zones.append(m.group(1))
    todo = [("dns", (dns_port, z)) for z in zones]
    # The split zones' servers (STATE/extra-nsd), each for its zones.
    extra = os.path.join(state, "extra-nsd")
    if os.path.exists(extra):
        with open(extra) as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                port = int(w[2].rsplit(":", 1)[1])
                with open(w[1]) as c:
                    for cl in c:
                        m = re.match(r'\s*name:\s*"([^"]+)"', cl)
                        if m:
                            todo.append(("dns", (port, m.group(1))))
    with open(os.path.join(state, "servers")) as f:
        todo += [("smtp", line.split()[1]) for line in f if line.strip()]

    deadline = time.monotonic() + a.timeout
    while True:
        for pid, kind, what, logf in procs:
            if not alive(pid):
                msg = "%s %s (pid %d) is not running" % (kind, what, pid)
                try:
                    with open(logf, errors="replace") as f:
                        msg += "; its log %s ends:\n%s" % (
                            logf, "".join(f.readlines()[-10:]))
                except OSError:
                    pass
                die(msg)
        todo = [(k, x) for k, x in todo if not (
            dns_probe(DNS_ADDR, x[0], x[1]) if k == "dns"
            else smtp_probe(x, smtp_port))]
        if not todo:
            return
        if time.monotonic() > deadline:
            die("not answering after %gs: %s" % (
                a.timeout, ", ".join("%s %s" % (k, x if k == "smtp" else
                                                "%s@%d" % (x[1], x[0]))
                                     for k, x in todo)))
        time.sleep(0.05)


def retlsa(a):
    """Replace the TLSA RRset at OWNER with RECORD, re-sign its zone with the
    zone's own keys (re-corrupting the RRSIGs the case table marks bad) and
    leave the new signed file for NSD to pick up on SIGHUP. For tests of a
    TLSA record fixed while mail waits in a queue."""
    state = os.path.abspath(a.state)
    t = parse_cases(a.cases, a.smtp_port)
    link_zones(t)
    owner = fqdn(a.owner.replace("{port}", str(a.smtp_port)), "--owner")
    z = owning_zone(t, owner, "--owner")
    if not z.signed:
        raise LabError("%s is not in a signed zone" % owner)
    w = a.record.split()
    if len(w) != 4:
        raise LabError("--record wants 'U S M DATA'")
    u, sel, m = int(w[0]), int(w[1]), int(w[2])
    data = tlsa_data(u, sel, m, w[3], os.path.abspath(a.pki),
                     os.path.join(state, "certs"), t, "--record")
    zonedir = os.path.join(state, "zones")
    src = os.path.join(zonedir, file_stem(z.name) + ".zone")
    out = []
    with open(src) as f:
        for line in f:
            f2 = line.split()
            if len(f2) >= 4 and f2[0].lower() == owner and f2[3] == "TLSA":
                continue
            if len(f2) >= 7 and f2[3] == "SOA":
                f2[6] = str(int(f2[6]) + 1)
                line = " ".join(f2) + "\n"
            out.append(line)
    out.append("%s %d IN TLSA %d %d %d %s\n" % (owner, TTL, u, sel, m, data))
    with open(src, "w") as f:
        f.writelines(out)
    kd = os.path.join(state, "keys", file_stem(z.name))
    keys = sorted(os.path.join(kd, k[:-4]) for k in os.listdir(kd)
                  if k.endswith(".key"))
    now = int(time.time())
    dates = ["-i", time.strftime("%Y%m%d%H%M%S", time.gmtime(now - 86400)),
             "-e", time.strftime("%Y%m%d%H%M%S", time.gmtime(now + 90 * 86400))]
    signed = os.path.join(zonedir, file_stem(z.name) + ".signed")
    run(["ldns-signzone"] + dates + ["-f", signed, "-o", z.name, src] + keys)
    bad = set()
    for o, _u, _s, _m, _ref, is_bad, where in t.tlsa:
        if is_bad and owning_zone(t, o, where) is z and o != owner:
            bad.add((o, "TLSA"))
    if bad:
        corrupt_rrsigs(signed, bad)


def main():
    p = argparse.ArgumentParser(prog="labgen.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--cases", required=True)
    g.add_argument("--state", required=True)
    g.add_argument("--pki", required=True)
    g.add_argument("--dns-port", type=int, required=True)
    g.add_argument("--smtp-port", type=int, required=True)
    w = sub.add_parser("wait")
    w.add_argument("--state", required=True)
    w.add_argument("--timeout", type=float, default=10.0)
    r = sub.add_parser("retlsa")
    r.add_argument("--cases", required=True)
    r.add_argument("--state", required=True)
    r.add_argument("--pki", required=True)
    r.add_argument("--smtp-port", type=int, required=True)
    r.add_argument("--owner", required=True)
    r.add_argument("--record", required=True)
    pr = sub.add_parser("probe")
    pr.add_argument("--port", type=int, required=True)
    pr.add_argument("--zone", required=True)
    pr.add_argument("--signed", action="store_true")
    pr.add_argument("--serial-of", type=int, default=0)
    pr.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    try:
        if a.cmd == "probe":
            probe(a)
        elif a.cmd == "generate":
            generate(a)
        elif a.cmd == "retlsa":
            retlsa(a)
        else:
            wait(a)
    except LabError as e:
        die(str(e))
    except OSError as e:
        die(str(e))


if __name__ == "__main__":
    main()
