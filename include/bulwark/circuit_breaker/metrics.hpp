#pragma once

#include <algorithm>
#include <cstdint>

#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/metrics.hpp"

namespace bulwark {

/// A snapshot of a circuit breaker (resilience4j's CircuitBreaker.Metrics, plus bulwark's
/// counters of ignored and late results).
///
/// The window figures describe the current state: the sliding window in closed, open (the
/// window that tripped it), metrics_only, disabled and forced_open; the probes' verdicts so far
/// in half_open. Rates are -1 while fewer calls than the minimum are buffered (resilience4j's
/// convention; in half_open the minimum is permitted_calls_in_half_open); for_each_metric then
/// leaves them out.
struct circuit_breaker_metrics {
  circuit_state state = circuit_state::closed;
  double failure_rate = -1.0;    ///< failed / buffered, in [0, 1], or -1
  double slow_call_rate = -1.0;  ///< slow / buffered, in [0, 1], or -1
  std::uint64_t buffered_calls = 0;
  std::uint64_t failed_calls = 0;
  std::uint64_t slow_calls = 0;
  std::uint64_t not_permitted_calls = 0;  ///< refusals, monotonic
  std::uint64_t ignored_calls = 0;  ///< ignored outcomes and permits dropped without a verdict
  std::uint64_t late_results = 0;   ///< verdicts dropped: state changed or probe lease lost

  friend bool operator==(const circuit_breaker_metrics&, const circuit_breaker_metrics&) = default;

  /// Lists the fields for exporters. `state` is a gauge numbered as circuit_state
  /// (0 closed, 1 open, 2 half_open, 3 disabled, 4 metrics_only, 5 forced_open).
  ///
  /// The rates are exported as `failure_ratio` and `slow_call_ratio`, in [0, 1], and only from
  /// the minimum number of calls on: below it the struct's -1 is no ratio, and a -1 sample
  /// would drag avg() and max() over a fleet of breakers down, so that sample is left out of
  /// the snapshot's listing (the family then has no sample for this instance in this scrape).
  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"state",
                 "Circuit state: 0 closed, 1 open, 2 half_open, 3 disabled, "
                 "4 metrics_only, 5 forced_open.",
                 metric_type::gauge, static_cast<std::int64_t>(state)});
    if (failure_rate >= 0.0) {
      visit(metric{"failure_ratio",
                   "Failed share of the buffered calls, in [0, 1]; absent below the minimum.",
                   metric_type::gauge, failure_rate});
    }
    if (slow_call_rate >= 0.0) {
      visit(metric{"slow_call_ratio",
                   "Slow share of the buffered calls, in [0, 1]; absent below the minimum.",
                   metric_type::gauge, slow_call_rate});
    }
    visit(metric{"buffered_calls", "Calls in the sliding window.", metric_type::gauge,
                 buffered_calls});
    visit(metric{"failed_calls", "Failed calls in the sliding window.", metric_type::gauge,
                 failed_calls});
    visit(
        metric{"slow_calls", "Slow calls in the sliding window.", metric_type::gauge, slow_calls});
    visit(metric{"not_permitted_calls_total", "Calls refused by the breaker.", metric_type::counter,
                 not_permitted_calls});
    visit(metric{"ignored_calls_total", "Outcomes counted as neither success nor failure.",
                 metric_type::counter, ignored_calls});
    visit(metric{"late_results_total", "Verdicts dropped because the breaker had moved on.",
                 metric_type::counter, late_results});
  }
};

namespace detail {

/// Sets m's counts and, from `minimum` calls on, its rates. A window read while writers are
/// mid-update may be a few calls off (see detail/window.hpp): the counts are clamped so that
/// a snapshot never shows a negative count or a rate above 1.
inline void set_counts(circuit_breaker_metrics& m, std::int64_t calls, std::int64_t failed,
                       std::int64_t slow, std::int64_t minimum) noexcept {
  calls = std::max<std::int64_t>(calls, 0);
  failed = std::clamp<std::int64_t>(failed, 0, calls);
  slow = std::clamp<std::int64_t>(slow, 0, calls);
  m.buffered_calls = static_cast<std::uint64_t>(calls);
  m.failed_calls = static_cast<std::uint64_t>(failed);
  m.slow_calls = static_cast<std::uint64_t>(slow);
  if (calls > 0 && calls >= minimum) {
    m.failure_rate = static_cast<double>(failed) / static_cast<double>(calls);
    m.slow_call_rate = static_cast<double>(slow) / static_cast<double>(calls);
  }
}

}  // namespace detail

}  // namespace bulwark
