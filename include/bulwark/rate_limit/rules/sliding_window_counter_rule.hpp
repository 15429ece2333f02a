#pragma once
// bulwark::sliding_window_counter_rule: the fixed window's count plus the previous window's,
// weighted by how much of it still overlaps the sliding window (Cloudflare's approximation), as
// a pure function of one 64-bit word. bulwark::sliding_window_counter decides with it.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark {

/// Options of bulwark::sliding_window_counter (defaults in parentheses).
struct sliding_window_counter_options {
  /// Units admitted per sliding window (100); at most 1048575 (2^20 - 1), the count's width.
  std::uint32_t limit = 100;
  /// The window's length (1s); the counted windows are aligned to the clock's epoch.
  duration window = std::chrono::seconds{1};
};

namespace detail {
inline void validate(const sliding_window_counter_options& options);
}  // namespace detail

/// The sliding-window counter as a rule. At time t, e into the current aligned window of
/// length W, the estimated count over the last W is previous x (W - e) / W + current, and a
/// request of cost c is admitted iff that estimate + c <= limit. A refusal's wait is when the
/// estimate will have room for c if no one else comes (within this window as the previous
/// one's weight decays, or in the next). The weight is computed in IEEE double arithmetic, the
/// same on every platform. It cannot reserve ahead (max_wait is ignored).
///
/// State: 24 bits of window number (serial arithmetic, so a clock that goes back keeps
/// charging the newest window, weighting its predecessor fully) and two 20-bit counts.
class sliding_window_counter_rule final {
 public:
  using state = std::uint64_t;
  using options_type = sliding_window_counter_options;
  static constexpr std::string_view component = "sliding_window_counter";
  static constexpr bool reserves = false;
  static constexpr std::uint32_t max_limit = (1u << 20) - 1;

  /// Validates `options` (std::invalid_argument naming the field).
  explicit sliding_window_counter_rule(const sliding_window_counter_options& options)
      : options_{(detail::validate(options), options)} {}

  [[nodiscard]] const sliding_window_counter_options& options() const noexcept { return options_; }

  /// For reconfigure(): the window cannot change on a live limiter, whose state numbers the
  /// windows by their length (a new length would renumber them); the limit can.
  static void check_change(const sliding_window_counter_options& was,
                           const sliding_window_counter_options& next) {
    option_check{component}.unchanged("window", was.window, next.window);
  }
  [[nodiscard]] std::uint32_t max_cost() const noexcept { return options_.limit; }
  /// Whether `cost` is in [1, max_cost()], without a division (the hot path's check).
  [[nodiscard]] bool admissible(std::uint32_t cost) const noexcept {
    return cost != 0 && cost <= options_.limit;
  }

  /// Both counts zero, in the window that contains `now`.
  [[nodiscard]] state initial(time_point now) const noexcept {
    return pack({window_of(detail::to_ns(now)), 0, 0, 0});
  }

  [[nodiscard]] rate_decision<state> decide(state word, std::uint32_t cost, time_point now,
                                            duration = {}) const noexcept {
    view v = current(word, detail::to_ns(now));
    if (!fits(v.previous, v.current + cost, v.elapsed)) {
      return {false, word, wait(word, cost, now)};
    }
    v.current += cost;
    return {true, pack(v), {}};
  }

  [[nodiscard]] duration wait(state word, std::uint32_t cost, time_point now) const noexcept {
    const view v = current(word, detail::to_ns(now));
    const std::int64_t w = options_.window.count();
    const std::int64_t here =
        decay_point(v.previous, v.current + cost, std::max<std::int64_t>(v.elapsed, 0));
    if (here < w) return duration{detail::saturating_sub(here, v.elapsed)};
    // In the next window this one's count is the previous, decaying from full weight; cost
    // <= limit, so it fits there at the latest by the window's end. Saturates: with a window
    // of duration::max() the next window is past the end of time.
    return duration{detail::saturating_add(detail::saturating_sub(w, v.elapsed),
                                           decay_point(v.current, cost, 0))};
  }

  /// floor(limit - estimate).
  [[nodiscard]] std::uint64_t available(state word, time_point now) const noexcept {
    const view v = current(word, detail::to_ns(now));
    const double left =
        static_cast<double>(options_.limit) - estimate(v.previous, v.current, v.elapsed);
    return left <= 0.0 ? 0 : static_cast<std::uint64_t>(left);
  }

 private:
  static constexpr std::uint64_t count_mask = (1u << 20) - 1;
  static constexpr std::uint32_t window_mask = (1u << 24) - 1;

  [[nodiscard]] std::int64_t window_of(std::int64_t t) const noexcept {
    return detail::floor_div(t, options_.window.count());
  }

  struct view {
    std::int64_t window;  // full window number charged
    std::uint64_t previous;
    std::uint64_t current;
    std::int64_t elapsed;  // ns into that window (negative when the clock is behind it)
  };
  static constexpr std::uint64_t pack(const view& v) noexcept {
    return (static_cast<std::uint64_t>(v.window & window_mask) << 40) | (v.previous << 20) |
           v.current;
  }
  [[nodiscard]] view current(std::uint64_t word, std::int64_t t) const noexcept {
    const std::int64_t window = window_of(t);
    const auto stored = static_cast<std::uint32_t>(word >> 40);
    // Serial-number distance mod 2^24, sign-extended from 24 bits.
    std::uint32_t diff = (static_cast<std::uint32_t>(window) - stored) & window_mask;
    const std::int32_t ahead =
        diff & 0x80'0000u ? static_cast<std::int32_t>(diff) - (1 << 24) : static_cast<int>(diff);
    const std::uint64_t previous = (word >> 20) & count_mask, counted = word & count_mask;
    const std::int64_t elapsed = t - window * options_.window.count();
    if (ahead == 0) return {window, previous, counted, elapsed};
    if (ahead == 1) return {window, counted, 0, elapsed};
    if (ahead > 1) return {window, 0, 0, elapsed};
    // The clock is behind the stored window: charge that one; the weight saturates at 1.
    const std::int64_t start = detail::saturating_mul(window - ahead, options_.window.count());
    return {window - ahead, previous, counted, detail::saturating_sub(t, start)};
  }

  // previous x (W - elapsed) / W + counted: the estimate over the last window, exactly as
  // Cloudflare computes it (counted includes the cost being asked for).
  [[nodiscard]] double estimate(std::uint64_t previous, std::uint64_t counted,
                                std::int64_t elapsed) const noexcept {
    const auto w = options_.window.count();
    elapsed = std::max<std::int64_t>(elapsed, 0);
    return static_cast<double>(previous) *
               (static_cast<double>(w - elapsed) / static_cast<double>(w)) +
           static_cast<double>(counted);
  }
  [[nodiscard]] bool fits(std::uint64_t previous, std::uint64_t counted,
                          std::int64_t elapsed) const noexcept {
    return estimate(previous, counted, elapsed) <= static_cast<double>(options_.limit);
  }

  // The first offset into a window, at or after `from`, at which fits(previous, counted, e):
  // solved in closed form, then stepped by a nanosecond or two where the double arithmetic of
  // the solution and of fits() round differently. W when it never fits within the window.
  [[nodiscard]] std::int64_t decay_point(std::uint64_t previous, std::uint64_t counted,
                                         std::int64_t from) const noexcept {
    const auto w = options_.window.count();
    if (counted > options_.limit) return w;
    const double room = static_cast<double>(options_.limit - counted);
    std::int64_t e = from;
    if (static_cast<double>(previous) > room) {
      const double solved = static_cast<double>(w) * (1.0 - room / static_cast<double>(previous));
      // For a window near duration::max(), solved may round up to 2^63, which no int64 holds.
      const double rounded = std::ceil(solved);
      e = rounded >= static_cast<double>(w) ? w : std::max(e, static_cast<std::int64_t>(rounded));
    }
    while (e < w && !fits(previous, counted, e))
      ++e;
    return std::min(e, w);
  }

  sliding_window_counter_options options_;
};

namespace detail {
inline void validate(const sliding_window_counter_options& options) {
  const option_check check{"sliding_window_counter"};
  check.in_range("limit", options.limit, std::uint32_t{1}, sliding_window_counter_rule::max_limit);
  check.positive("window", options.window);
}
}  // namespace detail

static_assert(rate_rule<sliding_window_counter_rule>);

}  // namespace bulwark
