#pragma once
// bulwark::cache's get_or_load for coroutines: the cache's own single flight (one table of
// loads in flight, shared with sync callers), joined without blocking a thread
// (docs/async.md).

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/cache/cache.hpp"
#include "bulwark/cache/detail/load_steps.hpp"

namespace bulwark::async {

namespace detail {

// A wait for a flight's result. Two parties may complete it, the flight settling (on the
// loader's thread) and the waiter's cancellation (on the waiter's): whoever claims it first
// posts the completion to the waiter's executor, the other does nothing.
template <class Handler, class Executor>
struct flight_wait : std::enable_shared_from_this<flight_wait<Handler, Executor>> {
  flight_wait(Handler&& h, Executor ex) : handler(std::move(h)), executor(std::move(ex)) {}
  Handler handler;
  Executor executor;  // tracks outstanding work: a parked waiter keeps run() going
  asio::cancellation_slot slot;
  std::atomic<bool> claimed{false};

  void complete(std::error_code ec) {
    // acq_rel: the winner's posting happens after whatever the other party saw.
    if (claimed.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(executor, [self = this->shared_from_this(), ec]() mutable {
      if (self->slot.is_connected()) self->slot.clear();  // on the waiter's executor
      auto completion = std::move(self->handler);
      self.reset();
      std::move(completion)(ec);
    });
  }
};

struct initiate_flight_wait {
  template <class Handler, class Executor, class Flight>
  void operator()(Handler&& handler, const Executor& io_executor, const Flight& flight) const {
    using handler_type = std::decay_t<Handler>;
    auto executor = asio::prefer(asio::get_associated_executor(handler, io_executor),
                                 asio::execution::outstanding_work.tracked);
    auto slot = asio::get_associated_cancellation_slot(handler);
    using op_type = flight_wait<handler_type, decltype(executor)>;
    auto op = std::make_shared<op_type>(std::forward<Handler>(handler), std::move(executor));
    if (slot.is_connected()) {
      op->slot = slot;
      slot.assign([weak = std::weak_ptr<op_type>(op)](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto self = weak.lock()) self->complete(asio::error::operation_aborted);
      });
    }
    if (!flight->on_settled([op] { op->complete({}); })) op->complete({});
  }
};

}  // namespace detail

/// The cached value of `key`, or the value of `co_await loader(key)` (an asio::awaitable of
/// the cache's value type), which is cached: bulwark::cache::get_or_load for coroutines, with
/// its single flight. While a load of `key` runs, sync or async, every other get_or_load of
/// `key` (sync callers block, coroutines are parked without blocking a thread) gets its value
/// or its exception instead of loading again: a load that throws reaches every awaiter and
/// caches nothing, and a write or an invalidation of `key` during the load lets its value
/// through uncached. The cache's counters (loads, load_waits, load_failures) count async
/// calls as sync ones.
///
///   auto user = co_await bulwark::async::get_or_load(users, id, [&](int k) { return fetch(k); });
///
/// Cancelling a waiting caller ends its wait (asio::system_error, operation_aborted) and
/// leaves the load running for the others. Cancelling the caller leading the load cancels the
/// load if the loader honours it, and its error reaches every waiter; a lead abandoned without
/// finishing (its coroutine destroyed) fails the load with std::system_error
/// (operation_aborted), so no waiter is left parked.
///
/// Thread-safe: any number of coroutines on any threads; the waiters resume on their own
/// executors. Cost on a hit: cache.get(). On a miss: the sync path's, plus, per waiter, one
/// allocation for the parked wait.
template <class Cache, class Loader>
requires requires(Loader& loader, const typename Cache::key_type& key) {
  { loader(key) } -> std::same_as<asio::awaitable<typename Cache::value_type>>;
}
asio::awaitable<typename Cache::value_type> get_or_load(Cache& cache, typename Cache::key_type key,
                                                        Loader loader) {
  using steps = bulwark::detail::load_steps<Cache>;
  using value = typename Cache::value_type;
  auto step = steps::begin(cache, key);
  if (step.hit) co_return std::move(*step.hit);
  if (step.join) {
    const auto executor = co_await asio::this_coro::executor;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
        detail::initiate_flight_wait{}, asio::use_awaitable, executor, step.join);
    co_return step.join->result.get();  // ready: the value, or the loader's exception
  }
  // Leading: fail the flight if this frame goes without finishing it.
  struct lead_guard {
    Cache& cache;
    const typename Cache::key_type& key;
    typename steps::flight& mine;
    bool ended = false;
    ~lead_guard() {
      if (!ended) {
        steps::failed(cache, key, mine,
                      std::make_exception_ptr(std::system_error(asio::error::operation_aborted)));
      }
    }
  } guard{cache, key, step.lead};
  std::optional<value> loaded;
  std::exception_ptr error;
  try {
    loaded.emplace(co_await loader(std::as_const(key)));
  } catch (...) {
    error = std::current_exception();
  }
  guard.ended = true;
  if (error) {
    steps::failed(cache, key, step.lead, error);
    std::rethrow_exception(error);
  }
  steps::succeeded(cache, key, step.lead, *loaded);
  co_return std::move(*loaded);
}

}  // namespace bulwark::async
