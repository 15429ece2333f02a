#pragma once
// A deadline for an awaitable: the call raced against a timer in one asio parallel_group, so
// the timer's expiry cancels the call through asio's per-operation cancellation, with no
// watchdog thread (docs/async.md).

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/timer.hpp"
#include "bulwark/compose/timeout.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark::async {

namespace detail {

template <class A>
struct timed_value {};
template <class T, class Executor>
struct timed_value<asio::awaitable<T, Executor>> {
  using type = T;
};

template <class F>
concept returns_awaitable = std::invocable<F&> && requires {
  typename timed_value<std::invoke_result_t<F&>>::type;
};

template <class F>
using returned_value_t = typename timed_value<std::invoke_result_t<F&>>::type;

[[noreturn]] inline void timed_out() {
  bulwark::detail::raise<timeout_expired>("timeout", "the call did not finish within its timeout");
}

}  // namespace detail

/// Runs the awaitable `f()` with a deadline `d` of `clock`'s time from now: the call and a
/// timer (async::async_wait_until: virtual time for manual_clock) run as one asio
/// parallel_group on the coroutine's executor, and whichever finishes first cancels the other
/// (terminal cancellation). If the call finishes first, its value or exception comes back
/// unchanged. If the deadline comes first (the timer completes rather than being aborted), the call
/// is cancelled and, once it has ended (so nothing it owns outlives this), bulwark::timeout_expired
/// is thrown, the sync timeout's error, with its message, whatever the call ended with: the
/// caller's time is up.
///
///   auto row = co_await bulwark::async::with_timeout(200ms, clock, [&] { return query(id); });
///
/// Cancellation is cooperative as in asio: an operation that ignores it is waited for, and
/// then reported as timed out. The caller's own cancellation reaches both (the group forwards
/// it), and the call ends as the cancelled call does. Needs the call and the timer on one
/// thread at a time: run it on a strand when several threads run the context.
template <waitable_clock Clock, class F>
requires detail::returns_awaitable<F> asio::awaitable<detail::returned_value_t<F>> with_timeout(
    duration d, Clock clock, F f) {
  using value = detail::returned_value_t<F>;
  namespace x = asio::experimental;
  const auto executor = co_await asio::this_coro::executor;
  const time_point deadline = bulwark::detail::saturating_add(clock.now(), d);
  if constexpr (std::is_void_v<value>) {
    auto [order, error, waited] =
        co_await x::make_parallel_group(asio::co_spawn(executor, f(), x::deferred),
                                        async_wait_until(executor, clock, deadline, x::deferred))
            .async_wait(x::wait_for_one(), asio::use_awaitable);
    (void)order;
    if (!waited) detail::timed_out();  // the deadline came, not an abort
    if (error) std::rethrow_exception(error);
    co_return;
  } else {
    auto [order, error, result, waited] =
        co_await x::make_parallel_group(asio::co_spawn(executor, f(), x::deferred),
                                        async_wait_until(executor, clock, deadline, x::deferred))
            .async_wait(x::wait_for_one(), asio::use_awaitable);
    (void)order;
    if (!waited) detail::timed_out();  // the deadline came, not an abort
    if (error) std::rethrow_exception(error);
    co_return std::move(result);
  }
}

/// A timeout in an awaitable pipeline (asio/pipeline.hpp) or async::execute(timeout, f): the
/// rest of the chain is its call, with the timeout's duration and clock, so one timeout object
/// (its options) serves sync and async callers.
template <waitable_clock Clock>
struct awaitable_policy<bulwark::timeout<Clock>> {
  template <class F>
  static auto execute(const bulwark::timeout<Clock>& t, F f) {
    return async::with_timeout(t.options().timeout, t.clock(), std::move(f));
  }
};

}  // namespace bulwark::async
