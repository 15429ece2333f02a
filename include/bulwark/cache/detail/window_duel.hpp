#pragma once
// The evidence behind the default cache's window size: two miniature simulations (Waldspurger,
// Saemundsson, Ahmad, Park, "Cache Modeling and Optimization using Miniature Simulations",
// USENIX ATC 2017) of W-TinyLFU, one with a small window (frequency first) and one with a
// large window (recency first), fed the same spatially sampled requests (SHARDS: Waldspurger et
// al., FAST 2015: a key is sampled when its hash falls in a fixed 1/2^k of the hash space, and
// the miniature's capacity is scaled by the same 1/2^k). The real cache takes the window of the
// miniature that has been hitting more, with hysteresis.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulwark/cache/detail/w_tinylfu.hpp"

namespace bulwark::detail {

/// A W-TinyLFU over key hashes rather than slots: an open-addressing index from hash to slot
/// (linear probing, backward-shift deletion) in front of a w_tinylfu with a fixed window.
/// Capacity and weights are those of the sampled keys; never more than `max_weight` + 1 entries.
class miniature_tinylfu {
 public:
  miniature_tinylfu(std::uint64_t max_weight, double window_share)
      : policy_{max_weight, window_share} {
    const auto entries = static_cast<std::size_t>(max_weight) + 2;
    hashes_.resize(entries);
    free_.reserve(entries);
    for (std::size_t s = entries; s-- > 0;)
      free_.push_back(static_cast<std::uint32_t>(s));
    index_.assign(std::bit_ceil(entries + entries / 2), empty);  // load <= 2/3
    mask_ = index_.size() - 1;
    policy_.reserve(entries);
  }

  /// One request for the key of `hash` (of weight `weight` if it is inserted); true on a hit.
  bool access(std::uint64_t hash, std::uint32_t weight) {
    std::size_t i = home(hash);
    for (; index_[i] != empty; i = (i + 1) & mask_) {
      if (hashes_[index_[i]] == hash) {
        policy_.on_access(index_[i], hash);
        return true;
      }
    }
    const std::uint32_t slot = free_.back();
    free_.pop_back();
    hashes_[slot] = hash;
    index_[i] = slot;
    policy_.on_insert(slot, hash, weight);
    policy_.evict([this](std::uint32_t s) { return hashes_[s]; },
                  [this](std::uint32_t s) { erase(s); });
    return false;
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return policy_.memory_bytes() + hashes_.capacity() * sizeof(std::uint64_t) +
           (free_.capacity() + index_.capacity()) * sizeof(std::uint32_t);
  }

 private:
  static constexpr std::uint32_t empty = no_slot;

  [[nodiscard]] std::size_t home(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ULL) >> 32) & mask_;
  }

  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  void erase(std::uint32_t slot) {
    std::size_t i = home(hashes_[slot]);
    while (index_[i] != slot)
      i = (i + 1) & mask_;
    for (std::size_t j = (i + 1) & mask_; index_[j] != empty; j = (j + 1) & mask_) {
      const std::size_t h = home(hashes_[index_[j]]);
      // Move j's entry into the hole at i unless its home lies cyclically in (i, j].
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = empty;
    free_.push_back(slot);
  }

  w_tinylfu policy_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> index_;
  std::size_t mask_ = 0;
};

/// The duel of a small-window and a large-window miniature, and the window it recommends.
///
/// `lead_` is an exponentially decaying sum of (large hit) - (small hit) over the sampled
/// requests, with a time constant of 10 x the miniature's capacity (Caffeine's sample). In a
/// steady phase it tends to 10 x capacity x (the difference of the two hit ratios), and from a
/// phase change it moves by that difference per request, so a large difference decides within a
/// fraction of a time constant and a small one never does. The recommendation moves to the
/// large window when the lead exceeds `margin` x the time constant, back to the small one when
/// it falls below minus that; in between it stays (hysteresis: each switch costs the real cache
/// a transient, and a workload on which both do alike, or whose phases alternate faster than
/// the time constant, must not make it flap).
class window_duel {
 public:
  static constexpr double small_window = 0.01;         // Caffeine's initial window: frequency first
  static constexpr double large_window = 1.0;          // all but one unit: LRU, recency first
  static constexpr std::uint64_t max_miniature = 128;  // weight of a miniature, at most
  static constexpr double margin = 0.06;               // lead needed, as a hit-ratio difference

  explicit window_duel(std::uint64_t max_weight)
      : shift_{sample_shift(max_weight)},
        sample_limit_{~std::uint64_t{0} >> shift_},
        small_{std::max<std::uint64_t>(1, max_weight >> shift_), small_window},
        large_{std::max<std::uint64_t>(1, max_weight >> shift_), large_window},
        decay_{1.0 /
               (10.0 * static_cast<double>(std::max<std::uint64_t>(1, max_weight >> shift_)))},
        threshold_{margin / decay_} {}

  /// Whether the key of `hash` is in the sample: the top `shift_` bits of a product are zero,
  /// that is the product is at most `sample_limit_`: a multiply and a compare.
  [[nodiscard]] bool sampled(std::uint64_t hash) const noexcept {
    return hash * 0xD6E8FEB86659FD93ULL <= sample_limit_;
  }

  /// Replays one sampled request into both miniatures; true when the recommendation changed.
  bool record(std::uint64_t hash, std::uint32_t weight) {
    const int small_hit = small_.access(hash, weight) ? 1 : 0;
    const int large_hit = large_.access(hash, weight) ? 1 : 0;
    lead_ += static_cast<double>(large_hit - small_hit) - lead_ * decay_;
    const bool before = large_chosen_;
    if (lead_ > threshold_) large_chosen_ = true;
    if (lead_ < -threshold_) large_chosen_ = false;
    return before != large_chosen_;
  }

  /// The window share the duel recommends now.
  [[nodiscard]] double window_share() const noexcept {
    return large_chosen_ ? large_window : small_window;
  }
  [[nodiscard]] bool large_chosen() const noexcept { return large_chosen_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return small_.memory_bytes() + large_.memory_bytes();
  }

 private:
  // The smallest k with max_weight / 2^k <= max_miniature.
  static unsigned sample_shift(std::uint64_t max_weight) noexcept {
    unsigned k = 0;
    while (k < 48 && (max_weight >> k) > max_miniature)
      ++k;
    return k;
  }

  unsigned shift_;
  std::uint64_t sample_limit_;  // 2^(64 - shift_) - 1
  miniature_tinylfu small_, large_;
  double decay_;
  double threshold_;
  double lead_ = 0.0;
  bool large_chosen_ = false;
};

}  // namespace bulwark::detail
