#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "lab/scenario.hpp"

namespace lab {

// One function per scenario, each defined in scenarios/<name>.cpp.

/// An unprotected client against a backend through an outage: the reference every other
/// scenario's protected arm is measured against.
[[nodiscard]] scenario baseline();
/// "rate-limit": a client over the backend's capacity, with and without a GCRA limiter.
[[nodiscard]] scenario rate_limit();
/// "adaptive-throttle": clients over the backend's capacity, with and without SRE throttling.
[[nodiscard]] scenario adaptive_throttle();
/// "outage": the baseline's outage with a circuit breaker failing fast and probing back.
/// (Not `outage()`: lab::outage is the backend's outage window.)
[[nodiscard]] scenario outage_scenario();
/// "retry-storm": naive retries amplifying an outage, against jittered retries with a budget.
[[nodiscard]] scenario retry_storm();
/// "overload": a slow dependency exhausting callers, against a bulkhead and an adaptive limit.
[[nodiscard]] scenario overload();
/// "rebalance": a cache tier losing a node, placed by hash % n against maglev.
[[nodiscard]] scenario rebalance();
/// "hot-keys": a backend behind a cache under a Zipf load, LRU against W-TinyLFU.
[[nodiscard]] scenario hot_keys();
/// "slow-replica": round robin, P2C with peak EWMA, and lag-aware replica reads.
[[nodiscard]] scenario slow_replica();
/// "double-charge": client retries after timeouts, without and with the idempotency executor.
[[nodiscard]] scenario double_charge();
/// "global-limit": one client's limit split across instances, local shares against a shared GCRA.
[[nodiscard]] scenario global_limit();
/// "reshard": a store growing from 4 to 5 shards, hash % n against jump hash and a range split.
[[nodiscard]] scenario reshard();
/// "zone-outage": the local zone failing in two steps, round robin against Envoy's priorities.
[[nodiscard]] scenario zone_outage();

/// "shared-breaker": 50 instances against a dead dependency, local breakers against a shared one.
[[nodiscard]] scenario shared_breaker();
/// "near-cache": near caches in a fleet under writes, TTL only against Redis invalidation.
[[nodiscard]] scenario near_cache();

/// Every scenario, in the order `--list` shows them and a full run plays them. Built on each
/// call: a plain list, with no registration at static-initialisation time to go wrong.
[[nodiscard]] std::vector<scenario> all_scenarios();

/// The scenario named `name` in `scenarios`, or nullptr.
[[nodiscard]] const scenario* find_scenario(std::span<const scenario> scenarios,
                                            std::string_view name) noexcept;

}  // namespace lab
