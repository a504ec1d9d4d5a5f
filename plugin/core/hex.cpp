// SPDX-License-Identifier: MIT
// hex.cpp - see hex.hpp.
#include "core/hex.hpp"

#include "core/error.hpp"

namespace danesmtp::core {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_skippable(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == ')';
}

std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
    static const char digits[] = "0123456789abcdef";
    return std::string("byte 0x") + digits[u >> 4] + digits[u & 15];
}

}  // namespace

Bytes hex_decode(std::string_view text) {
    Bytes out;
    out.reserve(text.size() / 2);
    int high = -1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (is_skippable(c)) continue;
        int v = hex_value(c);
        if (v < 0)
            throw Error(ErrorCode::parse, "not a hex digit: " + printable(c) + " at offset " +
                                              std::to_string(i));
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0)
        throw Error(ErrorCode::parse, "odd number of hex digits (" +
                                          std::to_string(out.size() * 2 + 1) + ")");
    return out;
}

std::string hex_encode(const std::uint8_t* data, std::size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.resize(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        s[2 * i] = digits[data[i] >> 4];
        s[2 * i + 1] = digits[data[i] & 15];
    }
    return s;
}

std::string hex_abbrev(const Bytes& b) {
    if (b.size() <= 4) return hex_encode(b);
    return hex_encode(b.data(), 4) + "...";
}

}  // namespace danesmtp::core
