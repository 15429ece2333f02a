#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/retry/jitter.hpp"

namespace bulwark {

/// How the un-jittered delay grows with the retry number n (1 for the first retry).
enum class backoff_kind {
  constant,     ///< base
  linear,       ///< base * n (Polly's linear: Delay * (AttemptNumber + 1))
  exponential,  ///< base * multiplier^(n - 1) (AWS: base * 2^attempt; gRPC A6 backoff)
};

/// "constant", "linear", "exponential"; for option messages and docs.
[[nodiscard]] constexpr std::string_view to_string(backoff_kind kind) noexcept {
  switch (kind) {
    case backoff_kind::constant:
      return "constant";
    case backoff_kind::linear:
      return "linear";
    case backoff_kind::exponential:
      return "exponential";
  }
  return "unknown";
}

/// A backoff schedule and its jitter. The defaults are those of the AWS SDKs' "standard"
/// retry mode: exponential from 100 ms, doubling, capped at 20 s, with full jitter.
struct backoff_options {
  backoff_kind kind = backoff_kind::exponential;
  /// The first retry's delay (and decorrelated jitter's lower bound). >= 0; zero retries at once.
  duration base = std::chrono::milliseconds{100};
  /// Growth per retry of the exponential schedule. >= 1 and finite.
  double multiplier = 2.0;
  /// The largest scheduled delay (the schedule is min(cap, ...), so a cap below the base caps
  /// every delay at the cap). >= 0.
  duration cap = std::chrono::seconds{20};
  jitter_kind jitter = jitter_kind::full;
  /// The +- share of proportional jitter, in [0, 1]; gRPC uses 0.2. Ignored by other kinds.
  double jitter_factor = 0.2;
};

namespace detail {
inline void validate(const backoff_options& options) {
  const option_check check{"backoff"};
  check.non_negative("base", options.base);
  check.non_negative("cap", options.cap);
  check.that(options.multiplier >= 1.0 && std::isfinite(options.multiplier), "multiplier",
             ">= 1 and finite", options.multiplier);
  check.in_range("jitter_factor", options.jitter_factor, 0.0, 1.0);
}
}  // namespace detail

/// Computes retry delays: the schedule of backoff_options, then its jitter.
///
/// Arithmetic is overflow-free at any retry number: the exponential term is computed in double
/// and compared with the cap before it becomes an integer, so retry 1000 (or 4 billion) gives
/// the cap, never a negative or wrapped delay. Immutable after construction, so one backoff is
/// safe to share between threads; each call draws from the generator it is given. O(1).
class backoff {
 public:
  /// Throws std::invalid_argument ("bulwark::backoff: multiplier must be >= 1 (got 0.5)").
  explicit backoff(backoff_options options = {}) : options_{(detail::validate(options), options)} {}

  /// The scheduled (un-jittered) delay before retry `retry` (1 for the first retry; 0 is
  /// treated as 1): min(cap, base), min(cap, base * n) or min(cap, base * multiplier^(n-1)).
  [[nodiscard]] duration schedule(std::uint32_t retry) const noexcept {
    const std::uint32_t n = retry == 0 ? 1 : retry;
    const double base = static_cast<double>(options_.base.count());
    switch (options_.kind) {
      case backoff_kind::constant:
        return std::min(options_.base, options_.cap);
      case backoff_kind::linear:
        return detail::saturate_ns(base * static_cast<double>(n), options_.cap);
      case backoff_kind::exponential:
        // pow may give +inf for large n; inf * base is inf (or NaN for a zero base), and
        // saturate_ns maps both safely: inf to the cap, NaN to zero.
        return detail::saturate_ns(base * std::pow(options_.multiplier, static_cast<double>(n - 1)),
                                   options_.cap);
    }
    return options_.cap;
  }

  /// The jittered delay before retry `retry`. `previous` is the delay this backoff returned
  /// for the previous retry of the same call (zero for the first); only decorrelated jitter
  /// reads it. Deterministic for a given generator state (bulwark's own distributions).
  template <random_generator64 G>
  [[nodiscard]] duration delay(std::uint32_t retry, duration previous,
                               G&& generator) const noexcept {
    switch (options_.jitter) {
      case jitter_kind::none:
        return schedule(retry);
      case jitter_kind::full:
        return full_jitter(schedule(retry), generator);
      case jitter_kind::equal:
        return equal_jitter(schedule(retry), generator);
      case jitter_kind::decorrelated:
        return decorrelated_jitter(options_.base, previous, options_.cap, generator);
      case jitter_kind::proportional:
        return proportional_jitter(schedule(retry), options_.jitter_factor, generator);
    }
    return schedule(retry);
  }

  [[nodiscard]] const backoff_options& options() const noexcept { return options_; }

 private:
  backoff_options options_;
};

}  // namespace bulwark
