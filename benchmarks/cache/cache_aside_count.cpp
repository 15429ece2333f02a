// cache_aside_count: bench_cache's cache-aside workload (Zipf 0.99 over 2^20 ids, 100000
// entries, read and insert on a miss; or 75/25 read/write) on one thread, for instruction
// counts: the measured loop is its own function, so
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_ops*'
//            build/bench/benchmarks/cache_aside_count default aside
// counts only the operations (printed with the count of operations, to divide by). The keys are
// those of bench_cache's thread 0 (the same generator and seed); the cache is warmed with them
// first, as there.

#include <algorithm>
#include <bulwark/cache.hpp>
#include <bulwark/core/random.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::uint64_t ids = 1 << 20;
constexpr std::uint64_t capacity = 100000;
constexpr std::size_t ops = 1 << 20;

std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t seed) {
  std::vector<double> cdf(ids);
  double sum = 0;
  for (std::uint64_t k = 0; k < ids; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), 0.99);
    cdf[k] = sum;
  }
  bulwark::fast_rng rng{seed};
  std::vector<std::uint64_t> keys(n);
  for (auto& key : keys) {
    const double u = bulwark::uniform01(rng) * sum;
    const auto rank =
        static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    key = rank * 0x9E3779B97F4A7C15ULL;
  }
  return keys;
}

// bench_cache's baseline, the same code.
class mutex_lru {
 public:
  explicit mutex_lru(std::size_t cap) : capacity_{cap} { map_.reserve(cap); }
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

template <class Cache>
void op(Cache& c, std::uint64_t key, std::size_t i, bool mix, std::uint64_t& found) {
  if (mix && (i & 3) == 0) {
    c.put(key, i);
  } else if (c.get(key).has_value()) {
    ++found;
  } else if (!mix) {
    c.put(key, i);
  }
}

template <class Cache>
[[gnu::noinline]] std::uint64_t measured_ops(Cache& c, const std::vector<std::uint64_t>& keys,
                                             bool mix) {
  std::uint64_t found = 0;
  for (std::size_t i = 0; i < ops; ++i)
    op(c, keys[i], i + 1, mix, found);
  return found;
}

template <class Cache>
int run(Cache& c, bool mix) {
  const auto keys = zipf_keys(ops, 200);
  std::uint64_t ignored = 0;
  for (std::size_t i = 0; i < keys.size(); ++i)
    op(c, keys[i], i, false, ignored);
  const std::uint64_t found = measured_ops(c, keys, mix);
  std::printf("%zu operations, %llu hits\n", ops, static_cast<unsigned long long>(found));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cache_aside_count default|lru|mutex_lru aside|mix\n");
    return 2;
  }
  const bool mix = std::strcmp(argv[2], "mix") == 0;
  const bulwark::cache_options options{.maximum_size = capacity, .hash_seed = 0};
  if (std::strcmp(argv[1], "default") == 0) {
    bulwark::cache<std::uint64_t, std::uint64_t> c{options};
    return run(c, mix);
  }
  if (std::strcmp(argv[1], "lru") == 0) {
    bulwark::cache<std::uint64_t, std::uint64_t, bulwark::lru_eviction> c{options};
    return run(c, mix);
  }
  mutex_lru c{capacity};
  return run(c, mix);
}
