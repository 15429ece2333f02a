#pragma once
// bulwark::fixed_window_rule: at most `limit` units per aligned window, as a pure function of
// one 64-bit word holding the window's number and its count. bulwark::fixed_window decides
// with it.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark {

/// Options of bulwark::fixed_window (defaults in parentheses).
struct fixed_window_options {
  /// Units admitted per window (100); also the largest cost.
  std::uint32_t limit = 100;
  /// The window's length (1s). Windows are aligned to the clock's epoch: [k W, (k+1) W).
  duration window = std::chrono::seconds{1};
};

namespace detail {
inline void validate(const fixed_window_options& options) {
  const option_check check{"fixed_window"};
  check.at_least("limit", options.limit, std::uint32_t{1});
  check.positive("window", options.window);
}
}  // namespace detail

/// The fixed window as a rule. State: the window number mod 2^32 (high half) and the count
/// (low half). A request of cost c at t, in window k = floor(t / W), is admitted iff the count
/// of k plus c is at most `limit` (a window newer than the stored one starts at zero). Window
/// numbers compare by serial-number arithmetic (RFC 1982), so a clock that goes back into an
/// earlier window keeps charging the newest window seen. A refusal's wait is the time to the
/// next window. It cannot reserve ahead (max_wait is ignored).
class fixed_window_rule final {
 public:
  using state = std::uint64_t;
  using options_type = fixed_window_options;
  static constexpr std::string_view component = "fixed_window";
  static constexpr bool reserves = false;

  /// Validates `options` (std::invalid_argument naming the field, as bulwark::fixed_window).
  explicit fixed_window_rule(const fixed_window_options& options)
      : options_{(detail::validate(options), options)} {}

  [[nodiscard]] const fixed_window_options& options() const noexcept { return options_; }

  /// For reconfigure(): the window cannot change on a live limiter, whose state numbers the
  /// windows by their length (a new length would renumber them); the limit can.
  static void check_change(const fixed_window_options& was, const fixed_window_options& next) {
    option_check{component}.unchanged("window", was.window, next.window);
  }
  [[nodiscard]] std::uint32_t max_cost() const noexcept { return options_.limit; }
  /// Whether `cost` is in [1, max_cost()], without a division (the hot path's check).
  [[nodiscard]] bool admissible(std::uint32_t cost) const noexcept {
    return cost != 0 && cost <= options_.limit;
  }

  /// A count of zero in the window that contains `now`.
  [[nodiscard]] state initial(time_point now) const noexcept {
    return pack(window_of(detail::to_ns(now)), 0);
  }

  [[nodiscard]] rate_decision<state> decide(state word, std::uint32_t cost, time_point now,
                                            duration = {}) const noexcept {
    const view v = current(word, detail::to_ns(now));
    if (v.count + cost > options_.limit) return {false, word, wait(word, cost, now)};
    return {true, pack(v.window, v.count + cost), {}};
  }

  [[nodiscard]] duration wait(state word, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const view v = current(word, t);
    if (v.count + cost <= options_.limit) return {};
    // The next window's start, saturating: with a window of duration::max() it is past the
    // end of time.
    const std::int64_t next = detail::saturating_mul(v.window + 1, options_.window.count());
    return duration{detail::saturating_sub(next, t)};
  }

  /// limit minus the count of the current window, or zero: a reconfigure() that lowered the
  /// limit leaves a count above it until the window ends.
  [[nodiscard]] std::uint64_t available(state word, time_point now) const noexcept {
    const std::uint64_t count = current(word, detail::to_ns(now)).count;
    return count >= options_.limit ? 0 : options_.limit - count;
  }

 private:
  [[nodiscard]] std::int64_t window_of(std::int64_t t) const noexcept {
    return detail::floor_div(t, options_.window.count());
  }
  static constexpr std::uint64_t pack(std::int64_t window, std::uint64_t count) noexcept {
    return (static_cast<std::uint64_t>(window) << 32) | count;
  }

  // The window that t is charged to, and its count so far, given the stored word.
  struct view {
    std::int64_t window;  // full window number
    std::uint64_t count;
  };
  [[nodiscard]] view current(std::uint64_t word, std::int64_t t) const noexcept {
    const std::int64_t window = window_of(t);
    const auto stored = static_cast<std::uint32_t>(word >> 32);
    // Serial-number distance from the stored window to t's (mod 2^32, as a signed 32-bit).
    const auto ahead = static_cast<std::int32_t>(static_cast<std::uint32_t>(window) - stored);
    if (ahead > 0) return {window, 0};             // a new window: fresh count
    return {window - ahead, word & 0xffff'ffffu};  // this one, or the clock is behind
  }

  fixed_window_options options_;
};

static_assert(rate_rule<fixed_window_rule>);

}  // namespace bulwark
