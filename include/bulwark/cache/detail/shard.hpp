#pragma once
// One lock stripe of bulwark::cache: a slab of cells and an index read without a lock, an
// eviction policy, a striped read buffer, and the bookkeeping that maps the policy's slots to
// cells. Internal; users include bulwark/cache/cache.hpp.
//
// Reads take no lock. A reader pins its thread (epoch.hpp), loads the index, follows a word to a
// cell of the current slab, compares the key and copies the value, then unpins. Writers hold the
// shard's mutex and never change what a reader can reach: a new value goes into a fresh cell
// whose word replaces the old one, and a cell that leaves the index waits in the retire list
// (retire_list.hpp) until two epoch advances show that no reader pinned before it left is still
// pinned.
//
// Slots (the policy's numbering) and cells (the index's), their free lists and the slab's growth
// are the cell store's (cell_store.hpp).

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "bulwark/cache/cache_options.hpp"
#include "bulwark/cache/detail/cell_store.hpp"
#include "bulwark/cache/detail/epoch.hpp"
#include "bulwark/cache/detail/index.hpp"
#include "bulwark/cache/detail/read_buffer.hpp"
#include "bulwark/cache/detail/removals.hpp"
#include "bulwark/cache/detail/retire_list.hpp"
#include "bulwark/cache/detail/slab.hpp"
#include "bulwark/cache/eviction.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/spinning_mutex.hpp"

namespace bulwark::detail {

template <class Key, class Value, class Policy, class Hasher, class KeyEqual>
class cache_shard {
 public:
  using slab = cache_slab<Key, Value>;
  using removals = removal_list<Key, Value>;
  /// What a lock-free lookup found: the slab it read and the cell (no_slot: nothing).
  struct found {
    const slab* in;
    std::uint32_t cell;
  };

  cache_shard(std::uint64_t max_weight, bool counted, bool write_timed, bool access_timed,
              epoch_domain& epochs, std::uint32_t stripes, const Hasher& hasher,
              const KeyEqual& equal)
      : epochs_{epochs},
        reads_{stripes},
        policy_{max_weight},
        cells_{max_weight, counted},
        // A quarter of the cells the shard may hold beyond its entries: a freed batch arrives
        // two advances after its retirement, so about twice this waits at the peak, within
        // the room, and a write seldom has to force an advance to find a free cell. At least
        // 16 (the room's minimum), and 16 for a weighted shard, whose cells are not bounded.
        advance_at_{counted ? std::max(16u, (cells_.cell_limit() - cells_.slot_limit()) / 4) : 16u},
        write_timed_{write_timed},
        access_timed_{access_timed},
        hasher_{hasher},
        equal_{equal} {}

  cache_shard(const cache_shard&) = delete;
  cache_shard& operator=(const cache_shard&) = delete;
  ~cache_shard() {
    // No reader may run now (destroying a cache in use is the caller's bug), so nothing waits.
    if (slab* s = slab_.load(std::memory_order_relaxed)) {
      s->constructed = cells_.constructed_cells();
      delete s;
    }
  }

  spinning_mutex& mutex() const noexcept { return mutex_; }

  // ---- lock-free (the caller holds a pin of the cache's epoch domain, or the lock) ----

  /// `key`'s cell, expired or not. seq_cst loads: see epoch.hpp.
  found find(const Key& key, std::uint64_t hash) const {
    const slab* s = nullptr;
    const std::uint32_t cell = index_.find(hash, [&](std::uint32_t c) {
      // Loaded after the word: the slab that was current when the word was stored, or a later
      // one, which holds a copy of the cell.
      s = slab_.load(std::memory_order_seq_cst);
      return equal_(s->kv(c).first, key);
    });
    return {cell == no_slot ? nullptr : s, cell};
  }

  /// A hit on `cell`, whose key hashes to `hash`: extends the access deadline and records the
  /// access (and the hash, so that the replay does not hash the key again) for the policy.
  /// Returns true when the caller should try to drain the read buffer.
  bool record_hit(const slab& s, std::uint32_t cell, std::uint64_t hash,
                  std::int64_t access_deadline, std::uint32_t thread) noexcept {
    if (access_deadline != never && s.access_deadline != nullptr) {
      // Readers race on the deadline and the later store wins (all are "now + ttl" within a
      // tick); it is stored only when it changes, so readers of a hot key do not bounce its line.
      std::atomic<std::int64_t>& a = s.access_deadline[cell];
      if (a.load(std::memory_order_relaxed) != access_deadline) {
        // A growth may copy the cell's deadlines into a new slab while this reader holds the old
        // one. Store then load the slab pointer, both seq_cst, against the grower's publish
        // then re-read (cell_store::grow): either this load sees the new slab and the reader stores
        // there too, or the grower's re-read sees this store. So no extension is lost.
        a.store(access_deadline, std::memory_order_seq_cst);
        const slab* now = slab_.load(std::memory_order_seq_cst);
        if (now != &s && now->access_deadline != nullptr) {
          now->access_deadline[cell].store(access_deadline, std::memory_order_relaxed);
        }
      }
    }
    return reads_.record(thread, cell, hash);
  }
  void miss(std::uint32_t thread) noexcept { reads_.miss(thread); }

  // ---- under the lock ----

  [[nodiscard]] const slab* current() const noexcept {
    return slab_.load(std::memory_order_relaxed);
  }

  /// Replays buffered reads into the policy. A cell that no longer holds an entry is skipped.
  void drain_reads() { reads_.drain(replay_access()); }
  /// Replays thread `thread`'s stripe only (a reader that filled it).
  void drain_reads(std::uint32_t thread) { reads_.drain(thread, replay_access()); }
  /// Replays the calling thread's stripe only: what a write does before it changes the policy.
  /// The other stripes are their readers' to drain when full (or the next sweep's): a writer
  /// that drained them all would pull every reader's line to its core inside the lock, which
  /// lengthened the critical section enough to put contending writers to sleep. With one
  /// thread, its stripe is the only one, so the policy still sees every read before a write.
  void drain_own_reads() { reads_.drain(thread_probe(), replay_access()); }

  /// From now on cells carry write deadlines (a per-entry TTL was used). O(capacity) once.
  void make_timed() {
    if (write_timed_) return;
    write_timed_ = true;
    BULWARK_TRY {
      if (const slab* s = current()) grow_slab(s->capacity);  // the same size, with deadlines
    }
    BULWARK_CATCH_ALL {
      write_timed_ = false;  // the slab has no write deadlines: keep saying so
      BULWARK_RETHROW;
    }
  }

  /// Inserts or replaces `key`'s value with the given deadlines, then evicts to fit.
  template <class K, class V>
  void put(K&& key, V&& value, std::uint64_t hash, std::uint32_t weight, std::int64_t now,
           std::int64_t write_deadline, std::int64_t access_deadline, removals* out) {
    // One probe: it finds the key's word, or the position a new word takes.
    const auto [pos, free] = index_.probe(
        hash, [&](std::uint32_t cell) { return equal_(current()->kv(cell).first, key); });
    if (pos != npos) {
      const std::uint32_t old = index_.cell_at(pos);
      const std::uint32_t slot = cells_.slot_of(old);
      // Over an expired entry, the old value left by expiry, not by replacement (as Caffeine).
      const bool was_expired = current()->expired(old, now);
      const std::uint32_t cell = fill_cell(std::forward<K>(key), std::forward<V>(value),
                                           write_deadline, access_deadline, slot);
      cells_.move_slot(slot, cell);
      index_.replace(pos, hash, cell);
      retire_cell(old);
      ++(was_expired ? evictions_expired_ : replacements_);
      policy_.on_update(slot, hash, weight);
      if (out != nullptr) {
        const auto& kv = current()->kv(old);  // copied: readers may still be reading it
        out->push_back(
            {kv.first, kv.second, was_expired ? removal_cause::expired : removal_cause::replaced});
      }
    } else {
      cells_.reserve_slot([this](std::uint32_t slots) { policy_.reserve(slots); });
      const bool rebuilt = reserve_index();  // a new table: the probe's position is void
      const std::uint32_t slot = cells_.free_slot();
      const std::uint32_t cell = fill_cell(std::forward<K>(key), std::forward<V>(value),
                                           write_deadline, access_deadline, slot);
      cells_.take_slot(slot, cell);
      if (rebuilt || free == npos) {
        index_.insert(hash, cell);
      } else {
        index_.insert_at(free, hash, cell);
      }
      ++entries_;
      policy_.on_insert(slot, hash, weight);
    }
    // The hashes the policy asks for (admission compares candidate and victim) are kept, so
    // that the one evicted finds its index word without hashing its key again.
    policy_.evict(
        [this](std::uint32_t s) {
          const std::uint64_t h = hasher_(kv_of_slot(s).first);
          hash_memo_[1] = hash_memo_[0];
          hash_memo_[0] = {s, h};
          return h;
        },
        [this, out](std::uint32_t s) { remove_slot(s, removal_cause::size, out); });
    hash_memo_[0].slot = hash_memo_[1].slot = no_slot;
    reclaim();
  }

  /// Removes `key`'s entry if present (expired or not). Returns whether it was live.
  bool erase(const Key& key, std::uint64_t hash, std::int64_t now, removals* out) {
    const std::size_t pos = find_pos(key, hash);
    if (pos == npos) return false;
    const std::uint32_t cell = index_.cell_at(pos);
    const bool live = !current()->expired(cell, now);
    const std::uint32_t slot = cells_.slot_of(cell);
    policy_.on_remove(slot);
    remove_slot(slot, live ? removal_cause::explicit_removal : removal_cause::expired, out);
    reclaim();
    return live;
  }

  /// Removes live entries matching `pred(key, value)` (and expired ones met on the way).
  template <class Pred>
  std::size_t erase_if(Pred& pred, std::int64_t now, removals* out) {
    std::size_t count = 0;
    for (std::uint32_t slot = 0; slot < cells_.slots(); ++slot) {
      if (!cells_.slot_live(slot)) continue;
      const std::uint32_t cell = cells_.cell_of(slot);
      const auto& kv = current()->kv(cell);
      if (current()->expired(cell, now)) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::expired, out);
      } else if (pred(kv.first, kv.second)) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::explicit_removal, out);
        ++count;
      }
    }
    reclaim();
    return count;
  }

  /// Removes up to `budget` slots' worth of expired entries, resuming where the last sweep
  /// stopped (a clock hand over the slots), or all of them when budget is 0.
  std::size_t sweep(std::int64_t now, std::uint32_t budget, removals* out) {
    const std::uint32_t slots = cells_.slots();
    if (slots == 0 || !(write_timed_ || access_timed_)) return 0;
    const std::uint32_t steps = budget == 0 ? slots : std::min(budget, slots);
    std::size_t removed = 0;
    for (std::uint32_t i = 0; i < steps; ++i) {
      if (hand_ >= slots) hand_ = 0;
      const std::uint32_t slot = hand_++;
      if (cells_.slot_live(slot) && current()->expired(cells_.cell_of(slot), now)) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::expired, out);
        ++removed;
      }
    }
    reclaim();
    return removed;
  }

  /// A new bound (cache::reconfigure): evicts down to it now, by the policy, as a write
  /// would (cause size). Needs a policy with set_max_weight.
  // Cold and out of line: an operator's act, kept from changing how g++ inlines the hot paths.
  [[gnu::cold, gnu::noinline]] void set_capacity(std::uint64_t max_weight, bool counted,
                                                 removals* out) {
    drain_reads();
    cells_.set_limits(max_weight, counted);
    policy_.set_max_weight(max_weight);
    policy_.evict([this](std::uint32_t s) { return hasher_(kv_of_slot(s).first); },
                  [this, out](std::uint32_t s) { remove_slot(s, removal_cause::size, out); });
    reclaim();
  }

  /// Adds this shard's counters to `m`.
  void add_metrics(cache_metrics& m) const noexcept {
    m.hits += reads_.hits();
    m.misses += reads_.misses();
    m.evictions_size += evictions_size_;
    m.evictions_expired += evictions_expired_;
    m.evictions_explicit += evictions_explicit_;
    m.replacements += replacements_;
    m.entries += entries_;
    m.weight += policy_.weight();
  }

  /// Bytes this shard allocated beyond the live keys' and values' own bytes.
  [[nodiscard]] std::size_t overhead_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + reads_.memory_bytes() + policy_.memory_bytes() +
                        cells_.memory_bytes() + retired_.memory_bytes() + index_.memory_bytes();
    if (const slab* s = current()) {
      bytes += s->capacity * sizeof(typename slab::cell) - entries_ * sizeof(std::pair<Key, Value>);
      bytes += s->deadline_bytes();
    }
    return bytes;
  }

 private:
  static constexpr std::size_t npos = cache_index::npos;

  auto replay_access() {
    return [this](std::uint32_t cell, std::uint64_t hash) {
      if (cells_.holds_entry(cell)) policy_.on_access(cells_.slot_of(cell), hash);
    };
  }

  const std::pair<Key, Value>& kv_of_slot(std::uint32_t slot) const noexcept {
    return current()->kv(cells_.cell_of(slot));
  }
  // The index position of `key`'s word, or npos. Under the lock (the writer's own stores).
  template <class K>
  std::size_t find_pos(const K& key, std::uint64_t hash) const {
    return index_.find_pos(
        hash, [&](std::uint32_t cell) { return equal_(current()->kv(cell).first, key); });
  }

  // A cell holding a new pair for `slot`, published by nothing yet. Strong guarantee.
  template <class K, class V>
  std::uint32_t fill_cell(K&& key, V&& value, std::int64_t write_deadline,
                          std::int64_t access_deadline, std::uint32_t slot) {
    if (!cells_.has_free_cell()) {
      reclaim(true);
      if (!cells_.has_free_cell()) reclaim(true);  // a second advance frees the last write's cells
      if (!cells_.has_free_cell()) grow_slab(cells_.grown_capacity(current()));
    }
    return cells_.fill(*slab_.load(std::memory_order_relaxed), std::forward<K>(key),
                       std::forward<V>(value), write_deadline, access_deadline, slot);
  }

  void grow_slab(std::uint32_t capacity) {
    cells_.grow(slab_, capacity, write_timed_, access_timed_, retired_, epochs_);
  }

  // The index, rebuilt first if one more word would take it past 3/4 full; the table it
  // replaces is retired with the epoch read after the new one's publication.
  // Returns whether it rebuilt.
  bool reserve_index() {
    if (index_.has_room()) return false;
    retired_.make_room_for_table();
    auto old = index_.rebuild(entries_, cells_.slot_limit(), [this](std::uint32_t cell) {
      return hasher_(current()->kv(cell).first);
    });
    if (old != nullptr) retired_.retire(std::move(old), epochs_.epoch());
    return true;
  }

  // Unlinks a slot the policy no longer orders: index word, cell (to limbo), slot.
  void remove_slot(std::uint32_t slot, removal_cause cause, removals* out) {
    const std::uint32_t cell = cells_.cell_of(slot);
    const auto& kv = current()->kv(cell);
    const std::uint64_t hash = hash_memo_[0].slot == slot   ? hash_memo_[0].hash
                               : hash_memo_[1].slot == slot ? hash_memo_[1].hash
                                                            : hasher_(kv.first);
    index_.unlink(find_pos(kv.first, hash));
    if (out != nullptr) out->push_back({kv.first, kv.second, cause});
    retire_cell(cell);
    cells_.free_slot(slot);
    --entries_;
    ++(cause == removal_cause::size      ? evictions_size_
       : cause == removal_cause::expired ? evictions_expired_
                                         : evictions_explicit_);
  }

  // After its word was overwritten (seq_cst): tag it with the epoch read after the unlink.
  void retire_cell(std::uint32_t cell) {
    cells_.to_limbo(cell);
    retired_.retire_cell(cell, epochs_.epoch());
  }

  // Frees what no pinned reader can see: everything retired two epochs ago. Tries to advance
  // the epoch first (a scan of the thread records and a CAS on the global epoch, never a wait)
  // when asked to, when a slab or index waits, or once `advance_at_` cells wait: the global
  // epoch is a line every shard's writers would otherwise write on every write.
  void reclaim(bool advance = false) {
    if (retired_.empty()) return;
    const std::uint64_t epoch =
        advance || retired_.objects_waiting() || retired_.cells() >= advance_at_
            ? epochs_.try_advance()
            : epochs_.epoch();
    slab* s = slab_.load(std::memory_order_relaxed);
    retired_.reclaim(epoch, [this, s](std::uint32_t cell) {
      std::destroy_at(&s->cells[cell].kv);
      cells_.free_cell(cell);
    });
  }

  // Three blocks, each false_sharing_range apart. First what every reader loads and only
  // writers store, and seldom (growth): the slab, the index's table pointer (the table keeps
  // its count of used words, which most writes change, on a line of its own), the domain, and
  // the read buffer's stripe array (the stripes themselves are allocated apart). Then the lock,
  // which writers and drainers write. Then the writers' state, which every replayed read writes
  // (the policy).
  alignas(false_sharing_range) std::atomic<slab*> slab_{nullptr};
  cache_index index_;
  epoch_domain& epochs_;  // the cache's, shared by its shards
  read_buffer reads_;
  alignas(false_sharing_range) mutable spinning_mutex mutex_;

  alignas(false_sharing_range) Policy policy_;
  cell_store<Key, Value> cells_;  // slots, cells, their free lists (writers only)
  std::uint32_t advance_at_;
  std::uint32_t hand_ = 0;
  bool write_timed_;   // cells keep write deadlines (expire_after_write or a per-entry TTL)
  bool access_timed_;  // cells keep access deadlines (expire_after_access)
  retire_list<slab> retired_;
  struct slot_hash {
    std::uint32_t slot = no_slot;
    std::uint64_t hash = 0;
  };
  slot_hash hash_memo_[2];  // during policy_.evict: the last two hashes it asked for
  std::uint64_t entries_ = 0;
  std::uint64_t evictions_size_ = 0;
  std::uint64_t evictions_expired_ = 0;
  std::uint64_t evictions_explicit_ = 0;
  std::uint64_t replacements_ = 0;
  [[no_unique_address]] Hasher hasher_;
  [[no_unique_address]] KeyEqual equal_;
};

}  // namespace bulwark::detail
