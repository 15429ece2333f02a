#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <bulwark/asio/cache.hpp>
#include <bulwark/asio/timer.hpp>
#include <bulwark/cache.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <exception>
#include <future>
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

using int_cache = bulwark::cache<int, int, bulwark::tiny_lfu_eviction, manual_clock>;

}  // namespace

TEST_CASE("concurrent async get_or_load of one key share one load", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 100}, {}, clock);
  int loads = 0;
  auto loader = [&](int key) -> asio::awaitable<int> {
    ++loads;
    co_await bulwark::async::sleep_for(clock, 10ms);
    co_return key * 10;
  };
  std::vector<ending<int>> out(3);
  for (auto& o : out)
    asio::co_spawn(io, bulwark::async::get_or_load(cache, 4, loader), o.handler());
  io.poll();
  CHECK(loads == 1);
  CHECK_FALSE(out[1].done);  // parked, no thread blocked: poll() returned
  bulwark::async::advance(io, clock, 10ms);
  for (const auto& o : out) {
    REQUIRE(o.done);
    CHECK(o.value == 40);
  }
  CHECK(cache.get(4) == 40);
  const auto m = cache.metrics();
  CHECK(m.loads == 1);
  CHECK(m.load_waits == 2);
}

TEST_CASE("a failed async load reaches every awaiter and caches nothing", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 100}, {}, clock);
  int loads = 0;
  auto failing = [&](int) -> asio::awaitable<int> {
    ++loads;
    co_await bulwark::async::sleep_for(clock, 5ms);
    throw std::runtime_error("backend down");
  };
  std::vector<ending<int>> out(3);
  for (auto& o : out)
    asio::co_spawn(io, bulwark::async::get_or_load(cache, 1, failing), o.handler());
  io.poll();
  bulwark::async::advance(io, clock, 5ms);
  for (const auto& o : out) {
    REQUIRE(o.done);
    CHECK_THROWS_AS(std::rethrow_exception(o.error), std::runtime_error);
  }
  CHECK(loads == 1);
  CHECK_FALSE(cache.get(1).has_value());
  CHECK(cache.metrics().load_failures == 1);

  // The next call loads again.
  auto working = [&](int key) -> asio::awaitable<int> {
    ++loads;
    co_return key + 1;
  };
  ending<int> again;
  asio::co_spawn(io, bulwark::async::get_or_load(cache, 1, working), again.handler());
  io.restart();  // run out of work above
  io.poll();
  CHECK(again.value == 2);
  CHECK(loads == 2);
}

TEST_CASE("a write during an async load lets its value through uncached", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 100}, {}, clock);
  auto loader = [&](int) -> asio::awaitable<int> {
    co_await bulwark::async::sleep_for(clock, 5ms);
    co_return 1;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::get_or_load(cache, 9, loader), out.handler());
  io.poll();
  cache.put(9, 2);  // newer than the load
  bulwark::async::advance(io, clock, 5ms);
  CHECK(out.value == 1);
  CHECK(cache.get(9) == 2);
}

TEST_CASE("an async get_or_load joins a sync caller's load of the same key", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 100}, {}, clock);
  std::promise<void> started;
  std::promise<int> release;
  std::thread sync_caller{[&] {
    (void)cache.get_or_load(3, [&](int) {
      started.set_value();
      return release.get_future().get();
    });
  }};
  started.get_future().wait();  // the sync load is in flight
  ending<int> out;
  int async_loads = 0;
  auto loader = [&](int) -> asio::awaitable<int> {
    ++async_loads;
    co_return -1;
  };
  asio::co_spawn(io, bulwark::async::get_or_load(cache, 3, loader), out.handler());
  io.poll();
  CHECK_FALSE(out.done);
  release.set_value(33);
  sync_caller.join();
  io.run();  // the parked wait keeps run() going until the flight settles
  CHECK(out.value == 33);
  CHECK(async_loads == 0);
}

TEST_CASE("cancelling a waiter of an async load leaves the load to the others", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 100}, {}, clock);
  auto loader = [&](int) -> asio::awaitable<int> {
    co_await bulwark::async::sleep_for(clock, 5ms);
    co_return 8;
  };
  ending<int> leader;
  ending<int> waiter;
  asio::cancellation_signal cancel;
  asio::co_spawn(io, bulwark::async::get_or_load(cache, 2, loader), leader.handler());
  asio::co_spawn(io, bulwark::async::get_or_load(cache, 2, loader),
                 asio::bind_cancellation_slot(cancel.slot(), waiter.handler()));
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(waiter.done);
  CHECK(waiter.error);
  CHECK_FALSE(leader.done);
  bulwark::async::advance(io, clock, 5ms);
  CHECK(leader.value == 8);
}

// Several io_context threads: joins, settles and cancellations race (TSan).
TEST_CASE("async get_or_load on several io_context threads loads each key once", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  int_cache cache({.maximum_size = 1000}, {}, clock);
  std::atomic<int> loads{0};
  std::atomic<int> right{0};
  auto loader = [&](int key) -> asio::awaitable<int> {
    loads.fetch_add(1, std::memory_order_relaxed);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_return key * 2;
  };
  constexpr int keys = 50;
  constexpr int callers = 8;
  for (int c = 0; c < callers; ++c) {
    for (int k = 0; k < keys; ++k) {
      asio::co_spawn(io, bulwark::async::get_or_load(cache, k, loader),
                     [&, k](std::exception_ptr e, int v) {
                       if (!e && v == k * 2) right.fetch_add(1, std::memory_order_relaxed);
                     });
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] { io.run(); });
  for (auto& t : threads)
    t.join();
  CHECK(right.load() == keys * callers);
  CHECK(loads.load() == keys);
}
