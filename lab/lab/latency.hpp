#pragma once

#include "bulwark/core/clock.hpp"
#include "bulwark/core/random.hpp"

namespace lab {

/// How long a backend takes to answer: a log-normal distribution, the usual shape of service
/// latency (a tight body and a long right tail), given by the two figures people quote, the
/// median and the 99th percentile.
///
/// A value type; sample() is O(1) and draws exactly two numbers from the generator whatever
/// the parameters, so the streams of two runs stay aligned even if their latencies differ.
class latency_model {
 public:
  /// Median `median`, 99th percentile `p99`. Throws std::invalid_argument unless
  /// 0 < median <= p99.
  [[nodiscard]] static latency_model log_normal(bulwark::duration median, bulwark::duration p99);
  /// Always `latency` (>= 0).
  [[nodiscard]] static latency_model constant(bulwark::duration latency);

  /// One latency, rounded to the nanosecond.
  [[nodiscard]] bulwark::duration sample(bulwark::fast_rng& rng) const;

  [[nodiscard]] bulwark::duration median() const noexcept { return median_; }
  [[nodiscard]] bulwark::duration p99() const noexcept { return p99_; }

  friend bool operator==(const latency_model&, const latency_model&) = default;

 private:
  latency_model(bulwark::duration median, bulwark::duration p99, double sigma) noexcept
      : median_{median}, p99_{p99}, sigma_{sigma} {}

  bulwark::duration median_;
  bulwark::duration p99_;
  double sigma_;  // of the underlying normal; exp(mu) is the median
};

}  // namespace lab
