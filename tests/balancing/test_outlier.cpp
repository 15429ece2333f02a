// Outlier ejection with Envoy's semantics, timings derived by hand from the definitions:
// ejection time = base x multiplier (capped), unejection checked at each interval, the
// multiplier decays one step per interval in rotation, and max_ejection_percent is honoured.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

using balancer = bulwark::load_balancer<bulwark::round_robin, bulwark::manual_clock>;

std::vector<bulwark::endpoint> endpoints(int n) {
  std::vector<bulwark::endpoint> out;
  for (int i = 0; i < n; ++i)
    out.push_back({.id = "e" + std::to_string(i)});
  return out;
}

// Completes `n` requests through endpoint `id` (picking until it comes up).
void report(balancer& lb, const std::string& id, int n, bool success) {
  for (int done = 0; done < n;) {
    auto h = lb.pick();
    if (h.id() != id) continue;
    h.complete({success, 1ms});
    ++done;
  }
}

bool ejected(const balancer& lb, const std::string& id) {
  const auto set = lb.snapshot();
  for (const auto* s : set->members())
    if (s->description().id == id) return s->ejected.load();
  return false;
}

}  // namespace

TEST_CASE("consecutive failures eject, and the ejection time grows and decays", "[balancing]") {
  bulwark::manual_clock clock;
  balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{}}, {}, clock);
  lb.tick();  // t = 0: the first interval starts
  clock.advance(1s);
  report(lb, "e3", 4, false);
  CHECK_FALSE(ejected(lb, "e3"));
  report(lb, "e3", 1, false);  // the fifth in a row: ejected inline at t = 1s
  CHECK(ejected(lb, "e3"));
  CHECK(lb.ejection_multiplier("e3") == 1);
  for (int t = 10; t <= 30; t += 10) {  // at 30s only 29s have passed of the 30s ejection
    clock.advance(10s - (t == 10 ? 1s : 0s));
    lb.tick();
    CHECK(ejected(lb, "e3"));
  }
  clock.advance(10s);  // t = 40s: 39s >= 30s
  lb.tick();
  CHECK_FALSE(ejected(lb, "e3"));
  CHECK(lb.ejection_multiplier("e3") == 1);  // unejected this interval: no decay yet
  clock.advance(1s);                         // t = 41s
  report(lb, "e3", 5, false);
  CHECK(lb.ejection_multiplier("e3") == 2);  // 60s this time
  for (int t = 50; t <= 100; t += 10) {      // at 100s, 59s have passed
    clock.advance(10s - (t == 50 ? 1s : 0s));
    lb.tick();
    CHECK(ejected(lb, "e3"));
  }
  clock.advance(10s);  // 110s
  lb.tick();
  CHECK_FALSE(ejected(lb, "e3"));
  clock.advance(10s);
  lb.tick();
  CHECK(lb.ejection_multiplier("e3") == 1);  // one interval in rotation: one step back
  clock.advance(10s);
  lb.tick();
  CHECK(lb.ejection_multiplier("e3") == 0);
  SECTION("a success resets the run") {
    report(lb, "e5", 4, false);
    report(lb, "e5", 1, true);
    report(lb, "e5", 4, false);
    CHECK_FALSE(ejected(lb, "e5"));
  }
}

TEST_CASE("the ejection multiplier stops growing at max_ejection_time", "[balancing]") {
  bulwark::manual_clock clock;
  balancer lb(endpoints(2),
              {.panic_threshold = 0.0,
               .outlier = bulwark::outlier_options{.interval = 1s,
                                                   .base_ejection_time = 10s,
                                                   .max_ejection_time = 25s,
                                                   .max_ejection_percent = 50}},
              {}, clock);
  lb.tick();
  // Multipliers: 1 (10s), 2 (20s); 3 would mean 30s > 25s, so it stays 2 and every later
  // ejection lasts 20s.
  for (std::uint32_t expected : {1u, 2u, 2u, 2u}) {
    report(lb, "e0", 5, false);
    CHECK(lb.ejection_multiplier("e0") == expected);
    const auto ejected_at = clock.now();
    while (ejected(lb, "e0")) {
      clock.advance(1s);
      lb.tick();
    }
    CHECK(clock.now() - ejected_at == 10s * expected);
  }
}

TEST_CASE("max_ejection_percent is honoured exactly", "[balancing]") {
  bulwark::manual_clock clock;
  const auto count_ejected = [](const balancer& lb) {
    int n = 0;
    for (const auto* s : lb.snapshot()->members())
      n += s->ejected.load() ? 1 : 0;
    return n;
  };
  SECTION("25% of 10: two, where Envoy's before-the-ejection check allows three") {
    balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{.max_ejection_percent = 25}},
                {}, clock);
    for (int i = 0; i < 4; ++i)
      report(lb, "e" + std::to_string(i), 5, false);
    CHECK(count_ejected(lb) == 2);
    CHECK(lb.metrics().ejections == 2);
    CHECK(lb.metrics().ejections_refused == 2);
  }
  SECTION("one ejection is always allowed, even at 0%") {
    balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{.max_ejection_percent = 0}}, {},
                clock);
    report(lb, "e0", 5, false);
    report(lb, "e1", 5, false);
    CHECK(count_ejected(lb) == 1);
  }
  SECTION("100% may eject every member, and then panic mode routes to all") {
    balancer lb(endpoints(2), {.outlier = bulwark::outlier_options{.max_ejection_percent = 100}},
                {}, clock);
    report(lb, "e0", 5, false);
    report(lb, "e1", 5, false);
    CHECK(count_ejected(lb) == 2);
    CHECK(lb.snapshot()->panic());
    CHECK(lb.pick());
  }
}

TEST_CASE("success-rate ejection uses mean minus factor x stdev", "[balancing]") {
  bulwark::manual_clock clock;
  // Four endpoints at 100% and one at 100 - d%: mean 100 - d/5, population stdev 2d/5, so
  // with factor 1.9 the threshold is 100 - 0.96d (the low one, at 100 - d, is out) and with
  // factor 2.5 it is 100 - 1.2d (it stays).
  const auto run = [&](std::uint32_t factor, int volume, int hosts) {
    balancer lb(endpoints(hosts),
                {.outlier = bulwark::outlier_options{.consecutive_failures = 0,
                                                     .max_ejection_percent = 50,
                                                     .success_rate_stdev_factor = factor}},
                {}, clock);
    lb.tick();
    for (int i = 1; i < hosts; ++i)
      report(lb, "e" + std::to_string(i), volume, true);
    report(lb, "e0", volume * 4 / 5, true);
    report(lb, "e0", volume / 5, false);
    clock.advance(10s);
    lb.tick();
    return ejected(lb, "e0");
  };
  CHECK(run(1900, 100, 5));
  CHECK_FALSE(run(2500, 100, 5));
  CHECK_FALSE(run(1900, 90, 5));   // below success_rate_request_volume (100)
  CHECK_FALSE(run(1900, 100, 4));  // fewer than success_rate_minimum_hosts (5)
}

TEST_CASE("failure-percentage ejection is off by default and exact when enforced", "[balancing]") {
  bulwark::manual_clock clock;
  const auto run = [&](std::uint32_t enforcing, int failures_of_50) {
    balancer lb(endpoints(5),
                {.outlier = bulwark::outlier_options{.consecutive_failures = 0,
                                                     .enforcing_success_rate = 0,
                                                     .enforcing_failure_percentage = enforcing}},
                {}, clock);
    lb.tick();
    for (int i = 1; i < 5; ++i)
      report(lb, "e" + std::to_string(i), 50, true);
    report(lb, "e0", 50 - failures_of_50, true);
    report(lb, "e0", failures_of_50, false);
    clock.advance(10s);
    lb.tick();
    return ejected(lb, "e0");
  };
  CHECK_FALSE(run(0, 50));
  CHECK(run(100, 43));        // 86% >= 85%
  CHECK_FALSE(run(100, 42));  // 84%
}
