#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio/timeout.hpp>
#include <bulwark/compose/timeout.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::ending;
using bulwark_test::holds;

namespace {

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    return error.what();
  }
}

}  // namespace

TEST_CASE("an async timeout returns the call's value when it finishes in time", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  auto call = [&]() -> asio::awaitable<int> {
    co_await bulwark::async::sleep_for(clock, 40ms);
    co_return 7;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::with_timeout(100ms, clock, call), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 40ms);
  REQUIRE(out.done);
  CHECK(out.value == 7);
  CHECK(io.poll() == 0);  // the timer was cancelled with the group: nothing left queued
}

TEST_CASE("an async timeout cancels the call at the deadline and throws timeout_expired",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  std::error_code inner_ended;
  auto call = [&]() -> asio::awaitable<int> {
    try {
      co_await bulwark::async::sleep_for(clock, 1s);
    } catch (const std::system_error& e) {
      inner_ended = e.code();
      throw;
    }
    co_return 1;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::with_timeout(100ms, clock, call), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 99ms);
  CHECK_FALSE(out.done);
  bulwark::async::advance(io, clock, 1ms);
  REQUIRE(out.done);
  CHECK(clock.now() == t0 + 100ms);
  CHECK(inner_ended == asio::error::operation_aborted);  // cancelled, not left running
  REQUIRE(holds<bulwark::timeout_expired>(out.error));
  CHECK(holds<bulwark::rejected>(out.error));
  // The sync timeout's message.
  CHECK(message_of(out.error) == "bulwark::timeout: the call did not finish within its timeout");
}

TEST_CASE("an async timeout passes the call's exception through unchanged", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  auto call = [&]() -> asio::awaitable<int> {
    co_await bulwark::async::sleep_for(clock, 10ms);
    throw std::out_of_range("no row");
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::with_timeout(100ms, clock, call), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 10ms);
  REQUIRE(out.done);
  CHECK(holds<std::out_of_range>(out.error));
}

TEST_CASE("async execute takes a sync timeout's duration and clock", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::timeout timeout({.timeout = 50ms}, clock);
  auto call = [&]() -> asio::awaitable<void> { co_await bulwark::async::sleep_for(clock, 60ms); };
  bool expired = false;
  asio::co_spawn(io, bulwark::async::execute(timeout, call),
                 [&](std::exception_ptr e) { expired = holds<bulwark::timeout_expired>(e); });
  io.poll();
  bulwark::async::advance(io, clock, 50ms);
  CHECK(expired);
}

TEST_CASE("cancelling the caller of an async timeout cancels the call", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  std::error_code inner_ended;
  auto call = [&]() -> asio::awaitable<int> {
    try {
      co_await bulwark::async::sleep_for(clock, 1s);
    } catch (const std::system_error& e) {
      inner_ended = e.code();
      throw;
    }
    co_return 1;
  };
  asio::cancellation_signal cancel;
  ending<int> out;
  asio::co_spawn(io, bulwark::async::with_timeout(500ms, clock, call),
                 asio::bind_cancellation_slot(cancel.slot(), out.handler()));
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(out.done);
  CHECK(inner_ended == asio::error::operation_aborted);
  CHECK_FALSE(holds<bulwark::timeout_expired>(out.error));  // not a timeout: the caller gave up
}
