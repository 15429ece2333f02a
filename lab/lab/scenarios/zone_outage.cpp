// zone-outage: a service in two zones, the local one first, losing the local zone in two steps.
//
// Six endpoints: four in zone-a, the caller's own (priority 0), and two in zone-b, another
// region (priority 1: a backup; its calls take 30 ms more). 200 requests per second for a
// minute, base latency median 10 ms, p99 50 ms. From 15 s to 40 s a-1 and a-2 are dead, from
// 25 s to 40 s a-3 and a-4 too: a call to a dead endpoint is refused after 1 ms (it never
// reaches the backend). An active health checker marks an endpoint down 2 s after it dies and
// up 2 s after it recovers, through load_balancer::set_healthy; until then both arms keep
// sending to it.
//
// Arms, each with round robin inside:
// - round_robin: every healthy endpoint in turn, zones ignored. A third of the traffic always
//   crosses to zone-b. With zone-a gone, 2 of 6 endpoints are healthy (33%), under the
//   balancer's panic threshold (50%), so it balances over all six again: two thirds of the
//   requests go to dead endpoints for the rest of the outage.
// - locality_aware: bulwark::locality_aware<round_robin>, Envoy's priority levels with the
//   overprovisioning factor 1.4 (docs/balancing.md "Priority levels and localities").
//   Healthy, zone-a takes everything. With half of it healthy its health is
//   min(100, 1.4 x 50) = 70, so 70% stays and 30% fails over to zone-b; with none healthy
//   zone-b's health (100) makes the total 100, so no level panics and zone-b takes it all.
// Extra rows: picks per priority, dead endpoints' included.

#include <bulwark/balancing.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr duration cross_region = 30ms;  // what a call to zone-b adds
constexpr duration refused_after = 1ms;  // a dead endpoint refuses the connection
constexpr duration detect_after = 2s;    // the health checker's delay, both ways
constexpr duration half_from = 15s, all_from = 25s, outage_until = 40s;

struct member {
  const char* id;
  std::uint32_t priority;
  duration dies;  // dead in [dies, outage_until); duration::max(): never
};
constexpr member members[] = {
    {"a-1", 0, half_from}, {"a-2", 0, half_from},       {"a-3", 0, all_from},
    {"a-4", 0, all_from},  {"b-1", 1, duration::max()}, {"b-2", 1, duration::max()},
};

bool dead(const member& m, duration elapsed) {
  return elapsed >= m.dies && elapsed < outage_until;
}

template <class Policy>
client zone_client(arm_context& context) {
  std::vector<bulwark::endpoint> endpoints;
  for (const member& m : members) {
    bulwark::endpoint e{.id = m.id, .zone = m.priority == 0 ? "zone-a" : "zone-b"};
    e.priority = m.priority;
    endpoints.push_back(std::move(e));
  }
  auto lb = std::make_shared<bulwark::load_balancer<Policy, bulwark::manual_clock>>(
      std::move(endpoints), bulwark::balancer_options{}, Policy{}, context.clock());
  // The health checker's verdicts, at the virtual times it reaches them.
  for (const member& m : members) {
    if (m.dies == duration::max()) continue;
    const std::string id = m.id;
    context.sim().at(context.sim().start() + m.dies + detect_after,
                     [lb, id] { lb->set_healthy(id, false); });
    context.sim().at(context.sim().start() + outage_until + detect_after,
                     [lb, id] { lb->set_healthy(id, true); });
  }
  std::uint64_t* picks[] = {&context.counter("picks priority 0"),
                            &context.counter("picks priority 1")};
  return [&context, lb, picks](const request& r) {
    auto handle = std::make_shared<bulwark::endpoint_handle>(lb->pick(context.rng()));
    const member* m = nullptr;
    for (const member& candidate : members)
      if (handle->id() == candidate.id) m = &candidate;
    ++*picks[m->priority];
    if (dead(*m, context.sim().elapsed())) {
      context.sim().after(refused_after, [&context, r, handle] {
        handle->complete({false, refused_after});
        context.finish(r, outcome::failure);
      });
      return;
    }
    const duration extra = m->priority == 0 ? duration::zero() : cross_region;
    context.backend().call(
        client_timeout - extra, [&context, r, handle, extra](const call_result& result) {
          context.sim().after(
              extra, [&context, r, handle, ok = result.ok(), latency = result.latency + extra] {
                handle->complete({ok, latency});
                context.finish(r, ok ? outcome::success : outcome::failure);
              });
        });
  };
}

}  // namespace

scenario zone_outage() {
  return {
      .name = "zone-outage",
      .summary =
          "4 endpoints in the local zone (priority 0), 2 in a backup region (priority 1): "
          "half the local zone dies 15s-40s, all of it 25s-40s",
      .load = {.rate = bulwark::per_second(200), .length = 60s},
      .backend = {.failure_rate = 0.0, .latency = latency_model::log_normal(10ms, 50ms)},
      .arms = {{.name = "round_robin", .make_client = zone_client<bulwark::round_robin>},
               {.name = "locality_aware",
                .make_client = zone_client<bulwark::locality_aware<bulwark::round_robin>>}},
  };
}

}  // namespace lab
