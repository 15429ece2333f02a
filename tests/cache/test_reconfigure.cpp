// cache::reconfigure: the bound changes live; a smaller one evicts down to it at once by the
// policy, entries stay otherwise; the other options are refused.
#include <atomic>
#include <bulwark/cache/cache.hpp>
#include <bulwark/cache/s3fifo.hpp>
#include <bulwark/cache/sieve.hpp>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using bulwark::manual_clock;
using bulwark::removal_cause;

namespace {
template <class Policy>
using test_cache = bulwark::cache<int, int, Policy, manual_clock>;
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("shrinking an LRU cache evicts its least recently used entries at once", "[cache]") {
  std::vector<int> evicted;
  test_cache<bulwark::lru_eviction> c(
      {.maximum_size = 10, .shards = 1},
      {.on_removal = [&](const int& k, const int&, removal_cause why) {
        if (why == removal_cause::size) evicted.push_back(k);
      }});
  for (int k = 0; k < 10; ++k)
    c.put(k, k * 10);
  CHECK(c.get(0) == 0);  // 0 is now the most recent: order 1..9, 0
  c.reconfigure({.maximum_size = 4, .shards = 1});
  CHECK(evicted == std::vector<int>{1, 2, 3, 4, 5, 6});
  CHECK(c.size() == 4);
  CHECK(c.get(0) == 0);
  CHECK(c.get(9) == 90);
  CHECK(c.options().maximum_size == 4);
  CHECK(c.metrics().evictions_size == 6);
  // Writes now keep to the new bound.
  c.put(100, 1);
  CHECK(c.size() == 4);
}

TEST_CASE("growing a cache keeps its entries and lets it hold more", "[cache]") {
  test_cache<bulwark::tiny_lfu_eviction> c({.maximum_size = 8, .shards = 1});
  for (int k = 0; k < 8; ++k)
    c.put(k, k);
  c.reconfigure({.maximum_size = 64, .shards = 1});
  for (int k = 0; k < 8; ++k)
    CHECK(c.get(k) == k);
  for (int k = 8; k < 64; ++k)
    c.put(k, k);
  CHECK(c.size() == 64);
  c.put(1000, 0);
  CHECK(c.size() == 64);
}

TEMPLATE_TEST_CASE("every policy evicts down to a smaller bound, across shards", "[cache]",
                   bulwark::lru_eviction, bulwark::sieve_eviction, bulwark::s3fifo_eviction,
                   bulwark::tiny_lfu_eviction) {
  test_cache<TestType> c({.maximum_size = 400, .shards = 4, .hash_seed = 7});
  for (int k = 0; k < 400; ++k)
    c.put(k, k);
  c.reconfigure({.maximum_size = 40, .shards = 4, .hash_seed = 7});
  CHECK(c.size() <= 40);
  for (int k = 1000; k < 1400; ++k)
    c.put(k, k);
  CHECK(c.size() <= 40);
  c.reconfigure({.maximum_size = 400, .shards = 4, .hash_seed = 7});
  for (int k = 2000; k < 2400; ++k)
    c.put(k, k);
  CHECK(c.size() > 40);
  CHECK(c.size() <= 400);
}

TEST_CASE("cache options other than the bound are refused, changing nothing", "[cache]") {
  test_cache<bulwark::lru_eviction> c({.maximum_size = 16, .shards = 4});
  c.put(1, 1);
  CHECK(message_of([&] { c.reconfigure({.maximum_size = 16, .shards = 8}); }) ==
        "bulwark::cache: option 'shards' cannot change on reconfigure (was 4, got 8)");
  CHECK(message_of([&] { c.reconfigure({.maximum_size = 16, .shards = 4, .hash_seed = 3}); }) ==
        "bulwark::cache: option 'hash_seed' cannot change on reconfigure (was \"unset\", got "
        "\"3\")");
  CHECK(message_of([&] { c.reconfigure({.maximum_size = 2, .shards = 4}); }) ==
        "bulwark::cache: shards must be <= maximum_size (2) (got 4)");
  CHECK(message_of([&] { c.reconfigure({.maximum_weight = 16, .shards = 4}); }) ==
        message_of([&] { test_cache<bulwark::lru_eviction> x({.maximum_weight = 16}); }));
  CHECK(c.options().maximum_size == 16);
  CHECK(c.get(1) == 1);
}

TEST_CASE("reconfigure under concurrent readers and writers keeps the cache consistent",
          "[cache]") {
  test_cache<bulwark::tiny_lfu_eviction> c({.maximum_size = 256, .shards = 2, .hash_seed = 1});
  std::atomic<int> done{0};
  std::atomic<int> wrong{0};  // values read back under another key (Catch2 v2's REQUIRE is not
                              // thread-safe)
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4000; ++i) {
        const int k = (i * 7 + t * 1000) % 1024;
        if (i % 3 == 0) {
          c.put(k, k);
        } else if (const auto v = c.get(k); v && *v != k) {
          wrong.fetch_add(1);
        }
      }
      done.fetch_add(1);
    });
  }
  for (std::uint64_t i = 0; done.load() < 3; ++i)
    c.reconfigure({.maximum_size = 16 + (i % 4) * 80, .shards = 2, .hash_seed = 1});
  for (auto& thread : threads)
    thread.join();
  CHECK(wrong.load() == 0);
  c.reconfigure({.maximum_size = 32, .shards = 2, .hash_seed = 1});
  CHECK(c.size() <= 32);
}
