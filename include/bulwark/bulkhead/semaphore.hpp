#pragma once
// The lock-free counting semaphore with a FIFO wait queue under bulwark::bulkhead, and the
// permit and metrics types the bulkheads share.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/clock_wait.hpp"

namespace bulwark {

/// A bulkhead's counters (monotonic) and gauges (snapshots). Calls let in are not counted, as
/// in resilience4j's bulkhead metrics: the counter would be a third atomic read-modify-write
/// on the try_enter/release path, half as much again as its two CASes (see docs/bulkhead.md).
struct bulkhead_metrics {
  std::uint64_t rejected = 0;   ///< calls refused (full, queue full, or the wait timed out)
  std::uint64_t waited = 0;     ///< admitted calls that waited in the queue first
  std::uint64_t timed_out = 0;  ///< refusals whose wait in the queue timed out
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
    visit(metric{"in_flight", "Calls inside now.", metric_type::gauge,
                 static_cast<std::uint64_t>(in_flight)});
    visit(metric{"waiting", "Callers waiting for a slot now.", metric_type::gauge,
                 static_cast<std::uint64_t>(waiting)});
    visit(metric{"max_concurrent", "Calls allowed inside at once.", metric_type::gauge,
                 static_cast<std::uint64_t>(max_concurrent)});
  }
  friend bool operator==(const bulkhead_metrics&, const bulkhead_metrics&) = default;
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
  /// Gives the slot back now (to the longest waiter, if any). Idempotent.
  inline void release() noexcept;

 private:
  friend class detail::bulkhead_semaphore;
  explicit bulkhead_permit(detail::bulkhead_semaphore* owner) noexcept : owner_{owner} {}
  detail::bulkhead_semaphore* owner_ = nullptr;
};

namespace detail {

/// A counting semaphore whose uncontended path is one CAS, with a bounded FIFO queue of
/// blocked callers behind a mutex.
///
/// The state is one 64-bit word: calls inside in the low 32 bits, callers queued in the high
/// 32. Invariant: waiting > 0 implies in_flight == max. It holds because a caller queues only
/// under the mutex after seeing in_flight == max (its CAS fails if a slot was freed meanwhile),
/// and a release that finds waiting > 0 never frees its slot: it hands it to the head of the
/// queue (waiting - 1, in_flight unchanged). So try_enter() refuses whenever anyone waits, and
/// waiters cannot be overtaken: the queue is FIFO end to end.
///
/// Every change of `waiting` and of the queue happens under the mutex, so the queue's length is
/// `waiting` whenever the mutex is free; `in_flight` changes by CAS outside it.
class bulkhead_semaphore {
 public:
  static constexpr std::uint32_t max_count = 0x7fffffff;

  bulkhead_semaphore(std::uint32_t max_concurrent, std::uint32_t max_waiting) noexcept
      : max_{max_concurrent}, max_waiting_{max_waiting} {}

  bulkhead_semaphore(const bulkhead_semaphore&) = delete;
  bulkhead_semaphore& operator=(const bulkhead_semaphore&) = delete;

  /// One CAS when a slot is free and nobody waits. `count_refusal`: whether a refusal counts
  /// as rejected (enter_for's first try does not: it may still wait).
  bulkhead_permit try_enter(bool count_refusal = true) noexcept {
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    do {
      if (waiting_of(word) != 0 || in_flight_of(word) >= max_) {
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

  /// The slow path of enter_for: queues until a slot is handed over or `deadline` passes.
  template <clock C>
  bulkhead_permit enter_until(const C& clock, time_point deadline) {
    std::unique_lock lock{mutex_};
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (waiting_of(word) == 0 && in_flight_of(word) < max_) {
        if (word_.compare_exchange_weak(word, word + 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
          return bulkhead_permit{this};
        }
        continue;
      }
      if (waiting_of(word) >= max_waiting_ || clock.now() >= deadline) {
        rejected_.add();
        return bulkhead_permit{};
      }
      if (word_.compare_exchange_weak(word, word + one_waiting, std::memory_order_relaxed)) break;
    }
    waiter self;
    push_back(self);
    if (!detail::wait_until(self.wake, lock, clock, deadline, [&self] { return self.granted; })) {
      unlink(self);
      // Relaxed: the mutex orders this with every other change of `waiting`.
      word_.fetch_sub(one_waiting, std::memory_order_relaxed);
      rejected_.add();
      timed_out_.add();
      return bulkhead_permit{};
    }
    // The releasing thread kept in_flight as it was: the slot is now ours. Its CAS happened
    // under the mutex we hold again, which orders its critical section before ours.
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
    return {rejected_.load(),   waited_.load(),   timed_out_.load(),
            in_flight_of(word), waiting_of(word), max_};
  }

 private:
  static constexpr std::uint64_t one_waiting = std::uint64_t{1} << 32;
  static std::uint32_t in_flight_of(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word);
  }
  static std::uint32_t waiting_of(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> 32);
  }

  struct waiter {
    waiter* prev = nullptr;
    waiter* next = nullptr;
    bool granted = false;
    std::condition_variable wake;  // one per waiter: a hand-over wakes exactly the head
  };

  void push_back(waiter& w) noexcept {
    w.prev = tail_;
    (tail_ != nullptr ? tail_->next : head_) = &w;
    tail_ = &w;
  }
  void unlink(waiter& w) noexcept {
    (w.prev != nullptr ? w.prev->next : head_) = w.next;
    (w.next != nullptr ? w.next->prev : tail_) = w.prev;
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
      if (word_.compare_exchange_weak(word, word - one_waiting, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        break;
      }
    }
    waiter& head = *head_;  // waiting > 0 under the mutex: the queue is not empty
    unlink(head);
    head.granted = true;
    // Notified under the mutex: the waiter cannot leave (and destroy `head`) before we unlock.
    head.wake.notify_one();
  }

  // The word has a cache line of its own (with the read-only bounds): try_enter and release
  // touch nothing else.
  alignas(64) std::atomic<std::uint64_t> word_{0};
  std::uint32_t max_;
  std::uint32_t max_waiting_;
  alignas(64) std::mutex mutex_;
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
  metric_counter rejected_;
  metric_counter waited_;
  metric_counter timed_out_;
};

}  // namespace detail

inline void bulkhead_permit::release() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release();
}

}  // namespace bulwark
