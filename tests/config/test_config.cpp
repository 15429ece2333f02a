#include <bulwark/config.hpp>
#include <string>
#include <vector>

#include "catch.hpp"
#include "problems.hpp"

using namespace std::chrono_literals;
using bulwark_test::problems_of;

TEST_CASE("a document builds named instances from shared configs and their own fields",
          "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  const auto changes = config.apply(R"({
    "circuit_breakers": {
      "configs": {
        "default": {"failure_rate_threshold": 0.25, "wait_in_open": "30s"},
        "strict": {"failure_rate_threshold": 0.1, "window_type": "time_based", "window_size": 10}
      },
      "instances": {
        "payments": {"base_config": "strict", "minimum_calls": 5},
        "search": {"wait_in_open": "250ms"}
      }
    },
    "gcra_limiters": {"instances": {"api": {"rate": "100/s", "burst": 20}}},
    "token_buckets": {"instances": {"uploads": {"rate": "5/250ms", "capacity": 3}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 8, "max_wait": "50ms", "queue": "codel"}}},
    "retries": {"instances": {"payments": {"max_attempts": 4, "base": "20ms", "jitter": "none"}}},
    "caches": {"instances": {"users": {"maximum_size": 1000, "expire_after_write": "1m"}}}
  })");
  CHECK(changes.created.size() == 7);
  CHECK(changes.reconfigured.empty());

  const auto payments = guards.circuit_breaker("payments")->options();
  CHECK(payments.failure_rate_threshold == 0.1);
  CHECK(payments.window_type == bulwark::sliding_window::time_based);
  CHECK(payments.minimum_calls == 5);
  const auto search = guards.circuit_breaker("search")->options();
  CHECK(search.failure_rate_threshold == 0.25);
  CHECK(search.wait_in_open == 250ms);
  CHECK(guards.gcra("api")->options().rate == bulwark::per_second(100));
  CHECK(guards.gcra("api")->options().burst == 20);
  CHECK(guards.token_bucket("uploads")->options().rate == bulwark::per(5, 250ms));
  CHECK(guards.bulkhead("db")->options().max_wait == 50ms);
  CHECK(guards.bulkhead("db")->options().queue == bulwark::queue_discipline::codel);
  CHECK(guards.retry("payments")->policy().options().max_attempts == 4);
  CHECK(guards.retry("payments")->policy().options().backoff.base == 20ms);
  // A cache is defined by the document and built by its first get, which gives its types.
  CHECK_FALSE(guards.contains(bulwark::registry_kind::cache, "users"));
  CHECK(guards.options_of<bulwark::cache_options>("users").maximum_size == 1000);
}

TEST_CASE("every unknown key, wrong type and refused value is reported with its path", "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  const auto problems = problems_of(config, R"({
    "circuit_breakers": {
      "instances": {
        "payments": {"failure_rate_threshold": 1.5, "minimum_calls": 0, "failure_rate": 0.5},
        "search": {"wait_in_open": 30, "base_config": "missing"}
      }
    },
    "gcra_limiters": {"instances": {"api": {"rate": "fast", "burst": -1}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 0, "queue": "lifo"}}},
    "retrys": {}
  })");
  CHECK(
      problems ==
      std::vector<std::string>{
          "/retrys: unknown key",
          "/circuit_breakers/instances/payments/failure_rate: unknown key",
          "/circuit_breakers/instances/payments/failure_rate_threshold: bulwark::circuit_breaker: "
          "failure_rate_threshold must be in (0, 1] (got 1.5)",
          "/circuit_breakers/instances/payments/minimum_calls: bulwark::circuit_breaker: "
          "minimum_calls must be >= 1 (got 0)",
          "/circuit_breakers/instances/search/base_config: no config named \"missing\" in "
          "/circuit_breakers/configs",
          "/circuit_breakers/instances/search/wait_in_open: expected a duration such as \"250ms\" "
          "or "
          "\"2s\" (units ns, us, ms, s, m, h), got 30",
          "/gcra_limiters/instances/api/burst: expected a whole number in [0, 4294967295], got -1",
          "/gcra_limiters/instances/api/rate: expected a rate such as \"100/s\" or \"5/250ms\", "
          "got "
          "\"fast\"",
          "/bulkheads/instances/db/queue: expected one of \"fifo\", \"codel\", \"adaptive_lifo\", "
          "\"codel_adaptive_lifo\", got \"lifo\"",
          "/bulkheads/instances/db/max_concurrent: bulwark::bulkhead: max_concurrent must be in "
          "[1, 2147483647] (got 0)",
      });
  // Refused: nothing was built.
  CHECK(guards.names(bulwark::registry_kind::circuit_breaker).empty());
  CHECK(guards.names(bulwark::registry_kind::gcra).empty());

  CHECK(problems_of(config, "{\"bulkheads\": [1]}") ==
        std::vector<std::string>{"/bulkheads: expected an object, got [1]"});
  const auto not_json = problems_of(config, "{\"bulkheads\": ");
  REQUIRE(not_json.size() == 1);
  CHECK(not_json[0].starts_with(": not JSON: "));
}
