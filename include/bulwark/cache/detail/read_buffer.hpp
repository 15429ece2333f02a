#pragma once
// The striped, lossy read buffer of a bulwark::cache shard (Caffeine's BoundedBuffer idea).
// Internal; users include bulwark/cache/cache.hpp.
//
// A hit must tell the eviction policy about the access, but the policy is not thread-safe and a
// lock per read is what the cache avoids. So a reader appends the entry's cell number, and the
// key's hash it has just computed, to one of a few small rings, picked by its thread's number
// so that two threads rarely share one; the holder of the shard's lock replays the rings into
// the policy, which so never hashes a key again. A ring that is full drops the access (the
// policy misses it; the hit counter does not). The only read-modify-write a reader makes is
// the fetch_add on its own stripe's counter, a cache line other threads seldom touch.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "bulwark/detail/false_sharing.hpp"

namespace bulwark::detail {

class read_buffer {
 public:
  static constexpr std::uint32_t ring_size = 16;  // entries per stripe (Caffeine: 16)
  static constexpr std::uint32_t empty = 0xFFFFFFFF;

  /// `stripes`: a power of two.
  explicit read_buffer(std::uint32_t stripes)
      : stripes_{std::make_unique<stripe[]>(stripes)}, mask_{stripes - 1} {}

  /// Records a hit on `cell`, whose key hashes to `hash`, by thread `thread`. Returns true when
  /// this append filled the ring (or found it still full), so the caller should try the shard's
  /// lock and drain. Wait-free.
  bool record(std::uint32_t thread, std::uint32_t cell, std::uint64_t hash) noexcept {
    stripe& s = stripes_[thread & mask_];
    // Relaxed: the counter is a ticket and the hit count; the cell written below is only a hint,
    // checked under the lock when replayed, so no ordering with other data is needed.
    const std::uint64_t ticket = s.writes.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t pending = ticket - s.drained.load(std::memory_order_relaxed);
    if (pending >= ring_size) {
      // Full: drop. A drain attempt failed (or is running); every ring_size-th dropped read
      // tries again, so a read-only workload is not left with a full ring, without having
      // every reader contend for the lock.
      return ticket % ring_size == 0;
    }
    s.hashes[ticket % ring_size].store(hash, std::memory_order_relaxed);
    s.cells[ticket % ring_size].store(cell, std::memory_order_relaxed);
    return pending == ring_size - 1;
  }

  /// A miss by thread `thread` (counted per stripe for the same reason as hits).
  void miss(std::uint32_t thread) noexcept {
    stripes_[thread & mask_].misses.fetch_add(1, std::memory_order_relaxed);
  }

  /// Under the shard's lock: calls `replay(cell, hash)` for each recorded access, stripe by
  /// stripe, in each stripe's order.
  template <class Replay>
  void drain(Replay&& replay) {
    for (std::uint32_t i = 0; i <= mask_; ++i)
      drain_stripe(stripes_[i], replay);
  }
  /// Under the shard's lock: drains only thread `thread`'s stripe (what a reader that filled it
  /// does: the other stripes' lines stay in their own threads' caches).
  template <class Replay>
  void drain(std::uint32_t thread, Replay&& replay) {
    drain_stripe(stripes_[thread & mask_], replay);
  }

  [[nodiscard]] std::uint64_t hits() const noexcept {
    std::uint64_t n = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i)
      n += stripes_[i].writes.load(std::memory_order_relaxed);
    return n;
  }
  [[nodiscard]] std::uint64_t misses() const noexcept {
    std::uint64_t n = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i)
      n += stripes_[i].misses.load(std::memory_order_relaxed);
    return n;
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return (mask_ + 1) * sizeof(stripe); }

 private:
  struct alignas(false_sharing_range) stripe {
    std::atomic<std::uint64_t> writes{0};   // tickets taken = hits recorded by this stripe
    std::atomic<std::uint64_t> drained{0};  // tickets replayed or dropped (written under lock)
    std::atomic<std::uint64_t> misses{0};
    std::array<std::atomic<std::uint32_t>, ring_size> cells;
    std::array<std::atomic<std::uint64_t>, ring_size> hashes;
    stripe() noexcept {
      for (auto& c : cells)
        c.store(empty, std::memory_order_relaxed);
      for (auto& h : hashes)
        h.store(0, std::memory_order_relaxed);
    }
  };

  template <class Replay>
  static void drain_stripe(stripe& s, Replay& replay) {
    const std::uint64_t end = s.writes.load(std::memory_order_relaxed);
    const std::uint64_t begin = s.drained.load(std::memory_order_relaxed);
    if (end == begin) return;
    // Tickets from begin + ring_size on were dropped (their readers found the ring full).
    const std::uint64_t stored = std::min(end, begin + ring_size);
    // A load and a store, not an exchange: no locked instruction per access. A reader that took
    // a ticket but stores its cell only after this load loses its access, or has it replayed by
    // the next drain instead of that ticket's own: the buffer is lossy, and a replayed cell is
    // checked against the shard's state, so either is harmless. So is a hash from another
    // access than its cell's (a reader that shares the stripe, between the two stores): each
    // half is an access that happened, the hash's to the sketch, the cell's to the order.
    for (std::uint64_t t = begin; t < stored; ++t) {
      std::atomic<std::uint32_t>& c = s.cells[t % ring_size];
      const std::uint32_t cell = c.load(std::memory_order_relaxed);
      if (cell != empty) {
        c.store(empty, std::memory_order_relaxed);
        replay(cell, s.hashes[t % ring_size].load(std::memory_order_relaxed));
      }
    }
    s.drained.store(end, std::memory_order_relaxed);
  }

  std::unique_ptr<stripe[]> stripes_;
  std::uint32_t mask_;
};

}  // namespace bulwark::detail
