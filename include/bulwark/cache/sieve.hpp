#pragma once
// SIEVE: Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is Simpler than LRU: an Efficient
// Turn-Key Eviction Algorithm for Web Caches" (NSDI 2024), section 3 and Figure 2: one FIFO
// queue, one "visited" bit per entry, and a hand that sweeps from the oldest entry towards the
// newest, clearing visited bits and evicting the first unvisited entry it meets. Unlike
// CLOCK, a visited entry stays where it is (it is not moved to the head), so the hand keeps
// its place between evictions and new entries are sifted apart from old, popular ones.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulwark/cache/eviction.hpp"

namespace bulwark {

/// SIEVE eviction: lazy promotion (a hit sets one bit, nothing moves) and quick demotion (a new
/// entry not read before the hand reaches it is the next victim).
///
/// Good on web-like workloads with many one-hit wonders, and equal to LRU on recency-biased
/// ones (zigzag-like traces); it collapses like LRU on loops and scans larger than the cache,
/// which is why it is not the default.
///
/// Not thread-safe (the cache calls it under a shard lock). on_insert/on_access/on_update/
/// on_remove are O(1); evict is O(1) amortised (each step of the hand clears a bit that a hit
/// set). 16 bytes per slot.
class sieve_eviction {
 public:
  explicit sieve_eviction(std::uint64_t max_weight) : max_weight_{max_weight} { queue_.id = 1; }

  void reserve(std::size_t slots) {
    if (slots > links_.size()) links_.resize(slots);
  }

  /// A new entry joins the queue's newest end, unvisited. The cache evicts after inserting;
  /// SIEVE evicts before inserting, so the entry is kept out of the hand's reach until the
  /// eviction that makes room for it is done.
  void on_insert(std::uint32_t slot, std::uint64_t /*hash*/, std::uint32_t weight) {
    links_[slot].weight = weight;
    links_[slot].aux = 0;
    queue_.push_back(links_, slot);
    arriving_ = slot;
  }

  /// A hit marks the entry visited; it does not move.
  void on_access(std::uint32_t slot, std::uint64_t /*hash*/) {
    if (links_[slot].queue != 0) links_[slot].aux = 1;  // else removed since the read was buffered
  }

  /// A replaced value keeps the entry's place and counts as a hit.
  void on_update(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    queue_.weight = queue_.weight - links_[slot].weight + weight;
    links_[slot].weight = weight;
    on_access(slot, hash);
  }

  void on_remove(std::uint32_t slot) {
    if (arriving_ == slot) arriving_ = no_slot;
    if (hand_ == slot) hand_ = links_[slot].next;
    queue_.remove(links_, slot);
  }

  /// While over the maximum: the hand (from the oldest entry when it has none) skips visited
  /// entries, clearing their bit, and evicts the first unvisited one; it then rests on the
  /// evicted entry's newer neighbour (Figure 2's `hand = obj.prev`), or goes back to the oldest
  /// entry past the newest one. The arriving entry is not a candidate unless it is alone.
  /// A new maximum (cache::reconfigure); the next evict() evicts down to it.
  void set_max_weight(std::uint64_t max_weight) noexcept { max_weight_ = max_weight; }

  template <class HashOf, class Evicted>
  void evict(HashOf&& /*hash_of*/, Evicted&& evicted) {
    while (queue_.weight > max_weight_ && !queue_.empty()) {
      std::uint32_t slot = hand_ == no_slot || hand_ == arriving_ ? queue_.head : hand_;
      if (slot == arriving_ && links_[slot].next != no_slot) slot = links_[slot].next;
      // Terminates: every step clears a visited bit, so a full turn finds an unvisited entry.
      while (links_[slot].aux != 0) {
        links_[slot].aux = 0;
        slot = newer(slot);
      }
      hand_ = newer(slot);
      if (hand_ == queue_.head) hand_ = no_slot;
      queue_.remove(links_, slot);
      evicted(slot);
    }
    arriving_ = no_slot;
  }

  [[nodiscard]] std::uint64_t weight() const noexcept { return queue_.weight; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return links_.capacity() * sizeof(detail::entry_links);
  }

 private:
  static constexpr std::uint32_t no_slot = detail::no_slot;

  // The hand's next position after `slot`: the newer neighbour, skipping the arriving entry,
  // and wrapping from the newest entry to the oldest.
  [[nodiscard]] std::uint32_t newer(std::uint32_t slot) const noexcept {
    std::uint32_t next = links_[slot].next;
    if (next != no_slot && next == arriving_) next = links_[next].next;
    return next == no_slot ? queue_.head : next;
  }

  std::uint64_t max_weight_;
  std::vector<detail::entry_links> links_;
  detail::slot_list queue_;           // head: oldest, tail: newest
  std::uint32_t hand_ = no_slot;      // the next entry the hand examines; no_slot: the oldest
  std::uint32_t arriving_ = no_slot;  // inserted, not yet made room for: not a candidate
};

}  // namespace bulwark
