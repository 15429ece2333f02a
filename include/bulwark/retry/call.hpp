#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// What a retried callable may learn about its attempt: a callable invocable as
/// f(const attempt_context&, args...) receives one (in preference to f(args...)).
struct attempt_context {
  std::uint32_t attempt = 1;            ///< 1 for the first attempt
  std::optional<duration> time_left{};  ///< until max_elapsed; empty without a deadline
  std::stop_token stop{};               ///< the call's stop token (pass it on to I/O)
};

/// A result predicate's verdict, for results that carry a server hint (an HTTP 503 with
/// Retry-After). A predicate may return plain bool instead.
struct retry_decision {
  bool retry = false;
  /// Overrides the backoff for this retry (a negative hint means "do not retry", as gRPC's
  /// pushback); empty: use the schedule.
  std::optional<duration> after{};
};

/// What on_retry listeners receive, before the wait.
struct retry_event {
  std::uint32_t attempt = 0;   ///< the attempt that failed (1 for the first)
  duration delay{};            ///< the wait before the next attempt
  std::exception_ptr error{};  ///< the failed attempt's exception; null for a retried result
  bool hinted = false;         ///< true when the delay is a server hint, not the schedule
};

namespace detail {
struct unset {};  // a retry_call slot left empty
}  // namespace detail

/// Per-call settings of a retry executor, for what depends on the call: which results to
/// retry (typed on the result), where an exhausted call's input goes (typed on the
/// arguments), and the call's stop token. Built by chaining, each step returning a new value:
///
///   auto call = bulwark::retry_call{}
///                   .retry_result_if([](const response& r) { return r.status == 503; })
///                   .dead_letter([](const bulwark::retries_exhausted& e, const order& o) {...})
///                   .stop_on(token);
///   retry.execute(call, send, order);
///
/// A result predicate is invoked as pred(const R&) and returns bool or retry_decision. A dead
/// letter handler is invoked as handler(const retries_exhausted&, const Args&...) with the
/// exhausted call's arguments, just before retries_exhausted is thrown.
template <class ResultPredicate = detail::unset, class DeadLetter = detail::unset>
struct retry_call {
  ResultPredicate result_predicate{};
  DeadLetter dead_letter_handler{};
  std::stop_token stop{};

  template <class P>
  [[nodiscard]] retry_call<std::decay_t<P>, DeadLetter> retry_result_if(P&& predicate) const {
    return {std::forward<P>(predicate), dead_letter_handler, stop};
  }
  template <class H>
  [[nodiscard]] retry_call<ResultPredicate, std::decay_t<H>> dead_letter(H&& handler) const {
    return {result_predicate, std::forward<H>(handler), stop};
  }
  [[nodiscard]] retry_call stop_on(std::stop_token token) const {
    return {result_predicate, dead_letter_handler, std::move(token)};
  }

  static constexpr bool has_result_predicate = !std::same_as<ResultPredicate, detail::unset>;
  static constexpr bool has_dead_letter = !std::same_as<DeadLetter, detail::unset>;
};

retry_call()->retry_call<>;

/// Callables a retry executor runs: f(const attempt_context&, args...) or f(args...), with the
/// arguments as lvalues (they are reused by every attempt).
template <class F, class... Args>
concept retryable_callable =
    std::invocable<F&, const attempt_context&, Args&...> || std::invocable<F&, Args&...>;

namespace detail {
template <class F, class... Args>
concept takes_attempt_context = std::invocable<F&, const attempt_context&, Args&...>;
template <class F, class... Args>
concept plain_attempt = std::invocable<F&, Args&...> && !takes_attempt_context<F, Args...>;

// Empty unless F is retryable with Args, so that retry_result_t is SFINAE-friendly (an
// execute overload whose F is not a callable drops out instead of failing to compile).
template <class F, class... Args>
struct attempt_result {};
template <class F, class... Args>
requires plain_attempt<F, Args...>
struct attempt_result<F, Args...> {
  using type = std::invoke_result_t<F&, Args&...>;
};
template <class F, class... Args>
requires takes_attempt_context<F, Args...>
struct attempt_result<F, Args...> {
  using type = std::invoke_result_t<F&, const attempt_context&, Args&...>;
};
}  // namespace detail

/// What execute returns for f and Args.
template <class F, class... Args>
using retry_result_t = typename detail::attempt_result<F, Args...>::type;

}  // namespace bulwark
