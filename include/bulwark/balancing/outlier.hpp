#pragma once
// Passive outlier ejection with Envoy's semantics (envoy.config.cluster.v3.OutlierDetection):
// consecutive failures (inline), success rate and failure percentage (at each interval), an
// ejection time that grows with repeated ejections and is capped, and a max ejection percent
// that is honoured exactly.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// Outlier detection options; defaults are Envoy's.
struct outlier_options {
  /// Consecutive failures that eject an endpoint at once (Envoy consecutive_5xx); 0 disables.
  std::uint32_t consecutive_failures = 5;
  /// Percent chance that a consecutive-failure ejection is enforced (enforcing_consecutive_5xx).
  std::uint32_t enforcing_consecutive_failures = 100;
  /// How often the statistical detectors run and ejections expire: each tick() at least
  /// `interval` after the last one evaluates (Envoy interval).
  duration interval = std::chrono::seconds{10};
  /// Ejection time = base x (times ejected in a row), at most max(base, max_ejection_time).
  duration base_ejection_time = std::chrono::seconds{30};
  duration max_ejection_time = std::chrono::seconds{300};
  /// The most endpoints that may be ejected at once, in percent of the members; one endpoint
  /// may always be ejected, whatever the percentage (Envoy's documented guarantee).
  std::uint32_t max_ejection_percent = 10;
  /// Success rate: an endpoint with at least `success_rate_request_volume` requests in the
  /// interval is an outlier when its success rate is below mean - (stdev_factor / 1000) x
  /// stdev over such endpoints, if at least `success_rate_minimum_hosts` of them exist.
  std::uint32_t enforcing_success_rate = 100;
  std::uint32_t success_rate_minimum_hosts = 5;
  std::uint32_t success_rate_request_volume = 100;
  std::uint32_t success_rate_stdev_factor = 1900;
  /// Failure percentage: an endpoint with at least `failure_percentage_request_volume`
  /// requests whose failure percentage is >= the threshold, if at least
  /// `failure_percentage_minimum_hosts` endpoints have that volume. Off by default, as in Envoy
  /// (enforcing 0).
  std::uint32_t failure_percentage_threshold = 85;
  std::uint32_t enforcing_failure_percentage = 0;
  std::uint32_t failure_percentage_minimum_hosts = 5;
  std::uint32_t failure_percentage_request_volume = 50;
};

namespace detail {

inline void validate(const outlier_options& o) {
  const option_check check{"outlier_detector"};
  check.positive("interval", o.interval);
  check.positive("base_ejection_time", o.base_ejection_time);
  check.positive("max_ejection_time", o.max_ejection_time);
  check.at_most("max_ejection_percent", o.max_ejection_percent, 100u);
  check.at_most("enforcing_consecutive_failures", o.enforcing_consecutive_failures, 100u);
  check.at_most("enforcing_success_rate", o.enforcing_success_rate, 100u);
  check.at_most("enforcing_failure_percentage", o.enforcing_failure_percentage, 100u);
  check.at_most("failure_percentage_threshold", o.failure_percentage_threshold, 100u);
}

/// The detector's bookkeeping. Not thread-safe: load_balancer calls it under its writer mutex.
/// Ejection flags live on the endpoint states (read when a snapshot is built); the rest here.
class outlier_detector {
 public:
  explicit outlier_detector(outlier_options options) : options_{options} { validate(options_); }

  [[nodiscard]] const outlier_options& options() const noexcept { return options_; }

  /// Called when `s` reached the consecutive-failure threshold. True if it was ejected.
  template <class G>
  bool on_consecutive_failures(endpoint_state& s, std::span<endpoint_state* const> members,
                               time_point now, G& rng) {
    if (s.ejected.load(std::memory_order_relaxed)) return false;
    if (!bernoulli(rng, options_.enforcing_consecutive_failures / 100.0)) return false;
    return try_eject(s, members, now);
  }

  /// Envoy's interval timer: unejects endpoints whose time is up, decays the multiplier of
  /// endpoints that stayed in, then runs success-rate and failure-percentage detection over
  /// the interval's counters (and resets them). True if any ejection state changed.
  template <class G>
  bool on_interval(std::span<endpoint_state* const> members, time_point now, G& rng) {
    bool changed = false;
    for (auto* s : members) {
      auto& r = records_[s];
      if (s->ejected.load(std::memory_order_relaxed)) {
        if (now - r.ejected_at >= ejection_time(r.multiplier)) {
          s->ejected.store(false, std::memory_order_relaxed);
          s->consecutive_failures.store(0, std::memory_order_relaxed);
          changed = true;
        }
      } else if (r.multiplier > 0) {
        --r.multiplier;  // Envoy: each interval spent in rotation forgets one ejection
      }
    }
    struct volume {
      endpoint_state* s;
      double success_rate;  // percent
    };
    std::vector<volume> sr, fp;
    for (auto* s : members) {
      const auto ok = s->interval_successes.exchange(0, std::memory_order_relaxed);
      const auto bad = s->interval_failures.exchange(0, std::memory_order_relaxed);
      const auto total = ok + bad;
      if (total == 0 || s->ejected.load(std::memory_order_relaxed)) continue;
      const double rate = 100.0 * static_cast<double>(ok) / static_cast<double>(total);
      if (total >= options_.success_rate_request_volume) sr.push_back({s, rate});
      if (total >= options_.failure_percentage_request_volume) fp.push_back({s, rate});
    }
    if (sr.size() >= options_.success_rate_minimum_hosts && !sr.empty()) {
      double mean = 0;
      for (const auto& v : sr)
        mean += v.success_rate;
      mean /= static_cast<double>(sr.size());
      double variance = 0;
      for (const auto& v : sr)
        variance += (v.success_rate - mean) * (v.success_rate - mean);
      variance /= static_cast<double>(sr.size());  // population variance, as Envoy computes
      const double threshold =
          mean - (options_.success_rate_stdev_factor / 1000.0) * std::sqrt(variance);
      for (const auto& v : sr)
        if (v.success_rate < threshold && bernoulli(rng, options_.enforcing_success_rate / 100.0))
          changed |= try_eject(*v.s, members, now);
    }
    if (fp.size() >= options_.failure_percentage_minimum_hosts && !fp.empty()) {
      for (const auto& v : fp)
        if (100.0 - v.success_rate >= options_.failure_percentage_threshold &&
            bernoulli(rng, options_.enforcing_failure_percentage / 100.0))
          changed |= try_eject(*v.s, members, now);
    }
    return changed;
  }

  /// Forgets an endpoint that left the set.
  void forget(const endpoint_state* s) { records_.erase(s); }

  /// Times `s` has been ejected in a row (Envoy's ejection multiplier).
  [[nodiscard]] std::uint32_t multiplier(const endpoint_state* s) const {
    const auto found = records_.find(s);
    return found == records_.end() ? 0 : found->second.multiplier;
  }

  [[nodiscard]] std::uint64_t ejections() const noexcept { return ejections_; }
  [[nodiscard]] std::uint64_t ejections_refused() const noexcept { return refused_; }

 private:
  struct record {
    time_point ejected_at{};
    std::uint32_t multiplier = 0;
  };

  [[nodiscard]] duration ejection_time(std::uint32_t multiplier) const noexcept {
    const auto cap = std::max(options_.base_ejection_time, options_.max_ejection_time);
    const auto t = options_.base_ejection_time * static_cast<duration::rep>(multiplier);
    return std::min(t, cap);
  }

  // The max-ejection-percent rule, honoured exactly: with e endpoints ejected out of n, one
  // more may go only if e == 0 (one ejection is always allowed) or (e + 1) / n <= max%.
  // Envoy compares the percentage *before* this ejection (e / n < max%), which lets the
  // ejected share overshoot the limit by one endpoint (25% of 10 endpoints allows 3).
  bool try_eject(endpoint_state& s, std::span<endpoint_state* const> members, time_point now) {
    std::size_t ejected = 0;
    for (const auto* m : members)
      ejected += m->ejected.load(std::memory_order_relaxed) ? 1u : 0u;
    if (ejected > 0 &&
        (ejected + 1) * 100 >
            static_cast<std::size_t>(options_.max_ejection_percent) * members.size()) {
      ++refused_;
      return false;
    }
    auto& r = records_[&s];
    // Envoy grows the multiplier only while the grown time stays within the cap, so a long
    // run of ejections does not leave a multiplier that takes many intervals to decay.
    const auto cap = std::max(options_.base_ejection_time, options_.max_ejection_time);
    if (options_.base_ejection_time * static_cast<duration::rep>(r.multiplier + 1) <= cap)
      ++r.multiplier;
    r.ejected_at = now;
    s.ejected.store(true, std::memory_order_relaxed);
    ++ejections_;
    return true;
  }

  outlier_options options_;
  std::unordered_map<const endpoint_state*, record> records_;
  std::uint64_t ejections_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace detail
}  // namespace bulwark
