#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bulwark/core/random.hpp"
#include "lab/latency.hpp"
#include "lab/simulation.hpp"
#include "lab/unique_function.hpp"

namespace lab {

/// The latency of a call that never answers: only the caller's timeout ends it.
inline constexpr duration hang = duration::max();

/// A window of virtual time, [start, end) since the simulation's start, in which the backend
/// is broken. It affects the calls that start inside it.
struct outage {
  duration start{};
  duration end{};
  /// The share of calls in the window that fail; the others behave as usual.
  double failure_probability = 1.0;
  /// How long a failing call takes: `hang` (the default, and the nastiest failure: it holds a
  /// backend slot and the caller for the caller's whole timeout) or a finite time, e.g. 1 ms
  /// for a backend that answers 503 at once.
  duration failure_latency = hang;
};

/// The backend's behaviour. A plain aggregate, built with designated initializers.
struct backend_options {
  /// The share of calls that fail outside outages, after their usual latency.
  double failure_rate = 0.0;
  /// The latency of calls that are not broken by an outage.
  latency_model latency =
      latency_model::log_normal(std::chrono::milliseconds{20}, std::chrono::milliseconds{100});
  /// The most calls in flight at once; a call beyond it fails fast as overloaded.
  std::uint32_t capacity = std::numeric_limits<std::uint32_t>::max();
  /// How long a call refused as overloaded takes to fail.
  duration overload_latency = std::chrono::milliseconds{1};
  std::vector<outage> outages{};
};

/// "latency p50 20ms p99 100ms, 1% errors, capacity 150, outage 20s-35s (calls hang)".
[[nodiscard]] std::string describe(const backend_options& options);

/// How a call ended, as the caller sees it.
enum class call_status {
  ok,
  error,       // the backend answered with a failure
  overloaded,  // refused at once: the backend was at capacity
  timed_out,   // no answer before the caller's timeout
};

struct call_result {
  call_status status = call_status::ok;
  duration latency{};  // from the call to its answer (or to the timeout)

  [[nodiscard]] bool ok() const noexcept { return status == call_status::ok; }
};

/// Counters of one backend over a run. `calls` counts every call that reached it, overloaded
/// ones included; the other counters split `calls` by how they ended.
struct backend_metrics {
  std::uint64_t calls = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::uint64_t overloaded = 0;
  std::uint64_t timed_out = 0;
  std::uint32_t max_in_flight = 0;

  friend bool operator==(const backend_metrics&, const backend_metrics&) = default;
};

/// A simulated backend service: latency, background failures, outage windows and a capacity
/// limit, in the virtual time of a simulation.
///
/// A call is answered by a later event, never from inside call(), as a real network call
/// would be. The backend's randomness is its own stream (see derive_seed), so two arms seeded
/// alike see the same backend. Not copyable or movable: pending events refer to it.
/// Single-threaded; call() is O(log n) in the simulation's pending events.
class simulated_backend {
 public:
  using completion = unique_function<void(const call_result&)>;

  /// Throws std::invalid_argument for options out of range.
  simulated_backend(backend_options options, simulation& sim, std::uint64_t seed);

  simulated_backend(const simulated_backend&) = delete;
  simulated_backend& operator=(const simulated_backend&) = delete;

  /// Sends one call now. `done` runs exactly once, at the virtual time the call answers or at
  /// `timeout` if that comes first. A timed-out call frees its backend slot at the timeout:
  /// the caller disconnected and the server stops working on it, which keeps the model
  /// simple. Throws std::invalid_argument unless 0 <= timeout < hang.
  void call(duration timeout, completion done);

  [[nodiscard]] std::uint32_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] const backend_metrics& metrics() const noexcept { return metrics_; }
  [[nodiscard]] const backend_options& options() const noexcept { return options_; }

 private:
  [[nodiscard]] const outage* outage_at(duration elapsed) const noexcept;

  backend_options options_;
  simulation& sim_;
  bulwark::fast_rng rng_;
  std::uint32_t in_flight_ = 0;
  backend_metrics metrics_;
};

}  // namespace lab
