#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lab/arm.hpp"
#include "lab/backend.hpp"
#include "lab/load.hpp"
#include "lab/stats.hpp"

namespace lab {

/// A named experiment: one load against one kind of backend, played once per arm, so the arms
/// can be compared side by side. A plain aggregate, built with designated initializers.
struct scenario {
  std::string name{};     // the --scenario key: lowercase, no spaces
  std::string summary{};  // one line, for --list and the report's heading
  load_options load{};
  backend_options backend{};
  duration timeline_bucket = std::chrono::seconds{2};  // the width of one mark of the timeline
  std::vector<arm> arms{};
};

/// One arm's results: what its caller saw, and what its backend saw.
struct arm_result {
  std::string name{};
  arm_stats stats{};
  backend_metrics backend{};  // backend.calls: calls that reached it, retries included
  /// The arm's own counters (arm_context::counter), in registration order; usually none.
  std::vector<std::pair<std::string, std::uint64_t>> counters{};

  friend bool operator==(const arm_result&, const arm_result&) = default;
};

struct scenario_result {
  std::string name{};
  std::string summary{};
  std::string load{};     // describe(load_options)
  std::string backend{};  // describe(backend_options)
  duration length{};
  duration timeline_bucket{};
  std::vector<arm_result> arms{};

  friend bool operator==(const scenario_result&, const scenario_result&) = default;
};

/// Called now and then during a run with the share of it done, in [0, 1].
using progress_callback = std::function<void(double)>;

/// Plays `s` once per arm, each in a world of its own (a fresh simulation, backend and load
/// generator) whose random streams derive from `seed`, so every arm faces the same arrivals
/// and the same backend, and the same seed gives the same results.
///
/// Throws std::invalid_argument for a scenario without arms, with two arms of one name, or
/// with bad options, and std::logic_error if a client leaves a request without an outcome.
[[nodiscard]] scenario_result run_scenario(const scenario& s, std::uint64_t seed,
                                           const progress_callback& progress = {});

}  // namespace lab
