// Instruction counts for bench_compose's single-thread rows, under callgrind, whose counts
// repeat exactly on a noisy machine. Runs `calls` protected calls of one row:
//
//   count_compose <row> <calls>    rows: direct, pipeline, pipeline_one_clock_read,
//                                  nested_by_hand, breaker_only, and bench_circuit_breaker's
//                                  breaker_count, breaker_time (slow-call detection off)
//
// Per-call instructions are the difference between two runs of different lengths divided by
// the difference in calls, which cancels start-up and construction (see docs/benchmarks.md).
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[gnu::noinline]] int work(int x) {
  asm volatile("" : "+r"(x));
  return x + 1;
}

struct guards {
  explicit guards(bulwark::circuit_breaker_options breaker_options) : breaker{breaker_options} {}
  bulwark::retry<> retry{};
  bulwark::circuit_breaker<> breaker;
  bulwark::gcra<> limiter{{.rate = bulwark::per_second(1'000'000'000), .burst = 1'000'000}};
  bulwark::bulkhead<> bulkhead{{.max_concurrent = 1000}};
};

template <class Call>
int loop(long calls, Call&& call) {
  int x = 0;
  for (long i = 0; i < calls; ++i)
    x = call(x);
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: count_compose <row> <calls>\n");
    return 2;
  }
  const std::string_view row = argv[1];
  const long calls = std::atol(argv[2]);
  guards g{row == "pipeline_one_clock_read"
               ? bulwark::circuit_breaker_options{.slow_call_duration = bulwark::slow_calls_off}
               : bulwark::circuit_breaker_options{}};
  bulwark::pipeline protect(g.retry, g.breaker, g.limiter, g.bulkhead);
  int x = 0;
  if (row == "direct") {
    x = loop(calls, [](int v) { return work(v); });
  } else if (row == "pipeline" || row == "pipeline_one_clock_read") {
    x = loop(calls, [&](int v) { return protect.execute(work, v); });
  } else if (row == "nested_by_hand") {
    x = loop(calls, [&](int v) {
      return g.retry.execute([&] {
        return g.breaker.execute(
            [&] { return g.limiter.execute([&] { return g.bulkhead.execute(work, v); }); });
      });
    });
  } else if (row == "breaker_only") {
    x = loop(calls, [&](int v) { return g.breaker.execute(work, v); });
  } else if (row == "breaker_count" || row == "breaker_time") {
    bulwark::circuit_breaker<> breaker({.slow_call_duration = bulwark::slow_calls_off,
                                        .window_type = row == "breaker_count"
                                                           ? bulwark::sliding_window::count_based
                                                           : bulwark::sliding_window::time_based,
                                        .window_size = row == "breaker_count" ? 100u : 10u});
    x = loop(calls, [&](int v) {
      auto p = breaker.try_acquire();
      const int r = p ? work(v) : v;
      p.success();
      return r;
    });
  } else {
    std::fprintf(stderr, "unknown row\n");
    return 2;
  }
  std::printf("%d\n", x);
  return 0;
}
