#include <atomic>
#include <bulwark/core/clock.hpp>
#include <bulwark/retry/budget.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <variant>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::retry_budget;

namespace {
const bulwark::time_point t0 = bulwark::manual_clock::default_start;
}

TEST_CASE("token budget follows gRPC's throttling rules step by step", "[retry]") {
  // gRFC A6 with its example config: max_tokens 10, token_ratio 0.1. The count starts at 10;
  // a retryable failure takes 1 before the decision; a retry is allowed iff the count left is
  // > 5; a success adds 0.1; the count stays within [0, 10].
  retry_budget budget({.max_tokens = 10, .token_ratio = 0.1});
  CHECK(budget.tokens() == 10);
  // Failures take the count to 9, 8, 7, 6 (> 5: retried), then 5, 4 (not > 5: refused).
  const bool expected[] = {true, true, true, true, false, false};
  for (const bool allowed : expected)
    CHECK(budget.try_spend(t0) == allowed);
  CHECK(budget.tokens() == Approx(4));

  // 11 successes bring 4 to 5.1, but the next failure first takes it to 4.1: refused.
  for (int i = 0; i < 11; ++i)
    budget.record_success();
  CHECK(budget.tokens() == Approx(5.1));
  CHECK_FALSE(budget.try_spend(t0));
  CHECK(budget.tokens() == Approx(4.1));
  // From 4.1, 20 successes give 6.1; a failure leaves 5.1 > 5: retried.
  for (int i = 0; i < 20; ++i)
    budget.record_success();
  CHECK(budget.try_spend(t0));
  CHECK(budget.tokens() == Approx(5.1));

  const auto m = budget.metrics(t0);
  CHECK(m.granted == 5);
  CHECK(m.refused == 3);
}

TEST_CASE("token budget stays between 0 and max_tokens", "[retry]") {
  retry_budget budget({.max_tokens = 3, .token_ratio = 1});
  budget.record_success();
  CHECK(budget.tokens() == 3);
  // max 3, threshold 1.5: 3 -> 2 retried; 2 -> 1 refused; then 0, 0.
  CHECK(budget.try_spend(t0));
  CHECK_FALSE(budget.try_spend(t0));
  budget.record_failure();
  budget.record_failure();
  CHECK(budget.tokens() == 0);
  budget.record_success();  // 1
  budget.record_success();  // 2
  budget.record_success();  // 3
  budget.record_success();  // still 3
  CHECK(budget.tokens() == 3);
}

TEST_CASE("token budget keeps gRPC's three decimals of token_ratio", "[retry]") {
  retry_budget budget({.max_tokens = 2, .token_ratio = 0.001});
  budget.record_failure();  // 1
  for (int i = 0; i < 999; ++i)
    budget.record_success();
  CHECK(budget.tokens() == Approx(1.999));
  budget.record_success();
  CHECK(budget.tokens() == Approx(2));
}

// grpc src/core/client_channel/retry_service_config.cc (RetryGlobalConfig::JsonPostLoad)
// keeps tokenRatio's first three decimals and drops the rest: "0.1239" is 123 milli-tokens,
// "0.57" is 570. retry_throttle.cc (RecordSuccess) then adds milli_token_ratio per success,
// clamped to max_milli_tokens. Rounding would make 0.1239 worth 124.
TEST_CASE("token budget truncates token_ratio to milli-tokens as retry_service_config.cc does",
          "[retry]") {
  retry_budget truncated({.max_tokens = 2, .token_ratio = 0.1239});
  truncated.record_failure();  // 2000 - 1000 = 1000 milli-tokens
  truncated.record_success();  // + 123
  CHECK(truncated.tokens() == 1.123);
  truncated.record_success();  // + 123
  CHECK(truncated.tokens() == 1.246);

  retry_budget exact({.max_tokens = 2, .token_ratio = 0.57});
  exact.record_failure();
  exact.record_success();
  CHECK(exact.tokens() == 1.57);
}

// gRFC A6 "Throttling Retry Attempts and Hedged RPCs" with grpc retry_throttle.cc
// (RecordFailure): max_tokens 1000 is 1,000,000 milli-tokens and the threshold is
// 1,000,000 / 2 = 500,000. 1000 failures empty the count; 4050 successes of 123 milli-tokens
// (0.1239 truncated) bring it to 4050 * 123 = 498,150. A retryable failure takes 1000 first,
// leaving 497,150, not above 500,000: refused. (Rounded to 124, the count would be 502,200 and
// the failure would leave 501,200 > 500,000: granted.)
TEST_CASE("token budget decides on truncated milli-tokens as retry_throttle.cc does", "[retry]") {
  retry_budget budget({.max_tokens = 1000, .token_ratio = 0.1239});
  for (int i = 0; i < 1000; ++i)
    budget.record_failure();
  CHECK(budget.tokens() == 0);
  for (int i = 0; i < 4050; ++i)
    budget.record_success();
  CHECK(budget.tokens() == 498.15);
  CHECK_FALSE(budget.try_spend(t0));
  CHECK(budget.tokens() == 497.15);
}

// grpc retry_service_config.cc: a tokenRatio whose three kept decimals are zero ("0.0005") is
// "must be greater than 0"; bulwark refuses it rather than rounding it up to 0.001.
TEST_CASE("token budget refuses a token_ratio that truncates to zero as gRPC does", "[retry]") {
  CHECK_THROWS_WITH(retry_budget(bulwark::token_budget_options{.token_ratio = 0.0005}),
                    "bulwark::retry_budget: token_ratio must be at least 0.001 (kept to 3 "
                    "decimals, truncated) (got 5e-04)");
  CHECK_THROWS_WITH(retry_budget(bulwark::token_budget_options{.max_tokens = 0.0009}),
                    "bulwark::retry_budget: max_tokens must be at least 0.001 (kept to 3 "
                    "decimals, truncated) (got 9e-04)");
  CHECK_NOTHROW(retry_budget(bulwark::token_budget_options{.token_ratio = 0.001}));
}

TEST_CASE("ratio budget allows retry_ratio of recent requests plus a reserve", "[retry]") {
  SECTION("20% of 10 requests is 2 retries") {
    retry_budget budget({.retry_ratio = 0.2, .min_retries_per_second = 0, .window = 10s});
    CHECK_FALSE(budget.try_spend(t0));
    for (int i = 0; i < 10; ++i)
      budget.record_request(t0);
    CHECK(budget.available(t0) == Approx(2));
    CHECK(budget.try_spend(t0));
    CHECK(budget.try_spend(t0 + 3s));  // still within the window
    CHECK_FALSE(budget.try_spend(t0 + 3s));
    // Failures and successes do not touch a ratio budget.
    budget.record_failure();
    budget.record_success();
    CHECK(budget.available(t0 + 3s) == Approx(0));
  }
  SECTION("the reserve is min_retries_per_second * window") {
    retry_budget budget({.retry_ratio = 0.2, .min_retries_per_second = 1, .window = 10s});
    int granted = 0;
    while (budget.try_spend(t0))
      ++granted;
    CHECK(granted == 10);
  }
  SECTION("deposits and withdrawals leave the window after it has passed") {
    // Slices are window / 10 = 1 s long; a slice counts while it is one of the last 10.
    retry_budget budget({.retry_ratio = 0.5, .min_retries_per_second = 0, .window = 10s});
    for (int i = 0; i < 4; ++i)
      budget.record_request(t0);       // 2 retries, in slice 0
    CHECK(budget.try_spend(t0 + 9s));  // slice 9: withdraws 1; balance 1
    CHECK(budget.available(t0 + 9999ms) == Approx(1));
    CHECK(budget.available(t0 + 10s) ==
          Approx(-1));  // slice 0's deposits left; slice 9's debt stays
    CHECK_FALSE(budget.try_spend(t0 + 10s));
    CHECK(budget.available(t0 + 19s) == Approx(0));  // slice 9 has left too
    for (int i = 0; i < 2; ++i)
      budget.record_request(t0 + 19s);
    CHECK(budget.try_spend(t0 + 19s));
    CHECK_FALSE(budget.try_spend(t0 + 19s));
  }
  SECTION("a slice reused after a whole window starts from zero") {
    retry_budget budget({.retry_ratio = 1, .min_retries_per_second = 0, .window = 10s});
    budget.record_request(t0 + 3s);
    budget.record_request(t0 + 13s);  // the same slot, ten slices later
    CHECK(budget.available(t0 + 13s) == Approx(1));
  }
}

TEST_CASE("retry budget options are validated", "[retry]") {
  CHECK_THROWS_WITH(retry_budget(bulwark::token_budget_options{.max_tokens = 0}),
                    "bulwark::retry_budget: max_tokens must be in (0, 1000] (got 0)");
  CHECK_THROWS_WITH(retry_budget(bulwark::token_budget_options{.token_ratio = 1.5}),
                    "bulwark::retry_budget: token_ratio must be in (0, 1] (got 1.5)");
  CHECK_THROWS_WITH(retry_budget(bulwark::ratio_budget_options{.retry_ratio = -0.1}),
                    "bulwark::retry_budget: retry_ratio must be in [0, 10] (got -0.1)");
  CHECK_THROWS_WITH(retry_budget(bulwark::ratio_budget_options{.window = 0s}),
                    "bulwark::retry_budget: window must be in [1ms, 1h] (got 0s)");
}

TEST_CASE("threads sharing a token budget never get more retries than it holds", "[retry]") {
  // No successes: the k-th failure (in the count's modification order) leaves 10 - k tokens,
  // and only k = 1..4 leave more than 5, so exactly 4 retries are granted in all.
  retry_budget budget({.max_tokens = 10, .token_ratio = 0.1});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (budget.try_spend(t0)) granted.fetch_add(1, std::memory_order_relaxed);
    });
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(granted.load() == 4);
  CHECK(budget.tokens() == 0);
}

TEST_CASE("threads sharing a token budget with successes keep it within bounds", "[retry]") {
  retry_budget budget({.max_tokens = 10, .token_ratio = 0.5});
  std::atomic<bool> out_of_bounds{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        if ((i + t) % 3 == 0) {
          budget.record_success();
        } else {
          (void)budget.try_spend(t0);
        }
        const double tokens = budget.tokens();
        if (tokens < 0 || tokens > 10) out_of_bounds = true;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  CHECK_FALSE(out_of_bounds.load());
}

TEST_CASE("threads sharing a ratio budget never spend more than was deposited", "[retry]") {
  // Time stands still, so every operation lands in one slice and the bound is exact:
  // retries <= reserve (0) + 25% of 4 * 2000 requests = 2000.
  retry_budget budget({.retry_ratio = 0.25, .min_retries_per_second = 0, .window = 10s});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        budget.record_request(t0);
        if (budget.try_spend(t0)) granted.fetch_add(1, std::memory_order_relaxed);
        if (budget.try_spend(t0)) granted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  // Nothing lost or invented: what is left is exactly what was deposited and not spent.
  CHECK(granted.load() <= 2000);
  CHECK(budget.available(t0) == Approx(2000 - granted.load()));
  CHECK(budget.available(t0) >= 0);
}

TEST_CASE("token budget reconfigure keeps the token count, clamped to a lower max", "[retry]") {
  retry_budget budget({.max_tokens = 10, .token_ratio = 0.1});
  CHECK(budget.try_spend(t0));  // 9
  CHECK(budget.try_spend(t0));  // 8
  // A higher maximum is not filled: the count stays 8, and the threshold becomes 10.
  budget.reconfigure(bulwark::token_budget_options{.max_tokens = 20, .token_ratio = 1});
  CHECK(budget.tokens() == 8);
  CHECK_FALSE(budget.try_spend(t0));  // 7, not > 10
  budget.record_success();            // + 1 (the new ratio)
  CHECK(budget.tokens() == 8);
  const auto now = std::get<bulwark::token_budget_options>(budget.options());
  CHECK(now.max_tokens == 20);
  CHECK(now.token_ratio == 1);
  // A lower maximum clamps the count: 8 -> 4, threshold 2; 4 -> 3 retried, 3 -> 2 refused.
  budget.reconfigure(bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 0.5});
  CHECK(budget.tokens() == 4);
  budget.record_success();
  CHECK(budget.tokens() == 4);
  CHECK(budget.try_spend(t0));
  CHECK_FALSE(budget.try_spend(t0));
  CHECK(budget.metrics(t0).granted == 3);  // counters survive
}

TEST_CASE("ratio budget reconfigure keeps the window's balance", "[retry]") {
  retry_budget budget({.retry_ratio = 0.5, .min_retries_per_second = 0, .window = 10s});
  for (int i = 0; i < 4; ++i)
    budget.record_request(t0);  // 4 * 0.5 = 2
  CHECK(budget.try_spend(t0));
  CHECK(budget.available(t0) == Approx(1));
  // A reserve of 1/s over 10 s adds 10 at once; deposits now earn 0.25 each.
  budget.reconfigure(bulwark::ratio_budget_options{
      .retry_ratio = 0.25, .min_retries_per_second = 1, .window = 10s});
  CHECK(budget.available(t0) == Approx(11));
  budget.record_request(t0);
  CHECK(budget.available(t0) == Approx(11.25));
  CHECK(std::get<bulwark::ratio_budget_options>(budget.options()).retry_ratio == 0.25);
}

TEST_CASE("retry budget reconfigure refuses bad options with the constructor's message",
          "[retry]") {
  retry_budget tokens({.max_tokens = 10, .token_ratio = 0.1});
  (void)tokens.try_spend(t0);
  CHECK_THROWS_WITH(tokens.reconfigure(bulwark::token_budget_options{.max_tokens = 0}),
                    "bulwark::retry_budget: max_tokens must be in (0, 1000] (got 0)");
  CHECK_THROWS_WITH(tokens.check_reconfigure(bulwark::token_budget_options{.token_ratio = 1.5}),
                    "bulwark::retry_budget: token_ratio must be in (0, 1] (got 1.5)");
  CHECK_THROWS_WITH(tokens.reconfigure(bulwark::ratio_budget_options{}),
                    "bulwark::retry_budget: option 'style' cannot change on reconfigure (was "
                    "\"token\", got \"ratio\")");
  CHECK(tokens.tokens() == 9);
  CHECK(std::get<bulwark::token_budget_options>(tokens.options()).max_tokens == 10);

  retry_budget ratio({.retry_ratio = 0.2, .min_retries_per_second = 1, .window = 10s});
  CHECK_THROWS_WITH(ratio.reconfigure(bulwark::ratio_budget_options{.retry_ratio = -0.1}),
                    "bulwark::retry_budget: retry_ratio must be in [0, 10] (got -0.1)");
  CHECK_THROWS_WITH(ratio.reconfigure(bulwark::ratio_budget_options{.window = 20s}),
                    "bulwark::retry_budget: option 'window' cannot change on reconfigure (was "
                    "10s, got 20s)");
  CHECK(ratio.available(t0) == Approx(10));
  CHECK(std::get<bulwark::ratio_budget_options>(ratio.options()).retry_ratio == 0.2);
}

TEST_CASE("token budget stays within bounds while reconfigured under threads", "[retry]") {
  // Callers spend and earn while another thread alternates max_tokens between 10 and 4. The
  // count never goes below 0 nor above 10, and settles at or below 4 once the last change is
  // to 4 and a success has run (a success racing the lowering may overshoot until then).
  retry_budget budget({.max_tokens = 10, .token_ratio = 0.5});
  std::atomic<bool> out_of_bounds{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        if ((i + t) % 2 == 0) {
          budget.record_success();
        } else {
          (void)budget.try_spend(t0);
        }
        const double tokens = budget.tokens();
        if (tokens < 0 || tokens > 10) out_of_bounds = true;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 300; ++i)
      budget.reconfigure(
          bulwark::token_budget_options{.max_tokens = i % 2 == 0 ? 4.0 : 10.0, .token_ratio = 0.5});
    budget.reconfigure(bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 0.5});
  });
  for (auto& thread : threads)
    thread.join();
  CHECK_FALSE(out_of_bounds.load());
  budget.record_success();
  CHECK(budget.tokens() <= 4);
  CHECK(std::get<bulwark::token_budget_options>(budget.options()).max_tokens == 4);
}
