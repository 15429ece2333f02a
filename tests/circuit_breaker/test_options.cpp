#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

std::string error_of(const bulwark::circuit_breaker_options& options) {
  try {
    bulwark::circuit_breaker<bulwark::manual_clock> built(options, bulwark::manual_clock{});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace

TEST_CASE("defaults are resilience4j's", "[circuit_breaker]") {
  const bulwark::circuit_breaker_options o;
  CHECK(o.failure_rate_threshold == 0.5);
  CHECK(o.slow_call_rate_threshold == 1.0);
  CHECK(o.slow_call_duration == 60s);
  CHECK(o.window_type == bulwark::sliding_window::count_based);
  CHECK(o.window_size == 100);
  CHECK(o.minimum_calls == 100);
  CHECK(o.wait_in_open == 60s);
  CHECK(o.permitted_calls_in_half_open == 10);
  CHECK(o.max_wait_in_half_open == 0s);
  CHECK_FALSE(o.automatic_transition_from_open);
  CHECK(o.trip_on == bulwark::trip_condition::rate);
}

TEST_CASE("bad options throw invalid_argument naming the field and value", "[circuit_breaker]") {
  CHECK(error_of({.failure_rate_threshold = 1.5}) ==
        "bulwark::circuit_breaker: failure_rate_threshold must be in (0, 1] (got 1.5)");
  CHECK(error_of({.failure_rate_threshold = 0.0}) ==
        "bulwark::circuit_breaker: failure_rate_threshold must be in (0, 1] (got 0)");
  CHECK(error_of({.failure_rate_threshold = std::numeric_limits<double>::quiet_NaN()})
            .starts_with("bulwark::circuit_breaker: failure_rate_threshold must be in (0, 1]"));
  CHECK(error_of({.slow_call_rate_threshold = -0.1}) ==
        "bulwark::circuit_breaker: slow_call_rate_threshold must be in (0, 1] (got -0.1)");
  CHECK(error_of({.slow_call_duration = 0ms}) ==
        "bulwark::circuit_breaker: slow_call_duration must be > 0 (got 0s)");
  CHECK(error_of({.window_size = 0}) ==
        "bulwark::circuit_breaker: window_size must be >= 1 (got 0)");
  CHECK(error_of({.window_size = 1'000'001}) ==
        "bulwark::circuit_breaker: window_size must be <= 1000000 (got 1000001)");
  CHECK(error_of({.window_type = bulwark::sliding_window::time_based, .window_size = 86'401}) ==
        "bulwark::circuit_breaker: window_size must be <= 86400 (got 86401)");
  CHECK(error_of({.minimum_calls = 0}) ==
        "bulwark::circuit_breaker: minimum_calls must be >= 1 (got 0)");
  CHECK(error_of({.consecutive_failures = 0}) ==
        "bulwark::circuit_breaker: consecutive_failures must be >= 1 (got 0)");
  CHECK(error_of({.wait_in_open = -5ms}) ==
        "bulwark::circuit_breaker: wait_in_open must be > 0 (got -5ms)");
  CHECK(error_of({.wait_in_open = 8761h}) ==
        "bulwark::circuit_breaker: wait_in_open must be <= 8760h (got 8761h)");
  CHECK(error_of({.wait_in_open_multiplier = 0.5}) ==
        "bulwark::circuit_breaker: wait_in_open_multiplier must be >= 1 and finite (got 0.5)");
  CHECK(error_of({.wait_in_open = 10s, .max_wait_in_open = 5s}) ==
        "bulwark::circuit_breaker: max_wait_in_open must be >= 10s (got 5s)");
  CHECK(error_of({.permitted_calls_in_half_open = 0}) ==
        "bulwark::circuit_breaker: permitted_calls_in_half_open must be >= 1 (got 0)");
  CHECK(error_of({.max_wait_in_half_open = -1s}) ==
        "bulwark::circuit_breaker: max_wait_in_half_open must be >= 0 (got -1s)");
  CHECK(error_of({.probe_lease = 0s}) ==
        "bulwark::circuit_breaker: probe_lease must be > 0 (got 0s)");
  CHECK(error_of({}) == "<no exception>");
  CHECK(error_of({.slow_call_duration = bulwark::slow_calls_off}) == "<no exception>");
}

TEST_CASE("exception classifiers ignore or record the listed types", "[circuit_breaker]") {
  struct busy : std::runtime_error {
    busy() : std::runtime_error{"busy"} {}
  };
  const auto ignore = bulwark::ignore_exceptions<std::logic_error, busy>();
  const auto record = bulwark::record_exceptions<std::logic_error>();
  const auto logic = std::make_exception_ptr(std::invalid_argument{"derived from logic_error"});
  const auto runtime = std::make_exception_ptr(std::runtime_error{"x"});
  const auto derived = std::make_exception_ptr(busy{});
  const auto integer = std::make_exception_ptr(42);
  CHECK(ignore(logic) == bulwark::call_outcome::ignored);
  CHECK(ignore(derived) == bulwark::call_outcome::ignored);
  CHECK(ignore(runtime) == bulwark::call_outcome::failure);
  CHECK(ignore(integer) == bulwark::call_outcome::failure);
  CHECK(record(logic) == bulwark::call_outcome::failure);
  CHECK(record(runtime) == bulwark::call_outcome::success);
  CHECK(record(integer) == bulwark::call_outcome::success);
}

TEST_CASE("state and reason names", "[circuit_breaker]") {
  CHECK(bulwark::to_string(bulwark::circuit_state::half_open) == "half_open");
  CHECK(bulwark::to_string(bulwark::circuit_state::forced_open) == "forced_open");
  CHECK(bulwark::to_string(bulwark::transition_reason::slow_call_rate) == "slow_call_rate");
}
