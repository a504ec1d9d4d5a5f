// SPDX-License-Identifier: MIT
// fuzz_exim.cpp - the Exim event entry points (include/danesmtp_exim.h) with a
// hostile address_data: danesmtp_exim_connect (tcp:connect),
// danesmtp_exim_tls_cert (tls:cert, once per certificate) and
// danesmtp_exim_delivery (msg:delivery).
//
// Input, by lines: the host address; the TLS cipher ("" = clear text); the
// certificates in base64, comma-separated, top of the chain first (at most
// 40, depths counting down to 0; none gives one empty certificate at depth
// 0); the rest is address_data as the router wrote it (per address
// `host@ADDR=N`, per host `name.N verdict.N sni.N verified.N` and for DANE
// hosts `names.N tlsa.N base.N`, see plugin/exim/exim.cpp).
// `config=""` goes in front of address_data (the first occurrence of a key
// wins): a fuzzed path would have the target read arbitrary files.
// Property: the event functions never fail (Exim fails open on a failed
// event expansion): they return OK with a result, and msg:delivery's is "".
#include <string>
#include <vector>

#include "danesmtp_exim.h"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

namespace {

std::string line(fuzz::Reader* in) { return std::string(in->until('\n').text()); }

std::string call(int (*fn)(unsigned char**, int, unsigned char*[]), const char* name,
                 std::vector<std::string> args) {
    std::vector<unsigned char*> argv;
    for (auto& a : args) argv.push_back(reinterpret_cast<unsigned char*>(&a[0]));
    unsigned char* yield = nullptr;
    int rc = fn(&yield, static_cast<int>(argv.size()), argv.data());
    fuzz::require(rc == 0 && yield, std::string(name) + " failed: an event must never fail");
    return reinterpret_cast<const char*>(yield);
}

}  // namespace

FUZZ_TARGET(exim) {
    fuzz::Reader in(data, size);
    std::string addr = line(&in), cipher = line(&in), certs = line(&in);
    std::string address_data = "config=\"\" " + std::string(in.rest().text());

    call(danesmtp_exim_connect, "danesmtp_exim_connect", {addr, address_data});
    std::vector<std::string> chain;
    for (std::size_t start = 0; start <= certs.size() && chain.size() < 40;) {
        std::size_t comma = certs.find(',', start);
        if (comma == std::string::npos) comma = certs.size();
        chain.push_back(certs.substr(start, comma - start));
        start = comma + 1;
    }
    for (std::size_t i = 0; i < chain.size(); ++i)
        call(danesmtp_exim_tls_cert, "danesmtp_exim_tls_cert",
             {std::to_string(chain.size() - 1 - i), chain[i], addr, address_data});
    std::string logged = call(danesmtp_exim_delivery, "danesmtp_exim_delivery", {addr, cipher, address_data});
    fuzz::require(logged.empty(), "danesmtp_exim_delivery returned a result");
}
