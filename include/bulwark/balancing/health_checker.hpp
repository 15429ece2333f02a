#pragma once
// Active health checking driven by the caller: probe schedules per endpoint, and Envoy's
// healthy/unhealthy thresholds turning probe results into rotation changes.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// Active health check options; defaults follow Envoy's common settings (thresholds 2 and 3;
/// Envoy requires an interval, 5 s is the usual choice).
struct health_check_options {
  duration interval = std::chrono::seconds{5};  ///< between two probes of one endpoint
  std::uint32_t healthy_threshold = 2;          ///< consecutive passes that bring an endpoint back
  std::uint32_t unhealthy_threshold = 3;        ///< consecutive failures that take it out
};

namespace detail {
inline void validate(const health_check_options& options) {
  const option_check check{"health_checker"};
  check.positive("interval", options.interval);
  check.at_least("healthy_threshold", options.healthy_threshold, 1u);
  check.at_least("unhealthy_threshold", options.unhealthy_threshold, 1u);
}
}  // namespace detail

/// Tracks probe results per endpoint and says when an endpoint changes state. It does not
/// probe by itself: the caller asks which endpoints are due(), probes them however it likes
/// (HTTP, TCP, a query), and report()s each result; run_due(probe, on_change) does both in
/// one call. A caller that wants a background thread calls run_due from its own loop (with
/// clock.sleep_for(interval) between rounds), which keeps thread ownership with the caller.
///
/// Endpoints start healthy, as in Envoy when a host is added without a prior check (so a new
/// cluster is usable before its first round of probes). Typical wiring to a balancer:
///
///   checker.run_due(probe, [&](const std::string& id, bool healthy) {
///     balancer.set_healthy(id, healthy);
///   });
///
/// Thread-safety: every member is safe from any thread (one mutex; probes run outside it).
/// Complexity: due() and run_due() O(n log n), report() O(log n).
template <clock Clock = steady_clock>
class health_checker {
 public:
  /// Throws std::invalid_argument for a non-positive interval or a zero threshold.
  explicit health_checker(std::vector<std::string> ids, health_check_options options = {},
                          Clock clock = {})
      : options_{(detail::validate(options), options)}, clock_{std::move(clock)} {
    set_targets(std::move(ids));
  }

  /// Replaces the endpoints to check; those that stay keep their state, new ones are due now.
  void set_targets(std::vector<std::string> ids) {
    const std::lock_guard<std::mutex> lock{mutex_};
    std::map<std::string, state, std::less<>> next;
    for (auto& id : ids) {
      const auto found = states_.find(id);
      next.emplace(std::move(id), found != states_.end() ? found->second : state{});
    }
    states_ = std::move(next);
  }

  /// The endpoints whose next probe is due at `now`; each is scheduled one interval later.
  [[nodiscard]] std::vector<std::string> due(time_point now) {
    const std::lock_guard<std::mutex> lock{mutex_};
    std::vector<std::string> out;
    for (auto& [id, s] : states_) {
      if (s.next_probe && now < *s.next_probe) continue;
      s.next_probe = detail::deadline_after(now, options_.interval);
      out.push_back(id);
    }
    return out;
  }
  [[nodiscard]] std::vector<std::string> due() { return due(clock_.now()); }

  /// Records one probe result. Returns the endpoint's new state if this result changed it
  /// (unhealthy after `unhealthy_threshold` failures in a row, healthy again after
  /// `healthy_threshold` passes in a row), nothing otherwise or for an unknown id.
  std::optional<bool> report(std::string_view id, bool passed) {
    const std::lock_guard<std::mutex> lock{mutex_};
    const auto found = states_.find(id);
    if (found == states_.end()) return std::nullopt;
    auto& s = found->second;
    if (passed) {
      s.failures = 0;
      ++s.passes;
      if (!s.healthy && s.passes >= options_.healthy_threshold) {
        s.healthy = true;
        return true;
      }
    } else {
      s.passes = 0;
      ++s.failures;
      if (s.healthy && s.failures >= options_.unhealthy_threshold) {
        s.healthy = false;
        return false;
      }
    }
    return std::nullopt;
  }

  /// Probes every due endpoint with `probe(id) -> bool` (outside the lock) and calls
  /// `on_change(id, healthy)` for each transition. Returns the number of probes run.
  template <class Probe, class OnChange>
  std::size_t run_due(Probe&& probe, OnChange&& on_change) {
    const auto ids = due();
    for (const auto& id : ids) {
      const bool passed = static_cast<bool>(probe(id));
      if (const auto change = report(id, passed)) on_change(id, *change);
    }
    return ids.size();
  }

  /// Whether `id` is currently healthy (false for an unknown id).
  [[nodiscard]] bool healthy(std::string_view id) const {
    const std::lock_guard<std::mutex> lock{mutex_};
    const auto found = states_.find(id);
    return found != states_.end() && found->second.healthy;
  }

 private:
  struct state {
    bool healthy = true;
    std::uint32_t passes = 0;
    std::uint32_t failures = 0;
    std::optional<time_point> next_probe{};
  };

  health_check_options options_;
  [[no_unique_address]] Clock clock_;
  mutable std::mutex mutex_;
  std::map<std::string, state, std::less<>> states_;  // guarded by mutex_
};

}  // namespace bulwark
