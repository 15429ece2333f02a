// Registrations of the floor rows described in floor.hpp.
#include "floor.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <bulwark/core/clock.hpp>
#include <cstdint>
#include <mutex>
#include <thread>

namespace {

// glibc takes a single-threaded fast path (no atomic instruction) in pthread_mutex_lock and
// friends until the process first creates a thread, and it never goes back. A service has
// threads, and so do the threaded rows of every area; starting (and joining) one thread before
// any benchmark runs makes the mutex rows and every mutex baseline measure what a service pays.
// Without it this machine showed a lock/unlock pair cheaper than one CAS.
const bool process_is_multithreaded = [] {
  std::thread([] {}).join();
  return true;
}();

void steady_clock_now(benchmark::State& state) {
  for (auto _ : state) {
    // DoNotOptimize on the result keeps the read; now() is an opaque vDSO call anyway.
    auto t = bulwark::steady_clock::now();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(steady_clock_now)->Name("floor/steady_clock_now");

void coarse_clock_now(benchmark::State& state) {
  for (auto _ : state) {
    auto t = bulwark::coarse_clock::now();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(coarse_clock_now)->Name("floor/coarse_clock_now");

void cas_uncontended(benchmark::State& state) {
  std::atomic<std::uint64_t> word{0};
  std::uint64_t expected = 0;
  for (auto _ : state) {
    // One locked compare-exchange per iteration, always succeeding: the shape of a limiter's
    // CAS loop when nobody races it. acq_rel matches what such loops use; on x86 every
    // ordering compiles to the same lock cmpxchg.
    const bool swapped = word.compare_exchange_strong(
        expected, expected + 1, std::memory_order_acq_rel, std::memory_order_relaxed);
    benchmark::DoNotOptimize(swapped);
    if (swapped) expected += 1;  // on failure compare_exchange already loaded the current value
  }
  // Reading the word after the loop ties the CAS results to an observable value.
  auto final_value = word.load(std::memory_order_relaxed);
  benchmark::DoNotOptimize(final_value);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(cas_uncontended)->Name("floor/cas_uncontended");

void mutex_lock_unlock(benchmark::State& state) {
  std::mutex mutex;
  for (auto _ : state) {
    mutex.lock();
    // An empty critical section; ClobberMemory stops the compiler from treating it as one
    // it may merge with the next iteration's.
    benchmark::ClobberMemory();
    mutex.unlock();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(mutex_lock_unlock)->Name("floor/mutex_lock_unlock");

}  // namespace
