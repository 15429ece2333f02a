// bench_sharding: one lookup of every router of bulwark/sharding, beside the routers a user
// would write by hand.
//
//   lookup/<router>                   key -> shard index, 16-byte string keys (hash included)
//   lookup/range_u64_1000             range_router<std::uint64_t>, a precomputed 64-bit key
//   lookup/keyspace_16_*_u64          a 64-bit id through a vindex (Vitess's hash, hash64)
//   lookup/baseline_*                 std::hash % 16, a std::map<std::string, int> range table,
//                                     a std::mutex-guarded std::unordered_map directory
//   live/...                          live_router<slot_router> while threads share it, against
//                                     the mutex-guarded directory at the same thread counts
//
// Keys: 4096 strings of 16 random alphanumeric bytes (a seeded bulwark::fast_rng), cycled: more
// than a branch predictor remembers, few enough to stay in L1, so the rows measure the routers
// and not the memory system. None contains '{', so slot_router hashes all 16 bytes.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <bulwark/core/hash.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/hashing.hpp>
#include <bulwark/sharding.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::size_t key_count = 4096;  // a power of two: the index wraps with a mask
constexpr std::size_t shard_count = 16;
constexpr std::size_t range_count = 1000;
constexpr std::size_t override_count = 1000;

std::string random_key(bulwark::fast_rng& rng) {
  static constexpr char alphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string key(16, ' ');
  for (char& c : key)
    c = alphabet[bulwark::uniform_below(rng, sizeof(alphabet) - 1)];
  return key;
}

const std::vector<std::string>& keys() {
  static const auto k = [] {
    bulwark::fast_rng rng{0x5eed};
    std::vector<std::string> out;
    for (std::size_t i = 0; i < key_count; ++i)
      out.push_back(random_key(rng));
    return out;
  }();
  return k;
}

// The same keys as 64-bit ids (for range_router<std::uint64_t>): hash64 of each string key.
const std::vector<std::uint64_t>& u64_keys() {
  static const auto k = [] {
    std::vector<std::uint64_t> out;
    for (const auto& key : keys())
      out.push_back(bulwark::hash64(key));
    return out;
  }();
  return k;
}

std::vector<std::string> shard_names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("shard-" + std::to_string(i));
  return out;
}

std::vector<bulwark::node> shard_nodes(std::size_t n) {
  std::vector<bulwark::node> out;
  for (const auto& name : shard_names(n))
    out.push_back({.name = name});
  return out;
}

// 999 sorted, distinct split points drawn like the keys: 1000 ranges of about equal key count.
std::vector<std::string> string_splits() {
  bulwark::fast_rng rng{0x5b117};
  std::vector<std::string> splits;
  while (splits.size() < range_count - 1)
    splits.push_back(random_key(rng));
  std::sort(splits.begin(), splits.end());
  splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
  return splits;
}

// Owners of 1000 ranges: round robin over the 16 shards.
std::vector<std::string> range_owners() {
  const auto names = shard_names(shard_count);
  std::vector<std::string> owners;
  for (std::size_t i = 0; i < range_count; ++i)
    owners.push_back(names[i % shard_count]);
  return owners;
}

// Runs `lookup(key)` over the cycled key array; one item per lookup.
template <class Keys, class Lookup>
void run(benchmark::State& state, const Keys& k, Lookup&& lookup) {
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state)
    benchmark::DoNotOptimize(lookup(k[i++ & (key_count - 1)]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_slot(benchmark::State& state) {
  const auto router = bulwark::slot_router::evenly(shard_names(shard_count));
  run(state, keys(), [&](const std::string& key) { return router.shard_for(key); });
}

void bm_hash_mod(benchmark::State& state) {
  const bulwark::hash_mod_router router{shard_names(shard_count)};
  run(state, keys(), [&](const std::string& key) { return router.shard_for(key); });
}

void bm_range_string(benchmark::State& state) {
  const bulwark::range_router<std::string> router{string_splits(), range_owners()};
  run(state, keys(),
      [&](const std::string& key) { return router.shard_for(std::string_view{key}); });
}

void bm_range_u64(benchmark::State& state) {
  std::vector<std::uint64_t> splits;
  const std::uint64_t step = ~std::uint64_t{0} / range_count;
  for (std::size_t i = 1; i < range_count; ++i)
    splits.push_back(step * i);
  const bulwark::range_router<std::uint64_t> router{splits, range_owners()};
  run(state, u64_keys(), [&](std::uint64_t key) { return router.shard_for(key); });
}

// Vitess: 16 key ranges "-10", "10-20", ..., "f0-".
bulwark::range_router<std::uint64_t> sixteen_key_ranges() {
  static constexpr char hex[] = "0123456789abcdef";
  std::vector<std::string> ranges;
  for (std::size_t i = 0; i < shard_count; ++i) {
    const std::string start = i == 0 ? "" : std::string{hex[i], '0'};
    const std::string end = i + 1 == shard_count ? "" : std::string{hex[i + 1], '0'};
    ranges.push_back(start + "-" + end);
  }
  return bulwark::keyspace_router(ranges);
}

// The keyspace id is hash64 of the key, as a caller-supplied vindex would compute it, so the
// row includes the hash.
void bm_keyspace(benchmark::State& state) {
  const auto router = sixteen_key_ranges();
  run(state, keys(),
      [&](const std::string& key) { return router.shard_for(bulwark::hash64(key)); });
}

// Numeric ids through Vitess's hash vindex (DES under the zero key), against the same ids
// through hash64 as the baseline: the rows differ only in the vindex.
void bm_keyspace_vitess_hash(benchmark::State& state) {
  const auto router = sixteen_key_ranges();
  run(state, u64_keys(), [&](std::uint64_t id) {
    return router.shard_for(bulwark::vitess_hash_vindex::keyspace_id(id));
  });
}

void bm_keyspace_u64_hash64(benchmark::State& state) {
  const auto router = sixteen_key_ranges();
  run(state, u64_keys(), [&](std::uint64_t id) { return router.shard_for(bulwark::hash64(id)); });
}

// 1000 overrides (about a quarter of the looked-up keys) in front of hash_mod over 16 shards.
void bm_directory(benchmark::State& state) {
  const auto names = shard_names(shard_count);
  std::vector<bulwark::directory_entry> entries;
  for (std::size_t i = 0; i < override_count; ++i)
    entries.push_back({keys()[i * 4], names[i % shard_count]});
  const bulwark::directory_router router{entries, bulwark::hash_mod_router{names}};
  run(state, keys(), [&](const std::string& key) { return router.shard_for(key); });
}

// Tags are short attribute values, not keys: 12 regions, 8 of them listed, cycled.
void bm_tag(benchmark::State& state) {
  const bulwark::tag_router router{{{"eu-west-1", "db-eu"},
                                    {"eu-central-1", "db-eu"},
                                    {"us-east-1", "db-us"},
                                    {"us-east-2", "db-us"},
                                    {"us-west-2", "db-us-west"},
                                    {"ap-south-1", "db-ap"},
                                    {"ap-northeast-1", "db-ap"},
                                    {"sa-east-1", "db-sa"}},
                                   "db-us"};
  static const std::array<std::string, 12> regions{
      "eu-west-1",      "eu-central-1", "us-east-1",  "us-east-2",  "us-west-2",    "ap-south-1",
      "ap-northeast-1", "sa-east-1",    "af-south-1", "me-south-1", "ca-central-1", "il-central-1"};
  std::vector<std::string> tags;
  for (std::size_t i = 0; i < key_count; ++i)
    tags.push_back(regions[bulwark::hash64(std::uint64_t{i}) % regions.size()]);
  run(state, tags, [&](const std::string& tag) { return router.shard_for(tag); });
}

template <class Algorithm>
void bm_consistent(benchmark::State& state) {
  const bulwark::consistent_router<Algorithm> router{shard_nodes(shard_count)};
  run(state, keys(), [&](const std::string& key) { return router.shard_for(key); });
}

// Baseline: shard = std::hash<std::string_view> % n (not stable across standard libraries, and
// moves almost every key when n changes; the cheapest thing that routes at all).
void bm_baseline_std_hash_mod(benchmark::State& state) {
  const std::hash<std::string_view> hasher;
  std::size_t n = shard_count;
  benchmark::DoNotOptimize(n);
  run(state, keys(), [&](const std::string& key) { return hasher(key) % n; });
}

// Baseline: the range table as usually hand-written: std::map<split start, shard>, upper_bound.
void bm_baseline_map_range(benchmark::State& state) {
  std::map<std::string, int> table;  // start of each range (the first is "") -> shard
  table.emplace("", 0);
  const auto splits = string_splits();
  for (std::size_t i = 0; i < splits.size(); ++i)
    table.emplace(splits[i], static_cast<int>((i + 1) % shard_count));
  run(state, keys(),
      [&](const std::string& key) { return std::prev(table.upper_bound(key))->second; });
}

// Baseline: a directory as usually hand-written: an unordered_map behind a mutex (so that it
// can be edited while serving), falling back to std::hash % n.
struct mutex_directory {
  std::mutex mutex;
  std::unordered_map<std::string, int> overrides;
  mutex_directory() {
    for (std::size_t i = 0; i < override_count; ++i)
      overrides.emplace(keys()[i * 4], static_cast<int>(i % shard_count));
  }
  std::size_t lookup(const std::string& key) {
    const std::lock_guard<std::mutex> lock{mutex};
    const auto it = overrides.find(key);
    return it != overrides.end() ? static_cast<std::size_t>(it->second)
                                 : std::hash<std::string>{}(key) % shard_count;
  }
};

void bm_baseline_mutex_directory(benchmark::State& state) {
  static mutex_directory directory;
  run(state, keys(), [&](const std::string& key) { return directory.lookup(key); });
}

bulwark::live_router<bulwark::slot_router>& live() {
  static bulwark::live_router<bulwark::slot_router> router{
      bulwark::slot_router::evenly(shard_names(shard_count))};
  return router;
}

void bm_live_slot_per_lookup(benchmark::State& state) {
  auto& router = live();
  run(state, keys(), [&](const std::string& key) { return router.shard_for(key); });
}

void bm_live_slot_per_64(benchmark::State& state) {
  auto& router = live();
  const auto& k = keys();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state) {
    const auto snap = router.snapshot();
    for (int n = 0; n < 64; ++n)
      benchmark::DoNotOptimize(snap->shard_for(k[i++ & (key_count - 1)]));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
}

}  // namespace

BENCHMARK(bm_slot)->Name("lookup/slot");
BENCHMARK(bm_hash_mod)->Name("lookup/hash_mod_16");
BENCHMARK(bm_range_string)->Name("lookup/range_string_1000");
BENCHMARK(bm_range_u64)->Name("lookup/range_u64_1000");
BENCHMARK(bm_keyspace)->Name("lookup/keyspace_16_hash64");
BENCHMARK(bm_keyspace_vitess_hash)->Name("lookup/keyspace_16_vitess_hash_u64");
BENCHMARK(bm_keyspace_u64_hash64)->Name("lookup/keyspace_16_hash64_u64");
BENCHMARK(bm_directory)->Name("lookup/directory_1000_over_hash_mod");
BENCHMARK(bm_tag)->Name("lookup/tag_12_regions");
BENCHMARK(bm_consistent<bulwark::maglev>)->Name("lookup/consistent_maglev_16");
BENCHMARK(bm_consistent<bulwark::jump_nodes>)->Name("lookup/consistent_jump_16");
BENCHMARK(bm_baseline_std_hash_mod)->Name("lookup/baseline_std_hash_mod_16");
BENCHMARK(bm_baseline_map_range)->Name("lookup/baseline_std_map_range_1000");
BENCHMARK(bm_baseline_mutex_directory)
    ->Name("lookup/baseline_mutex_directory_1000")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(bm_live_slot_per_lookup)
    ->Name("live/slot_snapshot_per_lookup")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(bm_live_slot_per_64)
    ->Name("live/slot_snapshot_per_64")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
