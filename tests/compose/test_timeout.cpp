#include <bulwark/compose/timeout.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("a stop-token callable is stopped at the deadline", "[compose]") {
  bulwark::manual_clock clock;
  bulwark::timeout timeout({.timeout = 100ms}, clock);
  // The work advances virtual time itself, 10 ms per step, until told to stop; the watchdog
  // thread notices the deadline within a millisecond of real time.
  int steps = 0;
  CHECK_THROWS_AS(timeout.execute([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      ++steps;
      clock.advance(10ms);
      std::this_thread::yield();
    }
    return steps;
  }),
                  bulwark::timeout_expired);
  CHECK(steps >= 10);
  // In time: the result comes back, and the watchdog's entry is removed.
  CHECK(timeout.execute([](std::stop_token stop, int x) { return stop.stop_requested() ? 0 : x; },
                        4) == 4);
}

TEST_CASE("a deadline callable gets the deadline, late results become timeout_expired",
          "[compose]") {
  bulwark::manual_clock clock;
  bulwark::timeout timeout({.timeout = 1s}, clock);
  const auto start = clock.now();
  CHECK(timeout.execute([&](bulwark::time_point deadline) { return deadline - start; }) == 1s);
  CHECK_THROWS_WITH(timeout.execute([&] {
    clock.advance(1s);
    return 1;
  }),
                    "bulwark::timeout: the call did not finish within its timeout");
  CHECK(timeout.execute([&] {
    clock.advance(999ms);
    return 1;
  }) == 1);
  // An exception thrown in time propagates unchanged; one thrown late becomes the timeout.
  CHECK_THROWS_AS(timeout.execute([]() -> int { throw std::out_of_range("x"); }),
                  std::out_of_range);
  CHECK_THROWS_AS(timeout.execute([&]() -> int {
    clock.advance(2s);
    throw std::out_of_range("x");
  }),
                  bulwark::timeout_expired);
  CHECK_THROWS_AS(timeout.execute([&] { clock.advance(2s); }), bulwark::rejected);
}

TEST_CASE("a future is waited for until the deadline", "[compose]") {
  bulwark::manual_clock clock;
  bulwark::timeout timeout({.timeout = 50ms}, clock);
  std::promise<int> ready;
  ready.set_value(3);
  CHECK(timeout.execute([&] { return ready.get_future(); }) == 3);

  std::promise<int> never;
  std::thread advancer;
  CHECK_THROWS_AS(timeout.execute([&] {
    advancer = std::thread{[clock]() mutable { clock.advance(50ms); }};
    return never.get_future();
  }),
                  bulwark::timeout_expired);
  advancer.join();
}

TEST_CASE("timeout options are validated", "[compose]") {
  CHECK_THROWS_WITH(bulwark::timeout({.timeout = 0s}),
                    "bulwark::timeout: timeout must be > 0 (got 0s)");
}
