// global-limit: what a fleet-wide limit changes against per-instance limits (redis area).
//
// A client's limit is 120 requests per second, burst 20, and the service runs 4 instances
// behind a balancer that is not even (sticky connections: 40%, 30%, 20% and 10% of the
// client's requests). The client sends 160/s for 30 s.
//
// - "local 30/s x4": the usual stand-in for a global limit, each instance enforcing a quarter
//   of it. The hot instances refuse at 30/s while the cold one has room it cannot lend: the
//   client gets about 30 + 30 + 30 + 16 = 106/s, well under the 120/s it pays for.
// - "global 120/s": one GCRA state shared by every instance, which is what redis_gcra keeps in
//   Redis (here one in-process gcra, since the lab runs in virtual time without a server):
//   the client gets its 120/s wherever its requests land.
//
// The other direction holds too (not shown): if the client spread its load perfectly over
// more instances than the split assumed, per-instance limits would let through more than 120/s.

#include <array>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <chrono>
#include <memory>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::array<double, 4> route_share{0.4, 0.3, 0.2, 0.1};

// The instance the balancer sends a request to, drawn from the arm's own stream.
std::size_t route(bulwark::fast_rng& rng) {
  double u = bulwark::uniform01(rng);
  for (std::size_t i = 0; i < route_share.size(); ++i) {
    if (u < route_share[i]) return i;
    u -= route_share[i];
  }
  return route_share.size() - 1;
}

void call_backend(arm_context& context, const request& r) {
  context.backend().call(client_timeout, [&context, r](const call_result& result) {
    context.finish(r, result.ok() ? outcome::success : outcome::failure);
  });
}

client unprotected(arm_context& context) {
  return [&context](const request& r) { call_backend(context, r); };
}

using limiter = bulwark::gcra<bulwark::manual_clock>;

client per_instance(arm_context& context) {
  auto limiters = std::make_unique<std::array<std::unique_ptr<limiter>, 4>>();
  for (auto& l : *limiters) {
    l = std::make_unique<limiter>(
        bulwark::gcra_options{.rate = bulwark::per_second(30), .burst = 5}, context.clock());
  }
  return [&context, limiters = std::move(limiters)](const request& r) {
    if (!(*limiters)[route(context.rng())]->try_acquire()) {
      context.finish(r, outcome::rejected);
      return;
    }
    call_backend(context, r);
  };
}

client global(arm_context& context) {
  auto shared = std::make_unique<limiter>(
      bulwark::gcra_options{.rate = bulwark::per_second(120), .burst = 20}, context.clock());
  return [&context, shared = std::move(shared)](const request& r) {
    (void)route(context.rng());  // routed as in the other arm; the state is shared anyway
    if (!shared->try_acquire()) {
      context.finish(r, outcome::rejected);
      return;
    }
    call_backend(context, r);
  };
}

}  // namespace

scenario global_limit() {
  return {
      .name = "global-limit",
      .summary = "a 120/s client limit over 4 unevenly loaded instances: split locally or shared",
      .load = {.rate = bulwark::per_second(160), .length = 30s},
      .backend = {.failure_rate = 0.0,
                  .latency = latency_model::log_normal(20ms, 80ms),
                  .capacity = 400},
      .timeline_bucket = 1s,
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "local 30/s x4", .make_client = per_instance},
               {.name = "global 120/s", .make_client = global}},
  };
}

}  // namespace lab
