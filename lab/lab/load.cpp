#include "lab/load.hpp"

#include <cmath>
#include <utility>

#include "bulwark/core/options.hpp"
#include "lab/format.hpp"

namespace lab {

std::string describe(const load_options& options) {
  return bulwark::to_string(options.rate) +
         (options.pattern == arrival_pattern::poisson ? " Poisson" : " constant") +
         " arrivals for " + format_duration(options.length);
}

load_generator::load_generator(load_options options, simulation& sim, std::uint64_t seed)
    : options_{options}, sim_{sim}, rng_{seed} {
  const bulwark::option_check check{"lab::load_generator"};
  check.positive("rate.count", options_.rate.count);
  check.positive("rate.period", options_.rate.period);
  check.positive("length", options_.length);
}

void load_generator::start(sink on_arrival) {
  on_arrival_ = std::move(on_arrival);
  start_ = sim_.now();
  offset_ = next_offset();
  schedule_next();
}

void load_generator::schedule_next() {
  if (offset_ >= options_.length) return;
  sim_.at(start_ + offset_, [this] {
    const request arrived{issued_++, sim_.now()};
    // Draw the next arrival before handing this one over, so that nothing the client does
    // can come between the generator and its stream.
    offset_ = next_offset();
    schedule_next();
    on_arrival_(arrived);
  });
}

duration load_generator::next_offset() {
  const bulwark::duration period = options_.rate.period;
  const auto count = static_cast<bulwark::duration::rep>(options_.rate.count);
  if (options_.pattern == arrival_pattern::constant) {
    // Arrival n at n * period / count, computed afresh rather than by adding up a rounded
    // interval, so that 3/s puts arrival 3 at exactly one second. Split into whole periods and
    // a remainder so the product cannot overflow before the offset itself would.
    const auto n = static_cast<bulwark::duration::rep>(issued_);
    return period * (n / count) + period * (n % count) / count;
  }
  // Poisson arrivals: exponential gaps with mean period / count, by inversion.
  const double mean_gap_ns =
      std::chrono::duration<double, std::nano>{period}.count() / static_cast<double>(count);
  const double gap_ns = -std::log(1.0 - bulwark::uniform01(rng_)) * mean_gap_ns;
  return offset_ + std::chrono::round<duration>(std::chrono::duration<double, std::nano>{gap_ns});
}

}  // namespace lab
