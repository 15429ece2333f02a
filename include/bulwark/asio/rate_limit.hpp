#pragma once
// The awaitable forms of bulwark's rate limiters: execute through the limiter's own decision
// (try_acquire), and a waiting acquire that takes its place with the limiter's reservation
// and then waits on a timer, never a blocked thread (docs/async.md).

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/timer.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark::async {

/// A bulwark rate limiter (gcra, token_bucket, leaky_bucket, the windows, smooth_warmup).
template <class L>
concept rate_limiter = requires(L& l, const L& cl, time_point t) {
  { l.acquire_step(std::uint32_t{1}, t, t) } -> std::same_as<rate_limit_step>;
  { l.try_acquire(std::uint32_t{1}, t) } -> std::same_as<bool>;
  { L::accepts_now() } -> std::same_as<bool>;
  { L::component_name() } -> std::same_as<std::string_view>;
  { cl.clock().now() } -> std::same_as<time_point>;
};

/// In a coroutine: takes `cost` units of `l`, waiting for at most `timeout` without blocking
/// (limiter_base::try_acquire_for's decision, then a timer on the limiter's clock), and says
/// whether it got them. A limiter that reserves (gcra, token_bucket, leaky_bucket,
/// smooth_warmup) keeps the caller's place in time, so waiters go in the order they asked; the
/// windows wait for their estimate and try again. Cancelled while it waits, it throws
/// asio::system_error (operation_aborted); a reservation is not returned then (the limiters
/// cannot give back a reserved time), so the units stay spent.
template <class Executor = asio::any_io_executor, rate_limiter L>
requires waitable_clock<std::remove_cvref_t<decltype(std::declval<const L&>().clock())>>
    asio::awaitable<bool, Executor> acquire_for(L& l, std::uint32_t cost, duration timeout) {
  const auto executor = co_await asio::this_coro::executor;
  const auto& clock = l.clock();
  time_point now = clock.now();
  const time_point deadline =
      bulwark::detail::saturating_add(now, std::max(timeout, duration::zero()));
  bool waited = false;
  for (;;) {
    const rate_limit_step step = l.acquire_step(cost, now, deadline, waited);
    switch (step.what) {
      case rate_limit_step::kind::admitted:
        co_return true;
      case rate_limit_step::kind::refused:
        co_return false;
      case rate_limit_step::kind::reserved:
        co_await async_wait_until(executor, clock, bulwark::detail::saturating_add(now, step.wait),
                                  asio::use_awaitable_t<Executor>{});
        co_return true;
      case rate_limit_step::kind::retry:
        if (step.wait > duration::zero()) {
          co_await async_wait_until(executor, clock,
                                    bulwark::detail::saturating_add(now, step.wait),
                                    asio::use_awaitable_t<Executor>{});
          waited = true;
        }
        now = std::max(now, clock.now());
        break;
    }
  }
}

/// A limiter is entered as its sync execute decides: try_acquire at the caller's reading, a
/// refusal thrown as rate_limited with retry_after = time_until_available(1). A shaper
/// (leaky_bucket) queues instead: it reserves its turn and the call awaits it on a timer,
/// refused only when the bucket is full (retry_after: when it will have room). Leaving does
/// nothing: a unit taken stays spent, as in the sync execute.
template <rate_limiter L>
struct guard_traits<L> {
  struct ticket {
    time_point go{};  // a shaper's turn
  };
  static constexpr bool accepts_now = L::accepts_now();

  static bool enter(L& l, const time_point* now, std::optional<ticket>& t) {
    if constexpr (accepts_now) {
      const time_point at = now != nullptr ? *now : l.clock().now();
      if (!l.try_acquire(1, at)) {
        bulwark::detail::raise<rate_limited>(L::component_name(), "rate limit exceeded",
                                             l.time_until_available(1, at));
      }
      t.emplace();
      return true;
    } else {
      const time_point at = l.clock().now();
      const rate_limit_step step = l.acquire_step(1, at, time_point::max());
      if (step.what == rate_limit_step::kind::refused) {
        bulwark::detail::raise<rate_limited>(L::component_name(), "rate limit exceeded", step.wait);
      }
      t.emplace(ticket{bulwark::detail::saturating_add(at, step.wait)});
      return step.what == rate_limit_step::kind::admitted;
    }
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(L& l, std::optional<ticket>& t) {
    if constexpr (!accepts_now) {  // only a shaper waits
      co_await async_wait_until(co_await asio::this_coro::executor, l.clock(), t->go,
                                asio::use_awaitable_t<Executor>{});
    }
    co_return;
  }
  template <class T>
  static void succeeded(ticket&, const T*) noexcept {}
  static void failed(ticket&, const std::exception_ptr&) noexcept {}
};

}  // namespace bulwark::async
