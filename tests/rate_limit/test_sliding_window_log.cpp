#include <algorithm>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/fixed_window.hpp>
#include <bulwark/rate_limit/sliding_window_log.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::sliding_window_log;
using rl_test::play;

TEST_CASE("sliding_window_log admits iff the window holds room, exactly", "[rate_limit]") {
  // 3 per any second. Entries are admission times; cost c fits iff the (3 - c + 1)-th newest
  // entry is at or before t - 1s, and a refusal waits until that entry leaves the window.
  manual_clock clock;
  sliding_window_log log({.limit = 3, .window = 1s}, clock);
  play(log, clock,
       {
           {0ms, 1, true, 0ms},        // entries 0
           {400ms, 1, true, 0ms},      // 0, 400
           {400ms, 1, true, 0ms},      // 0, 400, 400
           {500ms, 1, false, 500ms},   // 3rd newest (0) leaves at 1000
           {1000ms, 1, true, 0ms},     // 0 is out: 400, 400, 1000
           {1000ms, 2, false, 400ms},  // 2nd newest (400) leaves at 1400
           {1400ms, 2, true, 0ms},     // 1000, 1400, 1400
           {1300ms, 1, false, 700ms},  // the clock went back: read as 1400; 1000 leaves at 2000
           {2000ms, 1, true, 0ms},     // 1400, 1400, 2000
       });
  CHECK(log.available() == 0);
  clock.set(manual_clock::default_start + 2400ms);
  CHECK(log.available() == 2);
}

TEST_CASE("sliding_window_log forbids the fixed window's boundary burst", "[rate_limit]") {
  manual_clock clock;
  sliding_window_log log({.limit = 3, .window = 1s}, clock);
  bulwark::fixed_window fixed({.limit = 3, .window = 1s}, clock);
  clock.advance(999ms);
  CHECK(log.try_acquire(3));
  CHECK(fixed.try_acquire(3));
  clock.advance(1ms);  // a new fixed window: 3 more within 1ms; the log refuses until 1999ms
  CHECK(fixed.try_acquire(3));
  CHECK_FALSE(log.try_acquire());
  CHECK(log.time_until_available() == 999ms);
}

TEST_CASE("sliding_window_log refuses bad options and impossible costs", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { sliding_window_log l({.window = 0s}); }) ==
        "bulwark::sliding_window_log: window must be > 0 (got 0s)");
  sliding_window_log log({.limit = 2});
  CHECK(message_of([&] { (void)log.try_acquire(3); }) ==
        "bulwark::sliding_window_log: cost must be in [1, 2] (got 3)");
}

TEST_CASE("sliding_window_log under concurrent callers never exceeds its limit in any window",
          "[rate_limit]") {
  // Phases of virtual time: in each, four threads call at one instant (so every call's reading
  // is that instant); between phases the clock moves by a random step. Afterwards every
  // window [t, t + W) of the admission times is checked.
  constexpr std::uint32_t limit = 16;
  constexpr auto window = 10ms;
  manual_clock clock;
  sliding_window_log log({.limit = limit, .window = window}, clock);
  bulwark::fast_rng rng{7};
  std::mutex record_mutex;
  std::vector<bulwark::time_point> admitted;
  for (int phase = 0; phase < 60; ++phase) {
    clock.advance(
        bulwark::duration{static_cast<std::int64_t>(bulwark::uniform_below(rng, 3'000'000))});
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        bulwark::fast_rng mine{static_cast<std::uint64_t>(phase) * 8 + t};
        for (int i = 0; i < 8; ++i) {
          const auto cost = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(mine, 3));
          const auto now = clock.now();
          if (log.try_acquire(cost, now)) {
            const std::lock_guard lock{record_mutex};
            admitted.insert(admitted.end(), cost, now);
          }
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
  }
  std::sort(admitted.begin(), admitted.end());
  REQUIRE(admitted.size() > 4 * limit);
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    const auto end = std::lower_bound(admitted.begin() + static_cast<std::ptrdiff_t>(i),
                                      admitted.end(), admitted[i] + window);
    CHECK(static_cast<std::size_t>(end - admitted.begin()) - i <= limit);
  }
}
