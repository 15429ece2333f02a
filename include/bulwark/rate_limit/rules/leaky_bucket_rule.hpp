#pragma once
// bulwark::leaky_bucket_rule: a bounded queue released at a steady rate, as a pure function of
// one 64-bit time (when the queue will have drained). bulwark::leaky_bucket decides with it.

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

/// Options of bulwark::leaky_bucket (defaults in parentheses).
struct leaky_bucket_options {
  /// The leak rate (100/s): a unit leaves the bucket every period / count, in whole ns.
  bulwark::rate rate = per_second(100);
  /// The bucket's size in units (10): the request being released plus those waiting behind
  /// it. nginx's `limit_req burst=b` (without nodelay) is capacity = b + 1. Also the largest
  /// cost.
  std::uint32_t capacity = 10;
};

namespace detail {
inline void validate(const leaky_bucket_options& options) {
  validate_paced<&leaky_bucket_options::capacity>("leaky_bucket", "capacity", options);
}
}  // namespace detail

/// The leaky bucket (as a queue) as a rule. State: D, the time the bucket will have drained. A
/// request of cost c arriving at t starts leaving at s = max(D, t) and takes c x T; the bucket
/// then holds (s - t) / T + c units. If that exceeds `capacity`, or s - t exceeds max_wait, it
/// is refused; otherwise D := s + c x T and the caller is released at s (decision.wait = s - t,
/// also for a refusal). The initial D is "never": the bucket starts empty. A clock that goes
/// back leaves D where it is, which lengthens waits and never shortens them.
class leaky_bucket_rule final : public detail::paced_rule<&leaky_bucket_options::capacity> {
 public:
  static constexpr std::string_view component = "leaky_bucket";
  /// A shaper: execute() queues for its turn rather than refusing at once.
  static constexpr bool queues = true;

  /// Validates `options` (std::invalid_argument naming the field, as bulwark::leaky_bucket).
  explicit leaky_bucket_rule(const leaky_bucket_options& options)
      : paced_rule{(detail::validate(options), options)} {}

  [[nodiscard]] rate_decision<state> decide(state drained, std::uint32_t cost, time_point now,
                                            duration max_wait = {}) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t increment = interval_ * cost;
    const std::int64_t start = std::max(drained, t);
    const std::int64_t wait = start - t;
    if (wait + increment > depth_ || wait > max_wait.count()) {
      return {false, drained, duration{wait}};
    }
    return {true, start + increment, duration{wait}};
  }

  /// max(D - t, 0): the wait before a request needing no queue is admitted.
  [[nodiscard]] duration wait(state drained, std::uint32_t, time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    return duration{std::max(drained, t) - t};
  }

  /// How long until the bucket has room for `cost` (a full queue's retry_after).
  [[nodiscard]] duration queue_wait(state drained, std::uint32_t cost,
                                    time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t backlog = std::max(drained, t) - t;
    return duration{std::max<std::int64_t>(backlog + interval_ * cost - depth_, 0)};
  }

  /// The room left in the bucket, floor(capacity - (D - t) / T).
  [[nodiscard]] std::uint64_t available(state drained, time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t backlog = std::max(drained, t) - t;
    return backlog >= depth_ ? 0 : static_cast<std::uint64_t>((depth_ - backlog) / interval_);
  }
};

static_assert(rate_rule<leaky_bucket_rule>);

}  // namespace bulwark
