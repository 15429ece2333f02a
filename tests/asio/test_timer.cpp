#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <bulwark/asio/timer.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;

namespace {

// What a spawned coroutine ended with: not yet, normally, or with this error.
struct outcome {
  bool done = false;
  std::error_code error;
};

auto record(outcome& out) {
  return [&out](std::exception_ptr e) {
    out.done = true;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& error) {
      out.error = error.code();
    }
  };
}

}  // namespace

TEST_CASE("virtual waits complete in deadline order, first come first among equal deadlines",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  std::vector<std::string> woke;
  std::vector<bulwark::time_point> woke_at;
  auto sleeper = [&](std::string name, bulwark::duration d) -> asio::awaitable<void> {
    co_await bulwark::async::sleep_for(clock, d);
    woke.push_back(name);
    woke_at.push_back(clock.now());
  };
  asio::co_spawn(io, sleeper("a", 30ms), asio::detached);
  asio::co_spawn(io, sleeper("b", 10ms), asio::detached);
  asio::co_spawn(io, sleeper("c", 10ms), asio::detached);
  io.poll();  // the three start and queue their waits
  CHECK(woke.empty());

  bulwark::async::advance(io, clock, 9ms);
  CHECK(woke.empty());
  CHECK(clock.now() == t0 + 9ms);

  bulwark::async::advance(io, clock, 31ms);
  CHECK(woke == std::vector<std::string>{"b", "c", "a"});
  // advance() stops at each deadline: each sleeper resumes reading its own deadline.
  CHECK(woke_at == std::vector<bulwark::time_point>{t0 + 10ms, t0 + 10ms, t0 + 30ms});
  CHECK(clock.now() == t0 + 40ms);
}

TEST_CASE("a wait queued while advance() runs is fired within the same advance when due",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  std::vector<bulwark::time_point> ticks;
  auto ticker = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      co_await bulwark::async::sleep_for(clock, 5ms);
      ticks.push_back(clock.now());
    }
  };
  asio::co_spawn(io, ticker(), asio::detached);
  io.poll();
  bulwark::async::advance(io, clock, 12ms);
  CHECK(ticks == std::vector<bulwark::time_point>{t0 + 5ms, t0 + 10ms});
  bulwark::async::advance(io, clock, 3ms);
  CHECK(ticks.size() == 3);
  CHECK(ticks.back() == t0 + 15ms);
}

TEST_CASE("a wait whose deadline has passed completes on the next poll, with no advance",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  outcome out;
  asio::co_spawn(io, bulwark::async::sleep_until(clock, clock.now() - 1s), record(out));
  asio::co_spawn(io, bulwark::async::sleep_for(clock, 0ms), asio::detached);
  CHECK_FALSE(out.done);  // never inline
  io.poll();
  CHECK(out.done);
  CHECK_FALSE(out.error);
}

TEST_CASE("cancelling a virtual wait completes it with operation_aborted and dequeues it",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  asio::cancellation_signal signal;
  outcome cancelled;
  outcome kept;
  asio::co_spawn(io, bulwark::async::sleep_for(clock, 10ms),
                 asio::bind_cancellation_slot(signal.slot(), record(cancelled)));
  asio::co_spawn(io, bulwark::async::sleep_for(clock, 10ms), record(kept));
  io.poll();
  signal.emit(asio::cancellation_type::terminal);
  io.poll();
  CHECK(cancelled.done);
  CHECK(cancelled.error == asio::error::operation_aborted);
  CHECK_FALSE(kept.done);
  bulwark::async::advance(io, clock, 10ms);
  CHECK(kept.done);
  CHECK_FALSE(kept.error);
  // The cancelled wait left the queue: nothing is pending, so run() returns at once.
  CHECK(io.run() == 0);
}

TEST_CASE("cancelling after the deadline was reached changes nothing: the wait succeeded",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  asio::cancellation_signal signal;
  outcome out;
  asio::co_spawn(io, bulwark::async::sleep_for(clock, 10ms),
                 asio::bind_cancellation_slot(signal.slot(), record(out)));
  io.poll();
  // Fire without running handlers, then cancel before the completion runs.
  auto& service = asio::use_service<bulwark::async::detail::virtual_timer_service>(io);
  clock.advance(10ms);
  for (auto* node : service.take_due(clock.time_id(), clock.now()))
    node->on_complete(node, {});
  signal.emit(asio::cancellation_type::terminal);
  io.poll();
  CHECK(out.done);
  CHECK_FALSE(out.error);
}

TEST_CASE("copies of one manual_clock share a queue, separate clocks do not", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  manual_clock copy = clock;
  manual_clock other;
  outcome via_copy;
  outcome via_other;
  asio::co_spawn(io, bulwark::async::sleep_for(copy, 5ms), record(via_copy));
  asio::co_spawn(io, bulwark::async::sleep_for(other, 5ms), record(via_other));
  io.poll();
  bulwark::async::advance(io, clock, 5ms);
  CHECK(via_copy.done);
  CHECK_FALSE(via_other.done);
  bulwark::async::advance(io, other, 5ms);
  CHECK(via_other.done);
}

TEST_CASE("a pending virtual wait keeps io_context::run() going, as a real timer does", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  outcome out;
  asio::co_spawn(io, bulwark::async::sleep_for(clock, 1s), record(out));
  io.poll();
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    io.run();
    finished = true;
  });
  CHECK_FALSE(finished.load());
  bulwark::async::advance(io, clock, 1s);
  runner.join();
  CHECK(finished.load());
  CHECK(out.done);
}

TEST_CASE("destroying the io_context with waits pending frees them without completing", "[asio]") {
  manual_clock clock;
  bool resumed = false;
  {
    asio::io_context io;
    auto waiter = [&]() -> asio::awaitable<void> {
      co_await bulwark::async::sleep_for(clock, 1s);
      resumed = true;
    };
    asio::co_spawn(io, waiter(), asio::detached);
    io.poll();
  }  // ASan: nothing leaks
  CHECK_FALSE(resumed);
}

TEST_CASE("real clocks: a past deadline completes, a cancelled steady_timer wait aborts",
          "[asio]") {
  asio::io_context io;
  asio::cancellation_signal signal;
  outcome past;
  outcome cancelled;
  asio::co_spawn(io, bulwark::async::sleep_until(bulwark::steady_clock{}, bulwark::time_point{}),
                 record(past));
  asio::co_spawn(io, bulwark::async::sleep_for(bulwark::coarse_clock{}, 1h),
                 asio::bind_cancellation_slot(signal.slot(), record(cancelled)));
  io.poll();
  CHECK(past.done);
  CHECK_FALSE(past.error);
  CHECK_FALSE(cancelled.done);
  signal.emit(asio::cancellation_type::terminal);
  io.run();  // returns: the hour-long wait was cancelled
  CHECK(cancelled.done);
  CHECK(cancelled.error == asio::error::operation_aborted);
}

TEST_CASE("the completion-token form: a callback completes on the io_context", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  std::error_code got = asio::error::would_block;
  bulwark::async::async_wait_for(io.get_executor(), clock, 3ms,
                                 [&](std::error_code ec) { got = ec; });
  bulwark::async::advance(io, clock, 2ms);
  CHECK(got == asio::error::would_block);
  bulwark::async::advance(io, clock, 1ms);
  CHECK_FALSE(got);
}

TEST_CASE(
    "several io_context threads: every virtual wait completes once, at or after its "
    "deadline",
    "[asio]") {
  constexpr int waiters = 400;
  constexpr int threads = 4;
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  std::atomic<int> woke{0};
  std::atomic<int> early{0};
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&] { io.run(); });
  for (int i = 0; i < waiters; ++i) {
    const auto deadline = t0 + std::chrono::milliseconds(i % 37);
    asio::co_spawn(
        io,
        [&, deadline]() -> asio::awaitable<void> {
          co_await bulwark::async::sleep_until(clock, deadline);
          if (clock.now() < deadline) ++early;
          ++woke;
        },
        asio::detached);
  }
  // Deadlines are absolute: a coroutine that queues its wait after the clock passed its
  // deadline completes at once, so every one completes whatever the interleaving.
  for (int step = 0; step < 40; ++step)
    bulwark::async::advance(io, clock, 1ms);
  guard.reset();
  for (auto& t : pool)
    t.join();
  CHECK(woke.load() == waiters);
  CHECK(early.load() == 0);
}
