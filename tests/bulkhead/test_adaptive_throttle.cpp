#include <algorithm>
#include <atomic>
#include <barrier>
#include <bulwark/bulkhead/adaptive_throttle.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/random.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

using throttle_t = bulwark::adaptive_throttle<bulwark::manual_clock>;

// `accepted` requests that the backend accepts, then `refused` that it rejects. The first
// ones are never throttled (p = 0 while requests <= K x accepts), so the window's counts are
// exactly (accepted + refused, accepted) whatever the draws.
void feed(throttle_t& throttle, int accepted, int refused) {
  for (int i = 0; i < accepted; ++i) {
    auto permit = throttle.try_acquire();
    REQUIRE(permit);
    permit.accepted();
  }
  for (int i = 0; i < refused; ++i) {
    auto permit = throttle.try_acquire();
    if (permit) permit.rejected();
  }
}

}  // namespace

// Google SRE book, "Handling Overload", client-side throttling: the probability is
// max(0, (requests - K x accepts) / (requests + 1)). With K = 2, 10 requests and 3 accepts:
// (10 - 6) / 11 = 4/11 = 0.363636...
TEST_CASE("adaptive_throttle follows the SRE book's client-side throttling formula", "[bulkhead]") {
  bulwark::manual_clock clock;
  throttle_t throttle({.seed = 1}, clock);
  CHECK(throttle.rejection_probability() == 0.0);
  feed(throttle, 3, 0);
  // 3 requests, 3 accepts: (3 - 6) / 4 < 0, so 0.
  CHECK(throttle.rejection_probability() == 0.0);
  feed(throttle, 0, 7);
  CHECK(throttle.counts().requests == 10);
  CHECK(throttle.counts().accepts == 3);
  CHECK(throttle.rejection_probability() == Approx(4.0 / 11.0).epsilon(1e-12));
  // Exactly K x accepts: (6 - 6) / 7 = 0, the book's "accepts at least 1/K of requests".
  bulwark::manual_clock other;
  throttle_t at_k({}, other);
  feed(at_k, 3, 3);
  CHECK(at_k.rejection_probability() == 0.0);
}

// Envoy's admission control filter (source/extensions/filters/http/admission_control/
// admission_control.cc, shouldRejectRequest; docs "Admission Control"):
//   p = (n - s / sr_threshold) / (n + 1), then p^(1 / aggression), then min(p, max_rejection).
// n = 10, s = 3, sr_threshold = 0.95: (10 - 3.157894...) / 11 = 0.622009569...;
// aggression 2: sqrt(0.622009569) = 0.788675832...; below the cap 0.8.
// n = 10, s = 0: 10/11 = 0.909..., sqrt = 0.953..., capped at 0.8.
TEST_CASE("adaptive_throttle follows Envoy admission control's aggression and caps", "[bulkhead]") {
  const bulwark::adaptive_throttle_options options{
      .sr_threshold = 0.95, .aggression = 2.0, .max_rejection_probability = 0.8};
  bulwark::manual_clock clock;
  throttle_t throttle(options, clock);
  feed(throttle, 3, 7);
  CHECK(throttle.rejection_probability() == Approx(0.788675832885724).epsilon(1e-12));

  bulwark::manual_clock other;
  throttle_t linear({.sr_threshold = 0.95, .max_rejection_probability = 0.8}, other);
  feed(linear, 3, 7);
  CHECK(linear.rejection_probability() == Approx(0.6220095693779905).epsilon(1e-12));

  bulwark::manual_clock third;
  throttle_t capped(options, third);
  feed(capped, 0, 10);
  CHECK(capped.rejection_probability() == 0.8);
}

// Envoy's rps_threshold: no rejection while requests / window (in seconds) is below it.
// 10 s window, threshold 2/s: 19 requests are 1.9/s (0); 20 are 2/s: 20/21 (K x 0 accepts).
TEST_CASE("adaptive_throttle does not reject below Envoy's rps_threshold", "[bulkhead]") {
  bulwark::manual_clock clock;
  throttle_t throttle({.window = 10s, .rps_threshold = 2.0, .seed = 3}, clock);
  feed(throttle, 0, 19);
  CHECK(throttle.rejection_probability() == 0.0);
  feed(throttle, 0, 1);
  CHECK(throttle.rejection_probability() == Approx(20.0 / 21.0).epsilon(1e-12));
}

TEST_CASE("adaptive_throttle forgets requests older than its window", "[bulkhead]") {
  bulwark::manual_clock clock;
  throttle_t throttle({.window = 10s, .bucket = 1s, .seed = 5}, clock);
  feed(throttle, 2, 0);  // in the bucket of t = 0
  clock.advance(6s);
  feed(throttle, 0, 4);  // in the bucket of t = 6 s
  CHECK(throttle.counts().requests == 6);
  // (6 - 2 x 2) / 7.
  CHECK(throttle.rejection_probability() == Approx(2.0 / 7.0).epsilon(1e-12));
  clock.advance(3s + 999ms);  // t = 9.999 s: the first bucket is still inside
  CHECK(throttle.counts().requests == 6);
  clock.advance(1ms);  // t = 10 s: it has left
  CHECK(throttle.counts().requests == 4);
  CHECK(throttle.counts().accepts == 0);
  // (4 - 0) / 5.
  CHECK(throttle.rejection_probability() == Approx(4.0 / 5.0).epsilon(1e-12));
  clock.advance(6s);  // t = 16 s: the second has left too
  CHECK(throttle.rejection_probability() == 0.0);
  clock.advance(1h);  // everything has left, and the stale buckets are reset on use
  CHECK(throttle.counts().requests == 0);
  feed(throttle, 0, 1);
  CHECK(throttle.counts().requests == 1);
  CHECK(throttle.rejection_probability() == Approx(0.5).epsilon(1e-12));
}

// The refusals are Bernoulli draws with the probability of each call: over N calls their count
// has mean sum(p_i) and variance sum(p_i (1 - p_i)) (a Poisson binomial). With the cap at 0.5
// and no accepts p_i = 0.5 from the second call on, so 10000 calls give 5000 +- 50 (one
// sigma); the test allows 5 sigma, a false failure once in 1.7 million seeds.
TEST_CASE("adaptive_throttle refuses at its computed probability (seeded, 10000 draws)",
          "[bulkhead]") {
  bulwark::manual_clock clock;
  throttle_t throttle({.max_rejection_probability = 0.5, .seed = 42}, clock);
  double mean = 0, variance = 0;
  int refused = 0;
  for (int i = 0; i < 10000; ++i) {
    const double p = throttle.rejection_probability();
    mean += p;
    variance += p * (1 - p);
    auto permit = throttle.try_acquire();
    if (!permit) ++refused;
  }
  CHECK(mean == Approx(4999.5));
  CHECK(std::abs(refused - mean) <= 5 * std::sqrt(variance));
  CHECK(throttle.metrics().throttled == static_cast<std::uint64_t>(refused));
}

TEST_CASE("adaptive_throttle's seeded draws repeat exactly", "[bulkhead]") {
  const auto run = [] {
    bulwark::manual_clock clock;
    throttle_t throttle({.seed = 9}, clock);
    std::string decisions;
    for (int i = 0; i < 200; ++i)
      decisions += throttle.try_acquire() ? '1' : '0';
    return decisions;
  };
  const std::string first = run();
  CHECK(first == run());
  CHECK(first.find('0') != std::string::npos);  // p rose, some were refused
}

TEST_CASE("adaptive_throttle's permits, execute and metrics", "[bulkhead]") {
  bulwark::manual_clock clock;
  throttle_t throttle({.accept_on =
                           [](const std::exception_ptr& e) {
                             try {
                               std::rethrow_exception(e);
                             } catch (const std::domain_error&) {
                               return true;  // an application error: the backend answered
                             } catch (...) {
                               return false;
                             }
                           },
                       .seed = 11},
                      clock);
  CHECK(throttle.execute([](int x) { return x + 1; }, 1) == 2);
  CHECK_THROWS_AS(throttle.execute([] { throw std::domain_error{"404"}; }), std::domain_error);
  CHECK_THROWS_AS(throttle.execute([] { throw std::runtime_error{"503"}; }), std::runtime_error);
  CHECK(throttle.execute_with([](int r) { return r != 503; }, [] { return 503; }) == 503);
  {
    auto unreported = throttle.try_acquire();  // dropped without a report: a rejection
    REQUIRE(unreported);
  }
  auto m = throttle.metrics();
  CHECK(m.requests == 5);
  CHECK(m.accepts == 2);
  CHECK(m.rejects == 3);
  CHECK(m.throttled == 0);
  // 5 requests, 2 accepts: (5 - 4) / 6.
  CHECK(m.rejection_probability == Approx(1.0 / 6.0).epsilon(1e-12));

  // Once the backend refuses everything, p nears the cap and execute throws bulwark::rejected.
  bool threw = false;
  for (int i = 0; i < 200 && !threw; ++i) {
    try {
      throttle.execute_with([](int) { return false; }, [] { return 0; });
    } catch (const bulwark::rejected& e) {
      threw = true;
      CHECK(std::string{e.what()} == "bulwark::adaptive_throttle: throttled");
    }
  }
  CHECK(threw);
  CHECK(throttle.metrics().throttled == 1);
}

TEST_CASE("adaptive_throttle rejects bad options by name", "[bulkhead]") {
  const auto message = [](bulwark::adaptive_throttle_options o) {
    try {
      throttle_t t(std::move(o), bulwark::manual_clock{});
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{"no error"};
  };
  CHECK(message({.k = 0.5}) == "bulwark::adaptive_throttle: k must be in [1, 1000] (got 0.5)");
  CHECK(message({.aggression = 0.5}) ==
        "bulwark::adaptive_throttle: aggression must be in [1, 100] (got 0.5)");
  CHECK(message({.max_rejection_probability = 1.5}) ==
        "bulwark::adaptive_throttle: max_rejection_probability must be in [0, 1] (got 1.5)");
  CHECK(message({.sr_threshold = 0.0}) ==
        "bulwark::adaptive_throttle: sr_threshold must be in [0.01, 1] (got 0)");
  CHECK(message({.k = 3, .sr_threshold = 0.9}) ==
        "bulwark::adaptive_throttle: k must be left at 2 when sr_threshold is set (got 3)");
  CHECK(message({.window = 10s, .bucket = 3s}) ==
        "bulwark::adaptive_throttle: bucket must be a divisor of window, at most 3600 buckets "
        "(got 3s)");
  CHECK(message({.window = 500ms}) ==
        "bulwark::adaptive_throttle: window must be in [1s, 1h] (got 500ms)");
  CHECK(message({.rps_threshold = -1}) ==
        "bulwark::adaptive_throttle: rps_threshold must be in [0, 1e+09] (got -1)");
  CHECK(message({}) == "no error");
}

// The SRE book's formula (Google SRE book, "Handling Overload", client-side throttling) under
// threads, across bucket rotations. A barrier's completion step moves the manual clock between
// rounds (0 to 2.5 s, seeded), so no report races a boundary (the approximation documented in
// adaptive_throttle.hpp never applies) and the window's counts must be exact: the requests and
// accepts reported in the rounds whose second lies in the last 10 s (the 10 buckets of 1 s).
// Inside, every probability read is in [0, 0.6] (Envoy's max_rejection_probability cap). At the
// end the probability is, by the formula from those counts, min(0.6, (n - 2a) / (n + 1)).
TEST_CASE("adaptive_throttle's window counts stay exact under threads across rotations",
          "[bulkhead]") {
  constexpr int threads = 4;
  constexpr int rounds = 60;
  constexpr int per_round = 20;
  constexpr double cap = 0.6;
  bulwark::manual_clock clock;
  throttle_t throttle({.window = 10s, .bucket = 1s, .max_rejection_probability = cap, .seed = 11},
                      clock);
  std::vector<bulwark::time_point> round_time(rounds);
  int round = 0;
  bulwark::fast_rng steps{42};
  auto rotate = [&]() noexcept {
    clock.advance(250ms * static_cast<int>(bulwark::uniform_below(steps, 11)));
    round_time[static_cast<std::size_t>(round++)] = clock.now();
  };
  std::barrier sync{threads, rotate};
  // Per thread and round: requests (try_acquire calls) and accepts reported.
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> reported(
      threads, std::vector<std::pair<std::uint64_t, std::uint64_t>>(rounds));
  std::atomic<int> out_of_range{0};
  std::atomic<int> at_cap{0};

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      bulwark::fast_rng rng{100 + static_cast<std::uint64_t>(t)};
      for (std::size_t r = 0; r < rounds; ++r) {
        sync.arrive_and_wait();
        auto& [requests, accepts] = reported[static_cast<std::size_t>(t)][r];
        for (int i = 0; i < per_round; ++i) {
          const double p = throttle.rejection_probability();
          if (!(p >= 0.0 && p <= cap)) ++out_of_range;
          if (p == cap) ++at_cap;
          auto permit = throttle.try_acquire();
          ++requests;
          // The backend accepts one in ten: p would pass the cap without it.
          if (permit && bulwark::bernoulli(rng, 0.1)) {
            permit.accepted();
            ++accepts;
          }
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();

  const auto second = [](bulwark::time_point at) { return at.time_since_epoch() / 1s; };
  const auto now = second(clock.now());
  std::uint64_t n = 0;
  std::uint64_t a = 0;
  std::uint64_t all_requests = 0;
  std::uint64_t all_accepts = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (const auto& per_thread : reported) {
      all_requests += per_thread[r].first;
      all_accepts += per_thread[r].second;
      if (now - second(round_time[r]) < 10) {
        n += per_thread[r].first;
        a += per_thread[r].second;
      }
    }
  }
  CHECK(second(round_time.back()) - second(round_time.front()) > 10);  // it did rotate
  CHECK(throttle.counts().requests == n);
  CHECK(throttle.counts().accepts == a);
  const double expected = std::min(cap, (static_cast<double>(n) - 2.0 * static_cast<double>(a)) /
                                            (static_cast<double>(n) + 1.0));
  CHECK(throttle.rejection_probability() == Approx(std::max(0.0, expected)).epsilon(1e-12));
  CHECK(out_of_range.load() == 0);
  CHECK(at_cap.load() > 0);
  const auto m = throttle.metrics();
  CHECK(m.requests == all_requests);
  CHECK(m.accepts == all_accepts);
  CHECK(m.requests == m.throttled + m.accepts + m.rejects);  // each request ends one way
}
