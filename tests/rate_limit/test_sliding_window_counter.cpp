#include <bulwark/rate_limit/sliding_window_counter.hpp>
#include <chrono>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::sliding_window_counter;
using rl_test::play;

TEST_CASE("sliding_window_counter weights the previous window by its remaining overlap",
          "[rate_limit]") {
  // 10 per second. At e into window k: estimate = previous x (1000 - e) / 1000 + current + c,
  // admitted iff <= 10. Worked by hand; a refusal's wait is the first e' where it fits.
  manual_clock clock;
  sliding_window_counter counter({.limit = 10, .window = 1s}, clock);
  play(counter, clock,
       {
           {0ms, 5, true, 0ms},         // 0 + 0 + 5
           {900ms, 5, true, 0ms},       // 0 + 5 + 5 = 10
           {900ms, 1, false, 200ms},    // 11; next window: 10 x (1000 - e)/1000 + 1 <= 10 at e=100
           {1100ms, 1, true, 0ms},      // 10 x 0.9 + 0 + 1 = 10
           {1100ms, 1, false, 100ms},   // 9 + 1 + 1 = 11; fits at e = 200: 8 + 2
           {1500ms, 4, true, 0ms},      // 10 x 0.5 + 1 + 4 = 10
           {1500ms, 1, false, 100ms},   // 5 + 5 + 1 = 11; fits at e = 600: 4 + 6
           {2500ms, 7, true, 0ms},      // window 2: previous 5: 2.5 + 0 + 7 = 9.5
           {2500ms, 1, false, 100ms},   // 2.5 + 8 = 10.5; fits at e = 600: 2 + 8
           {4000ms, 10, true, 0ms},     // two windows later: nothing counts
           {3000ms, 1, false, 2100ms},  // clock back: still window 4 (10); fits 100ms into 5
       });
}

TEST_CASE("sliding_window_counter refuses bad options and impossible costs", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { sliding_window_counter c({.limit = 1u << 20}); }) ==
        "bulwark::sliding_window_counter: limit must be in [1, 1048575] (got 1048576)");
  sliding_window_counter counter({.limit = 4});
  CHECK(message_of([&] { (void)counter.try_acquire(5); }) ==
        "bulwark::sliding_window_counter: cost must be in [1, 4] (got 5)");
}

TEST_CASE("sliding_window_counter try_acquire_for waits for the weight to decay", "[rate_limit]") {
  manual_clock clock;
  sliding_window_counter counter({.limit = 4, .window = 1s}, clock);
  const auto start = clock.now();
  CHECK(counter.try_acquire(4));
  CHECK(counter.try_acquire_for(1, 2s));  // next window, 4 x (1000 - e)/1000 + 1 <= 4: e = 250
  CHECK(clock.now() == start + 1250ms);
  CHECK(counter.available() == 0);  // 4 x 0.75 + 1 = 4
}
