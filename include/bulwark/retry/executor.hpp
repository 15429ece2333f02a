#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/policy.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/versioned.hpp"
#include "bulwark/retry/call.hpp"
#include "bulwark/retry/exhausted.hpp"
#include "bulwark/retry/policy.hpp"
#include "bulwark/retry/schedule.hpp"
#include "bulwark/retry/wait.hpp"

namespace bulwark {

/// A retry executor's counters (resilience4j's four outcomes, plus retries).
struct retry_metrics {
  std::uint64_t succeeded_first_attempt = 0;  ///< calls that succeeded without a retry
  std::uint64_t succeeded_after_retry = 0;    ///< calls that succeeded on a retry
  std::uint64_t failed_not_retried = 0;       ///< calls whose exception was not retryable
  std::uint64_t exhausted = 0;                ///< calls given up (retries_exhausted, or the last
                                              ///< retryable result returned)
  std::uint64_t retries = 0;                  ///< retries started (waits begun)

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"succeeded_first_attempt_total", "Calls that succeeded without a retry.",
                 metric_type::counter, succeeded_first_attempt});
    visit(metric{"succeeded_after_retry_total", "Calls that succeeded after retrying.",
                 metric_type::counter, succeeded_after_retry});
    visit(metric{"failed_not_retried_total", "Calls that failed with a non-retryable error.",
                 metric_type::counter, failed_not_retried});
    visit(metric{"exhausted_total", "Calls given up after retrying.", metric_type::counter,
                 exhausted});
    visit(metric{"retries_total", "Retries started.", metric_type::counter, retries});
  }
  friend bool operator==(const retry_metrics&, const retry_metrics&) = default;
};

#if BULWARK_HAS_EXCEPTIONS
/// Runs a callable, retrying it after failures with backoff and jitter, within max_attempts,
/// an optional deadline, a shared budget and the call's stop token, honouring server hints.
///
///   bulwark::retry retry({.max_attempts = 5, .max_elapsed = 10s});
///   auto body = retry.execute(fetch, url);   // throws retries_exhausted when it gives up
///
/// execute is a loop over a retry_schedule (retry/schedule.hpp), which decides; the executor
/// runs the attempts and waits. For each failed attempt whose exception retry_on accepts (or
/// whose result the call's predicate rejects), in this order: no attempts left -> stop
/// (attempts); a negative hint (retry_after hook, then bulwark::rejected::retry_after()) ->
/// stop (pushback); the delay is the hint or the backoff (counted from its base again after a
/// hint, as gRFC A6 does after pushback); the next attempt would start at or after the
/// deadline -> stop at once, without waiting (deadline); the budget refuses -> stop (budget);
/// otherwise on_retry, then the wait, which the stop token ends early (stopped). Stopping on
/// an exception calls the dead-letter handler and throws retries_exhausted with that
/// exception nested; stopping on a result returns the last result (as Polly and
/// resilience4j do).
///
/// Waits go through the clock's sleep_for, so with manual_clock a test runs in virtual time
/// (see detail::sleep_unless_stopped for how each clock honours the stop token).
///
/// Thread-safe: execute may run on many threads at once; the options are read-only after
/// construction and counters are relaxed atomics. Success path: one relaxed counter
/// increment, plus one clock read when a deadline is set (and budget bookkeeping when one is).
///
/// Not offered without exceptions (BULWARK_HAS_EXCEPTIONS): the retry budgets and backoff
/// schedules are, for code that drives its own attempts.
template <clock Clock = steady_clock>
class retry {
 public:
  /// Throws std::invalid_argument ("bulwark::retry: max_attempts must be >= 1 (got 0)", and
  /// "bulwark::backoff: ..." for bad backoff options).
  explicit retry(retry_options options = {}, Clock clock = {})
      : policy_{std::in_place, std::move(options)}, clock_{std::move(clock)} {}

  /// Runs f(args...) (or f(context, args...)) until it succeeds or retrying stops. Returns
  /// its result; throws its non-retryable exceptions unchanged, and retries_exhausted.
  template <class F, class... Args>
  requires retryable_callable<F, Args...> retry_result_t<F, Args...> execute(F&& f,
                                                                             Args&&... args) {
    return run(retry_call<>{}, f, args...);
  }

  /// The same with per-call settings: a result predicate, a dead-letter handler, a stop token.
  template <class P, class D, class F, class... Args>
  requires retryable_callable<F, Args...> retry_result_t<F, Args...> execute(
      const retry_call<P, D>& call, F&& f, Args&&... args) {
    return run(call, f, args...);
  }

  [[nodiscard]] retry_metrics metrics() const noexcept {
    return {first_.load(), after_retry_.load(), not_retried_.load(), exhausted_.load(),
            retries_.load()};
  }
  /// The current options: those it was built with, or the last reconfigure()'s.
  [[nodiscard]] retry_options options() const { return policy().options(); }
  /// The policy execute's schedules are made from now (to drive one yourself, see
  /// retry_schedule). It lives as long as the executor, but reconfigure() may replace it.
  [[nodiscard]] const retry_policy& policy() const noexcept { return policy_.load(); }

  /// Throws what reconfigure(next) would (the constructor's std::invalid_argument), changing
  /// nothing. Every option can change live.
  void check_reconfigure(const retry_options& next) const { detail::validate(next); }
  /// Replaces the options for the calls that start from now on; a call in progress finishes
  /// with the options it started with (its attempts, backoff, deadline and budget). A seeded
  /// executor's seed sequence starts again from `seed` (call k after the change draws from
  /// fast_rng(seed + k)). Validated as by the constructor; nothing changes if it throws.
  /// Thread-safe: calls never wait for it.
  void reconfigure(const retry_options& next) {
    detail::validate(next);
    policy_.replace([](const retry_policy&) {}, next);
  }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  template <class Call, class F, class... Args>
  retry_result_t<F, Args...> run(const Call& call, F& f, Args&... args) {
    using result = retry_result_t<F, Args...>;
    retry_schedule schedule{policy(), clock_};  // the whole call keeps this policy
    if (call.stop.stop_requested()) give_up(retry_stop_reason::stopped, schedule, call, args...);
    for (;;) {
      schedule.begin_attempt();
      if constexpr (std::is_void_v<result>) {
        try {
          attempt(schedule, call, f, args...);
        } catch (...) {
          on_exception(schedule, call, args...);
          continue;
        }
        succeeded(schedule);
        return;
      } else if constexpr (!Call::has_result_predicate) {
        try {
          result value = attempt(schedule, call, f, args...);
          succeeded(schedule);  // noexcept: only the attempt can throw into the handler below
          if constexpr (std::is_reference_v<result>) {
            return static_cast<result>(value);
          } else {
            return value;
          }
        } catch (...) {
          on_exception(schedule, call, args...);
        }
      } else {
        static_assert(std::is_object_v<result>,
                      "bulwark::retry: a result predicate needs an object result type");
        std::optional<result> value;
        try {
          value.emplace(attempt(schedule, call, f, args...));
        } catch (...) {
          on_exception(schedule, call, args...);
          continue;
        }
        const retry_decision decision = decide(call.result_predicate, std::as_const(*value));
        if (!decision.retry) {
          succeeded(schedule);
          return std::move(*value);
        }
        const retry_verdict verdict = schedule.after_failure(decision.after, now(schedule));
        if (!wait_for_retry(schedule, verdict, nullptr, call.stop)) {
          exhausted_.add();
          return std::move(*value);
        }
      }
    }
  }

  template <class Call, class F, class... Args>
  decltype(auto) attempt(const retry_schedule& schedule, const Call& call, F& f, Args&... args) {
    if constexpr (std::invocable<F&, const attempt_context&, Args&...>) {
      std::optional<duration> left{};
      // The first attempt starts at the start read: no second clock read on the success path.
      if (schedule.deadline()) {
        left = schedule.attempts() == 1 ? *schedule.policy().options().max_elapsed
                                        : *schedule.time_left(clock_.now());
      }
      const attempt_context context{schedule.attempts(), left, call.stop};
      return std::invoke(f, context, args...);
    } else {
      return std::invoke(f, args...);
    }
  }

  template <class P, class R>
  static retry_decision decide(const P& predicate, const R& value) {
    if constexpr (std::same_as<std::decay_t<std::invoke_result_t<const P&, const R&>>,
                               retry_decision>) {
      return std::invoke(predicate, value);
    } else {
      return {static_cast<bool>(std::invoke(predicate, value)), std::nullopt};
    }
  }

  // Called inside the handler of an attempt's exception: returns to retry (after the wait),
  // or rethrows it (not retryable), or throws retries_exhausted with it nested.
  template <class Call, class... Args>
  void on_exception(retry_schedule& schedule, const Call& call, Args&... args) {
    const std::exception_ptr error = std::current_exception();
    const retry_verdict verdict = schedule.after_error(error, now(schedule));
    if (!verdict.retry && !verdict.reason) {
      not_retried_.add();
      throw;
    }
    if (wait_for_retry(schedule, verdict, error, call.stop)) return;
    give_up(verdict.reason.value_or(retry_stop_reason::stopped), schedule, call, args...);
  }

  // A granted retry is counted and announced, then waited for: false if it was not granted
  // or the stop token ended the wait.
  bool wait_for_retry(const retry_schedule& schedule, const retry_verdict& verdict,
                      const std::exception_ptr& error, const std::stop_token& stop) {
    if (!verdict.retry) return false;
    retries_.add();
    if (const auto& on_retry = schedule.policy().options().on_retry) {
      on_retry(retry_event{schedule.attempts(), verdict.delay, error, verdict.hinted});
    }
    return detail::sleep_unless_stopped(clock_, verdict.delay, stop);
  }

  template <class Call, class... Args>
  [[noreturn]] void give_up(retry_stop_reason reason, const retry_schedule& schedule,
                            const Call& call, Args&... args) {
    exhausted_.add();
    // Constructed while the last error is being handled, so it nests that error.
    const retries_exhausted error{schedule.attempts(), reason, schedule.last_hint()};
    if constexpr (Call::has_dead_letter) {
      std::invoke(call.dead_letter_handler, error, std::as_const(args)...);
    }
    throw error;
  }

  void succeeded(retry_schedule& schedule) noexcept {
    (schedule.attempts() == 1 ? first_ : after_retry_).add();
    schedule.succeeded();
  }

  // The schedule reads `now` only with a deadline or a retry_budget: skip the read otherwise.
  time_point now(const retry_schedule& schedule) const {
    return schedule.policy().reads_clock() ? clock_.now() : time_point{};
  }

  detail::versioned<retry_policy> policy_;
  [[no_unique_address]] Clock clock_;
  metric_counter first_;
  metric_counter after_retry_;
  metric_counter not_retried_;
  metric_counter exhausted_;
  metric_counter retries_;
};

retry()->retry<steady_clock>;
retry(retry_options)->retry<steady_clock>;
template <clock Clock>
retry(retry_options, Clock) -> retry<Clock>;
#endif

}  // namespace bulwark
