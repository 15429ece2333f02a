// Active health checks: schedules and thresholds, and wiring into a balancer.

#include <bulwark/balancing/health_checker.hpp>
#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <chrono>
#include <map>

#include "catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("thresholds turn probe runs into health transitions", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::health_checker checker(
      {"a", "b"}, {.interval = 5s, .healthy_threshold = 2, .unhealthy_threshold = 3}, clock);
  CHECK(checker.healthy("a"));
  CHECK_FALSE(checker.report("a", false));
  CHECK_FALSE(checker.report("a", false));
  CHECK(checker.report("a", false) == std::optional<bool>{false});  // third failure
  CHECK_FALSE(checker.report("a", false));                          // already unhealthy
  CHECK_FALSE(checker.report("a", true));
  CHECK_FALSE(checker.report("a", false));  // a failure resets the passes
  CHECK_FALSE(checker.report("a", true));
  CHECK(checker.report("a", true) == std::optional<bool>{true});
  CHECK_FALSE(checker.report("zzz", true));
}

TEST_CASE("probes are due once per interval", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::health_checker checker({"a", "b"}, {.interval = 5s}, clock);
  CHECK(checker.due().size() == 2);
  CHECK(checker.due().empty());
  clock.advance(4999ms);
  CHECK(checker.due().empty());
  clock.advance(1ms);
  CHECK(checker.due().size() == 2);
  checker.set_targets({"b", "c"});  // c is new: due at once; b keeps its schedule
  CHECK(checker.due() == std::vector<std::string>{"c"});
}

TEST_CASE("a checker driven by the caller takes failing endpoints out of rotation", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::load_balancer<bulwark::round_robin, bulwark::manual_clock> lb(
      {{.id = "a"}, {.id = "b"}}, {.panic_threshold = 0.0}, {}, clock);
  bulwark::health_checker checker({"a", "b"}, {.interval = 1s}, clock);
  std::map<std::string, bool> up{{"a", true}, {"b", false}};
  const auto round = [&] {
    checker.run_due([&](const std::string& id) { return up[id]; },
                    [&](const std::string& id, bool healthy) { lb.set_healthy(id, healthy); });
    clock.advance(1s);
  };
  round();
  round();
  CHECK(lb.snapshot()->routable().size() == 2);
  round();  // b's third failure
  CHECK(lb.snapshot()->routable().size() == 1);
  CHECK(lb.pick().id() == "a");
  up["b"] = true;
  round();
  CHECK(lb.snapshot()->routable().size() == 1);
  round();
  CHECK(lb.snapshot()->routable().size() == 2);
}

TEST_CASE("health check options are validated", "[balancing]") {
  CHECK_THROWS_WITH(bulwark::health_checker({"a"}, {.interval = 0s}),
                    "bulwark::health_checker: interval must be > 0 (got 0s)");
  CHECK_THROWS_WITH(bulwark::health_checker({"a"}, {.healthy_threshold = 0}),
                    "bulwark::health_checker: healthy_threshold must be >= 1 (got 0)");
}
