// SPDX-License-Identifier: MIT
// test_exim.cpp - the Exim ${dlfunc} entry points without Exim: argument
// handling, the address_data format, and chain collection across tls:cert
// events (a new handshake resets it; a second connection starts clean).
// The delivery behaviour with the real exim4 is in tests/exim/exim_test.sh.
#define DLFUNC_IMPL
#include <local_scan.h>  // Exim's own codes and exim_dlfunc_t (exim4-dev)

#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "danesmtp_exim.h"
#include "fixture.hpp"

// Our functions have Exim's dlfunc type, and return Exim's codes.
static_assert(OK == 0 && DEFER == 1 && FAIL == 2 && ERROR == 3 && LOG_MAIN == 1,
              "Exim's dlfunc codes changed: see plugin/exim/exim.cpp");
static exim_dlfunc_t* const kTypeChecks[] = {danesmtp_exim_route, danesmtp_exim_check,
                                             danesmtp_exim_connect, danesmtp_exim_tls_cert,
                                             danesmtp_exim_delivery};

namespace {

struct Call {
    int rc;
    std::string out;
};

Call call(exim_dlfunc_t* fn, std::vector<std::string> args) {
    std::vector<uschar*> argv;
    for (auto& a : args) argv.push_back(reinterpret_cast<uschar*>(&a[0]));
    uschar* yield = nullptr;
    int rc = fn(&yield, static_cast<int>(argv.size()), argv.data());
    return {rc, yield ? reinterpret_cast<const char*>(yield) : "(null)"};
}

std::string b64(const fixture::Bytes& der) {
    std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]), der.data(),
                            static_cast<int>(der.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string tlsa_field(const danesmtp::core::TlsaRecord& r) {
    return std::to_string(r.usage) + ":" + std::to_string(r.selector) + ":" + std::to_string(r.mtype) +
           ":" + danesmtp::core::hex_encode(r.data);
}

// address_data as danesmtp_exim_route writes it, for one DANE host.
std::string plan_for(const std::string& addr, const std::string& tlsa, const std::string& names,
                     bool audit = false) {
    return "status=ok reason=\"\" audit=" + std::string(audit ? "1" : "0") +
           " config=\"\" hosts=\"<;" + addr + "\" require_tls=\"<;" + addr + "\" host@" + addr +
           "=0 name.0=mx.example.net verdict.0=dane sni.0=mx.example.net verified.0=1 names.0=" + names +
           " tlsa.0=" + tlsa + " base.0=mx.example.net";
}

// One handshake: tls:cert events from the top of the chain to the leaf.
Call handshake(const std::vector<std::string>& chain_leaf_first, const std::string& addr,
               const std::string& plan) {
    Call last{-1, ""};
    for (std::size_t i = chain_leaf_first.size(); i-- > 0;) {
        last = call(danesmtp_exim_tls_cert,
                    {std::to_string(i), b64(fixture::der(chain_leaf_first[i])), addr, plan});
        if (i > 0) BOOST_TEST(last.out == "", "depth " << i << " must not refuse");
    }
    return last;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(exim_entry_points)

BOOST_AUTO_TEST_CASE(router_arguments) {
    BOOST_TEST(sizeof kTypeChecks > 0u);
    Call none = call(danesmtp_exim_route, {});
    BOOST_TEST(none.rc == ERROR);
    BOOST_TEST(none.out.find("takes DOMAIN [PORT [CONFIG [MODE]]], got 0") != std::string::npos, none.out);
    Call mode = call(danesmtp_exim_route, {"a", "25", "c", "d"});
    BOOST_TEST(mode.rc == ERROR);
    BOOST_TEST(mode.out.find("unknown mode 'd'") != std::string::npos, mode.out);
    BOOST_TEST(call(danesmtp_exim_route, {"a", "25", "c", "refuse", "e"}).rc == ERROR);
    // The mode is the route entry's alone.
    Call check_mode = call(danesmtp_exim_check, {"a", "25", "c", "refuse"});
    BOOST_TEST(check_mode.rc == ERROR);
    BOOST_TEST(check_mode.out.find("takes DOMAIN [PORT [CONFIG]], got 4") != std::string::npos, check_mode.out);
    Call empty = call(danesmtp_exim_route, {""});
    BOOST_TEST(empty.rc == ERROR);
    BOOST_TEST(empty.out.find("empty domain") != std::string::npos);
    Call port = call(danesmtp_exim_route, {"example.net", "99999"});
    BOOST_TEST(port.rc == ERROR);
    BOOST_TEST(port.out.find("bad port") != std::string::npos);
    Call conf = call(danesmtp_exim_route, {"example.net", "25", "/nonexistent/danesmtp.conf"});
    BOOST_TEST(conf.rc == ERROR);
    BOOST_TEST(conf.out.find("/nonexistent/danesmtp.conf") != std::string::npos, conf.out);
    BOOST_TEST(call(danesmtp_exim_check, {}).rc == ERROR);
}

BOOST_AUTO_TEST_CASE(events_never_fail) {
    // A failing event expansion is "no objection" in Exim: every problem must
    // be OK with a non-empty refusal.
    for (auto args : std::vector<std::vector<std::string>>{{}, {"127.0.0.1"}, {"a", "b", "c"}}) {
        Call c = call(danesmtp_exim_connect, args);
        BOOST_TEST(c.rc == OK);
        BOOST_TEST(!c.out.empty());
    }
    for (auto args : std::vector<std::vector<std::string>>{{}, {"0"}, {"0", "x", "127.0.0.1"},
                                                           {"x", "AAAA", "127.0.0.1", ""},
                                                           {"-1", "AAAA", "127.0.0.1", ""}}) {
        Call c = call(danesmtp_exim_tls_cert, args);
        BOOST_TEST(c.rc == OK);
        BOOST_TEST(!c.out.empty());
    }
}

BOOST_AUTO_TEST_CASE(connect_veto) {
    std::string plan = "status=ok hosts=\"<;127.0.1.1;2001:db8::25\" require_tls=\"<;\"";
    BOOST_TEST(call(danesmtp_exim_connect, {"127.0.1.1", plan}).out == "");
    BOOST_TEST(call(danesmtp_exim_connect, {"2001:db8::25", plan}).out == "");
    Call other = call(danesmtp_exim_connect, {"127.0.1.2", plan});
    BOOST_TEST(other.rc == OK);
    BOOST_TEST(other.out.find("not in the DANE plan") != std::string::npos);
    BOOST_TEST(!call(danesmtp_exim_connect, {"", plan}).out.empty());
    BOOST_TEST(!call(danesmtp_exim_connect, {"127.0.1.1", "hosts=\"<;\""}).out.empty());
}

BOOST_AUTO_TEST_CASE(chain_collection_across_events) {
    const std::string addr = "127.0.1.1";
    std::string ta = tlsa_field(fixture::record(2, 1, 1, "int"));
    std::string plan = plan_for(addr, ta, "mx.example.net,example.net");
    // A full chain, top down: authenticated by the intermediate.
    BOOST_TEST(handshake({"leaf-san", "int", "root"}, addr, plan).out == "");
    // The next handshake in the same process starts clean: a chain from
    // another CA does not inherit the intermediate seen before.
    Call other = handshake({"leaf-other-ca", "other-root"}, addr, plan);
    BOOST_TEST(!other.out.empty());
    BOOST_TEST(other.out.find("DANE verification failed for H=mx.example.net [127.0.1.1]") == 0u,
               other.out);
    // An aborted handshake (depth 1 seen, never depth 0), then a new one on
    // another connection: the stale certificate is dropped.
    call(danesmtp_exim_tls_cert, {"1", b64(fixture::der("int")), "127.0.1.9", plan});
    BOOST_TEST(handshake({"leaf-san", "int"}, addr, plan).out == "");
    // A leaf alone cannot satisfy DANE-TA.
    BOOST_TEST(!handshake({"leaf-san"}, addr, plan).out.empty());
    // An aborted handshake that delivered the intermediate (depth 1), then a
    // new connection to the same address presenting only the leaf: the new
    // connection (tcp:connect) must not inherit the old intermediate.
    call(danesmtp_exim_tls_cert, {"1", b64(fixture::der("int")), addr, plan});
    std::string conn_plan = "hosts=\"<;" + addr + "\"";
    BOOST_TEST(call(danesmtp_exim_connect, {addr, conn_plan}).out == "");
    Call leaf_only = call(danesmtp_exim_tls_cert, {"0", b64(fixture::der("leaf-san")), addr, plan});
    BOOST_TEST(!leaf_only.out.empty(), "the stale intermediate was reused");
}

BOOST_AUTO_TEST_CASE(dane_ee_names_and_audit) {
    const std::string addr = "127.0.1.1";
    std::string ee = tlsa_field(fixture::record(3, 1, 1, "ee-ec"));
    BOOST_TEST(handshake({"ee-ec"}, addr, plan_for(addr, ee, "mx.example.net")).out == "");
    Call wrong = handshake({"ee-rsa"}, addr, plan_for(addr, ee, "mx.example.net"));
    BOOST_TEST(wrong.out.find("leaf SPKI SHA2-256 is") != std::string::npos, wrong.out);
    // Audit-only: the failure is logged, not enforced.
    BOOST_TEST(handshake({"ee-rsa"}, addr, plan_for(addr, ee, "mx.example.net", true)).out == "");
    // DANE-TA with names that do not match the certificate.
    std::string ta = tlsa_field(fixture::record(2, 1, 1, "int"));
    BOOST_TEST(!handshake({"leaf-san", "int"}, addr, plan_for(addr, ta, "other.example.org")).out.empty());
}

BOOST_AUTO_TEST_CASE(hosts_without_dane_and_unknown_hosts) {
    std::string plan = "status=ok hosts=\"<;127.0.1.5;127.0.1.6\" host@127.0.1.5=0 host@127.0.1.6=1 "
                       "verdict.0=encrypt verdict.1=may";
    BOOST_TEST(handshake({"ee-rsa"}, "127.0.1.5", plan).out == "");
    BOOST_TEST(handshake({"ee-rsa"}, "127.0.1.6", plan).out == "");
    Call unknown = handshake({"ee-rsa"}, "127.0.1.7", plan);
    BOOST_TEST(unknown.out.find("not in the DANE plan") != std::string::npos, unknown.out);
    // Garbage where a certificate should be: refused at depth 0.
    std::string ee = tlsa_field(fixture::record(3, 1, 1, "ee-ec"));
    Call junk = call(danesmtp_exim_tls_cert, {"0", "!!!!", "127.0.1.1", plan_for("127.0.1.1", ee, "x")});
    BOOST_TEST(junk.out.find("did not decode") != std::string::npos, junk.out);
    // A corrupted TLSA field in address_data fails closed.
    Call bad = handshake({"ee-ec"}, "127.0.1.1", plan_for("127.0.1.1", "3:1:1:zz", "x"));
    BOOST_TEST(!bad.out.empty());
}

BOOST_AUTO_TEST_CASE(first_key_wins_as_in_exim) {
    // ${extract} in Exim takes the first occurrence of a key, case-insensitively;
    // the events must read the same value, or the transport and the event
    // would apply different policies to one address.
    std::string ee = tlsa_field(fixture::record(3, 1, 1, "ee-ec"));
    std::string plan = plan_for("127.0.1.1", ee, "mx.example.net") + " verdict.0=may host@127.0.1.1=1";
    BOOST_TEST(!handshake({"ee-rsa"}, "127.0.1.1", plan).out.empty());
    std::string upper = "status=ok hosts=\"<;127.0.1.1\" VERDICT.0=may " +
                        plan_for("127.0.1.1", ee, "mx.example.net").substr(10);
    BOOST_TEST(handshake({"ee-rsa"}, "127.0.1.1", upper).out.empty());
    std::string other = "status=ok hosts=\"<;127.0.1.1\" HOST@127.0.1.1=7 " +
                        plan_for("127.0.1.1", ee, "mx.example.net").substr(10);
    // host 7 has no entry: not a DANE host of the plan, refused.
    BOOST_TEST(!handshake({"ee-ec"}, "127.0.1.1", other).out.empty());
}

BOOST_AUTO_TEST_CASE(missing_certificate_event_refuses) {
    // Depth 2 then depth 0: the event for depth 1 never came.
    std::string ta = tlsa_field(fixture::record(2, 0, 1, "root"));
    std::string plan = plan_for("127.0.1.1", ta, "mx.example.net");
    call(danesmtp_exim_tls_cert, {"2", b64(fixture::der("root")), "127.0.1.1", plan});
    Call c = call(danesmtp_exim_tls_cert, {"0", b64(fixture::der("leaf-san")), "127.0.1.1", plan});
    BOOST_TEST(c.out.find("incomplete") != std::string::npos, c.out);
}

// What a function writes to stderr (its log outside Exim) while it runs.
template <class F>
std::string captured_log(F&& f) {
    setenv("DANESMTP_EXIM_LOG_STDERR", "1", 1);
    std::fflush(stderr);
    int saved = dup(2);
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    dup2(fds[1], 2);
    close(fds[1]);
    f();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string out;
    char buf[4096];
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    close(fds[0]);
    unsetenv("DANESMTP_EXIM_LOG_STDERR");
    return out;
}

// Issue 7 item 11: a delivery without TLS to a host whose plan required it
// (only audit-only lets it happen) is logged from the msg:delivery event.
BOOST_AUTO_TEST_CASE(clear_text_delivery_to_a_dane_host_is_logged) {
    std::string ee = tlsa_field(fixture::record(3, 1, 1, "ee-ec"));
    std::string audit = plan_for("127.0.1.1", ee, "mx.example.net", true);
    Call c{};
    std::string log = captured_log([&] { c = call(danesmtp_exim_delivery, {"127.0.1.1", "", audit}); });
    BOOST_TEST(c.rc == OK);
    BOOST_TEST(c.out == "");
    BOOST_TEST(log.find("H=mx.example.net [127.0.1.1] delivered in clear text although DANE requires "
                        "authenticated TLS (audit-only, not enforced)") != std::string::npos, log);
    // Over TLS: nothing to say here (tls:cert logged the verdict).
    log = captured_log([&] { call(danesmtp_exim_delivery, {"127.0.1.1", "TLS1.3:AES256", audit}); });
    BOOST_TEST(log == "");
    // A host without TLS requirements, an address outside the plan, bad arguments: no line, no failure.
    std::string may = "status=ok hosts=\"<;127.0.1.6\" host@127.0.1.6=0 verdict.0=may name.0=x";
    log = captured_log([&] {
        BOOST_TEST(call(danesmtp_exim_delivery, {"127.0.1.6", "", may}).rc == OK);
        BOOST_TEST(call(danesmtp_exim_delivery, {"127.0.9.9", "", audit}).rc == OK);
    });
    BOOST_TEST(log == "");
    BOOST_TEST(call(danesmtp_exim_delivery, {"x"}).rc == OK);
}

BOOST_AUTO_TEST_SUITE_END()
