// The baseline: what an outage does to a client with no protection but a timeout.
//
// 200 requests per second for a minute against a backend with 1% background errors and a
// typical latency (median 20 ms, p99 100 ms) that can hold 150 calls at once. From 20 s to
// 35 s it is down: calls hang until the client's 1 s timeout. At 200/s with each call held
// for a second, the hung calls soon fill all 150 slots and the rest fail fast as overloaded:
// every request of the outage fails, most of them only after waiting out the whole second.
//
// Every later scenario adds a protected arm next to this same unprotected client.

#include <chrono>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;

// The client every application starts with: each request goes straight to the backend, and
// the only defence is the timeout.
client unprotected_client(arm_context& context) {
  return [&context](const request& r) {
    context.backend().call(client_timeout, [&context, r](const call_result& result) {
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

}  // namespace

scenario baseline() {
  return {
      .name = "baseline",
      .summary = "an unprotected client, 1s timeout, against a backend through a 15s outage",
      .load = {.rate = bulwark::per_second(200), .length = 60s},
      .backend = {.failure_rate = 0.01,
                  .latency = latency_model::log_normal(20ms, 100ms),
                  .capacity = 150,
                  .outages = {{.start = 20s, .end = 35s, .failure_latency = hang}}},
      .arms = {{.name = "unprotected", .make_client = unprotected_client}},
  };
}

}  // namespace lab
