// SPDX-License-Identifier: MIT
// test_der.cpp - the DER outline walker on real and broken certificates.
#include <boost/test/unit_test.hpp>

#include "core/der.hpp"
#include "fixture.hpp"

using namespace danesmtp::core;

namespace {
const char* const kAll[] = {"ee-rsa", "ee-ec", "root", "int", "int2", "leaf-san", "leaf-cn",
                            "leaf-wild", "leaf-expired", "other-root"};
}

BOOST_AUTO_TEST_SUITE(der)

BOOST_AUTO_TEST_CASE(spki_found_in_every_fixture) {
    for (const char* name : kAll) {
        Bytes d = fixture::der(name);
        std::string why;
        auto o = outline_certificate(d.data(), d.size(), &why);
        BOOST_REQUIRE_MESSAGE(o.has_value(), name << ": " << why);
        Bytes spki(d.begin() + static_cast<long>(o->spki.offset),
                   d.begin() + static_cast<long>(o->spki.offset + o->spki.length));
        BOOST_TEST(spki == fixture::spki(name), name);
        BOOST_TEST(is_spki(spki.data(), spki.size(), &why), name);
    }
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused) {
    Bytes d = fixture::der("leaf-san");
    for (std::size_t n = 0; n < d.size(); ++n) {
        std::string why;
        BOOST_TEST(!outline_certificate(d.data(), n, &why).has_value(), "length " << n);
        BOOST_TEST(!why.empty());
    }
}

BOOST_AUTO_TEST_CASE(malformed_outlines) {
    Bytes d = fixture::der("ee-ec");
    std::string why;
    Bytes trailing = d;
    trailing.push_back(0);
    BOOST_TEST(!outline_certificate(trailing.data(), trailing.size(), &why).has_value());
    BOOST_TEST(why.find("trailing") != std::string::npos, why);

    Bytes indefinite = {0x30, 0x80, 0x00, 0x00};
    BOOST_TEST(!outline_certificate(indefinite.data(), indefinite.size(), &why).has_value());
    BOOST_TEST(why.find("indefinite") != std::string::npos, why);

    Bytes nonminimal = {0x30, 0x81, 0x03, 0x02, 0x01, 0x00};
    BOOST_TEST(!outline_certificate(nonminimal.data(), nonminimal.size(), &why).has_value());
    BOOST_TEST(why.find("non-minimal") != std::string::npos, why);

    Bytes huge = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00};
    BOOST_TEST(!outline_certificate(huge.data(), huge.size(), &why).has_value());

    Bytes garbage(300, 0xa5);
    BOOST_TEST(!outline_certificate(garbage.data(), garbage.size(), &why).has_value());
    BOOST_TEST(!outline_certificate(nullptr, 0, &why).has_value());

    // A certificate's SPKI handed in as a certificate, and the reverse.
    Bytes spki = fixture::spki("ee-ec");
    BOOST_TEST(!outline_certificate(spki.data(), spki.size(), &why).has_value());
    BOOST_TEST(!is_spki(d.data(), d.size(), &why));
}

BOOST_AUTO_TEST_CASE(every_single_byte_flip_is_safe) {
    // No crash, no read past the buffer (ASan run) whatever one byte says.
    Bytes d = fixture::der("leaf-san");
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        Bytes m = d;
        m[i] ^= 0xff;
        if (outline_certificate(m.data(), m.size(), nullptr)) ++accepted;
    }
    // Bytes inside field contents do not change the outline; header bytes do.
    BOOST_TEST(accepted > 0u);
    BOOST_TEST(accepted < d.size());
}

BOOST_AUTO_TEST_SUITE_END()
