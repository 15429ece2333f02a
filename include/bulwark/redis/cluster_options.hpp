#pragma once
// The options and the metrics snapshot of bulwark::redis_cluster_client (cluster_client.hpp).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/detail/cluster_replies.hpp"

namespace bulwark {

/// Options of a redis_cluster_client (defaults in parentheses).
struct redis_cluster_options {
  /// Nodes to read the slot map from, "host:port" each; any one that answers is enough
  /// ("127.0.0.1:7000"). Further nodes are learnt from CLUSTER SLOTS and redirections.
  std::vector<std::string> seeds{"127.0.0.1:7000"};
  /// The pool, timeouts, backoff and breaker of each node's redis_client; host and port are
  /// ignored (each node's own are used).
  redis_client_options node{};
  /// Redirections (MOVED, ASK) one call follows before it gives up and returns the last one,
  /// an error reply (5).
  std::uint32_t max_redirects = 5;
  /// Retries of a call answered TRYAGAIN or CLUSTERDOWN, each after busy_retry_delay
  /// (Clock::sleep_for), before the last such reply is returned (3).
  std::uint32_t busy_retries = 3;
  duration busy_retry_delay = std::chrono::milliseconds{10};  ///< (10ms)
  /// The least time between two slot-map refreshes caused by a node that did not answer or a
  /// CLUSTERDOWN (100ms). Refreshes after MOVED are not limited by it (one per moved slot).
  duration refresh_interval = std::chrono::milliseconds{100};
};

/// A snapshot of a redis_cluster_client's counters.
struct redis_cluster_metrics {
  /// Every node's redis_client counters, summed; breaker_open is the number of nodes whose
  /// breaker is open or half-open.
  redis_client_metrics nodes{};
  std::uint64_t moved = 0;        ///< MOVED redirections followed
  std::uint64_t ask = 0;          ///< ASK redirections followed (ASKING sent)
  std::uint64_t tryagain = 0;     ///< TRYAGAIN answers retried
  std::uint64_t clusterdown = 0;  ///< CLUSTERDOWN answers retried
  /// Calls that gave up: more than max_redirects redirections, or more than busy_retries
  /// TRYAGAIN/CLUSTERDOWN answers (the last error reply was returned).
  std::uint64_t gave_up = 0;
  std::uint64_t refreshes = 0;         ///< slot maps read (CLUSTER SLOTS answered)
  std::uint64_t refresh_failures = 0;  ///< refreshes no known node answered
  std::uint64_t known_nodes = 0;       ///< gauge: nodes with a pool (seeds and learnt)

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    nodes.for_each_metric(visit);
    visit(metric{"cluster_moved_total", "MOVED redirections followed.", counter, moved});
    visit(metric{"cluster_ask_total", "ASK redirections followed.", counter, ask});
    visit(metric{"cluster_tryagain_total", "TRYAGAIN answers retried.", counter, tryagain});
    visit(
        metric{"cluster_clusterdown_total", "CLUSTERDOWN answers retried.", counter, clusterdown});
    visit(
        metric{"cluster_gave_up_total", "Calls out of redirections or retries.", counter, gave_up});
    visit(metric{"cluster_refreshes_total", "Slot maps read (CLUSTER SLOTS).", counter, refreshes});
    visit(metric{"cluster_refresh_failures_total", "Slot-map refreshes no node answered.", counter,
                 refresh_failures});
    visit(metric{"cluster_known_nodes", "Nodes the client has a pool for.", gauge, known_nodes});
  }

  friend bool operator==(const redis_cluster_metrics&, const redis_cluster_metrics&) = default;
};

namespace detail {

inline void validate(const redis_cluster_options& o) {
  const option_check check{"redis_cluster_client"};
  check.that(!o.seeds.empty(), "seeds", "non-empty", o.seeds.size());
  for (const auto& seed : o.seeds)
    check.that(parse_cluster_address(seed).has_value(), "seeds", "\"host:port\" each", seed);
  validate(o.node);
  check.at_least("max_redirects", o.max_redirects, std::uint32_t{1});
  check.non_negative("busy_retry_delay", o.busy_retry_delay);
  check.non_negative("refresh_interval", o.refresh_interval);
}

inline void add_to(redis_client_metrics& sum, const redis_client_metrics& m) noexcept {
  sum.commands += m.commands;
  sum.unavailable += m.unavailable;
  sum.connects += m.connects;
  sum.connect_failures += m.connect_failures;
  sum.script_loads += m.script_loads;
  sum.timeouts += m.timeouts;
  sum.breaker_trips += m.breaker_trips;
  sum.breaker_rejected += m.breaker_rejected;
  sum.breaker_open += m.breaker_open;
  sum.restarts_detected += m.restarts_detected;
}

}  // namespace detail
}  // namespace bulwark
