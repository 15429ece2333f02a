#include <atomic>
#include <bulwark/compose/hedge.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "await.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;

using test_support::await;

TEST_CASE("after the delay a hedge starts, the first success wins and the rest are stopped",
          "[compose]") {
  bulwark::manual_clock clock;
  bulwark::hedge hedged({.delay = 10ms, .max_hedged_attempts = 2}, bulwark::thread_executor{},
                        clock);
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::atomic<bool> release_second{false};
  std::thread driver{[&] {
    await([&] { return started.load() == 1; });
    clock.advance(10ms);  // the first attempt is slow: the delay passes, attempt 2 starts
    await([&] { return started.load() == 2; });
    release_second = true;  // attempt 2 answers first
  }};
  const int winner = hedged.execute([&](std::stop_token stop) {
    const int me = ++started;
    if (me == 2) {
      await([&] { return release_second.load(); });
      return me;
    }
    await([&] { return stop.stop_requested(); });  // attempt 1 runs until stopped
    ++stopped;
    return me;
  });
  driver.join();
  CHECK(winner == 2);
  CHECK(started.load() == 2);  // the winner came before a third was due
  auto m = hedged.metrics();
  CHECK(m.calls == 1);
  CHECK(m.hedges == 1);
  // The loser was asked to stop; it finishes on the executor's thread.
  await([&] { return stopped.load() == 1; });
}

TEST_CASE("a failed attempt starts the next at once, all failing rethrows the last", "[compose]") {
  bulwark::manual_clock clock;
  bulwark::hedge hedged({.delay = 1h, .max_hedged_attempts = 2}, bulwark::thread_executor{}, clock);
  std::atomic<int> attempts{0};
  CHECK(hedged.execute([&] {
    if (++attempts < 3) throw std::runtime_error("fail");
    return 9;
  }) == 9);  // no virtual time passed: failures, not the delay, started the hedges
  attempts = 0;
  CHECK_THROWS_WITH(hedged.execute([&]() -> int {
    throw std::runtime_error("fail " + std::to_string(++attempts));
  }),
                    "fail 3");
}

TEST_CASE("hedges draw on a retry budget", "[compose]") {
  // Token budget of 4: a retry is allowed while more than 2 tokens are left after taking one,
  // so exactly one hedge (4 -> 3) is granted, then none (3 -> 2).
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 0.1});
  bulwark::manual_clock clock;
  bulwark::hedge hedged({.delay = 1h, .max_hedged_attempts = 3, .budget = budget},
                        bulwark::thread_executor{}, clock);
  std::atomic<int> attempts{0};
  CHECK_THROWS_AS(hedged.execute([&]() -> int { ++attempts, throw std::runtime_error("x"); }),
                  std::runtime_error);
  CHECK(attempts.load() == 2);
  CHECK(hedged.metrics().hedges == 1);
  CHECK(hedged.metrics().refused == 1);
}

TEST_CASE("hedge options are validated", "[compose]") {
  CHECK_THROWS_WITH(bulwark::hedge({.max_hedged_attempts = 0}),
                    "bulwark::hedge: max_hedged_attempts must be in [1, 10] (got 0)");
  CHECK_THROWS_WITH(bulwark::hedge({.delay = -1ms}),
                    "bulwark::hedge: delay must be >= 0 (got -1ms)");
}
