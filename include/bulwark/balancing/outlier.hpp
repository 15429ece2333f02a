#pragma once
// Passive outlier ejection with Envoy's semantics (envoy.config.cluster.v3.OutlierDetection,
// source/common/upstream/outlier_detection_impl.cc as of Envoy 1.31): consecutive failures
// (inline), success rate and failure percentage (at each interval), an ejection time that grows
// with repeated ejections and is capped, and Envoy's max ejection percent rule.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// One endpoint leaving or rejoining rotation by outlier detection (outlier_options::on_change).
struct outlier_event {
  std::string_view endpoint;     ///< the endpoint's id, valid during the call only
  bool ejected = true;           ///< true: ejected now; false: its ejection time is up
  std::uint32_t multiplier = 0;  ///< ejections in a row (the ejection time is base x this)
  time_point time{};             ///< when, on the balancer's clock
};

/// Outlier detection options; defaults are Envoy's.
struct outlier_options {
  /// Consecutive failures that eject an endpoint at once (Envoy consecutive_5xx); 0 disables.
  std::uint32_t consecutive_failures = 5;
  /// Percent chance that a consecutive-failure ejection is enforced (enforcing_consecutive_5xx).
  std::uint32_t enforcing_consecutive_failures = 100;
  /// How often the statistical detectors run and ejections expire: each tick() at least
  /// `interval` after the last one evaluates (Envoy interval).
  duration interval = std::chrono::seconds{10};
  /// Ejection time = min(base x multiplier, cap), cap = max(base, max_ejection_time) (Envoy's
  /// default max is max(300 s, base)). Each ejection grows the multiplier while
  /// multiplier x base < cap + base, so it may end one step past the cap, as Envoy's does.
  duration base_ejection_time = std::chrono::seconds{30};
  duration max_ejection_time = std::chrono::seconds{300};
  /// An ejection happens only if 100 x (ejected + 1) / members <= max_ejection_percent (Envoy's
  /// ejectHost), so with the default 10% a set of fewer than 10 members ejects nothing...
  std::uint32_t max_ejection_percent = 10;
  /// ...unless this is set: then the first ejection is always allowed (Envoy's
  /// always_eject_one_host).
  bool always_eject_one_host = false;
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
  /// Called on each ejection and each return to rotation (Envoy's outlier event log), by the
  /// thread that caused it (a completion that tripped consecutive failures, or tick()), under
  /// the balancer's writer lock: it must not throw and must not call that balancer's writers
  /// (tick, set_healthy, update). Forward it to a registry with emit() (docs/operate.md).
  std::function<void(const outlier_event&)> on_change{};
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
  explicit outlier_detector(outlier_options options)
      : options_{(detail::validate(options), options)} {}

  [[nodiscard]] const outlier_options& options() const noexcept { return options_; }

  /// Called when `s` reached the consecutive-failure threshold. True if it was ejected.
  /// Envoy's onConsecutiveErrorWorker: an endpoint already ejected is left alone; otherwise,
  /// ejected or not (refused by max_ejection_percent, or not enforced), its run restarts, so
  /// the next `consecutive_failures` failures in a row try again.
  template <class G>
  bool on_consecutive_failures(endpoint_state& s, std::span<endpoint_state* const> members,
                               time_point now, G& rng) {
    if (s.ejected.load(std::memory_order_relaxed)) return false;
    const bool ejected = try_eject(s, members, now, options_.enforcing_consecutive_failures, rng);
    s.consecutive_failures.store(0, std::memory_order_relaxed);
    return ejected;
  }

  /// Envoy's onIntervalTimer: unejects endpoints whose time is up, runs success-rate and
  /// failure-percentage detection over the interval's counters (and resets them), then decays
  /// the multiplier of endpoints in rotation that were not unejected within the last interval.
  /// True if any ejection state changed.
  template <class G>
  bool on_interval(std::span<endpoint_state* const> members, time_point now, G& rng) {
    bool changed = false;
    for (auto* s : members) {
      auto& r = records_[s];
      if (s->ejected.load(std::memory_order_relaxed) &&
          now - r.ejected_at >= ejection_time(r.multiplier)) {
        s->ejected.store(false, std::memory_order_relaxed);
        s->consecutive_failures.store(0, std::memory_order_relaxed);
        r.unejected_at = now;
        changed = true;
        notify(*s, false, r.multiplier, now);
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
        if (v.success_rate < threshold)
          changed |= try_eject(*v.s, members, now, options_.enforcing_success_rate, rng);
    }
    if (fp.size() >= options_.failure_percentage_minimum_hosts && !fp.empty()) {
      for (const auto& v : fp)
        if (100.0 - v.success_rate >= options_.failure_percentage_threshold)
          changed |= try_eject(*v.s, members, now, options_.enforcing_failure_percentage, rng);
    }
    // After detection, as Envoy does: an endpoint ejected just now does not decay.
    for (auto* s : members) {
      auto& r = records_[s];
      if (!s->ejected.load(std::memory_order_relaxed) && r.multiplier > 0 && r.unejected_at &&
          now - *r.unejected_at >= options_.interval)
        --r.multiplier;
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
    std::optional<time_point> unejected_at{};
    std::uint32_t multiplier = 0;
  };

  [[nodiscard]] duration ejection_time(std::uint32_t multiplier) const noexcept {
    const auto cap = std::max(options_.base_ejection_time, options_.max_ejection_time);
    const auto t = options_.base_ejection_time * static_cast<duration::rep>(multiplier);
    return std::min(t, cap);
  }

  // Envoy's ejectHost: first the max-ejection-percent rule (a refusal counts as an overflow
  // whether or not the ejection would have been enforced), then the enforcement draw, then
  // the multiplier grows while multiplier x base < cap + base.
  template <class G>
  bool try_eject(endpoint_state& s, std::span<endpoint_state* const> members, time_point now,
                 std::uint32_t enforcing_percent, G& rng) {
    std::size_t ejected = 0;
    for (const auto* m : members)
      ejected += m->ejected.load(std::memory_order_relaxed) ? 1u : 0u;
    // Envoy compares 100.0 x (ejected + 1) / n <= max in double; the integer form is the same
    // test exactly (when the quotient equals an integer, the double division is exact).
    bool allowed = (ejected + 1) * 100 <=
                   static_cast<std::size_t>(options_.max_ejection_percent) * members.size();
    if (options_.always_eject_one_host) allowed = allowed || ejected == 0;
    if (!allowed) {
      ++refused_;
      return false;
    }
    if (!bernoulli(rng, enforcing_percent / 100.0)) return false;
    auto& r = records_[&s];
    const auto cap = std::max(options_.base_ejection_time, options_.max_ejection_time);
    if (detail::saturating_mul(options_.base_ejection_time,
                               static_cast<duration::rep>(r.multiplier)) <
        detail::saturating_add(cap, options_.base_ejection_time))
      ++r.multiplier;
    r.ejected_at = now;
    s.ejected.store(true, std::memory_order_relaxed);
    ++ejections_;
    notify(s, true, r.multiplier, now);
    return true;
  }

  void notify(const endpoint_state& s, bool ejected, std::uint32_t multiplier,
              time_point now) const {
    if (options_.on_change) options_.on_change({s.description().id, ejected, multiplier, now});
  }

  outlier_options options_;
  std::unordered_map<const endpoint_state*, record> records_;
  std::uint64_t ejections_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace detail
}  // namespace bulwark
