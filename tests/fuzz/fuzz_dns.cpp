// SPDX-License-Identifier: MIT
// fuzz_dns.cpp - MX host discovery (core::plan_domain, RFC 7672 section 2)
// with every DNS answer taken from the fuzz input, and the decision checked.
//
// The fake resolver answers each new question (name, type) from the input:
//   byte  bits 0-1 security: secure, insecure, bogus, failed
//         bit 2    NXDOMAIN
//         bits 3-4 canonical name (CNAME target): none; a name asked before
//                  (another host, the domain), maybe upper-cased or with a
//                  trailing dot; up to 63 raw bytes; one of kOddNames
//                  ("a\\032b.example.org", ".", over-long...)
//         bits 5-6 0-3 RDATA; bit 7: 4-32 instead (the bounds on hosts and
//                  addresses)
//   RDATA byte bit 7: that many raw bytes (bits 0-6); else well-formed for
//         the type: A, AAAA, MX (preference, then a wire name of labels from
//         kLabels, raw labels, or a name asked before), CNAME (such a name),
//         TLSA (usage 0-3, selector 0-1, matching type 0-2; data of the
//         digest's length, or for Full(0) a length byte and that many bytes)
// A question asked again gets the same answer, as from a validating
// resolver's cache (without that, two MX records naming the same host could
// see a bogus and a secure answer for one name). The input is consumed in the
// order of the questions; once exhausted every answer is a secure NODATA.
//
// plan_domain runs for example.org, port 25, with the default policy and
// again with insecure_mx = ignore (same answers). Properties checked, for
// every host whose verdict is not `unreachable` ("usable"):
//   (1) no A, AAAA or CNAME question for the host's name got a bogus or failed
//       answer; A and AAAA were asked, and the host has an address;
//   (1') the TLSA questions the host's decision depends on got no bogus or
//       failed answer (and were asked): RFC 7672 section 2.2.2 and RFC 7671
//       section 7. The bases are, in order,
//         - secure addresses: the CNAME-expanded name (if any), then the name;
//         - insecure addresses reached through a CNAME whose first link is
//           secure (a secure CNAME answer with data for the name): the name;
//         - other insecure addresses, and any host under an insecure MX RRset
//           with insecure_mx = ignore: none (no TLSA lookup at all);
//       walked while the answer is a secure denial, skipping owners over 253
//       octets (RFC 1035 section 2.3.4: no record can exist there).
//       Why not simply "no TLSA question for _25._tcp.NAME or _25._tcp.CANONICAL
//       got a bad answer" (the fuzzer breaks that in a minute, by design):
//       such a question may have been asked for another host, or in the
//       other run. Host B whose CNAME points to host A's name asks TLSA at
//       A's name; a host that must not look at TLSA (insecure addresses, or
//       insecure_mx = ignore) is not concerned by a bogus answer there, nor
//       is a host by its second base once the first one answered (insecure,
//       or records). corpus/dns/tlsa-bad-at-cname-target-of-insecure-host:
//       MX hosts A and B, B insecure through a secure CNAME to A: TLSA at A
//       failed (A unreachable), TLSA at B a secure denial (B "may").
//       corpus/dns/tlsa-bad-then-insecure-mx-ignore: insecure MX, TLSA bogus
//       (unreachable), then with insecure_mx = ignore "may" without TLSA.
//   (1'') a `dane` host's TLSA base answered secure with records;
//         `verified_possible` only under a secure MX RRset;
//   (2) a bogus or failed MX answer: status defer, no usable host;
//   (3) status ok: some usable host; status nxdomain: the MX answer said so;
//   (4) a usable host's name is a normalized host name (normalize_name keeps it);
// and plan_domain throws nothing (hostile DNS data is a plan, not an error).
// A violation prints the plan and every question with its answer, then aborts;
// FUZZ_DNS_VERBOSE=1 in the environment prints them for every input.
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/discovery.hpp"
#include "core/names.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;
using core::DnsResult;
using core::DnsSecurity;

namespace {

const char* const kDomain = "example.org";

const std::string kLong63(63, 'a');
const std::string kLabels[] = {"mx", "mx1", "mx2", "example", "org", "net", "a", "b",
                               "_25", "_tcp", "*", "xn--bcher-kva", "MX", "x-y", kLong63, "-"};

// Two long names: TLSA owner of 253 octets (the longest that can exist), and
// of 260 (cannot exist).
std::string long_name(std::size_t labels, std::size_t label_len, const std::string& tld) {
    std::string s;
    for (std::size_t i = 0; i < labels; ++i) s += std::string(label_len, 'b') + ".";
    return s + tld;
}
const std::string kOddNames[] = {
    "a\\032b.example.org", "a\\.b.example.org", "A.Example.ORG.", ".", "", "mx.example.org.",
    "*.example.org", "x..example.org", "\\255.example.org", "a b.example.org", "-.example.org",
    "mx\\\\.example.org", "mx.example.org", long_name(4, 60, "org"), long_name(4, 61, "org"),
    "xn--bcher-kva.example.org", std::string("nul\0.example.org", 16), "\xc3\xa9.example.org"};

std::string upper(std::string s) {
    for (auto& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

const char* type_name(std::uint16_t t) {
    switch (t) {
        case core::kTypeA: return "A";
        case core::kTypeAaaa: return "AAAA";
        case core::kTypeCname: return "CNAME";
        case core::kTypeMx: return "MX";
        case core::kTypeTlsa: return "TLSA";
    }
    return "?";
}

std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

bool bad(const DnsResult* r) {
    return r && (r->security == DnsSecurity::bogus || r->security == DnsSecurity::failed);
}

class FuzzResolver : public core::Resolver {
public:
    explicit FuzzResolver(fuzz::Reader* in) : in_(in) {}

    std::vector<DnsResult> resolve(const std::vector<core::DnsQuery>& queries) override {
        std::vector<DnsResult> out;
        for (const auto& q : queries) {
            std::string key = key_of(q.name, q.type);
            auto it = answers_.find(key);
            if (it == answers_.end()) {
                remember(q.name);
                it = answers_.emplace(key, answer(q.type)).first;
                order_.push_back(key);
            }
            out.push_back(it->second);
        }
        return out;
    }

    // The answer given for (name, type), or nullptr when it was never asked.
    const DnsResult* asked(const std::string& name, std::uint16_t type) const {
        auto it = answers_.find(key_of(name, type));
        return it == answers_.end() ? nullptr : &it->second;
    }

    std::string log() const {
        std::string s;
        for (const auto& key : order_) {
            const DnsResult& r = answers_.at(key);
            s += "  " + printable(key) + " -> " + core::security_name(r.security) + (r.nxdomain ? " NXDOMAIN" : "") +
                 (r.canonical.empty() ? "" : " canonical '" + printable(r.canonical) + "'");
            for (const auto& rd : r.rdata) s += " [" + core::hex_encode(rd) + "]";
            s += "\n";
        }
        return s;
    }

private:
    static std::string key_of(const std::string& name, std::uint16_t type) {
        return fuzz::ascii_lower(name) + " " + type_name(type);
    }

    // Names asked about (TLSA owners without their prefix) become material
    // for CNAME targets and MX exchanges, so that hosts point at each other.
    void remember(const std::string& name) {
        std::string n = fuzz::ascii_lower(name);
        if (n.compare(0, 9, "_25._tcp.") == 0) n = n.substr(9);
        for (const auto& p : pool_)
            if (p == n) return;
        if (pool_.size() < 64) pool_.push_back(n);
    }

    core::Bytes wire_name() {
        std::uint8_t k = in_->byte();
        if (k & 0x80) return fuzz::wire_of(pool_[in_->byte() % pool_.size()]);
        core::Bytes w;
        for (int labels = k & 7; labels > 0; --labels) {
            std::uint8_t l = in_->byte();
            if (l & 0x80) {
                fuzz::Piece raw = in_->take(l & 0x3f);
                w.push_back(static_cast<std::uint8_t>(raw.size));
                w.insert(w.end(), raw.data, raw.data + raw.size);
            } else {
                const std::string& label = kLabels[l % (sizeof kLabels / sizeof kLabels[0])];
                w.push_back(static_cast<std::uint8_t>(label.size()));
                w.insert(w.end(), label.begin(), label.end());
            }
        }
        w.push_back(0);
        return w;
    }

    core::Bytes filled(std::size_t len) {
        fuzz::Piece p = in_->take(len);
        core::Bytes b(p.data, p.data + p.size);
        b.resize(len, 0);
        return b;
    }

    core::Bytes rdata(std::uint16_t type) {
        std::uint8_t m = in_->byte();
        if (m & 0x80) return in_->take(m & 0x7f).bytes();
        switch (type) {
            case core::kTypeA: return filled(4);
            case core::kTypeAaaa: return filled(16);
            case core::kTypeCname: return wire_name();
            case core::kTypeMx: {
                core::Bytes b = {0, static_cast<std::uint8_t>(m & 0x7f)};
                core::Bytes name = wire_name();
                b.insert(b.end(), name.begin(), name.end());
                return b;
            }
            case core::kTypeTlsa: {
                std::uint8_t usage = static_cast<std::uint8_t>(m & 3), selector = (m >> 2) & 1,
                             mtype = static_cast<std::uint8_t>((m >> 3) % 3);
                core::Bytes b = {usage, selector, mtype};
                core::Bytes d = filled(mtype == 1 ? 32 : mtype == 2 ? 64 : in_->byte());
                b.insert(b.end(), d.begin(), d.end());
                return b;
            }
        }
        return in_->take(m).bytes();
    }

    DnsResult answer(std::uint16_t type) {
        std::uint8_t b = in_->byte();
        DnsResult r;
        r.security = static_cast<DnsSecurity>(b & 3);
        r.nxdomain = (b & 4) != 0;
        switch ((b >> 3) & 3) {
            case 1: {
                std::uint8_t pick = in_->byte(), how = in_->byte();
                r.canonical = pool_[pick % pool_.size()];
                if (how & 1) r.canonical = upper(r.canonical);
                if (how & 2) r.canonical += ".";
                break;
            }
            case 2: r.canonical = std::string(in_->take(in_->byte() & 63).text()); break;
            case 3: r.canonical = kOddNames[in_->byte() % (sizeof kOddNames / sizeof kOddNames[0])]; break;
            default: break;
        }
        std::size_t count = (b >> 5) & 3;
        if (b & 0x80) count = 4 + in_->byte() % 29;
        for (std::size_t i = 0; i < count; ++i) r.rdata.push_back(rdata(type));
        if (bad(&r)) r.why = "fuzz";
        return r;
    }

    fuzz::Reader* in_;
    std::vector<std::string> pool_ = {kDomain, "mx.example.org", "mx2.example.net"};
    std::map<std::string, DnsResult> answers_;
    std::vector<std::string> order_;
};

std::string describe(const core::Plan& plan) {
    std::string s = std::string("status ") + core::domain_status_name(plan.status) + " (" + printable(plan.reason) +
                    "), MX " + core::security_name(plan.mx_security) + "\n";
    for (const auto& h : plan.hosts)
        s += "  host '" + printable(h.name) + "' canonical '" + printable(h.canonical) + "' " +
             core::verdict_name(h.verdict) + ": " + printable(h.reason) + "\n";
    return s;
}

class Checker {
public:
    Checker(const FuzzResolver& dns, const core::Plan& plan, const char* run) : dns_(dns), plan_(plan), run_(run) {}

    void require(bool ok, const std::string& what) const {
        if (!ok)
            fuzz::fail(std::string(run_) + ": " + what + "\nplan: " + describe(plan_) + "questions and answers:\n" +
                       dns_.log());
    }

    void check(const core::Policy& policy) const {
        const DnsResult* mx = dns_.asked(kDomain, core::kTypeMx);
        require(mx != nullptr, "no MX question");
        bool any = false;
        for (const auto& h : plan_.hosts)
            if (h.verdict != core::HostVerdict::unreachable) {
                any = true;
                check_host(h, *mx, policy);
            }
        require(!bad(mx) || (plan_.status == core::DomainStatus::defer && !any),
                "(2) a bogus or failed MX answer did not defer the domain");
        require(plan_.status != core::DomainStatus::ok || any, "(3) status ok without a usable host");
        require(plan_.status != core::DomainStatus::nxdomain || (mx->nxdomain && mx->rdata.empty()),
                "status nxdomain without an NXDOMAIN answer");
    }

private:
    void check_host(const core::HostPlan& h, const DnsResult& mx, const core::Policy& policy) const {
        std::string who = "host '" + printable(h.name) + "' (" + core::verdict_name(h.verdict) + "): ";
        std::string normalized;
        try {
            normalized = core::normalize_name(h.name);
        } catch (const Error& e) {
            normalized = std::string("(error: ") + e.what() + ")";
        }
        require(normalized == h.name, "(4) " + who + "the name is not a normalized host name");

        const DnsResult* a = dns_.asked(h.name, core::kTypeA);
        const DnsResult* aaaa = dns_.asked(h.name, core::kTypeAaaa);
        const DnsResult* cname = dns_.asked(h.name, core::kTypeCname);
        require(a && aaaa, "(1) " + who + "usable without an A and AAAA lookup");
        require(!bad(a) && !bad(aaaa) && !bad(cname), "(1) " + who + "an address or CNAME lookup was bogus or failed");
        require(!h.addresses.empty(), "(1) " + who + "usable without an address");
        require(!h.verified_possible || mx.security == DnsSecurity::secure,
                "(1'') " + who + "\"Verified\" possible under an insecure MX RRset");

        std::vector<std::string> bases;
        bool tlsa_ignored = policy.insecure_mx == core::InsecureMx::ignore && mx.security != DnsSecurity::secure;
        if (!tlsa_ignored && a->security == DnsSecurity::secure && aaaa->security == DnsSecurity::secure) {
            if (!h.canonical.empty()) bases.push_back(h.canonical);
            bases.push_back(h.name);
        } else if (!tlsa_ignored && !h.canonical.empty() && cname && cname->security == DnsSecurity::secure &&
                   !cname->rdata.empty()) {
            bases.push_back(h.name);
        }
        for (const auto& base : bases) {
            std::string owner = "_25._tcp." + base;
            if (owner.size() > core::kMaxNameLength) continue;
            const DnsResult* t = dns_.asked(owner, core::kTypeTlsa);
            require(t != nullptr, "(1') " + who + "decided without the TLSA lookup at " + owner);
            require(!bad(t), "(1') " + who + "usable although the TLSA lookup at " + owner + " was " +
                                 core::security_name(t->security));
            if (t->security == DnsSecurity::insecure || !t->rdata.empty()) break;
        }
        if (h.verdict == core::HostVerdict::dane) {
            const DnsResult* t = dns_.asked("_25._tcp." + h.tlsa_base, core::kTypeTlsa);
            require(t && t->security == DnsSecurity::secure && !t->rdata.empty(),
                    "(1'') " + who + "dane without a secure TLSA RRset at its base '" + printable(h.tlsa_base) + "'");
        }
    }

    const FuzzResolver& dns_;
    const core::Plan& plan_;
    const char* run_;
};

void plan_and_check(FuzzResolver& dns, const core::Policy& policy, const char* run) {
    core::Plan plan;
    try {
        plan = core::plan_domain(dns, kDomain, 25, policy);
    } catch (const Error& e) {
        fuzz::fail(std::string(run) + ": plan_domain threw: " + e.what() + "\nquestions and answers:\n" + dns.log());
    }
    static const bool verbose = std::getenv("FUZZ_DNS_VERBOSE") != nullptr;
    if (verbose)
        std::fprintf(stderr, "%s: %squestions and answers:\n%s", run, describe(plan).c_str(), dns.log().c_str());
    Checker(dns, plan, run).check(policy);
}

}  // namespace

FUZZ_TARGET(dns) {
    fuzz::Reader in(data, size);
    FuzzResolver dns(&in);
    core::Policy policy;
    plan_and_check(dns, policy, "default policy");
    policy.insecure_mx = core::InsecureMx::ignore;
    plan_and_check(dns, policy, "insecure_mx = ignore");
}
