#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lab/load.hpp"
#include "lab/simulation.hpp"

namespace lab {

/// The final outcome of one request, as the client's caller sees it.
enum class outcome {
  success,
  failure,   // reached the backend (perhaps several times) and did not succeed
  rejected,  // refused by a guard; never reached the backend
};

/// The outcomes of the requests that arrived within one slice of the run.
struct timeline_bucket {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t rejections = 0;

  [[nodiscard]] std::uint64_t requests() const noexcept {
    return successes + failures + rejections;
  }
  /// successes / requests; 0 for an empty bucket.
  [[nodiscard]] double success_ratio() const noexcept;

  friend bool operator==(const timeline_bucket&, const timeline_bucket&) = default;
};

/// What one arm's client did with its requests.
struct arm_stats {
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t rejections = 0;
  /// Latency from arrival to final outcome, nearest-rank percentiles over every request, the
  /// rejected ones included: a fast refusal is what their callers saw.
  duration p50{};
  duration p99{};
  /// Outcomes by arrival time, in slices of the scenario's timeline bucket.
  std::vector<timeline_bucket> timeline{};

  friend bool operator==(const arm_stats&, const arm_stats&) = default;
};

/// The nearest-rank percentile of `sorted` (ascending): the smallest sample with at least
/// `percent` % of the samples at or below it, the value at rank ceil(percent / 100 * n).
/// Exact and always one of the samples, never an interpolation. 0 for no samples.
/// Precondition: 0 < percent <= 100. O(1).
[[nodiscard]] duration nearest_rank(std::span<const duration> sorted, double percent);

/// Collects one arm's outcomes as the simulation runs: counts, every latency sample (a run
/// has thousands of requests, so exact percentiles cost little), and the timeline.
///
/// Checks the client's bookkeeping, because a lost or doubly answered request would make the
/// counts lie: finished() throws std::logic_error for a request that did not arrive or already
/// finished, and unfinished() tells what is left at the end. Not thread-safe.
class arm_recorder {
 public:
  /// A run that starts at `start` and has arrivals for `length`, its timeline cut in slices
  /// of `bucket`. Throws std::invalid_argument unless length and bucket are positive.
  arm_recorder(time_point start, duration length, duration bucket);

  /// Counts a request. Requests arrive with ids 0, 1, 2, ... as load_generator numbers them.
  void arrived(const request& r);
  /// Records `r`'s final outcome at time `now`.
  void finished(const request& r, outcome result, time_point now);

  [[nodiscard]] std::uint64_t unfinished() const noexcept;
  /// The summary. O(n log n) for the percentiles.
  [[nodiscard]] arm_stats stats() const;

 private:
  time_point start_;
  duration bucket_;
  arm_stats totals_;            // counts and timeline; percentiles are computed in stats()
  std::vector<bool> finished_;  // by request id
  std::vector<duration> latencies_;
};

}  // namespace lab
