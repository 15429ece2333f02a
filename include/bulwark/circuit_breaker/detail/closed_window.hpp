#pragma once

#include <cstdint>
#include <variant>

#include "bulwark/circuit_breaker/detail/window.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/clock.hpp"

namespace bulwark::detail {

/// The closed state's window as the options choose it: a count_window or a time_window, held
/// as one variant (the monostate only exists while constructing: neither window is movable,
/// so the chosen one is built in place). Thread-safety and costs are those of the window held.
class closed_window {
 public:
  explicit closed_window(const circuit_breaker_options& o) {
    if (o.window_type == sliding_window::count_based) {
      window_.emplace<count_window>(o.window_size);
    } else {
      window_.emplace<time_window>(o.window_size);
    }
  }

  /// Whether record() needs the time (a time window's buckets are seconds of the clock).
  [[nodiscard]] bool time_based() const noexcept {
    return std::holds_alternative<time_window>(window_);
  }

  /// Records one call; returns true and the totals after it when the totals may have changed.
  /// `now()` is called only by a time window.
  template <class Now>
  bool record(outcome_code code, Now&& now, window_counts& totals) noexcept {
    if (auto* c = std::get_if<count_window>(&window_)) [[likely]]
      return c->record(code, totals);
    totals = std::get<time_window>(window_).record(code, now());
    return true;
  }

  /// The totals at `now` (a time window first expires the buckets older than its span).
  [[nodiscard]] window_counts totals(time_point now) noexcept {
    if (auto* c = std::get_if<count_window>(&window_)) return c->totals();
    return std::get<time_window>(window_).totals(now);
  }

  /// Fills this new, empty window with what `from` (of the same type) holds that it can keep
  /// (see count_window::copy_recent and time_window::copy_recent). Not thread-safe for this
  /// window: call it before publishing it.
  void copy_recent(const closed_window& from) noexcept {
    if (auto* c = std::get_if<count_window>(&window_)) {
      c->copy_recent(std::get<count_window>(from.window_));
    } else {
      std::get<time_window>(window_).copy_recent(std::get<time_window>(from.window_));
    }
  }

  /// Empties the window; safe against concurrent record().
  void reset() noexcept {
    if (auto* c = std::get_if<count_window>(&window_)) {
      c->reset();
    } else {
      std::get<time_window>(window_).reset();
    }
  }

 private:
  std::variant<std::monostate, count_window, time_window> window_;
};

}  // namespace bulwark::detail
