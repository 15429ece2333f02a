#pragma once
// bulwark::gcra: the Generic Cell Rate Algorithm, virtual scheduling form (ITU-T I.371,
// Annex A; the form governor and redis-cell implement), with the whole state in one 64-bit
// theoretical arrival time updated by a CAS loop.

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

/// Options of bulwark::gcra (defaults in parentheses).
struct gcra_options {
  /// The sustained rate (100/s); its emission interval T = period / count, in whole ns.
  bulwark::rate rate = per_second(100);
  /// How many unit requests may be admitted at the same instant (1). governor's
  /// `Quota::allow_burst(max_burst)` is burst = max_burst; redis-cell's `CL.THROTTLE key
  /// max_burst ...` admits max_burst + 1 at once, so it is burst = max_burst + 1.
  std::uint32_t burst = 1;
};

/// A GCRA rate limiter: `rate` on average, at most `burst` units at one instant.
///
/// State: one theoretical arrival time TAT (ns). With T the emission interval and
/// tau = burst x T, a request of cost c at time t is admitted iff
///     max(TAT, t) + c x T - t <= tau,
/// and then TAT := max(TAT, t) + c x T. Otherwise it is refused and TAT is unchanged; it would
/// be admitted at max(TAT, t) + c x T - tau (its retry_after). This is governor's test
/// (`earliest_time = tat - tau`, with governor's TAT one T later than ours) and redis-cell's
/// (`allow_at = new_tat - dvt`, dvt = (max_burst + 1) x T). It starts full: `burst` units at
/// once. A clock that goes back leaves TAT where it is, so it only admits less.
///
/// available() is floor((tau - max(0, TAT - t)) / T), redis-cell's "remaining".
/// Thread-safe and lock-free: one relaxed load and one CAS per admitted call, a load per
/// refused one. O(1); 64 bytes, plus the clock (a manual_clock adds a shared_ptr).
template <clock Clock = steady_clock>
class gcra : public detail::limiter_base<gcra<Clock>, Clock> {
  using base = detail::limiter_base<gcra<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field) and starts full.
  explicit gcra(gcra_options options, Clock clock = {})
      : base{std::move(clock)},
        interval_{validated(options).rate.interval().count()},
        tau_{interval_ * static_cast<std::int64_t>(options.burst)},
        rate_{options.rate} {}

  /// The options it was built with.
  [[nodiscard]] gcra_options options() const noexcept {
    return {rate_, static_cast<std::uint32_t>(tau_ / interval_)};
  }

  /// The emission interval T: the time one unit of cost is worth.
  [[nodiscard]] duration emission_interval() const noexcept { return duration{interval_}; }

 private:
  static constexpr std::string_view component = "gcra";
  static constexpr bool reserves = true;
  static constexpr bool execute_waits = false;

  static const gcra_options& validated(const gcra_options& options) {
    const option_check check{component};
    detail::check_rate(check, "rate", options.rate);
    check.at_least("burst", options.burst, std::uint32_t{1});
    detail::check_span(check, "burst", options.burst, options.rate.interval());
    return options;
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept {
    return static_cast<std::uint64_t>(tau_ / interval_);
  }

  // Relaxed ordering throughout: the decision depends on this one word only, and every CAS on
  // it is a read-modify-write in its single modification order, so no two callers can spend
  // the same capacity whatever the ordering. The limiter publishes no other memory, so there is
  // nothing for acquire/release to order.
  //
  // The sums saturate: tau may be up to 2^62 ns, so TAT (up to now + tau) plus an increment
  // (up to tau) passes 2^63 with a clock a few days past its epoch; wrapped, it would look
  // like the far past and admit everything. A saturated TAT only ever refuses more.
  bool admit(std::uint32_t cost, std::int64_t now) noexcept {
    const std::int64_t increment = interval_ * cost;
    std::int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      if (backlog(tat, now) > tau_ - increment) return false;  // refused without a write
      const std::int64_t next = detail::saturating_add(std::max(tat, now), increment);
      if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // Reserving ahead (try_acquire_for) moves TAT as an admission at the reserved time would:
  // at t' = now + wait, max(TAT, t') = TAT because wait > 0 only when TAT > t' (c x T <= tau).
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) noexcept {
    const std::int64_t increment = interval_ * cost;
    std::int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = detail::saturating_add(std::max(tat, now), increment);
      const std::int64_t wait = std::max<std::int64_t>(backlog(tat, now) - (tau_ - increment), 0);
      if (wait > max_wait) return -1;
      if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
        return wait;
      }
    }
  }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const noexcept {
    const std::int64_t tat = tat_.load(std::memory_order_relaxed);
    return std::max<std::int64_t>(backlog(tat, now) - (tau_ - interval_ * cost), 0);
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    const std::int64_t ahead = backlog(tat_.load(std::memory_order_relaxed), now);
    return ahead >= tau_ ? 0 : static_cast<std::uint64_t>((tau_ - ahead) / interval_);
  }

  // max(TAT, now) - now, saturating (a clock that jumped back by centuries leaves TAT that far
  // ahead). The tests compare it with tau - c x T (>= 0, as c <= burst) rather than add c x T.
  [[nodiscard]] static std::int64_t backlog(std::int64_t tat, std::int64_t now) noexcept {
    return tat <= now ? 0 : detail::saturating_sub(tat, now);
  }

  // The hot fields first: with the base's counters they fill one 64-byte line.
  std::int64_t interval_;  // T, ns
  std::int64_t tau_;       // burst x T, ns
  // "Never": max(TAT, now) is now for any clock reading, so the limiter starts full.
  std::atomic<std::int64_t> tat_{std::numeric_limits<std::int64_t>::min()};
  bulwark::rate rate_;
};

}  // namespace bulwark
