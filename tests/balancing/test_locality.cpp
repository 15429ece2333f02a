// Priority levels, locality-weighted balancing and zone-aware routing, checked against
// Envoy's documentation tables (docs/root/intro/arch_overview/upstream/load_balancing/
// priority.rst, panic_threshold.rst, locality_weight.rst) and the arithmetic of
// source/common/upstream/load_balancer_impl.cc. Levels of 100 endpoints make each table's
// percentages exact endpoint counts.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/locality_aware.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/balancing/weighted.hpp>
#include <bulwark/core/clock.hpp>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

using bulwark::detail::level_counts;

// Loads for levels of 100 endpoints with the given healthy counts.
bulwark::detail::priority_plan plan(std::vector<std::size_t> healthy, double panic = 0.5) {
  std::vector<level_counts> levels;
  for (auto h : healthy)
    levels.push_back({100, h});
  return bulwark::detail::plan_priorities(levels, 140, panic);
}

std::vector<std::uint32_t> loads(std::vector<std::size_t> healthy, double panic = 0.0) {
  return plan(std::move(healthy), panic).load;
}

std::vector<bulwark::endpoint> hosts(const std::string& prefix, int n, std::uint32_t priority,
                                     const std::string& zone = "") {
  std::vector<bulwark::endpoint> out;
  for (int i = 0; i < n; ++i)
    out.push_back({.id = prefix + std::to_string(i), .zone = zone, .priority = priority});
  return out;
}

template <class T>
std::vector<T> concat(std::vector<T> a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <class LB>
void mark_down(LB& lb, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i)
    lb.set_healthy(prefix + std::to_string(i), false);
}

// Picks per id prefix (the id up to its first digit).
template <class LB>
std::map<std::string, int> picks_by_prefix(LB& lb, bulwark::fast_rng& rng, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    auto h = lb.pick(rng);
    const auto& id = h.id();
    out[id.substr(0, id.find_first_of("0123456789"))] += 1;
  }
  return out;
}

using locality_rr = bulwark::locality_aware<bulwark::round_robin>;
using V = std::vector<std::uint32_t>;

}  // namespace

// priority.rst, first table (two levels, P=1 100% healthy). With panic disabled, the loads are
// health(P0) = min(100, 140 x healthy / 100), P1 the rest.
TEST_CASE("priority.rst table 1: P=0 health vs P=1 at 100%", "[balancing]") {
  CHECK(loads({100, 100}) == V{100, 0});
  CHECK(loads({72, 100}) == V{100, 0});  // 140 x 72 / 100 = 100 (capped)
  CHECK(loads({71, 100}) == V{99, 1});   // 140 x 71 / 100 = 99
  CHECK(loads({50, 100}) == V{70, 30});
  CHECK(loads({25, 100}) == V{35, 65});
  CHECK(loads({0, 100}) == V{0, 100});
}

// priority.rst, second table: both levels degrade; the sum of health is normalized to 100.
TEST_CASE("priority.rst table 2: both levels degrading", "[balancing]") {
  CHECK(loads({100, 100}) == V{100, 0});
  CHECK(loads({72, 72}) == V{100, 0});
  CHECK(loads({71, 71}) == V{99, 1});
  CHECK(loads({50, 50}) == V{70, 30});
  CHECK(loads({25, 100}) == V{35, 65});
  // health {35, 35}, normalized total 70: 35 x 100 / 70 = 50 each.
  CHECK(loads({25, 25}) == V{50, 50});
}

// priority.rst, third table: three levels.
TEST_CASE("priority.rst table 3: three levels", "[balancing]") {
  CHECK(loads({100, 100, 100}) == V{100, 0, 0});
  CHECK(loads({72, 72, 100}) == V{100, 0, 0});
  CHECK(loads({71, 71, 100}) == V{99, 1, 0});
  CHECK(loads({50, 50, 100}) == V{70, 30, 0});
  CHECK(loads({25, 100, 100}) == V{35, 65, 0});
  CHECK(loads({25, 25, 100}) == V{35, 35, 30});
  // The doc prints 36/36/28 (rounded to nearest). load_balancer_impl.cc's distributeLoad
  // truncates: health {35, 35, 28}, total 98 -> 35 x 100 / 98 = 35, 35, 28 x 100 / 98 = 28,
  // and the remaining 2 go to the first level with health: {37, 35, 28}.
  CHECK(loads({25, 25, 20}) == V{37, 35, 28});
}

// panic_threshold.rst, first table: P=1 100% healthy keeps the normalized total at 100, so
// P=0 never panics, whatever its health.
TEST_CASE("panic_threshold.rst table 1: no panic while P=1 absorbs the load", "[balancing]") {
  for (const auto& [p0, expected] : std::vector<std::pair<std::size_t, V>>{
           {72, {100, 0}}, {71, {99, 1}}, {50, {70, 30}}, {25, {35, 65}}, {0, {0, 100}}}) {
    const auto p = plan({p0, 100});
    CHECK(p.load == expected);
    CHECK(p.panic == std::vector<bool>{false, false});
    CHECK(p.normalized_total_health == 100);
  }
}

// panic_threshold.rst, second table: panic is checked per level once the total drops
// below 100.
TEST_CASE("panic_threshold.rst table 2: per-level panic below 100% total", "[balancing]") {
  auto p = plan({72, 72});
  CHECK(p.load == V{100, 0});
  CHECK(p.panic == std::vector<bool>{false, false});
  p = plan({71, 71});
  CHECK(p.load == V{99, 1});
  CHECK(p.panic == std::vector<bool>{false, false});
  // The doc prints 50/50 and 25/75 for the next two rows, which drop the overprovisioning
  // factor; priority.rst's formula (and its table 1 row 25% -> 35/65) gives health
  // {70, 84} -> 70/30 and {35, 100} -> 35/65. The panic and total columns agree.
  p = plan({50, 60});
  CHECK(p.load == V{70, 30});
  CHECK(p.panic == std::vector<bool>{false, false});
  CHECK(p.normalized_total_health == 100);
  p = plan({25, 100});
  CHECK(p.load == V{35, 65});
  CHECK(p.panic == std::vector<bool>{false, false});
  // Both below 50% healthy and total 70: total panic, load by endpoint count (100 each).
  p = plan({25, 25});
  CHECK(p.load == V{50, 50});
  CHECK(p.panic == std::vector<bool>{true, true});
  CHECK(p.total_panic);
  CHECK(p.normalized_total_health == 70);
  // health {7, 91}, total 98: 7 x 100 / 98 = 7, 91 x 100 / 98 = 92, remainder 1 to P0. The
  // doc prints 7/93 (rounded); the code gives 8/92.
  p = plan({5, 65});
  CHECK(p.load == V{8, 92});
  CHECK(p.panic == std::vector<bool>{true, false});
  CHECK_FALSE(p.total_panic);
  CHECK(p.normalized_total_health == 98);
}

// panic_threshold.rst: "If all hosts become unhealthy ... all traffic will be redirected to
// P=0" (total panic, by host count: 100 and 100 -> 50/50 here, as
// recalculateLoadInTotalPanic does), and with threshold 0 nothing panics and P=0 takes 100.
TEST_CASE("panic_threshold.rst: everything unhealthy", "[balancing]") {
  auto p = plan({0, 0});
  CHECK(p.total_panic);
  CHECK(p.load == V{50, 50});
  p = plan({0, 0}, 0.0);
  CHECK_FALSE(p.total_panic);
  CHECK(p.panic == std::vector<bool>{false, false});
  CHECK(p.load == V{100, 0});
}

// load_balancer_impl.cc choosePriority: draw % 100 + 1 against running sums.
TEST_CASE("choosePriority maps draws onto the load table", "[balancing]") {
  const V load{70, 30};
  CHECK(bulwark::detail::choose_priority(load, 0) == 0);   // 1 <= 70
  CHECK(bulwark::detail::choose_priority(load, 69) == 0);  // 70 <= 70
  CHECK(bulwark::detail::choose_priority(load, 70) == 1);  // 71 > 70
  CHECK(bulwark::detail::choose_priority(load, 199) == 1);
}

// locality_weight.rst's table: X weight 1, Y weight 2 (100% healthy), factor 1.4. Effective
// weight = weight x min(1, 1.4 x healthy fraction) (upstream_impl.cc effectiveLocalityWeight),
// X's share = X / (X + 2). The doc rounds to whole percent from an integer availability
// (140 x 69 / 100 = 96, giving 32%); the code keeps 96.6 (32.57%), within a point of it.
TEST_CASE("locality_weight.rst table: X weight 1 vs Y weight 2", "[balancing]") {
  for (const auto& [healthy, percent, weight] :
       std::vector<std::tuple<std::size_t, int, double>>{{100, 33, 1.0},
                                                         {70, 33, 0.98},
                                                         {69, 32, 0.966},
                                                         {50, 26, 0.7},
                                                         {25, 15, 0.35},
                                                         {0, 0, 0.0}}) {
    const double x = bulwark::detail::effective_locality_weight(1, healthy, 100, 140);
    const double y = bulwark::detail::effective_locality_weight(2, 100, 100, 140);
    CHECK(x == Approx(weight));
    CHECK(y == 2.0);
    CHECK(std::abs(100.0 * x / (x + y) - percent) < 1.0);
  }
}

TEST_CASE("locality-weighted picks follow effective weights", "[balancing]") {
  bulwark::locality_options o;
  o.locality_weights = {{{.zone = "x"}, 1}, {{.zone = "y"}, 2}};
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(hosts("x", 10, 0, "x"), hosts("y", 10, 0, "y")), {}, locality_rr{o});
  bulwark::fast_rng rng{7};
  // All healthy: 1 : 2, exactly per 3 picks under smooth WRR.
  auto got = picks_by_prefix(lb, rng, 300);
  CHECK(got["x"] == 100);
  CHECK(got["y"] == 200);
  // Half of X down: effective 0.7 vs 2 -> X takes 0.7 / 2.7 of 2700 picks = 700 (+-1), and
  // only its healthy endpoints.
  mark_down(lb, "x", 5);
  const auto plan = locality_rr::plan(*lb.snapshot());
  REQUIRE(plan != nullptr);
  CHECK(plan->effective_weights[0] == std::vector<double>{0.7, 2.0});
  std::map<std::string, int> ids;
  int x = 0;
  for (int i = 0; i < 2700; ++i) {
    auto h = lb.pick(rng);
    if (h.id()[0] == 'x') {
      ++x;
      ids[h.id()] += 1;
    }
  }
  CHECK(std::abs(x - 700) <= 1);
  for (const auto& [id, n] : ids)
    CHECK(id >= "x5");
}

TEST_CASE("priority failover through the balancer", "[balancing]") {
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(hosts("p", 10, 0), hosts("s", 10, 1)));
  bulwark::fast_rng rng{11};
  CHECK(picks_by_prefix(lb, rng, 1000)["p"] == 1000);
  mark_down(lb, "p", 5);  // health 70 -> 70/30
  auto got = picks_by_prefix(lb, rng, 10000);
  CHECK(std::abs(got["p"] - 7000) < 300);
  CHECK(lb.policy().metrics().failover_picks == static_cast<std::uint64_t>(got["s"]));
  mark_down(lb, "p", 10);
  CHECK(picks_by_prefix(lb, rng, 1000)["s"] == 1000);
}

TEST_CASE("total panic routes to every endpoint of the drawn level", "[balancing]") {
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(hosts("p", 10, 0), hosts("s", 10, 1)));
  mark_down(lb, "p", 8);
  mark_down(lb, "s", 8);  // 20% each: health 28 + 28 = 56 < 100, both below 50%
  const auto plan = locality_rr::plan(*lb.snapshot());
  REQUIRE(plan != nullptr);
  CHECK(plan->priority.total_panic);
  CHECK(plan->priority.load == V{50, 50});
  bulwark::fast_rng rng{3};
  int unhealthy = 0;
  for (int i = 0; i < 200; ++i) {
    auto h = lb.pick(rng);
    if (h.id().back() < '8') ++unhealthy;
  }
  CHECK(unhealthy > 100);  // 80% of each level is unhealthy and still picked
  CHECK(lb.policy().metrics().healthy_panic == 200);
}

TEST_CASE("no locality or priority: picks exactly as the inner policy", "[balancing]") {
  std::vector<bulwark::endpoint> es{{.id = "a", .weight = 5}, {.id = "b"}, {.id = "c"}};
  bulwark::load_balancer<bulwark::locality_aware<bulwark::weighted_round_robin>> lb(es);
  bulwark::fast_rng rng{1};
  std::string seq;
  for (int i = 0; i < 14; ++i)
    seq += lb.pick(rng).id();
  CHECK(seq == "aabacaaaabacaa");  // nginx's sequence, as in test_load_balancer
}

// Zone-aware routing: the worked example in ZoneAwareLoadBalancerBase::
// regenerateLocalityRoutingStructures' comment. Upstream healthy 2/4/2 (25/50/25%), local
// cluster 4/4/2 (40/40/20%): the local zone can take 2500 x 10000 / 4000 = 6250/10000 of the
// local traffic; residual capacity is b: 5000 - 4000 = 1000, c: 2500 - 2000 = 500, running
// sums {0, 1000, 1500}. Cross-zone picks split 2 : 1 between b and c: shares 62.5/25/12.5%.
TEST_CASE("zone_aware.rst: local percentage above upstream's spills the residual", "[balancing]") {
  const std::vector<std::size_t> up{2, 4, 2}, local{4, 4, 2};
  const auto z = bulwark::detail::plan_zone_routing(up, local, 0, 6);
  CHECK(z.state == bulwark::detail::zone_plan::mode::residual);
  CHECK(z.local_percent_to_route == 6250);
  CHECK(z.residual == std::vector<std::uint64_t>{0, 1000, 1500});

  bulwark::locality_options o;
  o.local = bulwark::locality{.zone = "a"};
  o.local_cluster = {{{.zone = "a"}, 4}, {{.zone = "b"}, 4}, {{.zone = "c"}, 2}};
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(concat(hosts("a", 2, 0, "a"), hosts("b", 4, 0, "b")), hosts("c", 2, 0, "c")), {},
      locality_rr{o});
  bulwark::fast_rng rng{5};
  auto got = picks_by_prefix(lb, rng, 20000);
  CHECK(std::abs(got["a"] - 12500) < 300);
  CHECK(std::abs(got["b"] - 5000) < 300);
  CHECK(std::abs(got["c"] - 2500) < 300);
  const auto m = lb.policy().metrics();
  CHECK(m.zone_routing_sampled == static_cast<std::uint64_t>(got["a"]));
  CHECK(m.zone_routing_cross_zone == static_cast<std::uint64_t>(got["b"] + got["c"]));
}

// zone_aware.rst's second case: the upstream's local share (50%) is at least the caller's
// (20%), so every pick stays local.
TEST_CASE("zone_aware.rst: upstream local share above the caller's routes directly",
          "[balancing]") {
  bulwark::locality_options o;
  o.local = bulwark::locality{.zone = "a"};
  o.local_cluster = {{{.zone = "a"}, 2}, {{.zone = "b"}, 8}};
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(hosts("a", 4, 0, "a"), hosts("b", 4, 0, "b")), {}, locality_rr{o});
  bulwark::fast_rng rng{5};
  CHECK(picks_by_prefix(lb, rng, 1000)["a"] == 1000);
  CHECK(lb.policy().metrics().zone_routing_all_directly == 1000);
  // Preconditions (earlyExitNonLocalityRouting): below min_cluster_size (6) healthy
  // endpoints, zone routing stops and the pick spans the level.
  mark_down(lb, "b", 3);  // 5 healthy
  auto got = picks_by_prefix(lb, rng, 500);
  CHECK(got["a"] == 400);
  CHECK(got["b"] == 100);
}

TEST_CASE("zone-aware routing needs the same localities on both sides", "[balancing]") {
  const std::vector<std::size_t> up{3, 3}, local{1, 1};
  CHECK(bulwark::detail::plan_zone_routing(up, local, 0, 6).state ==
        bulwark::detail::zone_plan::mode::direct);
  CHECK(bulwark::detail::plan_zone_routing(up, local, 0, 7).state ==
        bulwark::detail::zone_plan::mode::none);
  const std::vector<std::size_t> one{6};
  CHECK(bulwark::detail::plan_zone_routing(one, one, 0, 6).state ==
        bulwark::detail::zone_plan::mode::none);
  bulwark::locality_options o;
  o.local = bulwark::locality{.zone = "a"};
  o.local_cluster = {{{.zone = "a"}, 1}, {{.zone = "z"}, 1}};
  bulwark::load_balancer<locality_rr, bulwark::manual_clock> lb(
      concat(hosts("a", 4, 0, "a"), hosts("b", 4, 0, "b")), {}, locality_rr{o});
  CHECK(locality_rr::plan(*lb.snapshot())->zone.state == bulwark::detail::zone_plan::mode::none);
}

TEST_CASE("locality options are validated", "[balancing]") {
  const auto message = [](bulwark::locality_options o) {
    try {
      locality_rr p{std::move(o)};
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  bulwark::locality_options o;
  o.overprovisioning_factor = 0;
  CHECK(message(o) == "bulwark::locality_aware: overprovisioning_factor must be >= 1 (got 0)");
  o = {};
  o.locality_weights = {{{.zone = "x"}, 0}};
  CHECK(message(o) == "bulwark::locality_aware: locality_weights.weight must be >= 1 (got 0)");
  o.locality_weights = {{{.zone = "x"}, 1}, {{.zone = "x"}, 2}};
  CHECK(message(o) == "bulwark::locality_aware: locality_weights.where must be unique (got /x/)");
  o = {};
  o.local_cluster = {{{.zone = "x"}, 1}};
  CHECK(message(o) ==
        "bulwark::locality_aware: local must be set exactly when local_cluster "
        "is non-empty (got \"unset\")");
  o.local = bulwark::locality{.zone = "x"};
  o.locality_weights = {{{.zone = "x"}, 1}};
  CHECK(message(o) ==
        "bulwark::locality_aware: local_cluster must be empty when locality_weights are given "
        "(got 1)");
}

TEST_CASE("locality_aware metrics list every counter", "[balancing]") {
  int n = 0;
  bulwark::locality_aware_metrics{}.for_each_metric([&](const bulwark::metric&) { ++n; });
  CHECK(n == 6);
}
