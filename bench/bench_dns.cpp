// SPDX-License-Identifier: MIT
// bench_dns.cpp - discovery cost on the lab (RFC 7672 section 2 lookups).
//
// Prints figures only; asserts nothing about time. Needs the lab up
// (`make bench` starts and stops it) and DANESMTP_LAB set to its state dir.
//   decision time for a 3-MX domain: cold cache (a new context each time),
//   warm cache (the same context again), concurrent lookups vs one after
//   another; memory of a context after 1,000 domains.
#include <danesmtp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

std::string lab_config(const std::string& state, unsigned parallel) {
    std::string text = "trust-anchor-file = " + state + "/trust-anchor\nroot-anchor = no\n";
    std::ifstream stubs(state + "/stubs");
    std::string zone, addr;
    while (stubs >> zone >> addr) text += "stub = " + zone + " " + addr + "\n";
    text += "parallel-lookups = " + std::to_string(parallel) + "\n";
    return text;
}

danesmtp_ctx* make(const std::string& text) {
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_text = text.c_str();
    danesmtp_ctx* c = nullptr;
    if (danesmtp_ctx_new(&c, &o) != DANESMTP_OK) {
        std::fprintf(stderr, "bench_dns: %s\n", danesmtp_last_error());
        std::exit(1);
    }
    return c;
}

double lookup_ms(danesmtp_ctx* c, const char* domain, unsigned port) {
    auto t0 = std::chrono::steady_clock::now();
    danesmtp_plan* p = nullptr;
    if (danesmtp_lookup_domain(c, domain, port, &p) != DANESMTP_OK ||
        danesmtp_plan_status(p) != DANESMTP_DOMAIN_OK) {
        std::fprintf(stderr, "bench_dns: lookup of %s failed: %s\n", domain,
                     p ? danesmtp_plan_reason(p) : danesmtp_last_error());
        std::exit(1);
    }
    danesmtp_plan_free(p);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

long rss_kib(const std::string& pid = "self") {
    std::ifstream in("/proc/" + pid + "/statm");
    long size = 0, resident = 0;
    in >> size >> resident;
    return resident * 4;
}

// The resolver processes libunbound forked (children of this process).
long children_rss_kib() {
    std::ifstream in("/proc/self/task/" + std::to_string(getpid()) + "/children");
    long total = 0;
    std::string pid;
    while (in >> pid) total += rss_kib(pid);
    return total;
}

}  // namespace

int main() {
    const char* state_env = std::getenv("DANESMTP_LAB");
    // Absolute: the configuration takes absolute paths only.
    char* abs = state_env ? realpath(state_env, nullptr) : nullptr;
    std::string state_dir = abs ? abs : (state_env ? state_env : "");
    std::free(abs);
    const char* state = state_env ? state_dir.c_str() : nullptr;
    const char* port_s = std::getenv("LAB_SMTP_PORT");
    if (!state) {
        std::fprintf(stderr, "bench_dns: DANESMTP_LAB is not set (run make bench)\n");
        return 1;
    }
    unsigned port = port_s ? static_cast<unsigned>(std::atoi(port_s)) : 2525;
    const char* domain = "threemx.dane.test";
    const int runs = 15;

    std::printf("\ndiscovery of %s (3 MX hosts: MX, 6 A/AAAA, 3 TLSA lookups), ms, median of %d\n",
                domain, runs);
    std::printf("%-44s %10s %10s\n", "", "cold", "warm");
    for (unsigned parallel : {8u, 1u}) {
        std::string text = lab_config(state, parallel);
        std::vector<double> cold, warm;
        for (int i = 0; i < runs; ++i) {
            danesmtp_ctx* c = make(text);
            if (danesmtp_selftest(c) != DANESMTP_OK) {
                std::fprintf(stderr, "bench_dns: %s\n", danesmtp_last_error());
                return 1;
            }
            cold.push_back(lookup_ms(c, domain, port));
            warm.push_back(lookup_ms(c, domain, port));
            danesmtp_ctx_free(c);
        }
        std::printf("%-44s %10.2f %10.3f\n",
                    parallel == 1 ? "one lookup after another (parallel-lookups=1)"
                                  : "concurrent lookups (parallel-lookups=8)",
                    median(cold), median(warm));
    }
    std::printf("  cold: new context (empty cache; the DNSKEY chain test. -> dane.test is fetched\n"
                "  by the self-test first); warm: the same lookup again from the context's cache.\n"
                "  The lab answers from loopback in microseconds, so concurrency gains little here;\n"
                "  with real network round trips the concurrent phases cost one RTT each.\n");

    danesmtp_ctx* c = make(lab_config(state, 8));
    danesmtp_selftest(c);
    long before = rss_kib(), before_child = children_rss_kib();
    auto t0 = std::chrono::steady_clock::now();
    const char* known[] = {"ee.dane.test", "ta.dane.test", "threemx.dane.test", "cname.dane.test",
                           "plain.insecure.test", "notlsa.dane.test"};
    for (int i = 0; i < 1000; ++i) {
        std::string d = i % 2 ? known[i % 6] : "nx" + std::to_string(i) + ".dane.test";
        danesmtp_plan* p = nullptr;
        danesmtp_lookup_domain(c, d.c_str(), port, &p);
        danesmtp_plan_free(p);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    long after = rss_kib(), after_child = children_rss_kib();
    std::printf("\ncontext after 1,000 domain lookups (500 distinct nonexistent, 500 of 6 lab domains)\n"
                "  MTA process RSS %ld KiB -> %ld KiB (%+ld KiB); libunbound's resolver process\n"
                "  (holds the cache) %ld KiB -> %ld KiB (%+ld KiB); %.2f s in all\n",
                before, after, after - before, before_child, after_child, after_child - before_child, secs);
    danesmtp_ctx_free(c);
    return 0;
}
