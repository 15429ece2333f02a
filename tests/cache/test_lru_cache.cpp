#include <bulwark/cache/lru_cache.hpp>
#include <bulwark/core/random.hpp>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "catch.hpp"
#include "reference_lru.hpp"

using cache_test::reference_lru;

TEST_CASE("lru_cache evicts the least recently used entry", "[cache]") {
  bulwark::lru_cache<std::string, int> lru(3);
  lru.put("a", 1);
  lru.put("b", 2);
  lru.put("c", 3);
  REQUIRE(*lru.get("a") == 1);  // order now a, c, b (most recent first)
  const auto evicted = lru.put("d", 4);
  REQUIRE(evicted.has_value());
  CHECK(evicted->first == "b");
  CHECK(evicted->second == 2);
  CHECK(lru.peek("c") != nullptr);
  // peek does not refresh: c stays least recent, so e evicts it.
  CHECK(lru.put("e", 5)->first == "c");
  CHECK_FALSE(lru.contains("c"));
  // Replacing a value refreshes it and evicts nothing.
  CHECK_FALSE(lru.put("a", 10).has_value());
  CHECK(*lru.peek("a") == 10);
  std::vector<std::string> order;
  lru.for_each([&](const std::string& k, int) { order.push_back(k); });
  CHECK(order == std::vector<std::string>{"a", "e", "d"});
  CHECK(lru.erase("e"));
  CHECK_FALSE(lru.erase("e"));
  CHECK(lru.size() == 2);
  lru.clear();
  CHECK(lru.empty());
  CHECK(lru.get("a") == nullptr);
}

TEST_CASE("lru_cache matches a list+map reference on random operations", "[cache]") {
  const std::size_t capacity = GENERATE(1u, 2u, 7u, 64u);
  bulwark::fast_rng rng{capacity * 977};
  bulwark::lru_cache<int, int> lru(capacity);
  reference_lru ref(capacity);
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(bulwark::uniform_below(rng, capacity * 3));
    const auto op = bulwark::uniform_below(rng, 10);
    if (op < 5) {
      const int* expected = ref.get(key);
      const int* actual = lru.get(key);
      REQUIRE((expected == nullptr) == (actual == nullptr));
      if (expected != nullptr) REQUIRE(*expected == *actual);
    } else if (op < 9) {
      const auto expected = ref.put(key, step);
      const auto actual = lru.put(key, step);
      REQUIRE(expected.has_value() == actual.has_value());
      if (expected) REQUIRE(*expected == actual->first);
    } else {
      REQUIRE(ref.erase(key) == lru.erase(key));
    }
    REQUIRE(lru.size() == ref.size());
    REQUIRE(lru.size() <= capacity);
  }
}

TEST_CASE("lru_cache rejects a zero capacity", "[cache]") {
  CHECK_THROWS_WITH((bulwark::lru_cache<int, int>(0)),
                    "bulwark::lru_cache: capacity must be > 0 (got 0)");
}
