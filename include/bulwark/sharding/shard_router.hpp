#pragma once
// The vocabulary every sharding router shares: the `shard_router` concept, the answer of a
// lookup while data moves (`shard_route`), and the checks a list of shard names passes.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bulwark/core/options.hpp"

namespace bulwark {

/// Something that sends each key to exactly one shard: every router of bulwark/sharding.
///
/// - `shard_for(key)`: the index, in `shards()`, of the shard owning `key`. Total (every key has
///   an owner) and never out of range: routers refuse to be built over a keyspace they do not
///   cover.
/// - `shards()`: the shard names. A shard is named by a string that means the same thing in
///   every process (a database name, "10.0.0.7:6379", a Vitess key range such as "80-"), so
///   that plans can compare two routers by name even when their indices differ.
template <class Router, class Key>
concept shard_router = requires(const Router& router, const Key& key) {
  { router.shard_for(key) } -> std::same_as<std::size_t>;
  { router.shards() } -> std::same_as<std::span<const std::string>>;
};

/// Where a key lives while its range or slot may be moving: `owner` serves it, and when
/// `migrating_to` is not `none` the data is being copied to that shard.
///
/// This is Redis Cluster's MIGRATING/IMPORTING pair: the source still answers for the keys it
/// holds, and a key it no longer holds is asked of the target (ASK). A caller dual-reads (owner
/// first, then the target) and, during the copy, dual-writes or writes the target, depending on
/// how its migration copies data. After the move completes the target is the owner.
struct shard_route {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  std::size_t owner = 0;
  std::size_t migrating_to = none;

  /// True while the key's range or slot is being moved.
  [[nodiscard]] constexpr bool migrating() const noexcept { return migrating_to != none; }

  friend constexpr bool operator==(const shard_route&, const shard_route&) = default;
};

namespace detail {

/// Validates the shard names a router is built over: non-empty list, every name non-empty and
/// unique. Throws std::invalid_argument in option_check's format. O(n) expected.
inline void check_shard_names(std::string_view component, std::span<const std::string> shards) {
  const option_check check{component};
  check.that(!shards.empty(), "shards", "non-empty", std::size_t{0});
  std::unordered_set<std::string_view> seen;
  seen.reserve(shards.size());
  for (const std::string& name : shards) {
    check.that(!name.empty(), "shard name", "non-empty", name);
    check.that(seen.insert(name).second, "shard name", "unique", name);
  }
}

/// The index of `name` in `shards`, or shard_route::none. O(n).
inline std::size_t find_shard(std::span<const std::string> shards, std::string_view name) noexcept {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (shards[i] == name) return i;
  }
  return shard_route::none;
}

/// The index of `name` in `shards`, appending it when absent (a range or slot handed to a
/// shard the router has not seen yet). Throws on an empty name.
inline std::size_t find_or_add_shard(std::string_view component, std::vector<std::string>& shards,
                                     std::string_view name) {
  option_check{component}.that(!name.empty(), "shard name", "non-empty", std::string{name});
  const std::size_t found = find_shard(shards, name);
  if (found != shard_route::none) return found;
  shards.emplace_back(name);
  return shards.size() - 1;
}

}  // namespace detail
}  // namespace bulwark
