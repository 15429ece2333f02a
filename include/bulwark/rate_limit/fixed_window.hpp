#pragma once
// bulwark::fixed_window: at most `limit` units per aligned window, the count and the window's
// number packed in one 64-bit word updated by a CAS loop.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// Options of bulwark::fixed_window (defaults in parentheses).
struct fixed_window_options {
  /// Units admitted per window (100); also the largest cost.
  std::uint32_t limit = 100;
  /// The window's length (1s). Windows are aligned to the clock's epoch: [k W, (k+1) W).
  duration window = std::chrono::seconds{1};
};

/// A fixed-window counter: each window [k W, (k+1) W) admits up to `limit` units; the count
/// starts again at zero when a new window begins. The cheapest limiter, and the coarsest: up
/// to 2 x limit may pass within one window's length around a boundary (use
/// sliding_window_counter or sliding_window_log when that matters).
///
/// State: one word, the window number mod 2^32 (high half) and the count (low half). Window
/// numbers compare by serial-number arithmetic (RFC 1982), so a clock that goes back into an
/// earlier window keeps charging the newest window seen: it never starts a fresh count.
/// A limiter left idle for exactly a multiple of 2^32 windows would see its stale count again,
/// which can only refuse more, never admit more.
///
/// retry_after of a refusal is the time to the next window; available() is limit minus the
/// count of the current window. Thread-safe, lock-free (one CAS per admitted call), O(1).
template <clock Clock = steady_clock>
class fixed_window : public detail::limiter_base<fixed_window<Clock>, Clock> {
  using base = detail::limiter_base<fixed_window<Clock>, Clock>;
  friend base;

 public:
  /// Validates `options` (std::invalid_argument naming the field). Reads the clock once, to
  /// number the window it starts in.
  explicit fixed_window(fixed_window_options options, Clock clock = {})
      : base{std::move(clock)}, options_{validated(options)} {
    state_.store(pack(window_of(detail::to_ns(this->clock_.now())), 0), std::memory_order_relaxed);
  }

  [[nodiscard]] const fixed_window_options& options() const noexcept { return options_; }

 private:
  static constexpr std::string_view component = "fixed_window";
  static constexpr bool reserves = false;
  static constexpr bool execute_waits = false;

  static const fixed_window_options& validated(const fixed_window_options& options) {
    const option_check check{component};
    check.at_least("limit", options.limit, std::uint32_t{1});
    check.positive("window", options.window);
    return options;
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept { return options_.limit; }

  [[nodiscard]] std::int64_t window_of(std::int64_t now) const noexcept {
    return detail::floor_div(now, options_.window.count());
  }
  static constexpr std::uint64_t pack(std::int64_t window, std::uint64_t count) noexcept {
    return (static_cast<std::uint64_t>(window) << 32) | count;
  }

  // The window that `now` is charged to, and its count so far, given the stored word.
  struct view {
    std::int64_t window;  // full window number
    std::uint64_t count;
  };
  [[nodiscard]] view current(std::uint64_t word, std::int64_t now) const noexcept {
    const std::int64_t window = window_of(now);
    const auto stored = static_cast<std::uint32_t>(word >> 32);
    // Serial-number distance from the stored window to now's (mod 2^32, as a signed 32-bit).
    const auto ahead = static_cast<std::int32_t>(static_cast<std::uint32_t>(window) - stored);
    if (ahead > 0) return {window, 0};             // a new window: fresh count
    return {window - ahead, word & 0xffff'ffffu};  // this one, or the clock is behind
  }

  // Relaxed ordering: the decision reads and writes this one word, and the CAS alone keeps two
  // callers from taking the same units; nothing else is published.
  bool admit(std::uint32_t cost, std::int64_t now) noexcept {
    std::uint64_t word = state_.load(std::memory_order_relaxed);
    for (;;) {
      const view v = current(word, now);
      if (v.count + cost > options_.limit) return false;
      if (state_.compare_exchange_weak(word, pack(v.window, v.count + cost),
                                       std::memory_order_relaxed, std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const noexcept {
    const view v = current(state_.load(std::memory_order_relaxed), now);
    if (v.count + cost <= options_.limit) return 0;
    // The next window's start, saturating: with a window of duration::max() it is past the
    // end of time.
    const std::int64_t next = detail::saturating_mul(v.window + 1, options_.window.count());
    return detail::saturating_sub(next, now);
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    return options_.limit - current(state_.load(std::memory_order_relaxed), now).count;
  }

  std::atomic<std::uint64_t> state_{0};
  fixed_window_options options_;
};

}  // namespace bulwark
