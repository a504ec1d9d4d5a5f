// SPDX-License-Identifier: MIT
// names.cpp - see names.hpp.
#include "core/names.hpp"

#include "core/error.hpp"

namespace danesmtp::core {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

// Every label non-empty and made of LDH characters.
bool plain_labels(std::string_view s) {
    if (s.empty()) return false;
    std::size_t label = 0;
    for (char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (!ldh(c)) {
            return false;
        } else {
            ++label;
        }
    }
    return label != 0;
}

}  // namespace

std::string normalize_name(std::string_view name) {
    if (name.empty()) throw Error(ErrorCode::parse, "empty host name");
    for (char c : name) {
        if (c == '\0') throw Error(ErrorCode::parse, "host name contains a NUL byte");
        if (static_cast<unsigned char>(c) >= 0x80)
            throw Error(ErrorCode::parse,
                        "host name contains non-ASCII bytes; give an IDN in its A-label "
                        "(xn--) form");
    }
    if (name.back() == '.') name.remove_suffix(1);
    if (name.empty()) throw Error(ErrorCode::parse, "the root name is not a host name");
    if (name.size() > kMaxNameLength)
        throw Error(ErrorCode::limit, "host name of " + std::to_string(name.size()) +
                                          " octets is longer than 253");
    std::string out;
    out.reserve(name.size());
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) throw Error(ErrorCode::parse, "host name has an empty label");
            label = 0;
        } else if (!ldh(c)) {
            std::string shown = (c >= 0x21 && c < 0x7f) ? std::string("'") + c + "'"
                                                         : "byte " + std::to_string(c);
            throw Error(ErrorCode::parse, "character " + shown + " is not allowed in a host name");
        } else if (++label > kMaxLabelLength) {
            throw Error(ErrorCode::parse, "host name has a label longer than 63 octets");
        }
        out.push_back(lower(c));
    }
    if (label == 0) throw Error(ErrorCode::parse, "host name has an empty label");
    return out;
}

bool name_matches(std::string_view presented, std::string_view ref) {
    if (presented.size() > 2 && presented[0] == '*' && presented[1] == '.') {
        std::string_view rest = presented.substr(2);
        // At least two labels after the wildcard, no further '*'.
        if (!plain_labels(rest) || rest.find('.') == std::string_view::npos) return false;
        std::size_t dot = ref.find('.');
        if (dot == std::string_view::npos || dot == 0) return false;
        return iequals(ref.substr(dot + 1), rest);
    }
    if (!plain_labels(presented)) return false;  // NULs, spaces, '*' in other places
    return iequals(presented, ref);
}

std::optional<NameMatch> match_names(const std::vector<std::string>& dns_sans,
                                     const std::vector<std::string>& common_names,
                                     const std::vector<std::string>& refs) {
    const auto& presented = dns_sans.empty() ? common_names : dns_sans;
    for (const auto& ref : refs)
        for (const auto& p : presented)
            if (name_matches(p, ref)) return NameMatch{ref, p};
    return std::nullopt;
}

}  // namespace danesmtp::core
