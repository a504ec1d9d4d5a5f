// SPDX-License-Identifier: MIT
// fixture.hpp - access to the PKI that tests/pki/make-pki.sh generates.
//
// `make check` runs the script into build/pki and passes the directory in
// DANESMTP_PKI. Keys are new on every run, so tests compute TLSA data from
// the files; dates are fixed, so tests pin the time (kNow).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/hex.hpp"
#include "core/tlsa.hpp"
#include "core/verdict.hpp"
#include "tls/chain.hpp"

namespace fixture {

using danesmtp::core::Bytes;

// 2027-01-15: inside the "normal" validity 2020-2040, after the expired
// certificates (2020-2021), before the not-yet-valid ones (2030-).
constexpr std::int64_t kNow = 1800000000;

inline std::string dir() {
    const char* d = std::getenv("DANESMTP_PKI");
    if (!d || !*d) throw std::runtime_error("DANESMTP_PKI is not set: run tests through make check");
    return d;
}

inline Bytes read(const std::string& file) {
    std::ifstream in(dir() + "/" + file, std::ios::binary);
    if (!in) throw std::runtime_error("missing fixture " + file);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline Bytes der(const std::string& name) { return read(name + ".der"); }
inline Bytes spki(const std::string& name) { return read(name + ".spki.der"); }

inline danesmtp::tls::Chain chain(const std::vector<std::string>& names) {
    danesmtp::tls::Chain c;
    for (const auto& n : names) {
        Bytes d = der(n);
        c.add_der(d.data(), d.size());
    }
    return c;
}

inline std::vector<Bytes> ders(const std::vector<std::string>& names) {
    std::vector<Bytes> out;
    for (const auto& n : names) out.push_back(der(n));
    return out;
}

// record - the TLSA record for a fixture certificate, computed the slow,
// obvious way (whole DER or the .spki.der file, digested by OpenSSL's EVP).
danesmtp::core::TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype,
                                  const std::string& name);

// verify - tls::verify on a chain of fixture certificates.
danesmtp::core::Verdict verify(const std::vector<danesmtp::core::TlsaRecord>& records,
                               const std::vector<std::string>& chain_names,
                               std::vector<std::string> names, std::int64_t when = kNow,
                               danesmtp::core::DigestPreference pref =
                                   danesmtp::core::DigestPreference::sha512_first);

// flipped - the record with the last byte of its data changed: a mismatch.
inline danesmtp::core::TlsaRecord flipped(danesmtp::core::TlsaRecord r) {
    r.data.back() ^= 0x01;
    return r;
}

}  // namespace fixture
