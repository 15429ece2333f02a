// The bulkhead's wait-queue disciplines, in virtual time. The reference is Facebook's "Fail at
// Scale" (Ben Maurer, ACM Queue 13(8), 2015), sections "Controlled Delay" and "Adaptive LIFO".
// Its pseudo-code, paraphrased:
//
//   onNewRequest(req, queue):
//     if (queue.lastEmptyTime() < (now - N ms)) timeout = M ms
//     else timeout = N ms
//     queue.enqueue(req, timeout)
//
// with M = 5 ms and N = 100 ms as the values it reports working across its services; and
// adaptive LIFO: FIFO in normal operation, LIFO once a queue is starting to form.
#include <bulwark/bulkhead/bulkhead.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "await.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;

using test_support::await;

namespace {

// Threads that queue in try_acquire_for(1h), one at a time (each is queued before the next starts),
// and record the order in which they get the slot; a refused thread records nothing.
class waiters {
 public:
  template <class Bulkhead>
  void queue(Bulkhead& bulkhead, int id) {
    const auto before = bulkhead.waiting();
    threads_.emplace_back([this, &bulkhead, id] {
      auto p = bulkhead.try_acquire_for(1h);
      if (!p) return;  // no Catch2 assertion off the main thread
      const std::lock_guard lock{mutex_};
      order_.push_back(id);
    });
    await([&] { return bulkhead.waiting() == before + 1; });
  }
  std::vector<int> join() {
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    return order_;
  }

 private:
  std::mutex mutex_;
  std::vector<int> order_;
  std::vector<std::thread> threads_;
};

}  // namespace

// Fail at Scale, "Controlled Delay", M = 5 ms, N = 100 ms. By hand from the rule: the queue
// becomes non-empty at t = 0 (waiter 0), so it is overloaded from t = 100 ms on; a waiter is
// dropped at the first instant it has waited more than M while overloaded:
//   waiter 0, queued at   0: max(0 + 100, 0 + 5)   = 100 ms
//   waiter 1, queued at  99: max(0 + 100, 99 + 5)  = 104 ms
// Then the queue is empty again; waiter 2 queued at 104 starts a new non-empty spell and is
// dropped at max(104 + 100, 104 + 5) = 204 ms, not 109.
TEST_CASE("codel drops a waiter only once the queue has stayed non-empty for the interval",
          "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead(
      {.max_concurrent = 1, .max_waiting = 8, .queue = bulwark::queue_discipline::codel}, clock);
  auto holder = bulkhead.try_acquire();
  waiters w;
  w.queue(bulkhead, 0);
  clock.advance(99ms);
  CHECK(bulkhead.waiting() == 1);  // waited 99 ms > M, but the queue is not overloaded yet
  w.queue(bulkhead, 1);
  clock.advance(1ms);  // t = 100
  await([&] { return bulkhead.waiting() == 1; });
  CHECK(bulkhead.metrics().shed == 1);  // waiter 0, promptly: no release was needed
  clock.advance(3ms);                   // t = 103: waiter 1 has waited 4 ms <= M
  CHECK(bulkhead.waiting() == 1);
  clock.advance(1ms);  // t = 104
  await([&] { return bulkhead.waiting() == 0; });
  w.queue(bulkhead, 2);
  clock.advance(99ms);  // t = 203: a new spell, not overloaded yet
  CHECK(bulkhead.waiting() == 1);
  clock.advance(1ms);  // t = 204
  await([&] { return bulkhead.waiting() == 0; });
  CHECK(w.join().empty());
  const auto m = bulkhead.metrics();
  CHECK(m.shed == 3);
  CHECK(m.rejected == 3);
  CHECK(m.timed_out == 0);
  holder.release();
  CHECK(bulkhead.in_flight() == 0);
}

TEST_CASE("fifo, the default, never sheds: the same waits are served in arrival order",
          "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead({.max_concurrent = 1, .max_waiting = 8}, clock);
  CHECK(bulkhead.options().queue == bulwark::queue_discipline::fifo);
  auto holder = bulkhead.try_acquire();
  waiters w;
  w.queue(bulkhead, 0);
  clock.advance(99ms);
  w.queue(bulkhead, 1);
  clock.advance(200ms);  // far past where codel would have dropped both
  w.queue(bulkhead, 2);
  CHECK(bulkhead.waiting() == 3);
  holder.release();
  CHECK(w.join() == std::vector<int>{0, 1, 2});
  CHECK(bulkhead.metrics().shed == 0);
}

TEST_CASE("execute raises bulkhead_full at once when codel sheds the wait", "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead({.max_concurrent = 1,
                              .max_wait = 1s,
                              .queue = bulwark::queue_discipline::codel,
                              .queue_target = 10ms,
                              .queue_interval = 50ms},
                             clock);
  auto holder = bulkhead.try_acquire();
  std::string message;  // asserted on this thread: Catch2 is not thread-safe
  std::thread caller{[&] {
    try {
      (void)bulkhead.execute([] { return 1; });
    } catch (const bulwark::bulkhead_full& e) {
      message = e.what();
    }
  }};
  await([&] { return bulkhead.waiting() == 1; });
  clock.advance(50ms);  // max(0 + 50, 0 + 10): well before max_wait's 1 s
  caller.join();
  CHECK(message ==
        "bulwark::bulkhead: shed by CoDel: the wait queue stayed non-empty for queue_interval "
        "and the call waited longer than queue_target");
  CHECK(bulkhead.metrics().shed == 1);
}

// Fail at Scale, "Adaptive LIFO": FIFO while the queue is young, newest first once it has
// stayed non-empty for N (the same overload test as CoDel's).
TEST_CASE("adaptive lifo serves the newest waiter first once the queue is overloaded",
          "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead(
      {.max_concurrent = 1, .max_waiting = 8, .queue = bulwark::queue_discipline::adaptive_lifo},
      clock);
  SECTION("a young queue is FIFO") {
    auto holder = bulkhead.try_acquire();
    waiters w;
    for (int id = 0; id < 4; ++id)
      w.queue(bulkhead, id);
    clock.advance(99ms);
    holder.release();
    CHECK(w.join() == std::vector<int>{0, 1, 2, 3});
  }
  SECTION("an overloaded queue is LIFO, and nobody is shed") {
    auto holder = bulkhead.try_acquire();
    waiters w;
    w.queue(bulkhead, 0);
    w.queue(bulkhead, 1);
    clock.advance(100ms);  // non-empty since 0: overloaded
    w.queue(bulkhead, 2);
    w.queue(bulkhead, 3);
    holder.release();  // 3, whose release finds 0, 1, 2 still queued: 2, then 1, then 0
    CHECK(w.join() == std::vector<int>{3, 2, 1, 0});
    CHECK(bulkhead.metrics().shed == 0);
    CHECK(bulkhead.metrics().waited == 4);
  }
}

// Fail at Scale runs both: CoDel bounds the old waiters, LIFO serves the new ones. By hand:
// waiter 0 (queued at 0) is dropped at 100 ms; waiter 1 (queued at 99) would be at 104 and
// waiter 2 (queued at 100) at max(100, 105) = 105; the slot freed at 101 goes to the newest.
TEST_CASE("codel with adaptive lifo sheds the stale and serves the newest", "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::bulkhead bulkhead({.max_concurrent = 1,
                              .max_waiting = 8,
                              .queue = bulwark::queue_discipline::codel_adaptive_lifo},
                             clock);
  auto holder = bulkhead.try_acquire();
  waiters w;
  w.queue(bulkhead, 0);
  clock.advance(99ms);
  w.queue(bulkhead, 1);
  clock.advance(1ms);
  await([&] { return bulkhead.waiting() == 1; });  // 0 shed
  w.queue(bulkhead, 2);
  clock.advance(1ms);
  holder.release();
  CHECK(w.join() == std::vector<int>{2, 1});
  const auto m = bulkhead.metrics();
  CHECK(m.shed == 1);
  CHECK(m.waited == 2);
}

TEST_CASE("queue options are validated", "[bulkhead]") {
  CHECK_THROWS_WITH(bulwark::bulkhead({.queue_target = 0ms}),
                    "bulwark::bulkhead: queue_target must be > 0 (got 0s)");
  CHECK_THROWS_WITH(bulwark::bulkhead({.queue_interval = -1ms}),
                    "bulwark::bulkhead: queue_interval must be > 0 (got -1ms)");
  CHECK_THROWS_WITH(bulwark::bulkhead({.queue = static_cast<bulwark::queue_discipline>(7)}),
                    "bulwark::bulkhead: queue must be a queue_discipline (got 7)");
}
