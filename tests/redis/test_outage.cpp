// Hostile outages: a Redis that hangs (alive, accepting connections, never answering) and a
// Redis that restarts without persistence. Counts of waits and attempts, never wall-clock
// asserts: the timeouts are real but only their number is checked.

#include <bulwark/idempotency.hpp>
#include <bulwark/redis/health.hpp>
#include <bulwark/redis/redis_gcra.hpp>
#include <bulwark/redis/redis_store.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"
#include "redis_server.hpp"
#include "stored_value.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::redis_decision_source;

TEST_CASE("redis_client and redis_store reject bad breaker and restart options", "[redis]") {
  CHECK_THROWS_WITH(bulwark::redis_client<>({.breaker_failures = 0}),
                    "bulwark::redis_client: breaker_failures must be >= 1 (got 0)");
  CHECK_THROWS_WITH(bulwark::redis_client<>({.breaker_cooldown = 0ms}),
                    "bulwark::redis_client: breaker_cooldown must be > 0 (got 0s)");
  bulwark::redis_client<> client;  // never connects: the store checks its options first
  CHECK_THROWS_WITH(bulwark::redis_store<>(client, {.restart_quarantine = -1s}),
                    "bulwark::redis_store: restart_quarantine must be >= 0 (got -1s)");
}

TEST_CASE("the connection breaker opens after consecutive failures and probes one at a time",
          "[redis]") {
  using bulwark::detail::redis_breaker;
  const bulwark::time_point t0{};
  redis_breaker b{3, 100ms};
  // An answer in between resets the count: only consecutive failures trip.
  REQUIRE(b.allow(t0));
  CHECK_FALSE(b.no_answer(t0));
  CHECK_FALSE(b.no_answer(t0));
  b.answered();
  CHECK_FALSE(b.no_answer(t0));
  CHECK_FALSE(b.no_answer(t0));
  CHECK(b.no_answer(t0));  // the third in a row
  CHECK(b.current() == redis_breaker::state::open);
  CHECK_FALSE(b.allow(t0 + 99ms));
  // After the cooldown one probe goes; a second caller is refused while it is out.
  CHECK(b.allow(t0 + 100ms));
  CHECK(b.current() == redis_breaker::state::half_open);
  CHECK_FALSE(b.allow(t0 + 100ms));
  // A probe that never reached the network (reconnect backoff) hands its turn on.
  b.abstained();
  CHECK(b.allow(t0 + 101ms));
  CHECK(b.no_answer(t0 + 150ms));  // the probe failed: open for another cooldown
  CHECK_FALSE(b.allow(t0 + 249ms));
  CHECK(b.allow(t0 + 250ms));
  b.answered();
  CHECK(b.current() == redis_breaker::state::closed);
  CHECK(b.allow(t0 + 250ms));
  CHECK(b.allow(t0 + 250ms));  // closed: no probe limit
}

// Reference: redis/redis-doc, commands/info.md: "Lines can contain a section name (starting
// with a # character) or a property. All the properties are in the form of field:value
// terminated by \r\n"; the server section's run_id is a "Random value identifying the Redis
// server (to be used by Sentinel and Cluster)". The run_id below is the one in the page's
// example INFO output in its older versions (40 hex digits, as Redis 7 prints it).
TEST_CASE("run_id is read from INFO server's field lines (redis-doc commands/info.md)", "[redis]") {
  using bulwark::detail::parse_run_id;
  const std::string info =
      "# Server\r\nredis_version:999.999.999\r\nredis_mode:standalone\r\nprocess_id:21798\r\n"
      "run_id:2569bb7433bfe013c2627edf62d9bf21eaf8a010\r\ntcp_port:6379\r\n";
  CHECK(parse_run_id(info) == "2569bb7433bfe013c2627edf62d9bf21eaf8a010");
  CHECK(parse_run_id("# Server\r\nredis_version:7.0.15\r\n").empty());
  CHECK(parse_run_id("# Server\r\nmaster_run_id:abc\r\n").empty());  // only the whole field
  CHECK(parse_run_id("run_id:abc") == "abc");                        // the last line, without CRLF
}

TEST_CASE("a paused server costs breaker_failures timeouts, then decisions fail fast", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  bulwark::redis_client<manual_clock> client({.port = server->port(),
                                              .connect_timeout = 20ms,
                                              .command_timeout = 20ms,
                                              .reconnect_min = 20ms,
                                              .reconnect_max = 20ms,
                                              .breaker_failures = 3,
                                              .breaker_cooldown = 1s},
                                             clock);
  bulwark::redis_gcra<manual_clock> limiter(
      client, {.rate = bulwark::per_second(1000),
               .burst = 1000,
               .on_failure = bulwark::redis_failure_policy::fail_closed});
  REQUIRE(limiter.try_acquire("k").source == redis_decision_source::redis);
  const std::string run_id = client.run_id();
  CHECK(run_id.size() == 40);

  server->pause();
  // Each decision advances past the reconnect backoff, so none is spared by backing off: the
  // breaker alone stops the waits. 40 decisions span 800ms, inside one 1s cooldown.
  for (int i = 0; i < 40; ++i) {
    clock.advance(20ms);
    CHECK(limiter.try_acquire("k").source == redis_decision_source::fail_closed);
  }
  auto m = client.metrics();
  // One EVALSHA on the open connection, then two connects whose INFO got no answer (the
  // paused server's kernel still completes the TCP handshake): three waits, then open.
  CHECK(m.timeouts == 3);
  CHECK(m.breaker_trips == 1);
  CHECK(m.breaker_rejected == 37);
  CHECK(m.breaker_open == 1);
  CHECK(limiter.metrics().failed_closed == 40);

  // After the cooldown exactly one probe waits (still paused) and the breaker reopens.
  clock.advance(1s);
  for (int i = 0; i < 10; ++i)
    CHECK(limiter.try_acquire("k").source == redis_decision_source::fail_closed);
  m = client.metrics();
  CHECK(m.timeouts == 4);
  CHECK(m.breaker_trips == 2);
  CHECK(m.breaker_rejected == 46);

  server->resume();
  // Recovery: the probe after the cooldown reconnects. Bounded retries, since a 20ms timeout
  // may be missed on a loaded machine; each failed probe only reopens the breaker.
  bool recovered = false;
  for (int attempt = 0; attempt < 10 && !recovered; ++attempt) {
    clock.advance(1s);
    recovered = limiter.try_acquire("k").source == redis_decision_source::redis;
  }
  REQUIRE(recovered);
  CHECK(limiter.try_acquire("k").source == redis_decision_source::redis);
  m = client.metrics();
  CHECK(m.breaker_open == 0);
  CHECK(m.restarts_detected == 0);  // the same server: same run_id
  CHECK(client.run_id() == run_id);
}

TEST_CASE("a restart without persistence is detected and reported", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  std::vector<bulwark::redis_restart> seen;
  bulwark::redis_client<manual_clock> client(
      {.port = server->port(),
       .on_restart = [&](const bulwark::redis_restart& r) { seen.push_back(r); }},
      clock);
  REQUIRE(client.command({"SET", "k", "v"}).ok());
  const std::string first = client.run_id();
  REQUIRE(first.size() == 40);
  CHECK(!client.last_restart());

  server->stop();
  server->start();  // --save "" --appendonly no: an empty server with a new run_id
  bool answered = false;
  for (int attempt = 0; attempt < 10 && !answered; ++attempt) {
    clock.advance(1s);  // past any backoff or cooldown
    answered = client.command({"PING"}).ok();
  }
  REQUIRE(answered);
  CHECK(client.command({"GET", "k"}).value().is_nil());  // what the restart forgot
  CHECK(client.metrics().restarts_detected == 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].previous_run_id == first);
  CHECK(seen[0].run_id == client.run_id());
  CHECK(seen[0].run_id != first);
  CHECK(client.last_restart().has_value());
}

TEST_CASE("redis_store refuses to re-acquire a key during restart_quarantine", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  manual_clock clock;
  bulwark::redis_client<manual_clock> client({.port = server->port()}, clock);
  bulwark::redis_store<manual_clock> guarded(client, {.restart_quarantine = 1h});
  bulwark::redis_store<manual_clock> plain(client, {.prefix = "plain:"});
  const bulwark::idempotency_key id{"payments", "order-1"};
  for (auto* store : {&guarded, &plain}) {
    auto begun = store->try_begin(id, 7, 10s);
    REQUIRE(begun.status == bulwark::begin_status::acquired);
    REQUIRE(store->complete(*begun.lease, bulwark_test::stored_value("receipt"), 24h));
    REQUIRE(store->try_begin(id, 7, 10s).status == bulwark::begin_status::completed);
  }

  server->stop();
  server->start();
  // The first call after the restart finds the old connection broken (redis_error); the
  // next reconnects, sees the new run_id and then the missing record.
  bool refused = false;
  for (int attempt = 0; attempt < 10 && !refused; ++attempt) {
    clock.advance(1s);
    CHECK_THROWS_AS(guarded.try_begin(id, 7, 10s), bulwark::redis_error);
    refused = guarded.metrics().quarantined == 1;
  }
  REQUIRE(refused);
  CHECK(client.metrics().restarts_detected == 1);
  // Refused again while the quarantine lasts, and the key was released each time (not left
  // in progress under a lease nobody holds).
  CHECK_THROWS_AS(guarded.try_begin(id, 7, 10s), bulwark::redis_error);
  CHECK(guarded.metrics().quarantined == 2);
  CHECK(client.command({"EXISTS", guarded.record_key(id)}).value().integer() == 0);
  // Without a quarantine the lost record is acquired again: the handler would run twice,
  // reported only by restarts_detected.
  CHECK(plain.try_begin(id, 7, 10s).status == bulwark::begin_status::acquired);
  // After the quarantine the guarded store acquires too.
  clock.advance(1h);
  CHECK(guarded.try_begin(id, 7, 10s).status == bulwark::begin_status::acquired);
}
