#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/random.hpp"
#include "lab/backend.hpp"
#include "lab/load.hpp"
#include "lab/simulation.hpp"
#include "lab/stats.hpp"
#include "lab/unique_function.hpp"

namespace lab {

/// What an arm's client works with during one run: virtual time, the backend, a random stream
/// of its own, and finish() to report each request's fate.
///
/// Give clock() to every guard the client builds, so the guard lives in simulated time. Not
/// thread-safe; valid for the run it belongs to.
class arm_context {
 public:
  arm_context(simulation& sim, simulated_backend& backend, arm_recorder& recorder,
              std::uint64_t seed)
      : sim_{sim}, backend_{backend}, recorder_{recorder}, rng_{seed} {}

  arm_context(const arm_context&) = delete;  // clients keep a reference to it
  arm_context& operator=(const arm_context&) = delete;

  [[nodiscard]] bulwark::manual_clock clock() const noexcept { return sim_.clock(); }
  [[nodiscard]] simulation& sim() noexcept { return sim_; }
  [[nodiscard]] simulated_backend& backend() noexcept { return backend_; }
  /// The arm's own random stream, for guards that take a generator (jitter, sampling): drawing
  /// from it never disturbs the arrivals or the backend.
  [[nodiscard]] bulwark::fast_rng& rng() noexcept { return rng_; }

  /// Reports `r`'s final outcome now. Call it exactly once per request, whatever path the
  /// request takes; the run checks, and throws std::logic_error if a request is finished twice
  /// or never.
  void finish(const request& r, outcome result) { recorder_.finished(r, result, sim_.now()); }

  /// A counter of the arm's own (traffic per priority, successes per partition), reported as
  /// an extra row of the table and under "counters" in the JSON. Register it in make_client,
  /// in the order the rows should show, and keep the reference: it stays valid for the run.
  /// An arm that registers none reports exactly as before.
  [[nodiscard]] std::uint64_t& counter(std::string name) {
    for (auto& [existing, value] : counters_)
      if (existing == name) return value;
    return counters_.emplace_back(std::move(name), 0).second;
  }
  [[nodiscard]] const std::deque<std::pair<std::string, std::uint64_t>>& counters() const {
    return counters_;
  }

 private:
  simulation& sim_;
  simulated_backend& backend_;
  arm_recorder& recorder_;
  bulwark::fast_rng rng_;
  std::deque<std::pair<std::string, std::uint64_t>> counters_;  // a deque: references stay valid
};

/// An arm's client: called at each request's arrival. It may answer at once (a guard refused)
/// or later (after one or more backend calls), by calling arm_context::finish.
using client = unique_function<void(const request&)>;

/// One side of a comparison: a name (a column of the report) and how to build its client.
/// make_client runs once per run, so guards built in it start fresh in every run.
struct arm {
  std::string name{};
  std::function<client(arm_context&)> make_client{};
};

}  // namespace lab
