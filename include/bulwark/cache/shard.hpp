#pragma once
// One lock stripe of bulwark::cache: an open-addressing index over a slab of entries, their
// deadlines (only once one has any), an eviction policy and a lossy read buffer. Internal; users
// include bulwark/cache/cache.hpp.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "bulwark/cache/cache_options.hpp"
#include "bulwark/cache/eviction.hpp"

namespace bulwark::detail {

/// An entry's deadlines are nanoseconds since the clock's epoch; `never` is no deadline.
inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

template <class Key, class Value, class Policy, class Hasher, class KeyEqual>
class cache_shard {
 public:
  struct removal {
    Key key;
    Value value;
    removal_cause cause;
  };
  using removals = std::vector<removal>;

  /// Slot numbers fit in 24 bits: an index word is an 8-bit hash tag and a 24-bit slot.
  static constexpr std::uint32_t max_slots = (1u << 24) - 2;

  cache_shard(std::uint64_t max_weight, bool counted, const Hasher& hasher, const KeyEqual& equal)
      : policy_{max_weight},
        slot_limit_{
            counted ? static_cast<std::uint32_t>(std::min<std::uint64_t>(max_weight + 1, max_slots))
                    : max_slots},
        hasher_{hasher},
        equal_{equal} {}

  cache_shard(const cache_shard&) = delete;
  cache_shard& operator=(const cache_shard&) = delete;
  ~cache_shard() {
    for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
      if (live_[slot]) std::destroy_at(&nodes_[slot].kv);
    }
  }

  std::shared_mutex& mutex() const noexcept { return mutex_; }

  // ---- under a shared (or exclusive) lock ----

  /// The slot of `key`'s entry, expired or not, or no_slot. O(1) expected.
  std::uint32_t lookup(const Key& key, std::uint64_t hash) const noexcept {
    const std::size_t pos = find(key, hash);
    return pos == npos ? no_slot : table_[pos] & slot_mask;
  }
  /// Whether the entry has a deadline at all (else no clock read is needed to judge it).
  bool timed(std::uint32_t slot) const noexcept { return deadline_at(slot) != never; }
  bool expired(std::uint32_t slot, std::int64_t now) const noexcept {
    return !deadlines_.empty() && expired(deadlines_[slot], now);
  }

  const Key& key_at(std::uint32_t slot) const noexcept { return nodes_[slot].kv.first; }
  const Value& value_at(std::uint32_t slot) const noexcept { return nodes_[slot].kv.second; }
  std::int64_t deadline_at(std::uint32_t slot) const noexcept {
    if (deadlines_.empty()) return never;
    return std::min(deadlines_[slot].write,
                    deadlines_[slot].access.load(std::memory_order_relaxed));
  }

  /// A hit under the shared lock: extends the access deadline and queues the access for the
  /// policy. Returns true when the read buffer is full and the caller should try to drain it.
  bool record_hit(std::uint32_t slot, std::uint64_t hash, std::int64_t access_deadline) noexcept {
    // Relaxed: the deadline is a hint other readers may race on (the later store wins, both
    // are "now + ttl" within a tick); writers read it under the exclusive lock. An access
    // deadline implies deadlines are kept: the entry's write under expire_after_access set one.
    if (access_deadline != never && !deadlines_.empty()) {
      deadlines_[slot].access.store(access_deadline, std::memory_order_relaxed);
    }
    // Relaxed: every reader that claims a buffer cell stores into it before releasing its
    // shared lock, and the drainer reads the cells under the exclusive lock, whose
    // acquisition happens after those releases; the lock gives the ordering.
    const std::uint64_t i = reads_.fetch_add(1, std::memory_order_relaxed);
    if (i < read_buffer_size) {
      read_slots_[i].store(slot, std::memory_order_relaxed);
      read_hashes_[i].store(hash, std::memory_order_relaxed);
    }
    // Past the buffer, reads are dropped from the policy's view (not from the hit count) until
    // a drain; every 32nd such reader tries the lock, so a full buffer does not make every
    // reader contend for it.
    return i + 1 == read_buffer_size || (i >= read_buffer_size && (i & 31) == 0);
  }

  void miss() noexcept { misses_.add(); }

  // ---- under the exclusive lock ----

  /// Replays buffered reads into the policy, in the order they were recorded.
  void drain_reads() {
    const std::uint64_t n = reads_.load(std::memory_order_relaxed);
    if (n == 0) return;
    const auto replay = static_cast<std::size_t>(std::min<std::uint64_t>(n, read_buffer_size));
    for (std::size_t i = 0; i < replay; ++i) {
      policy_.on_access(read_slots_[i].load(std::memory_order_relaxed),
                        read_hashes_[i].load(std::memory_order_relaxed));
    }
    hits_ += n;
    reads_.store(0, std::memory_order_relaxed);
  }

  /// Inserts or replaces `key`'s value with the given deadlines, then evicts to fit.
  template <class K, class V>
  void put(K&& key, V&& value, std::uint64_t hash, std::uint32_t weight, std::int64_t now,
           std::int64_t write_deadline, std::int64_t access_deadline, removals* out) {
    const bool has_deadline = write_deadline != never || access_deadline != never;
    const std::size_t pos = find(key, hash);
    if (pos != npos) {
      const std::uint32_t slot = table_[pos] & slot_mask;
      if (has_deadline) keep_deadlines();  // allocates (may throw) before anything changes
      node& n = nodes_[slot];
      // Over an expired entry, the old value left by expiry, not by replacement (as Caffeine).
      const bool was_expired = expired(slot, now);
      if (out != nullptr) {
        out->push_back({n.kv.first, std::move(n.kv.second),
                        was_expired ? removal_cause::expired : removal_cause::replaced});
      }
      if (was_expired) {
        ++evictions_expired_;
      } else {
        ++replacements_;
      }
      n.kv.second = std::forward<V>(value);
      set_deadlines(slot, write_deadline, access_deadline);
      policy_.on_update(slot, hash, weight);
    } else {
      reserve_one();
      if (has_deadline) keep_deadlines();
      const std::uint32_t slot = free_.back();
      std::construct_at(&nodes_[slot].kv, std::forward<K>(key), std::forward<V>(value));
      free_.pop_back();
      live_[slot] = true;
      set_deadlines(slot, write_deadline, access_deadline);
      insert_index(hash, slot);
      ++entries_;
      policy_.on_insert(slot, hash, weight);
    }
    policy_.evict([this](std::uint32_t s) { return hasher_(nodes_[s].kv.first); },
                  [this, out](std::uint32_t s) { remove_slot(s, removal_cause::size, out); });
  }

  /// Removes `key`'s entry if present (expired or not). Returns whether it was live.
  bool erase(const Key& key, std::uint64_t hash, std::int64_t now, removals* out) {
    const std::size_t pos = find(key, hash);
    if (pos == npos) return false;
    const std::uint32_t slot = table_[pos] & slot_mask;
    const bool live = !expired(slot, now);
    policy_.on_remove(slot);
    remove_slot(slot, live ? removal_cause::explicit_removal : removal_cause::expired, out);
    return live;
  }

  /// Removes live entries matching `pred(key, value)` (and expired ones met on the way).
  template <class Pred>
  std::size_t erase_if(Pred& pred, std::int64_t now, removals* out) {
    std::size_t count = 0;
    for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
      if (!live_[slot]) continue;
      node& n = nodes_[slot];
      if (expired(slot, now)) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::expired, out);
      } else if (pred(std::as_const(n.kv.first), std::as_const(n.kv.second))) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::explicit_removal, out);
        ++count;
      }
    }
    return count;
  }

  /// Removes up to `budget` slots' worth of expired entries, resuming where the last sweep
  /// stopped (a clock hand over the slab), or the whole slab when budget is 0.
  std::size_t sweep(std::int64_t now, std::uint32_t budget, removals* out) {
    if (capacity_ == 0 || deadlines_.empty()) return 0;  // no entry has ever had a deadline
    const std::uint32_t steps = budget == 0 ? capacity_ : std::min(budget, capacity_);
    std::size_t removed = 0;
    for (std::uint32_t i = 0; i < steps; ++i) {
      if (hand_ >= capacity_) hand_ = 0;
      const std::uint32_t slot = hand_++;
      if (live_[slot] && expired(slot, now)) {
        policy_.on_remove(slot);
        remove_slot(slot, removal_cause::expired, out);
        ++removed;
      }
    }
    return removed;
  }

  /// Adds this shard's counters to `m`. Under the shared lock, so hits are never seen twice.
  void add_metrics(cache_metrics& m) const noexcept {
    m.hits += hits_ + reads_.load(std::memory_order_relaxed);
    m.misses += misses_.load();
    m.evictions_size += evictions_size_;
    m.evictions_expired += evictions_expired_;
    m.evictions_explicit += evictions_explicit_;
    m.replacements += replacements_;
    m.entries += entries_;
    m.weight += policy_.weight();
  }

  [[nodiscard]] std::uint64_t entries() const noexcept { return entries_; }

  /// Bytes this shard allocated for bookkeeping beyond the keys' and values' own bytes.
  [[nodiscard]] std::size_t overhead_bytes() const noexcept {
    return capacity_ * (sizeof(node) - sizeof(std::pair<Key, Value>)) + live_.capacity() / 8 +
           deadlines_.capacity() * sizeof(deadlines) + table_.capacity() * sizeof(std::uint32_t) +
           free_.capacity() * sizeof(std::uint32_t) + policy_.memory_bytes();
  }

 private:
  struct node {
    union {
      std::pair<Key, Value> kv;  // alive iff live_[slot]
    };
    node() noexcept {}
    ~node() {}
  };
  // An entry's deadlines, kept apart from the slab so that a shard none of whose entries ever
  // had one (no expiry configured, no per-entry TTL) spends no memory on them: 16 bytes an
  // entry saved. `access` is atomic because readers extend it under the shared lock.
  struct deadlines {
    std::int64_t write = never;
    std::atomic<std::int64_t> access{never};
  };

  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  static constexpr std::uint32_t empty_word = 0xFFFFFFFF;
  static constexpr std::uint32_t tombstone = 0xFFFFFFFE;
  static constexpr std::uint32_t slot_mask = 0x00FFFFFF;
  static constexpr std::size_t read_buffer_size = 64;

  static bool expired(const deadlines& d, std::int64_t now) noexcept {
    return now >= d.write || now >= d.access.load(std::memory_order_relaxed);
  }

  // From the first entry with a deadline on, every slot has a deadlines cell (never, never by
  // default); until then deadlines_ is empty and every entry is untimed. Exclusive lock.
  void keep_deadlines() {
    if (deadlines_.empty()) deadlines_ = std::vector<deadlines>(capacity_);
  }
  void set_deadlines(std::uint32_t slot, std::int64_t write, std::int64_t access) noexcept {
    if (deadlines_.empty()) return;  // both are never (put called keep_deadlines otherwise)
    deadlines_[slot].write = write;
    deadlines_[slot].access.store(access, std::memory_order_relaxed);
  }
  static std::uint32_t tag_of(std::uint64_t hash) noexcept {
    // Bits 32-39: the shard was chosen by the top bits and the position by the low ones.
    return static_cast<std::uint32_t>(hash >> 8) & 0xFF000000u;
  }

  // Linear probing over the index; a word holds the hash's top tag byte and the slot, so a probe
  // only touches an entry whose tag matches (a false match 1 time in 256).
  template <class K>
  std::size_t find(const K& key, std::uint64_t hash) const noexcept {
    if (table_.empty()) return npos;
    const std::uint32_t tag = tag_of(hash);
    for (std::size_t pos = static_cast<std::size_t>(hash) & mask_;; pos = (pos + 1) & mask_) {
      const std::uint32_t word = table_[pos];
      if (word == empty_word) return npos;
      if (word != tombstone && (word & ~slot_mask) == tag &&
          equal_(nodes_[word & slot_mask].kv.first, key)) {
        return pos;
      }
    }
  }

  void insert_index(std::uint64_t hash, std::uint32_t slot) {
    if ((used_ + 1) * 4 > table_.size() * 3) rehash(entries_ + 1);
    std::size_t pos = static_cast<std::size_t>(hash) & mask_;
    while (table_[pos] != empty_word && table_[pos] != tombstone)
      pos = (pos + 1) & mask_;
    if (table_[pos] == empty_word) ++used_;
    table_[pos] = tag_of(hash) | slot;
  }

  // Rebuilds the index for `live` entries at the power of two >= 2 x live (load <= 1/2 after,
  // so the next rebuild is at least live/2 inserts away: amortised O(1)), dropping tombstones.
  // 8 to 16 bytes of index per entry.
  void rehash(std::size_t live) {
    const std::size_t size = std::bit_ceil(std::max<std::size_t>(16, 2 * live));
    std::vector<std::uint32_t> fresh(size, empty_word);
    const std::size_t mask = size - 1;
    for (const std::uint32_t word : table_) {
      if (word == empty_word || word == tombstone) continue;
      const std::uint64_t hash = hasher_(nodes_[word & slot_mask].kv.first);
      std::size_t pos = static_cast<std::size_t>(hash) & mask;
      while (fresh[pos] != empty_word)
        pos = (pos + 1) & mask;
      fresh[pos] = word;
    }
    table_ = std::move(fresh);
    mask_ = mask;
    used_ = entries_;
  }

  // Makes sure a free slot exists, growing the slab (by doubling, up to the limit). A doubling
  // that reaches the bound takes the limit's extra slot too (an insert into a full shard holds
  // bound + 1 entries until it evicts): growing by that one slot later would reallocate
  // everything, and the policy's vectors, grown by resize(), would double their capacity for it.
  void reserve_one() {
    if (!free_.empty()) return;
    if (capacity_ >= slot_limit_) {
      throw std::length_error("bulwark::cache: a shard is limited to 16777214 entries");
    }
    std::uint64_t doubled = std::max<std::uint64_t>(16, std::uint64_t{capacity_} * 2);
    if (doubled + 1 >= slot_limit_) doubled = slot_limit_;
    const auto grown = static_cast<std::uint32_t>(doubled);
    // Allocate everything before moving any entry (new live_ bits are false, harmless).
    std::vector<node> fresh(grown);
    std::vector<deadlines> fresh_deadlines(deadlines_.empty() ? 0 : grown);
    free_.reserve(grown);
    policy_.reserve(grown);
    live_.resize(grown);
    for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
      if (live_[slot]) std::construct_at(&fresh[slot].kv, std::move(nodes_[slot].kv));
    }
    for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
      if (live_[slot]) std::destroy_at(&nodes_[slot].kv);
    }
    if (!deadlines_.empty()) {
      for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
        fresh_deadlines[slot].write = deadlines_[slot].write;
        fresh_deadlines[slot].access.store(deadlines_[slot].access.load(std::memory_order_relaxed),
                                           std::memory_order_relaxed);
      }
    }
    for (std::uint32_t slot = grown; slot > capacity_; --slot)
      free_.push_back(slot - 1);
    nodes_ = std::move(fresh);
    deadlines_ = std::move(fresh_deadlines);
    capacity_ = grown;
  }

  // Drops a slot the policy no longer orders: index, value, slot. The index word is found by
  // the key's hash (recomputed: the slab stores no hashes, 8 bytes an entry saved).
  void remove_slot(std::uint32_t slot, removal_cause cause, removals* out) {
    node& n = nodes_[slot];
    const std::size_t pos = find(n.kv.first, hasher_(n.kv.first));
    table_[pos] = tombstone;
    if (out != nullptr) out->push_back({std::move(n.kv.first), std::move(n.kv.second), cause});
    std::destroy_at(&n.kv);
    live_[slot] = false;
    free_.push_back(slot);
    --entries_;
    switch (cause) {
      case removal_cause::size:
        ++evictions_size_;
        break;
      case removal_cause::expired:
        ++evictions_expired_;
        break;
      default:
        ++evictions_explicit_;
        break;
    }
  }

  // The lock and the read counter each get a cache line: readers of this shard write both.
  alignas(64) mutable std::shared_mutex mutex_;
  alignas(64) std::atomic<std::uint64_t> reads_{0};
  metric_counter misses_;
  std::array<std::atomic<std::uint32_t>, read_buffer_size> read_slots_{};
  std::array<std::atomic<std::uint64_t>, read_buffer_size> read_hashes_{};

  Policy policy_;
  // Vectors, not unique_ptr<T[]>: a node (its union) and a deadlines cell (its atomic) are
  // neither copyable nor movable, which a vector built at its final size never needs, and
  // freeing an array-new with its length cookie trips a false -Wfree-nonheap-object in g++ 12.
  std::vector<node> nodes_;
  std::vector<bool> live_;            // a bit per slot: whether nodes_[slot].kv is constructed
  std::vector<deadlines> deadlines_;  // empty, or one cell per slot (see keep_deadlines)
  std::uint32_t capacity_ = 0;
  std::uint32_t slot_limit_;
  std::uint32_t hand_ = 0;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> table_;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;  // index words not empty (entries and tombstones)
  std::uint64_t entries_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t evictions_size_ = 0;
  std::uint64_t evictions_expired_ = 0;
  std::uint64_t evictions_explicit_ = 0;
  std::uint64_t replacements_ = 0;
  [[no_unique_address]] Hasher hasher_;
  [[no_unique_address]] KeyEqual equal_;
};

}  // namespace bulwark::detail
