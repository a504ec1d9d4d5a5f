// SPDX-License-Identifier: MIT
// test_differential.cpp - our verdicts against OpenSSL's own DANE API.
//
// The oracle (tests/oracle) runs SSL_dane_enable / SSL_dane_tlsa_add /
// X509_STORE_CTX_set0_dane with DANE_FLAG_NO_DANE_EE_NAMECHECKS and
// X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, as Postfix does for SMTP. The matrix:
//   usage {2,3} x selector {0,1} x matching type {0,1,2}
//   x chain shape {leaf only, leaf+intermediate, full chain, TA only in DNS}
//   x the record's target {leaf, intermediate, root} x right/wrong data
//   x reference identifiers x verification times
// over every generated leaf. Every case must agree on "authenticated", and
// when both authenticate, on the matched record and its depth. The one
// deliberate difference in this matrix is the depth reported for a bare TA
// key from DNS (2 1 0): OpenSSL reports the depth of the top certificate the
// key signed, we report the depth the key itself takes above it (docs/
// decisions.md). Cases outside the matrix are asserted at the end.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "fixture.hpp"
#include "oracle/openssl_dane.hpp"
#include "tls/verify.hpp"

using namespace danesmtp;
using namespace danesmtp::core;

namespace {

struct Case {
    std::string leaf;
    std::vector<std::string> chain;  // fixture names, leaf first
    std::string target;              // certificate the record describes
    TlsaRecord record;
    bool wrong = false;
    std::vector<std::string> names;
    std::int64_t time = 0;

    std::string label() const {
        std::ostringstream os;
        os << to_text(record).substr(0, 5) << (wrong ? " (wrong data)" : "") << " for " << target
           << ", chain";
        for (const auto& c : chain) os << " " << c;
        os << ", names";
        for (const auto& n : names) os << " " << n;
        os << ", time " << time;
        return os.str();
    }
};

oracle::Record to_oracle(const TlsaRecord& r) {
    oracle::Record o;
    o.usage = r.usage;
    o.selector = r.selector;
    o.mtype = r.mtype;
    o.data = r.data;
    return o;
}

struct Tally {
    std::size_t cases = 0, authenticated = 0, disagreements = 0;
};

void compare(const oracle::Verifier& ossl, const Case& c, Tally* t) {
    Verdict ours = fixture::verify({c.record}, c.chain, c.names, c.time);
    oracle::Result theirs =
        ossl.verify(fixture::ders(c.chain), {to_oracle(c.record)}, c.names, c.time);
    ++t->cases;
    bool a = ours.outcome == Outcome::authenticated;
    BOOST_REQUIRE_MESSAGE(!theirs.setup_error && !theirs.chain_parse_error,
                          "oracle could not run: " << theirs.error_string);
    if (a != theirs.authenticated) {
        ++t->disagreements;
        BOOST_ERROR(c.label() << ": ours " << outcome_name(ours.outcome) << " (" << ours.reason
                              << "), OpenSSL " << (theirs.authenticated ? "authenticated" : "not")
                              << " (" << theirs.error_string << ")");
        return;
    }
    if (!a) return;
    ++t->authenticated;
    BOOST_TEST(theirs.matched_usage == c.record.usage, c.label());
    BOOST_TEST(theirs.matched_selector == c.record.selector, c.label());
    BOOST_TEST(theirs.matched_mtype == c.record.mtype, c.label());
    // Deliberate: a bare key from DNS sits one above the certificate it signed.
    int want_depth = theirs.matched_bare_key ? theirs.match_depth + 1 : theirs.match_depth;
    BOOST_TEST(ours.depth == want_depth, c.label());
}

using fixture::flipped;

}  // namespace

BOOST_AUTO_TEST_SUITE(differential)

BOOST_AUTO_TEST_CASE(matrix_against_openssl_dane) {
    oracle::Verifier ossl;
    Tally t;
    const std::vector<std::vector<std::string>> name_sets = {
        {"mx.example.net"}, {"mx1.example.com", "example.com"}, {"other.example.net"}};
    const std::vector<std::int64_t> times = {fixture::kNow, 1500000000 /* 2017 */,
                                             1900000000 /* 2030 */, 2240000000 /* 2040 */};

    // CA-issued leaves under int -> root, and the special chains.
    struct Family {
        std::string leaf, inter, root;
    };
    std::vector<Family> families;
    for (const char* l : {"leaf-san", "leaf-cn", "leaf-wild", "leaf-partial", "leaf-other",
                          "leaf-multi", "leaf-expired", "leaf-notyet"})
        families.push_back({l, "int", "root"});
    families.push_back({"leaf-under-expired-int", "int-expired", "root"});

    for (const auto& f : families) {
        const std::vector<std::vector<std::string>> shapes = {
            {f.leaf}, {f.leaf, f.inter}, {f.leaf, f.inter, f.root}};
        for (int usage : {2, 3})
            for (int s = 0; s <= 1; ++s)
                for (int m = 0; m <= 2; ++m)
                    for (const auto& shape : shapes)
                        for (const std::string& target :
                             usage == 3 ? std::vector<std::string>{f.leaf}
                                        : std::vector<std::string>{f.leaf, f.inter, f.root})
                            for (bool wrong : {false, true}) {
                                TlsaRecord r = fixture::record(static_cast<std::uint8_t>(usage),
                                                               static_cast<std::uint8_t>(s),
                                                               static_cast<std::uint8_t>(m), target);
                                // A flipped Full(0) no longer parses: that is a usability
                                // question, covered below, not a matching one.
                                if (wrong && m == 0) continue;
                                if (wrong) r = flipped(r);
                                // Names and dates matter to DANE-TA only; DANE-EE gets
                                // one name and the extreme times to show it ignores them.
                                auto ns = usage == 2 ? name_sets
                                                     : std::vector<std::vector<std::string>>{
                                                           name_sets.back()};
                                auto ts = usage == 2 ? times
                                                     : std::vector<std::int64_t>{times.back()};
                                for (const auto& n : ns)
                                    for (auto when : ts)
                                        compare(ossl, {f.leaf, shape, target, r, wrong, n, when}, &t);
                            }
    }
    // Deeper and foreign chains, TA in chain and from DNS.
    const std::vector<std::vector<std::string>> specials = {
        {"leaf-deep", "int2", "int", "root"}, {"leaf-deep", "int2", "int"},
        {"leaf-other-ca", "other-root"}, {"leaf-other-ca"}};
    for (const auto& chain : specials)
        for (const char* target : {"int2", "int", "root", "other-root"})
            for (int s = 0; s <= 1; ++s)
                for (int m = 0; m <= 2; ++m)
                    compare(ossl, {chain[0], chain, target,
                                   fixture::record(2, static_cast<std::uint8_t>(s),
                                                   static_cast<std::uint8_t>(m), target),
                                   false, {"mx.example.net"}, fixture::kNow},
                            &t);
    // Self-signed leaves: DANE-EE and a DANE-TA record naming the leaf itself
    // (2 x 0: the leaf's key "signs" the leaf).
    for (const char* leaf : {"ee-rsa", "ee-ec", "ee-expired"})
        for (int usage : {2, 3})
            for (int s = 0; s <= 1; ++s)
                for (int m = 0; m <= 2; ++m)
                    for (const auto& chain : std::vector<std::vector<std::string>>{
                             {leaf}, {leaf, leaf}, {leaf, "root"}})
                        compare(ossl, {leaf, chain, leaf,
                                       fixture::record(static_cast<std::uint8_t>(usage),
                                                       static_cast<std::uint8_t>(s),
                                                       static_cast<std::uint8_t>(m), leaf),
                                       false, {"mx.example.net"}, fixture::kNow},
                                &t);

    BOOST_TEST_MESSAGE("differential: " << t.cases << " cases, " << t.authenticated
                                        << " authenticated by both, " << t.disagreements
                                        << " disagreements");
    BOOST_TEST(t.disagreements == 0u);
    // The matrix is not vacuous: both outcomes occur in large numbers.
    BOOST_TEST(t.authenticated > 200u);
    BOOST_TEST(t.cases - t.authenticated > 1000u);
}

BOOST_AUTO_TEST_CASE(record_sets_against_openssl_dane) {
    // Multi-record sets: digest agility (RFC 7671 section 9), rollover, mixed usages.
    oracle::Verifier ossl;
    Tally t;
    auto r = [](int u, int s, int m, const char* c) {
        return fixture::record(static_cast<std::uint8_t>(u), static_cast<std::uint8_t>(s),
                               static_cast<std::uint8_t>(m), c);
    };
    const std::vector<std::vector<TlsaRecord>> sets = {
        {flipped(r(3, 1, 2, "leaf-san")), r(3, 1, 1, "leaf-san")},   // agility: not authenticated
        {r(3, 1, 2, "leaf-san"), flipped(r(3, 1, 1, "leaf-san"))},   // agility: authenticated
        {flipped(r(3, 1, 2, "leaf-san")), r(3, 1, 0, "leaf-san")},   // Full always used
        {r(3, 1, 1, "ee-rsa"), r(3, 1, 1, "leaf-san")},              // rollover
        {flipped(r(2, 1, 2, "int")), r(2, 1, 1, "int")},             // agility for DANE-TA
        {flipped(r(2, 1, 2, "int")), r(2, 0, 1, "root")},            // other selector unaffected
        {flipped(r(3, 1, 1, "leaf-san")), r(2, 0, 1, "root")},       // EE fails, TA matches
        {r(3, 0, 2, "leaf-san"), flipped(r(3, 0, 1, "leaf-san")), r(2, 1, 0, "root")},
    };
    for (const auto& set : sets) {
        for (const auto& chain : std::vector<std::vector<std::string>>{
                 {"leaf-san", "int", "root"}, {"leaf-san", "int"}}) {
            const std::vector<std::string> names = {"mx.example.net"};
            Verdict ours = fixture::verify(set, chain, names);
            std::vector<oracle::Record> recs;
            for (const auto& x : set) recs.push_back(to_oracle(x));
            oracle::Result theirs = ossl.verify(fixture::ders(chain), recs, names, fixture::kNow);
            ++t.cases;
            if (theirs.authenticated) ++t.authenticated;
            BOOST_TEST((ours.outcome == Outcome::authenticated) == theirs.authenticated,
                       to_text(set[0]).substr(0, 5) << "... " << ours.reason << " / "
                                                     << theirs.error_string);
        }
    }
    BOOST_TEST(t.authenticated > 0u);  // both outcomes occur

    BOOST_TEST(t.authenticated < t.cases);
}

BOOST_AUTO_TEST_CASE(unparseable_full_record_is_unusable_in_both) {
    // "3 0 0 <not a certificate>": OpenSSL's SSL_dane_tlsa_add refuses the
    // record, and we find it unusable (RFC 7671 section 5: Full(0) data must
    // be the DER object): "no usable records", TLS still required.
    oracle::Verifier ossl;
    TlsaRecord bogus;
    bogus.usage = 3;
    bogus.selector = 0;
    bogus.mtype = 0;
    bogus.data = Bytes(64, 0x30);
    const std::vector<std::string> names = {"mx.example.net"};
    BOOST_TEST((fixture::verify({bogus}, {"ee-ec"}, names).outcome == Outcome::no_usable_records));
    oracle::Result theirs = ossl.verify(fixture::ders({"ee-ec"}), {to_oracle(bogus)}, names,
                                        fixture::kNow);
    BOOST_TEST(!theirs.authenticated);
    BOOST_TEST(theirs.rejected_records == 1);
}

BOOST_AUTO_TEST_SUITE_END()
