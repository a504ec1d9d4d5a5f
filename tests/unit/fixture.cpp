// SPDX-License-Identifier: MIT
// fixture.cpp - see fixture.hpp.
#include "fixture.hpp"

#include <openssl/evp.h>

#include "tls/verify.hpp"

namespace fixture {

danesmtp::core::TlsaRecord record(std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype,
                                  const std::string& name) {
    Bytes in = selector == 0 ? der(name) : spki(name);
    danesmtp::core::TlsaRecord r;
    r.usage = usage;
    r.selector = selector;
    r.mtype = mtype;
    if (mtype == 0) {
        r.data = in;
    } else {
        const EVP_MD* md = mtype == 1 ? EVP_sha256() : EVP_sha512();
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!EVP_Digest(in.data(), in.size(), out, &n, md, nullptr))
            throw std::runtime_error("EVP_Digest failed");
        r.data.assign(out, out + n);
    }
    return r;
}

danesmtp::core::Verdict verify(const std::vector<danesmtp::core::TlsaRecord>& records,
                               const std::vector<std::string>& chain_names,
                               std::vector<std::string> names, std::int64_t when,
                               danesmtp::core::DigestPreference pref) {
    danesmtp::tls::Chain c = chain(chain_names);
    danesmtp::tls::VerifyRequest req;
    req.records = &records;
    req.chain = &c;
    req.names = std::move(names);
    req.time = when;
    req.digests = pref;
    return danesmtp::tls::verify(req);
}

}  // namespace fixture
