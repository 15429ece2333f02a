// A throwing wait_in_open_function, compiled with -O2 whatever the build type (see
// CMakeLists.txt): g++ 12.2's dead store elimination at -O1/-O2 dropped the fallback of a
// "d = fallback; try { d = f(); } catch (...) {}" pattern, so a throwing function gave the
// 1 ms floor instead of the cap. The Debug suite must run the optimised form to catch that.
//
// The expected values come from the documented contract (docs/circuit_breaker.md, options
// table: a wait function that throws counts as returning max_wait_in_open, truncated to whole
// milliseconds and capped at 365 days), not from running bulwark.
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::circuit_state;

namespace {

// A clock type of this file only: the breaker's member functions are then instantiated with
// internal linkage here, at -O2, and the linker cannot pick another file's -O0 copy instead.
struct o2_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  bulwark::manual_clock inner;
  [[nodiscard]] time_point now() const noexcept { return inner.now(); }
  void sleep_for(duration d) noexcept { inner.sleep_for(d); }
};

using breaker = bulwark::circuit_breaker<o2_clock>;

void fail_once(breaker& b) {
  auto p = b.try_acquire();
  REQUIRE(p);
  p.failure();
}

}  // namespace

TEST_CASE("a throwing wait function waits the default cap of 365 days", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open_function = [](std::uint32_t) -> bulwark::duration {
               throw std::runtime_error{"no wait for you"};
             }},
            o2_clock{clock});
  fail_once(b);
  REQUIRE(b.state() == circuit_state::open);
  // max_wait_in_open is duration::max(): the internal cap, 24 * 365 hours.
  CHECK(b.retry_after() == std::chrono::hours{24 * 365});
  clock.advance(1ms + 1ns);  // the 1 ms floor a miscompiled fallback gave
  CHECK_FALSE(b.try_acquire());
}

TEST_CASE("a throwing wait function waits max_wait_in_open truncated to ms", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  std::vector<std::uint32_t> asked;
  breaker b({.window_size = 1,
             .minimum_calls = 1,
             .wait_in_open = 1s,
             .max_wait_in_open = 30s + 999us,  // truncated: 30000 ms
             .wait_in_open_function = [&asked](std::uint32_t attempt) -> bulwark::duration {
               asked.push_back(attempt);
               if (attempt >= 2) throw std::runtime_error{"second attempt"};
               return 2s;
             },
             .permitted_calls_in_half_open = 1},
            o2_clock{clock});
  fail_once(b);
  CHECK(b.retry_after() == 2s);
  clock.advance(2s + 1ms);
  fail_once(b);  // the probe fails: attempt 2 throws, so the wait is the cap
  REQUIRE(b.state() == circuit_state::open);
  CHECK(b.retry_after() == 30s);
  clock.advance(30s);
  CHECK_FALSE(b.try_acquire());  // at the deadline itself: still refused
  clock.advance(1ns);
  CHECK(b.try_acquire());
  CHECK(asked == std::vector<std::uint32_t>{1, 2});
}
