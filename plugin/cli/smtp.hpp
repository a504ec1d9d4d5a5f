// SPDX-License-Identifier: MIT
// smtp.hpp - a minimal SMTP client for `danesmtp check`: connect, EHLO,
// STARTTLS with SNI, collect the peer's chain, QUIT. It never sends mail.
#pragma once

#include <string>
#include <vector>

namespace cli {

struct Probe {
    bool connected = false;
    bool starttls_offered = false;
    bool tls = false;                  // handshake completed
    std::string tls_version;           // "TLSv1.3"
    std::string cipher;
    std::vector<std::string> chain;    // DER certificates as presented, leaf first
    std::string error;                 // what went wrong, when something did
};

// probe - talk to address:port (IPv4 or IPv6 literal). `sni` may be empty.
// Stops after collecting the chain; every step is bounded by timeout_ms.
Probe probe(const std::string& address, unsigned port, const std::string& sni,
            const std::string& helo, unsigned timeout_ms);

}  // namespace cli
