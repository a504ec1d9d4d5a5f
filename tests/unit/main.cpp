// SPDX-License-Identifier: MIT
// main.cpp - the Boost.Test module of the unit and differential suites.
#define BOOST_TEST_MODULE danesmtp
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
