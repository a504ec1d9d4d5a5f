// SPDX-License-Identifier: MIT
// make.hpp - the TLSA record a publisher puts in DNS for a certificate or key.
#pragma once

#include <cstdint>
#include <string>

namespace danesmtp::tls {

// make_tlsa - "U S M <hex>" for the object in `input` (PEM or DER: one
// certificate, a chain leaf first, a public key, or an unencrypted private
// key). depth -1 picks by usage: the leaf for EE usages (1, 3), the top of
// the chain for TA usages (0, 2). Throws Error(invalid_argument) rather than
// guess: certificates mixed with keys, several keys, a key with selector
// Cert(0), a depth beyond the chain. Unknown selector or matching type values
// are refused too: there is no way to compute their data.
std::string make_tlsa(const std::uint8_t* input, std::size_t len, std::uint8_t usage,
                      std::uint8_t selector, std::uint8_t mtype, int depth);

}  // namespace danesmtp::tls
