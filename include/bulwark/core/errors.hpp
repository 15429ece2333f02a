#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/format.hpp"

namespace bulwark {

/// Thrown by a guard's execute() when the guard refuses a call without running it. Catch
/// `const bulwark::rejected&` to handle every refusal alike; each guard throws its own subclass.
///
/// retry_after() is the guard's hint of when a retry could succeed (a rate limiter knows when
/// the next token arrives; an open breaker when it will probe again), or empty when the guard
/// cannot know. Retry executors honour the hint over their own backoff schedule.
class rejected : public std::runtime_error {
 public:
  /// The message reads "bulwark::<component>: <reason>", followed by
  /// " (retry after <duration>)" when a hint is given.
  rejected(std::string_view component, std::string_view reason,
           std::optional<duration> retry_after = std::nullopt)
      : std::runtime_error{make_message(component, reason, retry_after)},
        retry_after_{retry_after} {}

  [[nodiscard]] std::optional<duration> retry_after() const noexcept { return retry_after_; }

 private:
  static std::string make_message(std::string_view component, std::string_view reason,
                                  std::optional<duration> retry_after) {
    std::string message = "bulwark::";
    message.append(component).append(": ").append(reason);
    if (retry_after) {
      message += " (retry after ";
      detail::append_duration(message, *retry_after);
      message += ')';
    }
    return message;
  }

  std::optional<duration> retry_after_;
};

/// A rate limiter refused the call: the rate or burst is spent.
class rate_limited : public rejected {
 public:
  using rejected::rejected;
};

/// A circuit breaker refused the call: it is open (or forced open), or its half-open probes
/// are all taken.
class circuit_open : public rejected {
 public:
  using rejected::rejected;
};

/// A bulkhead or concurrency limit refused the call: it is at its limit and its wait queue is
/// full or the wait timed out.
class bulkhead_full : public rejected {
 public:
  using rejected::rejected;
};

}  // namespace bulwark
