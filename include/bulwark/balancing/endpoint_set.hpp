#pragma once
// An immutable snapshot of a balancer's endpoints: every member, the ones in rotation, and the
// per-snapshot tables the weighted balancers read. Built by load_balancer when membership or
// health changes, published with one atomic store, never modified after.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

namespace detail {

/// gRPC's StaticStrideScheduler::Make (src/core/load_balancing/weighted_round_robin/
/// static_stride_scheduler.cc), reproduced operation by operation so the table is bit-exact:
/// zero weights are unknown and get the mean of the non-zero ones; the largest weight is capped
/// at 10 x that mean; everything is scaled so the largest becomes 65535; non-zero weights are
/// raised to at least 1% of the scaled mean (and at least 1). Where gRPC stores a value in a
/// float (the capped maximum, the scaling factor, each capped weight) this does too, because
/// that rounding decides some of the uint16 results. nullopt where gRPC's Make returns nullopt
/// (fewer than two weights, or all zero): gRPC then falls back to plain round robin.
inline std::optional<std::vector<std::uint16_t>> stride_scheduler_weights(
    std::span<const float> weights) {
  constexpr std::uint16_t max_weight = std::numeric_limits<std::uint16_t>::max();
  constexpr double max_ratio = 10;
  constexpr double min_ratio = 0.01;
  if (weights.size() < 2) return std::nullopt;
  std::size_t zeros = 0;
  double sum = 0;
  float unscaled_max = 0;
  for (const float w : weights) {
    sum += static_cast<double>(w);
    unscaled_max = std::max(unscaled_max, w);
    if (w == 0) ++zeros;
  }
  if (zeros == weights.size()) return std::nullopt;
  const double unscaled_mean = sum / static_cast<double>(weights.size() - zeros);
  if (static_cast<double>(unscaled_max) / unscaled_mean > max_ratio)
    unscaled_max = static_cast<float>(max_ratio * unscaled_mean);  // rounded to float, as gRPC
  // A float division in gRPC (uint16 / float), widened to double only afterwards.
  const auto scaling = static_cast<double>(static_cast<float>(max_weight) / unscaled_max);
  // lround then an implicit narrowing to uint16_t in gRPC; the values here always fit.
  const auto mean = static_cast<std::uint16_t>(std::lround(scaling * unscaled_mean));
  const auto floor = std::max<std::uint16_t>(
      1, static_cast<std::uint16_t>(std::lround(static_cast<double>(mean) * min_ratio)));
  std::vector<std::uint16_t> out;
  out.reserve(weights.size());
  for (const float w : weights) {
    if (w == 0) {
      out.push_back(mean);
      continue;
    }
    const auto capped = static_cast<double>(std::min(w, unscaled_max));
    out.push_back(std::max(static_cast<std::uint16_t>(std::lround(capped * scaling)), floor));
  }
  return out;
}

}  // namespace detail

/// Slow start (Envoy's slow_start_config): an endpoint that joined less than `window` ago gets
/// weight x max(min_weight_percent / 100, (elapsed / window)^(1 / aggression)), ramping its
/// traffic up instead of handing a cold process its full share at once.
struct slow_start_options {
  duration window = duration::zero();  ///< 0: no slow start
  double aggression = 1.0;             ///< 1: linear ramp; > 1 ramps faster early
  double min_weight_percent = 10.0;    ///< the floor of the ramp, in percent
};

/// One immutable snapshot of a balancer's endpoints.
///
/// `members()` is the full list in the order given to the balancer; `routable()` is the list
/// picks are made from: the healthy members (neither failing active checks nor ejected), or all
/// members in panic mode (Envoy: when the healthy share falls below the panic threshold, a
/// balancer spreads load over every member rather than crushing the few healthy ones).
///
/// Thread-safety: immutable; every member is safe from any thread. Holding the snapshot keeps
/// its endpoints' states alive. Complexity: construction O(n), accessors O(1).
class endpoint_set {
 public:
  /// `members` each already hold no snapshot reference; the set takes one on each.
  /// `owner` identifies the balancer that built the set (its per-thread snapshot cache
  /// compares it); the set keeps it alive, so its address is never reused while the set lives.
  endpoint_set(std::vector<endpoint_state*> members, double panic_threshold, std::uint64_t version,
               slow_start_options slow_start, std::shared_ptr<const void> owner = {})
      : members_{std::move(members)},
        panic_threshold_{panic_threshold},
        version_{version},
        slow_start_{slow_start},
        owner_{std::move(owner)} {
    for (auto* s : members_)
      s->acquire_snapshot();
    for (auto* s : members_)
      if (!s->active_unhealthy.load(std::memory_order_relaxed) &&
          !s->ejected.load(std::memory_order_relaxed))
        routable_.push_back(s);
    healthy_ = routable_.size();
    // Envoy's rule: healthy percentage below the threshold (0 disables) means panic.
    const double healthy_share =
        members_.empty() ? 1.0
                         : static_cast<double>(healthy_) / static_cast<double>(members_.size());
    panic_ = !members_.empty() && healthy_share < panic_threshold;
    if (panic_) routable_ = members_;
    weights_.reserve(routable_.size());
    for (auto* s : routable_) {
      weights_.push_back(s->weight());
      max_weight_ = std::max(max_weight_, s->weight());
      total_weight_ += s->weight();
      cumulative_.push_back(total_weight_);
      if (slow_start_.window > duration::zero())
        warming_until_ =
            std::max(warming_until_, detail::saturating_add(s->added(), slow_start_.window));
    }
    scale_weights();
  }

  endpoint_set(const endpoint_set&) = delete;
  endpoint_set& operator=(const endpoint_set&) = delete;
  ~endpoint_set() {
    for (auto* s : members_)
      endpoint_state::release(s, endpoint_state::snapshot_ref);
  }

  [[nodiscard]] std::span<endpoint_state* const> members() const noexcept { return members_; }
  [[nodiscard]] std::span<endpoint_state* const> routable() const noexcept { return routable_; }
  /// Members in rotation by health (the panic decision's numerator).
  [[nodiscard]] std::size_t healthy() const noexcept { return healthy_; }
  [[nodiscard]] bool panic() const noexcept { return panic_; }
  /// The balancer's panic threshold this set was built with (policies that decide panic per
  /// group of endpoints, like locality_aware, apply it themselves).
  [[nodiscard]] double panic_threshold() const noexcept { return panic_threshold_; }
  /// Increases with every snapshot a balancer publishes.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }

  /// The identity of the balancer that built the set (null for a set built by hand).
  [[nodiscard]] const void* owner() const noexcept { return owner_.get(); }

  /// Configured weights of routable(), their running sums, total and maximum.
  [[nodiscard]] std::span<const std::uint32_t> weights() const noexcept { return weights_; }
  [[nodiscard]] std::span<const std::uint64_t> cumulative() const noexcept { return cumulative_; }
  [[nodiscard]] std::uint64_t total_weight() const noexcept { return total_weight_; }
  [[nodiscard]] std::uint32_t max_weight() const noexcept { return max_weight_; }

  /// The weights of routable() for a stride scheduler, exactly as gRPC's
  /// StaticStrideScheduler::Make computes them from the configured weights (as floats): see
  /// detail::stride_scheduler_weights. Where gRPC would build no scheduler (one endpoint)
  /// every entry is 65535, which makes the stride pick plain round robin, gRPC's fallback.
  [[nodiscard]] std::span<const std::uint16_t> scaled_weights() const noexcept { return scaled_; }

  /// Per-snapshot tables a policy built for this set (see load_balancer: a policy with
  /// `prepare(const endpoint_set&)` gets it called once per publish); null if none. Attached
  /// before the set is published, never changed after.
  [[nodiscard]] const void* prepared() const noexcept { return prepared_.get(); }
  void attach(std::shared_ptr<const void> prepared) noexcept { prepared_ = std::move(prepared); }

  [[nodiscard]] const slow_start_options& slow_start() const noexcept { return slow_start_; }

  /// False when slow start is off: the policies then never read the clock for it.
  [[nodiscard]] bool slow_start_enabled() const noexcept {
    return slow_start_.window > duration::zero();
  }

  /// True while some routable endpoint may be inside its slow-start window at `now`; lets
  /// the weighted balancers skip the per-endpoint ramp once every endpoint is warm.
  [[nodiscard]] bool warming(time_point now) const noexcept { return now < warming_until_; }

  /// The slow-start multiplier in (0, 1] of `s` at `now` (1 outside the window).
  [[nodiscard]] double ramp(const endpoint_state& s, time_point now) const noexcept {
    if (slow_start_.window <= duration::zero()) return 1.0;
    const auto elapsed = now - s.added();
    if (elapsed >= slow_start_.window) return 1.0;
    const double fraction = elapsed <= duration::zero()
                                ? 0.0
                                : static_cast<double>(elapsed.count()) /
                                      static_cast<double>(slow_start_.window.count());
    const double floor = slow_start_.min_weight_percent / 100.0;
    return std::max(floor, std::pow(fraction, 1.0 / slow_start_.aggression));
  }

 private:
  void scale_weights() {
    std::vector<float> as_float;
    as_float.reserve(weights_.size());
    for (const auto w : weights_)
      as_float.push_back(static_cast<float>(w));
    if (auto scaled = detail::stride_scheduler_weights(as_float))
      scaled_ = std::move(*scaled);
    else
      scaled_.assign(weights_.size(), std::numeric_limits<std::uint16_t>::max());
  }

  std::vector<endpoint_state*> members_;
  std::vector<endpoint_state*> routable_;
  std::vector<std::uint32_t> weights_;
  std::vector<std::uint64_t> cumulative_;
  std::vector<std::uint16_t> scaled_;
  std::uint64_t total_weight_ = 0;
  std::uint32_t max_weight_ = 0;
  std::size_t healthy_ = 0;
  bool panic_ = false;
  double panic_threshold_;
  std::uint64_t version_;
  slow_start_options slow_start_;
  std::shared_ptr<const void> owner_;
  std::shared_ptr<const void> prepared_;
  time_point warming_until_{};
};

}  // namespace bulwark
