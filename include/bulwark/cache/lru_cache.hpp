#pragma once
// bulwark::lru_cache: the single-threaded LRU building block.

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "bulwark/cache/cache_options.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/siphash.hpp"
#include "bulwark/detail/intrusive_list.hpp"

namespace bulwark {

/// A bounded map that evicts its least recently used entry: a single-threaded building block.
///
/// NOT thread-safe: use it from one thread, or under your own lock, or use bulwark::cache. The
/// recency list is intrusive (threaded through the hash map's own nodes), so a hit allocates
/// nothing and moves three pointers; an insert allocates one map node.
///
/// Complexity: get, put, erase, contains O(1) expected. Pointers returned by get() and peek()
/// stay valid until the next put, erase or clear (like iterators of the standard containers):
/// copy the value if you need it longer.
template <class Key, class Value, class Hasher = flood_resistant_hash,
          class KeyEqual = std::equal_to<Key>>
class lru_cache {
 public:
  /// A cache of at most `capacity` entries (>= 1; std::invalid_argument otherwise). The default
  /// hasher gets a random seed when it takes one (as bulwark::flood_resistant_hash, the
  /// default, does), so that nobody outside can compute keys that pile up in one bucket.
  /// Eviction order does not depend on the hash, only the speed does.
  explicit lru_cache(std::size_t capacity,
                     Hasher hasher = detail::seeded_hasher(Hasher{}, std::nullopt),
                     KeyEqual equal = {})
      : capacity_{capacity}, map_{0, key_hash{std::move(hasher)}, std::move(equal)} {
    option_check{"lru_cache"}.positive("capacity", capacity);
    map_.reserve(capacity + 1);
  }

  lru_cache(const lru_cache&) = delete;  // the list points into the map's nodes
  lru_cache& operator=(const lru_cache&) = delete;

  /// The value of `key`, marked most recently used; nullptr if absent. O(1), no allocation.
  [[nodiscard]] Value* get(const Key& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    order_.move_to_front(it->second);
    return &it->second.value;
  }

  /// The value of `key` without changing its recency; nullptr if absent.
  [[nodiscard]] const Value* peek(const Key& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  [[nodiscard]] bool contains(const Key& key) const { return map_.find(key) != map_.end(); }

  /// Inserts or replaces `key`'s value, marking it most recently used. Returns the entry
  /// evicted to make room, if any. If the insert throws, the cache is unchanged.
  std::optional<std::pair<Key, Value>> put(Key key, Value value) {
    if (const auto it = map_.find(key); it != map_.end()) {
      it->second.value = std::move(value);
      order_.move_to_front(it->second);
      return std::nullopt;
    }
    const auto it = map_.try_emplace(std::move(key), std::move(value)).first;
    node& n = it->second;
    n.key = &it->first;
    order_.push_front(n);
    if (map_.size() <= capacity_) return std::nullopt;
    return evict_lru();
  }

  /// Removes `key`; returns whether it was present.
  bool erase(const Key& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return false;
    order_.erase(it->second);
    map_.erase(it);
    return true;
  }

  void clear() noexcept {
    map_.clear();
    order_.clear();
  }

  [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return map_.empty(); }

  /// Calls `visit(key, value)` from the most to the least recently used entry.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const node* n = order_.front(); n != nullptr; n = n->next)
      visit(*n->key, n->value);
  }

 private:
  struct node {
    explicit node(Value v) : value{std::move(v)} {}
    Value value;
    node* prev = nullptr;
    node* next = nullptr;
    const Key* key = nullptr;
  };
  struct key_hash {
    Hasher hasher;
    std::size_t operator()(const Key& k) const { return static_cast<std::size_t>(hasher(k)); }
  };

  std::optional<std::pair<Key, Value>> evict_lru() {
    node& victim = *order_.back();
    order_.erase(victim);
    const auto it = map_.find(*victim.key);
    std::optional<std::pair<Key, Value>> evicted{std::in_place, std::move(it->first),
                                                 std::move(victim.value)};
    map_.erase(it);
    return evicted;
  }

  std::size_t capacity_;
  std::unordered_map<Key, node, key_hash, KeyEqual> map_;
  detail::intrusive_list<node> order_;  // most recently used first
};

}  // namespace bulwark
