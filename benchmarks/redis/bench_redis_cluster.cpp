// bench_redis (cluster rows): a redis_gcra decision and a redis_store try_begin + release
// through redis_cluster_client against a 3-master Redis Cluster on loopback, beside the same
// operations through redis_client against one standalone redis-server (the baseline), both
// started by this binary. Each row also counts the commands sent per operation (the clients'
// own counters), so the round trips a cluster adds are counted, not inferred from time.

#include <benchmark/benchmark.h>

#include <bulwark/redis.hpp>
#include <bulwark/redis/cluster_client.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../../tests/redis/redis_cluster.hpp"
#include "../../tests/redis/redis_server.hpp"

namespace {

// Built once, in one constructor (see bench_redis.cpp's fleet: safe under a multi-threaded
// start); destroyed in reverse order: components, clients, then the servers.
struct cluster_fleet {
  static constexpr bulwark::rate high_rate = bulwark::per_second(1'000'000'000);
  static bulwark::redis_gcra_options options() {
    return {.rate = high_rate, .burst = 100'000, .prefix = "cb:"};
  }

  bulwark_test::redis_cluster cluster;
  bulwark_test::redis_server single;
  bulwark::redis_cluster_client<> cluster_client{{.seeds = cluster.seeds()}};
  bulwark::redis_client<> single_client{{.port = single.port()}};
  bulwark::redis_gcra<bulwark::steady_clock, bulwark::redis_cluster_client<>> gcra_cluster{
      cluster_client, options()};
  bulwark::redis_gcra<> gcra_single{single_client, options()};
  bulwark::redis_store<bulwark::steady_clock, bulwark::redis_cluster_client<>> store_cluster{
      cluster_client};
  bulwark::redis_store<> store_single{single_client};
  std::vector<std::string> keys = make_keys();

  // 64 keys: spread over the three masters by their slots.
  static std::vector<std::string> make_keys() {
    std::vector<std::string> out;
    for (int i = 0; i < 64; ++i)
      out.push_back("client-" + std::to_string(i));
    return out;
  }
};

cluster_fleet* shared() {
  static const std::unique_ptr<cluster_fleet> instance =
      bulwark_test::redis_cluster::available() ? std::make_unique<cluster_fleet>() : nullptr;
  return instance.get();
}

template <class Client>
std::uint64_t commands(const Client& c) {
  if constexpr (bulwark::redis_routes_by_slot<Client>) {
    return c.metrics().nodes.commands;
  } else {
    return c.metrics().commands;
  }
}

// One global decision per iteration, over 64 keys in turn (on a cluster, spread over the
// three masters), or (Spread false) on one key, so one master.
template <bool Cluster, bool Spread>
void BM_gcra_decision(benchmark::State& state) {
  cluster_fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server or redis-cli not found on PATH");
    return;
  }
  auto& limiter = [&]() -> auto& {
    if constexpr (Cluster) {
      return f->gcra_cluster;
    } else {
      return f->gcra_single;
    }
  }
  ();
  auto& client = [&]() -> auto& {
    if constexpr (Cluster) {
      return f->cluster_client;
    } else {
      return f->single_client;
    }
  }
  ();
  for (const auto& k : f->keys)
    (void)limiter.try_acquire(k);  // connections open, scripts loaded, map read
  const std::uint64_t before = commands(client);
  std::size_t i = 0;
  for (auto _ : state) {
    auto d = limiter.try_acquire(f->keys[Spread ? i++ & 63 : 0]);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["round_trips_per_op"] =
      static_cast<double>(commands(client) - before) / static_cast<double>(state.iterations());
}

// One idempotent first execution's store traffic per iteration: try_begin (acquired) and
// release, over 64 keys in turn.
template <bool Cluster>
void BM_store_begin_release(benchmark::State& state) {
  cluster_fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server or redis-cli not found on PATH");
    return;
  }
  auto& store = [&]() -> auto& {
    if constexpr (Cluster) {
      return f->store_cluster;
    } else {
      return f->store_single;
    }
  }
  ();
  auto& client = [&]() -> auto& {
    if constexpr (Cluster) {
      return f->cluster_client;
    } else {
      return f->single_client;
    }
  }
  ();
  const auto once = [&](std::size_t i) {
    const auto begun = store.try_begin({"bench", f->keys[i & 63]}, 1, std::chrono::seconds{10});
    if (begun.lease) (void)store.release(*begun.lease);
  };
  for (std::size_t i = 0; i < 64; ++i)
    once(i);
  const std::uint64_t before = commands(client);
  std::size_t i = 0;
  for (auto _ : state)
    once(i++);
  state.SetItemsProcessed(state.iterations());
  state.counters["round_trips_per_op"] =
      static_cast<double>(commands(client) - before) / static_cast<double>(state.iterations());
}

}  // namespace

BENCHMARK(BM_gcra_decision<false, true>)->Name("BM_cluster_rows/gcra_standalone")->UseRealTime();
BENCHMARK(BM_gcra_decision<true, true>)->Name("BM_cluster_rows/gcra_cluster")->UseRealTime();
BENCHMARK(BM_gcra_decision<false, false>)
    ->Name("BM_cluster_rows/gcra_standalone_one_key")
    ->UseRealTime();
BENCHMARK(BM_gcra_decision<true, false>)
    ->Name("BM_cluster_rows/gcra_cluster_one_key")
    ->UseRealTime();
BENCHMARK(BM_store_begin_release<false>)->Name("BM_cluster_rows/store_standalone")->UseRealTime();
BENCHMARK(BM_store_begin_release<true>)->Name("BM_cluster_rows/store_cluster")->UseRealTime();
