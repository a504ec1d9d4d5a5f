// SPDX-License-Identifier: MIT
// fuzz_report.cpp - `danesmtp check`'s diagnosis and renderers
// (core/diagnose.hpp, core/report.cpp) on facts made of hostile text: a
// validator's reason, certificate subjects, SMTP error text, authoritative
// servers' records, TLSA data, times at the ends of the range.
//
// Input: a sequence of '\n'-separated pieces read in a fixed order (see the
// body); missing pieces are empty.
// Properties:
//   - diagnose() and every renderer return; no exception escapes;
//   - the JSON and text renderings hold only printable ASCII (plus '\n' in
//     text): whatever bytes the facts carried, no terminal escape sequence
//     and no byte that makes JSON invalid reaches the output;
//   - the monitoring line is one line, and its status is 0-2;
//   - the exit status is one of 0, 1, 3, 4, 5.
#include <cstdint>
#include <string>
#include <vector>

#include "core/diagnose.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

namespace {

std::string str(fuzz::Reader& in) { return std::string(in.until('\n').text()); }

core::Bytes bytes(fuzz::Reader& in, std::size_t n) { return in.take(n).bytes(); }

std::int64_t time_of(std::uint8_t b) {
    switch (b % 4) {
        case 0: return 0;
        case 1: return 253402300799;  // the end of year 9999, the largest time accepted
        case 2: return 1796256000;
        default: return 1796256000 + static_cast<std::int64_t>(b) * 86400;
    }
}

void printable(const std::string& out, bool newlines, const char* what) {
    for (unsigned char c : out)
        fuzz::require((c >= 0x20 && c < 0x7f) || (newlines && c == '\n'),
                      std::string(what) + " holds byte " + std::to_string(c));
}

}  // namespace

FUZZ_TARGET(report) {
    fuzz::Reader in(data, size);
    core::CheckFacts f;
    std::uint8_t flags = in.byte();
    f.single_host = flags & 1;
    f.now = time_of(in.byte());
    f.warn_days = 1 + in.byte() % 30;
    f.plan.domain = str(in);
    f.plan.port = static_cast<std::uint16_t>(in.byte() | 1);
    f.plan.status = static_cast<core::DomainStatus>(in.byte() % 4);
    f.plan.reason = str(in);
    f.plan.implicit_mx = flags & 2;
    f.mx.owner = f.plan.domain;
    f.mx.security = static_cast<core::DnsSecurity>(in.byte() % 4);
    f.mx.why = str(in);
    f.mx.sig_expires = time_of(in.byte());
    core::ZoneFacts z;
    z.name = str(in);
    std::uint16_t tag = in.byte();
    z.dnskeys.push_back({static_cast<std::uint16_t>(tag * 251u), 257, in.byte()});
    z.ds.push_back({1, in.byte(), in.byte()});
    f.zones.push_back(z);
    int hosts = in.byte() % 3;
    for (int i = 0; i < hosts; ++i) {
        core::HostPlan h;
        h.name = str(in);
        h.canonical = str(in);
        h.reason = str(in);
        h.verdict = static_cast<core::HostVerdict>(in.byte() % 4);
        h.address_security = static_cast<core::DnsSecurity>(in.byte() % 4);
        h.addresses = {str(in), str(in)};
        h.tlsa_base = str(in);
        int records = in.byte() % 4;
        for (int k = 0; k < records; ++k) {
            core::TlsaRecord r;
            r.usage = in.byte() % 5;
            r.selector = in.byte() % 3;
            r.mtype = in.byte() % 4;
            r.data = bytes(in, in.byte() % 70);
            h.records.push_back(r);
        }
        core::HostFacts hf;
        core::RrsetFacts a;
        a.owner = h.name;
        a.security = static_cast<core::DnsSecurity>(in.byte() % 4);
        a.why = str(in);
        a.sig_expires = time_of(in.byte());
        hf.addresses.push_back(a);
        hf.tlsa.owner = str(in);
        hf.tlsa.security = static_cast<core::DnsSecurity>(in.byte() % 4);
        hf.tlsa.why = str(in);
        hf.tlsa.tlsa = h.records;
        hf.zone = str(in);
        core::AuthFacts au;
        au.server = str(in);
        au.via = str(in);
        au.answered = in.byte() & 1;
        au.error = str(in);
        au.serial = in.byte();
        au.tlsa = {str(in)};
        hf.auth = {au, au};
        hf.auth[1].tlsa = {str(in)};
        int probes = in.byte() % 3;
        for (int k = 0; k < probes; ++k) {
            core::ProbeFacts p;
            std::uint8_t pf = in.byte();
            p.address = h.addresses[k % 2];
            p.algorithms = pf & 1 ? "RSA" : "any";
            p.skipped = pf & 2;
            p.connected = pf & 4;
            p.starttls = pf & 8;
            p.tls = pf & 16;
            p.judged = pf & 32;
            p.verdict.outcome = static_cast<core::Outcome>(in.byte() % 3);
            p.verdict.reason = str(in);
            p.verdict.depth = static_cast<int>(in.byte() % 3) - 1;
            p.error = str(in);
            int certs = in.byte() % 3;
            for (int c = 0; c < certs; ++c) {
                core::CertFacts ce;
                ce.subject = str(in);
                ce.issuer = str(in);
                ce.key = str(in);
                ce.not_after = time_of(in.byte());
                ce.self_issued = in.byte() & 1;
                for (int s = 0; s < 2; ++s)
                    for (int m = 0; m < 3; ++m) ce.association[s][m] = bytes(in, in.byte() % 70);
                p.chain.push_back(ce);
            }
            p.chain_sha256[0] = bytes(in, 32);
            hf.probes.push_back(p);
        }
        f.plan.hosts.push_back(h);
        f.hosts.push_back(hf);
    }
    std::vector<core::Finding> v = core::diagnose(f);
    int status = core::check_exit_status(f, v);
    fuzz::require(status == 0 || status == 1 || status == 3 || status == 4 || status == 5, "exit status");
    core::RenderOptions o;
    printable(core::render_text(f, v, o), true, "text");
    printable(core::render_json(f, v), false, "JSON");
    int st = -1;
    std::string line = core::render_nagios(f, v, &st);
    fuzz::require(st >= 0 && st <= 2, "nagios status");
    fuzz::require(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1, "nagios: one line");
    printable(line.substr(0, line.size() - 1), false, "nagios");
    (void)core::explain_bogus(f.mx.why);
}
