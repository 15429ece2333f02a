// The program from README's "A first look": virtual time, stable hashing and Prometheus
// metrics from <bulwark/core.hpp>.
#include <bulwark/core.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>

int main() {
  // Virtual time: tests of time-dependent code never sleep and never flake.
  bulwark::manual_clock clock;
  clock.advance(std::chrono::seconds{30});

  // Stable placement: the same key hashes the same on every platform and build.
  const std::uint64_t shard = bulwark::hash64("user:42") % 16;

  // Metrics in Prometheus text format.
  bulwark::prometheus_text out;
  out.add("demo",
          bulwark::metric{"shard", "Shard of user 42.", bulwark::metric_type::gauge, shard});
  std::fputs(out.str().c_str(), stdout);
}
