#pragma once
// The table of one bulwark::keyed_limiter shard: a mutex and an open-addressed hash table with
// linear probing and backward-shift deletion (no tombstones), so probe sequences stay short
// after evictions. Internal to keyed_limiter; not for users.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "bulwark/detail/spinning_mutex.hpp"

namespace bulwark::detail {

/// Slots hold a key, its hash, its last-use time and its limiter's `State`. The members are
/// guarded by `mutex`, which the shard takes; the table itself never locks. The mutex comes
/// first so that it shares a cache line with the table's pointer, mask and count.
template <class Key, class State>
struct keyed_table {
  // A held key: the key and its limiter's state.
  struct held {
    held(const Key& k, State s) : key{k}, state{std::move(s)} {}
    Key key;
    State state;
  };

  // A table slot: `item` is alive iff hash != 0 (the keyed limiter never hashes to 0). The
  // hash is kept so that probes compare keys only on a hash match and the table grows without
  // rehashing.
  struct slot_fields {
    std::uint64_t hash = 0;
    std::int64_t last_used = 0;
    union {
      held item;
    };
    slot_fields() noexcept {}
    ~slot_fields() {}
    slot_fields(const slot_fields&) = delete;
    slot_fields& operator=(const slot_fields&) = delete;
  };
  // A power of two up to a cache line (32 bytes for an 8-byte key and an inline state), so
  // that a slot never straddles two lines.
  static constexpr std::size_t slot_align =
      std::max(alignof(slot_fields), std::min(std::size_t{64}, std::bit_ceil(sizeof(slot_fields))));
  struct alignas(slot_align) slot : slot_fields {};

  mutable spinning_mutex mutex;
  slot* slots = allocate_slots(16);
  std::size_t mask = 15;  // slots - 1
  std::size_t count = 0;

  keyed_table() = default;
  keyed_table(const keyed_table&) = delete;
  keyed_table& operator=(const keyed_table&) = delete;
  ~keyed_table() { free_slots(slots, mask + 1); }

  // The keyed limiter picks shards by the hash's top bits, slots by its low bits: independent.
  [[nodiscard]] slot* find(std::uint64_t h, const Key& key) const {
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      slot& s = slots[i];
      if (s.hash == h && s.item.key == key) return &s;  // h != 0: s is occupied
      if (s.hash == 0) return nullptr;
    }
  }

  // Puts a key known to be absent into its first free slot (the caller keeps the load <= 1/2).
  slot& emplace(std::uint64_t h, const Key& key, State state, std::int64_t now) {
    std::size_t i = h & mask;
    while (slots[i].hash != 0)
      i = (i + 1) & mask;
    slot& fresh = slots[i];
    std::construct_at(&fresh.item, key, std::move(state));  // if it throws, still empty
    fresh.hash = h;
    fresh.last_used = now;
    ++count;
    return fresh;
  }

  void grow() {
    const std::size_t old_size = mask + 1;
    slot* old = slots;
    slots = allocate_slots(old_size * 2);  // throws before anything changed
    mask = old_size * 2 - 1;
    for (std::size_t i = 0; i < old_size; ++i) {
      if (old[i].hash == 0) continue;
      std::size_t j = old[i].hash & mask;
      while (slots[j].hash != 0)
        j = (j + 1) & mask;
      relocate(slots[j], old[i]);
    }
    free_slots(old, old_size);
  }

  // Removes the key at slot i, shifting later members of its probe run back.
  void erase_at(std::size_t i) noexcept {
    std::destroy_at(&slots[i].item);
    slots[i].hash = 0;
    --count;
    for (std::size_t j = (i + 1) & mask; slots[j].hash != 0; j = (j + 1) & mask) {
      const std::size_t home = slots[j].hash & mask;
      // Move j back to the hole i if its home is not in the cyclic range (i, j].
      const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!stays) {
        relocate(slots[i], slots[j]);
        i = j;
      }
    }
  }

  // Moves the item of `from` (occupied) into `to` (empty) and empties `from`.
  static void relocate(slot& to, slot& from) noexcept {
    std::construct_at(&to.item, std::move(from.item));
    std::destroy_at(&from.item);
    to.hash = from.hash;
    to.last_used = from.last_used;
    from.hash = 0;
  }

  [[nodiscard]] static slot* allocate_slots(std::size_t n) {
    slot* table = std::allocator<slot>{}.allocate(n);
    std::uninitialized_default_construct_n(table, n);  // all empty
    return table;
  }

  static void free_slots(slot* table, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      if (table[i].hash != 0) std::destroy_at(&table[i].item);
    }
    std::destroy_n(table, n);
    std::allocator<slot>{}.deallocate(table, n);
  }
};

}  // namespace bulwark::detail
