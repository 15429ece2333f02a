// bench_redis: decisions per second against a loopback redis-server started by this binary,
// beside the floor of one round trip (EVALSHA of a trivial script through the same client, and
// redis-benchmark's EVALSHA throughput against the same server in the same run).

#include <benchmark/benchmark.h>

#include <bulwark/redis.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "../../tests/redis/redis_server.hpp"

namespace {

bulwark_test::redis_server& server() {
  static const auto instance = std::make_unique<bulwark_test::redis_server>();
  return *instance;
}

// One client per connection count, shared by the benchmark's threads (as a service would).
bulwark::redis_client<>& client(int connections) {
  static std::unique_ptr<bulwark::redis_client<>> clients[8];
  auto& c = clients[connections];
  if (!c) {
    c = std::make_unique<bulwark::redis_client<>>(bulwark::redis_client_options{
        .port = server().port(), .connections = static_cast<std::size_t>(connections)});
  }
  return *c;
}

const bulwark::redis_script& trivial() {
  static const bulwark::redis_script script{"return 1"};
  return script;
}

// The floor: one EVALSHA round trip of a script that does nothing.
void BM_evalsha_trivial(benchmark::State& state) {
  auto& c = client(state.threads());
  for (auto _ : state) {
    auto r = c.eval(trivial(), {}, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// A global decision per call: one round trip of the GCRA script (a high limit, so it admits).
void BM_redis_gcra(benchmark::State& state) {
  static bulwark::redis_gcra<>* limiters[8] = {};
  const auto batch = static_cast<std::uint32_t>(state.range(0));
  auto& c = client(state.threads());
  if (state.thread_index() == 0 && limiters[state.threads()] == nullptr) {
    limiters[state.threads()] = new bulwark::redis_gcra<>(
        c, {.rate = bulwark::per_second(1'000'000'000), .burst = 100'000, .batch = batch});
  }
  static bulwark::redis_gcra<>* batched[8] = {};
  if (state.thread_index() == 0 && batched[state.threads()] == nullptr) {
    batched[state.threads()] =
        new bulwark::redis_gcra<>(c, {.rate = bulwark::per_second(1'000'000'000),
                                      .burst = 100'000,
                                      .prefix = "batched:",
                                      .batch = 64,
                                      .batch_ttl = std::chrono::seconds{1}});
  }
  for (auto _ : state) {
    auto* limiter = batch > 1 ? batched[state.threads()] : limiters[state.threads()];
    auto d = limiter->try_acquire("client-42");
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

// redis-benchmark's own figure for EVALSHA of the trivial script, same server, same run.
void BM_redis_benchmark_evalsha(benchmark::State& state) {
  const auto clients = state.range(0);
  (void)client(1).command({"SCRIPT", "LOAD", trivial().source()});
  double rps = 0;
  for (auto _ : state) {
    const std::string command = "redis-benchmark -p " + std::to_string(server().port()) + " -c " +
                                std::to_string(clients) + " -n 100000 -q --csv EVALSHA " +
                                trivial().sha() + " 0";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      state.SkipWithError("cannot run redis-benchmark");
      return;
    }
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr) {
      // --csv: "EVALSHA ...","<requests per second>",...
      const std::string text{line};
      const auto first = text.find("\",\"");
      if (first != std::string::npos) rps = std::atof(text.c_str() + first + 3);
    }
    ::pclose(pipe);
  }
  state.counters["items_per_second"] = rps;
}

}  // namespace

BENCHMARK(BM_evalsha_trivial)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_redis_gcra)->Arg(1)->Arg(64)->Threads(1)->Threads(4)->UseRealTime();
BENCHMARK(BM_redis_benchmark_evalsha)->Arg(1)->Arg(4)->Iterations(1)->UseRealTime();
