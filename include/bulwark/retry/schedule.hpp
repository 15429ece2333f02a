#pragma once

#include <cstdint>
#include <exception>
#include <optional>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/retry/active_request_budget.hpp"
#include "bulwark/retry/exhausted.hpp"
#include "bulwark/retry/policy.hpp"

namespace bulwark {

/// A retry_schedule's answer for a failed attempt: retry after `delay`, or stop because of
/// `reason`, or neither (the error is not retryable: pass it on unchanged).
struct retry_verdict {
  bool retry = false;   ///< true: start the next attempt after `delay`
  duration delay{};     ///< the wait before the next attempt; zero unless retrying
  bool hinted = false;  ///< true when the delay is a server hint, not the backoff
  /// Why retrying stops (what retries_exhausted::reason() reports); empty when retrying, and
  /// when retry_on refused the error (which then propagates, as no stop reason applies).
  std::optional<retry_stop_reason> reason{};
};

/// The retry decisions of one logical call, apart from any waiting (as tower's
/// `Policy::retry(req, result)` decides and leaves the waiting to the service): given the
/// outcome of an attempt and `now`, it answers "retry after d" or "stop, because ...". It
/// never sleeps, blocks or reads a clock; the driver waits (a thread's sleep for
/// retry::execute, a timer for an event loop, a simulation's event queue for the lab).
///
///   bulwark::retry_schedule schedule{policy, clock.now()};
///   for (;;) {
///     schedule.begin_attempt();
///     ... run the attempt; on success: schedule.succeeded(), done ...
///     const auto verdict = schedule.after_error(error, clock.now());
///     if (!verdict.retry) ... give up (verdict.reason), or rethrow when it is empty ...
///     ... wait verdict.delay ...
///   }
///
/// For a retryable failure, in this order (docs/retry.md's stop order): no attempts left ->
/// stop (attempts); a negative hint -> stop (pushback); the delay is the hint, or else the
/// backoff (whose retry number restarts after a hint, as gRFC A6 counts attempts "since the
/// last server pushback"); the next attempt would start at or after the deadline -> stop
/// (deadline); the active_request_budget, then the retry_budget refuse -> stop (budget).
/// Every retryable failure that is not retried costs a gRPC token (record_failure; try_spend
/// counts its own), as gRFC A6's throttling counts every retryable failure.
///
/// Construction records the call with the budgets (retry_budget::record_request, and the
/// active budget's request in flight); a granted retry holds an active-budget retry slot until
/// the next decision or finish(). The jitter generator is the policy's (seeded: fast_rng(seed
/// + k), made at the first draw; else thread_rng() at each draw) or the one given. The
/// backoff is drawn only when it is needed: before the deadline check when there is a
/// deadline, else after the budgets have granted the retry.
///
/// One schedule per call; not thread-safe (a call's attempts are sequential). Movable. The
/// policy (and a given generator) must outlive it.
class retry_schedule {
 public:
  /// `now` is read only when policy.reads_clock() (the deadline's start, the ratio budget).
  /// The policy this schedule decides with.
  [[nodiscard]] const retry_policy& policy() const noexcept { return *policy_; }

  retry_schedule(const retry_policy& policy, time_point now) : policy_{&policy} {
    start([now] { return now; });
  }
  /// The same, reading `c.now()` only when the policy needs it (at most once): without a
  /// deadline or a retry_budget, starting a call reads no clock.
  template <bulwark::clock C>
  retry_schedule(const retry_policy& policy, const C& c) : policy_{&policy} {
    start([&c] { return c.now(); });
  }
  /// The same, drawing jitter from `generator` (a simulation's, shared by its calls).
  retry_schedule(const retry_policy& policy, time_point now, fast_rng& generator)
      : retry_schedule{policy, now} {
    external_ = &generator;
  }

  /// An attempt starts; returns its number (1 for the first).
  std::uint32_t begin_attempt() noexcept { return ++attempts_; }
  /// Attempts begun so far (0 before the first).
  [[nodiscard]] std::uint32_t attempts() const noexcept { return attempts_; }
  /// The call's deadline (start + max_elapsed, saturated); empty without max_elapsed.
  [[nodiscard]] std::optional<time_point> deadline() const noexcept { return deadline_; }
  /// Time until the deadline at `now` (negative past it, saturated); empty without one.
  [[nodiscard]] std::optional<duration> time_left(time_point now) const noexcept {
    if (!deadline_) return std::nullopt;
    return detail::saturating_sub(*deadline_, now);
  }
  /// The hint of the last failure decided (what retries_exhausted carries as retry_after()).
  [[nodiscard]] std::optional<duration> last_hint() const noexcept { return hint_; }

  /// An attempt failed with `error`. retry_on refusing it -> no retry and no reason; else its
  /// hint is the policy's retry_after hook's, or else a bulwark::rejected's retry_after(),
  /// and the verdict is after_failure's.
  retry_verdict after_error(const std::exception_ptr& error, time_point now) {
    const retry_options& options = policy_->options();
    if (options.retry_on && !options.retry_on(error)) return {};
    return after_failure(hint_for(error), now);
  }

  /// A retryable failure (a rejected result, or an error the driver has classified) with an
  /// optional server hint: a delay replacing the backoff's, negative for "do not retry".
  retry_verdict after_failure(std::optional<duration> hint, time_point now) {
    hint_ = hint;
    const retry_options& options = policy_->options();
    if (attempts_ >= options.max_attempts) return refuse(retry_stop_reason::attempts);
    if (hint && *hint < duration::zero()) return refuse(retry_stop_reason::pushback);
    duration delay{};
    if (hint) {
      // gRFC A6: the n-th attempt "since the last server pushback" is backed off as the n-th,
      // so a hint restarts the schedule from its base.
      delay = *hint;
      scheduled_ = 0;
      previous_ = duration::zero();
    } else if (deadline_) {
      delay = draw();
    }
    // Compared as "delay >= time left" so that a huge hint cannot overflow now + delay.
    if (deadline_ && delay >= detail::saturating_sub(*deadline_, now)) {
      return refuse(retry_stop_reason::deadline);
    }
    if (options.active_budget) {
      retry_slot_.release();  // the previous retry has answered (Envoy's resetRetry)
      retry_slot_ = options.active_budget->try_retry();
      if (!retry_slot_) return refuse(retry_stop_reason::budget);
    }
    if (options.budget && !options.budget->try_spend(now)) {
      retry_slot_.release();  // not retried: it must not hold the concurrency budget
      return {.reason = retry_stop_reason::budget};  // try_spend has counted the failure
    }
    if (!hint && !deadline_) delay = draw();
    return {.retry = true, .delay = delay, .hinted = hint.has_value()};
  }

  /// The last attempt succeeded: a gRPC token budget earns its token_ratio.
  void succeeded() noexcept {
    if (const auto& budget = policy_->options().budget) budget->record_success();
  }

  /// The call has its outcome: ends its active-budget request and retry now, rather than when
  /// the schedule goes (which does the same). Idempotent.
  void finish() noexcept {
    retry_slot_.release();
    request_.release();
  }

 private:
  template <class Now>
  void start(const Now& now) {
    const retry_options& options = policy_->options();
    std::optional<time_point> started{};
    if (options.max_elapsed) {
      started = now();
      // Saturates: a max_elapsed of duration::max() is no deadline, not one in the past.
      deadline_ = detail::deadline_after(*started, *options.max_elapsed);
    }
    if (options.budget) options.budget->record_request(started ? *started : now());
    if (options.active_budget) request_ = options.active_budget->enter();
  }

  retry_verdict refuse(retry_stop_reason reason) {
    // gRPC counts every retryable failure against the budget, retried or not.
    if (const auto& budget = policy_->options().budget) budget->record_failure();
    return {.reason = reason};
  }

  std::optional<duration> hint_for(const std::exception_ptr& error) const {
    if (const auto& hook = policy_->options().retry_after) {
      if (auto hint = hook(error)) return hint;
    }
#if BULWARK_HAS_EXCEPTIONS
    try {
      std::rethrow_exception(error);
    } catch (const rejected& refusal) {
      return refusal.retry_after();
    } catch (...) {
      return std::nullopt;
    }
#else
    return std::nullopt;  // nothing can have been thrown
#endif
  }

  duration draw() {
    const backoff& delays = policy_->delays();
    // Without jitter no generator is touched (thread_rng's first use seeds it from the OS).
    previous_ = delays.options().jitter == jitter_kind::none
                    ? delays.schedule(++scheduled_)
                    : delays.delay(++scheduled_, previous_, generator());
    return previous_;
  }

  fast_rng& generator() {
    if (external_ != nullptr) return *external_;
    if (!policy_->options().seed) return thread_rng();
    if (!own_) own_.emplace(policy_->next_seed());
    return *own_;
  }

  const retry_policy* policy_;
  std::uint32_t attempts_ = 0;
  std::uint32_t scheduled_ = 0;  // retries planned by the backoff since the last hint
  duration previous_{};          // the last backoff delay, for decorrelated jitter
  std::optional<time_point> deadline_{};
  std::optional<duration> hint_{};
  fast_rng* external_ = nullptr;
  std::optional<fast_rng> own_{};
  active_request_budget::scope request_{};     // with an active_budget: this call
  active_request_budget::scope retry_slot_{};  // the retry now in flight, if any
};

}  // namespace bulwark
