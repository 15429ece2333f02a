#pragma once
// Every instance of a registry rendered at once through prometheus_text.

#include <string>
#include <string_view>

#include "bulwark/core/prometheus.hpp"
#include "bulwark/registry/registry.hpp"

namespace bulwark {

/// The metric family prefix of a kind's instances: "bulwark_circuit_breaker",
/// "bulwark_rate_limit" (gcra and token_bucket, told apart by the `algorithm` label),
/// "bulwark_bulkhead", "bulwark_retry", "bulwark_cache", "bulwark_keyed_rate_limit" (keyed_gcra
/// and keyed_token_bucket, by `algorithm`), "bulwark_adaptive_limiter" (aimd_limiter and
/// gradient2_limiter, by `algorithm`), "bulwark_load_balancer". docs/operate.md lists every
/// metric.
[[nodiscard]] constexpr std::string_view registry_metric_prefix(registry_kind kind) noexcept {
  switch (kind) {
    case registry_kind::circuit_breaker:
      return "bulwark_circuit_breaker";
    case registry_kind::gcra:
    case registry_kind::token_bucket:
      return "bulwark_rate_limit";
    case registry_kind::bulkhead:
      return "bulwark_bulkhead";
    case registry_kind::retry:
      return "bulwark_retry";
    case registry_kind::keyed_gcra:
    case registry_kind::keyed_token_bucket:
      return "bulwark_keyed_rate_limit";
    case registry_kind::aimd_limiter:
    case registry_kind::gradient2_limiter:
      return "bulwark_adaptive_limiter";
    case registry_kind::load_balancer:
      return "bulwark_load_balancer";
    case registry_kind::cache:
      break;
  }
  return "bulwark_cache";
}

/// The `algorithm` label of a kind whose family several kinds share ("gcra", "token_bucket",
/// "aimd", "gradient2"); empty for a kind with a family of its own.
[[nodiscard]] constexpr std::string_view registry_algorithm_label(registry_kind kind) noexcept {
  switch (kind) {
    case registry_kind::gcra:
    case registry_kind::keyed_gcra:
      return "gcra";
    case registry_kind::token_bucket:
    case registry_kind::keyed_token_bucket:
      return "token_bucket";
    case registry_kind::aimd_limiter:
      return "aimd";
    case registry_kind::gradient2_limiter:
      return "gradient2";
    default:
      return {};
  }
}

/// Whether a kind's samples carry the `algorithm` label (its family is shared).
[[nodiscard]] constexpr bool registry_has_algorithm_label(registry_kind kind) noexcept {
  return !registry_algorithm_label(kind).empty();
}

/// Adds every metric of every live instance of `guards` to `out`, labelled
/// name="<instance>" (and algorithm="<registry_algorithm_label>" for the limiters). One call per
/// scrape covers the whole registry. Throws as prometheus_text::add does (a name that is not
/// valid UTF-8); samples added before the throw stay.
template <clock Clock>
prometheus_text& add_registry_metrics(prometheus_text& out, const registry<Clock>& guards) {
  guards.for_each_metric([&](const registry_sample& s) {
    const std::string_view prefix = registry_metric_prefix(s.kind);
    if (registry_has_algorithm_label(s.kind)) {
      out.add(prefix, s.value, {{"name", s.name}, {"algorithm", registry_algorithm_label(s.kind)}});
    } else {
      out.add(prefix, s.value, {{"name", s.name}});
    }
  });
  return out;
}

/// The whole registry as Prometheus text exposition, ready to serve at /metrics.
template <clock Clock>
[[nodiscard]] std::string registry_prometheus_text(const registry<Clock>& guards) {
  prometheus_text out;
  add_registry_metrics(out, guards);
  return out.str();
}

}  // namespace bulwark
