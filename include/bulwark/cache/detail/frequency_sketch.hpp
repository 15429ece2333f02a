#pragma once
// The frequency sketch of TinyLFU (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM ToS 2017): a count-min sketch of 4-bit counters whose counts are all
// halved once every `sample_size` increments (the paper's "reset" operation, section 3.3), so
// the sketch estimates recent frequency rather than all-time frequency.
//
// Layout: a *blocked* count-min sketch (Caffeine's FrequencySketch since 3.0 documents the
// idea). The table is an array of 64-byte blocks of eight 64-bit words, each word sixteen 4-bit
// counters. An item's hash picks one block, and in it one counter per row: row r uses the two
// words 2r and 2r + 1, and one of their 32 counters. So an increment or an estimate touches one
// cache line instead of four (a cache shard whose sketch outgrows the core's cache missed it
// on every row: the cache-aside workload of docs/benchmarks.md misses L2 a third less), at the
// price of rows that are no longer independent: two items share a row's counter with the
// probability they would in a plain sketch of the same size (1 / (4 x words)), but only items
// of one block can collide at all, so the minimum over the rows is a little looser. Counters
// saturate at 15: TinyLFU only has to tell "more frequent than the victim" apart, and the paper
// shows small counters suffice.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace bulwark::detail {

/// A count-min sketch of 4-bit counters with periodic halving (TinyLFU's reset).
///
/// Not thread-safe: a cache shard owns one and uses it under its exclusive lock.
/// increment() and frequency() are O(1) (one 64-byte block); the reset is O(table size) and
/// happens once every 10 x (table words) increments, so it is O(1) amortised.
class frequency_sketch {
 public:
  /// A sketch for about `capacity` distinct hot items: a table of the next power of two words,
  /// at least one block (sixteen counters per expected item over four rows), and a sample of
  /// 10 x that many words.
  explicit frequency_sketch(std::size_t capacity = 16) { ensure_capacity(capacity); }

  /// Grows the table to fit `capacity` items; growing clears the counts (they would be hashed
  /// to other blocks). Shrinking is never done. O(new size) when it grows.
  void ensure_capacity(std::size_t capacity) {
    const std::size_t words = std::bit_ceil(std::max<std::size_t>(capacity, 16));
    if (words <= words_) return;
    table_ = std::make_unique<block[]>(words / block_words);  // aligned: block is over-aligned
    words_ = words;
    block_mask_ = words / block_words - 1;
    sample_size_ = 10 * words;
    additions_ = 0;
  }

  /// Adds one occurrence of the item whose 64-bit hash is `hash`.
  // Forced inline: g++ -O3 kept it out of line in the cache's write path, which cost the
  // cache-aside workload 3% more instructions (cache_aside_count under callgrind).
  [[gnu::always_inline]] void increment(std::uint64_t hash) noexcept {
    block& b = block_of(hash);
    std::uint32_t picks = counter_picks(hash);
    bool added = false;
    for (unsigned row = 0; row < 4; ++row, picks >>= 5) {
      std::uint64_t& word = b.words[2 * row + (picks & 1)];
      const unsigned shift = ((picks >> 1) & 0xF) << 2;
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
    const block& b = block_of(hash);
    std::uint32_t picks = counter_picks(hash);
    unsigned result = 0xF;
    for (unsigned row = 0; row < 4; ++row, picks >>= 5) {
      const unsigned shift = ((picks >> 1) & 0xF) << 2;
      result =
          std::min(result, static_cast<unsigned>((b.words[2 * row + (picks & 1)] >> shift) & 0xF));
    }
    return result;
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept { return words_ * sizeof(std::uint64_t); }

 private:
  static constexpr std::size_t block_words = 8;
  static constexpr std::size_t block_bytes = block_words * sizeof(std::uint64_t);  // a line
  struct alignas(block_bytes) block {
    std::uint64_t words[block_words] = {};
  };

  // Two views of the item's hash, remixed with odd multipliers (SplitMix64's constants) so that
  // the cache's own use of the hash's bits (shard by the top, index position by the low ones)
  // leaves no pattern: the block from the first's high bits, and from the second 20 bits,
  // five per row (one picks the row's word, four its counter).
  block& block_of(std::uint64_t hash) const noexcept {
    const std::uint64_t h = (hash + 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
    return table_[static_cast<std::size_t>(h >> 32) & block_mask_];
  }
  static std::uint32_t counter_picks(std::uint64_t hash) noexcept {
    const std::uint64_t h = (hash ^ (hash >> 31)) * 0x94D049BB133111EBULL;
    return static_cast<std::uint32_t>(h >> 40);
  }

  // Halves every counter (the paper's reset). Odd counters lose half a count each; the
  // additions counter is corrected by that amount, as the paper's analysis assumes.
  void reset() noexcept {
    std::uint64_t odd = 0;
    for (std::size_t i = 0; i <= block_mask_; ++i) {
      for (std::uint64_t& word : table_[i].words) {
        odd += static_cast<std::uint64_t>(std::popcount(word & 0x1111111111111111ULL));
        word = (word >> 1) & 0x7777777777777777ULL;
      }
    }
    additions_ = (additions_ >> 1) - (odd >> 2);
  }

  std::unique_ptr<block[]> table_;
  std::size_t words_ = 0;
  std::size_t block_mask_ = 0;
  std::uint64_t sample_size_ = 0;
  std::uint64_t additions_ = 0;
};

}  // namespace bulwark::detail
