#include <bulwark/rate_limit/smooth_warmup.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::smooth_warmup;

namespace {

// Guava's acquire(): waits as long as it must, returns the wait. try_acquire_for with a long
// timeout is that.
std::vector<bulwark::duration> acquire_n(smooth_warmup<manual_clock>& limiter, manual_clock& clock,
                                         int n) {
  std::vector<bulwark::duration> waits;
  for (int i = 0; i < n; ++i) {
    const auto before = clock.now();
    REQUIRE(limiter.try_acquire_for(1, 1h));
    waits.push_back(clock.now() - before);
  }
  return waits;
}

}  // namespace

TEST_CASE("smooth_warmup reproduces Guava's RateLimiterTest.testWarmUp", "[rate_limit]") {
  // RateLimiter.create(2.0, 4000ms): stable 500ms, cold 1500ms, threshold 4, max 8 permits,
  // slope 250ms per permit. Guava's expected events:
  //   R0.00, R1.38, R1.13, R0.88, R0.63, R0.50, R0.50, R0.50   (cold start)
  //   U0.50 U4.00 -> the same again (cold again)
  //   U0.50 U2.00 -> R0.00, R0.50 x 7 (only 4 permits stored: not cold)
  // The exact waits: the trapezoids (1.5 + 1.25)/2, (1.25 + 1)/2, (1 + 0.75)/2, (0.75 + 0.5)/2.
  manual_clock clock;
  smooth_warmup limiter({.rate = bulwark::per_second(2), .warmup_period = 4s}, clock);
  CHECK(limiter.max_permits() == 8.0);
  const std::vector<bulwark::duration> cold{0ms, 1375ms, 1125ms, 875ms, 625ms, 500ms, 500ms, 500ms};
  CHECK(acquire_n(limiter, clock, 8) == cold);
  clock.advance(500ms);
  clock.advance(4s);
  CHECK(acquire_n(limiter, clock, 8) == cold);
  clock.advance(500ms);
  clock.advance(2s);
  const std::vector<bulwark::duration> warm{0ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms};
  CHECK(acquire_n(limiter, clock, 8) == warm);
}

TEST_CASE("smooth_warmup try_acquire follows Guava's pay-later rule", "[rate_limit]") {
  manual_clock clock;
  smooth_warmup limiter({.rate = bulwark::per_second(2), .warmup_period = 4s}, clock);
  CHECK(limiter.available() == 8);  // starts cold: max_permits stored
  CHECK(limiter.try_acquire());     // free now; the next waits 1375ms for it
  CHECK_FALSE(limiter.try_acquire());
  CHECK(limiter.time_until_available() == 1375ms);
  CHECK(limiter.available() == 0);
  clock.advance(1375ms);
  CHECK(limiter.try_acquire(100));  // any cost is admitted; the next caller pays for it
  // 7 stored: the 3 above the threshold cost 1125 + 875 + 625 ms, the 4 below 500ms each, and
  // the 93 fresh ones 500ms each: 2625ms + 97 x 500ms.
  CHECK(limiter.time_until_available() == 2625ms + 97 * 500ms);
  clock.advance(-1s);  // a clock that goes back stores nothing
  CHECK(limiter.time_until_available() == 2625ms + 97 * 500ms + 1s);
}

TEST_CASE("smooth_warmup refuses bad options", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { smooth_warmup s({.warmup_period = 0s}); }) ==
        "bulwark::smooth_warmup: warmup_period must be > 0 (got 0s)");
  CHECK(message_of([] { smooth_warmup s({.cold_factor = 0.5}); }) ==
        "bulwark::smooth_warmup: cold_factor must be in [1, 1000000] (got 0.5)");
  smooth_warmup limiter({});
  CHECK(message_of([&] { (void)limiter.try_acquire(0); }) ==
        "bulwark::smooth_warmup: cost must be in [1, 4294967295] (got 0)");
}
