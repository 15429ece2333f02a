// bench_cache: bulwark::cache against the LRU users hand-write (std::mutex + std::list +
// std::unordered_map), same keys, same binary. Keys follow a Zipf(0.99) law over 2^16 keys,
// the cache holds all of them (so 100%-read rows measure the hit path), 75/25 rows write a
// quarter of the time (replacing values, which runs the policy and eviction bookkeeping).
// Memory rows count heap bytes in use (glibc mallinfo2) after filling 2^20 entries.
//
// The cache-aside rows (issue 24) are the workload a service sees: Zipf(0.99) over 2^20 ids
// and a cache of 100000 entries, so about a fifth of the reads miss. `aside` rows read and
// insert on a miss (get, then put); `mix` rows read three times and write once in four, over
// the same keys. Beside bulwark::cache (default policy and lru_eviction, and the default with a
// cache per thread, to read what sharing one costs): the mutex LRU, and, when libcuckoo is
// installed (Debian libcuckoo-dev), its concurrent hash map, unbounded: no eviction at all, the
// ceiling of a concurrent map.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <bulwark/cache.hpp>
#include <bulwark/core/random.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "workload.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

// Heap bytes in use, malloc's per-chunk overhead included (glibc's mallinfo2); 0 elsewhere, and
// the memory rows then report only the cache's own accounting.
std::size_t heap_in_use() {
#if defined(__GLIBC__)
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks in use + large (mmapped) blocks
#else
  return 0;
#endif
}

}  // namespace

namespace {

constexpr std::uint64_t key_count = 1 << 16;

std::vector<std::uint64_t> zipf_keys(std::size_t n, std::uint64_t seed, double s = 0.99,
                                     std::uint64_t ids = key_count) {
  return bench_cache::zipf_keys(n, seed, s, ids);
}

const std::vector<std::uint64_t>& keys_for(int thread) {
  static const std::vector<std::vector<std::uint64_t>> all = [] {
    std::vector<std::vector<std::uint64_t>> v;
    for (int t = 0; t < 8; ++t)
      v.push_back(zipf_keys(1 << 16, 100 + static_cast<std::uint64_t>(t)));
    return v;
  }();
  return all[static_cast<std::size_t>(thread) % all.size()];
}

using bench_cache::mutex_lru;

// The cache-aside workload: 2^20 ids, 100000 entries cached, per-thread key arrays generated
// once (seeded) so the timed loop reads keys and never draws them.
constexpr std::uint64_t aside_ids = 1 << 20;
constexpr std::uint64_t aside_capacity = 100000;

const std::vector<std::uint64_t>& aside_keys_for(int thread) {
  static const std::vector<std::vector<std::uint64_t>> all = [] {
    std::vector<std::vector<std::uint64_t>> v;
    for (int t = 0; t < 4; ++t)
      v.push_back(zipf_keys(1 << 20, 200 + static_cast<std::uint64_t>(t), 0.99, aside_ids));
    return v;
  }();
  return all[static_cast<std::size_t>(thread) % all.size()];
}

template <class Cache>
void fill(Cache& c) {
  for (std::uint64_t rank = 0; rank < key_count; ++rank)
    c.put(rank * 0x9E3779B97F4A7C15ULL, rank);
}

// `slot` is read inside the loop: only then (after the start barrier) has thread 0 built it.
template <class Cache>
void run(benchmark::State& state, const std::unique_ptr<Cache>& slot, unsigned write_percent) {
  const auto& keys = keys_for(state.thread_index());
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state) {
    Cache& c = *slot;
    const std::uint64_t key = keys[i++ & (keys.size() - 1)];
    if (write_percent != 0 && (i & 3) == 0) {
      c.put(key, i);
    } else {
      found += c.get(key).has_value();
    }
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// One cache-aside operation: `aside` reads and inserts on a miss; `mix` writes one time in four.
enum class aside_mode { aside, mix };

template <class Cache>
void aside_op(Cache& c, std::uint64_t key, std::size_t i, aside_mode mode, std::uint64_t& found) {
  if (mode == aside_mode::mix && (i & 3) == 0) {
    c.put(key, i);
  } else if (c.get(key).has_value()) {
    ++found;
  } else if (mode == aside_mode::aside) {
    c.put(key, i);
  }
}

// A new cache warmed with one pass over `thread`'s keys (untimed), so rows measure the steady
// state: a full cache with about a fifth of the reads missing.
template <class Cache, class Make>
std::unique_ptr<Cache> warmed(Make make, int thread) {
  auto cache = make();
  std::uint64_t ignored = 0;
  const auto& warm = aside_keys_for(thread);
  for (std::size_t i = 0; i < warm.size(); ++i)
    aside_op(*cache, warm[i], i, aside_mode::aside, ignored);
  return cache;
}

// Thread 0 builds the cache all threads share. Built once and kept for every later run of the
// rows sharing it (each thread count, repetition, and Google Benchmark's own trial runs): the
// state a run leaves is as steady as the warm-up's, and warming it again before each run made
// the rows take a minute at the CI's minimum time. With `own`, each thread reads a cache of its
// own instead (built the same way, from its own keys).
template <class Cache, class Make>
void aside_row(benchmark::State& state, std::unique_ptr<Cache>& slot, Make make, aside_mode mode,
               std::unique_ptr<Cache>* own = nullptr) {
  if (own != nullptr) {
    std::unique_ptr<Cache>& mine = own[state.thread_index()];
    if (!mine) mine = warmed<Cache>(make, state.thread_index());
  } else if (state.thread_index() == 0 && !slot) {
    slot = warmed<Cache>(make, 0);
  }
  // Read inside the loop: only then (after the start barrier) has thread 0 built `slot`.
  const std::unique_ptr<Cache>& source = own != nullptr ? own[state.thread_index()] : slot;
  const auto& keys = aside_keys_for(state.thread_index());
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  std::uint64_t found = 0;
  for (auto _ : state) {
    ++i;
    aside_op(*source, keys[i & (keys.size() - 1)], i, mode, found);
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["hit_ratio"] =
      benchmark::Counter(static_cast<double>(found) /
                             static_cast<double>(std::max<std::int64_t>(1, state.iterations())),
                         benchmark::Counter::kAvgThreads);
}

using default_cache = bulwark::cache<std::uint64_t, std::uint64_t>;
using expiring_cache =
    bulwark::cache<std::uint64_t, std::uint64_t, bulwark::tiny_lfu_eviction, bulwark::coarse_clock>;

// Caches use hash_seed 0 so that rows repeat from run to run (the default is a random seed).
// One shared instance per row, built by thread 0: Google Benchmark starts every thread's timed
// loop together, after the setup code before it.
std::unique_ptr<default_cache> plain_cache;
std::unique_ptr<expiring_cache> timed_cache;
std::unique_ptr<mutex_lru> baseline_cache;

auto make_plain = [] {
  return std::make_unique<default_cache>(
      bulwark::cache_options{.maximum_size = key_count, .hash_seed = 0});
};
auto make_timed = [] {
  return std::make_unique<expiring_cache>(bulwark::cache_options{
      .maximum_size = key_count, .expire_after_write = std::chrono::hours{1}, .hash_seed = 0});
};
auto make_baseline = [] { return std::make_unique<mutex_lru>(key_count); };

void BM_cache_get(benchmark::State& state) {
  if (state.thread_index() == 0) {
    plain_cache = make_plain();
    fill(*plain_cache);
  }
  run(state, plain_cache, 0);
}
void BM_cache_get_expiring(benchmark::State& state) {
  if (state.thread_index() == 0) {
    timed_cache = make_timed();
    fill(*timed_cache);
  }
  run(state, timed_cache, 0);
}
void BM_mutex_lru_get(benchmark::State& state) {
  if (state.thread_index() == 0) {
    baseline_cache = make_baseline();
    fill(*baseline_cache);
  }
  run(state, baseline_cache, 0);
}
void BM_cache_75r25w(benchmark::State& state) {
  if (state.thread_index() == 0) {
    plain_cache = make_plain();
    fill(*plain_cache);
  }
  run(state, plain_cache, 25);
}
void BM_mutex_lru_75r25w(benchmark::State& state) {
  if (state.thread_index() == 0) {
    baseline_cache = make_baseline();
    fill(*baseline_cache);
  }
  run(state, baseline_cache, 25);
}
void BM_lru_cache_get_single_threaded(benchmark::State& state) {
  bulwark::lru_cache<std::uint64_t, std::uint64_t> c(key_count);
  fill(c);
  const auto& keys = keys_for(0);
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(c.get(keys[i++ & (keys.size() - 1)]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// String keys ("session:" and 16 hex digits, 24 bytes, as request or session ids look), read
// single-threaded: the cost of the default flood_resistant_hash (SipHash-1-3) beside the same
// cache with stable_hash (XXH64), the hasher it replaced as the default.
template <class Hasher>
void string_get_row(benchmark::State& state) {
  const auto name = [](std::uint64_t key) {
    char text[32];
    std::snprintf(text, sizeof text, "session:%016llx", static_cast<unsigned long long>(key));
    return std::string{text};
  };
  using string_cache = bulwark::cache<std::string, std::uint64_t, bulwark::tiny_lfu_eviction,
                                      bulwark::steady_clock, Hasher>;
  string_cache c(bulwark::cache_options{.maximum_size = key_count, .hash_seed = 0});
  for (std::uint64_t rank = 0; rank < key_count; ++rank)
    c.put(name(rank * 0x9E3779B97F4A7C15ULL), rank);
  std::vector<std::string> keys;
  for (const std::uint64_t key : keys_for(0))
    keys.push_back(name(key));
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state)
    found += c.get(keys[i++ & (keys.size() - 1)]).has_value();
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
void BM_cache_get_string(benchmark::State& state) {
  string_get_row<bulwark::flood_resistant_hash>(state);
}
void BM_cache_get_string_stable_hash(benchmark::State& state) {
  string_get_row<bulwark::stable_hash>(state);
}

// ---- the cache-aside rows ----

using lru_policy_cache = bulwark::cache<std::uint64_t, std::uint64_t, bulwark::lru_eviction>;

std::unique_ptr<default_cache> aside_default;
std::unique_ptr<lru_policy_cache> aside_lru;
std::unique_ptr<mutex_lru> aside_baseline;

auto make_aside_default = [] {
  return std::make_unique<default_cache>(
      bulwark::cache_options{.maximum_size = aside_capacity, .hash_seed = 0});
};
auto make_aside_lru = [] {
  return std::make_unique<lru_policy_cache>(
      bulwark::cache_options{.maximum_size = aside_capacity, .hash_seed = 0});
};
auto make_aside_baseline = [] { return std::make_unique<mutex_lru>(aside_capacity); };

void BM_aside_cache(benchmark::State& state) {
  aside_row(state, aside_default, make_aside_default, aside_mode::aside);
}
// Each thread with a default cache of its own: beside BM_aside_cache, the CPU time an operation
// costs when two threads share one cache (each thread's keys alone hit slightly more often than
// two threads' together: about 0.86 against 0.83).
std::unique_ptr<default_cache> aside_own[4];
void BM_aside_cache_per_thread(benchmark::State& state) {
  aside_row(state, aside_default, make_aside_default, aside_mode::aside, aside_own);
}
void BM_aside_cache_lru(benchmark::State& state) {
  aside_row(state, aside_lru, make_aside_lru, aside_mode::aside);
}
void BM_aside_mutex_lru(benchmark::State& state) {
  aside_row(state, aside_baseline, make_aside_baseline, aside_mode::aside);
}
void BM_mix_cache(benchmark::State& state) {
  aside_row(state, aside_default, make_aside_default, aside_mode::mix);
}
void BM_mix_cache_lru(benchmark::State& state) {
  aside_row(state, aside_lru, make_aside_lru, aside_mode::mix);
}
void BM_mix_mutex_lru(benchmark::State& state) {
  aside_row(state, aside_baseline, make_aside_baseline, aside_mode::mix);
}

#if defined(BULWARK_BENCH_LIBCUCKOO)
using bench_cache::cuckoo_map;
std::unique_ptr<cuckoo_map> aside_cuckoo;
auto make_aside_cuckoo = [] { return std::make_unique<cuckoo_map>(); };
void BM_aside_libcuckoo_unbounded(benchmark::State& state) {
  aside_row(state, aside_cuckoo, make_aside_cuckoo, aside_mode::aside);
}
void BM_mix_libcuckoo_unbounded(benchmark::State& state) {
  aside_row(state, aside_cuckoo, make_aside_cuckoo, aside_mode::mix);
}
#endif

// Heap bytes per entry beyond the 16 bytes of key and value, cache full at 2^20 entries.
template <class Make>
void memory_row(benchmark::State& state, Make make) {
  constexpr std::uint64_t n = 1 << 20;
  double per_entry = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    auto c = make(n);
    for (std::uint64_t k = 0; k < n; ++k)
      c->put(k * 0x9E3779B97F4A7C15ULL, k);
    per_entry = static_cast<double>(heap_in_use() - before) / static_cast<double>(n) - 16.0;
  }
  state.counters["bytes_per_entry_overhead"] = per_entry;
}
void BM_memory_cache(benchmark::State& state) {
  memory_row(state, [](std::uint64_t n) {
    return std::make_unique<default_cache>(
        bulwark::cache_options{.maximum_size = n, .hash_seed = 0});
  });
}
void BM_memory_cache_expiring(benchmark::State& state) {
  memory_row(state, [](std::uint64_t n) {
    return std::make_unique<expiring_cache>(bulwark::cache_options{
        .maximum_size = n, .expire_after_write = std::chrono::hours{1}, .hash_seed = 0});
  });
}
void BM_memory_cache_lru(benchmark::State& state) {
  memory_row(state, [](std::uint64_t n) {
    return std::make_unique<bulwark::cache<std::uint64_t, std::uint64_t, bulwark::lru_eviction>>(
        bulwark::cache_options{.maximum_size = n, .hash_seed = 0});
  });
}
void BM_memory_mutex_lru(benchmark::State& state) {
  memory_row(state, [](std::uint64_t n) { return std::make_unique<mutex_lru>(n); });
}

}  // namespace

BENCHMARK(BM_cache_get)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_cache_get_expiring)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mutex_lru_get)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_cache_75r25w)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mutex_lru_75r25w)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_aside_cache)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_aside_cache_per_thread)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_aside_cache_lru)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_aside_mutex_lru)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mix_cache)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mix_cache_lru)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mix_mutex_lru)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
#if defined(BULWARK_BENCH_LIBCUCKOO)
BENCHMARK(BM_aside_libcuckoo_unbounded)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_mix_libcuckoo_unbounded)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
#endif
BENCHMARK(BM_lru_cache_get_single_threaded);
BENCHMARK(BM_cache_get_string);
BENCHMARK(BM_cache_get_string_stable_hash);
BENCHMARK(BM_memory_cache)->Iterations(1);
BENCHMARK(BM_memory_cache_expiring)->Iterations(1);
BENCHMARK(BM_memory_cache_lru)->Iterations(1);
BENCHMARK(BM_memory_mutex_lru)->Iterations(1);
