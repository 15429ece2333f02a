#pragma once
// The load-aware balancers: least outstanding requests, power of two choices, and power of two
// choices with peak-EWMA latency (Finagle, Linkerd).

#include <cstdint>
#include <limits>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/balancing/weighted.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

namespace detail {
// (outstanding + 1) / weight: the load an endpoint would carry with this request, per unit of
// weight, so a weight-2 endpoint takes twice the concurrent requests of a weight-1 one.
template <class Context>
double request_load(const endpoint_set& set, std::size_t i, Context& context) {
  return static_cast<double>(set.routable()[i]->outstanding() + 1) /
         static_cast<double>(effective_weight(set, i, context));
}

// Two distinct indexes drawn uniformly from [0, n), n >= 2.
template <class G>
std::pair<std::size_t, std::size_t> two_choices(G& rng, std::size_t n) {
  const auto a = static_cast<std::size_t>(uniform_below(rng, n));
  auto b = static_cast<std::size_t>(uniform_below(rng, n - 1));
  if (b >= a) ++b;
  return {a, b};
}
}  // namespace detail

/// Least outstanding requests (least connections): the routable endpoint with the fewest
/// requests in flight per unit of weight; ties go to the first found from a random starting
/// point, so equal endpoints share the load. Reads every endpoint's counter: precise but O(n),
/// and many pickers at once herd onto the same endpoint between updates (P2C avoids both).
/// Thread-safety: safe from any thread. Complexity: O(n).
struct least_outstanding {
  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const {
    const auto n = set.routable().size();
    const auto start = static_cast<std::size_t>(uniform_below(context.rng(), n));
    std::size_t best = start;
    double best_load = detail::request_load(set, start, context);
    for (std::size_t k = 1; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      const double load = detail::request_load(set, i, context);
      if (load < best_load) {
        best = i;
        best_load = load;
      }
    }
    return set.routable()[best];
  }
};

/// Power of two choices on outstanding requests (Mitzenmacher, "The Power of Two Choices in
/// Randomized Load Balancing", 2001; Envoy's LEAST_REQUEST with choice_count 2): two distinct
/// endpoints at random, the one with fewer outstanding requests per unit of weight wins (the
/// first drawn on a tie). The maximum load drops from O(log n / log log n) to O(log log n)
/// with two reads instead of n.
/// Thread-safety: safe from any thread. Complexity: O(1).
struct power_of_two {
  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const {
    const auto n = set.routable().size();
    if (n == 1) return set.routable()[0];
    const auto [a, b] = detail::two_choices(context.rng(), n);
    return detail::request_load(set, b, context) < detail::request_load(set, a, context)
               ? set.routable()[b]
               : set.routable()[a];
  }
};

/// Power of two choices on peak-EWMA cost (Finagle's P2CPeakEwma, Linkerd's default):
///   cost = latency_estimate x (outstanding + 1) / weight
/// where latency_estimate is each endpoint's peak EWMA of observed latencies (a slower sample
/// replaces the estimate at once; faster ones pull it down with weight 1 - exp(-dt / window);
/// with no samples it decays towards 0 over the window so a quiet endpoint is tried again).
/// As in Finagle, an endpoint with requests in flight but no estimate yet costs a large
/// penalty, so a new endpoint gets one probe request at a time until its first answer.
/// Completions must report latency (endpoint_handle::complete); the window is
/// balancer_options::ewma_window.
/// Thread-safety: safe from any thread. Complexity: O(1), one clock read per pick.
struct p2c_peak_ewma {
  static constexpr bool uses_latency = true;

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const {
    const auto n = set.routable().size();
    if (n == 1) return set.routable()[0];
    const auto [a, b] = detail::two_choices(context.rng(), n);
    return cost(set, b, context) < cost(set, a, context) ? set.routable()[b] : set.routable()[a];
  }

  /// The cost the balancer compares, exposed for tests and diagnostics.
  template <class Context>
  static double cost(const endpoint_set& set, std::size_t i, Context& context) {
    // Finagle's Penalty: Double.MaxValue / 2, which is far above any real cost and still
    // compares; the same here.
    constexpr double penalty = std::numeric_limits<double>::max() / 2;
    const auto& s = *set.routable()[i];
    const double latency = s.latency_estimate(context.now(), context.ewma_window());
    const auto outstanding = s.outstanding();
    if (latency == 0.0 && outstanding != 0) return penalty;
    return latency * static_cast<double>(outstanding + 1) /
           static_cast<double>(detail::effective_weight(set, i, context));
  }
};

}  // namespace bulwark
