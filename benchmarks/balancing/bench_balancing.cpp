// pick + complete for each balancer at 10 and 1000 endpoints, single-threaded and with 2 and
// 4 threads sharing one balancer, beside the baselines a user would hand-write: a round robin
// over a std::vector behind a std::mutex, and P2C over per-endpoint atomic counters in a
// std::vector behind a std::mutex (so that the set can be swapped, as ours can).

#include <benchmark/benchmark.h>

#include <atomic>
#include <bulwark/balancing.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

std::vector<bulwark::endpoint> make_endpoints(std::int64_t n) {
  std::vector<bulwark::endpoint> out;
  for (std::int64_t i = 0; i < n; ++i)
    out.push_back({.id = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                   .weight = static_cast<std::uint32_t>(1 + i % 4)});
  return out;
}

// One balancer per (policy, size), shared by the threads of a run.
template <class Policy>
bulwark::load_balancer<Policy>& shared(std::int64_t n) {
  static bulwark::load_balancer<Policy> ten{make_endpoints(10)};
  static bulwark::load_balancer<Policy> thousand{make_endpoints(1000)};
  return n == 10 ? ten : thousand;
}

template <class Policy>
void bm_pick_complete(benchmark::State& state) {
  auto& lb = shared<Policy>(state.range(0));
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  const auto latency = std::chrono::microseconds{500};
  for (auto _ : state) {
    auto h = lb.pick(rng);
    benchmark::DoNotOptimize(h.get());
    h.success(latency);
  }
  state.SetItemsProcessed(state.iterations());
}

// named_policy: a policy chosen by name (range(1) indexes named_policy::names()), beside its
// type's own row: the cost of choosing at run time is one switch per pick.
void bm_named_policy(benchmark::State& state) {
  static std::mutex building;
  static std::map<std::pair<std::int64_t, std::int64_t>,
                  std::unique_ptr<bulwark::load_balancer<bulwark::named_policy>>>
      balancers;
  bulwark::load_balancer<bulwark::named_policy>* lb = nullptr;
  {
    const std::lock_guard<std::mutex> lock{building};
    auto& slot = balancers[{state.range(0), state.range(1)}];
    if (!slot) {
      const auto name = bulwark::named_policy::names()[static_cast<std::size_t>(state.range(1))];
      slot = std::make_unique<bulwark::load_balancer<bulwark::named_policy>>(
          make_endpoints(state.range(0)), bulwark::balancer_options{}, bulwark::named_policy{name});
    }
    lb = slot.get();
  }
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  const auto latency = std::chrono::microseconds{500};
  for (auto _ : state) {
    auto h = lb->pick(rng);
    benchmark::DoNotOptimize(h.get());
    h.success(latency);
  }
  state.SetItemsProcessed(state.iterations());
}

// Baseline 1: round robin over a vector under a mutex (what a hand-written client does).
struct mutex_round_robin {
  std::mutex mutex;
  std::vector<bulwark::endpoint> endpoints;
  std::size_t next = 0;
  const bulwark::endpoint& pick() {
    const std::lock_guard<std::mutex> lock{mutex};
    return endpoints[next++ % endpoints.size()];
  }
};

// Baseline 2: P2C with per-endpoint atomic counters, the set behind a mutex.
struct mutex_p2c {
  std::mutex mutex;
  std::vector<bulwark::endpoint> endpoints;
  std::unique_ptr<std::atomic<std::uint32_t>[]> outstanding;
  std::size_t pick(bulwark::fast_rng& rng) {
    const std::lock_guard<std::mutex> lock{mutex};
    const auto n = endpoints.size();
    const auto a = bulwark::uniform_below(rng, n);
    auto b = bulwark::uniform_below(rng, n - 1);
    if (b >= a) ++b;
    const auto i = outstanding[b].load(std::memory_order_relaxed) <
                           outstanding[a].load(std::memory_order_relaxed)
                       ? b
                       : a;
    outstanding[i].fetch_add(1, std::memory_order_relaxed);
    return i;
  }
  void complete(std::size_t i) { outstanding[i].fetch_sub(1, std::memory_order_relaxed); }
};

// Built in place (a mutex cannot move), one per size.
template <class T>
T& baseline(std::int64_t n) {
  const auto make = [](T& t, std::size_t size) {
    t.endpoints = make_endpoints(static_cast<std::int64_t>(size));
    if constexpr (requires { t.outstanding; })
      t.outstanding = std::make_unique<std::atomic<std::uint32_t>[]>(size);
  };
  static T ten;
  static T thousand;
  static std::once_flag once;
  std::call_once(once, [&] {
    make(ten, 10);
    make(thousand, 1000);
  });
  return n == 10 ? ten : thousand;
}

void bm_baseline_mutex_round_robin(benchmark::State& state) {
  auto& lb = baseline<mutex_round_robin>(state.range(0));
  for (auto _ : state)
    benchmark::DoNotOptimize(&lb.pick());
  state.SetItemsProcessed(state.iterations());
}

void bm_baseline_mutex_p2c(benchmark::State& state) {
  auto& lb = baseline<mutex_p2c>(state.range(0));
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  for (auto _ : state) {
    const auto i = lb.pick(rng);
    benchmark::DoNotOptimize(i);
    lb.complete(i);
  }
  state.SetItemsProcessed(state.iterations());
}

// Sticky: pick_for(key) with a fresh key each time (hash64 and jump hash).
void bm_sticky(benchmark::State& state) {
  auto& lb = shared<bulwark::sticky>(state.range(0));
  std::uint64_t key = static_cast<std::uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    auto h = lb.pick_for(++key);
    benchmark::DoNotOptimize(h.get());
    h.success(std::chrono::microseconds{500});
  }
  state.SetItemsProcessed(state.iterations());
}

// Locality and priority: 3 priorities x 3 zones x 10 endpoints, with 3 of each P0 zone's
// endpoints down (P0 health 98: 98% of picks stay at P0), beside plain round robin over the
// same 90 endpoints in one balancer. Arg: 0 = priority only, 1 = locality weights.
// Built with append: GCC 12 reports a false -Wrestrict on chained operator+ here.
std::string tiered_id(int p, int z, int i) {
  std::string id = "p";
  id.append(std::to_string(p)).append("z").append(std::to_string(z)).append("-");
  id.append(std::to_string(i));
  return id;
}

std::vector<bulwark::endpoint> tiered_endpoints() {
  std::vector<bulwark::endpoint> out;
  for (int p = 0; p < 3; ++p)
    for (int z = 0; z < 3; ++z)
      for (int i = 0; i < 10; ++i) {
        bulwark::endpoint e{.id = tiered_id(p, z, i)};
        e.zone = std::string{"z"}.append(std::to_string(z));
        e.priority = static_cast<std::uint32_t>(p);
        out.push_back(std::move(e));
      }
  return out;
}

template <class LB>
void mark_tiered_down(LB& lb) {
  for (int z = 0; z < 3; ++z)
    for (int i = 0; i < 3; ++i)
      lb.set_healthy(tiered_id(0, z, i), false);
}

using locality_rr = bulwark::locality_aware<bulwark::round_robin>;

void bm_locality_aware(benchmark::State& state) {
  static auto make = [](bool weighted) {
    bulwark::locality_options o;
    if (weighted)
      o.locality_weights = {{{.zone = "z0"}, 1}, {{.zone = "z1"}, 2}, {{.zone = "z2"}, 3}};
    auto lb = std::make_unique<bulwark::load_balancer<locality_rr>>(
        tiered_endpoints(), bulwark::balancer_options{}, locality_rr{o});
    mark_tiered_down(*lb);
    return lb;
  };
  static auto plain = make(false);
  static auto weighted = make(true);
  auto& lb = state.range(0) == 0 ? *plain : *weighted;
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  for (auto _ : state) {
    auto h = lb.pick(rng);
    benchmark::DoNotOptimize(h.get());
    h.success(std::chrono::microseconds{500});
  }
  state.SetItemsProcessed(state.iterations());
}

void bm_locality_baseline_round_robin(benchmark::State& state) {
  static auto lb = [] {
    auto b = std::make_unique<bulwark::load_balancer<bulwark::round_robin>>(tiered_endpoints());
    mark_tiered_down(*b);
    return b;
  }();
  bulwark::fast_rng rng{static_cast<std::uint64_t>(state.thread_index()) + 1};
  for (auto _ : state) {
    auto h = lb->pick(rng);
    benchmark::DoNotOptimize(h.get());
    h.success(std::chrono::microseconds{500});
  }
  state.SetItemsProcessed(state.iterations());
}

void sizes_and_threads(benchmark::internal::Benchmark* b) {
  b->Arg(10)->Arg(1000)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
}

}  // namespace

BENCHMARK(bm_baseline_mutex_round_robin)
    ->Name("baseline/mutex_round_robin")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_baseline_mutex_p2c)->Name("baseline/mutex_p2c")->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::round_robin>)->Name("round_robin")->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::power_of_two>)->Name("power_of_two")->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::p2c_peak_ewma>)
    ->Name("p2c_peak_ewma")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::stride_round_robin>)
    ->Name("stride_round_robin")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::weighted_round_robin>)
    ->Name("weighted_round_robin")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::weighted_random>)
    ->Name("weighted_random")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::random_choice>)
    ->Name("random_choice")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_pick_complete<bulwark::least_outstanding>)
    ->Name("least_outstanding")
    ->Apply(sizes_and_threads);
BENCHMARK(bm_sticky)->Name("sticky")->Apply(sizes_and_threads);
// names()[0] is round_robin, names()[7] p2c_peak_ewma: compare with those rows.
BENCHMARK(bm_named_policy)
    ->Name("named_policy")
    ->Args({10, 0})
    ->Args({10, 7})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(bm_locality_baseline_round_robin)
    ->Name("locality/baseline_round_robin_90")
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK(bm_locality_aware)
    ->Name("locality/priority_3x3x10")
    ->Arg(0)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK(bm_locality_aware)
    ->Name("locality/weighted_3x3x10")
    ->Arg(1)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();
