// Load-aware balancers in a virtual-time simulation: one of three endpoints turns slow, and
// P2C on outstanding requests and P2C with peak EWMA must move traffic away from it, where
// round robin keeps sending it a third. Also the peak-EWMA estimator's definition.

#include <bulwark/balancing/least_request.hpp>
#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/locality_aware.hpp>
#include <bulwark/balancing/named_policy.hpp>
#include <bulwark/balancing/round_robin.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

// Requests arrive every 1ms for `length`; endpoint "slow" answers in 200ms, the others in
// 10ms. Returns the share of requests sent to "slow" in the second half of the run.
template <class Policy>
double slow_share(bulwark::duration length, Policy policy = {}) {
  bulwark::manual_clock clock;
  bulwark::fast_rng rng{21};
  bulwark::load_balancer<Policy, bulwark::manual_clock> lb(
      {{.id = "fast1"}, {.id = "slow"}, {.id = "fast2"}}, {.ewma_window = 1s}, std::move(policy),
      clock);
  struct pending {
    bulwark::time_point at;
    std::size_t slot;
    bool operator>(const pending& o) const { return at > o.at; }
  };
  std::priority_queue<pending, std::vector<pending>, std::greater<>> answers;
  std::vector<bulwark::endpoint_handle> handles;
  std::vector<bulwark::duration> latencies;
  const auto start = clock.now();
  int counted = 0, to_slow = 0;
  for (auto t = start; t < start + length; t += 1ms) {
    while (!answers.empty() && answers.top().at <= t) {
      clock.set(answers.top().at);
      const auto slot = answers.top().slot;
      answers.pop();
      handles[slot].success(latencies[slot]);
    }
    clock.set(t);
    auto h = lb.pick(rng);
    const bool slow = h.id() == "slow";
    if (t - start >= length / 2) {
      ++counted;
      to_slow += slow ? 1 : 0;
    }
    latencies.push_back(slow ? 200ms : 10ms);
    handles.push_back(std::move(h));
    answers.push({t + latencies.back(), handles.size() - 1});
  }
  return static_cast<double>(to_slow) / counted;
}

}  // namespace

TEST_CASE("load-aware balancers converge away from a slow endpoint", "[balancing]") {
  const double rr = slow_share<bulwark::round_robin>(4s);
  const double p2c = slow_share<bulwark::power_of_two>(4s);
  const double ewma = slow_share<bulwark::p2c_peak_ewma>(4s);
  CHECK(rr == Approx(1.0 / 3).margin(0.01));
  // At 1 request/ms, the fast endpoints hold about 10 outstanding requests between them...
  // the slow one holds ~20x its arrivals: P2C on outstanding settles where loads balance.
  CHECK(p2c < 0.10);
  // Peak EWMA: cost 200ms x (n + 1) against 10ms x (m + 1): the slow one is chosen only
  // when both draws land on it... which P2C never does (two distinct endpoints).
  CHECK(ewma < 0.03);
  CHECK(ewma < p2c);
}

TEST_CASE("peak EWMA learns from completions inside locality_aware and named_policy",
          "[balancing]") {
  // Both wrap p2c_peak_ewma and must feed it the latencies it compares: with one locality,
  // locality_aware picks as its policy does, and named_policy always does.
  const double ewma = slow_share<bulwark::p2c_peak_ewma>(4s);
  CHECK(slow_share(4s, bulwark::locality_aware<bulwark::p2c_peak_ewma>{}) == ewma);
  CHECK(slow_share(4s, bulwark::named_policy{"p2c_peak_ewma"}) == ewma);
}

TEST_CASE("least outstanding keeps the slow endpoint's queue short", "[balancing]") {
  CHECK(slow_share<bulwark::least_outstanding>(4s) < 0.10);
}

TEST_CASE("the peak EWMA takes peaks at once and decays towards lower samples", "[balancing]") {
  const auto t0 = bulwark::manual_clock::default_start;
  bulwark::endpoint_state s{{.id = "x"}, t0};
  constexpr auto window = 10s;
  CHECK(s.latency_estimate(t0, window) == 0.0);
  s.observe_latency(100ms, t0, window);
  CHECK(s.latency_estimate(t0, window) == Approx(1e8));
  // A lower sample 10s (one window) later: w = e^-1 on the old estimate.
  s.observe_latency(10ms, t0 + 10s, window);
  const double expected = 1e8 * std::exp(-1.0) + 1e7 * (1 - std::exp(-1.0));
  CHECK(s.latency_estimate(t0 + 10s, window) == Approx(expected).epsilon(1e-4));
  // A higher sample replaces it at once (the peak).
  s.observe_latency(500ms, t0 + 10s, window);
  CHECK(s.latency_estimate(t0 + 10s, window) == Approx(5e8).epsilon(1e-6));
  // With no samples the estimate decays towards zero: one window later, by e^-1.
  CHECK(s.latency_estimate(t0 + 20s, window) == Approx(5e8 * std::exp(-1.0)).epsilon(1e-4));
}

TEST_CASE("peak EWMA cost is latency x (outstanding + 1), with Finagle's penalty", "[balancing]") {
  bulwark::manual_clock clock;
  bulwark::fast_rng rng{22};
  bulwark::load_balancer<bulwark::p2c_peak_ewma, bulwark::manual_clock> lb(
      {{.id = "a"}, {.id = "b"}}, {}, {}, clock);
  // Neither has a sample; a gets a request in flight: its cost is the penalty, so b wins.
  auto first = lb.pick(rng);
  auto second = lb.pick(rng);
  CHECK(first.id() != second.id());
  const std::string faster = first.id();
  first.success(20ms);   // first: 20ms x 1
  second.success(30ms);  // second: 30ms x 1
  for (int i = 0; i < 5; ++i)
    CHECK(lb.pick(rng).id() == faster);
  auto h1 = lb.pick(rng);  // faster: 20 x 2 = 40 > 30: the other one next
  CHECK(h1.id() == faster);
  CHECK(lb.pick(rng).id() != faster);
}
