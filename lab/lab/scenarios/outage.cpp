// The circuit breaker's scenario: the baseline's outage, with a breaker in front of the
// backend next to the unprotected client.
//
// When the backend goes down (20 s to 35 s, calls hang until the 1 s timeout), the breaker sees
// its window fill with failures and opens: requests then fail fast, in no time, instead of each
// waiting out its second, and the backend is spared the hung calls that otherwise pin all of
// its capacity. A second after each trip it lets 5 probes through; during the outage they hang
// until their timeout and reopen it, and once the backend is back they succeed and it closes.
// The price: recovery lags the backend's by up to one wait plus one probe timeout (about 2 s).

#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;

client breaker_client(arm_context& context) {
  // The guard belongs to the client and lives in the simulation's virtual time.
  auto breaker = std::make_unique<bulwark::circuit_breaker<bulwark::manual_clock>>(
      bulwark::circuit_breaker_options{.failure_rate_threshold = 0.5,
                                       .window_size = 100,
                                       .minimum_calls = 20,
                                       .wait_in_open = 1s,
                                       .permitted_calls_in_half_open = 5},
      context.clock());
  return [&context, breaker = std::move(breaker)](const request& r) {
    auto permit = breaker->try_acquire();
    if (!permit) {  // open: fail fast, the backend never sees the call
      context.finish(r, outcome::rejected);
      return;
    }
    // The permit travels with the call and reports when it answers, in virtual time.
    context.backend().call(client_timeout, [&context, r, permit = std::move(permit)](
                                               const call_result& result) mutable {
      if (result.ok()) {
        permit.success();
      } else {
        permit.failure();
      }
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

}  // namespace

// Named outage_scenario because lab::outage is the backend's outage window; its --scenario key
// is "outage".
scenario outage_scenario() {
  scenario s = baseline();  // the same load, backend and unprotected arm
  s.name = "outage";
  s.summary = "a circuit breaker fails fast through a 15s outage and closes after it";
  s.arms.push_back({.name = "breaker", .make_client = breaker_client});
  return s;
}

}  // namespace lab
