#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "lab/unique_function.hpp"

namespace lab {

/// The pending events of a discrete-event simulation, earliest first.
///
/// Events at the same instant run in the order they were pushed. Ties are common (a constant
/// arrival rate, a zero latency, a rejection answered at once) and a binary heap alone would
/// break them in an order that depends on its internals; ordering by (time, sequence number)
/// makes every run repeatable and lets "schedule A, then B, at the same time" mean A first.
///
/// push and pop are O(log n). Not thread-safe.
class event_queue {
 public:
  using action = unique_function<void()>;

  struct event {
    bulwark::time_point time{};
    std::uint64_t sequence = 0;  // insertion order, the tie-breaker
    action run{};
  };

  /// Adds `run`, to happen at `time`.
  void push(bulwark::time_point time, action run) {
    heap_.push_back(event{time, next_sequence_++, std::move(run)});
    std::push_heap(heap_.begin(), heap_.end(), runs_later);
  }

  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }

  /// The time of the earliest event. Precondition: not empty.
  [[nodiscard]] bulwark::time_point next_time() const noexcept { return heap_.front().time; }

  /// Removes and returns the earliest event. Precondition: not empty.
  event pop() {
    // std::priority_queue would do the ordering, but its top() is const, so a move-only action
    // could not be moved out of it. pop_heap moves the earliest event to the back instead.
    std::pop_heap(heap_.begin(), heap_.end(), runs_later);
    event next = std::move(heap_.back());
    heap_.pop_back();
    return next;
  }

 private:
  // The heap functions build a max-heap, so "less" must mean "runs later".
  static bool runs_later(const event& a, const event& b) noexcept {
    if (a.time != b.time) return a.time > b.time;
    return a.sequence > b.sequence;
  }

  std::vector<event> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace lab
