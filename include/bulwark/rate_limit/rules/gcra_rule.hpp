#pragma once
// bulwark::gcra_rule: the Generic Cell Rate Algorithm's decision, virtual scheduling form
// (ITU-T I.371, Annex A; the form governor and redis-cell implement), as a pure function of a
// 64-bit theoretical arrival time. bulwark::gcra, the keyed limiter and the Redis script
// decide with it.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/paced_rule.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark {

/// Options of bulwark::gcra (defaults in parentheses).
struct gcra_options {
  /// The sustained rate (100/s); its emission interval T = period / count, in whole ns.
  bulwark::rate rate = per_second(100);
  /// How many unit requests may be admitted at the same instant (1). governor's
  /// `Quota::allow_burst(max_burst)` is burst = max_burst; redis-cell's `CL.THROTTLE key
  /// max_burst ...` admits max_burst + 1 at once, so it is burst = max_burst + 1.
  std::uint32_t burst = 1;
};

namespace detail {
inline void validate(const gcra_options& options) {
  validate_paced<&gcra_options::burst>("gcra", "burst", options);
}
}  // namespace detail

/// GCRA as a rule. State: TAT, the theoretical arrival time in nanoseconds on the clock's time
/// line. With T the emission interval and tau = burst x T, a request of cost c at time t is
/// admitted iff
///     max(TAT, t) + c x T - t <= tau,
/// and then TAT := max(TAT, t) + c x T. Otherwise TAT is unchanged and the request would be
/// admitted at max(TAT, t) + c x T - tau (its wait). A reservation up to `max_wait` ahead moves
/// TAT as an admission at t + wait would: there max(TAT, t + wait) = TAT. This is governor's
/// `Gcra::test_and_update` (its TAT one T later than ours) and redis-cell's test (`allow_at =
/// new_tat - dvt`, dvt = (max_burst + 1) x T). The initial TAT is "never": `burst` at once.
///
/// The sums saturate: tau may be up to 2^62 ns, so TAT plus an increment passes 2^63 with a
/// clock a few days past its epoch; wrapped it would look like the far past and admit
/// everything. A saturated TAT only refuses more. A clock that goes back leaves TAT as it is.
class gcra_rule final : public detail::paced_rule<&gcra_options::burst> {
 public:
  static constexpr std::string_view component = "gcra";

  /// Validates `options` (std::invalid_argument naming the field, as bulwark::gcra).
  explicit gcra_rule(const gcra_options& options)
      : paced_rule{(detail::validate(options), options)} {}

  /// The emission interval T: the time one unit of cost is worth.
  [[nodiscard]] duration emission_interval() const noexcept { return duration{interval_}; }
  /// The delay variation tolerance tau = burst x T (the paced depth).
  [[nodiscard]] duration tolerance() const noexcept { return duration{depth_}; }

  /// The decision for `cost` (in [1, max_cost()]) at `now`.
  [[nodiscard]] rate_decision<state> decide(state tat, std::uint32_t cost, time_point now,
                                            duration max_wait = {}) const noexcept {
    const std::int64_t t = detail::to_ns(now);
    const std::int64_t increment = interval_ * cost;
    // backlog - (tau - c x T), compared rather than summed: tau - c x T >= 0 as c <= burst.
    const std::int64_t late = backlog(tat, t) - (depth_ - increment);
    if (late <= 0) return {true, detail::saturating_add(std::max(tat, t), increment), {}};
    if (late > max_wait.count()) return {false, tat, duration{late}};
    return {true, detail::saturating_add(std::max(tat, t), increment), duration{late}};
  }

  /// How long until `cost` units could be taken: the wait of a refusal, zero otherwise.
  [[nodiscard]] duration wait(state tat, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t late = backlog(tat, detail::to_ns(now)) - (depth_ - interval_ * cost);
    return duration{std::max<std::int64_t>(late, 0)};
  }

  /// floor((tau - max(0, TAT - t)) / T), redis-cell's "remaining".
  [[nodiscard]] std::uint64_t available(state tat, time_point now) const noexcept {
    const std::int64_t ahead = backlog(tat, detail::to_ns(now));
    return ahead >= depth_ ? 0 : static_cast<std::uint64_t>((depth_ - ahead) / interval_);
  }

  /// Whether every decision from `now` on is the initial state's: TAT <= now.
  [[nodiscard]] static bool recovered(state tat, time_point now) noexcept {
    return tat <= detail::to_ns(now);
  }

 private:
  // max(TAT, t) - t, saturating (a clock that jumped back by centuries leaves TAT that far
  // ahead).
  [[nodiscard]] static std::int64_t backlog(std::int64_t tat, std::int64_t t) noexcept {
    return tat <= t ? 0 : detail::saturating_sub(tat, t);
  }
};

static_assert(rate_rule<gcra_rule>);

}  // namespace bulwark
