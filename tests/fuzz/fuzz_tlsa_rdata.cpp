// SPDX-License-Identifier: MIT
// fuzz_tlsa_rdata.cpp - TLSA RDATA as DNS delivers it (core::parse_tlsa_rdata),
// its usability, its log form, and digest agility over a small RRset.
//
// Input: the whole input is one RDATA; it is also cut into an RRset, each
// record a length byte and that many bytes, for select_records(): at most 16
// records, from the first 64 pieces at most (see kMaxPieces).
// Properties: to_text() of a parsed record parses back to it; select_records
// returns ascending indexes of usable records only, keeps every usable
// Full(0) record, and never a digest weaker than a usable one published for
// the same usage and selector (RFC 7671 section 9).
#include <string>
#include <vector>

#include "core/tlsa.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

namespace {

// How many pieces the RRset loop reads. A piece under 4 bytes does not parse
// (an exception, some 10 us under ASan), and libFuzzer's counters reward
// inputs that go round the loop more often: unbounded, an input of 8192 zero
// bytes threw 8192 times, and such inputs took a fifth of the target's time.
// Every RRset of up to 16 records is still made by some input (one of at
// most 16 pieces), with any mix of failing pieces before, between and after.
constexpr int kMaxPieces = 64;

void check_selection(const std::vector<core::TlsaRecord>& set, core::DigestPreference pref) {
    std::vector<std::size_t> picked = core::select_records(set, pref);
    const std::uint8_t strong = pref == core::DigestPreference::sha512_first ? core::kMatchSha512 : core::kMatchSha256;
    std::vector<bool> in(set.size());
    for (std::size_t k = 0; k < picked.size(); ++k) {
        std::size_t i = picked[k];
        fuzz::require(i < set.size() && (k == 0 || picked[k - 1] < i), "select_records: bad index order");
        fuzz::require(!core::unusable_reason(set[i]), "select_records picked an unusable record");
        in[i] = true;
    }
    for (std::size_t i = 0; i < set.size(); ++i) {
        if (core::unusable_reason(set[i])) continue;
        if (set[i].mtype == core::kMatchFull) {
            fuzz::require(in[i], "select_records dropped a usable Full(0) record");
            continue;
        }
        if (!in[i] || set[i].mtype == strong) continue;
        for (const auto& o : set)
            fuzz::require(!(o.usage == set[i].usage && o.selector == set[i].selector && o.mtype == strong &&
                            !core::unusable_reason(o)),
                          "select_records kept a weaker digest next to a stronger one");
    }
}

}  // namespace

FUZZ_TARGET(tlsa_rdata) {
    std::vector<core::TlsaRecord> set;
    try {
        core::TlsaRecord r = core::parse_tlsa_rdata(data, size);
        (void)core::unusable_reason(r);
        (void)core::describe(r);
        std::string text = core::to_text(r);
        fuzz::require(core::parse_tlsa_text(text) == r, "to_text() does not parse back: " + text.substr(0, 80));
        set = {r, r};
    } catch (const Error&) {
    }
    fuzz::Reader in(data, size);
    for (int pieces = 0; !in.empty() && set.size() < 16 && pieces < kMaxPieces; ++pieces) {
        std::vector<std::uint8_t> rd = in.take(in.byte()).bytes();
        try {
            set.push_back(core::parse_tlsa_rdata(rd.data(), rd.size()));
        } catch (const Error&) {
        }
    }
    check_selection(set, core::DigestPreference::sha512_first);
    check_selection(set, core::DigestPreference::sha256_first);
}
