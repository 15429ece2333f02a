#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/fixed_window.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::fixed_window;
using bulwark::manual_clock;
using rl_test::play;

TEST_CASE("fixed_window counts per aligned window and resets at each boundary", "[rate_limit]") {
  // 3 per second; the manual clock starts on a whole second, so windows are [k s, (k+1) s).
  manual_clock clock;
  fixed_window window({.limit = 3, .window = 1s}, clock);
  play(window, clock,
       {
           {0ms, 2, true, 0ms},
           {0ms, 1, true, 0ms},
           {0ms, 1, false, 1000ms},  // full until the next window
           {999ms, 1, false, 1ms},
           {1000ms, 3, true, 0ms},  // a new window: the boundary lets 6 through in 1ms
           {1500ms, 1, false, 500ms},
           {2999ms, 1, true, 0ms},      // window 2
           {1999ms, 2, true, 0ms},      // back into window 1: charged to window 2 (now 3)
           {1999ms, 1, false, 1001ms},  // window 2 is full; it ends at 3000
           {3000ms, 3, true, 0ms},
       });
  CHECK(window.available() == 0);
  clock.advance(1s);
  CHECK(window.available() == 3);
}

TEST_CASE("fixed_window refuses bad options and impossible costs", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { fixed_window w({.limit = 0}); }) ==
        "bulwark::fixed_window: limit must be >= 1 (got 0)");
  CHECK(message_of([] { fixed_window w({.window = -5ms}); }) ==
        "bulwark::fixed_window: window must be > 0 (got -5ms)");
  fixed_window window({.limit = 2});
  CHECK(message_of([&] { (void)window.try_acquire(3); }) ==
        "bulwark::fixed_window: cost must be in [1, 2] (got 3)");
}

TEST_CASE("fixed_window try_acquire_for sleeps to the next window", "[rate_limit]") {
  manual_clock clock;
  fixed_window window({.limit = 1, .window = 1s}, clock);
  const auto start = clock.now();
  CHECK(window.try_acquire());
  CHECK_FALSE(window.try_acquire_for(1, 999ms));
  CHECK(window.try_acquire_for(1, 1s));
  CHECK(clock.now() == start + 1s);
}

TEST_CASE("fixed_window under concurrent callers admits at most limit per window", "[rate_limit]") {
  manual_clock clock;
  fixed_window window({.limit = 50, .window = 10ms}, clock);
  const auto start = clock.now();
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{t};
      for (int i = 0; i < 20'000; ++i) {
        if (bulwark::uniform_below(rng, 32) == 0) clock.advance(100us);
        if (window.try_acquire()) admitted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  const auto windows = static_cast<std::uint64_t>((clock.now() - start) / 10ms) + 1;
  CHECK(admitted.load() <= 50 * windows);
}

TEST_CASE("fixed_window acquire_step says when to try again, then admits", "[fixed_window]") {
  manual_clock clock(bulwark::time_point{24h});
  fixed_window window({.limit = 1, .window = 1s}, clock);
  using kind = bulwark::rate_limit_step::kind;
  const auto now = clock.now();
  CHECK(window.acquire_step(1, now, now + 2s).what == kind::admitted);
  const auto step = window.acquire_step(1, now, now + 2s);
  CHECK(step.what == kind::retry);
  CHECK(step.wait == 1s);
  CHECK(window.acquire_step(1, now, now + 500ms).what == kind::refused);
  const auto later = window.acquire_step(1, now + step.wait, now + 2s, true);
  CHECK(later.what == kind::admitted);
  CHECK(window.metrics() == bulwark::rate_limit_metrics{.admitted = 2, .rejected = 1, .waited = 1});
}
