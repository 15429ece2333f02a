#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/leaky_bucket.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::leaky_bucket;
using bulwark::manual_clock;

TEST_CASE("leaky_bucket releases queued callers at the leak rate and rejects a full queue",
          "[rate_limit]") {
  // One unit leaves every 100ms; the bucket holds 3 units (the one leaving and two waiting).
  // A request of cost c at t starts leaving at s = max(D, t); it fits iff (s - t) + c x T <= 300.
  manual_clock clock;
  leaky_bucket bucket({.rate = bulwark::per_second(10), .capacity = 3}, clock);
  const auto start = clock.now();
  CHECK(bucket.available() == 3);
  CHECK(bucket.try_acquire());        // s = 0, released now; D = 100
  CHECK_FALSE(bucket.try_acquire());  // it would have to wait: refused
  CHECK(bucket.time_until_available() == 100ms);
  CHECK(bucket.available() == 2);
  CHECK(bucket.try_acquire_for(1, 1s));  // s = 100: waits 100ms; D = 200
  CHECK(clock.now() == start + 100ms);
  CHECK(bucket.try_acquire_for(2, 1s));           // at 100: s = 200, 100 + 200 <= 300
  CHECK(clock.now() == start + 200ms);            // D = 400
  CHECK_FALSE(bucket.try_acquire_for(1, 199ms));  // s = 400 is 200ms away: timeout
  CHECK_FALSE(bucket.try_acquire_for(2, 1s));     // 200 + 200 > 300: the queue is full
  CHECK(clock.now() == start + 200ms);            // refusals never wait
  CHECK(bucket.try_acquire_for(1, 1s));           // 200 + 100 <= 300: waits to 400
  CHECK(clock.now() == start + 400ms);            // D = 500
  clock.set(start + 300ms);                       // the clock goes back 100ms
  CHECK(bucket.time_until_available() == 200ms);  // D stays: a longer wait, never shorter
  CHECK(bucket.metrics() == bulwark::rate_limit_metrics{.admitted = 4, .rejected = 3, .waited = 3});
}

TEST_CASE("leaky_bucket execute waits its turn and throws only for a full queue", "[rate_limit]") {
  manual_clock clock;
  leaky_bucket bucket({.rate = bulwark::per_second(10), .capacity = 2}, clock);
  const auto start = clock.now();
  CHECK(bucket.execute([] { return 1; }) == 1);  // s = 0; D = 100
  CHECK(bucket.execute([] { return 2; }) == 2);  // waits 100ms; D = 200
  CHECK(clock.now() == start + 100ms);
  CHECK(bucket.try_acquire(2, clock.now()) == false);  // needs the queue empty
  clock.advance(100ms);
  CHECK(bucket.try_acquire(2));  // D = 400: 200ms of backlog
  try {
    bucket.execute([] { return 3; });  // 200 + 100 > 200: full
    FAIL("execute should have thrown");
  } catch (const bulwark::rate_limited& e) {
    CHECK(e.retry_after() == std::chrono::nanoseconds{100ms});  // then 100 + 100 <= 200
  }
  CHECK(clock.now() == start + 200ms);
}

TEST_CASE("leaky_bucket refuses bad options and impossible costs", "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { leaky_bucket b({.capacity = 0}); }) ==
        "bulwark::leaky_bucket: capacity must be >= 1 (got 0)");
  leaky_bucket bucket({.capacity = 4});
  CHECK(message_of([&] { (void)bucket.try_acquire_for(5, 1s); }) ==
        "bulwark::leaky_bucket: cost must be in [1, 4] (got 5)");
}

TEST_CASE("leaky_bucket under concurrent callers spaces admissions by the leak interval",
          "[rate_limit]") {
  manual_clock clock;
  leaky_bucket bucket({.rate = bulwark::per_second(1000), .capacity = 5}, clock);
  const auto start = clock.now();
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{t};
      for (int i = 0; i < 20'000; ++i) {
        if (bulwark::uniform_below(rng, 16) == 0) clock.advance(100us);
        if (bucket.try_acquire()) admitted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  // No burst: one admission at the start, then at most one per T.
  CHECK(admitted.load() <= 1 + static_cast<std::uint64_t>((clock.now() - start) / 1ms));
}
