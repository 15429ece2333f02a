#pragma once
// The awaitable execute of the guards (circuit breaker, rate limiters, bulkhead) and the two
// ways a policy takes part in it: a guard enters before the call and leaves after it (its
// guard_traits), a wrapping policy (retry, timeout, hedge, pipeline) runs the call itself (its
// awaitable_policy). See docs/async.md.

#include <asio/awaitable.hpp>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"

namespace bulwark::async {

/// How the awaitable execute enters and leaves a guard of type G, specialised next to each
/// guard's awaitable form (asio/circuit_breaker.hpp, rate_limit.hpp, bulkhead.hpp):
///
///   using ticket = ...;                       // what the call holds while inside
///   static constexpr bool accepts_now;        // whether enter uses the caller's clock reading
///   static bool enter(G&, const time_point* now, std::optional<ticket>&);
///       // true: entered (ticket engaged); throws the guard's refusal; false: must wait.
///       // `now`: the pipeline's shared reading, or null (the guard reads its own clock)
///   template <class Executor>
///   static asio::awaitable<void, Executor> wait(G&, std::optional<ticket>&);
///       // after enter returned false: waits, then the ticket is engaged, or throws
///   template <class T> static void succeeded(ticket&, const T* result);  // null for void
///   static void failed(ticket&, const std::exception_ptr&);
///
/// The ticket comes from the guard's own non-waiting decision (a breaker permit, a limiter's
/// admission, a bulkhead permit), so sync and async callers share one guard.
template <class G>
struct guard_traits;

/// How a policy that runs the call itself (retry, timeout, hedge, a pipeline) is awaited:
/// specialise with `template <class F> static auto execute(P&, F f)`, F a nullary callable
/// returning asio::awaitable<T, Executor>, returning the same awaitable type. The pipeline's
/// awaitable execute nests such a policy around the rest of the chain.
template <class P>
struct awaitable_policy;

/// A type with guard_traits.
template <class G>
concept guard = requires {
  typename guard_traits<std::remove_cvref_t<G>>::ticket;
};

/// A type with an awaitable_policy.
template <class P>
concept wrapping_policy = !guard<P> && requires {
  sizeof(awaitable_policy<std::remove_cvref_t<P>>);
};

namespace detail {

template <class A>
struct awaitable_parts;
template <class T, class Executor>
struct awaitable_parts<asio::awaitable<T, Executor>> {
  using value = T;
  using executor = Executor;
};

/// A nullary callable returning an asio::awaitable.
template <class F>
concept awaitable_function = requires(F& f) {
  typename awaitable_parts<std::invoke_result_t<F&>>::value;
};

template <awaitable_function F>
using awaited_t = std::invoke_result_t<F&>;
template <awaitable_function F>
using value_t = typename awaitable_parts<awaited_t<F>>::value;

template <class G>
using traits_of = guard_traits<std::remove_cvref_t<G>>;
template <class G>
using ticket_of = typename traits_of<G>::ticket;

template <class G>
using guard_clock_t =
    std::remove_cvref_t<decltype(std::declval<const std::remove_cvref_t<G>&>().clock())>;

// Whether guard I of the tuple is handed the reading guard I - 1 took: both take a reading,
// from clocks of one type (bulwark::pipeline's rule, compose/pipeline.hpp).
template <class Guards, std::size_t I>
constexpr bool takes_previous_reading() {
  if constexpr (I == 0) {
    return false;
  } else {
    using prev = std::tuple_element_t<I - 1, Guards>;
    using cur = std::tuple_element_t<I, Guards>;
    if constexpr (traits_of<prev>::accepts_now && traits_of<cur>::accepts_now) {
      return std::same_as<guard_clock_t<prev>, guard_clock_t<cur>>;
    } else {
      return false;
    }
  }
}

// Shared: a pipeline's run, whose guards take readings as the sync pipeline's layers do; a lone
// guard reads its clock itself, as its sync execute does (a breaker without slow-call detection
// reads none).
template <bool Shared, class Guards, class Tickets, std::size_t I>
bool enter_one(Guards& guards, Tickets& tickets,
               time_point (&readings)[std::tuple_size_v<Guards> + 1]) {
  auto& g = std::get<I>(guards);
  using traits = traits_of<decltype(g)>;
  if constexpr (Shared && traits::accepts_now) {
    if constexpr (takes_previous_reading<Guards, I>()) {
      readings[I] = readings[I - 1];
    } else {
      readings[I] = g.clock().now();
    }
    return traits::enter(g, &readings[I], std::get<I>(tickets));
  } else {
    return traits::enter(g, nullptr, std::get<I>(tickets));
  }
}

template <class Guards, class Tickets, class Executor, std::size_t I>
asio::awaitable<void, Executor> wait_one(Guards& guards, Tickets& tickets) {
  auto& g = std::get<I>(guards);
  return traits_of<decltype(g)>::template wait<Executor>(g, std::get<I>(tickets));
}

// Innermost guard first, as the nested sync calls end.
template <class Guards, class Tickets, class T, std::size_t... Is>
void leave_all(Guards&, Tickets& tickets, const T* result, const std::exception_ptr& error,
               std::index_sequence<Is...>) {
  constexpr std::size_t n = sizeof...(Is);
  (
      [&] {
        constexpr std::size_t i = n - 1 - Is;
        auto& ticket = std::get<i>(tickets);
        if (!ticket) return;
        using traits = traits_of<std::tuple_element_t<i, Guards>>;
        if (error) {
          traits::failed(*ticket, error);
        } else {
          traits::template succeeded<T>(*ticket, result);
        }
      }(),
      ...);
}

/// Enters `guards` outermost first (one coroutine frame for the whole run: a guard that can
/// decide at once is a plain call, only one that must wait is awaited), awaits inner(), then
/// leaves them innermost first with its result or exception, as nested sync executes do: a
/// refusal by an inner guard reaches the outer ones as the exception it is.
template <bool Shared = true, class Guards, class Inner, std::size_t... Is>
auto run_guards(Guards guards, Inner inner, std::index_sequence<Is...> order)
    -> asio::awaitable<value_t<Inner>, typename awaitable_parts<awaited_t<Inner>>::executor> {
  using T = value_t<Inner>;
  using Executor = typename awaitable_parts<awaited_t<Inner>>::executor;
  std::tuple<std::optional<ticket_of<std::tuple_element_t<Is, Guards>>>...> tickets;
  time_point readings[sizeof...(Is) + 1]{};
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, char, T>> result;
  try {
    ((enter_one<Shared, Guards, decltype(tickets), Is>(guards, tickets, readings)
          ? void()
          : co_await wait_one<Guards, decltype(tickets), Executor, Is>(guards, tickets)),
     ...);
    if constexpr (std::is_void_v<T>) {
      co_await inner();
      result.emplace('\0');
    } else {
      result.emplace(co_await inner());
    }
  } catch (...) {
    error = std::current_exception();
  }
  if constexpr (std::is_void_v<T>) {
    leave_all<Guards, decltype(tickets), void>(guards, tickets, nullptr, error, order);
  } else {
    leave_all(guards, tickets, error ? nullptr : &*result, error, order);
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

}  // namespace detail

/// In a coroutine: runs `f()` (a nullary callable returning asio::awaitable<T>) inside `g`, a
/// circuit_breaker, rate limiter or bulkhead, as g.execute(f) runs a synchronous call: the same
/// decision objects, the same refusals (circuit_open, rate_limited, bulkhead_full), results and
/// exceptions recorded as the sync execute records them. Waits (a bulkhead's max_wait, a
/// leaky bucket's queue) are timers, never a blocked thread.
template <guard G, detail::awaitable_function F>
auto execute(G& g, F f) {
  return detail::run_guards<false>(std::tuple<G&>(g), std::move(f), std::index_sequence_for<G>{});
}

/// The same for a wrapping policy (awaitable_policy).
template <wrapping_policy P, detail::awaitable_function F>
auto execute(P& p, F f) {
  return awaitable_policy<std::remove_cvref_t<P>>::execute(p, std::move(f));
}

}  // namespace bulwark::async
