// SPDX-License-Identifier: MIT
// hex.hpp - hexadecimal text <-> bytes, as TLSA presentation format uses it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace danesmtp::core {

using Bytes = std::vector<std::uint8_t>;

// hex_decode - decode hex digits; white space and zone-file parentheses
// between digits are skipped (RFC 6698 section 2.2: "white space is allowed
// within the hexadecimal text"). Throws Error(parse) naming the first bad
// character or an odd digit count.
Bytes hex_decode(std::string_view text);

// hex_encode - lower-case hex, no separators.
std::string hex_encode(const std::uint8_t* data, std::size_t len);
inline std::string hex_encode(const Bytes& b) { return hex_encode(b.data(), b.size()); }

// hex_abbrev - the first 8 hex digits and an ellipsis, for messages.
std::string hex_abbrev(const Bytes& b);

}  // namespace danesmtp::core
