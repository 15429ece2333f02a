#pragma once
// An awaitable wait for a bulkhead slot: a node in the bulkhead's own wait queue (the queue of
// blocked threads, bulkhead/semaphore.hpp), a timer for its deadline, and the caller's
// cancellation slot. Three events can end it, on three threads: a release hands the node the
// slot (under the semaphore's mutex), the timer fires, the caller cancels. The semaphore's
// queue decides between them: whoever takes the node out of the queue (a hand-over, or
// withdraw() returning true) completes the wait, exactly once; the others do nothing.

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/execution.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <mutex>
#include <system_error>
#include <utility>

#include "bulwark/asio/detail/virtual_timers.hpp"
#include "bulwark/bulkhead/semaphore.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/clock_wait.hpp"

namespace bulwark::async::detail {

using semaphore = bulwark::detail::bulkhead_semaphore;

/// The wait. Owned by two references: the outcome's (dropped when the completion has run, or
/// was destroyed unrun) and the timer's (dropped when the timer completes or is withdrawn).
template <class Handler, class WorkExecutor, class Clock>
class bulkhead_wait final : public semaphore::wait_node, virtual_timer_node {
  static constexpr bool real = bulwark::detail::real_time_clock<Clock>;
  struct no_timer {
    template <class E>
    no_timer(const E&, time_point) noexcept {}
  };
  using timer_type = std::conditional_t<real, asio::steady_timer, no_timer>;

 public:
  bulkhead_wait(Handler&& h, WorkExecutor ex, semaphore& s, const Clock& clock, time_point start)
      : handler_(std::move(h)),
        executor_(std::move(ex)),
        semaphore_(&s),
        clock_(clock),
        timer_(executor_, start) {
    on_grant = &granted;
    on_complete = &timer_fired;
    on_destroy = &timer_destroyed;
  }

  /// Queues the wait, or completes it at once (a free slot, or a refusal). `deadline`: when the
  /// caller gives up.
  static void start(Handler&& h, const WorkExecutor& ex, semaphore& s, const Clock& clock,
                    time_point deadline) {
    auto slot = asio::get_associated_cancellation_slot(h);
    auto* self = new bulkhead_wait(std::move(h), ex, s, clock, deadline);
    // Set up under the wait's own mutex: a release may hand it the slot (and post its
    // completion, which takes this mutex first) as soon as it is queued.
    std::unique_lock lock{self->mutex_};
    time_point wait_deadline{};
    bool queued = false;
    bulkhead_permit permit = s.enqueue(clock, deadline, *self, wait_deadline, queued);
    if (!queued) {
      self->refs_.store(1, std::memory_order_relaxed);  // no timer
      lock.unlock();
      self->deliver({}, std::move(permit));
      return;
    }
    self->deadline = wait_deadline;
    self->shed_ = wait_deadline < deadline;
    if constexpr (real) {
      self->timer_.expires_at(wait_deadline);
      self->timer_.async_wait(timer_handler{self});
    } else {
      auto& service =
          asio::use_service<virtual_timer_service>(asio::query(ex, asio::execution::context));
      service.schedule(clock.time_id(), self);
      // As in timer.hpp: an advance() that passed the deadline before the node was queued.
      if (wait_deadline <= clock.now() && service.cancel(clock.time_id(), self)) {
        timer_fired(self, {});
      }
    }
    if (slot.is_connected()) {
      self->slot_ = slot;
      slot.template emplace<cancel_handler>(self);
    }
  }

 private:
  // Runs on the waiter's executor: the one place the handler is invoked.
  struct completion {
    bulkhead_wait* self;
    std::error_code ec;
    bulkhead_permit permit;
    completion(bulkhead_wait* s, std::error_code e, bulkhead_permit p) noexcept
        : self(s), ec(e), permit(std::move(p)) {}
    completion(completion&& other) noexcept
        : self(std::exchange(other.self, nullptr)), ec(other.ec), permit(std::move(other.permit)) {}
    completion& operator=(completion&&) = delete;
    // Destroyed unrun (the context is going away): the permit releases its slot to the next
    // waiter, and the outcome's reference goes.
    ~completion() {
      if (self != nullptr) self->drop();
    }
    void operator()() {
      auto* s = std::exchange(self, nullptr);
      Handler h = [&] {
        const std::lock_guard lock{s->mutex_};
        s->stop_timer();
        if (s->slot_.is_connected()) s->slot_.clear();
        return std::move(s->handler_);
      }();
      s->drop();
      std::move(h)(ec, std::move(permit));
    }
  };

  void deliver(std::error_code ec, bulkhead_permit permit) {
    asio::post(executor_, completion(this, ec, std::move(permit)));
  }

  // Under the semaphore's mutex: this wait has left the queue with the slot.
  static void granted(semaphore::wait_node& node) noexcept {
    auto& self = static_cast<bulkhead_wait&>(node);
    self.deliver({}, self.semaphore_->adopt(node));
  }

  void gave_up(semaphore::refusal why, std::error_code ec) {
    if (semaphore_->withdraw(*this, why)) deliver(ec, bulkhead_permit{});
  }

  void stop_timer() {
    if constexpr (real) {
      timer_.cancel();  // a timer that already fired has nothing to cancel
    } else {
      auto& service = asio::use_service<virtual_timer_service>(
          asio::query(executor_, asio::execution::context));
      if (service.cancel(clock_.time_id(), this)) drop();
    }
  }

  struct timer_handler {
    bulkhead_wait* self;
    explicit timer_handler(bulkhead_wait* s) noexcept : self(s) {}
    timer_handler(timer_handler&& other) noexcept : self(std::exchange(other.self, nullptr)) {}
    timer_handler& operator=(timer_handler&&) = delete;
    // Destroyed unrun: the context is shutting down with the wait still pending.
    ~timer_handler() {
      if (self != nullptr) self->abandon();
    }
    void operator()(std::error_code ec) {
      auto* s = std::exchange(self, nullptr);
      if (!ec) s->gave_up(s->shed_ ? semaphore::refusal::shed : semaphore::refusal::timed_out, {});
      s->drop();
    }
  };

  static void timer_fired(virtual_timer_node* node, std::error_code) {
    auto* self = static_cast<bulkhead_wait*>(node);
    self->gave_up(self->shed_ ? semaphore::refusal::shed : semaphore::refusal::timed_out, {});
    self->drop();
  }
  static void timer_destroyed(virtual_timer_node* node) noexcept {
    static_cast<bulkhead_wait*>(node)->abandon();
  }

  // The context is shutting down and took the timer with it. A wait still queued leaves the
  // queue (no release may hand a slot to it afterwards) and, since no completion will ever be
  // posted, drops the outcome's reference too; a wait granted meanwhile has its completion
  // queued, which the context destroys, releasing the slot.
  void abandon() noexcept {
    if (semaphore_->withdraw(*this, semaphore::refusal::none)) drop();
    drop();
  }

  struct cancel_handler {
    explicit cancel_handler(bulkhead_wait* s) noexcept : self(s) {}
    bulkhead_wait* self;
    void operator()(asio::cancellation_type type) const {
      if (type == asio::cancellation_type::none) return;
      self->gave_up(semaphore::refusal::none, asio::error::operation_aborted);
    }
  };

  void drop() noexcept {
    // acq_rel: the last owner sees every write the other made before dropping its reference.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  Handler handler_;
  WorkExecutor executor_;  // tracks outstanding work: a queued wait keeps run() going
  semaphore* semaphore_;
  Clock clock_;
  timer_type timer_;
  asio::cancellation_slot slot_;
  std::mutex mutex_;
  std::atomic<int> refs_{2};
  bool shed_ = false;
};

}  // namespace bulwark::async::detail
