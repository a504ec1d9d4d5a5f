// SPDX-License-Identifier: MIT
// rollover.cpp - see rollover.hpp.
#include "core/rollover.hpp"

#include <algorithm>
#include <set>

#include "core/text.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::core {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// "3 1 1" of "3 1 1 <hex>".
std::string combo_of(const std::string& record) {
    std::size_t sp = 0;
    for (int i = 0; i < 3 && sp != std::string::npos; ++i) sp = record.find(' ', sp + (i ? 1 : 0));
    return sp == std::string::npos ? record : record.substr(0, sp);
}

bool usable(const std::string& record) {
    try {
        TlsaRecord r = parse_tlsa_text(record);
        return !unusable_reason(r) && (r.usage == kUsageDaneTa || r.usage == kUsageDaneEe);
    } catch (const std::exception&) {
        return false;
    }
}

// The records of a key for the combinations in use.
std::vector<std::string> records_of(const RolloverKeyFacts& k, const std::vector<std::string>& combos) {
    std::vector<std::string> out;
    for (const auto& c : combos) {
        auto it = k.records.find(c);
        if (it != k.records.end() && !contains(out, it->second)) out.push_back(it->second);
    }
    return out;
}

bool serves_any(const std::vector<std::string>& rrset, const std::vector<std::string>& records) {
    for (const auto& r : records)
        if (contains(rrset, r)) return true;
    return false;
}

std::uint32_t wait_ttl(const RolloverFacts& f) {
    std::uint32_t ttl = 0;
    for (const auto& s : f.servers)
        if (s.answered && !s.tlsa.empty()) ttl = std::max(ttl, s.ttl);
    if (ttl == 0) ttl = f.tlsa_ttl_left;
    if (ttl == 0) ttl = f.soa_minimum;  // no RRset yet: the negative-caching TTL (RFC 2308)
    return ttl;
}

Finding make(FindingCode code, const RolloverFacts& f, std::string summary, std::vector<std::string> evidence,
             std::string fix) {
    Finding x;
    x.code = code;
    x.host = f.host;
    x.summary = std::move(summary);
    x.evidence = std::move(evidence);
    x.fix = std::move(fix);
    return x;
}

std::string rr_line(const RolloverFacts& f, const std::string& record, std::uint32_t ttl) {
    return f.owner + ". " + std::to_string(ttl) + " IN TLSA " + record;
}

const std::string kTool = "danesmtp rollover";

std::string host_args(const RolloverFacts& f) {
    return "--host " + f.host + (f.port != 25 ? " --port " + std::to_string(f.port) : std::string());
}

int status_of(const std::vector<Finding>& findings) {
    int best = 0;
    auto rank = [](int s) {  // 5 > 4 > 6 > 3 > 1 > 0
        switch (s) {
            case 5: return 6;
            case 4: return 5;
            case 6: return 4;
            case 3: return 3;
            case 1: return 2;
            default: return 0;
        }
    };
    for (const auto& x : findings) {
        int s = 0;
        switch (x.code) {
            case FindingCode::roll_same_key:
            case FindingCode::roll_key_mismatch:
            case FindingCode::roll_no_issuer:
            case FindingCode::roll_no_record: s = 5; break;
            case FindingCode::roll_not_secure:
            case FindingCode::roll_zone_unsigned:
            case FindingCode::roll_no_ds:
            case FindingCode::roll_state_error: s = 4; break;
            case FindingCode::roll_tsig_refused:
            case FindingCode::roll_update_refused:
            case FindingCode::roll_update_failed: s = 6; break;
            case FindingCode::roll_next_missing:
            case FindingCode::roll_server_lagging:
            case FindingCode::roll_early_switch:
            case FindingCode::roll_remove_unsafe: s = 3; break;
            case FindingCode::roll_wait: s = 1; break;
            default: s = 0;
        }
        if (rank(s) > rank(best)) best = s;
    }
    return best;
}

}  // namespace

const char* rollover_action_name(RolloverAction a) {
    switch (a) {
        case RolloverAction::plan: return "plan";
        case RolloverAction::check: return "check";
        case RolloverAction::add: return "add";
        case RolloverAction::remove: return "remove";
    }
    return "?";
}

std::vector<std::string> rollover_combos(const std::vector<std::string>& published) {
    std::set<std::string> s;
    for (const auto& r : published)
        if (usable(r)) s.insert(combo_of(r));
    if (s.empty()) s.insert("3 1 1");
    return {s.begin(), s.end()};
}

std::vector<std::string> rollover_records(const RolloverKeyFacts& key, const std::vector<std::string>& published) {
    return records_of(key, rollover_combos(published));
}

bool rollover_next_everywhere(const RolloverFacts& f) {
    std::vector<std::string> next = records_of(f.next, rollover_combos(f.published));
    if (next.empty() || f.tlsa_security != DnsSecurity::secure || !serves_any(f.published, next)) return false;
    if (f.servers.empty()) return false;
    for (const auto& s : f.servers)
        if (!s.answered || !s.tlsa_signed || !serves_any(s.tlsa, next)) return false;
    return true;
}

RolloverChange rollover_change(const RolloverFacts& f) {
    RolloverChange c;
    std::vector<std::string> combos = rollover_combos(f.published);
    std::vector<std::string> next = records_of(f.next, combos);
    // Without the update server's own RRset (published_from empty) the
    // resolver's view may be a lagging secondary's: then every record is
    // sent, as adding a present record or deleting an absent one changes
    // nothing (RFC 2136 sections 3.4.2.2 and 3.4.2.4).
    bool known = !f.published_from.empty();
    if (f.action == RolloverAction::add) {
        for (const auto& r : next)
            if (!known || !contains(f.published, r)) c.add.push_back(r);
    } else if (f.action == RolloverAction::remove) {
        for (const auto& r : records_of(f.current, combos))
            if ((!known || contains(f.published, r)) && !contains(next, r)) c.remove.push_back(r);
    }
    return c;
}

RolloverOutcome rollover_evaluate(const RolloverFacts& f) {
    RolloverOutcome o;
    std::vector<Finding>& out = o.findings;
    const std::vector<std::string> combos = rollover_combos(f.published);
    const std::vector<std::string> cur = records_of(f.current, combos);
    const std::vector<std::string> next = records_of(f.next, combos);
    o.ttl = wait_ttl(f);
    o.change = rollover_change(f);

    // ---- the files
    for (const RolloverKeyFacts* k : {&f.current, &f.next}) {
        if (!k->given) continue;
        const char* which = k == &f.current ? "CURRENT" : "NEXT";
        if (k->key_mismatch)
            out.push_back(make(FindingCode::roll_key_mismatch, f,
                               std::string(which) + " (" + k->file + ") holds a private key that matches no certificate in it",
                               {}, "give the certificate (or chain) that belongs to the key, or the key alone"));
        for (const auto& c : combos)
            if (c[0] == '2' && !k->records.count(c))
                out.push_back(make(FindingCode::roll_no_issuer, f,
                                   std::string(which) + " (" + k->file + ") has no issuing CA certificate for the published \"" + c +
                                       "\" records",
                                   {}, "give the chain file (leaf first, then the issuing CA), as the server sends it"));
    }
    if (f.current.given && f.next.given && !cur.empty() && cur == next)
        out.push_back(make(FindingCode::roll_same_key, f, "NEXT (" + f.next.file + ") has the same records as CURRENT (" + f.current.file + ")",
                           cur, "generate a new key for NEXT (a renewal that reuses the key needs no rollover)"));

    // ---- DNS
    bool zone_ok = true;
    if (f.zone.empty() || f.zone_security != DnsSecurity::secure) {
        zone_ok = false;
        if (!f.zone.empty() && f.zone_security == DnsSecurity::insecure && f.zone_has_dnskey)
            out.push_back(make(FindingCode::roll_no_ds, f, "zone " + f.zone + " has DNSKEY records but validators see it as insecure",
                               {}, "publish the zone's DS record at its parent (through the registrar or the parent zone's operator)"));
        else if (!f.zone.empty() && f.zone_security == DnsSecurity::insecure)
            out.push_back(make(FindingCode::roll_zone_unsigned, f, "zone " + f.zone + " is not signed", {},
                               "sign the zone and publish its DS at the parent; DANE needs DNSSEC (RFC 7672 section 2.2)"));
        else
            zone_ok = true;  // bogus or failed: said below, of the TLSA RRset
    }
    if (zone_ok && f.tlsa_security != DnsSecurity::secure)
        out.push_back(make(FindingCode::roll_not_secure, f,
                           "the TLSA lookup of " + f.owner + " is " + security_name(f.tlsa_security) +
                               (f.tlsa_why.empty() ? std::string() : " (" + printable(f.tlsa_why) + ")"),
                           {}, "run `danesmtp check " + f.host + ":" + std::to_string(f.port) + "` for the cause, and fix DNSSEC first"));

    // ---- per action
    if (f.action == RolloverAction::plan) {
        std::vector<std::string> others;
        for (const auto& r : f.published)
            if (!contains(cur, r) && !contains(next, r)) others.push_back(r);
        for (const std::vector<std::string>* v : {&cur, &next, static_cast<const std::vector<std::string>*>(&others)})
            for (const auto& r : *v)
                if (!contains(o.publish_now, r)) o.publish_now.push_back(r);
        for (const auto& r : o.publish_now)
            if (!contains(f.published, r)) o.missing.push_back(r);
        for (const std::vector<std::string>* v : {&next, static_cast<const std::vector<std::string>*>(&others)})
            for (const auto& r : *v)
                if (!contains(o.keep_after, r)) o.keep_after.push_back(r);
        for (const auto& r : cur)
            if (!contains(next, r)) o.remove_after.push_back(r);
    } else if (f.action == RolloverAction::check) {
        bool all = rollover_next_everywhere(f);
        bool switched = f.probed && !next.empty() &&
                        std::any_of(f.probes.begin(), f.probes.end(), [](const RolloverProbeFacts& p) { return p.ok; }) &&
                        std::all_of(f.probes.begin(), f.probes.end(), [](const RolloverProbeFacts& p) { return p.ok && p.matches_next; });
        if (next.empty() && f.next.given) {
            std::string types;
            for (const auto& c : combos) types += (types.empty() ? "\"" : ", \"") + c + "\"";
            out.push_back(make(FindingCode::roll_no_record, f,
                               "NEXT (" + f.next.file + ") gives no record of the types published at " + f.owner + " (" + types + ")",
                               f.published, "give NEXT as the server will send it: its certificate chain, leaf first"));
        } else if (!f.state_error.empty()) {
            out.push_back(make(FindingCode::roll_state_error, f, f.state_error, {},
                               "make the state file's directory writable for this user, or name another with --state FILE"));
        } else if (!next.empty() && f.tlsa_security == DnsSecurity::secure) {
            bool some_server = std::any_of(f.servers.begin(), f.servers.end(), [&](const RolloverServerFacts& v) {
                return v.answered && serves_any(v.tlsa, next);
            });
            if (!serves_any(f.published, next) && !some_server) {
                out.push_back(make(FindingCode::roll_next_missing, f, "no record at " + f.owner + " matches NEXT (" + f.next.file + ")",
                                   next, "publish it beside the current one: `" + kTool + " publish --add " + f.next.file + " " + host_args(f) + "`"));
            } else if (!all) {
                std::vector<std::string> ev;
                for (const auto& s : f.servers) {
                    if (!s.answered) ev.push_back(s.server + " (" + s.via + "): " + printable(s.error));
                    else if (!serves_any(s.tlsa, next))
                        ev.push_back(s.server + " (" + s.via + "): serial " + std::to_string(s.serial) + ", without NEXT's record");
                    else if (!s.tlsa_signed)
                        ev.push_back(s.server + " (" + s.via + "): serial " + std::to_string(s.serial) + ", the TLSA RRset without its RRSIG");
                }
                if (f.servers.empty()) ev.push_back("no authoritative server of " + f.zone + " could be found");
                out.push_back(make(FindingCode::roll_server_lagging, f,
                                   "not every authoritative server of " + f.zone + " serves NEXT's record yet", ev,
                                   "wait for the secondaries (a NOTIFY, or at most the zone's refresh time, " + std::to_string(f.soa_refresh) +
                                       " s), then run this check again"));
            } else {
                // A first sighting in the future (a clock set back, a
                // tampered file) counts as now: the wait only grows.
                std::int64_t seen = f.first_seen > 0 && f.first_seen <= f.now ? f.first_seen : f.now;
                std::int64_t left = static_cast<std::int64_t>(o.ttl) - (f.now - seen);
                if (left > 0) {
                    o.wait_left = left;
                    out.push_back(make(FindingCode::roll_wait, f,
                                       "NEXT's record is served by all " + std::to_string(f.servers.size()) + " authoritative servers since " +
                                           iso_time(seen) + "; wait " + std::to_string(left) + " s more (TTL " + std::to_string(o.ttl) + " s)",
                                       {}, "run this check again after " + iso_time(seen + o.ttl) + "; keep the current key in service until then"));
                } else {
                    out.push_back(make(FindingCode::roll_gate_open, f,
                                       "NEXT's record has been served by all " + std::to_string(f.servers.size()) +
                                           " authoritative servers since " + iso_time(seen) + ", at least the TTL (" + std::to_string(o.ttl) + " s)",
                                       {}, switched ? "" : "switch the server to NEXT now"));
                }
            }
        }
    } else if (f.action == RolloverAction::add || f.action == RolloverAction::remove) {
        bool any = !o.change.add.empty() || !o.change.remove.empty();
        if (f.action == RolloverAction::remove && any) {
            std::vector<std::string> remaining;
            for (const auto& r : f.published)
                if (!contains(o.change.remove, r)) remaining.push_back(r);
            std::vector<std::string> ev;
            bool usable_left = false;
            for (const auto& r : remaining) usable_left |= usable(r);
            if (!usable_left) ev.push_back("no usable record would be left at " + f.owner);
            for (const auto& p : f.probes)
                if (!p.ok) ev.push_back(p.address + ": not probed (" + printable(p.error) + ")");
                else if (!p.matches_remaining) ev.push_back(p.address + ": presents " + p.leaf + ", which no remaining record matches");
            if (!ev.empty()) {
                out.push_back(make(FindingCode::roll_remove_unsafe, f, "removing CURRENT's records now would break DANE for " + f.host, ev,
                                   "switch every address to NEXT first (`" + kTool + " check " + host_args(f) + " NEXT` confirms it)"));
                any = false;
            }
        }
        if (out.empty() || std::all_of(out.begin(), out.end(), [](const Finding& x) {
                return finding_severity(x.code) != Severity::error;
            })) {
            if (!any) {
                if (o.change.add.empty() && o.change.remove.empty())
                    out.push_back(make(FindingCode::roll_nothing_to_do, f,
                                       f.action == RolloverAction::add ? "NEXT's records are published already" : "no record of CURRENT is published",
                                       f.published, ""));
            } else if (f.dry_run) {
                // the script is the output
            } else if (f.update_sent && f.update_rcode == "NOERROR" && f.update_error.empty()) {
                std::vector<std::string> ev;
                for (const auto& r : o.change.add) ev.push_back("added " + r);
                for (const auto& r : o.change.remove) ev.push_back("removed " + r);
                out.push_back(make(FindingCode::roll_updated, f, "the update was accepted by " + f.update_server, ev,
                                   f.action == RolloverAction::add
                                       ? "wait for the gate: `" + kTool + " check " + host_args(f) + " NEXT`"
                                       : ""));
            } else if (f.update_tsig_refused) {
                out.push_back(make(FindingCode::roll_tsig_refused, f, f.update_server + " refused the TSIG signature: " + printable(f.update_error),
                                   {}, "check the key's name, algorithm and secret against the server's key clause, and the clock"));
            } else if (f.update_sent) {
                out.push_back(make(FindingCode::roll_update_refused, f,
                                   f.update_server + " answered " + f.update_rcode +
                                       (f.update_error.empty() ? std::string() : ": " + printable(f.update_error)),
                                   {}, "send it to the zone's primary (--server) with a key its update-policy allows for TLSA at " + f.owner));
            } else {
                out.push_back(make(FindingCode::roll_update_failed, f, "no answer from " + f.update_server + ": " + printable(f.update_error),
                                   {}, "check --server (the zone's primary, ADDR[@PORT]) and that it accepts updates over the network"));
            }
        }
    }

    // ---- the handshakes (check, remove)
    if (f.probed) {
        std::vector<std::string> early, on_next, not_next;
        for (const auto& p : f.probes) {
            if (!p.ok) {
                not_next.push_back(p.address);  // not known to present NEXT
                continue;
            }
            if (!p.matches_published && f.tlsa_security == DnsSecurity::secure && !f.published.empty())
                early.push_back(p.address + ": presents " + p.leaf);
            (p.matches_next ? on_next : not_next).push_back(p.address);
        }
        if (!early.empty())
            out.push_back(make(FindingCode::roll_early_switch, f,
                               "an address of " + f.host + " presents a chain the published TLSA RRset does not match", early,
                               "put the previous key back in service now, publish the new key's record, wait for `" + kTool +
                                   " check` to open the gate, then switch"));
        if (f.action == RolloverAction::check && !next.empty() && !on_next.empty() && not_next.empty()) {
            std::vector<std::string> old;
            for (const auto& r : f.published)
                if (!contains(next, r)) old.push_back(r);
            out.push_back(make(FindingCode::roll_switched, f,
                               "every address of " + f.host + " (" + std::to_string(on_next.size()) + ") presents NEXT", {}, ""));
            if (!old.empty() && early.empty())
                out.push_back(make(FindingCode::roll_old_removable, f, "these records match no chain the host presents and may be removed now",
                                   old,
                                   f.current.given ? "`" + kTool + " publish --remove " + f.current.file + " " + host_args(f) + "`"
                                                   : "remove them (`" + kTool + " publish --remove CURRENT " + host_args(f) + "`)"));
        }
    }

    std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
        return static_cast<int>(finding_severity(a.code)) < static_cast<int>(finding_severity(b.code));
    });
    o.status = status_of(out);
    // The gate is open only when it said so: any path above that adds no
    // finding (a case not foreseen) keeps it closed.
    if (f.action == RolloverAction::check && o.status == 0 &&
        std::none_of(out.begin(), out.end(), [](const Finding& x) { return x.code == FindingCode::roll_gate_open; }))
        o.status = 3;
    return o;
}

// ---- rendering

std::string render_rollover_text(const RolloverFacts& f, const RolloverOutcome& o) {
    const char* step = f.action == RolloverAction::add      ? "publish --add"
                       : f.action == RolloverAction::remove ? "publish --remove"
                                                            : rollover_action_name(f.action);
    std::string s = "danesmtp rollover " + std::string(step) + " " + f.host + " port " + std::to_string(f.port) +
                    " (" + iso_time(f.now) + ")\n";
    s += "  TLSA at " + f.owner + ": " + security_name(f.tlsa_security);
    if (!f.tlsa_why.empty()) s += " (" + printable(f.tlsa_why) + ")";
    s += ", " + std::to_string(f.published.size()) + " record(s)";
    if (!f.published_from.empty()) s += " at " + f.published_from;
    if (o.ttl) s += ", TTL " + std::to_string(o.ttl) + " s";
    s += "\n";
    for (const auto& r : f.published) s += "    " + r + "\n";
    if (!f.zone.empty()) {
        s += "  zone " + f.zone + ": " + security_name(f.zone_security);
        if (!f.primary.empty()) s += ", primary " + f.primary;
        if (f.soa_refresh) s += ", refresh " + std::to_string(f.soa_refresh) + " s";
        s += "\n";
    }
    for (const auto& v : f.servers) {
        s += "    " + v.server + " (" + v.via + "): ";
        if (!v.answered) s += printable(v.error) + "\n";
        else s += "serial " + std::to_string(v.serial) + ", " + std::to_string(v.tlsa.size()) + " TLSA record(s), TTL " + std::to_string(v.ttl) + "\n";
    }
    for (const RolloverKeyFacts* k : {&f.current, &f.next}) {
        if (!k->given) continue;
        s += std::string("  ") + (k == &f.current ? "CURRENT" : "NEXT") + " " + k->file + ":\n";
        for (const auto& c : rollover_combos(f.published)) {
            auto it = k->records.find(c);
            if (it == k->records.end()) continue;
            bool pub = std::find(f.published.begin(), f.published.end(), it->second) != f.published.end();
            s += "    " + it->second + (pub ? "  (published)" : "  (not published)") + "\n";
        }
    }
    if (f.action == RolloverAction::plan && !o.publish_now.empty()) {
        std::uint32_t ttl = o.ttl ? o.ttl : 300;
        s += "\nStep 1, now: publish this TLSA RRset (the current key and the next):\n";
        for (const auto& r : o.publish_now) s += "    " + rr_line(f, r, ttl) + "\n";
        if (o.missing.empty()) s += "  all of it is published already.\n";
        else {
            s += "  missing now:\n";
            for (const auto& r : o.missing) s += "    " + r + "\n";
            if (f.next.given) s += "  (`danesmtp rollover publish --add " + f.next.file + " " + host_args(f) + "` sends it)\n";
        }
        s += "Step 2: wait until every authoritative server serves it (";
        bool sync = !f.servers.empty();
        std::int64_t serial = f.servers.empty() ? -1 : f.servers[0].serial;
        for (const auto& v : f.servers) sync &= v.answered && v.serial == serial;
        if (f.servers.empty()) s += "none found";
        else if (sync) s += std::to_string(f.servers.size()) + " server(s), in sync now at serial " + std::to_string(serial);
        else s += std::to_string(f.servers.size()) + " server(s), not in sync now";
        s += "; a secondary that misses the NOTIFY takes up to the zone's refresh, " + std::to_string(f.soa_refresh) +
             " s), then at least the TTL, " + std::to_string(o.ttl) + " s.\n";
        s += "  `danesmtp rollover check " + host_args(f) + " " + (f.next.given ? f.next.file : std::string("NEXT")) +
             "` opens when both have passed.\n";
        s += "Step 3: switch the server to the next key.\n";
        s += "Step 4: then keep only:\n";
        for (const auto& r : o.keep_after) s += "    " + rr_line(f, r, ttl) + "\n";
        if (!o.remove_after.empty()) {
            s += "  and remove:\n";
            for (const auto& r : o.remove_after) s += "    " + r + "\n";
            if (f.current.given) s += "  (`danesmtp rollover publish --remove " + f.current.file + " " + host_args(f) + "`)\n";
        }
    }
    if (f.probed) {
        s += "\n  handshakes:\n";
        for (const auto& p : f.probes) {
            s += "    " + p.address + ": ";
            if (!p.ok) s += printable(p.error) + "\n";
            else
                s += p.leaf + (p.matches_next ? ", NEXT" : p.matches_current ? ", CURRENT" : "") +
                     (p.matches_published ? ", matches the published RRset" : ", matches NO published record") + "\n";
        }
    }
    if ((f.action == RolloverAction::add || f.action == RolloverAction::remove) &&
        (!o.change.add.empty() || !o.change.remove.empty())) {
        s += f.dry_run        ? "\nThe update (not sent: --dry-run), as an nsupdate(1) script:\n"
             : f.update_sent ? "\nThe update:\n"
                             : "\nThe update (not sent), as an nsupdate(1) script:\n";
        std::string script = render_nsupdate(f, o);
        std::size_t at = 0;
        while (at < script.size()) {
            std::size_t nl = script.find('\n', at);
            s += "    " + script.substr(at, nl - at) + "\n";
            at = nl == std::string::npos ? script.size() : nl + 1;
        }
        std::uint32_t ttl = f.update_ttl ? f.update_ttl : (o.ttl ? o.ttl : 300);
        s += "  In a zone file (or a web panel), the RRset becomes:\n";
        for (const auto& r : f.published)
            if (std::find(o.change.remove.begin(), o.change.remove.end(), r) == o.change.remove.end()) s += "    " + rr_line(f, r, ttl) + "\n";
        for (const auto& r : o.change.add) s += "    " + rr_line(f, r, ttl) + "\n";
    }
    if (!o.findings.empty()) s += "\nFindings\n";
    for (const auto& x : o.findings) {
        std::string sev = severity_name(finding_severity(x.code));
        for (auto& c : sev) c = static_cast<char>(c - 32 * (c >= 'a' && c <= 'z'));
        s += "  " + sev + std::string(sev.size() < 7 ? 7 - sev.size() : 0, ' ') + " " + finding_code(x.code) + "\n";
        s += "          " + x.summary + "\n";
        for (const auto& e : x.evidence) s += "            " + e + "\n";
        if (!x.fix.empty()) s += "          fix: " + x.fix + "\n";
    }
    if (f.action == RolloverAction::check && o.status == 1)
        s += "\ngate closed: " + std::to_string(o.wait_left) + " s left\n";
    else if (f.action == RolloverAction::check && o.status == 0)
        s += "\ngate open\n";
    return s;
}

namespace {

std::string jlist(const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + json_quote(v[i]);
    return s + "]";
}

std::string jkey(const RolloverKeyFacts& k) {
    if (!k.given) return "null";
    std::string s = "{\"file\":" + json_quote(k.file) + ",\"issuer\":" + (k.has_issuer ? "true" : "false") + ",\"records\":{";
    bool first = true;
    for (const auto& [c, r] : k.records) {
        s += (first ? "" : ",") + json_quote(c) + ":" + json_quote(r);
        first = false;
    }
    return s + "}}";
}

}  // namespace

std::string render_rollover_json(const RolloverFacts& f, const RolloverOutcome& o) {
    std::string s = "{\"schema\":\"danesmtp-rollover/1\",\"action\":" + json_quote(rollover_action_name(f.action)) +
                    ",\"host\":" + json_quote(f.host) + ",\"port\":" + std::to_string(f.port) + ",\"owner\":" + json_quote(f.owner) +
                    ",\"time\":" + json_quote(iso_time(f.now)) + ",\"status\":" + std::to_string(o.status);
    s += ",\"tlsa\":{\"security\":" + json_quote(security_name(f.tlsa_security)) + ",\"why\":" + json_quote(f.tlsa_why) +
         ",\"records\":" + jlist(f.published) + ",\"from\":" + json_quote(f.published_from) + ",\"ttl\":" + std::to_string(o.ttl) + "}";
    s += ",\"zone\":{\"name\":" + json_quote(f.zone) + ",\"security\":" + json_quote(security_name(f.zone_security)) +
         ",\"primary\":" + json_quote(f.primary) + ",\"refresh\":" + std::to_string(f.soa_refresh) + ",\"servers\":[";
    for (std::size_t i = 0; i < f.servers.size(); ++i) {
        const auto& v = f.servers[i];
        s += std::string(i ? "," : "") + "{\"server\":" + json_quote(v.server) + ",\"via\":" + json_quote(v.via) +
             ",\"answered\":" + (v.answered ? "true" : "false") + ",\"error\":" + json_quote(v.error) +
             ",\"serial\":" + std::to_string(v.serial) + ",\"records\":" + jlist(v.tlsa) + ",\"ttl\":" + std::to_string(v.ttl) + "}";
    }
    s += "]},\"current\":" + jkey(f.current) + ",\"next\":" + jkey(f.next);
    s += ",\"publish_now\":" + jlist(o.publish_now) + ",\"missing\":" + jlist(o.missing) + ",\"keep_after\":" + jlist(o.keep_after) +
         ",\"remove_after\":" + jlist(o.remove_after);
    s += ",\"wait\":{\"ttl\":" + std::to_string(o.ttl) + ",\"refresh\":" + std::to_string(f.soa_refresh) +
         ",\"first_seen\":" + json_quote(iso_time(f.first_seen)) + ",\"left\":" + std::to_string(o.wait_left) + "}";
    s += ",\"probes\":[";
    for (std::size_t i = 0; i < f.probes.size(); ++i) {
        const auto& p = f.probes[i];
        s += std::string(i ? "," : "") + "{\"address\":" + json_quote(p.address) + ",\"ok\":" + (p.ok ? "true" : "false") +
             ",\"error\":" + json_quote(p.error) + ",\"leaf\":" + json_quote(p.leaf) + ",\"published\":" + (p.matches_published ? "true" : "false") +
             ",\"next\":" + (p.matches_next ? "true" : "false") + ",\"current\":" + (p.matches_current ? "true" : "false") + "}";
    }
    s += "],\"update\":{\"add\":" + jlist(o.change.add) + ",\"remove\":" + jlist(o.change.remove) + ",\"server\":" + json_quote(f.update_server) +
         ",\"dry_run\":" + (f.dry_run ? "true" : "false") + ",\"sent\":" + (f.update_sent ? "true" : "false") +
         ",\"rcode\":" + json_quote(f.update_rcode) + ",\"error\":" + json_quote(f.update_error) + "}";
    s += ",\"findings\":[";
    for (std::size_t i = 0; i < o.findings.size(); ++i) {
        const auto& x = o.findings[i];
        s += std::string(i ? "," : "") + "{\"code\":" + json_quote(finding_code(x.code)) +
             ",\"severity\":" + json_quote(severity_name(finding_severity(x.code))) + ",\"summary\":" + json_quote(x.summary) +
             ",\"evidence\":" + jlist(x.evidence) + ",\"fix\":" + json_quote(x.fix) + "}";
    }
    return s + "]}";
}

std::string render_nsupdate(const RolloverFacts& f, const RolloverOutcome& o) {
    if (o.change.add.empty() && o.change.remove.empty()) return "";
    std::string s;
    if (!f.update_server.empty()) {
        std::string addr = f.update_server, port;
        auto at = addr.rfind('@');
        if (at != std::string::npos) {
            port = addr.substr(at + 1);
            addr.resize(at);
        }
        s += "server " + addr + (port.empty() ? std::string() : " " + port) + "\n";
    }
    if (!f.zone.empty()) s += "zone " + f.zone + ".\n";
    std::uint32_t ttl = f.update_ttl ? f.update_ttl : (o.ttl ? o.ttl : 300);
    for (const auto& r : o.change.add) s += "update add " + f.owner + ". " + std::to_string(ttl) + " IN TLSA " + r + "\n";
    for (const auto& r : o.change.remove) s += "update delete " + f.owner + ". IN TLSA " + r + "\n";
    return s + "send\n";
}

}  // namespace danesmtp::core
