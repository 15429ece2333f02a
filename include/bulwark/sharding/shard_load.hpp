#pragma once
// Hot shards: lock-free per-shard load counters, a report of shards above a factor of the
// mean, and a load-balancing split point for a hot range from sampled keys.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ranges>
#include <vector>

#include "bulwark/core/options.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/sharding/range_router.hpp"

namespace bulwark {

/// A shard whose load is above the reported factor of the mean.
struct hot_shard {
  std::size_t shard = 0;   // index in the router's shards()
  std::uint64_t load = 0;  // recorded since construction or the last reset
  double ratio = 0.0;      // load / mean load
};

/// Per-shard load counters: callers record each routed request (or its cost) and a monitor
/// asks which shards run hot.
///
///   bulwark::shard_load load(router.shards().size());
///   load.record(router.shard_for(key));                  // on every request, any thread
///   for (auto h : load.hot_shards(2.0)) alert(router.shards()[h.shard], h.ratio);
///
/// Thread-safety: every member is safe from any thread. record() is one relaxed fetch_add on
/// a counter alone on its cache line (relaxed: counters are statistics; no other memory is
/// published through them), so recording on different shards never contends; recording on
/// one shard from many cores contends on that line, which is the hot shard being measured.
/// Reads are snapshots of each counter, not of all counters at one instant.
/// Complexity: record O(1); loads and hot_shards O(shards).
class shard_load {
 public:
  /// Throws std::invalid_argument when shards is 0.
  explicit shard_load(std::size_t shards)
      : size_{shards}, counters_{std::make_unique<padded_counter[]>(shards)} {
    option_check{"shard_load"}.positive("shards", shards);
  }

  /// Adds `weight` to `shard`'s load. A shard index at or past size() is ignored (routers
  /// never return one; an index from a grown router needs a larger shard_load).
  void record(std::size_t shard, std::uint64_t weight = 1) noexcept {
    if (shard < size_) counters_[shard].value.fetch_add(weight, std::memory_order_relaxed);
  }

  /// Each shard's load.
  [[nodiscard]] std::vector<std::uint64_t> loads() const {
    std::vector<std::uint64_t> out(size_);
    for (std::size_t i = 0; i < size_; ++i)
      out[i] = counters_[i].value.load(std::memory_order_relaxed);
    return out;
  }

  /// The shards whose load exceeds `factor` times the mean load (over all shards), hottest
  /// first. Empty when nothing was recorded. Throws std::invalid_argument unless factor > 0.
  [[nodiscard]] std::vector<hot_shard> hot_shards(double factor) const {
    option_check{"shard_load"}.positive("factor", factor);
    const auto values = loads();
    std::uint64_t total = 0;
    for (const std::uint64_t v : values)
      total += v;
    std::vector<hot_shard> out;
    if (total == 0) return out;
    const double mean = static_cast<double>(total) / static_cast<double>(size_);
    for (std::size_t i = 0; i < size_; ++i) {
      const double ratio = static_cast<double>(values[i]) / mean;
      if (ratio > factor) out.push_back({i, values[i], ratio});
    }
    std::sort(out.begin(), out.end(),
              [](const hot_shard& a, const hot_shard& b) { return a.load > b.load; });
    return out;
  }

  /// Sets every counter to zero (start a new measurement window).
  void reset() noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      counters_[i].value.store(0, std::memory_order_relaxed);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  // false_sharing_range apart, so that two shards' counters never share a line (or a pair).
  struct alignas(detail::false_sharing_range) padded_counter {
    std::atomic<std::uint64_t> value{0};
  };

  std::size_t size_;
  std::unique_ptr<padded_counter[]> counters_;
};

/// A split point for range `range` of `router` that divides the sampled load of that range
/// in two halves as evenly as possible, as CockroachDB's load-based splitting does: among the
/// distinct sampled keys k inside the range (and above its start), the one for which the
/// sampled keys below k and those at or above k are closest in number. `sample` holds keys
/// seen in requests (one entry per sampled request, so hot keys repeat).
///
/// nullopt when no split divides the sample (fewer than two distinct sampled keys in the
/// range): a single hot key cannot be split; give it a shard of its own with a
/// directory_router, or cache it. Complexity: O(s log s) for s sampled keys in the range.
template <range_key Key, std::ranges::input_range Keys>
[[nodiscard]] std::optional<Key> suggest_split(const range_router<Key>& router, std::size_t range,
                                               const Keys& sample) {
  option_check{"suggest_split"}.that(range < router.range_count(), "range", "< the range count",
                                     range);
  std::vector<Key> inside;
  for (const auto& key : sample) {
    if (router.range_of(key) == range) inside.push_back(Key(key));
  }
  std::sort(inside.begin(), inside.end());
  std::optional<Key> best;
  std::size_t best_gap = inside.size();
  // A split at the first occurrence of each distinct key k: `i` keys below, the rest at or
  // above. The first distinct key is skipped: splitting there leaves nothing below.
  for (std::size_t i = 1; i < inside.size(); ++i) {
    if (!(inside[i - 1] < inside[i])) continue;
    const std::size_t above = inside.size() - i;
    const std::size_t gap = i > above ? i - above : above - i;
    if (gap < best_gap) {
      best_gap = gap;
      best = inside[i];
    }
  }
  return best;
}

}  // namespace bulwark
