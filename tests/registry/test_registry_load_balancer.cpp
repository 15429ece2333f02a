// The load balancer kind: named instances from shared configs, the policy chosen by the
// getter (or, got as named_policy, by the options), endpoints and weights changed in place (state
// kept), balancer options refused live, every instance's ejections and health marks reaching the
// sink without forwarding, and its metrics.

#include <atomic>
#include <bulwark/balancing/least_request.hpp>
#include <bulwark/balancing/named_policy.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/balancing/weighted.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "balancer_probe.hpp"
#include "catch.hpp"
#include "seen_events.hpp"

using namespace std::chrono_literals;
using reg_t = bulwark::registry<bulwark::manual_clock>;
using bulwark_test::fail_through;
using bulwark_test::weight_of;
using lb_options = bulwark::load_balancer_registry_options;

using bulwark_test::record;
using bulwark_test::seen;

namespace {

// Ejects an endpoint after 5 failures in a row, for 10 s; two members may lose one (50%).
bulwark::outlier_options ejecting() {
  return {.base_ejection_time = 10s, .max_ejection_percent = 50};
}

}  // namespace

TEST_CASE("load balancers come from shared configs with per-name overrides", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.add_config("default", lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}});
  guards.define<lb_options>("search", "default", [](lb_options& o) {
    o.endpoints.push_back({.id = "c", .weight = 2});
    o.balancer.panic_threshold = 0.0;
  });
  auto backends = guards.load_balancer<bulwark::round_robin>("backends");
  auto search = guards.load_balancer<bulwark::weighted_round_robin>("search");
  CHECK(backends == guards.load_balancer<bulwark::round_robin>("backends"));
  CHECK(backends->snapshot()->members().size() == 2);
  CHECK(search->snapshot()->members().size() == 3);
  CHECK(search->options().panic_threshold == 0.0);
  CHECK(backends->options().panic_threshold == 0.5);
  CHECK(backends->pick().id() != backends->pick().id());  // round robin over a and b
  // The policy is part of the instance, as a cache's types are.
  CHECK_THROWS_WITH(guards.load_balancer<bulwark::p2c_peak_ewma>("backends"),
                    "bulwark::registry: 'backends' is held with other template arguments");
  CHECK(guards.contains(bulwark::registry_kind::load_balancer, "search"));
  // Validated as the balancer validates its own.
  CHECK_THROWS_WITH(guards.add_config("bad", lb_options{.endpoints = {{.id = "a", .weight = 0}}}),
                    "bulwark::load_balancer: endpoint.weight must be >= 1 (got 0)");
  CHECK_THROWS_WITH(
      guards.add_config(
          "bad", lb_options{.balancer = {.outlier = bulwark::outlier_options{.max_ejection_percent =
                                                                                 101}}}),
      "bulwark::outlier_detector: max_ejection_percent must be <= 100 (got 101)");
}

TEST_CASE("a load balancer's endpoints and weights change in place, keeping their state",
          "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<seen> events;
  record(guards, events);
  // No panic mode: with b ejected, a is the one routable member.
  const lb_options start{.endpoints = {{.id = "a"}, {.id = "b"}},
                         .balancer = {.panic_threshold = 0.0, .outlier = ejecting()}};
  guards.define("backends", start);
  auto lb = guards.load_balancer<bulwark::weighted_round_robin>("backends");
  lb->tick();
  fail_through(*lb, "b", 5);  // b ejected
  REQUIRE(lb->ejection_multiplier("b") == 1);
  auto held = lb->pick();  // a is the one routable: one request outstanding on it
  REQUIRE(held.id() == "a");

  auto heavier = start;
  heavier.endpoints = {{.id = "a", .weight = 3}, {.id = "b"}, {.id = "c", .weight = 2}};
  guards.reconfigure("backends", heavier);
  CHECK(lb == guards.load_balancer<bulwark::weighted_round_robin>("backends"));  // in place
  const auto set = lb->snapshot();
  CHECK(weight_of(*set, "a") == 3);
  CHECK(weight_of(*set, "c") == 2);
  CHECK(lb->ejection_multiplier("b") == 1);      // b is still ejected...
  CHECK(set->routable().size() == 2);            // ...and out of rotation
  CHECK(set->members()[0]->outstanding() == 1);  // a kept its request in flight
  held.success(1ms);
  CHECK(set->members()[0]->outstanding() == 0);
  REQUIRE(events.size() == 3);
  CHECK(events[2] == seen{bulwark::registry_event_type::reconfigured, "load_balancer", "backends",
                          "endpoints a=1, b=1", "endpoints a=3, b=1, c=2"});
  CHECK(guards.options_of<lb_options>("backends").endpoints.size() == 3);

  // Dropping a member takes it out; the others stay as they were.
  auto fewer = heavier;
  fewer.endpoints.erase(fewer.endpoints.begin());
  guards.reconfigure("backends", fewer);
  CHECK(lb->snapshot()->members().size() == 2);
  CHECK(lb->ejection_multiplier("b") == 1);
  CHECK(events.back().to == "endpoints b=1, c=2");
}

TEST_CASE("a load balancer's balancer options cannot change live", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<seen> events;
  record(guards, events);
  const lb_options start{.endpoints = {{.id = "a"}, {.id = "b"}}};
  guards.define("backends", start);
  auto lb = guards.load_balancer<bulwark::round_robin>("backends");

  auto panicky = start;
  panicky.endpoints.push_back({.id = "c"});  // a good change beside the refused one
  panicky.balancer.panic_threshold = 0.3;
  CHECK_THROWS_WITH(guards.reconfigure("backends", panicky),
                    "bulwark::registry: load_balancer 'backends': panic_threshold cannot change "
                    "live (0.5 to 0.3); remove the instance to rebuild it");
  auto detecting = start;
  detecting.balancer.outlier = ejecting();
  CHECK_THROWS_WITH(guards.check_reconfigure("backends", detecting),
                    "bulwark::registry: load_balancer 'backends': outlier cannot change live (off "
                    "to on); remove the instance to rebuild it");
  auto window = start;
  window.balancer.slow_start.window = 30s;
  CHECK_THROWS_WITH(guards.reconfigure("backends", window),
                    "bulwark::registry: load_balancer 'backends': slow_start.window cannot change "
                    "live (0s to 30s); remove the instance to rebuild it");
  // Nothing changed: not the balancer, not the definition, no event.
  CHECK(lb->snapshot()->members().size() == 2);
  CHECK(lb->options().panic_threshold == 0.5);
  CHECK(guards.options_of<lb_options>("backends").endpoints.size() == 2);
  CHECK(events.size() == 1);  // created

  // Between two outlier configurations, the field that differs is named.
  guards.define("ejecting", lb_options{.balancer = {.outlier = ejecting()}});
  (void)guards.load_balancer<bulwark::round_robin>("ejecting");
  auto longer = lb_options{.balancer = {.outlier = ejecting()}};
  longer.balancer.outlier->base_ejection_time = 20s;
  CHECK_THROWS_WITH(guards.reconfigure("ejecting", longer),
                    "bulwark::registry: load_balancer 'ejecting': outlier.base_ejection_time "
                    "cannot change live (10s to 20s); remove the instance to rebuild it");
  // A removed one is rebuilt from new options.
  CHECK(guards.remove(bulwark::registry_kind::load_balancer, "backends"));
  guards.reconfigure("backends", panicky);
  CHECK(guards.load_balancer<bulwark::round_robin>("backends")->options().panic_threshold == 0.3);
  CHECK(lb->options().panic_threshold == 0.5);  // the old holder keeps its own
}

TEST_CASE("a load balancer got as named_policy takes its policy from the options", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.define("fastest",
                lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}, .policy = "p2c_peak_ewma"});
  guards.define("plain", lb_options{.endpoints = {{.id = "a"}}});
  auto fastest = guards.load_balancer<bulwark::named_policy>("fastest");
  CHECK(fastest->policy().name() == "p2c_peak_ewma");
  CHECK(fastest->policy().observes_latency());
  CHECK(guards.load_balancer<bulwark::named_policy>("plain")->policy().name() == "round_robin");

  // An unknown name is refused with the names it could be, as every option is.
  CHECK_THROWS_WITH(guards.define("typo", lb_options{.policy = "p2c"}),
                    "bulwark::load_balancer: policy must be one of round_robin, random_choice, "
                    "weighted_round_robin, stride_round_robin, weighted_random, least_outstanding, "
                    "power_of_two, p2c_peak_ewma, sticky (got \"p2c\")");

  // The policy is fixed when the balancer is built: a reload that changes it is refused (and
  // so is dropping it, which means round_robin), one that keeps it goes through.
  auto other = guards.options_of<lb_options>("fastest");
  other.policy = "least_outstanding";
  CHECK_THROWS_WITH(guards.reconfigure("fastest", other),
                    "bulwark::registry: load_balancer 'fastest': policy cannot change live "
                    "(p2c_peak_ewma to least_outstanding); remove the instance to rebuild it");
  other.policy.clear();
  CHECK_THROWS_WITH(guards.check_reconfigure("fastest", other),
                    "bulwark::registry: load_balancer 'fastest': policy cannot change live "
                    "(p2c_peak_ewma to round_robin); remove the instance to rebuild it");
  other.policy = "p2c_peak_ewma";
  other.endpoints.push_back({.id = "c"});
  guards.reconfigure("fastest", other);
  CHECK(fastest->snapshot()->members().size() == 3);

  // Got with a policy type, a name in the options must be that type's.
  guards.define("typed", lb_options{.endpoints = {{.id = "a"}}, .policy = "round_robin"});
  auto typed = guards.load_balancer<bulwark::round_robin>("typed");
  auto renamed = guards.options_of<lb_options>("typed");
  renamed.policy = "sticky";
  CHECK_THROWS_WITH(guards.reconfigure("typed", renamed),
                    "bulwark::registry: load_balancer 'typed': its options name policy sticky, "
                    "but it is got as load_balancer<round_robin>; get it as "
                    "load_balancer<bulwark::named_policy> to let the options choose");
  guards.define("mismatch", lb_options{.endpoints = {{.id = "a"}}, .policy = "sticky"});
  CHECK_THROWS_WITH(guards.load_balancer<bulwark::weighted_random>("mismatch"),
                    "bulwark::registry: load_balancer 'mismatch': its options name policy "
                    "sticky, but it is got as load_balancer<weighted_random>; get it as "
                    "load_balancer<bulwark::named_policy> to let the options choose");
  CHECK_FALSE(guards.contains(bulwark::registry_kind::load_balancer, "mismatch"));
}

TEST_CASE("every load balancer's ejections reach the sink", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<seen> events;
  record(guards, events);
  std::vector<std::string> theirs;  // the user's own listener, called too
  auto options =
      lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}, .balancer = {.outlier = ejecting()}};
  options.balancer.outlier->on_change = [&theirs](const bulwark::outlier_event& e) {
    theirs.push_back(std::string{e.endpoint} + (e.ejected ? " out" : " in"));
  };
  guards.add_config("default", options);
  auto backends = guards.load_balancer<bulwark::round_robin>("backends");
  auto search = guards.load_balancer<bulwark::p2c_peak_ewma>("search");
  backends->tick();
  search->tick();
  fail_through(*backends, "b", 5);
  fail_through(*search, "a", 5);
  REQUIRE(events.size() == 4);
  CHECK(events[2] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "backends", "", "b"});
  CHECK(events[3] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "search", "", "a"});
  clock.advance(10s);  // the ejection time (10 s x 1) is up at the next interval
  backends->tick();
  search->tick();
  REQUIRE(events.size() == 6);
  CHECK(events[4] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "backends", "b", ""});
  CHECK(events[5] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "search", "a", ""});
  CHECK(theirs == std::vector<std::string>{"b out", "a out", "b in", "a in"});
  // A live reconfigure keeps the registry's listener: the next ejection still arrives.
  auto more = options;
  more.endpoints.push_back({.id = "c"});
  guards.reconfigure("backends", more);
  fail_through(*backends, "c", 5);
  CHECK(events.back() ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "backends", "", "c"});
}

TEST_CASE("every load balancer's health marks reach the sink", "[registry]") {
  auto options = lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}};
  std::vector<seen> events;
  std::vector<std::string> theirs;  // the user's own listener, called first
  options.balancer.on_health_change = [&](const bulwark::health_event& e) {
    theirs.push_back(std::string{e.endpoint} + (e.healthy ? " up" : " down"));
    CHECK(events.size() == theirs.size());  // the sink has not seen this one yet
  };
  bulwark::registry<> guards;
  record(guards, events);
  guards.define("backends", options);
  auto lb = guards.load_balancer<bulwark::round_robin>("backends");
  lb->set_healthy("b", false);
  lb->set_healthy("b", false);  // no change: no event
  lb->set_healthy("b", true);
  REQUIRE(events.size() == 3);
  CHECK(events[1] ==
        seen{bulwark::registry_event_type::health, "load_balancer", "backends", "", "b"});
  CHECK(events[2] ==
        seen{bulwark::registry_event_type::health, "load_balancer", "backends", "b", ""});
  CHECK(theirs == std::vector<std::string>{"b down", "b up"});
  CHECK(to_string(bulwark::registry_event_type::health) == "health");
}

TEST_CASE("a load balancer's metrics are exported under bulwark_load_balancer", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.add_config("default", lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}});
  auto lb = guards.load_balancer<bulwark::round_robin>("backends");
  lb->pick().success(1ms);
  lb->pick().failure(1ms);
  guards.define("empty", lb_options{});
  CHECK_FALSE(static_cast<bool>(guards.load_balancer<bulwark::round_robin>("empty")->pick()));
  const std::string text = bulwark::registry_prometheus_text(guards);
  for (const char* line : {
           "bulwark_load_balancer_completions{name=\"backends\"} 2\n",
           "bulwark_load_balancer_members{name=\"backends\"} 2\n",
           "bulwark_load_balancer_healthy{name=\"backends\"} 2\n",
           "bulwark_load_balancer_empty_picks_total{name=\"empty\"} 1\n",
           "# TYPE bulwark_load_balancer_ejections_total counter\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

// Bounded: a few threads, a few hundred picks each, while weights change (run under TSan).
TEST_CASE("picks go on while a registry's load balancer is reconfigured", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::size_t reconfigured = 0;
  guards.set_event_sink([&reconfigured](const bulwark::registry_event& e) {
    if (e.type == bulwark::registry_event_type::reconfigured) ++reconfigured;  // serialized
  });
  guards.define("backends", lb_options{.endpoints = {{.id = "a"}, {.id = "b"}}});
  auto lb = guards.load_balancer<bulwark::weighted_round_robin>("backends");
  std::atomic<int> empty{0};  // Catch2's assertions are not for other threads
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&guards, &empty] {
      auto mine = guards.load_balancer<bulwark::weighted_round_robin>("backends");
      for (int i = 0; i < 300; ++i) {
        auto h = mine->pick();
        if (!h) {
          ++empty;
          continue;
        }
        h.success(1ms);
      }
    });
  }
  threads.emplace_back([&guards] {
    for (std::uint32_t w = 1; w <= 50; ++w)
      guards.reconfigure("backends", lb_options{.endpoints = {{.id = "a", .weight = w},
                                                              {.id = "b", .weight = 51 - w}}});
  });
  for (auto& t : threads)
    t.join();
  CHECK(empty == 0);
  CHECK(weight_of(*lb->snapshot(), "a") == 50);
  CHECK(weight_of(*lb->snapshot(), "b") == 1);
  CHECK(lb->metrics().completions == 900);  // both members stayed: no state was lost
  CHECK(reconfigured == 50);
}
