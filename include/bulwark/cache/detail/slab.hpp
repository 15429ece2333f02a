#pragma once
// The storage of a bulwark::cache shard: a slab of cells holding key-value pairs, and optional
// per-cell deadlines. Internal; users include bulwark/cache/cache.hpp.
//
// Readers use it without a lock (see shard.hpp), so it follows the index's rule (index.hpp):
// what a reader can reach is never modified in place. A cell's pair is constructed before the
// index word naming it is published, and stays untouched until the epoch scheme (epoch.hpp) says
// no reader can still see it. A slab that must grow is copied into a bigger one that is
// published whole, and the old one is retired the same way.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace bulwark::detail {

/// Deadlines in nanoseconds since the clock's epoch.
inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

/// A fixed array of cells, each a key-value pair or raw storage, with the deadlines the cache
/// uses: a write deadline per cell once any entry can have one (expire_after_write or a
/// per-entry TTL), an access deadline per cell when the cache expires after access; 8 bytes a
/// cell for each kind, none for a cache without expiry. Which cells hold a pair is the shard's
/// knowledge (its cell states); a slab retired by growth keeps the list of the cells to destroy.
template <class Key, class Value>
struct cache_slab {
  union cell {
    std::pair<Key, Value> kv;
    cell() noexcept {}
    ~cell() {}
  };

  std::uint32_t capacity;
  cell* cells;
  std::unique_ptr<std::int64_t[]> write_deadline;                // null: no write deadlines
  std::unique_ptr<std::atomic<std::int64_t>[]> access_deadline;  // null: no access deadlines
  std::vector<std::uint32_t> constructed;                        // set when retired

  cache_slab(std::uint32_t n, bool write_timed, bool access_timed)
      : capacity{n}, cells{std::allocator<cell>{}.allocate(n)} {
    if (write_timed) write_deadline = std::make_unique<std::int64_t[]>(n);
    if (access_timed) access_deadline = std::make_unique<std::atomic<std::int64_t>[]>(n);
  }
  cache_slab(const cache_slab&) = delete;
  cache_slab& operator=(const cache_slab&) = delete;
  ~cache_slab() {
    for (const std::uint32_t c : constructed)
      std::destroy_at(&cells[c].kv);
    std::allocator<cell>{}.deallocate(cells, capacity);
  }

  [[nodiscard]] const std::pair<Key, Value>& kv(std::uint32_t c) const noexcept {
    return cells[c].kv;
  }
  [[nodiscard]] std::int64_t write_deadline_of(std::uint32_t c) const noexcept {
    return write_deadline != nullptr ? write_deadline[c] : never;
  }
  [[nodiscard]] std::int64_t access_deadline_of(std::uint32_t c) const noexcept {
    return access_deadline != nullptr ? access_deadline[c].load(std::memory_order_relaxed) : never;
  }
  /// When the cell's entry expires (never: no deadline, and judging it needs no clock read).
  [[nodiscard]] std::int64_t deadline(std::uint32_t c) const noexcept {
    return std::min(write_deadline_of(c), access_deadline_of(c));
  }
  [[nodiscard]] bool timed(std::uint32_t c) const noexcept { return deadline(c) != never; }
  [[nodiscard]] bool expired(std::uint32_t c, std::int64_t now) const noexcept {
    return now >= deadline(c);
  }
  /// A deadline this slab keeps no array for is `never` (the shard makes sure of it).
  void set_deadlines(std::uint32_t c, std::int64_t write, std::int64_t access) noexcept {
    if (write_deadline != nullptr) write_deadline[c] = write;
    if (access_deadline != nullptr) access_deadline[c].store(access, std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t deadline_bytes() const noexcept {
    return std::size_t{capacity} *
           ((write_deadline != nullptr ? sizeof(std::int64_t) : 0) +
            (access_deadline != nullptr ? sizeof(std::atomic<std::int64_t>) : 0));
  }
};

}  // namespace bulwark::detail
