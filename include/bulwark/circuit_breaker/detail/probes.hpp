#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "bulwark/circuit_breaker/detail/state_word.hpp"

// The half-open probe slots: permitted_calls_in_half_open words, one per probe. A probe owns
// its slot from try_acquire to its verdict, so no more probes than slots are ever admitted.
//
//   bits  0..1   kind: free, taken, succeeded, failed
//   bit   2      slow (for a verdict)
//   bits  3..18  the half-open generation the slot belongs to; a slot of an older generation
//                is free, so entering half-open needs no reset (and no reset can race a probe)
//   bits 19..63  lease deadline, milliseconds mod 2^45: a taken slot whose deadline has passed
//                may be taken over by a new probe, whose verdict then replaces the lost one's
//
// Probes are fenced by generation: a new period starts with every slot free for it, a probe of
// an older period neither counts toward it nor frees one of its slots (its CAS fails once the
// new period reused the slot), and a caller still holding an older state word cannot take a
// slot from a probe of the newer period (see acquire). So at most `count` probes of the
// current period hold slots; older ones may still be running, and their verdicts are late.
//
// A probe's verdict is a CAS from the exact word it took. It fails once the slot was taken
// over: a takeover happens at or after the old deadline, so the new deadline (now + lease) is
// later and the word differs. A word can recur only after its holder released the slot itself,
// and a permit gives one verdict, so that holder never CASes again. Verdicts and the tally use
// sequentially consistent operations: two probes finishing together each write their slot and then
// read all slots, and seq_cst guarantees that at least the later one sees both verdicts (a
// store-load pattern, which release/acquire alone does not order).

namespace bulwark::detail {

/// The slot a half-open probe holds, and the exact word it took it with.
struct probe_lease {
  std::uint32_t slot = 0;
  std::uint64_t word = 0;
};

struct probe_tally {
  std::uint32_t done = 0;
  std::uint32_t failed = 0;
  std::uint32_t slow = 0;
};

class probe_slots {
 public:
  enum kind : std::uint64_t { free = 0, taken = 1, succeeded = 2, failed = 3 };

  explicit probe_slots(std::uint32_t count)
      : count_{count}, slots_{std::make_unique<std::atomic<std::uint64_t>[]>(count)} {}

  /// Takes a free (or expired) slot of `generation`; false when all are busy or decided, or
  /// when `still_current()` says the breaker left `generation`. A slot of another generation
  /// counts as free only if `still_current()` holds after the slot was read: a later period's
  /// probe stores its slot only after it saw the state move on, so this check fails whenever
  /// the slot belongs to a newer period, and a stale caller never takes a live probe's slot.
  template <class StillCurrent>
  bool acquire(std::uint32_t generation, std::int64_t now_ms, std::int64_t lease_ms,
               std::uint32_t& index, std::uint64_t& word, StillCurrent&& still_current) noexcept {
    for (std::uint32_t i = 0; i < count_; ++i) {
      auto w = slots_[i].load(std::memory_order_seq_cst);
      const bool current = generation_of(w) == (generation & 0xffffu);
      if (current) {
        const auto k = kind_of(w);
        if (k == succeeded || k == failed) continue;
        if (k == taken && deadline_difference(now_ms, w) < 0) continue;  // lease still runs
      } else if (!still_current()) {
        return false;
      }
      const auto next = make(taken, false, generation, now_ms + lease_ms);
      if (slots_[i].compare_exchange_strong(w, next, std::memory_order_seq_cst)) {
        index = i;
        word = next;
        return true;
      }
    }
    return false;
  }

  /// Records a verdict for the probe holding `word` in slot `index`; false when the probe
  /// lost its slot (lease taken over, or a later half-open period).
  bool complete(std::uint32_t index, std::uint64_t word, bool failed_call, bool slow) noexcept {
    const auto next = (word & ~std::uint64_t{7}) | (failed_call ? failed : succeeded) |
                      (slow ? std::uint64_t{4} : 0u);
    return slots_[index].compare_exchange_strong(word, next, std::memory_order_seq_cst);
  }

  /// Frees the slot without a verdict (ignored outcome, abandoned permit).
  bool release(std::uint32_t index, std::uint64_t word) noexcept {
    const auto next = word & ~std::uint64_t{7};  // kind free, deadline kept (see above)
    return slots_[index].compare_exchange_strong(word, next, std::memory_order_seq_cst);
  }

  /// The verdicts of `generation` so far. O(count).
  [[nodiscard]] probe_tally tally(std::uint32_t generation) const noexcept {
    probe_tally t;
    for (std::uint32_t i = 0; i < count_; ++i) {
      const auto w = slots_[i].load(std::memory_order_seq_cst);
      if (generation_of(w) != (generation & 0xffffu)) continue;
      const auto k = kind_of(w);
      if (k != succeeded && k != failed) continue;
      ++t.done;
      if (k == failed) ++t.failed;
      if ((w & 4u) != 0) ++t.slow;
    }
    return t;
  }

  [[nodiscard]] std::uint32_t count() const noexcept { return count_; }

 private:
  static constexpr int deadline_bits = 45;

  static constexpr std::uint64_t make(std::uint64_t k, bool slow, std::uint32_t generation,
                                      std::int64_t deadline_ms) noexcept {
    return k | (slow ? std::uint64_t{4} : 0u) | (std::uint64_t{generation & 0xffffu} << 3) |
           (static_cast<std::uint64_t>(deadline_ms) << 19);
  }
  static constexpr std::uint64_t kind_of(std::uint64_t w) noexcept { return w & 3u; }
  static constexpr std::uint32_t generation_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>((w >> 3) & 0xffffu);
  }
  /// t - deadline(w) in milliseconds, mod 2^45 read as signed.
  static constexpr std::int64_t deadline_difference(std::int64_t t, std::uint64_t w) noexcept {
    return state_word::wrap_difference(static_cast<std::uint64_t>(t) - (w >> 19), deadline_bits);
  }

  std::uint32_t count_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
};

}  // namespace bulwark::detail
