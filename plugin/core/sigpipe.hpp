// SPDX-License-Identifier: MIT
// sigpipe.hpp - SigpipeBlock: SIGPIPE blocked in the calling thread for a
// scope, for code that writes to pipes or sockets through a library that
// uses write(2) (libunbound's pipes, OpenSSL's socket BIO). A write to a
// broken pipe raises SIGPIPE in the writing thread, so blocking it there is
// enough, and a host process (an MTA) keeps its own SIGPIPE disposition.
#pragma once

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace danesmtp::core {

// SigpipeBlock - SIGPIPE blocked in this thread for the object's life; a
// SIGPIPE raised meanwhile is taken off the pending set before
// the old mask comes back. (A write to a broken pipe raises SIGPIPE in the
// writing thread, so blocking it here is enough.)
class SigpipeBlock {
public:
    SigpipeBlock() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeBlock() {
        if (!was_pending_) {
            sigset_t pending;
            sigemptyset(&pending);
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                timespec zero{0, 0};
                while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
                }
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
    sigset_t pipe_, old_;
    bool was_pending_ = false;
};

}  // namespace danesmtp::core
