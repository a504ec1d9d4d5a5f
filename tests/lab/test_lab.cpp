// SPDX-License-Identifier: MIT
// test_lab.cpp - RFC 7672 discovery and verification against the lab: real
// NSD serving DNSSEC-signed zones, libunbound validating in-process, real
// STARTTLS servers on 127.0.1.x (tests/lab). `make lab-test` brings the lab
// up, runs this with DANESMTP_LAB=<state dir>, and takes the lab down.
//
// Every case of tests/lab/cases is checked against its EXPECT token (one per
// MX host, in preference order), so a case added there is tested here; the
// cases that need more than a token have their own test below.
#define BOOST_TEST_MODULE danesmtp_lab
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <atomic>
#include <thread>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <limits>
#include <dirent.h>

#include "tls/probe.hpp"
#include "danesmtp.h"

namespace {

std::map<std::string, std::string> read_env(const std::string& path) {
    std::map<std::string, std::string> env;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos || line[0] == '#') continue;
        std::string v = line.substr(eq + 1);
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) v = v.substr(1, v.size() - 2);
        env[line.substr(0, eq)] = v;
    }
    return env;
}

struct Lab {
    std::string state;
    std::map<std::string, std::string> env;
    unsigned port = 0;
    std::string config;  // configuration text for danesmtp_options: stub zones
    std::string via_resolver;  // the same through the lab's recursive resolver (resolv.conf)

    Lab() {
        const char* s = std::getenv("DANESMTP_LAB");
        if (!s) throw std::runtime_error("DANESMTP_LAB is not set: run through make lab-test");
        // Absolute: the configuration takes absolute paths only.
        char* abs = realpath(s, nullptr);
        state = abs ? abs : s;
        std::free(abs);
        env = read_env(state + "/lab.env");
        port = static_cast<unsigned>(std::stoul(env.at("LAB_SMTP_PORT")));
        config = "trust-anchor-file = " + state + "/trust-anchor\nroot-anchor = no\n";
        std::ifstream stubs(state + "/stubs");
        std::string zone, addr;
        while (stubs >> zone >> addr) config += "stub = " + zone + " " + addr + "\n";
        config += "timeout = 3000\n";
        if (env.count("LAB_RESOLVER"))
            via_resolver = "trust-anchor-file = " + state + "/trust-anchor\nroot-anchor = no\nresolv-conf = " + state +
                           "/resolv.conf\ntimeout = 3000\n";
    }
    static Lab& get() {
        static Lab lab;
        return lab;
    }
};

struct CtxFree {
    void operator()(danesmtp_ctx* c) const { danesmtp_ctx_free(c); }
};
struct PlanFree {
    void operator()(danesmtp_plan* p) const { danesmtp_plan_free(p); }
};
using Ctx = std::unique_ptr<danesmtp_ctx, CtxFree>;
using Plan = std::unique_ptr<danesmtp_plan, PlanFree>;

Ctx make_ctx(const std::string& extra = "", bool via_resolver = false) {
    std::string text = (via_resolver ? Lab::get().via_resolver : Lab::get().config) + extra;
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_text = text.c_str();
    danesmtp_ctx* c = nullptr;
    BOOST_REQUIRE_MESSAGE(danesmtp_ctx_new(&c, &o) == DANESMTP_OK, danesmtp_last_error());
    return Ctx(c);
}

std::string stub_lines() {
    std::string text;
    std::ifstream stubs(Lab::get().state + "/stubs");
    std::string zone, addr;
    while (stubs >> zone >> addr) text += "stub = " + zone + " " + addr + "\n";
    return text;
}

// A context from configuration text alone.
Ctx ctx_of(const std::string& text) {
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_text = text.c_str();
    danesmtp_ctx* c = nullptr;
    BOOST_REQUIRE_MESSAGE(danesmtp_ctx_new(&c, &o) == DANESMTP_OK, danesmtp_last_error());
    return Ctx(c);
}

// The self-test fails with a message holding `needle`, and lookups defer.
void expect_unusable_resolver(danesmtp_ctx* ctx, const std::string& needle);

Plan lookup(danesmtp_ctx* ctx, const std::string& domain) {
    danesmtp_plan* p = nullptr;
    int rc = danesmtp_lookup_domain(ctx, domain.c_str(), Lab::get().port, &p);
    BOOST_REQUIRE_MESSAGE(rc == DANESMTP_OK, domain << ": " << danesmtp_last_error());
    return Plan(p);
}

void expect_unusable_resolver(danesmtp_ctx* ctx, const std::string& needle) {
    BOOST_TEST(danesmtp_selftest(ctx) == DANESMTP_E_RESOLVER);
    std::string why = danesmtp_last_error();
    BOOST_TEST(why.find(needle) != std::string::npos, why);
    // Lookups defer with that reason: never "everything insecure".
    Plan p = lookup(ctx, "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(p.get()) == DANESMTP_DOMAIN_DEFER);
    BOOST_TEST(std::string(danesmtp_plan_reason(p.get())).find("resolver unusable") != std::string::npos);
}

// What happened when we connected and verified, as an MTA would.
struct Session {
    danesmtp::tls::Probe probe;
    int verdict = 0;  // danesmtp verdict, 0 when not verified
    std::string reason;
};

Session connect(danesmtp_ctx* ctx, const danesmtp_host* h) {
    Session s;
    std::string sni = *danesmtp_host_sni(h) ? danesmtp_host_sni(h) : danesmtp_host_name(h);
    s.probe = danesmtp::tls::probe(danesmtp_host_address(h, 0), Lab::get().port, sni, "lab-test.invalid", 5000);
    if (!s.probe.tls || s.probe.chain.empty()) return s;
    danesmtp_chain* chain = nullptr;
    danesmtp_chain_new(&chain);
    for (const auto& der : s.probe.chain)
        danesmtp_chain_add_der(chain, reinterpret_cast<const unsigned char*>(der.data()), der.size());
    danesmtp_result* res = nullptr;
    if (danesmtp_verify(ctx, danesmtp_host_tlsa(h), chain, danesmtp_host_names(h),
                        danesmtp_host_name_count(h), DANESMTP_TIME_NOW, &res) == DANESMTP_OK) {
        s.verdict = danesmtp_result_verdict(res);
        s.reason = danesmtp_result_reason(res);
    }
    danesmtp_result_free(res);
    danesmtp_chain_free(chain);
    return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, sep)) out.push_back(part);
    return out;
}

struct Case {
    std::string id, domain, expect;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    std::ifstream in("tests/lab/cases");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line.substr(0, line.find('#')));
        std::string kw;
        Case c;
        if (ls >> kw && kw == "case" && ls >> c.id >> c.domain >> c.expect) {
            if (!c.domain.empty() && c.domain.back() == '.') c.domain.pop_back();
            out.push_back(c);
        }
    }
    return out;
}

const danesmtp_host* host(const Plan& p, std::size_t i) { return danesmtp_plan_host(p.get(), i); }

}  // namespace

BOOST_AUTO_TEST_SUITE(lab)


BOOST_AUTO_TEST_CASE(resolver_validates) {
    Ctx ctx = make_ctx();
    BOOST_TEST(danesmtp_selftest(ctx.get()) == DANESMTP_OK, danesmtp_last_error());
}

void every_case(bool via_resolver) {
    Ctx ctx = make_ctx("", via_resolver);
    auto all = cases();
    BOOST_REQUIRE(all.size() >= 20u);
    for (const Case& c : all) {
        BOOST_TEST_CONTEXT("case " << c.id << " (" << c.domain << ", expect " << c.expect << ")") {
            Plan p = lookup(ctx.get(), c.domain);
            int status = danesmtp_plan_status(p.get());
            std::string why = danesmtp_plan_reason(p.get());
            if (c.expect == "defer") {
                BOOST_TEST(status == DANESMTP_DOMAIN_DEFER, why);
                continue;
            }
            if (c.expect == "nullmx") {
                BOOST_TEST(status == DANESMTP_DOMAIN_NULL_MX, why);
                continue;
            }
            auto expects = split(c.expect, ',');
            BOOST_REQUIRE_EQUAL(danesmtp_plan_host_count(p.get()), expects.size());
            bool any_usable = false;
            for (std::size_t i = 0; i < expects.size(); ++i) {
                const danesmtp_host* h = host(p, i);
                const std::string& e = expects[i];
                int v = danesmtp_host_verdict(h);
                std::string hr = danesmtp_host_reason(h);
                BOOST_TEST_CONTEXT("host " << danesmtp_host_name(h) << ": " << danesmtp_host_verdict_name(v)
                                           << " (" << hr << ")") {
                    if (e == "unreachable") {
                        BOOST_TEST(v == DANESMTP_HOST_UNREACHABLE);
                        continue;
                    }
                    any_usable = true;
                    if (e == "may") {
                        BOOST_TEST(v == DANESMTP_HOST_MAY);
                        continue;
                    }
                    if (e == "dane") {  // DANE required; not probed (hostile-volume cases)
                        BOOST_TEST(v == DANESMTP_HOST_DANE);
                        continue;
                    }
                    if (e == "encrypt") {
                        BOOST_TEST(v == DANESMTP_HOST_ENCRYPT);
                        Session s = connect(ctx.get(), h);
                        BOOST_TEST(s.probe.tls, s.probe.error);
                        continue;
                    }
                    BOOST_TEST(v == DANESMTP_HOST_DANE);
                    Session s = connect(ctx.get(), h);
                    if (e == "no-starttls") {
                        BOOST_TEST(s.probe.connected);
                        BOOST_TEST(!s.probe.starttls_offered);
                        BOOST_TEST(!s.probe.tls);
                    } else if (e == "tls-failure") {
                        BOOST_TEST(s.probe.starttls_offered);
                        BOOST_TEST(!s.probe.tls);
                    } else if (e == "verified" || e == "insecure-mx-dane-host") {
                        BOOST_TEST(s.verdict == DANESMTP_AUTHENTICATED, s.reason << s.probe.error);
                        BOOST_TEST(danesmtp_host_verified_possible(h) == (e == "verified"));
                    } else if (e == "mismatch" || e == "name-mismatch" || e == "not-authenticated") {
                        BOOST_TEST(s.probe.tls, s.probe.error);
                        BOOST_TEST(s.verdict == DANESMTP_NOT_AUTHENTICATED, s.reason);
                    } else {
                        BOOST_ERROR("unknown expectation " << e);
                    }
                }
            }
            BOOST_TEST(status == (any_usable ? DANESMTP_DOMAIN_OK : DANESMTP_DOMAIN_DEFER), why);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_case_meets_its_expectation) { every_case(false); }

// The default set-up of a real host: answers from the resolvers of a
// resolv.conf (here the lab's recursive resolver, which does not validate),
// validation in the library.
BOOST_AUTO_TEST_CASE(every_case_through_a_resolver) {
    if (Lab::get().via_resolver.empty()) {
        // make check installs unbound and sets DANESMTP_REQUIRE_RESOLVER.
        const char* require = std::getenv("DANESMTP_REQUIRE_RESOLVER");
        BOOST_TEST(!(require && std::string(require) == "1"), "the lab has no recursive resolver");
        return;
    }
    every_case(true);
}

BOOST_AUTO_TEST_CASE(tlsa_base_domains_rfc7671_section_7) {
    Ctx ctx = make_ctx();
    struct Want {
        const char* domain;
        const char* base;
    };
    for (Want w : {Want{"cname.dane.test", "mx-real.cname.dane.test"},
                   Want{"cnameorig.dane.test", "mx.cnameorig.dane.test"},
                   Want{"cnameinsec.dane.test", "mx.cnameinsec.dane.test"},
                   Want{"tlsacname.dane.test", "mx.tlsacname.dane.test"}}) {
        Plan p = lookup(ctx.get(), w.domain);
        BOOST_REQUIRE(danesmtp_plan_host_count(p.get()) == 1u);
        BOOST_TEST(std::string(danesmtp_host_tlsa_base(host(p, 0))) == w.base, w.domain);
        BOOST_TEST(std::string(danesmtp_host_sni(host(p, 0))) == w.base, w.domain);
    }
}

BOOST_AUTO_TEST_CASE(reference_identifiers_section_3_2_3) {
    Ctx ctx = make_ctx();
    Plan secure = lookup(ctx.get(), "ta.dane.test");
    const danesmtp_host* h = host(secure, 0);
    BOOST_REQUIRE(danesmtp_host_name_count(h) == 2u);
    BOOST_TEST(std::string(danesmtp_host_names(h)[0]) == "mx.ta.dane.test");
    BOOST_TEST(std::string(danesmtp_host_names(h)[1]) == "ta.dane.test");
    Plan insecure = lookup(ctx.get(), "insecmx.insecure.test");
    h = host(insecure, 0);
    BOOST_TEST(!danesmtp_plan_mx_secure(insecure.get()));
    BOOST_REQUIRE(danesmtp_host_name_count(h) == 1u);  // only the MX host (section 2.2.1)
    BOOST_TEST(std::string(danesmtp_host_names(h)[0]) == "mx.insecmx.dane.test");
}

BOOST_AUTO_TEST_CASE(implicit_mx_and_insecure_addresses) {
    Ctx ctx = make_ctx();
    Plan p = lookup(ctx.get(), "implicit.dane.test");
    BOOST_TEST(danesmtp_plan_implicit_mx(p.get()));
    Plan q = lookup(ctx.get(), "insecaddr.dane.test");
    BOOST_TEST(std::string(danesmtp_host_reason(host(q, 0))).find("no TLSA lookup") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(silent_tlsa_server_times_out) {
    Ctx ctx = make_ctx();
    auto t0 = std::chrono::steady_clock::now();
    Plan p = lookup(ctx.get(), "deadtlsa.dane.test");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST(danesmtp_host_verdict(host(p, 0)) == DANESMTP_HOST_UNREACHABLE);
    BOOST_TEST(danesmtp_plan_status(p.get()) == DANESMTP_DOMAIN_DEFER);
    // timeout = 3000 ms: libunbound gives up after about 2.5 x 1000 ms.
    BOOST_TEST(s < 6.0, "took " << s << " s");
}

BOOST_AUTO_TEST_CASE(mandatory_dane_section_6) {
    Ctx ctx = make_ctx("mandatory-dane = notlsa.dane.test\n");
    Plan p = lookup(ctx.get(), "notlsa.dane.test");
    BOOST_TEST(danesmtp_plan_status(p.get()) == DANESMTP_DOMAIN_DEFER);
    BOOST_TEST(danesmtp_host_verdict(host(p, 0)) == DANESMTP_HOST_UNREACHABLE);
    // Other destinations keep their verdict.
    Plan q = lookup(ctx.get(), "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(q.get()) == DANESMTP_DOMAIN_OK);
}

BOOST_AUTO_TEST_CASE(insecure_mx_policy_knobs) {
    Ctx enc = make_ctx("insecure-mx = encrypt\n");
    Plan p = lookup(enc.get(), "insecmx.insecure.test");
    BOOST_TEST(danesmtp_host_verdict(host(p, 0)) == DANESMTP_HOST_ENCRYPT);
    Ctx ign = make_ctx("insecure-mx = ignore\n");
    Plan q = lookup(ign.get(), "insecmx.insecure.test");
    BOOST_TEST(danesmtp_host_verdict(host(q, 0)) == DANESMTP_HOST_MAY);
}

BOOST_AUTO_TEST_CASE(resolver_that_cannot_validate_is_named) {
    // A trust anchor that does not match the lab's keys: validation fails.
    Ctx wrong = ctx_of("trust-anchor = test. 3600 IN DS 12345 13 2 "
                       "0000000000000000000000000000000000000000000000000000000000000000\nroot-anchor = no\n" +
                       stub_lines());
    expect_unusable_resolver(wrong.get(), "DNSSEC validation fails");
    // A source that strips DNSSEC records (the lab's second NSD serves the
    // same zones unsigned): named as such.
    std::string lab_anchor = "trust-anchor-file = " + Lab::get().state + "/trust-anchor\nroot-anchor = no\n";
    Ctx stripped = ctx_of(lab_anchor + "stub = test. " + Lab::get().env.at("LAB_STRIPPED_DNS") + "\ntimeout = 2000\n");
    expect_unusable_resolver(stripped.get(), "strips DNSSEC");
    // No server at all.
    Ctx dead = ctx_of(lab_anchor + "stub = test. 127.0.0.254@9\ntimeout = 1000\n");
    expect_unusable_resolver(dead.get(), "no DNS answer");
}

BOOST_AUTO_TEST_CASE(sni_is_the_tlsa_base_domain_section_8_1) {
    // The plan hands the MTA the TLSA base domain as SNI, also when a CNAME
    // moved the base domain away from the MX host name. (That Exim really
    // sends it is read back from the lab server in tests/exim/exim_test.sh.)
    Ctx ctx = make_ctx();
    struct Want {
        const char* domain;
        const char* sni;
    };
    for (Want w : {Want{"ee.dane.test", "mx.ee.dane.test"}, Want{"cname.dane.test", "mx-real.cname.dane.test"},
                   Want{"cnameorig.dane.test", "mx.cnameorig.dane.test"}, Want{"ta.dane.test", "mx.ta.dane.test"}}) {
        Plan p = lookup(ctx.get(), w.domain);
        BOOST_TEST(std::string(danesmtp_host_sni(host(p, 0))) == w.sni, w.domain);
    }
}

BOOST_AUTO_TEST_CASE(one_context_many_threads) {
    // Lookups from several threads share one context (and its resolver).
    Ctx ctx = make_ctx();
    const char* domains[] = {"ee.dane.test", "plain.insecure.test", "bogus.test", "cname.dane.test"};
    const int want[] = {DANESMTP_DOMAIN_OK, DANESMTP_DOMAIN_OK, DANESMTP_DOMAIN_DEFER, DANESMTP_DOMAIN_OK};
    std::atomic<int> wrong{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                int k = (t + i) % 4;
                danesmtp_plan* p = nullptr;
                if (danesmtp_lookup_domain(ctx.get(), domains[k], Lab::get().port, &p) != DANESMTP_OK ||
                    danesmtp_plan_status(p) != want[k])
                    ++wrong;
                danesmtp_plan_free(p);
            }
        });
    for (auto& th : pool) th.join();
    BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_CASE(lookups_after_fork) {
    // The parent looks up first (its resolver process starts), then forks:
    // the child must get answers from a resolver of its own, and the parent
    // must keep working afterwards (Exim forks per delivery).
    Ctx ctx = make_ctx();
    Plan before = lookup(ctx.get(), "ee.dane.test");
    BOOST_REQUIRE(danesmtp_plan_status(before.get()) == DANESMTP_DOMAIN_OK);
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        danesmtp_plan* p = nullptr;
        char verdict = 'e';
        if (danesmtp_lookup_domain(ctx.get(), "ta.dane.test", Lab::get().port, &p) == DANESMTP_OK &&
            danesmtp_plan_host_count(p) == 1)
            verdict = static_cast<char>('0' + danesmtp_host_verdict(danesmtp_plan_host(p, 0)));
        danesmtp_plan_free(p);
        if (write(fds[1], &verdict, 1) != 1) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char got = 0;
    BOOST_TEST(read(fds[0], &got, 1) == 1);
    close(fds[0]);
    waitpid(pid, nullptr, 0);
    BOOST_TEST(got == '0' + DANESMTP_HOST_DANE);
    Plan after = lookup(ctx.get(), "cname.dane.test");
    BOOST_TEST(danesmtp_host_verdict(host(after, 0)) == DANESMTP_HOST_DANE);
}

// ---- issue 7: trust anchors, indeterminate answers, resolver process death,
// recovery, threads and fork.


// The DS record of dane.test. as the signed test. zone publishes it.
std::string dane_test_ds() {
    std::ifstream in(Lab::get().state + "/zones/test.signed");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string owner, ttl, cls, type;
        if (ls >> owner >> ttl >> cls >> type && owner == "dane.test." && type == "DS") return line;
    }
    return "";
}

// Item 2: an answer under no trust anchor is indeterminate (RFC 4035 section
// 4.3) and counts as bogus (RFC 7672 section 2.1.1), never as insecure. With
// only dane.test.'s key trusted (and not the root), the unsigned
// insecure.test. zone is outside every anchored tree: mail to it defers,
// while the same data under the test. anchor is insecure ("may").
BOOST_AUTO_TEST_CASE(indeterminate_answers_count_as_bogus) {
    std::string ds = dane_test_ds();
    BOOST_REQUIRE(!ds.empty());
    Ctx island = ctx_of("trust-anchor = " + ds + "\nroot-anchor = no\ntimeout = 3000\n" + stub_lines());
    BOOST_TEST(danesmtp_selftest(island.get()) == DANESMTP_OK, danesmtp_last_error());
    Plan ee = lookup(island.get(), "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(ee.get()) == DANESMTP_DOMAIN_OK);
    BOOST_TEST(danesmtp_host_verdict(host(ee, 0)) == DANESMTP_HOST_DANE);
    Plan plain = lookup(island.get(), "plain.insecure.test");
    BOOST_TEST(danesmtp_plan_status(plain.get()) == DANESMTP_DOMAIN_DEFER);
    BOOST_TEST(std::string(danesmtp_plan_reason(plain.get())).find("indeterminate") != std::string::npos,
               danesmtp_plan_reason(plain.get()));
    // The MX RRset is outside the anchor, the host inside: the MX lookup is
    // indeterminate, so the destination cannot be determined.
    Plan insecmx = lookup(island.get(), "insecmx.insecure.test");
    BOOST_TEST(danesmtp_plan_status(insecmx.get()) == DANESMTP_DOMAIN_DEFER);
    // A CNAME chain that leaves the anchored tree and comes back: every
    // link counts, not only the ends (the TLSA answer is indeterminate).
    Plan chainout = lookup(island.get(), "chainout.dane.test");
    BOOST_TEST(danesmtp_host_verdict(host(chainout, 0)) == DANESMTP_HOST_UNREACHABLE,
               danesmtp_host_reason(host(chainout, 0)));
    // The secure MX names a host outside the anchor: that host is
    // unreachable, not "may".
    Plan insecaddr = lookup(island.get(), "insecaddr.dane.test");
    BOOST_TEST(danesmtp_host_verdict(host(insecaddr, 0)) == DANESMTP_HOST_UNREACHABLE,
               danesmtp_host_reason(host(insecaddr, 0)));

    Ctx whole = make_ctx();
    Plan p2 = lookup(whole.get(), "plain.insecure.test");
    BOOST_TEST(danesmtp_plan_status(p2.get()) == DANESMTP_DOMAIN_OK);
    BOOST_TEST(danesmtp_host_verdict(host(p2, 0)) == DANESMTP_HOST_MAY);
}

// Item 3: a configured anchor adds to the root key; it does not replace it.
// The lab has no root, so a context that trusts the root cannot validate
// it, and its self-test says so, naming the root ('.'), instead of silently
// treating everything outside test. as unsigned.
BOOST_AUTO_TEST_CASE(configured_anchors_add_to_the_root_key) {
    Ctx ctx = ctx_of("trust-anchor-file = " + Lab::get().state + "/trust-anchor\ntimeout = 1000\n" + stub_lines());
    expect_unusable_resolver(ctx.get(), "'.'");
}

// Items 4 and 5: a hostile signed domain cannot make us hold much. 1500
// addresses on one host: the first 8 (per family) are used, and the plan
// says so; 300 TLSA records on one host: that host is unreachable, the
// domain is not deferred and its other host is used.
BOOST_AUTO_TEST_CASE(hostile_volume_is_bounded) {
    Ctx ctx = make_ctx();
    Plan many = lookup(ctx.get(), "manyaddr.dane.test");
    BOOST_TEST(danesmtp_plan_status(many.get()) == DANESMTP_DOMAIN_OK);
    BOOST_TEST(danesmtp_host_address_count(host(many, 0)) == 8u);
    BOOST_TEST(danesmtp_tlsa_count(danesmtp_host_tlsa(host(many, 0))) == 256u);
    std::string reason = danesmtp_plan_reason(many.get());
    BOOST_TEST(reason.find("1500 IPv4 addresses, the first 8 used") != std::string::npos, reason);
    Plan tlsa = lookup(ctx.get(), "manytlsa.dane.test");
    BOOST_TEST(danesmtp_plan_status(tlsa.get()) == DANESMTP_DOMAIN_OK);
    BOOST_TEST(danesmtp_host_verdict(host(tlsa, 0)) == DANESMTP_HOST_UNREACHABLE);
    BOOST_TEST(std::string(danesmtp_host_reason(host(tlsa, 0))).find("over the limit") != std::string::npos,
               danesmtp_host_reason(host(tlsa, 0)));
    BOOST_TEST(danesmtp_host_verdict(host(tlsa, 1)) == DANESMTP_HOST_DANE);
}

// The resolver processes libunbound forked for this process: our children
// that are not the test's own.
std::vector<pid_t> children() {
    std::vector<pid_t> out;
    pid_t me = getpid();
    DIR* proc = opendir("/proc");
    if (!proc) return out;
    while (dirent* e = readdir(proc)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream st(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(st, line)) continue;
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        int ppid = 0;
        rest >> state >> ppid;
        if (ppid == me && state != "Z") out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    }
    closedir(proc);
    return out;
}

// Child - run `body` in a forked child that reports one byte through a
// pipe (its exit status is valgrind's when the suite runs under it: the
// parent's objects are unreachable in a child that _exit()s). A hang ends
// in SIGALRM after `seconds`, a crash in its signal; both show as failures.
struct ChildResult {
    char code = 0;      // what the child reported; 0 when it reported nothing
    int signal = 0;     // the signal that ended it, if any
};
template <class F>
ChildResult in_child(unsigned seconds, F&& body) {
    ChildResult out;
    int fds[2];
    if (pipe(fds) != 0) return out;
    std::fflush(nullptr);  // or the child would print the parent's buffered output again
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(seconds);
        char c = body();
        if (write(fds[1], &c, 1) != 1) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return out;
    }
    if (read(fds[0], &out.code, 1) != 1) out.code = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
    return out;
}

// Item 7: the resolver process dies (OOM killer, kill -9). The next lookup
// must neither raise SIGPIPE in the host (default disposition: the process
// would die) nor fail for ever (SIGPIPE ignored, as in Exim): a new
// resolver process answers. Runs in a child so that a SIGPIPE shows as a
// failed test, not a dead suite.
void resolver_death(bool ignore_sigpipe) {
    ChildResult r = in_child(120, [&]() -> char {
        signal(SIGPIPE, ignore_sigpipe ? SIG_IGN : SIG_DFL);
        Ctx ctx = make_ctx();
        for (int round = 0; round < 3; ++round) {
            danesmtp_plan* p = nullptr;
            bool ok = danesmtp_lookup_domain(ctx.get(), "ee.dane.test", Lab::get().port, &p) == DANESMTP_OK &&
                      danesmtp_plan_status(p) == DANESMTP_DOMAIN_OK &&
                      danesmtp_host_verdict(danesmtp_plan_host(p, 0)) == DANESMTP_HOST_DANE;
            danesmtp_plan_free(p);
            if (!ok) return static_cast<char>('a' + round);
            auto kids = children();
            if (kids.size() != 1u) return static_cast<char>('k' + std::min<std::size_t>(kids.size(), 9));
            for (pid_t k : kids) kill(k, SIGKILL);
            for (pid_t k : kids) waitpid(k, nullptr, 0);
        }
        return 'y';
    });
    BOOST_TEST(r.signal == 0, "the test process died of signal " << r.signal);
    BOOST_TEST(r.code == 'y', "child reported '" << r.code << "'");
}

BOOST_AUTO_TEST_CASE(resolver_process_death_sigpipe_default) { resolver_death(false); }
BOOST_AUTO_TEST_CASE(resolver_process_death_sigpipe_ignored) { resolver_death(true); }

// UdpRelay - a UDP port on 127.0.0.1 that relays DNS datagrams to the lab
// NSD while running, and counts them: nothing answers there before start()
// or after halt().
class UdpRelay {
public:
    UdpRelay() {
        sock_ = socket(AF_INET, SOCK_DGRAM, 0);
        BOOST_REQUIRE(sock_ >= 0);
        sockaddr_in here{};
        here.sin_family = AF_INET;
        here.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        BOOST_REQUIRE(bind(sock_, reinterpret_cast<sockaddr*>(&here), sizeof here) == 0);
        socklen_t len = sizeof here;
        getsockname(sock_, reinterpret_cast<sockaddr*>(&here), &len);
        port_ = ntohs(here.sin_port);
    }
    ~UdpRelay() {
        halt();
        close(sock_);
    }
    unsigned port() const { return port_; }
    unsigned forwarded() const { return forwarded_; }
    void start() {
        unsigned nsd_port = static_cast<unsigned>(std::stoul(Lab::get().env.at("LAB_DNS_PORT")));
        stop_ = false;
        thread_ = std::thread([this, nsd_port] { run(nsd_port); });
    }
    void halt() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        // Drop what arrived meanwhile, so that nothing is answered late.
        unsigned char buf[512];
        while (recv(sock_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
        }
    }

private:
    void run(unsigned nsd_port) {
        sockaddr_in up{};
        up.sin_family = AF_INET;
        up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        up.sin_port = htons(static_cast<std::uint16_t>(nsd_port));
        int out = socket(AF_INET, SOCK_DGRAM, 0);
        std::map<std::uint16_t, sockaddr_in> who;  // DNS id -> client
        while (!stop_) {
            pollfd fds[2] = {{sock_, POLLIN, 0}, {out, POLLIN, 0}};
            if (poll(fds, 2, 100) <= 0) continue;
            unsigned char buf[65536];
            if (fds[0].revents & POLLIN) {
                sockaddr_in from{};
                socklen_t fl = sizeof from;
                ssize_t n = recvfrom(sock_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
                if (n >= 2) {
                    who[static_cast<std::uint16_t>(buf[0] << 8 | buf[1])] = from;
                    ++forwarded_;
                    sendto(out, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&up), sizeof up);
                }
            }
            if (fds[1].revents & POLLIN) {
                ssize_t n = recv(out, buf, sizeof buf, 0);
                if (n >= 2) {
                    auto it = who.find(static_cast<std::uint16_t>(buf[0] << 8 | buf[1]));
                    if (it != who.end())
                        sendto(sock_, buf, static_cast<size_t>(n), 0,
                               reinterpret_cast<sockaddr*>(&it->second), sizeof it->second);
                }
            }
        }
        close(out);
    }
    int sock_ = -1;
    unsigned port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<unsigned> forwarded_{0};
    std::thread thread_;
};

std::string relayed_config(const UdpRelay& relay) {
    return "trust-anchor-file = " + Lab::get().state + "/trust-anchor\nroot-anchor = no\n"
           "timeout = 1000\nstub = test. 127.0.0.1@" + std::to_string(relay.port()) + "\n";
}

// Item 8: a resolver that cannot start (here: its self-test finds no DNS)
// is tried again after a back-off, so a long-lived MTA recovers when DNS
// comes back. The stub names a port where nothing answers at first; after
// the first failure the test relays that port to the lab NSD.
BOOST_AUTO_TEST_CASE(failed_start_is_retried_after_a_back_off) {
    UdpRelay relay;
    Ctx ctx = ctx_of(relayed_config(relay));
    // Nothing answers yet: the start fails, and so does the lookup (defer).
    Plan p1 = lookup(ctx.get(), "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(p1.get()) == DANESMTP_DOMAIN_DEFER);
    // Within the back-off (1 s) the failure is reported at once.
    auto t0 = std::chrono::steady_clock::now();
    Plan p2 = lookup(ctx.get(), "ee.dane.test");
    auto quick = std::chrono::steady_clock::now() - t0;
    BOOST_TEST(danesmtp_plan_status(p2.get()) == DANESMTP_DOMAIN_DEFER);
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(quick).count() < 900);
    // DNS comes back.
    relay.start();
    // After the back-off the resolver starts again and works.
    bool recovered = false;
    for (int i = 0; i < 40 && !recovered; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        Plan p = lookup(ctx.get(), "ee.dane.test");
        recovered = danesmtp_plan_status(p.get()) == DANESMTP_DOMAIN_OK &&
                    danesmtp_host_verdict(host(p, 0)) == DANESMTP_HOST_DANE;
    }
    BOOST_TEST(recovered);
}

// Issue 11: the shared answer cache. Each "delivery process" is a forked
// child with a context of its own, as Exim's are. The first one's validated
// answers serve the next with no DNS query at all (the relay counts them),
// also when DNS is gone; bogus answers are never served from the cache, and
// past cache-max-ttl nothing is.
BOOST_AUTO_TEST_CASE(cached_answers_serve_new_processes) {
    char tmpl[] = "/tmp/danesmtp-labcache-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl));
    std::string dir = tmpl;
    UdpRelay relay;
    std::string conf = relayed_config(relay) + "cache = " + dir + "/answers.mdb\n";
    // One delivery process: the plan of `domain`, as a letter.
    auto deliver = [&](const std::string& extra, const char* domain) {
        return in_child(30, [&]() -> char {
            Ctx ctx = ctx_of(conf + extra);
            if (danesmtp_cache_status(ctx.get()) != DANESMTP_CACHE_IN_USE) return 'c';
            danesmtp_plan* raw = nullptr;
            if (danesmtp_lookup_domain(ctx.get(), domain, Lab::get().port, &raw) != DANESMTP_OK) return 'e';
            Plan p(raw);
            if (danesmtp_plan_status(p.get()) != DANESMTP_DOMAIN_OK) return 'd';  // deferred
            const danesmtp_host* h = host(p, 0);
            return h && danesmtp_host_verdict(h) == DANESMTP_HOST_DANE && danesmtp_host_tlsa(h) &&
                           danesmtp_tlsa_count(danesmtp_host_tlsa(h)) > 0
                       ? 'y'
                       : 'n';
        }).code;
    };
    relay.start();
    BOOST_TEST(deliver("", "ee.dane.test") == 'y');
    BOOST_TEST(deliver("", "bogus.test") == 'd');
    unsigned after_first = relay.forwarded();
    BOOST_TEST(after_first > 0u);
    // A new process: the same plan, not one query.
    BOOST_TEST(deliver("", "ee.dane.test") == 'y');
    BOOST_TEST(relay.forwarded() == after_first);
    // The bogus domain is asked again (and defers again).
    BOOST_TEST(deliver("", "bogus.test") == 'd');
    BOOST_TEST(relay.forwarded() > after_first);
    // DNS gone: cached answers still serve; anything else defers.
    relay.halt();
    BOOST_TEST(deliver("", "ee.dane.test") == 'y');
    BOOST_TEST(deliver("", "ta.dane.test") == 'd');
    // Past cache-max-ttl the entries are stale: defer, never the old answer.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    BOOST_TEST(deliver("cache-max-ttl = 1\n", "ee.dane.test") == 'd');
    std::system(("rm -rf '" + dir + "'").c_str());
}

// Item 9: sixteen threads on one context, lookups to answered zones mixed
// with lookups to the zone that never answers: the answered ones complete
// while the dead ones wait (one thread's wait does not hold the others),
// and fork() from the main thread meanwhile gives children that can look
// up on the same context without hanging.
BOOST_AUTO_TEST_CASE(threads_proceed_independently_and_fork_meanwhile) {
    Ctx ctx = make_ctx();
    {
        Plan warm = lookup(ctx.get(), "ee.dane.test");  // the resolver is up
        BOOST_REQUIRE(danesmtp_plan_status(warm.get()) == DANESMTP_DOMAIN_OK);
    }
    using Clock = std::chrono::steady_clock;
    const char* fast[] = {"ee.dane.test", "ta.dane.test", "plain.insecure.test", "cname.dane.test",
                          "bogus.test", "threemx.dane.test"};
    std::atomic<int> wrong{0};
    std::atomic<long long> last_fast_done{0}, first_dead_done{std::numeric_limits<long long>::max()};
    auto stamp = [] { return std::chrono::duration_cast<std::chrono::microseconds>(
                          Clock::now().time_since_epoch()).count(); };
    std::vector<std::thread> pool;
    for (int t = 0; t < 16; ++t) {
        pool.emplace_back([&, t] {
            if (t % 4 == 0) {  // four threads ask the dead zone (timeout 3 s)
                danesmtp_plan* p = nullptr;
                if (danesmtp_lookup_domain(ctx.get(), "deadtlsa.dane.test", Lab::get().port, &p) != DANESMTP_OK ||
                    danesmtp_plan_status(p) != DANESMTP_DOMAIN_DEFER)
                    ++wrong;
                danesmtp_plan_free(p);
                long long now = stamp(), cur = first_dead_done.load();
                while (now < cur && !first_dead_done.compare_exchange_weak(cur, now)) {
                }
                return;
            }
            for (int i = 0; i < 10; ++i) {
                const char* d = fast[(t + i) % 6];
                danesmtp_plan* p = nullptr;
                int want = std::string(d) == "bogus.test" ? DANESMTP_DOMAIN_DEFER : DANESMTP_DOMAIN_OK;
                if (danesmtp_lookup_domain(ctx.get(), d, Lab::get().port, &p) != DANESMTP_OK ||
                    danesmtp_plan_status(p) != want)
                    ++wrong;
                danesmtp_plan_free(p);
            }
            long long now = stamp(), cur = last_fast_done.load();
            while (now > cur && !last_fast_done.compare_exchange_weak(cur, now)) {
            }
        });
    }
    // Forks while the lookups run: each child looks up on the same context
    // (it starts a resolver of its own) and must finish.
    std::vector<ChildResult> kids;
    for (int f = 0; f < 4; ++f) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        kids.push_back(in_child(60, [&]() -> char {
            danesmtp_plan* p = nullptr;
            bool ok = danesmtp_lookup_domain(ctx.get(), "ee.dane.test", Lab::get().port, &p) == DANESMTP_OK &&
                      danesmtp_plan_status(p) == DANESMTP_DOMAIN_OK;
            return ok ? 'y' : 'n';
        }));
    }
    for (auto& th : pool) th.join();
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(last_fast_done.load() < first_dead_done.load(),
               "answered lookups waited for the dead zone");
    for (const auto& k : kids) BOOST_TEST((k.code == 'y' && k.signal == 0), "child: '" << k.code << "' signal " << k.signal);
}

// Item 9: a fork() while another thread is starting the resolver (its
// self-test waits for an answer that never comes): the child's first lookup
// must not wait on the parent's start.
BOOST_AUTO_TEST_CASE(fork_while_the_resolver_starts) {
    Ctx ctx = ctx_of("trust-anchor-file = " + Lab::get().state +
                     "/trust-anchor\nroot-anchor = no\nstub = test. 127.0.0.254@9\ntimeout = 1500\n");
    std::thread starter([&] { danesmtp_selftest(ctx.get()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the start is under way
    ChildResult r = in_child(60, [&]() -> char {
        danesmtp_plan* p = nullptr;
        bool ok = danesmtp_lookup_domain(ctx.get(), "ee.dane.test", Lab::get().port, &p) == DANESMTP_OK &&
                  danesmtp_plan_status(p) == DANESMTP_DOMAIN_DEFER;
        return ok ? 'y' : 'n';
    });
    starter.join();
    BOOST_TEST((r.code == 'y' && r.signal == 0), "child: '" << r.code << "' signal " << r.signal);
}

BOOST_AUTO_TEST_SUITE_END()
