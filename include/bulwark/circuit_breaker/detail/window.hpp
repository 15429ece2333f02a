#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/false_sharing.hpp"

// The closed state's sliding windows (resilience4j's FixedSizeSlidingWindowMetrics and
// SlidingTimeWindowMetrics), lock-free.
//
// Both keep their totals in a window_totals next to the per-call (or per-second) storage, and
// keep one invariant: after every thread has finished its operation, the totals equal the sum
// of what the storage holds. Each operation moves a contribution into or out of the storage
// with one atomic exchange or fetch_add and then applies the same signed difference to the
// totals, so the differences telescope whatever order threads interleave in. Between those two
// steps a reader can see the totals a few calls off (never lost, never counted twice once the
// writers finish); the fields are biased so that such a transient, even a negative one, decodes
// exactly instead of borrowing from its neighbour.

namespace bulwark::detail {

/// What a window holds, or a change to it.
struct window_counts {
  std::int64_t calls = 0;
  std::int64_t failed = 0;
  std::int64_t slow = 0;

  [[nodiscard]] constexpr window_counts operator-() const noexcept {
    return {-calls, -failed, -slow};
  }
  [[nodiscard]] constexpr bool empty() const noexcept {
    return calls == 0 && failed == 0 && slow == 0;
  }
};

/// One call's entry in a window, a byte: bit 0 "a call is here", bit 1 failed, bit 2 slow.
using outcome_code = std::uint8_t;

[[nodiscard]] constexpr outcome_code make_code(bool failed, bool slow) noexcept {
  return static_cast<outcome_code>(1u | (failed ? 2u : 0u) | (slow ? 4u : 0u));
}

[[nodiscard]] constexpr window_counts counts_of(outcome_code code) noexcept {
  return {code & 1, (code >> 1) & 1, (code >> 2) & 1};
}

/// Totals of a window: calls and failed calls packed in one word (so one fetch_add moves both
/// and a reader sees a consistent pair), slow calls in a second word touched only by slow calls.
/// Each packed field holds value + 2^31, so values in [-2^31, 2^31) decode exactly.
class window_totals {
 public:
  /// Adds `delta` and returns the totals after it (the calls/failed pair from this thread's own
  /// read-modify-write, so it is the latest in that word's modification order).
  // Always inlined: record() is the breaker's hot path, and g++ 12 stopped inlining this into
  // the time window's record() once circuit_breaker::finish grew by a settings load (30
  // instructions a call more, measured with count_compose breaker_time).
  [[gnu::always_inline]] window_counts add(const window_counts& delta) noexcept {
    window_counts after{};
    // Relaxed: the totals are counters; decisions use the value this RMW returns, and no other
    // memory is published through them.
    if (delta.calls != 0 || delta.failed != 0) {
      const auto d = pack_delta(delta.calls, delta.failed);
      unpack(calls_failed_.fetch_add(d, std::memory_order_relaxed) + d, after);
    } else {
      unpack(calls_failed_.load(std::memory_order_relaxed), after);
    }
    after.slow = delta.slow != 0
                     ? slow_.fetch_add(delta.slow, std::memory_order_relaxed) + delta.slow
                     : slow_.load(std::memory_order_relaxed);
    return after;
  }

  /// Sets the totals of a window no other thread sees yet (a resize's copy). Not add(): a
  /// further caller of add() tipped g++ into calling it out of line from record().
  void set(const window_counts& totals) noexcept {
    calls_failed_.store(pack_delta(totals.calls, totals.failed) + ((bias << 32) | bias),
                        std::memory_order_relaxed);
    slow_.store(totals.slow, std::memory_order_relaxed);
  }

  [[nodiscard]] window_counts load() const noexcept {
    window_counts now{};
    unpack(calls_failed_.load(std::memory_order_relaxed), now);
    now.slow = slow_.load(std::memory_order_relaxed);
    return now;
  }

 private:
  static constexpr std::uint64_t bias = std::uint64_t{1} << 31;

  static constexpr std::uint64_t pack_delta(std::int64_t calls, std::int64_t failed) noexcept {
    // Modular arithmetic: adding (calls << 32) + failed to the packed word adds each field
    // exactly as long as every field stays in range, which the bias guarantees.
    return (static_cast<std::uint64_t>(calls) << 32) + static_cast<std::uint64_t>(failed);
  }
  static void unpack(std::uint64_t word, window_counts& out) noexcept {
    out.calls = static_cast<std::int64_t>(word >> 32) - static_cast<std::int64_t>(bias);
    out.failed = static_cast<std::int64_t>(word & 0xffff'ffffu) - static_cast<std::int64_t>(bias);
  }

  std::atomic<std::uint64_t> calls_failed_{(bias << 32) | bias};
  std::atomic<std::int64_t> slow_{0};
};

/// The last `size` calls: a ring of outcome codes, written at a shared head.
/// record: one fetch_add on the head, then, only when the entry it replaces differs, one
/// exchange on the slot and one fetch_add on the totals (a steady stream of successes does
/// neither).
/// Lock-free; O(1) per call, O(size) per reset.
class count_window {
 public:
  explicit count_window(std::uint32_t size)
      : size_{size}, slots_{std::make_unique<std::atomic<outcome_code>[]>(size)} {}

  /// Records one call; returns true and the totals after it when the totals changed.
  bool record(outcome_code code, window_counts& totals) noexcept {
    // Relaxed: the head only spreads writers over the slots; the slot exchange below is what
    // makes each entry's eviction happen exactly once.
    const auto index = head_.fetch_add(1, std::memory_order_relaxed) % size_;
    auto& slot = slots_[index];
    // Writing an entry over an equal one changes nothing, so it may be linearised at this
    // load and skipped: a steady stream of successes then writes no slot at all.
    if (slot.load(std::memory_order_relaxed) == code) return false;
    const auto old = slot.exchange(code, std::memory_order_relaxed);
    if (old == code) return false;
    const auto in = counts_of(code);
    const auto out = old == 0 ? window_counts{} : counts_of(old);
    totals = totals_.add({in.calls - out.calls, in.failed - out.failed, in.slow - out.slow});
    return true;
  }

  /// Empties the window. Safe against concurrent record(): each slot's content is moved out
  /// by an exchange, so nothing is subtracted twice.
  void reset() noexcept {
    window_counts removed{};
    for (std::uint32_t i = 0; i < size_; ++i) {
      const auto old = slots_[i].exchange(0, std::memory_order_relaxed);
      if (old == 0) continue;
      const auto c = counts_of(old);
      removed.calls += c.calls;
      removed.failed += c.failed;
      removed.slow += c.slow;
    }
    if (!removed.empty()) totals_.add(-removed);
  }

  [[nodiscard]] window_counts totals() const noexcept { return totals_.load(); }
  [[nodiscard]] std::uint32_t size() const noexcept { return size_; }

  /// Fills this new, empty window (a resize's) with the latest min(size, from.size) calls of
  /// `from`, oldest first, so that the next record() replaces the oldest kept. Reads `from`
  /// with relaxed loads: a record() into `from` racing the copy may or may not be in it.
  void copy_recent(const count_window& from) noexcept {
    const std::uint64_t head = from.head_.load(std::memory_order_relaxed);
    const std::uint64_t kept = std::min<std::uint64_t>({head, from.size_, size_});
    window_counts added{};
    for (std::uint64_t i = 0; i < kept; ++i) {
      const auto code = from.slots_[(head - kept + i) % from.size_].load(std::memory_order_relaxed);
      slots_[i].store(code, std::memory_order_relaxed);
      if (code == 0) continue;
      const auto c = counts_of(code);
      added.calls += c.calls;
      added.failed += c.failed;
      added.slow += c.slow;
    }
    head_.store(kept, std::memory_order_relaxed);
    totals_.set(added);
  }

 private:
  std::uint32_t size_;
  std::unique_ptr<std::atomic<outcome_code>[]> slots_;
  alignas(detail::false_sharing_range) std::atomic<std::uint64_t> head_{0};
  window_totals totals_;
};

/// The calls of the last `size` seconds: one bucket per second of a ring, each tagged with the
/// second it counts. Seconds are whole seconds of the clock's time since its epoch, so a bucket
/// covers [k s, (k+1) s) and the window at time t covers the buckets of seconds
/// floor(t) - size + 1 .. floor(t), as in resilience4j's SlidingTimeWindowMetrics.
///
/// A bucket is recycled by the thread whose CAS moves its tag forward; that thread moves the old
/// counts out of the totals. Once per new second one thread sweeps every stale bucket, so idle
/// seconds expire without traffic in their bucket. Lock-free; O(1) per call, plus O(size) for
/// the one sweep per second.
class time_window {
 public:
  explicit time_window(std::uint32_t size)
      : size_{size}, buckets_{std::make_unique<bucket[]>(size)} {}

  /// Records one call at `now` and returns the totals after it.
  window_counts record(outcome_code code, time_point now) noexcept {
    auto& b = buckets_[advance(now)];
    const auto c = counts_of(code);
    // Relaxed: bucket counts and totals are counters kept equal by telescoping (see the top of
    // this file); a call that lands in a bucket just recycled counts toward the new second.
    b.calls_failed.fetch_add((std::uint64_t{1} << 32) | static_cast<std::uint64_t>(c.failed),
                             std::memory_order_relaxed);
    if (c.slow != 0) b.slow.fetch_add(1, std::memory_order_relaxed);
    return totals_.add(c);
  }

  /// Expires the buckets older than the window ending at `now`; returns the totals.
  window_counts totals(time_point now) noexcept {
    advance(now);
    return totals_.load();
  }

  /// Empties the window; safe against concurrent record().
  void reset() noexcept {
    for (std::uint32_t i = 0; i < size_; ++i)
      drain(buckets_[i]);
  }

  /// Fills this new, empty window (a resize's) with the buckets of `from` that a window of
  /// this size ending at from's latest second still covers. Relaxed loads, as count_window's.
  void copy_recent(const time_window& from) noexcept {
    std::int64_t latest = std::numeric_limits<std::int64_t>::min();
    for (std::uint32_t i = 0; i < from.size_; ++i)
      latest = std::max(latest, from.buckets_[i].second.load(std::memory_order_relaxed));
    window_counts added{};
    for (std::uint32_t i = 0; i < from.size_; ++i) {
      const auto& old = from.buckets_[i];
      const auto second = old.second.load(std::memory_order_relaxed);
      if (second == std::numeric_limits<std::int64_t>::min() ||
          second <= latest - static_cast<std::int64_t>(size_))
        continue;
      auto& b = buckets_[index_of(second)];
      const auto cf = old.calls_failed.load(std::memory_order_relaxed);
      const auto slow = old.slow.load(std::memory_order_relaxed);
      b.second.store(second, std::memory_order_relaxed);
      b.calls_failed.store(cf, std::memory_order_relaxed);
      b.slow.store(slow, std::memory_order_relaxed);
      added.calls += static_cast<std::int64_t>(cf >> 32);
      added.failed += static_cast<std::int64_t>(cf & 0xffff'ffffu);
      added.slow += static_cast<std::int64_t>(slow);
    }
    swept_.store(from.swept_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    totals_.set(added);
  }

 private:
  struct bucket {
    std::atomic<std::int64_t> second{std::numeric_limits<std::int64_t>::min()};
    std::atomic<std::uint64_t> calls_failed{0};  // calls << 32 | failed, never negative
    std::atomic<std::uint64_t> slow{0};
  };

  [[nodiscard]] static std::int64_t second_of(time_point t) noexcept {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  }
  // One division: the remainder of a second before the epoch is negative and moved up by n.
  [[nodiscard]] std::size_t index_of(std::int64_t second) const noexcept {
    const auto n = static_cast<std::int64_t>(size_);
    const auto r = second % n;
    return static_cast<std::size_t>(r < 0 ? r + n : r);
  }

  // Brings the window to `now` and returns the index of now's bucket, moved to now's second.
  std::size_t advance(time_point now) noexcept {
    const auto second = second_of(now);
    const auto index = index_of(second);
    auto swept = swept_.load(std::memory_order_relaxed);
    if (second > swept &&
        swept_.compare_exchange_strong(swept, second, std::memory_order_relaxed)) {
      for (std::uint32_t i = 0; i < size_; ++i)
        refresh(i, second);
    } else {
      // Now's own bucket stands for `second` itself: refresh's remainder is 0 there, and a
      // call saves its two divisions.
      move_to(buckets_[index], second);
    }
    return index;
  }

  // Moves bucket i to the latest second it stands for at `second`, draining it if it was
  // older. A clock that went back leaves newer buckets alone.
  void refresh(std::size_t i, std::int64_t second) noexcept {
    const auto n = static_cast<std::int64_t>(size_);
    move_to(buckets_[i], second - (((second - static_cast<std::int64_t>(i)) % n) + n) % n);
  }

  void move_to(bucket& b, std::int64_t target) noexcept {
    auto tag = b.second.load(std::memory_order_relaxed);
    // Relaxed: the tag only elects the one thread that drains the bucket; the counts it moves
    // are counters (see record()).
    if (tag < target && b.second.compare_exchange_strong(tag, target, std::memory_order_relaxed))
      drain(b);
  }

  void drain(bucket& b) noexcept {
    const auto cf = b.calls_failed.exchange(0, std::memory_order_relaxed);
    const auto slow = b.slow.exchange(0, std::memory_order_relaxed);
    const window_counts old{static_cast<std::int64_t>(cf >> 32),
                            static_cast<std::int64_t>(cf & 0xffff'ffffu),
                            static_cast<std::int64_t>(slow)};
    if (!old.empty()) totals_.add(-old);
  }

  std::uint32_t size_;
  std::unique_ptr<bucket[]> buckets_;
  alignas(detail::false_sharing_range) std::atomic<std::int64_t> swept_{
      std::numeric_limits<std::int64_t>::min()};
  window_totals totals_;
};

}  // namespace bulwark::detail
