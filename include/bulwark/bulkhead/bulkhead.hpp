#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <utility>

#include "bulwark/bulkhead/semaphore.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// A bulkhead's configuration. The defaults are resilience4j's SemaphoreBulkhead (25 calls,
/// no waiting in execute()); the wait queue's bound is bulwark's (resilience4j bounds it only
/// by the threads that block).
struct bulkhead_options {
  /// Calls allowed inside at once. In [1, 2^31 - 1].
  std::uint32_t max_concurrent = 25;
  /// Callers allowed to wait in try_acquire_for() at once; the next one is refused at once. In
  /// [0, 2^31 - 1].
  std::uint32_t max_waiting = 100;
  /// How long execute() waits for a slot (resilience4j's maxWaitDuration). >= 0; zero: it
  /// never waits, which is try_acquire().
  duration max_wait = duration::zero();
  /// How waiters are served (see queue_discipline). fifo: arrival order, as before.
  queue_discipline queue = queue_discipline::fifo;
  /// CoDel's target (Fail at Scale's M): once the queue is overloaded, no one waits longer.
  /// > 0; Facebook's 5 ms.
  duration queue_target = std::chrono::milliseconds{5};
  /// CoDel's interval (Fail at Scale's N): the queue is overloaded once it has stayed
  /// non-empty this long; it also switches adaptive LIFO. > 0; Facebook's 100 ms.
  duration queue_interval = std::chrono::milliseconds{100};
};

namespace detail {
/// Reaches a bulkhead's semaphore: defined by the asio add-on (asio/bulkhead.hpp), whose
/// awaitable waits queue in the same queue as blocked threads.
struct bulkhead_access;

inline void validate(const bulkhead_options& options) {
  const option_check check{"bulkhead"};
  check.in_range("max_concurrent", options.max_concurrent, std::uint32_t{1},
                 detail::bulkhead_semaphore::max_count);
  check.at_most("max_waiting", options.max_waiting, detail::bulkhead_semaphore::max_count);
  check.non_negative("max_wait", options.max_wait);
  check.that(options.queue >= queue_discipline::fifo &&
                 options.queue <= queue_discipline::codel_adaptive_lifo,
             "queue", "a queue_discipline", static_cast<int>(options.queue));
  check.positive("queue_target", options.queue_target);
  check.positive("queue_interval", options.queue_interval);
}
}  // namespace detail

/// A semaphore bulkhead (resilience4j's Bulkhead, Polly's concurrency limiter): at most
/// max_concurrent calls inside at once, and a bounded queue of callers waiting for a slot,
/// FIFO by default, or run as Facebook runs its server queues (CoDel, adaptive LIFO).
///
///   bulwark::bulkhead payments({.max_concurrent = 10, .max_wait = 50ms});
///   auto receipt = payments.execute(charge, order);      // throws bulkhead_full when refused
///   if (auto permit = payments.try_acquire()) { ... }      // non-throwing; released at scope end
///
/// try_acquire() and a permit's release are one CAS each on one 64-bit word when nobody waits
/// (lock-free; see bulkhead_semaphore). try_acquire_for() queues when the bulkhead is full: waiters
/// are served in the order options().queue says (arrival order by default), and try_acquire()
/// does not overtake them.
///
/// The clock only times try_acquire_for()'s waits: with manual_clock a waiter's deadline is virtual
/// (it is checked every millisecond of real time), which lets tests run timeouts without
/// sleeping. Thread-safe; neither copyable nor movable (permits point at it).
template <clock Clock = steady_clock>
class bulkhead {
 public:
  using permit = bulkhead_permit;

  /// Throws std::invalid_argument ("bulwark::bulkhead: max_concurrent must be in [1,
  /// 2147483647] (got 0)").
  explicit bulkhead(bulkhead_options options = {}, Clock clock = {})
      : options_{(detail::validate(options), options)},
        semaphore_{options_.max_concurrent,
                   options_.max_waiting,
                   {options_.queue, options_.queue_target, options_.queue_interval},
                   &read_clock,
                   &clock_},
        clock_{std::move(clock)} {}

  bulkhead(const bulkhead&) = delete;
  bulkhead& operator=(const bulkhead&) = delete;

  /// A permit if a slot is free and nobody is waiting for one, else an empty permit. Never
  /// blocks, never reads the clock. O(1), lock-free.
  [[nodiscard]] permit try_acquire() noexcept { return semaphore_.try_acquire(); }

  /// A permit, waiting up to `timeout` for a slot in the queue when the bulkhead is full; an
  /// empty permit if the queue is full, the wait timed out, or CoDel shed it. A zero or
  /// negative timeout never waits. Reads the clock only when it has to wait.
  [[nodiscard]] permit try_acquire_for(duration timeout) {
    if (permit p = semaphore_.try_acquire(false)) return p;
    if (timeout <= duration::zero()) {
      semaphore_.count_refusal();
      return {};
    }
    return semaphore_.try_acquire_until(clock_, detail::deadline_after(clock_.now(), timeout));
  }

  /// As try_acquire_for, until the time point `deadline` of the bulkhead's clock.
  [[nodiscard]] permit try_acquire_until(time_point deadline) {
    if (permit p = semaphore_.try_acquire(false)) return p;
    return semaphore_.try_acquire_until(clock_, deadline);
  }

  /// Runs f(args...) inside the bulkhead (waiting up to options().max_wait for a slot) and
  /// returns its result; the slot is released however f ends. Throws bulwark::bulkhead_full
  /// when refused, and f's exceptions unchanged. Not offered without exceptions
  /// (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    using refusal = detail::bulkhead_semaphore::refusal;
    refusal why = refusal::none;
    const permit p =
        options_.max_wait > duration::zero() ? wait_for(options_.max_wait, why) : try_acquire();
    if (!p) detail::raise<bulkhead_full>("bulkhead", refusal_reason(why));
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Calls inside now (a snapshot). O(1).
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return semaphore_.in_flight(); }
  /// Callers queued in try_acquire_for() now (a snapshot). O(1).
  [[nodiscard]] std::uint32_t waiting() const noexcept { return semaphore_.waiting(); }
  /// Counters and gauges. O(1).
  [[nodiscard]] bulkhead_metrics metrics() const noexcept { return semaphore_.metrics(); }
  [[nodiscard]] const bulkhead_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  friend struct detail::bulkhead_access;

  static time_point read_clock(const void* clock) noexcept {
    return static_cast<const Clock*>(clock)->now();
  }

  permit wait_for(duration timeout, detail::bulkhead_semaphore::refusal& why) {
    if (permit p = semaphore_.try_acquire(false)) return p;
    return semaphore_.try_acquire_until(clock_, detail::deadline_after(clock_.now(), timeout),
                                        &why);
  }

  [[nodiscard]] const char* refusal_reason(detail::bulkhead_semaphore::refusal why) const noexcept {
    if (why == detail::bulkhead_semaphore::refusal::shed)
      return "shed by CoDel: the wait queue stayed non-empty for queue_interval and the call "
             "waited longer than queue_target";
    return options_.max_wait > duration::zero()
               ? "no free slot within max_wait, or the wait queue is full"
               : "max_concurrent calls are in flight";
  }

  bulkhead_options options_;
  detail::bulkhead_semaphore semaphore_;
  [[no_unique_address]] Clock clock_;
};

}  // namespace bulwark
