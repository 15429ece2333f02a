// Rate limiters under concurrent callers and a moving clock: every window of the recorded
// history is within the bound docs/rate_limit.md states for the algorithm. The callers pass
// their own clock read as `now`; since the driver moves the clock between a read and the call,
// a limiter also sees times older than ones it has already been given ("clocks going
// backwards", which the page says never admits more).

#include <bulwark/rate_limit.hpp>
#include <cstdint>
#include <string>

#include "catch.hpp"
#include "history.hpp"

using bulwark::manual_clock;
using invariants::admission;
using invariants::attempt_result;

namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::uint32_t max_cost = 3;

std::uint32_t random_cost(bulwark::fast_rng& rng) {
  return 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, max_cost));
}

// Runs `limiter` (any limiter with try_acquire(cost, now)) through a history.
template <class Limiter>
std::vector<admission> history_of(manual_clock& clock, Limiter& limiter, std::uint64_t seed) {
  return invariants::record_history(
      clock, {.seed = seed}, [&](bulwark::fast_rng& rng, bulwark::time_point now) {
        const std::uint32_t cost = random_cost(rng);
        return attempt_result{limiter.try_acquire(cost, now) ? cost : 0u, 0};
      });
}

std::string window_name(std::int64_t from, std::int64_t to) {
  return "[" + std::to_string(from) + ", " + std::to_string(to) + "] ns";
}

}  // namespace

// docs/rate_limit.md, gcra (ITU-T I.371 virtual scheduling): admitted iff
// max(TAT, t) + c T - t <= tau, then TAT := max(TAT, t) + c T, tau = burst x T. Derivation of
// the window bound for admissions at times in [a, b], in any order of arrival: TAT never
// decreases; after the first of them TAT >= a + c_first T, each later one adds its c T, and the
// last one leaves TAT <= t_last + tau <= b + tau. So a + (sum c) T <= b + tau:
// units in [a, b] <= burst + floor((b - a) / T).
TEST_CASE("gcra admits at most burst + floor(span / T) units in every interval", "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t burst = 20;
  bulwark::gcra<manual_clock> limiter({.rate = bulwark::per_second(100'000), .burst = burst},
                                      clock);  // T = 10 us
  const auto history = history_of(clock, limiter, 11);
  const auto worst =
      invariants::worst_rate_excess(history, limiter.emission_interval().count(), burst);
  INFO("worst interval " << window_name(worst.from, worst.to));
  CHECK(worst.excess <= 0);
  CHECK(invariants::units(history) > 10 * burst);  // the limiter was driven, not starved
}

// docs/rate_limit.md, token_bucket (folly's zero time Z): admitted iff
// Z' = max(Z, t - C T) + c T <= t, then Z := Z'. For admissions in [a, b]: Z never decreases;
// after the first, Z >= a - C T + c_first T; each later one adds its c T; the last leaves
// Z <= t_last <= b. So units in [a, b] <= C + floor((b - a) / T): GCRA's bound with burst C.
TEST_CASE("token_bucket admits at most capacity + floor(span / T) units in every interval",
          "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t capacity = 20;
  bulwark::token_bucket<manual_clock> limiter(
      {.rate = bulwark::per_second(100'000), .capacity = capacity}, clock);
  const auto history = history_of(clock, limiter, 12);
  const auto worst = invariants::worst_rate_excess(history, 10'000, capacity);
  INFO("worst interval " << window_name(worst.from, worst.to));
  CHECK(worst.excess <= 0);
  CHECK(invariants::units(history) > 10 * capacity);
}

// docs/rate_limit.md, leaky_bucket: try_acquire admits only when the drain time D <= t, then
// D := t + c T. For admissions in [a, b]: D never decreases; the first leaves D >= a + c_first T,
// each later one but the last adds its c T, and the last needs D <= t_last <= b. So
// units in [a, b] <= c_last + floor((b - a) / T) <= max_cost + floor((b - a) / T): no burst
// beyond one request.
TEST_CASE("leaky_bucket try_acquire admits at most one request + floor(span / T) units",
          "[invariants]") {
  manual_clock clock;
  bulwark::leaky_bucket<manual_clock> limiter(
      {.rate = bulwark::per_second(100'000), .capacity = 10}, clock);
  const auto history = history_of(clock, limiter, 13);
  const auto worst = invariants::worst_rate_excess(history, 10'000, max_cost);
  INFO("worst interval " << window_name(worst.from, worst.to));
  CHECK(worst.excess <= 0);
  CHECK(invariants::units(history) > 100);
}

// docs/rate_limit.md, fixed_window: each aligned window [k W, (k+1) W) admits up to `limit`
// units and any window of length W up to 2 x limit (it spans at most two aligned windows).
// The window a call is charged to lies between its `now`'s and the clock's after the call
// ("keeps charging the newest window seen"), so only calls whose whole [at, after] lies in a
// window are counted there: those were surely charged to it.
TEST_CASE("fixed_window admits at most limit per aligned window, 2 x limit per window length",
          "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t limit = 50;
  constexpr std::int64_t window = ms;
  bulwark::fixed_window<manual_clock> limiter({.limit = limit, .window = bulwark::duration{window}},
                                              clock);
  const auto history = history_of(clock, limiter, 14);
  const auto aligned = invariants::most_in_aligned_window(history, window);
  INFO("fullest aligned window starts at " << aligned.start);
  CHECK(aligned.most <= limit);
  const auto any = invariants::most_in_any_window(history, window);
  INFO("fullest window of length W starts at " << any.start);
  CHECK(any.most <= 2 * limit);
  CHECK(invariants::units(history) > 10 * limit);
}

// docs/rate_limit.md, sliding_window_counter (Cloudflare's estimate): admitted iff
// previous x (W - e) / W + current + c <= limit, and the weight (W - e) / W is >= 0, so the
// current aligned window never holds more than `limit`: the bound per aligned window, and
// 2 x limit per window of length W. Counted as for fixed_window.
TEST_CASE("sliding_window_counter admits at most limit per aligned window, 2 x limit per W",
          "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t limit = 50;
  constexpr std::int64_t window = ms;
  bulwark::sliding_window_counter<manual_clock> limiter(
      {.limit = limit, .window = bulwark::duration{window}}, clock);
  const auto history = history_of(clock, limiter, 15);
  const auto aligned = invariants::most_in_aligned_window(history, window);
  INFO("fullest aligned window starts at " << aligned.start);
  CHECK(aligned.most <= limit);
  const auto any = invariants::most_in_any_window(history, window);
  INFO("fullest window of length W starts at " << any.start);
  CHECK(any.most <= 2 * limit);
  CHECK(invariants::units(history) > 10 * limit);
}

// docs/rate_limit.md, sliding_window_log: "in no half-open interval [t, t + W) are more than
// limit units admitted". The log stamps a call at max(now, newest entry), which lies in
// [at, after]; counted as for fixed_window.
TEST_CASE("sliding_window_log admits at most limit units in any window of length W",
          "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t limit = 50;
  constexpr std::int64_t window = ms;
  bulwark::sliding_window_log<manual_clock> limiter(
      {.limit = limit, .window = bulwark::duration{window}}, clock);
  const auto history = history_of(clock, limiter, 16);
  const auto any = invariants::most_in_any_window(history, window);
  INFO("fullest window of length W starts at " << any.start);
  CHECK(any.most <= limit);
  CHECK(invariants::units(history) > 10 * limit);
}

// docs/rate_limit.md, keyed_limiter: each key is decided "by the same formulas as the
// limiters", so each key's history keeps gcra's bound above. max_keys is far above the keys
// used: nothing is evicted, so no key ever restarts fresh.
TEST_CASE("keyed_limiter keeps every key within burst + floor(span / T)", "[invariants]") {
  manual_clock clock;
  constexpr int keys_used = 8;
  constexpr std::uint32_t burst = 5;
  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, int> limiter(
      {.rate = bulwark::per_second(20'000), .burst = burst}, {.max_keys = 1'000, .seed = 17},
      clock);  // T = 50 us per key
  const auto history = invariants::record_history(
      clock, {.seed = 17}, [&](bulwark::fast_rng& rng, bulwark::time_point now) {
        const int key = static_cast<int>(bulwark::uniform_below(rng, keys_used));
        const std::uint32_t cost = random_cost(rng);
        return attempt_result{limiter.try_acquire(key, cost, now) ? cost : 0u, key};
      });
  for (int key = 0; key < keys_used; ++key) {
    const auto mine = invariants::of_key(history, key);
    const auto worst = invariants::worst_rate_excess(mine, 50'000, burst);
    INFO("key " << key << ", worst interval " << window_name(worst.from, worst.to));
    CHECK(worst.excess <= 0);
    CHECK(invariants::units(mine) > 10 * burst);
  }
  CHECK(limiter.metrics().evicted == 0);
}

// The same bound for one key while other callers flood the limiter with fresh keys, far more
// than max_keys: docs/rate_limit.md promises an evicted key "never grants more than a fresh
// limiter would". Before keys in debt were kept through floods (on_table_full), a key evicted
// and re-created in the middle of a burst started full again: under the tsan preset's
// scheduling the victim key got 3 units above burst + floor(span / T) in one interval.
TEST_CASE("keyed_limiter keeps a key within its bound under a flood of other keys",
          "[invariants]") {
  manual_clock clock;
  constexpr std::uint32_t burst = 5;
  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, int> limiter(
      {.rate = bulwark::per_second(20'000), .burst = burst}, {.max_keys = 64, .seed = 18}, clock);
  std::atomic<int> next_junk{1};
  const auto history = invariants::record_history(
      clock, {.seed = 18}, [&](bulwark::fast_rng& rng, bulwark::time_point now) {
        if (bulwark::uniform_below(rng, 2) == 0) {  // the flood: a key never seen before
          (void)limiter.try_acquire(next_junk.fetch_add(1, std::memory_order_relaxed), 1, now);
          return attempt_result{};
        }
        return attempt_result{limiter.try_acquire(0, 1, now) ? 1u : 0u, 0};
      });
  const auto victim = invariants::of_key(history, 0);
  const auto worst = invariants::worst_rate_excess(victim, 50'000, burst);
  INFO("worst interval " << window_name(worst.from, worst.to));
  CHECK(worst.excess <= 0);
  CHECK(limiter.metrics().evicted > 0);
}
