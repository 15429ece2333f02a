#include "lab/stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bulwark/core/options.hpp"

namespace lab {

double timeline_bucket::success_ratio() const noexcept {
  const std::uint64_t total = requests();
  return total == 0 ? 0.0 : static_cast<double>(successes) / static_cast<double>(total);
}

duration nearest_rank(std::span<const duration> sorted, double percent) {
  if (sorted.empty()) return duration::zero();
  const double n = static_cast<double>(sorted.size());
  // The small allowance keeps a rank that is a whole number in exact arithmetic (99% of 200 is
  // 198) from rounding up to the next one when percent / 100 * n lands a hair above it.
  const double rank = std::ceil(percent / 100.0 * n - 1e-9);
  const auto index = static_cast<std::size_t>(std::clamp(rank, 1.0, n)) - 1;
  return sorted[index];
}

arm_recorder::arm_recorder(time_point start, duration length, duration bucket)
    : start_{start}, bucket_{bucket} {
  const bulwark::option_check check{"lab::arm_recorder"};
  check.positive("length", length);
  check.positive("bucket", bucket);
  totals_.timeline.resize(static_cast<std::size_t>((length + bucket - duration{1}) / bucket));
}

void arm_recorder::arrived(const request& r) {
  if (r.id != finished_.size()) {
    throw std::logic_error{"lab::arm_recorder: request " + std::to_string(r.id) +
                           " arrived out of order"};
  }
  finished_.push_back(false);
  ++totals_.requests;
}

void arm_recorder::finished(const request& r, outcome result, time_point now) {
  if (r.id >= finished_.size() || finished_[r.id]) {
    throw std::logic_error{
        "lab::arm_recorder: request " + std::to_string(r.id) +
        (r.id >= finished_.size() ? " finished before it arrived" : " finished twice")};
  }
  finished_[r.id] = true;
  latencies_.push_back(now - r.arrival);

  const auto slice = static_cast<std::size_t>((r.arrival - start_) / bucket_);
  timeline_bucket& bucket = totals_.timeline.at(slice);
  switch (result) {
    case outcome::success:
      ++totals_.successes;
      ++bucket.successes;
      break;
    case outcome::failure:
      ++totals_.failures;
      ++bucket.failures;
      break;
    case outcome::rejected:
      ++totals_.rejections;
      ++bucket.rejections;
      break;
  }
}

std::uint64_t arm_recorder::unfinished() const noexcept {
  return totals_.requests - totals_.successes - totals_.failures - totals_.rejections;
}

arm_stats arm_recorder::stats() const {
  arm_stats summary = totals_;
  std::vector<duration> sorted = latencies_;
  std::sort(sorted.begin(), sorted.end());
  summary.p50 = nearest_rank(sorted, 50);
  summary.p99 = nearest_rank(sorted, 99);
  return summary;
}

}  // namespace lab
