// retry, timeout and hedge inside an awaitable pipeline (asio/pipeline.hpp's awaitable_policy):
// the order docs/compose.md recommends, in virtual time.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;

TEST_CASE(
    "pipeline of retry, breaker, limiter, bulkhead and attempt timeout: a hung attempt "
    "times out, is counted by the breaker and retried",
    "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::retry retry({.max_attempts = 3,
                        .backoff = {.kind = bulwark::backoff_kind::constant,
                                    .base = 50ms,
                                    .jitter = bulwark::jitter_kind::none}},
                       clock);
  bulwark::circuit_breaker breaker({.minimum_calls = 100}, clock);
  bulwark::gcra limiter({.rate = bulwark::per_second(1000), .burst = 10}, clock);
  bulwark::bulkhead bulkhead({.max_concurrent = 1}, clock);
  bulwark::pipeline protect(retry, breaker, limiter, bulkhead,
                            bulwark::timeout({.timeout = 100ms}, clock));

  std::vector<bulwark::time_point> starts;
  std::vector<std::error_code> ends;
  auto call = [&]() -> asio::awaitable<int> {
    starts.push_back(clock.now());
    try {
      // The first attempt hangs (an hour), the second answers in 10 ms.
      co_await bulwark::async::sleep_for(clock, starts.size() == 1 ? 1h : 10ms);
    } catch (const std::system_error& e) {
      ends.push_back(e.code());
      throw;
    }
    co_return 7;
  };
  std::optional<int> got;
  std::exception_ptr error;
  asio::co_spawn(io, bulwark::async::execute(protect, call), [&](std::exception_ptr e, int v) {
    error = e;
    if (!e) got = v;
  });
  io.poll();
  bulwark::async::advance(io, clock, 1s);
  REQUIRE_FALSE(error);
  CHECK(got == 7);
  // Timed out at 100 ms (cancelled, not left hanging), retried 50 ms later.
  CHECK(starts == std::vector<bulwark::time_point>{t0, t0 + 150ms});
  CHECK(ends == std::vector<std::error_code>{asio::error::operation_aborted});
  const auto m = breaker.metrics();
  CHECK(m.failed_calls == 1);  // the timeout_expired
  CHECK(m.buffered_calls == 2);
  CHECK(bulkhead.metrics().in_flight == 0);  // the hung attempt's slot was given back
}

TEST_CASE("an async hedge composes in a pipeline, and async::execute takes a retry", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::async::hedge hedged({.delay = 20ms, .max_hedged_attempts = 1}, clock);
  bulwark::circuit_breaker breaker({.minimum_calls = 100}, clock);
  bulwark::pipeline protect(hedged, breaker);
  int attempts = 0;
  auto call = [&]() -> asio::awaitable<int> {
    const int k = attempts++;
    co_await bulwark::async::sleep_for(clock, k == 0 ? 1s : 5ms);
    co_return k;
  };
  std::optional<int> got;
  asio::co_spawn(io, bulwark::async::execute(protect, call), [&](std::exception_ptr e, int v) {
    if (!e) got = v;
  });
  io.poll();
  bulwark::async::advance(io, clock, 25ms);
  CHECK(got == 1);  // the hedge, started at 20 ms, answered at 25 ms

  bulwark::retry retry({.max_attempts = 2, .backoff = {.base = 1ms}}, clock);
  int tries = 0;
  auto flaky = [&]() -> asio::awaitable<int> {
    if (++tries == 1) throw std::runtime_error("once");
    co_return 3;
  };
  std::optional<int> again;
  asio::co_spawn(io, bulwark::async::execute(retry, flaky), [&](std::exception_ptr e, int v) {
    if (!e) again = v;
  });
  io.restart();  // the hedge's run left the context out of work
  io.poll();
  bulwark::async::advance(io, clock, 10ms);
  CHECK(again == 3);
  CHECK(tries == 2);
}
