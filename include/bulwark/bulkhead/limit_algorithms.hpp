#pragma once
// The algorithms that move an adaptive_limiter's limit: AIMD and Gradient2, after Netflix's
// concurrency-limits (AIMDLimit, Gradient2Limit), and the concept a user-written one models.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark {

/// What adaptive_limiter needs of a limit algorithm: the current limit, and a sample per
/// completed call: its latency, the calls in flight when it started (itself included), and
/// whether it was dropped (refused or timed out downstream). Called under the limiter's lock,
/// one sample at a time, so an algorithm needs no synchronisation of its own.
template <class L>
concept limit_algorithm = requires(L& l, const L& cl, duration rtt, std::uint32_t inflight) {
  { cl.limit() } -> std::convertible_to<std::uint32_t>;
  l.on_sample(rtt, inflight, true);
};

/// AIMD's configuration; the defaults are Netflix's AIMDLimit.
struct aimd_options {
  std::uint32_t initial_limit = 20;  ///< in [min_limit, max_limit]
  std::uint32_t min_limit = 20;      ///< >= 1
  std::uint32_t max_limit = 200;     ///< >= min_limit
  double backoff_ratio = 0.9;        ///< the multiplicative decrease; in [0.5, 1)
  /// A success slower than this counts as a drop. > 0.
  duration timeout = std::chrono::seconds{5};
};

namespace detail {
inline void validate(const aimd_options& options) {
  const option_check check{"aimd_limit"};
  check.at_least("min_limit", options.min_limit, std::uint32_t{1});
  check.at_least("max_limit", options.max_limit, options.min_limit);
  check.in_range("initial_limit", options.initial_limit, options.min_limit, options.max_limit);
  check.that(options.backoff_ratio >= 0.5 && options.backoff_ratio < 1.0, "backoff_ratio",
             "in [0.5, 1)", options.backoff_ratio);
  check.positive("timeout", options.timeout);
}
}  // namespace detail

/// Additive increase, multiplicative decrease (Netflix AIMDLimit): a drop, or a latency above
/// `timeout`, multiplies the limit by backoff_ratio (truncating); a success while the limiter
/// is at least half used adds 1 (the half-use check stops an idle client from growing a limit
/// it never tests). The result is clamped to [min_limit, max_limit]. Not thread-safe (the
/// limiter serialises samples); O(1).
class aimd_limit {
 public:
  using options_type = aimd_options;

  explicit aimd_limit(aimd_options options)
      : options_{(detail::validate(options), options)}, limit_{options.initial_limit} {}

  [[nodiscard]] std::uint32_t limit() const noexcept { return limit_; }

  void on_sample(duration rtt, std::uint32_t inflight, bool dropped) noexcept {
    std::uint32_t next = limit_;
    if (dropped || rtt > options_.timeout) {
      next = static_cast<std::uint32_t>(static_cast<double>(limit_) * options_.backoff_ratio);
    } else if (std::uint64_t{inflight} * 2 >= limit_) {
      next = limit_ + 1;
    }
    limit_ = std::clamp(next, options_.min_limit, options_.max_limit);
  }

  [[nodiscard]] const aimd_options& options() const noexcept { return options_; }

 private:
  aimd_options options_;
  std::uint32_t limit_;
};

/// Gradient2's configuration; the defaults are Netflix's Gradient2Limit, plus bulwark's two
/// additions (drop_ratio, drift_guard) whose off values give Netflix's algorithm exactly.
struct gradient2_options {
  std::uint32_t initial_limit = 20;  ///< in [min_limit, max_limit]
  std::uint32_t min_limit = 20;      ///< >= 1
  std::uint32_t max_limit = 200;     ///< >= min_limit (Netflix's maxConcurrency)
  double smoothing = 0.2;            ///< weight of a new estimate; in (0, 1]
  double rtt_tolerance = 1.5;        ///< latency growth tolerated before shrinking; >= 1
  std::uint32_t long_window = 600;   ///< samples in the long-term latency average; >= 1
  double queue_size = 4;             ///< headroom added to the limit when growing; >= 0
  /// A dropped call applies this gradient (before smoothing) instead of being a latency
  /// sample: with 0.5 and smoothing 0.2 a drop costs 10% of the limit, as AIMD's default
  /// does. In [0.5, 1]; 1: a drop is an ordinary latency sample, as in Netflix's
  /// Gradient2Limit._update, which never reads its didDrop argument.
  double drop_ratio = 0.5;
  /// Guards against the limit creeping up under steady overload (see the class comment).
  /// false: Netflix's Gradient2 exactly.
  bool drift_guard = true;
};

namespace detail {
inline void validate(const gradient2_options& options) {
  const option_check check{"gradient2_limit"};
  check.at_least("min_limit", options.min_limit, std::uint32_t{1});
  check.at_least("max_limit", options.max_limit, options.min_limit);
  check.in_range("initial_limit", options.initial_limit, options.min_limit, options.max_limit);
  check.fraction("smoothing", options.smoothing);
  check.at_least("rtt_tolerance", options.rtt_tolerance, 1.0);
  check.at_least("long_window", options.long_window, std::uint32_t{1});
  check.non_negative("queue_size", options.queue_size);
  check.in_range("drop_ratio", options.drop_ratio, 0.5, 1.0);
}
}  // namespace detail

/// Gradient2 (Netflix concurrency-limits): compares the latest latency (short RTT) with an
/// exponential average over long_window samples (long RTT), and moves the limit by
///   gradient  = clamp(rtt_tolerance * long / short, 0.5, 1)
///   estimate  = limit * gradient + queue_size
///   limit     = clamp(limit * (1 - smoothing) + estimate * smoothing, min_limit, max_limit)
/// skipping the update while fewer than half the limit are in flight (app-limited), and
/// decaying the long RTT by 5% per sample while it exceeds twice the short one (recovery
/// after a long overload). The long average starts as a plain mean of its first 10 samples.
///
/// The creep it guards against (Netflix concurrency-limits issues #137 and #134): under steady
/// overload the long average catches up with the inflated latency, the gradient returns to 1,
/// and queue_size is added on every sample, so the limit walks up to max_limit and latency
/// with it. With drift_guard (bulwark's addition):
///   - queue_size is added only when the gradient is 1 (no queueing seen), as PR #134 does;
///   - after its 10-sample warm-up, the long average learns only from samples taken while the
///     limiter was less than half used (app-limited), whose latency cannot be our own
///     queueing; and only those samples apply Netflix's 5% recovery decay. (Letting the
///     others only lower it would bias it low under noisy latency.)
/// The price: if a backend's unloaded latency genuinely rises while demand keeps the limiter
/// busy, the limit settles at min_limit until demand falls below half of it.
///
/// Not thread-safe (the limiter serialises samples); O(1) per sample.
class gradient2_limit {
 public:
  using options_type = gradient2_options;

  explicit gradient2_limit(gradient2_options options)
      : options_{(detail::validate(options), options)},
        estimate_{static_cast<double>(options.initial_limit)} {}

  /// The limit: the estimate, truncated as Netflix's getLimit() does.
  [[nodiscard]] std::uint32_t limit() const noexcept {
    return static_cast<std::uint32_t>(estimate_);
  }
  /// The unrounded estimate.
  [[nodiscard]] double estimate() const noexcept { return estimate_; }
  /// The long-term latency average, in nanoseconds (0 before the first sample).
  [[nodiscard]] double long_rtt_ns() const noexcept { return long_rtt_; }

  void on_sample(duration rtt, std::uint32_t inflight, bool dropped) noexcept {
    // Netflix's _update ignores didDrop, so drop_ratio = 1 must leave a drop to the latency
    // path below; only bulwark's drop_ratio < 1 treats it differently.
    if (dropped && options_.drop_ratio < 1.0) {
      set_estimate(smoothed(estimate_ * options_.drop_ratio));
      return;
    }
    const double short_rtt = std::max(1.0, static_cast<double>(rtt.count()));
    const bool app_limited = inflight < estimate_ / 2;
    // With the drift guard, the long average learns only from samples that cannot show our
    // own queueing: app-limited ones, and the warm-up that gives it a first value.
    const bool learn = !options_.drift_guard || app_limited || samples_ < warmup;
    const double long_rtt = learn ? add_long_sample(short_rtt) : long_rtt_;
    // Recover quickly after a long overload; the gradient below still uses the value before
    // the decay, as Netflix's does. Only samples the average learns from may decay it: with
    // the drift guard, decaying on every fast sample while learning from few would drag the
    // average far below the typical latency under noisy latency (in the lab's overload
    // scenario, p99 = 5 x p50, to 10 ms against a 20 ms median), and then ordinary samples
    // look like queueing. Without the guard every sample learns: Netflix's rule.
    if (learn && long_rtt / short_rtt > 2) long_rtt_ *= 0.95;
    if (app_limited) return;

    const double gradient = std::clamp(options_.rtt_tolerance * long_rtt / short_rtt, 0.5, 1.0);
    const bool add_queue = !options_.drift_guard || gradient >= 1.0;
    set_estimate(smoothed(estimate_ * gradient + (add_queue ? options_.queue_size : 0.0)));
  }

  [[nodiscard]] const gradient2_options& options() const noexcept { return options_; }

 private:
  static constexpr std::uint32_t warmup = 10;  // Netflix's ExpAvgMeasurement warm-up

  // Netflix's ExpAvgMeasurement(long_window, 10): a mean of the first 10 samples, then an
  // exponential average with factor 2 / (window + 1).
  double add_long_sample(double sample) noexcept {
    if (samples_ < warmup) {
      ++samples_;
      warmup_sum_ += sample;
      long_rtt_ = warmup_sum_ / samples_;
    } else {
      const double factor = 2.0 / (options_.long_window + 1.0);
      long_rtt_ = long_rtt_ * (1 - factor) + sample * factor;
    }
    return long_rtt_;
  }

  [[nodiscard]] double smoothed(double next) const noexcept {
    return estimate_ * (1 - options_.smoothing) + next * options_.smoothing;
  }
  void set_estimate(double next) noexcept {
    estimate_ = std::clamp(next, static_cast<double>(options_.min_limit),
                           static_cast<double>(options_.max_limit));
  }

  gradient2_options options_;
  double estimate_;
  double long_rtt_ = 0;
  double warmup_sum_ = 0;
  std::uint32_t samples_ = 0;
};

}  // namespace bulwark
