#pragma once

#include <cstdint>

#include "bulwark/core/clock.hpp"
#include "lab/event_queue.hpp"

namespace lab {

// The lab measures time in bulwark's types, so a guard can take any time point it hands out.
using bulwark::duration;
using bulwark::time_point;

/// Virtual time for one run: an event queue driving a bulwark::manual_clock.
///
/// Before an event runs, the clock is set to the event's time, so every component holding a
/// copy of clock() (a rate limiter, a circuit breaker) reads the simulated instant, exactly as
/// it would read the real one in production. Events scheduled while an event runs (an arrival
/// schedules the next arrival, a backend call its answer) join the queue; run() returns when
/// none is left. Time never moves backwards: scheduling before now() is a bug and throws.
///
/// Single-threaded; O(log n) per event for n pending events.
class simulation {
 public:
  /// Starts virtual time at `start`; the default keeps time points well after the epoch.
  explicit simulation(time_point start = bulwark::manual_clock::default_start)
      : clock_{start}, start_{start} {}

  simulation(const simulation&) = delete;  // events capture references to their simulation
  simulation& operator=(const simulation&) = delete;

  /// A handle to the virtual clock (copies share its time): hand it to every guard.
  [[nodiscard]] bulwark::manual_clock clock() const noexcept { return clock_; }
  [[nodiscard]] time_point now() const noexcept { return clock_.now(); }
  [[nodiscard]] time_point start() const noexcept { return start_; }
  /// Virtual time since start(): the "t" of a scenario's timeline.
  [[nodiscard]] duration elapsed() const noexcept { return now() - start_; }

  /// Schedules `action` at `when`. Throws std::logic_error if `when` is before now().
  void at(time_point when, event_queue::action action);
  /// Schedules `action` `delay` from now. Throws std::logic_error if `delay` is negative.
  void after(duration delay, event_queue::action action) { at(now() + delay, std::move(action)); }

  /// Runs the earliest pending event; false if there was none.
  bool step();
  /// Runs events until none is left.
  void run() {
    while (step()) {
    }
  }

  [[nodiscard]] std::size_t pending() const noexcept { return queue_.size(); }
  [[nodiscard]] std::uint64_t events_run() const noexcept { return events_run_; }

 private:
  bulwark::manual_clock clock_;
  time_point start_;
  event_queue queue_;
  std::uint64_t events_run_ = 0;
};

}  // namespace lab
