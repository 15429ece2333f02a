#pragma once
// What gcra_rule, token_bucket_rule and leaky_bucket_rule share: one 64-bit time as the state,
// a rate whose interval T is one unit of cost, and a depth of `units` x T (tau, the bucket).

#include <cstdint>
#include <limits>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"

namespace bulwark::detail {

/// `Units` points at the unit count of options that also have a `rate` (gcra's burst, the
/// buckets' capacity).
/// Only the interval, the depth and the rate as given are stored: the unit count is depth / T,
/// a division that stays off the hot path (admissible() multiplies instead).
template <auto Units>
class paced_rule;

template <class Options, std::uint32_t Options::*Units>
class paced_rule<Units> {
 public:
  using state = std::int64_t;
  using options_type = Options;
  static constexpr bool reserves = true;

  /// The options it was built with.
  [[nodiscard]] Options options() const noexcept {
    Options o;
    o.rate = rate_;
    o.*Units = max_cost();
    return o;
  }

  /// The unit count: the largest cost.
  [[nodiscard]] std::uint32_t max_cost() const noexcept {
    return static_cast<std::uint32_t>(depth_ / interval_);
  }

  /// Whether `cost` is in [1, max_cost()]: c x T <= units x T. With T < 2^31 ns the product
  /// stays below 2^63 for any 32-bit cost, so the hot path multiplies; a longer T divides.
  [[nodiscard]] bool admissible(std::uint32_t cost) const noexcept {
    // One unit always fits (validated: units >= 1, so depth >= T). Deciding cost 1 here lets a
    // caller with a constant cost of 1 (try_acquire()) skip the check's loads and compares:
    // it repays the load of the rule's pointer that reconfigure() added (cas_limiter.hpp).
    if (cost <= 1) return cost == 1;
    if (interval_ < (std::int64_t{1} << 31)) [[likely]]
      return interval_ * cost <= depth_;
    return cost <= max_cost();
  }

  /// "Never" (the far past): max(state, now) is now, and now - depth > min for any clock
  /// reading at least max_span_ns after the lowest time point, which every real clock is.
  [[nodiscard]] static constexpr state initial(time_point = {}) noexcept {
    return std::numeric_limits<state>::min();
  }

 protected:
  /// `options` already validated (validate_paced, through the rule's detail::validate).
  explicit paced_rule(const Options& options)
      : interval_{options.rate.interval().count()},
        depth_{interval_ * static_cast<std::int64_t>(options.*Units)},
        rate_{options.rate} {}

  std::int64_t interval_;  // T, ns per unit
  std::int64_t depth_;     // units x T, ns
  rate rate_;
};

/// The checks of options with a `rate` and a unit count `Units` (gcra's burst, the buckets'
/// capacity): the rate, then the unit count, naming `component` and `field` in the message.
/// Each such options struct's detail::validate calls it.
template <auto Units, class Options>
void validate_paced(std::string_view component, std::string_view field, const Options& options) {
  const option_check check{component};
  check_rate(check, "rate", options.rate);
  check.at_least(field, options.*Units, std::uint32_t{1});
  check_span(check, field, options.*Units, options.rate.interval());
}

}  // namespace bulwark::detail
