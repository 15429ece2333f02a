#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <memory>
#include <thread>

#if __has_include(<time.h>)
#include <time.h>
#endif

namespace bulwark {

/// The one duration and time-point type every bulwark clock uses, so that a time point read
/// from one clock can be handed to any component's `now` overload and compared with another's.
using duration = std::chrono::steady_clock::duration;
using time_point = std::chrono::steady_clock::time_point;

/// What a component needs of time: `now()` and a `sleep_for(d)` that waits `d`.
/// Components take the clock as a template parameter and keep a copy of a clock value, so a
/// clock is a small copyable value (empty for the real clocks, a handle for manual_clock).
template <class C>
concept clock = std::copy_constructible<C> && requires(C& c, const C& cc, duration d) {
  typename C::duration;
  typename C::time_point;
  requires std::same_as<typename C::time_point, time_point>;
  { cc.now() } -> std::same_as<time_point>;
  c.sleep_for(d);
};

/// The default clock: std::chrono::steady_clock, with sleep_for on the calling thread.
/// Thread-safe; empty, so `[[no_unique_address]]` members cost no bytes.
struct steady_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;

  [[nodiscard]] static time_point now() noexcept { return std::chrono::steady_clock::now(); }
  /// coarse_clock::now(): the same clock, read cheaply at a scheduler tick's resolution (see
  /// offers_coarse_now).
  [[nodiscard]] static time_point coarse_now() noexcept;
  static void sleep_for(duration d) {
    if (d > duration::zero()) std::this_thread::sleep_for(d);
  }
};

/// A cheaper, coarser steady clock for time buckets of a second or more: CLOCK_MONOTONIC_COARSE
/// where the platform has it (a read here costs about 7 ns against 24 ns for steady_clock, at a
/// resolution of one scheduler tick, typically 1 to 4 ms), std::chrono::steady_clock otherwise.
///
/// Its time points share steady_clock's epoch (libstdc++ and libc++ read CLOCK_MONOTONIC for
/// steady_clock; the coarse variant is the same clock, updated at each tick), so they compare
/// with steady_clock's, lagging them by at most resolution(). Thread-safe and empty.
struct coarse_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;

  [[nodiscard]] static time_point now() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point{std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec}};
#else
    return std::chrono::steady_clock::now();
#endif
  }

  /// How far a reading may lag the steady clock: the platform's tick for the coarse clock.
  [[nodiscard]] static duration resolution() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    timespec ts{};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
#else
    return std::chrono::nanoseconds{1};
#endif
  }

  static void sleep_for(duration d) {
    steady_clock::sleep_for(d);
  }
};

inline time_point steady_clock::coarse_now() noexcept {
  return coarse_clock::now();
}

/// A clock that also offers `coarse_now()`: a cheaper reading of the same clock that lags
/// now() by at most a tick (coarse_clock::resolution() for steady_clock). A guard whose
/// precision allows it (the breaker's slow-call detection at thresholds of a second or more)
/// reads it instead of now(); a clock without it (manual_clock) is always read with now().
template <class C>
concept offers_coarse_now = requires(const C& c) {
  { c.coarse_now() } -> std::same_as<time_point>;
};

namespace detail {
/// c.coarse_now() where the clock offers it, else c.now().
template <class C>
[[nodiscard]] time_point coarse_now(const C& c) noexcept {
  if constexpr (offers_coarse_now<C>) {
    return c.coarse_now();
  } else {
    return c.now();
  }
}
}  // namespace detail

/// A thread-safe virtual clock for tests, simulations and examples.
///
/// A manual_clock is a handle: copies share one virtual time, so a component holding a copy
/// sees every `advance()` made through the original. Time moves only when told to:
/// `advance(d)` moves it by d (a negative d moves it back, which lets a test check that a
/// component survives a clock going backwards), `set(t)` jumps to t, and `sleep_for(d)`
/// advances by d instead of blocking, so code that waits runs in virtual time.
///
/// It starts at `manual_clock::default_start`, one day after the epoch, so that components
/// subtracting a window from now() stay after the epoch. Every operation is one atomic access.
class manual_clock {
 public:
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;

  static constexpr time_point default_start{std::chrono::hours{24}};

  manual_clock() : manual_clock(default_start) {}
  explicit manual_clock(time_point start)
      : now_ns_{std::make_shared<std::atomic<duration::rep>>(start.time_since_epoch().count())} {}

  /// Acquire pairs with the release in advance()/set(): a thread that reads a time point also
  /// sees what the advancing thread wrote before moving time, which tests rely on when one
  /// thread advances time and another observes the effect.
  [[nodiscard]] time_point now() const noexcept {
    return time_point{duration{now_ns_->load(std::memory_order_acquire)}};
  }

  /// Moves virtual time by d (may be negative) and returns the new time.
  time_point advance(duration d) noexcept {
    const auto ns = now_ns_->fetch_add(d.count(), std::memory_order_acq_rel) + d.count();
    return time_point{duration{ns}};
  }

  /// Sets virtual time to t, forwards or backwards.
  void set(time_point t) noexcept {
    now_ns_->store(t.time_since_epoch().count(), std::memory_order_release);
  }

  /// Advances virtual time by d instead of blocking; a zero or negative d does nothing.
  void sleep_for(duration d) noexcept {
    if (d > duration::zero()) advance(d);
  }

  /// Identifies the shared virtual time: equal for copies of one clock, different for clocks
  /// made apart. The asio add-on keys its virtual timer queues by it (docs/async.md).
  [[nodiscard]] const void* time_id() const noexcept { return now_ns_.get(); }

 private:
  std::shared_ptr<std::atomic<duration::rep>> now_ns_;
};

}  // namespace bulwark
