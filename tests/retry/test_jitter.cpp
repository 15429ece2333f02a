#include <bulwark/core/random.hpp>
#include <bulwark/retry/jitter.hpp>
#include <chrono>
#include <cstdint>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;

namespace {

constexpr int samples = 100'000;

template <class Draw>
double mean_ns(Draw draw) {
  double sum = 0;
  for (int i = 0; i < samples; ++i)
    sum += static_cast<double>(draw().count());
  return sum / samples;
}

}  // namespace

TEST_CASE("full jitter stays between 0 and d and averages d/2", "[retry]") {
  bulwark::fast_rng rng{1};
  const duration d = 1s;
  const double mean = mean_ns([&] {
    const duration x = bulwark::full_jitter(d, rng);
    REQUIRE(x >= 0ns);
    REQUIRE(x <= d);
    return x;
  });
  CHECK(mean == Approx(0.5e9).epsilon(0.02));
}

TEST_CASE("equal jitter stays between d/2 and d and averages 3d/4", "[retry]") {
  bulwark::fast_rng rng{2};
  const duration d = 800ms;
  const double mean = mean_ns([&] {
    const duration x = bulwark::equal_jitter(d, rng);
    REQUIRE(x >= d / 2);
    REQUIRE(x <= d);
    return x;
  });
  CHECK(mean == Approx(600e6).epsilon(0.02));
}

TEST_CASE("decorrelated jitter draws between base and 3 * previous, capped", "[retry]") {
  bulwark::fast_rng rng{3};
  SECTION("one step from a given previous delay averages (base + 3p) / 2") {
    const double mean = mean_ns([&] {
      const duration x = bulwark::decorrelated_jitter(100ms, 1s, 10s, rng);
      REQUIRE(x >= 100ms);
      REQUIRE(x <= 3s);
      return x;
    });
    CHECK(mean == Approx((100e6 + 3e9) / 2).epsilon(0.02));
  }
  SECTION("the first retry (previous zero) starts from base: [base, 3 * base]") {
    const double mean = mean_ns([&] {
      const duration x = bulwark::decorrelated_jitter(100ms, 0ns, 10s, rng);
      REQUIRE(x >= 100ms);
      REQUIRE(x <= 300ms);
      return x;
    });
    CHECK(mean == Approx(200e6).epsilon(0.02));
  }
  SECTION("the cap bounds every draw, even a cap below the base") {
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(bulwark::decorrelated_jitter(100ms, 5s, 2s, rng) <= 2s);
      REQUIRE(bulwark::decorrelated_jitter(1s, 0ns, 300ms, rng) == 300ms);
    }
  }
  SECTION("a previous delay near duration::max saturates instead of overflowing") {
    const duration x = bulwark::decorrelated_jitter(1s, duration::max() / 2, duration::max(), rng);
    CHECK(x >= 1s);
  }
}

TEST_CASE("proportional jitter stays within d * (1 +- factor) and averages d", "[retry]") {
  bulwark::fast_rng rng{4};
  const double factor = GENERATE(0.2, 0.5, 1.0);
  const duration d = 2s;
  const double mean = mean_ns([&] {
    const duration x = bulwark::proportional_jitter(d, factor, rng);
    REQUIRE(static_cast<double>(x.count()) >= 2e9 * (1 - factor) - 1);
    REQUIRE(static_cast<double>(x.count()) <= 2e9 * (1 + factor));
    return x;
  });
  CHECK(mean == Approx(2e9).epsilon(0.02));
}

TEST_CASE("jitter draws are bulwark's uniform_below, so a seed gives the same delays everywhere",
          "[retry]") {
  // Derived from the definitions: full = uniform_below(d + 1) ns; equal = d/2 + uniform_below(
  // d - d/2 + 1); decorrelated = base + uniform_below(3p - base + 1).
  bulwark::fast_rng a{99}, b{99};
  for (int i = 0; i < 100; ++i) {
    CHECK(bulwark::full_jitter(999ns, a).count() ==
          static_cast<std::int64_t>(bulwark::uniform_below(b, 1000)));
    CHECK(bulwark::equal_jitter(1001ns, a).count() ==
          500 + static_cast<std::int64_t>(bulwark::uniform_below(b, 502)));
    CHECK(bulwark::decorrelated_jitter(10ns, 40ns, 1s, a).count() ==
          10 + static_cast<std::int64_t>(bulwark::uniform_below(b, 111)));
  }
}

TEST_CASE("zero delays stay zero under every jitter", "[retry]") {
  bulwark::fast_rng rng{5};
  CHECK(bulwark::full_jitter(0ns, rng) == 0ns);
  CHECK(bulwark::equal_jitter(0ns, rng) == 0ns);
  CHECK(bulwark::proportional_jitter(0ns, 0.2, rng) == 0ns);
  CHECK(bulwark::decorrelated_jitter(0ns, 0ns, 1s, rng) == 0ns);
}
