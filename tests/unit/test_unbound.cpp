// SPDX-License-Identifier: MIT
// test_unbound.cpp - the libunbound adapter's set-up, without the network:
// which trust anchors it holds (issue 7 item 3). Lookups run in the lab
// (tests/lab/test_lab.cpp).
#include <boost/test/unit_test.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "dns/unbound.hpp"

using namespace danesmtp;

namespace {

const char* kDs = "test. 3600 IN DS 12345 13 2 "
                  "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace

BOOST_AUTO_TEST_SUITE(unbound)

// A configured anchor adds to the root key (dns-root-data is installed by
// make check); root-anchor = no leaves only the configured ones.
BOOST_AUTO_TEST_CASE(anchors_add_to_the_root_key) {
    core::Config c;
    core::apply_config_text(std::string("trust-anchor = ") + kDs + "\nforward = 127.0.0.1\n", "t", &c);
    dns::UnboundResolver with_root(c.resolver);
    BOOST_TEST(with_root.anchor_zones() == (std::vector<std::string>{".", "test"}),
               boost::test_tools::per_element());

    core::apply_config_text("root-anchor = no\n", "t", &c);
    dns::UnboundResolver island(c.resolver);
    BOOST_TEST(island.anchor_zones() == std::vector<std::string>{"test"}, boost::test_tools::per_element());

    core::Config none;
    core::apply_config_text("root-anchor = no\nforward = 127.0.0.1\n", "t", &none);
    BOOST_CHECK_EXCEPTION(dns::UnboundResolver r(none.resolver), Error, [](const Error& e) {
        return std::string(e.what()).find("no DNSSEC trust anchor") != std::string::npos;
    });

    core::Config root_only;
    core::apply_config_text("forward = 127.0.0.1\n", "t", &root_only);
    dns::UnboundResolver r(root_only.resolver);
    BOOST_TEST(r.anchor_zones() == std::vector<std::string>{"."}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
