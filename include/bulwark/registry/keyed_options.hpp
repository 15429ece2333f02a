#pragma once
// The options of a registry's keyed limiters: the per-key limiter's options and the table's,
// as one value that configs, definitions and reloads carry.

#include <string>

#include "bulwark/rate_limit/keyed_options.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"
#include "bulwark/registry/detail/live_change.hpp"

namespace bulwark {

/// A keyed_limiter in a registry: `per_key` builds each key's limiter and may change live
/// (keyed_limiter::reconfigure keeps every key's state); `table` is fixed when the instance
/// is built: a reconfigure that changes it is refused, naming the field.
template <class PerKey>
struct keyed_registry_options {
  PerKey per_key{};
  keyed_limiter_options table{};
};

/// registry_kind::keyed_gcra's options.
using keyed_gcra_options = keyed_registry_options<gcra_options>;
/// registry_kind::keyed_token_bucket's options.
using keyed_token_bucket_options = keyed_registry_options<token_bucket_options>;

namespace detail {

template <class PerKey>
void validate(const keyed_registry_options<PerKey>& options) {
  validate(options.table);
  validate(options.per_key);
}

// Throws std::invalid_argument naming the first table field that differs: the table's shape
// (shards, slots) and its hash seed are fixed at construction.
inline void check_same_table(const keyed_limiter_options& now, const keyed_limiter_options& next,
                             std::string_view kind, std::string_view name) {
  const auto policy = [](keyed_table_full f) {
    return std::string{f == keyed_table_full::reject_new_keys ? "reject_new_keys"
                                                              : "evict_least_recent"};
  };
  check_same(kind, name, "max_keys", now.max_keys, next.max_keys);
  check_same(kind, name, "idle_timeout", now.idle_timeout, next.idle_timeout);
  if (now.on_table_full != next.on_table_full)
    refuse_live_change(kind, name, "on_table_full", policy(now.on_table_full),
                       policy(next.on_table_full));
  check_same(kind, name, "seed", now.seed, next.seed);
}

}  // namespace detail
}  // namespace bulwark
