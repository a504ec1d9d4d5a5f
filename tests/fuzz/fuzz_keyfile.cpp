// SPDX-License-Identifier: MIT
// fuzz_keyfile.cpp - the file `danesmtp tlsa` makes a record from: PEM or DER,
// certificates, a chain, a public or private key (tls::make_tlsa).
//
// The same bytes go through a few (usage, selector, matching type, depth)
// choices. Property: a record the tool prints parses back with the fields
// asked for, and (its usages being DANE-TA and DANE-EE) is usable for SMTP:
// the tool never tells an administrator to publish a record clients ignore.
#include <string>

#include "core/tlsa.hpp"
#include "fuzz/fuzz_common.hpp"
#include "tls/chain.hpp"
#include "tls/make.hpp"

using namespace danesmtp;

FUZZ_TARGET(keyfile) {
    struct Choice {
        std::uint8_t usage, selector, mtype;
        int depth;
    };
    static const Choice kChoices[] = {{3, 1, 1, -1}, {3, 0, 2, -1}, {2, 0, 1, -1}, {2, 1, 0, 1}, {3, 0, 0, 0}};
    // make_tlsa reads the objects first, and fails for every choice when
    // that fails: read them once (OpenSSL's decoders cost about a millisecond
    // an input), and only then make each record.
    (void)tls::read_objects(data, size);
    for (const auto& c : kChoices) {
        std::string text;
        try {
            text = tls::make_tlsa(data, size, c.usage, c.selector, c.mtype, c.depth);
        } catch (const Error&) {
            continue;
        }
        core::TlsaRecord r = core::parse_tlsa_text(text);
        fuzz::require(r.usage == c.usage && r.selector == c.selector && r.mtype == c.mtype,
                      "make_tlsa printed other fields than asked: " + text.substr(0, 16));
        auto why = core::unusable_reason(r);
        fuzz::require(!why, "make_tlsa made an unusable record: " + (why ? *why : std::string()));
    }
}
