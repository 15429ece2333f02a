// Edges where bulwark::circuit_breaker follows resilience4j's source, not just its docs.
// References (github:resilience4j/resilience4j):
//   resilience4j-circuitbreaker/.../internal/CircuitBreakerStateMachine.java (OpenState,
//     HalfOpenState), .../internal/CircuitBreakerMetrics.java (forHalfOpen),
//     .../internal/CircuitBreakerStateMachineTest.java (the scenarios mirrored below),
//   resilience4j-core/.../core/IntervalFunction.java (ofExponentialBackoff).
// Expected values come from those files' code and tests, worked by hand in the comments.
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "catch.hpp"
#include "record.hpp"

using namespace std::chrono_literals;
using bulwark::call_outcome;
using bulwark::circuit_state;

namespace {

using breaker_test::breaker;
using breaker_test::record;

// Trips a window_size = 1 breaker from closed, then walks it through `reopens` failed probes,
// each taken 1 ms after the wait (OpenState admits strictly after it). Returns the wait of the
// last trip as retry_after() reports it right after the trip.
bulwark::duration wait_after_trips(breaker& b, bulwark::manual_clock& clock, int trips) {
  record(b, call_outcome::failure);
  for (int k = 1; k < trips; ++k) {
    clock.advance(*b.retry_after() + 1ms);
    record(b, call_outcome::failure);
  }
  REQUIRE(b.state() == circuit_state::open);
  return *b.retry_after();
}

}  // namespace

// CircuitBreakerMetrics.forHalfOpen builds a COUNT_BASED window of
// permittedNumberOfCallsInHalfOpenState, so its minimumNumberOfCalls is
// min(minimumNumberOfCalls, permitted); HalfOpenState.checkIfThresholdsExceeded decides on the
// first result that reaches it. Mirrors CircuitBreakerStateMachineTest's setUp (permitted 4,
// slidingWindow(20, 5, TIME_BASED), failureRateThreshold 50) and its
// shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold: min(5, 4) = 4 results decide.
TEST_CASE("CircuitBreakerMetrics.forHalfOpen - probes decide at min(minimum_calls, permitted)",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  SECTION("CircuitBreakerStateMachineTest: minimum 5, permitted 4 -> the 4th result decides") {
    breaker b({.window_type = bulwark::sliding_window::time_based,
               .window_size = 20,
               .minimum_calls = 5,
               .permitted_calls_in_half_open = 4},
              clock);
    b.transition_to(circuit_state::half_open);
    record(b, call_outcome::failure);
    record(b, call_outcome::success, 2);
    CHECK(b.state() == circuit_state::half_open);  // 3 < 4 results
    CHECK(b.metrics().failure_rate == -1.0);
    record(b, call_outcome::success);  // 1 of 4 = 25% < 50%: BELOW_THRESHOLDS
    CHECK(b.state() == circuit_state::closed);
  }
  SECTION("minimum 2, permitted 4: two results decide, the rest are late") {
    breaker b({.window_size = 10, .minimum_calls = 2, .permitted_calls_in_half_open = 4}, clock);
    b.transition_to(circuit_state::half_open);
    auto p1 = b.try_acquire();
    auto p2 = b.try_acquire();
    auto p3 = b.try_acquire();
    REQUIRE((p1 && p2 && p3));
    p1.success();
    CHECK(b.metrics().failure_rate == -1.0);  // 1 < min(2, 4)
    CHECK(b.state() == circuit_state::half_open);
    SECTION("1 failure of 2 = 50% >= 50%: reopens") {
      p2.failure();
      CHECK(b.state() == circuit_state::open);
    }
    SECTION("0 failures of 2: closes") {
      p2.success();
      CHECK(b.state() == circuit_state::closed);
    }
    p3.failure();  // issued in the half-open state that has ended
    CHECK(b.metrics().late_results == 1);
  }
}

// CircuitBreakerStateMachine.OpenState.tryAcquirePermission permits only when
// `clock.instant().isAfter(retryAfterWaitDuration)`, with retryAfterWaitDuration =
// clock.instant() + waitDurationInMillis at the trip: a call at the deadline itself is refused.
// Mirrors CircuitBreakerStateMachineTest.shouldTransitionToHalfOpenAfterWaitDuration (wait 5 s:
// refused at +3 s, permitted at +6 s), plus the exact edge.
TEST_CASE("OpenState.tryAcquirePermission - a call is permitted strictly after the wait",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.wait_in_open = 5s, .permitted_calls_in_half_open = 4}, clock);
  b.transition_to(circuit_state::open);
  CHECK_FALSE(b.try_acquire());
  clock.advance(3s);
  CHECK_FALSE(b.try_acquire());
  CHECK(b.retry_after() == 2s);
  clock.advance(2s);  // exactly at retryAfterWaitDuration: isAfter is false
  {
    auto at_deadline = b.try_acquire();
    CHECK_FALSE(at_deadline);
    CHECK(at_deadline.retry_after() == 1ns);  // never "retry after 0s" while refusing
  }
  CHECK_FALSE(b.poll());  // the observed transition uses the same edge
  CHECK(b.state() == circuit_state::open);
  clock.advance(1ns);
  CHECK(b.retry_after() == 0ns);
  CHECK(b.try_acquire());
  CHECK(b.state() == circuit_state::half_open);
  CHECK(b.metrics().not_permitted_calls == 3);
}

// The state word keeps the deadline in whole milliseconds, rounded up: with a trip time off
// the millisecond grid, bulwark admits up to 1 ms later than resilience4j, never earlier.
TEST_CASE("OpenState.tryAcquirePermission - a trip off the millisecond grid rounds up",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.wait_in_open = 5s}, clock);
  clock.advance(400us);
  b.transition_to(circuit_state::open);  // resilience4j: deadline t0 + 5000.4 ms
  CHECK(b.retry_after() == 5s + 600us);  // bulwark: ceil to t0 + 5001 ms
  clock.advance(5s + 600us);
  CHECK_FALSE(b.try_acquire());
  clock.advance(1ns);
  CHECK(b.try_acquire());
}

// IntervalFunction.ofExponentialBackoff(initial, multiplier, max) is
// min(of(initial, x -> (long) (x * multiplier)).apply(attempt), max): LongStream.iterate
// truncates to whole milliseconds after every multiplication. By hand, initial 1001 ms, x1.5:
//   attempt 1: 1001; 2: (long) 1501.5 = 1501; 3: (long) 2251.5 = 2251 (not 1001 * 2.25 =
//   2252.25); 4: (long) 3376.5 = 3376, capped at max 3000.
// CircuitBreakerStateMachine.transitionToOpenState passes attempts + 1 from half-open.
TEST_CASE("IntervalFunction.ofExponentialBackoff - waits in open truncate to whole ms per step",
          "[circuit_breaker]") {
  const auto make = [](bulwark::manual_clock& clock) {
    return breaker{{.window_size = 1,
                    .minimum_calls = 1,
                    .wait_in_open = 1001ms,
                    .wait_in_open_multiplier = 1.5,
                    .max_wait_in_open = 3s,
                    .permitted_calls_in_half_open = 1},
                   clock};
  };
  int trips = 1;
  for (const auto expected : {1001ms, 1501ms, 2251ms, 3000ms}) {
    bulwark::manual_clock clock;
    auto b = make(clock);
    CHECK(wait_after_trips(b, clock, trips) == expected);
    ++trips;
  }
}

// CircuitBreakerStateMachineTest.shouldTransitionToHalfOpenAfterWaitInterval uses
// IntervalFunction.ofExponentialBackoff(5000L): DEFAULT_MULTIPLIER 1.5, so the second wait is
// (long) (5000 * 1.5) = 7500 ms ("the new wait duration of 7.5 seconds").
TEST_CASE("IntervalFunction.ofExponentialBackoff(5000L) - the second wait is 7500 ms",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open = 5000ms,
             .wait_in_open_multiplier = 1.5,
             .permitted_calls_in_half_open = 1},
            clock);
  CHECK(wait_after_trips(b, clock, 2) == 7500ms);
  clock.advance(6s);  // the test's "still open, because 7.5 s is not elapsed"
  CHECK_FALSE(b.try_acquire());
  clock.advance(5s);
  CHECK(b.try_acquire());
}

// CircuitBreakerConfig.Builder.waitDurationInOpenState: waitDurationInOpenState.toMillis(),
// "must be at least 1[ms]"; OpenState(attempts, Duration) also takes waitDuration.toMillis().
// toMillis truncates: 1500 us -> 1 ms, 2500 us -> 2 ms.
TEST_CASE("CircuitBreakerConfig.waitDurationInOpenState - whole milliseconds, at least 1 ms",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  SECTION("a fixed wait") {
    breaker b({.wait_in_open = 1500us}, clock);
    b.transition_to(circuit_state::open);
    CHECK(b.retry_after() == 1ms);
  }
  SECTION("a wait function's result") {
    breaker b({.wait_in_open_function = [](std::uint32_t) { return bulwark::duration{2500us}; }},
              clock);
    b.transition_to(circuit_state::open);
    CHECK(b.retry_after() == 2ms);
  }
  SECTION("below 1 ms is an error") {
    try {
      breaker b({.wait_in_open = 500us}, clock);
      FAIL("accepted wait_in_open = 500us");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string{e.what()} ==
            "bulwark::circuit_breaker: wait_in_open must be >= 1ms (got 500us)");
    }
  }
}
