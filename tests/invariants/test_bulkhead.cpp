// Bulkhead occupancy: never more than max_concurrent calls inside at once (docs/bulkhead.md,
// max_concurrent: "calls inside at once"), whichever way callers enter: try_acquire,
// try_acquire_for (which queues), execute. Occupancy is counted inside the guarded call.

#include <atomic>
#include <bulwark/bulkhead.hpp>
#include <bulwark/core/random.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

struct occupancy {
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> calls{0};

  void guarded_call() {
    const int now = inside.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    calls.fetch_add(1);
    std::this_thread::yield();  // stay inside a little, so that callers overlap
    inside.fetch_sub(1);
  }
};

}  // namespace

TEST_CASE("bulkhead never holds more than max_concurrent calls, any way of entering",
          "[invariants]") {
  constexpr std::uint32_t max_concurrent = 3;
  bulwark::manual_clock clock;
  // max_wait: execute queues; nobody advances the clock, so a queued caller waits until a slot
  // frees (every holder leaves), never until a deadline.
  bulwark::bulkhead<bulwark::manual_clock> bulkhead(
      {.max_concurrent = max_concurrent, .max_waiting = 2, .max_wait = 1h}, clock);
  occupancy seen;
  std::atomic<int> refused{0};
  std::vector<std::thread> pool;
  for (std::uint64_t t = 0; t < 6; ++t) {
    pool.emplace_back([&, t] {
      bulwark::fast_rng rng{t + 31};
      for (int i = 0; i < 1'500; ++i) {
        switch (bulwark::uniform_below(rng, 3)) {
          case 0:
            if (auto p = bulkhead.try_acquire()) {
              seen.guarded_call();
            } else {
              refused.fetch_add(1);
            }
            break;
          case 1:
            if (auto p = bulkhead.try_acquire_for(1h)) {
              seen.guarded_call();
            } else {
              refused.fetch_add(1);  // the queue was full
            }
            break;
          default:
            try {
              bulkhead.execute([&] { seen.guarded_call(); });
            } catch (const bulwark::bulkhead_full&) {
              refused.fetch_add(1);
            }
        }
      }
    });
  }
  for (auto& t : pool)
    t.join();
  CHECK(seen.most.load() <= static_cast<int>(max_concurrent));
  CHECK(seen.most.load() >= 1);
  CHECK(seen.calls.load() + refused.load() == 6 * 1'500);
  CHECK(seen.inside.load() == 0);
}
