#pragma once
// W-TinyLFU with an adaptive window: the default eviction policy of bulwark::cache.
//
// Sources: Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"
// (ACM ToS 2017), section 4 (W-TinyLFU: an LRU admission window in front of an SLRU main
// space, admission by the frequency sketch); Einziger, Eytan, Friedman, Manes, "Adaptive Software
// Cache Management" (Middleware 2018), section 4.2 (hill climbing on the window size). The
// constants are those Caffeine documents: a 1% initial window, 80% of the main space protected,
// a climbing step of 6.25% of the capacity decaying by 0.98 per sample, restarted when the hit
// ratio moves by 5 points, and a sample of 10 x capacity requests. Two deviations, measured on
// the LIRS traces in docs/cache.md: admission ignores the access that inserted the candidate (see
// admit()), and the climber first grows the window (see climb()).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulwark/cache/detail/frequency_sketch.hpp"
#include "bulwark/cache/eviction.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// W-TinyLFU with a hill-climbing window: scan-resistant and frequency-aware, the default of
/// bulwark::cache.
///
/// New entries enter a small LRU window; an entry leaving the window is a candidate for the
/// main space (segmented LRU: probation, then protected after a hit), and is admitted only if
/// the frequency sketch has seen it more often recently than the main space's victim. A hill
/// climber resizes the window every sample: a larger window for recency-biased workloads, a
/// smaller one for frequency-biased ones, so that neither a scan nor a loop collapses the hit
/// ratio as it does LRU's.
///
/// Not thread-safe (the cache calls it under a shard lock). on_insert/on_access/on_update/
/// on_remove are O(1); evict is O(1) amortised per evicted entry; the climber's adjustment
/// moves at most 1000 entries once per sample. 16 bytes per slot plus the sketch (8 to 16
/// bytes per entry of capacity).
class tiny_lfu_eviction {
 public:
  explicit tiny_lfu_eviction(std::uint64_t max_weight)
      : max_weight_{max_weight},
        window_max_{std::max<std::uint64_t>(1, max_weight / 100)},
        protected_max_{static_cast<std::uint64_t>(
            0.8 * static_cast<double>(max_weight - std::min(max_weight, window_max_)))},
        step_{0.0625 * static_cast<double>(max_weight)} {
    window_.id = window_id;
    probation_.id = probation_id;
    protected_.id = protected_id;
  }

  void reserve(std::size_t slots) {
    if (slots > links_.size()) links_.resize(slots);
    sketch_.ensure_capacity(static_cast<std::size_t>(std::min<std::uint64_t>(max_weight_, slots)));
  }

  void on_insert(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    sketch_.increment(hash);
    ++misses_;
    links_[slot].weight = weight;
    window_.push_back(links_, slot);
  }

  void on_access(std::uint32_t slot, std::uint64_t hash) {
    sketch_.increment(hash);
    ++hits_;
    touch(slot);
  }

  void on_update(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    sketch_.increment(hash);
    slot_list& list = list_of(slot);
    list.remove(links_, slot);
    links_[slot].weight = weight;
    list.push_back(links_, slot);
    touch(slot);
  }

  void on_remove(std::uint32_t slot) { list_of(slot).remove(links_, slot); }

  /// Evicts until the total weight fits: the window's overflow becomes candidates for the main
  /// space, and each candidate is compared with the main space's victim (its probation LRU,
  /// then protected, then window); the less frequent of the two is evicted. Then the climber
  /// may resize the window.
  template <class HashOf, class Evicted>
  void evict(HashOf&& hash_of, Evicted&& evicted) {
    std::uint32_t candidate = no_slot;
    while (window_.weight > window_max_ && !window_.empty()) {
      const std::uint32_t slot = window_.head;
      window_.remove(links_, slot);
      probation_.push_back(links_, slot);
      if (candidate == no_slot) candidate = slot;
    }
    evict_from_main(candidate, hash_of, evicted);
    climb();
  }

  [[nodiscard]] std::uint64_t weight() const noexcept {
    return window_.weight + probation_.weight + protected_.weight;
  }
  /// The window's current share of the capacity (what the climber adjusts).
  [[nodiscard]] std::uint64_t window_maximum() const noexcept { return window_max_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return links_.capacity() * sizeof(detail::entry_links) + sketch_.memory_bytes();
  }

 private:
  using slot_list = detail::slot_list;
  static constexpr std::uint32_t no_slot = detail::no_slot;
  static constexpr std::uint8_t window_id = 1, probation_id = 2, protected_id = 3;

  slot_list& list_of(std::uint32_t slot) noexcept {
    switch (links_[slot].queue) {
      case window_id:
        return window_;
      case probation_id:
        return probation_;
      default:
        return protected_;
    }
  }

  // A hit: LRU order within the window and protected; probation to protected (SLRU).
  void touch(std::uint32_t slot) {
    switch (links_[slot].queue) {
      case window_id:
        window_.move_to_back(links_, slot);
        break;
      case probation_id:
        probation_.remove(links_, slot);
        protected_.push_back(links_, slot);
        demote_protected_overflow();
        break;
      case protected_id:
        protected_.move_to_back(links_, slot);
        break;
      default:  // a buffered read of an entry removed since: nothing to reorder
        break;
    }
  }

  void demote_protected_overflow() {
    while (protected_.weight > protected_max_ && !protected_.empty()) {
      const std::uint32_t slot = protected_.head;
      protected_.remove(links_, slot);
      probation_.push_back(links_, slot);
    }
  }

  // TinyLFU admission (ToS 2017, section 3.1): admit the candidate only if it is more frequent
  // than the victim, not counting the access that inserted the candidate. That access is
  // recency, not reuse: the sketch counted it a moment ago, while the victim's next access may
  // still be ahead. On a loop or scan larger than the cache every key has one frequency, and
  // counting it gave each candidate a one-count lead over a victim of the same frequency, so
  // the main space churned like LRU (the loss LIRS's reuse distances avoid: Jiang and Zhang,
  // SIGMETRICS 2002, section 3). This is bulwark's deviation from Caffeine (which compares the
  // raw counts); docs/cache.md has its effect on the LIRS traces. Caffeine's guard against hash
  // flooding is kept: an attacker can make a victim look frequent, so a candidate that is
  // itself warm (frequency >= 6) gets in with probability 1/128 even when it loses.
  bool admit(std::uint64_t candidate_hash, std::uint64_t victim_hash) {
    const unsigned candidate = sketch_.frequency(candidate_hash);
    const unsigned victim = sketch_.frequency(victim_hash);
    if (candidate > victim + 1) return true;
    if (candidate >= 6) return (rng_() & 127) == 0;
    return false;
  }

  template <class HashOf, class Evicted>
  void evict_from_main(std::uint32_t candidate, HashOf& hash_of, Evicted& evicted) {
    std::uint8_t victim_queue = probation_id;
    bool window_candidates = false;
    std::uint32_t victim = probation_.head;
    const auto remove = [&](std::uint32_t slot) {
      list_of(slot).remove(links_, slot);
      evicted(slot);
    };
    while (weight() > max_weight_) {
      // Out of fresh candidates: the window's entries compete too.
      if (candidate == no_slot && !window_candidates) {
        candidate = window_.head;
        window_candidates = true;
      }
      if (candidate == no_slot && victim == no_slot) {
        if (victim_queue == probation_id) {
          victim = protected_.head;
          victim_queue = protected_id;
          continue;
        }
        if (victim_queue == protected_id) {
          victim = window_.head;
          victim_queue = window_id;
          continue;
        }
        break;
      }
      if (victim == no_slot) {  // only a candidate left: it goes
        const std::uint32_t next = links_[candidate].next;
        remove(candidate);
        candidate = next;
      } else if (candidate == no_slot) {  // only a victim left: it goes
        const std::uint32_t next = links_[victim].next;
        remove(victim);
        victim = next;
      } else if (candidate == victim) {  // both picked one entry
        victim = links_[victim].next;
        remove(candidate);
        candidate = no_slot;
      } else if (links_[candidate].weight > max_weight_ ||
                 !admit(hash_of(candidate), hash_of(victim))) {
        const std::uint32_t next = links_[candidate].next;
        remove(candidate);
        candidate = next;
      } else {  // the candidate wins: the victim goes, the candidate stays in probation
        const std::uint32_t next = links_[victim].next;
        remove(victim);
        victim = next;
        candidate = links_[candidate].next;
      }
    }
  }

  // The hill climber (Middleware 2018, section 4.2): once per sample, compare the hit ratio
  // with the previous sample's; keep stepping the window in the direction that helped, reverse
  // it otherwise; the step decays so the window settles, and a large change restarts it.
  // The first step grows the window: it starts at its minimum (1%), where a step down can do
  // nothing and would spend the first sample learning nothing (Caffeine's first step is down).
  void climb() {
    const std::uint64_t requests = hits_ + misses_;
    if (requests < 10 * max_weight_ || max_weight_ < 2) return;
    const double hit_ratio = static_cast<double>(hits_) / static_cast<double>(requests);
    const double change = hit_ratio - previous_hit_ratio_;
    const double amount = change >= 0 ? step_ : -step_;
    step_ = std::abs(change) >= 0.05
                ? 0.0625 * static_cast<double>(max_weight_) * (amount >= 0 ? 1.0 : -1.0)
                : 0.98 * amount;
    previous_hit_ratio_ = hit_ratio;
    hits_ = misses_ = 0;
    const auto adjustment = static_cast<std::int64_t>(amount);
    if (adjustment > 0) {
      increase_window(static_cast<std::uint64_t>(adjustment));
    } else if (adjustment < 0) {
      decrease_window(static_cast<std::uint64_t>(-adjustment));
    }
  }

  // Moves `quota` of capacity from the protected segment to the window, and main entries
  // (probation first) into the window to use it at once.
  void increase_window(std::uint64_t quota) {
    quota = std::min(quota, protected_max_);
    protected_max_ -= quota;
    window_max_ += quota;
    demote_protected_overflow();
    for (int moved = 0; moved < 1000; ++moved) {
      std::uint32_t slot = probation_.head;
      if (slot == no_slot || quota < links_[slot].weight) slot = protected_.head;
      if (slot == no_slot || quota < links_[slot].weight) break;
      quota -= links_[slot].weight;
      list_of(slot).remove(links_, slot);
      window_.push_back(links_, slot);
    }
    protected_max_ += quota;  // capacity not filled by moved entries goes back
    window_max_ -= quota;
  }

  // Moves `quota` of capacity from the window to the protected segment, and the window's
  // oldest entries into probation.
  void decrease_window(std::uint64_t quota) {
    if (window_max_ <= 1) return;
    quota = std::min(quota, window_max_ - 1);
    protected_max_ += quota;
    window_max_ -= quota;
    for (int moved = 0; moved < 1000; ++moved) {
      const std::uint32_t slot = window_.head;
      if (slot == no_slot || quota < links_[slot].weight) break;
      quota -= links_[slot].weight;
      window_.remove(links_, slot);
      probation_.push_back(links_, slot);
    }
    protected_max_ -= quota;
    window_max_ += quota;
  }

  std::uint64_t max_weight_;
  std::uint64_t window_max_;
  std::uint64_t protected_max_;
  double step_;
  double previous_hit_ratio_ = 0.0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::vector<detail::entry_links> links_;
  slot_list window_, probation_, protected_;
  detail::frequency_sketch sketch_;
  fast_rng rng_{0x7e57ab1e};
};

}  // namespace bulwark
