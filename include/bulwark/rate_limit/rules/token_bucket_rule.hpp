#pragma once
// bulwark::token_bucket_rule: a continuously refilled bucket of tokens as a pure function of
// one 64-bit "zero time" (the instant the bucket would have been empty, folly's TokenBucket
// representation). bulwark::token_bucket and the keyed limiter decide with it.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/paced_rule.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark {

/// Options of bulwark::token_bucket (defaults in parentheses).
struct token_bucket_options {
  /// The refill rate (100/s): one token every period / count, in whole nanoseconds.
  bulwark::rate rate = per_second(100);
  /// The most tokens the bucket holds (100), and so the largest cost it can ever admit.
  std::uint32_t capacity = 100;
};

namespace detail {
inline void validate(const token_bucket_options& options) {
  validate_paced<&token_bucket_options::capacity>("token_bucket", "capacity", options);
}
}  // namespace detail

/// The token bucket as a rule. State: Z, the time at which the bucket would hold zero tokens.
/// With T = rate.interval() and C = capacity, the bucket holds min(C, (t - Z) / T) tokens at
/// time t; taking c tokens sets Z := max(Z, t - C x T) + c x T (refill first: a bucket full
/// for a while is full, not fuller), allowed iff the result is <= t. A refused request could
/// succeed at max(Z, t - C x T) + c x T; a reservation lets Z run ahead of t (tokens owed),
/// and a later caller waits for them. The initial Z is far in the past: the bucket starts full.
/// A clock that goes back adds no tokens (Z stays put).
///
/// The same decision as gcra_rule with burst = capacity (Z is GCRA's TAT - tau); available()
/// counts whole tokens, floor((t - max(Z, t - C x T)) / T).
class token_bucket_rule final : public detail::paced_rule<&token_bucket_options::capacity> {
 public:
  static constexpr std::string_view component = "token_bucket";

  /// Validates `options` (std::invalid_argument naming the field, as bulwark::token_bucket).
  explicit token_bucket_rule(const token_bucket_options& options)
      : paced_rule{(detail::validate(options), options)} {}

  [[nodiscard]] rate_decision<state> decide(state zero, std::uint32_t cost, time_point now,
                                            duration max_wait = {}) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t next = spent(zero, cost, t);
    if (next <= t) return {true, next, {}};
    if (next - t > max_wait.count()) return {false, zero, duration{next - t}};
    return {true, next, duration{next - t}};
  }

  [[nodiscard]] duration wait(state zero, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    return duration{std::max<std::int64_t>(spent(zero, cost, t) - t, 0)};
  }

  [[nodiscard]] std::uint64_t available(state zero, time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t z = std::max(zero, detail::saturating_sub(t, depth_));
    return z >= t ? 0 : static_cast<std::uint64_t>((t - z) / interval_);
  }

  /// Whether the bucket is full at `now`, as in the initial state: Z <= t - C x T.
  [[nodiscard]] bool recovered(state zero, time_point now) const noexcept {
    return zero <= detail::saturating_sub(detail::to_ns(now), depth_);
  }

 private:
  // The zero time after taking `cost` tokens at t.
  [[nodiscard]] std::int64_t spent(std::int64_t zero, std::uint32_t cost,
                                   std::int64_t t) const noexcept {
    return detail::saturating_add(std::max(zero, detail::saturating_sub(t, depth_)),
                                  detail::saturating_mul(interval_, std::int64_t{cost}));
  }
};

static_assert(rate_rule<token_bucket_rule>);

}  // namespace bulwark
