// The awaitable execute of the circuit breaker and the rate limiters, and of a pipeline: the
// same guard objects as sync callers, refusals and records as the sync execute makes them.
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio.hpp>
#include <bulwark/circuit_breaker/circuit_breaker.hpp>
#include <bulwark/compose/pipeline.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <bulwark/rate_limit/fixed_window.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/leaky_bucket.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::answer;
using bulwark_test::fail;
using bulwark_test::holds;
using bulwark_test::run;

namespace {

bulwark::circuit_breaker_options small_window() {
  bulwark::circuit_breaker_options o;
  o.window_size = 4;
  o.minimum_calls = 4;
  o.failure_rate_threshold = 0.5;
  o.wait_in_open = 10s;
  return o;
}

}  // namespace

TEST_CASE("breaker: sync and async callers fill one window and see one open state", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::circuit_breaker breaker(small_window(), clock);
  CHECK(breaker.execute([] { return 1; }) == 1);
  CHECK(breaker.execute([] { return 2; }) == 2);
  int got = 0;
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute(breaker, answer);
  }()));
  CHECK(got == 42);
  // The fourth call, async, fails: 1 of 4 failed, still closed.
  CHECK(holds<std::runtime_error>(run(
      io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(breaker, fail); }())));
  CHECK(breaker.state() == bulwark::circuit_state::closed);
  CHECK(holds<std::runtime_error>(run(
      io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(breaker, fail); }())));
  // 2 failures in the last 4 calls: 50%, the threshold.
  CHECK(breaker.state() == bulwark::circuit_state::open);
  const auto m = breaker.metrics();
  CHECK(m.failed_calls == 2);

  // Refused alike, with the same retry_after, by both forms.
  std::optional<bulwark::duration> async_hint;
  run(io, [&]() -> asio::awaitable<void> {
    try {
      co_await bulwark::async::execute(breaker, answer);
    } catch (const bulwark::circuit_open& e) {
      async_hint = e.retry_after();
    }
  }());
  CHECK(async_hint == 10s);
  CHECK_THROWS_AS(breaker.execute([] { return 0; }), bulwark::circuit_open);
  CHECK(breaker.metrics().not_permitted_calls == 2);
}

TEST_CASE("breaker: a slow awaited call counts as slow, timed on the breaker's clock", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  auto options = small_window();
  options.slow_call_duration = 100ms;
  bulwark::circuit_breaker breaker(options, clock);
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await bulwark::async::execute(breaker, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::sleep_for(clock, 150ms);
        });
        done = true;
      },
      asio::detached);
  io.poll();
  bulwark::async::advance(io, clock, 150ms);
  CHECK(done);
  CHECK(breaker.metrics().slow_calls == 1);
  CHECK(breaker.metrics().failed_calls == 0);
}

TEST_CASE("breaker: exceptions are classified by the options, results by execute_classified",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  auto options = small_window();
  options.classify_exception = [](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& error) {
      if (error.code() == asio::error::operation_aborted) return bulwark::call_outcome::ignored;
    } catch (...) {
    }
    return bulwark::call_outcome::failure;
  };
  bulwark::circuit_breaker breaker(options, clock);
  run(io, [&]() -> asio::awaitable<void> {
    try {
      co_await bulwark::async::execute(breaker, []() -> asio::awaitable<void> {
        throw std::system_error(asio::error::operation_aborted);
        co_return;
      });
    } catch (const std::system_error&) {
    }
  }());
  CHECK(breaker.metrics().ignored_calls == 1);
  CHECK(breaker.metrics().failed_calls == 0);
  int got = 0;
  run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute_classified(
        breaker,
        [](int r) {
          return r == 42 ? bulwark::call_outcome::failure : bulwark::call_outcome::success;
        },
        answer);
  }());
  CHECK(got == 42);
  CHECK(breaker.metrics().failed_calls == 1);
}

TEST_CASE("limiter: async execute spends the same units as sync callers and refuses alike",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 2}, clock);
  CHECK(limiter.try_acquire());
  int got = 0;
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute(limiter, answer);
  }()));
  CHECK(got == 42);
  std::optional<bulwark::duration> hint;
  run(io, [&]() -> asio::awaitable<void> {
    try {
      co_await bulwark::async::execute(limiter, answer);
    } catch (const bulwark::rate_limited& e) {
      hint = e.retry_after();
    }
  }());
  CHECK(hint == 100ms);
  CHECK(limiter.metrics().admitted == 2);
  CHECK(limiter.metrics().rejected == 1);
}

TEST_CASE("limiter: acquire_for reserves in arrival order and waits on virtual timers", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 1}, clock);
  std::vector<std::pair<int, bulwark::time_point>> got;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          if (co_await bulwark::async::acquire_for(limiter, 1, 250ms))
            got.emplace_back(i, clock.now());
        },
        asio::detached);
  }
  // A fourth asks for more than its 150 ms budget allows: refused at once, no wait.
  bool fourth = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        fourth = co_await bulwark::async::acquire_for(limiter, 1, 150ms);
      },
      asio::detached);
  io.poll();
  CHECK_FALSE(fourth);
  CHECK(got.size() == 1);
  bulwark::async::advance(io, clock, 1s);
  using entry = std::pair<int, bulwark::time_point>;
  CHECK(got == std::vector<entry>{{0, t0}, {1, t0 + 100ms}, {2, t0 + 200ms}});
  CHECK(limiter.metrics().admitted == 3);
  CHECK(limiter.metrics().waited == 2);
  CHECK(limiter.metrics().rejected == 1);
}

TEST_CASE("limiter: cancelling a reserved wait throws operation_aborted and the unit stays spent",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 1}, clock);
  CHECK(limiter.try_acquire());
  asio::cancellation_signal signal;
  std::error_code error;
  bool done = false;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { co_await bulwark::async::acquire_for(limiter, 1, 1s); },
      asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) {
        done = true;
        try {
          if (e) std::rethrow_exception(e);
        } catch (const std::system_error& s) {
          error = s.code();
        }
      }));
  io.poll();
  signal.emit(asio::cancellation_type::terminal);
  io.poll();
  CHECK(done);
  CHECK(error == asio::error::operation_aborted);
  // GCRA cannot give a reserved time back: the next unit comes 100 ms after the cancelled one.
  CHECK(limiter.time_until_available() == 200ms);
}

TEST_CASE("limiter: a window limiter's acquire_for waits for the next window", "[asio]") {
  asio::io_context io;
  manual_clock clock(bulwark::time_point{std::chrono::hours{24}});
  bulwark::fixed_window limiter({.limit = 1, .window = 1s}, clock);
  CHECK(limiter.try_acquire());
  std::optional<bulwark::time_point> at;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (co_await bulwark::async::acquire_for(limiter, 1, 2s)) at = clock.now();
      },
      asio::detached);
  io.poll();
  bulwark::async::advance(io, clock, 2s);
  REQUIRE(at);
  CHECK(*at == bulwark::time_point{std::chrono::hours{24} + 1s});
  CHECK(limiter.metrics().waited == 1);
}

TEST_CASE("limiter: a leaky bucket's execute queues its callers on timers, in order", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  const auto t0 = clock.now();
  bulwark::leaky_bucket bucket({.rate = bulwark::per_second(10), .capacity = 2}, clock);
  std::vector<bulwark::time_point> ran;
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          try {
            co_await bulwark::async::execute(bucket, [&]() -> asio::awaitable<void> {
              ran.push_back(clock.now());
              co_return;
            });
          } catch (const bulwark::rate_limited&) {
            ++refused;
          }
        },
        asio::detached);
  }
  io.poll();
  bulwark::async::advance(io, clock, 1s);
  CHECK(ran == std::vector<bulwark::time_point>{t0, t0 + 100ms});
  CHECK(refused == 1);
}

namespace {
// A wrapping policy for the pipeline tests: runs the call twice (as an outer retry would on a
// failure), returning the second result.
struct twice {};
}  // namespace

template <>
struct bulwark::async::awaitable_policy<twice> {
  template <class F>
  static bulwark::async::detail::awaited_t<F> execute(twice&, F f) {
    co_await f();
    co_return co_await f();
  }
};

TEST_CASE("pipeline: guards apply in the sync pipeline's order, refusals reach outer guards",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  auto options = small_window();
  bulwark::circuit_breaker sync_breaker(options, clock);
  bulwark::circuit_breaker async_breaker(options, clock);
  bulwark::gcra sync_limiter({.rate = bulwark::per_second(1), .burst = 1}, clock);
  bulwark::gcra async_limiter({.rate = bulwark::per_second(1), .burst = 1}, clock);
  bulwark::pipeline sync_chain(sync_breaker, sync_limiter);
  bulwark::pipeline async_chain(async_breaker, async_limiter);
  for (int i = 0; i < 3; ++i) {
    try {
      sync_chain.execute([] { return 42; });
    } catch (const bulwark::rate_limited&) {
    }
    run(io, [&]() -> asio::awaitable<void> {
      try {
        co_await bulwark::async::execute(async_chain, answer);
      } catch (const bulwark::rate_limited&) {
      }
    }());
  }
  // The limiter's refusals reached the breaker as failures, in both.
  CHECK(sync_breaker.metrics() == async_breaker.metrics());
  CHECK(async_breaker.metrics().failed_calls == 2);
  CHECK(sync_limiter.metrics() == async_limiter.metrics());
}

namespace {
// A clock that counts its readings.
struct counting_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  std::shared_ptr<int> reads = std::make_shared<int>(0);
  manual_clock base;
  time_point now() const noexcept {
    ++*reads;
    return base.now();
  }
  void sleep_for(duration d) { base.sleep_for(d); }
};
}  // namespace

TEST_CASE("pipeline: adjacent guards share one clock reading, as in the sync pipeline", "[asio]") {
  asio::io_context io;
  counting_clock clock;
  bulwark::circuit_breaker breaker({}, clock);
  bulwark::gcra limiter({.rate = bulwark::per_second(1000), .burst = 10}, clock);
  bulwark::pipeline chain(breaker, limiter);
  *clock.reads = 0;
  chain.execute([] { return 1; });
  const int sync_reads = *clock.reads;
  *clock.reads = 0;
  run(io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(chain, answer); }());
  CHECK(*clock.reads == sync_reads);
  CHECK(sync_reads >= 1);
}

TEST_CASE("pipeline: a wrapping policy runs the rest of the chain, nested pipelines nest",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(1), .burst = 5}, clock);
  twice outer;
  bulwark::pipeline inner(limiter);
  bulwark::pipeline chain(outer, inner);
  int calls = 0;
  int got = 0;
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute(chain,
                                           [&]() -> asio::awaitable<int> { co_return ++calls; });
  }()));
  CHECK(got == 2);
  CHECK(calls == 2);
  CHECK(limiter.metrics().admitted == 2);
}
