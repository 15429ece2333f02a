// The lab's retry-storm scenario keeps its claims: naive retries multiply the backend's load
// through an outage; jittered retries under a budget add only a small share, and still
// recover more requests than no retries at all.
#include <cstdint>

#include "catch.hpp"
#include "lab/scenario.hpp"
#include "lab/scenarios.hpp"

TEST_CASE("retry-storm: a budget keeps retries a small share of the load", "[retry]") {
  const std::uint64_t seed = GENERATE(42u, 7u);
  const lab::scenario_result result = lab::run_scenario(lab::retry_storm(), seed);
  REQUIRE(result.arms.size() == 4);  // the fourth, "active budget", is checked in test_lab
  const auto& unprotected = result.arms[0];
  const auto& naive = result.arms[1];
  const auto& budgeted = result.arms[2];
  REQUIRE(unprotected.name == "unprotected");
  REQUIRE(naive.name == "naive-retry");
  REQUIRE(budgeted.name == "jitter+budget");

  const auto calls = [](const lab::arm_result& a) { return static_cast<double>(a.backend.calls); };
  // Without retries, one backend call per request.
  CHECK(unprotected.backend.calls == unprotected.stats.requests);
  // Naive: a quarter of the run is an outage in which each request calls up to 4 times.
  CHECK(calls(naive) > 1.5 * calls(unprotected));
  // Budget: 20% of requests (plus 10/s) at most, in practice far less than naive.
  CHECK(calls(budgeted) < 1.2 * calls(unprotected));
  CHECK(calls(budgeted) - calls(unprotected) < 0.2 * (calls(naive) - calls(unprotected)));
  // Retrying the background errors still pays off.
  CHECK(budgeted.stats.successes > unprotected.stats.successes);
  CHECK(budgeted.stats.p99 < naive.stats.p99);
}
