// fuzz.cpp - one libFuzzer target for every parser that takes hostile input.
//
// The first byte picks the parser, the rest is its input:
//   0 TLSA presentation text        1 TLSA RDATA + usability
//   2 DER certificate outline       3 PEM chain + verification
//   4 PEM/DER objects for `tlsa`    5 configuration text
//   6 host names and name matching  7 Exim address_data + tls:cert event
// `make fuzz` runs it under libFuzzer (clang); `make check` replays the seed
// corpus in tests/fuzz/corpus through the same function under ASan+UBSan
// (fuzz_replay.cpp), so every input that once crashed stays a test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/der.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/tlsa.hpp"
#include "danesmtp_exim.h"
#include "tls/chain.hpp"
#include "tls/verify.hpp"

using namespace danesmtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t* p = data + 1;
    std::size_t n = size - 1;
    std::string text(reinterpret_cast<const char*>(p), n);
    try {
        switch (data[0] % 8) {
            case 0: {
                core::TlsaRecord r = core::parse_tlsa_text(text);
                (void)core::unusable_reason(r);
                (void)core::to_text(r);
                break;
            }
            case 1: {
                core::TlsaRecord r = core::parse_tlsa_rdata(p, n);
                (void)core::unusable_reason(r);
                (void)core::describe(r);
                (void)core::select_records({r, r}, core::DigestPreference::sha512_first);
                break;
            }
            case 2: {
                std::string why;
                (void)core::outline_certificate(p, n, &why);
                (void)core::is_spki(p, n, &why);
                break;
            }
            case 3: {
                tls::Chain chain;
                chain.add_pem(text);
                // Records of every kind, none of which is likely to match.
                std::vector<core::TlsaRecord> records;
                for (std::uint8_t u : {2, 3})
                    for (std::uint8_t s : {0, 1}) {
                        core::TlsaRecord r;
                        r.usage = u;
                        r.selector = s;
                        r.mtype = 1;
                        r.data.assign(32, 0x42);
                        records.push_back(r);
                    }
                tls::VerifyRequest req;
                req.records = &records;
                req.chain = &chain;
                req.names = {"mx.example.net"};
                req.time = 1800000000;
                (void)tls::verify(req);
                break;
            }
            case 4:
                (void)tls::read_objects(p, n);
                break;
            case 5: {
                core::Config c;
                core::apply_config_text(text, "fuzz", &c);
                break;
            }
            case 6: {
                std::size_t cut = text.find('\n');
                std::string a = text.substr(0, cut);
                std::string b = cut == std::string::npos ? a : text.substr(cut + 1);
                std::string ref;
                try {
                    ref = core::normalize_name(b);
                } catch (const Error&) {
                    ref = "mx.example.net";
                }
                (void)core::name_matches(a, ref);
                (void)core::match_names({a}, {b}, {ref});
                break;
            }
            case 7: {
                // address_data as Exim would pass it, and a certificate event.
                std::string depth = "0", cert = "MIIB", addr = "127.0.1.1";
                std::vector<unsigned char*> argv = {
                    reinterpret_cast<unsigned char*>(&depth[0]), reinterpret_cast<unsigned char*>(&cert[0]),
                    reinterpret_cast<unsigned char*>(&addr[0]), reinterpret_cast<unsigned char*>(&text[0])};
                unsigned char* yield = nullptr;
                danesmtp_exim_tls_cert(&yield, 4, argv.data());
                std::vector<unsigned char*> argc2 = {argv[2], argv[3]};
                danesmtp_exim_connect(&yield, 2, argc2.data());
                break;
            }
        }
    } catch (const Error&) {
        // A clear error is the expected answer to bad input.
    }
    return 0;
}
