// fixture.cpp - see fixture.hpp.
#include "fixture.hpp"

#include <openssl/evp.h>

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

}  // namespace fixture
