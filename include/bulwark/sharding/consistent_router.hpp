#pragma once
// consistent_router<Algorithm>: sharding over any placement algorithm of bulwark/hashing.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/node.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// Routes keys with a consistent-hashing algorithm (hash_ring, jump_nodes, rendezvous, maglev,
/// anchor_hash, ketama): adding or removing a shard moves only about 1/N of the keys, at the
/// price of no key order (range queries touch every shard).
///
///   bulwark::consistent_router<bulwark::maglev> users({{.name = "users-0"}, {.name = "users-1"}});
///   auto grown = users.with_added({.name = "users-2"});     // about 1/3 of the keys move
///
/// String keys are placed exactly as `Algorithm::node_for` places them (so a router agrees with
/// an Envoy ring or a ketama client the algorithm is compatible with); integer keys go through
/// hash64 of their little-endian bytes. Shard names are the node names.
/// Thread-safety: const members are safe from any thread. Complexity: that of the algorithm's
/// lookup (O(1) for maglev and jump, O(log vnodes) for rings, O(N) for rendezvous).
template <placement_algorithm Algorithm>
class consistent_router {
 public:
  using algorithm_type = Algorithm;
  using options_type = typename Algorithm::options_type;

  /// Throws what Algorithm's constructor throws (empty node list, duplicate names, ...).
  explicit consistent_router(std::vector<node> nodes, options_type options = {})
      : consistent_router{Algorithm{std::move(nodes), options}} {}
  explicit consistent_router(Algorithm algorithm) : algorithm_{std::move(algorithm)} {
    names_.reserve(algorithm_.nodes().size());
    for (const node& n : algorithm_.nodes())
      names_.push_back(n.name);
  }

  /// The index of the shard owning string `key`, as the algorithm's node_for places it.
  [[nodiscard]] std::size_t shard_for(std::string_view key) const noexcept {
    return static_cast<std::size_t>(&algorithm_.node_for(key) - algorithm_.nodes().data());
  }
  /// The index of the shard owning integer `key` (hash64 of its little-endian bytes).
  template <detail::integer_key K>
  [[nodiscard]] std::size_t shard_for(K key) const noexcept {
    return algorithm_.index_for_hash(hash64(key));
  }

  [[nodiscard]] std::span<const std::string> shards() const noexcept { return names_; }
  [[nodiscard]] const Algorithm& algorithm() const noexcept { return algorithm_; }

  /// A router with one shard more; only the keys the algorithm moves to it move.
  [[nodiscard]] consistent_router with_added(const node& n) const {
    return consistent_router{algorithm_.with_added(n)};
  }
  /// A router without shard `name`; only its keys move. Throws as Algorithm::with_removed.
  [[nodiscard]] consistent_router with_removed(std::string_view name) const {
    return consistent_router{algorithm_.with_removed(name)};
  }

 private:
  Algorithm algorithm_;
  std::vector<std::string> names_;  // node names, so shards() is a span of strings
};

}  // namespace bulwark
