#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// How a backoff delay is randomised. Without jitter, clients that failed together retry
/// together and the retries arrive as a synchronised wave; jitter spreads them out.
/// The formulas are those of AWS's "Exponential Backoff and Jitter" (Brooker, 2015) and, for
/// proportional, of gRPC (+-20%: retries since gRFC A6's 2024 revision, and connection backoff)
/// and resilience4j's randomized interval.
enum class jitter_kind {
  none,          ///< d: the schedule itself
  full,          ///< uniform in [0, d]; mean d/2 (AWS "Full Jitter", its recommendation)
  equal,         ///< d/2 + uniform in [0, d/2]; mean 3d/4 (AWS "Equal Jitter")
  decorrelated,  ///< min(cap, uniform in [base, 3 * previous]) (AWS "Decorrelated Jitter")
  proportional,  ///< d * (1 + factor * uniform in [-1, 1)); mean d (gRPC, resilience4j)
};

namespace detail {

/// A non-negative double number of nanoseconds as a duration, saturating at `limit` (and at 0
/// for negatives); NaN gives 0. The comparison happens in double before any conversion, so no
/// attempt number or multiplier can overflow the integer.
[[nodiscard]] inline duration saturate_ns(double ns, duration limit) noexcept {
  if (!(ns > 0.0)) return duration::zero();
  if (ns >= static_cast<double>(limit.count())) return limit;
  // ns < limit as a double, so it fits the representation; the double may have rounded the
  // limit up by less than one ulp, hence the final min.
  return std::min(duration{static_cast<duration::rep>(ns)}, limit);
}

/// Uniform integer nanoseconds in [lo, hi] (lo <= hi, both >= 0): exact, unbiased, and the
/// same on every platform (uniform_below, never a std:: distribution).
template <random_generator64 G>
[[nodiscard]] duration uniform_between(duration lo, duration hi, G& generator) noexcept {
  const auto span = static_cast<std::uint64_t>(hi.count() - lo.count());
  // span + 1 cannot wrap: both ends are in [0, 2^63), so span < 2^63.
  return lo + duration{static_cast<duration::rep>(uniform_below(generator, span + 1))};
}

}  // namespace detail

/// Full jitter: uniform in [0, d]. Mean d/2. Precondition d >= 0. O(1), one or two draws.
template <random_generator64 G>
[[nodiscard]] duration full_jitter(duration d, G&& generator) noexcept {
  return detail::uniform_between(duration::zero(), d, generator);
}

/// Equal jitter: keep half of d, randomise the other half: d/2 + uniform in [0, d - d/2].
/// In [d/2, d], mean 3d/4. Precondition d >= 0. O(1).
template <random_generator64 G>
[[nodiscard]] duration equal_jitter(duration d, G&& generator) noexcept {
  const duration half = d / 2;
  return half + detail::uniform_between(duration::zero(), d - half, generator);
}

/// Decorrelated jitter: min(cap, uniform in [base, max(base, 3 * previous)]), where previous is
/// the delay this function returned for the previous retry of the same call, or zero for the
/// first retry (which then draws from [base, 3 * base], as AWS starts from sleep = base).
/// Its own schedule: it grows by about 1.5x per retry on average and ignores the backoff kind.
/// Mean of one step, when 3 * previous >= base and the cap is not reached: (base + 3p) / 2.
/// 3 * previous saturates instead of overflowing. Preconditions: base, previous, cap >= 0. O(1).
template <random_generator64 G>
[[nodiscard]] duration decorrelated_jitter(duration base, duration previous, duration cap,
                                           G&& generator) noexcept {
  const duration from = previous > duration::zero() ? previous : base;
  constexpr auto max_rep = std::numeric_limits<duration::rep>::max();
  const duration tripled = from.count() > max_rep / 3 ? duration::max() : from * 3;
  const duration hi = std::max(base, tripled);
  return std::min(cap, detail::uniform_between(base, hi, generator));
}

/// Proportional jitter: d * (1 + factor * u), u uniform in [-1, 1): in [d(1 - factor),
/// d(1 + factor)), mean d. gRPC's connection backoff uses factor 0.2 and applies it after the
/// cap, so the result may exceed the cap by that factor; it saturates at duration::max().
/// Preconditions: d >= 0, 0 <= factor <= 1. O(1), one draw.
template <random_generator64 G>
[[nodiscard]] duration proportional_jitter(duration d, double factor, G&& generator) noexcept {
  const double u = 2.0 * uniform01(generator) - 1.0;
  return detail::saturate_ns(static_cast<double>(d.count()) * (1.0 + factor * u), duration::max());
}

}  // namespace bulwark
