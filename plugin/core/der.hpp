// SPDX-License-Identifier: MIT
// der.hpp - a strict, allocation-free DER walker for X.509 outlines.
//
// DANE-EE matching needs the leaf's SubjectPublicKeyInfo bytes, not a decoded
// key. Decoding a certificate with OpenSSL 3 costs 150-180 us (its key
// decoders); locating the SPKI TLV costs well under a microsecond (make
// bench). This walker checks the outline of a Certificate (RFC 5280
// section 4.1) strictly - definite minimal lengths, every TLV inside its
// parent, nothing trailing - and returns where the SPKI sits. It does not
// judge the contents of fields; the TLS stack that delivered the chain has
// already used the key, and DANE-TA path validation (tls/verify.cpp) decodes
// in full with OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace danesmtp::core {

struct DerSpan {
    std::size_t offset = 0;  // start of the TLV (tag byte)
    std::size_t length = 0;  // whole TLV length, header included
};

struct CertificateOutline {
    DerSpan tbs;   // TBSCertificate
    DerSpan spki;  // subjectPublicKeyInfo inside it
};

// outline_certificate - the outline of a DER Certificate, or nullopt with
// *why set to the first structural problem found.
std::optional<CertificateOutline> outline_certificate(const std::uint8_t* der, std::size_t len,
                                                      std::string* why);

// is_spki - does the buffer hold exactly one SubjectPublicKeyInfo outline:
// SEQUENCE { SEQUENCE algorithm, BIT STRING key }.
bool is_spki(const std::uint8_t* der, std::size_t len, std::string* why);

}  // namespace danesmtp::core
