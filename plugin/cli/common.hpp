// SPDX-License-Identifier: MIT
// common.hpp - what the `danesmtp` sub-commands share: argument parsing,
// exit codes, JSON text, the library context and the lookup target.
// Each sub-command has its own file (verify.cpp, tlsa.cpp, lookup.cpp,
// check.cpp, rollover.cpp); main.cpp dispatches. The tool uses only the public C
// interface (include/danesmtp.h), like any MTA.
#pragma once

#include <danesmtp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cli {

// Exit codes (danesmtp(1), EXIT STATUS).
constexpr int kExitAuthenticated = 0;
constexpr int kExitNotAuthenticated = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNoUsable = 3;
constexpr int kExitDefer = 3;
constexpr int kExitNoMail = 4;

// A bad argument or input: message on stderr, exit 2.
struct UsageError {
    std::string message;
};

extern const char kUsage[];

// read_file - the whole file; with max, at most max bytes (more: an error).
std::string read_file(const std::string& path, std::size_t max = 0);
std::string lib_error(const std::string& what, int rc);

// Options: "--opt VALUE" or "--opt=VALUE"; the rest are operands.
struct Args {
    std::vector<std::pair<std::string, std::string>> options;
    std::vector<std::string> operands;
    std::vector<std::string> flags;
};
Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& with_value,
                const std::vector<std::string>& flags);
bool has_flag(const Args& a, const char* f);
// Unix seconds, or ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH:MM]; UTC when no zone.
std::int64_t parse_time(const std::string& s);
unsigned parse_port(const std::string& val);

std::string json_string(const char* s);
std::string json_list(const std::vector<std::string>& v);
std::string hex(const unsigned char* p, std::size_t n);
std::string record_text(const danesmtp_tlsa_record& r);

// Records of a file: one per line; a record may span lines inside
// parentheses, as in zone files; blank lines and ';' or '#' comments skipped.
void add_tlsa_file(danesmtp_tlsa* set, const std::string& path);

struct CtxFree {
    void operator()(danesmtp_ctx* c) const { danesmtp_ctx_free(c); }
};
using CtxPtr = std::unique_ptr<danesmtp_ctx, CtxFree>;
struct PlanFree {
    void operator()(danesmtp_plan* p) const { danesmtp_plan_free(p); }
};
using PlanPtr = std::unique_ptr<danesmtp_plan, PlanFree>;

// The options every sub-command that resolves takes (RESOLVER OPTIONS).
extern const std::vector<std::string> kResolverOptions;
// make_ctx - the context of the configuration file and options; `fresh`:
// without the answer cache (every answer from DNS now).
CtxPtr make_ctx(const Args& a, bool fresh = false);

struct Target {
    std::string name;
    unsigned port = 25;
    bool single_host = false;
};
Target target_of(const Args& a);
PlanPtr plan_of(danesmtp_ctx* ctx, const Target& t);
int exit_for_status(int status);

int cmd_verify(int argc, char** argv);
int cmd_tlsa(int argc, char** argv);
int cmd_lookup(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_rollover(int argc, char** argv);

}  // namespace cli
