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

// A breaker below its minimum number of calls has no ratio: its failure_ratio and
// slow_call_ratio samples are left out (not -1), the other breakers' stay, and a family no
// breaker has a sample of has no HELP or TYPE line.
TEST_CASE("a breaker's ratios are left out of the scrape below its minimum number of calls",
          "[registry]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  guards.add_config("default",
                    bulwark::circuit_breaker_options{.window_size = 4, .minimum_calls = 2});
  auto payments = guards.circuit_breaker("payments");
  auto search = guards.circuit_breaker("search");
  payments->try_acquire().failure();

  std::string text = bulwark::registry_prometheus_text(guards);
  INFO(text);
  CHECK(text.find("bulwark_circuit_breaker_state{name=\"payments\"} 0\n") != std::string::npos);
  CHECK(text.find("bulwark_circuit_breaker_buffered_calls{name=\"payments\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("_ratio") == std::string::npos);
  CHECK(text.find("-1") == std::string::npos);

  payments->try_acquire().success();  // payments reaches its minimum: 1 failure of 2
  text = bulwark::registry_prometheus_text(guards);
  INFO(text);
  for (const char* family :
       {"bulwark_circuit_breaker_failure_ratio", "bulwark_circuit_breaker_slow_call_ratio"}) {
    const std::string help = std::string{"# HELP "} + family + " ";
    const std::string type = std::string{"# TYPE "} + family + " gauge\n";
    CHECK(text.find(help) != std::string::npos);
    CHECK(text.find(help) == text.rfind(help));
    CHECK(text.find(type) != std::string::npos);
    CHECK(text.find(type) == text.rfind(type));
  }
  CHECK(text.find("bulwark_circuit_breaker_failure_ratio{name=\"payments\"} 0.5\n") !=
        std::string::npos);
  CHECK(text.find("bulwark_circuit_breaker_slow_call_ratio{name=\"payments\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("_ratio{name=\"search\"}") == std::string::npos);
  CHECK(text.find("bulwark_circuit_breaker_state{name=\"search\"} 0\n") != std::string::npos);
}
