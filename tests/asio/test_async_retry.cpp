#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio/retry.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::ending;

namespace {

struct flaky : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class E>
const E* error_as(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const E& error) {
    static thread_local std::optional<E> kept;
    kept.emplace(error);
    return &*kept;
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

TEST_CASE("async retry waits the schedule's backoff on the timer, in virtual time", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::retry_policy policy({.max_attempts = 4,
                                .backoff = {.kind = bulwark::backoff_kind::exponential,
                                            .base = 100ms,
                                            .jitter = bulwark::jitter_kind::none}});
  std::vector<bulwark::time_point> starts;
  auto attempt = [&]() -> asio::awaitable<int> {
    starts.push_back(clock.now());
    if (starts.size() < 3) throw flaky("503");
    co_return 42;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt), out.handler());
  io.poll();
  CHECK(starts.size() == 1);
  bulwark::async::advance(io, clock, 99ms);
  CHECK(starts.size() == 1);  // the backoff's first delay is 100 ms: no attempt yet
  bulwark::async::advance(io, clock, 1s);
  REQUIRE(out.done);
  CHECK(out.value == 42);
  // The same delays as the sync executor's schedule: 100 ms, then 200 ms.
  CHECK(starts == std::vector<bulwark::time_point>{t0, t0 + 100ms, t0 + 300ms});
}

TEST_CASE("async retry honours a rejected's retry_after hint and stops on pushback", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::retry_policy policy(
      {.max_attempts = 5, .backoff = {.base = 10ms, .jitter = bulwark::jitter_kind::none}});
  std::vector<bulwark::time_point> starts;
  auto attempt = [&]() -> asio::awaitable<int> {
    starts.push_back(clock.now());
    if (starts.size() == 1) throw bulwark::rejected("server", "busy", 750ms);
    if (starts.size() == 2) throw bulwark::rejected("server", "go away", -1ms);
    co_return 1;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt), out.handler());
  io.poll();  // the call starts at t0
  bulwark::async::advance(io, clock, 2s);
  REQUIRE(out.done);
  CHECK(starts == std::vector<bulwark::time_point>{t0, t0 + 750ms});
  const auto* exhausted = error_as<bulwark::retries_exhausted>(out.error);
  REQUIRE(exhausted != nullptr);
  CHECK(exhausted->reason() == bulwark::retry_stop_reason::pushback);
  CHECK(exhausted->attempts() == 2);
}

TEST_CASE("async retry stops at the deadline without waiting, and passes time left", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::retry_policy policy({.max_attempts = 10,
                                .max_elapsed = 250ms,
                                .backoff = {.kind = bulwark::backoff_kind::constant,
                                            .base = 100ms,
                                            .jitter = bulwark::jitter_kind::none}});
  std::vector<bulwark::duration> left;
  auto attempt = [&](const bulwark::attempt_context& context) -> asio::awaitable<int> {
    left.push_back(context.time_left.value());
    throw flaky("down");
    co_return 0;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt), out.handler());
  io.poll();  // the call starts at t0
  bulwark::async::advance(io, clock, 1s);
  REQUIRE(out.done);
  CHECK(left == std::vector<bulwark::duration>{250ms, 150ms, 50ms});
  const auto* exhausted = error_as<bulwark::retries_exhausted>(out.error);
  REQUIRE(exhausted != nullptr);
  CHECK(exhausted->reason() == bulwark::retry_stop_reason::deadline);
  CHECK(clock.now() == t0 + 1s);
}

TEST_CASE("async retry spends the shared retry budget and stops when it refuses", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  // A 0 ratio and no minimum: the budget grants no retry.
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::ratio_budget_options{.retry_ratio = 0.0, .min_retries_per_second = 0});
  bulwark::retry_policy policy({.max_attempts = 5, .budget = budget});
  int attempts = 0;
  auto attempt = [&]() -> asio::awaitable<int> {
    ++attempts;
    throw flaky("down");
    co_return 0;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt), out.handler());
  io.poll();  // the call starts at t0
  bulwark::async::advance(io, clock, 1s);
  REQUIRE(out.done);
  CHECK(attempts == 1);
  const auto* exhausted = error_as<bulwark::retries_exhausted>(out.error);
  REQUIRE(exhausted != nullptr);
  CHECK(exhausted->reason() == bulwark::retry_stop_reason::budget);
}

TEST_CASE("async retry rethrows an error retry_on refuses, unchanged", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::retry_policy policy(
      {.max_attempts = 5, .retry_on = bulwark::retry_on_exceptions<flaky>()});
  int attempts = 0;
  auto attempt = [&]() -> asio::awaitable<int> {
    ++attempts;
    throw std::logic_error("bug");
    co_return 0;
  };
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt), out.handler());
  io.poll();  // the call starts at t0
  bulwark::async::advance(io, clock, 1s);
  REQUIRE(out.done);
  CHECK(attempts == 1);
  CHECK(error_as<std::logic_error>(out.error) != nullptr);
}

TEST_CASE("cancelling an async retry aborts its wait and starts no further attempt", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::retry_policy policy({.max_attempts = 5,
                                .backoff = {.kind = bulwark::backoff_kind::constant,
                                            .base = 1s,
                                            .jitter = bulwark::jitter_kind::none}});
  int attempts = 0;
  auto attempt = [&]() -> asio::awaitable<int> {
    ++attempts;
    throw flaky("down");
    co_return 0;
  };
  asio::cancellation_signal cancel;
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, attempt),
                 asio::bind_cancellation_slot(cancel.slot(), out.handler()));
  io.poll();                                   // the call starts at t0
  bulwark::async::advance(io, clock, 1500ms);  // attempt 1, the wait, attempt 2, waiting again
  CHECK(attempts == 2);
  CHECK_FALSE(out.done);
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(out.done);  // the pending wait was aborted at once, without advancing time
  bulwark::async::advance(io, clock, 10s);
  CHECK(attempts == 2);
  const auto* exhausted = error_as<bulwark::retries_exhausted>(out.error);
  REQUIRE(exhausted != nullptr);
  CHECK(exhausted->reason() == bulwark::retry_stop_reason::stopped);
  CHECK(exhausted->attempts() == 2);
}

TEST_CASE("async retry takes a sync retry executor's policy and clock", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::retry sync_retry(
      {.max_attempts = 2, .backoff = {.base = 5ms, .jitter = bulwark::jitter_kind::none}}, clock);
  int attempts = 0;
  auto attempt = [&]() -> asio::awaitable<void> {
    if (++attempts == 1) throw flaky("once");
    co_return;
  };
  bool done = false;
  asio::co_spawn(io, bulwark::async::retry(sync_retry, attempt),
                 [&](std::exception_ptr e) { done = !e; });
  io.poll();  // the call starts at t0
  bulwark::async::advance(io, clock, 5ms);
  CHECK(done);
  CHECK(attempts == 2);
}

TEST_CASE(
    "async retry retries a result its predicate rejects, with the result's hint, and "
    "returns the last result when it stops",
    "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::retry_policy policy(
      {.max_attempts = 3, .backoff = {.base = 10ms, .jitter = bulwark::jitter_kind::none}});
  std::vector<bulwark::time_point> starts;
  auto attempt = [&]() -> asio::awaitable<int> {
    starts.push_back(clock.now());
    co_return 503;
  };
  auto call = bulwark::retry_call{}.retry_result_if([](const int& status) {
    return bulwark::retry_decision{.retry = status == 503, .after = 2s};
  });
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, call, attempt), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 10s);
  REQUIRE(out.done);
  CHECK(out.value == 503);  // the last result, as the sync executor returns it
  CHECK(starts == std::vector<bulwark::time_point>{t0, t0 + 2s, t0 + 4s});
}

TEST_CASE("async retry hands an exhausted call to its dead-letter handler", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::retry_policy policy(
      {.max_attempts = 2, .backoff = {.base = 1ms, .jitter = bulwark::jitter_kind::none}});
  auto attempt = [&]() -> asio::awaitable<int> {
    throw flaky("down");
    co_return 0;
  };
  std::optional<bulwark::retry_stop_reason> dead;
  auto call = bulwark::retry_call{}.dead_letter(
      [&](const bulwark::retries_exhausted& e) { dead = e.reason(); });
  ending<int> out;
  asio::co_spawn(io, bulwark::async::retry(policy, clock, call, attempt), out.handler());
  io.poll();
  bulwark::async::advance(io, clock, 1s);
  REQUIRE(out.done);
  CHECK(dead == bulwark::retry_stop_reason::attempts);
  const auto* exhausted = error_as<bulwark::retries_exhausted>(out.error);
  REQUIRE(exhausted != nullptr);
  CHECK(exhausted->last_error() != nullptr);  // the last failure nested
}
