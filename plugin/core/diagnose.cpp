// SPDX-License-Identifier: MIT
// diagnose.cpp - see diagnose.hpp. Pure code: no DNS, no sockets, no clock.
#include "core/diagnose.hpp"

#include <algorithm>
#include <ctime>
#include <set>

namespace danesmtp::core {

namespace {

struct CatalogueEntry {
    FindingCode code;
    const char* name;
    Severity severity;
    const char* title;
};

constexpr CatalogueEntry kCatalogue[] = {
#define FINDING(ident, code, severity, title) {FindingCode::ident, code, Severity::severity, title},
#include "core/findings.def"
#undef FINDING
};

const CatalogueEntry& entry(FindingCode c) {
    return kCatalogue[static_cast<std::size_t>(c)];
}

std::string date_of(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string days_left(std::int64_t until, std::int64_t now) {
    std::int64_t d = (until - now) / 86400;
    if (until <= now) return "already passed";
    if (d == 0) return "in less than a day";
    return "in " + std::to_string(d) + (d == 1 ? " day" : " days");
}

bool matches(const CertFacts& c, const TlsaRecord& r) {
    if (r.selector > 1 || r.mtype > 2) return false;
    const Bytes& a = c.association[r.selector][r.mtype];
    return !a.empty() && a == r.data;
}

// The TLSA owner clients query for this host: _PORT._tcp.BASE (RFC 7672
// section 2.2.2 and RFC 7671 section 7 for CNAMEs).
std::string tlsa_owner(const Plan& plan, const HostPlan& h) {
    std::string base = h.tlsa_base.empty() ? h.name : h.tlsa_base;
    return "_" + std::to_string(plan.port) + "._tcp." + base;
}

// A record line as a person would publish it.
std::string zone_line(const std::string& owner, const TlsaRecord& r) {
    return owner + ". IN TLSA " + to_text(r);
}

bool looks_like_address(const std::string& name) {
    if (name.find(':') != std::string::npos) return true;
    int dots = 0;
    for (char c : name) {
        if (c == '.') ++dots;
        else if (c < '0' || c > '9') return false;
    }
    return dots == 3;
}

bool is_ipv6(const std::string& address) { return address.find(':') != std::string::npos; }

// A record for the key of `c` as the fix of a mismatch: 3 1 1.
TlsaRecord ee_record_for(const CertFacts& c) {
    TlsaRecord r;
    r.usage = kUsageDaneEe;
    r.selector = kSelectorSpki;
    r.mtype = kMatchSha256;
    r.data = c.association[1][1];
    return r;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// The name after `marker` in libunbound's text, up to a blank or '>'.
std::string name_after(const std::string& why, const std::string& marker) {
    auto p = why.find(marker);
    if (p == std::string::npos) return "";
    p += marker.size();
    auto e = why.find_first_of(" >", p);
    std::string n = why.substr(p, e == std::string::npos ? std::string::npos : e - p);
    if (n.size() > 1 && n.back() == '.') n.pop_back();
    return n;
}

class Diagnosis {
public:
    explicit Diagnosis(const CheckFacts& f) : f_(f) {}

    std::vector<Finding> run() {
        domain();
        zones();
        for (std::size_t i = 0; i < f_.plan.hosts.size() && i < f_.hosts.size(); ++i)
            host(f_.plan.hosts[i], f_.hosts[i]);
        return std::move(out_);
    }

private:
    const CheckFacts& f_;
    std::vector<Finding> out_;

    Finding& add(FindingCode c, std::string host, std::string address, std::string summary,
                 std::string fix) {
        out_.push_back(Finding{c, std::move(host), std::move(address), std::move(summary), {}, std::move(fix)});
        return out_.back();
    }

    // RFC 8624 section 3.1 and 3.3: algorithms and DS digests signers must
    // not (or should no longer) use; validators may treat them as insecure.
    void zones() {
        for (const auto& z : f_.zones) {
            std::vector<std::string> weak;
            for (const auto& k : z.dnskeys)
                if (k.algorithm == 1 || k.algorithm == 3 || k.algorithm == 5 || k.algorithm == 6 ||
                    k.algorithm == 7 || k.algorithm == 12)
                    weak.push_back("DNSKEY " + std::to_string(k.key_tag) + " " + algorithm_name(k.algorithm));
            for (const auto& d : z.ds)
                if (d.digest_type == 1 || d.digest_type == 3)
                    weak.push_back("DS " + std::to_string(d.key_tag) + " digest type " +
                                   std::to_string(d.digest_type) + (d.digest_type == 1 ? " (SHA-1)" : " (GOST)"));
            if (weak.empty()) continue;
            Finding& x = add(FindingCode::zone_algorithm_weak, "", "",
                             z.name + " uses " + weak.front() + (weak.size() > 1 ? " and more" : ""),
                             "roll " + z.name + " to ECDSAP256SHA256(13) or ED25519(15) keys and SHA-256 DS "
                             "digests (RFC 8624 section 3.1, 3.3; RFC 6781 section 4.1.4 for the rollover)");
            x.evidence = weak;
        }
    }

    bool any_host_has_tlsa() const {
        for (const auto& h : f_.hosts)
            if (h.tlsa.security == DnsSecurity::secure && !h.tlsa.tlsa.empty()) return true;
        return false;
    }

    void expiry(const RrsetFacts& r, const std::string& what, const std::string& host) {
        if (r.sig_expires == 0 || r.security != DnsSecurity::secure) return;
        if (r.sig_expires - f_.now >= static_cast<std::int64_t>(f_.warn_days) * 86400) return;
        Finding& x = add(FindingCode::rrsig_expiring, host, "",
                         "the RRSIG over the " + what + " RRset of " + r.owner + " expires " +
                             days_left(r.sig_expires, f_.now) + " (" + date_of(r.sig_expires) + ")",
                         "re-sign the zone of " + r.owner +
                             " (check that the signer runs: dnssec-signzone, the server's inline "
                             "signing or OpenDNSSEC); once it expires, validating resolvers answer "
                             "SERVFAIL and DANE clients defer");
        x.evidence.push_back("RRSIG expiration " + date_of(r.sig_expires));
    }

    void domain() {
        const Plan& p = f_.plan;
        const std::string& d = p.domain;
        if (p.status == DomainStatus::nxdomain) {
            add(FindingCode::domain_nxdomain, "", "", d + " does not exist (NXDOMAIN)",
                "check the spelling, or publish the domain's MX RRset");
            return;
        }
        if (p.status == DomainStatus::defer && !f_.single_host &&
            (f_.mx.security == DnsSecurity::secure || f_.mx.security == DnsSecurity::insecure)) {
            // The MX lookup worked: every host is unusable (the host findings say why).
            add(FindingCode::all_hosts_unreachable, "", "", p.reason,
                "fix the host findings below; until then DANE clients keep the mail queued");
        } else if (p.status == DomainStatus::defer) {
            if (f_.mx.security == DnsSecurity::bogus) {
                BogusReason br = explain_bogus(f_.mx.why);
                Finding& x = add(FindingCode::mx_bogus, "", "",
                                 "the MX RRset of " + d + " fails DNSSEC validation: " + br.what, br.fix);
                x.evidence.push_back("validator: " + f_.mx.why);
            } else {
                Finding& x = add(FindingCode::mx_lookup_failed, "", "",
                                 "the MX lookup of " + d + " failed: " + (f_.mx.why.empty() ? p.reason : f_.mx.why),
                                 "make every authoritative server of " + d +
                                     " answer MX queries (SERVFAIL, REFUSED and timeouts make senders defer)");
                x.evidence.push_back(p.reason);
            }
            return;
        }
        if (p.status == DomainStatus::null_mx) {
            add(FindingCode::null_mx, "", "", d + " publishes a null MX (\"0 .\"): it receives no mail",
                "nothing to do if the domain should receive no mail; otherwise publish real MX records");
            return;
        }
        if (f_.single_host) return;
        if (p.implicit_mx)
            add(FindingCode::implicit_mx, "", "", d + " has no MX RRset; mail goes to " + d + " itself",
                "publish an MX RRset naming the mail host explicitly");
        if (f_.mx.security == DnsSecurity::insecure) {
            bool ignored_tlsa = false;  // TLSA at insecure hosts: the host findings say so
            for (std::size_t i = 0; i < f_.hosts.size() && i < p.hosts.size(); ++i)
                if (p.hosts[i].address_security == DnsSecurity::insecure && !f_.hosts[i].elsewhere.empty())
                    ignored_tlsa = true;
            if (!ignored_tlsa && any_host_has_tlsa()) {
                Finding& x = add(FindingCode::mx_insecure, "", "",
                                 "the MX RRset of " + d + " is not DNSSEC-signed, but MX hosts publish TLSA records",
                                 "sign the zone of " + d +
                                     " and publish its DS in the parent zone, so that clients reach the hosts "
                                     "through a validated MX RRset (RFC 7672 section 2.2.1)");
                x.evidence.push_back("MX RRset of " + d + ": insecure");
            } else if (!ignored_tlsa) {
                add(FindingCode::domain_unsigned, "", "", d + " is not DNSSEC-signed and no MX host has TLSA records",
                    "to use DANE: sign the zone of " + d +
                        ", publish its DS in the parent zone, and publish TLSA records for each MX host");
            }
        }
        expiry(f_.mx, "MX", "");
        for (const auto& n : p.notes) {
            Finding& x = add(FindingCode::bound_applied, "", "", n,
                             "publish fewer MX hosts or addresses; clients use only the first ones "
                             "(the limits are in danesmtp.conf(5))");
            x.evidence.push_back(n);
        }
    }

    // Octets of the wire form of a presentation name without escapes.
    static std::size_t wire_length(const std::string& name) {
        return name.empty() ? 1 : name.size() + 2;
    }

    void host(const HostPlan& h, const HostFacts& hf) {
        const std::string& n = h.name;
        if (h.verdict == HostVerdict::unreachable && h.reason.find("cannot carry exactly") != std::string::npos) {
            // discovery refused the name (core/dname.hpp): never looked up further
            Finding& x = add(FindingCode::host_name_unusable, n, "", h.reason,
                             "use an MX target (and CNAME target) of letters, digits and hyphens only "
                             "(RFC 952, RFC 1123 section 2.1)");
            x.evidence.push_back(h.reason);
            return;
        }
        if (looks_like_address(n)) {
            add(FindingCode::mx_address_literal, n, "",
                "the MX target " + n + " is an address, not a host name (RFC 7505 section 3, RFC 5321 section 5.1)",
                "publish a host name with A/AAAA records as the MX target, e.g. mx." + f_.plan.domain);
        }
        if (!h.canonical.empty()) {
            Finding& x = add(FindingCode::mx_cname, n, "",
                             n + " is a CNAME for " + h.canonical,
                             "point the MX record at " + h.canonical +
                                 " directly; until then DANE clients look for TLSA records at " +
                                 tlsa_owner(f_.plan, h) + " (RFC 7672 section 2.2.2, RFC 7671 section 7)");
            x.evidence.push_back(n + " CNAME " + h.canonical);
        }
        bool address_failed = false;
        for (const auto& a : hf.addresses) {
            if (a.security == DnsSecurity::bogus) {
                BogusReason br = explain_bogus(a.why);
                Finding& x = add(FindingCode::address_bogus, n, "",
                                 "the address records of " + a.owner + " fail DNSSEC validation: " + br.what,
                                 br.fix);
                x.evidence.push_back("validator: " + a.why);
                address_failed = true;
            } else if (a.security == DnsSecurity::failed) {
                Finding& x = add(FindingCode::address_lookup_failed, n, "",
                                 "the address lookup of " + a.owner + " failed: " + a.why,
                                 "make the authoritative servers of " + a.owner + " answer A and AAAA queries");
                x.evidence.push_back(a.why);
                address_failed = true;
            }
        }
        if (address_failed) return;
        if (h.addresses.empty()) {
            add(FindingCode::no_address, n, "", n + " has no A or AAAA record",
                "publish the addresses of " + n + ", or remove it from the MX RRset");
            return;
        }
        for (const auto& a : hf.addresses) expiry(a, "address", n);
        if (h.address_security == DnsSecurity::insecure && h.records.empty()) {
            for (const auto& e : hf.elsewhere) {
                if (e.tlsa.empty()) continue;
                Finding& x = add(FindingCode::host_zone_unsigned, n, "",
                                 "TLSA records are published at " + e.owner + ", but the address records of " + n +
                                     " are not DNSSEC-signed, so clients never look them up (RFC 7672 section 2.2.2)",
                                 "sign the zone of " + n + " and publish its DS in the parent zone");
                for (const auto& r : e.tlsa) x.evidence.push_back(zone_line(e.owner, r));
            }
            handshakes(h, hf);  // opportunistic TLS: STARTTLS missing is still worth a warning
            return;
        }
        const RrsetFacts& t = hf.tlsa;
        if (wire_length(tlsa_owner(f_.plan, h)) > 255) {
            add(FindingCode::tlsa_name_too_long, n, "",
                "_" + std::to_string(f_.plan.port) + "._tcp." + (h.tlsa_base.empty() ? n : h.tlsa_base) +
                    " is longer than 255 octets (RFC 1035 section 2.3.4): no TLSA record can exist there",
                "use a shorter MX host name (at most 245 octets leaves room for _25._tcp.)");
            return;
        }
        if (t.security == DnsSecurity::bogus && h.verdict == HostVerdict::unreachable) {
            BogusReason br = explain_bogus(t.why);
            Finding& x = add(FindingCode::tlsa_bogus, n, "",
                             "the TLSA RRset at " + t.owner + " fails DNSSEC validation: " + br.what, br.fix);
            x.evidence.push_back("validator: " + t.why);
            return;
        }
        if (t.security == DnsSecurity::failed && h.verdict == HostVerdict::unreachable) {
            Finding& x = add(FindingCode::tlsa_lookup_failed, n, "",
                             "the TLSA lookup of " + t.owner + " failed: " + t.why,
                             "every authoritative server of the zone must answer TLSA queries, with an "
                             "authenticated denial when there are none; servers or middleboxes that drop or "
                             "refuse unknown types make DANE clients skip the host");
            x.evidence.push_back(t.why);
            return;
        }
        if (t.tlsa.size() > kMaxRecordsPerSet) {
            Finding& x = add(FindingCode::too_many_records, n, "",
                             "more than " + std::to_string(kMaxRecordsPerSet) + " TLSA records at " + t.owner,
                             "publish a handful of records: the current and the next key");
            x.evidence.push_back(h.reason);
            return;
        }
        if (t.tlsa.empty()) {
            bool wrong = false;
            for (const auto& e : hf.elsewhere) {
                if (e.tlsa.empty()) continue;
                wrong = true;
                bool port_only = e.owner.size() > n.size() && e.owner.compare(e.owner.size() - n.size(), n.size(), n) == 0 &&
                                 e.owner.rfind("_" + std::to_string(f_.plan.port) + "._tcp.", 0) != 0;
                FindingCode c = port_only ? FindingCode::tlsa_wrong_port : FindingCode::tlsa_wrong_owner;
                std::string owner = tlsa_owner(f_.plan, h);
                Finding& x = add(c, n, "",
                                 "TLSA records are published at " + e.owner + ", but clients look for them at " +
                                     owner + " (RFC 7672 section 3.1)",
                                 "publish the same records at " + owner + ". and remove those at " + e.owner + ".");
                for (const auto& r : e.tlsa) x.evidence.push_back(zone_line(e.owner, r));
            }
            if (!wrong) {
                if (any_host_has_tlsa())
                    add(FindingCode::no_tlsa_partial, n, "",
                        "no TLSA records at " + t.owner + ", while other MX hosts of " + f_.plan.domain + " have some",
                        "publish TLSA records for " + n + " too (see `danesmtp tlsa --host " + n + "`)");
                else
                    add(FindingCode::no_tlsa, n, "", "no TLSA records at " + t.owner,
                        "to use DANE, publish a record for the server's key: `danesmtp tlsa --host " + n +
                            " KEY-OR-CERT.pem` prints it");
            }
        }
        expiry(t, "TLSA", n);
        authoritative(h, hf);
        records(h, hf);
        handshakes(h, hf);
    }

    // Every authoritative server of the TLSA owner's zone must serve the
    // same RRset: resolvers ask any of them.
    void authoritative(const HostPlan& h, const HostFacts& hf) {
        const std::string& n = h.name;
        std::vector<const AuthFacts*> answered;
        for (const auto& a : hf.auth) {
            if (a.answered) {
                answered.push_back(&a);
                continue;
            }
            Finding& x = add(FindingCode::auth_failed, n, a.server,
                             "the authoritative server " + a.server + " of " + hf.zone + " (" + a.via + "): " + a.error,
                             "make every server of " + hf.zone +
                                 " answer SOA and TLSA queries authoritatively (with an authenticated denial when "
                                 "there are no records); fix or remove the server from the NS RRset");
            x.evidence.push_back(a.server + ": " + a.error);
        }
        // Only different TLSA RRsets count: serials alone differ for a while
        // after every change, and for ever with several signers (RFC 8901).
        bool differ = false;
        for (auto* a : answered) differ |= a->tlsa != answered[0]->tlsa;
        if (!differ) return;
        std::int64_t newest = 0;
        for (auto* a : answered) newest = std::max(newest, a->serial);
        Finding& x = add(FindingCode::auth_disagree, n, "",
                         "the authoritative servers of " + hf.zone + " serve different TLSA RRsets at " +
                             hf.tlsa.owner,
                         "make the lagging servers transfer the zone (serial " + std::to_string(newest) +
                             "): check NOTIFY and zone transfers (AXFR/IXFR) from the primary; until every server "
                             "serves the new records, do not switch keys");
        for (auto* a : answered) {
            std::string recs;
            for (const auto& r : a->tlsa) recs += (recs.empty() ? "" : ", ") + r;
            x.evidence.push_back(a->server + ": serial " + std::to_string(a->serial) + ", TLSA " +
                                 (recs.empty() ? std::string("none") : recs));
        }
    }

    void records(const HostPlan& h, const HostFacts& hf) {
        const auto& rs = hf.tlsa.tlsa;
        if (rs.empty()) return;
        const std::string& n = h.name;
        std::size_t usable = 0, ee = 0, ee_cert = 0, ta = 0;
        for (const auto& r : rs) {
            auto why = unusable_reason(r);
            if (why) {
                Finding& x = add(FindingCode::record_unusable, n, "",
                                 "the record " + describe(r) + " cannot be used: " + *why,
                                 "replace it with a DANE-EE(3) SPKI(1) SHA2-256(1) record of the server's key, "
                                 "or a DANE-TA(2) record of the issuing CA's key");
                x.evidence.push_back(zone_line(hf.tlsa.owner, r));
                continue;
            }
            ++usable;
            if (r.usage == kUsageDaneEe) {
                ++ee;
                if (r.selector == kSelectorCert) ++ee_cert;
            }
            if (r.usage == kUsageDaneTa) ++ta;
        }
        if (usable == 0) {
            add(FindingCode::no_usable_records, n, "",
                "none of the " + std::to_string(rs.size()) + " TLSA records at " + hf.tlsa.owner +
                    " is usable: DANE clients require TLS but cannot authenticate the server",
                "publish a DANE-EE(3) SPKI(1) SHA2-256(1) record of the server's key");
            return;
        }
        if (ee > 0 && ee == ee_cert && ta == 0)
            add(FindingCode::cert_pinning_only, n, "",
                "every DANE-EE record at " + hf.tlsa.owner + " covers the whole certificate (selector 0)",
                "publish \"3 1 1\" records (the key) instead: they survive renewals that keep the key");
        // Distinct DANE-EE keys: records matching the same presented leaf count
        // once; a record matching nothing presented is another key.
        if (ee > 0 && ta == 0) {
            std::set<std::string> keys;
            for (const auto& r : rs) {
                if (r.usage != kUsageDaneEe || unusable_reason(r)) continue;
                std::string key = "record:" + to_text(r);
                for (const auto& p : hf.probes)
                    if (!p.chain.empty() && matches(p.chain[0], r)) key = "leaf:" + hex_encode(p.chain[0].association[1][0]);
                keys.insert(key);
            }
            if (keys.size() == 1)
                add(FindingCode::single_key, n, "",
                    "the TLSA RRset at " + hf.tlsa.owner + " covers one key only",
                    "generate the next key now and publish its \"3 1 1\" record beside the current one "
                    "(`danesmtp tlsa --host " + n + " NEXT.key`), so that the switch needs no DNS change "
                    "(RFC 7671 section 8.1)");
        }
        // Digest agility (RFC 7671 section 9): per usage and selector, the
        // client uses only the strongest digest published. If those records
        // match nothing presented while a weaker one matches, clients fail.
        std::vector<std::size_t> chosen = select_records(rs, DigestPreference::sha512_first);
        for (const auto& r : rs) {
            if (unusable_reason(r) || r.mtype == kMatchFull) continue;
            bool selected = false;
            for (auto i : chosen) selected |= rs[i] == r;
            if (selected) continue;
            // r was dropped for a stronger digest: does r match, and no chosen one of its group?
            bool r_matches = false, strong_matches = false;
            for (const auto& p : hf.probes)
                for (const auto& c : p.chain) r_matches |= matches(c, r);
            for (auto i : chosen)
                if (rs[i].usage == r.usage && rs[i].selector == r.selector)
                    for (const auto& p : hf.probes)
                        for (const auto& c : p.chain) strong_matches |= matches(c, rs[i]);
            if (r_matches && !strong_matches) {
                Finding& x = add(FindingCode::digest_agility_trap, n, "",
                                 "the record " + to_text(r) + " matches, but a " + mtype_name(2) +
                                     " record of the same usage and selector is published and matches nothing; "
                                     "clients use only the stronger digest",
                                 "remove the non-matching stronger record, or replace it with the SHA2-512 "
                                 "digest of the same object");
                x.evidence.push_back(zone_line(hf.tlsa.owner, r) + "   (matches)");
                for (auto i : chosen)
                    if (rs[i].usage == r.usage && rs[i].selector == r.selector)
                        x.evidence.push_back(zone_line(hf.tlsa.owner, rs[i]) + "   (matches nothing)");
            }
        }
    }

    // Why a usable record failed to match, when the reason is a known mistake.
    // Returns true when it said something.
    bool explain_record(const HostPlan& h, const HostFacts& hf, const ProbeFacts& p, const TlsaRecord& r,
                        const std::string& where) {
        const std::string& n = h.name;
        const std::string owner = hf.tlsa.owner;
        bool said = false;
        for (std::size_t d = 0; d < p.chain.size(); ++d) {
            const CertFacts& c = p.chain[d];
            if (r.usage == kUsageDaneEe && d >= 1 && matches(c, r)) {
                Finding& x = add(FindingCode::ee_matches_ca, n, where,
                                 "the DANE-EE(3) record " + to_text(r) + " matches the certificate at depth " +
                                     std::to_string(d) + " (" + c.subject + "), a CA, not the server's own",
                                 "publish \"2 " + std::to_string(r.selector) + " " + std::to_string(r.mtype) +
                                     "\" for that CA (DANE-TA), or \"" + to_text(ee_record_for(p.chain[0])) +
                                     "\" for the server's key (DANE-EE)");
                x.evidence.push_back(zone_line(owner, r));
                x.evidence.push_back("depth " + std::to_string(d) + ": " + c.subject);
                said = true;
            }
            if (r.usage == kUsageDaneTa && d == 0 && matches(c, r) && !c.self_issued) {
                Finding& x = add(FindingCode::usage_swapped, n, where,
                                 "the DANE-TA(2) record " + to_text(r) +
                                     " matches the server's own certificate, which is not a CA",
                                 "publish it as DANE-EE: \"3 " + std::to_string(r.selector) + " " +
                                     std::to_string(r.mtype) + " ...\" with the same data");
                x.evidence.push_back(zone_line(owner, r));
                said = true;
            }
            if (r.selector <= 1 && r.mtype <= 2 && c.association[1 - r.selector][r.mtype] == r.data) {
                // The fix keeps what the selector says and corrects the data
                // (for selector 1, the key: it survives renewals).
                TlsaRecord right = r;
                right.data = c.association[r.selector][r.mtype];
                Finding& x = add(FindingCode::selector_swapped, n, where,
                                 "the record " + to_text(r) + " carries the digest of the " +
                                     (r.selector == 0 ? "public key (SPKI)" : "whole certificate") +
                                     " at depth " + std::to_string(d) + ", but its selector says " +
                                     (r.selector == 0 ? "certificate" : "public key"),
                                 "publish \"" + to_text(right) + "\" instead (the data of the " +
                                     (r.selector == 0 ? "certificate" : "public key") + ")");
                x.evidence.push_back(zone_line(owner, r));
                said = true;
            }
        }
        // The DER of a one-certificate chain is that certificate: only the
        // PEM file's digest is then a mistake of its own.
        bool der_chain = p.chain.size() > 1 && r.data == p.chain_sha256[0];
        if (r.mtype == kMatchSha256 && (der_chain || r.data == p.chain_sha256[1])) {
            Finding& x = add(FindingCode::chain_file_hashed, n, where,
                             "the record " + to_text(r) + " is the SHA2-256 digest of the whole chain " +
                                 (r.data == p.chain_sha256[1] ? "file (PEM)" : "(DER)") +
                                 ", which no client computes",
                             "hash only the server's public key: publish \"" +
                                 (p.chain.empty() ? std::string("3 1 1 <digest>") : to_text(ee_record_for(p.chain[0]))) + "\"");
            x.evidence.push_back(zone_line(owner, r));
            said = true;
        }
        if (r.usage == kUsageDaneTa && !said) {
            bool any = false;
            for (const auto& c : p.chain) any |= matches(c, r);
            if (any) {
                Finding& x = add(FindingCode::ta_chain_invalid, n, where,
                                 "the DANE-TA(2) record " + to_text(r) + " matches a CA of the chain, but: " +
                                     p.verdict.reason,
                                 "make the server present a chain from that CA to a certificate for " + n +
                                     " (its name, valid dates, correct signatures), or publish \"" +
                                     (p.chain.empty() ? std::string("3 1 1 ...") : to_text(ee_record_for(p.chain[0]))) + "\"");
                x.evidence.push_back(zone_line(owner, r));
                said = true;
            } else if (!p.chain.empty() && !p.chain.back().self_issued) {
                Finding& x = add(FindingCode::ta_not_sent, n, where,
                                 "the DANE-TA(2) record " + to_text(r) + " matches no certificate the server sends; "
                                 "the chain ends at " + p.chain.back().subject + ", issued by " +
                                     p.chain.back().issuer + ", which the server does not send",
                                 "configure the server to send the intermediate CA certificate(s) after its own "
                                 "(the full chain file), or publish \"" + to_text(ee_record_for(p.chain[0])) + "\"");
                x.evidence.push_back(zone_line(owner, r));
                said = true;
            }
        }
        return said;
    }

    void handshakes(const HostPlan& h, const HostFacts& hf) {
        const std::string& n = h.name;
        bool tls_required = h.verdict == HostVerdict::dane || h.verdict == HostVerdict::encrypt;
        std::vector<const ProbeFacts*> passed, failed;
        std::set<std::string> failed_keys;  // leaves already reported as not matching
        for (const auto& p : hf.probes) {
            std::string where = p.address + (p.algorithms == "any" ? "" : " (" + p.algorithms + ")");
            if (p.skipped) {
                add(FindingCode::not_probed, n, where, p.error,
                    "check this domain alone, or give the check more time (--deadline)");
                continue;
            }
            if (!p.connected) {
                Finding& x = add(FindingCode::connect_failed, n, where,
                                 "no SMTP connection to " + p.address + ": " + p.error,
                                 "make the server listen on " + p.address + " port " + std::to_string(f_.plan.port) +
                                     ", or remove the address from DNS");
                x.evidence.push_back(p.error);
                failed.push_back(&p);
                continue;
            }
            if (!p.starttls) {
                FindingCode c = tls_required ? FindingCode::starttls_missing : FindingCode::starttls_missing_may;
                Finding& x = add(c, n, where,
                                 p.address + " does not offer STARTTLS" +
                                     (tls_required ? ": DANE clients send nothing to it (RFC 7672 section 2.2)"
                                                   : ": mail goes in clear text"),
                                 "enable STARTTLS on the server (and check that no middlebox strips it from EHLO)");
                x.evidence.push_back(p.error);
                if (tls_required) failed.push_back(&p);
                continue;
            }
            if (!p.tls) {
                Finding& x = add(FindingCode::handshake_failed, n, where,
                                 "the TLS handshake with " + p.address + " failed: " + p.error,
                                 "offer TLS 1.2 or 1.3 with current ciphers and a certificate the server holds the key of");
                x.evidence.push_back(p.error);
                if (tls_required) failed.push_back(&p);
                continue;
            }
            if (!p.judged) {
                if (h.verdict != HostVerdict::dane) continue;  // nothing to judge against
                Finding& x = add(FindingCode::chain_not_judged, n, where,
                                 "the chain " + p.address + " presents could not be judged: " +
                                     (p.error.empty() ? std::string("no certificate") : p.error),
                                 "present a chain of at most 32 certificates of at most 64 KiB each, leaf first");
                x.evidence.push_back(p.error);
                failed.push_back(&p);
                continue;
            }
            if (p.verdict.outcome == Outcome::authenticated) {
                passed.push_back(&p);
                if (p.verdict.record.usage == kUsageDaneTa) {
                    for (std::size_t d = 0; d < p.chain.size(); ++d) {
                        const CertFacts& c = p.chain[d];
                        if (c.not_after - f_.now >= static_cast<std::int64_t>(f_.warn_days) * 86400) continue;
                        if (static_cast<int>(d) > p.verdict.depth) continue;  // above the trust anchor
                        Finding& x = add(FindingCode::cert_expiring, n, where,
                                         "the certificate at depth " + std::to_string(d) + " (" + c.subject +
                                             ") expires " + days_left(c.not_after, f_.now),
                                         "renew it; DANE-TA(2) chains are checked for expiry, DANE-EE(3) are not");
                        x.evidence.push_back("not after " + date_of(c.not_after));
                    }
                }
                continue;
            }
            failed.push_back(&p);
            std::string leaf = p.chain.empty() ? std::string() : hex_encode(p.chain[0].association[1][1]);
            bool said = false;
            for (const auto& r : hf.tlsa.tlsa)
                if (!unusable_reason(r)) said |= explain_record(h, hf, p, r, where);
            if (failed_keys.insert(leaf).second || said) {
                std::string fix = p.chain.empty()
                                      ? std::string("make the server present a certificate")
                                      : "if " + p.chain[0].subject + " with SPKI SHA2-256 " + leaf.substr(0, 16) +
                                            "... is your server's key (confirm on the server: `danesmtp tlsa --host " +
                                            n + " KEY.pem`; a different key here may also mean the path from this "
                                            "checker is intercepted), publish \"" +
                                            zone_line(hf.tlsa.owner, ee_record_for(p.chain[0])) +
                                            "\" beside the records of the other keys in use; otherwise configure "
                                            "the server with the key the records name";
                Finding& x = add(FindingCode::tlsa_no_match, n, where,
                                 "no usable TLSA record at " + hf.tlsa.owner + " matches the chain " + p.address +
                                     " presents" + (p.algorithms == "any" ? "" : " to a client offering " + p.algorithms) +
                                     ": " + p.verdict.reason,
                                 fix);
                if (!p.chain.empty())
                    x.evidence.push_back("presented: " + p.chain[0].subject + ", " + p.chain[0].key +
                                         ", SPKI SHA2-256 " + leaf);
                for (const auto& r : hf.tlsa.tlsa) x.evidence.push_back("published: " + zone_line(hf.tlsa.owner, r));
            }
        }
        // Records for keys no address presents: a pre-published next key (good)
        // or a stale one; a note either way once something matched.
        if (!passed.empty()) {
            for (const auto& r : hf.tlsa.tlsa) {
                if (r.usage != kUsageDaneEe || unusable_reason(r)) continue;
                bool any = false;
                for (const auto& p : hf.probes)
                    for (const auto& c : p.chain) any |= matches(c, r);
                if (!any) {
                    Finding& x = add(FindingCode::next_key_published, n, "",
                                     "the record " + to_text(r) + " matches no key any address presents",
                                     "if it is the next key, keep it until the switch; if it is an old key, "
                                     "remove it");
                    x.evidence.push_back(zone_line(hf.tlsa.owner, r));
                }
            }
        }
        if (!passed.empty() && !failed.empty()) {
            bool fam_pass[2] = {false, false}, fam_fail[2] = {false, false};
            std::set<std::string> alg_pass, alg_fail;
            for (auto* p : passed) {
                fam_pass[is_ipv6(p->address)] = true;
                alg_pass.insert(p->chain.empty() ? "" : p->chain[0].key.substr(0, p->chain[0].key.find(' ')));
            }
            for (auto* p : failed) {
                fam_fail[is_ipv6(p->address)] = true;
                alg_fail.insert(p->chain.empty() ? "" : p->chain[0].key.substr(0, p->chain[0].key.find(' ')));
            }
            auto list = [](const std::vector<const ProbeFacts*>& v) {
                std::string s;
                for (auto* p : v)
                    s += (s.empty() ? "" : ", ") + p->address + (p->algorithms == "any" ? "" : " (" + p->algorithms + ")");
                return s;
            };
            bool by_family = (fam_pass[0] != fam_pass[1]) && (fam_fail[0] != fam_fail[1]) && fam_pass[0] != fam_fail[0];
            bool by_alg = !by_family && [&] {
                for (const auto& a : alg_pass)
                    if (alg_fail.count(a)) return false;
                return true;
            }();
            FindingCode c = by_family ? FindingCode::family_mismatch
                            : by_alg  ? FindingCode::algorithm_mismatch
                                      : FindingCode::address_mismatch;
            std::string what = by_family ? std::string(fam_pass[0] ? "IPv4 matches, IPv6 does not" : "IPv6 matches, IPv4 does not")
                               : by_alg  ? "the " + *alg_pass.begin() + " chain matches, the " +
                                              (alg_fail.empty() ? std::string("other") : *alg_fail.begin()) + " chain does not"
                                         : std::string("some addresses match, others do not");
            Finding& x = add(c, n, "", n + ": " + what,
                             by_alg ? std::string("publish a record for every key the server holds (one per algorithm), "
                                                  "or let the server use one key")
                                    : "make every address of " + n + " serve the same key and chain "
                                      "(a second server or a load balancer with an old certificate?)");
            x.evidence.push_back("match: " + list(passed));
            x.evidence.push_back("no match: " + list(failed));
        }
        if (!passed.empty() && failed.empty() && h.verdict == HostVerdict::dane) {
            add(FindingCode::verified, n, "",
                n + ": every address (" + std::to_string(passed.size()) + " handshake" +
                    (passed.size() == 1 ? "" : "s") + ") presents a chain a DANE client authenticates",
                "nothing to do");
        }
    }
};

}  // namespace

std::string algorithm_name(std::uint8_t a) {
    // RFC 8624 section 3.1 registry names.
    static const char* const names[] = {"",         "RSAMD5",          "DH",
                                        "DSA",      "",                "RSASHA1",
                                        "DSA-NSEC3-SHA1", "RSASHA1-NSEC3-SHA1", "RSASHA256",
                                        "",         "RSASHA512",       "",
                                        "ECC-GOST", "ECDSAP256SHA256", "ECDSAP384SHA384",
                                        "ED25519",  "ED448"};
    std::string n = a < sizeof names / sizeof names[0] ? names[a] : "";
    return (n.empty() ? std::string("algorithm") : n) + "(" + std::to_string(a) + ")";
}

BogusReason explain_bogus(const std::string& why) {
    BogusReason b;
    // libunbound names the zone of the failing key ("for key Z.") or the
    // RRset ("<NAME TYPE IN>"): the first is the zone to repair.
    b.zone = name_after(why, "for key ");
    if (b.zone.empty()) b.zone = name_after(why, "<");
    std::string z = b.zone.empty() ? std::string("the zone") : b.zone;
    b.known = true;
    if (contains(why, "signature expired")) {
        b.what = "an RRSIG of " + z + " has expired";
        b.fix = "re-sign " + z + " and check that re-signing runs on schedule (dnssec-signzone from cron, "
                "inline signing, OpenDNSSEC); signatures must outlive their TTLs";
    } else if (contains(why, "before inception")) {
        b.what = "an RRSIG of " + z + " is not valid yet (its inception is in the future)";
        b.fix = "check the signer's clock, and re-sign " + z + " with an inception in the past";
    } else if (contains(why, "have a DS") || contains(why, "DS hash mismatch") || contains(why, "no DS")) {
        b.what = "the DS record in the parent zone matches no DNSKEY of " + z;
        b.fix = "publish at the registrar (the parent zone) a DS of the key that now signs " + z +
                "'s DNSKEY RRset (ldns-key2ds or dnssec-dsfromkey print it), and remove the stale DS "
                "once it has expired from caches (RFC 6781 section 4.1.2)";
    } else if (contains(why, "unknown keys") || contains(why, "no keys")) {
        b.what = "the RRSIGs of " + z + " were made with a key its DNSKEY RRset does not hold";
        b.fix = "publish the signing key in " + z + "'s DNSKEY RRset, or re-sign with the published key";
    } else if (contains(why, "signature verification failed") || contains(why, "signature crypto failed") ||
               contains(why, "verification failed")) {
        b.what = "an RRSIG of " + z + " does not verify (records changed after signing, or a damaged signature)";
        b.fix = "re-sign " + z + " and check that every authoritative server serves the signed copy";
    } else if (contains(why, "no signatures") || contains(why, "no DNSSEC records") || contains(why, "unsigned")) {
        b.what = "records of the signed zone " + z + " come without RRSIGs";
        b.fix = "serve the signed zone file of " + z +
                " on every authoritative server (a server with an unsigned copy, or a middlebox stripping "
                "DNSSEC records?)";
    } else if (contains(why, "indeterminate")) {
        b.what = "no trust anchor covers the name, so its answers cannot be validated";
        b.fix = "configure the root trust anchor (dns-root-data) or one for the zone";
    } else {
        b.known = false;
        b.what = "DNSSEC validation failed in " + z;
        b.fix = "repair the DNSSEC chain to " + z +
                ": the DS in the parent must match a DNSKEY of the zone, and every RRSIG must be valid now";
    }
    return b;
}

const char* severity_name(Severity s) {
    switch (s) {
        case Severity::error: return "error";
        case Severity::warning: return "warning";
        case Severity::note: return "note";
    }
    return "error";
}

const char* finding_code(FindingCode c) { return entry(c).name; }
Severity finding_severity(FindingCode c) { return entry(c).severity; }
const char* finding_title(FindingCode c) { return entry(c).title; }
std::size_t finding_catalogue_size() { return sizeof kCatalogue / sizeof kCatalogue[0]; }
FindingCode finding_at(std::size_t i) { return kCatalogue[i].code; }

std::vector<Finding> diagnose(const CheckFacts& facts) {
    std::vector<Finding> out = Diagnosis(facts).run();
    // Errors first, then warnings, then notes; within a severity, the order found.
    std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
        return static_cast<int>(finding_severity(a.code)) < static_cast<int>(finding_severity(b.code));
    });
    return out;
}

int check_exit_status(const CheckFacts& facts, const std::vector<Finding>& findings) {
    if (facts.plan.status == DomainStatus::defer) return 3;
    if (facts.plan.status == DomainStatus::null_mx || facts.plan.status == DomainStatus::nxdomain) return 4;
    bool warning = false;
    for (const auto& f : findings) {
        if (finding_severity(f.code) == Severity::error) return 1;
        warning |= finding_severity(f.code) == Severity::warning;
    }
    return warning ? 5 : 0;
}

std::string probe_level(const CheckFacts& facts, const HostPlan& host, const ProbeFacts& p) {
    (void)facts;
    if (p.skipped) return "Skipped";
    if (!p.connected) return "Unreachable";
    if (!p.tls) return "Cleartext";
    if (!p.judged) return "Untrusted";
    if (p.verdict.outcome != Outcome::authenticated) return "Untrusted";
    return host.verified_possible ? "Verified" : "Trusted";
}

}  // namespace danesmtp::core
