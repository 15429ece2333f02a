#pragma once
// The second baseline of bench_rate_limit and count_rate_limit: GCRA as a user would write it by
// hand in about 30 lines, one atomic theoretical arrival time and a CAS loop, no metrics, no
// cost check, no saturation (issue 24, item 4: bulwark::gcra should stay within 1.2x of it with
// the caller's `now`).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace bench {

class plain_gcra {
 public:
  plain_gcra(std::int64_t interval_ns, std::int64_t burst)
      : interval_{interval_ns}, tau_{interval_ns * burst} {}
  bool try_acquire(std::int64_t now, std::int64_t cost = 1) {
    const std::int64_t increment = interval_ * cost;
    std::int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = std::max(tat, now) + increment;
      if (next - now > tau_) return false;
      if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return true;
    }
  }
  bool try_acquire() {
    return try_acquire(std::chrono::steady_clock::now().time_since_epoch().count());
  }

 private:
  std::int64_t interval_;
  std::int64_t tau_;
  std::atomic<std::int64_t> tat_{0};
};

}  // namespace bench
