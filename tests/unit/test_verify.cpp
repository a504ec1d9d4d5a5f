// SPDX-License-Identifier: MIT
// test_verify.cpp - verification verdicts on the generated PKI (rules 10-13).
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "fixture.hpp"
#include "tls/verify.hpp"

using namespace danesmtp;
using namespace danesmtp::core;
using fixture::record;

namespace {

const std::vector<std::string> kNames = {"mx.example.net", "example.net"};

Verdict run(const std::vector<TlsaRecord>& records, const std::vector<std::string>& chain,
            std::vector<std::string> names = kNames, std::int64_t when = fixture::kNow,
            DigestPreference pref = DigestPreference::sha512_first) {
    return fixture::verify(records, chain, std::move(names), when, pref);
}

bool contains(const std::string& s, const std::string& needle) {
    return s.find(needle) != std::string::npos;
}

TlsaRecord wrong(TlsaRecord r) { return fixture::flipped(std::move(r)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(verify_dane_ee)

BOOST_AUTO_TEST_CASE(every_selector_and_matching_type) {
    for (int s = 0; s <= 1; ++s)
        for (int m = 0; m <= 2; ++m)
            for (const char* leaf : {"ee-rsa", "ee-ec"}) {
                auto r = record(3, static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(m), leaf);
                Verdict v = run({r}, {leaf});
                BOOST_TEST((v.outcome == Outcome::authenticated), leaf << " 3 " << s << " " << m);
                BOOST_TEST(v.depth == 0);
                BOOST_TEST(v.record_index == 0);
                BOOST_TEST(v.name.empty());  // DANE-EE: no name checks
            }
}

BOOST_AUTO_TEST_CASE(no_dates_no_names_no_chain) {
    // Expired, wrong names, and junk above the leaf: DANE-EE ignores all of it
    // (RFC 7672 section 3.1.1).
    Verdict v = run({record(3, 1, 1, "ee-expired")}, {"ee-expired", "other-root"},
                    {"unrelated.example"}, 4102444800 /* 2100 */);
    BOOST_TEST((v.outcome == Outcome::authenticated));
}

BOOST_AUTO_TEST_CASE(mismatch_says_what_was_computed) {
    auto want = record(3, 1, 1, "ee-rsa");
    Verdict v = run({want}, {"ee-ec"});
    BOOST_TEST((v.outcome == Outcome::not_authenticated));
    std::string have = hex_abbrev(record(3, 1, 1, "ee-ec").data);
    BOOST_TEST(contains(v.reason, "leaf SPKI SHA2-256 is " + have), v.reason);
    BOOST_TEST(contains(v.reason, hex_abbrev(want.data)), v.reason);
}

BOOST_AUTO_TEST_CASE(ee_record_never_matches_a_ca_certificate_above) {
    Verdict v = run({record(3, 1, 1, "int")}, {"leaf-san", "int", "root"});
    BOOST_TEST((v.outcome == Outcome::not_authenticated));
}

BOOST_AUTO_TEST_CASE(rollover_either_key) {
    std::vector<TlsaRecord> rs = {record(3, 1, 1, "ee-rsa"), record(3, 1, 1, "ee-ec")};
    BOOST_TEST((run(rs, {"ee-rsa"}).outcome == Outcome::authenticated));
    Verdict v = run(rs, {"ee-ec"});
    BOOST_TEST((v.outcome == Outcome::authenticated));
    BOOST_TEST(v.record_index == 1);
}

BOOST_AUTO_TEST_CASE(digest_agility_rfc7671_section_9) {
    // A wrong 3 1 2 beside a right 3 1 1: SHA2-512 is stronger, so only it counts.
    std::vector<TlsaRecord> rs = {wrong(record(3, 1, 2, "ee-rsa")), record(3, 1, 1, "ee-rsa")};
    BOOST_TEST((run(rs, {"ee-rsa"}).outcome == Outcome::not_authenticated));
    // With SHA2-256 preferred, the roles swap.
    BOOST_TEST((run(rs, {"ee-rsa"}, kNames, fixture::kNow, DigestPreference::sha256_first).outcome ==
                Outcome::authenticated));
    // Full(0) is always used beside the strongest digest.
    std::vector<TlsaRecord> full = {wrong(record(3, 1, 2, "ee-rsa")), record(3, 1, 0, "ee-rsa")};
    BOOST_TEST((run(full, {"ee-rsa"}).outcome == Outcome::authenticated));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(verify_dane_ta)

BOOST_AUTO_TEST_CASE(intermediate_and_root_anchors) {
    const std::vector<std::string> full = {"leaf-san", "int", "root"};
    for (int s = 0; s <= 1; ++s)
        for (int m = 0; m <= 2; ++m) {
            auto si = static_cast<std::uint8_t>(s);
            auto mi = static_cast<std::uint8_t>(m);
            Verdict vi = run({record(2, si, mi, "int")}, full);
            BOOST_TEST((vi.outcome == Outcome::authenticated), "2 " << s << " " << m << " int");
            BOOST_TEST(vi.depth == 1);
            BOOST_TEST(vi.name == "mx.example.net");
            Verdict vr = run({record(2, si, mi, "root")}, full);
            BOOST_TEST((vr.outcome == Outcome::authenticated), "2 " << s << " " << m << " root");
            BOOST_TEST(vr.depth == 2);
            BOOST_TEST(!vr.ta_from_dns);
        }
}

BOOST_AUTO_TEST_CASE(trust_anchor_published_in_dns) {
    // 2 0 0 and 2 1 0: the root is not in the chain, only in DNS (RFC 7671 5.2.2/5.2.3).
    for (int s = 0; s <= 1; ++s) {
        Verdict v = run({record(2, static_cast<std::uint8_t>(s), 0, "root")}, {"leaf-san", "int"});
        BOOST_TEST((v.outcome == Outcome::authenticated), "2 " << s << " 0");
        BOOST_TEST(v.ta_from_dns);
        BOOST_TEST(v.depth == 2);
    }
    // A digest of a TA that is absent from the chain cannot be used.
    BOOST_TEST((run({record(2, 1, 1, "root")}, {"leaf-san", "int"}).outcome ==
                Outcome::not_authenticated));
    // The wrong CA's key in DNS.
    BOOST_TEST((run({record(2, 1, 0, "other-root")}, {"leaf-san", "int"}).outcome ==
                Outcome::not_authenticated));
}

BOOST_AUTO_TEST_CASE(names_rfc7672_section_3_2_3) {
    auto ta = record(2, 1, 1, "int");
    auto names_of = [&](const char* leaf, std::vector<std::string> refs) {
        return run({ta}, {leaf, "int", "root"}, std::move(refs));
    };
    BOOST_TEST((names_of("leaf-cn", kNames).outcome == Outcome::authenticated));
    Verdict w = names_of("leaf-wild", kNames);
    BOOST_TEST((w.outcome == Outcome::authenticated));
    BOOST_TEST(w.presented == "*.example.net");
    BOOST_TEST((names_of("leaf-partial", kNames).outcome == Outcome::not_authenticated));
    Verdict o = names_of("leaf-other", kNames);
    BOOST_TEST((o.outcome == Outcome::not_authenticated));
    BOOST_TEST(contains(o.reason, "DNS SAN other.example.org"), o.reason);
    BOOST_TEST(contains(o.reason, "mx.example.net, example.net"), o.reason);
    // leaf-san has CN=not-the-name and SAN mx.example.net: the SAN is used.
    BOOST_TEST((names_of("leaf-san", {"not-the-name"}).outcome == Outcome::not_authenticated));
    // The next-hop domain as a second reference identifier.
    Verdict m = names_of("leaf-multi", {"mx.example.net", "example.com"});
    BOOST_TEST((m.outcome == Outcome::authenticated));
    BOOST_TEST(m.name == "example.com");
    BOOST_TEST((names_of("leaf-san", {}).outcome == Outcome::not_authenticated));
}

BOOST_AUTO_TEST_CASE(path_validation_rfc7672_section_3_1_2) {
    auto root = record(2, 0, 1, "root");
    Verdict e = run({root}, {"leaf-expired", "int", "root"});
    BOOST_TEST((e.outcome == Outcome::not_authenticated));
    BOOST_TEST(contains(e.reason, "expired"), e.reason);
    BOOST_TEST((run({root}, {"leaf-notyet", "int", "root"}).outcome == Outcome::not_authenticated));
    BOOST_TEST((run({root}, {"leaf-notyet", "int", "root"}, kNames, 1900000000).outcome ==
                Outcome::authenticated));
    BOOST_TEST((run({root}, {"leaf-under-expired-int", "int-expired", "root"}).outcome ==
                Outcome::not_authenticated));
    Verdict deep = run({root}, {"leaf-deep", "int2", "int", "root"});
    BOOST_TEST((deep.outcome == Outcome::not_authenticated));
    BOOST_TEST(contains(deep.reason, "path length"), deep.reason);
    // The right key but a chain from another CA.
    BOOST_TEST((run({root}, {"leaf-other-ca", "other-root"}).outcome == Outcome::not_authenticated));
    // Everything expired by 2041.
    BOOST_TEST((run({root}, {"leaf-san", "int", "root"}, kNames, 2240000000).outcome ==
                Outcome::not_authenticated));
}

BOOST_AUTO_TEST_CASE(never_the_leaf_itself) {
    // A DANE-TA record for the leaf does not make the leaf a trust anchor,
    // even when the peer repeats the leaf above itself.
    for (const char* leaf : {"ee-ec", "leaf-san"}) {
        auto r = record(2, 0, 1, leaf);
        BOOST_TEST((run({r}, {leaf}).outcome == Outcome::not_authenticated), leaf);
        BOOST_TEST((run({r}, {leaf, leaf}).outcome == Outcome::not_authenticated), leaf);
    }
}

BOOST_AUTO_TEST_CASE(any_usable_record_suffices) {
    std::vector<TlsaRecord> rs = {record(3, 1, 1, "ee-rsa"), wrong(record(2, 1, 1, "int")),
                                  record(2, 0, 1, "root")};
    Verdict v = run(rs, {"leaf-san", "int", "root"});
    BOOST_TEST((v.outcome == Outcome::authenticated));
    BOOST_TEST(v.record_index == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(verify_inputs)

BOOST_AUTO_TEST_CASE(no_usable_records) {
    Verdict v = run({record(0, 0, 1, "root"), record(1, 1, 1, "leaf-san")}, {"leaf-san"});
    BOOST_TEST((v.outcome == Outcome::no_usable_records));
    BOOST_TEST(contains(v.reason, "PKIX-TA(0) is not used"), v.reason);
    Verdict e = run({}, {"leaf-san"});
    BOOST_TEST((e.outcome == Outcome::no_usable_records));
    BOOST_TEST(contains(e.reason, "empty"), e.reason);
}

BOOST_AUTO_TEST_CASE(bad_chains) {
    tls::Chain c;
    BOOST_CHECK_THROW(c.add_der(nullptr, 0), Error);
    Bytes garbage(100, 0x30);
    BOOST_CHECK_THROW(c.add_der(garbage.data(), garbage.size()), Error);
    Bytes d = fixture::der("leaf-san");
    for (std::size_t n : {std::size_t(1), std::size_t(10), d.size() - 1})
        BOOST_CHECK_THROW(c.add_der(d.data(), n), Error);
    BOOST_TEST(c.empty());
    for (int i = 0; i < 100; ++i) {
        try {
            c.add_der(d.data(), d.size());
        } catch (const Error& e) {
            BOOST_TEST((e.code() == ErrorCode::limit));
            BOOST_TEST(i == 32);
            break;
        }
    }
    BOOST_TEST(c.size() == 32u);
    std::vector<TlsaRecord> rs;
    tls::VerifyRequest req;
    req.records = &rs;
    tls::Chain empty;
    req.chain = &empty;
    BOOST_CHECK_THROW(tls::verify(req), Error);
}

BOOST_AUTO_TEST_CASE(pem_input) {
    tls::Chain c;
    Bytes pem = fixture::read("leaf-san.full.pem");
    std::string text = "subject=junk before\n" + std::string(pem.begin(), pem.end()) + "trailer\n";
    c.add_pem(text);
    BOOST_TEST(c.size() == 3u);
    BOOST_CHECK_THROW(c.add_pem("no pem here"), Error);
    Bytes key = fixture::read("leaf-san.key");
    BOOST_CHECK_THROW(c.add_pem(std::string(key.begin(), key.end())), Error);
    std::string broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    BOOST_CHECK_THROW(c.add_pem(broken), Error);
    std::string unterminated = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    BOOST_CHECK_THROW(c.add_pem(unterminated), Error);
}

BOOST_AUTO_TEST_SUITE_END()
