#pragma once
// What the registry's and the config's load balancer tests do to a balancer: read an
// endpoint's current weight, and fail picks through one endpoint until outlier detection sees
// a run of failures.

#include <bulwark/balancing/endpoint_set.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace bulwark_test {

// The weight `id` has in `set` now (0 if it is not a member).
inline std::uint32_t weight_of(const bulwark::endpoint_set& set, const std::string& id) {
  for (const auto* state : set.members())
    if (state->description().id == id) return state->weight();
  return 0;
}

// Fails `times` picks through `id` in a row, completing the others' picks as successes.
template <class Balancer>
void fail_through(Balancer& lb, const std::string& id, int times) {
  using namespace std::chrono_literals;
  for (int failures = 0; failures < times;) {
    auto h = lb.pick();
    if (!h) return;  // nothing routable: the caller's checks will say so
    if (h.id() != id) {
      h.success(1ms);
      continue;
    }
    h.failure(1ms);
    ++failures;
  }
}

}  // namespace bulwark_test
