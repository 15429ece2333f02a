#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/format.hpp"

namespace bulwark {

/// A rate: `count` events per `period`. The one spelling of a rate everywhere (limiters,
/// budgets, load generators), so `per_second(100)` means the same thing in every component.
///
/// Kept as the exact pair rather than a floating-point events-per-second, so that components
/// can do exact integer arithmetic (3 per second is not a whole number of nanoseconds apart).
struct rate {
  std::uint64_t count = 0;
  duration period = std::chrono::seconds{1};

  /// The time between two events at this rate, rounded down to the clock's tick (1 ns).
  /// Precondition: count > 0 and period > 0 (components validate their rate options).
  [[nodiscard]] constexpr duration interval() const noexcept {
    return period / static_cast<duration::rep>(count);
  }

  /// Events per second, for display and for approximate arithmetic.
  [[nodiscard]] constexpr double per_second() const noexcept {
    return static_cast<double>(count) / std::chrono::duration<double>(period).count();
  }

  friend constexpr bool operator==(const rate&, const rate&) = default;
};

/// `n` events per second, minute or hour, or per any duration.
[[nodiscard]] constexpr rate per_second(std::uint64_t n) noexcept {
  return {n, std::chrono::seconds{1}};
}
[[nodiscard]] constexpr rate per_minute(std::uint64_t n) noexcept {
  return {n, std::chrono::minutes{1}};
}
[[nodiscard]] constexpr rate per_hour(std::uint64_t n) noexcept {
  return {n, std::chrono::hours{1}};
}
[[nodiscard]] constexpr rate per(std::uint64_t n, duration period) noexcept {
  return {n, period};
}

/// "100/s", "5/250ms", "1000/min": used in option error messages and reports.
[[nodiscard]] inline std::string to_string(const rate& r) {
  std::string out;
  detail::append_number(out, r.count);
  out += '/';
  if (r.period == std::chrono::seconds{1}) {
    out += 's';
  } else if (r.period == std::chrono::minutes{1}) {
    out += "min";
  } else if (r.period == std::chrono::hours{1}) {
    out += 'h';
  } else {
    detail::append_duration(out, r.period);
  }
  return out;
}

}  // namespace bulwark
