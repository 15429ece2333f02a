#pragma once
// locality_aware<Policy>: Envoy's three-stage pick. A priority level by the levels' health
// (with failover and per-level panic), then a locality within it (locality weights, or
// zone-aware routing towards the caller's own zone), then `Policy` over the endpoints left.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/balancing/load_balancer.hpp"
#include "bulwark/balancing/locality.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Counters of one locality_aware policy, named after Envoy's cluster statistics.
struct locality_aware_metrics {
  std::uint64_t picks = 0;
  std::uint64_t failover_picks = 0;  ///< picks served by a level below the highest present
  std::uint64_t healthy_panic = 0;   ///< lb_healthy_panic: picks from a level in panic
  std::uint64_t zone_routing_all_directly = 0;
  std::uint64_t zone_routing_sampled = 0;
  std::uint64_t zone_routing_cross_zone = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"picks_total", "Picks.", metric_type::counter, picks});
    visit(metric{"failover_picks_total", "Picks served by a lower priority level.",
                 metric_type::counter, failover_picks});
    visit(metric{"healthy_panic_total", "Picks from a priority level in panic.",
                 metric_type::counter, healthy_panic});
    visit(metric{"zone_routing_all_directly_total", "Picks kept local: enough local capacity.",
                 metric_type::counter, zone_routing_all_directly});
    visit(metric{"zone_routing_sampled_total", "Picks kept local by the local share.",
                 metric_type::counter, zone_routing_sampled});
    visit(metric{"zone_routing_cross_zone_total", "Picks sent to another zone.",
                 metric_type::counter, zone_routing_cross_zone});
  }
};

/// What locality_aware computed for one snapshot, for inspection (tests, debugging): the
/// priority values present in order, Envoy's plan over them, and for each level its
/// localities (sorted) with their effective weights.
struct locality_plan {
  std::vector<std::uint32_t> priorities;
  detail::priority_plan priority;
  std::vector<std::vector<locality>> localities;
  std::vector<std::vector<double>> effective_weights;  ///< locality-weighted mode only
  detail::zone_plan zone;                              ///< priority 0 only
};

/// Envoy's priority levels, locality-weighted balancing and zone-aware routing around any
/// balancing policy. Each endpoint's `priority` and locality (region, zone, sub_zone) place
/// it; with none set (all priority 0, one locality) this picks exactly as `Policy` does.
///
/// Per snapshot (prepare(), called by load_balancer on every publish) it groups members into
/// levels and localities and runs Envoy's arithmetic (locality.hpp); per pick it draws a
/// level by the priority load, takes all of the level's endpoints if the level is in panic,
/// otherwise picks a locality (by smooth weighted round robin over the effective locality
/// weights, or by zone-aware routing at priority 0) and lets a per-(level, locality) instance
/// of `Policy` pick within it. Each instance keeps its state (rotation, smooth WRR values)
/// across snapshots. The balancer's panic_threshold is the per-level threshold; the
/// balancer-wide panic flag in its metrics is the whole-set one.
///
/// Thread-safety: pick() is safe from any thread (the locality rotation takes a mutex per
/// snapshot, held for O(localities)); prepare() runs under the balancer's writer lock.
/// Complexity: pick O(levels + localities) plus `Policy`; prepare O(n log n).
template <balancing_policy Policy>
class locality_aware {
 public:
  /// Completions feed the latency estimates when `Policy` learns from them (p2c_peak_ewma).
  static constexpr bool uses_latency = detail::uses_latency_v<Policy>;

  locality_aware() : locality_aware(locality_options{}) {}
  /// Throws std::invalid_argument for bad options.
  explicit locality_aware(locality_options options)
      : locality_aware(std::move(options), [] { return Policy{}; }) {}
  /// Each level's and locality's `Policy` made by `make_policy` rather than default-constructed:
  /// a policy chosen at run time (`[] { return named_policy{"p2c_peak_ewma"}; }`) or one
  /// built with arguments. Throws std::invalid_argument for bad options or an empty function.
  locality_aware(locality_options options, std::function<Policy()> make_policy)
      : options_{(detail::validate(options), std::move(options))},
        make_policy_{(check_maker(make_policy), std::move(make_policy))},
        fallback_{std::make_unique<Policy>(make_policy_())} {
    for (const auto& w : options_.locality_weights)
      weights_.emplace(w.where, w.weight);
    for (const auto& h : options_.local_cluster)
      local_hosts_.emplace(h.where, h.hosts);
  }
  locality_aware(locality_aware&&) noexcept = default;

  /// Whether completions must feed the latency estimates, for a `Policy` that decides it at
  /// run time (named_policy): as the policies made by `make_policy` do.
  [[nodiscard]] bool observes_latency() const noexcept {
    return detail::observes_latency(*fallback_);
  }

  /// Builds the snapshot's levels and localities; see the class comment.
  std::shared_ptr<const void> prepare(const endpoint_set& set) {
    auto t = std::make_shared<table>();
    std::map<std::uint32_t, std::map<locality, std::vector<endpoint_state*>>> grouped;
    for (auto* s : set.members())
      grouped[s->description().priority][locality_of(s->description())].push_back(s);
    std::vector<detail::level_counts> counts;
    for (const auto& [priority, by_locality] : grouped) {
      detail::level_counts c;
      for (const auto& [where, states] : by_locality) {
        c.hosts += states.size();
        for (const auto* s : states)
          if (healthy(*s)) ++c.healthy;
      }
      counts.push_back(c);
      t->priorities.push_back(priority);
    }
    t->priority =
        detail::plan_priorities(counts, options_.overprovisioning_factor, set.panic_threshold());
    const bool per_locality = !options_.locality_weights.empty() || options_.local.has_value();
    std::size_t index = 0;
    for (const auto& [priority, by_locality] : grouped) {
      level& l = t->levels.emplace_back();
      const bool panic = t->priority.panic[index++];
      std::vector<endpoint_state*> all;
      for (const auto& [where, states] : by_locality)
        all.insert(all.end(), states.begin(), states.end());
      l.whole = child(set, std::move(all), panic);
      l.whole_policy = inner(priority, std::nullopt);
      auto& names = t->localities.emplace_back();
      auto& weights = t->effective_weights.emplace_back();
      for (const auto& [where, states] : by_locality) {
        names.push_back(where);
        if (!per_locality) continue;
        std::size_t up = 0;
        for (const auto* s : states)
          if (healthy(*s)) ++up;
        l.groups.push_back({child(set, states, false), inner(priority, where)});
        l.healthy.push_back(up);
        if (!options_.locality_weights.empty()) {
          const auto w = weights_.find(where);
          weights.push_back(detail::effective_locality_weight(w == weights_.end() ? 0 : w->second,
                                                              up, states.size(),
                                                              options_.overprovisioning_factor));
        }
      }
      l.current.assign(weights.size(), 0.0);
      if (priority == 0 && options_.local) plan_zone(*t, l, names);
    }
    return t;
  }

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) {
    counters_->picks.add();
    const auto* t = static_cast<const table*>(set.prepared());
    if (t == nullptr || t->levels.empty()) return fallback_->pick(set, context);
    std::size_t li = 0;
    if (t->levels.size() > 1) li = detail::choose_priority(t->priority.load, context.rng()());
    if (li > 0) counters_->failover.add();
    const level& l = t->levels[li];
    if (t->priority.panic[li]) {
      counters_->panic.add();
      return within(set, *l.whole, *l.whole_policy, context);
    }
    if (!t->effective_weights[li].empty()) {
      if (const auto g = next_locality(*t, li))
        return within(set, *l.groups[*g].set, *l.groups[*g].policy, context);
    } else if (t->priorities[li] == 0 && t->zone.state != detail::zone_plan::mode::none) {
      bool cross = false;
      const auto g = detail::choose_zone(t->zone, context.rng()(), context.rng()(), cross);
      if (cross)
        counters_->cross.add();
      else if (t->zone.state == detail::zone_plan::mode::direct)
        counters_->direct.add();
      else
        counters_->sampled.add();
      return within(set, *l.groups[g].set, *l.groups[g].policy, context);
    }
    return within(set, *l.whole, *l.whole_policy, context);
  }

  /// The plan of a snapshot this policy prepared (null for any other set).
  [[nodiscard]] static const locality_plan* plan(const endpoint_set& set) noexcept {
    return static_cast<const table*>(set.prepared());
  }

  [[nodiscard]] locality_aware_metrics metrics() const noexcept {
    return {counters_->picks.load(),  counters_->failover.load(), counters_->panic.load(),
            counters_->direct.load(), counters_->sampled.load(),  counters_->cross.load()};
  }

  [[nodiscard]] const locality_options& options() const noexcept { return options_; }

 private:
  struct group {
    std::shared_ptr<const endpoint_set> set;
    Policy* policy;
  };
  struct level {
    std::shared_ptr<const endpoint_set> whole;  // healthy endpoints, or all in panic
    Policy* whole_policy = nullptr;
    std::vector<group> groups;  // per locality, healthy endpoints (when localities matter)
    std::vector<std::size_t> healthy;
    // Smooth WRR state over the effective weights: the one mutable part of a snapshot's
    // table, guarded by the table's mutex.
    mutable std::vector<double> current;
  };
  struct table : locality_plan {
    std::vector<level> levels;
    mutable std::mutex mutex;
  };
  struct counters {
    metric_counter picks, failover, panic, direct, sampled, cross;
  };

  static void check_maker(const std::function<Policy()>& make_policy) {
    if (!make_policy) {
      detail::raise<std::invalid_argument>(
          "bulwark::locality_aware: make_policy must be a function (got an empty one)");
    }
  }

  static bool healthy(const endpoint_state& s) noexcept {
    return !s.active_unhealthy.load(std::memory_order_relaxed) &&
           !s.ejected.load(std::memory_order_relaxed);
  }

  // A sub-snapshot for an inner policy: the parent's version and slow start, no owner (each
  // inner instance only ever sees one balancer's sets). The threshold forces the routable
  // list: 0 keeps only healthy members, above 1 makes every member routable.
  static std::shared_ptr<const endpoint_set> child(const endpoint_set& parent,
                                                   std::vector<endpoint_state*> members, bool all) {
    return std::make_shared<const endpoint_set>(std::move(members), all ? 2.0 : 0.0,
                                                parent.version(), parent.slow_start());
  }

  // Inner policies live as long as this policy: a picker may still hold an older snapshot
  // pointing at one. Called only from prepare(), under the balancer's writer lock.
  Policy* inner(std::uint32_t priority, std::optional<locality> where) {
    auto& slot = inner_[{priority, std::move(where)}];
    if (!slot) slot = std::make_unique<Policy>(make_policy_());
    return slot.get();
  }

  void plan_zone(table& t, const level& l, const std::vector<locality>& names) const {
    std::vector<std::size_t> local;
    std::size_t here = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto found = local_hosts_.find(names[i]);
      if (found == local_hosts_.end()) return;  // the two clusters' localities differ
      local.push_back(found->second);
      if (names[i] == *options_.local) here = i;
    }
    if (local.size() != local_hosts_.size() || here == names.size()) return;
    t.zone = detail::plan_zone_routing(l.healthy, local, here, options_.min_cluster_size);
  }

  // Smooth weighted round robin over the level's effective locality weights; none when
  // every weight is 0 (Envoy then falls back to the level's healthy endpoints).
  static std::optional<std::size_t> next_locality(const table& t, std::size_t li) {
    const auto& weights = t.effective_weights[li];
    auto& current = t.levels[li].current;
    const std::lock_guard<std::mutex> lock{t.mutex};
    double total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      current[i] += weights[i];
      total += weights[i];
      if (!best || current[i] > current[*best]) best = i;
    }
    if (best) current[*best] -= total;
    return best;
  }

  template <class Context>
  endpoint_state* within(const endpoint_set& parent, const endpoint_set& chosen, Policy& policy,
                         Context& context) {
    // An empty choice (a level or locality without healthy endpoints that still drew the
    // pick) falls back to the whole set, which load_balancer guarantees is not empty.
    if (chosen.routable().empty()) return fallback_->pick(parent, context);
    return policy.pick(chosen, context);
  }

  locality_options options_;
  std::map<locality, std::uint32_t> weights_;
  std::map<locality, std::size_t> local_hosts_;
  std::function<Policy()> make_policy_;
  std::map<std::pair<std::uint32_t, std::optional<locality>>, std::unique_ptr<Policy>> inner_;
  std::unique_ptr<Policy> fallback_;
  std::unique_ptr<counters> counters_ = std::make_unique<counters>();
};

}  // namespace bulwark
