#include <atomic>
#include <bulwark/compose/hedge.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/retry/active_request_budget.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

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

// Envoy's accounting (source/common/router/retry_state_impl.cc): a hedge on per-try timeout is
// RetryStateImpl::shouldHedgeRetryPerTryTimeout -> shouldRetry, which first resetRetry()s the
// request's previous retry, then asks retries().canCreate() and inc()s it. So a call holds at
// most one retry at a time. By hand with budget_percent 0, min_retry_concurrency 1 (limit 1):
// attempt 1 sees 1 request and 0 retries; each hedge releases the previous retry and takes the
// only slot again, so attempts 2 to 4 see (1, 1); after the call, (0, 0).
TEST_CASE("hedges draw on an active_request_budget as Envoy's retries do", "[compose]") {
  auto budget = std::make_shared<bulwark::active_request_budget>(
      bulwark::active_request_budget_options{.budget_percent = 0, .min_retry_concurrency = 1});
  bulwark::manual_clock clock;
  bulwark::hedge hedged({.delay = 1h, .max_hedged_attempts = 3, .active_budget = budget},
                        bulwark::thread_executor{}, clock);
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::atomic<int> attempts{0};
  // Attempts run one after another: each starts only when the previous one has failed.
  CHECK(hedged.execute([&] {
    {
      const std::lock_guard lock{mutex};
      seen.emplace_back(budget->active_requests(), budget->active_retries());
    }
    if (++attempts < 4) throw std::runtime_error("x");
    return 5;
  }) == 5);
  CHECK(seen ==
        std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 0}, {1, 1}, {1, 1}, {1, 1}});
  CHECK(budget->active_requests() == 0);
  CHECK(budget->active_retries() == 0);
  CHECK(hedged.metrics().hedges == 3);

  // Another request's retry holds the only slot: canCreate() fails, no hedge starts.
  auto held = budget->try_retry();
  REQUIRE(held);
  attempts = 0;
  CHECK_THROWS_WITH(hedged.execute([&]() -> int { ++attempts, throw std::runtime_error("y"); }),
                    "y");
  CHECK(attempts.load() == 1);
  CHECK(hedged.metrics().refused == 1);
  CHECK(budget->metrics().refused == 1);
  CHECK(budget->active_requests() == 0);
  CHECK(budget->active_retries() == 1);  // only the held one
}

// With both budgets set a hedge needs both. Token budget of 4 as above allows one hedge; the
// retry slot the second (refused) decision took from the active budget is given back at once.
TEST_CASE("hedge with both budgets needs both and leaks no retry", "[compose]") {
  auto tokens = std::make_shared<bulwark::retry_budget>(
      bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 0.1});
  auto active = std::make_shared<bulwark::active_request_budget>(
      bulwark::active_request_budget_options{.budget_percent = 0, .min_retry_concurrency = 5});
  bulwark::manual_clock clock;
  bulwark::hedge hedged(
      {.delay = 1h, .max_hedged_attempts = 3, .budget = tokens, .active_budget = active},
      bulwark::thread_executor{}, clock);
  std::atomic<int> attempts{0};
  CHECK_THROWS_AS(hedged.execute([&]() -> int { ++attempts, throw std::runtime_error("x"); }),
                  std::runtime_error);
  CHECK(attempts.load() == 2);
  CHECK(hedged.metrics().refused == 1);
  CHECK(active->metrics().granted == 2);  // the hedge, and the decision the tokens refused
  CHECK(active->active_retries() == 0);
  CHECK(active->active_requests() == 0);
}

TEST_CASE("hedge options are validated", "[compose]") {
  CHECK_THROWS_WITH(bulwark::hedge({.max_hedged_attempts = 0}),
                    "bulwark::hedge: max_hedged_attempts must be in [1, 10] (got 0)");
  CHECK_THROWS_WITH(bulwark::hedge({.delay = -1ms}),
                    "bulwark::hedge: delay must be >= 0 (got -1ms)");
}
