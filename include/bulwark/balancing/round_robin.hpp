#pragma once
// The two load-blind balancers: round robin and uniform random.

#include <atomic>
#include <cstdint>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// Round robin: routable endpoints in turn, ignoring weights. One relaxed fetch_add per pick
/// (the counter orders nothing else; concurrent pickers just take consecutive turns).
/// When the set changes the counter carries on, so the rotation continues from the same place.
/// Thread-safety: safe from any thread. Complexity: O(1).
class round_robin {
 public:
  round_robin() = default;
  round_robin(round_robin&& other) noexcept : next_{other.next_.load(std::memory_order_relaxed)} {}

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context&) noexcept {
    const auto routable = set.routable();
    const auto turn = next_.fetch_add(1, std::memory_order_relaxed);
    return routable[turn % routable.size()];
  }

 private:
  std::atomic<std::uint64_t> next_{0};
};

/// Uniform random choice over routable endpoints, ignoring weights.
/// Thread-safety: safe from any thread (the generator is the caller's). Complexity: O(1).
struct random_choice {
  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const noexcept {
    const auto routable = set.routable();
    return routable[uniform_below(context.rng(), routable.size())];
  }
};

}  // namespace bulwark
