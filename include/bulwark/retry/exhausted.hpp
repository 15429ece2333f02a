#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Why a retry executor stopped retrying a failing call.
enum class retry_stop_reason {
  attempts,  ///< max_attempts were all made
  deadline,  ///< the next attempt would start at or after max_elapsed (delay or hint included)
  budget,    ///< a shared budget (retry_budget, active_request_budget) refused the retry
  stopped,   ///< a stop was requested through the call's std::stop_token
  pushback,  ///< the server's hint said not to retry (a negative delay, gRPC's pushback rule)
};

/// "attempts", "deadline", "budget", "stopped", "pushback".
[[nodiscard]] constexpr std::string_view to_string(retry_stop_reason reason) noexcept {
  switch (reason) {
    case retry_stop_reason::attempts:
      return "attempts";
    case retry_stop_reason::deadline:
      return "deadline";
    case retry_stop_reason::budget:
      return "budget";
    case retry_stop_reason::stopped:
      return "stopped";
    case retry_stop_reason::pushback:
      return "pushback";
  }
  return "unknown";
}

/// Thrown by retry::execute when a call failed with a retryable exception and the executor
/// gave up: it carries how many attempts ran, why it stopped, and the last attempt's error.
///
/// The last error is nested the standard way: retries_exhausted derives from
/// std::nested_exception, so `std::rethrow_if_nested(e)` rethrows it and `last_error()` (the
/// same pointer as nested_ptr()) hands it over without rethrowing. It is null only when no
/// attempt ran at all (a stop requested before the first attempt).
///
/// The message reads "bulwark::retry: gave up after 3 attempts (attempts): <last error's
/// what()>". retry_after() is the last server hint, if the last error carried one.
class retries_exhausted : public rejected, public std::nested_exception {
 public:
  /// Captures std::current_exception() as the nested last error, like std::throw_with_nested:
  /// construct it inside the handler of the last error (or with none in flight for "none").
  retries_exhausted(std::uint32_t attempts, retry_stop_reason reason,
                    std::optional<duration> retry_after = std::nullopt)
      : rejected{"retry",
                 make_reason(attempts, reason, attempts == 0 ? nullptr : std::current_exception()),
                 retry_after},
        attempts_{attempts},
        reason_{reason} {}

  /// Attempts that ran, the first included.
  [[nodiscard]] std::uint32_t attempts() const noexcept { return attempts_; }
  [[nodiscard]] retry_stop_reason reason() const noexcept { return reason_; }
  /// The last attempt's exception (== nested_ptr()), or null when no attempt ran (then
  /// nested_ptr() is whatever the thread was handling when execute was called, if anything).
  [[nodiscard]] std::exception_ptr last_error() const noexcept {
    return attempts_ == 0 ? nullptr : nested_ptr();
  }

 private:
  static std::string make_reason(std::uint32_t attempts, retry_stop_reason reason,
                                 const std::exception_ptr& last) {
    std::string text = "gave up after ";
    detail::append_number(text, attempts);
    text += attempts == 1 ? " attempt (" : " attempts (";
    text.append(to_string(reason)).append(")");
#if !BULWARK_HAS_EXCEPTIONS
    static_cast<void>(last);  // nothing can be rethrown to read its message
#else
    if (last) {
      try {
        std::rethrow_exception(last);
      } catch (const std::exception& e) {
        text.append(": ").append(e.what());
      } catch (...) {
        text += ": non-standard exception";
      }
    }
#endif
    return text;
  }

  std::uint32_t attempts_;
  retry_stop_reason reason_;
};

}  // namespace bulwark
