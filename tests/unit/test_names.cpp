// SPDX-License-Identifier: MIT
// test_names.cpp - reference identifiers and DANE-TA name matching (rule 12).
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/names.hpp"

using namespace danesmtp;
using namespace danesmtp::core;
namespace bdata = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(normalize_good) {
    BOOST_TEST(normalize_name("MX.Example.NET.") == "mx.example.net");
    BOOST_TEST(normalize_name("a") == "a");
    BOOST_TEST(normalize_name("xn--bcher-kva.example") == "xn--bcher-kva.example");
    std::string label63(63, 'a');
    std::string longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    BOOST_TEST(longest.size() == 253u);
    BOOST_TEST(normalize_name(longest) == longest);
}

struct BadName {
    std::string name;
    ErrorCode code;
    const char* needle;
};
std::ostream& operator<<(std::ostream& os, const BadName& b) { return os << b.needle; }

const BadName kBadNames[] = {
    {"", ErrorCode::parse, "empty host name"},
    {".", ErrorCode::parse, "root name"},
    {"a..b", ErrorCode::parse, "empty label"},
    {".a", ErrorCode::parse, "empty label"},
    {std::string("mx\0evil.example", 15), ErrorCode::parse, "NUL"},
    {"b\xc3\xbc" "cher.example", ErrorCode::parse, "non-ASCII"},
    {"mx example", ErrorCode::parse, "not allowed"},
    {"*.example.net", ErrorCode::parse, "not allowed"},
    {std::string(64, 'a') + ".example", ErrorCode::parse, "longer than 63"},
    {std::string(100, 'a') + "." + std::string(64, 'b'), ErrorCode::parse, "longer than 63"},
    {std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
         std::string(60, 'd') + ".abcdefghijklmn",
     ErrorCode::limit, "longer than 253"},
};

BOOST_DATA_TEST_CASE(normalize_bad, bdata::make(kBadNames), b) {
    try {
        normalize_name(b.name);
        BOOST_FAIL("accepted a bad name");
    } catch (const Error& e) {
        BOOST_TEST((e.code() == b.code));
        BOOST_TEST(std::string(e.what()).find(b.needle) != std::string::npos, e.what());
    }
}

struct MatchCase {
    const char* presented;
    const char* ref;
    bool match;
};
std::ostream& operator<<(std::ostream& os, const MatchCase& m) {
    return os << m.presented << " vs " << m.ref;
}

const MatchCase kMatches[] = {
    {"mx.example.net", "mx.example.net", true},
    {"MX.Example.Net", "mx.example.net", true},
    {"mx.example.net", "mx2.example.net", false},
    {"*.example.net", "mx.example.net", true},
    {"*.EXAMPLE.net", "mx.example.net", true},
    {"*.example.net", "example.net", false},         // the wildcard needs a label
    {"*.example.net", "a.mx.example.net", false},    // exactly one label
    {"*.net", "example.net", false},                 // two labels after the wildcard
    {"m*.example.net", "mx.example.net", false},     // no partial-label wildcards
    {"*x.example.net", "mx.example.net", false},
    {"mx.*.net", "mx.example.net", false},
    {"*.*.net", "a.b.net", false},
    {"mx.example.net.", "mx.example.net", false},    // as OpenSSL: no trailing-dot folding
    {"", "mx.example.net", false},
};

BOOST_DATA_TEST_CASE(presented_against_reference, bdata::make(kMatches), m) {
    BOOST_TEST(name_matches(m.presented, m.ref) == m.match);
}

BOOST_AUTO_TEST_CASE(embedded_nul_never_matches) {
    BOOST_TEST(!name_matches(std::string("mx.example.net\0x", 16), "mx.example.net"));
    BOOST_TEST(!name_matches(std::string("*.example.net\0", 14), "mx.example.net"));
}

BOOST_AUTO_TEST_CASE(san_wins_over_cn) {
    std::vector<std::string> refs = {"mx.example.net", "example.net"};
    // DNS SANs present: the CN is not looked at (RFC 6125 section 6.4.4).
    BOOST_TEST(!match_names({"other.example.org"}, {"mx.example.net"}, refs).has_value());
    auto cn = match_names({}, {"mx.example.net"}, refs);
    BOOST_REQUIRE(cn.has_value());
    BOOST_TEST(cn->reference == "mx.example.net");
    auto second = match_names({"example.net"}, {}, refs);
    BOOST_REQUIRE(second.has_value());
    BOOST_TEST(second->reference == "example.net");
    BOOST_TEST(!match_names({"mx.example.net"}, {}, {}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
