// retry benchmarks.
//
// execute/*: the success path of bulwark::retry::execute beside the same callable called
// directly and beside the loop a user would hand-write (for + try/catch). The callable is
// trivial on purpose: the difference between rows is the executor's own cost.
//
// budget/*: retry_budget::try_spend (token style: one CAS; ratio style: a deposit and a
// withdrawal, as each retried request does) beside the same budget hand-written with a
// std::mutex, single-threaded and with threads sharing one budget.
//
// active_budget/*: active_request_budget's enter() + try_retry() and both scopes' release, as
// a retried call does, beside the same pair of counters behind a std::mutex.
#include <benchmark/benchmark.h>

#include <bulwark/core/clock.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace {

using namespace std::chrono_literals;

int work(int x) {
  benchmark::DoNotOptimize(x);
  return x + 1;
}

void execute_direct(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    x = work(x);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(execute_direct)->Name("execute/direct_call")->Threads(1)->Threads(2);

void execute_hand_loop(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) {
    for (int attempt = 1;; ++attempt) {
      try {
        x = work(x);
        break;
      } catch (const std::exception&) {
        if (attempt == 3) throw;
      }
    }
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(execute_hand_loop)->Name("execute/hand_written_loop")->Threads(1)->Threads(2);

void execute_retry(benchmark::State& state) {
  static bulwark::retry retry{};
  int x = 0;
  for (auto _ : state) {
    x = retry.execute(work, x);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(execute_retry)->Name("execute/bulwark_retry")->Threads(1)->Threads(2);

void execute_retry_deadline(benchmark::State& state) {
  static bulwark::retry retry{{.max_elapsed = 5s}};
  int x = 0;
  for (auto _ : state) {
    x = retry.execute(work, x);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(execute_retry_deadline)->Name("execute/bulwark_retry_deadline")->Threads(1)->Threads(2);

// The token budget as a user would hand-write it: a mutex around a double.
class mutex_token_budget {
 public:
  bool try_spend() {
    const std::lock_guard lock{mutex_};
    tokens_ = tokens_ > 1 ? tokens_ - 1 : 0;
    return tokens_ > max_ / 2;
  }
  void record_success() {
    const std::lock_guard lock{mutex_};
    tokens_ = tokens_ + ratio_ < max_ ? tokens_ + ratio_ : max_;
  }

 private:
  std::mutex mutex_;
  double max_ = 10, ratio_ = 0.1, tokens_ = 10;
};

// One try_spend per iteration. After the first few the count sits at zero and every call is a
// refused spend that still writes (a CAS 0 -> 0): the outage case, where the budget matters.
void budget_token(benchmark::State& state) {
  static bulwark::retry_budget budget{bulwark::token_budget_options{}};
  const bulwark::time_point now = bulwark::steady_clock::now();
  std::uint64_t granted = 0;
  for (auto _ : state) {
    granted += budget.try_spend(now) ? 1u : 0u;
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(budget_token)->Name("budget/token_try_spend")->Threads(1)->Threads(2)->Threads(4);

void budget_token_mutex(benchmark::State& state) {
  static mutex_token_budget budget;
  std::uint64_t granted = 0;
  for (auto _ : state) {
    granted += budget.try_spend() ? 1u : 0u;
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(budget_token_mutex)
    ->Name("budget/mutex_token_try_spend")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// The ratio budget: one request deposit and one try_spend per iteration, time fixed (the
// caller's clock read is shared, as the executor does).
void budget_ratio(benchmark::State& state) {
  static bulwark::retry_budget budget{bulwark::ratio_budget_options{.retry_ratio = 0.5}};
  const bulwark::time_point now = bulwark::steady_clock::now();
  std::uint64_t granted = 0;
  for (auto _ : state) {
    budget.record_request(now);
    granted += budget.try_spend(now) ? 1u : 0u;
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(budget_ratio)
    ->Name("budget/ratio_request_and_try_spend")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// The same hand-written: a mutex around a balance (no window expiry, so it does less work).
class mutex_ratio_budget {
 public:
  void record_request() {
    const std::lock_guard lock{mutex_};
    balance_ += 0.5;
  }
  bool try_spend() {
    const std::lock_guard lock{mutex_};
    if (balance_ < 1) return false;
    balance_ -= 1;
    return true;
  }

 private:
  std::mutex mutex_;
  double balance_ = 100;
};

void budget_ratio_mutex(benchmark::State& state) {
  static mutex_ratio_budget budget;
  std::uint64_t granted = 0;
  for (auto _ : state) {
    budget.record_request();
    granted += budget.try_spend() ? 1u : 0u;
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(budget_ratio_mutex)
    ->Name("budget/mutex_ratio_request_and_try_spend")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

// The concurrency budget as a user would hand-write it: a mutex around the two counts.
class mutex_active_budget {
 public:
  void enter() {
    const std::lock_guard lock{mutex_};
    ++requests_;
  }
  void leave() {
    const std::lock_guard lock{mutex_};
    --requests_;
  }
  bool try_retry() {
    const std::lock_guard lock{mutex_};
    const auto share = static_cast<std::uint64_t>(0.2 * static_cast<double>(requests_));
    if (retries_ >= (share > 3 ? share : 3)) return false;
    ++retries_;
    return true;
  }
  void retry_done() {
    const std::lock_guard lock{mutex_};
    --retries_;
  }

 private:
  std::mutex mutex_;
  std::uint64_t requests_ = 0;
  std::uint64_t retries_ = 0;
};

// One request and one retry per iteration, both ended before the next (Envoy's defaults, so
// up to 3 threads are always granted).
void active_budget_ours(benchmark::State& state) {
  static bulwark::active_request_budget budget{};
  std::uint64_t granted = 0;
  for (auto _ : state) {
    auto request = budget.enter();
    auto retry = budget.try_retry();
    granted += retry ? 1u : 0u;
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(active_budget_ours)
    ->Name("active_budget/enter_try_retry")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

void active_budget_mutex(benchmark::State& state) {
  static mutex_active_budget budget;
  std::uint64_t granted = 0;
  for (auto _ : state) {
    budget.enter();
    if (budget.try_retry()) {
      ++granted;
      budget.retry_done();
    }
    budget.leave();
  }
  benchmark::DoNotOptimize(granted);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(active_budget_mutex)
    ->Name("active_budget/mutex_counter_pair")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4);

}  // namespace
