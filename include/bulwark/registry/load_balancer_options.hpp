#pragma once
// The options of a registry's load balancers: the endpoints and the balancer's options, as one
// value that configs, definitions and reloads carry, and what of it may change live.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/balancing/load_balancer.hpp"
#include "bulwark/balancing/named_policy.hpp"
#include "bulwark/balancing/outlier.hpp"
#include "bulwark/registry/detail/live_change.hpp"
#include "bulwark/registry/events.hpp"

namespace bulwark {

/// registry_kind::load_balancer's options. `endpoints` change live (load_balancer::update:
/// an endpoint whose id stays keeps its state, and a weight-only change is set_weight's);
/// `balancer` and `policy` are fixed when the instance is built, as load_balancer fixes them:
/// a reconfigure that changes one is refused, naming the field and both values.
struct load_balancer_registry_options {
  std::vector<endpoint> endpoints{};
  balancer_options balancer{};
  /// A built-in policy's name (named_policy::names()): the policy of a balancer got as
  /// `load_balancer<named_policy>`. Empty: round_robin there. Any other getter's type is its
  /// policy, and a name here must then be that type's (else the get throws).
  std::string policy{};
};

namespace detail {

inline void validate(const load_balancer_registry_options& options) {
  if (!options.policy.empty()) check_policy_name(options.policy);
  validate(options.balancer);
  if (options.balancer.outlier) validate(*options.balancer.outlier);
  validate(options.endpoints);
}

// Throws std::invalid_argument naming the first balancer option that differs (the listener,
// on_change, is not compared: the registry installs its own).
inline void check_same_balancer(const balancer_options& now, const balancer_options& next,
                                std::string_view kind, std::string_view name) {
  const auto same = [&](std::string_view field, const auto& a, const auto& b) {
    check_same(kind, name, field, a, b);
  };
  same("panic_threshold", now.panic_threshold, next.panic_threshold);
  same("ewma_window", now.ewma_window, next.ewma_window);
  same("slow_start.window", now.slow_start.window, next.slow_start.window);
  same("slow_start.aggression", now.slow_start.aggression, next.slow_start.aggression);
  same("slow_start.min_weight_percent", now.slow_start.min_weight_percent,
       next.slow_start.min_weight_percent);
  if (now.outlier.has_value() != next.outlier.has_value())
    refuse_live_change(kind, name, "outlier", now.outlier ? "on" : "off",
                       next.outlier ? "on" : "off");
  if (!now.outlier) return;
  // Each outlier field, named "outlier.<field>".
  using o = outlier_options;
  const auto outlier = [&](std::string_view field, auto o::*member) {
    check_same(kind, name, "outlier." + std::string{field}, (*now.outlier).*member,
               (*next.outlier).*member);
  };
  outlier("consecutive_failures", &o::consecutive_failures);
  outlier("enforcing_consecutive_failures", &o::enforcing_consecutive_failures);
  outlier("interval", &o::interval);
  outlier("base_ejection_time", &o::base_ejection_time);
  outlier("max_ejection_time", &o::max_ejection_time);
  outlier("max_ejection_percent", &o::max_ejection_percent);
  outlier("always_eject_one_host", &o::always_eject_one_host);
  outlier("enforcing_success_rate", &o::enforcing_success_rate);
  outlier("success_rate_minimum_hosts", &o::success_rate_minimum_hosts);
  outlier("success_rate_request_volume", &o::success_rate_request_volume);
  outlier("success_rate_stdev_factor", &o::success_rate_stdev_factor);
  outlier("failure_percentage_threshold", &o::failure_percentage_threshold);
  outlier("enforcing_failure_percentage", &o::enforcing_failure_percentage);
  outlier("failure_percentage_minimum_hosts", &o::failure_percentage_minimum_hosts);
  outlier("failure_percentage_request_volume", &o::failure_percentage_request_volume);
}

// The balancer's listeners in a registry: the user's own (if any), then the sink's event, an
// `ejection` for the outlier detector's changes and a `health` for set_healthy's. They run under
// the balancer's writer lock, an ejection's in a noexcept path: they only forward views (the
// endpoint leaving rotation is `to`, one back in rotation is `from`), allocating nothing.
inline void forward_balancer_events(balancer_options& options, std::shared_ptr<event_hub> hub,
                                    std::string name) {
  const auto leaving = [](bool out, std::string_view id) {
    return std::pair{out ? std::string_view{} : id, out ? id : std::string_view{}};
  };
  options.on_health_change = [hub, name, leaving,
                              user = std::move(options.on_health_change)](const health_event& e) {
    if (user) user(e);
    const auto [from, to] = leaving(!e.healthy, e.endpoint);
    hub->emit({registry_event_type::health, "load_balancer", name, from, to, e.time});
  };
  if (!options.outlier) return;
  options.outlier->on_change = [hub = std::move(hub), name = std::move(name), leaving,
                                user =
                                    std::move(options.outlier->on_change)](const outlier_event& e) {
    if (user) user(e);
    const auto [from, to] = leaving(e.ejected, e.endpoint);
    hub->emit({registry_event_type::ejection, "load_balancer", name, from, to, e.time});
  };
}

}  // namespace detail
}  // namespace bulwark
