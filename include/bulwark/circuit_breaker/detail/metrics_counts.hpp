#pragma once
// The window figures of a circuit_breaker_metrics snapshot: what they describe depends on the
// state (see circuit_breaker_metrics), so they come from the probes or from the window.

#include "bulwark/circuit_breaker/detail/closed_window.hpp"
#include "bulwark/circuit_breaker/detail/probes.hpp"
#include "bulwark/circuit_breaker/detail/state_word.hpp"
#include "bulwark/circuit_breaker/detail/trip_rule.hpp"
#include "bulwark/circuit_breaker/metrics.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/clock.hpp"

namespace bulwark::detail {

/// Sets `m`'s buffered, failed and slow counts and rates for state word `w`: the probes'
/// verdicts of `w`'s period in half_open, the window's totals at `now` otherwise.
inline void set_window_counts(circuit_breaker_metrics& m, state_word w, const probe_slots& probes,
                              closed_window& window, time_point now,
                              const circuit_breaker_options& o) noexcept {
  if (w.state() == circuit_state::half_open) {
    // Probe verdicts are never transient: the clamps change nothing here.
    const auto t = probes.tally(w.generation());
    set_counts(m, t.done, t.failed, t.slow, half_open_minimum(o));
  } else {
    const auto t = window.totals(now);
    set_counts(m, t.calls, t.failed, t.slow, closed_minimum(o));
  }
}

}  // namespace bulwark::detail
