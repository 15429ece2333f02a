#include "lab/simulation.hpp"

#include <stdexcept>
#include <utility>

namespace lab {

void simulation::at(time_point when, event_queue::action action) {
  if (when < now()) {
    throw std::logic_error{"lab::simulation: an event was scheduled in the past"};
  }
  queue_.push(when, std::move(action));
}

bool simulation::step() {
  if (queue_.empty()) return false;
  event_queue::event next = queue_.pop();
  clock_.set(next.time);
  ++events_run_;
  next.run();
  return true;
}

}  // namespace lab
