#pragma once
// hash_mod_router: shard = hash64(key) mod N, the simplest hash sharding.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

struct hash_mod_router_options {
  /// Seed of hash64. Every process routing the same keys must use the same seed.
  std::uint64_t seed = 0;
};

/// Routes `key` to shard hash64(key, seed) mod N: even spread and no table, but changing N
/// moves almost every key (going from N to N + 1 shards keeps only about 1/(N + 1) of them in
/// place), so resizing means moving nearly all data. Prefer consistent_router or range_router
/// when the shard count will change; `plan_sample` measures the difference for your keys.
///
///   bulwark::hash_mod_router orders({"orders-0", "orders-1", "orders-2", "orders-3"});
///   auto shard = orders.shards()[orders.shard_for("order:1234")];
///
/// Strings hash their bytes, integers their little-endian bytes (bulwark::stable_hash), so
/// placement is the same in every process, build and platform.
/// Thread-safety: const members are safe from any thread. Complexity: shard_for O(key length).
class hash_mod_router {
 public:
  /// Throws std::invalid_argument when shards is empty or a name is empty or repeated.
  explicit hash_mod_router(std::vector<std::string> shards, hash_mod_router_options options = {})
      : shards_{std::move(shards)}, options_{options} {
    detail::check_shard_names("hash_mod_router", shards_);
  }
  hash_mod_router(std::initializer_list<std::string> shards, hash_mod_router_options options = {})
      : hash_mod_router{std::vector<std::string>(shards), options} {}

  /// The index of `key`'s shard: hash64(key, seed) mod shards().size().
  template <class K>
  requires std::invocable<const stable_hash&, const K&>
  [[nodiscard]] std::size_t shard_for(const K& key) const noexcept {
    return shard_for_hash(stable_hash{options_.seed}(key));
  }
  /// The index of the shard of a key whose hash64 is `h`.
  [[nodiscard]] std::size_t shard_for_hash(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(h % shards_.size());
  }

  [[nodiscard]] std::span<const std::string> shards() const noexcept { return shards_; }
  [[nodiscard]] const hash_mod_router_options& options() const noexcept { return options_; }

 private:
  std::vector<std::string> shards_;
  hash_mod_router_options options_;
};

}  // namespace bulwark
