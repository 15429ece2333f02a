#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/keyed_limiter.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using per_client = bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::string>;
using per_id = bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::uint64_t>;

TEST_CASE("keyed_limiter keeps one independent limiter per key", "[rate_limit]") {
  manual_clock clock;
  per_client limiter({.rate = bulwark::per_second(10), .burst = 2}, {.seed = 1}, clock);
  CHECK(limiter.try_acquire("alice"));
  CHECK(limiter.try_acquire("alice"));
  CHECK_FALSE(limiter.try_acquire("alice"));
  CHECK(limiter.time_until_available("alice") == 100ms);
  CHECK(limiter.try_acquire("bob", 2));                 // bob has his own burst
  CHECK(limiter.time_until_available("carol") == 0ms);  // unknown: a fresh limiter
  CHECK_FALSE(limiter.contains("carol"));
  CHECK(limiter.size() == 2);
  try {
    limiter.execute("alice", [] { return 1; });
    FAIL("execute should have thrown");
  } catch (const bulwark::rate_limited& e) {
    CHECK(e.retry_after() == std::chrono::nanoseconds{100ms});
  }
  clock.advance(100ms);
  CHECK(limiter.execute("alice", [] { return 1; }) == 1);
  CHECK(limiter.metrics() ==
        bulwark::keyed_limiter_metrics{.admitted = 4, .rejected = 2, .evicted = 0, .keys = 2});
}

TEST_CASE("keyed_limiter holds at most max_keys and evicts least recently used idle keys",
          "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_second(1), .burst = 1},
                 {.max_keys = 100, .idle_timeout = 1min, .seed = 42}, clock);
  for (std::uint64_t k = 0; k < 100; ++k)
    CHECK(limiter.try_acquire(k));
  clock.advance(2min);  // all 100 idle now; keep 90..99 busy
  for (std::uint64_t k = 90; k < 100; ++k)
    (void)limiter.try_acquire(k);
  for (std::uint64_t k = 1000; k < 1050; ++k)
    CHECK(limiter.try_acquire(k));
  CHECK(limiter.size() <= 100);
  for (std::uint64_t k = 90; k < 100; ++k) {
    INFO("key " << k);
    CHECK(limiter.contains(k));  // the busy keys survive: the idle ones went first
  }
  for (std::uint64_t k = 1000; k < 1050; ++k)
    CHECK(limiter.contains(k));
  CHECK(limiter.metrics().evicted >= 50);
}

TEST_CASE("keyed_limiter eviction never grants more than a fresh limiter", "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_minute(1), .burst = 3},
                 {.max_keys = 1, .idle_timeout = 1h, .seed = 3}, clock);
  CHECK(limiter.try_acquire(7, 3));
  CHECK_FALSE(limiter.try_acquire(7));
  CHECK(limiter.try_acquire(8));  // evicts 7: the table holds one key
  CHECK_FALSE(limiter.contains(7));
  // 7 comes back as a fresh limiter: its burst of 3, and not one more.
  CHECK(limiter.try_acquire(7, 3));
  CHECK_FALSE(limiter.try_acquire(7));
}

TEST_CASE("keyed_limiter evict_idle drops the keys unused for idle_timeout", "[rate_limit]") {
  manual_clock clock;
  per_id limiter({}, {.max_keys = 1000, .idle_timeout = 10s, .seed = 5}, clock);
  for (std::uint64_t k = 0; k < 500; ++k)
    (void)limiter.try_acquire(k);
  clock.advance(5s);
  for (std::uint64_t k = 0; k < 100; ++k)
    (void)limiter.try_acquire(k);
  clock.advance(6s);  // keys 100..499 idle for 11s, 0..99 for 6s
  CHECK(limiter.evict_idle() == 400);
  CHECK(limiter.size() == 100);
  for (std::uint64_t k = 0; k < 100; ++k)
    CHECK(limiter.contains(k));
}

TEST_CASE("keyed_limiter refuses bad options", "[rate_limit]") {
  using rl_test::message_of;
  manual_clock clock;
  CHECK(message_of([&] { per_id l({}, {.max_keys = 0}, clock); }) ==
        "bulwark::keyed_limiter: max_keys must be >= 1 (got 0)");
  CHECK(message_of([&] { per_id l({}, {.idle_timeout = 0s}, clock); }) ==
        "bulwark::keyed_limiter: idle_timeout must be > 0 (got 0s)");
  CHECK(message_of([&] { per_id l({.burst = 0}, {}, clock); }) ==
        "bulwark::gcra: burst must be >= 1 (got 0)");
  per_id limiter({.burst = 2}, {}, clock);
  CHECK(message_of([&] { (void)limiter.try_acquire(1, 3); }) ==
        "bulwark::gcra: cost must be in [1, 2] (got 3)");
}

TEST_CASE("keyed_limiter under concurrent callers keeps every key within its rate",
          "[rate_limit]") {
  manual_clock clock;
  constexpr std::uint64_t keys = 64;
  bulwark::keyed_limiter<bulwark::token_bucket<manual_clock>, std::uint64_t> limiter(
      {.rate = bulwark::per_second(100), .capacity = 5}, {.max_keys = 1000, .seed = 9}, clock);
  const auto start = clock.now();
  std::vector<std::atomic<std::uint64_t>> admitted(keys);
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{t + 50};
      for (int i = 0; i < 10'000; ++i) {
        if (bulwark::uniform_below(rng, 64) == 0) clock.advance(1ms);
        const auto key = bulwark::uniform_below(rng, keys);
        if (limiter.try_acquire(key)) admitted[key].fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  const auto bound = 5 + static_cast<std::uint64_t>((clock.now() - start) / 10ms);
  for (std::uint64_t k = 0; k < keys; ++k)
    CHECK(admitted[k].load() <= bound);
  CHECK(limiter.size() == keys);
}
