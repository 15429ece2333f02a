// keyed_limiter under floods of new keys: a key in debt is never evicted (on_table_full =
// reject_new_keys), so no client can reset another key's limiter by filling the table.
#include <atomic>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/keyed_limiter.hpp>
#include <bulwark/rate_limit/sliding_window_log.hpp>
#include <bulwark/rate_limit/token_bucket.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::keyed_table_full;
using bulwark::manual_clock;
using bulwark::time_point;
using per_id = bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::uint64_t>;

namespace {

constexpr std::uint64_t victim = 0;

// The GCRA bound (ITU-T I.371 Annex A, virtual scheduling, as gcra.hpp states it): admitting
// requests i..j (unit cost) leaves TAT >= t_i + (j - i + 1) T, and the admission at t_j needs
// TAT - t_j <= tau = burst x T. So (j - i + 1) T <= t_j - t_i + burst x T: in any window of
// length W at most W / T + burst = rate x W + burst admissions. Checked for every pair, so every
// window that starts and ends at an admission (the tightest ones) is checked exactly.
// Returns the first pair that breaks it, or an empty vector.
std::vector<std::size_t> first_breach(const std::vector<time_point>& admitted,
                                      std::chrono::nanoseconds interval, std::int64_t burst) {
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    for (std::size_t j = i; j < admitted.size(); ++j) {
      const auto count = static_cast<std::int64_t>(j - i + 1);
      if (count * interval > (admitted[j] - admitted[i]) + burst * interval) return {i, j};
    }
  }
  return {};
}

struct flood_result {
  std::vector<time_point> victim_admitted;
  std::vector<bool> victim_decisions;
  bulwark::keyed_limiter_metrics metrics;
};

// The victim asks every 10ms (100/s) for 4s; between two of its requests an attacker sends
// 50 new keys per millisecond (50000/s), through one limiter of rate 10/s, burst 5,
// max_keys 64 (so one shard: the victim and the attacker share it).
flood_result flood(keyed_table_full policy) {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_second(10), .burst = 5},
                 {.max_keys = 64, .on_table_full = policy, .seed = 21}, clock);
  flood_result result;
  std::uint64_t attacker_key = 1;
  for (int ms = 0; ms < 4000; ++ms) {
    if (ms % 10 == 0) {
      const bool admitted = limiter.try_acquire(victim);
      result.victim_decisions.push_back(admitted);
      if (admitted) result.victim_admitted.push_back(clock.now());
    }
    for (int k = 0; k < 50; ++k)
      (void)limiter.try_acquire(attacker_key++);
    clock.advance(1ms);
  }
  result.metrics = limiter.metrics();
  return result;
}

}  // namespace

// Bound from the GCRA virtual scheduling test (ITU-T I.371 Annex A), see first_breach.
TEST_CASE("keyed_limiter keeps a victim key within rate x window + burst under a key flood",
          "[rate_limit]") {
  const flood_result r = flood(keyed_table_full::reject_new_keys);
  const auto breach = first_breach(r.victim_admitted, 100ms, 5);
  INFO("breach between admissions " << (breach.empty() ? 0 : breach[0]) << " and "
                                    << (breach.empty() ? 0 : breach[1]));
  CHECK(breach.empty());
  // Over the whole run (0 to 3.99s) at most 10/s x 3.99s + 5 = 44.9, so 44.
  CHECK(r.victim_admitted.size() <= 44);
  // The victim asks faster than its rate, so its TAT stays ahead of now: never recovered, never
  // evicted. It gets exactly what a gcra of its own grants for the same requests.
  manual_clock clock;
  bulwark::gcra own({.rate = bulwark::per_second(10), .burst = 5}, clock);
  std::vector<bool> expected;
  for (int ms = 0; ms < 4000; ms += 10) {
    expected.push_back(own.try_acquire());
    clock.advance(10ms);
  }
  CHECK(r.victim_decisions == expected);
  CHECK(r.metrics.refused_keys > 0);  // the flood did fill the table with keys in debt
  CHECK(r.metrics.evicted_in_debt == 0);
  CHECK(r.metrics.evicted > 0);  // and recovered attacker keys made room for others
  CHECK(r.metrics.keys <= 64);
}

// The documented bypass of evict_least_recent (the behaviour before on_table_full existed):
// the same flood evicts the victim in debt, and its fresh limiter grants a new burst.
TEST_CASE("keyed_limiter with evict_least_recent lets a key flood exceed a victim's bound",
          "[rate_limit]") {
  const flood_result r = flood(keyed_table_full::evict_least_recent);
  CHECK_FALSE(first_breach(r.victim_admitted, 100ms, 5).empty());
  CHECK(r.victim_admitted.size() > 44);
  CHECK(r.metrics.evicted_in_debt > 0);
  CHECK(r.metrics.refused_keys == 0);
}

// Hand-derived from gcra.hpp's formula: one unit at t leaves TAT = t + T (T = 100ms at 10/s),
// recovered (TAT <= now) from t + 100ms on.
TEST_CASE("keyed_limiter reclaims recovered keys and refuses new keys while all are in debt",
          "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_second(10), .burst = 1}, {.max_keys = 64, .seed = 22},
                 clock);
  for (std::uint64_t k = 0; k < 64; ++k)
    REQUIRE(limiter.try_acquire(k));
  CHECK_FALSE(limiter.try_acquire(100));  // all 64 in debt until +100ms
  CHECK_FALSE(limiter.contains(100));
  clock.advance(99ms);
  CHECK_FALSE(limiter.try_acquire(100));
  clock.advance(1ms);  // TAT = now for all 64: recovered
  for (std::uint64_t k = 0; k < 8; ++k)
    REQUIRE(limiter.try_acquire(k));  // 0..7 busy again: TAT = now + 100ms
  for (std::uint64_t k = 100; k < 156; ++k) {
    INFO("new key " << k);
    REQUIRE(limiter.try_acquire(k));  // each evicts one of the 56 recovered keys 8..63
  }
  for (std::uint64_t k = 0; k < 8; ++k)
    CHECK(limiter.contains(k));  // in debt: kept
  CHECK(limiter.size() == 64);
  CHECK_FALSE(limiter.try_acquire(156));  // 64 in debt again
  const auto m = limiter.metrics();
  CHECK(m.refused_keys == 3);
  CHECK(m.evicted == 56);
  CHECK(m.rejected == 3);
}

// token_bucket.hpp's rule: full again once Z <= t - depth; one token spent at t sets
// Z = t - depth + T, so at 10/s, capacity 2, the bucket is full from t + 100ms on.
TEST_CASE("keyed_limiter token_bucket keys are free to evict once their bucket is full",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::token_bucket<manual_clock>, std::uint64_t> limiter(
      {.rate = bulwark::per_second(10), .capacity = 2}, {.max_keys = 1, .seed = 23}, clock);
  REQUIRE(limiter.try_acquire(1));
  clock.advance(99ms);
  CHECK_FALSE(limiter.try_acquire(2));
  CHECK(limiter.contains(1));
  clock.advance(1ms);
  CHECK(limiter.try_acquire(2));
  CHECK_FALSE(limiter.contains(1));
  CHECK(limiter.try_acquire(2));  // 2's second token: its own bucket, not 1's
  CHECK_FALSE(limiter.try_acquire(2));
}

// sliding_window_log.hpp's rule: an entry at t counts while t > now - window, so a key that
// took one unit at t is back to a fresh log from t + window on.
TEST_CASE("keyed_limiter heap limiters are free to evict once nothing counts against them",
          "[rate_limit]") {
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::sliding_window_log<manual_clock>, std::string> limiter(
      {.limit = 2, .window = 1s}, {.max_keys = 1, .seed = 24}, clock);
  REQUIRE(limiter.try_acquire("a"));
  clock.advance(999ms);
  CHECK_FALSE(limiter.try_acquire("b"));
  clock.advance(1ms);
  CHECK(limiter.try_acquire("b"));
  CHECK_FALSE(limiter.contains("a"));
  CHECK(limiter.metrics().refused_keys == 1);
}

// gcra.hpp's formula: 3 units at t at 1/min leave TAT = t + 3min.
TEST_CASE("keyed_limiter keeps an idle key in debt until it recovers", "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_minute(1), .burst = 3},
                 {.max_keys = 100, .idle_timeout = 1s, .seed = 25}, clock);
  REQUIRE(limiter.try_acquire(7, 3));
  clock.advance(2s);  // idle, but in debt for 3min - 2s
  CHECK(limiter.evict_idle() == 0);
  CHECK(limiter.contains(7));
  CHECK_FALSE(limiter.try_acquire(7));  // dropping it would have granted 3 fresh units
  clock.advance(3min - 2s);             // TAT = now; last used (the refusal) 3min - 2s ago
  CHECK(limiter.evict_idle() == 1);
  CHECK_FALSE(limiter.contains(7));
}

TEST_CASE("keyed_limiter refuses an unknown on_table_full", "[rate_limit]") {
  manual_clock clock;
  CHECK(rl_test::message_of(
            [&] { per_id l({}, {.on_table_full = static_cast<keyed_table_full>(7)}, clock); }) ==
        "bulwark::keyed_limiter: on_table_full must be reject_new_keys or "
        "evict_least_recent (got 7)");
}

// The flood with threads (run under TSan too): the victim's thread moves the clock and keeps
// the exact times of its admissions; the GCRA bound above must hold whatever the interleaving.
TEST_CASE("keyed_limiter keeps a victim key within its bound under a concurrent key flood",
          "[rate_limit]") {
  manual_clock clock;
  per_id limiter({.rate = bulwark::per_second(10), .burst = 5}, {.max_keys = 64, .seed = 26},
                 clock);
  std::vector<time_point> admitted;
  if (limiter.try_acquire(victim, 1, clock.now())) admitted.push_back(clock.now());
  std::atomic<bool> done{false};
  std::vector<std::thread> attackers;
  for (std::uint64_t t = 0; t < 2; ++t) {
    attackers.emplace_back([&, t] {
      for (std::uint64_t key = (t + 1) << 40; !done.load(std::memory_order_relaxed); ++key)
        (void)limiter.try_acquire(key);
    });
  }
  for (int i = 1; i < 400; ++i) {
    const time_point now = clock.advance(10ms);
    if (limiter.try_acquire(victim, 1, now)) admitted.push_back(now);
  }
  done.store(true, std::memory_order_relaxed);
  for (auto& thread : attackers)
    thread.join();
  CHECK(first_breach(admitted, 100ms, 5).empty());
  CHECK(admitted.size() <= 44);  // 10/s x 3.99s + 5
  CHECK(limiter.metrics().evicted_in_debt == 0);
}
