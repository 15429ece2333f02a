// The trip rules alone (detail/trip_rule.hpp): pure functions from counts to a verdict, fed
// counts by hand. The rate rule's edges are resilience4j's CircuitBreakerMetrics
// (checkIfThresholdsExceeded: no verdict below minimumNumberOfCalls, a rate equal to its
// threshold trips, the failure rate is checked before the slow-call rate) and
// CircuitBreakerConfig's rule that a count window's minimum is min(minimumNumberOfCalls,
// slidingWindowSize); the consecutive rule's are gobreaker's (ReadyToTrip on the count of
// consecutive failures; in half-open a failure reopens, maxRequests successes close).
#include <bulwark/circuit_breaker/detail/closed_window.hpp>
#include <bulwark/circuit_breaker/detail/trip_rule.hpp>
#include <chrono>
#include <variant>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::detail::consecutive_failures_trip;
using bulwark::detail::failure_rate_trip;
using bulwark::detail::probe_tally;
using bulwark::detail::probe_verdict;
using bulwark::detail::trip_verdict;
using bulwark::detail::window_counts;

TEST_CASE("rate rule: no verdict below the minimum number of calls", "[circuit_breaker]") {
  const failure_rate_trip r{
      .minimum = 10, .probe_minimum = 3, .failure_threshold = 0.5, .slow_threshold = 1.0};
  CHECK(r.closed(window_counts{9, 9, 9}) == trip_verdict::stay);
  CHECK(r.closed(window_counts{10, 9, 0}) == trip_verdict::failure_rate);
  CHECK(r.closed(window_counts{0, 0, 0}) == trip_verdict::stay);
}

TEST_CASE("rate rule: a rate equal to its threshold trips, one call less does not",
          "[circuit_breaker]") {
  const failure_rate_trip r{
      .minimum = 100, .probe_minimum = 10, .failure_threshold = 0.5, .slow_threshold = 0.3};
  CHECK(r.closed(window_counts{100, 50, 0}) == trip_verdict::failure_rate);
  CHECK(r.closed(window_counts{100, 49, 0}) == trip_verdict::stay);
  CHECK(r.closed(window_counts{100, 0, 30}) == trip_verdict::slow_call_rate);
  CHECK(r.closed(window_counts{100, 0, 29}) == trip_verdict::stay);
  // 1/3 against 1/3: the division is correctly rounded, so the equal ratio compares equal.
  const failure_rate_trip third{
      .minimum = 3, .probe_minimum = 3, .failure_threshold = 1.0 / 3.0, .slow_threshold = 1.0};
  CHECK(third.closed(window_counts{3, 1, 0}) == trip_verdict::failure_rate);
}

TEST_CASE("rate rule: the failure rate is checked before the slow-call rate", "[circuit_breaker]") {
  const failure_rate_trip r{
      .minimum = 4, .probe_minimum = 4, .failure_threshold = 0.5, .slow_threshold = 0.5};
  CHECK(r.closed(window_counts{4, 2, 4}) == trip_verdict::failure_rate);
  CHECK(r.closed(window_counts{4, 1, 4}) == trip_verdict::slow_call_rate);
}

TEST_CASE("rate rule: the default slow threshold (100%) needs every call slow",
          "[circuit_breaker]") {
  const failure_rate_trip r{};
  CHECK(r.closed(window_counts{100, 0, 100}) == trip_verdict::slow_call_rate);
  CHECK(r.closed(window_counts{100, 0, 99}) == trip_verdict::stay);
}

TEST_CASE("rate rule in half-open: waits for the probe minimum, then closes or reopens",
          "[circuit_breaker]") {
  const failure_rate_trip r{
      .minimum = 100, .probe_minimum = 4, .failure_threshold = 0.5, .slow_threshold = 1.0};
  CHECK(r.half_open(probe_tally{3, 3, 0}) == probe_verdict::wait);
  CHECK(r.half_open(probe_tally{4, 1, 0}) == probe_verdict::close);
  CHECK(r.half_open(probe_tally{4, 2, 0}) == probe_verdict::reopen);
  CHECK(r.half_open(probe_tally{4, 0, 4}) == probe_verdict::reopen);
  CHECK(r.half_open(probe_tally{4, 0, 3}) == probe_verdict::close);
}

TEST_CASE("consecutive rule: trips at the limit, not one before", "[circuit_breaker]") {
  const consecutive_failures_trip r{.limit = 6, .permitted = 3};
  CHECK(r.closed(5) == trip_verdict::stay);
  CHECK(r.closed(6) == trip_verdict::consecutive_failures);
  CHECK(r.closed(7) == trip_verdict::consecutive_failures);
}

TEST_CASE("consecutive rule in half-open: one failure reopens, all permitted succeeding closes",
          "[circuit_breaker]") {
  const consecutive_failures_trip r{.limit = 5, .permitted = 3};
  CHECK(r.half_open(probe_tally{1, 1, 0}) == probe_verdict::reopen);
  CHECK(r.half_open(probe_tally{2, 0, 2}) == probe_verdict::wait);
  CHECK(r.half_open(probe_tally{3, 0, 0}) == probe_verdict::close);
}

TEST_CASE("make_trip_rule: the options choose the rule and its minimums", "[circuit_breaker]") {
  bulwark::circuit_breaker_options o;
  o.window_size = 20;
  o.minimum_calls = 50;
  o.permitted_calls_in_half_open = 5;
  auto rule = bulwark::detail::make_trip_rule(o);
  REQUIRE(std::holds_alternative<failure_rate_trip>(rule));
  CHECK(std::get<failure_rate_trip>(rule).minimum == 20);  // min(minimum_calls, window_size)
  CHECK(std::get<failure_rate_trip>(rule).probe_minimum == 5);
  o.window_type = bulwark::sliding_window::time_based;
  CHECK(std::get<failure_rate_trip>(bulwark::detail::make_trip_rule(o)).minimum == 50);
  o.trip_on = bulwark::trip_condition::consecutive_failures;
  o.consecutive_failures = 6;
  rule = bulwark::detail::make_trip_rule(o);
  REQUIRE(std::holds_alternative<consecutive_failures_trip>(rule));
  CHECK(std::get<consecutive_failures_trip>(rule).limit == 6);
  CHECK(bulwark::detail::half_open_verdict(rule, probe_tally{5, 0, 0}) == probe_verdict::close);
}

TEST_CASE("closed_window: holds the window the options choose", "[circuit_breaker]") {
  using bulwark::detail::make_code;
  int reads = 0;
  const auto now = [&] {
    ++reads;
    return bulwark::time_point{24h};
  };
  bulwark::circuit_breaker_options o;
  o.window_size = 2;
  bulwark::detail::closed_window count{o};
  CHECK_FALSE(count.time_based());
  window_counts t{};
  CHECK(count.record(make_code(true, false), now, t));
  CHECK(count.record(make_code(false, true), now, t));
  CHECK(count.record(make_code(false, false), now, t));  // evicts the failure
  CHECK(reads == 0);                                     // a count window never asks the time
  CHECK(t.calls == 2);
  CHECK(t.failed == 0);
  CHECK(t.slow == 1);
  count.reset();
  CHECK(count.totals(bulwark::time_point{24h}).calls == 0);

  o.window_type = bulwark::sliding_window::time_based;
  bulwark::detail::closed_window time{o};
  CHECK(time.time_based());
  CHECK(time.record(make_code(true, false), now, t));
  CHECK(reads == 1);
  CHECK(t.calls == 1);
  CHECK(time.totals(bulwark::time_point{24h + 2s}).calls == 0);  // two seconds later: expired
}
