#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <bulwark/asio/hedge.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/retry/budget.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::ending;

namespace {

// Attempt k (from 0) sleeps latency[k] of virtual time, then returns k or throws; it records
// how it ended: 'w' returned, 'f' failed, 'c' cancelled.
struct replicas {
  manual_clock clock;
  std::vector<bulwark::duration> latency;
  std::vector<bool> fails;
  std::vector<bulwark::time_point> started;
  std::vector<char> ended;

  auto call() {
    return [this]() -> asio::awaitable<int> {
      const auto k = static_cast<int>(started.size());
      started.push_back(clock.now());
      ended.resize(started.size(), '-');
      try {
        co_await bulwark::async::sleep_for(clock, latency.at(static_cast<std::size_t>(k)));
      } catch (const std::system_error&) {
        ended[static_cast<std::size_t>(k)] = 'c';
        throw;
      }
      if (fails.size() > static_cast<std::size_t>(k) && fails[static_cast<std::size_t>(k)]) {
        ended[static_cast<std::size_t>(k)] = 'f';
        throw std::runtime_error("replica down");
      }
      ended[static_cast<std::size_t>(k)] = 'w';
      co_return k;
    };
  }
};

}  // namespace

TEST_CASE(
    "an async hedge starts a second attempt after the delay, the first success wins, "
    "the loser is cancelled",
    "[asio]") {
  asio::io_context io;
  replicas r;
  r.latency = {1s, 50ms};
  const auto t0 = r.clock.now();
  bulwark::async::hedge hedged({.delay = 100ms, .max_hedged_attempts = 1}, r.clock);
  ending<int> out;
  asio::co_spawn(io, hedged.execute(r.call()), out.handler());
  io.poll();
  bulwark::async::advance(io, r.clock, 99ms);
  CHECK(r.started.size() == 1);
  bulwark::async::advance(io, r.clock, 51ms);
  REQUIRE(out.done);
  CHECK(out.value == 1);
  CHECK(r.started == std::vector<bulwark::time_point>{t0, t0 + 100ms});
  io.poll();
  CHECK(r.ended == std::vector<char>{'c', 'w'});  // the slow attempt was cancelled
  CHECK(hedged.metrics() == bulwark::hedge_metrics{.calls = 1, .hedges = 1, .refused = 0});
}

TEST_CASE(
    "an async hedge starts the next attempt at once when one fails, and rethrows the "
    "last failure when all fail",
    "[asio]") {
  asio::io_context io;
  replicas r;
  r.latency = {10ms, 20ms, 30ms};
  r.fails = {true, true, true};
  const auto t0 = r.clock.now();
  bulwark::async::hedge hedged({.delay = 1s, .max_hedged_attempts = 2}, r.clock);
  ending<int> out;
  asio::co_spawn(io, hedged.execute(r.call()), out.handler());
  io.poll();
  bulwark::async::advance(io, r.clock, 100ms);
  REQUIRE(out.done);
  CHECK(r.started == std::vector<bulwark::time_point>{t0, t0 + 10ms, t0 + 30ms});
  REQUIRE(out.error);
  CHECK_THROWS_AS(std::rethrow_exception(out.error), std::runtime_error);
}

TEST_CASE("an async hedge spends the retry budget per hedge and stops hedging when it refuses",
          "[asio]") {
  asio::io_context io;
  replicas r;
  r.latency = {300ms, 10ms};
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::ratio_budget_options{.retry_ratio = 0.0, .min_retries_per_second = 0});
  bulwark::async::hedge hedged({.delay = 100ms, .max_hedged_attempts = 1, .budget = budget},
                               r.clock);
  ending<int> out;
  asio::co_spawn(io, hedged.execute(r.call()), out.handler());
  io.poll();
  bulwark::async::advance(io, r.clock, 1s);
  REQUIRE(out.done);
  CHECK(out.value == 0);  // no hedge: the slow first attempt answered
  CHECK(r.started.size() == 1);
  CHECK(hedged.metrics() == bulwark::hedge_metrics{.calls = 1, .hedges = 0, .refused = 1});
}

TEST_CASE("cancelling an async hedge's caller cancels every attempt", "[asio]") {
  asio::io_context io;
  replicas r;
  r.latency = {1s, 1s};
  bulwark::async::hedge hedged({.delay = 100ms, .max_hedged_attempts = 1}, r.clock);
  asio::cancellation_signal cancel;
  ending<int> out;
  asio::co_spawn(io, hedged.execute(r.call()),
                 asio::bind_cancellation_slot(cancel.slot(), out.handler()));
  io.poll();
  bulwark::async::advance(io, r.clock, 200ms);
  REQUIRE(r.started.size() == 2);
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(out.done);
  CHECK(out.error);
  CHECK(r.ended == std::vector<char>{'c', 'c'});
}

// Several threads run the context: each call's attempts and bookkeeping share its strand, so
// TSan sees no race; every call gets exactly one winner's value.
TEST_CASE("async hedges on several io_context threads each return one winner", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::async::hedge hedged({.delay = 0ms, .max_hedged_attempts = 3}, clock);
  std::atomic<int> attempts{0};
  std::atomic<int> answered{0};
  auto call = [&]() -> asio::awaitable<int> {
    const int k = attempts.fetch_add(1, std::memory_order_relaxed);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return k;
  };
  constexpr int calls = 200;
  for (int i = 0; i < calls; ++i) {
    asio::co_spawn(io, hedged.execute(call), [&](std::exception_ptr e, int) {
      if (!e) answered.fetch_add(1, std::memory_order_relaxed);
    });
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] { io.run(); });
  for (auto& t : threads)
    t.join();
  CHECK(answered.load() == calls);
  CHECK(attempts.load() == calls * 4);  // delay 0: all four attempts start at once
  CHECK(hedged.metrics().hedges == calls * 3);
}
