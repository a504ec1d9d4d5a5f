// SPDX-License-Identifier: MIT
// main.cpp - the `danesmtp` command-line tool for mail administrators.
//
//   danesmtp verify [--tlsa "U S M HEX"]... [--tlsa-file F] [--name NAME]...
//                   [--time T] [--json] CHAIN.pem
//   danesmtp tlsa [--usage U] [--selector S] [--mtype M] [--host H [--port P]]
//                 [--depth N] FILE.pem
//
// It uses only the public C interface (include/danesmtp.h), like any MTA.
// Exit codes of `verify`: 0 authenticated, 1 not authenticated, 3 no usable
// records (TLS required, not authenticated), 2 bad usage or bad input.
#include <danesmtp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "smtp.hpp"

namespace {

constexpr int kExitAuthenticated = 0;
constexpr int kExitNotAuthenticated = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNoUsable = 3;

// A bad argument or input: message on stderr, exit 2.
struct UsageError {
    std::string message;
};

const char kUsage[] =
    "usage: danesmtp verify [--tlsa \"U S M HEX\"]... [--tlsa-file FILE] [--name NAME]...\n"
    "                       [--time UNIX|ISO8601] [--json] [--conf FILE] CHAIN.pem\n"
    "       danesmtp tlsa [--usage U] [--selector S] [--mtype M] [--host HOST [--port PORT]]\n"
    "                     [--depth N] FILE.pem\n"
    "       danesmtp lookup DOMAIN|HOST:PORT [--port P] [--json] [--no-cache] [RESOLVER OPTIONS]\n"
    "       danesmtp check DOMAIN|HOST:PORT [--port P] [--helo NAME] [--json] [RESOLVER OPTIONS]\n"
    "       danesmtp --version\n"
    "RESOLVER OPTIONS: --conf FILE (default /etc/danesmtp.conf when present), --trust-anchor FILE,\n"
    "       --stub ZONE=IP@PORT, --forward IP[@PORT], --timeout MS, --insecure-mx dane|encrypt|ignore,\n"
    "       --mandatory DOMAIN, --audit-only, --no-root-anchor (trust only the --trust-anchor keys)\n";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError{path + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string lib_error(const std::string& what, int rc) {
    std::string detail = danesmtp_last_error();
    return what + ": " + (detail.empty() ? danesmtp_strerror(rc) : detail);
}

// Options: "--opt VALUE" or "--opt=VALUE"; the rest are operands.
struct Args {
    std::vector<std::pair<std::string, std::string>> options;
    std::vector<std::string> operands;
    std::vector<std::string> flags;
};

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& with_value,
                const std::vector<std::string>& flags) {
    Args a;
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--") {
            for (++i; i < argc; ++i) a.operands.push_back(argv[i]);
            break;
        }
        if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
            a.operands.push_back(arg);
            continue;
        }
        std::string name = arg, value;
        bool has_value = false;
        auto eq = arg.find('=');
        if (eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        bool known_value = false, known_flag = false;
        for (const auto& w : with_value) known_value |= w == name;
        for (const auto& f : flags) known_flag |= f == name;
        if (known_flag && !has_value) {
            a.flags.push_back(name);
        } else if (known_value) {
            if (!has_value) {
                if (i + 1 >= argc) throw UsageError{name + " needs a value"};
                value = argv[++i];
            }
            a.options.emplace_back(name, value);
        } else {
            throw UsageError{"unknown option " + name};
        }
    }
    return a;
}

bool has_flag(const Args& a, const char* f) {
    for (const auto& x : a.flags)
        if (x == f) return true;
    return false;
}

// Unix seconds, or ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH:MM]; UTC when no zone.
std::int64_t parse_time(const std::string& s) {
    bool digits = !s.empty();
    for (char c : s) digits &= (c >= '0' && c <= '9');
    if (digits) {
        if (s.size() > 12) throw UsageError{"--time " + s + " is out of range"};
        return std::stoll(s);
    }
    int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0, consumed = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &Y, &M, &D, &consumed) != 3 || consumed != 10)
        throw UsageError{"--time '" + s + "' is neither Unix seconds nor ISO 8601"};
    std::size_t pos = 10;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
        int n = 0;
        if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5)
            throw UsageError{"--time '" + s + "': bad time of day"};
        pos += 6;
        if (pos < s.size() && s[pos] == ':') {
            if (std::sscanf(s.c_str() + pos + 1, "%2d%n", &sec, &n) != 1 || n != 2)
                throw UsageError{"--time '" + s + "': bad seconds"};
            pos += 3;
        }
    }
    long offset = 0;
    if (pos < s.size()) {
        if (s[pos] == 'Z' && pos + 1 == s.size()) {
            pos += 1;
        } else if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
            int oh = 0, om = 0, n = 0;
            if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
                throw UsageError{"--time '" + s + "': bad zone offset"};
            offset = (oh * 3600L + om * 60L) * (s[pos] == '+' ? 1 : -1);
            pos = s.size();
        } else {
            throw UsageError{"--time '" + s + "': unexpected text after the time"};
        }
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        throw UsageError{"--time '" + s + "': field out of range"};
    std::tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

std::string json_string(const char* s) {
    if (!s) return "null";
    std::string out = "\"";
    for (const char* p = s; *p; ++p) {
        unsigned char c = static_cast<unsigned char>(*p);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string hex(const unsigned char* p, std::size_t n) {
    static const char d[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

// Records of a file: one per line; a record may span lines inside
// parentheses, as in zone files; blank lines and ';' or '#' comments skipped.
void add_tlsa_file(danesmtp_tlsa* set, const std::string& path) {
    std::istringstream in(read_file(path));
    std::string line, pending;
    int depth = 0, lineno = 0, start = 0;
    while (std::getline(in, line)) {
        ++lineno;
        auto hash = line.find_first_not_of(" \t");
        if (pending.empty() && (hash == std::string::npos || line[hash] == '#' || line[hash] == ';'))
            continue;
        if (pending.empty()) start = lineno;
        auto semi = line.find(';');
        std::string body = semi == std::string::npos ? line : line.substr(0, semi);
        for (char c : body) depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        pending += body + "\n";
        if (depth > 0) continue;
        int rc = danesmtp_tlsa_add_text(set, pending.c_str());
        if (rc != DANESMTP_OK)
            throw UsageError{lib_error(path + ":" + std::to_string(start), rc)};
        pending.clear();
        depth = 0;
    }
    if (!pending.empty()) throw UsageError{path + ": unbalanced parentheses at end of file"};
}

struct CtxFree {
    void operator()(danesmtp_ctx* c) const { danesmtp_ctx_free(c); }
};
using CtxPtr = std::unique_ptr<danesmtp_ctx, CtxFree>;
// make_ctx - the context of the configuration file and options; `fresh`:
// without the answer cache (every answer from DNS now).
CtxPtr make_ctx(const Args& a, bool fresh = false);

int cmd_verify(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"--tlsa", "--tlsa-file", "--name", "--time", "--conf"}, {"--json"});
    if (a.operands.size() != 1) throw UsageError{"verify takes exactly one CHAIN.pem"};
    bool json = has_flag(a, "--json");

    danesmtp_tlsa* tlsa = nullptr;
    danesmtp_chain* chain = nullptr;
    danesmtp_result* res = nullptr;
    struct Cleanup {
        danesmtp_tlsa*& t;
        danesmtp_chain*& c;
        danesmtp_result*& r;
        ~Cleanup() {
            danesmtp_result_free(r);
            danesmtp_chain_free(c);
            danesmtp_tlsa_free(t);
        }
    } cleanup{tlsa, chain, res};

    // The configuration (digest-preference) applies to verify too.
    CtxPtr owned = make_ctx(a);
    danesmtp_ctx* ctx = owned.get();
    int rc = danesmtp_tlsa_new(&tlsa);
    if (rc == DANESMTP_OK) rc = danesmtp_chain_new(&chain);
    if (rc != DANESMTP_OK) throw UsageError{lib_error("cannot start", rc)};

    std::vector<std::string> names;
    std::int64_t when = DANESMTP_TIME_NOW;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--tlsa") {
            rc = danesmtp_tlsa_add_text(tlsa, val.c_str());
            if (rc != DANESMTP_OK) throw UsageError{lib_error("--tlsa \"" + val + "\"", rc)};
        } else if (opt == "--tlsa-file") {
            add_tlsa_file(tlsa, val);
        } else if (opt == "--name") {
            if (val.find('\0') != std::string::npos) throw UsageError{"--name contains NUL"};
            char buf[DANESMTP_MAX_NAME + 1];
            rc = danesmtp_name_normalize(val.c_str(), buf, sizeof buf);
            if (rc != DANESMTP_OK) throw UsageError{lib_error("--name '" + val + "'", rc)};
            names.push_back(buf);
        } else if (opt == "--time") {
            when = parse_time(val);
        }  // --conf: read by make_ctx
    }
    if (danesmtp_tlsa_count(tlsa) == 0)
        throw UsageError{"no TLSA records: give --tlsa or --tlsa-file"};

    std::string pem = read_file(a.operands[0]);
    rc = danesmtp_chain_add_pem(chain, pem.data(), pem.size());
    if (rc == DANESMTP_E_PARSE && !pem.empty() && static_cast<unsigned char>(pem[0]) == 0x30 &&
        pem.find("-----BEGIN") == std::string::npos)
        rc = danesmtp_chain_add_der(chain, reinterpret_cast<const unsigned char*>(pem.data()),
                                    pem.size());
    if (rc != DANESMTP_OK) throw UsageError{lib_error(a.operands[0], rc)};

    std::vector<const char*> cnames;
    for (const auto& n : names) cnames.push_back(n.c_str());
    rc = danesmtp_verify(ctx, tlsa, chain, cnames.data(), cnames.size(), when, &res);
    if (rc != DANESMTP_OK) throw UsageError{lib_error("verify", rc)};

    int verdict = danesmtp_result_verdict(res);
    danesmtp_tlsa_record rec{};
    bool matched = danesmtp_result_record(res, &rec) == DANESMTP_OK;
    std::string record = matched ? std::to_string(rec.usage) + " " + std::to_string(rec.selector) +
                                       " " + std::to_string(rec.mtype) + " " +
                                       hex(rec.data, rec.data_len)
                                 : std::string();
    if (json) {
        std::cout << "{\"verdict\":" << json_string(danesmtp_verdict_name(verdict))
                  << ",\"authenticated\":" << (verdict == DANESMTP_AUTHENTICATED ? "true" : "false")
                  << ",\"depth\":" << danesmtp_result_depth(res)
                  << ",\"record\":" << (matched ? json_string(record.c_str()) : "null")
                  << ",\"name\":" << json_string(danesmtp_result_name(res))
                  << ",\"presented_name\":" << json_string(danesmtp_result_presented_name(res))
                  << ",\"reason\":" << json_string(danesmtp_result_reason(res)) << "}\n";
    } else {
        std::cout << danesmtp_verdict_name(verdict) << ": " << danesmtp_result_reason(res) << "\n";
    }
    switch (verdict) {
        case DANESMTP_AUTHENTICATED: return kExitAuthenticated;
        case DANESMTP_NO_USABLE_RECORDS: return kExitNoUsable;
        default: return kExitNotAuthenticated;
    }
}

struct Mnemonic {
    const char* name;
    int value;
};

int parse_field(const std::string& opt, const std::string& val, std::vector<Mnemonic> names,
                int max) {
    for (const auto& m : names)
        if (strcasecmp(val.c_str(), m.name) == 0) return m.value;
    bool digits = !val.empty() && val.size() <= 3;
    for (char c : val) digits &= (c >= '0' && c <= '9');
    int v = digits ? std::stoi(val) : -1;
    if (v < 0 || v > max) throw UsageError{opt + " '" + val + "' is not valid"};
    return v;
}

int cmd_tlsa(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"--usage", "--selector", "--mtype", "--host", "--port", "--depth"},
                        {});
    if (a.operands.size() != 1) throw UsageError{"tlsa takes exactly one FILE.pem"};
    int usage = 3, selector = 1, mtype = 1, depth = -1;
    std::string host, port = "25";
    bool have_port = false;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--usage")
            usage = parse_field(opt, val, {{"PKIX-TA", 0}, {"PKIX-EE", 1}, {"DANE-TA", 2}, {"DANE-EE", 3}}, 3);
        else if (opt == "--selector")
            selector = parse_field(opt, val, {{"Cert", 0}, {"SPKI", 1}}, 1);
        else if (opt == "--mtype")
            mtype = parse_field(opt, val, {{"Full", 0}, {"SHA2-256", 1}, {"SHA2-512", 2}}, 2);
        else if (opt == "--depth")
            depth = parse_field(opt, val, {}, DANESMTP_MAX_CHAIN - 1);
        else if (opt == "--host")
            host = val;
        else if (opt == "--port") {
            bool digits = !val.empty() && val.size() <= 5;
            for (char c : val) digits &= (c >= '0' && c <= '9');
            if (!digits || std::stoi(val) == 0 || std::stoi(val) > 65535)
                throw UsageError{"--port '" + val + "' is not a port number (1-65535)"};
            port = std::to_string(std::stoi(val));
            have_port = true;
        }
    }
    if (have_port && host.empty()) throw UsageError{"--port needs --host"};
    std::string owner;
    if (!host.empty()) {
        char buf[DANESMTP_MAX_NAME + 1];
        int rc = danesmtp_name_normalize(host.c_str(), buf, sizeof buf);
        if (rc != DANESMTP_OK) throw UsageError{lib_error("--host '" + host + "'", rc)};
        owner = "_" + port + "._tcp." + buf + ".";
    }
    std::string input = read_file(a.operands[0]);
    char* text = nullptr;
    int rc = danesmtp_tlsa_make(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                                static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                                static_cast<std::uint8_t>(mtype), depth, &text);
    if (rc != DANESMTP_OK) throw UsageError{lib_error(a.operands[0], rc)};
    std::string record = text;
    danesmtp_free(text);
    if (!owner.empty())
        std::cout << owner << " IN TLSA " << record << "\n";
    else
        std::cout << record << "\n";
    return 0;
}


// ---- lookup and check: the pre-connect decision, and a live probe.

const std::vector<std::string> kResolverOptions = {"--conf", "--trust-anchor", "--stub", "--forward",
                                                   "--timeout", "--insecure-mx", "--mandatory",
                                                   "--port", "--helo"};

struct PlanFree {
    void operator()(danesmtp_plan* p) const { danesmtp_plan_free(p); }
};
using PlanPtr = std::unique_ptr<danesmtp_plan, PlanFree>;

// The resolver options as configuration text (man danesmtp.conf); the
// configuration file, when there is one, is read first.
CtxPtr make_ctx(const Args& a, bool fresh) {
    std::string conf, text;
    bool conf_given = false;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--conf") {
            conf = val;
            conf_given = true;
        } else if (opt == "--trust-anchor") {
            // The configuration takes absolute paths; a person types relative ones.
            char* abs = realpath(val.c_str(), nullptr);
            if (!abs) throw UsageError{"--trust-anchor " + val + ": " + std::strerror(errno)};
            text += "trust-anchor-file = " + std::string(abs) + "\n";
            std::free(abs);
        } else if (opt == "--stub") {
            auto eq = val.find('=');
            if (eq == std::string::npos) throw UsageError{"--stub wants ZONE=IP@PORT, not '" + val + "'"};
            text += "stub = " + val.substr(0, eq) + " " + val.substr(eq + 1) + "\n";
        } else if (opt == "--forward") {
            text += "forward = " + val + "\n";
        } else if (opt == "--timeout") {
            text += "timeout = " + val + "\n";
        } else if (opt == "--insecure-mx") {
            text += "insecure-mx = " + val + "\n";
        } else if (opt == "--mandatory") {
            text += "mandatory-dane = " + val + "\n";
        }
        if (val.find('\n') != std::string::npos) throw UsageError{opt + " contains a newline"};
    }
    if (has_flag(a, "--audit-only")) text += "audit-only = yes\n";
    if (has_flag(a, "--no-root-anchor")) text += "root-anchor = no\n";
    if (fresh) text += "cache = none\n";
    if (!conf_given && access(DANESMTP_CONFIG_FILE, R_OK) == 0) conf = DANESMTP_CONFIG_FILE;
    danesmtp_options opts = DANESMTP_OPTIONS_INIT;
    opts.config_file = conf.empty() ? nullptr : conf.c_str();
    opts.config_text = text.c_str();
    danesmtp_ctx* ctx = nullptr;
    int rc = danesmtp_ctx_new(&ctx, &opts);
    if (rc != DANESMTP_OK) throw UsageError{lib_error("configuration", rc)};
    return CtxPtr(ctx);
}

unsigned parse_port(const std::string& val) {
    bool digits = !val.empty() && val.size() <= 5;
    for (char c : val) digits &= (c >= '0' && c <= '9');
    if (!digits || std::stoi(val) == 0 || std::stoi(val) > 65535)
        throw UsageError{"port '" + val + "' is not a port number (1-65535)"};
    return static_cast<unsigned>(std::stoi(val));
}

struct Target {
    std::string name;
    unsigned port = 25;
    bool single_host = false;
};

Target target_of(const Args& a) {
    if (a.operands.size() != 1) throw UsageError{"give exactly one DOMAIN or HOST:PORT"};
    Target t;
    t.name = a.operands[0];
    auto colon = t.name.rfind(':');
    if (colon != std::string::npos) {
        t.port = parse_port(t.name.substr(colon + 1));
        t.name = t.name.substr(0, colon);
        t.single_host = true;
    }
    for (const auto& [opt, val] : a.options)
        if (opt == "--port") {
            if (t.single_host) throw UsageError{"give the port either as HOST:PORT or --port"};
            t.port = parse_port(val);
        }
    return t;
}

PlanPtr plan_of(danesmtp_ctx* ctx, const Target& t) {
    danesmtp_plan* plan = nullptr;
    int rc = t.single_host ? danesmtp_lookup_host(ctx, t.name.c_str(), t.port, &plan)
                           : danesmtp_lookup_domain(ctx, t.name.c_str(), t.port, &plan);
    if (rc != DANESMTP_OK) throw UsageError{lib_error(t.name, rc)};
    return PlanPtr(plan);
}

std::string record_text(const danesmtp_tlsa_record& r) {
    return std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.mtype) +
           " " + hex(r.data, r.data_len);
}

std::string json_list(const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + json_string(v[i].c_str());
    return s + "]";
}

constexpr int kExitDefer = 3;
constexpr int kExitNoMail = 4;

int exit_for_status(int status) {
    if (status == DANESMTP_DOMAIN_DEFER) return kExitDefer;
    if (status == DANESMTP_DOMAIN_NULL_MX || status == DANESMTP_DOMAIN_NXDOMAIN) return kExitNoMail;
    return 0;
}

std::string host_json(const danesmtp_host* h) {
    std::vector<std::string> addrs, names, records;
    for (std::size_t i = 0; i < danesmtp_host_address_count(h); ++i) addrs.push_back(danesmtp_host_address(h, i));
    for (std::size_t i = 0; i < danesmtp_host_name_count(h); ++i) names.push_back(danesmtp_host_names(h)[i]);
    const danesmtp_tlsa* t = danesmtp_host_tlsa(h);
    std::string recs = "[";
    for (std::size_t i = 0; i < danesmtp_tlsa_count(t); ++i) {
        danesmtp_tlsa_record r{};
        danesmtp_tlsa_get(t, i, &r);
        recs += std::string(i ? "," : "") + "{\"record\":" + json_string(record_text(r).c_str()) +
                ",\"unusable\":" + json_string(r.unusable_reason) + "}";
    }
    recs += "]";
    return std::string("{\"name\":") + json_string(danesmtp_host_name(h)) +
           ",\"preference\":" + std::to_string(danesmtp_host_preference(h)) +
           ",\"verdict\":" + json_string(danesmtp_host_verdict_name(danesmtp_host_verdict(h))) +
           ",\"reason\":" + json_string(danesmtp_host_reason(h)) +
           ",\"addresses\":" + json_list(addrs) +
           ",\"tlsa_base\":" + json_string(danesmtp_host_tlsa_base(h)) +
           ",\"sni\":" + json_string(danesmtp_host_sni(h)) +
           ",\"names\":" + json_list(names) +
           ",\"verified_possible\":" + (danesmtp_host_verified_possible(h) ? "true" : "false") +
           ",\"tlsa\":" + recs + "}";
}

// lookup answers as the MTA would: from the answer cache when one is
// configured (--no-cache: from DNS now), and says so on its last line.
int cmd_lookup(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, kResolverOptions,
                        {"--json", "--audit-only", "--no-root-anchor", "--no-cache"});
    Target t = target_of(a);
    CtxPtr ctx = make_ctx(a, has_flag(a, "--no-cache"));
    int cache = danesmtp_cache_status(ctx.get());
    std::string cache_line = cache == DANESMTP_CACHE_IN_USE   ? std::string("answer cache: ") + danesmtp_last_error()
                             : cache == DANESMTP_CACHE_UNUSABLE ? std::string("answer cache not used: ") + danesmtp_last_error()
                                                                : std::string();
    PlanPtr plan = plan_of(ctx.get(), t);
    int status = danesmtp_plan_status(plan.get());
    if (has_flag(a, "--json")) {
        std::cout << "{\"domain\":" << json_string(danesmtp_plan_domain(plan.get()))
                  << ",\"port\":" << t.port
                  << ",\"status\":" << json_string(danesmtp_domain_status_name(status))
                  << ",\"reason\":" << json_string(danesmtp_plan_reason(plan.get()))
                  << ",\"mx_secure\":" << (danesmtp_plan_mx_secure(plan.get()) ? "true" : "false")
                  << ",\"implicit_mx\":" << (danesmtp_plan_implicit_mx(plan.get()) ? "true" : "false")
                  << ",\"cache\":" << json_string(cache_line.c_str())
                  << ",\"hosts\":[";
        for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i)
            std::cout << (i ? "," : "") << host_json(danesmtp_plan_host(plan.get(), i));
        std::cout << "]}\n";
        return exit_for_status(status);
    }
    std::cout << danesmtp_plan_domain(plan.get()) << " port " << t.port << ": "
              << danesmtp_domain_status_name(status);
    if (*danesmtp_plan_reason(plan.get())) std::cout << " (" << danesmtp_plan_reason(plan.get()) << ")";
    if (!t.single_host)
        std::cout << "; MX " << (danesmtp_plan_mx_secure(plan.get()) ? "secure" : "not secure")
                  << (danesmtp_plan_implicit_mx(plan.get()) ? " (implicit MX)" : "");
    std::cout << "\n";
    for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i) {
        const danesmtp_host* h = danesmtp_plan_host(plan.get(), i);
        std::cout << "  " << danesmtp_host_preference(h) << " " << danesmtp_host_name(h) << " ["; 
        for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k)
            std::cout << (k ? " " : "") << danesmtp_host_address(h, k);
        std::cout << "] " << danesmtp_host_verdict_name(danesmtp_host_verdict(h)) << ": "
                  << danesmtp_host_reason(h) << "\n";
        if (*danesmtp_host_tlsa_base(h)) {
            std::cout << "    TLSA base " << danesmtp_host_tlsa_base(h) << ", SNI " << danesmtp_host_sni(h)
                      << ", names";
            for (std::size_t k = 0; k < danesmtp_host_name_count(h); ++k)
                std::cout << " " << danesmtp_host_names(h)[k];
            std::cout << "\n";
            const danesmtp_tlsa* tl = danesmtp_host_tlsa(h);
            for (std::size_t k = 0; k < danesmtp_tlsa_count(tl); ++k) {
                danesmtp_tlsa_record r{};
                danesmtp_tlsa_get(tl, k, &r);
                std::cout << "    " << record_text(r)
                          << (r.unusable_reason ? std::string("  (unusable: ") + r.unusable_reason + ")" : "")
                          << "\n";
            }
        }
    }
    if (!cache_line.empty()) std::cout << cache_line << "\n";
    return exit_for_status(status);
}

// One line per host and address, in the spirit of `posttls-finger -l dane`:
//   Verified   DANE authenticated, MX lookup secure
//   Trusted    DANE authenticated, MX lookup insecure (RFC 7672 section 2.2.1)
//   Untrusted  TLS, not authenticated (fine for "encrypt" and "may" hosts,
//              a failure for "dane" hosts)
//   Cleartext  no TLS (fine only for "may" hosts)
//   Unreachable  not connected, with why
// check is a diagnosis: its answers come from DNS now, never from the
// answer cache (a publisher who just fixed a record must see the fix).
int cmd_check(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, kResolverOptions, {"--json", "--audit-only", "--no-root-anchor"});
    Target t = target_of(a);
    std::string helo = "danesmtp-check.invalid";
    unsigned timeout_ms = 10000;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--helo") helo = val;
        if (opt == "--timeout") timeout_ms = static_cast<unsigned>(std::stoul(val));
    }
    CtxPtr ctx = make_ctx(a, true);
    PlanPtr plan = plan_of(ctx.get(), t);
    int status = danesmtp_plan_status(plan.get());
    bool json = has_flag(a, "--json");
    std::size_t passed = 0, failed = 0;
    std::string rows;
    auto emit = [&](const danesmtp_host* h, const std::string& addr, const std::string& level,
                    bool pass, const std::string& why, const std::string& tls) {
        (pass ? passed : failed)++;
        if (json) {
            rows += std::string(rows.empty() ? "" : ",") + "{\"host\":" + json_string(danesmtp_host_name(h)) +
                    ",\"address\":" + json_string(addr.c_str()) +
                    ",\"verdict\":" + json_string(danesmtp_host_verdict_name(danesmtp_host_verdict(h))) +
                    ",\"result\":" + json_string(level.c_str()) + ",\"pass\":" + (pass ? "true" : "false") +
                    ",\"tls\":" + json_string(tls.c_str()) + ",\"reason\":" + json_string(why.c_str()) + "}";
        } else {
            std::cout << danesmtp_host_name(h) << "[" << addr << "]:" << t.port << " " << level
                      << (tls.empty() ? "" : " " + tls) << ": " << why << (pass ? "" : "  [FAIL]") << "\n";
        }
    };
    if (!json) {
        std::cout << danesmtp_plan_domain(plan.get()) << ": " << danesmtp_domain_status_name(status);
        if (*danesmtp_plan_reason(plan.get())) std::cout << " (" << danesmtp_plan_reason(plan.get()) << ")";
        std::cout << "\n";
    }
    for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i) {
        const danesmtp_host* h = danesmtp_plan_host(plan.get(), i);
        int verdict = danesmtp_host_verdict(h);
        if (verdict == DANESMTP_HOST_UNREACHABLE || danesmtp_host_address_count(h) == 0) {
            emit(h, "-", "Unreachable", false, danesmtp_host_reason(h), "");
            continue;
        }
        for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k) {
            std::string addr = danesmtp_host_address(h, k);
            std::string sni = *danesmtp_host_sni(h) ? danesmtp_host_sni(h) : danesmtp_host_name(h);
            cli::Probe p = cli::probe(addr, t.port, sni, helo, timeout_ms);
            bool tls_required = verdict == DANESMTP_HOST_DANE || verdict == DANESMTP_HOST_ENCRYPT;
            if (!p.connected) {
                emit(h, addr, "Unreachable", false, p.error, "");
                continue;
            }
            if (!p.tls) {
                if (tls_required)
                    emit(h, addr, "Untrusted", false,
                         p.error + ": TLS is required for this host (RFC 7672 section 2.2); "
                                   "no mail would be sent",
                         "");
                else
                    emit(h, addr, "Cleartext", p.starttls_offered ? false : true,
                         p.error + " (opportunistic TLS: mail would go in clear text)", "");
                continue;
            }
            std::string tls = p.tls_version + " " + p.cipher;
            if (verdict != DANESMTP_HOST_DANE) {
                emit(h, addr, "Untrusted", true,
                     verdict == DANESMTP_HOST_ENCRYPT ? "TLS without authentication: no usable TLSA record"
                                                      : "opportunistic TLS (no DANE for this host)",
                     tls);
                continue;
            }
            danesmtp_chain* chain = nullptr;
            danesmtp_chain_new(&chain);
            int rc = DANESMTP_OK;
            for (const auto& der : p.chain)
                if (rc == DANESMTP_OK)
                    rc = danesmtp_chain_add_der(chain, reinterpret_cast<const unsigned char*>(der.data()),
                                                der.size());
            danesmtp_result* res = nullptr;
            if (rc == DANESMTP_OK && !p.chain.empty())
                rc = danesmtp_verify(ctx.get(), danesmtp_host_tlsa(h), chain, danesmtp_host_names(h),
                                     danesmtp_host_name_count(h), DANESMTP_TIME_NOW, &res);
            if (rc != DANESMTP_OK || p.chain.empty()) {
                emit(h, addr, "Untrusted", false,
                     p.chain.empty() ? std::string("no certificate presented") : lib_error("chain", rc), tls);
            } else if (danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED) {
                emit(h, addr, danesmtp_host_verified_possible(h) ? "Verified" : "Trusted", true,
                     danesmtp_result_reason(res), tls);
            } else {
                emit(h, addr, "Untrusted", false, danesmtp_result_reason(res), tls);
            }
            danesmtp_result_free(res);
            danesmtp_chain_free(chain);
        }
    }
    int code = exit_for_status(status);
    if (code == 0) code = passed == 0 ? kExitDefer : failed ? 1 : 0;
    if (json)
        std::cout << "{\"domain\":" << json_string(danesmtp_plan_domain(plan.get()))
                  << ",\"status\":" << json_string(danesmtp_domain_status_name(status))
                  << ",\"reason\":" << json_string(danesmtp_plan_reason(plan.get()))
                  << ",\"exit\":" << code << ",\"results\":[" << rows << "]}\n";
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc < 2) throw UsageError{"no command given"};
        std::string cmd = argv[1];
        if (cmd == "verify") return cmd_verify(argc, argv);
        if (cmd == "tlsa") return cmd_tlsa(argc, argv);
        if (cmd == "lookup") return cmd_lookup(argc, argv);
        if (cmd == "check") return cmd_check(argc, argv);
        if (cmd == "--version" || cmd == "version") {
            std::cout << "danesmtp " << danesmtp_version() << "\n";
            return 0;
        }
        if (cmd == "--help" || cmd == "help" || cmd == "-h") {
            std::cout << kUsage;
            return 0;
        }
        throw UsageError{"unknown command '" + cmd + "'"};
    } catch (const UsageError& e) {
        std::cerr << "danesmtp: " << e.message << "\n";
        if (e.message.find("usage") == std::string::npos &&
            (e.message.find("unknown") == 0 || e.message.find("no command") == 0 ||
             e.message.find("takes exactly") != std::string::npos))
            std::cerr << kUsage;
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "danesmtp: " << e.what() << "\n";
        return kExitUsage;
    }
}
