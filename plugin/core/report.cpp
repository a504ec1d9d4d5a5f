// SPDX-License-Identifier: MIT
// report.cpp - the renderers of diagnose.hpp: text, JSON, monitoring line.
//
// The JSON schema is "danesmtp-check/1", documented in danesmtp(1) (JSON
// OUTPUT). Fields are only ever added to it; a change that removes or
// retypes one gets schema "danesmtp-check/2".
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/diagnose.hpp"
#include "core/text.hpp"

namespace danesmtp::core {

std::string iso_time(std::int64_t t) {
    if (t == 0) return "";
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string json_quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c >= 0x7f) {
                    // Control bytes, and every byte past ASCII: the text comes
                    // from DNS, certificates and servers, and need not be
                    // UTF-8; as \u00XX the JSON stays valid whatever it was.
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

// Text from DNS or a certificate shown to a person: control bytes escaped.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c >= 0x7f) {  // C0, DEL and C1 controls, and anything not ASCII
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\%03o", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

namespace {

std::string iso(std::int64_t t) { return iso_time(t); }
std::string day(std::int64_t t) { return iso_time(t).substr(0, 10); }
std::string js(const std::string& s) { return json_quote(s); }
std::string safe(const std::string& s) { return printable(s); }

const char* b(bool v) { return v ? "true" : "false"; }

std::string ttl_text(const RrsetFacts& r) {
    std::string s;
    if (r.ttl) s += "TTL " + std::to_string(r.ttl);
    if (r.sig_expires) s += std::string(s.empty() ? "" : ", ") + "RRSIG until " + day(r.sig_expires);
    return s;
}

bool matches(const CertFacts& c, const TlsaRecord& r) {
    if (r.selector > 1 || r.mtype > 2) return false;
    const Bytes& a = c.association[r.selector][r.mtype];
    return !a.empty() && a == r.data;
}

std::string matched_list(const CertFacts& c, const std::vector<TlsaRecord>& rs) {
    std::string s;
    for (std::size_t i = 0; i < rs.size(); ++i)
        if (matches(c, rs[i])) s += (s.empty() ? "" : ",") + std::to_string(i + 1);
    return s;
}

struct Colours {
    bool on;
    std::string red() const { return on ? "\033[31m" : ""; }
    std::string yellow() const { return on ? "\033[33m" : ""; }
    std::string green() const { return on ? "\033[32m" : ""; }
    std::string bold() const { return on ? "\033[1m" : ""; }
    std::string off() const { return on ? "\033[0m" : ""; }
};

std::string rrset_json(const RrsetFacts& r) {
    std::string s = "{\"owner\":" + js(r.owner) + ",\"security\":" + js(security_name(r.security)) +
                    ",\"why\":" + js(r.why) + ",\"ttl\":" + std::to_string(r.ttl) +
                    ",\"rrsig_expires\":" + (r.sig_expires ? js(iso(r.sig_expires)) : "null");
    if (!r.tlsa.empty()) {
        s += ",\"records\":[";
        for (std::size_t i = 0; i < r.tlsa.size(); ++i)
            s += std::string(i ? "," : "") + js(to_text(r.tlsa[i]));
        s += "]";
    }
    return s + "}";
}

}  // namespace

std::string render_text(const CheckFacts& f, const std::vector<Finding>& findings, const RenderOptions& o) {
    Colours c{o.colour};
    const Plan& p = f.plan;
    std::string s;
    s += c.bold() + "danesmtp check " + safe(p.domain) + " port " + std::to_string(p.port) + c.off() + " (" +
         iso(f.now) + ")\n";
    if (!f.single_host) {
        s += "  MX RRset: " + std::string(security_name(f.mx.security));
        std::string tt = ttl_text(f.mx);
        if (!tt.empty()) s += " (" + tt + ")";
        if (p.implicit_mx) s += ", no MX: implicit";
        s += "\n";
    }
    for (const auto& z : f.zones) {
        s += "  zone " + safe(z.name) + ": " + security_name(z.security);
        std::string ds, keys;
        for (const auto& d : z.ds)
            ds += (ds.empty() ? "" : ", ") + std::to_string(d.key_tag) + " " + algorithm_name(d.algorithm) +
                  " digest " + std::to_string(d.digest_type);
        for (const auto& k : z.dnskeys)
            keys += (keys.empty() ? "" : ", ") + std::to_string(k.key_tag) + " " + algorithm_name(k.algorithm) +
                    ((k.flags & 1) ? " KSK" : " ZSK");
        if (!ds.empty()) s += "; DS " + ds;
        if (!keys.empty()) s += "; DNSKEY " + keys;
        s += "\n";
    }
    s += "  outcome: " + std::string(domain_status_name(p.status));
    if (!p.reason.empty()) s += " (" + safe(p.reason) + ")";
    s += "\n";
    for (std::size_t i = 0; i < p.hosts.size() && i < f.hosts.size(); ++i) {
        const HostPlan& h = p.hosts[i];
        const HostFacts& hf = f.hosts[i];
        s += "\n" + c.bold() + (f.single_host ? std::string("host ") : "MX " + std::to_string(h.preference) + " ") +
             safe(h.name) + c.off() + ": " + verdict_name(h.verdict);
        if (!h.reason.empty()) s += " (" + safe(h.reason) + ")";
        s += "\n";
        if (!h.canonical.empty()) s += "  CNAME to " + safe(h.canonical) + "\n";
        s += "  addresses (" + std::string(security_name(h.address_security)) + "):";
        for (const auto& a : h.addresses) s += " " + safe(a);
        s += "\n";
        if (hf.tlsa.security != DnsSecurity::failed || !hf.tlsa.owner.empty()) {
            s += "  TLSA at " + safe(hf.tlsa.owner) + " (" + security_name(hf.tlsa.security);
            std::string tt = ttl_text(hf.tlsa);
            if (!tt.empty()) s += ", " + tt;
            s += "):" + std::string(hf.tlsa.tlsa.empty() ? " none" : "") + "\n";
            for (std::size_t k = 0; k < hf.tlsa.tlsa.size(); ++k) {
                const TlsaRecord& r = hf.tlsa.tlsa[k];
                auto why = unusable_reason(r);
                s += "    [" + std::to_string(k + 1) + "] " + to_text(r) + (why ? "  (unusable)" : "") + "\n";
            }
        }
        if (!hf.auth.empty()) {
            s += "  authoritative servers of " + safe(hf.zone) + ":\n";
            for (const auto& a : hf.auth) {
                s += "    " + safe(a.server) + " (" + safe(a.via) + "): ";
                if (!a.answered) {
                    s += safe(a.error) + "\n";
                    continue;
                }
                std::string idx;
                for (const auto& t : a.tlsa) {
                    std::size_t k = 0;
                    while (k < hf.tlsa.tlsa.size() && to_text(hf.tlsa.tlsa[k]) != t) ++k;
                    idx += (idx.empty() ? "" : ",") + (k < hf.tlsa.tlsa.size() ? std::to_string(k + 1) : "new");
                }
                s += "serial " + std::to_string(a.serial) + ", TLSA [" + idx + "]\n";
            }
        }
        for (const auto& pr : hf.probes) {
            std::string level = probe_level(f, h, pr);
            std::string col = level == "Verified" || level == "Trusted" ? c.green()
                              : (level == "Cleartext" && h.verdict == HostVerdict::may) ? c.yellow()
                                                                                        : c.red();
            if (level == "Untrusted" && !pr.judged && h.verdict != HostVerdict::dane) col = c.yellow();
            s += "  " + safe(pr.address) + (pr.algorithms == "any" ? "" : " (" + safe(pr.algorithms) + ")") + ": " + col + level +
                 c.off();
            if (pr.tls) s += " " + safe(pr.tls_version) + " " + safe(pr.cipher);
            if (pr.judged) s += ": " + safe(pr.verdict.reason);
            else if (!pr.error.empty()) s += ": " + safe(pr.error);
            s += "\n";
            if (!o.details) continue;
            for (std::size_t d = 0; d < pr.chain.size(); ++d) {
                const CertFacts& ce = pr.chain[d];
                std::string m = matched_list(ce, hf.tlsa.tlsa);
                s += "    depth " + std::to_string(d) + ": " + safe(ce.subject) + "\n";
                s += "      issuer " + safe(ce.issuer) + "; " + safe(ce.key) + "; " + day(ce.not_before) + " to " +
                     day(ce.not_after) + "\n";
                s += "      cert SHA2-256 " + hex_encode(ce.association[0][1]) + "\n";
                s += "      SPKI SHA2-256 " + hex_encode(ce.association[1][1]) + "\n";
                if (!m.empty()) s += "      " + c.green() + "matches TLSA [" + m + "]" + c.off() + "\n";
            }
        }
    }
    std::size_t counts[3] = {0, 0, 0};
    for (const auto& x : findings) counts[static_cast<int>(finding_severity(x.code))]++;
    s += "\n" + c.bold() + "Findings" + c.off() + "\n";
    if (findings.empty()) s += "  none\n";
    for (const auto& x : findings) {
        Severity sv = finding_severity(x.code);
        std::string col = sv == Severity::error ? c.red() : sv == Severity::warning ? c.yellow() : "";
        std::string tag = sv == Severity::error ? "ERROR  " : sv == Severity::warning ? "WARNING" : "NOTE   ";
        s += "  " + col + tag + c.off() + " " + finding_code(x.code);
        if (!x.host.empty()) s += "  " + safe(x.host);
        if (!x.address.empty()) s += " [" + safe(x.address) + "]";
        s += "\n          " + safe(x.summary) + "\n";
        for (const auto& e : x.evidence) s += "          | " + safe(e) + "\n";
        if (sv != Severity::note || x.code == FindingCode::next_key_published)
            s += "          fix: " + safe(x.fix) + "\n";
    }
    s += "\n" + std::to_string(counts[0]) + " error" + (counts[0] == 1 ? "" : "s") + ", " +
         std::to_string(counts[1]) + " warning" + (counts[1] == 1 ? "" : "s") + ", " + std::to_string(counts[2]) +
         " note" + (counts[2] == 1 ? "" : "s") + "\n";
    return s;
}

std::string render_json(const CheckFacts& f, const std::vector<Finding>& findings) {
    const Plan& p = f.plan;
    std::string s = "{\"schema\":\"danesmtp-check/1\",\"domain\":" + js(p.domain) +
                    ",\"port\":" + std::to_string(p.port) + ",\"time\":" + js(iso(f.now)) +
                    ",\"single_host\":" + b(f.single_host) + ",\"status\":" + js(domain_status_name(p.status)) +
                    ",\"reason\":" + js(p.reason) + ",\"implicit_mx\":" + b(p.implicit_mx) +
                    ",\"mx\":" + rrset_json(f.mx) + ",\"zones\":[";
    for (std::size_t i = 0; i < f.zones.size(); ++i) {
        const ZoneFacts& z = f.zones[i];
        s += std::string(i ? "," : "") + "{\"name\":" + js(z.name) + ",\"security\":" + js(security_name(z.security)) +
             ",\"ds\":[";
        for (std::size_t k = 0; k < z.ds.size(); ++k)
            s += std::string(k ? "," : "") + "{\"key_tag\":" + std::to_string(z.ds[k].key_tag) +
                 ",\"algorithm\":" + std::to_string(z.ds[k].algorithm) +
                 ",\"digest_type\":" + std::to_string(z.ds[k].digest_type) + "}";
        s += "],\"dnskeys\":[";
        for (std::size_t k = 0; k < z.dnskeys.size(); ++k)
            s += std::string(k ? "," : "") + "{\"key_tag\":" + std::to_string(z.dnskeys[k].key_tag) +
                 ",\"algorithm\":" + std::to_string(z.dnskeys[k].algorithm) +
                 ",\"flags\":" + std::to_string(z.dnskeys[k].flags) + "}";
        s += "]}";
    }
    s += "],\"hosts\":[";
    for (std::size_t i = 0; i < p.hosts.size() && i < f.hosts.size(); ++i) {
        const HostPlan& h = p.hosts[i];
        const HostFacts& hf = f.hosts[i];
        s += std::string(i ? "," : "") + "{\"name\":" + js(h.name) + ",\"preference\":" + std::to_string(h.preference) +
             ",\"verdict\":" + js(verdict_name(h.verdict)) + ",\"reason\":" + js(h.reason) +
             ",\"cname\":" + js(h.canonical) + ",\"address_security\":" + js(security_name(h.address_security)) +
             ",\"addresses\":[";
        for (std::size_t k = 0; k < h.addresses.size(); ++k) s += std::string(k ? "," : "") + js(h.addresses[k]);
        s += "],\"tlsa\":" + rrset_json(hf.tlsa) + ",\"tlsa_elsewhere\":[";
        for (std::size_t k = 0; k < hf.elsewhere.size(); ++k) s += std::string(k ? "," : "") + rrset_json(hf.elsewhere[k]);
        s += "],\"zone\":" + js(hf.zone) + ",\"authoritative\":[";
        for (std::size_t k = 0; k < hf.auth.size(); ++k) {
            const AuthFacts& a = hf.auth[k];
            s += std::string(k ? "," : "") + "{\"server\":" + js(a.server) + ",\"via\":" + js(a.via) +
                 ",\"answered\":" + b(a.answered) + ",\"error\":" + js(a.error) +
                 ",\"serial\":" + (a.serial >= 0 ? std::to_string(a.serial) : std::string("null")) + ",\"records\":[";
            for (std::size_t r = 0; r < a.tlsa.size(); ++r) s += std::string(r ? "," : "") + js(a.tlsa[r]);
            s += "]}";
        }
        s += "],\"probes\":[";
        for (std::size_t k = 0; k < hf.probes.size(); ++k) {
            const ProbeFacts& pr = hf.probes[k];
            s += std::string(k ? "," : "") + "{\"address\":" + js(pr.address) + ",\"algorithms\":" + js(pr.algorithms) +
                 ",\"connected\":" + b(pr.connected) + ",\"starttls\":" + b(pr.starttls) + ",\"tls\":" + b(pr.tls) +
                 ",\"tls_version\":" + js(pr.tls_version) + ",\"cipher\":" + js(pr.cipher) +
                 ",\"error\":" + js(pr.error) + ",\"result\":" + js(probe_level(f, h, pr)) +
                 ",\"verdict\":" + (pr.judged ? js(outcome_name(pr.verdict.outcome)) : "null") +
                 ",\"verdict_reason\":" + js(pr.judged ? pr.verdict.reason : "") +
                 ",\"matched_record\":" +
                 (pr.judged && pr.verdict.outcome == Outcome::authenticated ? js(to_text(pr.verdict.record)) : "null") +
                 ",\"chain\":[";
            for (std::size_t d = 0; d < pr.chain.size(); ++d) {
                const CertFacts& ce = pr.chain[d];
                std::string m = "[";
                for (std::size_t r = 0; r < hf.tlsa.tlsa.size(); ++r)
                    if (matches(ce, hf.tlsa.tlsa[r])) m += std::string(m.size() > 1 ? "," : "") + std::to_string(r + 1);
                m += "]";
                s += std::string(d ? "," : "") + "{\"depth\":" + std::to_string(d) + ",\"subject\":" + js(ce.subject) +
                     ",\"issuer\":" + js(ce.issuer) + ",\"key\":" + js(ce.key) +
                     ",\"not_before\":" + js(iso(ce.not_before)) + ",\"not_after\":" + js(iso(ce.not_after)) +
                     ",\"cert_sha256\":" + js(hex_encode(ce.association[0][1])) +
                     ",\"spki_sha256\":" + js(hex_encode(ce.association[1][1])) + ",\"matches\":" + m + "}";
            }
            s += "]}";
        }
        s += "]}";
    }
    std::size_t counts[3] = {0, 0, 0};
    s += "],\"findings\":[";
    for (std::size_t i = 0; i < findings.size(); ++i) {
        const Finding& x = findings[i];
        counts[static_cast<int>(finding_severity(x.code))]++;
        s += std::string(i ? "," : "") + "{\"code\":" + js(finding_code(x.code)) +
             ",\"severity\":" + js(severity_name(finding_severity(x.code))) + ",\"host\":" + js(x.host) +
             ",\"address\":" + js(x.address) + ",\"summary\":" + js(x.summary) + ",\"evidence\":[";
        for (std::size_t k = 0; k < x.evidence.size(); ++k) s += std::string(k ? "," : "") + js(x.evidence[k]);
        s += "],\"fix\":" + js(x.fix) + "}";
    }
    s += "],\"errors\":" + std::to_string(counts[0]) + ",\"warnings\":" + std::to_string(counts[1]) +
         ",\"notes\":" + std::to_string(counts[2]) + ",\"exit\":" + std::to_string(check_exit_status(f, findings)) + "}";
    return s;
}

std::string render_nagios(const CheckFacts& f, const std::vector<Finding>& findings, int* status) {
    std::size_t errors = 0, warnings = 0;
    std::string first_error, first_warning;
    for (const auto& x : findings) {
        Severity sv = finding_severity(x.code);
        std::string what = std::string(finding_code(x.code)) + (x.host.empty() ? "" : " " + safe(x.host));
        if (sv == Severity::error && errors++ == 0) first_error = what;
        if (sv == Severity::warning && warnings++ == 0) first_warning = what;
    }
    int st = errors ? 2 : warnings ? 1 : 0;
    if (f.plan.status == DomainStatus::defer) st = 2;
    // Days to the earliest RRSIG expiry and certificate expiry seen.
    std::int64_t rrsig = 0, cert = 0;
    auto earliest = [](std::int64_t* cur, std::int64_t t) {
        if (t && (*cur == 0 || t < *cur)) *cur = t;
    };
    earliest(&rrsig, f.mx.sig_expires);
    std::size_t hosts = 0, failing = 0;
    for (std::size_t i = 0; i < f.hosts.size() && i < f.plan.hosts.size(); ++i) {
        const HostFacts& hf = f.hosts[i];
        ++hosts;
        earliest(&rrsig, hf.tlsa.sig_expires);
        for (const auto& a : hf.addresses) earliest(&rrsig, a.sig_expires);
        for (const auto& pr : hf.probes)
            for (const auto& c : pr.chain) earliest(&cert, c.not_after);
        bool fails = false;
        for (const auto& x : findings)
            fails |= x.host == f.plan.hosts[i].name && finding_severity(x.code) == Severity::error;
        failing += fails;
    }
    static const char* const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    std::string s = std::string("DANE ") + names[st] + " - " + safe(f.plan.domain) + ": ";
    if (st == 0) s += "all " + std::to_string(hosts) + " MX host" + (hosts == 1 ? "" : "s") + " checked, no problem";
    else {
        s += std::to_string(errors) + " error" + (errors == 1 ? "" : "s") + ", " + std::to_string(warnings) + " warning" +
             (warnings == 1 ? "" : "s");
        if (!first_error.empty()) s += " (" + first_error + ")";
        else if (!first_warning.empty()) s += " (" + first_warning + ")";
        if (f.plan.status == DomainStatus::defer && errors == 0) s += " (" + safe(f.plan.reason) + ")";
    }
    auto days = [&](std::int64_t t) { return t ? std::to_string((t - f.now) / 86400) : std::string(""); };
    // Thresholds in the monitoring-plugins range syntax: "7:" alerts below 7.
    std::string th = ";" + std::to_string(f.warn_days) + ":;1:";
    s += " | rrsig_days=" + days(rrsig) + th + " cert_days=" + days(cert) + th +
         " hosts=" + std::to_string(hosts) + " hosts_failing=" + std::to_string(failing) + "\n";
    *status = st;
    return s;
}

}  // namespace danesmtp::core
