#pragma once
// bulwark::sliding_window_counter: the fixed window's count plus the previous window's,
// weighted by how much of it still overlaps the sliding window (Cloudflare's approximation,
// sliding_window_counter_rule), packed in one 64-bit word updated by a CAS loop.

#include <cstdint>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/detail/cas_limiter.hpp"
#include "bulwark/rate_limit/rules/sliding_window_counter_rule.hpp"

namespace bulwark {

/// A sliding-window counter: at time t, e into the current aligned window of length W, the
/// estimated count over the last W is
///     previous x (W - e) / W + current,
/// and a request of cost c is admitted iff that estimate + c <= limit (Cloudflare's "counting
/// things" approximation: the previous window's requests are assumed spread evenly). It smooths
/// the fixed window's boundary burst with two counters, but it is an estimate: when the
/// previous window's traffic was bunched, the real count over some W may exceed the limit (use
/// sliding_window_log for an exact bound).
///
/// It decides with sliding_window_counter_rule (rules/sliding_window_counter_rule.hpp).
/// retry_after of a refusal is when the estimate will have room for c if no one else comes;
/// available() is floor(limit - estimate). A clock that goes back keeps charging the newest
/// window, weighting its predecessor fully: it refuses more, never admits more.
/// Thread-safe, lock-free (one CAS per admitted call), O(1).
template <clock Clock = steady_clock>
class sliding_window_counter : public detail::cas_limiter<sliding_window_counter_rule, Clock> {
 public:
  static constexpr std::uint32_t max_limit = sliding_window_counter_rule::max_limit;

  /// Validates `options` (std::invalid_argument naming the field). Reads the clock once, to
  /// number the window it starts in.
  explicit sliding_window_counter(sliding_window_counter_options options, Clock clock = {})
      : detail::cas_limiter<sliding_window_counter_rule, Clock>{options, std::move(clock)} {}
};

}  // namespace bulwark
