// SPDX-License-Identifier: MIT
// Test oracle: decides DANE (RFC 6698 / RFC 7672) authentication of a
// certificate chain by delegating to OpenSSL's own DANE implementation,
// configured the way Postfix uses it for SMTP.
//
// Used only by the differential tests and the benchmark as a yardstick.
#ifndef DANESMTP_TESTS_ORACLE_OPENSSL_DANE_HPP
#define DANESMTP_TESTS_ORACLE_OPENSSL_DANE_HPP

#include <cstdint>
#include <string>
#include <vector>

// Opaque OpenSSL types (avoid pulling OpenSSL headers into every test).
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_st X509_STORE;

namespace oracle {

struct Record {
    uint8_t usage = 0, selector = 0, mtype = 0;
    std::vector<uint8_t> data;
};

struct Result {
    bool authenticated = false;
    int x509_error = 0;              // X509_STORE_CTX_get_error() (X509_V_OK on success)
    std::string error_string;        // X509_verify_cert_error_string(), or a parse/setup error text
    int match_depth = -1;            // SSL_get0_dane_authority(): chain depth of the matched
                                     // certificate, -1 if not authenticated
    int matched_usage = -1, matched_selector = -1, matched_mtype = -1;  // SSL_get0_dane_tlsa()
    std::vector<uint8_t> matched_data;  // data of the matched record (empty if none)
    bool matched_bare_key = false;   // SSL_get0_dane_authority() reported an SPKI (no cert):
                                     // a "2 1 0" key signed the top of the chain
    int chain_length = 0;            // length of the chain X509_verify_cert built (0 on parse error)
    int rejected_records = 0;        // records SSL_dane_tlsa_add() refused (returned <= 0)
    bool chain_parse_error = false;  // empty chain, or some DER failed d2i_X509 (or had
                                     // trailing bytes after the certificate)
    bool setup_error = false;        // names empty / contain NUL, SSL_dane_enable or
                                     // SSL_add1_host failed, allocation failure
};

// Holds an SSL_CTX with SSL_CTX_dane_enable() and an empty X509_STORE
// (no system CAs).  Reusable; use one per thread.
class Verifier {
public:
    Verifier();   // throws std::runtime_error if OpenSSL setup fails
    ~Verifier();
    Verifier(const Verifier&) = delete;
    Verifier& operator=(const Verifier&) = delete;

    // chain: DER certificates as presented by the server, leaf first.
    // names: reference identifiers; names[0] is the TLSA base domain
    //   (SSL_dane_enable), the rest are added with SSL_add1_host.
    // time: Unix seconds used as the verification time.
    // Never throws; bad input is reported in the Result.
    Result verify(const std::vector<std::vector<uint8_t>>& chain,
                  const std::vector<Record>& records,
                  const std::vector<std::string>& names,
                  int64_t time) const;

private:
    SSL_CTX* ctx_ = nullptr;
    X509_STORE* store_ = nullptr;
};

}  // namespace oracle

#endif
