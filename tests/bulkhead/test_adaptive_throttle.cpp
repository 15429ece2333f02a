#include <bulwark/bulkhead/adaptive_throttle.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

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
