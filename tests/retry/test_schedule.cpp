// retry_schedule: the retry decisions apart from any waiting, as decision tables
// (attempt n, outcome, hint, now -> retry after d / stop reason).
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/retry/active_request_budget.hpp>
#include <bulwark/retry/budget.hpp>
#include <bulwark/retry/policy.hpp>
#include <bulwark/retry/schedule.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::retry_policy;
using bulwark::retry_schedule;
using bulwark::retry_stop_reason;
using bulwark::retry_verdict;
using bulwark::time_point;

namespace {

const time_point t1h{std::chrono::hours{1}};

bulwark::backoff_options unjittered(duration base) {
  return {.base = base, .cap = 10s, .jitter = bulwark::jitter_kind::none};
}

// One row of a decision table: the failure of attempt `attempt` at `at` (from t1h), with a hint.
struct row {
  std::uint32_t attempt;
  std::optional<duration> hint;
  duration at;
  bool retry;
  duration delay;
  std::optional<retry_stop_reason> reason;
};

// Runs the rows in order on one schedule, beginning attempts up to each row's number.
void check_table(retry_schedule& schedule, const std::vector<row>& rows) {
  for (const row& r : rows) {
    while (schedule.attempts() < r.attempt)
      schedule.begin_attempt();
    CAPTURE(r.attempt, r.at.count());
    const retry_verdict v = schedule.after_failure(r.hint, t1h + r.at);
    CHECK(v.retry == r.retry);
    CHECK(v.delay == r.delay);
    CHECK(v.hinted == (r.retry && r.hint.has_value()));
    CHECK(v.reason == r.reason);
  }
}

std::exception_ptr error_of(const auto& e) {
  return std::make_exception_ptr(e);
}

// Whether two generators are in the same state: copies of them draw the same next number.
bool same_state(bulwark::fast_rng a, bulwark::fast_rng b) {
  return a() == b();
}

}  // namespace

TEST_CASE("schedule: attempts, backoff and stop, without a hint", "[retry][schedule]") {
  const retry_policy policy{{.max_attempts = 4, .backoff = unjittered(100ms)}};
  retry_schedule schedule{policy, t1h};
  CHECK(schedule.attempts() == 0);
  check_table(schedule, {
                            {1, {}, 0ms, true, 100ms, {}},
                            {2, {}, 100ms, true, 200ms, {}},
                            {3, {}, 300ms, true, 400ms, {}},
                            {4, {}, 700ms, false, 0ms, retry_stop_reason::attempts},
                        });
  CHECK(!schedule.deadline());
  CHECK(!schedule.time_left(t1h));
}

TEST_CASE("schedule: HTTP Retry-After and gRPC pushback hints (gRFC A6, RFC 9110 10.2.3)",
          "[retry][schedule]") {
  // Retry-After replaces the backoff's delay; gRFC A6 restarts the backoff after a server
  // pushback (the n-th attempt since the last pushback is backed off as the n-th), and a
  // negative pushback means "do not retry". Attempts run out before a hint is looked at.
  const retry_policy policy{{.max_attempts = 5, .backoff = unjittered(100ms)}};
  retry_schedule schedule{policy, t1h};
  check_table(schedule, {
                            {1, {}, 0ms, true, 100ms, {}},
                            {2, 3s, 100ms, true, 3s, {}},
                            {3, {}, 3100ms, true, 100ms, {}},  // restarted from the base
                            {4, -1ms, 3200ms, false, 0ms, retry_stop_reason::pushback},
                            {5, -1ms, 3300ms, false, 0ms, retry_stop_reason::attempts},
                        });
  CHECK(schedule.last_hint() == -1ms);
}

TEST_CASE("schedule: the deadline stops a retry that would start at or after it",
          "[retry][schedule]") {
  const retry_policy policy{{.max_attempts = 10, .max_elapsed = 1s, .backoff = unjittered(200ms)}};
  retry_schedule schedule{policy, t1h};
  REQUIRE(schedule.deadline() == t1h + 1s);
  CHECK(schedule.time_left(t1h + 300ms) == 700ms);
  CHECK(schedule.time_left(t1h + 2s) == -1s);  // past it: negative, as attempt_context says
  SECTION("backoff") {
    check_table(schedule, {
                              {1, {}, 300ms, true, 200ms, {}},  // 500 < 1000
                              {2, {}, 600ms, false, 0ms, retry_stop_reason::deadline},  // 1000
                          });
  }
  SECTION("a hint exactly the time left, then a huge hint, which must not overflow") {
    check_table(schedule, {
                              {1, 700ms, 300ms, false, 0ms, retry_stop_reason::deadline},
                              {1, 699ms, 300ms, true, 699ms, {}},
                              {2, duration::max(), 999ms, false, 0ms, retry_stop_reason::deadline},
                          });
  }
  SECTION("pushback comes before the deadline") {
    check_table(schedule, {{1, -5ms, 2s, false, 0ms, retry_stop_reason::pushback}});
  }
}

TEST_CASE("schedule: gRPC retry throttling (gRFC A6) decides after counting the failure",
          "[retry][schedule]") {
  // A6: "each failed RPC decrements the token count by 1 ... a retry is allowed only while
  // the token count is greater than max_tokens / 2"; every retryable failure counts, retried
  // or not; each success adds token_ratio.
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 0.5});
  const retry_policy policy{
      {.max_attempts = 3, .max_elapsed = 1s, .backoff = unjittered(100ms), .budget = budget}};
  {
    retry_schedule a{policy, t1h};
    check_table(a, {
                       {1, {}, 0ms, true, 100ms, {}},                          // 4 -> 3 > 2
                       {2, {}, 100ms, false, 0ms, retry_stop_reason::budget},  // 3 -> 2
                   });
  }
  CHECK(budget->tokens() == 2.0);
  {
    retry_schedule b{policy, t1h};
    b.begin_attempt();
    b.succeeded();  // + 0.5
    CHECK(budget->tokens() == 2.5);
    // The deadline refuses before the budget is asked, yet the failure still costs a token.
    CHECK(b.after_failure(5s, t1h).reason == retry_stop_reason::deadline);
    CHECK(budget->tokens() == 1.5);
  }
  CHECK(budget->metrics(t1h).granted == 1);
  CHECK(budget->metrics(t1h).refused == 1);
}

TEST_CASE("schedule: the ratio budget counts each call as a request (Finagle's RetryBudget)",
          "[retry][schedule]") {
  // No reserve, 50% of requests: two calls deposit one retry.
  auto budget = std::make_shared<bulwark::retry_budget>(bulwark::ratio_budget_options{
      .retry_ratio = 0.5, .min_retries_per_second = 0, .window = 10s});
  const retry_policy policy{{.max_attempts = 3, .backoff = unjittered(100ms), .budget = budget}};
  retry_schedule a{policy, t1h};
  retry_schedule b{policy, t1h};
  a.begin_attempt();
  b.begin_attempt();
  CHECK(a.after_failure({}, t1h).retry);
  CHECK(b.after_failure({}, t1h).reason == retry_stop_reason::budget);
}

TEST_CASE("schedule: the active request budget holds one retry slot per call (Envoy)",
          "[retry][schedule]") {
  auto active = std::make_shared<bulwark::active_request_budget>(
      bulwark::active_request_budget_options{.budget_percent = 0, .min_retry_concurrency = 1});
  const retry_policy policy{
      {.max_attempts = 5, .backoff = unjittered(10ms), .active_budget = active}};
  retry_schedule a{policy, t1h};
  retry_schedule b{policy, t1h};
  CHECK(active->active_requests() == 2);
  a.begin_attempt();
  b.begin_attempt();
  CHECK(a.after_failure({}, t1h).retry);
  CHECK(b.after_failure({}, t1h).reason == retry_stop_reason::budget);
  a.begin_attempt();
  CHECK(a.after_failure({}, t1h).retry);  // a's previous retry is released before asking again
  CHECK(active->active_retries() == 1);
  a.finish();
  CHECK(active->active_retries() == 0);
  CHECK(active->active_requests() == 1);
  b.begin_attempt();
  CHECK(b.after_failure({}, t1h).retry);
}

TEST_CASE("schedule: a retry the ratio budget refuses holds no active-budget slot",
          "[retry][schedule]") {
  auto active = std::make_shared<bulwark::active_request_budget>();
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::ratio_budget_options{.retry_ratio = 0, .min_retries_per_second = 0});
  const retry_policy policy{
      {.backoff = unjittered(10ms), .budget = budget, .active_budget = active}};
  retry_schedule s{policy, t1h};
  s.begin_attempt();
  CHECK(s.after_failure({}, t1h).reason == retry_stop_reason::budget);
  CHECK(active->active_retries() == 0);
}

TEST_CASE("schedule: after_error classifies the exception and finds its hint",
          "[retry][schedule]") {
  struct fatal : std::runtime_error {
    fatal() : std::runtime_error{"fatal"} {}
  };
  const retry_policy policy{
      {.max_attempts = 3,
       .backoff = unjittered(100ms),
       .retry_on =
           [](const std::exception_ptr& e) {
             try {
               std::rethrow_exception(e);
             } catch (const fatal&) {
               return false;
             } catch (...) {
               return true;
             }
           },
       .retry_after = [](const std::exception_ptr& e) -> std::optional<duration> {
         try {
           std::rethrow_exception(e);
         } catch (const std::logic_error&) {
           return 7s;
         } catch (...) {
           return std::nullopt;
         }
       }}};
  retry_schedule s{policy, t1h};
  s.begin_attempt();
  const retry_verdict not_retryable = s.after_error(error_of(fatal{}), t1h);
  CHECK(!not_retryable.retry);
  CHECK(!not_retryable.reason);
  const retry_verdict hooked = s.after_error(error_of(std::logic_error{"x"}), t1h);
  CHECK(hooked.retry);
  CHECK(hooked.hinted);
  CHECK(hooked.delay == 7s);
  s.begin_attempt();
  const retry_verdict refused = s.after_error(error_of(bulwark::rejected{"x", "busy", 2s}), t1h);
  CHECK(refused.delay == 2s);
  CHECK(refused.hinted);
  s.begin_attempt();
  CHECK(s.after_error(error_of(std::runtime_error{"x"}), t1h).reason ==
        retry_stop_reason::attempts);
}

TEST_CASE("schedule: jitter comes from the given generator, drawn only for a granted retry",
          "[retry][schedule]") {
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::ratio_budget_options{.retry_ratio = 0, .min_retries_per_second = 0});
  const retry_policy refusing{{.backoff = {.base = 100ms}, .budget = budget}};
  const retry_policy open{{.backoff = {.base = 100ms}}};
  bulwark::fast_rng rng{99};
  const bulwark::fast_rng before = rng;
  {
    retry_schedule s{refusing, t1h, rng};
    s.begin_attempt();
    CHECK(s.after_failure({}, t1h).reason == retry_stop_reason::budget);
  }
  CHECK(same_state(rng, before));  // refused: no draw (the lab's retry-storm output depends on it)
  retry_schedule s{open, t1h, rng};
  s.begin_attempt();
  bulwark::fast_rng copy = before;
  CHECK(s.after_failure({}, t1h).delay == open.delays().delay(1, 0ms, copy));
  CHECK(same_state(rng, copy));
}

TEST_CASE("schedule: a seeded policy gives the k-th schedule that draws fast_rng(seed + k)",
          "[retry][schedule]") {
  const retry_policy policy{{.backoff = {.base = 100ms}, .seed = 5}};
  {
    retry_schedule quiet{policy, t1h};  // succeeds: takes no seed
    quiet.begin_attempt();
    quiet.succeeded();
  }
  retry_schedule first{policy, t1h};
  retry_schedule second{policy, t1h};
  second.begin_attempt();
  first.begin_attempt();
  const duration d2 = second.after_failure({}, t1h).delay;
  const duration d1 = first.after_failure({}, t1h).delay;
  bulwark::fast_rng rng5{5};
  bulwark::fast_rng rng6{6};
  CHECK(d2 == policy.delays().delay(1, 0ms, rng5));
  CHECK(d1 == policy.delays().delay(1, 0ms, rng6));
}
