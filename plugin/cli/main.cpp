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

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

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
    "                       [--time UNIX|ISO8601] [--json] CHAIN.pem\n"
    "       danesmtp tlsa [--usage U] [--selector S] [--mtype M] [--host HOST [--port PORT]]\n"
    "                     [--depth N] FILE.pem\n"
    "       danesmtp --version\n";

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

int cmd_verify(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"--tlsa", "--tlsa-file", "--name", "--time"}, {"--json"});
    if (a.operands.size() != 1) throw UsageError{"verify takes exactly one CHAIN.pem"};
    bool json = has_flag(a, "--json");

    danesmtp_tlsa* tlsa = nullptr;
    danesmtp_chain* chain = nullptr;
    danesmtp_ctx* ctx = nullptr;
    danesmtp_result* res = nullptr;
    struct Cleanup {
        danesmtp_tlsa*& t;
        danesmtp_chain*& c;
        danesmtp_ctx*& x;
        danesmtp_result*& r;
        ~Cleanup() {
            danesmtp_result_free(r);
            danesmtp_chain_free(c);
            danesmtp_tlsa_free(t);
            danesmtp_ctx_free(x);
        }
    } cleanup{tlsa, chain, ctx, res};

    int rc = danesmtp_tlsa_new(&tlsa);
    if (rc == DANESMTP_OK) rc = danesmtp_chain_new(&chain);
    if (rc == DANESMTP_OK) rc = danesmtp_ctx_new(&ctx, nullptr);
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
        }
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

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc < 2) throw UsageError{"no command given"};
        std::string cmd = argv[1];
        if (cmd == "verify") return cmd_verify(argc, argv);
        if (cmd == "tlsa") return cmd_tlsa(argc, argv);
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
