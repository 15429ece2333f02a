#pragma once
// A balancing policy chosen at run time by its name, so that a config file can say which one
// a load balancer uses ("policy": "p2c_peak_ewma"), as Envoy's lb_policy does.

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/balancing/least_request.hpp"
#include "bulwark/balancing/policy.hpp"
#include "bulwark/balancing/round_robin.hpp"
#include "bulwark/balancing/sticky.hpp"
#include "bulwark/balancing/weighted.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

namespace detail {

// The built-in policies a name can choose, in the order named_policy::names() lists them.
using named_policies =
    std::variant<round_robin, random_choice, weighted_round_robin, stride_round_robin,
                 weighted_random, least_outstanding, power_of_two, p2c_peak_ewma, sticky>;

inline constexpr std::array<std::string_view, std::variant_size_v<named_policies>> policy_names = {
    "round_robin",        "random_choice",   "weighted_round_robin",
    "stride_round_robin", "weighted_random", "least_outstanding",
    "power_of_two",       "p2c_peak_ewma",   "sticky"};

/// The name of built-in policy P (its type's name), or "" for any other policy.
template <class P, std::size_t I = 0>
[[nodiscard]] constexpr std::string_view policy_name() noexcept {
  if constexpr (I == policy_names.size()) {
    return {};
  } else if constexpr (std::is_same_v<P, std::variant_alternative_t<I, named_policies>>) {
    return policy_names[I];
  } else {
    return policy_name<P, I + 1>();
  }
}

// Whether `name` is a built-in policy's name.
[[nodiscard]] constexpr bool is_policy_name(std::string_view name) noexcept {
  for (std::string_view known : policy_names)
    if (known == name) return true;
  return false;
}

// Throws std::invalid_argument naming the option, every name it takes and the value given.
inline void check_policy_name(std::string_view name) {
  if (is_policy_name(name)) return;
  std::string message = "bulwark::load_balancer: policy must be one of ";
  for (std::size_t i = 0; i < policy_names.size(); ++i)
    message.append(i == 0 ? "" : ", ").append(policy_names[i]);
  raise<std::invalid_argument>(message + " (got \"" + std::string{name} + "\")");
}

inline named_policies make_named_policy(std::string_view name) {
  check_policy_name(name);
  named_policies policy;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((name == policy_names[I] ? (void)policy.emplace<I>() : (void)0), ...);
  }
  (std::make_index_sequence<policy_names.size()>{});
  return policy;
}

}  // namespace detail

/// One of the built-in policies, chosen by its type's name when the balancer is built:
/// "round_robin", "random_choice", "weighted_round_robin", "stride_round_robin",
/// "weighted_random", "least_outstanding", "power_of_two", "p2c_peak_ewma" or "sticky" (each
/// default-constructed). It picks exactly as that policy does (one switch on the held index
/// more per pick), and completions feed the latency estimates only when it is p2c_peak_ewma.
/// A registry's `load_balancer<named_policy>(name)` takes the name from the instance's
/// `policy` option (a config file's "policy" key); round_robin when none is given.
/// Inside locality_aware, give it the function that makes each level's and locality's policy
/// (`locality_aware<named_policy>{options, [] { return named_policy{"p2c_peak_ewma"}; }}`):
/// default-constructed, they would all be round_robin.
///
/// Thread-safety: as the chosen policy's (every built-in one is safe from any thread).
class named_policy {
 public:
  /// round_robin.
  named_policy() = default;
  /// Throws std::invalid_argument naming the option and the value when `name` is none of
  /// names().
  explicit named_policy(std::string_view name) : policy_{detail::make_named_policy(name)} {}

  /// Every name the constructor takes.
  [[nodiscard]] static constexpr const auto& names() noexcept { return detail::policy_names; }

  /// The chosen policy's name.
  [[nodiscard]] std::string_view name() const noexcept { return names()[policy_.index()]; }

  /// Whether completions must feed latency estimates (p2c_peak_ewma): load_balancer asks
  /// this where a policy type declares `uses_latency` (policy.hpp).
  [[nodiscard]] bool observes_latency() const noexcept {
    return std::holds_alternative<p2c_peak_ewma>(policy_);
  }

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) {
    return std::visit([&](auto& policy) { return policy.pick(set, context); }, policy_);
  }

 private:
  detail::named_policies policy_{};
};

}  // namespace bulwark
