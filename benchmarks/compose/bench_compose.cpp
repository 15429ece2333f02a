// compose benchmarks.
//
// pipeline/*: the success path of a pipeline of retry, circuit breaker, rate limiter (GCRA,
// one clock read) and bulkhead, beside the same callable called directly, and beside the four
// guards called by hand through their own execute(). The pipeline reads the steady clock once
// per call and hands the reading to the breaker (the call's start) and the limiter; with its
// default options (60 s) the breaker reads the coarse clock at the end of the call for
// slow-call detection. Nested by hand, each guard reads its own clock: the limiter's precise
// read and the breaker's two coarse ones. The _one_clock_read row turns slow-call detection
// off (no coarse read left). guard/*: each guard alone.
// Global operator new is replaced by a counting one, and each row reports allocs_per_call.
#include <benchmark/benchmark.h>

#include <atomic>
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::uint64_t> allocations{0};
}

// Out of line, so that GCC does not pair an inlined malloc with a free and warn
// (-Wmismatched-new-delete) about the replacement itself.
[[gnu::noinline]] void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc{};
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

int work(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

struct guards {
  bulwark::retry<> retry{};
  bulwark::circuit_breaker<> breaker{};
  // Never refuses at this rate, so the row measures the admitted path.
  bulwark::gcra<> limiter{{.rate = bulwark::per_second(1'000'000'000), .burst = 1'000'000}};
  bulwark::bulkhead<> bulkhead{{.max_concurrent = 1000}};
};

// The same with the breaker's slow-call detection off (slow_calls_off): no end-of-call read,
// and the pipeline's one steady-clock read is the only clock read.
struct guards_one_clock_read {
  bulwark::retry<> retry{};
  bulwark::circuit_breaker<> breaker{{.slow_call_duration = bulwark::slow_calls_off}};
  bulwark::gcra<> limiter{{.rate = bulwark::per_second(1'000'000'000), .burst = 1'000'000}};
  bulwark::bulkhead<> bulkhead{{.max_concurrent = 1000}};
};

guards& shared_guards() {
  static guards g;
  return g;
}

void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs_per_call"] = benchmark::Counter(
      static_cast<double>(allocations.load() - before) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

void direct(benchmark::State& state) {
  int x = 0;
  const auto before = allocations.load();
  for (auto _ : state) {
    x = work(x);
    benchmark::DoNotOptimize(x);
  }
  report_allocations(state, before);
}
BENCHMARK(direct)->Name("pipeline/direct_call")->Threads(1)->Threads(2);

// The timed loop of every pipeline row: one protected call per iteration, allocations counted.
template <class Pipeline>
void run_pipeline(benchmark::State& state, Pipeline& protect) {
  int x = 0;
  const auto before = allocations.load();
  for (auto _ : state) {
    x = protect.execute(work, x);
    benchmark::DoNotOptimize(x);
  }
  report_allocations(state, before);
}

void four_guards(benchmark::State& state) {
  auto& g = shared_guards();
  bulwark::pipeline protect(g.retry, g.breaker, g.limiter, g.bulkhead);
  run_pipeline(state, protect);
}
BENCHMARK(four_guards)->Name("pipeline/retry_breaker_gcra_bulkhead")->Threads(1)->Threads(2);

void one_clock_read(benchmark::State& state) {
  static guards_one_clock_read g;
  bulwark::pipeline protect(g.retry, g.breaker, g.limiter, g.bulkhead);
  run_pipeline(state, protect);
}
BENCHMARK(one_clock_read)
    ->Name("pipeline/retry_breaker_gcra_bulkhead_one_clock_read")
    ->Threads(1)
    ->Threads(2);

void by_hand(benchmark::State& state) {
  auto& g = shared_guards();
  int x = 0;
  const auto before = allocations.load();
  for (auto _ : state) {
    x = g.retry.execute([&] {
      return g.breaker.execute(
          [&] { return g.limiter.execute([&] { return g.bulkhead.execute(work, x); }); });
    });
    benchmark::DoNotOptimize(x);
  }
  report_allocations(state, before);
}
BENCHMARK(by_hand)->Name("pipeline/nested_by_hand")->Threads(1)->Threads(2);

void one_guard(benchmark::State& state) {
  auto& g = shared_guards();
  bulwark::pipeline protect(g.bulkhead);
  run_pipeline(state, protect);
}
BENCHMARK(one_guard)->Name("pipeline/bulkhead_only")->Threads(1)->Threads(2);

}  // namespace

namespace {

// Each guard of the pipeline alone, to show where the pipeline's time goes.
template <int Which>
void single(benchmark::State& state) {
  auto& g = shared_guards();
  int x = 0;
  const auto before = allocations.load();
  for (auto _ : state) {
    if constexpr (Which == 0) x = g.retry.execute(work, x);
    if constexpr (Which == 1) x = g.breaker.execute(work, x);
    if constexpr (Which == 2) x = g.limiter.execute(work, x);
    benchmark::DoNotOptimize(x);
  }
  report_allocations(state, before);
}
BENCHMARK(single<0>)->Name("guard/retry_only");
BENCHMARK(single<1>)->Name("guard/circuit_breaker_only");
BENCHMARK(single<2>)->Name("guard/gcra_only");

}  // namespace
