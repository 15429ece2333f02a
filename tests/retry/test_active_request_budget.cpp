#include <atomic>
#include <barrier>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/retry/active_request_budget.hpp>
#include <bulwark/retry/executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::active_request_budget;

// Envoy's RetryBudget (source/common/upstream/resource_manager_impl.h, RetryBudgetImpl::max
// and canCreate): a retry may start while count() < max(), where
//   max = max(uint64_t(budget_percent / 100 x (active requests + pending)), min_retry_concurrency)
// with the defaults 20% and 3. By hand: 0 active -> max(0, 3) = 3; 10 -> max(2, 3) = 3;
// 20 -> max(4, 3) = 4; 24 -> max(uint64_t(4.8) = 4, 3) = 4; 25 -> 5.
TEST_CASE("active_request_budget follows Envoy's RetryBudget limit", "[retry]") {
  active_request_budget budget;
  CHECK(budget.options().budget_percent == 20.0);
  CHECK(budget.options().min_retry_concurrency == 3);
  std::vector<active_request_budget::scope> requests;
  const std::pair<std::size_t, std::uint64_t> expected[] = {
      {0, 3}, {10, 3}, {20, 4}, {24, 4}, {25, 5}};
  for (const auto& [active, limit] : expected) {
    while (requests.size() < active)
      requests.push_back(budget.enter());
    CHECK(budget.active_requests() == active);
    CHECK(budget.retry_limit() == limit);
  }
  // 25 active: 5 retries may be in flight, the 6th is refused (count() < max() fails).
  std::vector<active_request_budget::scope> retries;
  for (int i = 0; i < 5; ++i) {
    retries.push_back(budget.try_retry());
    CHECK(retries.back());
  }
  CHECK_FALSE(budget.try_retry());
  CHECK(budget.active_retries() == 5);
  retries.pop_back();  // one retry answers: room for one more
  CHECK(budget.try_retry());
  // Requests ending shrink the limit: 15 active -> max(3, 3) = 3 < 4 retries in flight.
  requests.resize(15);
  CHECK(budget.retry_limit() == 3);
  CHECK_FALSE(budget.try_retry());
  const auto m = budget.metrics();
  CHECK(m.granted == 6);
  CHECK(m.refused == 2);
  CHECK(m.active_requests == 15);
  CHECK(m.active_retries == 4);
  CHECK(m.retry_limit == 3);
}

TEST_CASE("active_request_budget's scopes release once, moved or not", "[retry]") {
  active_request_budget budget({.budget_percent = 0, .min_retry_concurrency = 1});
  auto a = budget.enter();
  auto b = std::move(a);
  CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(budget.active_requests() == 1);
  b.release();
  b.release();
  CHECK(budget.active_requests() == 0);
  auto r = budget.try_retry();
  CHECK_FALSE(budget.try_retry());
  r = active_request_budget::scope{};
  CHECK(budget.active_retries() == 0);
}

TEST_CASE("active_request_budget rejects bad options by name", "[retry]") {
  CHECK_THROWS_WITH(active_request_budget({.budget_percent = -1}),
                    "bulwark::active_request_budget: budget_percent must be in [0, 1000] (got -1)");
  CHECK_THROWS_WITH(active_request_budget({.min_retry_concurrency = 0x80000000}),
                    "bulwark::active_request_budget: min_retry_concurrency must be <= 2147483647 "
                    "(got 2147483648)");
}

TEST_CASE("retry executor takes an active_request_budget and never leaks its counts", "[retry]") {
  auto budget = std::make_shared<active_request_budget>(
      bulwark::active_request_budget_options{.budget_percent = 0, .min_retry_concurrency = 1});
  bulwark::manual_clock clock;
  bulwark::retry retry({.max_attempts = 3, .active_budget = budget}, clock);

  // Inside the call: one request in flight; from the second attempt, one retry too.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  int calls = 0;
  CHECK(retry.execute([&] {
    seen.emplace_back(budget->active_requests(), budget->active_retries());
    if (++calls < 3) throw std::runtime_error{"flaky"};
    return 7;
  }) == 7);
  CHECK(seen == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 0}, {1, 1}, {1, 1}});
  CHECK(budget->active_requests() == 0);
  CHECK(budget->active_retries() == 0);

  // Another caller's retry holds the only slot: this call's retry is refused (budget).
  auto held = budget->try_retry();
  REQUIRE(held);
  try {
    retry.execute([]() -> int { throw std::runtime_error{"down"}; });
    FAIL("expected retries_exhausted");
  } catch (const bulwark::retries_exhausted& e) {
    CHECK(e.reason() == bulwark::retry_stop_reason::budget);
    CHECK(e.attempts() == 1);
  }
  CHECK(budget->active_requests() == 0);
  CHECK(budget->active_retries() == 1);  // only the held one
}

// Envoy's RetryBudget limit (resource_manager_impl.h, RetryBudgetImpl::max) under threads:
// 8 callers share one budget (budget_percent 25, min_retry_concurrency 1) through the retry
// executor. Each round, a barrier inside the first attempt holds all 8 requests in flight
// and a barrier at each call's end (success, or the dead letter when it gives up) keeps them
// there, so every observation inside the guarded call sees 8 requests in flight, where the
// limit is, by hand, max(uint64_t(25 / 100 x 8) = 2, 1) = 2. At the end barrier a caller either
// holds its retry (it succeeded or used its 4 attempts) or was refused; at most 2 hold one,
// so at least 8 - 2 = 6 calls a round stop with reason budget.
TEST_CASE("active_request_budget holds its limit inside guarded calls under threads", "[retry]") {
  constexpr int threads = 8;
  constexpr int rounds = 40;
  constexpr std::uint64_t limit = 2;
  auto budget = std::make_shared<active_request_budget>(
      bulwark::active_request_budget_options{.budget_percent = 25, .min_retry_concurrency = 1});
  bulwark::manual_clock clock;
  bulwark::retry retry({.max_attempts = 4,
                        .backoff = {.base = 0ms, .cap = 0ms, .jitter = bulwark::jitter_kind::none},
                        .active_budget = budget},
                       clock);
  std::barrier sync{threads};
  std::atomic<std::uint64_t> most_retries{0};
  std::atomic<int> bad_requests{0};  // observations of other than 8 requests in flight
  std::atomic<int> over_limit{0};    // observations of more than `limit` retries in flight
  std::atomic<int> budget_stops{0};
  std::atomic<int> other_stops{0};
  std::atomic<int> successes{0};

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      bulwark::fast_rng rng{0x5eed + static_cast<std::uint64_t>(t)};
      const auto call = bulwark::retry_call{}.dead_letter([&](const bulwark::retries_exhausted& e) {
        ++(e.reason() == bulwark::retry_stop_reason::budget ? budget_stops : other_stops);
        sync.arrive_and_wait();  // the end barrier, the request still in flight
      });
      for (int round = 0; round < rounds; ++round) {
        std::uint32_t attempt = 0;
        try {
          retry.execute(call, [&] {
            if (++attempt == 1) {
              sync.arrive_and_wait();  // every caller's request is in flight
              throw std::runtime_error{"first attempt fails"};
            }
            const std::uint64_t retries = budget->active_retries();
            if (budget->active_requests() != threads) ++bad_requests;
            if (retries > limit) ++over_limit;
            std::uint64_t seen = most_retries.load();
            while (seen < retries && !most_retries.compare_exchange_weak(seen, retries)) {
            }
            if (bulwark::bernoulli(rng, 0.5)) throw std::runtime_error{"flaky"};
            ++successes;
            sync.arrive_and_wait();  // the end barrier, the request and retry still held
          });
        } catch (const bulwark::retries_exhausted&) {
          // counted by the dead letter
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();

  CHECK(bad_requests.load() == 0);
  CHECK(over_limit.load() == 0);
  CHECK(most_retries.load() >= 1);
  CHECK(most_retries.load() <= limit);
  CHECK(successes.load() + budget_stops.load() + other_stops.load() == threads * rounds);
  CHECK(budget_stops.load() >= (threads - static_cast<int>(limit)) * rounds);
  const auto m = budget->metrics();
  CHECK(m.refused == static_cast<std::uint64_t>(budget_stops.load()));  // one refusal per stop
  CHECK(m.active_requests == 0);
  CHECK(m.active_retries == 0);
  CHECK(m.retry_limit == 1);  // no requests in flight: max(0, 1)
}
