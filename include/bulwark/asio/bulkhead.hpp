#pragma once
// The awaitable forms of bulwark::bulkhead: a coroutine waiting for a slot is a node in the
// bulkhead's own wait queue, beside the threads blocked in try_acquire_for, so one bulkhead
// serves sync and async callers in one order (docs/async.md).

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/asio/detail/bulkhead_wait.hpp"
#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/timer.hpp"
#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark::detail {
struct bulkhead_access {
  template <class Clock>
  static bulkhead_semaphore& semaphore(bulkhead<Clock>& b) noexcept {
    return b.semaphore_;
  }
};
}  // namespace bulwark::detail

namespace bulwark::async {

namespace detail {
struct initiate_bulkhead_wait {
  template <class Handler, class Executor, class Clock>
  void operator()(Handler&& handler, const Executor& io_executor, semaphore* s, const Clock& clock,
                  time_point deadline) const {
    std::decay_t<Handler> h(std::forward<Handler>(handler));
    auto executor = asio::prefer(asio::get_associated_executor(h, io_executor),
                                 asio::execution::outstanding_work.tracked);
    bulkhead_wait<std::decay_t<Handler>, decltype(executor), Clock>::start(std::move(h), executor,
                                                                           *s, clock, deadline);
  }
};
}  // namespace detail

/// Takes a slot of `b`, waiting in its queue until `deadline` (a time point of the bulkhead's
/// clock) without blocking, and completes with (error_code, bulkhead_permit): a permit; an
/// empty permit when the queue is full, the wait timed out or CoDel shed it (counted as
/// try_acquire_until counts them); operation_aborted when the operation's cancellation slot is
/// emitted while it waits (the waiter leaves the queue; not counted as a refusal). A slot
/// handed over as the cancellation arrives is the waiter's (it completes with the permit,
/// which releases it to the next waiter when dropped): no slot is ever lost. The wait keeps
/// the queue's discipline (FIFO, CoDel, adaptive LIFO) with the threads waiting beside it.
template <class Clock, class Executor,
          asio::completion_token_for<void(std::error_code, bulkhead_permit)> Token =
              asio::default_completion_token_t<Executor>>
requires waitable_clock<Clock>
auto async_acquire_until(bulkhead<Clock>& b, const Executor& executor, time_point deadline,
                         Token&& token = asio::default_completion_token_t<Executor>()) {
  return asio::async_initiate<Token, void(std::error_code, bulkhead_permit)>(
      detail::initiate_bulkhead_wait{}, token, executor,
      &bulwark::detail::bulkhead_access::semaphore(b), b.clock(), deadline);
}

/// In a coroutine: bulkhead::try_acquire_for(timeout) without blocking: a permit at once when
/// a slot is free and nobody waits, else async_acquire_until(now + timeout). Throws
/// asio::system_error (operation_aborted) when cancelled while it waits.
template <class Executor = asio::any_io_executor, class Clock>
requires waitable_clock<Clock> asio::awaitable<bulkhead_permit, Executor> acquire_for(
    bulkhead<Clock>& b, duration timeout) {
  auto& s = bulwark::detail::bulkhead_access::semaphore(b);
  if (bulkhead_permit p = s.try_acquire(false)) co_return p;
  if (timeout <= duration::zero()) {
    s.count_refusal();
    co_return bulkhead_permit{};
  }
  co_return co_await async_acquire_until(b, co_await asio::this_coro::executor,
                                         bulwark::detail::deadline_after(b.clock().now(), timeout),
                                         asio::use_awaitable_t<Executor>{});
}

/// A bulkhead is entered as its sync execute enters: a free slot at once (one CAS), else a
/// wait of up to options().max_wait in the queue (a timer, not a thread), else bulkhead_full.
/// The permit is released when the call ends.
template <class Clock>
struct guard_traits<bulkhead<Clock>> {
  using ticket = bulkhead_permit;
  static constexpr bool accepts_now = false;

  static bool enter(bulkhead<Clock>& b, const time_point*, std::optional<ticket>& t) {
    auto& s = bulwark::detail::bulkhead_access::semaphore(b);
    if (bulkhead_permit p = s.try_acquire(false)) {
      t.emplace(std::move(p));
      return true;
    }
    if (b.options().max_wait > duration::zero()) return false;
    s.count_refusal();
    bulwark::detail::raise<bulkhead_full>("bulkhead", "max_concurrent calls are in flight");
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(bulkhead<Clock>& b, std::optional<ticket>& t) {
    if constexpr (waitable_clock<Clock>) {
      bulkhead_permit p = co_await async_acquire_until(
          b, co_await asio::this_coro::executor,
          bulwark::detail::deadline_after(b.clock().now(), b.options().max_wait),
          asio::use_awaitable_t<Executor>{});
      if (!p) {
        bulwark::detail::raise<bulkhead_full>(
            "bulkhead", "no free slot within max_wait, the wait queue is full, or CoDel shed it");
      }
      t.emplace(std::move(p));
    } else {
      bulwark::detail::raise<std::invalid_argument>(
          "bulwark::async: a bulkhead waits (max_wait > 0) only on steady_clock, coarse_clock "
          "or manual_clock");
    }
    co_return;
  }
  template <class T>
  static void succeeded(ticket&, const T*) noexcept {}
  static void failed(ticket&, const std::exception_ptr&) noexcept {}
};

}  // namespace bulwark::async
