#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "bulwark/core/random.hpp"
#include "bulwark/core/rate.hpp"
#include "lab/simulation.hpp"
#include "lab/unique_function.hpp"

namespace lab {

/// How arrivals are spaced.
enum class arrival_pattern {
  poisson,   // independent arrivals, exponential gaps: how traffic from many users looks
  constant,  // exactly one every rate.interval(): handy for tests and for reasoning
};

/// The traffic of a scenario. A plain aggregate, built with designated initializers.
struct load_options {
  bulwark::rate rate = bulwark::per_second(100);
  duration length = std::chrono::seconds{60};  // arrivals happen in [0, length)
  arrival_pattern pattern = arrival_pattern::poisson;
};

/// "200/s Poisson arrivals for 60s".
[[nodiscard]] std::string describe(const load_options& options);

/// One request of the load: numbered 0, 1, 2, ... in arrival order.
struct request {
  std::uint64_t id = 0;
  time_point arrival{};
};

/// An open-loop load generator: requests arrive at the configured rate whatever became of the
/// earlier ones, as real traffic does (users do not wait for each other). A closed loop, where
/// a client waits for an answer before sending again, slows down with the backend and hides
/// exactly the overload that resilience patterns are for.
///
/// The arrival times come from the generator's own stream (see derive_seed), so every arm of a
/// scenario sees the same requests at the same instants. Each arrival schedules the next, so
/// the event queue holds one pending arrival rather than the whole run's.
class load_generator {
 public:
  using sink = unique_function<void(const request&)>;

  /// Throws std::invalid_argument for a zero rate or a non-positive length.
  load_generator(load_options options, simulation& sim, std::uint64_t seed);

  load_generator(const load_generator&) = delete;  // pending events refer to it
  load_generator& operator=(const load_generator&) = delete;

  /// Starts the arrivals at the simulation's current time; `on_arrival` runs at each one.
  void start(sink on_arrival);

  /// Requests issued so far.
  [[nodiscard]] std::uint64_t issued() const noexcept { return issued_; }

 private:
  void schedule_next();
  [[nodiscard]] duration next_offset();

  load_options options_;
  simulation& sim_;
  bulwark::fast_rng rng_;
  sink on_arrival_;
  time_point start_;
  duration offset_{};  // of the next arrival, from start_
  std::uint64_t issued_ = 0;
};

}  // namespace lab
