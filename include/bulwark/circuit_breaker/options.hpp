#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>

#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/exception_is.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// How the closed state remembers outcomes (resilience4j's slidingWindowType).
enum class sliding_window : std::uint8_t {
  count_based,  ///< the last `window_size` calls
  time_based,   ///< the calls of the last `window_size` seconds, in one-second buckets
};

/// What trips a closed breaker.
enum class trip_condition : std::uint8_t {
  /// resilience4j: at least minimum_calls buffered and failure rate >= failure_rate_threshold
  /// or slow-call rate >= slow_call_rate_threshold.
  rate,
  /// gobreaker style: `consecutive_failures` failures in a row, whatever the window holds.
  consecutive_failures,
};

/// Decides how an exception thrown by a guarded call counts. Empty: every exception is a
/// failure (resilience4j's default recordExceptions).
using exception_classifier = std::function<call_outcome(const std::exception_ptr&)>;

/// `slow_call_duration` value that turns slow-call detection off: no call is slow, and a
/// count-based breaker then reads no clock at all in the closed state.
inline constexpr duration slow_calls_off = duration::max();

/// Options of bulwark::circuit_breaker. Defaults are resilience4j's CircuitBreakerConfig
/// defaults; docs/circuit_breaker.md lists them and every difference.
struct circuit_breaker_options {
  /// Trip when failed / buffered >= this (resilience4j failureRateThreshold 50%).
  double failure_rate_threshold = 0.5;
  /// Trip when slow / buffered >= this (resilience4j slowCallRateThreshold 100%).
  double slow_call_rate_threshold = 1.0;
  /// A call taking longer than this (strictly) is slow. slow_calls_off disables detection.
  duration slow_call_duration = std::chrono::seconds{60};
  sliding_window window_type = sliding_window::count_based;
  /// Calls (count_based) or seconds (time_based) the window covers.
  std::uint32_t window_size = 100;
  /// No rate is evaluated below this many buffered calls. As in resilience4j, a count-based
  /// window uses min(minimum_calls, window_size).
  std::uint32_t minimum_calls = 100;
  trip_condition trip_on = trip_condition::rate;
  /// For trip_condition::consecutive_failures: trip at this many failures in a row
  /// (gobreaker's default ReadyToTrip, `ConsecutiveFailures > 5`, is 6 here).
  std::uint32_t consecutive_failures = 5;
  /// How long the breaker stays open after its first trip (waitDurationInOpenState);
  /// >= 1 ms, truncated to whole milliseconds as Duration.toMillis() does.
  duration wait_in_open = std::chrono::seconds{60};
  /// Each further consecutive trip (half_open -> open) multiplies the wait by this, up to
  /// max_wait_in_open, in whole milliseconds truncated after every step as resilience4j's
  /// IntervalFunction.ofExponentialBackoff does: w(1) = wait_in_open,
  /// w(k) = (long) (w(k-1) * multiplier), wait(k) = min(max_wait_in_open, w(k)).
  double wait_in_open_multiplier = 1.0;
  /// The cap on the growing wait; duration::max() means only the internal cap of 365 days.
  duration max_wait_in_open = duration::max();
  /// If set, replaces the formula above: the wait for the given attempt (1 for a trip from
  /// closed, 2 for the next reopen, ...; saturates at 63). Truncated to whole milliseconds,
  /// then clamped to [1ms, 365 days]. If it throws, the wait is max_wait_in_open (truncated,
  /// at most 365 days).
  std::function<duration(std::uint32_t attempt)> wait_in_open_function{};
  /// false (resilience4j's default): open -> half_open happens when a call asks for
  /// permission after the wait. true: also when state(), metrics(), retry_after() or poll()
  /// look, so dashboards and listeners see the move without traffic (see the docs).
  bool automatic_transition_from_open = false;
  /// Probes admitted in half-open (permittedNumberOfCallsInHalfOpenState). With
  /// trip_condition::rate the probes decide once min(minimum_calls, this) verdicts are in
  /// (resilience4j's CircuitBreakerMetrics.forHalfOpen); verdicts of probes still in flight
  /// then are dropped as late.
  std::uint32_t permitted_calls_in_half_open = 10;
  /// Longest stay in half-open before reopening; zero (the default) means no limit.
  duration max_wait_in_half_open = duration::zero();
  /// A half-open probe that has not reported after this long loses its slot to a new probe,
  /// and its late verdict is ignored, so a leaked probe cannot wedge the breaker.
  duration probe_lease = std::chrono::seconds{60};
  /// How exceptions from execute() count (see ignore_exceptions, record_exceptions).
  exception_classifier classify_exception{};
  /// Called after every state change by the thread that made it. Must not throw: it runs
  /// inside noexcept recording paths. Concurrent transitions may call it concurrently.
  std::function<void(const circuit_breaker_transition&)> on_transition{};
};

namespace detail {

/// The longest wait the state word can represent comfortably (its stamps wrap after years).
inline constexpr duration max_breaker_wait = std::chrono::hours{24 * 365};
inline constexpr std::uint32_t max_count_window = 1'000'000;
inline constexpr std::uint32_t max_time_window = 86'400;
inline constexpr std::uint32_t max_half_open_calls = 100'000;
/// The shortest slow_call_duration whose detection reads the clock's coarse_now(): a tick
/// (1 to 4 ms) is then at most 0.4% of the threshold.
inline constexpr duration coarse_slow_call_minimum = std::chrono::seconds{1};

/// Validates every field; throws std::invalid_argument naming the first bad one.
inline void validate(const circuit_breaker_options& o) {
  const option_check check{"circuit_breaker"};
  check.fraction("failure_rate_threshold", o.failure_rate_threshold);
  check.fraction("slow_call_rate_threshold", o.slow_call_rate_threshold);
  check.positive("slow_call_duration", o.slow_call_duration);
  check.at_least("window_size", o.window_size, 1u);
  check.at_most("window_size", o.window_size,
                o.window_type == sliding_window::count_based ? max_count_window : max_time_window);
  check.at_least("minimum_calls", o.minimum_calls, 1u);
  check.at_least("consecutive_failures", o.consecutive_failures, 1u);
  check.positive("wait_in_open", o.wait_in_open);
  // resilience4j's waitDurationInOpenState: "must be at least 1[ms]"; waits are whole ms.
  check.at_least("wait_in_open", o.wait_in_open, duration{std::chrono::milliseconds{1}});
  check.at_most("wait_in_open", o.wait_in_open, max_breaker_wait);
  check.that(o.wait_in_open_multiplier >= 1.0 && std::isfinite(o.wait_in_open_multiplier),
             "wait_in_open_multiplier", ">= 1 and finite", o.wait_in_open_multiplier);
  check.at_least("max_wait_in_open", o.max_wait_in_open, o.wait_in_open);
  check.at_least("permitted_calls_in_half_open", o.permitted_calls_in_half_open, 1u);
  check.at_most("permitted_calls_in_half_open", o.permitted_calls_in_half_open,
                max_half_open_calls);
  check.non_negative("max_wait_in_half_open", o.max_wait_in_half_open);
  check.at_most("max_wait_in_half_open", o.max_wait_in_half_open, max_breaker_wait);
  check.positive("probe_lease", o.probe_lease);
  check.at_most("probe_lease", o.probe_lease, max_breaker_wait);
}

}  // namespace detail

/// A classifier that ignores exceptions of the types `E...` (and types derived from them) and
/// counts every other exception as a failure: resilience4j's ignoreExceptions.
/// Cost: one rethrow per listed type tried, on the exception path only.
template <class... E>
[[nodiscard]] exception_classifier ignore_exceptions() {
  static_assert(sizeof...(E) > 0);
  return [](const std::exception_ptr& e) {
    return detail::exception_is<E...>(e) ? call_outcome::ignored : call_outcome::failure;
  };
}

/// A classifier that counts exceptions of the types `E...` as failures and every other
/// exception as a success: resilience4j's recordExceptions.
template <class... E>
[[nodiscard]] exception_classifier record_exceptions() {
  static_assert(sizeof...(E) > 0);
  return [](const std::exception_ptr& e) {
    return detail::exception_is<E...>(e) ? call_outcome::failure : call_outcome::success;
  };
}

}  // namespace bulwark
