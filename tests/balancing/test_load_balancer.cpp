// Balancer policies and the load_balancer shell: sequences and shares derived by hand from
// each algorithm's definition, sticky keys, slow start, panic mode, membership updates.

#include <bulwark/balancing/least_request.hpp>
#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/balancing/sticky.hpp>
#include <bulwark/balancing/weighted.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

std::vector<bulwark::endpoint> weighted(std::vector<std::pair<std::string, std::uint32_t>> ws) {
  std::vector<bulwark::endpoint> out;
  for (auto& [id, w] : ws)
    out.push_back({.id = id, .weight = w});
  return out;
}

template <class LB, class G>
std::string sequence(LB& lb, G& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    auto h = lb.pick(rng);
    out += h.id();
    h.success(1ms);
  }
  return out;
}

template <class LB, class G>
std::map<std::string, double> shares(LB& lb, G& rng, int n) {
  std::map<std::string, double> count;
  for (int i = 0; i < n; ++i) {
    auto h = lb.pick(rng);
    count[h.id()] += 1.0 / n;
  }
  return count;
}

}  // namespace

TEST_CASE("smooth weighted round robin gives nginx's sequence", "[balancing]") {
  bulwark::fast_rng rng{1};
  SECTION("weights 5, 1, 1: a a b a c a a, repeating") {
    bulwark::load_balancer<bulwark::weighted_round_robin> lb(
        weighted({{"a", 5}, {"b", 1}, {"c", 1}}));
    CHECK(sequence(lb, rng, 14) == "aabacaaaabacaa");
  }
  SECTION("weights 2, 1: a b a (current values 2,1 -> -1,1 -> 1,-1 -> 0,0)") {
    bulwark::load_balancer<bulwark::weighted_round_robin> lb(weighted({{"a", 2}, {"b", 1}}));
    CHECK(sequence(lb, rng, 6) == "abaaba");
  }
  SECTION("equal weights are plain round robin, ties to the first") {
    bulwark::load_balancer<bulwark::weighted_round_robin> lb(
        weighted({{"a", 1}, {"b", 1}, {"c", 1}}));
    CHECK(sequence(lb, rng, 6) == "abcabc");
  }
}

TEST_CASE("round robin takes endpoints in turn, ignoring weight", "[balancing]") {
  bulwark::fast_rng rng{2};
  bulwark::load_balancer<bulwark::round_robin> lb(weighted({{"a", 9}, {"b", 1}, {"c", 1}}));
  CHECK(sequence(lb, rng, 7) == "abcabca");
}

TEST_CASE("stride round robin honours weights without a lock", "[balancing]") {
  bulwark::fast_rng rng{3};
  SECTION("equal weights accept every draw: plain rotation") {
    bulwark::load_balancer<bulwark::stride_round_robin> lb(weighted({{"a", 4}, {"b", 4}}));
    CHECK(sequence(lb, rng, 6) == "ababab");
  }
  SECTION("weights 3:1 give shares 3/4 and 1/4") {
    bulwark::load_balancer<bulwark::stride_round_robin> lb(weighted({{"a", 3}, {"b", 1}}));
    const auto s = shares(lb, rng, 40000);
    CHECK(s.at("a") == Approx(0.75).margin(0.01));
    CHECK(s.at("b") == Approx(0.25).margin(0.01));
  }
  SECTION("a weight beyond ten times the mean is clamped, as in gRPC") {
    // Weights 1000 and 1, mean 500.5: clamped to [5.005, 5005], so 1000 : 5.005.
    bulwark::load_balancer<bulwark::stride_round_robin> lb(weighted({{"a", 1000}, {"b", 1}}));
    const auto s = shares(lb, rng, 100000);
    CHECK(s.at("b") == Approx(5.005 / 1005.005).margin(0.002));
  }
}

TEST_CASE("weighted random draws in proportion to weight", "[balancing]") {
  bulwark::fast_rng rng{4};
  bulwark::load_balancer<bulwark::weighted_random> lb(weighted({{"a", 6}, {"b", 3}, {"c", 1}}));
  const auto s = shares(lb, rng, 100000);
  CHECK(s.at("a") == Approx(0.6).margin(0.01));
  CHECK(s.at("b") == Approx(0.3).margin(0.01));
  CHECK(s.at("c") == Approx(0.1).margin(0.01));
}

TEST_CASE("random choice is uniform", "[balancing]") {
  bulwark::fast_rng rng{5};
  bulwark::load_balancer<bulwark::random_choice> lb(weighted({{"a", 9}, {"b", 1}}));
  const auto s = shares(lb, rng, 50000);
  CHECK(s.at("a") == Approx(0.5).margin(0.01));
}

TEST_CASE("least outstanding picks the least loaded per unit of weight", "[balancing]") {
  bulwark::fast_rng rng{6};
  bulwark::load_balancer<bulwark::least_outstanding> lb(weighted({{"a", 1}, {"b", 1}, {"c", 2}}));
  // Loads (outstanding + 1) / weight start at 1, 1, 0.5: c; then 1, 1, 1: any; ...
  auto first = lb.pick(rng);
  CHECK(first.id() == "c");
  std::vector<bulwark::endpoint_handle> held;
  held.push_back(std::move(first));
  std::map<std::string, int> count{{"c", 1}};
  for (int i = 0; i < 7; ++i) {
    held.push_back(lb.pick(rng));
    ++count[held.back().id()];
  }
  // 8 requests held: c (weight 2) takes 4, a and b 2 each: every load ends at 3 / w... equal.
  CHECK(count["c"] == 4);
  CHECK(count["a"] == 2);
  CHECK(count["b"] == 2);
}

TEST_CASE("power of two choices prefers the less loaded of two", "[balancing]") {
  bulwark::fast_rng rng{7};
  bulwark::load_balancer<bulwark::power_of_two> lb(weighted({{"a", 1}, {"b", 1}}));
  // With two endpoints both are always drawn, so P2C is exact: it alternates as load builds.
  std::vector<bulwark::endpoint_handle> held;
  std::map<std::string, int> count;
  for (int i = 0; i < 10; ++i) {
    held.push_back(lb.pick(rng));
    ++count[held.back().id()];
  }
  CHECK(count["a"] == 5);
  CHECK(count["b"] == 5);
}

TEST_CASE("sticky keys stay put and only a failed endpoint's keys move", "[balancing]") {
  bulwark::load_balancer<bulwark::sticky> lb(
      weighted({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}}));
  std::map<std::string, std::string> before;
  for (int k = 0; k < 2000; ++k) {
    const auto key = "user:" + std::to_string(k);
    before[key] = lb.pick_for(key).id();
    REQUIRE(lb.pick_for(key).id() == before[key]);
  }
  std::map<std::string, int> per;
  for (const auto& [key, id] : before)
    ++per[id];
  for (const auto& [id, n] : per)
    CHECK(n == Approx(400).margin(80));
  REQUIRE(lb.set_healthy("c", false));
  int moved = 0;
  for (const auto& [key, id] : before) {
    const auto now = lb.pick_for(key).id();
    CHECK(now != "c");
    if (id != "c") CHECK(now == id);
    moved += now != id;
  }
  CHECK(moved == per["c"]);
  REQUIRE(lb.set_healthy("c", true));
  for (const auto& [key, id] : before)
    CHECK(lb.pick_for(key).id() == id);
}

TEST_CASE("slow start ramps a new endpoint's weight", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::fast_rng rng{8};
  bulwark::load_balancer<bulwark::weighted_random, bulwark::manual_clock> lb(
      {{.id = "a"}}, {.slow_start = {.window = 10s, .aggression = 1.0, .min_weight_percent = 10.0}},
      {}, clock);
  clock.advance(100s);  // a is warm
  lb.update({{.id = "a"}, {.id = "b"}});
  // b's multiplier: max(0.1, elapsed / 10s). Share of b = m / (1 + m).
  CHECK(shares(lb, rng, 40000)["b"] == Approx(0.1 / 1.1).margin(0.01));
  clock.advance(5s);
  CHECK(shares(lb, rng, 40000)["b"] == Approx(0.5 / 1.5).margin(0.01));
  clock.advance(5s);
  CHECK(shares(lb, rng, 40000)["b"] == Approx(0.5).margin(0.01));
  SECTION("aggression 2 ramps with the square root") {
    bulwark::load_balancer<bulwark::weighted_random, bulwark::manual_clock> fast(
        {{.id = "a"}}, {.slow_start = {.window = 10s, .aggression = 2.0}}, {}, clock);
    clock.advance(100s);
    fast.update({{.id = "a"}, {.id = "b"}});
    clock.advance(2500ms);  // (0.25)^(1/2) = 0.5
    CHECK(shares(fast, rng, 40000)["b"] == Approx(0.5 / 1.5).margin(0.01));
  }
}

// A slow-start window of duration::max() ("never fully warm") used to overflow added + window
// into the past, so the set was never warming and every endpoint got its full weight at once.
// The sum saturates now: the set stays warming and a new endpoint gets the ramp's floor.
TEST_CASE("a slow-start window of duration max keeps new endpoints at the floor", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::fast_rng rng{8};
  bulwark::load_balancer<bulwark::weighted_random, bulwark::manual_clock> lb(
      {{.id = "a"}},
      {.slow_start = {.window = bulwark::duration::max(), .min_weight_percent = 10.0}}, {}, clock);
  clock.advance(100s);
  lb.update({{.id = "a"}, {.id = "b"}});
  CHECK(lb.snapshot()->warming(clock.now()));
  // Both ramp: a joined 100 s ago, b now; in a window of ~292 years both sit at the floor.
  CHECK(shares(lb, rng, 40000)["b"] == Approx(0.5).margin(0.01));
  CHECK(lb.snapshot()->ramp(*lb.snapshot()->routable()[1], clock.now()) == Approx(0.1));
}

TEST_CASE("set_healthy reports a changed mark to on_health_change", "[balancing]") {
  bulwark::manual_clock clock;
  std::vector<std::string> seen;
  bulwark::balancer_options options;
  options.on_health_change = [&](const bulwark::health_event& e) {
    seen.push_back(std::string{e.endpoint} + (e.healthy ? " up " : " down ") +
                   std::to_string((e.time - clock.now()).count()));
  };
  bulwark::load_balancer<bulwark::round_robin, bulwark::manual_clock> lb({{.id = "a"}, {.id = "b"}},
                                                                         options, {}, clock);
  CHECK(lb.set_healthy("a", true));  // already healthy: no change, no call
  CHECK(seen.empty());
  REQUIRE(lb.set_healthy("a", false));
  CHECK(lb.snapshot()->routable().size() == 1);  // published before the call
  CHECK_FALSE(lb.set_healthy("x", false));       // not a member
  clock.advance(std::chrono::seconds{2});
  CHECK(lb.set_healthy("a", false));  // repeated: no call
  CHECK(lb.set_healthy("a", true));
  CHECK(seen == std::vector<std::string>{"a down 0", "a up 0"});
}

TEST_CASE("panic mode balances over every member when too few are healthy", "[balancing]") {
  bulwark::fast_rng rng{9};
  bulwark::load_balancer<bulwark::round_robin> lb(
      weighted({{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}));
  lb.set_healthy("a", false);
  lb.set_healthy("b", false);  // 50% healthy: not below the 50% threshold
  CHECK_FALSE(lb.snapshot()->panic());
  CHECK(sequence(lb, rng, 4) == "cdcd");
  lb.set_healthy("c", false);  // 25% healthy: panic
  CHECK(lb.snapshot()->panic());
  const auto s = sequence(lb, rng, 4);
  CHECK(std::string{s.begin(), s.end()}.find('a') != std::string::npos);
  CHECK(lb.metrics().panic);
  SECTION("threshold 0 disables panic") {
    bulwark::load_balancer<bulwark::round_robin> strict(weighted({{"a", 1}, {"b", 1}}),
                                                        {.panic_threshold = 0.0});
    strict.set_healthy("a", false);
    CHECK(sequence(strict, rng, 3) == "bbb");
    strict.set_healthy("b", false);
    CHECK_FALSE(strict.pick(rng));
    CHECK(strict.metrics().empty_picks == 1);
  }
}

TEST_CASE("updates keep the state of endpoints that stay", "[balancing]") {
  bulwark::fast_rng rng{10};
  bulwark::load_balancer<bulwark::least_outstanding> lb(weighted({{"a", 1}, {"b", 1}}));
  auto held = lb.pick(rng);
  const std::string busy = held.id();
  lb.update(weighted({{"a", 1}, {"b", 1}, {"c", 1}}));
  // The busy endpoint still counts its request, so the next two picks avoid it.
  for (int i = 0; i < 2; ++i)
    CHECK(lb.pick(rng).id() != busy);
  lb.update(weighted({{"c", 1}}));  // the held endpoint leaves; its handle stays valid
  CHECK(held.id() == busy);
  held.success(1ms);
  CHECK(lb.pick(rng).id() == "c");
}

TEST_CASE("set_weight keeps requests in flight, ejection and the latency estimate", "[balancing]") {
  // Peak EWMA: each endpoint gets a 40ms sample (an unsampled one costs 0, so the two first
  // picks differ); one request is then held, so the other costs 40 x 1 < 40 x 2 and takes
  // the five failures that eject it.
  bulwark::manual_clock clock;
  bulwark::load_balancer<bulwark::p2c_peak_ewma, bulwark::manual_clock> lb(
      weighted({{"a", 1}, {"b", 1}}),
      {.outlier = bulwark::outlier_options{.max_ejection_percent = 50}}, {}, clock);
  bulwark::fast_rng rng{3};
  lb.pick(rng).success(40ms);
  lb.pick(rng).success(40ms);
  auto held = lb.pick(rng);
  const std::string kept = held.id();
  const std::string out = kept == "a" ? "b" : "a";
  for (int i = 0; i < 5; ++i) {
    auto h = lb.pick(rng);
    REQUIRE(h.id() == out);
    h.failure(40ms);
  }
  const auto state_of = [&](const std::string& id) -> const bulwark::endpoint_state* {
    for (const auto* s : lb.snapshot()->members())
      if (s->description().id == id) return s;
    return nullptr;
  };
  const auto* k = state_of(kept);
  const auto* o = state_of(out);
  REQUIRE(o->ejected.load());
  const double estimate = k->latency_estimate(clock.now(), 10s);
  CHECK(estimate > 0);
  CHECK(lb.set_weight(kept, 4));
  CHECK(lb.set_weight(out, 7));
  CHECK(state_of(kept) == k);  // the same states, not new ones
  CHECK(state_of(out) == o);
  CHECK(k->outstanding() == 1);
  CHECK(k->weight() == 4);
  CHECK(k->description().weight == 1);  // the description it joined with
  CHECK(k->latency_estimate(clock.now(), 10s) == estimate);
  CHECK(o->ejected.load());
  CHECK(lb.ejection_multiplier(out) == 1);
  CHECK(o->failures.load() == 5);
  const auto set = lb.snapshot();
  REQUIRE(set->routable().size() == 1);  // the ejected one is still out
  CHECK(set->weights()[0] == 4);
  held.success(1ms);
  CHECK(k->outstanding() == 0);
}

TEST_CASE("execute reports success and failure and throws when empty", "[balancing]") {
  bulwark::load_balancer<bulwark::round_robin> lb(weighted({{"a", 1}}));
  CHECK(lb.execute([](const bulwark::endpoint& e) { return e.id + "!"; }) == "a!");
  CHECK_THROWS_AS(
      lb.execute([](const bulwark::endpoint&) -> int { throw std::runtime_error{"x"}; }),
      std::runtime_error);
  CHECK(lb.metrics().completions == 2);
  lb.update({});
  CHECK_THROWS_AS(lb.execute([](const bulwark::endpoint&) { return 0; }),
                  bulwark::no_endpoint_available);
}

TEST_CASE("bad options and endpoints are refused with the field and value", "[balancing]") {
  using lb_t = bulwark::load_balancer<bulwark::round_robin>;
  CHECK_THROWS_WITH(lb_t({{.id = "a"}}, {.panic_threshold = 1.5}),
                    "bulwark::load_balancer: panic_threshold must be in [0, 1] (got 1.5)");
  CHECK_THROWS_WITH(lb_t({{.id = "a"}}, {.ewma_window = 0s}),
                    "bulwark::load_balancer: ewma_window must be > 0 (got 0s)");
  CHECK_THROWS_WITH(lb_t({{.id = "a", .weight = 0}}),
                    "bulwark::load_balancer: endpoint.weight must be >= 1 (got 0)");
  CHECK_THROWS_WITH(lb_t({{.id = "a"}, {.id = "a"}}),
                    "bulwark::load_balancer: endpoint.id must be unique (got \"a\")");
  CHECK_THROWS_WITH(lb_t({{.id = ""}}),
                    "bulwark::load_balancer: endpoint.id must be non-empty (got \"\")");
  CHECK_THROWS_WITH(
      lb_t({{.id = "a"}}, {.outlier = bulwark::outlier_options{.max_ejection_percent = 101}}),
      "bulwark::outlier_detector: max_ejection_percent must be <= 100 (got 101)");
}

TEST_CASE("concurrent picks, completions and updates stay consistent", "[balancing]") {
  bulwark::load_balancer<bulwark::power_of_two> lb(weighted({{"a", 1}, {"b", 1}, {"c", 1}}),
                                                   {.outlier = bulwark::outlier_options{}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&lb, t] {
      bulwark::fast_rng rng{static_cast<std::uint64_t>(t)};
      for (int i = 0; i < 4000; ++i) {
        auto h = lb.pick(rng);
        if (h) (i % 7 == 0) ? h.failure(1ms) : h.success(1ms);
      }
    });
  }
  threads.emplace_back([&lb] {
    for (int i = 0; i < 200; ++i) {
      lb.update(i % 2 ? weighted({{"a", 1}, {"b", 1}}) : weighted({{"a", 1}, {"c", 1}, {"d", 2}}));
      lb.set_healthy("a", i % 3 != 0);
      lb.tick();
    }
  });
  for (auto& t : threads)
    t.join();
  lb.update(weighted({{"a", 1}}));
  CHECK(lb.snapshot()->members()[0]->outstanding() == 0);
}
