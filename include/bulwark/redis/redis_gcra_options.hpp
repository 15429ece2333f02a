#pragma once
// The options and the metrics snapshot of bulwark::redis_gcra (redis_gcra.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/redis/decision.hpp"

namespace bulwark {

/// Options of bulwark::redis_gcra (defaults in parentheses).
struct redis_gcra_options {
  /// The global sustained rate per key (100/s); T = period / count in whole nanoseconds.
  bulwark::rate rate = per_second(100);
  /// Unit requests admitted at one instant, fleet-wide (1); tau = burst x T, at most
  /// 2^53 ns - 1 s (about 104 days), since Redis's Lua computes in doubles.
  std::uint32_t burst = 1;
  /// Prepended to each key ("bulwark:gcra:"): the Redis key of client "42" is
  /// "bulwark:gcra:42".
  std::string prefix = "bulwark:gcra:";
  /// What to do when Redis does not answer (fail_open, as Envoy's rate limit filter).
  redis_failure_policy on_failure = redis_failure_policy::fail_open;
  /// With on_failure = local: this process's share of the global rate and burst (1.0). With n
  /// instances behind an even balancer, 1/n keeps the fleet near the global limit.
  double local_share = 1.0;
  /// Units reserved per round trip and then spent locally (1: no batching). Fewer round trips,
  /// less precision: see docs/redis.md for the bound. At most burst.
  std::uint32_t batch = 1;
  /// How long reserved units may be spent before they are dropped unspent (100ms).
  duration batch_ttl = std::chrono::milliseconds{100};
  /// The longest key accepted, in bytes (200); longer ones never reach Redis.
  std::size_t max_key_length = 200;
  /// Keys the batch cache and the local fallback hold at most (100000).
  std::size_t max_local_keys = 100'000;
};

/// A snapshot of a redis_gcra's counters (calls, not cost units).
struct redis_gcra_metrics {
  std::uint64_t admitted = 0;        ///< every source
  std::uint64_t rejected = 0;        ///< every source
  std::uint64_t waited = 0;          ///< admitted by try_acquire_for after waiting (<= admitted)
  std::uint64_t round_trips = 0;     ///< decisions and queries sent to Redis
  std::uint64_t queries = 0;         ///< time_until_available and available calls sent to Redis
  std::uint64_t batch_admitted = 0;  ///< admitted from a local batch, no round trip
  std::uint64_t unavailable = 0;     ///< round trips Redis did not answer (the policy applied)
  std::uint64_t failed_open = 0;
  std::uint64_t failed_closed = 0;
  std::uint64_t local_admitted = 0;
  std::uint64_t local_rejected = 0;
  std::uint64_t invalid_keys = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    visit(metric{"admitted_total", "Requests admitted.", counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", counter, rejected});
    visit(metric{"waited_total", "Requests admitted after waiting for a reservation.", counter,
                 waited});
    visit(
        metric{"round_trips_total", "Decisions and queries sent to Redis.", counter, round_trips});
    visit(metric{"queries_total", "Queries (time until available, available) sent to Redis.",
                 counter, queries});
    visit(metric{"batch_admitted_total", "Requests admitted from a locally held batch.", counter,
                 batch_admitted});
    visit(metric{"unavailable_total", "Round trips Redis did not answer.", counter, unavailable});
    visit(metric{"failed_open_total", "Admitted by fail_open.", counter, failed_open});
    visit(metric{"failed_closed_total", "Refused by fail_closed.", counter, failed_closed});
    visit(
        metric{"local_admitted_total", "Admitted by the local fallback.", counter, local_admitted});
    visit(
        metric{"local_rejected_total", "Refused by the local fallback.", counter, local_rejected});
    visit(
        metric{"invalid_keys_total", "Keys refused before reaching Redis.", counter, invalid_keys});
  }

  friend bool operator==(const redis_gcra_metrics&, const redis_gcra_metrics&) = default;
};

}  // namespace bulwark
