#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "bulwark/circuit_breaker/detail/state_word.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

// The breaker's time arithmetic on its state word: the word a transition writes, how long it
// stays open, when that wait is over, and what a refusal reports as retry_after.

namespace bulwark::detail {

// The user's wait, or `fallback` when it throws. Each path returns its own value: g++ 12.2 at
// -O1/-O2 deleted the fallback store of "d = fallback; try { d = f(); } catch (...) {}" (dead
// store elimination across the call that throws), so a throwing function got the 1 ms floor.
// tests/circuit_breaker/test_wait_function_o2.cpp checks this at -O2.
[[nodiscard]] inline duration custom_wait(const circuit_breaker_options& o, std::uint32_t attempt,
                                          duration fallback) noexcept {
  BULWARK_TRY {
    return o.wait_in_open_function(attempt);
  }
  BULWARK_CATCH_ALL {
    return fallback;
  }
}

/// The wait in open for the given attempt (1 = first trip since closed), in whole milliseconds
/// as resilience4j's IntervalFunction computes it (see the docs).
[[nodiscard]] inline duration wait_in_open(const circuit_breaker_options& o,
                                           std::uint32_t attempt) noexcept {
  using std::chrono::milliseconds;
  // Duration.toMillis() truncates; so does every conversion below.
  const auto to_ms = [](duration d) { return std::chrono::duration_cast<milliseconds>(d); };
  const auto cap = to_ms(std::min(o.max_wait_in_open, max_breaker_wait));
  if (o.wait_in_open_function) {
    const duration d = custom_wait(o, attempt, cap);
    return std::clamp<duration>(to_ms(d), milliseconds{1}, max_breaker_wait);
  }
  // IntervalFunction.ofExponentialBackoff: LongStream.iterate(initial, x -> (long) (x * m))
  // truncates after every multiplication (not initial * m^(k-1) once), then min(max). The
  // sequence never decreases (m >= 1), so stopping at the cap gives the same minimum.
  auto ms = to_ms(o.wait_in_open).count();
  for (std::uint32_t i = 1; i < attempt && ms < cap.count(); ++i) {
    const double next = static_cast<double>(ms) * o.wait_in_open_multiplier;
    ms = next >= static_cast<double>(cap.count()) ? cap.count() : static_cast<std::int64_t>(next);
  }
  return std::min(milliseconds{ms}, cap);
}

// resilience4j's OpenState admits when `clock.instant().isAfter(retryAfterWaitDuration)`:
// strictly after the deadline, so a call at the deadline itself is still refused. The stamp is
// whole milliseconds; the sub-millisecond part of `now` decides a tie.
[[nodiscard]] inline bool wait_over(state_word w, time_point now) noexcept {
  const auto now_ms = floor_ms(now);
  const auto since = w.since_stamp(now_ms);
  return since > 0 || (since == 0 && now.time_since_epoch() > std::chrono::milliseconds{now_ms});
}

// The wait left until the deadline; one tick at the deadline itself, where calls are still
// refused, so a refusal never says "retry after 0s".
[[nodiscard]] inline duration remaining(state_word w, time_point now) noexcept {
  const auto now_ms = floor_ms(now);
  const auto into_ms = now.time_since_epoch() - std::chrono::milliseconds{now_ms};
  const duration left = std::chrono::milliseconds{-w.since_stamp(now_ms)} - into_ms;
  return std::max(left, duration{1});
}

/// The word a transition from `from` to `to` at `now` writes: one more generation; in open,
/// the attempt count (a reopen from half-open counts one more, anything else starts at 1) and
/// the deadline of the wait; in a bounded half-open, its deadline; otherwise the time itself.
[[nodiscard]] inline state_word next_word(const circuit_breaker_options& o, state_word from,
                                          circuit_state to, time_point now,
                                          bool from_manual) noexcept {
  std::uint32_t attempts = 0;
  std::int64_t stamp = floor_ms(now);
  if (to == circuit_state::open) {
    attempts = from.state() == circuit_state::half_open && !from_manual
                   ? std::min(from.attempts() + 1, state_word::max_attempts)
                   : 1u;
    stamp = ceil_ms(saturating_add(now, wait_in_open(o, attempts)));
  } else if (to == circuit_state::half_open) {
    attempts = from.attempts();
    if (o.max_wait_in_half_open > duration::zero())
      stamp = ceil_ms(saturating_add(now, o.max_wait_in_half_open));
  }
  return {to, attempts, from.generation() + 1, stamp};
}

}  // namespace bulwark::detail
