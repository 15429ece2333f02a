#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/exception_is.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/retry/active_request_budget.hpp"
#include "bulwark/retry/backoff.hpp"
#include "bulwark/retry/budget.hpp"
#include "bulwark/retry/call.hpp"

namespace bulwark {

/// A retry executor's configuration. The defaults are AWS's standard retry mode: 3 attempts,
/// exponential backoff from 100 ms capped at 20 s with full jitter, every exception retried.
struct retry_options {
  /// Attempts in all, the first included (1 disables retrying). >= 1.
  std::uint32_t max_attempts = 3;
  /// A deadline over all attempts and waits, from the start of execute(); no retry starts at
  /// or after it. Empty: none (and no clock read on the success path). > 0 when set.
  std::optional<duration> max_elapsed{};
  backoff_options backoff{};
  /// Which exceptions are retried; empty: all. Others propagate at once, unchanged.
  std::function<bool(const std::exception_ptr&)> retry_on{};
  /// A server hint for a failed attempt (an HTTP Retry-After, gRPC pushback): a delay that
  /// replaces the schedule's, or empty. Consulted before a bulwark::rejected's retry_after().
  /// A negative delay means "do not retry" (reason pushback).
  std::function<std::optional<duration>(const std::exception_ptr&)> retry_after{};
  /// Called before each wait, on the calling thread. An exception from it propagates.
  std::function<void(const retry_event&)> on_retry{};
  /// A budget shared with other executors; empty: retries are limited only by the above.
  std::shared_ptr<retry_budget> budget{};
  /// A concurrency budget (Envoy's): each call is a request in flight, each retry holds a
  /// retry slot from its decision until the next decision or the call's end. Empty: none.
  std::shared_ptr<active_request_budget> active_budget{};
  /// Seeds jitter: call k of this executor draws from fast_rng(seed + k), so runs repeat
  /// exactly. Empty: bulwark::thread_rng().
  std::optional<std::uint64_t> seed{};
};

namespace detail {
inline void validate(const retry_options& options) {
  validate(options.backoff);  // first, as when backoff's constructor was the first to check
  const option_check check{"retry"};
  check.at_least("max_attempts", options.max_attempts, std::uint32_t{1});
  if (options.max_elapsed) check.positive("max_elapsed", *options.max_elapsed);
}
}  // namespace detail

#if BULWARK_HAS_EXCEPTIONS
/// Returns a retry_on predicate that retries exceptions of the listed types (or derived).
template <class... Exceptions>
[[nodiscard]] std::function<bool(const std::exception_ptr&)> retry_on_exceptions() {
  return [](const std::exception_ptr& error) { return detail::exception_is<Exceptions...>(error); };
}
#endif

/// Validated retry_options and the backoff built from them: the immutable part of retrying,
/// from which each logical call makes its own retry_schedule. One policy serves any number
/// of schedules on any threads; it must outlive them.
///
/// Not copyable or movable: it hands out seeded generators (call k of a seeded policy draws
/// from fast_rng(seed + k)) from one relaxed counter.
class retry_policy {
 public:
  /// Throws std::invalid_argument ("bulwark::retry: max_attempts must be >= 1 (got 0)", and
  /// "bulwark::backoff: ..." for bad backoff options).
  explicit retry_policy(retry_options options = {})
      : options_{(detail::validate(options), std::move(options))}, backoff_{options_.backoff} {}
  retry_policy(const retry_policy&) = delete;
  retry_policy& operator=(const retry_policy&) = delete;

  [[nodiscard]] const retry_options& options() const noexcept { return options_; }
  [[nodiscard]] const backoff& delays() const noexcept { return backoff_; }

  /// Whether a schedule of this policy reads the `now` it is given: with a deadline or a
  /// retry_budget. Otherwise a driver may pass any time_point and skip its clock read.
  [[nodiscard]] bool reads_clock() const noexcept {
    return options_.max_elapsed.has_value() || options_.budget != nullptr;
  }

  /// The seed of the next seeded generator: seed + k for the k-th one handed out.
  /// Precondition: options().seed is set.
  [[nodiscard]] std::uint64_t next_seed() const noexcept {
    // Relaxed: the counter only has to hand out distinct numbers.
    return *options_.seed + calls_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  retry_options options_;
  backoff backoff_;
  mutable std::atomic<std::uint64_t> calls_{0};
};

}  // namespace bulwark
