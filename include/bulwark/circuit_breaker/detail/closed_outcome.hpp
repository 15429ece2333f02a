#pragma once
// What one call's outcome does in the closed (or metrics_only) state: it is recorded into the
// window, and the trip rule decides whether the breaker opens. The transition itself stays
// with the breaker (its CAS on the state word); this is the decision.

#include <atomic>
#include <cstdint>
#include <optional>
#include <variant>

#include "bulwark/circuit_breaker/detail/closed_window.hpp"
#include "bulwark/circuit_breaker/detail/settings.hpp"
#include "bulwark/circuit_breaker/detail/trip_rule.hpp"
#include "bulwark/circuit_breaker/detail/window.hpp"
#include "bulwark/circuit_breaker/state.hpp"

namespace bulwark::detail {

/// Records the outcome into `s.window` (`bucket_now()` is read only by a time window) and
/// returns why the breaker should open, if it should. `may_trip` is false in metrics_only,
/// which records but never trips. `consecutive` is the breaker's failures-in-a-row counter.
template <class Now>
std::optional<transition_reason> record_closed(const breaker_settings& s, bool may_trip,
                                               bool failed, bool slow, Now&& bucket_now,
                                               std::atomic<std::uint32_t>& consecutive) noexcept {
  window_counts totals{};
  const bool changed = s.window->record(make_code(failed, slow), bucket_now, totals);
  if (!may_trip) return std::nullopt;
  if (const auto* rule = std::get_if<consecutive_failures_trip>(&s.rule)) {
    // Relaxed: a plain counter; the trip itself is decided by the CAS in transition().
    if (!failed) {
      if (consecutive.load(std::memory_order_relaxed) != 0)
        consecutive.store(0, std::memory_order_relaxed);
    } else if (rule->closed(consecutive.fetch_add(1, std::memory_order_relaxed) + 1) !=
               trip_verdict::stay) {
      return transition_reason::consecutive_failures;
    }
    return std::nullopt;
  }
  if (!changed) return std::nullopt;
  switch (std::get<failure_rate_trip>(s.rule).closed(totals)) {
    case trip_verdict::failure_rate:
      return transition_reason::failure_rate;
    case trip_verdict::slow_call_rate:
      return transition_reason::slow_call_rate;
    default:
      return std::nullopt;
  }
}

}  // namespace bulwark::detail
