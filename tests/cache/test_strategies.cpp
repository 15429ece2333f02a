#include <bulwark/cache/cache.hpp>
#include <bulwark/cache/strategies.hpp>
#include <bulwark/cache/write_behind.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using int_cache = bulwark::cache<int, int, bulwark::tiny_lfu_eviction, manual_clock>;

namespace {
// Three threads, each putting key t with values 0..1999 through a write_behind with `options`;
// returns what reached the store, in store order (the destructor's close flushes the rest).
std::vector<std::pair<int, int>> concurrent_writes(bulwark::write_behind_options options) {
  int_cache c({.maximum_size = 10000});
  std::mutex m;
  std::vector<std::pair<int, int>> stored;
  {
    bulwark::write_behind behind(
        c,
        [&](const std::vector<std::pair<int, int>>& batch) {
          std::lock_guard lock{m};
          stored.insert(stored.end(), batch.begin(), batch.end());
        },
        options);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&behind, t] {
        for (int i = 0; i < 2000; ++i)
          behind.put(t, i);
      });
    }
    for (auto& t : threads)
      t.join();
  }
  return stored;
}
}  // namespace

TEST_CASE("cache_aside loads on a miss and drops the cached copy after a store update", "[cache]") {
  int_cache c({.maximum_size = 10});
  std::map<int, int> store{{1, 10}};
  int loads = 0;
  bulwark::cache_aside aside(c, [&](int k) {
    ++loads;
    return store.at(k);
  });
  CHECK(aside.get(1) == 10);
  CHECK(aside.get(1) == 10);
  CHECK(loads == 1);
  aside.update(1, [&] { store[1] = 11; });
  CHECK(aside.get(1) == 11);
  CHECK(loads == 2);
  // A failed store write leaves the cached value.
  CHECK_THROWS(aside.update(1, [] { throw std::runtime_error("write failed"); }));
  CHECK(c.get(1) == 11);
}

TEST_CASE("write_through updates the cache only after the store accepted", "[cache]") {
  int_cache c({.maximum_size = 10});
  std::vector<std::pair<int, int>> written;
  bool refuse = false;
  bulwark::write_through through(c, [&](int k, int v) {
    if (refuse) throw std::runtime_error("refused");
    written.emplace_back(k, v);
  });
  through.put(1, 10);
  CHECK(through.get(1) == 10);
  refuse = true;
  CHECK_THROWS_WITH(through.put(1, 11), "refused");
  CHECK(c.get(1) == 10);
  CHECK(written == std::vector<std::pair<int, int>>{{1, 10}});
}

TEST_CASE("refresh_ahead reloads an entry read late in its TTL once, serving the old value",
          "[cache]") {
  manual_clock clock;
  const auto t0 = clock.now();
  int_cache c({.maximum_size = 10, .expire_after_write = 10s}, clock);
  int version = 1;
  int loads = 0;
  std::vector<std::function<void()>> tasks;  // a queue standing for a thread pool
  bulwark::refresh_ahead refresher(
      c,
      [&](int) {
        ++loads;
        return version;
      },
      {.refresh_fraction = 0.2}, [&](std::function<void()> task) { tasks.push_back(task); }, clock);
  CHECK(refresher.get(1) == 1);  // a miss: loaded synchronously at t0
  CHECK(loads == 1);
  clock.set(t0 + 8s - 1ns);  // before the last 20% of the TTL: no refresh
  CHECK(refresher.get(1) == 1);
  CHECK(tasks.empty());
  version = 2;
  clock.set(t0 + 8s);  // in the window: the old value now, one reload queued
  CHECK(refresher.get(1) == 1);
  CHECK(refresher.get(1) == 1);
  clock.set(t0 + 9s);
  CHECK(refresher.get(1) == 1);
  CHECK(tasks.size() == 1);
  CHECK(refresher.reloads_in_flight() == 1);
  tasks.front()();  // the reload runs at t0 + 9s: value 2, TTL restarted
  tasks.clear();
  CHECK(loads == 2);
  CHECK(refresher.get(1) == 2);
  clock.set(t0 + 9s + 8s - 1ns);
  CHECK(refresher.get(1) == 2);
  CHECK(tasks.empty());
  CHECK_THROWS_WITH(bulwark::refresh_ahead(c, [](int k) { return k; }, {.refresh_fraction = 0}),
                    "bulwark::refresh_ahead: refresh_fraction must be in (0, 1] (got 0)");
}

TEST_CASE("write_behind batches by count and by age, in write order", "[cache]") {
  manual_clock clock;
  int_cache c({.maximum_size = 100});
  std::vector<std::vector<std::pair<int, int>>> batches;
  bulwark::write_behind behind(
      c, [&](const std::vector<std::pair<int, int>>& batch) { batches.push_back(batch); },
      {.batch_size = 3, .max_delay = 5s, .queue_capacity = 10}, clock);
  behind.put(1, 1);
  behind.put(2, 2);
  CHECK(c.get(1) == 1);  // the cache is updated at once
  CHECK(batches.empty());
  behind.put(3, 3);  // the third write makes a batch
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {3, 3}});
  behind.put(4, 4);
  clock.advance(5s - 1ns);
  CHECK_FALSE(behind.poll());
  clock.advance(1ns);  // the oldest write is now max_delay old
  CHECK(behind.poll());
  CHECK(batches.back() == std::vector<std::pair<int, int>>{{4, 4}});
  CHECK_THROWS_WITH(
      bulwark::write_behind(c, [](const auto&) {}, {.batch_size = 5, .queue_capacity = 4}),
      "bulwark::write_behind: queue_capacity must be >= 5 (got 4)");
}

TEST_CASE("write_behind loses nothing: failed flushes are retried and close flushes all",
          "[cache]") {
  int_cache c({.maximum_size = 100});
  std::vector<std::pair<int, int>> stored;
  bool failing = true;
  bulwark::write_behind behind(c,
                               [&](const std::vector<std::pair<int, int>>& batch) {
                                 if (failing) throw std::runtime_error("store down");
                                 stored.insert(stored.end(), batch.begin(), batch.end());
                               },
                               {.batch_size = 2, .max_delay = 1h, .queue_capacity = 4});
  behind.put(1, 1);
  CHECK_THROWS_WITH(behind.put(2, 2), "store down");  // queued, then the flush failed
  CHECK(behind.pending() == 2);
  failing = false;
  behind.put(3, 3);  // flushes 1, 2 (back at the head, in order), then 3 waits
  behind.close();
  CHECK(stored == std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {3, 3}});
  CHECK(behind.pending() == 0);
  CHECK_THROWS_AS(behind.put(4, 4), std::logic_error);
}

TEST_CASE("write_behind under concurrent writers flushes every write once, per-thread in order",
          "[cache]") {
  const auto stored = concurrent_writes({.batch_size = 7, .max_delay = 1h, .queue_capacity = 20});
  REQUIRE(stored.size() == 6000);
  std::vector<int> next(3, 0);
  for (const auto& [thread, i] : stored) {
    REQUIRE(i == next[static_cast<std::size_t>(thread)]);
    ++next[static_cast<std::size_t>(thread)];
  }
}

TEST_CASE("write_behind with coalesce writes each queued key once, with its latest value",
          "[cache]") {
  manual_clock clock;
  int_cache c({.maximum_size = 100});
  std::vector<std::vector<std::pair<int, int>>> batches;
  bool failing = false;
  bulwark::write_behind behind(
      c,
      [&](const std::vector<std::pair<int, int>>& batch) {
        if (failing) throw std::runtime_error("store down");
        batches.push_back(batch);
      },
      {.batch_size = 3, .max_delay = 5s, .queue_capacity = 10, .coalesce = true}, clock);
  behind.put(1, 10);
  clock.advance(4s);
  behind.put(2, 20);
  behind.put(1, 11);  // replaces the queued write of key 1 in place: still 2 pending
  behind.put(1, 12);
  CHECK(behind.pending() == 2);
  CHECK(c.get(1) == 12);  // the cache always has the latest value
  CHECK(batches.empty());
  clock.advance(1s);  // key 1's first write is max_delay old: coalescing did not reset its age
  CHECK(behind.poll());
  REQUIRE(batches.size() == 1);
  CHECK(batches[0] == std::vector<std::pair<int, int>>{{1, 12}, {2, 20}});

  // A write handed to a failed flush is put back unchanged; a later put of its key queues a new
  // write behind it, and the store gets both, in order.
  behind.put(3, 30);
  behind.put(4, 40);
  failing = true;
  CHECK_THROWS_WITH(behind.put(5, 50), "store down");
  CHECK(behind.pending() == 3);
  // Each put below queues, then its flush (a batch is due) fails again and is put back.
  CHECK_THROWS_WITH(behind.put(3, 31), "store down");  // 3's write was in a flush: a new item
  CHECK(behind.pending() == 4);
  CHECK_THROWS_WITH(behind.put(3, 32), "store down");  // coalesces with that new item
  CHECK(behind.pending() == 4);
  CHECK(c.get(3) == 32);
  failing = false;
  behind.close();
  REQUIRE(batches.size() == 3);
  CHECK(batches[1] == std::vector<std::pair<int, int>>{{3, 30}, {4, 40}, {5, 50}});
  CHECK(batches[2] == std::vector<std::pair<int, int>>{{3, 32}});
}

TEST_CASE("write_behind with coalesce under concurrent writers: per key increasing, last kept",
          "[cache]") {
  const auto stored =
      concurrent_writes({.batch_size = 4, .max_delay = 1h, .queue_capacity = 8, .coalesce = true});
  // Each thread writes its own key: the store sees that key's values increasing (coalescing
  // drops some, never reorders them) and always its last one.
  std::vector<int> last(3, -1);
  bool increasing = true;
  for (const auto& [key, value] : stored) {
    increasing = increasing && value > last[static_cast<std::size_t>(key)];
    last[static_cast<std::size_t>(key)] = value;
  }
  CHECK(increasing);
  CHECK(last == std::vector<int>{1999, 1999, 1999});
  CHECK(stored.size() <= 6000);
}

// ttl x refresh_fraction was converted from a double to int64 nanoseconds unchecked: for a
// ttl of duration::max() it is 2^63 ns, out of range (undefined). It now saturates, and an
// entry that never expires is refreshed on every read (its window spans all time).
TEST_CASE("refresh_ahead over a cache whose ttl is duration max", "[cache]") {
  manual_clock clock;
  int_cache c({.maximum_size = 10, .expire_after_write = bulwark::duration::max()}, clock);
  int loads = 0;
  std::vector<std::function<void()>> tasks;
  bulwark::refresh_ahead refresher(
      c, [&](int k) { return ++loads + k; }, {.refresh_fraction = 1.0},
      [&](std::function<void()> task) { tasks.push_back(task); }, clock);
  CHECK(refresher.get(10) == 11);
  CHECK(refresher.get(10) == 11);
  CHECK(tasks.size() == 1);
}
