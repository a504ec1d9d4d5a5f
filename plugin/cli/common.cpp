// SPDX-License-Identifier: MIT
// common.cpp - see common.hpp.
#include "common.hpp"

#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace cli {

const char kUsage[] =
    "usage: danesmtp verify [--tlsa \"U S M HEX\"]... [--tlsa-file FILE] [--name NAME]...\n"
    "                       [--time UNIX|ISO8601] [--json] [--conf FILE] CHAIN.pem\n"
    "       danesmtp tlsa [--usage U] [--selector S] [--mtype M] [--host HOST [--port PORT]]\n"
    "                     [--depth N] FILE.pem\n"
    "       danesmtp lookup DOMAIN|HOST:PORT [--port P] [--json] [--no-cache] [RESOLVER OPTIONS]\n"
    "       danesmtp check DOMAIN|HOST:PORT|--from FILE [--jobs N] [--port P] [--helo NAME]\n"
    "                      [--json|--nagios] [--brief] [--no-probe] [--warn-days N] [--deadline MS]\n"
    "                      [--colour auto|always|never] [RESOLVER OPTIONS]\n"
    "       danesmtp rollover plan --host HOST [--port P] [--json] CURRENT NEXT [RESOLVER OPTIONS]\n"
    "       danesmtp rollover check --host HOST [--port P] [--json] [--state FILE] [--no-probe] NEXT\n"
    "                               [RESOLVER OPTIONS]\n"
    "       danesmtp rollover publish --host HOST [--port P] --add NEXT|--remove CURRENT\n"
    "                                 -k KEYFILE|-y [ALG:]NAME:SECRET|--dry-run [--server ADDR[@PORT]]\n"
    "                                 [--ttl N] [--no-probe] [--json] [RESOLVER OPTIONS]\n"
    "       danesmtp --version\n"
    "RESOLVER OPTIONS: --conf FILE (default /etc/danesmtp.conf when present), --trust-anchor FILE,\n"
    "       --stub ZONE=IP@PORT, --forward IP[@PORT], --timeout MS, --insecure-mx dane|encrypt|ignore,\n"
    "       --mandatory DOMAIN, --audit-only, --no-root-anchor (trust only the --trust-anchor keys)\n";

std::string read_file(const std::string& path, std::size_t max) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError{path + ": " + std::strerror(errno)};
    if (max == 0) {
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::string out(max + 1, '\0');
    in.read(&out[0], static_cast<std::streamsize>(max + 1));
    out.resize(static_cast<std::size_t>(in.gcount()));
    if (out.size() > max) throw UsageError{path + ": larger than " + std::to_string(max) + " bytes"};
    return out;
}

std::string lib_error(const std::string& what, int rc) {
    std::string detail = danesmtp_last_error();
    return what + ": " + (detail.empty() ? danesmtp_strerror(rc) : detail);
}

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

const std::vector<std::string> kResolverOptions = {"--conf", "--trust-anchor", "--stub", "--forward",
                                                   "--timeout", "--insecure-mx", "--mandatory",
                                                   "--port", "--helo"};

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


int exit_for_status(int status) {
    if (status == DANESMTP_DOMAIN_DEFER) return kExitDefer;
    if (status == DANESMTP_DOMAIN_NULL_MX || status == DANESMTP_DOMAIN_NXDOMAIN) return kExitNoMail;
    return 0;
}


}  // namespace cli
