#pragma once
// The index of a bulwark::cache shard: an open-addressing table from keys to cell numbers that
// readers probe without a lock while the shard's writer (under its mutex) changes it. Internal;
// users include bulwark/cache/cache.hpp.
//
// What a reader can reach is never modified in place except for single words, each a whole
// state: a word names a constructed cell (published after the cell was filled), an empty word
// ends every probe, a tombstone is passed over. A table that must grow or shed its tombstones
// is rebuilt into a new one published whole; the old one goes to the shard's retire list
// (retire_list.hpp) until no reader can still be probing it.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "bulwark/cache/eviction.hpp"
#include "bulwark/detail/false_sharing.hpp"

namespace bulwark::detail {

/// An index word: the top byte of the key's hash (a tag) and a 24-bit cell number.
inline constexpr std::uint32_t empty_word = 0xFFFFFFFF;
inline constexpr std::uint32_t tombstone_word = 0xFFFFFFFE;
inline constexpr std::uint32_t cell_mask = 0x00FFFFFF;
/// Cells and entries per shard: cell numbers 0xFFFFFE and 0xFFFFFF would collide with the
/// marker words.
inline constexpr std::uint32_t max_cells = (1u << 24) - 2;

inline std::uint32_t tag_of(std::uint64_t hash) noexcept {
  // Bits 32-39: the shard was chosen by the top bits and the position by the low ones.
  return static_cast<std::uint32_t>(hash >> 8) & 0xFF000000u;
}

/// A linear-probing table of index words. Load (entries and tombstones) stays <= 3/4, so a
/// probe always ends at an empty word. Any size, not only powers of two: a key's first position
/// is the low 32 bits of its hash scaled to the size (Lemire's multiply-shift), which lets a
/// full shard's index sit at 1.5 words an entry instead of the 2 a power of two needs when the
/// bound is one (6 bytes an entry instead of 8).
struct index_table {
  std::size_t size;  // < 2^26: 1.5 x max_cells, rounded up
  std::unique_ptr<std::atomic<std::uint32_t>[]> words;
  // Words not empty (entries and tombstones). The writer changes it on most inserts and
  // unlinks, so it sits on a line of its own: beside what every lookup loads (the shard's
  // table pointer, or size and words here), each miss on one core would cost the next lookup
  // in the shard on every other core a fetch of that line.
  alignas(false_sharing_range) std::size_t used = 0;

  explicit index_table(std::size_t n)
      : size{n}, words{std::make_unique<std::atomic<std::uint32_t>[]>(n)} {
    for (std::size_t i = 0; i < n; ++i)
      words[i].store(empty_word, std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t home(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>(((hash & 0xFFFFFFFFu) * size) >> 32);
  }
  [[nodiscard]] std::size_t next(std::size_t pos) const noexcept {
    return pos + 1 == size ? 0 : pos + 1;
  }
  [[nodiscard]] std::size_t prev(std::size_t pos) const noexcept {
    return pos == 0 ? size - 1 : pos - 1;
  }
};

/// The shard's current table. Lookups by hash and a `match(cell)` predicate (the shard compares
/// keys in its slab); the mutators are the writer's, under the shard's lock.
class cache_index {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  cache_index() = default;
  cache_index(const cache_index&) = delete;
  cache_index& operator=(const cache_index&) = delete;
  ~cache_index() { delete table_.load(std::memory_order_relaxed); }

  /// Lock-free (the caller is pinned): the cell of the first word with `hash`'s tag whose cell
  /// `match`es, or no_slot. seq_cst loads: see epoch.hpp.
  template <class Match>
  std::uint32_t find(std::uint64_t hash, Match&& match) const {
    const index_table* t = table_.load(std::memory_order_seq_cst);
    if (t == nullptr) return no_slot;
    const std::uint32_t tag = tag_of(hash);
    for (std::size_t pos = t->home(hash);; pos = t->next(pos)) {
      const std::uint32_t word = t->words[pos].load(std::memory_order_seq_cst);
      if (word == empty_word) return no_slot;
      if (word != tombstone_word && (word & ~cell_mask) == tag && match(word & cell_mask)) {
        return word & cell_mask;
      }
    }
  }

  // ---- under the lock ----

  /// The position of the word whose cell `match`es, or npos.
  template <class Match>
  [[nodiscard]] std::size_t find_pos(std::uint64_t hash, Match&& match) const {
    const index_table* t = table_.load(std::memory_order_relaxed);
    if (t == nullptr) return npos;
    const std::uint32_t tag = tag_of(hash);
    for (std::size_t pos = t->home(hash);; pos = t->next(pos)) {
      const std::uint32_t word = t->words[pos].load(std::memory_order_relaxed);
      if (word == empty_word) return npos;
      if (word != tombstone_word && (word & ~cell_mask) == tag && match(word & cell_mask)) {
        return pos;
      }
    }
  }

  /// What one probe for a key learns: the position of its word (npos: absent) and, when
  /// absent, the position insert() would take (the first tombstone or the empty word passed;
  /// npos before the first table), so that an insertion probes once.
  struct probe_result {
    std::size_t found;
    std::size_t free;
  };
  template <class Match>
  [[nodiscard]] probe_result probe(std::uint64_t hash, Match&& match) const {
    const index_table* t = table_.load(std::memory_order_relaxed);
    if (t == nullptr) return {npos, npos};
    const std::uint32_t tag = tag_of(hash);
    std::size_t free = npos;
    for (std::size_t pos = t->home(hash);; pos = t->next(pos)) {
      const std::uint32_t word = t->words[pos].load(std::memory_order_relaxed);
      if (word == empty_word) return {npos, free == npos ? pos : free};
      if (word == tombstone_word) {
        if (free == npos) free = pos;
      } else if ((word & ~cell_mask) == tag && match(word & cell_mask)) {
        return {pos, npos};
      }
    }
  }

  [[nodiscard]] std::uint32_t cell_at(std::size_t pos) const noexcept {
    return table_.load(std::memory_order_relaxed)->words[pos].load(std::memory_order_relaxed) &
           cell_mask;
  }

  /// Points the word at `pos` to `cell` (same key), unlinking the old cell: seq_cst, the store
  /// the epoch argument orders before the old cell's retirement tag.
  void replace(std::size_t pos, std::uint64_t hash, std::uint32_t cell) noexcept {
    table_.load(std::memory_order_relaxed)
        ->words[pos]
        .store(tag_of(hash) | cell, std::memory_order_seq_cst);
  }

  /// Whether one more word keeps the table at most 3/4 used (else rebuild() first).
  [[nodiscard]] bool has_room() const noexcept {
    const index_table* t = table_.load(std::memory_order_relaxed);
    return t != nullptr && (t->used + 1) * 4 <= t->size * 3;
  }

  // Release, not seq_cst: the word replaced is empty or a tombstone, so nothing is unlinked
  // and the epoch argument (epoch.hpp) has no store to order; readers' seq_cst loads acquire
  // the constructed cell. (An xchg on x86 would also drain the store buffer on every insert.)
  /// Adds a word for a new key's cell (after reserve()).
  void insert(std::uint64_t hash, std::uint32_t cell) noexcept {
    index_table& t = *table_.load(std::memory_order_relaxed);
    std::size_t pos = t.home(hash);
    std::uint32_t word = t.words[pos].load(std::memory_order_relaxed);
    while (word != empty_word && word != tombstone_word) {
      pos = t.next(pos);
      word = t.words[pos].load(std::memory_order_relaxed);
    }
    if (word == empty_word) ++t.used;
    t.words[pos].store(tag_of(hash) | cell, std::memory_order_release);
  }

  /// insert() at the position a probe() found free, with no table change since.
  void insert_at(std::size_t pos, std::uint64_t hash, std::uint32_t cell) noexcept {
    index_table& t = *table_.load(std::memory_order_relaxed);
    if (t.words[pos].load(std::memory_order_relaxed) == empty_word) ++t.used;
    t.words[pos].store(tag_of(hash) | cell, std::memory_order_release);
  }

  /// Unlinks the word at `pos` (seq_cst, as replace()). A word followed by an empty one
  /// becomes empty rather than a tombstone, and so do the tombstones just before it: no key's
  /// probe can run past an empty word, so none crosses these positions, and a reader that
  /// stops at one misses nothing it could have found. Without this every eviction left a
  /// tombstone, and a full shard rebuilt its index every live/8 inserts (a tenth of the
  /// instructions of the cache-aside workload's operations).
  void unlink(std::size_t pos) noexcept {
    index_table& t = *table_.load(std::memory_order_relaxed);
    if (t.words[t.next(pos)].load(std::memory_order_relaxed) != empty_word) {
      t.words[pos].store(tombstone_word, std::memory_order_seq_cst);
      return;
    }
    t.words[pos].store(empty_word, std::memory_order_seq_cst);
    --t.used;
    for (pos = t.prev(pos); t.words[pos].load(std::memory_order_relaxed) == tombstone_word;
         pos = t.prev(pos)) {
      t.words[pos].store(empty_word, std::memory_order_relaxed);
      --t.used;
    }
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    const index_table* t = table_.load(std::memory_order_relaxed);
    return t == nullptr ? 0 : sizeof(index_table) + t->size * sizeof(std::uint32_t);
  }

  // A new table for `entries` + 1 entries, without tombstones. While the shard grows it doubles (2
  // x live: geometric growth, amortised O(1) rebuilds), but never past 1.5 x the shard's bound; at
  // least 1.5 x live, so the load after is <= 2/3 and the next rebuild (at 3/4, tombstones
  // included) is at least live/8 inserts away. A full shard's index: 6 bytes an entry.
  // Returns the table replaced (for the retire list), or null. `hash_of_cell(cell)` rehashes
  // the live words' keys. Strong guarantee.
  template <class HashOfCell>
  std::unique_ptr<index_table> rebuild(std::size_t entries, std::uint32_t slot_limit,
                                       HashOfCell&& hash_of_cell) {
    const std::size_t live = entries + 1;
    const std::size_t least = live + live / 2 + 1;
    const std::size_t grown = std::min<std::size_t>(2 * live, std::size_t{slot_limit} * 3 / 2 + 1);
    const std::size_t size = (std::max<std::size_t>({16, least, grown}) + 15) & ~std::size_t{15};
    auto fresh = std::make_unique<index_table>(size);
    index_table* old = table_.load(std::memory_order_relaxed);  // owned once replaced
    if (old != nullptr) {
      for (std::size_t i = 0; i < old->size; ++i) {
        const std::uint32_t word = old->words[i].load(std::memory_order_relaxed);
        if (word == empty_word || word == tombstone_word) continue;
        std::size_t pos = fresh->home(hash_of_cell(word & cell_mask));
        while (fresh->words[pos].load(std::memory_order_relaxed) != empty_word)
          pos = fresh->next(pos);
        fresh->words[pos].store(word, std::memory_order_relaxed);
      }
    }
    fresh->used = entries;
    table_.store(fresh.release(), std::memory_order_seq_cst);  // publishes the words above
    return std::unique_ptr<index_table>{old};
  }

 private:
  std::atomic<index_table*> table_{nullptr};
};

}  // namespace bulwark::detail
