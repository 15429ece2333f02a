#pragma once
// How a registry builds, checks, reconfigures and describes an instance of each kind. Most
// guards are built from (options, clock) and take the same options in reconfigure(); the keyed
// limiters split theirs into per-key and table options, adaptive limiters cannot change
// theirs live, and load balancers take new endpoints live but not new balancer options.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bulwark/balancing/load_balancer.hpp"
#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"
#include "bulwark/registry/detail/describe.hpp"
#include "bulwark/registry/keyed_options.hpp"
#include "bulwark/registry/load_balancer_options.hpp"

namespace bulwark::detail {

template <class T, class Options>
struct instance_ops {
  // Whether reconfigure() keeps the instance; otherwise the registry rebuilds it.
  static constexpr bool in_place = requires(T & t, const Options& o) { t.reconfigure(o); };

  template <class Clock>
  static std::shared_ptr<T> build(const Options& o, const Clock& clock) {
    return std::make_shared<T>(o, clock);
  }
  static void check(const T& t, const Options& o, std::string_view, std::string_view) {
    if constexpr (requires { t.check_reconfigure(o); }) t.check_reconfigure(o);
  }
  static void reconfigure(T& t, const Options& o) {
    if constexpr (in_place) t.reconfigure(o);
  }
  static std::string describe(const T& t) {
    if constexpr (requires { t.options(); }) {
      return describe_limits(t.options());
    } else {
      return {};
    }
  }
};

template <class Limiter, class Key, class Hash, class PerKey>
struct instance_ops<keyed_limiter<Limiter, Key, Hash>, keyed_registry_options<PerKey>> {
  using T = keyed_limiter<Limiter, Key, Hash>;
  using Options = keyed_registry_options<PerKey>;
  static constexpr bool in_place = true;

  template <class Clock>
  static std::shared_ptr<T> build(const Options& o, const Clock& clock) {
    return std::make_shared<T>(o.per_key, o.table, clock);
  }
  // The table is fixed; the per-key options change as the limiter's own reconfigure allows.
  static void check(const T& t, const Options& o, std::string_view kind, std::string_view name) {
    check_same_table(t.options(), o.table, kind, name);
    t.check_reconfigure(o.per_key);
  }
  static void reconfigure(T& t, const Options& o) { t.reconfigure(o.per_key); }
  static std::string describe(const T& t) {
    return describe_limits(Options{t.per_key_options(), t.options()});
  }
};

// An adaptive limiter's algorithm holds its learned limit and latency averages, and has no
// reconfigure(): rebuilding it would drop them and, worse, leave every holder of the old
// object on the old options while the registry reported the change done. So new options for
// a live one are refused, naming it; removing it (or dropping it from a config document) and
// getting it again builds one from the new options.
template <class Limit, class Clock, class Options>
struct instance_ops<adaptive_limiter<Limit, Clock>, Options> {
  using T = adaptive_limiter<Limit, Clock>;
  static constexpr bool in_place = true;  // never reached: check() refuses first

  template <class C>
  static std::shared_ptr<T> build(const Options& o, const C& clock) {
    return std::make_shared<T>(o, clock);
  }
  static void check(const T&, const Options&, std::string_view kind, std::string_view name) {
    raise<std::invalid_argument>("bulwark::registry: " + std::string{kind} + " '" +
                                 std::string{name} +
                                 "' cannot take new options live (an adaptive limiter keeps "
                                 "its learned limit); remove the instance to rebuild it");
  }
  static void reconfigure(T&, const Options&) {}
  static std::string describe(const T& t) { return "limit " + to_message_text(t.limit()); }
};

// A load balancer's endpoints change in place through update(), which keeps the state of every
// endpoint whose id stays (a weight-only change is set_weight's); its balancer options are
// fixed at construction, as load_balancer fixes them, so a change to one is refused.
template <class Policy, class Clock>
struct instance_ops<load_balancer<Policy, Clock>, load_balancer_registry_options> {
  using T = load_balancer<Policy, Clock>;
  using Options = load_balancer_registry_options;
  static constexpr bool in_place = true;

  static std::shared_ptr<T> build(const Options& o, const Clock& clock) {
    return std::make_shared<T>(o.endpoints, o.balancer, Policy{}, clock);
  }
  static void check(const T& t, const Options& o, std::string_view kind, std::string_view name) {
    check_same_balancer(t.options(), o.balancer, kind, name);
  }
  static void reconfigure(T& t, const Options& o) { t.update(o.endpoints); }
  // The members now, with their current weights (set_weight may have changed them).
  static std::string describe(const T& t) {
    Options now{{}, t.options()};
    for (const auto* state : t.snapshot()->members()) {
      now.endpoints.push_back(state->description());
      now.endpoints.back().weight = state->weight();
    }
    return describe_limits(now);
  }
};

}  // namespace bulwark::detail
