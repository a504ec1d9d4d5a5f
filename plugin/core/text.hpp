// SPDX-License-Identifier: MIT
// text.hpp - text a report shows a person or a program: times, JSON strings
// and printable text. Shared by check's and rollover's renderers
// (report.cpp, rollover.cpp); defined in report.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace danesmtp::core {

// iso_time - "2026-12-04T16:52:13Z"; "" for 0.
std::string iso_time(std::int64_t t);
// json_quote - a JSON string literal; every byte outside printable ASCII
// as \u00XX, so the JSON stays valid whatever the text was.
std::string json_quote(const std::string& s);
// printable - control bytes and bytes past ASCII as \ooo.
std::string printable(const std::string& s);

}  // namespace danesmtp::core
