// Outlier ejections and adaptive-limiter limit changes reach a registry's sink through the
// components' own listeners (outlier_options::on_change, adaptive_limiter::on_limit_change)
// forwarded with registry::emit, as docs/operate.md shows.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/bulkhead/adaptive_limiter.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"
#include "seen_events.hpp"

using namespace std::chrono_literals;

using bulwark_test::seen;

TEST_CASE("an outlier ejection and its end reach the registry's sink", "[registry]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  std::vector<seen> events;
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    events.push_back(
        {e.type, std::string{e.kind}, std::string{e.name}, std::string{e.from}, std::string{e.to}});
  });
  bulwark::outlier_options outlier{.base_ejection_time = 10s, .max_ejection_percent = 50};
  outlier.on_change = [&](const bulwark::outlier_event& e) {
    guards.emit({bulwark::registry_event_type::ejection, "load_balancer", "backends",
                 e.ejected ? "" : e.endpoint, e.ejected ? e.endpoint : "", e.time});
  };
  bulwark::load_balancer<bulwark::round_robin, bulwark::manual_clock> lb(
      {{.id = "a"}, {.id = "b"}}, {.outlier = outlier}, {}, clock);
  lb.tick();
  for (int failures = 0; failures < 5;) {  // five in a row through "b": ejected inline
    auto h = lb.pick();
    if (h.id() != "b") continue;
    h.complete({false, 1ms});
    ++failures;
  }
  REQUIRE(events.size() == 1);
  CHECK(events[0] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "backends", "", "b"});
  clock.advance(10s);  // the ejection time (10 s x 1) is up at the next interval
  lb.tick();
  REQUIRE(events.size() == 2);
  CHECK(events[1] ==
        seen{bulwark::registry_event_type::ejection, "load_balancer", "backends", "b", ""});
}

TEST_CASE("a user-built adaptive limiter's limit changes reach the sink through emit",
          "[registry]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  std::vector<seen> events;
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    events.push_back(
        {e.type, std::string{e.kind}, std::string{e.name}, std::string{e.from}, std::string{e.to}});
  });
  bulwark::adaptive_limiter<bulwark::aimd_limit, bulwark::manual_clock> limiter(
      bulwark::aimd_options{.initial_limit = 20, .min_limit = 10, .max_limit = 40}, clock);
  limiter.on_limit_change([&](const bulwark::limit_change& c) {
    guards.emit({bulwark::registry_event_type::limit_changed, "adaptive_limiter", "db",
                 std::to_string(c.from), std::to_string(c.to), clock.now()});
  });
  auto permit = limiter.try_acquire();
  permit.dropped();  // AIMD: 20 x 0.9 = 18
  auto again = limiter.try_acquire();
  again.ignore();  // no sample: no change, no event
  auto floor = limiter.try_acquire();
  floor.success();  // 1 in flight of 18: AIMD leaves the limit alone, no event
  REQUIRE(events.size() == 1);
  CHECK(events[0] ==
        seen{bulwark::registry_event_type::limit_changed, "adaptive_limiter", "db", "20", "18"});
  CHECK(limiter.limit() == 18);
  limiter.on_limit_change({});  // removed: later changes are not reported
  auto last = limiter.try_acquire();
  last.dropped();
  CHECK(limiter.limit() == 16);
  CHECK(events.size() == 1);
}
