#include <atomic>
#include <bulwark/cache/cache.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

TEST_CASE("get_or_load loads a missing key once and caches it", "[cache]") {
  bulwark::cache<int, std::string> c({.maximum_size = 10});
  int calls = 0;
  auto loader = [&](int k) {
    ++calls;
    return std::to_string(k);
  };
  CHECK(c.get_or_load(7, loader) == "7");
  CHECK(c.get_or_load(7, loader) == "7");
  CHECK(calls == 1);
  const auto m = c.metrics();
  CHECK(m.loads == 1);
  CHECK(m.hits == 1);
  CHECK(m.misses == 1);
}

TEST_CASE("a loader that throws caches nothing and is retried by the next caller", "[cache]") {
  bulwark::cache<int, int> c({.maximum_size = 10});
  CHECK_THROWS_WITH(c.get_or_load(1, [](int) -> int { throw std::runtime_error("store down"); }),
                    "store down");
  CHECK_FALSE(c.get(1).has_value());
  CHECK(c.metrics().load_failures == 1);
  CHECK(c.get_or_load(1, [](int k) { return k + 1; }) == 2);
}

TEST_CASE("a write or invalidation during a load keeps the load's value out of the cache",
          "[cache]") {
  bulwark::cache<int, int> c({.maximum_size = 10});
  CHECK(c.get_or_load(1, [&](int) {
    c.put(1, 100);  // a newer value written while the load ran
    return 5;
  }) == 5);
  CHECK(c.get(1) == 100);
  CHECK(c.get_or_load(2, [&](int) {
    c.invalidate(2);
    return 6;
  }) == 6);
  CHECK_FALSE(c.get(2).has_value());
}

TEST_CASE("get_or_load refuses to recurse into its own key", "[cache]") {
  bulwark::cache<int, int> c({.maximum_size = 10});
  CHECK_THROWS_AS(c.get_or_load(1, [&](int k) { return c.get_or_load(k, [](int) { return 0; }); }),
                  std::logic_error);
  CHECK(c.get_or_load(1, [](int) { return 3; }) == 3);  // nothing left in flight
}

TEST_CASE("concurrent misses on one key run the loader once and all get its value", "[cache]") {
  // Bounded by count, no sleeps: whatever the interleaving, one loader call per key may run.
  for (int round = 0; round < 50; ++round) {
    bulwark::cache<int, int> c({.maximum_size = 100});
    std::atomic<int> calls{0};
    std::atomic<int> wrong{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire))
          std::this_thread::yield();
        const int v = c.get_or_load(round, [&](int k) {
          calls.fetch_add(1);
          return k * 10;
        });
        if (v != round * 10) wrong.fetch_add(1);
      });
    }
    go.store(true, std::memory_order_release);
    for (auto& t : threads)
      t.join();
    REQUIRE(calls.load() == 1);
    REQUIRE(wrong.load() == 0);
  }
}

TEST_CASE("a throwing loader releases every waiter with its exception", "[cache]") {
  for (int round = 0; round < 50; ++round) {
    bulwark::cache<int, int> c({.maximum_size = 100});
    std::atomic<int> calls{0};
    std::atomic<int> failed{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire))
          std::this_thread::yield();
        try {
          (void)c.get_or_load(round, [&](int) -> int {
            calls.fetch_add(1);
            throw std::runtime_error("boom");
          });
        } catch (const std::runtime_error& e) {
          if (std::string{e.what()} == "boom") failed.fetch_add(1);
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (auto& t : threads)
      t.join();
    // Every caller ends with the loader's exception (as a waiter of a failed flight, or with a
    // flight of its own); nothing is cached.
    REQUIRE(failed.load() == 4);
    REQUIRE(calls.load() >= 1);
    REQUIRE(calls.load() <= 4);
    REQUIRE_FALSE(c.get(round).has_value());
    REQUIRE(c.metrics().load_failures == static_cast<std::uint64_t>(calls.load()));
  }
}

TEST_CASE("waiters registered on a load all receive its exception, and nothing is cached",
          "[cache]") {
  // Deterministic: the loader holds until the cache's load_waits metric shows all three
  // waiters parked on its flight, then throws. No timing is involved.
  bulwark::cache<int, int> c({.maximum_size = 100});
  std::atomic<bool> loading{false};
  std::atomic<int> extra_loads{0};
  std::atomic<int> failed{0};
  std::thread owner([&] {
    try {
      (void)c.get_or_load(5, [&](int) -> int {
        loading.store(true, std::memory_order_release);
        while (c.metrics().load_waits < 3)
          std::this_thread::yield();
        throw std::runtime_error("backend down");
      });
    } catch (const std::runtime_error& e) {
      if (std::string{e.what()} == "backend down") failed.fetch_add(1);
    }
  });
  while (!loading.load(std::memory_order_acquire))
    std::this_thread::yield();
  // The flight is registered before the loader runs, so every caller from here on waits on it.
  std::vector<std::thread> waiters;
  for (int t = 0; t < 3; ++t) {
    waiters.emplace_back([&] {
      try {
        (void)c.get_or_load(5, [&](int) -> int {
          extra_loads.fetch_add(1);
          return 0;
        });
      } catch (const std::runtime_error& e) {
        if (std::string{e.what()} == "backend down") failed.fetch_add(1);
      }
    });
  }
  for (auto& w : waiters)
    w.join();
  owner.join();
  CHECK(failed.load() == 4);
  CHECK(extra_loads.load() == 0);
  const auto m = c.metrics();
  CHECK(m.load_waits == 3);
  CHECK(m.load_failures == 1);
  CHECK(m.loads == 0);
  CHECK_FALSE(c.get(5).has_value());
  CHECK(c.size() == 0);
}
