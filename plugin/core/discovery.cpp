// SPDX-License-Identifier: MIT
// discovery.cpp - see discovery.hpp for the decision table.
#include "core/discovery.hpp"

#include <algorithm>
#include <cstdio>

#include "core/dname.hpp"
#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::core {

const char* security_name(DnsSecurity s) {
    switch (s) {
        case DnsSecurity::secure: return "secure";
        case DnsSecurity::insecure: return "insecure";
        case DnsSecurity::bogus: return "bogus";
        case DnsSecurity::failed: return "failed";
    }
    return "unknown";
}

const char* verdict_name(HostVerdict v) {
    switch (v) {
        case HostVerdict::dane: return "dane";
        case HostVerdict::encrypt: return "encrypt";
        case HostVerdict::may: return "may";
        case HostVerdict::unreachable: return "unreachable";
    }
    return "unknown";
}

const char* domain_status_name(DomainStatus s) {
    switch (s) {
        case DomainStatus::ok: return "ok";
        case DomainStatus::defer: return "defer";
        case DomainStatus::null_mx: return "null MX";
        case DomainStatus::nxdomain: return "no such domain";
    }
    return "unknown";
}

std::string address_text(const Bytes& rdata, std::uint16_t type) {
    char buf[64];
    if (type == kTypeA && rdata.size() == 4) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", rdata[0], rdata[1], rdata[2], rdata[3]);
        return buf;
    }
    if (type == kTypeAaaa && rdata.size() == 16) {
        // RFC 5952 text: longest run of zero groups as "::", lower-case hex.
        unsigned g[8];
        for (int i = 0; i < 8; ++i) g[i] = static_cast<unsigned>(rdata[2 * i] << 8 | rdata[2 * i + 1]);
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
            if (g[i] != 0) {
                ++i;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) ++j;
            if (j - i > best_len && j - i >= 2) {
                best = i;
                best_len = j - i;
            }
            i = j;
        }
        std::string s;
        for (int i = 0; i < 8; ++i) {
            if (i == best) {
                s += "::";
                i += best_len - 1;
                continue;
            }
            if (!s.empty() && s.back() != ':') s += ":";
            std::snprintf(buf, sizeof buf, "%x", g[i]);
            s += buf;
        }
        return s;
    }
    throw Error(ErrorCode::parse, "address RDATA of unexpected length " + std::to_string(rdata.size()));
}

namespace {

// The weaker of two DNSSEC states: failed < bogus < insecure < secure.
DnsSecurity weakest(DnsSecurity a, DnsSecurity b) {
    auto rank = [](DnsSecurity s) {
        switch (s) {
            case DnsSecurity::failed: return 0;
            case DnsSecurity::bogus: return 1;
            case DnsSecurity::insecure: return 2;
            case DnsSecurity::secure: return 3;
        }
        return 0;
    };
    return rank(a) <= rank(b) ? a : b;
}

std::string why(const DnsResult& r) { return r.why.empty() ? std::string() : " (" + r.why + ")"; }

std::string tlsa_owner(std::uint16_t port, const std::string& base) {
    return "_" + std::to_string(port) + "._tcp." + base;
}

void add_name(std::vector<std::string>* names, const std::string& n) {
    if (!n.empty() && std::find(names->begin(), names->end(), n) == names->end())
        names->push_back(n);
}

bool is_mandatory(const Policy& p, const std::string& domain) {
    return std::find(p.mandatory.begin(), p.mandatory.end(), domain) != p.mandatory.end();
}

// Host work in phases; every phase sends one batch for all hosts, so a
// domain's decision costs about the slowest lookup, not the sum.
struct HostWork {
    HostPlan* plan;
    bool mx_secure;
    std::vector<std::string> bases;  // TLSA base domain candidates, in order
    std::size_t next_base = 0;
    bool decided = false;
    bool tried_any = false;             // a TLSA query was sent for some candidate
    std::string too_long;               // the first candidate whose TLSA owner cannot exist
    std::vector<std::string>* notes = nullptr;  // Plan::notes
};

void decide(HostWork* w, HostVerdict v, std::string reason) {
    w->plan->verdict = v;
    w->plan->reason = std::move(reason);
    w->decided = true;
}

// Phase 1: A and AAAA (RFC 7672 section 2.2.2: addresses before TLSA).
void lookup_addresses(Resolver& resolver, std::vector<HostWork>& work) {
    std::vector<DnsQuery> q;
    for (auto& w : work) {
        q.push_back({w.plan->name, kTypeA});
        q.push_back({w.plan->name, kTypeAaaa});
    }
    if (q.empty()) return;
    std::vector<DnsResult> r = resolver.resolve(q);
    std::vector<DnsQuery> cname_q;
    std::vector<HostWork*> cname_w;
    for (std::size_t i = 0; i < work.size(); ++i) {
        HostWork& w = work[i];
        HostPlan& h = *w.plan;
        const DnsResult& a = r[2 * i];
        const DnsResult& aaaa = r[2 * i + 1];
        DnsSecurity sec = weakest(a.security, aaaa.security);
        h.address_security = sec;
        if (sec == DnsSecurity::bogus || sec == DnsSecurity::failed) {
            const DnsResult& bad = weakest(a.security, aaaa.security) == a.security ? a : aaaa;
            decide(&w, HostVerdict::unreachable,
                   std::string("address lookup ") + security_name(sec) + why(bad));
            continue;
        }
        for (const auto* res : {&a, &aaaa}) {
            std::size_t taken = 0;
            for (const auto& rd : res->rdata) {
                if (taken == kMaxAddressesPerFamily) {
                    w.notes->push_back(h.name + ": " + std::to_string(res->rdata.size()) + " " +
                                       (res == &a ? "IPv4" : "IPv6") + " addresses, the first " +
                                       std::to_string(kMaxAddressesPerFamily) + " used");
                    break;
                }
                try {
                    h.addresses.push_back(address_text(rd, res == &a ? kTypeA : kTypeAaaa));
                    ++taken;
                } catch (const Error&) {
                    // a malformed address record is skipped, not trusted
                }
            }
        }
        std::string canonical = !a.canonical.empty() ? a.canonical : aaaa.canonical;
        if (!canonical.empty()) {
            // The CNAME target as the resolver read it from the answer. One
            // we cannot carry exactly would become a TLSA base domain that
            // names another owner (dname.hpp): unreachable, never "no TLSA".
            std::string bad;
            auto target = host_name_of(canonical, &bad);
            if (!target) {
                h.canonical = canonical;
                decide(&w, HostVerdict::unreachable, "CNAME target: " + bad + ": host unreachable");
                continue;
            }
            if (*target != h.name) h.canonical = *target;
        }
        if (h.addresses.empty()) {
            decide(&w, HostVerdict::unreachable,
                   a.nxdomain ? "host name does not exist" : "host has no address records");
            continue;
        }
        if (sec == DnsSecurity::secure) {
            // RFC 7672 section 2.2.2 / RFC 7671 section 7: a secure CNAME
            // chain makes the expanded name the first TLSA base domain, the
            // original name the second.
            if (!h.canonical.empty()) w.bases.push_back(h.canonical);
            w.bases.push_back(h.name);
            continue;
        }
        // Insecure addresses. Without a CNAME: no TLSA lookup at all (this
        // also spares hosts in unsigned zones whose servers mishandle TLSA
        // queries). With a CNAME, the first link may still be secure: then
        // the original name is the only TLSA base domain.
        if (h.canonical.empty()) {
            decide(&w, HostVerdict::may,
                   "address records are insecure: no TLSA lookup (RFC 7672 section 2.2.2)");
            continue;
        }
        cname_q.push_back({h.name, kTypeCname});
        cname_w.push_back(&w);
    }
    if (cname_q.empty()) return;
    std::vector<DnsResult> c = resolver.resolve(cname_q);
    for (std::size_t i = 0; i < cname_w.size(); ++i) {
        HostWork& w = *cname_w[i];
        const DnsResult& res = c[i];
        if (res.security == DnsSecurity::secure && !res.rdata.empty()) {
            w.bases.push_back(w.plan->name);
        } else if (res.security == DnsSecurity::bogus || res.security == DnsSecurity::failed) {
            decide(&w, HostVerdict::unreachable,
                   std::string("CNAME lookup ") + security_name(res.security) + why(res));
        } else {
            decide(&w, HostVerdict::may,
                   "address records are insecure: no TLSA lookup (RFC 7672 section 2.2.2)");
        }
    }
}

// Phase 2+: TLSA at the next base domain candidate of every undecided host.
void lookup_tlsa(Resolver& resolver, std::vector<HostWork>& work, std::uint16_t port) {
    for (;;) {
        std::vector<DnsQuery> q;
        std::vector<HostWork*> who;
        for (auto& w : work) {
            if (w.decided) continue;
            // A TLSA owner name over 255 octets cannot exist in DNS (RFC 1035
            // section 2.3.4), so no record can be published there: that
            // candidate is as empty as a secure denial, and no attacker can
            // bring it about (the name came from a secure answer). Skip it
            // (docs/decisions.md, "TLSA owner names over 255 octets").
            while (w.next_base < w.bases.size() &&
                   tlsa_owner(port, w.bases[w.next_base]).size() > kMaxNameLength) {
                if (w.too_long.empty()) w.too_long = w.bases[w.next_base];
                ++w.next_base;
            }
            if (w.next_base >= w.bases.size()) {
                if (!w.too_long.empty() && !w.tried_any)
                    decide(&w, HostVerdict::may,
                           "no TLSA record can exist at " + tlsa_owner(port, w.too_long) +
                               " (longer than 255 octets, RFC 1035 section 2.3.4): as a secure "
                               "denial, opportunistic TLS");
                else
                    decide(&w, HostVerdict::may,
                           "no TLSA records (secure denial): opportunistic TLS");
                continue;
            }
            w.tried_any = true;
            q.push_back({tlsa_owner(port, w.bases[w.next_base]), kTypeTlsa});
            who.push_back(&w);
        }
        if (q.empty()) return;
        std::vector<DnsResult> r = resolver.resolve(q);
        for (std::size_t i = 0; i < who.size(); ++i) {
            HostWork& w = *who[i];
            HostPlan& h = *w.plan;
            const DnsResult& res = r[i];
            const std::string& base = w.bases[w.next_base++];
            switch (res.security) {
                case DnsSecurity::bogus:
                case DnsSecurity::failed:
                    // Never "may" on an error: that is the downgrade (section 2.2.3).
                    decide(&w, HostVerdict::unreachable,
                           "TLSA lookup for " + tlsa_owner(port, base) + " " +
                               security_name(res.security) + why(res));
                    continue;
                case DnsSecurity::insecure:
                    decide(&w, HostVerdict::may,
                           "TLSA records for " + tlsa_owner(port, base) +
                               " are insecure: opportunistic TLS");
                    continue;
                case DnsSecurity::secure:
                    break;
            }
            if (res.rdata.empty()) continue;  // secure denial: next candidate
            // Bounds (discovery.hpp): past them the host is unreachable, the
            // domain's other hosts are unaffected (issue 7 item 5).
            std::size_t bytes = 0;
            for (const auto& rd : res.rdata) bytes += rd.size();
            if (res.rdata.size() > kMaxRecordsPerSet || bytes > kMaxTlsaBytes) {
                decide(&w, HostVerdict::unreachable,
                       "TLSA RRset at " + tlsa_owner(port, base) + " holds " + std::to_string(res.rdata.size()) +
                           " records (" + std::to_string(bytes) + " bytes), over the limit of " +
                           std::to_string(kMaxRecordsPerSet) + " records and " + std::to_string(kMaxTlsaBytes) +
                           " bytes: host unreachable");
                continue;
            }
            h.tlsa_base = base;
            h.sni = base;
            std::size_t usable = 0;
            for (const auto& rd : res.rdata) {
                try {
                    h.records.push_back(parse_tlsa_rdata(rd.data(), rd.size()));
                    if (!unusable_reason(h.records.back())) ++usable;
                } catch (const Error&) {
                    // Too short to be a record: unusable, like an unknown value.
                }
            }
            if (usable)
                decide(&w, HostVerdict::dane,
                       std::to_string(usable) + " usable TLSA record(s) at " + tlsa_owner(port, base));
            else
                decide(&w, HostVerdict::encrypt,
                       "TLSA records at " + tlsa_owner(port, base) +
                           " are all unusable: TLS without authentication (RFC 7672 section 2.2)");
        }
    }
}

void finish_host(HostWork& w, const Plan& plan, const Policy& policy,
                 const std::vector<std::string>& domain_names) {
    HostPlan& h = *w.plan;
    if (!h.tlsa_base.empty()) {
        // Reference identifiers (section 3.2.3): the TLSA base domain, plus
        // for a secure MX lookup the next-hop domain and its CNAME expansion.
        add_name(&h.names, h.tlsa_base);
        if (w.mx_secure)
            for (const auto& n : domain_names) add_name(&h.names, n);
    }
    h.verified_possible = w.mx_secure && h.verdict == HostVerdict::dane;
    if (!w.mx_secure && (h.verdict == HostVerdict::dane || h.verdict == HostVerdict::encrypt)) {
        // Insecure MX RRset (section 2.2.1): DANE may still be used.
        switch (policy.insecure_mx) {
            case InsecureMx::dane:
                h.reason += "; MX RRset insecure: a match is \"Trusted\", never \"Verified\"";
                break;
            case InsecureMx::encrypt:
                h.verdict = HostVerdict::encrypt;
                h.reason += "; MX RRset insecure: TLS required without authentication (policy)";
                break;
            case InsecureMx::ignore:
                h.verdict = HostVerdict::may;
                h.records.clear();
                h.names.clear();
                h.tlsa_base.clear();
                h.sni.clear();
                h.reason = "MX RRset insecure: TLSA ignored (policy)";
                break;
        }
    }
    if (plan.mandatory && (h.verdict == HostVerdict::may || h.verdict == HostVerdict::encrypt)) {
        h.reason = "DANE is mandatory for " + plan.domain + " but " + h.name +
                   " has no usable TLSA records (" + h.reason + ")";
        h.verdict = HostVerdict::unreachable;
    }
}

void settle(Plan* plan) {
    bool any = false;
    for (const auto& h : plan->hosts) any |= h.verdict != HostVerdict::unreachable;
    if (!any) {
        plan->status = DomainStatus::defer;
        plan->reason = plan->hosts.size() == 1 ? "the only MX host is unreachable: " + plan->hosts[0].reason
                                               : "every MX host is unreachable";
    } else {
        plan->status = DomainStatus::ok;
    }
    // What a bound made us ignore goes into the reason, for the log (at
    // most four notes, so that the reason itself stays bounded).
    std::string notes;
    for (std::size_t i = 0; i < plan->notes.size() && i < 4; ++i)
        notes += (notes.empty() ? "" : "; ") + plan->notes[i];
    if (plan->notes.size() > 4) notes += "; ...";
    if (!notes.empty())
        plan->reason += (plan->reason.empty() ? "limits: " : "; limits: ") + notes;
}

}  // namespace

Plan plan_domain(Resolver& resolver, const std::string& domain_in, std::uint16_t port,
                 const Policy& policy) {
    Plan plan;
    plan.domain = normalize_name(domain_in);
    plan.port = port;
    plan.mandatory = is_mandatory(policy, plan.domain);
    plan.audit_only = policy.audit_only;

    // RFC 7672 section 2.2.1: the MX lookup.
    DnsResult mx = resolver.resolve({{plan.domain, kTypeMx}}).at(0);
    plan.mx_security = mx.security;
    if (mx.security == DnsSecurity::bogus || mx.security == DnsSecurity::failed) {
        plan.status = DomainStatus::defer;
        plan.reason = std::string("MX lookup ") + security_name(mx.security) + why(mx) +
                      ": the destination cannot be determined (RFC 7672 section 2.2.1)";
        return plan;
    }
    std::vector<std::string> domain_names = {plan.domain};
    if (!mx.canonical.empty() && mx.security == DnsSecurity::secure) {
        // An expansion we cannot carry exactly is left out: one reference
        // identifier fewer is stricter, never weaker.
        std::string bad;
        if (auto n = host_name_of(mx.canonical, &bad); n && *n != plan.domain) add_name(&domain_names, *n);
    }
    bool mx_secure = mx.security == DnsSecurity::secure;

    if (mx.rdata.empty()) {
        if (mx.nxdomain) {
            plan.status = DomainStatus::nxdomain;
            plan.reason = "the domain does not exist";
            return plan;
        }
        // No MX: the domain is its own mail host (RFC 5321 section 5.1).
        plan.implicit_mx = true;
        HostPlan h;
        // The domain itself, not its CNAME target: lookup_addresses() follows
        // the CNAME and keeps the original name as a TLSA base domain
        // (RFC 7672 section 2.2.2, RFC 7671 section 7).
        h.name = plan.domain;
        plan.hosts.push_back(h);
    } else {
        struct Mx {
            std::uint16_t pref;
            std::string name;
            std::size_t order;
        };
        std::vector<Mx> mxs;
        for (std::size_t i = 0; i < mx.rdata.size(); ++i) {
            const Bytes& rd = mx.rdata[i];
            if (rd.size() < 3) continue;
            Mx m;
            m.pref = static_cast<std::uint16_t>(rd[0] << 8 | rd[1]);
            m.order = i;
            try {
                std::size_t pos = 2;
                WireName w = parse_wire_name(rd.data(), rd.size(), &pos);
                if (pos != rd.size()) continue;  // trailing bytes: not an MX record
                m.name = w.text;
            } catch (const Error&) {
                continue;  // malformed RDATA: not a host we could name
            }
            mxs.push_back(m);
        }
        // RFC 7505: a single MX with an empty exchange means "no mail".
        if (mxs.size() == 1 && mxs[0].name == ".") {
            plan.status = DomainStatus::null_mx;
            plan.reason = "null MX: the domain accepts no mail (RFC 7505)";
            return plan;
        }
        std::stable_sort(mxs.begin(), mxs.end(),
                         [](const Mx& a, const Mx& b) { return a.pref < b.pref; });
        if (mxs.size() > policy.max_hosts)
            plan.notes.push_back(std::to_string(mxs.size()) + " MX hosts, the " +
                                 std::to_string(policy.max_hosts) + " most preferred used");
        for (const auto& m : mxs) {
            if (plan.hosts.size() >= policy.max_hosts) break;
            HostPlan h;
            h.preference = m.pref;
            // A name we cannot carry exactly is an unreachable host, never a
            // host without TLSA (dname.hpp).
            std::string bad;
            if (auto n = host_name_of(m.name, &bad)) {
                h.name = *n;
            } else {
                h.name = m.name;
                h.reason = "unusable MX host name: " + bad + ": host unreachable";
                h.verdict = HostVerdict::unreachable;
            }
            plan.hosts.push_back(h);
        }
        if (plan.hosts.empty()) {
            plan.status = DomainStatus::defer;
            plan.reason = "no usable MX records";
            return plan;
        }
    }

    std::vector<HostWork> work;
    for (auto& h : plan.hosts)
        if (h.reason.empty()) work.push_back({&h, mx_secure, {}, 0, false, false, "", &plan.notes});
    lookup_addresses(resolver, work);
    if (!mx_secure && policy.insecure_mx == InsecureMx::ignore) {
        for (auto& w : work)
            if (!w.decided) decide(&w, HostVerdict::may, "MX RRset insecure: TLSA ignored (policy)");
    }
    lookup_tlsa(resolver, work, port);
    for (auto& w : work) finish_host(w, plan, policy, domain_names);
    settle(&plan);
    return plan;
}

Plan plan_host(Resolver& resolver, const std::string& host, std::uint16_t port,
               const Policy& policy) {
    Plan plan;
    plan.domain = normalize_name(host);
    plan.port = port;
    plan.mandatory = is_mandatory(policy, plan.domain);
    plan.audit_only = policy.audit_only;
    plan.mx_security = DnsSecurity::insecure;  // we did not see the MX lookup
    HostPlan h;
    h.name = plan.domain;
    plan.hosts.push_back(h);
    // The host counts as securely chosen for its own names: the TLSA base
    // domain is a reference identifier either way (section 3.2.3); with no
    // MX lookup seen there is no next-hop domain to add.
    std::vector<HostWork> work = {{&plan.hosts[0], true, {}, 0, false, false, "", &plan.notes}};
    lookup_addresses(resolver, work);
    lookup_tlsa(resolver, work, port);
    finish_host(work[0], plan, policy, {});
    plan.hosts[0].verified_possible = false;
    settle(&plan);
    return plan;
}

}  // namespace danesmtp::core
