// SPDX-License-Identifier: MIT
// test_threads.cpp - the documented threading rules, exercised through the C
// interface: one context and one TLSA set shared by every thread, one chain
// and one result per thread. Run under ASan in `make check`.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "danesmtp.h"
#include "fixture.hpp"

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE(shared_context_and_records) {
    danesmtp_ctx* ctx = nullptr;
    danesmtp_tlsa* set = nullptr;
    BOOST_REQUIRE(danesmtp_ctx_new(&ctx, nullptr) == DANESMTP_OK);
    BOOST_REQUIRE(danesmtp_tlsa_new(&set) == DANESMTP_OK);
    for (const auto& r : {fixture::record(3, 1, 1, "ee-rsa"), fixture::record(2, 1, 1, "int")})
        BOOST_REQUIRE(danesmtp_tlsa_add(set, r.usage, r.selector, r.mtype, r.data.data(),
                                        r.data.size()) == DANESMTP_OK);
    const std::vector<std::vector<std::string>> chains = {
        {"ee-rsa"}, {"ee-ec"}, {"leaf-san", "int", "root"}, {"leaf-other", "int"}};
    const int expected[] = {DANESMTP_AUTHENTICATED, DANESMTP_NOT_AUTHENTICATED,
                            DANESMTP_AUTHENTICATED, DANESMTP_NOT_AUTHENTICATED};
    std::vector<std::vector<fixture::Bytes>> ders;
    for (const auto& c : chains) ders.push_back(fixture::ders(c));

    std::atomic<int> wrong{0}, done{0};
    auto worker = [&](int seed) {
        danesmtp_chain* chain = nullptr;
        if (danesmtp_chain_new(&chain) != DANESMTP_OK) {
            ++wrong;
            return;
        }
        const char* names[] = {"mx.example.net"};
        for (int i = 0; i < 150; ++i) {
            std::size_t k = static_cast<std::size_t>(seed + i) % chains.size();
            danesmtp_chain_clear(chain);
            for (const auto& d : ders[k]) danesmtp_chain_add_der(chain, d.data(), d.size());
            danesmtp_result* res = nullptr;
            if (danesmtp_verify(ctx, set, chain, names, 1, fixture::kNow, &res) != DANESMTP_OK ||
                danesmtp_result_verdict(res) != expected[k])
                ++wrong;
            danesmtp_result_free(res);
            ++done;
        }
        danesmtp_chain_free(chain);
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) pool.emplace_back(worker, t);
    for (auto& th : pool) th.join();
    BOOST_TEST(done.load() == 600);
    BOOST_TEST(wrong.load() == 0);
    danesmtp_tlsa_free(set);
    danesmtp_ctx_free(ctx);
}

BOOST_AUTO_TEST_CASE(last_error_is_per_thread) {
    danesmtp_tlsa* set = nullptr;
    BOOST_REQUIRE(danesmtp_tlsa_new(&set) == DANESMTP_OK);
    BOOST_TEST(danesmtp_tlsa_add_text(set, "3 1 1 zz") == DANESMTP_E_PARSE);
    std::string other;
    std::thread([&] {
        danesmtp_tlsa* s2 = nullptr;
        danesmtp_tlsa_new(&s2);
        danesmtp_tlsa_add_text(s2, "3 1 1 abc");
        other = danesmtp_last_error();
        danesmtp_tlsa_free(s2);
    }).join();
    BOOST_TEST(std::string(danesmtp_last_error()).find("not a hex digit") != std::string::npos);
    BOOST_TEST(other.find("odd number") != std::string::npos);
    danesmtp_tlsa_free(set);
}

BOOST_AUTO_TEST_SUITE_END()
