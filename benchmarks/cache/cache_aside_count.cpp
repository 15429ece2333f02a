// cache_aside_count: bench_cache's cache-aside workload (Zipf 0.99 over 2^20 ids, 100000
// entries, read and insert on a miss; or 75/25 read/write) on one thread, for instruction
// counts: the measured loop is its own function, so
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_ops*'
//            build/bench/benchmarks/cache_aside_count default aside
// counts only the operations (printed with the count of operations, to divide by). The keys are
// those of bench_cache's thread 0 (the same generator and seed); the cache is warmed with them
// first, as there. `--cache-sim=yes --LL=524288,8,64` adds misses of a 512 KiB L2 modelled as
// the last level (this repository's figures; an AMD EPYC core's L2), which repeat exactly too.
// `libcuckoo` (when Debian's libcuckoo-dev was found) is bench_cache's unbounded ceiling.

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

#include "workload.hpp"

namespace {

constexpr std::uint64_t ids = 1 << 20;
constexpr std::uint64_t capacity = 100000;
constexpr std::size_t ops = 1 << 20;

std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t seed) {
  return bench_cache::zipf_keys(n, seed, 0.99, ids);
}

using bench_cache::mutex_lru;  // bench_cache's baseline, the same code

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
    std::fprintf(stderr, "usage: cache_aside_count default|lru|mutex_lru|libcuckoo aside|mix\n");
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
#if defined(BULWARK_BENCH_LIBCUCKOO)
  if (std::strcmp(argv[1], "libcuckoo") == 0) {
    bench_cache::cuckoo_map c;
    return run(c, mix);
  }
#endif
  if (std::strcmp(argv[1], "mutex_lru") == 0) {
    mutex_lru c{capacity};
    return run(c, mix);
  }
  std::fprintf(
      stderr, "cache_aside_count: unknown map '%s'%s\n", argv[1],
      std::strcmp(argv[1], "libcuckoo") == 0 ? " (libcuckoo was not found at build time)" : "");
  return 2;
}
