// redis_circuit_breaker against a real redis-server: two instances (two clients, as two
// processes would have) share one breaker by name. The model is gobreaker v2's shared-state
// breaker (sony/gobreaker v2, DistributedCircuitBreaker); the closed path stays local here.
// Time is manual_clock; the shared wait in open is a Redis key expiry, which the tests end by
// deleting the key instead of waiting for it.

#include <bulwark/redis/redis_circuit_breaker.hpp>
#include <chrono>
#include <string>

#include "catch.hpp"
#include "redis_server.hpp"

using namespace std::chrono_literals;
using bulwark::circuit_state;
using bulwark::manual_clock;

namespace {

using breaker = bulwark::redis_circuit_breaker<manual_clock>;
using client = bulwark::redis_client<manual_clock>;

bulwark::redis_circuit_breaker_options shared_options(
    bulwark::redis_failure_policy policy = bulwark::redis_failure_policy::local) {
  bulwark::redis_circuit_breaker_options o;
  o.local.trip_on = bulwark::trip_condition::consecutive_failures;
  o.local.consecutive_failures = 3;
  o.local.wait_in_open = 60s;
  o.local.permitted_calls_in_half_open = 1;
  o.refresh_interval = 0s;  // the test calls refresh()
  o.on_failure = policy;
  return o;
}

void fail(breaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    auto p = b.try_acquire();
    REQUIRE(p);
    p.failure();
  }
}

// Ends the shared wait in open as its expiry would.
void end_wait(client& c, const std::string& name) {
  REQUIRE(c.command({"DEL", "bulwark:cb:{" + name + "}:open"}).ok());
}

}  // namespace

TEST_CASE("redis_circuit_breaker rejects a bad name and bad options", "[redis][shared_breaker]") {
  client c({.port = 1}, manual_clock{});
  CHECK_THROWS_AS(breaker(c, "has space", shared_options()), std::invalid_argument);
  CHECK_THROWS_AS(breaker(c, "{tag}", shared_options()), std::invalid_argument);
  auto o = shared_options();
  o.fleet_probes = 0;
  CHECK_THROWS_WITH(breaker(c, "ok", o),
                    "bulwark::redis_circuit_breaker: fleet_probes must be in [1, 1000] (got 0)");
}

TEST_CASE("a trip in instance A opens the breaker of instance B", "[redis][shared_breaker]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  client ca({.port = server->port()}, clock);
  client cb({.port = server->port()}, clock);
  breaker a(ca, "payments", shared_options());
  breaker b(cb, "payments", shared_options());

  // The closed path makes no round trip.
  for (int i = 0; i < 100; ++i)
    b.try_acquire().success();
  CHECK(b.metrics().round_trips == 0);
  CHECK(b.local().metrics().buffered_calls == 100);  // every call went through the local one

  fail(a, 3);  // the third failure trips A's local breaker; that call publishes it
  CHECK(a.metrics().trips_published == 1);
  CHECK(a.state() == circuit_state::open);
  CHECK(a.metrics().generation == 1);

  // B still passes calls until it refreshes: the staleness bound is one refresh_interval.
  CHECK(b.try_acquire());
  REQUIRE(b.refresh());
  CHECK(b.state() == circuit_state::open);
  auto refused = b.try_acquire();
  CHECK_FALSE(refused);
  REQUIRE(refused.retry_after());
  CHECK(*refused.retry_after() > 50s);
  CHECK(*refused.retry_after() <= 60s);
  CHECK(b.metrics().shared_rejected == 1);
  CHECK(b.local().state() == circuit_state::closed);  // B saw no failure of its own

  // A second trip racing the first loses the compare-and-set and adopts the state.
  breaker late(cb, "payments", shared_options());
  fail(late, 3);
  CHECK(late.metrics().trips_published == 0);
  CHECK(late.metrics().generation == 1);
}

TEST_CASE("half-open admits one probe fleet-wide, its verdict closes or reopens for all",
          "[redis][shared_breaker]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  client ca({.port = server->port()}, clock);
  client cb({.port = server->port()}, clock);
  breaker a(ca, "inventory", shared_options());
  breaker b(cb, "inventory", shared_options());
  fail(a, 3);
  end_wait(ca, "inventory");
  REQUIRE(a.refresh());  // each instance sees the wait over when it next refreshes
  REQUIRE(b.refresh());
  CHECK(a.state() == circuit_state::half_open);

  SECTION("a successful probe closes the breaker for every instance") {
    auto probe = a.try_acquire();
    REQUIRE(probe);
    CHECK(probe.probe());
    auto other = b.try_acquire();  // the lease is taken: refused fleet-wide
    CHECK_FALSE(other);
    CHECK(b.metrics().probes_refused == 1);
    auto again = a.try_acquire();  // and on A too, without a round trip (probe_retry)
    CHECK_FALSE(again);
    probe.success();
    CHECK(a.metrics().closes_published == 1);
    CHECK(a.state() == circuit_state::closed);
    CHECK(a.local().state() == circuit_state::closed);  // reset when the fleet closed
    REQUIRE(b.refresh());
    CHECK(b.state() == circuit_state::closed);
    CHECK(b.try_acquire());
  }
  SECTION("a failed probe reopens it for another wait") {
    clock.advance(100ms);  // past B's probe_retry
    auto probe = b.try_acquire();
    REQUIRE(probe);
    probe.failure();
    CHECK(b.metrics().trips_published == 1);
    CHECK(b.state() == circuit_state::open);
    REQUIRE(a.refresh());
    CHECK_FALSE(a.try_acquire());
    CHECK(a.metrics().generation == 2);  // opened, opened again
  }
  SECTION("an ignored probe frees its lease") {
    a.try_acquire().ignore();
    auto probe = b.try_acquire();
    CHECK(probe);
  }
}

TEST_CASE("aggregated counts open the breaker on the fleet's failures", "[redis][shared_breaker]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  client ca({.port = server->port()}, clock);
  client cb({.port = server->port()}, clock);
  auto o = shared_options();
  o.local.consecutive_failures = 100;  // no instance trips alone
  o.fleet_failures = 4;
  breaker a(ca, "search", o);
  breaker b(cb, "search", o);
  fail(a, 2);
  fail(b, 1);
  CHECK(a.metrics().trips_published + b.metrics().trips_published == 0);
  fail(b, 1);  // the fourth failure of the fleet
  CHECK(b.metrics().trips_published == 1);
  CHECK(b.state() == circuit_state::open);
  REQUIRE(a.refresh());
  CHECK_FALSE(a.try_acquire());
}

TEST_CASE("with Redis gone each instance falls back to its local breaker, and recovers",
          "[redis][shared_breaker]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  client ca({.port = server->port()}, clock);
  client cb({.port = server->port()}, clock);
  breaker a(ca, "ledger", shared_options());
  breaker b(cb, "ledger", shared_options());
  REQUIRE(a.refresh());
  REQUIRE(b.refresh());

  server->stop();
  fail(a, 3);  // trips locally; the publication gets no answer
  CHECK(a.redis_unreachable());
  CHECK(a.metrics().unavailable >= 1);
  CHECK(a.state() == circuit_state::open);  // A's own breaker protects A
  CHECK_FALSE(a.try_acquire());
  CHECK_FALSE(b.refresh());
  CHECK(b.try_acquire());  // B saw nothing: its local breaker is closed

  server->start();    // same port, empty (no persistence)
  clock.advance(2s);  // past the clients' reconnect backoff and connection breaker
  REQUIRE(b.refresh());
  CHECK_FALSE(b.redis_unreachable());
  CHECK(b.metrics().generation == 0);
  fail(b, 3);  // a trip after recovery is shared again
  CHECK(b.metrics().trips_published == 1);
  REQUIRE(a.refresh());
  CHECK(a.metrics().generation == 1);
}

TEST_CASE("fail_closed refuses and fail_open passes every call while Redis is away",
          "[redis][shared_breaker]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  client c({.port = server->port()}, clock);
  breaker closed(c, "closed", shared_options(bulwark::redis_failure_policy::fail_closed));
  breaker open(c, "open", shared_options(bulwark::redis_failure_policy::fail_open));
  server->stop();
  CHECK_FALSE(closed.refresh());
  CHECK_FALSE(open.refresh());
  CHECK_FALSE(closed.try_acquire());
  for (int i = 0; i < 10; ++i)
    open.try_acquire().failure();  // nothing recorded: no local trip
  CHECK(open.local().state() == circuit_state::closed);
  CHECK(open.metrics().fallback_calls == 10);
  server->start();
  clock.advance(2s);
  REQUIRE(closed.refresh());
  CHECK(closed.try_acquire());
}
