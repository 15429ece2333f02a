// bench_redis: decisions per second against a loopback redis-server started by this binary,
// beside the floor of one round trip (EVALSHA of a trivial script through the same client, and
// redis-benchmark's EVALSHA throughput against the same server in the same run); the shared
// breaker's closed path beside the local breaker's; the near cache's hit beside a GET, and its
// staleness window (a SET by another client until the invalidation is applied).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <bulwark/redis.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "../../tests/redis/redis_server.hpp"

namespace {

const bulwark::redis_script& trivial() {
  static const bulwark::redis_script script{"return 1"};
  return script;
}

// Everything the benchmarks share, built completely in one constructor. Google Benchmark
// starts a multi-threaded run's threads together, and each of them reaches shared() at about
// the same moment: a function-local static is the one lazy initialisation that is safe under
// that (the others wait for the first), so no benchmark creates anything itself. (Creating
// clients lazily, per thread count, from the benchmark threads was a data race that destroyed
// a client another thread was using: the intermittent SIGSEGV of issue 12.) Members are
// destroyed in reverse order at exit: limiters, then clients, then the server, which is
// stopped last so that no client ever talks to a dead one.
struct fleet {
  static constexpr bulwark::rate high_rate = bulwark::per_second(1'000'000'000);

  bulwark_test::redis_server server;
  // One client per connection count, shared by the benchmark's threads (as a service would).
  bulwark::redis_client<> one{{.port = server.port(), .connections = 1}};
  bulwark::redis_client<> four{{.port = server.port(), .connections = 4}};
  // A high limit, so every decision admits: what is measured is the decision's cost.
  bulwark::redis_gcra<> single_one{one, {.rate = high_rate, .burst = 100'000}};
  bulwark::redis_gcra<> single_four{four, {.rate = high_rate, .burst = 100'000}};
  bulwark::redis_gcra<> batched_one{one, batched_options()};
  bulwark::redis_gcra<> batched_four{four, batched_options()};
  // The breakers: the same local options, one alone and one shared (with its background
  // refresh every 100 ms on a client of its own, as deployed).
  bulwark::circuit_breaker<> local_breaker{breaker_options()};
  bulwark::redis_client<> breaker_client{{.port = server.port()}};
  bulwark::redis_circuit_breaker<> shared_breaker{breaker_client, "bench", shared_options()};
  // The near cache on a client of its own, and another client writing.
  bulwark::redis_client<> cache_client{{.port = server.port()}};
  bulwark::redis_client<> writer{{.port = server.port()}};
  bulwark::redis_near_cache<> near{cache_client};

  static bulwark::circuit_breaker_options breaker_options() {
    bulwark::circuit_breaker_options o;
    o.slow_call_duration = bulwark::slow_calls_off;
    return o;
  }
  static bulwark::redis_circuit_breaker_options shared_options() {
    bulwark::redis_circuit_breaker_options o;
    o.local = breaker_options();
    return o;
  }

  static bulwark::redis_gcra_options batched_options() {
    return {.rate = high_rate,
            .burst = 100'000,
            .prefix = "batched:",
            .batch = 64,
            .batch_ttl = std::chrono::seconds{1}};
  }

  bulwark::redis_client<>& client(int threads) { return threads == 1 ? one : four; }
  bulwark::redis_gcra<>& limiter(int threads, bool batched) {
    if (batched) return threads == 1 ? batched_one : batched_four;
    return threads == 1 ? single_one : single_four;
  }
};

// The shared fleet, or nullptr when redis-server is not installed (each benchmark then says
// so through SkipWithError instead of terminating the binary).
fleet* shared() {
  static const std::unique_ptr<fleet> instance =
      bulwark_test::redis_server::available() ? std::make_unique<fleet>() : nullptr;
  return instance.get();
}

// The floor: one EVALSHA round trip of a script that does nothing.
void BM_evalsha_trivial(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server not found on PATH");
    return;
  }
  auto& c = f->client(state.threads());
  for (auto _ : state) {
    auto r = c.eval(trivial(), {}, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// A global decision per call: one round trip of the GCRA script, or (batch 64) one round trip
// per 64 decisions and the rest from the locally held batch.
void BM_redis_gcra(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server not found on PATH");
    return;
  }
  auto& limiter = f->limiter(state.threads(), state.range(0) > 1);
  for (auto _ : state) {
    auto d = limiter.try_acquire("client-42");
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

// The closed path: the local breaker alone, and the shared one wrapping the same (its round
// trips per call are the background refresh's, counted over the run).
void BM_local_breaker_closed(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server not found on PATH");
    return;
  }
  for (auto _ : state) {
    auto p = f->local_breaker.try_acquire();
    p.success();
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["round_trips_per_call"] = 0;
}

void BM_shared_breaker_closed(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server not found on PATH");
    return;
  }
  const auto before = f->shared_breaker.metrics().round_trips;
  for (auto _ : state) {
    auto p = f->shared_breaker.try_acquire();
    p.success();
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
  const auto trips = f->shared_breaker.metrics().round_trips - before;
  state.counters["round_trips_per_call"] =
      static_cast<double>(trips) /
      static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}

// A near-cache hit against the GET it saves.
void BM_near_cache_hit(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr || !f->near.wait_for_tracking(std::chrono::seconds{5})) {
    state.SkipWithError("redis-server not found on PATH, or no tracking");
    return;
  }
  (void)f->writer.command({"SET", "bench:hot", "value"});
  (void)f->near.get("bench:hot");
  const std::string key = "bench:hot";
  for (auto _ : state) {
    auto r = f->near.get(key);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = f->near.get(key).source == bulwark::near_cache_source::local;
}

void BM_redis_get(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr) {
    state.SkipWithError("redis-server not found on PATH");
    return;
  }
  (void)f->writer.command({"SET", "bench:hot", "value"});
  for (auto _ : state) {
    auto r = f->one.command({"GET", "bench:hot"});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// The staleness window: from another client's SET (sent) to the near cache's eviction of the
// key (applied), per write; median and p99 over the run's writes as counters (microseconds).
void BM_near_cache_staleness(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr || !f->near.wait_for_tracking(std::chrono::seconds{5})) {
    state.SkipWithError("redis-server not found on PATH, or no tracking");
    return;
  }
  std::vector<double> us;
  for (auto _ : state) {
    state.PauseTiming();
    (void)f->near.get("bench:stale");  // read, so Redis tracks it for this process
    const auto seen = f->near.metrics().invalidations;
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    (void)f->writer.command({"SET", "bench:stale", "x"});
    f->near.wait_for_invalidations(seen, std::chrono::seconds{1});
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}

// redis-benchmark's own figure for EVALSHA of the trivial script, same server, same run.
void BM_redis_benchmark_evalsha(benchmark::State& state) {
  fleet* f = shared();
  if (f == nullptr || !bulwark_test::on_path("redis-benchmark")) {
    state.SkipWithError("redis-server or redis-benchmark not found on PATH");
    return;
  }
  const auto clients = state.range(0);
  (void)f->one.command({"SCRIPT", "LOAD", trivial().source()});
  double rps = 0;
  for (auto _ : state) {
    const std::string command = "redis-benchmark -p " + std::to_string(f->server.port()) + " -c " +
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

// Every single-connection row first, then the 4-connection ones: on the 2-core VM this was
// measured on, a single-threaded round trip ran 4x slower after any 4-thread run than before
// it (19 us against 84 us, stable; not when the process and its server were pinned to one
// core): the scheduler's placement, not the code. Ordered so, the 1-connection rows and their
// floors are measured alike.
BENCHMARK(BM_evalsha_trivial)->Threads(1)->UseRealTime();
BENCHMARK(BM_redis_gcra)->Arg(1)->Arg(64)->Threads(1)->UseRealTime();
BENCHMARK(BM_redis_benchmark_evalsha)->Arg(1)->Iterations(1)->UseRealTime();
BENCHMARK(BM_local_breaker_closed)->Threads(1);
BENCHMARK(BM_shared_breaker_closed)->Threads(1);
BENCHMARK(BM_redis_get)->Threads(1)->UseRealTime();
BENCHMARK(BM_near_cache_hit)->Threads(1);
BENCHMARK(BM_near_cache_staleness)->Iterations(2000)->UseRealTime();
BENCHMARK(BM_evalsha_trivial)->Threads(4)->UseRealTime();
BENCHMARK(BM_redis_gcra)->Arg(1)->Arg(64)->Threads(4)->UseRealTime();
BENCHMARK(BM_redis_benchmark_evalsha)->Arg(4)->Iterations(1)->UseRealTime();
