// slow-replica: reads spread over three replicas of a database, where one replica turns slow
// and later another falls behind on replication.
//
// 300 reads per second for a minute. Each read belongs to a user who wrote 100 ms earlier and
// must see that write (read-your-writes): it carries the write's position as a token. The lab's
// backend gives each call its base latency (median 10 ms, p99 50 ms); the replica that serves
// it scales it:
//
// - 15 s to 30 s: replica-2 is slow (a noisy neighbour): its calls take 20x as long.
// - 35 s to 50 s: replica-3 stops applying replication (it stays fast): a read there that needs
//   a write it has not applied returns stale data, which counts as a failure.
//
// Arms:
// - round_robin: every replica in turn. A third of the reads wait on the slow replica (some
//   past the 1 s timeout), and a third of the reads in the lag window are stale.
// - p2c_ewma: power of two choices on peak-EWMA latency. It leaves the slow replica within a
//   few requests, but knows nothing of replication, so replica-3's stale reads stay (it even
//   prefers the stalled replica, which is fast).
// - lag_aware: bulwark::replica_selector, mode secondary, the token on every read, positions
//   reported every 100 ms, RTT reported from each answer. The slow replica leaves the latency
//   window (15 ms over the fastest) and the stalled one fails the token check; reads no replica
//   can serve go to the primary. No stale reads, no slow tail.

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
constexpr duration slow_from = 15s, slow_until = 30s;
constexpr duration lag_from = 35s, lag_until = 50s;
constexpr duration write_before_read = 100ms;
constexpr duration replication_delay = 5ms;
constexpr duration position_report_every = 100ms;
constexpr std::int64_t slow_factor = 20;
const std::vector<std::string> replica_ids{"replica-1", "replica-2", "replica-3"};

// Replication positions are milliseconds of virtual time since the start: the primary is at
// `elapsed`, a replica `replication_delay` behind, and replica-3 frozen during the lag window.
std::uint64_t position_at(duration elapsed) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::max(elapsed, duration::zero()))
          .count());
}
std::uint64_t applied(const std::string& id, duration elapsed) {
  if (id == "primary") return position_at(elapsed);
  if (id == "replica-3" && elapsed >= lag_from && elapsed < lag_until)
    return position_at(lag_from - replication_delay);
  return position_at(elapsed - replication_delay);
}
std::int64_t slowdown(const std::string& id, duration elapsed) {
  return id == "replica-2" && elapsed >= slow_from && elapsed < slow_until ? slow_factor : 1;
}

// Sends the read to `id`: the backend draws the base latency, the replica scales it, the
// timeout caps it, and a replica without the token's write answers stale. `done(ok, latency)`
// runs when the caller has its answer.
template <class Done>
void read_from(arm_context& context, const std::string& id, std::uint64_t token, Done done) {
  const duration elapsed = context.sim().elapsed();
  const std::int64_t factor = slowdown(id, elapsed);
  const bool fresh = applied(id, elapsed) >= token;
  context.backend().call(client_timeout, [&context, factor, fresh,
                                          done = std::move(done)](const call_result& base) mutable {
    if (!base.ok()) {
      done(false, base.latency);
      return;
    }
    const duration total = base.latency * factor;
    const bool timed_out = total >= client_timeout;
    const duration extra = (timed_out ? client_timeout : total) - base.latency;
    context.sim().after(extra,
                        [fresh, timed_out, latency = base.latency + extra,
                         done = std::move(done)]() mutable { done(fresh && !timed_out, latency); });
  });
}

std::uint64_t token_of(arm_context& context, const request& r) {
  return position_at(r.arrival - context.sim().start() - write_before_read);
}

template <class Policy>
client balancer_client(arm_context& context) {
  std::vector<bulwark::endpoint> endpoints;
  for (const auto& id : replica_ids)
    endpoints.push_back({.id = id});
  auto lb = std::make_shared<bulwark::load_balancer<Policy, bulwark::manual_clock>>(
      std::move(endpoints), bulwark::balancer_options{.ewma_window = 2s}, Policy{},
      context.clock());
  return [&context, lb](const request& r) {
    auto handle = std::make_shared<bulwark::endpoint_handle>(lb->pick(context.rng()));
    const std::string id = handle->id();
    read_from(context, id, token_of(context, r), [&context, r, handle](bool ok, duration latency) {
      handle->complete({ok, latency});
      context.finish(r, ok ? outcome::success : outcome::failure);
    });
  };
}

client lag_aware_client(arm_context& context) {
  using selector_t = bulwark::replica_selector<std::uint64_t, bulwark::manual_clock>;
  std::vector<bulwark::replica> replicas;
  for (const auto& id : replica_ids)
    replicas.push_back({.id = id});
  auto selector =
      std::make_shared<selector_t>(bulwark::replica{.id = "primary"}, std::move(replicas),
                                   bulwark::replica_selector_options{}, context.clock());
  auto last_report = std::make_shared<std::optional<time_point>>();
  return [&context, selector, last_report](const request& r) {
    const time_point now = context.sim().now();
    if (!*last_report || now - **last_report >= position_report_every) {
      // The heartbeat: every member's applied position and the time of that write.
      for (const auto& id :
           {std::string{"primary"}, replica_ids[0], replica_ids[1], replica_ids[2]}) {
        const auto position = applied(id, context.sim().elapsed());
        selector->report_position(id, position,
                                  context.sim().start() + std::chrono::milliseconds{position});
      }
      *last_report = now;
    }
    auto handle = std::make_shared<bulwark::replica_handle>(selector->select_read(
        {.mode = bulwark::read_mode::secondary}, context.rng(), token_of(context, r)));
    const std::string id = handle->id();
    read_from(context, id, token_of(context, r),
              [&context, r, handle, selector, id](bool ok, duration latency) {
                selector->report_rtt(id, latency);
                handle->done();
                context.finish(r, ok ? outcome::success : outcome::failure);
              });
  };
}

}  // namespace

scenario slow_replica() {
  return {
      .name = "slow-replica",
      .summary =
          "reads over 3 replicas with read-your-writes tokens: replica-2 is 20x slow "
          "15s-30s, replica-3 stops replicating 35s-50s (stale reads fail)",
      .load = {.rate = bulwark::per_second(300), .length = 60s},
      .backend = {.failure_rate = 0.0, .latency = latency_model::log_normal(10ms, 50ms)},
      .arms = {{.name = "round_robin", .make_client = balancer_client<bulwark::round_robin>},
               {.name = "p2c_ewma", .make_client = balancer_client<bulwark::p2c_peak_ewma>},
               {.name = "lag_aware", .make_client = lag_aware_client}},
  };
}

}  // namespace lab
