#pragma once
// How many shards (lock stripes, epoch slots) a structure that every thread writes gets by
// default. Shared by the cache, the cache's epoch domain, the keyed rate limiter and the
// idempotency memory store.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace bulwark::detail {

/// Shards per hardware thread: with 4, two threads hashing to the same shard are rare enough
/// (birthday bound over 4n shards for n threads) that the stripes' locks seldom meet.
inline constexpr std::size_t shards_per_hardware_thread = 4;

/// 4 x `threads` rounded up to a power of two (so a hash's bits pick a shard); `threads` 0, what
/// std::thread::hardware_concurrency() answers when it cannot tell, counts as 1.
[[nodiscard]] constexpr std::size_t hardware_shards(unsigned threads) noexcept {
  return std::bit_ceil(std::size_t{std::max(1u, threads)} * shards_per_hardware_thread);
}
/// The same for this machine.
[[nodiscard]] inline std::size_t hardware_shards() noexcept {
  return hardware_shards(std::thread::hardware_concurrency());
}

/// `shards` (a power of two) halved until each shard holds at least `min_per_shard` of
/// `capacity`, or one shard is left: a small bound is not spread so thin that each shard's
/// eviction sees only a handful of entries.
[[nodiscard]] constexpr std::size_t fit_shards(std::size_t shards, std::uint64_t capacity,
                                               std::uint64_t min_per_shard) noexcept {
  while (shards > 1 && capacity / shards < min_per_shard)
    shards /= 2;
  return shards;
}

}  // namespace bulwark::detail
