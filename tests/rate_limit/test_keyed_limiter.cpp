#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/keyed_limiter.hpp>
#include <bulwark/rate_limit/sliding_window_log.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
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

// Under evict_least_recent a key in debt can be evicted; it still restarts no fuller than fresh.
TEST_CASE("keyed_limiter eviction never grants more than a fresh limiter", "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_minute(1), .burst = 3},
                 {.max_keys = 1,
                  .idle_timeout = 1h,
                  .on_table_full = bulwark::keyed_table_full::evict_least_recent,
                  .seed = 3},
                 clock);
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

// The inline states (gcra's TAT, token_bucket's zero time kept in the slot) restate the
// limiters' decisions; these compare them step by step with one real limiter per key.
template <class Limiter, class Options>
void compare_with_real_limiters(const Options& per_key, std::uint32_t max_cost,
                                std::uint64_t seed) {
  manual_clock clock;
  bulwark::keyed_limiter<Limiter, std::uint64_t> keyed(per_key, {.seed = seed}, clock);
  static_assert(decltype(keyed)::inline_state);
  constexpr std::uint64_t keys = 8;
  std::vector<std::unique_ptr<Limiter>> reference;
  for (std::uint64_t k = 0; k < keys; ++k)
    reference.push_back(std::make_unique<Limiter>(per_key, clock));
  bulwark::fast_rng rng{seed};
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  for (int i = 0; i < 20'000; ++i) {
    switch (bulwark::uniform_below(rng, 8)) {
      case 0:
        clock.advance(std::chrono::nanoseconds{bulwark::uniform_below(rng, 50'000'000)});
        break;
      case 1:
        clock.advance(std::chrono::nanoseconds{bulwark::uniform_below(rng, 1000)});
        break;
      case 2:  // a clock that goes back must not admit more
        clock.set(clock.now() - std::chrono::nanoseconds{bulwark::uniform_below(rng, 10'000'000)});
        break;
      default:
        break;
    }
    const auto key = bulwark::uniform_below(rng, keys);
    const auto cost = static_cast<std::uint32_t>(1 + bulwark::uniform_below(rng, max_cost));
    INFO("step " << i << ", key " << key << ", cost " << cost);
    REQUIRE(keyed.time_until_available(key, cost) == reference[key]->time_until_available(cost));
    const bool expected = reference[key]->try_acquire(cost);
    REQUIRE(keyed.try_acquire(key, cost) == expected);
    ++(expected ? admitted : rejected);
  }
  const auto m = keyed.metrics();
  CHECK(m.admitted == admitted);
  CHECK(m.rejected == rejected);
  CHECK(admitted > 1000);
  CHECK(rejected > 1000);
}

TEST_CASE("keyed_limiter's inline gcra decides as gcra does, step by step", "[rate_limit]") {
  // One 32-byte slot per key, two at the table's highest load (docs/rate_limit.md).
  static_assert(per_id::inline_state && per_id::slot_bytes() == 32 &&
                per_id::bytes_per_key() == 64);
  static_assert(per_client::slot_bytes() == 64);
  compare_with_real_limiters<bulwark::gcra<manual_clock>>(
      bulwark::gcra_options{.rate = bulwark::per_second(200), .burst = 7}, 7, 11);
  compare_with_real_limiters<bulwark::gcra<manual_clock>>(
      bulwark::gcra_options{.rate = bulwark::per_second(3), .burst = 1}, 1, 12);
}

TEST_CASE("keyed_limiter's inline token_bucket decides as token_bucket does, step by step",
          "[rate_limit]") {
  compare_with_real_limiters<bulwark::token_bucket<manual_clock>>(
      bulwark::token_bucket_options{.rate = bulwark::per_second(150), .capacity = 9}, 9, 13);
  compare_with_real_limiters<bulwark::token_bucket<manual_clock>>(
      bulwark::token_bucket_options{.rate = bulwark::per_second(7), .capacity = 2}, 2, 14);
}

TEST_CASE("keyed_limiter refuses an impossible cost with the limiter's error, holding nothing",
          "[rate_limit]") {
  using rl_test::message_of;
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::token_bucket<manual_clock>, std::uint64_t> limiter(
      {.capacity = 4}, {.seed = 2}, clock);
  CHECK(message_of([&] { (void)limiter.try_acquire(1, 5); }) ==
        "bulwark::token_bucket: cost must be in [1, 4] (got 5)");
  CHECK(message_of([&] { (void)limiter.try_acquire(1, 0); }) ==
        "bulwark::token_bucket: cost must be in [1, 4] (got 0)");
  CHECK(message_of([&] { (void)limiter.time_until_available(1, 5); }) ==
        "bulwark::token_bucket: cost must be in [1, 4] (got 5)");
  CHECK_FALSE(limiter.contains(1));
  CHECK(limiter.metrics() == bulwark::keyed_limiter_metrics{});
}

TEST_CASE("keyed_limiter token_bucket eviction never grants more than a fresh bucket",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::token_bucket<manual_clock>, std::string> limiter(
      {.rate = bulwark::per_minute(1), .capacity = 2},
      {.max_keys = 1, .on_table_full = bulwark::keyed_table_full::evict_least_recent, .seed = 4},
      clock);
  CHECK(limiter.try_acquire("a", 2));
  CHECK_FALSE(limiter.try_acquire("a"));
  CHECK(limiter.try_acquire("b"));  // evicts a
  CHECK_FALSE(limiter.contains("a"));
  CHECK(limiter.try_acquire("a", 2));
  CHECK_FALSE(limiter.try_acquire("a"));
  CHECK(limiter.metrics().evicted == 2);
}

TEST_CASE("keyed_limiter keeps other limiters whole on the heap", "[rate_limit]") {
  manual_clock clock;
  using per_window = bulwark::keyed_limiter<bulwark::sliding_window_log<manual_clock>, std::string>;
  static_assert(!per_window::inline_state);
  static_assert(per_window::bytes_per_key() > sizeof(bulwark::sliding_window_log<manual_clock>));
  // evict_least_recent: the 200 new keys below evict keys in debt, whose heap limiters must go.
  per_window limiter({.limit = 2, .window = 1s},
                     {.max_keys = 64,
                      .idle_timeout = 1min,
                      .on_table_full = bulwark::keyed_table_full::evict_least_recent,
                      .seed = 6},
                     clock);
  CHECK(limiter.try_acquire("x"));
  CHECK(limiter.try_acquire("x"));
  CHECK_FALSE(limiter.try_acquire("x"));
  CHECK(limiter.time_until_available("x") == 1s);
  CHECK(limiter.time_until_available("y") == 0s);
  CHECK(rl_test::message_of([&] { (void)limiter.try_acquire("x", 3); }) ==
        "bulwark::sliding_window_log: cost must be in [1, 2] (got 3)");
  for (int k = 0; k < 200; ++k)  // evictions destroy heap limiters (ASan checks the frees)
    (void)limiter.try_acquire("client-" + std::to_string(k));
  CHECK(limiter.size() <= 64);
  clock.advance(2min);
  const auto evicted_for_room = limiter.metrics().evicted;
  CHECK(evicted_for_room == 200 + 1 - 64);
  CHECK(limiter.evict_idle() == 64);
  CHECK(limiter.size() == 0);
}

TEST_CASE("keyed_limiter's table keeps every key findable through growth and deletions",
          "[rate_limit]") {
  manual_clock clock;
  // Long string keys own heap buffers: moves in growth and backward shifts must keep them.
  const auto name = [](std::uint64_t k) {
    return "a-long-client-name-beyond-sso-" + std::to_string(k);
  };
  per_client limiter({.rate = bulwark::per_second(1), .burst = 1},
                     {.max_keys = 100'000, .idle_timeout = 10s, .seed = 8}, clock);
  for (std::uint64_t k = 0; k < 20'000; ++k)
    REQUIRE(limiter.try_acquire(name(k)));
  CHECK(limiter.size() == 20'000);
  clock.advance(6s);
  for (std::uint64_t k = 0; k < 20'000; k += 3)  // every third key stays busy
    REQUIRE(limiter.try_acquire(name(k)));
  clock.advance(6s);
  CHECK(limiter.evict_idle() == 20'000 - 6'667);
  for (std::uint64_t k = 0; k < 20'000; ++k) {
    INFO("key " << k);
    REQUIRE(limiter.contains(name(k)) == (k % 3 == 0));
  }
  // The survivors kept their state: spent 6s ago at a rate of 1/s, so they are full again,
  // and each takes exactly its burst.
  for (std::uint64_t k = 0; k < 20'000; k += 3) {
    REQUIRE(limiter.try_acquire(name(k)));
    REQUIRE_FALSE(limiter.try_acquire(name(k)));
  }
}

TEST_CASE("keyed_limiter under concurrent callers with growth and eviction stays bounded",
          "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_second(100), .burst = 3},
                 {.max_keys = 256, .idle_timeout = 50ms, .seed = 10}, clock);
  std::atomic<std::uint64_t> calls{0};
  // Catch2's assertions are not thread-safe: workers record, the main thread asserts.
  std::atomic<std::size_t> largest_size_seen{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{t + 70};
      for (int i = 0; i < 5'000; ++i) {
        const auto r = bulwark::uniform_below(rng, 100);
        if (r == 0) clock.advance(1ms);
        if (r == 1) (void)limiter.evict_idle();
        if (r == 2) {
          const std::size_t seen = limiter.size();
          std::size_t prev = largest_size_seen.load(std::memory_order_relaxed);
          while (seen > prev && !largest_size_seen.compare_exchange_weak(prev, seen)) {
          }
        }
        if (r == 3) (void)limiter.metrics();
        (void)limiter.try_acquire(bulwark::uniform_below(rng, 2'000));
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  const auto m = limiter.metrics();
  CHECK(largest_size_seen.load() <= 256);
  CHECK(m.admitted + m.rejected == calls.load());
  CHECK(m.keys <= 256);
  CHECK(m.evicted > 0);
}
