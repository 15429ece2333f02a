#pragma once
// Waiting on a condition variable or a future until a deadline read from any bulwark clock.
// Shared by the bulkhead (try_acquire_for), compose (timeout's watchdog and future, hedge's
// delay) and retry's interruptible sleep (real_time_clock).

#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <future>
#include <mutex>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/saturating.hpp"  // deadline_after, for this header's users

namespace bulwark::detail {

/// How long a waiter on a virtual clock sleeps (in real time) between two reads of the clock.
/// Virtual time moves only when another thread advances it, and no clock notifies waiters, so
/// the waiter polls; 1 ms keeps a test's real wait short and the polling cheap.
inline constexpr std::chrono::milliseconds virtual_clock_poll{1};

/// Whether time points from C are steady_clock time points in real time, so that a
/// condition_variable can wait until one directly.
template <class C>
inline constexpr bool real_time_clock =
    std::same_as<C, steady_clock> || std::same_as<C, coarse_clock>;

/// Waits on `cv` (with `lock` held) until `ready()` or until `clock.now() >= deadline`, and
/// returns ready(). Real clocks wait until the deadline itself; any other clock (manual_clock,
/// a simulation's) is read every virtual_clock_poll of real time, because virtual time can
/// reach the deadline without anyone notifying the waiter.
template <clock C, class Predicate>
bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, const C& clock,
                time_point deadline, Predicate ready) {
  if constexpr (real_time_clock<C>) {
    if (deadline == time_point::max()) {
      cv.wait(lock, ready);
      return true;
    }
    return cv.wait_until(lock, deadline, ready);
  } else {
    while (!ready()) {
      if (clock.now() >= deadline) return ready();
      cv.wait_for(lock, virtual_clock_poll);
    }
    return true;
  }
}

/// Waits until `future` is ready or `clock.now() >= deadline`, and returns whether it is
/// ready; the same two ways of waiting as the condition_variable form above.
template <clock C, class T>
bool wait_until(std::future<T>& future, const C& clock, time_point deadline) {
  if constexpr (real_time_clock<C>) {
    if (deadline == time_point::max()) {
      future.wait();
      return true;
    }
    return future.wait_until(deadline) == std::future_status::ready;
  } else {
    while (future.wait_for(virtual_clock_poll) != std::future_status::ready) {
      if (clock.now() >= deadline) return false;
    }
    return true;
  }
}

}  // namespace bulwark::detail
