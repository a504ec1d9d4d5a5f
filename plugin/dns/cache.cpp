// SPDX-License-Identifier: MIT
// cache.cpp - see cache.hpp.
#include "dns/cache.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

namespace danesmtp::dns {

namespace {

constexpr char kMagic[4] = {'D', 'S', 'C', '1'};
// The largest entry kept: libunbound itself refuses larger RRsets, and the
// discovery bounds (core/discovery.hpp) apply to cached answers as to fresh
// ones. Beyond this an answer is simply not cached.
constexpr std::size_t kMaxValue = 256 * 1024;
constexpr std::size_t kMaxKey = 500;  // LMDB's default key limit is 511 bytes
constexpr unsigned kMaxReaders = 256;

// FNV-1a, 64 bits: detects damaged entries (no attacker can write the file:
// see the trust model in cache.hpp), and fingerprints configurations.
std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

void put_u16(std::string* out, std::uint32_t v) {
    out->push_back(static_cast<char>(v & 0xff));
    out->push_back(static_cast<char>((v >> 8) & 0xff));
}
void put_u32(std::string* out, std::uint32_t v) {
    put_u16(out, v & 0xffff);
    put_u16(out, v >> 16);
}
void put_u64(std::string* out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v));
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
}
void put_bytes(std::string* out, const void* p, std::size_t n) {
    put_u16(out, static_cast<std::uint32_t>(n));
    out->append(static_cast<const char*>(p), n);
}

// Reader - bounds-checked reading of an entry; any overrun sets !ok.
struct Reader {
    const unsigned char* p;
    std::size_t n;
    bool ok = true;
    std::uint64_t uint(int bytes) {
        if (!ok || n < static_cast<std::size_t>(bytes)) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
        p += bytes;
        n -= static_cast<std::size_t>(bytes);
        return v;
    }
    std::string bytes() {
        std::size_t len = uint(2);
        if (!ok || n < len) {
            ok = false;
            return {};
        }
        std::string s(reinterpret_cast<const char*>(p), len);
        p += len;
        n -= len;
        return s;
    }
};

struct Entry {
    core::DnsResult result;
    std::string scope, qname;
    std::uint16_t type = 0;
    std::int64_t stored = 0;
    std::uint32_t ttl = 0;
};

std::optional<Entry> parse(const std::string& value) {
    if (value.size() < sizeof kMagic + 8 || value.compare(0, 4, kMagic, 4) != 0) return std::nullopt;
    std::size_t body = value.size() - 8;
    Reader sum{reinterpret_cast<const unsigned char*>(value.data()) + body, 8};
    if (sum.uint(8) != fnv1a(value.data(), body)) return std::nullopt;
    Reader r{reinterpret_cast<const unsigned char*>(value.data()) + 4, body - 4};
    Entry e;
    std::uint64_t sec = r.uint(1);
    std::uint64_t nx = r.uint(1);
    e.type = static_cast<std::uint16_t>(r.uint(2));
    e.stored = static_cast<std::int64_t>(r.uint(8));
    e.ttl = static_cast<std::uint32_t>(r.uint(4));
    e.scope = r.bytes();
    e.qname = r.bytes();
    e.result.canonical = r.bytes();
    std::size_t count = r.uint(2);
    for (std::size_t i = 0; r.ok && i < count; ++i) {
        std::string rd = r.bytes();
        e.result.rdata.emplace_back(rd.begin(), rd.end());
    }
    if (!r.ok || r.n != 0 || sec > 1 || nx > 1) return std::nullopt;
    e.result.security = sec == 0 ? core::DnsSecurity::secure : core::DnsSecurity::insecure;
    e.result.nxdomain = nx == 1;
    return e;
}

bool fresh(std::int64_t stored, std::uint32_t ttl, std::uint32_t max_ttl, std::int64_t now) {
    // A clock that went back makes the entry stale: its age is unknown.
    if (now < stored) return false;
    return now - stored < static_cast<std::int64_t>(std::min(ttl, max_ttl));
}

std::string key_of(const std::string& scope, const core::DnsQuery& q) {
    return scope + "/" + std::to_string(q.type) + "/" + q.name;
}

std::string dirname_of(const std::string& path) {
    std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// file_ok - a data or lock file we may believe: a regular file with one
// link, owned by the directory's owner (or root), writable by no one else.
std::string file_ok(const struct stat& st, uid_t owner, const std::string& path) {
    if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
    if (st.st_nlink != 1) return path + " has more than one link";
    if (st.st_uid != owner && st.st_uid != 0)
        return path + " is owned by uid " + std::to_string(st.st_uid) + ", not by the directory's owner";
    if (st.st_mode & 022) return path + " is writable by group or others";
    return "";
}

std::string mdb_text(const char* what, int rc) { return std::string(what) + ": " + mdb_strerror(rc); }

bool damage(int rc) {
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
           rc == MDB_VERSION_MISMATCH || rc == MDB_PANIC;
}

}  // namespace

struct AnswerCache::Impl {
    std::string path;
    std::uint32_t max_ttl = 3600;
    MDB_env* env = nullptr;
    MDB_dbi dbi = 0;
    mutable std::mutex mu;  // guards stats and why_broken
    Stats stats;
    std::string why_broken;

    ~Impl() {
        if (env) mdb_env_close(env);
    }
    bool usable() const {
        std::lock_guard<std::mutex> l(mu);
        return why_broken.empty();
    }
    // fail - stop using the cache in this process; a damaged file is removed
    // so that the next process starts a new one.
    void fail(const std::string& why, int rc) {
        {
            std::lock_guard<std::mutex> l(mu);
            if (why_broken.empty()) why_broken = why;
        }
        if (damage(rc)) {
            unlink(path.c_str());
            unlink((path + "-lock").c_str());
        }
    }
    void count(unsigned long Stats::*field, unsigned long n = 1) {
        std::lock_guard<std::mutex> l(mu);
        stats.*field += n;
    }
    // purge - drop every expired or unreadable entry (everything when `all`).
    int purge(std::int64_t now, bool all) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env, nullptr, 0, &txn);
        if (rc) return rc;
        if (all) {
            rc = mdb_drop(txn, dbi, 0);
        } else {
            MDB_cursor* cur = nullptr;
            rc = mdb_cursor_open(txn, dbi, &cur);
            MDB_val k, v;
            for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
                rc = mdb_cursor_get(cur, &k, &v, static_cast<MDB_cursor_op>(op));
                if (rc) break;
                auto e = parse(std::string(static_cast<const char*>(v.mv_data), v.mv_size));
                if (!e || !fresh(e->stored, e->ttl, max_ttl, now)) rc = mdb_cursor_del(cur, 0);
            }
            if (cur) mdb_cursor_close(cur);
            if (rc == MDB_NOTFOUND) rc = 0;
        }
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
        count(&Stats::purges);
        return mdb_txn_commit(txn);
    }
};

AnswerCache::AnswerCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AnswerCache::~AnswerCache() = default;

std::unique_ptr<AnswerCache> AnswerCache::open(const core::CacheConfig& config, std::string* why) {
    if (config.path.empty()) {
        *why = "off";
        return nullptr;
    }
    const std::string& path = config.path;
    const std::string lock = path + "-lock";
    std::string dir = dirname_of(path);
    struct stat ds;
    if (lstat(dir.c_str(), &ds) != 0) {
        *why = dir + ": " + std::strerror(errno);
        return nullptr;
    }
    uid_t me = geteuid();
    if (!S_ISDIR(ds.st_mode)) {
        *why = dir + " is not a directory";
        return nullptr;
    }
    // Root may use the MTA user's directory (Exim routes as root unless
    // deliver_drop_privilege is set); anyone else only their own or root's.
    if (ds.st_uid != me && ds.st_uid != 0 && me != 0) {
        *why = dir + " is owned by uid " + std::to_string(ds.st_uid) + ", not by this process's user (uid " +
               std::to_string(me) + ") or root";
        return nullptr;
    }
    if (ds.st_mode & 022) {
        *why = dir + " is writable by group or others";
        return nullptr;
    }
    for (const std::string& f : {path, lock}) {
        struct stat st;
        if (lstat(f.c_str(), &st) == 0) {
            std::string bad = file_ok(st, ds.st_uid, f);
            if (!bad.empty()) {
                *why = bad;
                return nullptr;
            }
        } else if (errno != ENOENT) {
            *why = f + ": " + std::strerror(errno);
            return nullptr;
        }
    }
    // Root writing into the MTA user's directory: the files are made here
    // and given to that user first, so that they never belong to root.
    if (me == 0 && ds.st_uid != 0) {
        for (const std::string& f : {path, lock}) {
            int fd = ::open(f.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 || fchown(fd, ds.st_uid, ds.st_gid) != 0) {
                *why = f + ": " + std::strerror(errno);
                if (fd >= 0) close(fd);
                return nullptr;
            }
            close(fd);
        }
    }
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->max_ttl = config.max_ttl;
    for (int attempt = 0;; ++attempt) {
        int rc = mdb_env_create(&impl->env);
        if (rc == 0) rc = mdb_env_set_mapsize(impl->env, static_cast<std::size_t>(config.size_mb) << 20);
        if (rc == 0) rc = mdb_env_set_maxreaders(impl->env, kMaxReaders);
        if (rc == 0)
            rc = mdb_env_open(impl->env, path.c_str(),
                              MDB_NOSUBDIR | MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC, 0600);
        if (rc == 0) break;
        if (impl->env) mdb_env_close(impl->env);
        impl->env = nullptr;
        if (damage(rc) && attempt == 0) {
            // Not an LMDB file (or a damaged one): it is ours to replace.
            unlink(path.c_str());
            unlink(lock.c_str());
            continue;
        }
        *why = path + ": " + mdb_strerror(rc);
        return nullptr;
    }
    // What was opened is what was checked (the directory admits no one
    // else, but the files are checked again through the open descriptor).
    int fd = -1;
    struct stat st;
    if (mdb_env_get_fd(impl->env, &fd) != 0 || fstat(fd, &st) != 0) {
        *why = path + ": cannot inspect the open file";
        return nullptr;
    }
    std::string bad = file_ok(st, ds.st_uid, path);
    if (bad.empty() && lstat(lock.c_str(), &st) == 0) bad = file_ok(st, ds.st_uid, lock);
    if (!bad.empty()) {
        *why = bad;
        return nullptr;
    }
    int dead = 0;
    mdb_reader_check(impl->env, &dead);  // slots of readers that died
    // The main database needs no write transaction to open: concurrent
    // delivery processes do not queue for the writer lock just to read.
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(impl->env, nullptr, MDB_RDONLY, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &impl->dbi);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        impl->fail(mdb_text("open", rc), rc);
        *why = path + ": " + mdb_strerror(rc);
        return nullptr;
    }
    return std::unique_ptr<AnswerCache>(new AnswerCache(std::move(impl)));
}

std::string AnswerCache::encode(const std::string& scope, const core::DnsQuery& q,
                                const core::DnsResult& r, std::int64_t now, std::uint32_t ttl) {
    std::string out(kMagic, sizeof kMagic);
    out.push_back(r.security == core::DnsSecurity::secure ? 0 : 1);
    out.push_back(r.nxdomain ? 1 : 0);
    put_u16(&out, q.type);
    put_u64(&out, static_cast<std::uint64_t>(now));
    put_u32(&out, ttl);
    put_bytes(&out, scope.data(), scope.size());
    put_bytes(&out, q.name.data(), q.name.size());
    put_bytes(&out, r.canonical.data(), r.canonical.size());
    put_u16(&out, static_cast<std::uint32_t>(r.rdata.size()));
    for (const auto& rd : r.rdata) put_bytes(&out, rd.data(), rd.size());
    put_u64(&out, fnv1a(out.data(), out.size()));
    return out;
}

std::optional<core::DnsResult> AnswerCache::decode(const std::string& value, const std::string& scope,
                                                   const core::DnsQuery& q, std::int64_t now,
                                                   std::uint32_t max_ttl) {
    auto e = parse(value);
    if (!e || e->scope != scope || e->qname != q.name || e->type != q.type) return std::nullopt;
    if (!fresh(e->stored, e->ttl, max_ttl, now)) return std::nullopt;
    e->result.ttl = static_cast<std::uint32_t>(std::min<std::int64_t>(e->ttl, max_ttl) - (now - e->stored));
    return std::move(e->result);
}

std::optional<core::DnsResult> AnswerCache::get(const std::string& scope, const core::DnsQuery& q,
                                                std::int64_t now) {
    Impl& m = *impl_;
    std::string key = key_of(scope, q);
    if (key.size() > kMaxKey || !m.usable()) {
        m.count(&Stats::misses);
        return std::nullopt;
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(m.env, nullptr, MDB_RDONLY, &txn);
    if (rc) {
        m.fail(mdb_text("read", rc), rc);
        m.count(&Stats::misses);
        return std::nullopt;
    }
    MDB_val k{key.size(), key.data()}, v;
    rc = mdb_get(txn, m.dbi, &k, &v);
    std::string value;
    if (rc == 0) value.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    mdb_txn_abort(txn);
    if (rc != 0) {
        if (rc != MDB_NOTFOUND) m.fail(mdb_text("read", rc), rc);
        m.count(&Stats::misses);
        return std::nullopt;
    }
    auto r = decode(value, scope, q, now, m.max_ttl);
    if (!r) {
        // Damaged, or of another name (a key collision cannot happen: the
        // key holds the whole name), or stale: a miss either way.
        if (!parse(value)) m.count(&Stats::damaged);
        m.count(&Stats::misses);
        return std::nullopt;
    }
    m.count(&Stats::hits);
    return r;
}

void AnswerCache::put(const std::string& scope,
                      const std::vector<std::pair<core::DnsQuery, core::DnsResult>>& entries,
                      std::int64_t now) {
    Impl& m = *impl_;
    if (!m.usable()) return;
    std::vector<std::pair<std::string, std::string>> kv;
    for (const auto& [q, r] : entries) {
        if (r.security != core::DnsSecurity::secure && r.security != core::DnsSecurity::insecure) continue;
        if (r.ttl == 0) continue;
        std::string key = key_of(scope, q);
        if (key.size() > kMaxKey) continue;
        std::string value = encode(scope, q, r, now, std::min(r.ttl, m.max_ttl));
        if (value.size() > kMaxValue) continue;
        kv.emplace_back(std::move(key), std::move(value));
    }
    if (kv.empty()) return;
    int rc = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
        MDB_txn* txn = nullptr;
        rc = mdb_txn_begin(m.env, nullptr, 0, &txn);
        for (std::size_t i = 0; rc == 0 && i < kv.size(); ++i) {
            MDB_val k{kv[i].first.size(), kv[i].first.data()};
            MDB_val v{kv[i].second.size(), kv[i].second.data()};
            rc = mdb_put(txn, m.dbi, &k, &v, 0);
        }
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else if (txn) {
            mdb_txn_abort(txn);
        }
        if (rc != MDB_MAP_FULL) break;
        // Full: first drop what has expired, then everything.
        int prc = m.purge(now, attempt == 1);
        if (prc) {
            rc = prc;
            break;
        }
    }
    if (rc == 0) {
        m.count(&Stats::stored, kv.size());
    } else if (rc != MDB_MAP_FULL) {
        // A full disk, a damaged file: this process stops using the cache.
        m.fail(mdb_text("write", rc), rc);
    }
}

AnswerCache::Stats AnswerCache::stats() const {
    std::lock_guard<std::mutex> l(impl_->mu);
    return impl_->stats;
}

std::string AnswerCache::broken() const {
    std::lock_guard<std::mutex> l(impl_->mu);
    return impl_->why_broken;
}

const std::string& AnswerCache::path() const { return impl_->path; }

std::string fingerprint(const core::ResolverConfig& c) {
    // Every field, each ended by a byte no value holds (values are printable
    // ASCII: core/config.cpp), so that no two configurations serialize alike.
    std::string s = "danesmtp-cache-1";
    auto add = [&s](const std::string& v) {
        s += v;
        s.push_back('\x01');
    };
    add(c.trust_anchor_file);
    add(c.auto_trust_anchor_file);
    for (const auto& a : c.trust_anchors) add(a);
    s.push_back('\x02');
    add(c.resolv_conf);
    for (const auto& f : c.forwarders) add(f);
    s.push_back('\x02');
    add(c.recursion ? "r" : "-");
    for (const auto& [zone, addr] : c.stubs) add(zone + " " + addr);
    s.push_back('\x02');
    add(c.root_anchor ? "root" : "-");
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(s.data(), s.size())));
    return buf;
}

CachingResolver::CachingResolver(AnswerCache* cache, std::string scope, Live live, Clock clock)
    : cache_(cache), scope_(std::move(scope)), live_(std::move(live)), clock_(std::move(clock)) {
    if (!clock_) clock_ = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
}

std::vector<core::DnsResult> CachingResolver::resolve(const std::vector<core::DnsQuery>& queries) {
    std::vector<core::DnsResult> out(queries.size());
    std::vector<std::size_t> missing;
    std::int64_t now = clock_();
    for (std::size_t i = 0; i < queries.size(); ++i) {
        std::optional<core::DnsResult> hit;
        if (cache_) hit = cache_->get(scope_, queries[i], now);
        if (hit) {
            out[i] = std::move(*hit);
            ++hits_;
        } else {
            missing.push_back(i);
        }
    }
    if (missing.empty()) return out;
    asked_ += static_cast<unsigned>(missing.size());
    std::string why;
    core::Resolver* live = live_(&why);
    if (!live) {
        for (std::size_t i : missing) {
            out[i].security = core::DnsSecurity::failed;
            out[i].why = "resolver unusable: " + why;
        }
        return out;
    }
    std::vector<core::DnsQuery> ask;
    for (std::size_t i : missing) ask.push_back(queries[i]);
    std::vector<core::DnsResult> got = live->resolve(ask);
    std::vector<std::pair<core::DnsQuery, core::DnsResult>> keep;
    for (std::size_t j = 0; j < missing.size() && j < got.size(); ++j) {
        if (cache_) keep.emplace_back(ask[j], got[j]);
        out[missing[j]] = std::move(got[j]);
    }
    if (cache_ && !keep.empty()) cache_->put(scope_, keep, now);
    return out;
}

}  // namespace danesmtp::dns
