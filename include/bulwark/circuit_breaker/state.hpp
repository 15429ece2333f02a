#pragma once

#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// The states of a circuit breaker. The first three are the automatic state machine
/// (resilience4j's CLOSED, OPEN, HALF_OPEN); the last three are entered only by
/// circuit_breaker::transition_to and left only by another manual transition or reset().
enum class circuit_state : std::uint8_t {
  closed,        ///< calls pass; outcomes are recorded in the sliding window
  open,          ///< calls are refused until the wait in open elapses
  half_open,     ///< a limited number of probe calls decide whether to close or reopen
  disabled,      ///< calls pass and nothing is recorded
  metrics_only,  ///< calls pass and are recorded, but the breaker never trips
  forced_open,   ///< every call is refused
};

/// Why a transition happened, as passed to the transition listener.
enum class transition_reason : std::uint8_t {
  failure_rate,          ///< closed -> open: failure rate reached the threshold
  slow_call_rate,        ///< closed -> open: slow-call rate reached the threshold
  consecutive_failures,  ///< closed -> open: the consecutive-failures condition held
  wait_elapsed,          ///< open -> half_open: the wait in open is over
  probes_succeeded,      ///< half_open -> closed: the probes' rates were below the thresholds
  probes_failed,         ///< half_open -> open: the probes' rates reached a threshold
  half_open_timeout,     ///< half_open -> open: max_wait_in_half_open elapsed
  manual,                ///< transition_to() or reset()
};

/// How one call counts. `ignored` counts as neither success nor failure (resilience4j's
/// ignoreExceptions): it leaves the window untouched and frees a half-open probe slot.
enum class call_outcome : std::uint8_t { success, failure, ignored };

/// One state change, given to the listener (circuit_breaker_options::on_transition).
/// `generation` increases by one with every transition of a breaker, so a listener that
/// receives events from several threads can put them back in order.
struct circuit_breaker_transition {
  circuit_state from = circuit_state::closed;
  circuit_state to = circuit_state::closed;
  transition_reason reason = transition_reason::manual;
  time_point time{};
  std::uint32_t generation = 0;
};

/// "closed", "open", "half_open", "disabled", "metrics_only", "forced_open".
[[nodiscard]] constexpr std::string_view to_string(circuit_state s) noexcept {
  switch (s) {
    case circuit_state::closed:
      return "closed";
    case circuit_state::open:
      return "open";
    case circuit_state::half_open:
      return "half_open";
    case circuit_state::disabled:
      return "disabled";
    case circuit_state::metrics_only:
      return "metrics_only";
    case circuit_state::forced_open:
      return "forced_open";
  }
  return "unknown";
}

/// "failure_rate", "slow_call_rate", ..., "manual".
[[nodiscard]] constexpr std::string_view to_string(transition_reason r) noexcept {
  switch (r) {
    case transition_reason::failure_rate:
      return "failure_rate";
    case transition_reason::slow_call_rate:
      return "slow_call_rate";
    case transition_reason::consecutive_failures:
      return "consecutive_failures";
    case transition_reason::wait_elapsed:
      return "wait_elapsed";
    case transition_reason::probes_succeeded:
      return "probes_succeeded";
    case transition_reason::probes_failed:
      return "probes_failed";
    case transition_reason::half_open_timeout:
      return "half_open_timeout";
    case transition_reason::manual:
      return "manual";
  }
  return "unknown";
}

}  // namespace bulwark
