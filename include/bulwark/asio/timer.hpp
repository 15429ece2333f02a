#pragma once
// Waiting on a bulwark clock without blocking a thread: a real asio::steady_timer for the real
// clocks (steady_clock, coarse_clock), a virtual timer queue for manual_clock, so that async
// code and its tests share one form and the tests run in virtual time (docs/async.md).

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/execution.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <concepts>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

#include "bulwark/asio/detail/virtual_timers.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark::async {

/// A clock whose time only moves when told (manual_clock): its waits are queued on the
/// execution context and fired by async::advance().
template <class C>
concept virtual_clock = clock<C> && requires(const C& c) {
  { c.time_id() } -> std::same_as<const void*>;
};

/// A clock an asio wait supports: a real one, or a virtual one.
template <class C>
concept waitable_clock = bulwark::detail::real_time_clock<C> || virtual_clock<C>;

namespace detail {

// A wait on asio::steady_timer; the timer lives as long as the wait.
template <class Handler, class Executor>
struct real_wait {
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>, Executor>
      timer;
  Handler handler;
};

struct initiate_real_wait {
  template <class Handler, class Executor>
  void operator()(Handler&& handler, const Executor& io_executor, time_point deadline) const {
    using handler_type = std::decay_t<Handler>;
    auto executor = asio::get_associated_executor(handler, io_executor);
    using op_type = real_wait<handler_type, decltype(executor)>;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto* op = new op_type{{executor, deadline}, std::forward<Handler>(handler)};
    // The timer's wait takes the handler's cancellation slot, so cancelling the operation
    // cancels the timer, which completes with operation_aborted.
    op->timer.async_wait(asio::bind_cancellation_slot(slot, [op](std::error_code ec) {
      std::unique_ptr<op_type> owner(op);
      auto completion = std::move(op->handler);
      owner.reset();
      std::move(completion)(ec);
    }));
  }
};

template <class Handler, class WorkExecutor>
struct virtual_wait final : virtual_timer_node {
  virtual_wait(Handler&& h, WorkExecutor ex, virtual_timer_service& s, const void* id)
      : handler(std::move(h)), executor(std::move(ex)), service(&s), clock_id(id) {}

  Handler handler;
  WorkExecutor executor;  // tracks outstanding work: a pending virtual wait keeps run() going
  virtual_timer_service* service;
  const void* clock_id;
  asio::cancellation_slot slot;

  // Owns the wait while its completion is queued on the executor: a context destroyed with
  // the completion still queued frees it without running it.
  struct owner {
    virtual_wait* op;
    explicit owner(virtual_wait* o) noexcept : op(o) {}
    owner(owner&& other) noexcept : op(std::exchange(other.op, nullptr)) {}
    owner& operator=(owner&&) = delete;
    ~owner() { delete op; }
  };

  static void complete(virtual_timer_node* node, std::error_code ec) {
    auto* self = static_cast<virtual_wait*>(node);
    auto executor = self->executor;
    asio::post(executor, [o = owner(self), ec]() mutable {
      // Runs on the waiter's executor, where its cancellation slot may be touched.
      if (o.op->slot.is_connected()) o.op->slot.clear();
      auto completion = std::move(o.op->handler);
      delete std::exchange(o.op, nullptr);
      std::move(completion)(ec);
    });
  }

  static void destroy(virtual_timer_node* node) noexcept {
    delete static_cast<virtual_wait*>(node);
  }

  struct cancel_handler {
    explicit cancel_handler(virtual_wait* o) noexcept : op(o) {}
    virtual_wait* op;
    void operator()(asio::cancellation_type type) const {
      if (type == asio::cancellation_type::none) return;
      // Whoever removes the node completes it: a wait already taken by advance() completes
      // with success, one removed here with operation_aborted.
      if (op->service->cancel(op->clock_id, op)) complete(op, asio::error::operation_aborted);
    }
  };
};

struct initiate_virtual_wait {
  template <class Handler, class Executor, class C>
  // The clock by value: the arguments live in the initiating coroutine's frame, which the
  // handler owns, and the clock is read again after the handler has moved into the queue.
  void operator()(Handler&& handler, const Executor& io_executor, time_point deadline,
                  C clock) const {
    const void* clock_id = clock.time_id();
    using handler_type = std::decay_t<Handler>;
    auto executor = asio::prefer(asio::get_associated_executor(handler, io_executor),
                                 asio::execution::outstanding_work.tracked);
    auto& service = asio::use_service<virtual_timer_service>(
        asio::query(io_executor, asio::execution::context));
    auto slot = asio::get_associated_cancellation_slot(handler);
    using op_type = virtual_wait<handler_type, decltype(executor)>;
    auto* op = new op_type(std::forward<Handler>(handler), std::move(executor), service, clock_id);
    op->deadline = deadline;
    op->on_complete = &op_type::complete;
    op->on_destroy = &op_type::destroy;
    // A deadline already reached completes on the next poll, without waiting for an advance.
    if (deadline <= clock.now()) {
      op_type::complete(op, {});
      return;
    }
    if (slot.is_connected()) {
      op->slot = slot;
      slot.template emplace<typename op_type::cancel_handler>(op);
    }
    service.schedule(clock_id, op);
    // An advance() on another thread may have passed the deadline between the read above and
    // the schedule, and looked at the queue before the node was in it. It moved the clock
    // before it looked, and looked under the service's mutex, which schedule() took after it:
    // this read sees the new time, and whoever removes the node completes it.
    if (deadline <= clock.now() && service.cancel(clock_id, op)) op_type::complete(op, {});
  }
};

}  // namespace detail

/// Waits until `clock` reads `deadline`, then completes with an error_code: success, or
/// asio::error::operation_aborted when the operation's cancellation slot is emitted first.
/// On steady_clock and coarse_clock this is an asio::steady_timer on `executor`; on a
/// virtual_clock the wait is queued on the executor's context until async::advance() (or
/// async::run_due()) reaches its deadline. A deadline already reached completes at once (by
/// a post, never inline).
template <waitable_clock C, class Executor,
          asio::completion_token_for<void(std::error_code)> Token =
              asio::default_completion_token_t<Executor>>
auto async_wait_until(const Executor& executor, const C& clock, time_point deadline,
                      Token&& token = asio::default_completion_token_t<Executor>()) {
  if constexpr (bulwark::detail::real_time_clock<C>) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_real_wait{}, token,
                                                              executor, deadline);
  } else {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_virtual_wait{},
                                                              token, executor, deadline, clock);
  }
}

/// async_wait_until(executor, clock, clock.now() + d, token), saturating.
template <waitable_clock C, class Executor,
          asio::completion_token_for<void(std::error_code)> Token =
              asio::default_completion_token_t<Executor>>
auto async_wait_for(const Executor& executor, const C& clock, duration d,
                    Token&& token = asio::default_completion_token_t<Executor>()) {
  return async_wait_until(executor, clock, bulwark::detail::saturating_add(clock.now(), d),
                          std::forward<Token>(token));
}

/// In a coroutine: waits until `clock` reads `deadline` on the coroutine's executor. Throws
/// asio::system_error (operation_aborted) when the coroutine is cancelled while it waits.
template <waitable_clock C>
asio::awaitable<void> sleep_until(C clock, time_point deadline) {
  co_await async_wait_until(co_await asio::this_coro::executor, clock, deadline,
                            asio::use_awaitable);
}

/// In a coroutine: waits `d` of `clock`'s time; as sleep_until.
template <waitable_clock C>
asio::awaitable<void> sleep_for(C clock, duration d) {
  co_await async_wait_until(co_await asio::this_coro::executor, clock,
                            bulwark::detail::saturating_add(clock.now(), d), asio::use_awaitable);
}

namespace detail {
inline void poll(asio::io_context& io) {
  if (io.stopped()) io.restart();
  io.poll();
}
}  // namespace detail

/// Completes every wait on `clock`'s virtual time due at clock.now(), in deadline order (first
/// come first among equal deadlines), and runs the ready handlers on this thread (io.poll()).
template <virtual_clock C>
void run_due(asio::io_context& io, const C& clock) {
  auto& service = asio::use_service<detail::virtual_timer_service>(io);
  for (auto* node : service.take_due(clock.time_id(), clock.now()))
    node->on_complete(node, {});
  detail::poll(io);
}

/// Moves `clock` forward by `d` the way real time would pass. It first runs the ready
/// handlers (coroutines spawned but not started yet queue their waits), then stops at each
/// queued deadline up to now + d in order: sets the clock to it, completes the waits due then
/// and runs the ready handlers (io.poll()), so each waiter resumes reading its own deadline and
/// can queue further waits that fall within the step. Then it sets the clock to now + d and
/// polls once more. Other threads running `io` may run the completions too.
template <virtual_clock C>
void advance(asio::io_context& io, C& clock, duration d) {
  auto& service = asio::use_service<detail::virtual_timer_service>(io);
  const time_point target = bulwark::detail::saturating_add(clock.now(), d);
  detail::poll(io);  // coroutines spawned but not started yet queue their waits first
  for (;;) {
    const auto next = service.next_deadline(clock.time_id());
    if (!next || *next > target) break;
    if (*next > clock.now()) clock.set(*next);
    run_due(io, clock);
  }
  if (target > clock.now()) clock.set(target);
  run_due(io, clock);
}

}  // namespace bulwark::async
