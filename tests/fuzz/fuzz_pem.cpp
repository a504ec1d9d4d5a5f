// SPDX-License-Identifier: MIT
// fuzz_pem.cpp - a PEM chain as `danesmtp verify` and the C interface read it
// (tls::Chain::add_pem), then verification (tls::verify) against records of
// every usage and selector.
//
// Three record sets per chain, so that both the DANE-EE and the DANE-TA code
// run (a DANE-EE match returns early):
//   junk     2/3 x 0/1 SHA2-256 records of 0x42 bytes: never authenticated
//   ee       3 0 1 and 3 1 1 made from the leaf: always authenticated at
//            depth 0 (RFC 7672 section 3.1.1: no names, dates or chain)
//   ta       2 0 1, 2 1 1, 2 0 0, 2 1 0 made from the top certificate: when
//            authenticated, at depth >= 1 through a name match
// An Error from verify (a certificate OpenSSL cannot decode) ends one set,
// not the input.
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/tlsa.hpp"
#include "fuzz/fuzz_common.hpp"
#include "tls/chain.hpp"
#include "tls/verify.hpp"

using namespace danesmtp;

namespace {

core::TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype, core::Bytes data) {
    core::TlsaRecord r;
    r.usage = usage;
    r.selector = selector;
    r.mtype = mtype;
    r.data = std::move(data);
    return r;
}

std::optional<core::Verdict> verify(const tls::Chain& chain, const std::vector<core::TlsaRecord>& records) {
    tls::VerifyRequest req;
    req.records = &records;
    req.chain = &chain;
    req.names = {"mx.example.net"};
    req.time = 1800000000;
    try {
        return tls::verify(req);
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace

FUZZ_TARGET(pem) {
    tls::Chain chain;
    chain.add_pem(fuzz::whole(data, size).text());

    std::vector<core::TlsaRecord> junk;
    for (std::uint8_t u : {core::kUsageDaneTa, core::kUsageDaneEe})
        for (std::uint8_t s : {core::kSelectorCert, core::kSelectorSpki})
            junk.push_back(record(u, s, core::kMatchSha256, core::Bytes(32, 0x42)));
    if (auto v = verify(chain, junk))
        fuzz::require(v->outcome != core::Outcome::authenticated, "records of 0x42 bytes authenticated a chain");

    const tls::Certificate& leaf = chain.certs().front();
    std::vector<core::TlsaRecord> ee;
    for (std::uint8_t s : {core::kSelectorCert, core::kSelectorSpki})
        ee.push_back(record(core::kUsageDaneEe, s, core::kMatchSha256, leaf.association(s, core::kMatchSha256)));
    if (auto v = verify(chain, ee))
        fuzz::require(v->outcome == core::Outcome::authenticated && v->depth == 0,
                      "a DANE-EE record made from the leaf did not match it: " + v->reason);

    const tls::Certificate& top = chain.certs().back();
    std::vector<core::TlsaRecord> ta;
    for (std::uint8_t s : {core::kSelectorCert, core::kSelectorSpki})
        for (std::uint8_t m : {core::kMatchSha256, core::kMatchFull})
            ta.push_back(record(core::kUsageDaneTa, s, m, top.association(s, m)));
    if (auto v = verify(chain, ta); v && v->outcome == core::Outcome::authenticated)
        fuzz::require((v->depth >= 1 || v->ta_from_dns) && v->name == "mx.example.net",
                      "DANE-TA authenticated without a name match or at the leaf: " + v->reason);
}
