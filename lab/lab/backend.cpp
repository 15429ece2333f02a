#include "lab/backend.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "bulwark/core/options.hpp"
#include "lab/format.hpp"

namespace lab {

std::string describe(const backend_options& options) {
  std::string text = "latency p50 " + format_duration(options.latency.median()) + " p99 " +
                     format_duration(options.latency.p99()) + ", " +
                     format_percent(options.failure_rate) + " errors";
  if (options.capacity != std::numeric_limits<std::uint32_t>::max()) {
    text += ", capacity " + std::to_string(options.capacity);
  }
  for (const outage& o : options.outages) {
    text += ", outage " + format_duration(o.start) + "-" + format_duration(o.end) + " (";
    if (o.failure_probability < 1.0) text += format_percent(o.failure_probability) + " of ";
    text += o.failure_latency == hang ? "calls hang)"
                                      : "calls fail in " + format_duration(o.failure_latency) + ")";
  }
  return text;
}

simulated_backend::simulated_backend(backend_options options, simulation& sim, std::uint64_t seed)
    : options_{std::move(options)}, sim_{sim}, rng_{seed} {
  const bulwark::option_check check{"lab::simulated_backend"};
  check.in_range("failure_rate", options_.failure_rate, 0.0, 1.0);
  check.positive("capacity", options_.capacity);
  check.non_negative("overload_latency", options_.overload_latency);
  for (const outage& o : options_.outages) {
    check.non_negative("outage.start", o.start);
    check.that(o.end > o.start, "outage.end", "after outage.start", o.end);
    check.in_range("outage.failure_probability", o.failure_probability, 0.0, 1.0);
    check.non_negative("outage.failure_latency", o.failure_latency);
  }
}

const outage* simulated_backend::outage_at(duration elapsed) const noexcept {
  const auto covers = [elapsed](const outage& o) { return o.start <= elapsed && elapsed < o.end; };
  const auto found = std::find_if(options_.outages.begin(), options_.outages.end(), covers);
  return found == options_.outages.end() ? nullptr : &*found;
}

void simulated_backend::call(duration timeout, completion done) {
  // A hung call lasts until its timeout, so without a finite one it would never answer.
  if (timeout < duration::zero() || timeout == hang) {
    throw std::invalid_argument{"lab::simulated_backend: call() needs a finite timeout >= 0"};
  }
  ++metrics_.calls;

  // Every call makes the same draws in the same order, whatever becomes of it. The n-th call
  // of any run then sees the same dice, so an arm that sends fewer calls (a guard refused
  // some) changes which call gets which draw, but never the stream itself.
  const double error_draw = bulwark::uniform01(rng_);
  const double outage_draw = bulwark::uniform01(rng_);
  const duration usual_latency = options_.latency.sample(rng_);

  call_result result{call_status::ok, usual_latency};
  if (in_flight_ >= options_.capacity) {
    result = {call_status::overloaded, options_.overload_latency};
  } else if (const outage* o = outage_at(sim_.elapsed());
             o != nullptr && outage_draw < o->failure_probability) {
    result = {call_status::error, o->failure_latency};
  } else if (error_draw < options_.failure_rate) {
    result.status = call_status::error;
  }
  if (result.latency > timeout) result = {call_status::timed_out, timeout};

  switch (result.status) {
    case call_status::ok:
      ++metrics_.ok;
      break;
    case call_status::error:
      ++metrics_.errors;
      break;
    case call_status::overloaded:
      ++metrics_.overloaded;
      break;
    case call_status::timed_out:
      ++metrics_.timed_out;
      break;
  }

  // An overloaded call is refused at the door and never takes a slot.
  const bool holds_slot = result.status != call_status::overloaded;
  if (holds_slot) {
    ++in_flight_;
    metrics_.max_in_flight = std::max(metrics_.max_in_flight, in_flight_);
  }
  sim_.after(result.latency, [this, holds_slot, result, done = std::move(done)]() mutable {
    if (holds_slot) --in_flight_;
    done(result);
  });
}

}  // namespace lab
