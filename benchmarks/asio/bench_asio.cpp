// asio add-on benchmarks (docs/async.md, issue 17).
//
// call/*: one awaited call per iteration, on one thread, inside one coroutine running on an
// io_context: `co_await fn()` bare (the baseline), then through bulwark::async::execute with a
// circuit breaker, a GCRA limiter, a bulkhead, and the three as a pipeline; every guard admits
// every call (the path a healthy service takes). fn is a coroutine that returns an int without
// suspending. Each row also reports allocs/call: calls to the global operator new per
// iteration, counted by the replacement below (asio recycles coroutine frames through a
// per-thread cache of two, so a row that keeps more frames alive than that allocates).
//
// sync/pipeline3: the synchronous pipeline over the same three guards, for reference.
//
// queue/*: memory per coroutine waiting in a bulkhead's queue: 100,000 coroutines, each
// awaiting bulwark::async::execute on a bulkhead whose one slot is held (max_wait = 1 h, so
// each waiter also has a steady_timer), beside 100,000 coroutines awaiting a plain
// steady_timer. Counters: bytes/waiter and allocs/waiter (operator new, net of frees, while
// they wait), and rss_bytes/waiter from /proc/self/statm.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead/bulkhead.hpp>
#include <bulwark/circuit_breaker/circuit_breaker.hpp>
#include <bulwark/compose/pipeline.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>

namespace {
std::atomic<std::uint64_t> allocations{0};
std::atomic<std::int64_t> allocated_bytes{0};
}  // namespace

// The counting replacement of the global allocation functions. Blocks are plain malloc
// blocks (no header), so a block that reaches free() or operator delete by another path than
// the one that allocated it stays valid; bytes are counted with malloc_usable_size.
namespace {
void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  allocations.fetch_add(1, std::memory_order_relaxed);
  allocated_bytes.fetch_add(static_cast<std::int64_t>(::malloc_usable_size(p)),
                            std::memory_order_relaxed);
  return p;
}
void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  allocated_bytes.fetch_sub(static_cast<std::int64_t>(::malloc_usable_size(p)),
                            std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) {
  return counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  counted_free(p);
}

namespace {

using namespace std::chrono_literals;

asio::awaitable<int> work(int x) {
  co_return x + 1;
}

struct guards {
  bulwark::circuit_breaker<> breaker{};
  bulwark::gcra<> limiter{{.rate = bulwark::per_second(1'000'000'000), .burst = 1'000'000'000}};
  bulwark::bulkhead<> bulkhead{{.max_concurrent = 1000}};
};

// Runs `body(state)` as one coroutine on an io_context, and reports allocs/call.
template <class Body>
void run_calls(benchmark::State& state, Body body) {
  asio::io_context io;
  asio::co_spawn(io, body(state), asio::detached);
  const std::uint64_t before = allocations.load();
  io.run();
  const auto n = static_cast<double>(allocations.load() - before);
  state.counters["allocs/call"] = benchmark::Counter(n / static_cast<double>(state.iterations()));
}

void call_bare(benchmark::State& state) {
  run_calls(state, [](benchmark::State& s) -> asio::awaitable<void> {
    int x = 0;
    for (auto _ : s) {
      x = co_await work(x);
      benchmark::DoNotOptimize(x);
    }
  });
}
BENCHMARK(call_bare)->Name("call/bare");

template <class Pick>
void call_guarded(benchmark::State& state, Pick pick) {
  guards g;
  auto& guard = pick(g);
  run_calls(state, [&guard](benchmark::State& s) -> asio::awaitable<void> {
    int x = 0;
    for (auto _ : s) {
      x = co_await bulwark::async::execute(guard, [&x] { return work(x); });
      benchmark::DoNotOptimize(x);
    }
  });
}
void call_breaker(benchmark::State& state) {
  call_guarded(
      state, [](guards & g) -> auto& { return g.breaker; });
}
void call_limiter(benchmark::State& state) {
  call_guarded(
      state, [](guards & g) -> auto& { return g.limiter; });
}
void call_bulkhead(benchmark::State& state) {
  call_guarded(
      state, [](guards & g) -> auto& { return g.bulkhead; });
}
BENCHMARK(call_breaker)->Name("call/breaker");
BENCHMARK(call_limiter)->Name("call/gcra");
BENCHMARK(call_bulkhead)->Name("call/bulkhead");

void call_pipeline(benchmark::State& state) {
  guards g;
  bulwark::pipeline chain(g.breaker, g.limiter, g.bulkhead);
  run_calls(state, [&chain](benchmark::State& s) -> asio::awaitable<void> {
    int x = 0;
    for (auto _ : s) {
      x = co_await bulwark::async::execute(chain, [&x] { return work(x); });
      benchmark::DoNotOptimize(x);
    }
  });
}
BENCHMARK(call_pipeline)->Name("call/pipeline3");

void sync_pipeline(benchmark::State& state) {
  guards g;
  bulwark::pipeline chain(g.breaker, g.limiter, g.bulkhead);
  int x = 0;
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    x = chain.execute([&x] { return x + 1; });
    benchmark::DoNotOptimize(x);
  }
  state.counters["allocs/call"] = benchmark::Counter(
      static_cast<double>(allocations.load() - before) / static_cast<double>(state.iterations()));
}
BENCHMARK(sync_pipeline)->Name("sync/pipeline3");

std::int64_t rss_bytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

constexpr int waiters = 100'000;

// Spawns `waiters` coroutines from `spawn(io)`, polls until each waits, reports what they hold,
// then lets `release()` end the waits and runs them to completion.
template <class Spawn, class Release>
void measure_waiters(benchmark::State& state, Spawn spawn, Release release) {
  for (auto _ : state) {
    asio::io_context io;
    const std::int64_t rss0 = rss_bytes();
    const std::uint64_t allocs0 = allocations.load();
    const std::int64_t bytes0 = allocated_bytes.load();
    for (int i = 0; i < waiters; ++i)
      spawn(io);
    io.poll();
    const auto per = [](double v) { return v / waiters; };
    state.counters["bytes/waiter"] = per(static_cast<double>(allocated_bytes.load() - bytes0));
    state.counters["allocs/waiter"] = per(static_cast<double>(allocations.load() - allocs0));
    state.counters["rss_bytes/waiter"] = per(static_cast<double>(rss_bytes() - rss0));
    release(io);
    io.run();
  }
}

void queue_bulkhead(benchmark::State& state) {
  bulwark::bulkhead<> b({.max_concurrent = 1, .max_waiting = waiters, .max_wait = 1h});
  std::optional<bulwark::bulkhead_permit> held;
  measure_waiters(
      state,
      [&](asio::io_context& io) {
        if (!held) held.emplace(b.try_acquire());
        asio::co_spawn(
            io,
            [&b]() -> asio::awaitable<void> {
              co_await bulwark::async::execute(b, []() -> asio::awaitable<void> { co_return; });
            },
            asio::detached);
      },
      [&](asio::io_context&) {
        if (b.waiting() != waiters) state.SkipWithError("not every coroutine queued");
        held.reset();  // 100,000 hand-overs, one after another
      });
}
BENCHMARK(queue_bulkhead)
    ->Name("queue/bulkhead_100k")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void queue_timer(benchmark::State& state) {
  measure_waiters(
      state,
      [&](asio::io_context& io) {
        asio::co_spawn(
            io,
            [&io]() -> asio::awaitable<void> {
              asio::steady_timer timer(io, 1h);
              try {
                co_await timer.async_wait(asio::use_awaitable);
              } catch (const std::exception&) {
              }
            },
            asio::detached);
      },
      [](asio::io_context& io) { io.stop(); });  // the context's destructor frees them
}
BENCHMARK(queue_timer)
    ->Name("queue/steady_timer_100k")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
