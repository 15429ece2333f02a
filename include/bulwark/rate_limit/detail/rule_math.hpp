#pragma once
// The arithmetic the rate-limit rules share: nanosecond time lines, floor division for windows,
// and the option checks that keep every product of their parameters inside int64.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"

namespace bulwark::detail {

// Every rule computes in signed 64-bit nanoseconds: bulwark::duration is
// std::chrono::nanoseconds under libstdc++ and libc++, and the rules rely on it.
static_assert(std::same_as<duration, std::chrono::nanoseconds>);

[[nodiscard]] constexpr std::int64_t to_ns(time_point t) noexcept {
  return t.time_since_epoch().count();
}

/// floor(a / b) for b > 0 (C++ division truncates toward zero; a time before the clock's
/// epoch must still fall into the window that contains it).
[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// The largest span a limiter keeps in nanoseconds (about 146 years): options whose products
/// (burst x interval, capacity x interval) exceed it are refused, so that the arithmetic on
/// time points near any clock's present never overflows.
inline constexpr std::int64_t max_span_ns = std::int64_t{1} << 62;

/// Validates a rate option: count > 0, period > 0 and at most one event per nanosecond (the
/// limiters' resolution).
inline void check_rate(const option_check& check, std::string_view field, const rate& r) {
  check.that(r.count > 0 && r.period > duration::zero() &&
                 r.count <= static_cast<std::uint64_t>(r.period.count()),
             field, "> 0 and at most one per nanosecond", r);
}

/// Validates `units` x `interval` <= max_span_ns, reporting `field`.
inline void check_span(const option_check& check, std::string_view field, std::uint64_t units,
                       duration interval) {
  const auto limit = static_cast<std::uint64_t>(max_span_ns / interval.count());
  check.that(units <= limit, field, "<= " + std::to_string(limit) + " at this rate", units);
}

/// The checks of a window's options (fixed_window, sliding_window_counter, sliding_window_log):
/// `limit` units per `window`, limit >= 1 (and <= max_limit where the state's width bounds it),
/// window > 0. Each such options struct's detail::validate calls it.
template <class Options>
void validate_windowed(std::string_view component, const Options& options,
                       std::uint32_t max_limit = std::numeric_limits<std::uint32_t>::max()) {
  const option_check check{component};
  if (max_limit == std::numeric_limits<std::uint32_t>::max()) {
    check.at_least("limit", options.limit, std::uint32_t{1});
  } else {
    check.in_range("limit", options.limit, std::uint32_t{1}, max_limit);
  }
  check.positive("window", options.window);
}

/// The error for a cost outside [1, most], shared by the limiters and the keyed limiter so
/// that both say "bulwark::gcra: cost must be in [1, 3] (got 4)". Out of line and cold: the
/// hot path only compares.
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_bad_cost(std::string_view component,
                                                                  std::uint64_t most,
                                                                  std::uint32_t cost) {
  throw_invalid_option(component, "cost", "in [1, " + std::to_string(most) + "]", cost);
}

}  // namespace bulwark::detail
