#pragma once
// Every instance of a registry rendered at once through prometheus_text.

#include <string>
#include <string_view>

#include "bulwark/core/prometheus.hpp"
#include "bulwark/registry/registry.hpp"

namespace bulwark {

/// The metric family prefix of a kind's instances: "bulwark_circuit_breaker",
/// "bulwark_rate_limit" (gcra and token_bucket, told apart by the `algorithm` label),
/// "bulwark_bulkhead", "bulwark_retry", "bulwark_cache". docs/operate.md lists every metric.
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
    case registry_kind::cache:
      break;
  }
  return "bulwark_cache";
}

/// Whether a kind's samples carry the `algorithm` label (the rate limiters share a family).
[[nodiscard]] constexpr bool registry_has_algorithm_label(registry_kind kind) noexcept {
  return kind == registry_kind::gcra || kind == registry_kind::token_bucket;
}

/// Adds every metric of every live instance of `guards` to `out`, labelled
/// name="<instance>" (and algorithm="gcra"|"token_bucket" for rate limiters). One call per
/// scrape covers the whole registry. Throws as prometheus_text::add does (a name that is not
/// valid UTF-8); samples added before the throw stay.
template <clock Clock>
prometheus_text& add_registry_metrics(prometheus_text& out, const registry<Clock>& guards) {
  guards.for_each_metric([&](const registry_sample& s) {
    const std::string_view prefix = registry_metric_prefix(s.kind);
    if (registry_has_algorithm_label(s.kind)) {
      out.add(prefix, s.value, {{"name", s.name}, {"algorithm", to_string(s.kind)}});
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
