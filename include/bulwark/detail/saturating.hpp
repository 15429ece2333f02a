#pragma once
// The one place where bulwark adds, subtracts and multiplies times. duration::max() is what a
// user writes for "forever" (a ttl, a lease, a wait), and a clock may read anything in its
// range (a manual_clock before its epoch or near time_point::max()): a plain `now + d` then
// overflows, which is undefined behaviour and in practice wraps to the far past, turning
// "forever" into "already expired". Every sum of times in the library goes through here and
// clamps at the ends of the range instead, so "forever" stays forever.

#include <chrono>
#include <cstdint>
#include <limits>

#include "bulwark/core/clock.hpp"

namespace bulwark::detail {

inline constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

/// a + b, clamped to [int64 min, int64 max].
[[nodiscard]] constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  if (b > 0 && a > int64_max - b) return int64_max;
  if (b < 0 && a < int64_min - b) return int64_min;
  return a + b;
}

/// a - b, clamped to [int64 min, int64 max].
[[nodiscard]] constexpr std::int64_t saturating_sub(std::int64_t a, std::int64_t b) noexcept {
  if (b < 0 && a > int64_max + b) return int64_max;
  if (b > 0 && a < int64_min + b) return int64_min;
  return a - b;
}

/// a x b, clamped to [int64 min, int64 max].
[[nodiscard]] constexpr std::int64_t saturating_mul(std::int64_t a, std::int64_t b) noexcept {
  if (a == 0 || b == 0) return 0;
  const bool negative = (a < 0) != (b < 0);
  // Compare magnitudes in unsigned arithmetic, where |int64 min| is representable.
  const auto magnitude = [](std::int64_t v) {
    return v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  };
  const std::uint64_t ua = magnitude(a);
  const std::uint64_t ub = magnitude(b);
  const std::uint64_t limit =
      negative ? std::uint64_t{1} << 63 : static_cast<std::uint64_t>(int64_max);
  if (ua > limit / ub) return negative ? int64_min : int64_max;
  const std::uint64_t product = ua * ub;
  if (!negative) return static_cast<std::int64_t>(product);
  return product == (std::uint64_t{1} << 63) ? int64_min : -static_cast<std::int64_t>(product);
}

[[nodiscard]] constexpr duration saturating_add(duration a, duration b) noexcept {
  return duration{saturating_add(a.count(), b.count())};
}
[[nodiscard]] constexpr duration saturating_sub(duration a, duration b) noexcept {
  return duration{saturating_sub(a.count(), b.count())};
}
[[nodiscard]] constexpr duration saturating_mul(duration d, std::int64_t n) noexcept {
  return duration{saturating_mul(d.count(), n)};
}

/// t + d and t - d, clamped to [time_point::min(), time_point::max()].
[[nodiscard]] constexpr time_point saturating_add(time_point t, duration d) noexcept {
  return time_point{saturating_add(t.time_since_epoch(), d)};
}
[[nodiscard]] constexpr time_point saturating_sub(time_point t, duration d) noexcept {
  return time_point{saturating_sub(t.time_since_epoch(), d)};
}

/// a - b between two time points, clamped to [duration::min(), duration::max()]: the age of
/// something stamped at b, even when a clock at one end of its range met one at the other.
[[nodiscard]] constexpr duration saturating_sub(time_point a, time_point b) noexcept {
  return saturating_sub(a.time_since_epoch(), b.time_since_epoch());
}

/// The deadline `d` after `now`: `now + d`, time_point::max() ("never") when that is past the
/// end of the clock's range, and `now` for d <= 0 (a zero or negative wait is no wait).
[[nodiscard]] constexpr time_point deadline_after(time_point now, duration d) noexcept {
  return d <= duration::zero() ? now : saturating_add(now, d);
}

}  // namespace bulwark::detail
