#pragma once
// Epoch-based reclamation for bulwark::cache's lock-free reads, one domain per cache. Internal;
// users include bulwark/cache/cache.hpp.
//
// Source: Fraser, "Practical lock-freedom" (PhD thesis, Cambridge 2004), section 5.2.3. A reader
// *pins* itself by publishing the domain's epoch in a slot; a writer that unlinks an object tags
// it with the epoch read after the unlink and frees it once the epoch is two ahead of the tag.
// The epoch advances from e to e + 1 only when every pinned slot shows e, so two advances after
// an unlink no reader that could have seen the object is still pinned.
//
// Slots, not per-thread records. A domain owns a fixed array of slots, each on a cache line (pair)
// of its own, and a thread picks one by its probe (a per-thread number, moved to another slot when
// a pin finds its slot contended, as java.util.concurrent's Striped64 does). So the domain needs
// no registry of threads and no global state, and threads that exit leave nothing behind. A
// slot packs the epoch and a pin count: the first pinner publishes the epoch it read, later
// pinners only count themselves in under that older epoch. Recording an older epoch than a
// reader saw is always safe (it only holds advances back), and the proof below still holds: a
// reader that joins a slot pinned at epoch p, while the domain is at p or later, is treated by
// every advance exactly as a reader that had published p itself.
//
// Memory orders. The pin's read-modify-write, the loads of the epoch, the scan of the slots and
// the advance are seq_cst, as are (in the shard) the stores that unlink an object and the
// reader's loads of the words that lead to one. Then in the single total order S an unlink U
// that precedes the tagging load T precedes every advance past T's value; a reader whose pin is
// after the second advance's scan of its slot makes all its loads after U in S, so it cannot
// reach the object; a reader pinned before that scan holds the advance back until it unpins.
// Unpinning is a release decrement read by the scan, and the freeing thread reads the advanced
// epoch, so a reader's plain reads of an object happen before its destruction, which is what
// ThreadSanitizer checks. On x86 a pin is one locked instruction on a line no other thread
// writes unless two threads share the slot.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>

#include "bulwark/core/random.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/shard_count.hpp"

namespace bulwark::detail {

/// The calling thread's probe: a nonzero number, seeded by SplitMix64 from the address of a
/// thread_local (distinct among live threads) and re-drawn (xorshift) when a pin finds its slot
/// shared. A trivial thread_local, so reading it costs no TLS initialisation call.
inline std::uint32_t& thread_probe() noexcept {
  thread_local std::uint32_t probe = 0;
  if (probe == 0) {
    // Shifted before SplitMix64 adds its constant: g++ 12 folds "address + constant" into the
    // variable's TLS offset, which then overflows ("relocation truncated to fit:
    // R_X86_64_TPOFF32"). The two low bits are zero anyway (alignment).
    auto state = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&probe)) >> 2;
    probe = static_cast<std::uint32_t>(splitmix64(state) >> 32);
    if (probe == 0) probe = 1;  // xorshift needs a nonzero state
  }
  return probe;
}

/// Moves the calling thread's probe to another number (Marsaglia's xorshift32).
inline void move_thread_probe() noexcept {
  std::uint32_t& probe = thread_probe();
  probe ^= probe << 13;
  probe ^= probe >> 17;
  probe ^= probe << 5;
}

class epoch_domain {
 public:
  /// `slots`: a power of two, a few times the threads expected to read at once.
  explicit epoch_domain(std::uint32_t slots)
      : slots_{std::make_unique<slot[]>(slots)}, mask_{slots - 1} {}
  epoch_domain(const epoch_domain&) = delete;
  epoch_domain& operator=(const epoch_domain&) = delete;

  /// RAII pin of the calling thread. Nestable; lock-free (a CAS on the slot, retried only when
  /// another thread of the slot changed it between the load and the CAS).
  class guard {
   public:
    explicit guard(epoch_domain& d) noexcept
        : index_{thread_probe() & d.mask_}, slot_{d.pin(index_)} {}
    ~guard() {
      // Release: the reads made while pinned happen before a scan that sees the count drop.
      slot_.fetch_sub(1, std::memory_order_release);
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    /// The slot pinned: a small number that threads rarely share (for striping per thread).
    [[nodiscard]] std::uint32_t slot() const noexcept { return index_; }

   private:
    std::uint32_t index_;
    std::atomic<std::uint64_t>& slot_;
  };

  /// The current epoch (starts at 2, so `tag + 2 <= epoch` needs no underflow care).
  [[nodiscard]] std::uint64_t epoch() const noexcept {
    return epoch_.load(std::memory_order_seq_cst);
  }

  /// Advances the epoch if every pinned slot shows the current one; returns the epoch after
  /// the attempt. O(slots); never blocks.
  std::uint64_t try_advance() noexcept {
    std::uint64_t e = epoch_.load(std::memory_order_seq_cst);
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      const std::uint64_t state = slots_[i].state.load(std::memory_order_seq_cst);
      if ((state & pin_mask) != 0 && (state >> pin_bits) != (e & epoch_mask)) return e;
    }
    if (epoch_.compare_exchange_strong(e, e + 1, std::memory_order_seq_cst)) return e + 1;
    return e;  // another writer advanced it (e now holds the newer value)
  }

  [[nodiscard]] std::uint32_t slots() const noexcept { return mask_ + 1; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return (std::size_t{mask_} + 1) * sizeof(slot);
  }

 private:
  // A slot's state: the epoch it was pinned in (the low 48 bits; equality with the domain's
  // epoch is all the scan asks, and 2^48 advances cannot pass during one pin) above a count of
  // the pins it holds (16 bits: more than 65535 pins at once in one slot is not supported).
  static constexpr unsigned pin_bits = 16;
  static constexpr std::uint64_t pin_mask = (std::uint64_t{1} << pin_bits) - 1;
  static constexpr std::uint64_t epoch_mask = (std::uint64_t{1} << (64 - pin_bits)) - 1;

  struct alignas(false_sharing_range) slot {
    std::atomic<std::uint64_t> state{0};
  };

  std::atomic<std::uint64_t>& pin(std::uint32_t index) noexcept {
    std::atomic<std::uint64_t>& state = slots_[index].state;
    std::uint64_t seen = state.load(std::memory_order_relaxed);
    bool retried = false;
    for (;;) {
      const std::uint64_t next =
          (seen & pin_mask) == 0
              ? ((epoch_.load(std::memory_order_seq_cst) & epoch_mask) << pin_bits) | 1
              : seen + 1;
      if (state.compare_exchange_strong(seen, next, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        break;
      }
      retried = true;
    }
    // Pinned already (another thread of this slot, or this thread's own outer pin, which is
    // rare), or the CAS had to retry: the slot is shared, and this thread's later pins try
    // another. Threads that share a slot bounce its line and its read-buffer stripe; two
    // threads that hash to one slot part after their first overlapping reads.
    if (retried || (seen & pin_mask) != 0) move_thread_probe();
    return state;
  }

  alignas(false_sharing_range) std::atomic<std::uint64_t> epoch_{2};
  std::unique_ptr<slot[]> slots_;
  std::uint32_t mask_;
};

/// Slots for a domain (and stripes for read buffers): four times the hardware threads, 8 to 64,
/// so that threads seldom start out sharing one.
inline std::uint32_t default_epoch_slots(unsigned hardware_threads) noexcept {
  return static_cast<std::uint32_t>(
      std::clamp<std::size_t>(hardware_shards(hardware_threads), 8, 64));
}

}  // namespace bulwark::detail
