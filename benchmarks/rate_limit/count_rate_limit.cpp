// count_rate_limit: N single-threaded calls of one bench_rate_limit row's operation, and nothing
// else, for exact instruction counts per call under callgrind (run it with N and 2N; the
// difference over N is the per-call count, start-up excluded):
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null count_rate_limit gcra_now 1000000
//
// Rows: plain_now, plain_steady (the 30-line CAS loop), gcra_now, gcra_steady,
// token_bucket_now, clock (one steady_clock read), loop (the loop alone).

#include <benchmark/benchmark.h>

#include <bulwark/rate_limit.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "plain_gcra.hpp"

namespace {

constexpr auto fast = bulwark::per_second(1'000'000'000);  // admits on every call

template <class F>
void repeat(long n, F f) {
  auto now = bulwark::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    now += std::chrono::nanoseconds{1};
    f(now);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: count_rate_limit ROW CALLS\n");
    return 2;
  }
  const std::string_view row = argv[1];
  const long n = std::atol(argv[2]);
  static bench::plain_gcra plain{1, 1'000'000};
  static bulwark::gcra<> gcra({.rate = fast, .burst = 1'000'000});
  static bulwark::token_bucket<> bucket({.rate = fast, .capacity = 1'000'000});
  if (row == "plain_now") {
    repeat(n, [](auto now) {
      benchmark::DoNotOptimize(plain.try_acquire(now.time_since_epoch().count()));
    });
  } else if (row == "plain_steady") {
    repeat(n, [](auto) { benchmark::DoNotOptimize(plain.try_acquire()); });
  } else if (row == "gcra_now") {
    repeat(n, [](auto now) { benchmark::DoNotOptimize(gcra.try_acquire(1, now)); });
  } else if (row == "gcra_steady") {
    repeat(n, [](auto) { benchmark::DoNotOptimize(gcra.try_acquire()); });
  } else if (row == "token_bucket_now") {
    repeat(n, [](auto now) { benchmark::DoNotOptimize(bucket.try_acquire(1, now)); });
  } else if (row == "clock") {
    repeat(n, [](auto) { benchmark::DoNotOptimize(bulwark::steady_clock::now()); });
  } else if (row == "loop") {
    repeat(n, [](auto now) { benchmark::DoNotOptimize(now); });
  } else {
    std::fprintf(stderr, "count_rate_limit: unknown row\n");
    return 2;
  }
  return 0;
}
