// adaptive-throttle: clients sending three times what the backend can take, without and with
// client-side adaptive throttling (Google SRE book, "Handling Overload").
//
// 1200 requests per second (Poisson) for 30 s against the rate-limit scenario's backend: 25
// calls at once at a median latency of 50 ms, about 400 calls per second; the excess is refused
// at once as "overloaded". Unprotected, every request reaches the backend and two in three are
// refused there, each refusal still costing the backend a connection and a look. The throttled
// arm counts requests and accepts over a 10 s window and refuses locally with probability
// (requests - 2 x accepts) / (requests + 1): it sends about twice what the backend accepts, so
// the backend's wasted refusals fall by more than half while its successes stay within 5%.

#include <bulwark/bulkhead/adaptive_throttle.hpp>
#include <chrono>
#include <memory>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;

client unprotected(arm_context& context) {
  return [&context](const request& r) {
    context.backend().call(client_timeout, [&context, r](const call_result& result) {
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

client throttled(arm_context& context) {
  auto throttle = std::make_unique<bulwark::adaptive_throttle<bulwark::manual_clock>>(
      bulwark::adaptive_throttle_options{.window = 10s, .seed = context.rng()()}, context.clock());
  return [&context, throttle = std::move(throttle)](const request& r) {
    auto permit = throttle->try_acquire();
    if (!permit) {  // refused in the client: never reaches the backend
      context.finish(r, outcome::rejected);
      return;
    }
    context.backend().call(client_timeout, [&context, r, permit = std::move(permit)](
                                               const call_result& result) mutable {
      // Any answer but "overloaded" (or no answer) means the backend took the request.
      if (result.status == call_status::overloaded || result.status == call_status::timed_out) {
        permit.rejected();
      } else {
        permit.accepted();
      }
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

}  // namespace

scenario adaptive_throttle() {
  return {
      .name = "adaptive-throttle",
      .summary = "clients at 3x the backend's capacity, with and without adaptive throttling",
      .load = {.rate = bulwark::per_second(1200), .length = 30s},
      .backend = {.failure_rate = 0.01,
                  .latency = latency_model::log_normal(50ms, 200ms),
                  .capacity = 25},
      .timeline_bucket = 1s,
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "throttle K=2", .make_client = throttled}},
  };
}

}  // namespace lab
