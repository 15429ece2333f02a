// bulkhead::reconfigure: the slots and the queue are kept; a raised max lets waiters in at
// once, a lowered one lets the calls inside finish and admits no one until in_flight < max.

#include <algorithm>
#include <atomic>
#include <bulwark/bulkhead/bulkhead.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "await.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;
using test_support::await;

TEST_CASE("raising max_concurrent lets a waiter in at once", "[bulkhead]") {
  bulwark::manual_clock clock;  // the waiter's deadline is virtual: it never times out here
  bulwark::bulkhead bulkhead({.max_concurrent = 1}, clock);
  auto held = bulkhead.try_acquire();
  REQUIRE(held);
  std::atomic<bool> admitted{false};
  std::thread waiter([&] {
    auto p = bulkhead.try_acquire_for(1h);
    admitted.store(static_cast<bool>(p));
    // p released here, after the main thread saw in_flight == 2
    await([&] { return !admitted.load(); });
  });
  await([&] { return bulkhead.waiting() == 1; });
  bulkhead.reconfigure({.max_concurrent = 2});
  await([&] { return admitted.load(); });  // granted by reconfigure, no release needed
  CHECK(bulkhead.in_flight() == 2);
  CHECK(bulkhead.waiting() == 0);
  CHECK(bulkhead.options().max_concurrent == 2);
  CHECK(bulkhead.metrics().max_concurrent == 2);
  admitted.store(false);
  waiter.join();
}

TEST_CASE(
    "lowering max_concurrent lets the calls inside finish and admits no one until "
    "in_flight is below it",
    "[bulkhead]") {
  bulwark::bulkhead bulkhead({.max_concurrent = 3});
  auto a = bulkhead.try_acquire();
  auto b = bulkhead.try_acquire();
  auto c = bulkhead.try_acquire();
  REQUIRE((a && b && c));
  bulkhead.reconfigure({.max_concurrent = 1});
  CHECK(bulkhead.in_flight() == 3);  // nobody is cut off
  CHECK_FALSE(bulkhead.try_acquire());
  a.release();
  CHECK_FALSE(bulkhead.try_acquire());  // 2 inside, max 1
  b.release();
  CHECK_FALSE(bulkhead.try_acquire());  // 1 inside, max 1
  c.release();
  auto d = bulkhead.try_acquire();
  CHECK(d);
  CHECK_FALSE(bulkhead.try_acquire());
}

TEST_CASE("a waiter behind a lowered max is served only once in_flight is back at max",
          "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead({.max_concurrent = 2}, clock);
  auto a = bulkhead.try_acquire();
  auto b = bulkhead.try_acquire();
  std::atomic<bool> admitted{false};
  std::thread waiter([&] {
    auto p = bulkhead.try_acquire_for(1h);
    admitted.store(static_cast<bool>(p));
  });
  await([&] { return bulkhead.waiting() == 1; });
  bulkhead.reconfigure({.max_concurrent = 1});
  a.release();  // 2 inside > max 1: the slot is dropped, the waiter stays
  CHECK(bulkhead.in_flight() == 1);
  CHECK(bulkhead.waiting() == 1);
  CHECK_FALSE(admitted.load());
  b.release();  // 1 inside == max: handed to the waiter
  waiter.join();
  CHECK(admitted.load());
  CHECK(bulkhead.in_flight() == 0);
}

TEST_CASE("invalid bulkhead options are refused with the constructor's message, changing nothing",
          "[bulkhead]") {
  bulwark::bulkhead bulkhead({.max_concurrent = 4, .max_wait = 10ms});
  auto held = bulkhead.try_acquire();
  std::string got;
  try {
    bulkhead.reconfigure({.max_concurrent = 0});
  } catch (const std::invalid_argument& e) {
    got = e.what();
  }
  CHECK(got == "bulwark::bulkhead: max_concurrent must be in [1, 2147483647] (got 0)");
  CHECK_THROWS_WITH(bulkhead.check_reconfigure({.max_wait = -1ms}),
                    "bulwark::bulkhead: max_wait must be >= 0 (got -1ms)");
  CHECK(bulkhead.options().max_concurrent == 4);
  CHECK(bulkhead.options().max_wait == 10ms);
  CHECK(bulkhead.in_flight() == 1);
}

TEST_CASE(
    "reconfigure under concurrent callers keeps the bound of the larger setting and "
    "loses no slot",
    "[bulkhead]") {
  bulwark::manual_clock clock;  // waits never time out: every waiter is eventually served
  bulwark::bulkhead bulkhead({.max_concurrent = 2, .max_waiting = 8}, clock);
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  constexpr int workers = 4;
  for (int t = 0; t < workers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        auto p = (i + t) % 2 == 0 ? bulkhead.try_acquire_for(1h) : bulkhead.try_acquire();
        if (!p) continue;
        const int now = inside.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
      }
      done.fetch_add(1);
    });
  }
  for (std::uint32_t i = 0; done.load() < workers; ++i)
    bulkhead.reconfigure({.max_concurrent = 1 + i % 3, .max_waiting = 8});
  for (auto& thread : threads)
    thread.join();
  CHECK(peak.load() <= 3);
  CHECK(bulkhead.in_flight() == 0);
  CHECK(bulkhead.waiting() == 0);
  bulkhead.reconfigure({.max_concurrent = 2});
  auto a = bulkhead.try_acquire();
  auto b = bulkhead.try_acquire();
  CHECK((a && b));
  CHECK_FALSE(bulkhead.try_acquire());
}
