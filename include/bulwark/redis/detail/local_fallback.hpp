#pragma once
// The per-process limiter redis_gcra decides with while Redis does not answer (failure policy
// `local`): the same GCRA per key at a share of the global rate and burst. Internal to
// redis_gcra.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/redis/redis_gcra_options.hpp"

namespace bulwark::detail {

/// A keyed gcra at options.local_share of the global rate and burst (at least 1 each), keys
/// bounded by max_local_keys. Thread-safe (keyed_limiter's shards); O(1) expected per call,
/// O(log burst) for available().
template <clock Clock>
class redis_local_fallback {
 public:
  /// What a local decision said; `slept` when it waited for capacity first.
  struct outcome {
    bool admitted = false;
    duration retry_after{};
    bool slept = false;
  };

  redis_local_fallback(const redis_gcra_options& o, const Clock& clock)
      : clock_{clock},
        burst_{shared(o).burst},
        limiter_{
            shared(o), {.max_keys = o.max_local_keys, .idle_timeout = idle_timeout(o)}, clock} {}

  /// Takes `cost` units of `key` at `now`, waiting through the clock for at most `max_wait`
  /// ns. keyed_limiter cannot reserve, so a wait sleeps until its estimate and tries again
  /// until the deadline (as limiter_base does for the windows). A cost above the local burst
  /// can never pass: refused at once, without a hint.
  outcome acquire(std::string_view key, std::uint32_t cost, time_point now, std::int64_t max_wait) {
    if (cost > burst_) return {};
    const std::string k{key};
    const std::int64_t deadline = saturating_add(to_ns(now), max_wait);
    bool slept = false;
    for (;;) {
      if (limiter_.try_acquire(k, cost, now)) return {.admitted = true, .slept = slept};
      const duration wait = limiter_.time_until_available(k, cost);
      if (wait.count() > deadline - to_ns(now)) return {.retry_after = wait, .slept = slept};
      // A zero wait after a refusal means another thread took the units in between (or the
      // caller's `now` is behind the clock the estimate read): try again, at the later time.
      clock_.sleep_for(wait);
      slept = slept || wait > duration::zero();
      now = std::max(detail::saturating_add(now, wait), clock_.now());
    }
  }

  /// How long until `key` could take `cost` units; duration::max() above the local burst.
  [[nodiscard]] duration wait(std::string_view key, std::uint32_t cost) const {
    if (cost > burst_) return duration::max();
    return limiter_.time_until_available(std::string{key}, cost);
  }

  /// The largest cost `key` could take now. keyed_limiter answers waits, not counts, and a
  /// wait grows with the cost: bisection, O(log burst) lookups.
  [[nodiscard]] std::uint64_t available(std::string_view key) const {
    const std::string k{key};
    std::uint32_t fits = 0;
    std::uint32_t does_not = burst_ + 1;
    while (does_not - fits > 1) {
      const std::uint32_t mid = fits + (does_not - fits) / 2;
      (limiter_.time_until_available(k, mid) == duration::zero() ? fits : does_not) = mid;
    }
    return fits;
  }

 private:
  static gcra_options shared(const redis_gcra_options& o) {
    const auto share = [&](std::uint64_t n) {
      return std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(std::ceil(static_cast<double>(n) * o.local_share)));
    };
    return {.rate = {share(o.rate.count), o.rate.period},
            .burst = static_cast<std::uint32_t>(share(o.burst))};
  }

  // A key idle for longer than its bucket takes to refill is full again: forgetting it is
  // exact. A key is kept at least a minute.
  static duration idle_timeout(const redis_gcra_options& o) {
    return std::max<duration>(o.rate.interval() * o.burst, std::chrono::minutes{1});
  }

  Clock clock_;
  std::uint32_t burst_;
  keyed_limiter<gcra<Clock>, std::string> limiter_;
};

}  // namespace bulwark::detail
