#pragma once
// bulwark::fixed_window: at most `limit` units per aligned window (fixed_window_rule), the
// count and the window's number packed in one 64-bit word updated by a CAS loop.

#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/detail/cas_limiter.hpp"
#include "bulwark/rate_limit/rules/fixed_window_rule.hpp"

namespace bulwark {

/// A fixed-window counter: each window [k W, (k+1) W) admits up to `limit` units; the count
/// starts again at zero when a new window begins. The cheapest limiter, and the coarsest: up
/// to 2 x limit may pass within one window's length around a boundary (use
/// sliding_window_counter or sliding_window_log when that matters).
///
/// It decides with fixed_window_rule (rules/fixed_window_rule.hpp). A clock that goes back
/// into an earlier window keeps charging the newest window seen: it never starts a fresh
/// count. A limiter left idle for exactly a multiple of 2^32 windows would see its stale count
/// again, which can only refuse more, never admit more.
///
/// retry_after of a refusal is the time to the next window; available() is limit minus the
/// count of the current window. Thread-safe, lock-free (one CAS per admitted call), O(1).
template <clock Clock = steady_clock>
class fixed_window : public detail::cas_limiter<fixed_window_rule, Clock> {
 public:
  /// Validates `options` (std::invalid_argument naming the field). Reads the clock once, to
  /// number the window it starts in.
  explicit fixed_window(fixed_window_options options, Clock clock = {})
      : detail::cas_limiter<fixed_window_rule, Clock>{options, std::move(clock)} {}
};

}  // namespace bulwark
