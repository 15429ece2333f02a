// Drives one stateful component, chosen by the first byte, through random operations and
// manual_clock moves (small and large steps forward, steps back, jumps of up to 2^62 ns):
// gcra, token_bucket, sliding_window_log, sliding_window_counter, fixed_window, a keyed gcra,
// circuit_breaker, cache. Options come from the input; refused options end the run.
// Invariants, checked after every operation (window bounds only over admissions made while the
// clock only moved forward, since a clock that goes back may legitimately reset a window):
//  - gcra, token_bucket (and per key, keyed gcra): for admissions i..j,
//    sum(cost) <= floor((t_j - t_i) / T) + burst. Derivation: each admission raises the
//    theoretical arrival time by cost x T and is allowed only while TAT - t <= burst x T, and
//    TAT >= t_i before the first of them, so sum(cost) x T <= t_j + burst x T - t_i;
//  - sliding_window_log: at most `limit` units in any half-open [t, t + W);
//  - sliding_window_counter, fixed_window: at most `limit` units in any aligned window
//    [k W, (k + 1) W) (the counter's estimate includes the current window's count);
//  - circuit_breaker: its state is one of the six, failed and slow calls never exceed buffered
//    calls, refusals never decrease, forced_open refuses and disabled admits;
//  - cache: size never exceeds maximum_size, and get returns the last value put for the key,
//    or nothing (never another key's value or an invalidated one).

#include <algorithm>
#include <bulwark/cache.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/rate_limit.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using bulwark::manual_clock;
using namespace std::chrono_literals;

struct admission {
  std::int64_t t;
  std::uint64_t cost;
};

// Moves the clock; true when it went back (window histories then restart).
bool move_clock(bulwark_fuzz::input& in, manual_clock& clock) {
  const std::uint8_t how = in.byte() % 8;
  const auto now = clock.now().time_since_epoch().count();
  std::int64_t step = 0;
  if (how < 4) step = static_cast<std::int64_t>(in.byte()) * 1'000'000;  // up to 255ms
  if (how == 4) step = static_cast<std::int64_t>(in.integer<std::uint32_t>());
  if (how == 5) step = -static_cast<std::int64_t>(in.integer<std::uint16_t>()) * 1000;
  if (how == 6) step = static_cast<std::int64_t>(in.integer<std::uint64_t>() >> 2);  // huge
  if (how == 7) step = -static_cast<std::int64_t>(in.integer<std::uint64_t>() >> 2);
  // Times stay in [0, 2^62] ns (146 years): a negative time point overflows cache's deadline
  // (fuzz/findings/state_machine-cache-deadline-negative-now.bin, left to the durations work).
  constexpr std::int64_t edge = std::int64_t{1} << 62;
  const std::int64_t next = std::clamp<std::int64_t>(now + std::clamp(step, -edge, edge), 0, edge);
  clock.set(bulwark::time_point{bulwark::duration{next}});
  return next < now;
}

void check_rate(const std::deque<admission>& h, std::int64_t interval, std::uint64_t burst) {
  for (std::size_t j = 0; j < h.size(); ++j) {
    std::uint64_t sum = 0;
    for (std::size_t i = j + 1; i-- > 0;) {
      sum += h[i].cost;
      const auto span = static_cast<std::uint64_t>(h[j].t - h[i].t);
      BULWARK_FUZZ_CHECK(sum <= span / static_cast<std::uint64_t>(interval) + burst);
    }
  }
}

void check_sliding(const std::deque<admission>& h, std::int64_t window, std::uint64_t limit) {
  for (std::size_t i = 0; i < h.size(); ++i) {
    std::uint64_t sum = 0;
    for (std::size_t j = i; j < h.size() && h[j].t - h[i].t < window; ++j)
      sum += h[j].cost;
    BULWARK_FUZZ_CHECK(sum <= limit);
  }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

void check_aligned(const std::deque<admission>& h, std::int64_t window, std::uint64_t limit) {
  std::map<std::int64_t, std::uint64_t> per_window;
  for (const admission& a : h)
    BULWARK_FUZZ_CHECK((per_window[floor_div(a.t, window)] += a.cost) <= limit);
}

enum class bound { rate, sliding, aligned };

template <class Limiter>
void run_limiter(bulwark_fuzz::input& in, manual_clock& clock, Limiter& limiter, bound kind,
                 std::int64_t span, std::uint64_t limit) {
  std::deque<admission> history;
  while (!in.empty()) {
    if (in.byte() % 2 == 0) {
      if (move_clock(in, clock)) history.clear();
      continue;
    }
    const auto cost = static_cast<std::uint32_t>(in.byte() % 8);
    bool admitted = false;
    try {
      admitted = limiter.try_acquire(cost);
    } catch (const std::invalid_argument&) {
      continue;  // a cost the limiter can never admit
    }
    (void)limiter.available();
    (void)limiter.time_until_available(1);
    if (!admitted) continue;
    history.push_back({clock.now().time_since_epoch().count(), cost});
    if (history.size() > 64) history.pop_front();
    if (kind == bound::rate) check_rate(history, span, limit);
    if (kind == bound::sliding) check_sliding(history, span, limit);
    if (kind == bound::aligned) check_aligned(history, span, limit);
  }
}

bulwark::rate rate_of(bulwark_fuzz::input& in) {
  return {
      in.in_range(0, 1000),
      bulwark::duration{static_cast<std::int64_t>(in.in_range(0, 3)) * 1'000'000'000 + in.byte()}};
}

void run_keyed(bulwark_fuzz::input& in, manual_clock& clock) {
  const bulwark::gcra_options per_key{.rate = rate_of(in), .burst = in.byte() % 5U};
  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::uint64_t> limiter(
      per_key,
      {.max_keys = 1 + in.in_range(0, 200),
       .idle_timeout = bulwark::duration{static_cast<std::int64_t>(in.integer<std::uint32_t>())},
       .seed = 7},
      clock);
  const std::int64_t interval = per_key.rate.interval().count();
  std::map<std::uint64_t, std::deque<admission>> history;
  std::uint64_t evicted = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.byte() % 4;
    if (op == 0) {
      if (move_clock(in, clock)) history.clear();
      continue;
    }
    if (op == 1) {
      limiter.evict_idle(clock.now());
    } else {
      const std::uint64_t key = in.byte() % 16;
      const auto cost = static_cast<std::uint32_t>(in.byte() % 4);
      try {
        if (limiter.try_acquire(key, cost)) {
          auto& h = history[key];
          h.push_back({clock.now().time_since_epoch().count(), cost});
          if (h.size() > 32) h.pop_front();
        }
      } catch (const std::invalid_argument&) {
      }
    }
    const auto m = limiter.metrics();
    BULWARK_FUZZ_CHECK(m.keys <= limiter.options().max_keys && m.keys == limiter.size());
    // An evicted key starts again as a fresh limiter: its bound restarts (the documented
    // promise is "never more than a fresh limiter would").
    if (m.evicted != evicted) history.clear();
    evicted = m.evicted;
    for (const auto& [key, h] : history)
      check_rate(h, interval, per_key.burst);
  }
}

void run_breaker(bulwark_fuzz::input& in, manual_clock& clock) {
  bulwark::circuit_breaker_options o;
  o.window_type = in.byte() % 2 == 0 ? bulwark::sliding_window::count_based
                                     : bulwark::sliding_window::time_based;
  o.window_size = in.byte() % 12U;
  o.minimum_calls = in.byte() % 12U;
  o.failure_rate_threshold = static_cast<double>(in.byte()) / 200.0;
  o.slow_call_rate_threshold = static_cast<double>(in.byte()) / 200.0;
  o.trip_on = in.byte() % 2 == 0 ? bulwark::trip_condition::rate
                                 : bulwark::trip_condition::consecutive_failures;
  o.consecutive_failures = in.byte() % 6U;
  o.wait_in_open = bulwark::duration{static_cast<std::int64_t>(in.integer<std::uint32_t>())};
  o.wait_in_open_multiplier = 1.0 + static_cast<double>(in.byte() % 4);
  o.automatic_transition_from_open = in.byte() % 2 == 0;
  o.permitted_calls_in_half_open = in.byte() % 6U;
  o.max_wait_in_half_open =
      bulwark::duration{static_cast<std::int64_t>(in.integer<std::uint16_t>())};
  std::optional<bulwark::circuit_breaker<manual_clock>> breaker;
  try {
    breaker.emplace(o, clock);
  } catch (const std::invalid_argument&) {
    return;
  }
  std::vector<bulwark::circuit_breaker<manual_clock>::permit> held;
  std::uint64_t refusals = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.byte() % 8;
    if (op == 0) {
      move_clock(in, clock);
    } else if (op <= 2) {
      const bulwark::circuit_state before = breaker->state();
      auto p = breaker->try_acquire();
      if (before == bulwark::circuit_state::forced_open) BULWARK_FUZZ_CHECK(!p);
      if (before == bulwark::circuit_state::disabled) BULWARK_FUZZ_CHECK(static_cast<bool>(p));
      if (p && held.size() < 16) held.push_back(std::move(p));
    } else if (op <= 5 && !held.empty()) {
      const std::size_t i = in.byte() % held.size();
      const std::uint8_t verdict = in.byte() % 4;
      if (verdict == 0) held[i].success();
      if (verdict == 1) held[i].failure();
      if (verdict == 2) held[i].ignore();
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));  // verdict 3: dropped
    } else if (op == 6) {
      breaker->transition_to(static_cast<bulwark::circuit_state>(in.byte() % 6));
    } else {
      (void)breaker->poll();
      (void)breaker->retry_after();
    }
    const auto m = breaker->metrics();
    BULWARK_FUZZ_CHECK(static_cast<unsigned>(breaker->state()) < 6);
    BULWARK_FUZZ_CHECK(static_cast<unsigned>(m.state) < 6);
    BULWARK_FUZZ_CHECK(m.failed_calls <= m.buffered_calls && m.slow_calls <= m.buffered_calls);
    BULWARK_FUZZ_CHECK(m.not_permitted_calls >= refusals);
    refusals = m.not_permitted_calls;
  }
}

template <class Policy>
void run_cache(bulwark_fuzz::input& in, manual_clock& clock) {
  bulwark::cache_options o;
  o.maximum_size = in.in_range(0, 64);
  o.expire_after_write =
      bulwark::duration{static_cast<std::int64_t>(in.integer<std::uint16_t>()) * 1000};
  o.expire_after_access =
      bulwark::duration{static_cast<std::int64_t>(in.integer<std::uint16_t>()) * 1000};
  o.shards = in.byte() % 3 == 0 ? 1U : in.byte() % 2 == 0 ? 2U : 3U;
  std::optional<bulwark::cache<std::uint64_t, std::uint64_t, Policy, manual_clock>> c;
  try {
    c.emplace(o, clock);
  } catch (const std::invalid_argument&) {
    return;
  }
  std::map<std::uint64_t, std::uint64_t> last;  // the last value put per key, if not removed
  std::uint64_t serial = 0;
  while (!in.empty()) {
    const std::uint8_t op = in.byte() % 6;
    const std::uint64_t key = in.byte() % 96;
    if (op == 0) {
      move_clock(in, clock);
    } else if (op == 1 || op == 2) {
      c->put(key, key * 1000 + ++serial);
      last[key] = key * 1000 + serial;
    } else if (op == 3) {
      const auto got = c->get(key);
      if (got) BULWARK_FUZZ_CHECK(last.contains(key) && *got == last[key]);
    } else if (op == 4) {
      c->invalidate(key);
      last.erase(key);
    } else {
      (void)c->cleanup();
    }
    BULWARK_FUZZ_CHECK(c->size() <= o.maximum_size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bulwark_fuzz::input in{data, size};
  manual_clock clock{bulwark::time_point{bulwark::duration{in.integer<std::uint32_t>()}}};
  const std::uint8_t which = in.byte() % 9;
  try {
    switch (which) {
      case 0: {
        const bulwark::gcra_options o{.rate = rate_of(in), .burst = in.byte() % 6U};
        bulwark::gcra<manual_clock> l(o, clock);
        run_limiter(in, clock, l, bound::rate, o.rate.interval().count(), o.burst);
        break;
      }
      case 1: {
        const bulwark::token_bucket_options o{.rate = rate_of(in), .capacity = in.byte() % 6U};
        bulwark::token_bucket<manual_clock> l(o, clock);
        run_limiter(in, clock, l, bound::rate, o.rate.interval().count(), o.capacity);
        break;
      }
      case 2: {
        const bulwark::sliding_window_log_options o{
            .limit = in.byte() % 8U, .window = bulwark::duration{in.integer<std::int32_t>()}};
        bulwark::sliding_window_log<manual_clock> l(o, clock);
        run_limiter(in, clock, l, bound::sliding, o.window.count(), o.limit);
        break;
      }
      case 3: {
        const bulwark::sliding_window_counter_options o{
            .limit = in.byte() % 8U, .window = bulwark::duration{in.integer<std::int32_t>()}};
        bulwark::sliding_window_counter<manual_clock> l(o, clock);
        run_limiter(in, clock, l, bound::aligned, o.window.count(), o.limit);
        break;
      }
      case 4: {
        const bulwark::fixed_window_options o{
            .limit = in.byte() % 8U, .window = bulwark::duration{in.integer<std::int32_t>()}};
        bulwark::fixed_window<manual_clock> l(o, clock);
        run_limiter(in, clock, l, bound::aligned, o.window.count(), o.limit);
        break;
      }
      case 5:
        run_keyed(in, clock);
        break;
      case 6:
        run_breaker(in, clock);
        break;
      case 7:
        run_cache<bulwark::tiny_lfu_eviction>(in, clock);
        break;
      default:
        run_cache<bulwark::lru_eviction>(in, clock);
        break;
    }
  } catch (const std::invalid_argument& e) {
    // Refused options: the message names the component.
    BULWARK_FUZZ_CHECK(std::string_view{e.what()}.starts_with("bulwark::"));
  }
  return 0;
}
