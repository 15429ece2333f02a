#pragma once
// The kinds a bulwark::registry holds: one options type per kind, in one table that the
// registry, its Prometheus export and the config add-on all index the same way.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/cache/cache_options.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"
#include "bulwark/registry/keyed_options.hpp"
#include "bulwark/registry/load_balancer_options.hpp"
#include "bulwark/retry/policy.hpp"

namespace bulwark {

/// The guard kinds a registry holds, one per options type (registry_kind_options lists them
/// in this order).
enum class registry_kind : std::uint8_t {
  circuit_breaker,
  gcra,
  token_bucket,
  bulkhead,
  retry,
  cache,
  keyed_gcra,          ///< keyed_limiter<gcra<Clock>, Key>
  keyed_token_bucket,  ///< keyed_limiter<token_bucket<Clock>, Key>
  aimd_limiter,        ///< adaptive_limiter<aimd_limit, Clock>
  gradient2_limiter,   ///< adaptive_limiter<gradient2_limit, Clock>
  load_balancer,       ///< load_balancer<Policy, Clock>, the policy chosen by the getter
};

/// Every kind, in the enum's order.
inline constexpr registry_kind registry_kinds[] = {
    registry_kind::circuit_breaker, registry_kind::gcra,
    registry_kind::token_bucket,    registry_kind::bulkhead,
    registry_kind::retry,           registry_kind::cache,
    registry_kind::keyed_gcra,      registry_kind::keyed_token_bucket,
    registry_kind::aimd_limiter,    registry_kind::gradient2_limiter,
    registry_kind::load_balancer};

/// The kind's name: "circuit_breaker", "gcra", "token_bucket", "bulkhead", "retry", "cache",
/// "keyed_gcra", "keyed_token_bucket", "aimd_limiter", "gradient2_limiter", "load_balancer".
[[nodiscard]] constexpr std::string_view to_string(registry_kind k) noexcept {
  constexpr std::string_view names[] = {
      "circuit_breaker", "gcra",       "token_bucket",       "bulkhead",     "retry",
      "cache",           "keyed_gcra", "keyed_token_bucket", "aimd_limiter", "gradient2_limiter",
      "load_balancer"};
  return names[static_cast<std::size_t>(k)];
}

/// One metric of one instance, as registry::for_each_metric hands it out.
struct registry_sample {
  registry_kind kind;
  std::string_view name;  ///< the instance's name: the `name` label
  const metric& value;
};

/// The options type of each kind, at the kind's index: the registry keeps one family of named
/// instances per entry, the config add-on one document section per entry.
using registry_kind_options =
    std::tuple<circuit_breaker_options, gcra_options, token_bucket_options, bulkhead_options,
               retry_options, cache_options, keyed_gcra_options, keyed_token_bucket_options,
               aimd_options, gradient2_options, load_balancer_registry_options>;

inline constexpr std::size_t registry_kind_count = std::tuple_size_v<registry_kind_options>;
static_assert(registry_kind_count == std::size(registry_kinds),
              "one options type per registry_kind");

namespace detail {

template <class Options, std::size_t I = 0>
constexpr std::size_t registry_kind_index() {
  static_assert(I < registry_kind_count, "not a registry kind's options");
  if constexpr (std::is_same_v<Options, std::tuple_element_t<I, registry_kind_options>>)
    return I;
  else
    return registry_kind_index<Options, I + 1>();
}

// A tuple of Template<Options> over every kind's options, in the kinds' order.
template <template <class> class Template, class List = registry_kind_options>
struct per_registry_kind;
template <template <class> class Template, class... Options>
struct per_registry_kind<Template, std::tuple<Options...>> {
  using type = std::tuple<Template<Options>...>;
};

// Calls f(std::get<I>(tuple)) for I = the kind's index: every f's result has one type.
template <std::size_t I = 0, class Tuple, class F>
decltype(auto) visit_registry_kind(Tuple& tuple, registry_kind kind, F& f) {
  if constexpr (I + 1 < registry_kind_count) {
    if (static_cast<std::size_t>(kind) != I) return visit_registry_kind<I + 1>(tuple, kind, f);
  }
  return f(std::get<I>(tuple));
}

}  // namespace detail

/// The kind whose options type is Options.
template <class Options>
inline constexpr registry_kind registry_kind_of =
    static_cast<registry_kind>(detail::registry_kind_index<Options>());

}  // namespace bulwark
