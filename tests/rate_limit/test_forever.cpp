// A window of duration::max() means "limit per forever", and a GCRA period near the largest
// the options accept (2^62 ns) is one admission per 146 years: both used to overflow a time sum
// and then admit everything (or, for the counter, make time_until_available spin forever).

#include <bulwark/rate_limit/fixed_window.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/sliding_window_counter.hpp>
#include <bulwark/rate_limit/sliding_window_log.hpp>
#include <bulwark/rate_limit/smooth_warmup.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstdint>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::manual_clock;
using bulwark::time_point;

namespace {
constexpr duration years_200 = std::chrono::hours{24 * 365 * 200};
}  // namespace

TEST_CASE("sliding_window_log with a window of duration max never forgets", "[rate_limit]") {
  manual_clock clock;
  bulwark::sliding_window_log log({.limit = 3, .window = duration::max()}, clock);
  CHECK(log.try_acquire(2));
  CHECK(log.try_acquire(1));
  CHECK_FALSE(log.try_acquire(1));
  // The oldest entry (age 0) leaves the window after window - age = duration::max().
  CHECK(log.time_until_available(1) == duration::max());
  clock.advance(years_200);
  CHECK_FALSE(log.try_acquire(1));
  CHECK(log.available() == 0);
  CHECK(log.time_until_available(1) == duration::max() - years_200);
  CHECK_FALSE(log.try_acquire_for(1, 1h));
}

TEST_CASE("sliding_window_counter with a window of duration max answers and refuses",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::sliding_window_counter counter({.limit = 2, .window = duration::max()}, clock);
  CHECK(counter.try_acquire(2));
  CHECK_FALSE(counter.try_acquire(1));
  // Cloudflare's estimate previous x (W - e) / W + current: now is in window 0 (floor(now / W)),
  // with current = 2, so 1 more never fits in it; the wait is (W - e) to the next window plus
  // the decay point there, W x (1 - 1/2): more than duration::max() in all, so it saturates.
  CHECK(counter.time_until_available(1) == duration::max());
  clock.advance(years_200);
  CHECK_FALSE(counter.try_acquire(1));
  CHECK(counter.available() == 0);
  // Now W - e + W x (1 - 1/2) is in range: (2^63 - 1 - now) + 2^62, W/2 rounding up to 2^62
  // as the counter's double arithmetic does (W is 2^63 as a double).
  const auto now = clock.now().time_since_epoch();
  CHECK(counter.time_until_available(1) == duration::max() - now + duration{std::int64_t{1} << 62});
}

TEST_CASE("fixed_window with a window of duration max counts once per forever", "[rate_limit]") {
  manual_clock clock;
  bulwark::fixed_window window({.limit = 2, .window = duration::max()}, clock);
  CHECK(window.try_acquire(2));
  CHECK_FALSE(window.try_acquire(1));
  clock.advance(years_200);
  CHECK_FALSE(window.try_acquire(1));
  // The next window starts at 1 x W = duration::max() after the epoch.
  CHECK(window.time_until_available(1) ==
        duration::max() - (manual_clock::default_start + years_200).time_since_epoch());
}

// ITU-T I.371 Annex A, virtual scheduling: with T = 2^62 ns and tau = burst x T = 2^62 ns, the
// first request sets TAT = t + T; a second at t is refused because TAT + T - t = 2^63 > tau,
// and would be admitted at TAT + T - tau = t + 2^62. Before, TAT + T wrapped negative and every
// request passed.
TEST_CASE("gcra with a period of 2 to the 62 ns admits once per period", "[rate_limit]") {
  constexpr duration period{std::int64_t{1} << 62};
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per(1, period), .burst = 1}, clock);
  CHECK(limiter.try_acquire());
  CHECK_FALSE(limiter.try_acquire());
  CHECK(limiter.time_until_available() == period);
  clock.advance(years_200 / 2);
  CHECK_FALSE(limiter.try_acquire());
  CHECK(limiter.time_until_available() == period - years_200 / 2);
  CHECK_FALSE(limiter.try_acquire_for(1, 1h));
  clock.advance(period - years_200 / 2);
  CHECK(limiter.try_acquire());
  CHECK_FALSE(limiter.try_acquire());
}

// The same formulas with T = 100ms, tau = 300ms, at a clock 250ms before time_point::max():
// TATs t + 100ms, t + 200ms, then t + 300ms, which is past the end and saturates; a fourth is
// refused (backlog 250ms + T > tau) rather than seeing a wrapped TAT in the far past.
TEST_CASE("gcra near the end of the clock's range refuses instead of wrapping", "[rate_limit]") {
  manual_clock clock{time_point::max() - 250ms};
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 3}, clock);
  CHECK(limiter.try_acquire());
  CHECK(limiter.try_acquire());
  CHECK(limiter.try_acquire());
  CHECK_FALSE(limiter.try_acquire());
  CHECK(limiter.available() == 0);
}

// A clock at either end of its range: the bucket's "full since" point (now - depth) and the
// warm-up's stored permits (now - next_free) used to be plain sums that overflow there.
TEST_CASE("token_bucket and smooth_warmup at the ends of the clock's range keep their bounds",
          "[rate_limit]") {
  for (const time_point start : {time_point::min() + 10s, time_point::max() - 10s}) {
    manual_clock clock{start};
    bulwark::token_bucket bucket({.rate = bulwark::per_second(10), .capacity = 3}, clock);
    CHECK(bucket.try_acquire(3));  // starts full: capacity 3
    CHECK_FALSE(bucket.try_acquire());
    clock.advance(100ms);  // one token per 100 ms
    CHECK(bucket.try_acquire());
    CHECK_FALSE(bucket.try_acquire());

    manual_clock warm_clock{start};
    // The warm-up decides at either end exactly as it does at an ordinary time.
    manual_clock ordinary_clock;
    const bulwark::smooth_warmup_options warm{.rate = bulwark::per_second(10), .warmup_period = 1s};
    bulwark::smooth_warmup warmup(warm, warm_clock);
    bulwark::smooth_warmup ordinary(warm, ordinary_clock);
    for (int step = 0; step < 40; ++step) {
      CHECK(warmup.try_acquire() == ordinary.try_acquire());
      warm_clock.advance(37ms);
      ordinary_clock.advance(37ms);
    }
  }
}
