// SPDX-License-Identifier: MIT
// config.hpp - /etc/danesmtp.conf and the options text of the C interface.
//
// Format: one `key = value` per line; '#' starts a comment; blank lines are
// ignored; keys marked (list) may repeat and accumulate. Documented for
// administrators in man/danesmtp.conf.5. Values are printable ASCII; PATHs are
// absolute; ADDR is an IPv4 or IPv6 literal, PORT 1-65535. Limits: 65536 bytes
// of text, 4096 bytes a line, 64 entries a list key.
//
//   trust-anchor-file = PATH        DS/DNSKEY records in zone-file format
//   auto-trust-anchor-file = PATH   RFC 5011 file kept by unbound-anchor
//   trust-anchor = RR               (list) one DS or DNSKEY record (class IN)
//   root-anchor = yes|no            also trust the system's root key (default yes)
//   resolv-conf = PATH              forward to the resolvers listed there
//   forward = ADDR[@PORT]           (list) forward to this validating resolver
//   recursion = yes|no              resolve from the root hints (no forwarder)
//   stub = ZONE ADDR[@PORT]         (list) ask this server for this zone
//   timeout = MILLISECONDS          per lookup, 100-9999999 (default 10000)
//   parallel-lookups = N            queries in flight at once (default 8; 1 = one after another)
//   insecure-mx = dane|encrypt|ignore   (RFC 7672 section 2.2.1; default dane)
//   mandatory-dane = DOMAIN         (list) defer when DOMAIN has no usable TLSA
//   audit-only = yes|no             report verdicts, never block (section 9.1)
//   digest-preference = sha512|sha256   digest agility order (RFC 7671 section 9)
//   cache = PATH|none               validated answers shared between processes (dns/cache.hpp)
//   cache-max-ttl = SECONDS         keep an answer at most this long, 1-86400 (default 3600)
//   cache-size = MEGABYTES          the cache file's largest size, 1-4096 (default 64)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/discovery.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::core {

struct ResolverConfig {
    std::string trust_anchor_file;
    std::string auto_trust_anchor_file;
    std::vector<std::string> trust_anchors;
    std::string resolv_conf;
    std::vector<std::string> forwarders;
    bool recursion = false;
    std::vector<std::pair<std::string, std::string>> stubs;  // zone, addr[@port]
    unsigned timeout_ms = 10000;
    unsigned parallel = 8;
    bool root_anchor = true;  // the system's root key, in addition to the anchors above

    // Does the configuration name any source of answers / of trust?
    bool has_source() const { return !resolv_conf.empty() || !forwarders.empty() || recursion || !stubs.empty(); }
    bool has_anchor() const {
        return !trust_anchor_file.empty() || !auto_trust_anchor_file.empty() || !trust_anchors.empty();
    }
};

// The shared answer cache (dns/cache.hpp); off while path is empty.
struct CacheConfig {
    std::string path;
    unsigned max_ttl = 3600;  // seconds
    unsigned size_mb = 64;
};

struct Config {
    ResolverConfig resolver;
    CacheConfig cache;
    Policy policy;
    DigestPreference digests = DigestPreference::sha512_first;
    bool digests_set = false;  // digest-preference appeared in the configuration
};

// Bounds of the configuration text (apply_config_text throws Error(limit)).
constexpr std::size_t kMaxConfigBytes = 65536;  // the whole text
constexpr std::size_t kMaxConfigLine = 4096;    // one line, without its newline
constexpr std::size_t kMaxConfigList = 64;      // entries of one list key, in total

// apply_config_text - parse `text` into *config, lists appended, scalars
// replaced. `origin` names the source in messages ("/etc/danesmtp.conf").
// Throws Error(parse) for an unknown key or a bad value, Error(limit) beyond
// the bounds above; the message starts with "ORIGIN:LINE: " (only the size of
// the whole text is reported without a line).
void apply_config_text(std::string_view text, const std::string& origin, Config* config);

}  // namespace danesmtp::core
