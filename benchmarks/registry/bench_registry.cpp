// registry benchmarks: what a lookup by name costs beside the baseline, a reference the caller
// already holds. Both rows then make the same call on the same gcra (emission_interval(), a
// load), so their difference is the lookup: a shared lock, a hash, a reference count.
// The guard behind either is the same object: its hot path does not change.
#include <benchmark/benchmark.h>

#include <bulwark/registry.hpp>
#include <memory>
#include <string>

namespace {

bulwark::registry<>& shared_registry() {
  static bulwark::registry<> guards;
  return guards;
}

void fill(bulwark::registry<>& guards, int others) {
  for (int i = 0; i < others; ++i)
    (void)guards.gcra("other-" + std::to_string(i));
  (void)guards.gcra("api");
}

// Baseline: the caller holds the shared_ptr it got once (what docs/operate.md recommends).
void BM_held_reference(benchmark::State& state) {
  auto& guards = shared_registry();
  fill(guards, 1000);
  const auto held = guards.gcra("api");
  for (auto _ : state)
    benchmark::DoNotOptimize(held->emission_interval());
  state.SetItemsProcessed(state.iterations());
}

// A lookup by name on every call, among 1000 other limiters.
void BM_lookup_by_name(benchmark::State& state) {
  auto& guards = shared_registry();
  fill(guards, 1000);
  for (auto _ : state)
    benchmark::DoNotOptimize(guards.gcra("api")->emission_interval());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_held_reference)->Name("registry/held_reference")->Threads(1)->Threads(2)->Threads(4);
BENCHMARK(BM_lookup_by_name)->Name("registry/lookup_by_name")->Threads(1)->Threads(2)->Threads(4);
