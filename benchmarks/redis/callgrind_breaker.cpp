// callgrind: the closed path of circuit_breaker against redis_circuit_breaker wrapping the same,
// 100 000 calls each (docs/benchmarks.md, ## redis). Built by hand, not by CMake.
#include <bulwark/redis.hpp>
#include <cstdio>
__attribute__((noinline)) void run_local(bulwark::circuit_breaker<>& b) {
  for (int i = 0; i < 100000; ++i) {
    auto p = b.try_acquire();
    p.success();
  }
}
__attribute__((noinline)) void run_shared(bulwark::redis_circuit_breaker<>& b) {
  for (int i = 0; i < 100000; ++i) {
    auto p = b.try_acquire();
    p.success();
  }
}
int main() {
  bulwark::circuit_breaker_options o;
  o.slow_call_duration = bulwark::slow_calls_off;
  bulwark::circuit_breaker<> local{o};
  bulwark::redis_client<> client{{.port = 1}};  // never reached: the closed path is local
  bulwark::redis_circuit_breaker_options so;
  so.local = o;
  so.refresh_interval = bulwark::duration::zero();
  bulwark::redis_circuit_breaker<> shared{client, "cg", so};
  run_local(local);
  run_shared(shared);
  std::printf("round trips %llu\n", static_cast<unsigned long long>(shared.metrics().round_trips));
}
