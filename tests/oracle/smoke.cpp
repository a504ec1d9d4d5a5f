// SPDX-License-Identifier: MIT
// Hand-testing driver for the OpenSSL DANE oracle.
//
//   smoke [-n NAME]... [-t UNIXTIME] LEAF.der [CHAIN.der...] -- U S M DATA [U S M DATA]...
//
// -n  reference name; the first is the TLSA base domain (default: mx.example.com)
// -t  verification time (default: now)
// DATA is hex, "-" for empty, or @FILE to use a file's raw bytes (e.g. a DER cert).
#include "openssl_dane.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "smoke: %s\nusage: smoke [-n NAME]... [-t UNIXTIME] LEAF.der "
                         "[CHAIN.der...] -- U S M HEX|-|@FILE ...\n", msg);
    std::exit(2);
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        usage(("cannot open " + path).c_str());
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> parse_data(const std::string& s) {
    if (s == "-")
        return {};
    if (!s.empty() && s[0] == '@')
        return read_file(s.substr(1));
    if (s.size() % 2 != 0)
        usage(("odd-length hex: " + s).c_str());
    std::vector<uint8_t> out;
    for (size_t i = 0; i < s.size(); i += 2) {
        if (!std::isxdigit(static_cast<unsigned char>(s[i])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 1])))
            usage(("bad hex: " + s).c_str());
        out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

uint8_t parse_u8(const std::string& s) {
    char* end = nullptr;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v > 255)
        usage(("bad TLSA field: " + s).c_str());
    return static_cast<uint8_t>(v);
}

std::string hex(const std::vector<uint8_t>& v) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : v) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> names;
    int64_t when = static_cast<int64_t>(std::time(nullptr));
    std::vector<std::vector<uint8_t>> chain;
    std::vector<oracle::Record> records;

    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-n" && i + 1 < argc) {
            names.push_back(argv[++i]);
        } else if (a == "-t" && i + 1 < argc) {
            when = std::strtoll(argv[++i], nullptr, 10);
        } else if (a == "--") {
            ++i;
            break;
        } else {
            chain.push_back(read_file(a));
        }
    }
    if ((argc - i) % 4 != 0)
        usage("records must be groups of U S M DATA");
    for (; i < argc; i += 4) {
        oracle::Record r;
        r.usage = parse_u8(argv[i]);
        r.selector = parse_u8(argv[i + 1]);
        r.mtype = parse_u8(argv[i + 2]);
        r.data = parse_data(argv[i + 3]);
        records.push_back(std::move(r));
    }
    if (names.empty())
        names.push_back("mx.example.com");

    oracle::Verifier v;
    oracle::Result r = v.verify(chain, records, names, when);

    std::printf("authenticated=%d\n", r.authenticated ? 1 : 0);
    std::printf("x509_error=%d (%s)\n", r.x509_error, r.error_string.c_str());
    std::printf("match_depth=%d\n", r.match_depth);
    std::printf("matched=%d %d %d %s\n", r.matched_usage, r.matched_selector,
                r.matched_mtype, r.matched_data.size() > 40
                    ? (hex({r.matched_data.begin(), r.matched_data.begin() + 20}) + "...").c_str()
                    : hex(r.matched_data).c_str());
    std::printf("matched_bare_key=%d\n", r.matched_bare_key ? 1 : 0);
    std::printf("chain_length=%d\n", r.chain_length);
    std::printf("rejected_records=%d\n", r.rejected_records);
    std::printf("chain_parse_error=%d\n", r.chain_parse_error ? 1 : 0);
    std::printf("setup_error=%d\n", r.setup_error ? 1 : 0);
    return r.authenticated ? 0 : 1;
}
