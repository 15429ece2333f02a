#pragma once
// S3-FIFO: Yang, Zhang, Qiu, Yue, Vinayak, "FIFO queues are all you need for cache eviction"
// (SOSP 2023), section 4 and Algorithm 1: a small FIFO (10% of the capacity) that filters
// one-hit wonders, a main FIFO with lazy promotion (a 2-bit frequency per entry, reinsertion
// instead of reordering), and a ghost FIFO of recently evicted keys' hashes that sends a
// returning key straight to the main queue.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "bulwark/cache/eviction.hpp"

namespace bulwark {

/// S3-FIFO eviction. Hits only bump a 2-bit counter (no reordering), which is what makes it
/// cheap in the papers' concurrent implementations; here the cache replays reads under the
/// shard lock like any policy, so its value in bulwark is its hit ratio on one-hit-wonder
/// heavy workloads. It collapses like LRU on loops and scans larger than the cache (see
/// docs/cache.md), which is why it is not the default.
///
/// Not thread-safe (the cache calls it under a shard lock). on_* are O(1); evict is O(1)
/// amortised (each reinsertion consumes a frequency count). 16 bytes per slot, plus the ghost
/// queue: 8 bytes per entry of main capacity and a hash set over it.
class s3fifo_eviction {
 public:
  explicit s3fifo_eviction(std::uint64_t max_weight)
      : max_weight_{max_weight},
        small_max_{std::max<std::uint64_t>(1, max_weight / 10)},
        ghost_capacity_{
            static_cast<std::size_t>(std::max<std::uint64_t>(1, max_weight - small_max_))} {
    small_.id = small_id;
    main_.id = main_id;
  }

  void reserve(std::size_t slots) {
    if (slots > links_.size()) links_.resize(slots);
  }

  void on_insert(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    links_[slot].weight = weight;
    links_[slot].aux = 0;
    if (ghost_contains(hash)) {
      main_.push_back(links_, slot);
    } else {
      small_.push_back(links_, slot);
    }
  }

  void on_access(std::uint32_t slot, std::uint64_t /*hash*/) {
    if (links_[slot].queue == 0) return;  // removed since the read was buffered
    links_[slot].aux = static_cast<std::uint8_t>(std::min(links_[slot].aux + 1, 3));
  }

  void on_update(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    slot_list& list = links_[slot].queue == small_id ? small_ : main_;
    list.weight = list.weight - links_[slot].weight + weight;
    links_[slot].weight = weight;
    on_access(slot, hash);
  }

  void on_remove(std::uint32_t slot) {
    (links_[slot].queue == small_id ? small_ : main_).remove(links_, slot);
  }

  template <class HashOf, class Evicted>
  void evict(HashOf&& hash_of, Evicted&& evicted) {
    while (weight() > max_weight_) {
      if (!small_.empty() && (small_.weight >= small_max_ || main_.empty())) {
        evict_small(hash_of, evicted);
      } else if (!main_.empty()) {
        evict_main(evicted);
      } else {
        break;
      }
    }
  }

  /// A new maximum (cache::reconfigure): the small queue's share and the ghost queue follow
  /// (the ghost keeps its newest hashes that fit); the next evict() evicts down to it.
  void set_max_weight(std::uint64_t max_weight) {
    max_weight_ = max_weight;
    small_max_ = std::max<std::uint64_t>(1, max_weight / 10);
    const auto capacity =
        static_cast<std::size_t>(std::max<std::uint64_t>(1, max_weight - small_max_));
    // The ring oldest first: from ghost_next_ once it is full, from 0 before.
    std::vector<std::uint64_t> ring;
    const std::size_t size = ghost_ring_.size();
    const std::size_t kept = std::min(size, capacity);
    ring.reserve(kept);
    for (std::size_t i = size - kept; i < size; ++i)
      ring.push_back(ghost_ring_[(ghost_next_ + i) % size]);
    ghost_counts_.clear();
    for (const std::uint64_t hash : ring)
      ++ghost_counts_[hash];
    ghost_ring_ = std::move(ring);
    ghost_next_ = 0;
    ghost_capacity_ = capacity;
  }

  [[nodiscard]] std::uint64_t weight() const noexcept { return small_.weight + main_.weight; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return links_.capacity() * sizeof(detail::entry_links) +
           ghost_ring_.capacity() * sizeof(std::uint64_t) +
           ghost_counts_.size() * (sizeof(std::uint64_t) * 2 + 2 * sizeof(void*));
  }

 private:
  using slot_list = detail::slot_list;
  static constexpr std::uint8_t small_id = 1, main_id = 2;

  // Algorithm 1, evictS: the small queue's oldest entry moves to main if it was read while in
  // small, else it is evicted and remembered in the ghost queue.
  template <class HashOf, class Evicted>
  void evict_small(HashOf& hash_of, Evicted& evicted) {
    while (!small_.empty()) {
      const std::uint32_t slot = small_.head;
      small_.remove(links_, slot);
      if (links_[slot].aux >= 1) {
        links_[slot].aux = 0;
        main_.push_back(links_, slot);
        if (main_.weight > max_weight_ - small_max_) evict_main(evicted);  // M is full
      } else {
        ghost_insert(hash_of(slot));
        evicted(slot);
        return;
      }
    }
  }

  // Algorithm 1, evictM: lazy promotion, the oldest entry is reinserted with one count less
  // while it has counts left, and evicted at zero.
  template <class Evicted>
  void evict_main(Evicted& evicted) {
    while (!main_.empty()) {
      const std::uint32_t slot = main_.head;
      if (links_[slot].aux > 0) {
        --links_[slot].aux;
        main_.move_to_back(links_, slot);
      } else {
        main_.remove(links_, slot);
        evicted(slot);
        return;
      }
    }
  }

  bool ghost_contains(std::uint64_t hash) const { return ghost_counts_.count(hash) != 0; }

  // The ghost queue: a ring of hashes, as many as the main queue holds, with a count per hash
  // for O(1) membership.
  void ghost_insert(std::uint64_t hash) {
    if (ghost_ring_.size() < ghost_capacity_) {
      ghost_ring_.push_back(hash);
    } else {
      const std::uint64_t old = ghost_ring_[ghost_next_];
      if (const auto it = ghost_counts_.find(old); it != ghost_counts_.end() && --it->second == 0) {
        ghost_counts_.erase(it);
      }
      ghost_ring_[ghost_next_] = hash;
      ghost_next_ = (ghost_next_ + 1) % ghost_capacity_;
    }
    ++ghost_counts_[hash];
  }

  std::uint64_t max_weight_;
  std::uint64_t small_max_;
  std::size_t ghost_capacity_;
  std::vector<detail::entry_links> links_;
  slot_list small_, main_;
  std::vector<std::uint64_t> ghost_ring_;
  std::size_t ghost_next_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> ghost_counts_;
};

}  // namespace bulwark
