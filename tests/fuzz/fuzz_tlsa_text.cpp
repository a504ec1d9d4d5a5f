// SPDX-License-Identifier: MIT
// fuzz_tlsa_text.cpp - TLSA presentation text, "3 1 1 <hex>" or a zone-file
// line (core::parse_tlsa_text), its usability and its text form.
//
// Property: a record printed by to_text() parses back to the same record.
#include "core/tlsa.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

FUZZ_TARGET(tlsa_text) {
    core::TlsaRecord r = core::parse_tlsa_text(fuzz::whole(data, size).text());
    (void)core::unusable_reason(r);
    std::string text = core::to_text(r);
    fuzz::require(core::parse_tlsa_text(text) == r, "to_text() does not parse back: " + text.substr(0, 80));
}
