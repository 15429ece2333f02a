#pragma once
// What bench_cache and cache_aside_count share: the Zipf key generator and the baselines (the
// mutex LRU, and libcuckoo's map when BULWARK_BENCH_LIBCUCKOO says it is installed), so that
// the instruction counts of cache_aside_count are those of bench_cache's rows.

#include <algorithm>
#include <bulwark/core/random.hpp>
#include <cmath>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(BULWARK_BENCH_LIBCUCKOO)
#include <libcuckoo/cuckoohash_map.hh>
#endif

namespace bench_cache {

/// Zipf(s) keys over `ids` ranks by inverse CDF: a binary search in the cumulative weights,
/// drawn with bulwark's portable uniform01 so every platform benchmarks the same sequence.
inline std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t seed, double s,
                                            std::uint64_t ids) {
  std::vector<double> cdf(ids);
  double sum = 0;
  for (std::uint64_t k = 0; k < ids; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), s);
    cdf[k] = sum;
  }
  bulwark::fast_rng rng{seed};
  std::vector<std::uint64_t> keys(n);
  for (auto& key : keys) {
    const double u = bulwark::uniform01(rng) * sum;
    // Scatter ranks over the key space so hot keys do not share a shard by construction.
    const auto rank =
        static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    key = rank * 0x9E3779B97F4A7C15ULL;
  }
  return keys;
}

/// The baseline: the LRU cache people write, one mutex around list + unordered_map.
class mutex_lru {
 public:
  explicit mutex_lru(std::size_t capacity) : capacity_{capacity} { map_.reserve(capacity); }
  std::optional<std::uint64_t> get(std::uint64_t key) {
    std::lock_guard lock{mutex_};
    const auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }
  void put(std::uint64_t key, std::uint64_t value) {
    std::lock_guard lock{mutex_};
    if (const auto it = map_.find(key); it != map_.end()) {
      it->second->second = value;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, value);
    map_[key] = order_.begin();
    if (order_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  std::mutex mutex_;
  std::size_t capacity_;
  std::list<std::pair<std::uint64_t, std::uint64_t>> order_;
  std::unordered_map<std::uint64_t, std::list<std::pair<std::uint64_t, std::uint64_t>>::iterator>
      map_;
};

#if defined(BULWARK_BENCH_LIBCUCKOO)
/// libcuckoo's cuckoohash_map behind the same get/put: unbounded (it never evicts, so it ends
/// holding every id drawn), the ceiling of a concurrent map rather than a cache.
class cuckoo_map {
 public:
  std::optional<std::uint64_t> get(std::uint64_t key) {
    std::uint64_t value = 0;
    if (map_.find(key, value)) return value;
    return std::nullopt;
  }
  void put(std::uint64_t key, std::uint64_t value) { map_.insert_or_assign(key, value); }

 private:
  libcuckoo::cuckoohash_map<std::uint64_t, std::uint64_t> map_;
};
#endif

}  // namespace bench_cache
