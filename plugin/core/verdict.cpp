// SPDX-License-Identifier: MIT
// verdict.cpp - see verdict.hpp.
#include "core/verdict.hpp"

namespace danesmtp::core {

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::authenticated: return "authenticated";
        case Outcome::not_authenticated: return "not authenticated";
        case Outcome::no_usable_records: return "no usable records";
    }
    return "unknown";
}

}  // namespace danesmtp::core
