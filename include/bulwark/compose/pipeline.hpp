#pragma once

#include <cstddef>
#include <functional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/policy.hpp"

namespace bulwark {

namespace detail {

/// A policy that hands its callable a std::stop_token (timeout, hedge, or a user-written one)
/// says so with `static constexpr bool offers_stop_token = true;`. A member rather than probing
/// execute: probing would instantiate the body of an unconstrained user-written execute.
template <class Policy>
concept offers_stop_token = requires {
  requires std::remove_cvref_t<Policy>::offers_stop_token;
};

/// A policy that can run a call at a clock reading its caller took says so with
/// `static constexpr bool accepts_now() noexcept`, returning true, and offers
/// `execute_at(time_point now, f, args...)`, which must run f at `now` without waiting first,
/// and `clock()`. A function rather than a member constant so that a CRTP base can answer from
/// its derived class (a rate limiter that queues answers false).
template <class Policy>
concept accepts_now = requires(const std::remove_cvref_t<Policy>& p) {
  requires std::remove_cvref_t<Policy>::accepts_now();
  { p.clock().now() } -> std::same_as<time_point>;
};

template <class Policy>
using clock_of =
    std::remove_cvref_t<decltype(std::declval<const std::remove_cvref_t<Policy>&>().clock())>;

/// The index of the innermost policy that offers a stop token, or sizeof...(Policies) if none.
template <class... Policies>
constexpr std::size_t innermost_stop_token_source() {
  constexpr bool offers[] = {offers_stop_token<Policies>..., false};
  std::size_t found = sizeof...(Policies);
  for (std::size_t i = 0; i < sizeof...(Policies); ++i) {
    if (offers[i]) found = i;
  }
  return found;
}

}  // namespace detail

/// Policies nested outermost first: `pipeline(retry, breaker, limiter, bulkhead).execute(f)`
/// is `retry.execute([&] { return breaker.execute([&] { return limiter.execute([&] {
/// return bulkhead.execute([&] { return f(args...); }); }); }); })`. A pipeline is itself a
/// policy, so pipelines nest, and any type with an `execute(f)` composes, user-written ones
/// included.
///
///   bulwark::pipeline protect(retry, breaker, limiter, bulkhead);   // lvalues: by reference
///   auto total = protect.execute(price, order);
///
/// Lvalue policies are held by reference (guards are shared and not copyable: the caller keeps
/// them alive), rvalues by value (`pipeline(bulwark::timeout({.timeout = 1s}), breaker)`).
///
/// Each layer wraps the next in a lambda that captures by reference: no allocation, no type
/// erasure and no virtual call, so the compiler sees through the whole chain. The arguments
/// reach f as lvalues, because an outer retry or hedge may call the inner chain more than once
/// (a moved-from argument would be empty on the second attempt).
///
/// A callable taking a std::stop_token first, `f(std::stop_token, args...)`, gets the token of
/// the innermost policy that offers one (a `timeout`, a `hedge`, or any policy declaring
/// `static constexpr bool offers_stop_token = true;`): the policies inside it pass
/// it through, so `pipeline(retry, breaker, timeout({...})).execute([](std::stop_token) {...})`
/// cancels cooperatively as `timeout` alone does. A pipeline holding such a policy offers the
/// token itself, so a pipeline nested in another passes it on too. A pipeline with no such
/// policy does not accept such a callable (a compile error, not a token that never fires).
///
/// One clock read per call: a policy that accepts a clock reading (see detail::accepts_now:
/// circuit_breaker, and the rate limiters that do not queue) is run with
/// `execute_at(now, ...)`. The first of a run of adjacent such policies with the same clock
/// type reads its clock once, and the rest of the run are handed that reading: nothing runs
/// between them that could wait. Any other policy ends the run (a retry calls the rest again
/// later, a bulkhead or timeout may wait), so the next one reads afresh. Policies of one clock
/// type in a pipeline are taken to share one clock (as a manual_clock's copies do).
/// pipeline(retry, circuit_breaker, gcra, bulkhead) with default options therefore reads the
/// steady clock once per attempt, plus the breaker's coarse end-of-call read (see
/// docs/compose.md).
///
/// Thread-safe when its policies are; execute is const-free only because policies' execute
/// is not const. O(number of policies) in call depth.
template <class... Policies>
class pipeline {
  static constexpr std::size_t stop_token_source =
      detail::innermost_stop_token_source<Policies...>();

 public:
  /// Whether a callable taking a std::stop_token first gets one: when a policy inside does, so
  /// that an enclosing pipeline passes its callable's token through this one.
  static constexpr bool offers_stop_token = stop_token_source < sizeof...(Policies);

  /// Holds each policy: an lvalue by reference, an rvalue moved in.
  explicit(sizeof...(Policies) == 1) constexpr pipeline(Policies&&... policies)
      : policies_{std::forward<Policies>(policies)...} {}

  template <class F, class... Args>
  requires std::invocable<F&, Args&...> ||
      (stop_token_source < sizeof...(Policies) &&
       std::invocable<F&, std::stop_token, Args&...>)decltype(auto) execute(F&& f, Args&&... args) {
    if constexpr (std::invocable<F&, Args&...>) {
      return run<0>(nullptr, f, args...);
    } else {
      return run_to_token_source<0>(nullptr, f, args...);
    }
  }

  /// The I-th policy, outermost first.
  template <std::size_t I>
  [[nodiscard]] decltype(auto) get() noexcept {
    return std::get<I>(policies_);
  }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return sizeof...(Policies); }

 private:
  template <std::size_t I>
  using policy_at = std::tuple_element_t<I, std::tuple<Policies...>>;

  // Whether policy I is handed the reading policy I - 1 took (see the class comment).
  template <std::size_t I>
  static constexpr bool takes_previous_reading() noexcept {
    if constexpr (I == 0) {
      return false;
    } else if constexpr (detail::accepts_now<policy_at<I - 1>> &&
                         detail::accepts_now<policy_at<I>>) {
      return std::same_as<detail::clock_of<policy_at<I - 1>>, detail::clock_of<policy_at<I>>>;
    } else {
      return false;
    }
  }

  // Runs policy I around next(reading), where reading points to the clock reading policy I ran
  // at, or is null when it took none. A nullary lambda, so that any policy can run it (retry
  // passes an attempt_context only to callables that take one). decltype(auto) keeps
  // references and void intact.
  template <std::size_t I, class Next>
  decltype(auto) layer(const time_point* previous, Next&& next) {
    auto& policy = std::get<I>(policies_);
    if constexpr (detail::accepts_now<policy_at<I>>) {
      const time_point now = takes_previous_reading<I>() ? *previous : policy.clock().now();
      return policy.execute_at(now, [&next, &now]() -> decltype(auto) { return next(&now); });
    } else {
      return policy.execute([&next]() -> decltype(auto) { return next(nullptr); });
    }
  }

  template <std::size_t I, class F, class... Args>
  decltype(auto) run(const time_point* now, F& f, Args&... args) {
    if constexpr (I == sizeof...(Policies)) {
      return std::invoke(f, args...);
    } else {
      return layer<I>(now, [this, &f, &args...](const time_point* t) -> decltype(auto) {
        return run<I + 1>(t, f, args...);
      });
    }
  }

  // Outside the token's source: layers as run() builds them.
  template <std::size_t I, class F, class... Args>
  decltype(auto) run_to_token_source(const time_point* now, F& f, Args&... args) {
    if constexpr (I == stop_token_source) {
      return std::get<I>(policies_).execute(
          [this, &f, &args...](std::stop_token stop) -> decltype(auto) {
            return run_with_token<I + 1>(nullptr, stop, f, args...);
          });
    } else {
      return layer<I>(now, [this, &f, &args...](const time_point* t) -> decltype(auto) {
        return run_to_token_source<I + 1>(t, f, args...);
      });
    }
  }

  // Inside it: the token travels down to f.
  template <std::size_t I, class F, class... Args>
  decltype(auto) run_with_token(const time_point* now, const std::stop_token& stop, F& f,
                                Args&... args) {
    if constexpr (I == sizeof...(Policies)) {
      return std::invoke(f, stop, args...);
    } else {
      return layer<I>(now, [this, &stop, &f, &args...](const time_point* t) -> decltype(auto) {
        return run_with_token<I + 1>(t, stop, f, args...);
      });
    }
  }

  std::tuple<Policies...> policies_;
};

/// Lvalues deduce T& (held by reference), rvalues T (held by value).
template <class... Policies>
pipeline(Policies&&...) -> pipeline<Policies...>;

}  // namespace bulwark
