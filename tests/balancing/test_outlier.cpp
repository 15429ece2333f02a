// Outlier ejection with Envoy's semantics, timings derived by hand from Envoy's
// source/common/upstream/outlier_detection_impl.cc (ejectHost, checkHostForUneject,
// onIntervalTimer, onConsecutiveErrorWorker) and from the scenarios of its
// test/common/upstream/outlier_detection_impl_test.cc where named.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <chrono>
#include <string>
#include <utility>
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

// Envoy ejectHost: after each ejection the backoff grows while backoff x base < max + base, and
// checkHostForUneject waits min(base x backoff, max). Base 10s, max 25s: backoff 0 -> 1
// (0 < 35), 1 -> 2 (10 < 35), 2 -> 3 (20 < 35), 3 -> 4 (30 < 35), then stays 4 (40 >= 35);
// the waits are min(10, 25) = 10, 20, 25, 25, 25.
TEST_CASE("the ejection multiplier grows one step past max_ejection_time, as Envoy's ejectHost",
          "[balancing]") {
  bulwark::manual_clock clock;
  balancer lb(endpoints(2),
              {.panic_threshold = 0.0,
               .outlier = bulwark::outlier_options{.interval = 1s,
                                                   .base_ejection_time = 10s,
                                                   .max_ejection_time = 25s,
                                                   .max_ejection_percent = 50}},
              {}, clock);
  lb.tick();
  const std::pair<std::uint32_t, std::chrono::seconds> expected[] = {
      {1u, 10s}, {2u, 20s}, {3u, 25s}, {4u, 25s}, {4u, 25s}};
  for (const auto& [multiplier, wait] : expected) {
    report(lb, "e0", 5, false);
    CHECK(lb.ejection_multiplier("e0") == multiplier);
    const auto ejected_at = clock.now();
    while (ejected(lb, "e0")) {
      clock.advance(1s);
      lb.tick();
    }
    CHECK(clock.now() - ejected_at == wait);
  }
}

// Envoy ejectHost: eject only if 100.0 x (active + 1) / hosts <= max_ejection_percent, or, with
// always_eject_one_host, when none is ejected yet.
TEST_CASE("max_ejection_percent follows Envoy's ejectHost", "[balancing]") {
  bulwark::manual_clock clock;
  const auto count_ejected = [](const balancer& lb) {
    int n = 0;
    for (const auto* s : lb.snapshot()->members())
      n += s->ejected.load() ? 1 : 0;
    return n;
  };
  SECTION("25% of 10: two (a third would make 30%)") {
    balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{.max_ejection_percent = 25}},
                {}, clock);
    for (int i = 0; i < 4; ++i)
      report(lb, "e" + std::to_string(i), 5, false);
    CHECK(count_ejected(lb) == 2);
    CHECK(lb.metrics().ejections == 2);
    CHECK(lb.metrics().ejections_refused == 2);
  }
  // This section asserted "one ejection is always allowed, even at 0%", the rule of Envoy
  // before always_eject_one_host; ejectHost now refuses it unless that option is set.
  SECTION("0% ejects nothing; with always_eject_one_host, exactly one") {
    balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{.max_ejection_percent = 0}}, {},
                clock);
    report(lb, "e0", 5, false);
    report(lb, "e1", 5, false);
    CHECK(count_ejected(lb) == 0);
    CHECK(lb.metrics().ejections_refused == 2);
    balancer one(endpoints(10),
                 {.outlier = bulwark::outlier_options{.max_ejection_percent = 0,
                                                      .always_eject_one_host = true}},
                 {}, clock);
    report(one, "e0", 5, false);
    report(one, "e1", 5, false);
    CHECK(count_ejected(one) == 1);
    CHECK(ejected(one, "e0"));
  }
  // outlier_detection_impl_test.cc MaxEjectionPercentage: 50% of 3 hosts, all failing 5 in a
  // row: 1/3 = 33% <= 50 ejects the first, 2/3 = 67% > 50 refuses the others.
  SECTION("Envoy's MaxEjectionPercentage: 50% of 3 ejects one") {
    balancer lb(endpoints(3), {.outlier = bulwark::outlier_options{.max_ejection_percent = 50}}, {},
                clock);
    for (int i = 0; i < 3; ++i)
      report(lb, "e" + std::to_string(i), 5, false);
    CHECK(ejected(lb, "e0"));
    CHECK_FALSE(ejected(lb, "e1"));
    CHECK_FALSE(ejected(lb, "e2"));
  }
  // outlier_detection_impl_test.cc MaxEjectionPercentageSingleHost: 1/1 = 100% > 90.
  SECTION("Envoy's MaxEjectionPercentageSingleHost: 90% of one host ejects nothing") {
    balancer lb(endpoints(1), {.outlier = bulwark::outlier_options{.max_ejection_percent = 90}}, {},
                clock);
    report(lb, "e0", 5, false);
    CHECK_FALSE(ejected(lb, "e0"));
  }
  // The default 10% of 5 endpoints: 1/5 = 20% > 10, so nothing unless always_eject_one_host.
  SECTION("the default 10% ejects nothing from a set of five") {
    balancer lb(endpoints(5), {.outlier = bulwark::outlier_options{}}, {}, clock);
    report(lb, "e0", 5, false);
    CHECK_FALSE(ejected(lb, "e0"));
    balancer one(endpoints(5), {.outlier = bulwark::outlier_options{.always_eject_one_host = true}},
                 {}, clock);
    report(one, "e0", 5, false);
    report(one, "e1", 5, false);
    CHECK(ejected(one, "e0"));
    CHECK_FALSE(ejected(one, "e1"));  // 2/5 = 40% > 10 and one is already out
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
    // max_ejection_percent 50: Envoy's default 10% would refuse any ejection from 5 hosts.
    balancer lb(endpoints(5),
                {.outlier = bulwark::outlier_options{.consecutive_failures = 0,
                                                     .max_ejection_percent = 50,
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

// Envoy onConsecutiveErrorWorker: ejectHost, then resetConsecutive5xx whatever ejectHost did.
// 10 endpoints at 10%: e0 goes (1/10), e1's fifth failure is refused (2/10 > 10%) and its run
// restarts; when e0 is back (30 s, the first ejection's time), e1's next five failures eject it.
TEST_CASE("a refused consecutive-failure ejection restarts the run (onConsecutiveErrorWorker)",
          "[balancing]") {
  bulwark::manual_clock clock;
  balancer lb(endpoints(10), {.outlier = bulwark::outlier_options{}}, {}, clock);
  lb.tick();
  report(lb, "e0", 5, false);
  CHECK(ejected(lb, "e0"));
  report(lb, "e1", 5, false);
  CHECK_FALSE(ejected(lb, "e1"));
  CHECK(lb.metrics().ejections_refused == 1);
  report(lb, "e1", 4, false);  // a new run of four: below the threshold, no second refusal
  CHECK(lb.metrics().ejections_refused == 1);
  for (int i = 0; i < 3; ++i) {
    clock.advance(10s);
    lb.tick();
  }
  CHECK_FALSE(ejected(lb, "e0"));
  report(lb, "e1", 1, false);  // the fifth of the run started after the refusal
  CHECK(ejected(lb, "e1"));
}

// outlier_detection_impl_test.cc EjectTimeBackoff: one host, base 10 s, max_ejection_percent
// 100, interval 10 s. Ejections at 0, 10 and 30 s last 10, 20 and 30 s; two healthy intervals
// (70, 80 s) take the backoff from 3 to 1, so the ejection at 80 s lasts 20 s (backoff 2);
// fifty healthy intervals take it to 0, so the ejection at 610 s lasts 10 s.
TEST_CASE("ejection time backs off and decays as Envoy's EjectTimeBackoff test", "[balancing]") {
  bulwark::manual_clock clock;
  balancer lb(
      endpoints(1),
      {.outlier = bulwark::outlier_options{.base_ejection_time = 10s, .max_ejection_percent = 100}},
      {}, clock);
  const auto start = clock.now();
  const auto at = [&](std::chrono::seconds t) {  // Envoy's setMonotonicTime + the timer firing
    clock.advance(start + t - clock.now());
    lb.tick();
  };
  at(0s);
  report(lb, "e0", 5, false);
  CHECK(ejected(lb, "e0"));
  at(10s);
  CHECK_FALSE(ejected(lb, "e0"));
  report(lb, "e0", 5, false);
  at(20s);
  CHECK(ejected(lb, "e0"));
  at(30s);
  CHECK_FALSE(ejected(lb, "e0"));
  report(lb, "e0", 5, false);
  at(40s);
  at(50s);
  CHECK(ejected(lb, "e0"));
  at(60s);
  CHECK_FALSE(ejected(lb, "e0"));
  at(70s);
  at(80s);
  report(lb, "e0", 5, false);
  CHECK(lb.ejection_multiplier("e0") == 2);
  at(90s);
  CHECK(ejected(lb, "e0"));
  at(100s);
  CHECK_FALSE(ejected(lb, "e0"));
  for (int i = 1; i <= 50; ++i)
    at(std::chrono::seconds{100 + i * 10});
  CHECK(lb.ejection_multiplier("e0") == 0);
  at(610s);
  report(lb, "e0", 5, false);
  CHECK(ejected(lb, "e0"));
  at(620s);
  CHECK_FALSE(ejected(lb, "e0"));
}
