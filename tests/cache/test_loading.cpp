#include <atomic>
#include <bulwark/cache/cache.hpp>
#include <latch>
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

TEST_CASE("every waiter on a failing load receives its exception, and nothing is cached",
          "[cache]") {
  // Deterministic, no sleeps: the first loader call holds on a latch that the main thread
  // opens only once load_waits shows all the waiters parked on that call's flight; then it
  // throws. Workers only record into atomics; the main thread asserts after joining them.
  const int waiters = GENERATE(1, 3);
  bulwark::cache<int, int> c({.maximum_size = 100});
  std::latch loading{1};  // the first call is inside the loader: its flight is registered
  std::latch release{1};  // the main thread lets it throw
  std::atomic<int> loader_calls{0};
  std::atomic<int> got_exception{0};
  std::atomic<int> finished{0};
  auto loader = [&](int k) -> int {
    if (loader_calls.fetch_add(1) == 0) {
      loading.count_down();
      release.wait();
      throw std::runtime_error("backend down");
    }
    return k * 10;
  };
  auto call = [&] {
    try {
      (void)c.get_or_load(5, loader);
    } catch (const std::runtime_error& e) {
      if (std::string{e.what()} == "backend down") got_exception.fetch_add(1);
    }
    finished.fetch_add(1);
  };
  std::thread owner{call};
  loading.wait();
  std::vector<std::thread> threads;
  for (int t = 0; t < waiters; ++t)
    threads.emplace_back(call);
  // Bounded: a caller that does not wait (a bug) finishes on its own and ends the loop.
  while (c.metrics().load_waits < static_cast<std::uint64_t>(waiters) && finished.load() == 0)
    std::this_thread::yield();
  release.count_down();
  for (auto& t : threads)
    t.join();
  owner.join();

  CHECK(got_exception.load() == waiters + 1);
  CHECK(loader_calls.load() == 1);
  auto m = c.metrics();
  CHECK(m.load_waits == static_cast<std::uint64_t>(waiters));
  CHECK(m.load_failures == 1);
  CHECK(m.loads == 0);
  CHECK(m.entries == 0);
  CHECK_FALSE(c.get(5).has_value());
  // Nothing is left in flight: the next call runs the loader again and caches its value.
  CHECK(c.get_or_load(5, loader) == 50);
  CHECK(loader_calls.load() == 2);
  CHECK(c.get(5) == 50);
  m = c.metrics();
  CHECK(m.loads == 1);
  CHECK(m.load_waits == static_cast<std::uint64_t>(waiters));
}
