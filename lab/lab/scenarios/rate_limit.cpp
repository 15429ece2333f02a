// rate-limit: a client that sends more than the backend can take, with and without a limiter.
//
// 600 requests per second (Poisson, so they come in clumps) for 30 s against a backend that
// holds 25 calls at once at a median latency of 50 ms: about 400 calls per second at best.
// Unprotected, every request reaches the backend and the excess fails there as "overloaded",
// after taking a connection and a slot in the backend's accept queue. The limited arm puts a
// GCRA limiter of 370/s with a burst of 25 in front: it refuses the excess at once, in the
// client, so the backend seldom reaches its capacity: the excess is refused in
// microseconds instead of failing at the backend, and backend calls drop by a third.
//
// (The lab's load generator offers Poisson and constant arrivals; a burstier pattern, on/off
// traffic, would show the burst allowance better.)

#include <bulwark/rate_limit/gcra.hpp>
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

client limited(arm_context& context) {
  auto limiter = std::make_unique<bulwark::gcra<bulwark::manual_clock>>(
      bulwark::gcra_options{.rate = bulwark::per_second(370), .burst = 25}, context.clock());
  return [&context, limiter = std::move(limiter)](const request& r) {
    if (!limiter->try_acquire()) {  // refused in the client: never reaches the backend
      context.finish(r, outcome::rejected);
      return;
    }
    context.backend().call(client_timeout, [&context, r](const call_result& result) {
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

}  // namespace

scenario rate_limit() {
  return {
      .name = "rate-limit",
      .summary = "a client over the backend's capacity, with and without a GCRA limiter",
      .load = {.rate = bulwark::per_second(600), .length = 30s},
      .backend = {.failure_rate = 0.01,
                  .latency = latency_model::log_normal(50ms, 200ms),
                  .capacity = 25},
      .timeline_bucket = 1s,
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "gcra 370/s", .make_client = limited}},
  };
}

}  // namespace lab
