// bench_asio's loopback rows: examples/asio/service.cpp's backend (a TCP server on 127.0.0.1,
// its own thread) answering every request at once, and a client on one thread sending batches
// of 64 concurrent requests, one connection each: bare (loopback/bare), and through the
// example's pipeline of retry (with a budget), circuit breaker, GCRA limiter, bulkhead and an
// attempt timeout (loopback/pipeline), none of which refuses here. Throughput is items per
// second of wall time (the server's thread works too); the difference is the pipeline's cost
// per request beside a socket round trip.
#include "../../examples/asio/loopback.hpp"

#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

constexpr int batch = 64;

loopback::server& backend() {
  static loopback::server s;
  return s;
}

// Runs `batch` requests at once, each `send()`, until all have answered; counts failures.
template <class Send>
void run_batch(asio::io_context& io, Send& send, std::int64_t& failed) {
  int left = batch;
  for (int i = 0; i < batch; ++i) {
    asio::co_spawn(io, send(), [&](std::exception_ptr e) {
      if (e) ++failed;
      --left;
    });
  }
  io.restart();
  io.run();
  benchmark::DoNotOptimize(left);
}

void loopback_bare(benchmark::State& state) {
  const auto at = backend().endpoint();
  asio::io_context io;
  auto send = [&]() -> asio::awaitable<void> { co_await loopback::call(at, "GET 1\n"); };
  std::int64_t failed = 0;
  for (auto _ : state)
    run_batch(io, send, failed);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["failed"] = static_cast<double>(failed);
}
BENCHMARK(loopback_bare)->Name("loopback/bare")->UseRealTime();

void loopback_pipeline(benchmark::State& state) {
  const auto at = backend().endpoint();
  asio::io_context io;
  bulwark::retry retry({.max_attempts = 3,
                        .backoff = {.base = 10ms},
                        .budget = std::make_shared<bulwark::retry_budget>(
                            bulwark::ratio_budget_options{.retry_ratio = 0.2})});
  bulwark::circuit_breaker breaker({.failure_rate_threshold = 0.5, .minimum_calls = 20});
  bulwark::gcra limiter({.rate = bulwark::per_second(10'000'000), .burst = 100'000});
  bulwark::bulkhead bulkhead({.max_concurrent = 1000});
  bulwark::timeout attempt_timeout({.timeout = 5s});
  bulwark::pipeline protect(retry, breaker, limiter, bulkhead, attempt_timeout);
  auto send = [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(protect, [&] { return loopback::call(at, "GET 1\n"); });
  };
  std::int64_t failed = 0;
  for (auto _ : state)
    run_batch(io, send, failed);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["failed"] = static_cast<double>(failed);
}
BENCHMARK(loopback_pipeline)->Name("loopback/pipeline")->UseRealTime();

}  // namespace
