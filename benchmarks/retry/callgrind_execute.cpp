// retry::execute's success path for callgrind: a fixed number of calls, so that instructions
// per call are exact (Google Benchmark picks its iteration counts by time). Not a CMake target;
// docs/benchmarks.md gives the command that builds and measures it.
#include <bulwark/retry.hpp>
#include <chrono>
#include <cstdio>

namespace {

constexpr int calls = 100000;

[[gnu::noinline]] int work(int x) {
  return x + 1;
}

[[gnu::noinline]] int run_plain(bulwark::retry<>& retry) {
  int x = 0;
  for (int i = 0; i < calls; ++i)
    x = retry.execute(work, x);
  return x;
}

[[gnu::noinline]] int run_deadline(bulwark::retry<>& retry) {
  int x = 0;
  for (int i = 0; i < calls; ++i)
    x = retry.execute(work, x);
  return x;
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  bulwark::retry plain{};
  bulwark::retry deadline{{.max_elapsed = 5s}};
  const int a = run_plain(plain);
  const int b = run_deadline(deadline);
  std::printf("%d %d\n", a, b);
  return a == calls && b == calls ? 0 : 1;
}
