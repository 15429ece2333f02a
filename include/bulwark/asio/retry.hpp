#pragma once
// Retrying in a coroutine: the loop of bulwark::retry::execute over the same retry_schedule
// (retry/schedule.hpp), waiting on a timer instead of a sleeping thread (docs/async.md).

#include <asio/awaitable.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/timer.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/retry/call.hpp"
#include "bulwark/retry/executor.hpp"
#include "bulwark/retry/exhausted.hpp"
#include "bulwark/retry/policy.hpp"
#include "bulwark/retry/schedule.hpp"

namespace bulwark::async {

namespace detail {

template <class A>
struct awaitable_value {};
template <class T, class Executor>
struct awaitable_value<asio::awaitable<T, Executor>> {
  using type = T;
};

/// f() or f(const attempt_context&) returns an asio::awaitable.
template <class F>
concept attempt_returns_awaitable = requires {
  typename awaitable_value<retry_result_t<F>>::type;
};

template <class F>
using attempt_value_t = typename awaitable_value<retry_result_t<F>>::type;

inline bool cancelled(const asio::cancellation_state& state) noexcept {
  return state.cancelled() != asio::cancellation_type::none;
}

template <class Notify>
[[noreturn]] void raise_exhausted(std::uint32_t attempts, retry_stop_reason reason,
                                  std::optional<duration> hint, Notify& notify) {
  const retries_exhausted exhausted{attempts, reason, hint};
  notify(exhausted);
  bulwark::detail::raise<retries_exhausted>(exhausted);
}

// Throws retries_exhausted nesting `error` (constructed while the error is being handled, as
// the sync executor's give_up does), after handing it to `notify` (a dead-letter handler).
template <class Notify>
[[noreturn]] void give_up(const std::exception_ptr& error, std::uint32_t attempts,
                          retry_stop_reason reason, std::optional<duration> hint, Notify&& notify) {
  if (!error) raise_exhausted(attempts, reason, hint, notify);
  try {
    std::rethrow_exception(error);
  } catch (...) {
    raise_exhausted(attempts, reason, hint, notify);
  }
}

}  // namespace detail

namespace detail {

template <class P, class R>
retry_decision decide(const P& predicate, const R& value) {
  if constexpr (std::same_as<std::decay_t<std::invoke_result_t<const P&, const R&>>,
                             retry_decision>) {
    return std::invoke(predicate, value);
  } else {
    return {static_cast<bool>(std::invoke(predicate, value)), std::nullopt};
  }
}

// The wait before a retry: false when a cancellation aborted it (or came before it).
template <class Executor, class Clock>
asio::awaitable<bool> wait_retry(const Executor& executor, const Clock& clock, duration delay,
                                 const asio::cancellation_state& cancel) {
  if (cancelled(cancel)) co_return false;
  try {
    co_await async_wait_for(executor, clock, delay, asio::use_awaitable);
  } catch (const std::system_error&) {
    co_return false;  // operation_aborted: the coroutine was cancelled
  }
  co_return !cancelled(cancel);
}

}  // namespace detail

/// async::retry(policy, clock, f) (below) with per-call settings (retry/call.hpp): a result
/// predicate (a result it rejects is retried, with its retry_decision's hint; the last result is
/// returned when retrying stops, as the sync executor returns it) and a dead-letter handler,
/// invoked as handler(const retries_exhausted&) before retries_exhausted is thrown. The call's
/// std::stop_token is not consulted: asio's cancellation stops an async retry.
template <waitable_clock Clock, class P, class D, class F>
requires detail::attempt_returns_awaitable<F> asio::awaitable<detail::attempt_value_t<F>> retry(
    const retry_policy& policy, Clock clock, retry_call<P, D> call, F f) {
  using value = detail::attempt_value_t<F>;
  static_assert(std::is_void_v<value> || std::is_object_v<value>,
                "bulwark::async::retry: the awaitable's value must be void or an object type");
  const auto executor = co_await asio::this_coro::executor;
  const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
  retry_schedule schedule{policy, clock};
  const auto now = [&] { return policy.reads_clock() ? clock.now() : time_point{}; };
  const auto give_up = [&](const std::exception_ptr& error, retry_stop_reason reason) {
    detail::give_up(error, schedule.attempts(), reason, schedule.last_hint(),
                    [&](const retries_exhausted& exhausted) {
                      if constexpr (retry_call<P, D>::has_dead_letter) {
                        std::invoke(call.dead_letter_handler, exhausted);
                      }
                    });
  };
  if (detail::cancelled(cancel)) give_up(nullptr, retry_stop_reason::stopped);
  for (;;) {
    schedule.begin_attempt();
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<value>, bool, value>> result;
    try {
      if constexpr (bulwark::detail::takes_attempt_context<F>) {
        std::optional<duration> left{};
        if (schedule.deadline()) left = *schedule.time_left(clock.now());
        const attempt_context context{schedule.attempts(), left, {}};
        if constexpr (std::is_void_v<value>) {
          co_await f(context);
          result.emplace(true);
        } else {
          result.emplace(co_await f(context));
        }
      } else if constexpr (std::is_void_v<value>) {
        co_await f();
        result.emplace(true);
      } else {
        result.emplace(co_await f());
      }
    } catch (...) {
      error = std::current_exception();
    }
    if (result) {
      if constexpr (retry_call<P, D>::has_result_predicate) {
        static_assert(std::is_object_v<value>,
                      "bulwark::async::retry: a result predicate needs an object result type");
        const retry_decision decision =
            detail::decide(call.result_predicate, std::as_const(*result));
        if (decision.retry) {
          const retry_verdict verdict = schedule.after_failure(decision.after, now());
          if (!verdict.retry) co_return std::move(*result);
          if (const auto& on_retry = policy.options().on_retry) {
            on_retry(retry_event{schedule.attempts(), verdict.delay, nullptr, verdict.hinted});
          }
          if (!co_await detail::wait_retry(executor, clock, verdict.delay, cancel)) {
            co_return std::move(*result);
          }
          continue;
        }
      }
      schedule.succeeded();
      if constexpr (std::is_void_v<value>) {
        co_return;
      } else {
        co_return std::move(*result);
      }
    }
    const retry_verdict verdict = schedule.after_error(error, now());
    if (!verdict.retry && !verdict.reason) std::rethrow_exception(error);  // not retryable
    if (!verdict.retry) give_up(error, *verdict.reason);
    if (detail::cancelled(cancel)) give_up(error, retry_stop_reason::stopped);
    if (const auto& on_retry = policy.options().on_retry) {
      on_retry(retry_event{schedule.attempts(), verdict.delay, error, verdict.hinted});
    }
    if (!co_await detail::wait_retry(executor, clock, verdict.delay, cancel)) {
      give_up(error, retry_stop_reason::stopped);
    }
  }
}

/// Runs `f` (returning an asio::awaitable; f(const attempt_context&) gets the attempt's number
/// and time left) until it succeeds or retrying stops, deciding with a retry_schedule of
/// `policy` exactly as bulwark::retry::execute does: retry_on, Retry-After/pushback hints
/// (the retry_after hook, a bulwark::rejected's retry_after()), max_elapsed, the retry and
/// active-request budgets, then options().on_retry, then the wait. The wait is a timer on
/// `clock` (async::async_wait_for: virtual time for manual_clock), so no thread sleeps.
///
///   auto body = co_await bulwark::async::retry(policy, clock, [&] { return fetch(url); });
///
/// Cancellation (asio's per-operation cancellation, terminal): a cancellation during the wait
/// aborts the timer, and one seen before an attempt or after a failed one starts no further
/// attempt; either way the call throws retries_exhausted with reason `stopped` (nesting the
/// last failure), as the sync executor does for its stop token. An attempt that itself ends
/// with operation_aborted is a failure like any other (retry_on decides).
///
/// Returns f's value; rethrows a non-retryable exception unchanged; throws retries_exhausted.
/// The policy must outlive the call; `f` is moved into the coroutine frame and called once per
/// attempt. Any number of calls may run at once on any threads (each has its own schedule).
template <waitable_clock Clock, class F>
requires detail::attempt_returns_awaitable<F> asio::awaitable<detail::attempt_value_t<F>> retry(
    const retry_policy& policy, Clock clock, F f) {
  return async::retry(policy, std::move(clock), retry_call<>{}, std::move(f));
}

/// The same with a retry executor's policy and clock (its metrics are not counted: they are
/// the sync executor's).
template <waitable_clock Clock, class F>
requires detail::attempt_returns_awaitable<F> asio::awaitable<detail::attempt_value_t<F>> retry(
    const bulwark::retry<Clock>& executor, F f) {
  return async::retry(executor.policy(), executor.clock(), std::move(f));
}

/// A retry executor in an awaitable pipeline (asio/pipeline.hpp) or async::execute(retry, f):
/// the rest of the chain is its attempt, retried with the executor's policy and clock.
template <waitable_clock Clock>
struct awaitable_policy<bulwark::retry<Clock>> {
  template <class F>
  static auto execute(const bulwark::retry<Clock>& r, F f) {
    return async::retry(r.policy(), r.clock(), std::move(f));
  }
};

}  // namespace bulwark::async
