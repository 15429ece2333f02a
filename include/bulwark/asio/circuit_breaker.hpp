#pragma once
// The awaitable execute of bulwark::circuit_breaker: the breaker's own permits, so one breaker
// serves synchronous and asynchronous callers and counts them in one window (docs/async.md).

#include <asio/awaitable.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/circuit_breaker/circuit_breaker.hpp"
#include "bulwark/circuit_breaker/detail/call_end.hpp"

namespace bulwark::async {

/// A breaker is entered with try_acquire(now) (a refusal throws circuit_open with its
/// retry_after) and left as circuit_breaker::execute ends a call (detail/call_end.hpp): a
/// result counts as a success, an exception as options().classify_exception says. The permit
/// records the call's duration on its clock, so a slow awaited call counts as slow; a
/// coroutine destroyed while it awaits ends its permit as ignored.
template <class Clock>
struct guard_traits<circuit_breaker<Clock>> {
  using breaker = circuit_breaker<Clock>;
  struct ticket {
    typename breaker::permit permit;
    const breaker* owner;  // options() is a copy (reconfigure may swap them): read on failure
  };
  static constexpr bool accepts_now = true;

  static bool enter(breaker& b, const time_point* now, std::optional<ticket>& t) {
    auto p = now != nullptr ? b.try_acquire(*now) : b.try_acquire();
    if (!p) bulwark::detail::throw_circuit_open(p.state(), p.retry_after());
    t.emplace(ticket{std::move(p), &b});
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(breaker&, std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket& t, const T*) noexcept {
    t.permit.success();
  }
  static void failed(ticket& t, const std::exception_ptr& e) {
    t.permit.record(bulwark::detail::classify_exception(t.owner->options(), e));
  }
};

/// As execute(breaker, f), with `classify(result)` deciding how a result counts
/// (circuit_breaker::execute_classified's rule).
template <class Clock, class Classify, detail::awaitable_function F>
auto execute_classified(circuit_breaker<Clock>& b, Classify classify, F f) -> detail::awaited_t<F> {
  using T = detail::value_t<F>;
  auto p = b.try_acquire();
  if (!p) bulwark::detail::throw_circuit_open(p.state(), p.retry_after());
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, char, T>> result;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await f();
      result.emplace('\0');
    } else {
      result.emplace(co_await f());
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    p.record(bulwark::detail::classify_exception(b.options(), error));
    std::rethrow_exception(error);
  }
  if constexpr (std::is_void_v<T>) {
    p.success();
  } else {
    p.record(std::invoke(classify, std::as_const(*result)));
    co_return std::move(*result);
  }
}

}  // namespace bulwark::async
