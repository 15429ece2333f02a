#include <sys/wait.h>
#include <unistd.h>

#include <bulwark/idempotency.hpp>
#include <bulwark/redis/redis_store.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"
#include "redis_server.hpp"
#include "stored_value.hpp"

using namespace std::chrono_literals;
using bulwark::begin_status;

static_assert(bulwark::idempotency_store<bulwark::redis_store<>>);
static_assert(bulwark::idempotency_store<bulwark::redis_store<bulwark::manual_clock>>);

TEST_CASE("redis_store follows the idempotency state machine", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> client({.port = server->port()});
  bulwark::redis_store<> store(client);
  const bulwark::idempotency_key id{"tenant-1", "order-7"};

  auto first = store.try_begin(id, 11, 10s);
  REQUIRE(first.status == begin_status::acquired);
  REQUIRE(first.lease);
  CHECK(first.lease->scope == "tenant-1");
  CHECK(first.lease->key == "order-7");

  auto again = store.try_begin(id, 11, 10s);
  CHECK(again.status == begin_status::in_progress);
  CHECK(again.deadline > bulwark::steady_clock::now() + 9s);
  CHECK(store.try_begin(id, 12, 10s).status == begin_status::mismatch);

  CHECK(
      store.complete(*first.lease, bulwark_test::stored_value(std::string{"receipt\0|x", 10}), 1h));
  auto replay = store.try_begin(id, 11, 10s);
  REQUIRE(replay.status == begin_status::completed);
  CHECK(std::get<0>(*replay.result) == std::string{"receipt\0|x", 10});  // bytes kept exactly
  CHECK(store.try_begin(id, 12, 10s).status == begin_status::mismatch);
  CHECK(
      !store.complete(*first.lease, bulwark_test::stored_value("again"), 1h));  // completed: fenced
  CHECK(!store.release(*first.lease));

  // A stored failure replays as a failure.
  const bulwark::idempotency_key failing{"tenant-1", "order-8"};
  auto f = store.try_begin(failing, 1, 10s);
  CHECK(store.complete(*f.lease, bulwark::stored_failure{"card declined"}, 1h));
  auto failed = store.try_begin(failing, 1, 10s);
  REQUIRE(failed.status == begin_status::completed);
  CHECK(std::get<bulwark::stored_failure>(*failed.result).what == "card declined");

  // Release frees the key for the next call, with a greater token.
  const bulwark::idempotency_key released{"tenant-2", "order-7"};
  auto r1 = store.try_begin(released, 5, 10s);
  CHECK(store.release(*r1.lease));
  auto r2 = store.try_begin(released, 5, 10s);
  REQUIRE(r2.status == begin_status::acquired);
  CHECK(r2.lease->token > r1.lease->token);
  CHECK(r2.lease->token > first.lease->token);

  const auto m = store.metrics();
  CHECK(m.acquired == 4);
  CHECK(m.replays == 2);
  CHECK(m.in_progress == 1);
  CHECK(m.mismatches == 2);
  CHECK(m.fenced == 2);
}

TEST_CASE("an expired lease is taken over and the old holder is fenced", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> client({.port = server->port()});
  bulwark::redis_store<> store(client);
  const bulwark::idempotency_key id{"s", "k"};
  auto a = store.try_begin(id, 1, 30s);
  REQUIRE(a.status == begin_status::acquired);
  // The lease expires (by Redis's clock): PEXPIREAT in the past is expiry now.
  REQUIRE(client.command({"PEXPIREAT", store.record_key(id), "1"}).ok());
  auto b = store.try_begin(id, 1, 30s);
  REQUIRE(b.status == begin_status::acquired);
  CHECK(b.lease->token > a.lease->token);
  CHECK(!store.complete(*a.lease, bulwark_test::stored_value("stale"), 1h));
  CHECK(!store.release(*a.lease));
  CHECK(store.complete(*b.lease, bulwark_test::stored_value("fresh"), 1h));
  auto replay = store.try_begin(id, 1, 30s);
  CHECK(std::get<0>(*replay.result) == "fresh");
  // The lease is a real PX: the in-progress record's TTL is the lease.
  const bulwark::idempotency_key timed{"s", "timed"};
  (void)store.try_begin(timed, 1, 30s);
  const auto ttl = client.command({"PTTL", store.record_key(timed)});
  CHECK(ttl.value().integer() > 29'000);
  CHECK(ttl.value().integer() <= 30'000);
}

TEST_CASE("redis_store keys: layout, validation before any round trip", "[redis]") {
  bulwark::redis_client<> client({.port = bulwark_test::free_port()});
  bulwark::redis_store<> store(client, {.max_key_length = 16});
  CHECK(store.record_key({"a:b", "c"}) == "bulwark:idem:3:a:b:c");
  CHECK(store.record_key({"a", "b:c"}) == "bulwark:idem:1:a:b:c");
  CHECK(store.record_key({"", "k"}) == "bulwark:idem:0::k");
  CHECK(store.fence_key({"s", "k"}) == "bulwark:idem:fence");  // one for the store
  CHECK_THROWS_WITH(store.try_begin({"s", "a b"}, 1, 1s),
                    "bulwark::redis_store: key must be 1 to 16 bytes without spaces, control "
                    "characters or braces (got 3 bytes)");
  CHECK_THROWS_AS(store.try_begin({"s", ""}, 1, 1s), std::invalid_argument);
  CHECK_THROWS_AS(store.try_begin({"{s}", "k"}, 1, 1s), std::invalid_argument);
  CHECK_THROWS_AS(store.try_begin({"s", std::string(17, 'k')}, 1, 1s), std::invalid_argument);
  CHECK(client.metrics().commands == 0);
  CHECK(client.metrics().connect_failures == 0);
  // Redis unreachable: the store cannot answer, and says so.
  CHECK_THROWS_AS(store.try_begin({"s", "k"}, 1, 1s), bulwark::redis_error);
  CHECK(store.metrics().unavailable == 1);
  CHECK_THROWS_WITH(bulwark::redis_store<>(client, {.max_key_length = 0}),
                    "bulwark::redis_store: max_key_length must be in [1, 4096] (got 0)");
}

TEST_CASE("an idempotent handler runs once across processes", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  constexpr int processes = 4;
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // an instance of the service receiving the same retried payment
      int code = 1;
      try {
        bulwark::redis_client<> client({.port = server->port()});
        bulwark::redis_store<> store(client);
        bulwark::idempotency_executor payments(
            store, {.on_in_progress = bulwark::in_progress_policy::wait, .wait_timeout = 5s});
        const auto result = payments.execute({"merchant-1", "pay-42"}, "card|1999|EUR", [&] {
          (void)client.command({"INCR", "handler-runs"});
          return std::string{"receipt-42"};
        });
        code = result.value == "receipt-42" ? 0 : 2;
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // every process got the one receipt
  }
  bulwark::redis_client<> client({.port = server->port()});
  const auto runs = client.command({"GET", "handler-runs"});
  REQUIRE(runs.ok());
  CHECK(runs.value().str() == "1");
  bulwark::redis_store<> store(client);
  bulwark::idempotency_executor payments(store);
  const auto replay =
      payments.execute({"merchant-1", "pay-42"}, "card|1999|EUR", [] { return std::string{}; });
  CHECK(replay.replayed);
  CHECK(replay.value == "receipt-42");
}
