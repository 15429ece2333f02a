#pragma once
// bulwark::idempotency_executor's execute for coroutines: the same turns (begin, replay,
// refuse, or wait for the holder of a key in progress), with the in-progress wait on a timer
// instead of a sleeping thread (docs/async.md).

#include <asio/awaitable.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <concepts>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "bulwark/asio/timer.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/idempotency/errors.hpp"
#include "bulwark/idempotency/executor.hpp"

namespace bulwark::detail {

// The executor's own steps, for the awaitable execute below (a friend of the executor).
template <class Executor>
struct idempotency_steps {
  using result_type = typename Executor::result_type;
  using value_type = typename Executor::value_type;
  using waiting = typename Executor::waiting;
  using turn = typename Executor::turn;

  static std::uint64_t fingerprint(Executor& e, idempotency_key id,
                                   std::string_view canonical_request) {
    if (!e.valid_key(id)) raise<invalid_idempotency_key>(e.key_message(id));
    return hash64(canonical_request);
  }
  static waiting start_waiting(const Executor& e) { return {.pause = e.options_.poll_interval}; }
  static turn next_turn(Executor& e, idempotency_key id, std::uint64_t fp, waiting& state) {
    return e.next_turn(id, fp, state);
  }
  static idempotency_result<result_type> replay(Executor& e, stored_result<value_type>&& s) {
    return e.replay(std::move(s));
  }
  static void started(Executor& e) { e.executions_.add(); }
  static void failed(Executor& e, const idempotency_lease& lease, const std::exception_ptr& error) {
    e.settle_failure(lease, what_of(error, "unknown exception"));
  }
  static void abandoned(Executor& e, const idempotency_lease& lease) { e.store_.release(lease); }
  static void completed(Executor& e, const idempotency_lease& lease, const result_type& value) {
    if (!e.store_.complete(
            lease, stored_result<value_type>{std::in_place_index<0>, e.codec_.encode(value)},
            e.options_.ttl)) {
      e.leases_lost_.add();
      raise<lease_lost>(
          "bulwark::idempotency: the lease expired and was taken over; result discarded");
    }
  }
  static const auto& clock(const Executor& e) { return e.clock_; }
};

}  // namespace bulwark::detail

namespace bulwark::async {

/// executor.execute(id, canonical_request, f) for a handler `f` returning an asio::awaitable:
/// runs `co_await f()` at most once per (scope, key), replays a stored outcome, refuses a
/// reused key, and, for a key in progress, answers request_in_progress or, with
/// in_progress_policy::wait, waits for the holder's outcome polling the store as the sync
/// execute does (the same pauses, doubling to max_poll_interval, never past wait_timeout or
/// the holder's lease), each pause a timer on the executor's clock (virtual time for
/// manual_clock): no thread is blocked. The same executor object serves sync and async
/// callers (its options, counters and store).
///
///   auto [receipt, replayed] = co_await bulwark::async::execute(
///       payments, {"payments", key}, body, [&] { return charge(card, amount); });
///
/// The key's views and the canonical request must stay valid until the call completes.
/// Cancellation during a wait ends the call (asio::system_error, operation_aborted) holding
/// nothing; a handler that ends with an exception (cancellation included) is settled as the
/// sync execute settles a throwing handler; a call abandoned while its handler runs (its
/// coroutine destroyed) releases the key.
///
/// Throws what the sync execute throws. Thread-safe, as the executor.
template <class Store, class Codec, class Clock, class F>
requires requires(F& f) {
  { f() } -> std::same_as<asio::awaitable<typename Codec::result_type>>;
}
asio::awaitable<idempotency_result<typename Codec::result_type>> execute(
    idempotency_executor<Store, Codec, Clock>& executor, idempotency_key id,
    std::string_view canonical_request, F f) {
  using steps = bulwark::detail::idempotency_steps<idempotency_executor<Store, Codec, Clock>>;
  using result = typename Codec::result_type;
  const std::uint64_t fingerprint = steps::fingerprint(executor, id, canonical_request);
  auto state = steps::start_waiting(executor);
  for (;;) {
    auto next = steps::next_turn(executor, id, fingerprint, state);
    if (next.stored) co_return steps::replay(executor, std::move(*next.stored));
    if (!next.lease) {
      co_await async_wait_for(co_await asio::this_coro::executor, steps::clock(executor), next.wait,
                              asio::use_awaitable);
      continue;
    }
    const idempotency_lease& lease = *next.lease;
    steps::started(executor);
    struct release_if_abandoned {
      idempotency_executor<Store, Codec, Clock>& e;
      const idempotency_lease& lease;
      bool settled = false;
      ~release_if_abandoned() {
        if (!settled) steps::abandoned(e, lease);
      }
    } guard{executor, lease};
    std::optional<result> value;
    std::exception_ptr error;
    try {
      value.emplace(co_await f());
    } catch (...) {
      error = std::current_exception();
    }
    guard.settled = true;
    if (error) {
      steps::failed(executor, lease, error);
      std::rethrow_exception(error);
    }
    steps::completed(executor, lease, *value);
    co_return idempotency_result<result>{std::move(*value), false};
  }
}

}  // namespace bulwark::async
