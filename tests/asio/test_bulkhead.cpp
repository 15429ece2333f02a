// The bulkhead's awaitable waits: nodes in the same queue as blocked threads, FIFO, bounded,
// timing out in virtual time, cancellable, never losing a slot.
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead/bulkhead.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "await.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using test_support::await;

namespace {

struct waiter {
  bool done = false;
  bool granted = false;
  std::error_code error;
  bulwark::bulkhead_permit permit;
};

// Spawns a coroutine that waits up to `timeout` for a slot and keeps the permit in `w`.
template <class Clock>
void spawn_wait(asio::io_context& io, bulwark::bulkhead<Clock>& b, bulwark::duration timeout,
                waiter& w, asio::cancellation_slot slot = {}) {
  asio::co_spawn(
      io,
      [&b, &w, timeout]() -> asio::awaitable<void> {
        w.permit = co_await bulwark::async::acquire_for(b, timeout);
        w.granted = static_cast<bool>(w.permit);
      },
      asio::bind_cancellation_slot(slot, [&w](std::exception_ptr e) {
        w.done = true;
        try {
          if (e) std::rethrow_exception(e);
        } catch (const std::system_error& s) {
          w.error = s.code();
        }
      }));
}

void poll(asio::io_context& io) {
  io.restart();
  io.poll();
}

}  // namespace

TEST_CASE("bulkhead: async waiters are served first come first served, one slot at a time",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10}, clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  waiter w[3];
  for (auto& x : w)
    spawn_wait(io, b, 1s, x);
  poll(io);
  CHECK(b.waiting() == 3);
  held.release();
  poll(io);
  CHECK(w[0].granted);
  CHECK_FALSE(w[1].done);
  w[0].permit.release();
  poll(io);
  CHECK(w[1].granted);
  CHECK_FALSE(w[2].done);
  w[1].permit.release();
  poll(io);
  CHECK(w[2].granted);
  CHECK(b.in_flight() == 1);
  CHECK(b.metrics().waited == 3);
}

TEST_CASE("bulkhead: one queue for blocked threads and coroutines, in arrival order", "[asio]") {
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10});  // steady_clock
  auto held = b.try_acquire();
  asio::io_context io;  // destroyed first: it may hold waits on b
  waiter first;
  spawn_wait(io, b, 1h, first);
  poll(io);
  REQUIRE(b.waiting() == 1);
  std::atomic<bool> thread_got{false};
  std::thread blocked([&] {
    auto p = b.try_acquire_for(1h);
    thread_got = static_cast<bool>(p);
  });
  await([&] { return b.waiting() == 2; });
  waiter last;
  spawn_wait(io, b, 1h, last);
  poll(io);
  REQUIRE(b.waiting() == 3);
  held.release();  // to the coroutine that queued first
  poll(io);
  CHECK(first.granted);
  CHECK_FALSE(thread_got.load());
  first.permit.release();  // to the thread
  blocked.join();
  CHECK(thread_got.load());  // its permit was released as it returned: to the last coroutine
  poll(io);
  CHECK(last.granted);
}

TEST_CASE("bulkhead: an async wait times out in virtual time and execute throws bulkhead_full",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10, .max_wait = 50ms}, clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  bool refused = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await bulwark::async::execute(b, []() -> asio::awaitable<void> { co_return; });
        } catch (const bulwark::bulkhead_full&) {
          refused = true;
        }
      },
      asio::detached);
  poll(io);
  bulwark::async::advance(io, clock, 49ms);
  CHECK_FALSE(refused);
  CHECK(b.waiting() == 1);
  bulwark::async::advance(io, clock, 1ms);
  CHECK(refused);
  CHECK(b.waiting() == 0);
  CHECK(b.metrics().timed_out == 1);
  CHECK(b.metrics().rejected == 1);
}

TEST_CASE("bulkhead: execute without max_wait refuses at once, and the queue is bounded",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 1}, clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  bool refused = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await bulwark::async::execute(b, []() -> asio::awaitable<void> { co_return; });
        } catch (const bulwark::bulkhead_full&) {
          refused = true;
        }
      },
      asio::detached);
  poll(io);
  CHECK(refused);
  waiter queued;
  waiter over;
  spawn_wait(io, b, 1s, queued);
  spawn_wait(io, b, 1s, over);
  poll(io);
  CHECK(over.done);
  CHECK_FALSE(over.granted);  // max_waiting = 1: refused without waiting
  CHECK_FALSE(queued.done);
  CHECK(b.metrics().rejected == 2);
}

TEST_CASE("bulkhead: a cancelled waiter leaves the queue, uncounted, and the next one is served",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10}, clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  asio::cancellation_signal signal;
  waiter cancelled;
  waiter next;
  spawn_wait(io, b, 1s, cancelled, signal.slot());
  spawn_wait(io, b, 1s, next);
  poll(io);
  REQUIRE(b.waiting() == 2);
  signal.emit(asio::cancellation_type::terminal);
  poll(io);
  CHECK(cancelled.done);
  CHECK(cancelled.error == asio::error::operation_aborted);
  CHECK(b.waiting() == 1);
  CHECK(b.metrics().rejected == 0);
  held.release();
  poll(io);
  CHECK(next.granted);
  // Its timer was stopped: advancing past its deadline changes nothing.
  bulwark::async::advance(io, clock, 2s);
  CHECK(b.in_flight() == 1);
  CHECK(b.metrics().timed_out == 0);
}

TEST_CASE("bulkhead: a slot handed over as the waiter is cancelled is the waiter's, then passed on",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10}, clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  asio::cancellation_signal signal;
  waiter raced;
  waiter next;
  spawn_wait(io, b, 1s, raced, signal.slot());
  spawn_wait(io, b, 1s, next);
  poll(io);
  held.release();  // hands the slot to `raced`: its completion is queued, not yet run
  signal.emit(asio::cancellation_type::terminal);  // too late: the wait is over
  poll(io);
  CHECK(raced.granted);
  CHECK_FALSE(raced.error);
  CHECK(b.in_flight() == 1);
  raced.permit.release();
  poll(io);
  CHECK(next.granted);
  CHECK(b.in_flight() == 1);
  next.permit.release();
  CHECK(b.in_flight() == 0);
}

TEST_CASE("bulkhead: a slot handed to a wait whose context is destroyed goes to the next waiter",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1, .max_waiting = 10}, clock);
  auto held = b.try_acquire();
  {
    asio::io_context io;
    waiter w;
    spawn_wait(io, b, 1s, w);
    poll(io);
    held.release();  // to the coroutine, whose completion never runs
  }
  CHECK(b.in_flight() == 0);  // the unrun completion released it, nobody else waits
  auto again = b.try_acquire();
  CHECK(again);
}

TEST_CASE("bulkhead: CoDel sheds an async waiter like a blocked one", "[asio]") {
  manual_clock clock;
  bulwark::bulkhead b({.max_concurrent = 1,
                       .max_waiting = 10,
                       .queue = bulwark::queue_discipline::codel,
                       .queue_target = 5ms,
                       .queue_interval = 100ms},
                      clock);
  asio::io_context io;  // destroyed first: it may hold waits on b
  auto held = b.try_acquire();
  waiter w;
  spawn_wait(io, b, 1s, w);
  poll(io);
  bulwark::async::advance(io, clock, 100ms);  // max(nonempty_since + interval, enqueued + target)
  CHECK(w.done);
  CHECK_FALSE(w.granted);
  CHECK(b.metrics().shed == 1);
}

TEST_CASE(
    "bulkhead: several io_context threads and blocked threads share one bulkhead, with "
    "cancellations racing hand-overs",
    "[asio]") {
  using namespace asio::experimental::awaitable_operators;
  constexpr int coroutines = 300;
  constexpr int io_threads = 4;
  constexpr int sync_threads = 2;
  constexpr int sync_calls = 50;
  bulwark::bulkhead b({.max_concurrent = 3, .max_waiting = 1000, .max_wait = 1h});
  asio::io_context io;  // destroyed first: it may hold waits on b
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
  auto enter = [&] {
    const int now = ++inside;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
  };
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int i = 0; i < io_threads; ++i)
    pool.emplace_back([&] { io.run(); });
  for (int i = 0; i < coroutines; ++i) {
    // Each coroutine on a strand of its own: asio's per-operation cancellation wants the
    // signal emitted where the operation completes (the || below cancels from the winner).
    asio::co_spawn(
        asio::make_strand(io),
        [&, i]() -> asio::awaitable<void> {
          if (i % 3 == 0) {
            // Races a yield against the wait: the loser is cancelled, possibly as it is granted.
            auto result =
                co_await (bulwark::async::acquire_for(b, 1h) || asio::post(asio::use_awaitable));
            if (result.index() == 1) {
              ++cancelled;
            } else {
              enter();
              co_await asio::post(asio::use_awaitable);
              --inside;
            }
          } else {
            co_await bulwark::async::execute(b, [&]() -> asio::awaitable<void> {
              enter();
              co_await asio::post(asio::use_awaitable);
              --inside;
            });
          }
          ++finished;
        },
        asio::detached);
  }
  std::vector<std::thread> blocked;
  for (int t = 0; t < sync_threads; ++t) {
    blocked.emplace_back([&] {
      for (int i = 0; i < sync_calls; ++i) {
        b.execute([&] {
          enter();
          --inside;
        });
      }
    });
  }
  for (auto& t : blocked)
    t.join();
  guard.reset();
  for (auto& t : pool)
    t.join();
  CHECK(finished.load() == coroutines);
  CHECK(most.load() <= 3);
  CHECK(b.in_flight() == 0);
  CHECK(b.waiting() == 0);
  CHECK(b.metrics().rejected == 0);
}

TEST_CASE("bulkhead: a wait still queued when its context is destroyed leaves the queue",
          "[asio]") {
  manual_clock clock;
  bulwark::bulkhead virtual_time({.max_concurrent = 1, .max_waiting = 10}, clock);
  bulwark::bulkhead real_time({.max_concurrent = 1, .max_waiting = 10});
  auto held_virtual = virtual_time.try_acquire();
  auto held_real = real_time.try_acquire();
  {
    asio::io_context io;
    waiter a;
    waiter b;
    spawn_wait(io, virtual_time, 1s, a);
    spawn_wait(io, real_time, 1h, b);
    poll(io);
    CHECK(virtual_time.waiting() == 1);
    CHECK(real_time.waiting() == 1);
  }  // LSan: the waits are freed
  CHECK(virtual_time.waiting() == 0);
  CHECK(real_time.waiting() == 0);
  held_virtual.release();
  held_real.release();
  CHECK(virtual_time.in_flight() == 0);
  CHECK(real_time.in_flight() == 0);
}
