#pragma once
// W-TinyLFU whose window is chosen by a duel of miniature simulations: the default eviction
// policy of bulwark::cache.
//
// Sources: Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"
// (ACM ToS 2017), section 4 (W-TinyLFU; the mechanics are in cache/detail/w_tinylfu.hpp);
// Waldspurger et al., "Cache Modeling and Optimization using Miniature Simulations" (USENIX ATC
// 2017) and SHARDS (FAST 2015) for choosing a parameter on spatially sampled shadow caches (the
// duel is in cache/detail/window_duel.hpp). Caffeine adapts the window with a hill climber
// (Einziger et al., Middleware 2018); that climber is replaced here: it needs tens of samples of
// 10 x capacity requests to walk the window from 1% to the 50-80% that recency-dominated
// workloads want, and its noise around 1% costs frequency-biased ones (docs/cache.md).

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "bulwark/cache/detail/w_tinylfu.hpp"
#include "bulwark/cache/detail/window_duel.hpp"

namespace bulwark {

/// W-TinyLFU with a window chosen by miniature simulations: scan-resistant and
/// frequency-aware, the default of bulwark::cache.
///
/// New entries enter an LRU window; an entry leaving the window is a candidate for the main
/// space (segmented LRU), admitted only if the frequency sketch has seen it more often recently
/// than the main space's victim. The window is 1% of the capacity (frequency first: loops,
/// scans, skewed workloads) or all of it but one unit (recency first: LRU, for workloads where
/// admission turns away the entries about to be reused). Which one is decided by two miniature
/// caches with those windows, scaled down to at most 128 units of weight and fed the requests
/// whose key hash falls in the matching sample of the hash space; the real window follows the
/// one whose decaying lead in hits exceeds 6% of a time constant of 10 x its capacity
/// (detail::window_duel). The hash-flooding guard of admission stays; keys that an attacker
/// steers into the sample can at most switch the window, to LRU's behaviour.
///
/// Not thread-safe (the cache calls it under a shard lock). on_insert/on_access/on_update/
/// on_remove are O(1) (a sampled request also costs two miniature requests); evict is O(1)
/// amortised per evicted entry, and a change of window moves at most 1000 entries per eviction.
/// 16 bytes per slot plus the sketch (8 to 16 bytes per entry of capacity), plus the two
/// miniatures: a constant of at most about 12 KB per shard.
class tiny_lfu_eviction {
 public:
  explicit tiny_lfu_eviction(std::uint64_t max_weight)
      : policy_{max_weight, detail::window_duel::small_window}, duel_{max_weight} {}

  void reserve(std::size_t slots) { policy_.reserve(slots); }

  void on_insert(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    policy_.on_insert(slot, hash, weight);
    if (duel_.sampled(hash)) record(hash, weight);
  }

  void on_access(std::uint32_t slot, std::uint64_t hash) {
    policy_.on_access(slot, hash);
    if (duel_.sampled(hash)) record(hash, 1);
  }

  void on_update(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    policy_.on_update(slot, hash, weight);
  }

  void on_remove(std::uint32_t slot) { policy_.on_remove(slot); }

  /// Evicts until the total weight fits (W-TinyLFU admission; see detail::w_tinylfu::evict),
  /// then moves the window towards the duel's choice.
  template <class HashOf, class Evicted>
  void evict(HashOf&& hash_of, Evicted&& evicted) {
    policy_.evict(hash_of, evicted);
  }

  /// A new maximum (cache::reconfigure): the window keeps its share of it; the next evict()
  /// evicts down to it. The duel's miniatures keep sampling at the capacity the cache was
  /// built with: what they choose is a share, applied to the new maximum.
  void set_max_weight(std::uint64_t max_weight) { policy_.set_max_weight(max_weight); }

  [[nodiscard]] std::uint64_t weight() const noexcept { return policy_.weight(); }
  /// The window's current share of the capacity (what the duel chooses).
  [[nodiscard]] std::uint64_t window_maximum() const noexcept { return policy_.window_maximum(); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return policy_.memory_bytes() + duel_.memory_bytes();
  }

 private:
  // Out of line: one request in 2^k gets here, and inlining it would bloat the replay loop.
  [[gnu::noinline]] void record(std::uint64_t hash, std::uint32_t weight) {
    // A hit's weight is unknown here (1 stands in); the miniature only uses it when the key
    // is missing there, where a miniature with other rules may have evicted it.
    if (duel_.record(hash, std::max<std::uint32_t>(weight, 1)))
      policy_.set_window_target(duel_.window_share());
  }

  detail::w_tinylfu policy_;
  detail::window_duel duel_;
};

}  // namespace bulwark
