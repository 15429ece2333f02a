#include <atomic>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <bulwark/core/policy.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/retry/executor.hpp>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::manual_clock;
using bulwark::retries_exhausted;
using bulwark::retry_stop_reason;

namespace {

// An error carrying its attempt number, so a test can tell which attempt's error surfaced.
struct attempt_failed : std::runtime_error {
  explicit attempt_failed(int n) : std::runtime_error{"fail " + std::to_string(n)}, attempt{n} {}
  int attempt;
};

// An HTTP-like error with a Retry-After header, for the user hook.
struct http_error : std::runtime_error {
  http_error(int s, std::optional<duration> after)
      : std::runtime_error{"http " + std::to_string(s)}, status{s}, retry_after{after} {}
  int status;
  std::optional<duration> retry_after;
};

constexpr bulwark::backoff_options no_jitter(duration base, double multiplier = 2,
                                             duration cap = 20s) {
  return {.kind = bulwark::backoff_kind::exponential,
          .base = base,
          .multiplier = multiplier,
          .cap = cap,
          .jitter = bulwark::jitter_kind::none};
}

// Records each retry's delay and the virtual time of each attempt.
struct recorder {
  manual_clock clock;
  std::vector<duration> delays{};
  std::vector<duration> attempt_times{};
  std::function<void(const bulwark::retry_event&)> listener() {
    return [this](const bulwark::retry_event& e) { delays.push_back(e.delay); };
  }
};

template <class F>
retries_exhausted capture_exhausted(F&& f) {
  try {
    f();
  } catch (const retries_exhausted& e) {
    return e;
  }
  FAIL("retries_exhausted was not thrown");
  throw std::logic_error{"unreachable"};
}

}  // namespace

static_assert(bulwark::policy<bulwark::retry<manual_clock>>);

TEST_CASE("a call that succeeds at once runs once and returns its result", "[retry]") {
  bulwark::retry retry({}, manual_clock{});
  int calls = 0;
  CHECK(retry.execute([&](int x) { return ++calls + x; }, 41) == 42);
  CHECK(calls == 1);
  CHECK(retry.metrics() == bulwark::retry_metrics{.succeeded_first_attempt = 1});
}

TEST_CASE("references are returned by reference and arguments reach every attempt", "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.backoff = no_jitter(1ms)}, clock);
  int target = 0;
  int attempts = 0;
  int& r = retry.execute(
      [&](int& t) -> int& {
        if (++attempts < 2) throw attempt_failed{attempts};
        return t;
      },
      target);
  CHECK(&r == &target);
  CHECK(attempts == 2);
}

TEST_CASE("delays follow the schedule exactly in virtual time", "[retry]") {
  recorder rec;
  const auto start = rec.clock.now();
  bulwark::retry retry({.max_attempts = 5, .backoff = no_jitter(100ms), .on_retry = rec.listener()},
                       rec.clock);
  int attempts = 0;
  const auto e = capture_exhausted([&] {
    retry.execute([&] {
      rec.attempt_times.push_back(rec.clock.now() - start);
      throw attempt_failed{++attempts};
    });
  });
  CHECK(rec.delays == std::vector<duration>{100ms, 200ms, 400ms, 800ms});
  CHECK(rec.attempt_times == std::vector<duration>{0ms, 100ms, 300ms, 700ms, 1500ms});
  CHECK(rec.clock.now() - start == 1500ms);  // no wait after the last attempt
  CHECK(e.attempts() == 5);
  CHECK(e.reason() == retry_stop_reason::attempts);
}

TEST_CASE("seeded jitter repeats exactly: call k draws from fast_rng(seed + k)", "[retry]") {
  recorder rec;
  bulwark::retry retry({.max_attempts = 4,
                        .backoff = {.base = 100ms, .cap = 1s},  // full jitter
                        .on_retry = rec.listener(),
                        .seed = 1234},
                       rec.clock);
  for (int call = 0; call < 2; ++call) {
    (void)capture_exhausted([&] { retry.execute([] { throw attempt_failed{0}; }); });
  }
  // Full jitter draws uniform_below(schedule + 1) ns for schedules 100, 200, 400 ms.
  std::vector<duration> expected;
  for (std::uint64_t k = 0; k < 2; ++k) {
    bulwark::fast_rng rng{1234 + k};
    for (const std::int64_t ms : {100, 200, 400}) {
      const auto bound = static_cast<std::uint64_t>(ms) * 1'000'000 + 1;
      expected.emplace_back(static_cast<std::int64_t>(bulwark::uniform_below(rng, bound)));
    }
  }
  CHECK(rec.delays == expected);
}

TEST_CASE("the deadline ends retrying without waiting past it", "[retry]") {
  recorder rec;
  const auto start = rec.clock.now();
  SECTION("instant attempts: 0, 400, 800 ms; the next would start at 1.2 s >= 1 s") {
    bulwark::retry retry({.max_attempts = 10,
                          .max_elapsed = 1s,
                          .backoff = no_jitter(400ms, 1),
                          .on_retry = rec.listener()},
                         rec.clock);
    const auto e = capture_exhausted([&] { retry.execute([] { throw attempt_failed{0}; }); });
    CHECK(e.reason() == retry_stop_reason::deadline);
    CHECK(e.attempts() == 3);
    CHECK(rec.clock.now() - start == 800ms);
  }
  SECTION("slow attempts: the time they take counts") {
    bulwark::retry retry({.max_attempts = 10, .max_elapsed = 1s, .backoff = no_jitter(400ms, 1)},
                         rec.clock);
    int attempts = 0;
    const auto e = capture_exhausted([&] {
      retry.execute([&] {
        rec.clock.advance(300ms);  // attempt 1 ends at 300, waits 400, attempt 2 ends at 1000
        throw attempt_failed{++attempts};
      });
    });
    CHECK(e.reason() == retry_stop_reason::deadline);
    CHECK(attempts == 2);
    CHECK(rec.clock.now() - start == 1000ms);
  }
  SECTION("the attempt context tells the attempt number and the time left") {
    bulwark::retry retry({.max_attempts = 3, .max_elapsed = 10s, .backoff = no_jitter(2s, 1)},
                         rec.clock);
    std::vector<std::uint32_t> numbers;
    std::vector<std::optional<duration>> left;
    (void)capture_exhausted([&] {
      retry.execute([&](const bulwark::attempt_context& context) {
        numbers.push_back(context.attempt);
        left.push_back(context.time_left);
        rec.clock.advance(1s);
        throw attempt_failed{0};
      });
    });
    CHECK(numbers == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(left == std::vector<std::optional<duration>>{10s, 7s, 4s});
  }
}

TEST_CASE("without a deadline the attempt context has no time left", "[retry]") {
  bulwark::retry retry({}, manual_clock{});
  const auto left = retry.execute(
      [](const bulwark::attempt_context& context, int) { return context.time_left; }, 1);
  CHECK_FALSE(left.has_value());
}

TEST_CASE("server hints override the schedule", "[retry]") {
  recorder rec;
  const auto start = rec.clock.now();
  SECTION("a bulwark::rejected's retry_after") {
    bulwark::retry retry({.backoff = no_jitter(100ms), .on_retry = rec.listener()}, rec.clock);
    int attempts = 0;
    const int v = retry.execute([&] {
      if (++attempts == 1) throw bulwark::rate_limited{"gcra", "rate exceeded", 750ms};
      return 7;
    });
    CHECK(v == 7);
    CHECK(rec.delays == std::vector<duration>{750ms});
    CHECK(rec.clock.now() - start == 750ms);
  }
  SECTION("the user hook, e.g. an HTTP Retry-After, before the schedule") {
    std::vector<bool> hinted;
    bulwark::retry retry(
        {.max_attempts = 3,
         .backoff = no_jitter(100ms),
         .retry_after = [](const std::exception_ptr& error) -> std::optional<duration> {
           try {
             std::rethrow_exception(error);
           } catch (const http_error& e) {
             return e.retry_after;
           } catch (...) {
             return std::nullopt;
           }
         },
         .on_retry =
             [&](const bulwark::retry_event& e) {
               rec.delays.push_back(e.delay);
               hinted.push_back(e.hinted);
             }},
        rec.clock);
    int attempts = 0;
    const auto e = capture_exhausted([&] {
      retry.execute([&]() -> int {
        ++attempts;
        if (attempts == 1) throw http_error{503, 3s};
        throw http_error{503, std::nullopt};  // no header: the schedule, restarted by the hint
      });
    });
    CHECK(rec.delays == std::vector<duration>{3s, 100ms});
    CHECK(hinted == std::vector<bool>{true, false});
    CHECK(e.attempts() == 3);
  }
  SECTION("after a hint the schedule starts again from its base (gRFC A6 pushback)") {
    bulwark::retry retry(
        {.max_attempts = 5, .backoff = no_jitter(100ms), .on_retry = rec.listener()}, rec.clock);
    int attempts = 0;
    (void)capture_exhausted([&] {
      retry.execute([&]() -> int {
        if (++attempts == 3) throw bulwark::rate_limited{"gcra", "rate exceeded", 1s};
        throw attempt_failed{attempts};
      });
    });
    CHECK(rec.delays == std::vector<duration>{100ms, 200ms, 1s, 100ms});
  }
  SECTION("a hint beyond the deadline ends retrying at once") {
    bulwark::retry retry({.max_elapsed = 2s}, rec.clock);
    const auto e = capture_exhausted([&] {
      retry.execute([]() -> int { throw bulwark::circuit_open{"b", "open", 5s}; });
    });
    CHECK(e.reason() == retry_stop_reason::deadline);
    CHECK(e.attempts() == 1);
    CHECK(e.retry_after() == 5s);
    CHECK(rec.clock.now() == start);
  }
  SECTION("a negative hint is gRPC's pushback: do not retry") {
    bulwark::retry retry(
        {.retry_after = [](const std::exception_ptr&) { return std::optional<duration>{-1ms}; }},
        rec.clock);
    const auto e = capture_exhausted([&] { retry.execute([] { throw attempt_failed{1}; }); });
    CHECK(e.reason() == retry_stop_reason::pushback);
    CHECK(e.attempts() == 1);
  }
}

TEST_CASE("the exception predicate picks what is retried, the rest propagates unchanged",
          "[retry]") {
  manual_clock clock;
  bulwark::retry retry(
      {.backoff = no_jitter(1ms), .retry_on = bulwark::retry_on_exceptions<attempt_failed>()},
      clock);
  int attempts = 0;
  CHECK_THROWS_AS(retry.execute([&] {
    ++attempts;
    throw std::logic_error{"bug"};
  }),
                  std::logic_error);
  CHECK(attempts == 1);
  CHECK(retry.metrics().failed_not_retried == 1);

  attempts = 0;
  CHECK(retry.execute([&] {
    if (++attempts < 3) throw attempt_failed{attempts};
    return attempts;
  }) == 3);
  CHECK(retry.metrics().succeeded_after_retry == 1);
  CHECK(retry.metrics().retries == 2);
}

TEST_CASE("retry_on_exceptions accepts derived types and several types", "[retry]") {
  const auto pred = bulwark::retry_on_exceptions<std::out_of_range, bulwark::rejected>();
  CHECK(pred(std::make_exception_ptr(std::out_of_range{"x"})));
  CHECK(pred(std::make_exception_ptr(bulwark::bulkhead_full{"b", "full"})));
  CHECK_FALSE(pred(std::make_exception_ptr(std::runtime_error{"x"})));
  CHECK_FALSE(pred(std::make_exception_ptr(42)));
}

TEST_CASE("a result predicate retries results and returns the last one when it gives up",
          "[retry]") {
  recorder rec;
  bulwark::retry retry({.max_attempts = 3, .backoff = no_jitter(10ms), .on_retry = rec.listener()},
                       rec.clock);
  const auto call = bulwark::retry_call{}.retry_result_if([](int status) { return status == 503; });
  SECTION("503, 503, 200") {
    std::vector<int> replies{503, 503, 200};
    std::size_t i = 0;
    CHECK(retry.execute(call, [&] { return replies[i++]; }) == 200);
    CHECK(rec.delays == std::vector<duration>{10ms, 20ms});
  }
  SECTION("503 throughout: the last 503 comes back") {
    int attempts = 0;
    CHECK(retry.execute(call, [&] {
      ++attempts;
      return 503;
    }) == 503);
    CHECK(attempts == 3);
    CHECK(retry.metrics().exhausted == 1);
  }
  SECTION("a retry_decision carries the response's Retry-After") {
    struct response {
      int status;
      std::optional<duration> retry_after;
    };
    const auto hinted = bulwark::retry_call{}.retry_result_if([](const response& r) {
      return bulwark::retry_decision{r.status == 503, r.retry_after};
    });
    int attempts = 0;
    const response r = retry.execute(hinted, [&] {
      return ++attempts == 1 ? response{503, 2s} : response{200, std::nullopt};
    });
    CHECK(r.status == 200);
    CHECK(rec.delays == std::vector<duration>{2s});
  }
}

TEST_CASE("exhaustion carries the attempt count and the last error, nested", "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.max_attempts = 3, .backoff = no_jitter(1ms)}, clock);
  int attempts = 0;
  const auto e =
      capture_exhausted([&] { retry.execute([&] { throw attempt_failed{++attempts}; }); });
  CHECK(e.attempts() == 3);
  CHECK(e.reason() == retry_stop_reason::attempts);
  CHECK(std::string{e.what()} == "bulwark::retry: gave up after 3 attempts (attempts): fail 3");
  REQUIRE(e.last_error());
  try {
    std::rethrow_if_nested(e);
    FAIL("no nested exception");
  } catch (const attempt_failed& last) {
    CHECK(last.attempt == 3);
  }
  const bulwark::rejected& as_rejected = e;  // catch (const bulwark::rejected&) sees it too
  CHECK_FALSE(as_rejected.retry_after().has_value());
}

TEST_CASE("the dead-letter handler gets the exhausted call's input and error", "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.max_attempts = 2, .backoff = no_jitter(1ms)}, clock);
  std::vector<std::string> letters;
  const auto call = bulwark::retry_call{}.dead_letter(
      [&](const retries_exhausted& e, const std::string& order, int qty) {
        letters.push_back(order + " x" + std::to_string(qty) + ": " + e.what());
      });
  CHECK_THROWS_AS(retry.execute(
                      call, [](const std::string&, int) -> int { throw attempt_failed{9}; },
                      std::string{"order-7"}, 3),
                  retries_exhausted);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0] == "order-7 x3: bulwark::retry: gave up after 2 attempts (attempts): fail 9");
  // A non-retryable error is not a dead letter: it propagates unchanged, handler not called.
  bulwark::retry picky({.retry_on = [](const std::exception_ptr&) { return false; }}, clock);
  CHECK_THROWS_AS(picky.execute(
                      call, [](const std::string&, int) -> int { throw attempt_failed{1}; },
                      std::string{"x"}, 1),
                  attempt_failed);
  CHECK(letters.size() == 1);
}

TEST_CASE("a stop request ends retrying and waiting at once", "[retry]") {
  recorder rec;
  const auto start = rec.clock.now();
  std::stop_source source;
  SECTION("requested before the call: no attempt runs") {
    bulwark::retry retry({}, rec.clock);
    source.request_stop();
    int attempts = 0;
    const auto e = capture_exhausted([&] {
      retry.execute(bulwark::retry_call{}.stop_on(source.get_token()), [&] { return ++attempts; });
    });
    CHECK(attempts == 0);
    CHECK(e.attempts() == 0);
    CHECK(e.reason() == retry_stop_reason::stopped);
    CHECK_FALSE(e.last_error());
  }
  SECTION("requested before a wait (manual clock): virtual time does not move") {
    bulwark::retry retry({.max_attempts = 5,
                          .backoff = no_jitter(1h),
                          .on_retry = [&](const bulwark::retry_event&) { source.request_stop(); }},
                         rec.clock);
    const auto e = capture_exhausted([&] {
      retry.execute(bulwark::retry_call{}.stop_on(source.get_token()),
                    []() -> int { throw attempt_failed{1}; });
    });
    CHECK(e.reason() == retry_stop_reason::stopped);
    CHECK(e.attempts() == 1);
    CHECK(rec.clock.now() == start);
    CHECK_THROWS_AS(std::rethrow_exception(e.last_error()), attempt_failed);
  }
  SECTION("the callable sees the token in its context") {
    bulwark::retry retry({.backoff = no_jitter(1ms)}, rec.clock);
    const bool possible =
        retry.execute(bulwark::retry_call{}.stop_on(source.get_token()),
                      [](const bulwark::attempt_context& c) { return c.stop.stop_possible(); });
    CHECK(possible);
  }
}

TEST_CASE("a stop request wakes a real-clock wait of an hour", "[retry]") {
  // steady_clock: the executor waits on a condition_variable_any with the token. The stopper
  // requests stop once the retry is announced: before or during the wait, both must end it
  // at once (the test would hang for an hour otherwise).
  bulwark::retry retry(
      {.max_attempts = 2, .backoff = {.base = 1h, .jitter = bulwark::jitter_kind::none}});
  std::stop_source source;
  std::latch announced{1};
  std::jthread stopper{[&] {
    announced.wait();
    source.request_stop();
  }};
  const auto call = bulwark::retry_call{}.stop_on(source.get_token());
  try {
    retry.execute(call, [&]() -> int {
      announced.count_down();
      throw attempt_failed{1};
    });
    FAIL("expected retries_exhausted");
  } catch (const retries_exhausted& e) {
    CHECK(e.reason() == retry_stop_reason::stopped);
  }
}

TEST_CASE("a shared budget ends retrying with reason budget", "[retry]") {
  manual_clock clock;
  // max_tokens 4, threshold 2: the first failure leaves 3 (retried), the second 2 (refused).
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::token_budget_options{.max_tokens = 4, .token_ratio = 1});
  bulwark::retry a({.max_attempts = 10, .backoff = no_jitter(1ms), .budget = budget}, clock);
  bulwark::retry b({.max_attempts = 10, .backoff = no_jitter(1ms), .budget = budget}, clock);
  const auto e = capture_exhausted([&] { a.execute([]() -> int { throw attempt_failed{0}; }); });
  CHECK(e.reason() == retry_stop_reason::budget);
  CHECK(e.attempts() == 2);
  CHECK(budget->tokens() == 2);
  // The other executor shares the empty budget: its first failure is not retried either.
  const auto f = capture_exhausted([&] { b.execute([]() -> int { throw attempt_failed{0}; }); });
  CHECK(f.attempts() == 1);
  CHECK(f.reason() == retry_stop_reason::budget);
  // Successes refill it (token_ratio 1 each), and a failure past max_attempts still counts.
  CHECK(b.execute([] { return 1; }) == 1);
  CHECK(budget->tokens() == 2);  // 1 after f, +1
  bulwark::retry once({.max_attempts = 1, .budget = budget}, clock);
  CHECK_THROWS_AS(once.execute([]() -> int { throw attempt_failed{0}; }), retries_exhausted);
  CHECK(budget->tokens() == 1);
}

TEST_CASE("many threads retrying through one budget never exceed it", "[retry]") {
  manual_clock clock;
  auto budget = std::make_shared<bulwark::retry_budget>(
      bulwark::ratio_budget_options{.retry_ratio = 0.1, .min_retries_per_second = 0});
  bulwark::retry retry({.max_attempts = 3, .backoff = {.base = 0ms}, .budget = budget}, clock);
  constexpr int threads = 4, calls = 500;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < calls; ++i) {
        try {
          retry.execute([]() -> int { throw attempt_failed{0}; });
        } catch (const retries_exhausted&) {
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();
  // Time stands still (zero delays), so the budget is exact: 10% of 2000 calls.
  CHECK(retry.metrics().retries <= 200);
  CHECK(budget->metrics(clock.now()).granted == retry.metrics().retries);
  CHECK(retry.metrics().exhausted == threads * calls);
}

TEST_CASE("retry options are validated with the field and value named", "[retry]") {
  CHECK_THROWS_WITH(bulwark::retry({.max_attempts = 0}),
                    "bulwark::retry: max_attempts must be >= 1 (got 0)");
  CHECK_THROWS_WITH(bulwark::retry({.max_elapsed = -5ms}),
                    "bulwark::retry: max_elapsed must be > 0 (got -5ms)");
  CHECK_THROWS_WITH(bulwark::retry({.backoff = {.multiplier = 0}}),
                    "bulwark::backoff: multiplier must be >= 1 and finite (got 0)");
}

TEST_CASE("an on_retry listener that throws ends the call with its exception", "[retry]") {
  manual_clock clock;
  bulwark::retry retry(
      {.on_retry = [](const bulwark::retry_event&) { throw std::runtime_error{"listener"}; }},
      clock);
  CHECK_THROWS_WITH(retry.execute([]() -> int { throw attempt_failed{1}; }), "listener");
}

// duration::max() as max_elapsed is "no deadline": the deadline saturates at time_point::max()
// instead of wrapping into the past (which stopped at once, reason deadline, after UB).
TEST_CASE("a max_elapsed of duration max never stops retrying for the deadline", "[retry]") {
  const bulwark::time_point start = GENERATE(manual_clock::default_start, bulwark::time_point{-24h},
                                             bulwark::time_point::max() - 1h);
  manual_clock clock{start};
  bulwark::retry retry(
      {.max_attempts = 4, .max_elapsed = duration::max(), .backoff = no_jitter(10min, 1, 1h)},
      clock);
  std::vector<std::optional<duration>> left;
  const auto e = capture_exhausted([&] {
    retry.execute([&](const bulwark::attempt_context& context) {
      left.push_back(context.time_left);
      throw attempt_failed{0};
    });
  });
  CHECK(e.reason() == retry_stop_reason::attempts);
  CHECK(e.attempts() == 4);
  CHECK(clock.now() - start == 30min);
  REQUIRE(left.size() == 4);
  CHECK(left[0] == duration::max());
  // Then the time to the deadline: start + max_elapsed where that fits (a clock before its
  // epoch: max_elapsed - 30min elapsed), else the saturated time_point::max() - now.
  const auto expected = start < bulwark::time_point{} ? duration::max() - 30min
                                                      : bulwark::time_point::max() - clock.now();
  CHECK(left[3] == expected);
}

// A server hint of duration::max() with a deadline: "delay >= time left" refuses it without
// computing now + delay, also when the deadline saturated.
TEST_CASE("a hint of duration max stops at the deadline without overflow", "[retry]") {
  manual_clock clock{bulwark::time_point::max() - 1s};
  bulwark::retry retry({.max_attempts = 3,
                        .max_elapsed = 1h,
                        .retry_after = [](const std::exception_ptr&) -> std::optional<duration> {
                          return duration::max();
                        }},
                       clock);
  const auto e = capture_exhausted([&] { retry.execute([] { throw attempt_failed{0}; }); });
  CHECK(e.reason() == retry_stop_reason::deadline);
  CHECK(e.attempts() == 1);
}
