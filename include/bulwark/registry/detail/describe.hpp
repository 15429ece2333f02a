#pragma once
// The limits a registry's `reconfigured` event reports as `from` and `to`, one line per kind.

#include <string>

#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/cache/cache_options.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/detail/format.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"
#include "bulwark/registry/keyed_options.hpp"
#include "bulwark/registry/load_balancer_options.hpp"
#include "bulwark/retry/policy.hpp"

namespace bulwark::detail {

inline std::string describe_limits(const circuit_breaker_options& o) {
  return "failure_rate_threshold " + to_message_text(o.failure_rate_threshold);
}
inline std::string describe_rate(const rate& r) {
  return to_message_text(r.count) + "/" + to_message_text(r.period);
}
inline std::string describe_limits(const gcra_options& o) {
  return "rate " + describe_rate(o.rate) + ", burst " + to_message_text(o.burst);
}
inline std::string describe_limits(const token_bucket_options& o) {
  return "rate " + describe_rate(o.rate) + ", capacity " + to_message_text(o.capacity);
}
inline std::string describe_limits(const bulkhead_options& o) {
  return "max_concurrent " + to_message_text(o.max_concurrent);
}
inline std::string describe_limits(const retry_options& o) {
  return "max_attempts " + to_message_text(o.max_attempts);
}
inline std::string describe_limits(const cache_options& o) {
  return "maximum_size " + to_message_text(o.maximum_size);
}

template <class PerKey>
std::string describe_limits(const keyed_registry_options<PerKey>& o) {
  return describe_limits(o.per_key) + ", max_keys " + to_message_text(o.table.max_keys);
}
inline std::string describe_limits(const aimd_options& o) {
  return "limit " + to_message_text(o.initial_limit) + " in [" + to_message_text(o.min_limit) +
         ", " + to_message_text(o.max_limit) + "]";
}
inline std::string describe_limits(const gradient2_options& o) {
  return "limit " + to_message_text(o.initial_limit) + " in [" + to_message_text(o.min_limit) +
         ", " + to_message_text(o.max_limit) + "]";
}

// A balancer's membership, each endpoint with its weight: "endpoints a=1, b=3".
inline std::string describe_limits(const load_balancer_registry_options& o) {
  std::string out = "endpoints";
  for (const auto& e : o.endpoints)
    out.append(&e == o.endpoints.data() ? " " : ", ")
        .append(e.id)
        .append("=")
        .append(to_message_text(e.weight));
  return o.endpoints.empty() ? out + " none" : out;
}

}  // namespace bulwark::detail
