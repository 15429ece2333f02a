#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio/idempotency.hpp>
#include <bulwark/asio/timer.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/idempotency.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::ending;
using bulwark_test::holds;

namespace {

using store_t = bulwark::memory_store<std::string, manual_clock>;
using result_t = bulwark::idempotency_result<std::string>;

}  // namespace

TEST_CASE("async idempotent execute runs the handler once and replays it to repeats", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store, {}, clock);
  int runs = 0;
  auto handler = [&]() -> asio::awaitable<std::string> {
    ++runs;
    co_await bulwark::async::sleep_for(clock, 5ms);
    co_return std::string{"receipt"};
  };
  ending<result_t> first;
  asio::co_spawn(io, bulwark::async::execute(exec, {"pay", "k1"}, "body", handler),
                 first.handler());
  io.poll();
  bulwark::async::advance(io, clock, 5ms);
  REQUIRE(first.value);
  CHECK_FALSE(first.value->replayed);
  CHECK(first.value->value == "receipt");

  ending<result_t> repeat;
  asio::co_spawn(io, bulwark::async::execute(exec, {"pay", "k1"}, "body", handler),
                 repeat.handler());
  bulwark::async::run_due(io, clock);
  REQUIRE(repeat.value);
  CHECK(repeat.value->replayed);
  CHECK(repeat.value->value == "receipt");
  CHECK(runs == 1);
  CHECK(exec.metrics().executions == 1);
  CHECK(exec.metrics().replays == 1);
}

TEST_CASE(
    "an async duplicate waits for the holder on the timer, with the sync pauses, and "
    "replays its outcome",
    "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store,
                                     {.on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = 1s,
                                      .poll_interval = 10ms,
                                      .max_poll_interval = 40ms},
                                     clock);
  int runs = 0;
  auto slow = [&]() -> asio::awaitable<std::string> {
    ++runs;
    co_await bulwark::async::sleep_for(clock, 25ms);
    co_return std::string{"first"};
  };
  ending<result_t> first;
  ending<result_t> second;
  asio::co_spawn(io, bulwark::async::execute(exec, {"pay", "k"}, "body", slow), first.handler());
  asio::co_spawn(io, bulwark::async::execute(exec, {"pay", "k"}, "body", slow), second.handler());
  io.poll();  // the first holds the key; the second finds it in progress and waits 10 ms
  CHECK(exec.metrics().waits == 1);
  bulwark::async::advance(io, clock, 25ms);
  REQUIRE(first.done);
  CHECK_FALSE(second.done);  // polled at 10 ms, then waits 20 ms more: next look at 30 ms
  bulwark::async::advance(io, clock, 5ms);
  REQUIRE(second.value);
  CHECK(second.value->replayed);
  CHECK(second.value->value == "first");
  CHECK(runs == 1);
  CHECK(clock.now() == t0 + 30ms);
}

TEST_CASE("an async duplicate that waits past wait_timeout gets request_in_progress", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store,
                                     {.lease = 1h,
                                      .on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = 100ms,
                                      .poll_interval = 10ms,
                                      .max_poll_interval = 40ms},
                                     clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  REQUIRE(holder.status == bulwark::attempt_status::acquired);
  auto handler = []() -> asio::awaitable<std::string> { co_return std::string{}; };
  ending<result_t> out;
  asio::co_spawn(io, bulwark::async::execute(exec, {"s", "k"}, "p", handler), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 99ms);
  CHECK_FALSE(out.done);
  bulwark::async::advance(io, clock, 1ms);
  REQUIRE(out.done);
  CHECK(holds<bulwark::request_in_progress>(out.error));
}

TEST_CASE("a failing async handler releases the key, so a retry runs again", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store, {}, clock);
  int runs = 0;
  auto handler = [&]() -> asio::awaitable<std::string> {
    if (++runs == 1) throw std::runtime_error("card declined");
    co_return std::string{"ok"};
  };
  ending<result_t> first;
  asio::co_spawn(io, bulwark::async::execute(exec, {"s", "k"}, "p", handler), first.handler());
  io.poll();
  CHECK(holds<std::runtime_error>(first.error));
  ending<result_t> retry;
  asio::co_spawn(io, bulwark::async::execute(exec, {"s", "k"}, "p", handler), retry.handler());
  io.restart();
  io.poll();
  REQUIRE(retry.value);
  CHECK_FALSE(retry.value->replayed);
  CHECK(runs == 2);
  CHECK(exec.metrics().failures_released == 1);
}

TEST_CASE("cancelling an async duplicate's wait ends it holding nothing", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(
      store, {.on_in_progress = bulwark::in_progress_policy::wait, .wait_timeout = 1s}, clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  auto handler = []() -> asio::awaitable<std::string> { co_return std::string{"x"}; };
  asio::cancellation_signal cancel;
  ending<result_t> out;
  asio::co_spawn(io, bulwark::async::execute(exec, {"s", "k"}, "p", handler),
                 asio::bind_cancellation_slot(cancel.slot(), out.handler()));
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(out.done);
  CHECK(holds<std::system_error>(out.error));
  REQUIRE(holder.permit.complete("holder's"));  // the holder's lease is untouched
}
