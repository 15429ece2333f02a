#include <bulwark/core/random.hpp>
#include <bulwark/retry/backoff.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::backoff;
using bulwark::backoff_kind;
using bulwark::duration;
using bulwark::jitter_kind;

namespace {

std::vector<duration> schedule(const backoff& b, std::uint32_t retries) {
  std::vector<duration> out;
  for (std::uint32_t n = 1; n <= retries; ++n)
    out.push_back(b.schedule(n));
  return out;
}

}  // namespace

TEST_CASE("the three schedules give their defining sequences", "[retry]") {
  SECTION("exponential: base * multiplier^(n-1), capped") {
    const backoff b({.kind = backoff_kind::exponential, .base = 100ms, .cap = 1s});
    CHECK(schedule(b, 6) == std::vector<duration>{100ms, 200ms, 400ms, 800ms, 1s, 1s});
    const backoff triple({.base = 10ms, .multiplier = 3, .cap = 1s});
    CHECK(schedule(triple, 5) == std::vector<duration>{10ms, 30ms, 90ms, 270ms, 810ms});
    const backoff grpc({.base = 1s, .multiplier = 1.6, .cap = 120s});  // gRPC's defaults
    CHECK(schedule(grpc, 3) == std::vector<duration>{1s, 1600ms, 2560ms});
  }
  SECTION("linear: base * n, capped") {
    const backoff b({.kind = backoff_kind::linear, .base = 100ms, .cap = 350ms});
    CHECK(schedule(b, 5) == std::vector<duration>{100ms, 200ms, 300ms, 350ms, 350ms});
  }
  SECTION("constant: base") {
    const backoff b({.kind = backoff_kind::constant, .base = 250ms});
    CHECK(schedule(b, 3) == std::vector<duration>{250ms, 250ms, 250ms});
  }
  SECTION("retry 0 is read as the first retry") {
    CHECK(backoff({.base = 100ms}).schedule(0) == 100ms);
  }
}

TEST_CASE("a cap below the base caps every delay", "[retry]") {
  const auto kind =
      GENERATE(backoff_kind::constant, backoff_kind::linear, backoff_kind::exponential);
  const backoff b({.kind = kind, .base = 1s, .cap = 300ms, .jitter = jitter_kind::none});
  for (std::uint32_t n : {1u, 2u, 10u, 1000u})
    CHECK(b.schedule(n) == 300ms);
}

TEST_CASE("high retry numbers give the cap, never an overflowed delay", "[retry]") {
  bulwark::fast_rng rng{7};
  const auto jitter = GENERATE(jitter_kind::none, jitter_kind::full, jitter_kind::equal,
                               jitter_kind::decorrelated, jitter_kind::proportional);
  const auto kind = GENERATE(backoff_kind::linear, backoff_kind::exponential);
  for (const std::uint32_t n : {1000u, 100'000u, std::numeric_limits<std::uint32_t>::max()}) {
    SECTION("default cap") {
      const backoff b({.kind = kind, .multiplier = 10, .jitter = jitter});
      CHECK(b.schedule(n) == 20s);
      const duration d = b.delay(n, 20s, rng);
      CHECK(d >= 0s);
      CHECK(d <= 24s);  // proportional jitter may exceed the cap by its factor
    }
    SECTION("a cap of duration::max") {
      const backoff b({.kind = kind, .base = 1s, .cap = duration::max(), .jitter = jitter});
      CHECK(b.schedule(n) >= 1s);
      CHECK(b.delay(n, duration::max() / 4, rng) >= 0s);
    }
  }
}

TEST_CASE("a zero base retries at once at any retry number", "[retry]") {
  const backoff b({.base = 0ms, .multiplier = 2});
  CHECK(b.schedule(1) == 0s);
  CHECK(b.schedule(5000) == 0s);  // 0 * inf is NaN in double; it must read as zero
}

TEST_CASE("delay applies the configured jitter to the schedule", "[retry]") {
  bulwark::fast_rng a{11}, b{11};
  SECTION("none is the schedule") {
    const backoff none({.base = 100ms, .jitter = jitter_kind::none});
    CHECK(none.delay(3, 0s, a) == 400ms);
  }
  SECTION("full is uniform_below(schedule + 1)") {
    const backoff full({.base = 100ms});
    CHECK(full.delay(3, 0s, a).count() ==
          static_cast<std::int64_t>(bulwark::uniform_below(b, 400'000'001)));
  }
  SECTION("decorrelated reads the previous delay, not the schedule") {
    const backoff dec({.base = 100ms, .cap = 10s, .jitter = jitter_kind::decorrelated});
    for (int i = 0; i < 1000; ++i) {
      const duration d = dec.delay(1, 2s, a);
      REQUIRE(d >= 100ms);
      REQUIRE(d <= 6s);
    }
  }
}

TEST_CASE("backoff options are validated with the field and value named", "[retry]") {
  CHECK_THROWS_WITH(backoff({.base = -1ms}), "bulwark::backoff: base must be >= 0 (got -1ms)");
  CHECK_THROWS_WITH(backoff({.multiplier = 0.5}),
                    "bulwark::backoff: multiplier must be >= 1 and finite (got 0.5)");
  CHECK_THROWS_WITH(backoff({.multiplier = std::numeric_limits<double>::infinity()}),
                    "bulwark::backoff: multiplier must be >= 1 and finite (got inf)");
  CHECK_THROWS_WITH(backoff({.cap = -2s}), "bulwark::backoff: cap must be >= 0 (got -2s)");
  CHECK_THROWS_WITH(backoff({.jitter_factor = 1.5}),
                    "bulwark::backoff: jitter_factor must be in [0, 1] (got 1.5)");
  CHECK_THROWS_AS(backoff({.multiplier = std::numeric_limits<double>::quiet_NaN()}),
                  std::invalid_argument);
}
