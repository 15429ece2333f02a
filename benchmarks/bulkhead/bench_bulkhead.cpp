// bulkhead benchmarks.
//
// bulkhead/*: one try_acquire and its release per iteration, the bulkhead never full (the
// uncontended success path the issue targets), beside the bulkhead a user would hand-write
// with a std::mutex and a std::condition_variable, and beside C++20's std::counting_semaphore.
// Threads share one bulkhead, so the threaded rows measure contention on its one word.
//
// bulkhead/try_enter_release_codel_lifo: the same path with queue = codel_adaptive_lifo, to
// show that the disciplines (slow path only) leave the fast path as it was.
//
// adaptive/*: an adaptive limiter's try_acquire(now) and success(latency) (a lock-free
// admission and a sample under the limiter's mutex), with AIMD and Gradient2.
#include <benchmark/benchmark.h>

#include <bulwark/bulkhead.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <semaphore>

namespace {

using namespace std::chrono_literals;

// The bulkhead as a user would write it: a count under a mutex, a condition variable for
// waiters (unused on this path, but part of the type, as in a real one).
class mutex_bulkhead {
 public:
  explicit mutex_bulkhead(std::uint32_t max) : max_{max} {}
  bool try_acquire() {
    const std::lock_guard lock{mutex_};
    if (in_flight_ >= max_) return false;
    ++in_flight_;
    return true;
  }
  void release() {
    {
      const std::lock_guard lock{mutex_};
      --in_flight_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  std::uint32_t in_flight_ = 0;
  std::uint32_t max_;
};

void bulkhead_ours(benchmark::State& state) {
  static bulwark::bulkhead bulkhead({.max_concurrent = 1000});
  for (auto _ : state) {
    auto permit = bulkhead.try_acquire();
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bulkhead_ours)->Name("bulkhead/try_enter_release")->Threads(1)->Threads(2)->Threads(4);

void bulkhead_codel(benchmark::State& state) {
  static bulwark::bulkhead bulkhead(
      {.max_concurrent = 1000, .queue = bulwark::queue_discipline::codel_adaptive_lifo});
  for (auto _ : state) {
    auto permit = bulkhead.try_acquire();
    benchmark::DoNotOptimize(permit);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bulkhead_codel)
    ->Name("bulkhead/try_enter_release_codel_lifo")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void bulkhead_mutex(benchmark::State& state) {
  static mutex_bulkhead bulkhead{1000};
  for (auto _ : state) {
    const bool in = bulkhead.try_acquire();
    benchmark::DoNotOptimize(in);
    if (in) bulkhead.release();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bulkhead_mutex)->Name("bulkhead/mutex_condvar")->Threads(1)->Threads(2)->Threads(4);

void bulkhead_semaphore(benchmark::State& state) {
  static std::counting_semaphore<1000> semaphore{1000};
  for (auto _ : state) {
    const bool in = semaphore.try_acquire();
    benchmark::DoNotOptimize(in);
    if (in) semaphore.release();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bulkhead_semaphore)
    ->Name("bulkhead/std_counting_semaphore")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// A partitioned adaptive limiter (Gradient2, two partitions): admission, release and sample
// under one mutex, beside adaptive/gradient2_acquire_success's lock-free admission.
void partitioned_adaptive(benchmark::State& state) {
  static bulwark::partitioned_adaptive_limiter limiter(
      bulwark::gradient2_options{.initial_limit = 1000, .min_limit = 1000, .max_limit = 1000},
      {{"live", 0.7}, {"batch", 0.3}});
  const auto now = bulwark::steady_clock::now();
  for (auto _ : state) {
    auto permit = limiter.try_acquire(0, now);
    permit.success(1ms);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(partitioned_adaptive)
    ->Name("adaptive/partitioned_gradient2_acquire_success")
    ->Threads(1)
    ->Threads(2);

template <class Options>
void adaptive(benchmark::State& state) {
  static bulwark::adaptive_limiter limiter(
      Options{.initial_limit = 1000, .min_limit = 1000, .max_limit = 1000});
  const auto now = bulwark::steady_clock::now();
  for (auto _ : state) {
    auto permit = limiter.try_acquire(now);
    permit.success(1ms);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(adaptive<bulwark::aimd_options>)
    ->Name("adaptive/aimd_acquire_success")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(adaptive<bulwark::gradient2_options>)
    ->Name("adaptive/gradient2_acquire_success")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// throttle/*: an adaptive throttle's try_acquire(now) and accepted() per call, the backend
// accepting everything (p = 0: no draw), beside the hand-written version: a request and an
// accept counter pair under a mutex, the probability computed from them each call.
void throttle_ours(benchmark::State& state) {
  static bulwark::adaptive_throttle throttle({});
  const auto now = bulwark::steady_clock::now();
  for (auto _ : state) {
    auto permit = throttle.try_acquire(now);
    permit.accepted();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(throttle_ours)->Name("throttle/acquire_accept")->Threads(1)->Threads(2);

class mutex_throttle {
 public:
  bool try_acquire() {
    const std::lock_guard lock{mutex_};
    const double p = (static_cast<double>(requests_) - 2.0 * static_cast<double>(accepts_)) /
                     (static_cast<double>(requests_) + 1.0);
    ++requests_;
    return !(p > 0.0);
  }
  void accepted() {
    const std::lock_guard lock{mutex_};
    ++accepts_;
  }

 private:
  std::mutex mutex_;
  std::uint64_t requests_ = 0;
  std::uint64_t accepts_ = 0;
};

void throttle_mutex(benchmark::State& state) {
  static mutex_throttle throttle;
  for (auto _ : state) {
    if (throttle.try_acquire()) throttle.accepted();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(throttle_mutex)->Name("throttle/mutex_counter_pair")->Threads(1)->Threads(2);

}  // namespace
