#pragma once
// The weighted balancers: nginx's smooth weighted round robin, gRPC's lock-free static stride
// scheduler, and weighted random.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

namespace detail {
// Effective weights in 1/1024ths, so that slow start's fractional ramp keeps integer
// arithmetic; scaling every weight alike leaves the smooth WRR sequence unchanged.
template <class Context>
std::int64_t effective_weight(const endpoint_set& set, std::size_t i, Context& context) {
  const auto w = static_cast<std::int64_t>(set.weights()[i]) * 1024;
  if (!set.slow_start_enabled() || !set.warming(context.now())) return w;
  const double ramp = set.ramp(*set.routable()[i], context.now());
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(w) * ramp));
}
}  // namespace detail

/// Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer): each pick adds
/// every endpoint's weight to its current value, takes the endpoint with the largest current
/// value (first on ties), and subtracts the total weight from it. Weights {5, 1, 1} give
/// a a b a c a a: the heavy endpoint's turns are spread out instead of bunched.
///
/// The per-endpoint current values are shared mutable state, so a pick holds a mutex (nginx
/// runs it per worker without one); for many endpoints or many threads use stride_round_robin.
/// The state restarts when the endpoint set changes. Slow start scales the weights.
/// Unlike nginx, failures do not lower an endpoint's effective weight (use outlier ejection).
/// Thread-safety: safe from any thread. Complexity: O(n) under a mutex.
class weighted_round_robin {
 public:
  weighted_round_robin() = default;
  weighted_round_robin(weighted_round_robin&&) noexcept {}

  template <class Context>
  detail::endpoint_state* pick(const endpoint_set& set, Context& context) {
    const std::lock_guard<std::mutex> lock{mutex_};
    const auto n = set.routable().size();
    if (version_ != set.version() || current_.size() != n) {
      current_.assign(n, 0);
      version_ = set.version();
    }
    std::int64_t total = 0;
    std::size_t best = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto w = detail::effective_weight(set, i, context);
      current_[i] += w;
      total += w;
      if (current_[i] > current_[best]) best = i;
    }
    current_[best] -= total;
    return set.routable()[best];
  }

 private:
  std::mutex mutex_;
  std::vector<std::int64_t> current_;  // guarded by mutex_
  std::uint64_t version_ = 0;          // guarded by mutex_
};

/// Lock-free weighted round robin: gRPC's static stride scheduler (weighted_round_robin
/// policy, A58). A shared sequence number s picks endpoint i = s mod n in generation
/// g = s / n, and i accepts the turn when (w_i x g + i x 32767) mod 65535 >= 65535 - w_i, with
/// w_i the endpoint's weight scaled to at most 65535; otherwise the next sequence number is
/// tried. Over 65535 generations endpoint i accepts exactly w_i turns, and the offset
/// i x 32767 staggers endpoints so equal weights interleave.
///
/// As in gRPC, weights are clamped to [mean / 100, mean x 10] before scaling (see
/// endpoint_set::scaled_weights), which bounds a pick to about ten draws; shares beyond that
/// ratio are not honoured. Slow start does not apply (the table is per snapshot).
/// Thread-safety: safe from any thread; one relaxed fetch_add per draw.
/// Complexity: O(max weight / mean weight) draws, at most about 10.
class stride_round_robin {
 public:
  stride_round_robin() = default;
  stride_round_robin(stride_round_robin&& other) noexcept
      : sequence_{other.sequence_.load(std::memory_order_relaxed)} {}

  template <class Context>
  detail::endpoint_state* pick(const endpoint_set& set, Context&) noexcept {
    constexpr std::uint64_t max_weight = 65535;
    constexpr std::uint64_t offset = max_weight / 2;
    const auto weights = set.scaled_weights();
    const std::uint64_t n = weights.size();
    for (;;) {
      const auto s = sequence_.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t i = s % n;
      const std::uint64_t generation = s / n;
      const std::uint64_t w = weights[i];
      // (w * generation) is reduced first so the product cannot overflow for any sequence.
      const std::uint64_t mod = ((w * (generation % max_weight)) + i * offset) % max_weight;
      if (mod >= max_weight - w) return set.routable()[i];
    }
  }

 private:
  std::atomic<std::uint64_t> sequence_{0};
};

/// Weighted random: endpoint i with probability w_i / sum(w), by binary search over the
/// snapshot's cumulative weights (a linear pass while slow start ramps some weights).
/// Thread-safety: safe from any thread. Complexity: O(log n); O(n) while warming.
struct weighted_random {
  template <class Context>
  detail::endpoint_state* pick(const endpoint_set& set, Context& context) const {
    if (set.slow_start_enabled() && set.warming(context.now())) {
      std::int64_t total = 0;
      const auto n = set.routable().size();
      for (std::size_t i = 0; i < n; ++i)
        total += detail::effective_weight(set, i, context);
      auto target = static_cast<std::int64_t>(
          uniform_below(context.rng(), static_cast<std::uint64_t>(total)));
      for (std::size_t i = 0; i < n; ++i) {
        target -= detail::effective_weight(set, i, context);
        if (target < 0) return set.routable()[i];
      }
      return set.routable()[n - 1];
    }
    const auto cumulative = set.cumulative();
    const auto target = uniform_below(context.rng(), set.total_weight());
    // The first running sum above target: endpoint i owns [cumulative[i-1], cumulative[i]).
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
    return set.routable()[static_cast<std::size_t>(it - cumulative.begin())];
  }
};

}  // namespace bulwark
