// Conformance scenarios for bulwark::circuit_breaker, written from resilience4j's documented
// semantics (CircuitBreakerConfig, CircuitBreakerStateMachine) and gobreaker's README; every
// expected decision is derived by hand from those definitions.
#include <atomic>
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "record.hpp"

using namespace std::chrono_literals;
using bulwark::call_outcome;
using bulwark::circuit_state;
using bulwark::transition_reason;

namespace {

using breaker_test::breaker;
using breaker_test::record;
void succeed(breaker& b, int times = 1) {
  record(b, call_outcome::success, times);
}
void fail(breaker& b, int times = 1) {
  record(b, call_outcome::failure, times);
}

// A call that takes `d` of virtual time.
void timed(breaker& b, bulwark::manual_clock& clock, call_outcome o, bulwark::duration d) {
  auto p = b.try_acquire();
  REQUIRE(p);
  clock.advance(d);
  p.record(o);
}

struct recorded_transitions {
  std::vector<bulwark::circuit_breaker_transition> events;
  auto listener() {
    return [this](const bulwark::circuit_breaker_transition& t) { events.push_back(t); };
  }
};

}  // namespace

TEST_CASE("the failure rate trips at exactly the threshold (>=)", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 10, .minimum_calls = 10}, clock);
  succeed(b, 5);
  fail(b, 4);
  CHECK(b.state() == circuit_state::closed);  // 9 calls: below the minimum
  CHECK(b.metrics().failure_rate == -1.0);
  fail(b);  // 5 of 10 = 0.5 >= 0.5
  CHECK(b.state() == circuit_state::open);
  const auto m = b.metrics();
  CHECK(m.buffered_calls == 10);
  CHECK(m.failed_calls == 5);
  CHECK(m.failure_rate == 0.5);
}

TEST_CASE("below the threshold the window slides until it is reached", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 10, .minimum_calls = 10}, clock);
  succeed(b, 6);
  fail(b, 4);
  CHECK(b.state() == circuit_state::closed);  // 4 of 10
  CHECK(b.metrics().failure_rate == Approx(0.4));
  fail(b);  // evicts the first success: 5 of 10
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("no rate is evaluated below minimum_calls", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  SECTION("count window") {
    breaker b({.window_size = 10, .minimum_calls = 5}, clock);
    fail(b, 4);
    CHECK(b.state() == circuit_state::closed);
    fail(b);
    CHECK(b.state() == circuit_state::open);
  }
  SECTION("a count window caps minimum_calls at its size, as resilience4j does") {
    breaker b({.window_size = 4, .minimum_calls = 100}, clock);
    fail(b, 3);
    CHECK(b.state() == circuit_state::closed);
    fail(b);
    CHECK(b.state() == circuit_state::open);
  }
  SECTION("a time window does not cap it") {
    breaker b({.window_type = bulwark::sliding_window::time_based,
               .window_size = 10,
               .minimum_calls = 20},
              clock);
    fail(b, 19);
    CHECK(b.state() == circuit_state::closed);
    fail(b);
    CHECK(b.state() == circuit_state::open);
  }
}

TEST_CASE("slow calls are those strictly longer than slow_call_duration", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  recorded_transitions seen;
  breaker b({.slow_call_rate_threshold = 0.5,
             .slow_call_duration = 2s,
             .window_size = 4,
             .minimum_calls = 4,
             .on_transition = seen.listener()},
            clock);
  timed(b, clock, call_outcome::success, 2s);  // exactly 2s: not slow
  timed(b, clock, call_outcome::success, 2001ms);
  timed(b, clock, call_outcome::success, 1s);
  CHECK(b.metrics().slow_calls == 1);
  CHECK(b.state() == circuit_state::closed);
  timed(b, clock, call_outcome::failure, 3s);  // slow and failed: 2 of 4 slow, 1 of 4 failed
  CHECK(b.state() == circuit_state::open);
  REQUIRE(seen.events.size() == 1);
  CHECK(seen.events[0].reason == transition_reason::slow_call_rate);
  const auto m = b.metrics();
  CHECK(m.slow_calls == 2);
  CHECK(m.failed_calls == 1);
  CHECK(m.slow_call_rate == 0.5);
  CHECK(m.failure_rate == 0.25);
}

TEST_CASE("the default slow threshold trips only when every call is slow", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 3, .minimum_calls = 3}, clock);
  timed(b, clock, call_outcome::success, 61s);
  timed(b, clock, call_outcome::success, 61s);
  timed(b, clock, call_outcome::success, 59s);
  CHECK(b.state() == circuit_state::closed);
  timed(b, clock, call_outcome::success, 61s);  // evicts the first: still 2 of 3
  CHECK(b.state() == circuit_state::closed);
  timed(b, clock, call_outcome::success, 61s);  // evicts the second: 2 of 3
  CHECK(b.state() == circuit_state::closed);
  timed(b, clock, call_outcome::success, 61s);  // evicts the 59s call: 3 of 3
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("ignored outcomes count as neither success nor failure", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 4,
             .minimum_calls = 4,
             .classify_exception = bulwark::ignore_exceptions<std::invalid_argument>()},
            clock);
  fail(b, 3);
  record(b, call_outcome::ignored, 5);
  CHECK_THROWS_AS(b.execute([]() -> int { throw std::invalid_argument{"bad request"}; }),
                  std::invalid_argument);
  { auto dropped = b.try_acquire(); }  // no verdict: ignored
  auto m = b.metrics();
  CHECK(m.buffered_calls == 3);
  CHECK(m.ignored_calls == 7);
  CHECK(b.state() == circuit_state::closed);
  CHECK_THROWS_AS(b.execute([]() -> int { throw std::runtime_error{"down"}; }), std::runtime_error);
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("record_exceptions counts other exceptions as successes", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 2,
             .minimum_calls = 2,
             .classify_exception = bulwark::record_exceptions<std::runtime_error>()},
            clock);
  CHECK_THROWS_AS(b.execute([]() -> int { throw std::logic_error{"not a failure"}; }),
                  std::logic_error);
  CHECK_THROWS_AS(b.execute([]() -> int { throw std::runtime_error{"failure"}; }),
                  std::runtime_error);
  const auto m = b.metrics();
  CHECK(m.buffered_calls == 2);
  CHECK(m.failed_calls == 1);
  CHECK(b.state() == circuit_state::open);  // 1 of 2 >= 0.5
}

TEST_CASE("a time window forgets calls older than its seconds", "[circuit_breaker]") {
  bulwark::manual_clock clock;  // starts on a whole second
  breaker b(
      {.window_type = bulwark::sliding_window::time_based, .window_size = 5, .minimum_calls = 3},
      clock);
  fail(b, 2);
  clock.advance(4999ms);  // still the window's oldest second
  CHECK(b.metrics().buffered_calls == 2);
  clock.advance(1ms);  // the failures' second has left
  CHECK(b.metrics().buffered_calls == 0);
  succeed(b, 2);
  fail(b);  // 1 of 3; with the expired failures it would have been 3 of 5
  CHECK(b.state() == circuit_state::closed);
  fail(b);  // 2 of 4
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("open refuses until the wait is over, then half-open probes decide",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  recorded_transitions seen;
  // minimum_calls 3: the window of 2 caps it at 2 in closed, and the probes decide once
  // min(3, 3) verdicts are in (resilience4j CircuitBreakerMetrics.forHalfOpen).
  breaker b({.window_size = 2,
             .minimum_calls = 3,
             .wait_in_open = 10s,
             .permitted_calls_in_half_open = 3,
             .on_transition = seen.listener()},
            clock);
  fail(b, 2);
  REQUIRE(b.state() == circuit_state::open);
  clock.advance(9999ms);
  {
    auto refused = b.try_acquire();
    CHECK_FALSE(refused);
    CHECK(refused.retry_after() == 1ms);
    CHECK(b.retry_after() == 1ms);
  }
  clock.advance(1ms);
  CHECK(b.state() == circuit_state::open);  // lazy: nobody asked yet
  clock.advance(1ms);  // resilience4j OpenState: permitted strictly after the wait
  auto p1 = b.try_acquire();
  REQUIRE(p1);
  CHECK(b.state() == circuit_state::half_open);
  auto p2 = b.try_acquire();
  auto p3 = b.try_acquire();
  REQUIRE(p2);
  REQUIRE(p3);
  CHECK_FALSE(b.try_acquire());  // all three probes in flight
  CHECK(b.metrics().not_permitted_calls == 2);

  SECTION("1 failure of 3 is below 50%: closes") {
    p1.success();
    p2.failure();
    CHECK(b.state() == circuit_state::half_open);
    p3.success();
    CHECK(b.state() == circuit_state::closed);
    CHECK(b.metrics().buffered_calls == 0);  // a fresh window
    REQUIRE(seen.events.size() == 3);
    CHECK(seen.events[2].from == circuit_state::half_open);
    CHECK(seen.events[2].reason == transition_reason::probes_succeeded);
  }
  SECTION("2 failures of 3 reach 50%: reopens") {
    p1.failure();
    p2.success();
    p3.failure();
    CHECK(b.state() == circuit_state::open);
    REQUIRE(seen.events.size() == 3);
    CHECK(seen.events[2].reason == transition_reason::probes_failed);
  }
  REQUIRE(seen.events.size() == 3);
  CHECK(seen.events[0].from == circuit_state::closed);
  CHECK(seen.events[0].to == circuit_state::open);
  CHECK(seen.events[0].reason == transition_reason::failure_rate);
  CHECK(seen.events[0].time == bulwark::manual_clock::default_start);
  CHECK(seen.events[1].to == circuit_state::half_open);
  CHECK(seen.events[1].reason == transition_reason::wait_elapsed);
  CHECK(seen.events[1].time == bulwark::manual_clock::default_start + 10001ms);
  CHECK(seen.events[1].generation == seen.events[0].generation + 1);
  CHECK(seen.events[2].generation == seen.events[1].generation + 1);
}

TEST_CASE("the wait in open grows on repeated trips up to its cap", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open = 1s,
             .wait_in_open_multiplier = 2.0,
             .max_wait_in_open = 5s,
             .permitted_calls_in_half_open = 1},
            clock);
  fail(b);
  // Trip k waits min(5s, 1s * 2^(k-1)): 1s, 2s, 4s, 5s, 5s.
  for (const auto wait : {1s, 2s, 4s, 5s, 5s}) {
    REQUIRE(b.state() == circuit_state::open);
    CHECK(b.retry_after() == wait);
    clock.advance(wait - 1ms);
    CHECK_FALSE(b.try_acquire());
    clock.advance(1ms);
    CHECK_FALSE(b.try_acquire());  // at the deadline itself: still refused
    clock.advance(1ms);
    fail(b);  // the probe fails: reopen
  }
  // A successful probe closes and resets the attempts: the next trip waits 1s again.
  clock.advance(5s + 1ms);
  succeed(b);
  REQUIRE(b.state() == circuit_state::closed);
  fail(b);
  CHECK(b.retry_after() == 1s);
}

TEST_CASE("a custom wait function gets the attempt number", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  std::vector<std::uint32_t> attempts;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open_function =
                 [&attempts](std::uint32_t a) {
                   attempts.push_back(a);
                   return std::chrono::seconds{10 * a};
                 },
             .permitted_calls_in_half_open = 1},
            clock);
  fail(b);
  CHECK(b.retry_after() == 10s);
  clock.advance(10s + 1ms);
  fail(b);
  CHECK(b.retry_after() == 20s);
  CHECK(attempts == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("max_wait_in_half_open reopens a half-open breaker that is left waiting",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  recorded_transitions seen;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open = 1s,
             .wait_in_open_multiplier = 3.0,
             .permitted_calls_in_half_open = 2,
             .max_wait_in_half_open = 5s,
             .on_transition = seen.listener()},
            clock);
  fail(b);
  clock.advance(1s + 1ms);
  auto probe = b.try_acquire();
  REQUIRE(probe);
  clock.advance(4999ms);
  CHECK(b.try_acquire());  // still half-open: the second probe
  clock.advance(1ms);
  CHECK_FALSE(b.try_acquire());  // 5s in half-open: reopened, waiting 3s (second attempt)
  CHECK(b.state() == circuit_state::open);
  CHECK(seen.events.back().reason == transition_reason::half_open_timeout);
  CHECK(b.retry_after() == 3s);
  probe.success();  // from the old half-open: dropped
  CHECK(b.metrics().late_results == 1);
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("automatic transitions show without traffic, lazy ones wait for a call",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  SECTION("lazy") {
    breaker b({.window_size = 1, .minimum_calls = 1, .wait_in_open = 1s}, clock);
    fail(b);
    clock.advance(1s + 1ms);
    CHECK(b.state() == circuit_state::open);
    CHECK(b.metrics().state == circuit_state::open);
    CHECK(b.poll());  // an explicit poll applies it
    CHECK(b.state() == circuit_state::half_open);
  }
  SECTION("automatic") {
    breaker b({.window_size = 1,
               .minimum_calls = 1,
               .wait_in_open = 1s,
               .automatic_transition_from_open = true},
              clock);
    fail(b);
    clock.advance(999ms);
    CHECK(b.state() == circuit_state::open);
    clock.advance(1ms);
    // At the deadline itself: still open, the same edge as try_acquire (resilience4j's
    // OpenState.tryAcquirePermission: clock.instant().isAfter(retryAfterWaitDuration)).
    CHECK(b.state() == circuit_state::open);
    clock.advance(1ns);
    CHECK(b.state() == circuit_state::half_open);
    CHECK_FALSE(b.poll());
  }
}

TEST_CASE("forced_open, disabled and metrics_only", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  recorded_transitions seen;
  breaker b({.window_size = 2, .minimum_calls = 2, .on_transition = seen.listener()}, clock);
  SECTION("forced_open refuses everything, without a retry hint") {
    b.transition_to(circuit_state::forced_open);
    CHECK_FALSE(b.try_acquire());
    clock.advance(1h);
    CHECK_FALSE(b.try_acquire());
    CHECK_FALSE(b.retry_after().has_value());
    CHECK_THROWS_WITH(b.execute([] { return 1; }),
                      "bulwark::circuit_breaker: circuit is forced open");
    CHECK(b.metrics().not_permitted_calls == 3);
    b.reset();
    CHECK(b.state() == circuit_state::closed);
    CHECK(seen.events.back().reason == transition_reason::manual);
  }
  SECTION("disabled permits everything and records nothing") {
    b.transition_to(circuit_state::disabled);
    fail(b, 10);
    CHECK(b.state() == circuit_state::disabled);
    CHECK(b.metrics().buffered_calls == 0);
  }
  SECTION("metrics_only records but never trips") {
    b.transition_to(circuit_state::metrics_only);
    fail(b, 10);
    CHECK(b.state() == circuit_state::metrics_only);
    const auto m = b.metrics();
    CHECK(m.buffered_calls == 2);
    CHECK(m.failure_rate == 1.0);
  }
  SECTION("a manual open waits wait_in_open from now") {
    b.transition_to(circuit_state::open);
    CHECK(b.retry_after() == 60s);
  }
}

TEST_CASE("consecutive-failures mode trips on a run, gobreaker style", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  recorded_transitions seen;
  breaker b({.window_size = 100,
             .minimum_calls = 1,
             .trip_on = bulwark::trip_condition::consecutive_failures,
             .consecutive_failures = 3,
             .wait_in_open = 1s,
             .permitted_calls_in_half_open = 2,
             .on_transition = seen.listener()},
            clock);
  fail(b, 2);
  succeed(b);
  fail(b, 2);
  CHECK(b.state() == circuit_state::closed);  // runs of 2; the failure rate is 80%
  fail(b);
  CHECK(b.state() == circuit_state::open);
  CHECK(seen.events.back().reason == transition_reason::consecutive_failures);
  clock.advance(1s + 1ms);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  REQUIRE((p1 && p2));
  p1.failure();  // any failed probe reopens at once
  CHECK(b.state() == circuit_state::open);
  p2.success();  // late
  clock.advance(1s + 1ms);
  succeed(b, 1);
  CHECK(b.state() == circuit_state::half_open);
  succeed(b, 1);
  CHECK(b.state() == circuit_state::closed);
  fail(b, 2);
  CHECK(b.state() == circuit_state::closed);  // the run restarted on closing
}

TEST_CASE("a result from before a transition is dropped", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b(
      {.window_size = 2, .minimum_calls = 2, .wait_in_open = 1s, .permitted_calls_in_half_open = 1},
      clock);
  auto slow_call = b.try_acquire();  // granted while closed
  auto another = b.try_acquire();
  fail(b, 2);
  REQUIRE(b.state() == circuit_state::open);
  another.failure();  // after the trip: must not count in the open window
  CHECK(b.metrics().late_results == 1);
  clock.advance(1s + 1ms);
  succeed(b);  // the probe closes it
  REQUIRE(b.state() == circuit_state::closed);
  slow_call.success();  // finishing now, it must not count in the new window
  auto m = b.metrics();
  CHECK(m.buffered_calls == 0);
  CHECK(m.late_results == 2);
  fail(b, 2);  // the new window trips on its own calls only
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("an abandoned half-open permit frees its slot", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open = 1s,
             .permitted_calls_in_half_open = 1,
             .probe_lease = 10s},
            clock);
  fail(b);
  clock.advance(1s + 1ms);
  {
    auto probe = b.try_acquire();
    REQUIRE(probe);
    CHECK_FALSE(b.try_acquire());
  }  // dropped without a verdict
  CHECK(b.metrics().ignored_calls == 1);
  {
    auto probe = b.try_acquire();
    REQUIRE(probe);
    probe.ignore();  // an ignored outcome frees it too
  }
  SECTION("a probe that never reports loses its slot when its lease runs out") {
    auto stuck = b.try_acquire();
    REQUIRE(stuck);
    clock.advance(9999ms);
    CHECK_FALSE(b.try_acquire());
    clock.advance(1ms);
    auto fresh = b.try_acquire();
    REQUIRE(fresh);
    stuck.failure();  // too late: its slot is fresh's now
    CHECK(b.state() == circuit_state::half_open);
    CHECK(b.metrics().late_results == 1);
    fresh.success();
    CHECK(b.state() == circuit_state::closed);
  }
  SECTION("a moved-from permit gives no verdict; the moved-to one does") {
    auto a = b.try_acquire();
    REQUIRE(a);
    auto c = std::move(a);
    CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    c.failure();
    CHECK(b.state() == circuit_state::open);
  }
}

TEST_CASE("execute returns results, rethrows, and throws circuit_open when refused",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 2, .minimum_calls = 2, .wait_in_open = 30s}, clock);
  CHECK(b.execute([](int x) { return x * 2; }, 21) == 42);
  int target = 0;
  int& ref = b.execute([&target]() -> int& { return target; });
  CHECK(&ref == &target);
  bool ran = false;
  b.execute([&ran] { ran = true; });
  CHECK(ran);
  CHECK(b.metrics().buffered_calls == 2);
  // A result classified as a failure (an HTTP 503 returned, not thrown).
  const auto is_error = [](int status) {
    return status >= 500 ? call_outcome::failure : call_outcome::success;
  };
  CHECK(b.execute_classified(is_error, [] { return 200; }) == 200);
  CHECK(b.state() == circuit_state::closed);
  CHECK(b.execute_classified(is_error, [] { return 503; }) == 503);  // 1 of the last 2
  REQUIRE(b.state() == circuit_state::open);
  clock.advance(10s);
  try {
    b.execute([] { return 1; });
    FAIL("execute ran while open");
  } catch (const bulwark::circuit_open& e) {
    CHECK(e.retry_after() == 20s);
    CHECK(std::string{e.what()} == "bulwark::circuit_breaker: circuit is open (retry after 20s)");
  }
}

TEST_CASE("the try_acquire(now) overload uses the caller's time", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.slow_call_duration = 1s, .window_size = 1, .minimum_calls = 1}, clock);
  auto p = b.try_acquire(clock.now());
  p.record(call_outcome::success, clock.now() + 2s);  // the caller says it took 2s
  CHECK(b.state() == circuit_state::open);
}

TEST_CASE("metrics render for exporters", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.failure_rate_threshold = 0.9, .window_size = 4, .minimum_calls = 2}, clock);
  fail(b);
  succeed(b, 2);
  std::vector<std::string> names;
  b.metrics().for_each_metric([&names](const bulwark::metric& m) {
    names.emplace_back(m.name);
    if (m.name == "failure_ratio") CHECK(std::get<double>(m.value) == Approx(1.0 / 3.0));
    if (m.name == "slow_call_ratio") CHECK(std::get<double>(m.value) == 0.0);
    if (m.name == "buffered_calls") CHECK(std::get<std::uint64_t>(m.value) == 3);
  });
  CHECK(names == std::vector<std::string>{"state", "failure_ratio", "slow_call_ratio",
                                          "buffered_calls", "failed_calls", "slow_calls",
                                          "not_permitted_calls_total", "ignored_calls_total",
                                          "late_results_total"});
}

// Below the minimum the struct keeps resilience4j's -1, and the exporters get no ratio at all:
// a -1 sample would pull avg() and max() over a fleet of breakers.
TEST_CASE("the ratios are not exported below the minimum number of calls", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 4, .minimum_calls = 2}, clock);
  fail(b);
  const auto m = b.metrics();
  CHECK(m.failure_rate == -1.0);
  CHECK(m.slow_call_rate == -1.0);
  std::vector<std::string> names;
  m.for_each_metric([&names](const bulwark::metric& x) { names.emplace_back(x.name); });
  CHECK(names == std::vector<std::string>{"state", "buffered_calls", "failed_calls", "slow_calls",
                                          "not_permitted_calls_total", "ignored_calls_total",
                                          "late_results_total"});
  fail(b);  // the minimum reached: both ratios appear, in [0, 1]
  names.clear();
  b.metrics().for_each_metric([&names](const bulwark::metric& x) {
    names.emplace_back(x.name);
    if (x.name.ends_with("_ratio")) {
      CHECK(std::get<double>(x.value) >= 0.0);
      CHECK(std::get<double>(x.value) <= 1.0);
    }
  });
  CHECK(names.size() == 9);
  CHECK(names[1] == "failure_ratio");
  CHECK(names[2] == "slow_call_ratio");
}

// Concurrency: bounded by iteration counts; run under TSan in CI.

TEST_CASE("half-open never admits more probes than permitted", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  constexpr std::uint32_t permitted = 3;
  breaker b({.window_size = 1, .minimum_calls = 1, .permitted_calls_in_half_open = permitted},
            clock);
  b.transition_to(circuit_state::half_open);
  std::atomic<int> live{0};
  std::atomic<int> most{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < 4; ++i) {
    pool.emplace_back([&] {
      for (int k = 0; k < 2'000; ++k) {
        auto p = b.try_acquire();
        if (!p) continue;
        const int now = live.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        granted.fetch_add(1);
        live.fetch_sub(1);
        p.ignore();  // frees the slot and keeps the breaker half-open
      }
    });
  }
  for (auto& t : pool)
    t.join();
  CHECK(most.load() <= static_cast<int>(permitted));
  CHECK(granted.load() > 0);
  CHECK(b.state() == circuit_state::half_open);
  const auto m = b.metrics();
  CHECK(m.ignored_calls + m.not_permitted_calls == 4u * 2'000u);
  CHECK(m.ignored_calls == static_cast<std::uint64_t>(granted.load()));
}

TEST_CASE("concurrent probes decide exactly once", "[circuit_breaker]") {
  constexpr std::uint32_t permitted = 8;
  for (int round = 0; round < 50; ++round) {
    bulwark::manual_clock clock;
    std::atomic<int> transitions{0};
    // minimum_calls = permitted: the decision needs every probe's verdict, so the eight
    // verdicts race for it (the window of 1 keeps the closed minimum at 1).
    breaker b({.window_size = 1,
               .minimum_calls = permitted,
               .permitted_calls_in_half_open = permitted,
               .on_transition = [&transitions](const auto&) { transitions.fetch_add(1); }},
              clock);
    b.transition_to(circuit_state::half_open);
    std::vector<breaker::permit> probes;
    for (std::uint32_t i = 0; i < permitted; ++i)
      probes.push_back(b.try_acquire());
    transitions.store(0);
    std::vector<std::thread> pool;
    for (std::uint32_t i = 0; i < 4; ++i) {
      pool.emplace_back([&probes, i] {
        for (std::uint32_t k = i; k < permitted; k += 4)
          probes[k].success();
      });
    }
    for (auto& t : pool)
      t.join();
    CHECK(transitions.load() == 1);
    CHECK(b.state() == circuit_state::closed);
  }
}

TEST_CASE("many threads: counters add up and one thread trips", "[circuit_breaker]") {
  constexpr int threads = 4;
  constexpr int per_thread = 2'500;
  bulwark::manual_clock clock;
  SECTION("metrics_only keeps every call") {
    breaker b({.window_size = threads * per_thread}, clock);
    b.transition_to(circuit_state::metrics_only);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&b] {
        for (int k = 0; k < per_thread; ++k) {
          auto p = b.try_acquire();
          if (k % 5 == 0) {
            p.failure();
          } else if (k % 5 == 1) {
            p.ignore();
          } else {
            p.success();
          }
        }
      });
    }
    for (auto& t : pool)
      t.join();
    const auto m = b.metrics();
    CHECK(m.buffered_calls == threads * per_thread * 4 / 5);
    CHECK(m.failed_calls == threads * per_thread / 5);
    CHECK(m.ignored_calls == threads * per_thread / 5);
  }
  SECTION("failing threads trip it once; the rest are refused or late") {
    std::atomic<int> opened{0};
    breaker b({.window_size = 50,
               .minimum_calls = 50,
               .on_transition =
                   [&opened](const bulwark::circuit_breaker_transition& t) {
                     if (t.to == circuit_state::open) opened.fetch_add(1);
                   }},
              clock);
    std::atomic<std::uint64_t> refused{0};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&] {
        for (int k = 0; k < per_thread; ++k) {
          auto p = b.try_acquire();
          if (!p) {
            refused.fetch_add(1);
            continue;
          }
          p.failure();
        }
      });
    }
    for (auto& t : pool)
      t.join();
    CHECK(opened.load() == 1);
    CHECK(b.state() == circuit_state::open);
    const auto m = b.metrics();
    CHECK(m.not_permitted_calls == refused.load());
    CHECK(m.buffered_calls == 50);
    CHECK(m.failed_calls == 50);
  }
}
