// bench_rate_limit: try_acquire of bulwark's limiters beside a std::mutex token bucket written
// the way a user would (reading the clock under its lock), single-threaded and contended.
// The floor rows (clock reads, CAS, mutex) come from benchmarks/support in the same binary.
//
// Rates are set so high that the limiters admit on nearly every call: a refusal is cheaper
// (no write), so an admitting workload is the honest worst case.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <bulwark/rate_limit.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "plain_gcra.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

using namespace std::chrono_literals;

constexpr auto fast = bulwark::per_second(1'000'000'000);  // one per ns: always admits

// The baseline: a token bucket as it is usually hand-written, tokens as a double refilled
// from the elapsed time, all under one mutex, the clock read inside the critical section.
class mutex_token_bucket {
 public:
  mutex_token_bucket(double per_second, double capacity)
      : rate_{per_second},
        capacity_{capacity},
        tokens_{capacity},
        last_{std::chrono::steady_clock::now()} {}
  bool try_acquire(double cost = 1.0) {
    const std::lock_guard lock{mutex_};
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

 private:
  std::mutex mutex_;
  double rate_, capacity_, tokens_;
  std::chrono::steady_clock::time_point last_;
};

void plain_gcra_steady(benchmark::State& state) {
  static bench::plain_gcra limiter{1, 1'000'000};
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.try_acquire());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(plain_gcra_steady)->Name("try_acquire/plain_cas_gcra/steady_clock")->Threads(1);

void plain_gcra_now(benchmark::State& state) {
  static bench::plain_gcra limiter{1, 1'000'000};
  auto now = bulwark::steady_clock::now().time_since_epoch().count();
  for (auto _ : state) {
    now += 1;
    benchmark::DoNotOptimize(limiter.try_acquire(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(plain_gcra_now)->Name("try_acquire/plain_cas_gcra/caller_now")->Threads(1);

// One limiter shared by every thread of a benchmark (Google Benchmark runs the threads of one
// registration together; the static is built once, thread-safe, before the first iteration).
template <class Limiter, class Make>
Limiter& shared(Make make) {
  static Limiter limiter{make()};
  return limiter;
}

void mutex_baseline(benchmark::State& state) {
  static mutex_token_bucket bucket{1e9, 1e6};
  for (auto _ : state)
    benchmark::DoNotOptimize(bucket.try_acquire());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(mutex_baseline)
    ->Name("try_acquire/mutex_token_bucket")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

template <class Limiter>
void acquire_clock(benchmark::State& state, Limiter& limiter) {
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.try_acquire());
  state.SetItemsProcessed(state.iterations());
}

template <class Limiter>
void acquire_now(benchmark::State& state, Limiter& limiter) {
  // The caller's own `now`, advanced as a real clock would, with no clock read per call.
  auto now = bulwark::steady_clock::now();
  for (auto _ : state) {
    now += 1ns;
    benchmark::DoNotOptimize(limiter.try_acquire(1, now));
  }
  state.SetItemsProcessed(state.iterations());
}

void gcra_steady(benchmark::State& state) {
  static bulwark::gcra<> limiter({.rate = fast, .burst = 1'000'000});
  acquire_clock(state, limiter);
}
BENCHMARK(gcra_steady)->Name("try_acquire/gcra/steady_clock")->Threads(1)->Threads(2)->Threads(4);

void gcra_coarse(benchmark::State& state) {
  static bulwark::gcra<bulwark::coarse_clock> limiter({.rate = fast, .burst = 1'000'000});
  acquire_clock(state, limiter);
}
BENCHMARK(gcra_coarse)->Name("try_acquire/gcra/coarse_clock")->Threads(1)->Threads(2)->Threads(4);

void gcra_now(benchmark::State& state) {
  static bulwark::gcra<> limiter({.rate = fast, .burst = 1'000'000});
  acquire_now(state, limiter);
}
BENCHMARK(gcra_now)->Name("try_acquire/gcra/caller_now")->Threads(1);

void token_bucket_steady(benchmark::State& state) {
  static bulwark::token_bucket<> limiter({.rate = fast, .capacity = 1'000'000});
  acquire_clock(state, limiter);
}
BENCHMARK(token_bucket_steady)
    ->Name("try_acquire/token_bucket/steady_clock")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void token_bucket_coarse(benchmark::State& state) {
  static bulwark::token_bucket<bulwark::coarse_clock> limiter(
      {.rate = fast, .capacity = 1'000'000});
  acquire_clock(state, limiter);
}
BENCHMARK(token_bucket_coarse)
    ->Name("try_acquire/token_bucket/coarse_clock")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void token_bucket_now(benchmark::State& state) {
  static bulwark::token_bucket<> limiter({.rate = fast, .capacity = 1'000'000});
  acquire_now(state, limiter);
}
BENCHMARK(token_bucket_now)->Name("try_acquire/token_bucket/caller_now")->Threads(1);

void fixed_window_coarse(benchmark::State& state) {
  static bulwark::fixed_window<bulwark::coarse_clock> limiter(
      {.limit = 4'000'000'000u, .window = 1s});
  acquire_clock(state, limiter);
}
BENCHMARK(fixed_window_coarse)
    ->Name("try_acquire/fixed_window/coarse_clock")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void sliding_counter_coarse(benchmark::State& state) {
  static bulwark::sliding_window_counter<bulwark::coarse_clock> limiter(
      {.limit = bulwark::sliding_window_counter<>::max_limit, .window = 1ms});
  acquire_clock(state, limiter);
}
BENCHMARK(sliding_counter_coarse)
    ->Name("try_acquire/sliding_window_counter/coarse_clock")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void sliding_log_steady(benchmark::State& state) {
  static bulwark::sliding_window_log<> limiter({.limit = 1'000'000, .window = 1ms});
  acquire_clock(state, limiter);
}
BENCHMARK(sliding_log_steady)
    ->Name("try_acquire/sliding_window_log/steady_clock")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void smooth_warmup_steady(benchmark::State& state) {
  static bulwark::smooth_warmup<> limiter({.rate = fast, .warmup_period = 1ms});
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.try_acquire_for(1, 1ms));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(smooth_warmup_steady)
    ->Name("try_acquire_for/smooth_warmup/steady_clock")
    ->Threads(1)
    ->Threads(2);

void leaky_bucket_steady(benchmark::State& state) {
  static bulwark::leaky_bucket<> limiter({.rate = fast, .capacity = 1'000'000});
  acquire_clock(state, limiter);
}
BENCHMARK(leaky_bucket_steady)->Name("try_acquire/leaky_bucket/steady_clock")->Threads(1);

// The keyed limiter over 1M distinct keys, visited in a random order (a cache miss per call,
// as a real client population gives), each key a gcra.
constexpr std::uint64_t million = 1'000'000;
using keyed = bulwark::keyed_limiter<bulwark::gcra<>, std::uint64_t>;

keyed& keyed_million() {
  static keyed limiter{{.rate = bulwark::per_second(1000), .burst = 100},
                       {.max_keys = million + million / 4, .idle_timeout = std::chrono::hours{1}}};
  static const bool filled = [] {
    for (std::uint64_t k = 0; k < million; ++k)
      (void)limiter.try_acquire(k);
    return true;
  }();
  (void)filled;
  return limiter;
}

void keyed_1m(benchmark::State& state) {
  keyed& limiter = keyed_million();
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  for (auto _ : state)
    benchmark::DoNotOptimize(limiter.try_acquire(bulwark::uniform_below(rng, million)));
  state.SetItemsProcessed(state.iterations());
  state.counters["keys"] =
      benchmark::Counter(static_cast<double>(limiter.size()), benchmark::Counter::kAvgThreads);
}
BENCHMARK(keyed_1m)->Name("try_acquire/keyed_gcra/1M_keys")->Threads(1)->Threads(2)->Threads(4);

// The same with the caller's `now` (no clock read per call): the table's own cost.
void keyed_1m_now(benchmark::State& state) {
  keyed& limiter = keyed_million();
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  auto now = bulwark::steady_clock::now();
  for (auto _ : state) {
    now += 1ns;
    benchmark::DoNotOptimize(limiter.try_acquire(bulwark::uniform_below(rng, million), 1, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(keyed_1m_now)->Name("try_acquire/keyed_gcra/1M_keys/caller_now")->Threads(1);

// The baseline for the keyed rows: what a user would hand-write, one std::mutex around a
// std::unordered_map from the key to a token bucket (a double of tokens and the last refill
// time, the clock read under the lock), with no bound on the keys.
class mutex_keyed_buckets {
 public:
  mutex_keyed_buckets(double per_second, double capacity)
      : rate_{per_second}, capacity_{capacity} {}
  bool try_acquire(std::uint64_t key, double cost = 1.0) {
    const std::lock_guard lock{mutex_};
    const auto now = std::chrono::steady_clock::now();
    auto [it, inserted] = buckets_.try_emplace(key, bucket{capacity_, now});
    bucket& b = it->second;
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.last = now;
    b.tokens = std::min(capacity_, b.tokens + elapsed * rate_);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }
  std::size_t size() {
    const std::lock_guard lock{mutex_};
    return buckets_.size();
  }

 private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mutex_;
  double rate_, capacity_;
  std::unordered_map<std::uint64_t, bucket> buckets_;
};

mutex_keyed_buckets& mutex_keyed_million() {
  static mutex_keyed_buckets buckets{1000, 100};
  static const bool filled = [] {
    for (std::uint64_t k = 0; k < million; ++k)
      (void)buckets.try_acquire(k);
    return true;
  }();
  (void)filled;
  return buckets;
}

void keyed_mutex_baseline(benchmark::State& state) {
  mutex_keyed_buckets& buckets = mutex_keyed_million();
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  for (auto _ : state)
    benchmark::DoNotOptimize(buckets.try_acquire(bulwark::uniform_below(rng, million)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(keyed_mutex_baseline)
    ->Name("try_acquire/keyed_mutex_unordered_map/1M_keys")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// Bytes per key: heap growth (glibc's mallinfo2, the arena and the mmap'd blocks together:
// a large table is mmap'd) while 1M keys are inserted, over the count.
void keyed_bytes_per_key(benchmark::State& state) {
  for (auto _ : state) {
#if defined(__GLIBC__)
    const auto heap = [] {
      const auto info = mallinfo2();
      return info.uordblks + info.hblkhd;
    };
    const auto before = heap();
    auto* limiter =
        new keyed{{.rate = bulwark::per_second(1000), .burst = 100},
                  {.max_keys = million + million / 4, .idle_timeout = std::chrono::hours{1}}};
    for (std::uint64_t k = 0; k < million; ++k)
      (void)limiter->try_acquire(k);
    const auto after = heap();
    state.counters["bytes_per_key"] =
        static_cast<double>(after - before) / static_cast<double>(million);
    state.counters["bytes_per_key_at_max_load"] = static_cast<double>(keyed::bytes_per_key());
    state.counters["slot_bytes"] = static_cast<double>(keyed::slot_bytes());
    delete limiter;
#endif
  }
}
BENCHMARK(keyed_bytes_per_key)->Name("memory/keyed_gcra/1M_keys")->Iterations(1);

}  // namespace
