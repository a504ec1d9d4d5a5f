// SPDX-License-Identifier: MIT
// test_discovery.cpp - the RFC 7672 section 2 decision table with canned
// DNS answers. The same cases run against real NSD + libunbound in the lab
// (tests/lab/test_lab.cpp); these pin the logic and the queries it sends.
#include <boost/test/unit_test.hpp>

#include <map>

#include "core/config.hpp"
#include "core/dname.hpp"
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
    // MX records with exchange names given as wire bytes (labels that hold
    // '.', spaces, a '*' label: what text cannot spell).
    void mx_wire(const std::string& domain, DnsSecurity sec, std::vector<Bytes> wire_names) {
        std::vector<Bytes> rd;
        std::uint8_t pref = 10;
        for (auto& w : wire_names) {
            Bytes b = {0, pref};
            pref = static_cast<std::uint8_t>(pref + 10);
            b.insert(b.end(), w.begin(), w.end());
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
    auto parse = [](const Bytes& b) {
        std::size_t pos = 0;
        WireName w = parse_wire_name(b.data(), b.size(), &pos);
        BOOST_TEST(pos == b.size());
        return w;
    };
    WireName ok = parse({2, 'M', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
    BOOST_TEST(ok.text == "mx.example");
    BOOST_TEST(ok.host);
    BOOST_TEST(parse({0}).text == ".");
    BOOST_TEST(!parse({0}).host);
    // A label holding '.', a space, a '*' label: printed with escapes (or as
    // the '*' it is) and never a host name.
    WireName dot = parse({3, 'a', '.', 'b', 4, 'z', 'o', 'n', 'e', 0});
    BOOST_TEST(dot.text == "a\\.b.zone");
    BOOST_TEST(!dot.host);
    WireName space = parse({3, 'a', ' ', 'b', 4, 'z', 'o', 'n', 'e', 0});
    BOOST_TEST(space.text == "a\\032b.zone");
    BOOST_TEST(!space.host);
    WireName star = parse({1, '*', 4, 'z', 'o', 'n', 'e', 0});
    BOOST_TEST(star.text == "*.zone");
    BOOST_TEST(!star.host);
    std::size_t pos = 0;
    Bytes truncated = {2, 'm'}, pointer = {0xc0, 0x00}, ptr2 = {1, 'a', 0xc0, 0x00};
    BOOST_CHECK_THROW(parse_wire_name(truncated.data(), truncated.size(), &pos), Error);
    pos = 0;
    BOOST_CHECK_THROW(parse_wire_name(pointer.data(), pointer.size(), &pos), Error);
    pos = 0;
    BOOST_CHECK_THROW(parse_wire_name(ptr2.data(), ptr2.size(), &pos), Error);
    // 256 octets on the wire: over the limit.
    Bytes longname;
    for (int i = 0; i < 4; ++i) {
        longname.push_back(63);
        longname.insert(longname.end(), 63, 'a');
    }
    longname.push_back(0);  // 4 * 64 + 1 = 257
    pos = 0;
    BOOST_CHECK_THROW(parse_wire_name(longname.data(), longname.size(), &pos), Error);
    std::string why;
    BOOST_TEST(host_name_of("MX.Example.", &why).value() == "mx.example");
    BOOST_TEST(!host_name_of("a\\032b.zone", &why).has_value());
    BOOST_TEST(why.find("cannot carry exactly") != std::string::npos, why);
    BOOST_TEST(!host_name_of("a?b.zone", &why).has_value());
    BOOST_TEST(!host_name_of(".", &why).has_value());
    BOOST_TEST(address_text({127, 0, 0, 1}, kTypeA) == "127.0.0.1");
    Bytes v6(16, 0);
    v6[15] = 1;
    BOOST_TEST(address_text(v6, kTypeAaaa) == "::1");
    Bytes v6b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    BOOST_TEST(address_text(v6b, kTypeAaaa) == "2001:db8::1:0:0:1");
    BOOST_CHECK_THROW(address_text({1, 2, 3}, kTypeA), Error);
}

// Issue 7 item 1: an MX exchange whose labels hold bytes a host name cannot
// carry is an unreachable host (next MX), never looked up under another name.
BOOST_AUTO_TEST_CASE(mx_names_that_cannot_be_carried_are_unreachable) {
    FakeResolver r;
    Bytes dot_label = {4, 'm', 'x', '.', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};  // "mx\.1.example"
    Bytes star = {1, '*', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    Bytes good = {3, 'm', 'x', '2', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    r.mx_wire("example", S, {dot_label, star, good});
    // What a by-hand join of the raw labels would have asked for: it exists,
    // with a secure denial of TLSA, and must never be asked.
    r.addr("mx.1.example", S, 9);
    r.tlsa("mx.1.example", S, {}, 25);
    r.addr("mx2.example", S, 2);
    r.tlsa("mx2.example", S, {rec311()});
    Plan p = run(r, "example");
    BOOST_TEST((p.status == DomainStatus::ok));
    BOOST_REQUIRE(p.hosts.size() == 3u);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::unreachable), p.hosts[0].reason);
    BOOST_TEST(p.hosts[0].name == "mx\\.1.example");
    BOOST_TEST(p.hosts[0].reason.find("cannot carry exactly") != std::string::npos, p.hosts[0].reason);
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::unreachable), p.hosts[1].reason);
    BOOST_TEST((p.hosts[2].verdict == HostVerdict::dane), p.hosts[2].reason);
    BOOST_TEST(!r.was_asked("mx.1.example", kTypeA));
    BOOST_TEST(!r.was_asked("_25._tcp.mx.1.example", kTypeTlsa));
}

// Issue 7 item 1: a secure CNAME whose target holds a byte outside LDH (as
// the resolver reads it from the answer: "a\032b.zone") makes the host
// unreachable. libunbound's canonname gave "a?b.zone", whose TLSA lookup
// found a secure denial and made the host "may".
BOOST_AUTO_TEST_CASE(cname_target_that_cannot_be_carried_is_unreachable) {
    for (const std::string target : {"a\\032b.zone", "a\\.b.zone", "*.zone", "a?b.zone"}) {
        FakeResolver r;
        r.mx("example", S, {{10, "mx.example"}});
        r.addr("mx.example", S, 1, target);
        r.tlsa("mx.example", S, {}, 25);  // secure denial at the original name
        r.tlsa("a?b.zone", S, {}, 25);
        Plan p = run(r, "example");
        BOOST_REQUIRE(p.hosts.size() == 1u);
        BOOST_TEST((p.hosts[0].verdict == HostVerdict::unreachable), target << ": " << p.hosts[0].reason);
        BOOST_TEST((p.status == DomainStatus::defer));
        BOOST_TEST(!r.was_asked("_25._tcp.mx.example", kTypeTlsa));
    }
}

// Issue 7 item 6: "_25._tcp." + a name of 245+ octets is over 255 octets;
// no TLSA RRset can exist there (RFC 1035 section 2.3.4). The candidate is
// as empty as a secure denial: the host is "may" (never a lookup error that
// defers for ever), unless DANE is mandatory for the destination.
BOOST_AUTO_TEST_CASE(tlsa_owner_over_255_octets_cannot_exist) {
    std::string host;
    for (int i = 0; i < 3; ++i) host += std::string(63, 'a' + static_cast<char>(i)) + ".";
    host += std::string(50, 'd') + ".example";  // 3*64 + 51 + 7 = 250 octets
    BOOST_REQUIRE(host.size() == 250u);
    FakeResolver r;
    r.mx("example", S, {{10, host}});
    r.addr(host, S);
    Plan p = run(r, "example");
    BOOST_REQUIRE(p.hosts.size() == 1u);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::may), p.hosts[0].reason);
    BOOST_TEST(p.hosts[0].reason.find("255 octets") != std::string::npos, p.hosts[0].reason);
    BOOST_TEST((p.status == DomainStatus::ok));
    for (const auto& a : r.asked) BOOST_TEST(a.find("_25._tcp.") == std::string::npos, a);
    Policy mandatory;
    mandatory.mandatory = {"example"};
    Plan m = run(r, "example", mandatory);
    BOOST_TEST((m.hosts[0].verdict == HostVerdict::unreachable), m.hosts[0].reason);
    BOOST_TEST((m.status == DomainStatus::defer));

    // A CNAME to a long target: the target's owner cannot exist, the
    // original name's can and is looked up.
    FakeResolver c;
    c.mx("example", S, {{10, "mx.example"}});
    c.addr("mx.example", S, 1, host);
    c.tlsa("mx.example", S, {rec311()});
    Plan cp = run(c, "example");
    BOOST_TEST((cp.hosts[0].verdict == HostVerdict::dane), cp.hosts[0].reason);
    BOOST_TEST(cp.hosts[0].tlsa_base == "mx.example");
}

// Issue 7 items 4 and 5: bounds, and what happens past them.
BOOST_AUTO_TEST_CASE(bounds_on_hosts_addresses_and_records) {
    FakeResolver r;
    std::vector<std::pair<int, std::string>> mxs;
    for (int i = 0; i < 40; ++i) mxs.push_back({i, "mx" + std::to_string(i) + ".example"});
    r.mx("example", S, mxs);
    for (int i = 0; i < 40; ++i) {
        r.addr("mx" + std::to_string(i) + ".example", S, static_cast<std::uint8_t>(i + 1));
        r.tlsa("mx" + std::to_string(i) + ".example", S, {rec311()});
    }
    // mx0: 30 IPv4 and 20 IPv6 addresses.
    std::vector<Bytes> v4, v6;
    for (int i = 0; i < 30; ++i) v4.push_back({127, 0, 2, static_cast<std::uint8_t>(i)});
    for (int i = 0; i < 20; ++i) {
        Bytes b(16, 0);
        b[15] = static_cast<std::uint8_t>(i + 1);
        v6.push_back(b);
    }
    r.set("mx0.example", kTypeA, S, v4);
    r.set("mx0.example", kTypeAaaa, S, v6);
    // mx1: 257 records; mx2: 256 records but 66,000 bytes of Full(0) data.
    r.tlsa("mx1.example", S, std::vector<Bytes>(257, rec311()));
    Bytes big = {3, 0, 0};
    big.resize(33000, 0x30);
    r.tlsa("mx2.example", S, {big, big});
    Plan p = run(r, "example");
    BOOST_TEST((p.status == DomainStatus::ok));
    BOOST_REQUIRE(p.hosts.size() == kMaxHosts);
    BOOST_TEST(p.hosts[0].addresses.size() == 2 * kMaxAddressesPerFamily);
    BOOST_TEST((p.hosts[0].verdict == HostVerdict::dane));
    BOOST_TEST((p.hosts[1].verdict == HostVerdict::unreachable), p.hosts[1].reason);
    BOOST_TEST(p.hosts[1].reason.find("257 records") != std::string::npos, p.hosts[1].reason);
    BOOST_TEST((p.hosts[2].verdict == HostVerdict::unreachable), p.hosts[2].reason);
    BOOST_TEST((p.hosts[3].verdict == HostVerdict::dane));
    BOOST_TEST(p.reason.find("40 MX hosts, the 16 most preferred used") != std::string::npos, p.reason);
    BOOST_TEST(p.reason.find("30 IPv4 addresses, the first 8 used") != std::string::npos, p.reason);
    BOOST_TEST(p.reason.find("20 IPv6 addresses, the first 8 used") != std::string::npos, p.reason);
    for (const auto& a : r.asked) BOOST_TEST(a.find("mx16.example") == std::string::npos, a);
}

BOOST_AUTO_TEST_SUITE_END()
