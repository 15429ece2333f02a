#include "lab/scenario.hpp"

#include <set>
#include <stdexcept>
#include <utility>

#include "lab/seeds.hpp"

namespace lab {
namespace {

void validate(const scenario& s) {
  if (s.arms.empty()) {
    throw std::invalid_argument{"lab: scenario '" + s.name + "' has no arms"};
  }
  std::set<std::string> names;
  for (const arm& a : s.arms) {
    if (!names.insert(a.name).second) {
      throw std::invalid_argument{"lab: scenario '" + s.name + "' has two arms named '" + a.name +
                                  "'"};
    }
    if (!a.make_client) {
      throw std::invalid_argument{"lab: arm '" + a.name + "' has no make_client"};
    }
  }
}

// Reports progress a hundred times over the arm's virtual time, through events of its own, so
// the rest of the simulation need not know about progress at all.
void schedule_progress(simulation& sim, duration length, const progress_callback& progress) {
  if (!progress) return;
  constexpr int steps = 100;
  for (int step = 1; step <= steps; ++step) {
    sim.at(sim.start() + length * step / steps,
           [&progress, step] { progress(step / double{steps}); });
  }
}

// One arm in a world of its own. The arrivals and the backend draw from streams named the same
// in every arm, so all arms face the same traffic and the same dice.
arm_result run_arm(const scenario& s, const arm& a, std::uint64_t seed,
                   const progress_callback& progress) {
  simulation sim;
  simulated_backend backend{s.backend, sim, derive_seed(seed, "backend")};
  load_generator load{s.load, sim, derive_seed(seed, "arrivals")};
  arm_recorder recorder{sim.start(), s.load.length, s.timeline_bucket};
  arm_context context{sim, backend, recorder, derive_seed(seed, "arm/" + a.name)};

  client handle = a.make_client(context);
  if (!handle) throw std::invalid_argument{"lab: arm '" + a.name + "' made an empty client"};
  load.start([&recorder, &handle](const request& r) {
    recorder.arrived(r);
    handle(r);
  });
  schedule_progress(sim, s.load.length, progress);
  sim.run();

  if (const std::uint64_t lost = recorder.unfinished(); lost != 0) {
    throw std::logic_error{"lab: arm '" + a.name + "' of scenario '" + s.name + "' left " +
                           std::to_string(lost) + " requests without an outcome"};
  }
  return {a.name,
          recorder.stats(),
          backend.metrics(),
          {context.counters().begin(), context.counters().end()}};
}

}  // namespace

scenario_result run_scenario(const scenario& s, std::uint64_t seed,
                             const progress_callback& progress) {
  validate(s);
  scenario_result result{
      s.name, s.summary, describe(s.load), describe(s.backend), s.load.length, s.timeline_bucket,
      {}};
  const auto arms = static_cast<double>(s.arms.size());
  for (std::size_t i = 0; i < s.arms.size(); ++i) {
    // Arms run one after the other, each in its own world: nothing one arm does can reach
    // another, and each arm's share of the progress bar is equal.
    progress_callback arm_progress;
    if (progress) {
      arm_progress = [&progress, i, arms](double done) {
        progress((static_cast<double>(i) + done) / arms);
      };
    }
    result.arms.push_back(run_arm(s, s.arms[i], seed, arm_progress));
  }
  return result;
}

}  // namespace lab
