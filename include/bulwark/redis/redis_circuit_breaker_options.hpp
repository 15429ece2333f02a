#pragma once
// The options and the metrics snapshot of bulwark::redis_circuit_breaker
// (redis_circuit_breaker.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/redis/decision.hpp"
#include "bulwark/redis/detail/keys.hpp"

namespace bulwark {

/// Options of bulwark::redis_circuit_breaker (defaults in parentheses).
struct redis_circuit_breaker_options {
  /// The local breaker every call goes through while the fleet's breaker is closed; its
  /// wait_in_open is also the fleet-wide wait after a trip, and its probe_lease the lease of
  /// a fleet-wide probe.
  circuit_breaker_options local{};
  /// Prepended to the keys ("bulwark:cb:"): breaker "payments" keeps its state in
  /// "bulwark:cb:{payments}:state" and the keys beside it, all under one hash tag.
  std::string prefix = "bulwark:cb:";
  /// How often a background thread reads the shared state (100ms): the bound on how long an
  /// instance keeps calling after another one opened the breaker, plus one round trip.
  /// Zero: no thread; the caller calls refresh() (tests, or an event loop's timer).
  duration refresh_interval = std::chrono::milliseconds{100};
  /// Half-open probes in flight at once across the fleet, each holding a lease (1).
  std::uint32_t fleet_probes = 1;
  /// After an instance found every probe lease taken, how long it refuses calls before it
  /// asks again (50ms): bounds the round trips of a half-open fleet.
  duration probe_retry = std::chrono::milliseconds{50};
  /// What to do while Redis does not answer: local (the default: the local breaker alone
  /// decides), fail_open (every call passes, nothing is recorded), fail_closed (every call
  /// is refused).
  redis_failure_policy on_failure = redis_failure_policy::local;
  /// Aggregated counts: when > 0, every failure the closed path sees is also counted in
  /// Redis (one round trip per failure, none per success), and `fleet_failures` of them
  /// within `fleet_window` open the breaker for every instance (0: off).
  std::uint32_t fleet_failures = 0;
  /// The window of the aggregated count, from its first failure (10s).
  duration fleet_window = std::chrono::seconds{10};
  /// The longest breaker name, in bytes (200).
  std::size_t max_name_length = 200;
};

/// A snapshot of a redis_circuit_breaker's counters.
struct redis_circuit_breaker_metrics {
  std::uint64_t shared_rejected = 0;   ///< calls refused because the fleet's breaker is open
  std::uint64_t probes = 0;            ///< fleet-wide half-open probes this instance ran
  std::uint64_t probes_refused = 0;    ///< calls refused in half-open (every lease taken)
  std::uint64_t trips_published = 0;   ///< transitions to open this instance wrote
  std::uint64_t closes_published = 0;  ///< transitions to closed this instance wrote
  std::uint64_t transitions_seen = 0;  ///< newer generations learnt from Redis
  std::uint64_t round_trips = 0;       ///< scripts sent to Redis
  std::uint64_t unavailable = 0;       ///< round trips Redis did not answer
  std::uint64_t fallback_calls = 0;    ///< calls decided by on_failure while Redis was away
  std::uint64_t generation = 0;        ///< gauge: the last generation seen

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    visit(metric{"shared_rejected_total", "Calls refused by the fleet's open breaker.", counter,
                 shared_rejected});
    visit(metric{"probes_total", "Fleet-wide half-open probes run here.", counter, probes});
    visit(metric{"probes_refused_total", "Calls refused in half-open: every lease taken.", counter,
                 probes_refused});
    visit(metric{"trips_published_total", "Transitions to open written by this instance.", counter,
                 trips_published});
    visit(metric{"closes_published_total", "Transitions to closed written by this instance.",
                 counter, closes_published});
    visit(metric{"transitions_seen_total", "Newer generations learnt from Redis.", counter,
                 transitions_seen});
    visit(metric{"round_trips_total", "Scripts sent to Redis.", counter, round_trips});
    visit(metric{"unavailable_total", "Round trips Redis did not answer.", counter, unavailable});
    visit(metric{"fallback_calls_total", "Calls decided by the failure policy.", counter,
                 fallback_calls});
    visit(metric{"generation", "The last generation of the shared state seen.", gauge, generation});
  }

  friend bool operator==(const redis_circuit_breaker_metrics&,
                         const redis_circuit_breaker_metrics&) = default;
};

namespace detail {
inline void validate(const redis_circuit_breaker_options& o) {
  validate(o.local);
  const option_check check{"redis_circuit_breaker"};
  check.that(o.prefix.empty() || valid_key_part(o.prefix, 256), "prefix",
             "at most 256 bytes without spaces, control characters or braces", o.prefix);
  check.non_negative("refresh_interval", o.refresh_interval);
  check.in_range("fleet_probes", o.fleet_probes, std::uint32_t{1}, std::uint32_t{1000});
  check.positive("probe_retry", o.probe_retry);
  check.positive("fleet_window", o.fleet_window);
  check.in_range("max_name_length", o.max_name_length, std::size_t{1}, std::size_t{4096});
}
}  // namespace detail

}  // namespace bulwark
