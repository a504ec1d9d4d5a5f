// SPDX-License-Identifier: MIT
// probe.hpp - a minimal SMTP client for `danesmtp check`: connect, EHLO,
// STARTTLS with SNI, collect the peer's chain, QUIT. It never sends mail and
// never judges the chain (that is verify.hpp's job).
#pragma once

#include <string>
#include <vector>

namespace danesmtp::tls {

// Which signature algorithms the client offers (TLS 1.2 and 1.3). A server
// holding an RSA and an ECDSA certificate picks one by what the client
// offers, so a checker asks once for each to see both chains.
enum class Algorithms { any, ecdsa, rsa };
const char* algorithms_name(Algorithms a);  // "any", "ECDSA", "RSA"

struct Probe {
    bool connected = false;
    bool starttls_offered = false;
    bool tls = false;                  // handshake completed
    std::string tls_version;           // "TLSv1.3"
    std::string cipher;
    std::vector<std::string> chain;    // DER certificates as presented, leaf first
    std::string chain_error;           // not all of the chain kept: why (then `chain` is
                                       // only its first part and must not be judged)
    std::string error;                 // what went wrong, when something did (printable
                                       // ASCII: server text has other bytes as \xHH)
};

// probe - talk to address:port (IPv4 or IPv6 literal). `sni` may be empty.
// Stops after collecting the chain; connecting is bounded by timeout_ms,
// the session after it by 3 x timeout_ms in all.
// At most kMaxChainLength certificates of at most kMaxCertificateSize
// bytes each are kept (chain.hpp).
Probe probe(const std::string& address, unsigned port, const std::string& sni,
            const std::string& helo, unsigned timeout_ms, Algorithms algorithms = Algorithms::any);

}  // namespace danesmtp::tls
