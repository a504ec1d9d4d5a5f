// SPDX-License-Identifier: MIT
// fuzz_der.cpp - the DER outline walker (core/der.hpp): a certificate and a
// SubjectPublicKeyInfo.
//
// Properties: an outline lies inside the buffer, the SPKI inside the
// TBSCertificate, and the SPKI it points at passes is_spki() on its own.
#include <string>

#include "core/der.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

FUZZ_TARGET(der) {
    std::string why;
    if (auto o = core::outline_certificate(data, size, &why)) {
        fuzz::require(o->tbs.length <= size && o->tbs.offset <= size - o->tbs.length,
                      "TBSCertificate outside the input");
        fuzz::require(o->spki.offset >= o->tbs.offset && o->spki.length <= o->tbs.length &&
                          o->spki.offset - o->tbs.offset <= o->tbs.length - o->spki.length,
                      "SPKI outside the TBSCertificate");
        fuzz::require(core::is_spki(data + o->spki.offset, o->spki.length, &why),
                      "outlined SPKI fails is_spki: " + why);
    }
    (void)core::is_spki(data, size, &why);
}
