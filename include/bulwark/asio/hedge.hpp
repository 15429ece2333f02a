#pragma once
// Hedged requests in a coroutine: the attempts are coroutines on one strand, the hedge delay a
// timer, the losers cancelled through asio's per-operation cancellation (docs/async.md).

#include <array>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/timeout.hpp"
#include "bulwark/asio/timer.hpp"
#include "bulwark/compose/hedge.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/retry/policy.hpp"
#include "bulwark/retry/schedule.hpp"

namespace bulwark::async {

/// Hedged requests (Dean and Barroso, "The Tail at Scale"; Polly v8's hedging) for awaitables,
/// with bulwark::hedge's options and rules: the call starts once; if no attempt has succeeded
/// after `delay`, another starts, up to max_hedged_attempts more, and a failed attempt starts
/// the next at once. The first success wins; the attempts still running are cancelled
/// (terminal cancellation) and left to end on their own. If every attempt fails, the last
/// failure is rethrown. Each hedge is a retry of the options' budgets (a retry_budget and an
/// active_request_budget, shared with retries and with sync hedges), decided by a
/// retry_schedule as the sync hedge does; a refusal stops hedging for the call.
///
///   bulwark::async::hedge hedged({.delay = 50ms, .max_hedged_attempts = 2}, clock);
///   auto row = co_await hedged.execute([&] { return replica_read(key); });
///
/// The attempts and the call's bookkeeping run as coroutines on a strand of the caller's
/// executor (one per call), so they never run at once, even when several threads run the
/// context; `f` is moved into state shared by the attempts, which may outlive execute (a
/// cancelled loser ends later). The value type must be void or default-constructible (asio's
/// co_spawn completion carries one beside the exception). Cancelling the caller cancels every
/// attempt.
///
/// Thread-safe: execute may run on many threads at once. Cost: the shared state, a strand and a
/// coroutine per attempt: for calls that take milliseconds.
template <waitable_clock Clock = steady_clock>
class hedge {
 public:
  /// Throws std::invalid_argument as bulwark::hedge does.
  explicit hedge(hedge_options options = {}, Clock clock = {})
      : core_{std::move(options), std::move(clock)} {}

  template <class F>
  requires detail::returns_awaitable<F> asio::awaitable<detail::returned_value_t<F>> execute(F f) {
    const auto executor = co_await asio::this_coro::executor;
    co_return co_await asio::co_spawn(asio::make_strand(executor), run(std::move(f)),
                                      asio::use_awaitable);
  }

  [[nodiscard]] hedge_metrics metrics() const noexcept { return core_.metrics(); }
  [[nodiscard]] const hedge_options& options() const noexcept { return core_.options(); }
  [[nodiscard]] const Clock& clock() const noexcept { return core_.clock(); }

 private:
  static constexpr std::size_t most_attempts = 11;  // 1 + the largest max_hedged_attempts

  template <class F>
  struct shared {
    using result = detail::returned_value_t<F>;
    using stored = std::conditional_t<std::is_void_v<result>, bool, result>;
    template <class Executor>
    shared(F&& fn, const Executor& executor)
        : call{std::move(fn)}, ended{executor, most_attempts} {}

    F call;
    std::array<asio::cancellation_signal, most_attempts> stops;
    std::optional<stored> value;
    std::exception_ptr last_error;
    std::uint32_t started = 0;
    std::uint32_t failed = 0;
    // One message (the attempt's number) per attempt that ended; never full (buffered for
    // every attempt). Two arguments: asio 1.22's channel_traits find void(error_code) ambiguous.
    asio::experimental::channel<void(std::error_code, std::uint32_t)> ended;
  };

  template <class F>
  static asio::awaitable<typename shared<F>::stored> attempt(std::shared_ptr<shared<F>> state) {
    if constexpr (std::is_void_v<typename shared<F>::result>) {
      co_await state->call();
      co_return true;
    } else {
      co_return co_await state->call();
    }
  }

  // The call, on its strand: every member of the shared state is touched only here.
  template <class F>
  asio::awaitable<detail::returned_value_t<F>> run(F f) {
    namespace x = asio::experimental;
    using state_type = shared<F>;
    const auto strand = co_await asio::this_coro::executor;
    auto state = std::make_shared<state_type>(std::move(f), strand);
    // Cancels every attempt still running when the call ends, however it ends (a winner, all
    // failed, the caller cancelled): a finished attempt's slot is empty, so its emit does
    // nothing.
    struct cancel_rest {
      state_type& s;
      ~cancel_rest() {
        for (std::uint32_t i = 0; i < s.started; ++i)
          s.stops[i].emit(asio::cancellation_type::terminal);
      }
    } guard{*state};
    retry_schedule schedule = core_.begin_call();
    const Clock& clock = core_.clock();
    const auto launch = [&] {
      const std::uint32_t i = state->started++;
      asio::co_spawn(strand, attempt(state),
                     asio::bind_cancellation_slot(
                         state->stops[i].slot(),
                         [state, i](std::exception_ptr error, typename state_type::stored v) {
                           if (!error) {
                             if (!state->value) state->value.emplace(std::move(v));
                           } else {
                             ++state->failed;
                             state->last_error = error;
                           }
                           state->ended.try_send(std::error_code{}, i);
                         }));
    };

    // The delay runs from each attempt's start, read before it is spawned (as the sync hedge).
    time_point launched_at = clock.now();
    schedule.begin_attempt();
    launch();
    const std::uint32_t most = 1 + core_.options().max_hedged_attempts;
    bool may_hedge = true;
    for (;;) {
      const std::uint32_t started = state->started;
      const bool can_start = may_hedge && started < most;
      const auto settled = [&] { return state->value.has_value() || state->failed == started; };
      const time_point deadline =
          bulwark::detail::saturating_add(launched_at, core_.options().delay);
      while (!settled()) {
        if (!can_start) {
          co_await state->ended.async_receive(asio::use_awaitable);
          continue;
        }
        if (clock.now() >= deadline) break;
        auto [order, received, which, waited] =
            co_await x::make_parallel_group(state->ended.async_receive(x::deferred),
                                            async_wait_until(strand, clock, deadline, x::deferred))
                .async_wait(x::wait_for_one(), asio::use_awaitable);
        (void)order;
        (void)which;
        if (!waited) break;  // the timer completed: the delay passed
        // The timer was aborted: by an attempt's end (received), or else with the receive by
        // the caller's cancellation.
        if (received) bulwark::detail::raise<std::system_error>(received);
      }
      if (state->value) break;
      if (state->failed == started && !can_start) break;  // every attempt failed
      // The delay passed, or every attempt so far failed: hedge, if the budgets allow.
      if (!core_.grant_hedge(schedule)) {
        may_hedge = false;
        if (state->failed == started) break;
        continue;
      }
      launched_at = clock.now();
      launch();
    }
    if (!state->value) std::rethrow_exception(state->last_error);
    schedule.succeeded();
    if constexpr (!std::is_void_v<detail::returned_value_t<F>>) co_return std::move(*state->value);
  }

  bulwark::detail::hedge_core<Clock> core_;
};

hedge()->hedge<>;
hedge(hedge_options)->hedge<>;

/// An async hedge in an awaitable pipeline (asio/pipeline.hpp): the rest of the chain is each
/// attempt.
template <waitable_clock Clock>
struct awaitable_policy<hedge<Clock>> {
  template <class F>
  static auto execute(hedge<Clock>& h, F f) {
    return h.execute(std::move(f));
  }
};

}  // namespace bulwark::async
