#pragma once
// bulwark::gcra: the Generic Cell Rate Algorithm (gcra_rule) with the whole state in one 64-bit
// theoretical arrival time updated by a CAS loop.

#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/detail/cas_limiter.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"

namespace bulwark {

/// A GCRA rate limiter: `rate` on average, at most `burst` units at one instant.
///
/// It decides with gcra_rule (rules/gcra_rule.hpp): with T the emission interval and tau =
/// burst x T, a request of cost c at time t is admitted iff max(TAT, t) + c x T - t <= tau, and
/// then TAT := max(TAT, t) + c x T; a refusal's retry_after is max(TAT, t) + c x T - tau - t.
/// It starts full: `burst` units at once. A clock that goes back leaves TAT where it is, so it
/// only admits less. available() is floor((tau - max(0, TAT - t)) / T), redis-cell's
/// "remaining".
///
/// Thread-safe and lock-free: one relaxed load and one CAS per admitted call, a load per
/// refused one; the admission is counted without a second locked instruction. O(1); 128 bytes
/// (the counters' per-thread cells take a line), plus the clock (a manual_clock adds a
/// shared_ptr).
template <clock Clock = steady_clock>
class gcra : public detail::cas_limiter<gcra_rule, Clock> {
 public:
  /// Validates `options` (std::invalid_argument naming the field) and starts full.
  explicit gcra(gcra_options options, Clock clock = {})
      : detail::cas_limiter<gcra_rule, Clock>{options, std::move(clock)} {}

  /// The emission interval T: the time one unit of cost is worth.
  [[nodiscard]] duration emission_interval() const noexcept {
    return this->rule().emission_interval();
  }
};

}  // namespace bulwark
