#pragma once
// bulwark::leaky_bucket: a shaper. Callers queue in a bounded bucket and are released one
// after another at the leak rate; a request that would overflow the bucket is refused at once.
// The queue is virtual: one 64-bit time (when the bucket will have drained) and a CAS loop.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

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

/// A leaky bucket as a queue: requests leave it evenly spaced, one unit every T =
/// rate.interval(), with no burst; the bucket absorbs bursts by delaying them.
///
/// State: D, the time the bucket will have drained. A request of cost c arriving at t starts
/// leaving at s = max(D, t) and takes c x T; the bucket then holds (s - t) / T + c units. If
/// that exceeds `capacity`, the request is refused at once (the queue is full); otherwise
/// D := s + c x T and the caller is released at s (it has waited s - t). A clock that goes back
/// leaves D where it is, which lengthens waits and never shortens them.
///
/// - try_acquire(c) admits only a request that needs no wait (D <= t): pure spacing.
/// - try_acquire_for(c, timeout) joins the queue if it has room and s - t <= timeout, then
///   sleeps through the clock until s.
/// - execute(f) joins the queue and waits its turn; a full queue throws rate_limited with
///   retry_after = when the bucket will have room.
/// - time_until_available(c) is max(D - t, 0): the wait before a try_acquire(c) succeeds.
/// - available() is the room left in the bucket, floor(capacity - (D - t) / T).
///
/// Thread-safe and lock-free (one CAS per admitted call; a waiting caller sleeps outside it).
template <clock Clock = steady_clock>
class leaky_bucket : public detail::limiter_base<leaky_bucket<Clock>, Clock> {
  using base = detail::limiter_base<leaky_bucket<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field); the bucket starts empty.
  explicit leaky_bucket(leaky_bucket_options options, Clock clock = {})
      : base{std::move(clock)},
        interval_{validated(options).rate.interval().count()},
        depth_{interval_ * static_cast<std::int64_t>(options.capacity)},
        rate_{options.rate} {}

  /// The options it was built with.
  [[nodiscard]] leaky_bucket_options options() const noexcept {
    return {rate_, static_cast<std::uint32_t>(depth_ / interval_)};
  }

 private:
  static constexpr std::string_view component = "leaky_bucket";
  static constexpr bool reserves = true;
  static constexpr bool execute_waits = true;

  static const leaky_bucket_options& validated(const leaky_bucket_options& options) {
    const option_check check{component};
    detail::check_rate(check, "rate", options.rate);
    check.at_least("capacity", options.capacity, std::uint32_t{1});
    detail::check_span(check, "capacity", options.capacity, options.rate.interval());
    return options;
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept {
    return static_cast<std::uint64_t>(depth_ / interval_);
  }

  // Joins the queue if the bucket has room for `cost` and the wait is at most max_wait.
  // Relaxed ordering: the decision is this one word's, and the CAS serialises the callers.
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) noexcept {
    const std::int64_t increment = interval_ * cost;
    std::int64_t drained = drained_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t start = std::max(drained, now);
      const std::int64_t wait = start - now;
      if (wait + increment > depth_ || wait > max_wait) return -1;
      if (drained_.compare_exchange_weak(drained, start + increment, std::memory_order_relaxed,
                                         std::memory_order_relaxed)) {
        return wait;
      }
    }
  }

  bool admit(std::uint32_t cost, std::int64_t now) noexcept { return reserve(cost, now, 0) == 0; }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t, std::int64_t now) const noexcept {
    return std::max(drained_.load(std::memory_order_relaxed), now) - now;
  }

  // How long until the bucket has room for `cost` (a refusal's retry_after in execute).
  [[nodiscard]] std::int64_t queue_wait_ns(std::uint32_t cost, std::int64_t now) const noexcept {
    const std::int64_t backlog = std::max(drained_.load(std::memory_order_relaxed), now) - now;
    return std::max<std::int64_t>(backlog + interval_ * cost - depth_, 0);
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    const std::int64_t backlog = std::max(drained_.load(std::memory_order_relaxed), now) - now;
    return backlog >= depth_ ? 0 : static_cast<std::uint64_t>((depth_ - backlog) / interval_);
  }

  std::int64_t interval_;  // T, ns per unit
  std::int64_t depth_;     // capacity x T, ns
  std::atomic<std::int64_t> drained_{std::numeric_limits<std::int64_t>::min()};
  bulwark::rate rate_;
};

}  // namespace bulwark
