#include <bulwark/registry.hpp>
#include <string>

#include "catch.hpp"

TEST_CASE("one call renders every instance of the registry, labelled by name", "[registry]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  guards.add_config("default", bulwark::gcra_options{.rate = bulwark::per_second(10), .burst = 1});
  guards.add_config("default", bulwark::cache_options{.maximum_size = 10});
  auto api = guards.gcra("api");
  CHECK(api->try_acquire());
  CHECK_FALSE(api->try_acquire());
  CHECK(guards.token_bucket("api")->try_acquire());
  guards.circuit_breaker("payments")->transition_to(bulwark::circuit_state::forced_open);
  (void)guards.bulkhead("db");
  (void)guards.retry("payments");
  auto c = guards.cache<int, int>("users");
  c->put(1, 1);
  CHECK(c->get(1) == 1);
  CHECK_FALSE(c->get(2));

  const std::string text = bulwark::registry_prometheus_text(guards);
  for (const char* line : {
           "bulwark_rate_limit_admitted_total{name=\"api\",algorithm=\"gcra\"} 1\n",
           "bulwark_rate_limit_rejected_total{name=\"api\",algorithm=\"gcra\"} 1\n",
           "bulwark_rate_limit_admitted_total{name=\"api\",algorithm=\"token_bucket\"} 1\n",
           "bulwark_circuit_breaker_state{name=\"payments\"} 5\n",
           "bulwark_bulkhead_max_concurrent{name=\"db\"} 25\n",
           "bulwark_retry_retries_total{name=\"payments\"} 0\n",
           "bulwark_cache_hits_total{name=\"users\"} 1\n",
           "bulwark_cache_misses_total{name=\"users\"} 1\n",
           "# TYPE bulwark_rate_limit_admitted_total counter\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  // One family header per metric however many instances share it.
  const std::string help = "# HELP bulwark_rate_limit_admitted_total";
  CHECK(text.find(help) == text.rfind(help));
}
