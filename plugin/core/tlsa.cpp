// SPDX-License-Identifier: MIT
// tlsa.cpp - see tlsa.hpp.
#include "core/tlsa.hpp"

#include <cctype>

#include "core/der.hpp"
#include "core/error.hpp"

namespace danesmtp::core {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Split on white space; a ';' starts a zone-file comment up to the end of line.
std::vector<std::string_view> tokenize(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == ';') {
            while (i < text.size() && text[i] != '\n') ++i;
            continue;
        }
        if (is_space(c)) {
            ++i;
            continue;
        }
        std::size_t start = i;
        while (i < text.size() && !is_space(text[i]) && text[i] != ';') ++i;
        out.push_back(text.substr(start, i - start));
    }
    return out;
}

struct Mnemonic {
    const char* name;
    std::uint8_t value;
};

// RFC 7218 section 2 acronyms.
const Mnemonic kUsageNames[] = {{"PKIX-TA", 0}, {"PKIX-EE", 1}, {"DANE-TA", 2}, {"DANE-EE", 3}};
const Mnemonic kSelectorNames[] = {{"Cert", 0}, {"SPKI", 1}};
const Mnemonic kMtypeNames[] = {{"Full", 0}, {"SHA2-256", 1}, {"SHA2-512", 2}};

template <std::size_t N>
std::uint8_t parse_field(std::string_view tok, const char* field, const Mnemonic (&names)[N]) {
    for (const auto& m : names)
        if (iequals(tok, m.name)) return m.value;
    if (tok.empty() || tok.size() > 3)
        throw Error(ErrorCode::parse, std::string("bad ") + field + " field '" +
                                          std::string(tok.substr(0, 16)) + "'");
    unsigned v = 0;
    for (char c : tok) {
        if (c < '0' || c > '9')
            throw Error(ErrorCode::parse, std::string("bad ") + field + " field '" +
                                              std::string(tok) + "'");
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255)
        throw Error(ErrorCode::parse, std::string(field) + " " + std::to_string(v) +
                                          " is out of range 0-255");
    return static_cast<std::uint8_t>(v);
}

template <std::size_t N>
std::string field_name(std::uint8_t v, const char* unknown, const Mnemonic (&names)[N]) {
    for (const auto& m : names)
        if (m.value == v) return std::string(m.name) + "(" + std::to_string(v) + ")";
    return std::string(unknown) + " " + std::to_string(v);
}

bool is_number(std::string_view t) {
    if (t.empty()) return false;
    for (char c : t)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

TlsaRecord parse_tlsa_text(std::string_view text) {
    if (text.find('\0') != std::string_view::npos)
        throw Error(ErrorCode::parse, "TLSA text contains a NUL byte");
    auto tokens = tokenize(text);
    std::size_t first = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (iequals(tokens[i], "TLSA")) {
            // Zone-file line: owner [TTL] [class] TLSA fields... The owner is
            // optional in zone files (it repeats the previous one); accept at
            // most owner, TTL and class before the type.
            if (i > 3)
                throw Error(ErrorCode::parse,
                            "too many fields before TLSA (expected owner, TTL, class)");
            for (std::size_t j = 0; j < i; ++j) {
                bool ok = is_number(tokens[j]) || iequals(tokens[j], "IN") ||
                          (j == 0 && tokens[j].find('.') != std::string_view::npos) ||
                          (j == 0 && tokens[j] == "@");
                if (!ok)
                    throw Error(ErrorCode::parse, "unexpected field '" +
                                                      std::string(tokens[j].substr(0, 64)) +
                                                      "' before TLSA");
            }
            first = i + 1;
            break;
        }
    }
    if (tokens.size() < first + 3)
        throw Error(ErrorCode::parse,
                    "a TLSA record needs usage, selector, matching type and data");
    TlsaRecord r;
    r.usage = parse_field(tokens[first], "usage", kUsageNames);
    r.selector = parse_field(tokens[first + 1], "selector", kSelectorNames);
    r.mtype = parse_field(tokens[first + 2], "matching type", kMtypeNames);
    std::string hex;
    for (std::size_t i = first + 3; i < tokens.size(); ++i) hex.append(tokens[i]);
    if (hex.find_first_not_of("()") == std::string::npos)
        throw Error(ErrorCode::parse, "no certificate association data");
    try {
        r.data = hex_decode(hex);
    } catch (const Error& e) {
        throw Error(ErrorCode::parse, std::string("certificate association data: ") + e.what());
    }
    if (r.data.size() > kMaxRdata)
        throw Error(ErrorCode::limit, "certificate association data longer than " +
                                          std::to_string(kMaxRdata) + " bytes");
    return r;
}

TlsaRecord parse_tlsa_rdata(const std::uint8_t* rdata, std::size_t len) {
    if (!rdata && len) throw Error(ErrorCode::invalid_argument, "NULL RDATA");
    if (len < 4)
        throw Error(ErrorCode::parse, "TLSA RDATA of " + std::to_string(len) +
                                          " bytes is too short (needs 3 fields and data)");
    if (len > kMaxRdata)
        throw Error(ErrorCode::limit, "TLSA RDATA longer than 65535 bytes");
    TlsaRecord r;
    r.usage = rdata[0];
    r.selector = rdata[1];
    r.mtype = rdata[2];
    r.data.assign(rdata + 3, rdata + len);
    return r;
}

std::optional<std::string> unusable_reason(const TlsaRecord& r) {
    // RFC 7672 section 3.1.3: SMTP clients treat PKIX-TA(0) and PKIX-EE(1) as
    // unusable; there is no agreed set of public CAs for MX hosts.
    if (r.usage == kUsagePkixTa || r.usage == kUsagePkixEe)
        return usage_name(r.usage) + " is not used for SMTP (RFC 7672 section 3.1.3)";
    if (r.usage > kUsageDaneEe) return "unknown usage " + std::to_string(r.usage);
    if (r.selector > kSelectorSpki) return "unknown selector " + std::to_string(r.selector);
    if (r.mtype > kMatchSha512) return "unknown matching type " + std::to_string(r.mtype);
    if (r.data.empty()) return std::string("empty certificate association data");
    // RFC 6698 section 2.1.4 / RFC 7671 section 5: a digest has its exact length.
    std::size_t want = r.mtype == kMatchSha256 ? 32 : r.mtype == kMatchSha512 ? 64 : 0;
    if (want && r.data.size() != want)
        return mtype_name(r.mtype) + " data is " + std::to_string(r.data.size()) +
               " bytes, must be " + std::to_string(want);
    if (r.mtype == kMatchFull) {
        std::string why;
        if (r.selector == kSelectorCert) {
            if (!outline_certificate(r.data.data(), r.data.size(), &why))
                return "Full(0) certificate data does not parse: " + why;
        } else if (!is_spki(r.data.data(), r.data.size(), &why)) {
            return "Full(0) SPKI data does not parse: " + why;
        }
    }
    return std::nullopt;
}

std::vector<std::size_t> select_records(const std::vector<TlsaRecord>& records,
                                        DigestPreference pref) {
    // Most preferred digest per (usage, selector), among usable records only.
    // rank: 0 none seen, 1 the weaker digest, 2 the stronger one.
    const std::uint8_t strong = pref == DigestPreference::sha512_first ? kMatchSha512 : kMatchSha256;
    int rank[4][2] = {};
    std::vector<bool> usable(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        usable[i] = !unusable_reason(r);
        if (!usable[i] || r.mtype == kMatchFull) continue;
        int rk = r.mtype == strong ? 2 : 1;
        if (rk > rank[r.usage][r.selector]) rank[r.usage][r.selector] = rk;
    }
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (!usable[i]) continue;
        const auto& r = records[i];
        if (r.mtype != kMatchFull) {
            int rk = r.mtype == strong ? 2 : 1;
            if (rk < rank[r.usage][r.selector]) continue;  // a weaker digest: RFC 7671 section 9
        }
        out.push_back(i);
    }
    return out;
}

std::string to_text(const TlsaRecord& r) {
    return std::to_string(r.usage) + " " + std::to_string(r.selector) + " " +
           std::to_string(r.mtype) + " " + hex_encode(r.data);
}

std::string describe(const TlsaRecord& r) {
    return usage_name(r.usage) + " " + selector_name(r.selector) + " " + mtype_name(r.mtype) +
           " " + hex_abbrev(r.data);
}

std::string usage_name(std::uint8_t usage) { return field_name(usage, "usage", kUsageNames); }
std::string selector_name(std::uint8_t s) { return field_name(s, "selector", kSelectorNames); }
std::string mtype_name(std::uint8_t m) { return field_name(m, "matching type", kMtypeNames); }

}  // namespace danesmtp::core
