// SPDX-License-Identifier: MIT
// check.cpp - `danesmtp check`: the publisher's deep check of a DANE
// deployment. Gathering and diagnosis live in the library (danesmtp_check,
// core/diagnose.hpp); this file reads the arguments and prints the report.
//
// check is a diagnosis: its answers come from DNS now, never from the
// answer cache (a publisher who just fixed a record must see the fix).
#include <unistd.h>

#include <iostream>
#include <string>

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

}  // namespace

int cmd_check(int argc, char** argv) {
    std::vector<std::string> with_value = kResolverOptions;
    with_value.push_back("--warn-days");
    with_value.push_back("--colour");
    Args a = parse_args(argc, argv, 2, with_value,
                        {"--json", "--nagios", "--brief", "--no-probe", "--audit-only", "--no-root-anchor"});
    bool json = has_flag(a, "--json"), nagios = has_flag(a, "--nagios");
    if (json && nagios) throw UsageError{"give either --json or --nagios"};
    Target t = target_of(a);
    danesmtp_check_options o = DANESMTP_CHECK_OPTIONS_INIT;
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
    if (json) {
        std::cout << danesmtp_report_render(rep.get(), DANESMTP_REPORT_JSON, 0) << "\n";
        return danesmtp_report_status(rep.get());
    }
    if (nagios) {
        std::cout << danesmtp_report_render(rep.get(), DANESMTP_REPORT_NAGIOS, 0);
        return danesmtp_report_nagios(rep.get());
    }
    unsigned flags = has_flag(a, "--brief") ? DANESMTP_REPORT_BRIEF : 0;
    if (colour == "always" || (colour == "auto" && isatty(STDOUT_FILENO))) flags |= DANESMTP_REPORT_COLOUR;
    std::cout << danesmtp_report_render(rep.get(), DANESMTP_REPORT_TEXT, flags);
    return danesmtp_report_status(rep.get());
}

}  // namespace cli
