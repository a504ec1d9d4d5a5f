#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_schema.py -- is standard input one `danesmtp check --json` object of
schema danesmtp-check/1, as danesmtp(1) (JSON OUTPUT) documents it?  Exit 0
when it is; otherwise the first difference on stderr and exit 1.  Every
documented field must be present with its type; no other field may appear
(a new field is a documented addition)."""
import json
import sys

S, N, B, NULL = str, int, bool, type(None)
SECURITY = {"secure", "insecure", "bogus", "failed"}


def fail(path, what):
    sys.stderr.write("check_schema: %s: %s\n" % (path or "$", what))
    sys.exit(1)


def obj(v, path, fields, optional=None):
    optional = optional or {}
    if not isinstance(v, dict):
        fail(path, "not an object")
    for k in v:
        if k not in fields and k not in optional:
            fail(path, "undocumented field %r" % k)
    for k, t in fields.items():
        if k not in v:
            fail(path, "missing field %r" % k)
        check(v[k], path + "." + k, t)
    for k, t in optional.items():
        if k in v:
            check(v[k], path + "." + k, t)


def check(v, path, t):
    if callable(t) and not isinstance(t, type):
        t(v, path)
    elif isinstance(t, set):
        if v not in t:
            fail(path, "%r is not one of %s" % (v, sorted(t, key=str)))
    elif isinstance(t, list):
        if not isinstance(v, list):
            fail(path, "not a list")
        for i, x in enumerate(v):
            check(x, "%s[%d]" % (path, i), t[0])
    elif isinstance(t, tuple):
        if not isinstance(v, t) or (bool not in t and isinstance(v, bool)):
            fail(path, "%r is not of type %s" % (v, t))
    else:
        if not isinstance(v, t) or (t is int and isinstance(v, bool)):
            fail(path, "%r is not of type %s" % (v, t.__name__))


def hexstr(v, path):
    if not isinstance(v, str) or any(c not in "0123456789abcdef" for c in v):
        fail(path, "not lower-case hex")


def zone(v, path):
    obj(v, path, {"name": S, "security": SECURITY,
                  "ds": [lambda x, p: obj(x, p, {"key_tag": N, "algorithm": N,
                                                 "digest_type": N})],
                  "dnskeys": [lambda x, p: obj(x, p, {"key_tag": N,
                                                      "algorithm": N,
                                                      "flags": N})]})


def rrset(v, path):
    obj(v, path, {"owner": S, "security": SECURITY, "why": S, "ttl": N,
                  "rrsig_expires": (S, NULL)}, {"records": [S]})


def cert(v, path):
    obj(v, path, {"depth": N, "subject": S, "issuer": S, "key": S,
                  "not_before": S, "not_after": S, "cert_sha256": hexstr,
                  "spki_sha256": hexstr, "matches": [N]})


def probe(v, path):
    obj(v, path, {
        "address": S, "algorithms": {"any", "ECDSA", "RSA"},
        "connected": B, "starttls": B, "tls": B, "tls_version": S,
        "cipher": S, "error": S,
        "result": {"Verified", "Trusted", "Untrusted", "Cleartext",
                   "Unreachable", "Skipped"},
        "verdict": {"authenticated", "not authenticated",
                    "no usable records", None},
        "verdict_reason": S, "matched_record": (S, NULL), "chain": [cert]})


def auth(v, path):
    obj(v, path, {"server": S, "via": S, "answered": B, "error": S,
                  "serial": (N, NULL), "records": [S]})


def host(v, path):
    obj(v, path, {
        "name": S, "preference": N,
        "verdict": {"dane", "encrypt", "may", "unreachable"},
        "reason": S, "cname": S, "address_security": SECURITY,
        "addresses": [S], "tlsa": rrset, "tlsa_elsewhere": [rrset],
        "zone": S, "authoritative": [auth], "probes": [probe]})


def finding(v, path):
    obj(v, path, {"code": S, "severity": {"error", "warning", "note"},
                  "host": S, "address": S, "summary": S, "evidence": [S],
                  "fix": S})


def main():
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        fail("", "not JSON: %s" % e)
    obj(doc, "", {
        "schema": {"danesmtp-check/1"}, "domain": S, "port": N, "time": S,
        "single_host": B,
        "status": {"ok", "defer", "null MX", "no such domain"},
        "reason": S, "implicit_mx": B, "mx": rrset, "zones": [zone],
        "hosts": [host],
        "findings": [finding], "errors": N, "warnings": N, "notes": N,
        "exit": {0, 1, 3, 4, 5}})
    counts = {"error": 0, "warning": 0, "note": 0}
    for f in doc["findings"]:
        counts[f["severity"]] += 1
    if (counts["error"], counts["warning"], counts["note"]) != \
            (doc["errors"], doc["warnings"], doc["notes"]):
        fail("", "the counts do not add up")


main()
