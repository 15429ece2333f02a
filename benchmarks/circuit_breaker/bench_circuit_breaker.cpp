// circuit_breaker benchmarks: a permitted-and-recorded call in the closed state, beside the
// same call made directly and through a std::mutex breaker written the way a user (or
// gobreaker) would: one lock to ask permission, one to record the outcome.
//
// Rows (items/s = guarded calls per second; all threads share one breaker):
//   direct/call                    the call alone: the floor of every row below
//   breaker/count                  count window, slow-call detection off: no clock read
//   breaker/count_slow_detection   count window, resilience4j defaults: two clock reads
//   breaker/time                   time window, slow detection off: one coarse clock read
//   mutex/count                    the std::mutex baseline, count window
#include <benchmark/benchmark.h>

#include <bulwark/circuit_breaker.hpp>
#include <cstdint>
#include <mutex>
#include <vector>

namespace {

// The guarded work: small, opaque to the optimiser, and the same in every row.
[[gnu::noinline]] int call(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

// The hand-written baseline: closed/open state, a ring of the last N outcomes and running
// totals under one mutex, the threshold checked on every record.
class mutex_breaker {
 public:
  explicit mutex_breaker(std::size_t size) : ring_(size, 0) {}
  bool allow() {
    std::lock_guard lock{mutex_};
    return !open_;
  }
  void record(bool failed) {
    std::lock_guard lock{mutex_};
    auto& slot = ring_[head_];
    head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
    if (slot != 0) {
      --calls_;
      if (slot == 2) --failed_;
    }
    slot = failed ? 2 : 1;
    ++calls_;
    if (failed) ++failed_;
    if (calls_ >= ring_.size() && failed_ * 2 >= calls_) open_ = true;
  }

 private:
  std::mutex mutex_;
  std::vector<std::uint8_t> ring_;
  std::size_t head_ = 0;
  std::size_t calls_ = 0;
  std::size_t failed_ = 0;
  bool open_ = false;
};

template <class Breaker>
void run_breaker(benchmark::State& state, Breaker& breaker) {
  int x = 0;
  for (auto _ : state) {
    auto permit = breaker.try_acquire();
    if (permit) {
      x = call(x);
      permit.success();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void direct_call(benchmark::State& state) {
  int x = 0;
  for (auto _ : state)
    x = call(x);
  state.SetItemsProcessed(state.iterations());
}

void breaker_count(benchmark::State& state) {
  static bulwark::circuit_breaker breaker({.slow_call_duration = bulwark::slow_calls_off});
  run_breaker(state, breaker);
}

void breaker_count_slow_detection(benchmark::State& state) {
  static bulwark::circuit_breaker breaker{bulwark::circuit_breaker_options{}};
  run_breaker(state, breaker);
}

void breaker_time(benchmark::State& state) {
  static bulwark::circuit_breaker breaker({.slow_call_duration = bulwark::slow_calls_off,
                                           .window_type = bulwark::sliding_window::time_based,
                                           .window_size = 10});
  run_breaker(state, breaker);
}

void mutex_count(benchmark::State& state) {
  static mutex_breaker breaker{100};
  int x = 0;
  for (auto _ : state) {
    if (breaker.allow()) {
      x = call(x);
      breaker.record(false);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(direct_call)->Name("direct/call")->Threads(1)->Threads(2)->Threads(4);
BENCHMARK(breaker_count)->Name("breaker/count")->Threads(1)->Threads(2)->Threads(4);
BENCHMARK(breaker_count_slow_detection)
    ->Name("breaker/count_slow_detection")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);
BENCHMARK(breaker_time)->Name("breaker/time")->Threads(1)->Threads(2)->Threads(4);
BENCHMARK(mutex_count)->Name("mutex/count")->Threads(1)->Threads(2)->Threads(4);
