#pragma once
// The lock-free counting semaphore with a wait queue under bulwark::bulkhead (FIFO, CoDel,
// adaptive LIFO), and the permit and metrics types the bulkheads share.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

#include "bulwark/bulkhead/detail/wait_node.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/intrusive_list.hpp"

namespace bulwark {

/// A bulkhead's counters (monotonic) and gauges (snapshots). Calls let in are not counted, as
/// in resilience4j's bulkhead metrics: the counter would be a third atomic read-modify-write
/// on the try_acquire/release path, half as much again as its two CASes (see docs/bulkhead.md).
struct bulkhead_metrics {
  std::uint64_t rejected = 0;   ///< calls refused (full, queue full, or the wait timed out)
  std::uint64_t waited = 0;     ///< admitted calls that waited in the queue first
  std::uint64_t timed_out = 0;  ///< refusals whose wait in the queue timed out
  std::uint64_t shed = 0;       ///< waiters dropped by CoDel (counted in rejected too)
  std::uint32_t in_flight = 0;  ///< calls inside now
  std::uint32_t waiting = 0;    ///< callers queued now
  std::uint32_t max_concurrent = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"rejected_total", "Calls refused.", metric_type::counter, rejected});
    visit(metric{"waited_total", "Calls let in after waiting for a slot.", metric_type::counter,
                 waited});
    visit(metric{"timed_out_total", "Calls refused because their wait timed out.",
                 metric_type::counter, timed_out});
    visit(metric{"shed_total", "Waiters dropped by CoDel: the queue stayed non-empty too long.",
                 metric_type::counter, shed});
    visit(metric{"in_flight", "Calls inside now.", metric_type::gauge,
                 static_cast<std::uint64_t>(in_flight)});
    visit(metric{"waiting", "Callers waiting for a slot now.", metric_type::gauge,
                 static_cast<std::uint64_t>(waiting)});
    visit(metric{"max_concurrent", "Calls allowed inside at once.", metric_type::gauge,
                 static_cast<std::uint64_t>(max_concurrent)});
  }
  friend bool operator==(const bulkhead_metrics&, const bulkhead_metrics&) = default;
};

/// How a bulkhead serves the callers waiting for a slot (Facebook, "Fail at Scale", ACM Queue
/// 2015: Controlled Delay and Adaptive LIFO). The queue is *overloaded* once it has stayed
/// non-empty for queue_interval: it has not drained in that long, so it is a standing queue,
/// not a burst.
enum class queue_discipline {
  fifo,                 ///< arrival order, waits bounded only by the caller's timeout (the default)
  codel,                ///< FIFO, but while overloaded no one waits longer than queue_target
  adaptive_lifo,        ///< FIFO, but newest first while overloaded
  codel_adaptive_lifo,  ///< both, as Facebook runs them
};

/// The wait queue's discipline and its two times (Fail at Scale's M and N).
struct wait_queue_options {
  queue_discipline discipline = queue_discipline::fifo;
  duration target{};    ///< the longest wait once overloaded (CoDel)
  duration interval{};  ///< how long the queue must stay non-empty to be overloaded
};

namespace detail {
class bulkhead_semaphore;
}

/// The right to be inside a bulkhead: releases its slot when destroyed (or at release()).
/// Empty when the bulkhead refused. Move-only; one pointer. Not thread-safe itself (one owner),
/// but any thread may release it.
class [[nodiscard]] bulkhead_permit {
 public:
  bulkhead_permit() noexcept = default;
  bulkhead_permit(bulkhead_permit&& other) noexcept
      : owner_{std::exchange(other.owner_, nullptr)} {}
  bulkhead_permit& operator=(bulkhead_permit&& other) noexcept {
    if (this != &other) {
      release();
      owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
  }
  ~bulkhead_permit() { release(); }

  /// Whether the permit holds a slot.
  [[nodiscard]] explicit operator bool() const noexcept { return owner_ != nullptr; }
  /// Gives the slot back now (to the next waiter, if any). Idempotent.
  inline void release() noexcept;

 private:
  friend class detail::bulkhead_semaphore;
  explicit bulkhead_permit(detail::bulkhead_semaphore* owner) noexcept : owner_{owner} {}
  detail::bulkhead_semaphore* owner_ = nullptr;
};

namespace detail {

/// A counting semaphore whose uncontended path is one CAS, with a bounded queue of blocked
/// callers behind a mutex.
///
/// The state is one 64-bit word: calls inside in the low 32 bits, callers queued in the high
/// 32. Invariant: waiting > 0 implies in_flight >= max. It holds because a caller queues only
/// under the mutex after seeing in_flight >= max (its CAS fails if a slot was freed meanwhile),
/// and a release that finds waiting > 0 never frees its slot below max: it hands it to a
/// waiter (waiting - 1, in_flight unchanged), or, when a reconfigure() lowered max under
/// in_flight, drops it (in_flight - 1, still >= max). A reconfigure() that raises max hands
/// the new slots to waiters at once, under the mutex. So try_acquire() refuses whenever anyone
/// waits, and waiters cannot be overtaken: the queue's discipline alone decides who goes next.
///
/// The disciplines live on the slow path only. A waiter stays in the queue until served or
/// gone, so the instant the queue last became non-empty is fixed for as long as it waits: its
/// CoDel deadline, the first instant it has waited longer than target while the queue has been
/// non-empty for interval, is max(nonempty_since + interval, enqueued + target), known when it
/// queues. So CoDel needs no timer: each waiter shortens its own deadline. Adaptive LIFO reads
/// the clock at hand-over, through `now_` (the bulkhead's clock, type-erased).
///
/// Every change of `waiting` and of the queue happens under the mutex, so the queue's length is
/// `waiting` whenever the mutex is free; `in_flight` changes by CAS outside it.
class bulkhead_semaphore {
 public:
  static constexpr std::uint32_t max_count = 0x7fffffff;

  using clock_read = time_point (*)(const void*) noexcept;

  bulkhead_semaphore(std::uint32_t max_concurrent, std::uint32_t max_waiting,
                     wait_queue_options queue = {}, clock_read now = nullptr,
                     const void* clock = nullptr) noexcept
      : max_{max_concurrent}, max_waiting_{max_waiting}, queue_{queue}, now_{now}, clock_{clock} {}

  /// Why try_acquire_until refused, for bulkhead::execute's message.
  enum class refusal { none, full, timed_out, shed };

  bulkhead_semaphore(const bulkhead_semaphore&) = delete;
  bulkhead_semaphore& operator=(const bulkhead_semaphore&) = delete;

  /// New bounds and discipline, for bulkhead::reconfigure (validated there). Raising max hands
  /// the new slots to waiters now; lowering it lets the calls inside finish and admits no one
  /// until in_flight < max. Waiters already queued keep their place and their CoDel deadline;
  /// a lower max_waiting refuses newcomers until the queue is below it.
  void reconfigure(std::uint32_t max_concurrent, std::uint32_t max_waiting,
                   wait_queue_options queue) noexcept {
    const std::lock_guard lock{mutex_};
    // Relaxed: max_ is one word read on its own; a caller deciding just before this store
    // decides under the old bound, as if it came first.
    max_.store(max_concurrent, std::memory_order_relaxed);
    max_waiting_ = max_waiting;
    queue_ = queue;
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    while (waiting_of(word) != 0 && in_flight_of(word) < max_concurrent) {
      // A slot for the next waiter: waiting - 1, in_flight + 1. Release, as a hand-over.
      if (!word_.compare_exchange_weak(word, word - one_waiting + 1, std::memory_order_release,
                                       std::memory_order_relaxed)) {
        continue;
      }
      grant(next_waiter());
      word -= one_waiting - 1;
    }
  }

  /// One CAS when a slot is free and nobody waits. `count_refusal`: whether a refusal counts
  /// as rejected (try_acquire_for's first try does not: it may still wait).
  bulkhead_permit try_acquire(bool count_refusal = true) noexcept {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    do {
      if (waiting_of(word) != 0 || in_flight_of(word) >= max_.load(std::memory_order_relaxed)) {
        if (count_refusal) rejected_.add();
        return bulkhead_permit{};
      }
      // Acquire on success, release in release(): a slot handed from one call to the next
      // orders their accesses to what the bulkhead protects, as a mutex-based semaphore would.
      // (Free on x86; the count itself needs only the atomicity of the RMW.)
    } while (!word_.compare_exchange_weak(word, word + 1, std::memory_order_acquire,
                                          std::memory_order_relaxed));
    return bulkhead_permit{this};
  }

  /// The slow path of try_acquire_for: queues until a slot is handed over or `deadline` passes.
  template <clock C>
  bulkhead_permit try_acquire_until(const C& clock, time_point deadline, refusal* why = nullptr) {
    std::unique_lock lock{mutex_};
    blocking_waiter self;
    time_point wait_deadline{};
    if (bulkhead_permit p = admit_or_queue(clock, deadline, self, wait_deadline, why);
        p || !self.queued) {
      return p;
    }
    if (!detail::wait_until(self.wake, lock, clock, wait_deadline,
                            [&self] { return self.granted; })) {
      withdraw_locked(self, wait_deadline < deadline ? refusal::shed : refusal::timed_out, why);
      return bulkhead_permit{};
    }
    // The releasing thread kept in_flight as it was: the slot is now ours. Its CAS happened
    // under the mutex we hold again, which orders its critical section before ours.
    waited_.add();
    return bulkhead_permit{this};
  }

  /// A queued caller (bulkhead/detail/wait_node.hpp): a blocked thread or an awaiting coroutine.
  using wait_node = bulkhead_wait_node;

  /// try_acquire_until's first half for a caller that waits elsewhere: a permit at once if a
  /// slot is free and nobody waits; else `node` queued (`queued` set true) with `wait_deadline`
  /// the time it should give up by (CoDel may make it earlier than `deadline`); else (queue
  /// full, or `deadline` passed) an empty permit, counted as rejected. A queued node ends with
  /// exactly one of: its on_grant (then adopt()), or withdraw() returning true. `queued` is
  /// decided under the mutex: node.queued itself may change as soon as it is released.
  template <clock C>
  bulkhead_permit enqueue(const C& clock, time_point deadline, wait_node& node,
                          time_point& wait_deadline, bool& queued) {
    const std::lock_guard lock{mutex_};
    bulkhead_permit p = admit_or_queue(clock, deadline, node, wait_deadline, nullptr);
    queued = node.queued;
    return p;
  }

  /// Takes a queued `node` out of the queue because its caller gave up (`why`: timed_out or
  /// shed, counted as such and as rejected; none: cancelled, not counted). False when the node
  /// was granted first: its on_grant has run or is running, and the slot is the caller's.
  bool withdraw(wait_node& node, refusal why) noexcept {
    const std::lock_guard lock{mutex_};
    if (!node.queued) return false;
    withdraw_locked(node, why, nullptr);
    return true;
  }

  /// The permit for a node whose on_grant ran (counted as waited).
  bulkhead_permit adopt(wait_node&) noexcept {
    waited_.add();
    return bulkhead_permit{this};
  }

  void release() noexcept {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    while (waiting_of(word) == 0) {
      if (word_.compare_exchange_weak(word, word - 1, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return;
      }
    }
    hand_over();
  }

  void count_refusal() noexcept { rejected_.add(); }

  [[nodiscard]] std::uint32_t in_flight() const noexcept {
    return in_flight_of(word_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] std::uint32_t waiting() const noexcept {
    return waiting_of(word_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] bulkhead_metrics metrics() const noexcept {
    const std::uint64_t word = word_.load(std::memory_order_relaxed);
    return {rejected_.load(),
            waited_.load(),
            timed_out_.load(),
            shed_.load(),
            in_flight_of(word),
            waiting_of(word),
            max_.load(std::memory_order_relaxed)};
  }

 private:
  static constexpr std::uint64_t one_waiting = std::uint64_t{1} << 32;
  static std::uint32_t in_flight_of(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word);
  }
  static std::uint32_t waiting_of(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> 32);
  }

  // Under the mutex: a permit if a slot is free and nobody waits; else `node` queued (with its
  // wait_deadline); else a refusal (counted).
  template <clock C>
  bulkhead_permit admit_or_queue(const C& clock, time_point deadline, wait_node& node,
                                 time_point& wait_deadline, refusal* why) {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    time_point now{};
    for (;;) {
      if (waiting_of(word) == 0 && in_flight_of(word) < max_.load(std::memory_order_relaxed)) {
        if (word_.compare_exchange_weak(word, word + 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
          return bulkhead_permit{this};
        }
        continue;
      }
      now = clock.now();
      if (waiting_of(word) >= max_waiting_ || now >= deadline) {
        rejected_.add();
        if (why != nullptr) *why = refusal::full;
        return bulkhead_permit{};
      }
      if (word_.compare_exchange_weak(word, word + one_waiting, std::memory_order_relaxed)) break;
    }
    if (waiters_.empty()) nonempty_since_ = now;
    waiters_.push_back(node);
    node.queued = true;
    wait_deadline = codel() ? std::min(deadline, codel_deadline(now)) : deadline;
    return bulkhead_permit{};
  }

  // Under the mutex, with `node` queued.
  void withdraw_locked(wait_node& node, refusal reason, refusal* why) noexcept {
    waiters_.erase(node);
    node.queued = false;
    // Relaxed: the mutex orders this with every other change of `waiting`.
    word_.fetch_sub(one_waiting, std::memory_order_relaxed);
    if (reason == refusal::none) return;  // cancelled by its caller: not a refusal
    rejected_.add();
    (reason == refusal::shed ? shed_ : timed_out_).add();
    if (why != nullptr) *why = reason;
  }

  [[nodiscard]] bool codel() const noexcept {
    return queue_.discipline == queue_discipline::codel ||
           queue_.discipline == queue_discipline::codel_adaptive_lifo;
  }
  [[nodiscard]] bool adaptive_lifo() const noexcept {
    return queue_.discipline == queue_discipline::adaptive_lifo ||
           queue_.discipline == queue_discipline::codel_adaptive_lifo;
  }
  // Under the mutex, for a waiter queued at `now` (see the class comment).
  [[nodiscard]] time_point codel_deadline(time_point now) const noexcept {
    return std::max(deadline_after(nonempty_since_, queue_.interval),
                    deadline_after(now, queue_.target));
  }
  // Under the mutex, with the queue non-empty.
  [[nodiscard]] wait_node& next_waiter() const noexcept {
    if (adaptive_lifo() && now_ != nullptr &&
        now_(clock_) >= deadline_after(nonempty_since_, queue_.interval)) {
      return *waiters_.back();
    }
    return *waiters_.front();
  }

  void hand_over() noexcept {
    // std::mutex::lock may throw only for system errors (EDEADLK, ...) that a correct program
    // cannot meet here; release() is noexcept because it runs in destructors.
    const std::lock_guard lock{mutex_};
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (waiting_of(word) == 0) {
        // The waiters timed out between our look and the lock: free the slot after all.
        if (word_.compare_exchange_weak(word, word - 1, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          return;
        }
        continue;
      }
      if (in_flight_of(word) > max_.load(std::memory_order_relaxed)) {
        // max was lowered under in_flight (reconfigure): drop the slot, keep the waiters.
        if (word_.compare_exchange_weak(word, word - 1, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          return;
        }
        continue;
      }
      if (word_.compare_exchange_weak(word, word - one_waiting, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    grant(next_waiter());  // waiting > 0 under the mutex: the queue is not empty
  }

  // Under the mutex, after the word counted the hand-over: `next` leaves the queue with the
  // slot (on_grant wakes its thread or posts its coroutine's completion).
  void grant(wait_node& next) noexcept {
    waiters_.erase(next);
    next.queued = false;
    next.on_grant(next);
  }

  // The word has a line pair of its own (with the read-only bounds): try_acquire and release
  // touch nothing else.
  alignas(detail::false_sharing_range) std::atomic<std::uint64_t> word_{0};
  std::atomic<std::uint32_t> max_;  // relaxed; changed only under mutex_ (reconfigure)
  std::uint32_t max_waiting_;       // read and changed under mutex_
  alignas(detail::false_sharing_range) std::mutex mutex_;
  intrusive_list<wait_node> waiters_;  // oldest first
  time_point nonempty_since_{};        // when the queue last went from empty to non-empty
  wait_queue_options queue_;
  clock_read now_;
  const void* clock_;
  metric_counter rejected_;
  metric_counter waited_;
  metric_counter timed_out_;
  metric_counter shed_;
};

}  // namespace detail

inline void bulkhead_permit::release() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release();
}

}  // namespace bulwark
