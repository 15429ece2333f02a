// Live reconfiguration of the lock-free limiters (detail::cas_limiter): the state is kept, the
// new options decide from the next call on, bad options change nothing.

#include <atomic>
#include <bulwark/rate_limit/fixed_window.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/keyed_limiter.hpp>
#include <bulwark/rate_limit/leaky_bucket.hpp>
#include <bulwark/rate_limit/sliding_window_counter.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;

namespace {
// The message a call throws (std::invalid_argument), or "" if it does not throw.
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("gcra keeps its TAT across a rate change: the debt is kept as time", "[rate_limit]") {
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 4}, clock);  // T = 100ms
  for (int i = 0; i < 4; ++i)
    REQUIRE(limiter.try_acquire());
  // TAT = now + 400ms. At 20/s (T = 50ms), burst 4: tau = 200ms; the 400ms backlog is 8 units
  // of the new rate, so nothing until TAT - tau + T = 250ms from now.
  limiter.reconfigure({.rate = bulwark::per_second(20), .burst = 4});
  CHECK(limiter.options().rate == bulwark::per_second(20));
  CHECK(limiter.emission_interval() == 50ms);
  CHECK_FALSE(limiter.try_acquire());
  CHECK(limiter.time_until_available() == 250ms);
  clock.advance(250ms);
  CHECK(limiter.try_acquire());  // TAT = now + 200ms = tau
  CHECK_FALSE(limiter.try_acquire());
  // A larger burst gives room at once against the same TAT: tau = 10 x 50ms = 500ms.
  limiter.reconfigure({.rate = bulwark::per_second(20), .burst = 10});
  CHECK(limiter.available() == 6);  // (500 - 200) / 50
}

TEST_CASE("token_bucket keeps its zero time: tokens re-valued at the new rate", "[rate_limit]") {
  manual_clock clock;
  bulwark::token_bucket limiter({.rate = bulwark::per_second(10), .capacity = 10}, clock);
  REQUIRE(limiter.try_acquire(10));
  clock.advance(300ms);  // 3 tokens at 10/s
  REQUIRE(limiter.available() == 3);
  // Z stays; at 100/s the 300ms since Z are 30 tokens, capped by the capacity.
  limiter.reconfigure({.rate = bulwark::per_second(100), .capacity = 20});
  CHECK(limiter.available() == 20);
  // Shrinking the capacity caps the bucket at once.
  limiter.reconfigure({.rate = bulwark::per_second(100), .capacity = 5});
  CHECK(limiter.available() == 5);
  CHECK(message_of([&] { static_cast<void>(limiter.try_acquire(6)); }) ==
        "bulwark::token_bucket: cost must be in [1, 5] (got 6)");
}

TEST_CASE("leaky_bucket keeps its drain time across a change", "[rate_limit]") {
  manual_clock clock;
  bulwark::leaky_bucket limiter({.rate = bulwark::per_second(10), .capacity = 5}, clock);
  REQUIRE(limiter.try_acquire_for(1, 1s));  // released at once; drains at +100ms
  REQUIRE(limiter.try_acquire_for(3, 1s));  // sleeps (advances the clock) 100ms; drains at +400ms
  limiter.reconfigure({.rate = bulwark::per_second(100), .capacity = 5});
  // D is where it was: the queue ahead still takes until then, and at T = 10ms its 300ms are
  // 30 units, more than the new capacity: refused until it has drained to 4 units' worth.
  CHECK(limiter.time_until_available() == 300ms);
  CHECK_FALSE(limiter.try_acquire_for(1, 1s));
  clock.advance(260ms);
  CHECK(limiter.try_acquire_for(1, 1s));  // 40ms queued + 10ms = 50ms = capacity x T
}

TEST_CASE("fixed_window keeps the count of its window, the limit applies to it at once",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::fixed_window limiter({.limit = 10, .window = 1s}, clock);
  REQUIRE(limiter.try_acquire(6));
  limiter.reconfigure({.limit = 5, .window = 1s});
  CHECK_FALSE(limiter.try_acquire());  // 6 counted >= 5: full until the next window
  CHECK(limiter.available() == 0);
  limiter.reconfigure({.limit = 8, .window = 1s});
  CHECK(limiter.available() == 2);
  CHECK(limiter.try_acquire(2));
}

TEST_CASE(
    "structural and invalid options are refused with the constructor's message, changing "
    "nothing",
    "[rate_limit]") {
  manual_clock clock;
  bulwark::fixed_window window({.limit = 10, .window = 1s}, clock);
  REQUIRE(window.try_acquire(3));
  CHECK(message_of([&] { window.reconfigure({.limit = 10, .window = 2s}); }) ==
        "bulwark::fixed_window: option 'window' cannot change on reconfigure (was 1s, got 2s)");
  CHECK(message_of([&] { window.reconfigure({.limit = 0, .window = 1s}); }) ==
        message_of([&] { bulwark::fixed_window<manual_clock> w({.limit = 0}, clock); }));
  CHECK(window.options().limit == 10);
  CHECK(window.available() == 7);

  bulwark::sliding_window_counter sliding({.limit = 10, .window = 1s}, clock);
  CHECK(message_of([&] { sliding.check_reconfigure({.limit = 10, .window = 500ms}); }) ==
        "bulwark::sliding_window_counter: option 'window' cannot change on reconfigure (was 1s, "
        "got 500ms)");
  CHECK(message_of([&] { sliding.check_reconfigure({.limit = 20, .window = 1s}); }).empty());
  CHECK(sliding.options().limit == 10);  // check_reconfigure changes nothing

  bulwark::gcra g({.rate = bulwark::per_second(10), .burst = 2}, clock);
  const std::string bad_burst = message_of([&] { g.reconfigure({.burst = 0}); });
  CHECK(bad_burst == message_of([&] { bulwark::gcra<manual_clock> x({.burst = 0}, clock); }));
  CHECK(bad_burst.find("burst") != std::string::npos);
  CHECK(g.options().burst == 2);
  CHECK(g.emission_interval() == 100ms);
}

TEST_CASE("a cost checked against the rule the decision reads", "[rate_limit]") {
  manual_clock clock;
  bulwark::gcra g({.rate = bulwark::per_second(10), .burst = 5}, clock);
  CHECK(g.try_acquire(5));
  g.reconfigure({.rate = bulwark::per_second(10), .burst = 2});
  CHECK(message_of([&] { static_cast<void>(g.try_acquire(3)); }) ==
        "bulwark::gcra: cost must be in [1, 2] (got 3)");
  CHECK(message_of([&] { static_cast<void>(g.time_until_available(3)); }) ==
        "bulwark::gcra: cost must be in [1, 2] (got 3)");
}

TEST_CASE("reconfigure under concurrent callers never admits more than either setting allows",
          "[rate_limit]") {
  // The clock stands still, so no capacity is ever added: a GCRA started full admits at most
  // `burst` units whatever interleaving, and a switch between bursts 8 and 16 at the same rate
  // can at most let the larger burst through (the TAT is shared, the room is tau - backlog).
  manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(1000), .burst = 8}, clock);
  std::atomic<std::uint64_t> admitted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) {
      }
      for (int i = 0; i < 2000; ++i)
        if (limiter.try_acquire()) admitted.fetch_add(1);
    });
  }
  go.store(true);
  for (int i = 0; i < 200; ++i)
    limiter.reconfigure({.rate = bulwark::per_second(1000), .burst = i % 2 == 0 ? 16u : 8u});
  for (auto& thread : threads)
    thread.join();
  CHECK(admitted.load() <= 16);
  CHECK(admitted.load() >= 8);
  CHECK(limiter.metrics().admitted == admitted.load());
}

TEST_CASE("keyed_limiter reconfigures every key, inline (gcra) and on the heap (fixed_window)",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, int> inline_keys(
      {.rate = bulwark::per_second(10), .burst = 2}, {}, clock);
  REQUIRE(inline_keys.try_acquire(1));
  REQUIRE(inline_keys.try_acquire(1));
  REQUIRE_FALSE(inline_keys.try_acquire(1));
  inline_keys.reconfigure({.rate = bulwark::per_second(10), .burst = 4});
  // The key's TAT (now + 200ms) is kept; tau is now 400ms: room for two more units.
  CHECK(inline_keys.try_acquire(1));
  CHECK_FALSE(inline_keys.try_acquire(1, 2));
  CHECK(inline_keys.try_acquire(1));
  CHECK_FALSE(inline_keys.try_acquire(1));
  CHECK(inline_keys.per_key_options().burst == 4);

  bulwark::keyed_limiter<bulwark::fixed_window<manual_clock>, int> heap_keys(
      {.limit = 5, .window = std::chrono::seconds{1}}, {}, clock);
  REQUIRE(heap_keys.try_acquire(7, 4));
  heap_keys.reconfigure({.limit = 3, .window = std::chrono::seconds{1}});
  CHECK_FALSE(heap_keys.try_acquire(7));  // key 7 kept its count of 4 > 3
  CHECK(heap_keys.try_acquire(8, 3));     // a new key gets the new limit
  CHECK(message_of([&] { static_cast<void>(heap_keys.try_acquire(9, 4)); }) ==
        "bulwark::fixed_window: cost must be in [1, 3] (got 4)");
  CHECK(
      message_of([&] { heap_keys.reconfigure({.limit = 3, .window = std::chrono::seconds{2}}); }) ==
      "bulwark::fixed_window: option 'window' cannot change on reconfigure (was 1s, got 2s)");
  CHECK(heap_keys.per_key_options().window == std::chrono::seconds{1});
}
