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

#include "cli/smtp.hpp"
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
        config = "trust-anchor-file = " + state + "/trust-anchor\n";
        std::ifstream stubs(state + "/stubs");
        std::string zone, addr;
        while (stubs >> zone >> addr) config += "stub = " + zone + " " + addr + "\n";
        config += "timeout = 3000\n";
        if (env.count("LAB_RESOLVER"))
            via_resolver = "trust-anchor-file = " + state + "/trust-anchor\nresolv-conf = " + state +
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

Plan lookup(danesmtp_ctx* ctx, const std::string& domain) {
    danesmtp_plan* p = nullptr;
    int rc = danesmtp_lookup_domain(ctx, domain.c_str(), Lab::get().port, &p);
    BOOST_REQUIRE_MESSAGE(rc == DANESMTP_OK, domain << ": " << danesmtp_last_error());
    return Plan(p);
}

// What happened when we connected and verified, as an MTA would.
struct Session {
    cli::Probe probe;
    int verdict = 0;  // danesmtp verdict, 0 when not verified
    std::string reason;
};

Session connect(danesmtp_ctx* ctx, const danesmtp_host* h) {
    Session s;
    std::string sni = *danesmtp_host_sni(h) ? danesmtp_host_sni(h) : danesmtp_host_name(h);
    s.probe = cli::probe(danesmtp_host_address(h, 0), Lab::get().port, sni, "lab-test.invalid", 5000);
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
    std::string text = "trust-anchor = test. 3600 IN DS 12345 13 2 "
                       "0000000000000000000000000000000000000000000000000000000000000000\n";
    std::ifstream stubs(Lab::get().state + "/stubs");
    std::string zone, addr;
    while (stubs >> zone >> addr) text += "stub = " + zone + " " + addr + "\n";
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_text = text.c_str();
    danesmtp_ctx* c = nullptr;
    BOOST_REQUIRE(danesmtp_ctx_new(&c, &o) == DANESMTP_OK);
    Ctx ctx(c);
    BOOST_TEST(danesmtp_selftest(ctx.get()) == DANESMTP_E_RESOLVER);
    std::string why = danesmtp_last_error();
    BOOST_TEST(why.find("DNSSEC validation fails") != std::string::npos, why);
    // Lookups defer with that reason: never "everything insecure".
    Plan p = lookup(ctx.get(), "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(p.get()) == DANESMTP_DOMAIN_DEFER);
    BOOST_TEST(std::string(danesmtp_plan_reason(p.get())).find("resolver unusable") != std::string::npos);

    // A source that strips DNSSEC records (the lab's second NSD serves the
    // same zones unsigned): named as such, and lookups defer.
    std::string stripped = "trust-anchor-file = " + Lab::get().state + "/trust-anchor\nstub = test. " +
                           Lab::get().env.at("LAB_STRIPPED_DNS") + "\ntimeout = 2000\n";
    o.config_text = stripped.c_str();
    BOOST_REQUIRE(danesmtp_ctx_new(&c, &o) == DANESMTP_OK);
    Ctx ctx3(c);
    BOOST_TEST(danesmtp_selftest(ctx3.get()) == DANESMTP_E_RESOLVER);
    BOOST_TEST(std::string(danesmtp_last_error()).find("strips DNSSEC") != std::string::npos,
               danesmtp_last_error());
    Plan s = lookup(ctx3.get(), "ee.dane.test");
    BOOST_TEST(danesmtp_plan_status(s.get()) == DANESMTP_DOMAIN_DEFER);

    // No server at all.
    std::string dead = "trust-anchor-file = " + Lab::get().state + "/trust-anchor\nstub = test. 127.0.0.254@9\ntimeout = 1000\n";
    o.config_text = dead.c_str();
    BOOST_REQUIRE(danesmtp_ctx_new(&c, &o) == DANESMTP_OK);
    Ctx ctx2(c);
    BOOST_TEST(danesmtp_selftest(ctx2.get()) == DANESMTP_E_RESOLVER);
    BOOST_TEST(std::string(danesmtp_last_error()).find("no DNS answer") != std::string::npos,
               danesmtp_last_error());
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

BOOST_AUTO_TEST_SUITE_END()
