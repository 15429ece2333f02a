// bench_hashing: lookup cost at 10, 100 and 1000 nodes, build time, memory, balance and
// disruption for every algorithm of bulwark/hashing, beside the baselines a user would write
// by hand: hash-mod (h % n, no consistency at all) and a ring in a std::map behind a std::mutex.
//
//   lookup/<algorithm>/<nodes>         one lookup of a precomputed 64-bit key hash
//   build/<algorithm>/<nodes>          building the structure from the node list
//   quality/<algorithm>                counters: bytes, peak_over_mean (1M keys, 100 nodes),
//                                      moved_remove / needless_remove (one node of 100 leaves)
//   live/...                           lookups through placement<maglev> while threads share it,
//                                      vs the mutex-guarded std::map ring

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <bulwark/hashing.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::vector<bulwark::node> make_nodes(std::size_t n) {
  std::vector<bulwark::node> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(
        {.name = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":11211"});
  return out;
}

// 4096 key hashes, cycled: more than fit a branch predictor's history, few enough to stay in L1.
const std::array<std::uint64_t, 4096>& key_hashes() {
  static const auto keys = [] {
    std::array<std::uint64_t, 4096> k{};
    for (std::size_t i = 0; i < k.size(); ++i)
      k[i] = bulwark::hash64(std::uint64_t{i}, 7);
    return k;
  }();
  return keys;
}

template <class Algorithm>
Algorithm make(std::size_t n) {
  if constexpr (std::is_same_v<Algorithm, bulwark::hash_ring>) {
    return Algorithm{make_nodes(n), {.points_per_weight = 160}};
  } else {
    return Algorithm{make_nodes(n)};
  }
}

template <class Algorithm>
void bm_lookup(benchmark::State& state) {
  const auto a = make<Algorithm>(static_cast<std::size_t>(state.range(0)));
  const auto& keys = key_hashes();
  std::size_t i = 0;
  for (auto _ : state) {
    std::uint64_t h = keys[i++ & 4095];
    if constexpr (std::is_same_v<Algorithm, bulwark::ketama>) h >>= 32;
    benchmark::DoNotOptimize(a.index_for_hash(h));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Baseline: what "shard = hash % n" costs (and why it is not enough: see quality/hash_mod).
void bm_lookup_hash_mod(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  benchmark::DoNotOptimize(n);
  const auto& keys = key_hashes();
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(keys[i++ & 4095] % n);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Baseline: a hand-written ring, std::map<point, node> (160 points per node) under a mutex so
// writers can change it: the usual first implementation.
struct mutex_ring {
  std::mutex mutex;
  std::map<std::uint64_t, std::size_t> points;
  explicit mutex_ring(std::size_t n) {
    const auto nodes = make_nodes(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (int p = 0; p < 160; ++p)
        points.emplace(bulwark::hash64(nodes[i].name + "_" + std::to_string(p)), i);
    }
  }
  std::size_t lookup(std::uint64_t h) {
    const std::lock_guard<std::mutex> lock{mutex};
    auto it = points.lower_bound(h);
    if (it == points.end()) it = points.begin();
    return it->second;
  }
};

void bm_lookup_mutex_map_ring(benchmark::State& state) {
  mutex_ring ring{static_cast<std::size_t>(state.range(0))};
  const auto& keys = key_hashes();
  std::size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(ring.lookup(keys[i++ & 4095]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Algorithm>
void bm_build(benchmark::State& state) {
  const auto nodes = make_nodes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    if constexpr (std::is_same_v<Algorithm, bulwark::hash_ring>) {
      benchmark::DoNotOptimize(Algorithm{nodes, {.points_per_weight = 160}});
    } else {
      benchmark::DoNotOptimize(Algorithm{nodes});
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Balance and disruption on 100 nodes, reported as counters (one iteration: it is a
// measurement of placement, not of time).
template <class Algorithm>
void bm_quality(benchmark::State& state) {
  constexpr std::size_t keys = 1000000;
  for (auto _ : state) {
    const auto a = make<Algorithm>(100);
    const std::string leaving = std::is_same_v<Algorithm, bulwark::jump_nodes>
                                    ? std::string{a.nodes().back().name}
                                    : std::string{a.nodes()[42].name};
    const auto b = a.with_removed(leaving);
    std::vector<std::size_t> count(100);
    std::size_t moved = 0, needless = 0;
    for (std::uint64_t i = 0; i < keys; ++i) {
      std::uint64_t h = bulwark::hash64(i, 11);
      if constexpr (std::is_same_v<Algorithm, bulwark::ketama>) h >>= 32;
      const std::size_t was = a.index_for_hash(h);
      ++count[was];
      const auto& before = a.nodes()[was].name;
      const auto& after = b.node_for_hash(h).name;
      if (before != after) {
        ++moved;
        if (before != leaving) ++needless;
      }
    }
    state.counters["bytes"] = static_cast<double>(a.memory_bytes());
    state.counters["peak_over_mean"] =
        static_cast<double>(*std::max_element(count.begin(), count.end())) / (keys / 100.0);
    state.counters["moved_remove"] = static_cast<double>(moved) / keys;
    state.counters["needless_remove"] = static_cast<double>(needless) / keys;
  }
}

void bm_quality_hash_mod(benchmark::State& state) {
  constexpr std::uint64_t keys = 1000000;
  for (auto _ : state) {
    std::vector<std::size_t> count(100);
    std::size_t moved = 0;
    for (std::uint64_t i = 0; i < keys; ++i) {
      const std::uint64_t h = bulwark::hash64(i, 11);
      ++count[h % 100];
      // Node 42 leaves: survivors renumber, keys map by h % 99.
      const std::uint64_t before = h % 100, after = h % 99;
      const std::uint64_t after_name = after >= 42 ? after + 1 : after;
      moved += before != after_name;
    }
    state.counters["bytes"] = 0;
    state.counters["peak_over_mean"] =
        static_cast<double>(*std::max_element(count.begin(), count.end())) / (keys / 100.0);
    state.counters["moved_remove"] = static_cast<double>(moved) / keys;
    state.counters["needless_remove"] = static_cast<double>(moved) / keys - 0.01;
  }
}

// Concurrent readers of a live placement: a snapshot per lookup (the simplest use), a snapshot
// per batch of 64 lookups (the recommended use), and the mutex ring.
bulwark::placement<bulwark::maglev>& live() {
  static bulwark::placement<bulwark::maglev> p{make_nodes(100)};
  return p;
}

void bm_live_snapshot_per_lookup(benchmark::State& state) {
  auto& p = live();
  const auto& keys = key_hashes();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state)
    benchmark::DoNotOptimize(p.snapshot()->index_for_hash(keys[i++ & 4095]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_live_snapshot_per_64(benchmark::State& state) {
  auto& p = live();
  const auto& keys = key_hashes();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state) {
    const auto snap = p.snapshot();
    for (int k = 0; k < 64; ++k)
      benchmark::DoNotOptimize(snap->index_for_hash(keys[i++ & 4095]));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
}

void bm_live_mutex_map_ring(benchmark::State& state) {
  static mutex_ring ring{100};
  const auto& keys = key_hashes();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state)
    benchmark::DoNotOptimize(ring.lookup(keys[i++ & 4095]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(bm_lookup<bulwark::maglev>)->Name("lookup/maglev")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup<bulwark::jump_nodes>)->Name("lookup/jump")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup<bulwark::anchor_hash>)->Name("lookup/anchor")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup<bulwark::hash_ring>)->Name("lookup/ring160")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup<bulwark::ketama>)->Name("lookup/ketama")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup<bulwark::rendezvous>)->Name("lookup/rendezvous")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup_hash_mod)->Name("lookup/baseline_hash_mod")->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(bm_lookup_mutex_map_ring)
    ->Name("lookup/baseline_mutex_map_ring")
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000);

BENCHMARK(bm_build<bulwark::maglev>)
    ->Name("build/maglev65537")
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_build<bulwark::hash_ring>)
    ->Name("build/ring160")
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_build<bulwark::ketama>)->Name("build/ketama")->Arg(100)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_build<bulwark::anchor_hash>)
    ->Name("build/anchor")
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_build<bulwark::rendezvous>)
    ->Name("build/rendezvous")
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_build<bulwark::jump_nodes>)
    ->Name("build/jump")
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);

BENCHMARK(bm_quality<bulwark::maglev>)
    ->Name("quality/maglev")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality<bulwark::jump_nodes>)
    ->Name("quality/jump")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality<bulwark::anchor_hash>)
    ->Name("quality/anchor")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality<bulwark::hash_ring>)
    ->Name("quality/ring160")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality<bulwark::ketama>)
    ->Name("quality/ketama")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality<bulwark::rendezvous>)
    ->Name("quality/rendezvous")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_quality_hash_mod)
    ->Name("quality/baseline_hash_mod")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK(bm_live_snapshot_per_lookup)
    ->Name("live/maglev_snapshot_per_lookup")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(bm_live_snapshot_per_64)
    ->Name("live/maglev_snapshot_per_64")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(bm_live_mutex_map_ring)
    ->Name("live/baseline_mutex_map_ring")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
