#pragma once
// bulwark::token_bucket: a bucket of `capacity` tokens refilled continuously at `rate`, kept
// as one 64-bit "zero time" (the instant the bucket would have been empty, folly's
// TokenBucket representation) updated by a CAS loop.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// Options of bulwark::token_bucket (defaults in parentheses).
struct token_bucket_options {
  /// The refill rate (100/s): one token every period / count, in whole nanoseconds.
  bulwark::rate rate = per_second(100);
  /// The most tokens the bucket holds (100), and so the largest cost it can ever admit.
  std::uint32_t capacity = 100;
};

/// A token bucket: holds up to `capacity` tokens, gains one every rate.interval() (refilled
/// continuously, as Envoy's TokenBucketImpl and folly's TokenBucket do, not in steps), and a
/// request of cost c takes c tokens or is refused. **It starts full**: `capacity` tokens at
/// construction, as Envoy's and folly's do.
///
/// State: Z, the time at which the bucket would hold zero tokens. With T = rate.interval()
/// and C = capacity, the bucket holds min(C, (t - Z) / T) tokens at time t; taking c tokens
/// sets Z := max(Z, t - C x T) + c x T, allowed iff the result is <= t. A refused request
/// could succeed at max(Z, t - C x T) + c x T (its retry_after). A clock that goes back adds
/// no tokens (Z stays put).
///
/// This is the same decision as gcra with burst = capacity (ITU-T I.371 shows the leaky
/// bucket and GCRA equivalent; Z is GCRA's TAT - tau); the difference is the vocabulary
/// (tokens, capacity) and available(), which counts whole tokens: floor((t - max(Z, t - C x
/// T)) / T).
///
/// Thread-safe and lock-free: one relaxed load and one CAS per admitted call. O(1).
template <clock Clock = steady_clock>
class token_bucket : public detail::limiter_base<token_bucket<Clock>, Clock> {
  using base = detail::limiter_base<token_bucket<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field); the bucket starts full.
  explicit token_bucket(token_bucket_options options, Clock clock = {})
      : base{std::move(clock)},
        interval_{validated(options).rate.interval().count()},
        depth_{interval_ * static_cast<std::int64_t>(options.capacity)},
        rate_{options.rate} {}

  /// The options it was built with.
  [[nodiscard]] token_bucket_options options() const noexcept {
    return {rate_, static_cast<std::uint32_t>(depth_ / interval_)};
  }

 private:
  static constexpr std::string_view component = "token_bucket";
  static constexpr bool reserves = true;
  static constexpr bool execute_waits = false;

  static const token_bucket_options& validated(const token_bucket_options& options) {
    const option_check check{component};
    detail::check_rate(check, "rate", options.rate);
    check.at_least("capacity", options.capacity, std::uint32_t{1});
    detail::check_span(check, "capacity", options.capacity, options.rate.interval());
    return options;
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept {
    return static_cast<std::uint64_t>(depth_ / interval_);
  }

  // The zero time after taking `cost` tokens at `now`: refill first (a bucket that has been
  // full for a while is full, not fuller), then spend.
  [[nodiscard]] std::int64_t spent(std::int64_t zero, std::uint32_t cost,
                                   std::int64_t now) const noexcept {
    return detail::saturating_add(std::max(zero, detail::saturating_sub(now, depth_)),
                                  detail::saturating_mul(interval_, std::int64_t{cost}));
  }

  // Relaxed ordering: as in gcra, the decision reads and writes this one word only, and the
  // CAS keeps two callers from spending the same tokens in any memory order.
  bool admit(std::uint32_t cost, std::int64_t now) noexcept {
    std::int64_t zero = zero_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = spent(zero, cost, now);
      if (next > now) return false;
      if (zero_.compare_exchange_weak(zero, next, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // A reservation lets Z run ahead of now (tokens owed); a later caller then waits for them.
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) noexcept {
    std::int64_t zero = zero_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = spent(zero, cost, now);
      const std::int64_t wait = std::max<std::int64_t>(next - now, 0);
      if (wait > max_wait) return -1;
      if (zero_.compare_exchange_weak(zero, next, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        return wait;
      }
    }
  }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const noexcept {
    return std::max<std::int64_t>(spent(zero_.load(std::memory_order_relaxed), cost, now) - now, 0);
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    const std::int64_t zero =
        std::max(zero_.load(std::memory_order_relaxed), detail::saturating_sub(now, depth_));
    return zero >= now ? 0 : static_cast<std::uint64_t>((now - zero) / interval_);
  }

  std::int64_t interval_;  // T, ns per token
  std::int64_t depth_;     // capacity x T, ns
  // Far in the past: the bucket starts full. now - depth_ > min for any clock reading that is
  // at least max_span_ns after the lowest time point, which every real clock is.
  std::atomic<std::int64_t> zero_{std::numeric_limits<std::int64_t>::min()};
  bulwark::rate rate_;
};

}  // namespace bulwark
