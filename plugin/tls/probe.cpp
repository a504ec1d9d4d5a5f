// SPDX-License-Identifier: MIT
// probe.cpp - see probe.hpp.
#include "tls/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/sigpipe.hpp"
#include "tls/chain.hpp"
#include "tls/openssl.hpp"

namespace danesmtp::tls {

namespace {

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

bool connect_with_timeout(int fd, const sockaddr* sa, socklen_t len, unsigned timeout_ms,
                          std::string* err) {
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, sa, len);
    if (rc != 0 && errno != EINPROGRESS) {
        *err = std::string("connect: ") + std::strerror(errno);
        return false;
    }
    if (rc != 0) {
        pollfd p{fd, POLLOUT, 0};
        rc = poll(&p, 1, static_cast<int>(timeout_ms));
        if (rc <= 0) {
            *err = rc == 0 ? "connect: timed out" : std::string("connect: ") + std::strerror(errno);
            return false;
        }
        int so = 0;
        socklen_t sl = sizeof so;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
        if (so != 0) {
            *err = std::string("connect: ") + std::strerror(so);
            return false;
        }
    }
    return true;  // the socket stays non-blocking: every wait is a poll() to the deadline
}

using Clock = std::chrono::steady_clock;

// wait_for - poll `fd` for `events` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int rc = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return false;
    }
}

// Text from the server, for a person and for JSON: printable ASCII kept,
// every other byte as \xHH (an SMTP banner may carry anything).
std::string clean(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

// Reads SMTP replies through a buffer (one recv per segment, not per byte).
// What the server sent beyond the STARTTLS reply is dropped with the reader:
// text injected before the handshake must never count as a reply after it.
class Reader {
public:
    Reader(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}
    // One SMTP reply (all its lines). Returns the code, or -1: at most
    // kMaxReply bytes (every byte counts, kept or not) before the deadline.
    int reply(std::string* text) {
        std::string line;
        text->clear();
        std::size_t seen = 0;
        for (;;) {
            if (pos_ == len_) {
                ssize_t n = recv(fd_, buf_, sizeof buf_, 0);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                    if (!wait_for(fd_, POLLIN, deadline_)) return -1;
                    continue;
                }
                if (n <= 0) return -1;
                pos_ = 0;
                len_ = static_cast<std::size_t>(n);
            }
            char c = buf_[pos_++];
            if (++seen > kMaxReply) return -1;
            if (c == '\n') {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                *text += line + "\n";
                if (line.size() < 4 || line[3] != '-') {
                    if (line.size() < 3) return -1;
                    return std::atoi(line.substr(0, 3).c_str());
                }
                line.clear();
            } else if (line.size() < 1024) {
                line.push_back(c);
            }
        }
    }

private:
    static constexpr std::size_t kMaxReply = 65536;
    int fd_;
    Clock::time_point deadline_;
    char buf_[4096];
    std::size_t pos_ = 0, len_ = 0;
};

bool send_line(int fd, const std::string& s, Clock::time_point deadline) {
    std::string l = s + "\r\n";
    std::size_t done = 0;
    while (done < l.size()) {
        ssize_t n = send(fd, l.data() + done, l.size() - done, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_for(fd, POLLOUT, deadline)) return false;
            continue;
        }
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// client_context - one SSL_CTX per set of signature algorithms for the
// whole process: making one costs about as much as a handshake with OpenSSL
// 3 (provider and decoder look-ups), and SSL_new() from several threads on
// a shared SSL_CTX is safe. Made on first use, kept for the process's life
// (a forked child may use its copy). nullptr when OpenSSL cannot make one.
SSL_CTX* make_context(Algorithms algorithms) {
    init_openssl();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return nullptr;
    // Authentication is DANE's job (danesmtp_verify), not the PKI's: accept
    // any chain here and judge it afterwards, as an MTA's DANE hook does.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Signature algorithms in OpenSSL's list syntax; "rsa_pss_rsae_*" are
    // the RSA schemes of TLS 1.3 (RFC 8446 section 4.2.3).
    const char* sigalgs = nullptr;
    if (algorithms == Algorithms::ecdsa)
        sigalgs = "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512";
    else if (algorithms == Algorithms::rsa)
        sigalgs = "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
                  "rsa_pss_pss_sha256:RSA+SHA256:RSA+SHA384:RSA+SHA512";
    if (sigalgs && SSL_CTX_set1_sigalgs_list(ctx, sigalgs) != 1) {
        SSL_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

SSL_CTX* client_context(Algorithms algorithms) {
    static std::once_flag once[3];
    static SSL_CTX* contexts[3] = {nullptr, nullptr, nullptr};
    auto i = static_cast<std::size_t>(algorithms);
    std::call_once(once[i], [&] { contexts[i] = make_context(algorithms); });
    return contexts[i];
}

}  // namespace

const char* algorithms_name(Algorithms a) {
    switch (a) {
        case Algorithms::any: return "any";
        case Algorithms::ecdsa: return "ECDSA";
        case Algorithms::rsa: return "RSA";
    }
    return "any";
}

Probe probe(const std::string& address, unsigned port, const std::string& sni,
            const std::string& helo, unsigned timeout_ms, Algorithms algorithms) {
    Probe p;
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v6;
    } else {
        p.error = "not an IP address: " + address;
        return p;
    }
    Fd fd(socket(ss.ss_family, SOCK_STREAM, 0));
    if (fd.get() < 0) {
        p.error = std::string("socket: ") + std::strerror(errno);
        return p;
    }
    if (!connect_with_timeout(fd.get(), reinterpret_cast<sockaddr*>(&ss), len, timeout_ms, &p.error))
        return p;
    p.connected = true;
    // The whole session after connecting is bounded too: a server that
    // dribbles a byte now and then must not keep the check for ever.
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(3ull * timeout_ms);
    std::string reply;
    Reader in(fd.get(), deadline);
    if (in.reply(&reply) != 220) {
        p.error = "no SMTP greeting: " + clean(first_line(reply));
        return p;
    }
    if (!send_line(fd.get(), "EHLO " + helo, deadline) || in.reply(&reply) != 250) {
        p.error = "EHLO refused: " + clean(first_line(reply));
        return p;
    }
    for (std::size_t pos = 0; pos < reply.size();) {
        std::size_t nl = reply.find('\n', pos);
        std::string l = reply.substr(pos, nl - pos);
        pos = nl == std::string::npos ? reply.size() : nl + 1;
        if (l.size() >= 12 && strncasecmp(l.c_str() + 4, "STARTTLS", 8) == 0) p.starttls_offered = true;
    }
    if (!p.starttls_offered) {
        send_line(fd.get(), "QUIT", deadline);
        p.error = "STARTTLS not offered";
        return p;
    }
    if (!send_line(fd.get(), "STARTTLS", deadline) || in.reply(&reply) != 220) {
        p.error = "STARTTLS refused: " + clean(first_line(reply));
        return p;
    }
    SSL_CTX* ctx = client_context(algorithms);
    if (!ctx) {
        p.error = "cannot set up a TLS client: " + openssl_error();
        return p;
    }
    // OpenSSL writes with write(2): a peer that resets the connection would
    // raise SIGPIPE in the host process. Blocked for this thread meanwhile.
    core::SigpipeBlock no_sigpipe;
    SSL* ssl = SSL_new(ctx);
    if (!ssl) {
        p.error = "cannot set up a TLS client: " + openssl_error();
        return p;
    }
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
    SSL_set_fd(ssl, fd.get());
    int rc = 0;
    for (;;) {  // non-blocking handshake, bounded by the deadline
        rc = SSL_connect(ssl);
        if (rc == 1) break;
        int e = SSL_get_error(ssl, rc);
        if (e == SSL_ERROR_WANT_READ && wait_for(fd.get(), POLLIN, deadline)) continue;
        if (e == SSL_ERROR_WANT_WRITE && wait_for(fd.get(), POLLOUT, deadline)) continue;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            rc = -2;  // timed out
        }
        break;
    }
    if (rc != 1) {
        unsigned long e = ERR_get_error();
        char buf[256] = "handshake failed";
        if (rc == -2) std::snprintf(buf, sizeof buf, "no handshake within %u ms", 3 * timeout_ms);
        else if (e) ERR_error_string_n(e, buf, sizeof buf);
        p.error = std::string("TLS handshake failed: ") + buf;
        ERR_clear_error();
    } else {
        p.tls = true;
        p.tls_version = SSL_get_version(ssl);
        p.cipher = SSL_get_cipher_name(ssl);
        STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
        int count = chain ? sk_X509_num(chain) : 0;
        for (int i = 0; i < count; ++i) {
            if (i == static_cast<int>(kMaxChainLength)) {
                p.chain_error = "more than " + std::to_string(kMaxChainLength) + " certificates";
                break;
            }
            unsigned char* der = nullptr;
            int n = i2d_X509(sk_X509_value(chain, i), &der);
            if (n <= 0 || static_cast<std::size_t>(n) > kMaxCertificateSize) {
                OPENSSL_free(der);
                p.chain_error = "certificate " + std::to_string(i) +
                                (n <= 0 ? " does not encode" : " is over " + std::to_string(kMaxCertificateSize) + " bytes");
                break;
            }
            p.chain.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
            OPENSSL_free(der);
        }
        // QUIT and close; neither waits (the socket is non-blocking).
        std::string q = "QUIT\r\n";
        SSL_write(ssl, q.data(), static_cast<int>(q.size()));
        SSL_shutdown(ssl);
        ERR_clear_error();
    }
    SSL_free(ssl);
    return p;
}

}  // namespace danesmtp::tls
