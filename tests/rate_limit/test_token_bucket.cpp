#include <algorithm>
#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::token_bucket;
using rl_test::play;

TEST_CASE("token_bucket starts full and refills continuously up to its capacity", "[rate_limit]") {
  // One token per 100ms, at most 3. Worked by hand in tokens: a request of cost c succeeds
  // iff the bucket holds >= c tokens, else it waits for the missing fraction.
  manual_clock clock;
  token_bucket bucket({.rate = bulwark::per_second(10), .capacity = 3}, clock);
  CHECK(bucket.available() == 3);  // full at construction
  play(bucket, clock,
       {
           {0ms, 2, true, 0ms},        // 3 -> 1
           {0ms, 2, false, 100ms},     // 1 token, needs 1 more
           {0ms, 1, true, 0ms},        // 1 -> 0
           {50ms, 1, false, 50ms},     // 0.5 tokens
           {250ms, 2, true, 0ms},      // 2.5 -> 0.5
           {250ms, 1, false, 50ms},    // 0.5 tokens
           {5000ms, 3, true, 0ms},     // idle for long: full (3), not more
           {5000ms, 1, false, 100ms},  // empty
           {4900ms, 1, false, 200ms},  // the clock went back: fewer tokens, never more
           {5100ms, 1, true, 0ms},     // 1 token
       });
  CHECK(bucket.available() == 0);
  clock.advance(250ms);
  CHECK(bucket.available() == 2);
  clock.advance(10s);
  CHECK(bucket.available() == 3);
  CHECK(bucket.options().capacity == 3);
}

TEST_CASE("token_bucket refuses bad options and impossible costs", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { token_bucket b({.capacity = 0}); }) ==
        "bulwark::token_bucket: capacity must be >= 1 (got 0)");
  CHECK(message_of([] { token_bucket b({.rate = bulwark::per(1, 0s)}); }) ==
        "bulwark::token_bucket: rate must be > 0 and at most one per nanosecond (got 1/0s)");
  token_bucket bucket({.capacity = 5});
  CHECK(message_of([&] { (void)bucket.try_acquire(6); }) ==
        "bulwark::token_bucket: cost must be in [1, 5] (got 6)");
}

TEST_CASE("token_bucket try_acquire_for borrows tokens ahead and waits for them", "[rate_limit]") {
  manual_clock clock;
  token_bucket bucket({.rate = bulwark::per_second(10), .capacity = 2}, clock);
  const auto start = clock.now();
  CHECK(bucket.try_acquire(2));
  CHECK(bucket.try_acquire_for(2, 200ms));  // owes 2 tokens: waits 200ms
  CHECK(clock.now() == start + 200ms);
  CHECK_FALSE(bucket.try_acquire());  // the borrowed tokens were spent
  CHECK(bucket.time_until_available(1) == 100ms);
}

namespace {

// A token bucket kept as tokens (in nanoseconds of refill, so exact) and the time they were
// counted at; the tokens at t are min(capacity, tokens + (t - last)), fewer when t < last.
struct reference_bucket {
  std::int64_t interval, depth;
  std::int64_t tokens, last;

  [[nodiscard]] std::int64_t at(std::int64_t t) const {
    return std::min(depth, tokens + (t - last));
  }
  bool try_acquire(std::uint32_t cost, std::int64_t t) {
    const std::int64_t have = at(t);
    if (have < interval * cost) return false;
    tokens = have - interval * cost;
    last = t;
    return true;
  }
  [[nodiscard]] std::int64_t wait(std::uint32_t cost, std::int64_t t) const {
    return std::max<std::int64_t>(interval * cost - at(t), 0);
  }
  [[nodiscard]] std::uint64_t available(std::int64_t t) const {
    const std::int64_t have = at(t);
    return have <= 0 ? 0 : static_cast<std::uint64_t>(have / interval);
  }
};

}  // namespace

TEST_CASE("token_bucket matches a single-threaded reference model on random schedules",
          "[rate_limit]") {
  const std::uint64_t seed = GENERATE(11u, 12u, 13u, 14u);
  bulwark::fast_rng rng{seed};
  const std::uint32_t capacity = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, 10));
  const auto count = 1 + bulwark::uniform_below(rng, 30);
  manual_clock clock;
  token_bucket bucket({.rate = bulwark::per_second(count), .capacity = capacity}, clock);
  const std::int64_t interval = bucket.options().rate.interval().count();
  const auto t_of = [&] { return clock.now().time_since_epoch().count(); };
  reference_bucket model{interval, interval * capacity, interval * capacity, t_of()};
  for (int i = 0; i < 5000; ++i) {
    const auto roll = bulwark::uniform_below(rng, 100);
    const auto step = static_cast<std::int64_t>(bulwark::uniform_below(rng, 80'000'000));
    clock.advance(bulwark::duration{roll < 5 ? -step : roll < 10 ? 20 * step : step});
    const auto cost = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, capacity));
    INFO("step " << i << ", cost " << cost);
    REQUIRE(bucket.time_until_available(cost).count() == model.wait(cost, t_of()));
    REQUIRE(bucket.available() == model.available(t_of()));
    REQUIRE(bucket.try_acquire(cost) == model.try_acquire(cost, t_of()));
  }
}

TEST_CASE(
    "token_bucket under concurrent callers never admits more than capacity + rate x "
    "elapsed",
    "[rate_limit]") {
  manual_clock clock;
  constexpr std::uint32_t capacity = 10;
  token_bucket bucket({.rate = bulwark::per_second(2000), .capacity = capacity}, clock);
  const auto start = clock.now();
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{100 + t};
      std::uint64_t mine = 0;
      for (int i = 0; i < 20'000; ++i) {
        if (bulwark::uniform_below(rng, 8) == 0) clock.advance(50us);
        if (bulwark::uniform_below(rng, 8) == 0) {
          if (bucket.try_acquire_for(2, 1ms)) mine += 2;
        } else if (bucket.try_acquire(1)) {
          mine += 1;
        }
      }
      admitted.fetch_add(mine, std::memory_order_relaxed);
    });
  }
  for (auto& thread : threads)
    thread.join();
  const auto elapsed = clock.now() - start;
  CHECK(admitted.load() <= capacity + static_cast<std::uint64_t>(elapsed / 500us));
}
