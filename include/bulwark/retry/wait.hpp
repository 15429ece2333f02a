#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <mutex>
#include <stop_token>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// A clock whose waits a std::stop_token can end early: `sleep_for(d, token)` waits up to d
/// and returns false if it returned because a stop was requested. A retry executor on such a
/// clock uses it for its waits; a user-defined clock opts in by providing it.
template <class C>
concept stoppable_clock = clock<C> && requires(C& c, duration d, std::stop_token token) {
  { c.sleep_for(d, token) } -> std::convertible_to<bool>;
};

namespace detail {

/// Waits `d` on `c` unless `stop` is requested first; returns false if stopped (before or
/// during the wait), true if the whole wait elapsed.
///
/// How each clock waits:
///   - no stop possible (a default token): the clock's own sleep_for, nothing else;
///   - stoppable_clock: its sleep_for(d, token);
///   - steady_clock and coarse_clock: a condition_variable_any wait with the token, so a stop
///     request wakes the waiting thread at once (C++20's interruptible wait registers a
///     stop_callback that notifies it); spurious wake-ups are absorbed by the predicate;
///   - any other clock (manual_clock, a simulation's clock): virtual time. A stop requested
///     before the wait skips it, so virtual time does not move; the wait itself is the
///     clock's sleep_for (for manual_clock, an instant advance), after which a stop requested
///     meanwhile (by another thread) still counts: the call reports stopped.
template <clock C>
[[nodiscard]] bool sleep_unless_stopped(C& c, duration d, const std::stop_token& stop) {
  if (!stop.stop_possible()) {
    c.sleep_for(d);
    return true;
  }
  if (stop.stop_requested()) return false;
  if (d <= duration::zero()) return true;
  if constexpr (stoppable_clock<C>) {
    return static_cast<bool>(c.sleep_for(d, stop));
  } else if constexpr (real_time_clock<C>) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock{mutex};
    // The predicate is never true: only the deadline or the stop request ends the wait.
    // wait_for(d) would compute now + d unchecked; a huge d (a server's hint) must not wrap.
    const time_point deadline = deadline_after(std::chrono::steady_clock::now(), d);
    if (deadline == time_point::max()) {
      (void)wake.wait(lock, stop, [] { return false; });
    } else {
      (void)wake.wait_until(lock, stop, deadline, [] { return false; });
    }
    return !stop.stop_requested();
  } else {
    c.sleep_for(d);
    return !stop.stop_requested();
  }
}

}  // namespace detail
}  // namespace bulwark
