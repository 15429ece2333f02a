// Cache bounds under concurrent put, get, get_or_load and invalidate: the entry count never
// above maximum_size, the weight never above maximum_weight, as observed (metrics(), each
// shard read under its lock) after every operation of every thread (docs/cache.md,
// Guarantees, Bounds: "after every write returns, the shard's entry count (or weight) is within
// its bound", with the bound split across shards). The bounds, 301, do not divide by the four
// shards: a split that rounds a shard's share up would show here.

#include <atomic>
#include <bulwark/cache.hpp>
#include <bulwark/core/random.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

constexpr std::uint64_t bound = 301;
constexpr std::uint64_t key_space = 2'000;  // far more than fit

struct observed {
  std::uint64_t most_entries = 0;
  std::uint64_t most_weight = 0;
  std::uint64_t evictions = 0;
};

template <class Cache>
observed hammer(Cache& cache, std::uint64_t seed) {
  std::atomic<std::uint64_t> most_entries{0}, most_weight{0};
  std::vector<std::thread> pool;
  for (std::uint64_t t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      bulwark::fast_rng rng{seed + t};
      for (int i = 0; i < 1'500; ++i) {
        const std::uint64_t key = bulwark::uniform_below(rng, key_space);
        switch (bulwark::uniform_below(rng, 4)) {
          case 0:
            cache.put(key, key * 3);
            break;
          case 1:
            (void)cache.get(key);
            break;
          case 2:
            (void)cache.get_or_load(key, [](const std::uint64_t& k) { return k * 3; });
            break;
          default:
            if (bulwark::uniform_below(rng, 8) == 0) cache.invalidate(key);
        }
        const auto m = cache.metrics();
        std::uint64_t e = most_entries.load();
        while (m.entries > e && !most_entries.compare_exchange_weak(e, m.entries)) {
        }
        std::uint64_t w = most_weight.load();
        while (m.weight > w && !most_weight.compare_exchange_weak(w, m.weight)) {
        }
      }
    });
  }
  for (auto& thread : pool)
    thread.join();
  return {most_entries.load(), most_weight.load(), cache.metrics().evictions_size};
}

template <class Policy>
observed size_bounded(std::uint64_t seed) {
  bulwark::cache<std::uint64_t, std::uint64_t, Policy> cache({.maximum_size = bound, .shards = 4});
  return hammer(cache, seed);
}

template <class Policy>
observed weight_bounded(std::uint64_t seed) {
  bulwark::cache<std::uint64_t, std::uint64_t, Policy> cache(
      {.maximum_weight = bound, .shards = 4},
      {.weigher = [](const std::uint64_t& key, const std::uint64_t&) {
        return static_cast<std::uint32_t>(1 + key % 8);
      }});
  return hammer(cache, seed);
}

}  // namespace

TEST_CASE("cache entries never exceed maximum_size under concurrent operations, every policy",
          "[invariants]") {
  for (const auto& seen :
       {size_bounded<bulwark::tiny_lfu_eviction>(41), size_bounded<bulwark::lru_eviction>(42),
        size_bounded<bulwark::s3fifo_eviction>(43)}) {
    CHECK(seen.most_entries <= bound);
    CHECK(seen.most_entries > bound / 2);  // the bound was reached for, not idle
    CHECK(seen.evictions > 0);
  }
}

TEST_CASE("cache weight never exceeds maximum_weight under concurrent operations, every policy",
          "[invariants]") {
  for (const auto& seen :
       {weight_bounded<bulwark::tiny_lfu_eviction>(51), weight_bounded<bulwark::lru_eviction>(52),
        weight_bounded<bulwark::s3fifo_eviction>(53)}) {
    CHECK(seen.most_weight <= bound);
    CHECK(seen.most_weight > bound / 2);
    CHECK(seen.evictions > 0);
  }
}
