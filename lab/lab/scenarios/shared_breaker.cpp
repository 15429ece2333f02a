// shared-breaker: a fleet of 50 instances against a dependency that dies for 20 s (redis
// area, redis_circuit_breaker).
//
// The load (200/s) is spread evenly over the instances, so each sees 4 requests a second.
// From 20 s to 40 s every call fails at once (connection refused).
//
// - "local x50": a breaker per instance (5 consecutive failures, 5 s open, 1 probe). Each
//   instance must see its own 5 failures before it stops, and each probes on its own every
//   5 s: 50 probes per period, all failing, for the whole outage.
// - "shared": the same local breakers plus the state redis_circuit_breaker keeps in Redis,
//   modelled in process (the lab runs in virtual time, without a server): the first instance
//   to trip opens the breaker for all, the others learn it at their next refresh (every
//   100 ms), and one probe lease per half-open period serves the whole fleet.
// - "shared + counts": the same with aggregated counts (fleet_failures = 10): 10 failures
//   anywhere in the fleet open it, before any one instance has seen 5.

#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::size_t instances = 50;
constexpr duration wait_in_open = 5s;
constexpr duration refresh_interval = 100ms;
constexpr duration outage_start = 20s;
constexpr duration outage_end = 40s;

using breaker = bulwark::circuit_breaker<bulwark::manual_clock>;

bulwark::circuit_breaker_options local_options() {
  return {.trip_on = bulwark::trip_condition::consecutive_failures,
          .consecutive_failures = 5,
          .wait_in_open = wait_in_open,
          .permitted_calls_in_half_open = 1};
}

// Counts the calls that reach the backend during the outage, the figure the scenario is about.
void call_backend(arm_context& context, std::uint64_t& in_outage,
                  unique_function<void(const call_result&)> done) {
  const duration t = context.sim().elapsed();
  if (t >= outage_start && t < outage_end) ++in_outage;
  context.backend().call(client_timeout, std::move(done));
}

client unprotected(arm_context& context) {
  std::uint64_t& in_outage = context.counter("backend calls in outage");
  return [&context, &in_outage](const request& r) {
    call_backend(context, in_outage, [&context, r](const call_result& result) {
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

client local_breakers(arm_context& context) {
  std::uint64_t& in_outage = context.counter("backend calls in outage");
  auto fleet = std::make_shared<std::vector<std::unique_ptr<breaker>>>();
  for (std::size_t i = 0; i < instances; ++i)
    fleet->push_back(std::make_unique<breaker>(local_options(), context.clock()));
  return [&context, &in_outage, fleet](const request& r) {
    breaker& b = *(*fleet)[r.id % instances];
    auto permit = b.try_acquire();
    if (!permit) {
      context.finish(r, outcome::rejected);
      return;
    }
    call_backend(context, in_outage,
                 [&context, r, permit = std::move(permit)](const call_result& result) mutable {
                   if (result.ok()) {
                     permit.success();
                   } else {
                     permit.failure();
                   }
                   context.finish(r, result.ok() ? outcome::success : outcome::failure);
                 });
  };
}

// What redis_circuit_breaker keeps in Redis: the generation, whether it is open and until
// when (the open key's expiry), the probe lease, and with counts the failures of the window.
struct shared_state {
  std::uint64_t generation = 0;
  bool open = false;
  time_point open_until{};
  bool probe_leased = false;
  std::uint32_t failures = 0;  // of the current generation (fleet_failures)
};

struct instance {
  std::unique_ptr<breaker> local;
  shared_state view;          // the last refresh
  time_point refreshed_at{};  // and when it happened
};

struct fleet_model {
  shared_state redis;
  std::vector<instance> members;
  std::uint32_t fleet_failures = 0;  // 0: no aggregated counts

  void publish_trip(instance& who, time_point now) {
    if (redis.generation == who.view.generation || !redis.open) {
      ++redis.generation;
      redis.open = true;
      redis.open_until = now + wait_in_open;
      redis.failures = 0;
    }
    who.view = redis;
    who.refreshed_at = now;
  }
};

client shared_breakers(arm_context& context, std::uint32_t fleet_failures) {
  std::uint64_t& in_outage = context.counter("backend calls in outage");
  auto fleet = std::make_shared<fleet_model>();
  fleet->fleet_failures = fleet_failures;
  for (std::size_t i = 0; i < instances; ++i)
    fleet->members.push_back({std::make_unique<breaker>(local_options(), context.clock()), {}, {}});
  return [&context, &in_outage, fleet](const request& r) {
    const time_point now = context.sim().now();
    instance& me = fleet->members[r.id % instances];
    if (now - me.refreshed_at >= refresh_interval) {  // the background refresh's staleness
      // The fleet closed since this instance saw it open: its local breaker starts afresh.
      if (me.view.open && !fleet->redis.open) me.local->reset();
      me.view = fleet->redis;
      me.refreshed_at = now;
    }
    if (me.view.open && now < me.view.open_until) {
      context.finish(r, outcome::rejected);
      return;
    }
    if (me.view.open) {  // half-open fleet-wide: one lease (a round trip to read it)
      if (fleet->redis.probe_leased || !fleet->redis.open || now < fleet->redis.open_until) {
        me.view = fleet->redis;
        me.refreshed_at = now;
        context.finish(r, outcome::rejected);
        return;
      }
      fleet->redis.probe_leased = true;
      call_backend(context, in_outage, [&context, r, fleet, &me](const call_result& result) {
        const time_point at = context.sim().now();
        fleet->redis.probe_leased = false;
        if (result.ok()) {
          ++fleet->redis.generation;
          fleet->redis.open = false;
          fleet->redis.failures = 0;
          me.view = fleet->redis;
          me.local->reset();
        } else {
          fleet->publish_trip(me, at);
        }
        context.finish(r, result.ok() ? outcome::success : outcome::failure);
      });
      return;
    }
    auto permit = me.local->try_acquire();
    if (!permit) {
      context.finish(r, outcome::rejected);
      return;
    }
    call_backend(
        context, in_outage,
        [&context, r, fleet, &me, permit = std::move(permit)](const call_result& result) mutable {
          const time_point at = context.sim().now();
          const bool was_closed = me.local->state() == bulwark::circuit_state::closed;
          if (result.ok()) {
            permit.success();
          } else {
            permit.failure();
            if (fleet->fleet_failures > 0 && !fleet->redis.open &&
                ++fleet->redis.failures >= fleet->fleet_failures) {
              fleet->publish_trip(me, at);
            }
          }
          if (was_closed && me.local->state() == bulwark::circuit_state::open)
            fleet->publish_trip(me, at);
          context.finish(r, result.ok() ? outcome::success : outcome::failure);
        });
  };
}

}  // namespace

scenario shared_breaker() {
  return {
      .name = "shared-breaker",
      .summary = "50 instances against a dependency dead for 20s: local breakers or one shared",
      .load = {.rate = bulwark::per_second(200), .length = 60s},
      .backend = {.failure_rate = 0.0,
                  .latency = latency_model::log_normal(20ms, 100ms),
                  .outages = {{.start = outage_start, .end = outage_end, .failure_latency = 2ms}}},
      .timeline_bucket = 2s,
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "local x50", .make_client = local_breakers},
               {.name = "shared",
                .make_client = [](arm_context& c) { return shared_breakers(c, 0); }},
               {.name = "shared + counts",
                .make_client = [](arm_context& c) { return shared_breakers(c, 10); }}},
  };
}

}  // namespace lab
