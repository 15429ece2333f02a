#pragma once
// The timer queue behind bulwark::async's waits on a virtual clock (manual_clock): an asio
// service on the execution context, holding one queue per shared virtual time (the clock's
// time_id()), ordered by deadline and, among equal deadlines, by arrival. Nothing fires on its
// own: async::advance() moves the clock and fires what is due (timer.hpp).

#include <asio/execution_context.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"

namespace bulwark::async::detail {

/// One pending wait. The owner (timer.hpp's wait op) supplies what completing and destroying
/// mean; the service only orders and hands out nodes.
struct virtual_timer_node {
  time_point deadline{};
  std::uint64_t sequence = 0;  // arrival order, assigned by the service
  /// Posts the completion with `ec` to the waiter's executor; the node is freed there.
  void (*on_complete)(virtual_timer_node*, std::error_code) = nullptr;
  /// Frees the node without completing it (the context is shutting down).
  void (*on_destroy)(virtual_timer_node*) noexcept = nullptr;
};

class virtual_timer_service final : public ::asio::execution_context::service {
 public:
  using key_type = virtual_timer_service;
  static inline ::asio::execution_context::id id;

  explicit virtual_timer_service(::asio::execution_context& context)
      : ::asio::execution_context::service(context) {}

  /// Queues `node` under the virtual time `clock_id`.
  void schedule(const void* clock_id, virtual_timer_node* node) {
    const std::scoped_lock lock(mutex_);
    node->sequence = next_sequence_++;
    queues_[clock_id].insert(node);
  }

  /// Removes `node` if it is still queued, and says whether it was: exactly one of cancel()
  /// and take_due() gets a node, so it is completed once.
  bool cancel(const void* clock_id, virtual_timer_node* node) {
    const std::scoped_lock lock(mutex_);
    const auto queue = queues_.find(clock_id);
    if (queue == queues_.end()) return false;
    return queue->second.erase(node) == 1;
  }

  /// The earliest deadline queued under `clock_id`.
  [[nodiscard]] std::optional<time_point> next_deadline(const void* clock_id) const {
    const std::scoped_lock lock(mutex_);
    const auto queue = queues_.find(clock_id);
    if (queue == queues_.end() || queue->second.empty()) return std::nullopt;
    return (*queue->second.begin())->deadline;
  }

  /// Removes and returns, in deadline then arrival order, every node under `clock_id` due at `now`.
  [[nodiscard]] std::vector<virtual_timer_node*> take_due(const void* clock_id, time_point now) {
    std::vector<virtual_timer_node*> due;
    const std::scoped_lock lock(mutex_);
    const auto queue = queues_.find(clock_id);
    if (queue == queues_.end()) return due;
    auto& nodes = queue->second;
    while (!nodes.empty() && (*nodes.begin())->deadline <= now) {
      due.push_back(*nodes.begin());
      nodes.erase(nodes.begin());
    }
    if (nodes.empty()) queues_.erase(queue);
    return due;
  }

 private:
  void shutdown() override {
    std::map<const void*, queue_type> queues;
    {
      const std::scoped_lock lock(mutex_);
      queues.swap(queues_);
    }
    for (auto& entry : queues) {
      for (auto* node : entry.second)
        node->on_destroy(node);
    }
  }

  struct earlier {
    bool operator()(const virtual_timer_node* a, const virtual_timer_node* b) const noexcept {
      return a->deadline != b->deadline ? a->deadline < b->deadline : a->sequence < b->sequence;
    }
  };
  using queue_type = std::set<virtual_timer_node*, earlier>;

  mutable std::mutex mutex_;
  std::uint64_t next_sequence_ = 0;
  std::map<const void*, queue_type> queues_;
};

}  // namespace bulwark::async::detail
