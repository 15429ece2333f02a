#pragma once
// bulwark::smooth_warmup: Guava's RateLimiter.create(permitsPerSecond, warmupPeriod)
// (SmoothRateLimiter.SmoothWarmingUp), re-derived from its published description: a limiter
// that starts cold and reaches its stable rate over a warm-up period, for backends that need
// to fill caches or connection pools before taking full load.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// Options of bulwark::smooth_warmup (defaults in parentheses).
struct smooth_warmup_options {
  /// The stable rate once warm (100/s).
  bulwark::rate rate = per_second(100);
  /// How long it takes to go from cold to the stable rate under saturating demand (1s).
  duration warmup_period = std::chrono::seconds{1};
  /// The interval when cold is cold_factor x the stable one (3, Guava's fixed value).
  double cold_factor = 3.0;
};

namespace detail {
inline void validate(const smooth_warmup_options& options) {
  const option_check check{"smooth_warmup"};
  detail::check_rate(check, "rate", options.rate);
  check.positive("warmup_period", options.warmup_period);
  check.that(options.cold_factor >= 1.0 && options.cold_factor <= 1e6, "cold_factor",
             "in [1, 1000000]", options.cold_factor);
}
}  // namespace detail

/// A warming-up limiter with Guava's SmoothWarmingUp semantics. With stable interval s =
/// period / count (as a double, in ns), warm-up W and cold interval c = cold_factor x s:
///
///   threshold = 0.5 x W / s,   max_permits = threshold + 2 x W / (s + c),
///   slope = (c - s) / (max_permits - threshold).
///
/// It stores up to max_permits idle "permits"; spending a stored permit above the threshold
/// costs an interval on the line from s (at the threshold) to c (at max_permits), below it s,
/// and a fresh permit costs s. Idle time stores permits back at one per W / max_permits. **It
/// starts cold** (max_permits stored), as Guava's does, so the first requests after start or
/// after an idle spell are spaced c apart, easing to s over W.
///
/// Guava's pay-later rule holds: a request is admitted iff the next free time N <= t, and its
/// own cost moves N forward, so that the *next* request waits for it. Hence any cost can be
/// admitted (max cost 2^32 - 1), and time_until_available(c) = max(N - t, 0) whatever c.
/// available() is the stored permits (whole), 0 while N > t. A clock that goes back stores
/// nothing (idle time counts only past N) and only delays.
///
/// Thread-safe under a std::mutex, as Guava's is synchronized: the state is two coupled
/// quantities (stored permits and N) that no 64-bit word holds, and a 16-byte CAS is not
/// lock-free in libstdc++ without -mcx16. O(1).
template <clock Clock = steady_clock>
class smooth_warmup : public detail::limiter_base<smooth_warmup<Clock>, Clock> {
  using base = detail::limiter_base<smooth_warmup<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field); reads the clock once, and
  /// starts cold.
  explicit smooth_warmup(smooth_warmup_options options, Clock clock = {})
      : base{std::move(clock)}, options_{(detail::validate(options), options)} {
    stable_ = std::chrono::duration<double, std::nano>(options_.rate.period).count() /
              static_cast<double>(options_.rate.count);
    const double warmup = std::chrono::duration<double, std::nano>(options_.warmup_period).count();
    const double cold = stable_ * options_.cold_factor;
    threshold_ = 0.5 * warmup / stable_;
    max_permits_ = threshold_ + 2.0 * warmup / (stable_ + cold);
    slope_ = (cold - stable_) / (max_permits_ - threshold_);
    cool_down_ = warmup / max_permits_;
    stored_ = max_permits_;
    next_free_ = detail::to_ns(this->clock_.now());
  }

  [[nodiscard]] const smooth_warmup_options& options() const noexcept { return options_; }

  /// Guava's maxPermits: the permits stored when cold.
  [[nodiscard]] double max_permits() const noexcept { return max_permits_; }

 private:
  static constexpr std::string_view component = "smooth_warmup";
  static constexpr bool reserves = true;
  static constexpr bool execute_waits = false;

  [[nodiscard]] std::uint64_t max_cost() const noexcept {
    return std::numeric_limits<std::uint32_t>::max();
  }

  // Guava's permitsToTime: the interval of the permit `permits` above the threshold.
  [[nodiscard]] double permits_to_time(double permits) const noexcept {
    return stable_ + permits * slope_;
  }

  // Guava's storedPermitsToWaitTime: the area under the interval line for the permits taken
  // from storage (a trapezoid above the threshold, a rectangle below it).
  [[nodiscard]] double stored_wait(double stored, double take) const noexcept {
    const double above = stored - threshold_;
    double wait = 0.0;
    if (above > 0.0) {
      const double from_above = std::min(above, take);
      wait = from_above * (permits_to_time(above) + permits_to_time(above - from_above)) / 2.0;
      take -= from_above;
    }
    return wait + stable_ * take;
  }

  // Guava's resync: idle time after the next free time stores permits.
  void resync(std::int64_t now) noexcept {
    if (now > next_free_) {
      stored_ = std::min(
          max_permits_,
          stored_ + static_cast<double>(detail::saturating_sub(now, next_free_)) / cool_down_);
      next_free_ = now;
    }
  }

  // Guava's reserveEarliestAvailable + canAcquire: admitted iff N - max_wait <= now; the
  // returned wait is N - now (what this caller waits), and N moves by this request's cost.
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) {
    const std::lock_guard lock{mutex_};
    if (detail::saturating_sub(next_free_, now) > max_wait) return -1;
    resync(now);
    const std::int64_t wait = std::max<std::int64_t>(detail::saturating_sub(next_free_, now), 0);
    const double take = std::min(static_cast<double>(cost), stored_);
    const double fresh = static_cast<double>(cost) - take;
    const double delay = stored_wait(stored_, take) + fresh * stable_;
    // Guava truncates the double wait to whole microseconds; here to whole nanoseconds, and
    // saturates as Guava's saturatedAdd does (also for a clock far before its epoch, where
    // max - next_free_ itself overflowed and let every call through).
    constexpr auto most = std::numeric_limits<std::int64_t>::max();
    const std::int64_t step =
        delay >= static_cast<double>(most) ? most : static_cast<std::int64_t>(delay);
    next_free_ = detail::saturating_add(next_free_, step);
    stored_ -= take;
    return wait;
  }

  bool admit(std::uint32_t cost, std::int64_t now) { return reserve(cost, now, 0) == 0; }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t, std::int64_t now) const {
    const std::lock_guard lock{mutex_};
    return std::max<std::int64_t>(detail::saturating_sub(next_free_, now), 0);
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const {
    const std::lock_guard lock{mutex_};
    if (now < next_free_) return 0;
    const double stored = std::min(
        max_permits_,
        stored_ + static_cast<double>(detail::saturating_sub(now, next_free_)) / cool_down_);
    return static_cast<std::uint64_t>(stored);
  }

  smooth_warmup_options options_;
  double stable_ = 0.0;       // stable interval, ns
  double threshold_ = 0.0;    // thresholdPermits
  double max_permits_ = 0.0;  // maxPermits
  double slope_ = 0.0;
  double cool_down_ = 0.0;  // ns of idle time per stored permit: warmup / max_permits
  mutable std::mutex mutex_;
  double stored_ = 0.0;         // storedPermits (guarded by mutex_)
  std::int64_t next_free_ = 0;  // nextFreeTicket, ns (guarded by mutex_)
};

}  // namespace bulwark
