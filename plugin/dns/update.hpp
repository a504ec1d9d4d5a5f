// SPDX-License-Identifier: MIT
// update.hpp - an RFC 2136 dynamic update of one TLSA RRset, signed with a
// TSIG key (RFC 8945), as `nsupdate -k` would send it: for `danesmtp
// rollover publish`. ldns builds, signs and sends the packet, over TCP, and
// checks the TSIG of the answer.
#pragma once

#include <string>
#include <vector>

#include "core/tsigkey.hpp"

namespace danesmtp::dns {

struct UpdateAnswer {
    bool answered = false;      // an answer came back (its TSIG verified, when it had one)
    std::string rcode;          // "NOERROR", "REFUSED", "NOTAUTH", ...
    bool tsig_refused = false;  // NOTAUTH with a TSIG error (BADKEY, BADSIG, BADTIME), or an unsigned answer
    std::string error;          // why there is no usable answer, or the TSIG error
};

// send_update - `server` "ADDR" or "ADDR@PORT" (53 by default), `zone` and
// `owner` absolute names without the trailing dot, records "U S M HEX".
// Adds are "add to the RRset" with `ttl` (RFC 2136 section 2.5.1), removes
// "delete an RR from the RRset" (section 2.5.4). Never throws for a network
// or DNS failure: that is an answer with `error`.
// With `expect`, the update carries the prerequisite that the RRset is
// exactly those records (RFC 2136 section 2.4.2), or does not exist when it
// is empty (section 2.4.3): an RRset changed since it was read, or a name
// that only a wildcard answered for, makes the server refuse it (NXRRSET or
// YXRRSET) rather than apply it to something else.
UpdateAnswer send_update(const std::string& server, const std::string& zone, const std::string& owner,
                         const std::vector<std::string>& add, const std::vector<std::string>& remove, unsigned ttl,
                         const core::TsigKey& key, unsigned timeout_ms, const std::vector<std::string>* expect = nullptr);

}  // namespace danesmtp::dns
