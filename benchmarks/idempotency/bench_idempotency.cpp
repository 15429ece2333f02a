// idempotency benchmarks: a replay hit and a first execution through idempotency_executor over
// memory_store, beside the baseline a user would hand-write: one std::mutex around a
// std::unordered_map<std::string, record>, with the same checks (TTL by a clock read,
// fingerprint compare, bounded by a FIFO of keys).
//
// Rows: replay/<impl> and first_execution/<impl>, impl bulwark or mutex_map, each at 1, 2 and
// 4 threads. Threads work on the same store (or the same baseline map); replays start at
// different keys of the same 1024, first executions each have their own keys, so the keys are
// spread over memory_store's shards. calibration/independent_work runs at 1, 2 and 4 threads
// too, sharing nothing: its 2-thread items/s over its 1-thread items/s is how much parallelism
// the machine actually gave during the run (2 on idle cores), the ceiling for any 2-thread row.
#include <benchmark/benchmark.h>

#include <bulwark/core/clock.hpp>
#include <bulwark/core/hash.hpp>
#include <bulwark/idempotency.hpp>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct receipt {
  std::uint64_t id = 0;
  std::int64_t amount = 0;
};

constexpr std::string_view scope = "t1";
constexpr std::string_view canonical = "amount=500&currency=EUR";
constexpr std::size_t replay_keys = 1024;
constexpr std::size_t bound = 4096;        // records kept; first executions evict beyond it
constexpr std::size_t key_ring = 1 << 16;  // per thread; a key comes back only once evicted

// Short keys ("k-00000123"), so that the baseline's std::string key ("t1:k-00000123") stays
// within the small-string buffer and allocates nothing: the comparison is of the structures.
std::vector<std::string> make_keys(std::size_t count, std::size_t thread) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string k = "k-" + std::to_string(thread) + "-" + std::to_string(i);
    keys.push_back(std::move(k));
  }
  return keys;
}

// ---- calibration: work that shares nothing between threads ---------------------------------

void independent_work(benchmark::State& state) {
  const std::string bytes = std::string{canonical} + std::to_string(state.thread_index());
  std::uint64_t seed = 0;
  for (auto _ : state) {
    seed = bulwark::hash64(bytes, seed);
    benchmark::DoNotOptimize(seed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(independent_work)
    ->Name("calibration/independent_work")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

// ---- bulwark -------------------------------------------------------------------------------

using store_t = bulwark::memory_store<receipt>;
using exec_t = bulwark::idempotency_executor<store_t>;

struct bulwark_world {
  store_t store{
      {.max_entries = bound, .hash_seed = 0}};  // a fixed seed: the same placement every run
  exec_t exec{store};
};

bulwark_world& replay_world() {
  static bulwark_world* world = [] {
    auto* w = new bulwark_world;
    for (const auto& k : make_keys(replay_keys, 0)) {
      w->exec.execute({scope, k}, canonical, [] { return receipt{1, 500}; });
    }
    return w;
  }();
  return *world;
}

void replay_bulwark(benchmark::State& state) {
  auto& world = replay_world();
  const auto keys = make_keys(replay_keys, 0);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  for (auto _ : state) {
    auto r = world.exec.execute({scope, keys[i++ % replay_keys]}, canonical, [] {
      return receipt{2, 0};
    });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(replay_bulwark)
    ->Name("replay/bulwark")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

// The same replay with the store reading steady_clock (about 20 ns a read here) instead of its
// default coarse_clock: what the default saves.
void replay_bulwark_steady_clock(benchmark::State& state) {
  static auto* store = new bulwark::memory_store<receipt, bulwark::steady_clock>(
      {.max_entries = bound, .hash_seed = 0});
  static auto* exec = [] {
    auto* e =
        new bulwark::idempotency_executor<bulwark::memory_store<receipt, bulwark::steady_clock>>(
            *store);
    for (const auto& k : make_keys(replay_keys, 0)) {
      e->execute({scope, k}, canonical, [] { return receipt{1, 500}; });
    }
    return e;
  }();
  const auto keys = make_keys(replay_keys, 0);
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = exec->execute({scope, keys[i++ % replay_keys]}, canonical, [] {
      return receipt{2, 0};
    });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(replay_bulwark_steady_clock)->Name("replay/bulwark_steady_clock");

void first_execution_bulwark(benchmark::State& state) {
  static bulwark_world world;
  const auto keys = make_keys(key_ring, static_cast<std::size_t>(state.thread_index()));
  std::size_t i = 0;
  std::uint64_t id = 0;
  for (auto _ : state) {
    auto r = world.exec.execute({scope, keys[i++ % key_ring]}, canonical, [&] {
      return receipt{++id, 500};
    });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(first_execution_bulwark)
    ->Name("first_execution/bulwark")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

// ---- baseline: one mutex, one map ----------------------------------------------------------

// Clock is the one the TTL check reads: coarse_clock in the main rows, as memory_store's
// default, so that both sides do the same work; steady_clock beside replay/bulwark_steady_clock.
template <class Clock>
class mutex_map_executor {
 public:
  template <class F>
  std::pair<receipt, bool> execute(std::string_view s, std::string_view key,
                                   std::string_view canonical_request, F&& f) {
    std::string id{s};
    id += ':';
    id += key;
    const std::uint64_t fingerprint = bulwark::hash64(canonical_request);
    const auto now = Clock::now();
    {
      std::lock_guard lock{mutex_};
      auto it = records_.find(id);
      if (it != records_.end() && now < it->second.deadline) {
        if (it->second.fingerprint != fingerprint) throw std::runtime_error("key reused");
        if (!it->second.value) throw std::runtime_error("in progress");
        return {*it->second.value, true};
      }
      if (it == records_.end()) {
        if (records_.size() >= bound) {  // evict the oldest key (here: the oldest insertion)
          records_.erase(order_.front());
          order_.pop_front();
        }
        it = records_.emplace(id, record{}).first;
        order_.push_back(id);
      }
      it->second = record{fingerprint, now + 60s, std::nullopt};
    }
    receipt value = f();
    std::lock_guard lock{mutex_};
    auto it = records_.find(id);
    if (it != records_.end()) {  // another thread's insert may have evicted it meanwhile
      it->second.value = value;
      it->second.deadline = Clock::now() + 24h;
    }
    return {value, false};
  }

 private:
  struct record {
    std::uint64_t fingerprint = 0;
    bulwark::time_point deadline{};
    std::optional<receipt> value{};
  };
  std::mutex mutex_;
  std::unordered_map<std::string, record> records_;
  std::deque<std::string> order_;
};

template <class Clock>
mutex_map_executor<Clock>& replay_baseline() {
  static mutex_map_executor<Clock>* world = [] {
    auto* w = new mutex_map_executor<Clock>;
    for (const auto& k : make_keys(replay_keys, 0)) {
      w->execute(scope, k, canonical, [] { return receipt{1, 500}; });
    }
    return w;
  }();
  return *world;
}

template <class Clock>
void replay_mutex_map(benchmark::State& state) {
  auto& world = replay_baseline<Clock>();
  const auto keys = make_keys(replay_keys, 0);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 97;
  for (auto _ : state) {
    auto r = world.execute(scope, keys[i++ % replay_keys], canonical, [] { return receipt{2, 0}; });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(replay_mutex_map<bulwark::coarse_clock>)
    ->Name("replay/mutex_map")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

BENCHMARK(replay_mutex_map<bulwark::steady_clock>)->Name("replay/mutex_map_steady_clock");

void first_execution_mutex_map(benchmark::State& state) {
  static mutex_map_executor<bulwark::coarse_clock> world;
  const auto keys = make_keys(key_ring, static_cast<std::size_t>(state.thread_index()) + 8);
  std::size_t i = 0;
  std::uint64_t id = 0;
  for (auto _ : state) {
    auto r = world.execute(scope, keys[i++ % key_ring], canonical, [&] {
      return receipt{++id, 500};
    });
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(first_execution_mutex_map)
    ->Name("first_execution/mutex_map")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

}  // namespace
