#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/policy.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/exception_is.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/retry/active_request_budget.hpp"
#include "bulwark/retry/backoff.hpp"
#include "bulwark/retry/budget.hpp"
#include "bulwark/retry/call.hpp"
#include "bulwark/retry/exhausted.hpp"
#include "bulwark/retry/wait.hpp"

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

/// Returns a retry_on predicate that retries exceptions of the listed types (or derived).
template <class... Exceptions>
[[nodiscard]] std::function<bool(const std::exception_ptr&)> retry_on_exceptions() {
  return [](const std::exception_ptr& error) { return detail::exception_is<Exceptions...>(error); };
}

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

/// Runs a callable, retrying it after failures with backoff and jitter, within max_attempts,
/// an optional deadline, a shared budget and the call's stop token, honouring server hints.
///
///   bulwark::retry retry({.max_attempts = 5, .max_elapsed = 10s});
///   auto body = retry.execute(fetch, url);   // throws retries_exhausted when it gives up
///
/// For each failed attempt whose exception retry_on accepts (or whose result the call's
/// predicate rejects), in this order: no attempts left -> stop (attempts); the delay is the
/// hint (retry_after hook, then bulwark::rejected::retry_after()) or the backoff (counted from
/// its base again after a hint, as gRFC A6 does after pushback); a negative
/// hint -> stop (pushback); the next attempt would start at or after the deadline -> stop at
/// once, without waiting (deadline); the budget refuses -> stop (budget); otherwise on_retry,
/// then the wait, which the stop token ends early (stopped). Stopping on an exception calls
/// the dead-letter handler and throws retries_exhausted with that exception nested; stopping
/// on a result returns the last result (as Polly and resilience4j do).
///
/// Waits go through the clock's sleep_for, so with manual_clock a test runs in virtual time
/// (see detail::sleep_unless_stopped for how each clock honours the stop token).
///
/// Thread-safe: execute may run on many threads at once; the options are read-only after
/// construction and counters are relaxed atomics. Success path: one relaxed counter
/// increment, plus one clock read when a deadline is set (and budget bookkeeping when one is).
template <clock Clock = steady_clock>
class retry {
 public:
  /// Throws std::invalid_argument ("bulwark::retry: max_attempts must be >= 1 (got 0)", and
  /// "bulwark::backoff: ..." for bad backoff options).
  explicit retry(retry_options options = {}, Clock clock = {})
      : options_{std::move(options)}, backoff_{options_.backoff}, clock_{std::move(clock)} {
    const option_check check{"retry"};
    check.at_least("max_attempts", options_.max_attempts, std::uint32_t{1});
    if (options_.max_elapsed) check.positive("max_elapsed", *options_.max_elapsed);
  }

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
  [[nodiscard]] const retry_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  struct call_state {
    std::uint32_t attempt = 0;
    std::optional<time_point> deadline{};
    time_point started{};         // read when there is a deadline (else not read at all)
    std::uint32_t scheduled = 0;  // retries planned by the backoff since the last hint
    duration previous{};          // the last scheduled delay, for decorrelated jitter
    duration delay{};             // the wait planned before the next attempt
    std::optional<duration> hint{};
    std::optional<fast_rng> rng{};
    active_request_budget::scope request{};     // with an active_budget: this call
    active_request_budget::scope retry_slot{};  // the retry now in flight, if any
  };

  template <class Call, class F, class... Args>
  retry_result_t<F, Args...> run(const Call& call, F& f, Args&... args) {
    using result = retry_result_t<F, Args...>;
    call_state state;
    if (options_.max_elapsed) {
      // Saturates: a max_elapsed of duration::max() is no deadline, not one in the past.
      state.started = clock_.now();
      state.deadline = detail::deadline_after(state.started, *options_.max_elapsed);
    }
    if (options_.budget) options_.budget->record_request(state_now(state));
    if (options_.active_budget) state.request = options_.active_budget->enter();
    if (call.stop.stop_requested()) give_up(retry_stop_reason::stopped, state, call, args...);
    for (;;) {
      ++state.attempt;
      if constexpr (std::is_void_v<result>) {
        try {
          attempt(state, call, f, args...);
        } catch (...) {
          on_exception(state, call, args...);
          continue;
        }
        succeeded(state);
        return;
      } else if constexpr (!Call::has_result_predicate) {
        try {
          result value = attempt(state, call, f, args...);
          succeeded(state);  // noexcept: only the attempt can throw into the handler below
          if constexpr (std::is_reference_v<result>) {
            return static_cast<result>(value);
          } else {
            return value;
          }
        } catch (...) {
          on_exception(state, call, args...);
        }
      } else {
        static_assert(std::is_object_v<result>,
                      "bulwark::retry: a result predicate needs an object result type");
        std::optional<result> value;
        try {
          value.emplace(attempt(state, call, f, args...));
        } catch (...) {
          on_exception(state, call, args...);
          continue;
        }
        const retry_decision decision = decide(call.result_predicate, std::as_const(*value));
        if (!decision.retry) {
          succeeded(state);
          return std::move(*value);
        }
        const auto stop = plan(state, decision.after, nullptr);
        if (stop || !wait(state, call.stop)) {
          exhausted_.add();
          return std::move(*value);
        }
      }
    }
  }

  template <class Call, class F, class... Args>
  decltype(auto) attempt(call_state& state, const Call& call, F& f, Args&... args) {
    if constexpr (std::invocable<F&, const attempt_context&, Args&...>) {
      const attempt_context context{state.attempt, time_left(state), call.stop};
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
  void on_exception(call_state& state, const Call& call, Args&... args) {
    const std::exception_ptr error = std::current_exception();
    if (options_.retry_on && !options_.retry_on(error)) {
      not_retried_.add();
      throw;
    }
    const auto stop = plan(state, hint_for(error), error);
    if (!stop && wait(state, call.stop)) return;
    give_up(stop.value_or(retry_stop_reason::stopped), state, call, args...);
  }

  std::optional<duration> hint_for(const std::exception_ptr& error) const {
    if (options_.retry_after) {
      if (auto hint = options_.retry_after(error)) return hint;
    }
    try {
      std::rethrow_exception(error);
    } catch (const rejected& refusal) {
      return refusal.retry_after();
    } catch (...) {
      return std::nullopt;
    }
  }

  // Decides whether and after how long the next attempt runs; empty means "retry after
  // state.delay", and the retry is then counted and announced.
  std::optional<retry_stop_reason> plan(call_state& state, std::optional<duration> hint,
                                        const std::exception_ptr& error) {
    state.hint = hint;
    const auto refuse = [this](retry_stop_reason reason) {
      // gRPC counts every retryable failure against the budget, retried or not.
      if (options_.budget) options_.budget->record_failure();
      return reason;
    };
    if (state.attempt >= options_.max_attempts) return refuse(retry_stop_reason::attempts);
    if (hint && *hint < duration::zero()) return refuse(retry_stop_reason::pushback);
    if (hint) {
      // gRFC A6: the n-th attempt "since the last server pushback" is backed off as the n-th,
      // so a hint restarts the schedule from its base.
      state.delay = *hint;
      state.scheduled = 0;
      state.previous = duration::zero();
    } else {
      state.delay = backoff_.delay(++state.scheduled, state.previous, generator(state));
      state.previous = state.delay;
    }
    std::optional<time_point> now;
    if (state.deadline) {
      now = clock_.now();
      // Compared as "delay >= time left" so that a huge hint cannot overflow now + delay.
      if (state.delay >= detail::saturating_sub(*state.deadline, *now)) {
        return refuse(retry_stop_reason::deadline);
      }
    }
    if (options_.active_budget) {
      state.retry_slot.release();  // the previous retry has answered (Envoy's resetRetry)
      state.retry_slot = options_.active_budget->try_retry();
      if (!state.retry_slot) return refuse(retry_stop_reason::budget);
    }
    if (options_.budget && !options_.budget->try_spend(now ? *now : clock_.now())) {
      return retry_stop_reason::budget;  // try_spend has counted the failure
    }
    retries_.add();
    if (options_.on_retry)
      options_.on_retry(retry_event{state.attempt, state.delay, error, !!hint});
    return std::nullopt;
  }

  bool wait(call_state& state, const std::stop_token& stop) {
    return detail::sleep_unless_stopped(clock_, state.delay, stop);
  }

  template <class Call, class... Args>
  [[noreturn]] void give_up(retry_stop_reason reason, const call_state& state, const Call& call,
                            Args&... args) {
    exhausted_.add();
    // Constructed while the last error is being handled, so it nests that error.
    const retries_exhausted error{state.attempt, reason, state.hint};
    if constexpr (Call::has_dead_letter) {
      std::invoke(call.dead_letter_handler, error, std::as_const(args)...);
    }
    throw error;
  }

  void succeeded(const call_state& state) noexcept {
    (state.attempt == 1 ? first_ : after_retry_).add();
    if (options_.budget) options_.budget->record_success();
  }

  time_point state_now(const call_state& state) const {
    return state.deadline ? state.started : clock_.now();
  }

  std::optional<duration> time_left(const call_state& state) const {
    if (!state.deadline) return std::nullopt;
    // The first attempt starts at the start read: no second clock read on the success path.
    if (state.attempt == 1) return *options_.max_elapsed;
    return detail::saturating_sub(*state.deadline, clock_.now());
  }

  fast_rng& generator(call_state& state) {
    if (!options_.seed) return thread_rng();
    if (!state.rng) {
      // Relaxed: the counter only has to hand out distinct numbers.
      state.rng.emplace(*options_.seed + calls_.fetch_add(1, std::memory_order_relaxed));
    }
    return *state.rng;
  }

  retry_options options_;
  backoff backoff_;
  [[no_unique_address]] Clock clock_;
  std::atomic<std::uint64_t> calls_{0};  // seeded generators handed out
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

}  // namespace bulwark
