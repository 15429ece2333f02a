#pragma once
// The writer-side bookkeeping of a cache shard's storage: which cell holds which slot's entry,
// the free slots and free cells, and how the slab grows. Internal; see shard.hpp.
//
// Two numberings. The policy orders *slots* (one per entry, stable for the entry's life, which
// is what its interface needs: on_update keeps an entry's place). The index names *cells* (a
// value's storage, replaced on every write). `slot_cell_` and `cell_state_` map between them, 8
// bytes an entry, and free slots and free cells are chained through the same arrays.
//
// Everything here runs under the shard's lock. Readers never touch these arrays: they reach a
// cell through the index and the slab pointer, which the shard keeps in its reader block, so
// this class takes that pointer as an argument where it publishes a slab (grow).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "bulwark/cache/detail/epoch.hpp"
#include "bulwark/cache/detail/index.hpp"
#include "bulwark/cache/detail/retire_list.hpp"
#include "bulwark/cache/detail/slab.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

template <class Key, class Value>
class cell_store {
 public:
  using slab = cache_slab<Key, Value>;
  // cell_state_: a slot number (< limbo) while the cell holds that slot's entry; `limbo` once
  // retired and until reclaimed; `free_bit | next free cell` while free. slot_cell_: the cell
  // of a live slot, or `free_bit | next free slot`.
  static constexpr std::uint32_t limbo = 0x40000000;
  static constexpr std::uint32_t free_bit = 0x80000000;
  static constexpr std::uint32_t none = cell_mask;  // end of a free chain

  cell_store(std::uint64_t max_weight, bool counted)
      : slot_limit_{counted ? static_cast<std::uint32_t>(
                                  std::min<std::uint64_t>(max_weight + 1, max_cells))
                            : max_cells},
        // Room for cells in limbo beyond the entries: 1/64 more, at least 16.
        cell_limit_{counted ? std::min(max_cells, slot_limit_ + std::max(16u, slot_limit_ / 64))
                            : max_cells} {}

  /// The constructor's limits for a new `max_weight` (cache::reconfigure). Lowered limits stop
  /// growth only: the arrays keep their size, and an evict-down leaves free slots in them.
  /// (The constructor does not call this: any more constructor code changed how g++ inlines
  /// the cache's hot paths.)
  void set_limits(std::uint64_t max_weight, bool counted) noexcept {
    slot_limit_ =
        counted ? static_cast<std::uint32_t>(std::min<std::uint64_t>(max_weight + 1, max_cells))
                : max_cells;
    cell_limit_ =
        counted ? std::min(max_cells, slot_limit_ + std::max(16u, slot_limit_ / 64)) : max_cells;
  }

  [[nodiscard]] std::uint32_t slot_limit() const noexcept { return slot_limit_; }
  [[nodiscard]] std::uint32_t cell_limit() const noexcept { return cell_limit_; }
  [[nodiscard]] std::uint32_t slots() const noexcept {
    return static_cast<std::uint32_t>(slot_cell_.size());
  }

  [[nodiscard]] bool slot_live(std::uint32_t slot) const noexcept {
    return (slot_cell_[slot] & free_bit) == 0;
  }
  /// The cell of a live slot.
  [[nodiscard]] std::uint32_t cell_of(std::uint32_t slot) const noexcept {
    return slot_cell_[slot];
  }
  /// The slot whose entry a live cell holds.
  [[nodiscard]] std::uint32_t slot_of(std::uint32_t cell) const noexcept {
    return cell_state_[cell];
  }
  /// Whether `cell` (any number a read buffer recorded) holds an entry now.
  [[nodiscard]] bool holds_entry(std::uint32_t cell) const noexcept {
    return cell < cell_state_.size() && cell_state_[cell] < limbo;
  }

  // Capacity steps for the slot and cell arrays: doubling, but straight to the limit once the
  // next doubling would leave less than a doubling to go. std::vector::resize and the policies'
  // arrays then allocate exactly (a resize to less than twice the size would double).
  static std::uint32_t next_capacity(std::uint32_t now, std::uint32_t limit) noexcept {
    if (now >= limit) return std::min(max_cells, now + std::max(16u, now / 16));
    if (now == 0) return std::min(16u, limit);
    return std::uint64_t{now} * 4 > limit ? limit : now * 2;
  }

  /// The capacity the slab grows to when no cell is free.
  [[nodiscard]] std::uint32_t grown_capacity(const slab* current) const {
    const std::uint32_t now = current == nullptr ? 0 : current->capacity;
    if (now >= max_cells) {
      detail::raise<std::length_error>("bulwark::cache: a shard is limited to 16777214 entries");
    }
    return next_capacity(now, cell_limit_);
  }

  /// Makes sure a free slot exists; `reserve_policy(n)` first grows the policy to n slots.
  template <class ReservePolicy>
  void reserve_slot(ReservePolicy&& reserve_policy) {
    if (free_slot_ != none) return;
    const auto now = static_cast<std::uint32_t>(slot_cell_.size());
    if (now >= slot_limit_) {
      detail::raise<std::length_error>("bulwark::cache: a shard is limited to 16777214 entries");
    }
    const std::uint32_t grown = next_capacity(now, slot_limit_);
    reserve_policy(grown);
    slot_cell_.reserve(grown);
    for (std::uint32_t slot = now; slot < grown; ++slot)
      slot_cell_.push_back(free_bit | (slot + 1 < grown ? slot + 1 : none));
    free_slot_ = now;
  }
  /// The slot the next insertion takes (reserve_slot first).
  [[nodiscard]] std::uint32_t free_slot() const noexcept { return free_slot_; }
  /// Takes the free slot for `cell`'s entry.
  void take_slot(std::uint32_t slot, std::uint32_t cell) noexcept {
    free_slot_ = slot_cell_[slot] & cell_mask;
    slot_cell_[slot] = cell;
  }
  /// A live slot's entry moved to a new cell.
  void move_slot(std::uint32_t slot, std::uint32_t cell) noexcept { slot_cell_[slot] = cell; }
  void free_slot(std::uint32_t slot) noexcept {
    slot_cell_[slot] = free_bit | free_slot_;
    free_slot_ = slot;
  }

  [[nodiscard]] bool has_free_cell() const noexcept { return free_cell_ != none; }
  // The free cell (has_free_cell first), constructed with a new pair for `slot` in `s`, the
  // current slab, and published by nothing yet. Strong guarantee: taken only once constructed.
  template <class K, class V>
  std::uint32_t fill(slab& s, K&& key, V&& value, std::int64_t write_deadline,
                     std::int64_t access_deadline, std::uint32_t slot) {
    const std::uint32_t cell = free_cell_;
    std::construct_at(&s.cells[cell].kv, std::forward<K>(key), std::forward<V>(value));
    s.set_deadlines(cell, write_deadline, access_deadline);
    free_cell_ = cell_state_[cell] & cell_mask;
    cell_state_[cell] = slot;
    return cell;
  }
  /// The cell left the index; readers may still see it until the shard reclaims it.
  void to_limbo(std::uint32_t cell) noexcept { cell_state_[cell] = limbo; }
  /// The cell's pair was destroyed: free again.
  void free_cell(std::uint32_t cell) noexcept {
    cell_state_[cell] = free_bit | free_cell_;
    free_cell_ = cell;
  }

  /// Cells whose pair is constructed: live and in limbo.
  std::vector<std::uint32_t> constructed_cells() const {
    std::vector<std::uint32_t> cells;
    for (std::uint32_t c = 0; c < cell_state_.size(); ++c) {
      if ((cell_state_[c] & free_bit) == 0) cells.push_back(c);
    }
    return cells;
  }

  // Copies every constructed cell (live and in limbo: a reader may reach either through the new
  // slab) into a slab of `capacity` cells, publishes it in `published` and retires the old one.
  void grow(std::atomic<slab*>& published_slab, std::uint32_t capacity, bool write_timed,
            bool access_timed, retire_list<slab>& retired, epoch_domain& epochs) {
    // Everything that can throw comes before the publication: then nothing has changed.
    cell_state_.reserve(capacity);
    retired.make_room_for_slab();
    auto fresh = std::make_unique<slab>(capacity, write_timed, access_timed);
    slab* old = published_slab.load(std::memory_order_relaxed);
    std::vector<std::uint32_t> copied;
    if (old != nullptr) {
      copied = constructed_cells();
      for (std::size_t i = 0; i < copied.size(); ++i) {
        BULWARK_TRY {
          std::construct_at(&fresh->cells[copied[i]].kv, old->kv(copied[i]));
        }
        BULWARK_CATCH_ALL {
          copied.resize(i);
          fresh->constructed = std::move(copied);  // destroys what was copied
          BULWARK_RETHROW;
        }
        fresh->set_deadlines(copied[i], old->write_deadline_of(copied[i]),
                             old->access_deadline_of(copied[i]));
      }
    }
    const auto before = static_cast<std::uint32_t>(cell_state_.size());
    for (std::uint32_t c = before; c < capacity; ++c)
      cell_state_.push_back(free_bit | (c + 1 < capacity ? c + 1 : free_cell_));
    if (capacity > before) free_cell_ = before;
    slab* published = fresh.release();
    published_slab.store(published, std::memory_order_seq_cst);
    if (old != nullptr) {
      // Access deadlines extended in the old slab by readers that loaded it before the publish
      // (see cache_shard::record_hit): carried over, keeping whichever of the two is later.
      if (old->access_deadline != nullptr && published->access_deadline != nullptr) {
        for (const std::uint32_t c : copied) {
          const std::int64_t late = old->access_deadline[c].load(std::memory_order_seq_cst);
          std::atomic<std::int64_t>& a = published->access_deadline[c];
          std::int64_t seen = a.load(std::memory_order_relaxed);
          while (seen < late && !a.compare_exchange_weak(seen, late, std::memory_order_relaxed)) {
          }
        }
      }
      old->constructed = std::move(copied);
      retired.retire(std::unique_ptr<slab>(old), epochs.epoch());
    }
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return (cell_state_.capacity() + slot_cell_.capacity()) * sizeof(std::uint32_t);
  }

 private:
  std::vector<std::uint32_t> cell_state_;
  std::vector<std::uint32_t> slot_cell_;
  std::uint32_t free_cell_ = none;
  std::uint32_t free_slot_ = none;
  std::uint32_t slot_limit_;
  std::uint32_t cell_limit_;
};

}  // namespace bulwark::detail
