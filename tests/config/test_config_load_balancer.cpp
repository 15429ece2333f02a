// The load_balancers section of a config document: endpoints, balancer options and the policy
// (for a balancer got as named_policy) read with every problem's path, and reloads that change
// endpoints and weights in place (state kept) or, for a changed balancer option of a live balancer,
// change nothing.

#include <bulwark/balancing/named_policy.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/balancing/weighted.hpp>
#include <bulwark/config.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "balancer_probe.hpp"
#include "catch.hpp"
#include "problems.hpp"

using namespace std::chrono_literals;
using bulwark_test::problems_of;
using bulwark_test::weight_of;
using reg_t = bulwark::registry<bulwark::manual_clock>;

namespace {

// The document the reload tests start from; `a` is endpoint a's weight, `panic` the default
// config's panic threshold.
std::string balancers(int a = 1, const char* panic = "0.0") {
  return R"({
  "load_balancers": {
    "configs": {"default": {"panic_threshold": )" +
         std::string{panic} + R"(,
                            "outlier": {"base_ejection_time": "10s", "max_ejection_percent": 50}}},
    "instances": {
      "backends": {"endpoints": [{"id": "a", "weight": )" +
         std::to_string(a) + R"(, "zone": "eu-1"}, {"id": "b"}]}
    }
  }
})";
}

}  // namespace

TEST_CASE("a load_balancers section defines balancers built by their first get", "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  const auto changes = config.apply(R"({
    "load_balancers": {
      "configs": {
        "default": {"endpoints": [{"id": "10.0.0.1:80"}, {"id": "10.0.0.2:80"}]},
        "zoned": {"panic_threshold": 0.25, "ewma_window": "5s",
                  "slow_start": {"window": "30s", "aggression": 2},
                  "outlier": {"consecutive_failures": 3, "interval": "1s"}}
      },
      "instances": {
        "backends": {},
        "search": {"base_config": "zoned",
                   "endpoints": [{"id": "s1", "weight": 3, "zone": "eu-1", "region": "eu",
                                  "sub_zone": "r1", "priority": 1,
                                  "metadata": {"version": "v2"}}],
                   "outlier": {"interval": "2s"}},
        "plain": {"base_config": "zoned", "outlier": null}
      }
    }
  })");
  CHECK(changes.created == std::vector<std::string>{"load_balancers/backends",
                                                    "load_balancers/plain",
                                                    "load_balancers/search"});
  // The policy comes with the first get, as a cache's types do.
  CHECK_FALSE(guards.contains(bulwark::registry_kind::load_balancer, "backends"));
  auto backends = guards.load_balancer<bulwark::round_robin>("backends");
  CHECK(backends->snapshot()->members().size() == 2);
  CHECK(backends->options().panic_threshold == 0.5);
  CHECK_FALSE(backends->options().outlier.has_value());
  auto search = guards.load_balancer<bulwark::weighted_round_robin>("search");
  const auto& s1 = search->snapshot()->members()[0]->description();
  CHECK(s1 == bulwark::endpoint{.id = "s1",
                                .weight = 3,
                                .zone = "eu-1",
                                .metadata = {{"version", "v2"}},
                                .region = "eu",
                                .sub_zone = "r1",
                                .priority = 1});
  const auto& o = search->options();
  CHECK(o.panic_threshold == 0.25);
  CHECK(o.ewma_window == 5s);
  CHECK(o.slow_start.window == 30s);
  CHECK(o.slow_start.aggression == 2.0);
  CHECK(o.slow_start.min_weight_percent == 10.0);  // the default, not given
  REQUIRE(o.outlier.has_value());
  CHECK(o.outlier->interval == 2s);             // the instance's own
  CHECK(o.outlier->consecutive_failures == 3);  // over the config's
  auto plain = guards.load_balancer<bulwark::round_robin>("plain");
  CHECK_FALSE(plain->options().outlier.has_value());  // null switched it off
  CHECK(plain->snapshot()->members().empty());        // "zoned" lists no endpoints
}

TEST_CASE("a load balancer got as named_policy takes its policy from the document", "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  const auto document = [](const char* policy) {
    return std::string{R"({"load_balancers": {"instances": {
      "backends": {"endpoints": [{"id": "a"}, {"id": "b"}], "policy": ")"} +
           policy + R"("}}}})";
  };
  config.apply(document("least_outstanding"));
  auto lb = guards.load_balancer<bulwark::named_policy>("backends");
  CHECK(lb->policy().name() == "least_outstanding");
  // Fixed once built, as the balancer options are: a changed policy is refused, by path.
  CHECK(problems_of(config, document("p2c_peak_ewma")) ==
        std::vector<std::string>{
            "/load_balancers/instances/backends: bulwark::registry: load_balancer 'backends': "
            "policy cannot change live (least_outstanding to p2c_peak_ewma); remove the "
            "instance to rebuild it"});
  // Dropped from the document and added back, it is rebuilt with the new one.
  config.apply(R"({"load_balancers": {}})");
  config.apply(document("p2c_peak_ewma"));
  CHECK(guards.load_balancer<bulwark::named_policy>("backends")->policy().name() ==
        "p2c_peak_ewma");
}

TEST_CASE("every problem in a load_balancers section is reported with its path", "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  const auto problems = problems_of(config, R"({
    "load_balancers": {"instances": {
      "x": {"endpoints": [{"id": "a", "weight": 0}, {"id": "b", "zone": 3}, {"weight": 2},
                          {"id": "b"}, "c"],
            "panic_threshold": 2, "policy": "fastest",
            "slow_start": {"window": "1s", "aggression": 0, "bogus": 1},
            "outlier": {"interval": "0", "max_ejection_percent": 200}},
      "y": {"endpoints": {"id": "a"}, "outlier": 5, "ewma_window": "0"}
    }}
  })");
  CHECK(problems ==
        std::vector<std::string>{
            "/load_balancers/instances/x/endpoints/0/weight: bulwark::load_balancer: "
            "endpoint.weight must be >= 1 (got 0)",
            "/load_balancers/instances/x/endpoints/1/zone: expected a string, got 3",
            "/load_balancers/instances/x/endpoints/2: bulwark::load_balancer: endpoint.id must be "
            "non-empty (got \"\")",
            "/load_balancers/instances/x/endpoints/3/id: bulwark::load_balancer: endpoint.id must "
            "be unique (got \"b\")",
            "/load_balancers/instances/x/endpoints/4: expected an object, got \"c\"",
            "/load_balancers/instances/x/outlier/interval: bulwark::outlier_detector: interval "
            "must be > 0 (got 0s)",
            "/load_balancers/instances/x/outlier/max_ejection_percent: "
            "bulwark::outlier_detector: max_ejection_percent must be <= 100 (got 200)",
            "/load_balancers/instances/x/slow_start/bogus: unknown key",
            "/load_balancers/instances/x/policy: bulwark::load_balancer: policy must be one of "
            "round_robin, random_choice, weighted_round_robin, stride_round_robin, "
            "weighted_random, least_outstanding, power_of_two, p2c_peak_ewma, sticky (got "
            "\"fastest\")",
            "/load_balancers/instances/x/panic_threshold: bulwark::load_balancer: "
            "panic_threshold must be in [0, 1] (got 2)",
            "/load_balancers/instances/x/slow_start: bulwark::load_balancer: "
            "slow_start.aggression must be > 0 (got 0)",
            "/load_balancers/instances/y/endpoints: expected a list of endpoints, got "
            "{\"id\":\"a\"}",
            "/load_balancers/instances/y/outlier: expected an object, got 5",
            "/load_balancers/instances/y/ewma_window: bulwark::load_balancer: ewma_window must "
            "be > 0 (got 0s)",
        });
  CHECK(guards.names(bulwark::registry_kind::load_balancer).empty());
}

TEST_CASE("reload changes a load balancer's weights in place and refuses changed options",
          "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<std::string> ejections;
  guards.set_event_sink([&ejections](const bulwark::registry_event& e) {
    if (e.type == bulwark::registry_event_type::ejection)
      ejections.push_back(std::string{e.name} + " " + std::string{e.from} + ">" +
                          std::string{e.to});
  });
  bulwark::registry_config config{guards};
  config.apply(balancers());
  auto lb = guards.load_balancer<bulwark::weighted_round_robin>("backends");
  lb->tick();
  bulwark_test::fail_through(*lb, "b", 5);  // b ejected: its ejection reaches the sink
  CHECK(ejections == std::vector<std::string>{"backends >b"});
  auto held = lb->pick();  // a, the one routable member: one request in flight
  REQUIRE(held.id() == "a");

  // A refused document changes nothing: a new weight beside a changed balancer option...
  CHECK(problems_of(config, balancers(4, "0.5")) ==
        std::vector<std::string>{
            "/load_balancers/instances/backends: bulwark::registry: load_balancer 'backends': "
            "panic_threshold cannot change live (0 to 0.5); remove the instance to rebuild it"});
  // ...or beside a refused value elsewhere.
  auto bad = nlohmann::json::parse(balancers(4));
  bad["load_balancers"]["instances"]["search"] =
      nlohmann::json::parse(R"({"endpoints": [{"id": ""}]})");
  CHECK(
      problems_of(config, bad.dump()) ==
      std::vector<std::string>{"/load_balancers/instances/search/endpoints/0/id: "
                               "bulwark::load_balancer: endpoint.id must be non-empty (got \"\")"});
  CHECK(weight_of(*lb->snapshot(), "a") == 1);
  CHECK_FALSE(guards.contains(bulwark::registry_kind::load_balancer, "search"));

  // The weight alone applies in place: a keeps its request, b its ejection.
  const auto changes = config.apply(balancers(4));
  CHECK(changes.reconfigured == std::vector<std::string>{"load_balancers/backends"});
  CHECK(guards.load_balancer<bulwark::weighted_round_robin>("backends") == lb);
  const auto set = lb->snapshot();
  CHECK(weight_of(*set, "a") == 4);
  CHECK(set->members()[0]->outstanding() == 1);
  CHECK(lb->ejection_multiplier("b") == 1);
  CHECK(set->routable().size() == 1);
  held.success(1ms);
  clock.advance(10s);
  lb->tick();  // b's ejection ends, and that reaches the sink too
  CHECK(ejections == std::vector<std::string>{"backends >b", "backends b>"});

  // Dropping the instance removes it; its holder keeps a working balancer.
  CHECK(config.apply(R"({"load_balancers": {}})").removed ==
        std::vector<std::string>{"load_balancers/backends"});
  CHECK_FALSE(guards.contains(bulwark::registry_kind::load_balancer, "backends"));
  CHECK(static_cast<bool>(lb->pick()));
}
