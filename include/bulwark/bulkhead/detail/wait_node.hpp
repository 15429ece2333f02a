#pragma once
// What waits in a bulkhead's queue: a node with a grant hook, so that blocked threads and the
// asio add-on's awaiting coroutines (docs/async.md) share one queue, served in one order.

#include <condition_variable>

namespace bulwark::detail {

/// A queued caller, for callers that wait elsewhere (the asio add-on's awaitable acquire) as
/// well as for try_acquire_until's blocked threads. `on_grant` runs under the semaphore's mutex
/// when a release hands this node the slot (the node has then left the queue); it must not
/// block, nor touch the semaphore.
struct bulkhead_wait_node {
  bulkhead_wait_node* prev = nullptr;
  bulkhead_wait_node* next = nullptr;
  void (*on_grant)(bulkhead_wait_node&) noexcept = nullptr;
  bool queued = false;  // under the semaphore's mutex
};

/// A thread blocked in bulkhead_semaphore::try_acquire_until.
struct blocking_waiter : bulkhead_wait_node {
  blocking_waiter() noexcept { on_grant = &grant; }
  bool granted = false;
  std::condition_variable wake;  // one per waiter: a hand-over wakes exactly the head

  // Under the mutex: the waiter cannot leave (and destroy itself) before it is unlocked.
  static void grant(bulkhead_wait_node& node) noexcept {
    auto& self = static_cast<blocking_waiter&>(node);
    self.granted = true;
    self.wake.notify_one();
  }
};

}  // namespace bulwark::detail
