#pragma once
// The mechanics of W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM ToS 2017, section 4): an LRU admission window in front of a segmented
// LRU main space (probation, then protected after a hit), admission from the window to the main
// space by the frequency sketch. The window's share of the capacity is set from outside
// (set_window_target); bulwark::tiny_lfu_eviction drives it from miniature simulations
// (cache/detail/window_duel.hpp), and each miniature is itself one of these with a fixed window.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulwark/cache/detail/frequency_sketch.hpp"
#include "bulwark/cache/eviction.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark::detail {

/// W-TinyLFU over slots, with a window whose target share the owner sets. Not thread-safe;
/// O(1) per operation, evict O(1) amortised per evicted entry; moving towards a new window
/// target moves at most 1000 entries per evict call. 16 bytes per slot plus the sketch.
class w_tinylfu {
 public:
  /// `window_share`: the window's initial (and target) share of `max_weight`, in [0, 1]; at
  /// least one unit of weight. 80% of the main space is protected, as in Caffeine.
  w_tinylfu(std::uint64_t max_weight, double window_share)
      : max_weight_{max_weight},
        window_max_{window_for(max_weight, window_share)},
        protected_max_{protected_for(max_weight, window_max_)},
        window_target_{window_max_},
        stamp_shift_{stamp_shift_for(max_weight)} {
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
    links_[slot].weight = weight;
    window_.push_back(links_, slot);
  }

  void on_access(std::uint32_t slot, std::uint64_t hash) {
    sketch_.increment(hash);
    touch(slot);
  }

  void on_update(std::uint32_t slot, std::uint64_t hash, std::uint32_t weight) {
    sketch_.increment(hash);
    counted_slot_list& list = list_of(slot);
    list.remove(links_, slot);
    links_[slot].weight = weight;
    list.push_back(links_, slot);
    touch(slot);
  }

  void on_remove(std::uint32_t slot) { list_of(slot).remove(links_, slot); }

  /// Evicts until the total weight fits: the window's overflow becomes candidates for the main
  /// space, and each candidate is compared with the main space's victim (its probation LRU,
  /// then protected, then window); the less frequent of the two is evicted. Then the window
  /// moves one step towards its target.
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
    if (window_max_ != window_target_) move_window();
  }

  /// The window's share to move towards, from the next evict on (see evict()).
  void set_window_target(double window_share) noexcept {
    window_target_ = window_for(max_weight_, window_share);
  }

  /// A new maximum: the window and its target keep their shares of it, protected its 80% of
  /// the main space; the next evict() evicts down to it.
  void set_max_weight(std::uint64_t max_weight) {
    const auto share = [this](std::uint64_t part) {
      return static_cast<double>(part) / static_cast<double>(max_weight_);
    };
    const double window_share = share(window_max_), target_share = share(window_target_);
    max_weight_ = max_weight;
    window_max_ = window_for(max_weight, window_share);
    window_target_ = window_for(max_weight, target_share);
    protected_max_ = protected_for(max_weight, window_max_);
    stamp_shift_ = stamp_shift_for(max_weight);  // earlier stamps may be misread once: harmless
    sketch_.ensure_capacity(
        static_cast<std::size_t>(std::min<std::uint64_t>(max_weight_, links_.size())));
  }

  [[nodiscard]] std::uint64_t weight() const noexcept {
    return window_.weight + probation_.weight + protected_.weight;
  }
  [[nodiscard]] std::uint64_t window_maximum() const noexcept { return window_max_; }
  [[nodiscard]] std::uint64_t window_target() const noexcept { return window_target_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return links_.capacity() * sizeof(entry_links) + sketch_.memory_bytes();
  }

 private:
  static constexpr std::uint8_t window_id = 1, probation_id = 2, protected_id = 3;

  static std::uint64_t window_for(std::uint64_t max_weight, double share) noexcept {
    const auto w = static_cast<std::uint64_t>(share * static_cast<double>(max_weight));
    return std::clamp<std::uint64_t>(w, 1, std::max<std::uint64_t>(1, max_weight - 1));
  }
  static std::uint64_t protected_for(std::uint64_t max_weight, std::uint64_t window) noexcept {
    return static_cast<std::uint64_t>(
        0.8 * static_cast<double>(max_weight - std::min(max_weight, window)));
  }

  counted_slot_list& list_of(std::uint32_t slot) noexcept {
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
        stamp(slot);
        demote_protected_overflow();
        break;
      case protected_id:
        if (in_newer_half(slot)) break;
        protected_.move_to_back(links_, slot);
        stamp(slot);
        break;
      default:  // a buffered read of an entry removed since: nothing to reorder
        break;
    }
  }

  // Protected's LRU order is exact where it decides anything, at its old end, and need not be
  // in its newer half: an entry moved to the back fewer times ago than half the segment's
  // entries is in that half (within one stamp unit), so a hit on it does not move it again
  // (memcached bumps an item in its LRU at most once a minute, for the same reason). Under
  // skewed traffic most hits are such entries, and each move writes the links of up to four
  // slots, four cache lines; on the cache-aside workload (docs/benchmarks.md) skipping them
  // saves about an eighth of the cache's L2 misses. An entry skipped drifts towards the old end
  // by at most half the segment before its next hit moves it, and a demotion still takes it only
  // to probation. Stamps count moves in units of 2^stamp_shift_, 16 bits wide, so that half a
  // segment is always less than 2^15 units; a stamp that wrapped (no move for 2^16 units) can
  // only make an entry look newer than it is, and such an entry is, at worst, demoted early.
  void stamp(std::uint32_t slot) noexcept {
    links_[slot].stamp = static_cast<std::uint16_t>(protected_moves_ >> stamp_shift_);
    ++protected_moves_;
  }
  [[nodiscard]] bool in_newer_half(std::uint32_t slot) const noexcept {
    const auto age =
        static_cast<std::uint16_t>((protected_moves_ >> stamp_shift_) - links_[slot].stamp);
    return age < ((protected_.count / 2) >> stamp_shift_);
  }
  static unsigned stamp_shift_for(std::uint64_t max_weight) noexcept {
    const auto bits = static_cast<unsigned>(std::bit_width(max_weight));
    return bits > 14 ? bits - 14 : 0;  // protected holds at most max_weight entries
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

  // One step towards the window target: at most `max_step` of weight changes sides, and at most
  // that many entries move, per eviction, so a change of window costs O(1) amortised per
  // eviction instead of O(capacity) at once. A growing window takes the main space's oldest
  // entries (probation first), which it would have kept as the most recent of a larger window;
  // a shrinking one hands its oldest to probation without an admission contest (they were
  // admitted under the window's rules, and a contest per entry would evict a burst at once).
  void move_window() {
    static constexpr std::uint64_t max_step = 1000;
    if (window_max_ < window_target_) {
      window_max_ += std::min(max_step, window_target_ - window_max_);
    } else {
      window_max_ -= std::min(max_step, window_max_ - window_target_);
    }
    protected_max_ = protected_for(max_weight_, window_max_);
    std::uint64_t moved = 0;
    while (protected_.weight > protected_max_ && !protected_.empty() && moved++ < max_step) {
      const std::uint32_t slot = protected_.head;
      protected_.remove(links_, slot);
      probation_.push_back(links_, slot);
    }
    while (window_.weight < window_max_ && moved++ < max_step) {
      std::uint32_t slot = probation_.empty() ? protected_.head : probation_.head;
      if (slot == no_slot || window_.weight + links_[slot].weight > window_max_) break;
      list_of(slot).remove(links_, slot);
      window_.push_back(links_, slot);
    }
    while (window_.weight > window_max_ && !window_.empty() && moved++ < max_step) {
      const std::uint32_t slot = window_.head;
      window_.remove(links_, slot);
      probation_.push_back(links_, slot);
    }
  }

  std::uint64_t max_weight_;
  std::uint64_t window_max_;
  std::uint64_t protected_max_;
  std::uint64_t window_target_;
  std::vector<entry_links> links_;
  counted_slot_list window_, probation_, protected_;
  std::uint64_t protected_moves_ = 0;  // entries moved to protected's back, ever
  unsigned stamp_shift_;
  frequency_sketch sketch_;
  fast_rng rng_{0x7e57ab1e};
};

}  // namespace bulwark::detail
