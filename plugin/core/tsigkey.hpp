// SPDX-License-Identifier: MIT
// tsigkey.hpp - a TSIG key (RFC 8945) as administrators hold it, for
// `danesmtp rollover publish`: BIND's key clause (what tsig-keygen and
// ddns-confgen write, what `nsupdate -k` reads) or nsupdate -y's text.
#pragma once

#include <string>
#include <string_view>

namespace danesmtp::core {

struct TsigKey {
    std::string name;       // absolute, with the trailing dot
    std::string algorithm;  // "hmac-sha256." (ldns spelling)
    std::string secret;     // base64, as written
};

// parse_tsig_key - either
//   key "NAME" { algorithm hmac-sha256; secret "BASE64"; };   (the first key
//       clause of a BIND configuration text; comments allowed)
//   [ALG:]NAME:SECRET                                          (nsupdate -y;
//       ALG defaults to hmac-md5, as nsupdate's does)
// Algorithms: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384,
// hmac-sha512. At most 64 KiB of text. Throws Error(parse) saying what is
// wrong; the secret never appears in a message.
TsigKey parse_tsig_key(std::string_view text);

}  // namespace danesmtp::core
