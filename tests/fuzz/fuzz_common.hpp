// SPDX-License-Identifier: MIT
// fuzz_common.hpp - what the fuzz targets (tests/fuzz/fuzz_<name>.cpp) share.
//
//   FUZZ_TARGET(name) { ... }  the body of one target. Under libFuzzer (clang,
//       `make fuzz`) it defines LLVMFuzzerTestOneInput, one binary per
//       target (build/fuzz-<name>). With -DFUZZ_REPLAY (g++, ASan+UBSan,
//       `make check`) it registers the body under `name` instead, so that one
//       replay binary (fuzz_replay.cpp) links every target and feeds each the
//       files of its corpus directory (tests/fuzz/corpus/<name>/).
//       A danesmtp::Error thrown by the body is the expected answer to bad
//       input and is swallowed; any other exception escapes and is a crash.
//   fail / require             a property that does not hold: say which and
//       abort(), so that libFuzzer keeps the input as a crash.
//   Reader                     the input as a stream of bytes and pieces;
//       reading past the end yields zeros and empty pieces, never an error,
//       so every input drives the target somewhere.
//   ascii_lower, wire_of       names as DNS compares and carries them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace danesmtp::fuzz {

using Body = void (*)(const std::uint8_t* data, std::size_t size);

inline int run(Body body, const std::uint8_t* data, std::size_t size) {
    try {
        body(data, size);
    } catch (const Error&) {
        // A clear error is the expected answer to bad input.
    }
    return 0;
}

[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz: property violated: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

inline void require(bool ok, const std::string& what) {
    if (!ok) fail(what);
}

// A piece of the input: points into libFuzzer's buffer, whose size is exact,
// so that a parser reading past a piece at the end is caught by ASan.
struct Piece {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::string_view text() const { return {reinterpret_cast<const char*>(data), size}; }
    std::vector<std::uint8_t> bytes() const { return {data, data + size}; }  // an exact-size copy
};

inline Piece whole(const std::uint8_t* data, std::size_t size) { return {data, size}; }

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    bool empty() const { return n_ == 0; }
    std::uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    // up to `len` bytes, fewer at the end of the input
    Piece take(std::size_t len) {
        Piece out{p_, len < n_ ? len : n_};
        p_ += out.size;
        n_ -= out.size;
        return out;
    }
    Piece rest() { return take(n_); }
    // the bytes up to `sep` (the separator is consumed), or the rest
    Piece until(std::uint8_t sep) {
        std::size_t i = 0;
        while (i < n_ && p_[i] != sep) ++i;
        Piece out = take(i);
        if (n_) byte();
        return out;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

inline std::string ascii_lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// wire_of - a dotted name as DNS labels (length byte, bytes ...) and the
// root's zero; "" and "." give the root alone.
inline std::vector<std::uint8_t> wire_of(std::string_view name) {
    std::vector<std::uint8_t> out;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        out.push_back(static_cast<std::uint8_t>(dot - start));
        out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

#ifdef FUZZ_REPLAY
struct Target {
    const char* name;
    Body body;
};
std::vector<Target>& targets();  // fuzz_replay.cpp
struct Registration {
    Registration(const char* name, Body body) { targets().push_back({name, body}); }
};
#define FUZZ_TARGET(name)                                                                    \
    static void fuzz_body(const std::uint8_t* data, std::size_t size);                       \
    static const ::danesmtp::fuzz::Registration fuzz_registration_##name(#name, fuzz_body);  \
    static void fuzz_body(const std::uint8_t* data, std::size_t size)
#else
#define FUZZ_TARGET(name)                                                                    \
    static void fuzz_body(const std::uint8_t* data, std::size_t size);                       \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {      \
        return ::danesmtp::fuzz::run(fuzz_body, data, size);                                 \
    }                                                                                        \
    static void fuzz_body(const std::uint8_t* data, std::size_t size)
#endif

}  // namespace danesmtp::fuzz
