#pragma once
// The frequency sketch of TinyLFU (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM ToS 2017): a count-min sketch of 4-bit counters whose counts are all
// halved once every `sample_size` increments (the paper's "reset" operation, section 3.3), so
// the sketch estimates recent frequency rather than all-time frequency.
//
// Layout follows the one Caffeine documents for its FrequencySketch: one 64-bit word holds sixteen
// 4-bit counters; an item has depth 4, each row picking a word of the table by its own hash and
// a counter inside the word from the item's low bits. Counters saturate at 15: TinyLFU only has
// to tell "more frequent than the victim" apart, and the paper shows small counters suffice.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bulwark::detail {

/// A count-min sketch of 4-bit counters with periodic halving (TinyLFU's reset).
///
/// Not thread-safe: a cache shard owns one and uses it under its exclusive lock.
/// increment() and frequency() are O(1) (four words); the reset is O(table size) and happens
/// once every 10 x capacity increments, so it is O(1) amortised.
class frequency_sketch {
 public:
  /// A sketch for about `capacity` distinct hot items: a table of the next power of two words
  /// (sixteen counters per expected item over four rows), and a sample of 10 x capacity.
  explicit frequency_sketch(std::size_t capacity = 16) { ensure_capacity(capacity); }

  /// Grows the table to fit `capacity` items; growing clears the counts (they would be hashed
  /// to other words). Shrinking is never done. O(new size) when it grows.
  void ensure_capacity(std::size_t capacity) {
    const std::size_t words = std::bit_ceil(std::max<std::size_t>(capacity, 16));
    if (words <= table_.size()) return;
    table_.assign(words, 0);
    mask_ = words - 1;
    sample_size_ = 10 * words;
    additions_ = 0;
  }

  /// Adds one occurrence of the item whose 64-bit hash is `hash`.
  void increment(std::uint64_t hash) noexcept {
    const unsigned start = static_cast<unsigned>(hash & 3) << 2;
    bool added = false;
    for (unsigned row = 0; row < 4; ++row) {
      std::uint64_t& word = table_[index_of(hash, row)];
      const unsigned shift = (start + row) << 2;
      if (((word >> shift) & 0xF) != 0xF) {
        word += std::uint64_t{1} << shift;
        added = true;
      }
    }
    if (added && ++additions_ >= sample_size_) reset();
  }

  /// The estimated recent frequency of the item, in [0, 15]: the minimum over its four
  /// counters (count-min never underestimates, and the minimum is the tightest bound).
  [[nodiscard]] unsigned frequency(std::uint64_t hash) const noexcept {
    const unsigned start = static_cast<unsigned>(hash & 3) << 2;
    unsigned result = 0xF;
    for (unsigned row = 0; row < 4; ++row) {
      const unsigned shift = (start + row) << 2;
      result =
          std::min(result, static_cast<unsigned>((table_[index_of(hash, row)] >> shift) & 0xF));
    }
    return result;
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return table_.capacity() * sizeof(std::uint64_t);
  }

 private:
  // Each row rehashes the item with its own odd multiplier (from the SplitMix64/xxh64 family),
  // so that two items colliding in one row rarely collide in the others.
  [[nodiscard]] std::size_t index_of(std::uint64_t hash, unsigned row) const noexcept {
    static constexpr std::uint64_t seeds[4] = {0x9E3779B97F4A7C15ULL, 0xBF58476D1CE4E5B9ULL,
                                               0x94D049BB133111EBULL, 0xC2B2AE3D27D4EB4FULL};
    std::uint64_t h = (hash + seeds[row]) * seeds[row];
    h ^= h >> 32;
    return static_cast<std::size_t>(h) & mask_;
  }

  // Halves every counter (the paper's reset). Odd counters lose half a count each; the
  // additions counter is corrected by that amount, as the paper's analysis assumes.
  void reset() noexcept {
    std::uint64_t odd = 0;
    for (auto& word : table_) {
      odd += static_cast<std::uint64_t>(std::popcount(word & 0x1111111111111111ULL));
      word = (word >> 1) & 0x7777777777777777ULL;
    }
    additions_ = (additions_ >> 1) - (odd >> 2);
  }

  std::vector<std::uint64_t> table_;
  std::size_t mask_ = 0;
  std::uint64_t sample_size_ = 0;
  std::uint64_t additions_ = 0;
};

}  // namespace bulwark::detail
