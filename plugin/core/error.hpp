// SPDX-License-Identifier: MIT
// error.hpp - the one exception type the core and adapters throw.
//
// The core reports "the operation could not be done" (bad input, a limit, an
// internal failure) by throwing Error. "The answer is no" (a chain that does
// not match) is never an exception: it is a Verdict (verdict.hpp). The C ABI
// guard (plugin/capi) turns an Error into the status code it carries.
#pragma once

#include <stdexcept>
#include <string>

namespace danesmtp {

enum class ErrorCode {
    invalid_argument,  // a NULL, empty or out-of-range argument
    parse,             // malformed input text or bytes (TLSA, hex, DER, PEM, names)
    limit,             // input beyond a documented limit (chain length, name length)
    unsupported,       // well-formed input the library does not handle
    internal,          // an OpenSSL or allocation failure
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace danesmtp
