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

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "bulwark/cache/detail/index.hpp"

namespace bulwark::detail {

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

  void retire_cell(std::uint32_t cell, std::uint64_t epoch) { cells_.push_back({cell, epoch}); }

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
    while (!cells_.empty() && cells_.front().epoch + 2 <= epoch) {
      const std::uint32_t cell = cells_.front().cell;
      cells_.pop_front();
      free_cell(cell);
    }
    std::erase_if(slabs_, [epoch](const auto& r) { return r.epoch + 2 <= epoch; });
    std::erase_if(tables_, [epoch](const auto& r) { return r.epoch + 2 <= epoch; });
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return cells_.size() * sizeof(retired_cell);
  }

 private:
  struct retired_cell {
    std::uint32_t cell;
    std::uint64_t epoch;
  };
  template <class T>
  struct retired {
    std::uint64_t epoch;
    std::unique_ptr<T> object;
  };

  std::deque<retired_cell> cells_;
  std::vector<retired<Slab>> slabs_;
  std::vector<retired<index_table>> tables_;
};

}  // namespace bulwark::detail
