#pragma once
// The retire list of a bulwark::cache shard: what writers unlinked and lock-free readers may
// still be reading, each tagged with the epoch read after its unlink, kept until the epoch
// scheme (epoch.hpp) says no reader can reach it. Internal; users include
// bulwark/cache/cache.hpp.
//
// Cells (a replaced or removed entry's storage) are numbers in the shard's slab, freed in
// retirement order back to the shard; slabs and index tables replaced by growth are objects,
// deleted here. Tags are non-decreasing, so the cells form a FIFO and reclaiming stops at the
// first one still too young.
//
// Every write of a full shard retires a cell and reclaims one, so both ends are hot paths: the
// cells sit in a ring of 4-byte numbers, and their tags in a second ring of runs (one tag for
// every cell retired until the epoch moves, a quarter of the shard's spare cells at least), so
// a retirement is a store and a compare, and a reclamation tests one run per batch. (A deque
// of 16-byte tagged cells cost about 60 instructions a write for the two ends.)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bulwark/cache/detail/index.hpp"

namespace bulwark::detail {

/// A FIFO of trivially copyable items in a power-of-two ring that doubles when full. Positions
/// are tickets (0, 1, 2, ... since construction), so a ticket names an item while it waits.
template <class T>
class fifo_ring {
 public:
  [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(tail_ - head_);
  }
  [[nodiscard]] std::uint64_t head() const noexcept { return head_; }
  [[nodiscard]] std::uint64_t tail() const noexcept { return tail_; }
  [[nodiscard]] T& front() noexcept { return items_[head_ & mask_]; }
  [[nodiscard]] T& back() noexcept { return items_[(tail_ - 1) & mask_]; }
  [[nodiscard]] std::size_t capacity() const noexcept { return items_ ? mask_ + 1 : 0; }

  void push_back(const T& item) {
    if (size() == capacity()) grow();
    items_[tail_ & mask_] = item;
    ++tail_;
  }
  void pop_front() noexcept { ++head_; }

 private:
  // Strong guarantee: the old ring stays until the new one is filled.
  void grow() {
    const std::size_t n = std::max<std::size_t>(16, 2 * capacity());
    auto fresh = std::make_unique<T[]>(n);
    for (std::uint64_t t = head_; t != tail_; ++t)
      fresh[t & (n - 1)] = items_[t & mask_];
    items_ = std::move(fresh);
    mask_ = n - 1;
  }

  std::unique_ptr<T[]> items_;
  std::size_t mask_ = 0;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
};

template <class Slab>
class retire_list {
 public:
  /// Cells waiting.
  [[nodiscard]] std::size_t cells() const noexcept { return cells_.size(); }
  /// Whether nothing waits.
  [[nodiscard]] bool empty() const noexcept {
    return cells_.empty() && slabs_.empty() && tables_.empty();
  }
  /// Whether a slab or a table waits (their memory is worth an epoch advance at once).
  [[nodiscard]] bool objects_waiting() const noexcept {
    return !slabs_.empty() || !tables_.empty();
  }

  void retire_cell(std::uint32_t cell, std::uint64_t epoch) {
    cells_.push_back(cell);
    // If the run's push throws, the cell joins the next run, whose tag is later: freed later,
    // never earlier.
    if (runs_.empty() || runs_.back().epoch != epoch) {
      runs_.push_back({epoch, cells_.tail()});
    } else {
      runs_.back().end = cells_.tail();
    }
  }

  /// Before building a slab or a table that may replace the current one: room to retire the old
  /// one without allocating, so that retire() cannot throw after the new one is published.
  void make_room_for_slab() { slabs_.reserve(slabs_.size() + 1); }
  void make_room_for_table() { tables_.reserve(tables_.size() + 1); }
  void retire(std::unique_ptr<Slab> slab, std::uint64_t epoch) noexcept {
    slabs_.push_back({epoch, std::move(slab)});
  }
  void retire(std::unique_ptr<index_table> table, std::uint64_t epoch) noexcept {
    tables_.push_back({epoch, std::move(table)});
  }

  /// Frees everything retired two epochs before `epoch`: `free_cell(cell)` for each cell, in
  /// retirement order; slabs and tables deleted.
  template <class FreeCell>
  void reclaim(std::uint64_t epoch, FreeCell&& free_cell) {
    while (!runs_.empty() && runs_.front().epoch + 2 <= epoch) {
      const std::uint64_t end = runs_.front().end;
      runs_.pop_front();
      while (cells_.head() != end) {
        const std::uint32_t cell = cells_.front();
        cells_.pop_front();
        free_cell(cell);
      }
    }
    if (!slabs_.empty())
      std::erase_if(slabs_, [epoch](const auto& r) { return r.epoch + 2 <= epoch; });
    if (!tables_.empty())
      std::erase_if(tables_, [epoch](const auto& r) { return r.epoch + 2 <= epoch; });
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return cells_.capacity() * sizeof(std::uint32_t) + runs_.capacity() * sizeof(run);
  }

 private:
  struct run {  // the cells retired with one tag: tickets up to `end` (exclusive)
    std::uint64_t epoch;
    std::uint64_t end;
  };
  template <class T>
  struct retired {
    std::uint64_t epoch;
    std::unique_ptr<T> object;
  };

  fifo_ring<std::uint32_t> cells_;
  fifo_ring<run> runs_;
  std::vector<retired<Slab>> slabs_;
  std::vector<retired<index_table>> tables_;
};

}  // namespace bulwark::detail
