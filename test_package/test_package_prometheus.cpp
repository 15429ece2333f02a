// Built when the package provides bulwark::prometheus (the prometheus-cpp adapter): proves the
// component's headers and prometheus-cpp's core library compile and link from an installed
// package. One admitted call shows in the collected families.
#include <bulwark/prometheus.hpp>
#include <cstdio>
#include <string>

int main() {
  bulwark::registry<> guards;
  const bool admitted = guards.gcra("api")->try_acquire();
  const bulwark::prometheus_collectable<> metrics{guards};
  bool found = false;
  for (const auto& family : metrics.Collect()) {
    if (family.name == "bulwark_rate_limit_admitted_total" && !family.metric.empty())
      found = family.metric.front().counter.value == 1.0;
  }
  const bool ok = admitted && found;
  std::printf("test_package_prometheus: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
