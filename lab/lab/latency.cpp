#include "lab/latency.hpp"

#include <chrono>
#include <cmath>
#include <numbers>

#include "bulwark/core/options.hpp"

namespace lab {
namespace {

// The standard normal's 99th percentile: a log-normal with median m and shape sigma has its
// p99 at m * exp(sigma * z99), which solved for sigma gives log(p99 / m) / z99.
constexpr double z99 = 2.3263478740408408;

// One standard normal draw by the Box-Muller transform, from two uniform draws. bulwark's
// random helpers are used instead of std::normal_distribution, whose algorithm differs
// between standard libraries; log, sqrt and cos are correctly rounded or within an ulp on
// every mainstream libm, and the result is rounded to whole nanoseconds afterwards, so a seed
// gives the same latencies everywhere in practice.
double standard_normal(bulwark::fast_rng& rng) {
  const double u1 = 1.0 - bulwark::uniform01(rng);  // in (0, 1], so log(u1) is finite
  const double u2 = bulwark::uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

latency_model latency_model::log_normal(bulwark::duration median, bulwark::duration p99) {
  const bulwark::option_check check{"lab::latency_model"};
  check.positive("median", median);
  check.at_least("p99", p99, median);
  const double ratio = std::chrono::duration<double>(p99) / std::chrono::duration<double>(median);
  return latency_model{median, p99, std::log(ratio) / z99};
}

latency_model latency_model::constant(bulwark::duration latency) {
  bulwark::option_check{"lab::latency_model"}.non_negative("latency", latency);
  return latency_model{latency, latency, 0.0};
}

bulwark::duration latency_model::sample(bulwark::fast_rng& rng) const {
  const double z = standard_normal(rng);  // drawn even when sigma is 0, to keep streams aligned
  const std::chrono::duration<double, std::nano> median_ns = median_;
  return std::chrono::round<bulwark::duration>(median_ns * std::exp(sigma_ * z));
}

}  // namespace lab
