// test_discovery.cpp - the RFC 7672 section 2 decision table with canned
// DNS answers. The same cases run against real NSD + libunbound in the lab
// (tests/lab/test_lab.cpp); these pin the logic and the queries it sends.
#include <boost/test/unit_test.hpp>

#include <map>

#include "core/config.hpp"
#include "core/discovery.hpp"
#include "core/error.hpp"

using namespace danesmtp;
using namespace danesmtp::core;

namespace {

// Canned answers keyed by "name/type"; a query with no answer fails (as a
// SERVFAIL would), and every query is recorded.
class FakeResolver : public Resolver {
public:
    std::map<std::string, DnsResult> answers;
    std::vector<std::string> asked;
    std::vector<std::size_t> batches;

    std::vector<DnsResult> resolve(const std::vector<DnsQuery>& qs) override {
        batches.push_back(qs.size());
        std::vector<DnsResult> out;
        for (const auto& q : qs) {
            std::string key = q.name + "/" + std::to_string(q.type);
            asked.push_back(key);
            auto it = answers.find(key);
            DnsResult r;
            r.why = "no canned answer";
            out.push_back(it == answers.end() ? r : it->second);
        }
        return out;
    }
    bool was_asked(const std::string& name, std::uint16_t type) const {
        std::string key = name + "/" + std::to_string(type);
        for (const auto& a : asked)
            if (a == key) return true;
        return false;
    }

    void set(const std::string& name, std::uint16_t type, DnsSecurity sec,
             std::vector<Bytes> rdata = {}, std::string canonical = "", bool nx = false) {
        DnsResult r;
        r.security = sec;
        r.rdata = std::move(rdata);
        r.canonical = std::move(canonical);
        r.nxdomain = nx;
        answers[name + "/" + std::to_string(type)] = r;
    }
    void mx(const std::string& domain, DnsSecurity sec,
            std::vector<std::pair<int, std::string>> hosts) {
        std::vector<Bytes> rd;
        for (const auto& [pref, host] : hosts) {
            Bytes b = {static_cast<std::uint8_t>(pref >> 8), static_cast<std::uint8_t>(pref)};
            std::size_t start = 0;
            while (start < host.size()) {
                std::size_t dot = host.find('.', start);
                if (dot == std::string::npos) dot = host.size();
                b.push_back(static_cast<std::uint8_t>(dot - start));
                b.insert(b.end(), host.begin() + static_cast<long>(start),
                         host.begin() + static_cast<long>(dot));
                start = dot + 1;
            }
            b.push_back(0);
            rd.push_back(b);
        }
        set(domain, kTypeMx, sec, rd);
    }
    void addr(const std::string& host, DnsSecurity sec, std::uint8_t last = 1,
              const std::string& canonical = "") {
        set(host, kTypeA, sec, {{127, 0, 1, last}}, canonical);
        set(host, kTypeAaaa, sec, {}, canonical);
    }
    void tlsa(const std::string& host, DnsSecurity sec, std::vector<Bytes> records,
              int port = 25) {
        set("_" + std::to_string(port) + "._tcp." + host, kTypeTlsa, sec, std::move(records));
    }
};

Bytes rec311() {
    Bytes b = {3, 1, 1};
    b.resize(35, 0xab);
    return b;
}
Bytes rec001() {
    Bytes b = {0, 0, 1};
    b.resize(35, 0xab);
    return b;
}

const DnsSecurity S = DnsSecurity::secure;
const DnsSecurity I = DnsSecurity::insecure;
const DnsSecurity B = DnsSecurity::bogus;
const DnsSecurity F = DnsSecurity::failed;

Plan run(FakeResolver& r, const std::string& domain, Policy p = {}) {
    return plan_domain(r, domain, 25, p);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(discovery)

BOOST_AUTO_TEST_CASE(secure_mx_with_tlsa_is_dane) {
    FakeResolver r;
    r.mx("example.net", S, {{10, "mx.example.net"}});
    r.addr("mx.example.net", S);
    r.tlsa("mx.example.net", S, {rec311()});
    Plan p = run(r, "Example.NET.");
    BOOST_TEST((p.status == DomainStatus::ok));
    BOOST_REQUIRE(p.hosts.size() == 1u);
    const HostPlan& h = p.hosts[0];
    BOOST_TEST((h.verdict == HostVerdict::dane), h.reason);
    BOOST_TEST(h.tlsa_base == "mx.example.net");
    BOOST_TEST(h.sni == "mx.example.net");
    BOOST_TEST(h.names == (std::vector<std::string>{"mx.example.net", "example.net"}),
               boost::test_tools::per_element());
    BOOST_TEST(h.addresses == std::vector<std::string>{"127.0.1.1"}, boost::test_tools::per_element());
    BOOST_TEST(h.verified_possible);
    BOOST_TEST(h.records.size() == 1u);
    // A/AAAA in one batch, then TLSA: concurrency per phase.
    BOOST_TEST(r.batches == (std::vector<std::size_t>{1, 2, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mx_failures_defer) {
    for (DnsSecurity sec : {B, F}) {
        FakeResolver r;
        r.mx("example.net", sec, {{10, "mx.example.net"}});
        Plan p = run(r, "example.net");
        BOOST_TEST((p.status == DomainStatus::defer));
        BOOST_TEST(p.hosts.empty());
        BOOST_TEST(!r.was_asked("mx.example.net", kTypeA));  // nothing is looked up further
    }
}

BOOST_AUTO_TEST_CASE(null_and_implicit_mx) {
    FakeResolver r;
    r.mx("null.example", S, {{0, ""}});
    BOOST_TEST((run(r, "null.example").status == DomainStatus::null_mx));

    r.set("implicit.example", kTypeMx, S);  // secure NODATA
    r.addr("implicit.example", S);
    r.tlsa("implicit.example", S, {rec311()});
    Plan p = run(r, "implicit.example");
    BOOST_TEST(p.implicit_mx);
    BOOST_REQUIRE(p.hosts.size() == 1u);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::dane));

    // No MX, and the domain is a CNAME: the domain stays the host name, so
    // TLSA at the original name is found (RFC 7672 section 2.2.2).
    r.set("alias.example", kTypeMx, S, {}, "provider.example");
    r.addr("alias.example", S, 7, "provider.example");
    r.set("_25._tcp.provider.example", kTypeTlsa, S, {}, "", true);
    r.tlsa("alias.example", S, {rec311()});
    Plan c = run(r, "alias.example");
    BOOST_REQUIRE(c.hosts.size() == 1u);
    BOOST_TEST(c.hosts[0].name == "alias.example");
    BOOST_TEST((c.hosts[0].verdict == HostVerdict::dane), c.hosts[0].reason);
    BOOST_TEST(c.hosts[0].tlsa_base == "alias.example");

    r.set("gone.example", kTypeMx, S, {}, "", true);
    BOOST_TEST((run(r, "gone.example").status == DomainStatus::nxdomain));
}

BOOST_AUTO_TEST_CASE(address_rules_section_2_2_2) {
    FakeResolver r;
    r.mx("example.net", S, {{10, "bogus.example.net"}, {20, "insec.example.net"},
                            {30, "noaddr.example.net"}, {40, "good.example.net"}});
    r.addr("bogus.example.net", B);
    r.addr("insec.example.net", I);
    r.tlsa("insec.example.net", S, {rec311()});
    r.set("noaddr.example.net", kTypeA, S);
    r.set("noaddr.example.net", kTypeAaaa, S);
    r.addr("good.example.net", S);
    r.tlsa("good.example.net", S, {rec311()});
    Plan p = run(r, "example.net");
    BOOST_REQUIRE(p.hosts.size() == 4u);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::unreachable));
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::may));
    BOOST_TEST((p.hosts[2].verdict == HostVerdict::unreachable));
    BOOST_TEST((p.hosts[3].verdict == HostVerdict::dane));
    // Insecure addresses: no TLSA query at all.
    BOOST_TEST(!r.was_asked("_25._tcp.insec.example.net", kTypeTlsa));
    BOOST_TEST(!r.was_asked("_25._tcp.bogus.example.net", kTypeTlsa));
    BOOST_TEST((p.status == DomainStatus::ok));
}

BOOST_AUTO_TEST_CASE(tlsa_outcomes_section_2_2_3) {
    FakeResolver r;
    r.mx("example.net", S, {{1, "a.example.net"}, {2, "b.example.net"}, {3, "c.example.net"},
                            {4, "d.example.net"}, {5, "e.example.net"}});
    for (const char* h : {"a", "b", "c", "d", "e"}) r.addr(std::string(h) + ".example.net", S);
    r.tlsa("a.example.net", B, {rec311()});
    r.tlsa("b.example.net", F, {});
    r.tlsa("c.example.net", I, {rec311()});
    r.set("_25._tcp.d.example.net", kTypeTlsa, S, {}, "", true);  // secure NXDOMAIN
    r.tlsa("e.example.net", S, {rec001()});                        // only unusable
    Plan p = run(r, "example.net");
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::unreachable), p.hosts[0].reason);
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::unreachable), p.hosts[1].reason);
    BOOST_TEST((p.hosts[2].verdict == HostVerdict::may), p.hosts[2].reason);
    BOOST_TEST((p.hosts[3].verdict == HostVerdict::may), p.hosts[3].reason);
    BOOST_TEST((p.hosts[4].verdict == HostVerdict::encrypt), p.hosts[4].reason);
    BOOST_TEST(p.hosts[4].sni == "e.example.net");
}

BOOST_AUTO_TEST_CASE(every_host_unreachable_defers) {
    FakeResolver r;
    r.mx("example.net", S, {{10, "mx.example.net"}});
    r.addr("mx.example.net", S);
    r.tlsa("mx.example.net", B, {rec311()});
    Plan p = run(r, "example.net");
    BOOST_TEST((p.status == DomainStatus::defer));
    BOOST_TEST(p.reason.find("bogus") != std::string::npos, p.reason);
}

BOOST_AUTO_TEST_CASE(cname_rules_rfc7671_section_7) {
    FakeResolver r;
    r.mx("example.net", S, {{1, "alias.example.net"}, {2, "orig.example.net"},
                            {3, "toinsec.example.net"}, {4, "insecalias.example.net"}});
    // Secure CNAME, TLSA at the expanded name.
    r.addr("alias.example.net", S, 1, "target.example.net");
    r.tlsa("target.example.net", S, {rec311()});
    // Secure CNAME, TLSA only at the original name.
    r.addr("orig.example.net", S, 2, "target2.example.net");
    r.set("_25._tcp.target2.example.net", kTypeTlsa, S, {}, "", true);
    r.tlsa("orig.example.net", S, {rec311()});
    // Secure CNAME to an insecure target: the original name only.
    r.addr("toinsec.example.net", I, 3, "host.insecure.example");
    r.set("toinsec.example.net", kTypeCname, S, {{0}});
    r.tlsa("toinsec.example.net", S, {rec311()});
    r.tlsa("host.insecure.example", I, {rec311()});
    // Insecure CNAME: no DANE.
    r.addr("insecalias.example.net", I, 4, "x.insecure.example");
    r.set("insecalias.example.net", kTypeCname, I, {{0}});
    Plan p = run(r, "example.net");
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::dane));
    BOOST_TEST(p.hosts[0].tlsa_base == "target.example.net");
    BOOST_TEST(p.hosts[0].canonical == "target.example.net");
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::dane));
    BOOST_TEST(p.hosts[1].tlsa_base == "orig.example.net");
    BOOST_TEST((p.hosts[2].verdict == HostVerdict::dane), p.hosts[2].reason);
    BOOST_TEST(p.hosts[2].tlsa_base == "toinsec.example.net");
    BOOST_TEST(!r.was_asked("_25._tcp.host.insecure.example", kTypeTlsa));
    BOOST_TEST((p.hosts[3].verdict == HostVerdict::may));
}

BOOST_AUTO_TEST_CASE(worse_mx_with_tlsa_does_not_preempt) {
    FakeResolver r;
    r.mx("example.net", S, {{20, "b.example.net"}, {10, "a.example.net"}});
    r.addr("a.example.net", S);
    r.addr("b.example.net", S);
    r.set("_25._tcp.a.example.net", kTypeTlsa, S, {}, "", true);
    r.tlsa("b.example.net", S, {rec311()});
    Plan p = run(r, "example.net");
    BOOST_TEST(p.hosts[0].name == "a.example.net");
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::may));
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::dane));
}

BOOST_AUTO_TEST_CASE(insecure_mx_policies_section_2_2_1) {
    auto setup = [](FakeResolver& r) {
        r.mx("example.org", I, {{10, "mx.signed.example"}});
        r.addr("mx.signed.example", S);
        r.tlsa("mx.signed.example", S, {rec311()});
    };
    {
        FakeResolver r;
        setup(r);
        Plan p = run(r, "example.org");
        BOOST_TEST((p.hosts[0].verdict == HostVerdict::dane));
        BOOST_TEST(!p.hosts[0].verified_possible);  // "Trusted", never "Verified"
        BOOST_TEST(p.hosts[0].names == std::vector<std::string>{"mx.signed.example"},
                   boost::test_tools::per_element());
    }
    {
        FakeResolver r;
        setup(r);
        Policy pol;
        pol.insecure_mx = InsecureMx::encrypt;
        BOOST_TEST((run(r, "example.org", pol).hosts[0].verdict == HostVerdict::encrypt));
    }
    {
        FakeResolver r;
        setup(r);
        Policy pol;
        pol.insecure_mx = InsecureMx::ignore;
        Plan p = run(r, "example.org", pol);
        BOOST_TEST((p.hosts[0].verdict == HostVerdict::may));
        BOOST_TEST(!r.was_asked("_25._tcp.mx.signed.example", kTypeTlsa));
    }
}

BOOST_AUTO_TEST_CASE(mandatory_dane_section_6) {
    FakeResolver r;
    r.mx("example.net", S, {{10, "mx.example.net"}});
    r.addr("mx.example.net", S);
    r.set("_25._tcp.mx.example.net", kTypeTlsa, S, {}, "", true);
    Policy pol;
    pol.mandatory = {"example.net"};
    Plan p = run(r, "example.net", pol);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::unreachable));
    BOOST_TEST((p.status == DomainStatus::defer));
    BOOST_TEST(p.hosts[0].reason.find("mandatory") != std::string::npos, p.hosts[0].reason);
    BOOST_TEST((run(r, "example.net").status == DomainStatus::ok));
}

BOOST_AUTO_TEST_CASE(single_host) {
    FakeResolver r;
    r.addr("mx.example.net", S);
    r.tlsa("mx.example.net", S, {rec311()}, 587);
    Plan p = plan_host(r, "mx.example.net", 587, {});
    BOOST_REQUIRE(p.hosts.size() == 1u);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::dane));
    BOOST_TEST(!p.hosts[0].verified_possible);
    BOOST_TEST(p.hosts[0].names == std::vector<std::string>{"mx.example.net"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(wire_names_and_addresses) {
    Bytes name = {2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    BOOST_TEST(wire_name(name, 0) == "mx.example");
    BOOST_CHECK_THROW(wire_name({2, 'm'}, 0), Error);
    BOOST_CHECK_THROW(wire_name({0xc0, 0x0c}, 0), Error);
    BOOST_TEST(address_text({127, 0, 0, 1}, kTypeA) == "127.0.0.1");
    Bytes v6(16, 0);
    v6[15] = 1;
    BOOST_TEST(address_text(v6, kTypeAaaa) == "::1");
    Bytes v6b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    BOOST_TEST(address_text(v6b, kTypeAaaa) == "2001:db8::1:0:0:1");
    BOOST_CHECK_THROW(address_text({1, 2, 3}, kTypeA), Error);
}

BOOST_AUTO_TEST_CASE(config_text) {
    Config c;
    apply_config_text(
        "# lab\n"
        "trust-anchor = test. 3600 IN DS 1 8 2 abcd\n"
        "stub = test. 127.0.0.1@5300\n"
        "forward = ::1@53\n"
        "timeout = 2500\n"
        "insecure-mx = encrypt\n"
        "mandatory-dane = Example.NET\n"
        "audit-only = yes\n"
        "digest-preference = sha256\n",
        "test", &c);
    BOOST_TEST(c.resolver.trust_anchors.size() == 1u);
    BOOST_TEST(c.resolver.stubs.at(0).first == "test");
    BOOST_TEST(c.resolver.stubs.at(0).second == "127.0.0.1@5300");
    BOOST_TEST(c.resolver.timeout_ms == 2500u);
    BOOST_TEST((c.policy.insecure_mx == InsecureMx::encrypt));
    BOOST_TEST(c.policy.mandatory.at(0) == "example.net");
    BOOST_TEST(c.policy.audit_only);
    BOOST_TEST((c.digests == DigestPreference::sha256_first));
    for (const char* bad : {"frobnicate = 1", "timeout = soon", "stub = test.", "forward = host.example",
                            "audit-only = maybe", "no equals sign", "insecure-mx = never", "timeout = 5"}) {
        Config d;
        try {
            apply_config_text(bad, "f", &d);
            BOOST_ERROR("accepted: " << bad);
        } catch (const Error& e) {
            BOOST_TEST(std::string(e.what()).find("f:1") == 0u, e.what());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
