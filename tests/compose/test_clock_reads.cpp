// Clock reads per guarded call, counted with a clock whose reads increment counters: a
// pipeline hands one reading to adjacent guards that accept it (issue 24, item 3: "a pipeline
// should read the clock at most once per call"), and the breaker's slow-call detection reads
// coarse_now() where the clock offers it and the threshold allows it.
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

struct reads {
  int precise = 0;
  int coarse = 0;
  bulwark::time_point t{24h};
  bulwark::duration coarse_lag{};  // how far coarse_now() lags now()
};

// Copies share one count and one virtual time, as manual_clock's copies do.
struct counting_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  std::shared_ptr<reads> r = std::make_shared<reads>();
  [[nodiscard]] time_point now() const noexcept {
    ++r->precise;
    return r->t;
  }
  [[nodiscard]] time_point coarse_now() const noexcept {
    ++r->coarse;
    return r->t - r->coarse_lag;
  }
  void sleep_for(duration d) noexcept { r->t += d; }
};

// The same without coarse_now(): every read is a precise one.
struct precise_counting_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  std::shared_ptr<reads> r = std::make_shared<reads>();
  [[nodiscard]] time_point now() const noexcept {
    ++r->precise;
    return r->t;
  }
  void sleep_for(duration d) noexcept { r->t += d; }
};

int work(int x) {
  return x + 1;
}

// Construction reads the clock (the breaker stamps its first state): counted from here on.
template <class Clock>
void start_counting(const Clock& clock) {
  clock.r->precise = 0;
  clock.r->coarse = 0;
}

}  // namespace

TEST_CASE(
    "pipeline of retry, breaker, gcra, bulkhead with default options reads the clock once "
    "per call",
    "[compose]") {
  counting_clock clock;
  bulwark::retry<counting_clock> retry({}, clock);
  bulwark::circuit_breaker<counting_clock> breaker({}, clock);
  bulwark::gcra<counting_clock> limiter({}, clock);  // 100/s, burst 1
  bulwark::bulkhead<counting_clock> bulkhead({}, clock);
  bulwark::pipeline protect(retry, breaker, limiter, bulkhead);
  start_counting(clock);
  constexpr int calls = 50;
  int x = 0;
  for (int i = 0; i < calls; ++i) {
    clock.r->t += 10ms;  // the limiter's interval: every call is admitted
    x = protect.execute(work, x);
  }
  CHECK(x == calls);
  // One precise read per call, shared by the breaker (the call's start) and the limiter; the
  // breaker's end-of-call read for slow-call detection is the coarse one.
  CHECK(clock.r->precise == calls);
  CHECK(clock.r->coarse == calls);
  CHECK(breaker.metrics().buffered_calls == calls);
  CHECK(limiter.metrics().admitted == calls);
}

TEST_CASE("pipeline: a refusal by the limiter after the breaker uses the shared reading",
          "[compose]") {
  counting_clock clock;
  bulwark::circuit_breaker<counting_clock> breaker({}, clock);
  bulwark::gcra<counting_clock> limiter({}, clock);
  bulwark::pipeline protect(breaker, limiter);
  start_counting(clock);
  CHECK(protect.execute(work, 0) == 1);
  try {
    (void)protect.execute(work, 0);  // same instant: the burst of 1 is spent
    FAIL("not refused");
  } catch (const bulwark::rate_limited& e) {
    REQUIRE(e.retry_after());
    CHECK(*e.retry_after() == 10ms);
  }
  CHECK(clock.r->precise == 2);
  CHECK(breaker.metrics().failed_calls == 1);  // the refusal propagated through the breaker
}

TEST_CASE("pipeline: a policy that does not accept a reading ends the run, the next reads afresh",
          "[compose]") {
  counting_clock clock;
  bulwark::circuit_breaker<counting_clock> breaker({.slow_call_duration = bulwark::slow_calls_off},
                                                   clock);
  bulwark::bulkhead<counting_clock> bulkhead({}, clock);
  bulwark::gcra<counting_clock> limiter({.rate = bulwark::per_second(1000), .burst = 100}, clock);
  SECTION("adjacent: one read") {
    bulwark::pipeline protect(breaker, limiter, bulkhead);
    start_counting(clock);
    (void)protect.execute(work, 0);
    CHECK(clock.r->precise == 1);
  }
  SECTION("a bulkhead between them: two reads") {
    bulwark::pipeline protect(breaker, bulkhead, limiter);
    start_counting(clock);
    (void)protect.execute(work, 0);
    CHECK(clock.r->precise == 2);
  }
  SECTION("different clock types: each reads its own") {
    bulwark::gcra<bulwark::manual_clock> other({.rate = bulwark::per_second(1000), .burst = 100});
    bulwark::pipeline protect(breaker, other);
    start_counting(clock);
    (void)protect.execute(work, 0);
    CHECK(clock.r->precise == 1);
    CHECK(other.metrics().admitted == 1);
  }
  CHECK(clock.r->coarse == 0);
}

TEST_CASE("pipeline: a retry runs the rest again, each attempt with a fresh reading", "[compose]") {
  counting_clock clock;
  bulwark::retry<counting_clock> retry({.max_attempts = 3, .seed = 1}, clock);
  bulwark::circuit_breaker<counting_clock> breaker({.slow_call_duration = bulwark::slow_calls_off},
                                                   clock);
  bulwark::gcra<counting_clock> limiter({.rate = bulwark::per_second(1000), .burst = 100}, clock);
  bulwark::pipeline protect(retry, breaker, limiter);
  start_counting(clock);
  int attempts = 0;
  const int result = protect.execute([&] {
    if (++attempts < 3) throw std::runtime_error("transient");
    return 7;
  });
  CHECK(result == 7);
  CHECK(attempts == 3);
  CHECK(clock.r->precise == 3);
}

TEST_CASE("pipeline with a clock without coarse_now: the breaker's end read is a precise one",
          "[compose]") {
  precise_counting_clock clock;
  bulwark::circuit_breaker<precise_counting_clock> breaker({}, clock);
  bulwark::gcra<precise_counting_clock> limiter({}, clock);
  bulwark::pipeline protect(breaker, limiter);
  start_counting(clock);
  (void)protect.execute(work, 0);
  CHECK(clock.r->precise == 2);  // the shared start, and the end for slow-call detection
}

TEST_CASE("breaker: slow-call detection reads coarse_now() from a one-second threshold on",
          "[compose]") {
  counting_clock clock;
  SECTION("default 60 s: two coarse reads, none precise") {
    bulwark::circuit_breaker<counting_clock> breaker({}, clock);
    start_counting(clock);
    (void)breaker.execute(work, 0);
    CHECK(clock.r->precise == 0);
    CHECK(clock.r->coarse == 2);
  }
  SECTION("1 s: coarse") {
    bulwark::circuit_breaker<counting_clock> breaker({.slow_call_duration = 1s}, clock);
    start_counting(clock);
    (void)breaker.execute(work, 0);
    CHECK(clock.r->precise == 0);
    CHECK(clock.r->coarse == 2);
  }
  SECTION("999 ms: precise") {
    bulwark::circuit_breaker<counting_clock> breaker({.slow_call_duration = 999ms}, clock);
    start_counting(clock);
    (void)breaker.execute(work, 0);
    CHECK(clock.r->precise == 2);
    CHECK(clock.r->coarse == 0);
  }
  SECTION("a transition reads the precise clock for its time stamp") {
    bulwark::circuit_breaker<counting_clock> breaker(
        {.window_size = 1, .minimum_calls = 1, .wait_in_open = 5s}, clock);
    start_counting(clock);
    auto p = breaker.try_acquire();
    REQUIRE(p);
    clock.r->coarse_lag = 3ms;  // the coarse clock lags: the deadline must not
    p.failure();
    CHECK(breaker.state() == bulwark::circuit_state::open);
    CHECK(clock.r->precise == 1);
    const auto left = breaker.retry_after();
    REQUIRE(left);
    CHECK(*left == 5s);
  }
}

TEST_CASE("breaker: coarse slow-call detection counts calls slower than the threshold",
          "[compose]") {
  counting_clock clock;
  bulwark::circuit_breaker<counting_clock> breaker({}, clock);  // slow: longer than 60 s
  (void)breaker.execute([&] { clock.r->t += 61s; });
  (void)breaker.execute([&] { clock.r->t += 59s; });
  CHECK(breaker.metrics().slow_calls == 1);
  CHECK(breaker.metrics().buffered_calls == 2);
}
