#pragma once
// Localities and priority levels, the arithmetic of Envoy's load balancer
// (source/common/upstream/load_balancer_impl.cc and upstream_impl.cc): how much load each
// priority level takes, when a level panics, how a locality's weight shrinks with its health,
// and how zone-aware routing splits local and cross-zone traffic. Pure functions over counts,
// so the documented tables can be checked row by row; locality_aware.hpp applies them.

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark {

/// Where an endpoint runs, Envoy's Locality message: region, zone, sub-zone. Ordered
/// lexicographically (region first), which is also the order in which localities are listed.
struct locality {
  std::string region{};
  std::string zone{};
  std::string sub_zone{};

  friend auto operator<=>(const locality&, const locality&) = default;
  friend bool operator==(const locality&, const locality&) = default;
};

/// "region/zone/sub_zone", for error messages.
[[nodiscard]] inline std::string to_string(const locality& l) {
  return l.region + "/" + l.zone + "/" + l.sub_zone;
}

/// The locality an endpoint declares (its region, zone and sub_zone fields).
[[nodiscard]] inline locality locality_of(const endpoint& e) {
  return {e.region, e.zone, e.sub_zone};
}

/// A locality's configured share for locality-weighted balancing (Envoy's
/// LocalityLbEndpoints.load_balancing_weight).
struct locality_weight {
  locality where{};
  std::uint32_t weight = 1;
};

/// How many healthy hosts of the calling (originating) cluster run in a locality: the input
/// of zone-aware routing, which Envoy learns from its local cluster's membership.
struct locality_hosts {
  locality where{};
  std::uint32_t hosts = 0;
};

/// Options of locality_aware. Defaults: Envoy's overprovisioning factor (140%) and zone
/// routing's min_cluster_size (6); neither locality weighting nor zone-aware routing, so
/// only priority levels apply until one of them is configured.
struct locality_options {
  /// Percent; a level or locality with healthy/total x factor >= 100% counts as fully healthy.
  std::uint32_t overprovisioning_factor = 140;
  /// Non-empty: locality-weighted balancing. Localities not listed get weight 0 (no traffic
  /// while a listed locality of the level has a healthy endpoint).
  std::vector<locality_weight> locality_weights{};
  /// Zone-aware routing: this client's locality and the healthy hosts of the calling cluster
  /// per locality. Both set, or neither. Exclusive with locality_weights, as in Envoy.
  std::optional<locality> local{};
  std::vector<locality_hosts> local_cluster{};
  /// Zone-aware routing is skipped while priority 0 has fewer healthy endpoints than this.
  std::uint32_t min_cluster_size = 6;
};

namespace detail {

inline void validate(const locality_options& o) {
  const option_check check{"locality_aware"};
  check.at_least("overprovisioning_factor", o.overprovisioning_factor, 1u);
  std::set<locality> seen;
  for (const auto& w : o.locality_weights) {
    check.at_least("locality_weights.weight", w.weight, 1u);
    check.that(seen.insert(w.where).second, "locality_weights.where", "unique", w.where);
  }
  seen.clear();
  for (const auto& h : o.local_cluster)
    check.that(seen.insert(h.where).second, "local_cluster.where", "unique", h.where);
  check.that(o.local_cluster.empty() == !o.local.has_value(), "local",
             "set exactly when local_cluster is non-empty",
             o.local ? to_string(*o.local) : std::string{"unset"});
  check.that(o.locality_weights.empty() || o.local_cluster.empty(), "local_cluster",
             "empty when locality_weights are given", o.local_cluster.size());
}

/// One priority level's membership: endpoints, and how many of them are healthy.
struct level_counts {
  std::size_t hosts = 0;
  std::size_t healthy = 0;
};

/// The outcome of LoadBalancerBase::recalculatePerPriorityState and
/// recalculatePerPriorityPanic for levels in priority order (integer percentages, as Envoy).
struct priority_plan {
  std::vector<std::uint32_t> health;          ///< min(100, factor x healthy / hosts)
  std::vector<std::uint32_t> load;            ///< share of requests, sums to 100
  std::vector<bool> panic;                    ///< the level routes to all its endpoints
  std::uint32_t normalized_total_health = 0;  ///< min(100, sum of health)
  bool total_panic = false;                   ///< every level in panic: load by host count
};

inline bool level_in_panic(const level_counts& c, double panic_threshold) noexcept {
  // isHostSetInPanic: healthy percent below the threshold (an empty level counts as 0%).
  const double share =
      c.hosts == 0 ? 0.0 : static_cast<double>(c.healthy) / static_cast<double>(c.hosts);
  return share < panic_threshold;
}

inline priority_plan plan_priorities(std::span<const level_counts> levels,
                                     std::uint32_t overprovisioning_factor,
                                     double panic_threshold) {
  priority_plan p;
  const std::size_t n = levels.size();
  p.health.assign(n, 0);
  p.load.assign(n, 0);
  p.panic.assign(n, false);
  if (n == 0) return p;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (levels[i].hosts == 0) continue;
    // Integer arithmetic in Envoy's order: factor x healthy first, then / hosts.
    p.health[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        100, std::uint64_t{overprovisioning_factor} * levels[i].healthy / levels[i].hosts));
    sum += p.health[i];
  }
  p.normalized_total_health = static_cast<std::uint32_t>(std::min<std::uint64_t>(100, sum));
  const std::uint32_t total = p.normalized_total_health;
  if (total > 0) {
    // distributeLoad: each level in order takes health x 100 / total of what is left; the
    // rounding remainder goes to the first level with any health.
    std::uint32_t remaining = 100;
    std::optional<std::size_t> first;
    for (std::size_t i = 0; i < n; ++i) {
      if (!first && p.health[i] > 0) first = i;
      p.load[i] = std::min(remaining, p.health[i] * 100 / total);
      remaining -= p.load[i];
    }
    p.load[*first] += remaining;
  }
  if (panic_threshold <= 0.0 && total == 0) {
    // Panic disabled and nothing healthy: P=0 nominally takes everything; nothing is routable.
    p.load[0] = 100;
    return p;
  }
  // A level panics only while the levels together cannot carry the load.
  p.total_panic = true;
  for (std::size_t i = 0; i < n; ++i) {
    p.panic[i] = total != 100 && level_in_panic(levels[i], panic_threshold);
    p.total_panic = p.total_panic && p.panic[i];
  }
  if (p.total_panic) {
    // recalculateLoadInTotalPanic: load by host count, the remainder to the first non-empty.
    std::size_t hosts = 0;
    for (const auto& l : levels)
      hosts += l.hosts;
    std::fill(p.load.begin(), p.load.end(), 0u);
    if (hosts == 0) {
      p.load[0] = 100;
      return p;
    }
    std::uint32_t remaining = 100;
    std::optional<std::size_t> first;
    for (std::size_t i = 0; i < n; ++i) {
      if (!first && levels[i].hosts != 0) first = i;
      p.load[i] = static_cast<std::uint32_t>(100 * levels[i].hosts / hosts);
      remaining -= p.load[i];
    }
    p.load[*first] += remaining;
  }
  return p;
}

/// LoadBalancerBase::choosePriority: `draw` % 100 + 1 against the running sum of loads.
inline std::size_t choose_priority(std::span<const std::uint32_t> load,
                                   std::uint64_t draw) noexcept {
  const std::uint64_t target = draw % 100 + 1;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < load.size(); ++i) {
    sum += load[i];
    if (target <= sum) return i;
  }
  return 0;  // unreachable while the loads sum to 100
}

/// HostSetImpl::effectiveLocalityWeight: weight x min(1, factor / 100 x healthy / hosts).
inline double effective_locality_weight(std::uint32_t weight, std::size_t healthy,
                                        std::size_t hosts,
                                        std::uint32_t overprovisioning_factor) noexcept {
  if (hosts == 0) return 0.0;
  const double ratio = static_cast<double>(healthy) / static_cast<double>(hosts);
  return static_cast<double>(weight) *
         std::min(1.0, static_cast<double>(overprovisioning_factor) / 100.0 * ratio);
}

/// Zone-aware routing's state for priority 0 (ZoneAwareLoadBalancerBase::
/// regenerateLocalityRoutingStructures): off, all local traffic stays local ("direct"), or
/// only local_percent_to_route / 10000 of it does and the rest goes to the localities with
/// spare capacity ("residual"), chosen in proportion to it.
struct zone_plan {
  enum class mode { none, direct, residual };
  mode state = mode::none;
  std::size_t local = 0;                     ///< index of the local locality
  std::uint64_t local_percent_to_route = 0;  ///< in 1/10000ths
  std::vector<std::uint64_t> residual{};     ///< running sums of spare capacity, 1/10000ths
};

/// Shares in 1/10000ths, as calculateLocalityPercentage (truncating).
inline std::vector<std::uint64_t> locality_percentages(std::span<const std::size_t> hosts) {
  std::uint64_t total = 0;
  for (const auto h : hosts)
    total += h;
  std::vector<std::uint64_t> out;
  out.reserve(hosts.size());
  for (const auto h : hosts)
    out.push_back(total > 0 ? 10000 * std::uint64_t{h} / total : 0);
  return out;
}

/// `upstream_healthy[i]` and `local_hosts[i]` describe the same locality i; `local` is this
/// client's. The early exits are earlyExitNonLocalityRouting's: fewer than two localities,
/// no healthy upstream endpoint in the local locality, or fewer healthy upstream endpoints in
/// all than `min_cluster_size`.
inline zone_plan plan_zone_routing(std::span<const std::size_t> upstream_healthy,
                                   std::span<const std::size_t> local_hosts, std::size_t local,
                                   std::size_t min_cluster_size) {
  zone_plan z;
  z.local = local;
  const std::size_t n = upstream_healthy.size();
  if (n < 2 || local_hosts.size() != n || local >= n || upstream_healthy[local] == 0) return z;
  std::size_t healthy = 0;
  for (const auto h : upstream_healthy)
    healthy += h;
  if (healthy < min_cluster_size) return z;
  const auto upstream = locality_percentages(upstream_healthy);
  const auto local_pct = locality_percentages(local_hosts);
  if (upstream[local] >= local_pct[local]) {
    z.state = zone_plan::mode::direct;
    return z;
  }
  z.state = zone_plan::mode::residual;
  z.local_percent_to_route = upstream[local] * 10000 / local_pct[local];
  z.residual.assign(n, 0);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i != local && upstream[i] > local_pct[i]) sum += upstream[i] - local_pct[i];
    z.residual[i] = sum;
  }
  return z;
}

/// tryChooseLocalLocalityHosts: the locality index for one pick given two random draws.
/// Where Envoy's scan can stop at the local locality when the cross-zone draw is 0 (a
/// TODO in its source), this takes the first locality whose running sum exceeds the draw,
/// so cross-zone traffic never lands locally.
inline std::size_t choose_zone(const zone_plan& z, std::uint64_t draw, std::uint64_t cross_draw,
                               bool& cross) noexcept {
  cross = false;
  if (z.state == zone_plan::mode::direct) return z.local;
  if (draw % 10000 < z.local_percent_to_route) return z.local;
  cross = true;
  const std::uint64_t capacity = z.residual.back();
  if (capacity == 0) return static_cast<std::size_t>(cross_draw % z.residual.size());
  const std::uint64_t threshold = cross_draw % capacity;
  std::size_t i = 0;
  while (threshold >= z.residual[i])
    ++i;
  return i;
}

}  // namespace detail

}  // namespace bulwark
