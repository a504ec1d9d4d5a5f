// SPDX-License-Identifier: MIT
// check.cpp - `danesmtp check`: the publisher's deep check of a DANE
// deployment. Gathering and diagnosis live in the library (danesmtp_check,
// core/diagnose.hpp); this file reads the arguments and prints the report.
//
// check is a diagnosis: its answers come from DNS now, never from the
// answer cache (a publisher who just fixed a record must see the fix).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common.hpp"

namespace cli {

namespace {

struct ReportFree {
    void operator()(danesmtp_report* r) const { danesmtp_report_free(r); }
};

unsigned parse_number(const std::string& opt, const std::string& val, unsigned lo, unsigned hi) {
    bool digits = !val.empty() && val.size() <= 7;
    for (char c : val) digits &= (c >= '0' && c <= '9');
    unsigned v = digits ? static_cast<unsigned>(std::stoul(val)) : 0;
    if (!digits || v < lo || v > hi)
        throw UsageError{opt + " '" + val + "' is not a number from " + std::to_string(lo) + " to " + std::to_string(hi)};
    return v;
}

// Domains of a --from file: one per line, '#' comments and blank lines
// skipped. Bounded: a hosting provider's list, not an unbounded stream.
constexpr std::size_t kMaxFromDomains = 1000000;
constexpr std::size_t kMaxLine = 1024;

std::vector<std::string> read_domains(const std::string& path) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
        file.open(path);
        if (!file) throw UsageError{path + ": cannot open"};
        in = &file;
    }
    std::vector<std::string> out;
    std::string line;
    std::size_t lineno = 0;
    while (std::getline(*in, line)) {
        ++lineno;
        if (line.size() > kMaxLine) throw UsageError{path + ":" + std::to_string(lineno) + ": line too long"};
        auto hash = line.find('#');
        if (hash != std::string::npos) line.erase(hash);
        auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        auto e = line.find_last_not_of(" \t\r");
        std::string d = line.substr(b, e - b + 1);
        if (d.find_first_of(" \t") != std::string::npos)
            throw UsageError{path + ":" + std::to_string(lineno) + ": one domain per line"};
        if (out.size() == kMaxFromDomains)
            throw UsageError{path + ": more than " + std::to_string(kMaxFromDomains) + " domains"};
        out.push_back(d);
    }
    if (out.empty()) throw UsageError{path + ": no domain to check"};
    return out;
}

// check --from: many domains, `jobs` at a time on one library context
// (danesmtp_check is thread-safe). JSON lines or one line per domain on
// stdout, in the order the checks end; a summary at the end (on stderr with
// --json, so that stdout stays one object per line).
int check_many(danesmtp_ctx* ctx, const std::vector<std::string>& domains, danesmtp_check_options o,
               unsigned jobs, bool json) {
    std::mutex mu;
    std::atomic<std::size_t> next{0};
    std::size_t done = 0;
    std::map<std::string, std::size_t> by_outcome, by_code;
    int worst = 0;  // 0 < 5 (warnings) < 1 (errors, defer, no mail, not checked)
    bool progress = isatty(STDERR_FILENO) != 0;
    bool failed_worker = false;
    auto work_loop = [&] {
        for (;;) {
            std::size_t i = next.fetch_add(1);
            if (i >= domains.size()) return;
            danesmtp_report* raw = nullptr;
            int rc = danesmtp_check(ctx, domains[i].c_str(), &o, &raw);
            std::string err = rc == DANESMTP_OK ? std::string() : lib_error("check", rc);
            std::unique_ptr<danesmtp_report, ReportFree> rep(raw);
            std::lock_guard<std::mutex> lock(mu);
            ++done;
            int st = rep ? danesmtp_report_status(rep.get()) : 2;
            const char* outcome = st == 0   ? "ok"
                                  : st == 5 ? "warnings"
                                  : st == 1 ? "errors"
                                  : st == 3 ? "defer"
                                  : st == 4 ? "no mail"
                                            : "not checked";
            by_outcome[outcome]++;
            int rank = st == 0 ? 0 : st == 5 ? 1 : 2;
            worst = std::max(worst, rank);
            std::vector<std::string> codes;  // errors and warnings, once each
            if (rep) {
                for (std::size_t k = 0; k < danesmtp_report_finding_count(rep.get()); ++k) {
                    std::string c = danesmtp_report_finding_code(rep.get(), k);
                    by_code[c]++;
                    if (danesmtp_report_finding_severity(rep.get(), k) != DANESMTP_SEVERITY_NOTE &&
                        std::find(codes.begin(), codes.end(), c) == codes.end())
                        codes.push_back(c);
                }
            }
            if (progress) std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", done, domains.size(), domains[i].c_str());
            if (json) {
                const char* text = rep ? danesmtp_report_render(rep.get(), DANESMTP_REPORT_JSON, 0) : nullptr;
                if (text)
                    std::cout << text << "\n";
                else
                    std::cout << "{\"schema\":\"danesmtp-check-error/1\",\"domain\":" << json_string(domains[i].c_str())
                              << ",\"error\":" << json_string(err.c_str()) << "}\n";
            } else {
                std::cout << domains[i] << ": " << outcome;
                if (!rep) std::cout << " (" << err << ")";
                for (std::size_t k = 0; k < codes.size(); ++k) std::cout << (k ? " " : ": ") << codes[k];
                std::cout << "\n";
            }
            std::cout.flush();
        }
    };
    auto work = [&] {
        try {
            work_loop();
        } catch (const std::exception& e) {
            // Nothing may leave a worker thread (std::terminate): say it and stop taking domains.
            std::lock_guard<std::mutex> lock(mu);
            std::cerr << "danesmtp: check --from: " << e.what() << "\n";
            failed_worker = true;
            next.store(domains.size());
        }
    };
    std::vector<std::thread> pool;
    unsigned n = static_cast<unsigned>(std::min<std::size_t>(jobs, domains.size()));
    for (unsigned k = 0; k < n; ++k) pool.emplace_back(work);
    for (auto& t : pool) t.join();
    if (progress) std::fprintf(stderr, "\r\033[K");
    std::ostream& sum = json ? std::cerr : std::cout;
    sum << "summary: " << domains.size() << " domain" << (domains.size() == 1 ? "" : "s");
    for (const auto& [k, v] : by_outcome) sum << ", " << v << " " << k;
    sum << "\nfindings:";
    if (by_code.empty()) sum << " none";
    for (const auto& [k, v] : by_code) sum << " " << k << "=" << v;
    sum << "\n";
    if (failed_worker) return 1;
    return worst == 0 ? 0 : worst == 1 ? 5 : 1;
}

}  // namespace

int cmd_check(int argc, char** argv) {
    std::vector<std::string> with_value = kResolverOptions;
    with_value.push_back("--warn-days");
    with_value.push_back("--colour");
    with_value.push_back("--from");
    with_value.push_back("--jobs");
    with_value.push_back("--deadline");
    Args a = parse_args(argc, argv, 2, with_value,
                        {"--json", "--nagios", "--brief", "--no-probe", "--audit-only", "--no-root-anchor"});
    bool json = has_flag(a, "--json"), nagios = has_flag(a, "--nagios");
    if (json && nagios) throw UsageError{"give either --json or --nagios"};
    std::string from;
    unsigned jobs = 16;
    danesmtp_check_options o = DANESMTP_CHECK_OPTIONS_INIT;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--from") from = val;
        if (opt == "--jobs") jobs = parse_number(opt, val, 1, 256);
        if (opt == "--deadline") o.deadline_ms = parse_number(opt, val, 1, 3600000);
    }
    if (!from.empty() && !a.operands.empty()) throw UsageError{"give either DOMAIN or --from FILE"};
    Target t;
    if (from.empty()) {
        t = target_of(a);
    } else {
        if (nagios) throw UsageError{"--nagios checks one domain; --from takes --json or nothing"};
        for (const auto& [opt, val] : a.options)
            if (opt == "--port") t.port = parse_port(val);
        if (o.deadline_ms == 0) o.deadline_ms = 60000;
    }
    o.port = t.port;
    std::string helo, colour = "auto";
    for (const auto& [opt, val] : a.options) {
        if (opt == "--helo") helo = val;
        if (opt == "--timeout") o.timeout_ms = parse_number(opt, val, 1, 600000);
        if (opt == "--warn-days") o.warn_days = parse_number(opt, val, 1, 3650);
        if (opt == "--colour") colour = val;
    }
    if (colour != "auto" && colour != "always" && colour != "never")
        throw UsageError{"--colour takes auto, always or never"};
    o.helo = helo.empty() ? nullptr : helo.c_str();
    if (t.single_host) o.flags |= DANESMTP_CHECK_HOST;
    if (has_flag(a, "--no-probe")) o.flags |= DANESMTP_CHECK_NO_PROBE;
    CtxPtr ctx = make_ctx(a, true);
    if (!from.empty()) return check_many(ctx.get(), read_domains(from), o, jobs, json);
    danesmtp_report* raw = nullptr;
    int rc = danesmtp_check(ctx.get(), t.name.c_str(), &o, &raw);
    if (rc != DANESMTP_OK) {
        if (nagios) {
            std::cout << "DANE UNKNOWN - " << t.name << ": " << lib_error("check", rc) << "\n";
            return 3;
        }
        throw UsageError{lib_error(t.name, rc)};
    }
    std::unique_ptr<danesmtp_report, ReportFree> rep(raw);
    unsigned flags = has_flag(a, "--brief") ? DANESMTP_REPORT_BRIEF : 0;
    if (colour == "always" || (colour == "auto" && isatty(STDOUT_FILENO))) flags |= DANESMTP_REPORT_COLOUR;
    const char* text = danesmtp_report_render(rep.get(), json ? DANESMTP_REPORT_JSON : nagios ? DANESMTP_REPORT_NAGIOS
                                                                                           : DANESMTP_REPORT_TEXT,
                                              json || nagios ? 0 : flags);
    if (!text) {
        if (nagios) {
            std::cout << "DANE UNKNOWN - " << t.name << ": " << lib_error("report", DANESMTP_E_NOMEM) << "\n";
            return 3;
        }
        throw UsageError{lib_error("report", DANESMTP_E_NOMEM)};
    }
    std::cout << text << (json ? "\n" : "");
    return nagios ? danesmtp_report_nagios(rep.get()) : danesmtp_report_status(rep.get());
}

}  // namespace cli
