#pragma once

#include <algorithm>
#include <cstdint>
#include <variant>

#include "bulwark/circuit_breaker/detail/probes.hpp"
#include "bulwark/circuit_breaker/detail/window.hpp"
#include "bulwark/circuit_breaker/options.hpp"

// The breaker's trip rules, apart from the state word and the windows (as Polly v8 keeps its
// CircuitBehavior apart from the state controller): pure functions from counts to a verdict.
// The breaker feeds them what its window or probe slots hold and turns a verdict into one CAS
// on the state word; the rules hold no state and read no clock.

namespace bulwark::detail {

/// What a closed breaker's rule says about the counts it was shown.
enum class trip_verdict : std::uint8_t { stay, failure_rate, slow_call_rate, consecutive_failures };

/// What a half-open breaker's rule says about its probes' verdicts so far.
enum class probe_verdict : std::uint8_t { wait, close, reopen };

/// part / whole >= threshold, by division: IEEE division is correctly rounded, so a ratio that
/// equals the threshold exactly (50 of 100 against 0.5) compares equal.
[[nodiscard]] inline bool exceeds(std::int64_t part, std::int64_t whole,
                                  double threshold) noexcept {
  return whole > 0 && static_cast<double>(part) / static_cast<double>(whole) >= threshold;
}

/// The buffered calls below which no rate is evaluated in closed: as in resilience4j, a
/// count-based window uses min(minimum_calls, window_size).
[[nodiscard]] inline std::uint32_t closed_minimum(const circuit_breaker_options& o) noexcept {
  return o.window_type == sliding_window::count_based ? std::min(o.minimum_calls, o.window_size)
                                                      : o.minimum_calls;
}

/// The same in half-open: resilience4j's CircuitBreakerMetrics.forHalfOpen is a count window
/// of the permitted probes, so its minimum is min(minimumNumberOfCalls, permitted).
[[nodiscard]] inline std::uint32_t half_open_minimum(const circuit_breaker_options& o) noexcept {
  return std::min(o.minimum_calls, o.permitted_calls_in_half_open);
}

/// resilience4j's rule: with at least `minimum` calls buffered, trip when the failure rate or
/// the slow-call rate reaches its threshold (failure first, as CircuitBreakerMetrics checks).
/// Half-open decides once `probe_minimum` probes have answered, by the same two thresholds.
struct failure_rate_trip {
  std::uint32_t minimum = 100;
  std::uint32_t probe_minimum = 10;
  double failure_threshold = 0.5;
  double slow_threshold = 1.0;

  [[nodiscard]] trip_verdict closed(const window_counts& t) const noexcept {
    if (t.calls < minimum) return trip_verdict::stay;
    if (exceeds(t.failed, t.calls, failure_threshold)) return trip_verdict::failure_rate;
    if (exceeds(t.slow, t.calls, slow_threshold)) return trip_verdict::slow_call_rate;
    return trip_verdict::stay;
  }

  [[nodiscard]] probe_verdict half_open(const probe_tally& t) const noexcept {
    if (t.done < probe_minimum) return probe_verdict::wait;
    const bool reopen =
        exceeds(t.failed, t.done, failure_threshold) || exceeds(t.slow, t.done, slow_threshold);
    return reopen ? probe_verdict::reopen : probe_verdict::close;
  }
};

/// gobreaker's rule: trip at `limit` failures in a row; in half-open, any failed probe reopens
/// at once and all `permitted` probes succeeding closes.
struct consecutive_failures_trip {
  std::uint32_t limit = 5;
  std::uint32_t permitted = 10;

  [[nodiscard]] trip_verdict closed(std::uint64_t failures_in_a_row) const noexcept {
    return failures_in_a_row >= limit ? trip_verdict::consecutive_failures : trip_verdict::stay;
  }

  [[nodiscard]] probe_verdict half_open(const probe_tally& t) const noexcept {
    if (t.failed > 0) return probe_verdict::reopen;
    return t.done >= permitted ? probe_verdict::close : probe_verdict::wait;
  }
};

/// The rule the options choose, held as one variant.
using trip_rule = std::variant<failure_rate_trip, consecutive_failures_trip>;

[[nodiscard]] inline trip_rule make_trip_rule(const circuit_breaker_options& o) noexcept {
  if (o.trip_on == trip_condition::consecutive_failures)
    return consecutive_failures_trip{o.consecutive_failures, o.permitted_calls_in_half_open};
  return failure_rate_trip{closed_minimum(o), half_open_minimum(o), o.failure_rate_threshold,
                           o.slow_call_rate_threshold};
}

[[nodiscard]] inline probe_verdict half_open_verdict(const trip_rule& rule,
                                                     const probe_tally& t) noexcept {
  if (const auto* r = std::get_if<failure_rate_trip>(&rule)) return r->half_open(t);
  return std::get<consecutive_failures_trip>(rule).half_open(t);
}

}  // namespace bulwark::detail
