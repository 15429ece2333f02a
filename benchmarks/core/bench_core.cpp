// core benchmarks: hash64 against its reference (libxxhash's XXH64), against std::hash and
// against siphash13.
// Rows are named hash/<implementation>/<bytes> and hash_u64/<implementation>, so that the
// ratio of two rows with the same suffix compares implementations on the same input.
#include <benchmark/benchmark.h>

#include <bulwark/core/hash.hpp>
#include <bulwark/core/siphash.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#if BULWARK_HAVE_LIBXXHASH
#include <xxhash.h>
#endif

namespace {

// Random bytes of the requested length, the same in every run.
std::string make_input(std::size_t size) {
  std::mt19937_64 rng{size};
  std::string bytes(size, '\0');
  for (auto& c : bytes)
    c = static_cast<char>(rng());
  return bytes;
}

// One loop for every implementation. DoNotOptimize on the pointer and the length each iteration
// hides them from the optimiser, so no implementation can fold the (constant) input or
// specialise on a length known at compile time; DoNotOptimize on the result keeps the call.
template <class Hash>
void run_bytes(benchmark::State& state, Hash hash) {
  const std::string input = make_input(static_cast<std::size_t>(state.range(0)));
  const char* data = input.data();
  std::size_t size = input.size();
  for (auto _ : state) {
    benchmark::DoNotOptimize(data);
    benchmark::DoNotOptimize(size);
    auto h = hash(data, size);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetItemsProcessed(state.iterations());
}

void bulwark_hash64(benchmark::State& state) {
  run_bytes(state, [](const char* p, std::size_t n) {
    return bulwark::hash64(std::string_view{p, n});
  });
}
BENCHMARK(bulwark_hash64)->Name("hash/bulwark_hash64")->Arg(16)->Arg(64)->Arg(1024);

#if BULWARK_HAVE_LIBXXHASH
void libxxhash_xxh64(benchmark::State& state) {
  run_bytes(state, [](const char* p, std::size_t n) { return XXH64(p, n, 0); });
}
BENCHMARK(libxxhash_xxh64)->Name("hash/libxxhash_XXH64")->Arg(16)->Arg(1024);
#endif

// SipHash-1-3 (flood_resistant_hash's string hash) beside hash64 above, same inputs: the price
// of a keyed PRF on short keys.
void bulwark_siphash13(benchmark::State& state) {
  constexpr bulwark::siphash_key key = bulwark::siphash_key_from_seed(0x5eed);
  run_bytes(state, [](const char* p, std::size_t n) {
    return bulwark::siphash13(key, std::string_view{p, n});
  });
}
BENCHMARK(bulwark_siphash13)->Name("hash/bulwark_siphash13")->Arg(16)->Arg(64)->Arg(1024);

void std_hash(benchmark::State& state) {
  run_bytes(state, [](const char* p, std::size_t n) {
    return std::hash<std::string_view>{}(std::string_view{p, n});
  });
}
BENCHMARK(std_hash)->Name("hash/std_hash")->Arg(16)->Arg(1024);

// Integer keys, the consistent-hashing hot path. The key changes every iteration (and is hidden
// from the optimiser), so each row is the cost of hashing a fresh 8-byte key.
template <class Hash>
void run_u64(benchmark::State& state, Hash hash) {
  std::uint64_t key = 0x0123456789ABCDEFULL;
  for (auto _ : state) {
    benchmark::DoNotOptimize(key);
    auto h = hash(key);
    benchmark::DoNotOptimize(h);
    ++key;
  }
  state.SetBytesProcessed(state.iterations() * 8);
  state.SetItemsProcessed(state.iterations());
}

void u64_bulwark_hash64(benchmark::State& state) {
  run_u64(state, [](std::uint64_t key) { return bulwark::hash64(key); });
}
BENCHMARK(u64_bulwark_hash64)->Name("hash_u64/bulwark_hash64");

#if BULWARK_HAVE_LIBXXHASH
void u64_libxxhash_xxh64(benchmark::State& state) {
  // XXH64 reads bytes, so the key's little-endian bytes: on x86 the key itself in memory.
  run_u64(state, [](std::uint64_t key) { return XXH64(&key, sizeof key, 0); });
}
BENCHMARK(u64_libxxhash_xxh64)->Name("hash_u64/libxxhash_XXH64");
#endif

}  // namespace
