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
#include "bulwark/balancing/named_policy.hpp"
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
  static std::shared_ptr<T> build(const Options& o, const Clock& clock, std::string_view) {
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
  static std::shared_ptr<T> build(const Options& o, const Clock& clock, std::string_view) {
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
  static std::shared_ptr<T> build(const Options& o, const C& clock, std::string_view) {
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
// endpoint whose id stays (a weight-only change is set_weight's); its balancer options and its
// policy are fixed at construction, as load_balancer fixes them, so a change to one is refused.
// The policy is the getter's type; named_policy takes the options' `policy` name instead.
template <class Policy, class Clock>
struct instance_ops<load_balancer<Policy, Clock>, load_balancer_registry_options> {
  using T = load_balancer<Policy, Clock>;
  using Options = load_balancer_registry_options;
  static constexpr bool in_place = true;

  static std::shared_ptr<T> build(const Options& o, const Clock& clock, std::string_view name) {
    return std::make_shared<T>(o.endpoints, o.balancer, make_policy(o.policy, name), clock);
  }
  static void check(const T& t, const Options& o, std::string_view kind, std::string_view name) {
    if constexpr (std::is_same_v<Policy, named_policy>) {
      const std::string next{o.policy.empty() ? named_policy{}.name() : o.policy};
      if (t.policy().name() != next)
        refuse_live_change(kind, name, "policy", std::string{t.policy().name()}, next);
    } else {
      check_policy_type(o.policy, name);
    }
    check_same_balancer(t.options(), o.balancer, kind, name);
  }
  static void reconfigure(T& t, const Options& o) { t.update(o.endpoints); }
  // The members now, with their current weights (set_weight may have changed them).
  static std::string describe(const T& t) {
    Options now{{}, t.options(), {}};
    for (const auto* state : t.snapshot()->members()) {
      now.endpoints.push_back(state->description());
      now.endpoints.back().weight = state->weight();
    }
    return describe_limits(now);
  }

 private:
  static Policy make_policy(const std::string& policy, std::string_view name) {
    if constexpr (std::is_same_v<Policy, named_policy>) {
      return policy.empty() ? named_policy{} : named_policy{policy};
    } else {
      check_policy_type(policy, name);
      return Policy{};
    }
  }
  // A policy named in the options must be the getter's own type.
  static void check_policy_type(const std::string& policy, std::string_view name) {
    constexpr std::string_view type = policy_name<Policy>();
    if (policy.empty() || policy == type) return;
    raise<std::invalid_argument>(
        "bulwark::registry: load_balancer '" + std::string{name} + "': its options name policy " +
        policy + ", but it is got as load_balancer<" +
        (type.empty() ? std::string{"a policy of your own"} : std::string{type}) +
        ">; get it as load_balancer<bulwark::named_policy> to let the options choose");
  }
};

}  // namespace bulwark::detail
