// SPDX-License-Identifier: MIT
// rollover.cpp - `danesmtp rollover plan|check|publish`: a key change of a
// DANE host without an outage (RFC 7671 section 8.1). The decisions live in
// the library (danesmtp_rollover_run, core/rollover.hpp); this file reads
// the arguments and files and prints the result. Like check, it asks DNS
// now, never the answer cache.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

namespace cli {

namespace {

struct RolloverFree {
    void operator()(danesmtp_rollover* r) const { danesmtp_rollover_free(r); }
};

constexpr std::size_t kMaxInputFile = 1u << 20;  // certificates, chains, keys, TSIG keys

unsigned parse_uint(const std::string& opt, const std::string& val, unsigned lo, unsigned hi) {
    bool digits = !val.empty() && val.size() <= 10;
    for (char c : val) digits &= (c >= '0' && c <= '9');
    unsigned long long v = digits ? std::stoull(val) : 0;
    if (!digits || v < lo || v > hi)
        throw UsageError{opt + " '" + val + "' is not a number from " + std::to_string(lo) + " to " + std::to_string(hi)};
    return static_cast<unsigned>(v);
}

}  // namespace

int cmd_rollover(int argc, char** argv) {
    if (argc < 3) throw UsageError{"rollover takes plan, check or publish (usage: danesmtp help)"};
    std::string step = argv[2];
    // nsupdate's spellings: -k KEYFILE, -y [ALG:]NAME:SECRET.
    std::vector<std::string> words(argv, argv + argc);
    for (auto& w : words) {
        if (w == "-k") w = "--key-file";
        else if (w == "-y") w = "--tsig";
    }
    std::vector<char*> av;
    for (auto& w : words) av.push_back(&w[0]);
    std::vector<std::string> with_value = kResolverOptions;
    for (const char* o : {"--host", "--state", "--add", "--remove", "--server", "--key-file", "--tsig", "--ttl"}) with_value.push_back(o);
    Args a = parse_args(static_cast<int>(av.size()), av.data(), 3, with_value,
                        {"--json", "--no-probe", "--dry-run", "--audit-only", "--no-root-anchor"});

    danesmtp_rollover_options o = DANESMTP_ROLLOVER_OPTIONS_INIT;
    std::string host, state, add, remove, server, key_file, tsig;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--host") host = val;
        if (opt == "--port") o.port = parse_port(val);
        if (opt == "--state") state = val;
        if (opt == "--add") add = val;
        if (opt == "--remove") remove = val;
        if (opt == "--server") server = val;
        if (opt == "--key-file") key_file = val;
        if (opt == "--tsig") tsig = val;
        if (opt == "--ttl") o.ttl = parse_uint(opt, val, 1, 2147483647u);
        if (opt == "--timeout") o.timeout_ms = parse_uint(opt, val, 1, 600000);
    }
    if (host.empty()) throw UsageError{"rollover " + step + " needs --host HOST (the MX host whose key changes)"};
    bool json = has_flag(a, "--json");
    if (has_flag(a, "--no-probe")) o.flags |= DANESMTP_ROLLOVER_NO_PROBE;
    std::string current, next, current_name, next_name, key_text;
    auto need = [&](std::size_t n, const char* what) {
        if (a.operands.size() != n) throw UsageError{"rollover " + step + " takes exactly " + what};
    };
    if (step == "plan") {
        need(2, "CURRENT NEXT (certificate, chain or key files)");
        o.action = DANESMTP_ROLLOVER_PLAN;
        current_name = a.operands[0];
        next_name = a.operands[1];
    } else if (step == "check") {
        need(1, "NEXT (a certificate, chain or key file)");
        o.action = DANESMTP_ROLLOVER_CHECK;
        next_name = a.operands[0];
    } else if (step == "publish") {
        need(0, "options (--add NEXT or --remove CURRENT)");
        if (add.empty() == remove.empty()) throw UsageError{"rollover publish takes one of --add NEXT and --remove CURRENT"};
        o.action = add.empty() ? DANESMTP_ROLLOVER_REMOVE : DANESMTP_ROLLOVER_ADD;
        (add.empty() ? current_name : next_name) = add.empty() ? remove : add;
        if (has_flag(a, "--dry-run")) o.flags |= DANESMTP_ROLLOVER_DRY_RUN;
        if (!key_file.empty() && !tsig.empty()) throw UsageError{"give either -k KEYFILE or -y [ALG:]NAME:SECRET"};
        if (key_file.empty() && tsig.empty() && !has_flag(a, "--dry-run"))
            throw UsageError{"rollover publish needs a TSIG key (-k KEYFILE or -y [ALG:]NAME:SECRET), or --dry-run"};
        key_text = key_file.empty() ? tsig : read_file(key_file, kMaxInputFile);
    } else {
        throw UsageError{"unknown rollover step '" + step + "' (plan, check or publish)"};
    }
    if (step != "publish" && (!add.empty() || !remove.empty() || !key_file.empty() || !tsig.empty() || has_flag(a, "--dry-run")))
        throw UsageError{"--add, --remove, -k, -y and --dry-run belong to rollover publish"};
    // --state is taken (and unused) by plan and publish too, so that a hook
    // can give every step the same options.
    if (!current_name.empty()) current = read_file(current_name, kMaxInputFile);
    if (!next_name.empty()) next = read_file(next_name, kMaxInputFile);
    o.current = reinterpret_cast<const unsigned char*>(current.data());
    o.current_len = current.size();
    o.current_name = current_name.c_str();
    o.next = reinterpret_cast<const unsigned char*>(next.data());
    o.next_len = next.size();
    o.next_name = next_name.c_str();
    o.state_file = state.empty() ? nullptr : state.c_str();
    o.server = server.empty() ? nullptr : server.c_str();
    o.tsig_key = key_text.empty() ? nullptr : key_text.c_str();

    CtxPtr ctx = make_ctx(a, true);
    danesmtp_rollover* raw = nullptr;
    int rc = danesmtp_rollover_run(ctx.get(), host.c_str(), &o, &raw);
    if (rc != DANESMTP_OK) {
        // A file or key that cannot be used: its own exit status (5).
        std::cerr << "danesmtp: " << lib_error("rollover", rc) << "\n";
        return rc == DANESMTP_E_PARSE || rc == DANESMTP_E_INVALID ? 5 : kExitUsage;
    }
    std::unique_ptr<danesmtp_rollover, RolloverFree> r(raw);
    const char* text = danesmtp_rollover_render(r.get(), json ? DANESMTP_ROLLOVER_JSON : DANESMTP_ROLLOVER_TEXT);
    if (!text) throw UsageError{lib_error("rollover", DANESMTP_E_NOMEM)};
    std::cout << text << (json ? "\n" : "");
    return danesmtp_rollover_status(r.get());
}

}  // namespace cli
