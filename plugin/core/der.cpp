// SPDX-License-Identifier: MIT
// der.cpp - see der.hpp.
#include "core/der.hpp"

namespace danesmtp::core {

namespace {

constexpr std::uint8_t kSequence = 0x30;
constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kBitString = 0x03;
constexpr std::uint8_t kVersionTag = 0xa0;  // [0] EXPLICIT, constructed

struct Tlv {
    std::uint8_t tag = 0;
    std::size_t offset = 0;      // of the tag byte
    std::size_t header = 0;      // tag + length octets
    std::size_t content = 0;     // content length
    std::size_t end() const { return offset + header + content; }
    std::size_t body() const { return offset + header; }
};

// read_tlv - one TLV at pos that must end at or before limit (X.690 section
// 10.1: DER uses the definite form with the minimum number of octets).
bool read_tlv(const std::uint8_t* p, std::size_t pos, std::size_t limit, Tlv* out,
              std::string* why) {
    if (pos + 2 > limit) {
        *why = "truncated TLV header at offset " + std::to_string(pos);
        return false;
    }
    Tlv t;
    t.offset = pos;
    t.tag = p[pos];
    if ((t.tag & 0x1f) == 0x1f) {
        *why = "high tag number form at offset " + std::to_string(pos);
        return false;
    }
    std::uint8_t first = p[pos + 1];
    std::size_t len = 0;
    std::size_t header = 2;
    if (first < 0x80) {
        len = first;
    } else {
        std::size_t n = first & 0x7f;
        if (n == 0) {
            *why = "indefinite length at offset " + std::to_string(pos);
            return false;
        }
        if (n > 4) {
            *why = "length field too long at offset " + std::to_string(pos);
            return false;
        }
        if (pos + 2 + n > limit) {
            *why = "truncated length at offset " + std::to_string(pos);
            return false;
        }
        for (std::size_t i = 0; i < n; ++i) len = len << 8 | p[pos + 2 + i];
        if (p[pos + 2] == 0 || len < 0x80) {
            *why = "non-minimal length at offset " + std::to_string(pos);
            return false;
        }
        header += n;
    }
    if (len > limit - pos - header) {
        *why = "length " + std::to_string(len) + " at offset " + std::to_string(pos) +
               " runs past the end of its container";
        return false;
    }
    t.header = header;
    t.content = len;
    *out = t;
    return true;
}

bool expect(const std::uint8_t* p, std::size_t pos, std::size_t limit, std::uint8_t tag,
            const char* what, Tlv* out, std::string* why) {
    if (!read_tlv(p, pos, limit, out, why)) {
        *why = std::string(what) + ": " + *why;
        return false;
    }
    if (out->tag != tag) {
        *why = std::string(what) + ": unexpected tag at offset " + std::to_string(pos);
        return false;
    }
    return true;
}

bool spki_outline(const std::uint8_t* p, const Tlv& spki, std::string* why) {
    Tlv alg, key;
    if (!expect(p, spki.body(), spki.end(), kSequence, "SPKI algorithm", &alg, why)) return false;
    if (!expect(p, alg.end(), spki.end(), kBitString, "SPKI key", &key, why)) return false;
    if (key.end() != spki.end()) {
        *why = "trailing bytes inside SubjectPublicKeyInfo";
        return false;
    }
    return true;
}

}  // namespace

std::optional<CertificateOutline> outline_certificate(const std::uint8_t* der, std::size_t len,
                                                      std::string* why) {
    std::string scratch;
    if (!why) why = &scratch;
    if (!der || len == 0) {
        *why = "empty certificate";
        return std::nullopt;
    }
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    Tlv cert, tbs, alg, sig;
    if (!expect(der, 0, len, kSequence, "Certificate", &cert, why)) return std::nullopt;
    if (cert.end() != len) {
        *why = "trailing bytes after the certificate";
        return std::nullopt;
    }
    if (!expect(der, cert.body(), cert.end(), kSequence, "TBSCertificate", &tbs, why))
        return std::nullopt;
    if (!expect(der, tbs.end(), cert.end(), kSequence, "signatureAlgorithm", &alg, why))
        return std::nullopt;
    if (!expect(der, alg.end(), cert.end(), kBitString, "signatureValue", &sig, why))
        return std::nullopt;
    if (sig.end() != cert.end()) {
        *why = "trailing bytes inside the certificate";
        return std::nullopt;
    }
    // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    //                               issuer, validity, subject, subjectPublicKeyInfo, ... }
    std::size_t pos = tbs.body();
    Tlv field;
    if (!read_tlv(der, pos, tbs.end(), &field, why)) return std::nullopt;
    if (field.tag == kVersionTag) pos = field.end();
    if (!expect(der, pos, tbs.end(), kInteger, "serialNumber", &field, why)) return std::nullopt;
    static const char* const kFields[] = {"signature", "issuer", "validity", "subject"};
    pos = field.end();
    for (const char* name : kFields) {
        if (!expect(der, pos, tbs.end(), kSequence, name, &field, why)) return std::nullopt;
        pos = field.end();
    }
    Tlv spki;
    if (!expect(der, pos, tbs.end(), kSequence, "subjectPublicKeyInfo", &spki, why))
        return std::nullopt;
    if (!spki_outline(der, spki, why)) return std::nullopt;
    CertificateOutline out;
    out.tbs = {tbs.offset, tbs.header + tbs.content};
    out.spki = {spki.offset, spki.header + spki.content};
    return out;
}

bool is_spki(const std::uint8_t* der, std::size_t len, std::string* why) {
    std::string scratch;
    if (!why) why = &scratch;
    if (!der || len == 0) {
        *why = "empty public key";
        return false;
    }
    Tlv spki;
    if (!expect(der, 0, len, kSequence, "SubjectPublicKeyInfo", &spki, why)) return false;
    if (spki.end() != len) {
        *why = "trailing bytes after SubjectPublicKeyInfo";
        return false;
    }
    return spki_outline(der, spki, why);
}

}  // namespace danesmtp::core
