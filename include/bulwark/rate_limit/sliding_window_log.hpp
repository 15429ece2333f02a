#pragma once
// bulwark::sliding_window_log: the exact sliding window. It remembers the times of the last
// `limit` admitted units, so in no window of length W are more than `limit` admitted.

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// Options of bulwark::sliding_window_log (defaults in parentheses).
struct sliding_window_log_options {
  /// Units admitted in any window of length `window` (100); also the largest cost. Memory is
  /// 8 bytes per unit of limit.
  std::uint32_t limit = 100;
  /// The window's length (1s).
  duration window = std::chrono::seconds{1};
};

namespace detail {
inline void validate(const sliding_window_log_options& options) {
  validate_windowed("sliding_window_log", options);
}
}  // namespace detail

/// An exact sliding-window limiter: in no half-open interval [t, t + W) of the clock's time
/// are more than `limit` units admitted. None of the anchors offers this bound: windows and
/// counters approximate it.
///
/// It keeps a ring of the admission times of the last `limit` units (a unit of a cost-c
/// request is c entries), oldest first. A request of cost c at time t is admitted iff fewer
/// than limit - c + 1 of them lie in (t - W, t], that is iff the (limit - c + 1)-th newest entry
/// is at or before t - W (or does not exist); it then records c entries at t. A refused request
/// could succeed when that entry leaves the window: retry_after = entry + W - t. available()
/// is limit minus the entries within the window.
///
/// A clock that goes back is read as the newest recorded time (entries stay in order), so
/// readings out of order never let more than `limit` into a window of the recorded times.
///
/// Thread-safe, under a std::mutex (the decision reads one of `limit` entries and may write
/// several). try_acquire is O(cost); available() is O(log limit). Memory: 8 x limit bytes.
template <clock Clock = steady_clock>
class sliding_window_log : public detail::limiter_base<sliding_window_log<Clock>, Clock> {
  using base = detail::limiter_base<sliding_window_log<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field); allocates the ring.
  explicit sliding_window_log(sliding_window_log_options options, Clock clock = {})
      : base{std::move(clock)},
        options_{(detail::validate(options), options)},
        ring_(options.limit) {}

  [[nodiscard]] const sliding_window_log_options& options() const noexcept { return options_; }

 private:
  static constexpr std::string_view component = "sliding_window_log";
  static constexpr bool reserves = false;
  static constexpr bool execute_waits = false;

  [[nodiscard]] std::uint64_t max_cost() const noexcept { return options_.limit; }

  // The k-th newest entry, k in [1, size_]. Caller holds the mutex.
  [[nodiscard]] std::int64_t newest(std::size_t k) const noexcept {
    return ring_[(next_ + ring_.size() - k) % ring_.size()];
  }

  // The time the (limit - cost + 1)-th newest entry leaves the window, or 0 when it is out
  // already or there is none: how long until `cost` fits. Caller holds the mutex.
  [[nodiscard]] std::int64_t blocked_for(std::uint32_t cost, std::int64_t now) const noexcept {
    const std::size_t k = options_.limit - cost + 1;
    if (k > size_) return 0;
    // newest(k) <= now: the sum stays in range, also for a window of duration::max().
    const std::int64_t age = detail::saturating_sub(now, newest(k));
    return std::max<std::int64_t>(options_.window.count() - age, 0);
  }

  // Readings behind the newest entry count as the newest entry's time.
  [[nodiscard]] std::int64_t effective(std::int64_t now) const noexcept {
    return size_ == 0 ? now : std::max(now, newest(1));
  }

  bool admit(std::uint32_t cost, std::int64_t now) {
    const std::lock_guard lock{mutex_};
    now = effective(now);
    if (blocked_for(cost, now) > 0) return false;
    for (std::uint32_t i = 0; i < cost; ++i) {
      ring_[next_] = now;
      next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
    }
    size_ = std::min<std::size_t>(size_ + cost, ring_.size());
    return true;
  }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const {
    const std::lock_guard lock{mutex_};
    const std::int64_t at = effective(now);
    const std::int64_t blocked = blocked_for(cost, at);
    return blocked == 0 ? 0 : detail::saturating_add(blocked, detail::saturating_sub(at, now));
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const {
    const std::lock_guard lock{mutex_};
    now = effective(now);
    // Entries are in time order: binary search for the newest k still in the window.
    std::size_t lo = 0, hi = size_;  // entries newest(1..lo) are in the window
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo + 1) / 2;
      if (detail::saturating_sub(now, newest(mid)) < options_.window.count()) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return options_.limit - lo;
  }

  sliding_window_log_options options_;
  mutable std::mutex mutex_;
  std::vector<std::int64_t> ring_;  // the last `limit` unit admission times, a ring
  std::size_t next_ = 0;            // where the next entry goes (the oldest, once full)
  std::size_t size_ = 0;            // entries recorded, at most limit
};

}  // namespace bulwark
