#include <bulwark/core/clock.hpp>
#include <bulwark/retry/active_request_budget.hpp>
#include <bulwark/retry/executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
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
