// SPDX-License-Identifier: MIT
// test_tlsa.cpp - TLSA parsing, usability (rule 8) and digest agility (rule 9).
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "core/tlsa.hpp"

using namespace danesmtp;
using namespace danesmtp::core;
namespace bdata = boost::unit_test::data;

namespace {
const std::string kHex32 = "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1";
const std::string kHex64 = kHex32 + kHex32;

TlsaRecord rec(int u, int s, int m, Bytes data) {
    TlsaRecord r;
    r.usage = static_cast<std::uint8_t>(u);
    r.selector = static_cast<std::uint8_t>(s);
    r.mtype = static_cast<std::uint8_t>(m);
    r.data = std::move(data);
    return r;
}

bool throws_with(const std::string& text, ErrorCode code, const std::string& needle) {
    try {
        parse_tlsa_text(text);
    } catch (const Error& e) {
        return e.code() == code && std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(hex)

BOOST_AUTO_TEST_CASE(round_trip_and_spacing) {
    Bytes b = hex_decode("00 ff\t10(AB)\n");
    BOOST_TEST(b == (Bytes{0x00, 0xff, 0x10, 0xab}), boost::test_tools::per_element());
    BOOST_TEST(hex_encode(b) == "00ff10ab");
    BOOST_CHECK_THROW(hex_decode("0g"), Error);
    BOOST_CHECK_THROW(hex_decode("abc"), Error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tlsa_text)

BOOST_AUTO_TEST_CASE(four_fields) {
    TlsaRecord r = parse_tlsa_text("3 1 1 " + kHex32);
    BOOST_TEST(r.usage == 3);
    BOOST_TEST(r.selector == 1);
    BOOST_TEST(r.mtype == 1);
    BOOST_TEST(hex_encode(r.data) == kHex32);
    BOOST_TEST(to_text(r) == "3 1 1 " + kHex32);
}

BOOST_AUTO_TEST_CASE(zone_file_forms) {
    std::string split = "3 1 1 ( " + kHex32.substr(0, 20) + "\n   " + kHex32.substr(20) + " )";
    BOOST_TEST(hex_encode(parse_tlsa_text(split).data) == kHex32);
    for (std::string owner : {"_25._tcp.mx.example. 3600 IN TLSA ", "_25._tcp.mx.example. IN TLSA ",
                              "_25._tcp.mx.example. 300 tlsa ", "IN TLSA ", "TLSA "}) {
        TlsaRecord r = parse_tlsa_text(owner + "2 0 1 " + kHex32 + " ; comment");
        BOOST_TEST(r.usage == 2);
        BOOST_TEST(r.selector == 0);
        BOOST_TEST(hex_encode(r.data) == kHex32);
    }
    TlsaRecord m = parse_tlsa_text("DANE-EE SPKI SHA2-512 " + kHex64);
    BOOST_TEST((m.usage == 3 && m.selector == 1 && m.mtype == 2));
    BOOST_TEST(m.data.size() == 64u);
}

BOOST_AUTO_TEST_CASE(bad_text) {
    BOOST_TEST(throws_with("3 1 1 zz" + kHex32, ErrorCode::parse, "not a hex digit: 'z'"));
    BOOST_TEST(throws_with("3 1 1 abc", ErrorCode::parse, "odd number of hex digits"));
    BOOST_TEST(throws_with("3 1 1", ErrorCode::parse, "no certificate association data"));
    BOOST_TEST(throws_with("3 1 1 ( )", ErrorCode::parse, "no certificate association data"));
    BOOST_TEST(throws_with("", ErrorCode::parse, "needs usage"));
    BOOST_TEST(throws_with("x 1 1 00", ErrorCode::parse, "bad usage field"));
    BOOST_TEST(throws_with("256 1 1 00", ErrorCode::parse, "out of range"));
    BOOST_TEST(throws_with("3 -1 1 00", ErrorCode::parse, "bad selector"));
    BOOST_TEST(throws_with("a b c d TLSA 3 1 1 00", ErrorCode::parse, "too many fields"));
    BOOST_TEST(throws_with("owner 3600 IN TLSA 3 1 1 00", ErrorCode::parse, "unexpected field"));
    BOOST_TEST(throws_with(std::string("3 1 1 00\0ff", 11), ErrorCode::parse, "NUL"));
    BOOST_TEST(throws_with("3 1 1 " + std::string(2 * 65536, 'a'), ErrorCode::limit, "longer"));
}

BOOST_AUTO_TEST_CASE(rdata) {
    std::uint8_t wire[] = {3, 1, 1, 0xab, 0xcd};
    TlsaRecord r = parse_tlsa_rdata(wire, sizeof wire);
    BOOST_TEST(to_text(r) == "3 1 1 abcd");
    BOOST_CHECK_THROW(parse_tlsa_rdata(wire, 3), Error);
    BOOST_CHECK_THROW(parse_tlsa_rdata(nullptr, 5), Error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(usability)

struct UsableCase {
    int usage, selector, mtype;
    std::size_t length;
    const char* reason;  // nullptr: usable
};
std::ostream& operator<<(std::ostream& os, const UsableCase& c) {
    return os << c.usage << " " << c.selector << " " << c.mtype << " len " << c.length;
}

const UsableCase kUsableCases[] = {
    {3, 1, 1, 32, nullptr},
    {3, 0, 1, 32, nullptr},
    {3, 1, 2, 64, nullptr},
    {2, 0, 1, 32, nullptr},
    {2, 1, 2, 64, nullptr},
    {0, 0, 1, 32, "PKIX-TA(0) is not used for SMTP"},
    {1, 1, 1, 32, "PKIX-EE(1) is not used for SMTP"},
    {4, 1, 1, 32, "unknown usage 4"},
    {3, 2, 1, 32, "unknown selector 2"},
    {3, 1, 3, 32, "unknown matching type 3"},
    {3, 1, 1, 31, "SHA2-256(1) data is 31 bytes, must be 32"},
    {3, 1, 1, 64, "SHA2-256(1) data is 64 bytes, must be 32"},
    {3, 1, 2, 32, "SHA2-512(2) data is 32 bytes, must be 64"},
    {3, 1, 1, 0, "empty certificate association data"},
    {3, 0, 0, 40, "Full(0) certificate data does not parse"},
    {2, 1, 0, 40, "Full(0) SPKI data does not parse"},
};

BOOST_DATA_TEST_CASE(reason_per_record, bdata::make(kUsableCases), c) {
    TlsaRecord r = rec(c.usage, c.selector, c.mtype, Bytes(c.length, 0x5a));
    auto why = unusable_reason(r);
    if (!c.reason) {
        BOOST_TEST(!why.has_value());
    } else {
        BOOST_REQUIRE(why.has_value());
        BOOST_TEST(why->find(c.reason) != std::string::npos, *why);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(digest_agility)

std::vector<std::size_t> sel(const std::vector<TlsaRecord>& rs,
                             DigestPreference p = DigestPreference::sha512_first) {
    return select_records(rs, p);
}

BOOST_AUTO_TEST_CASE(strongest_digest_only_per_usage_and_selector) {
    std::vector<TlsaRecord> rs = {rec(3, 1, 1, Bytes(32, 1)), rec(3, 1, 2, Bytes(64, 2)),
                                  rec(3, 1, 0, Bytes()), rec(3, 0, 1, Bytes(32, 3)),
                                  rec(2, 1, 1, Bytes(32, 4))};
    // rs[2] (Full, empty data) is unusable; 3 1 1 gives way to 3 1 2; the
    // Cert selector and the DANE-TA usage are separate groups.
    BOOST_TEST(sel(rs) == (std::vector<std::size_t>{1, 3, 4}), boost::test_tools::per_element());
    BOOST_TEST(sel(rs, DigestPreference::sha256_first) == (std::vector<std::size_t>{0, 3, 4}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unusable_stronger_digest_does_not_count) {
    // A SHA2-512 record of the wrong length is unusable, so SHA2-256 is used.
    std::vector<TlsaRecord> rs = {rec(3, 1, 2, Bytes(32, 1)), rec(3, 1, 1, Bytes(32, 2))};
    BOOST_TEST(sel(rs) == (std::vector<std::size_t>{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nothing_usable) {
    std::vector<TlsaRecord> rs = {rec(0, 0, 1, Bytes(32, 1)), rec(1, 1, 1, Bytes(32, 2))};
    BOOST_TEST(sel(rs).empty());
    BOOST_TEST(sel({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
