// redis_near_cache against a real redis-server, with Redis's client-side caching in RESP2
// redirect mode (redis.io, "Client-side caching reference"). A second client writes as another
// instance would. The waits below are for the server's messages to reach the listener thread
// (bounded; they return as soon as the message is handled), never sleeps.

#include <bulwark/redis/redis_near_cache.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "redis_server.hpp"

using namespace std::chrono_literals;
using bulwark::near_cache_source;

namespace {
constexpr bulwark::duration patience = 5s;

// A command from a client whose connection the restart broke: the first call finds it broken
// and the next reconnects.
bool eventually(bulwark::redis_client<>& c, const std::vector<std::string_view>& args) {
  for (int i = 0; i < 3; ++i)
    if (c.command(args).ok()) return true;
  return false;
}
}  // namespace

TEST_CASE("a write by another client evicts the near cache's entry", "[redis][near_cache]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> data({.port = server->port()});
  bulwark::redis_client<> other({.port = server->port()});
  bulwark::redis_near_cache<> near(data);
  REQUIRE(near.wait_for_tracking(patience));
  REQUIRE(other.command({"SET", "user:1", "ada"}).ok());

  auto first = near.get("user:1");
  CHECK(first.source == near_cache_source::redis);
  CHECK(first.value == "ada");
  auto second = near.get("user:1");
  CHECK(second.source == near_cache_source::local);
  CHECK(second.value == "ada");
  CHECK(near.get("absent").value == std::nullopt);

  const auto seen = near.metrics().invalidations;
  REQUIRE(other.command({"SET", "user:1", "grace"}).ok());
  REQUIRE(near.wait_for_invalidations(seen, patience));
  auto third = near.get("user:1");
  CHECK(third.source == near_cache_source::redis);
  CHECK(third.value == "grace");

  // Its own writes evict at once; the invalidation Redis sends for them comes back too.
  near.get("user:1");
  const auto before_set = near.metrics().invalidations;
  REQUIRE(near.set("user:1", "linus"));
  CHECK(near.size() == 0);
  REQUIRE(near.wait_for_invalidations(before_set, patience));
  CHECK(near.get("user:1").value == "linus");

  // FLUSHALL sends a null invalidation: everything goes.
  CHECK(near.get("user:1").source == near_cache_source::local);
  const auto flushes = near.metrics().flushes;
  REQUIRE(other.command({"FLUSHALL"}).ok());
  REQUIRE(near.wait_for_invalidations(0, patience));  // at least one message handled
  for (int i = 0; i < 500 && near.metrics().flushes == flushes; ++i)
    near.wait_for_invalidations(1'000'000, 10ms);  // a bounded wait for the flush message
  CHECK(near.metrics().flushes > flushes);
  CHECK(near.size() == 0);
}

TEST_CASE("an invalidation between the GET reply and the insert wins", "[redis][near_cache]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> data({.port = server->port()});
  bulwark::redis_client<> other({.port = server->port()});
  bulwark::redis_near_cache_options options;
  bool written = false;
  bulwark::redis_near_cache<>* self = nullptr;
  // The hook runs after the GET reply and before the insert: another client writes the key
  // there, and the hook returns only once the listener has applied the invalidation.
  options.after_fetch = [&](std::string_view key) {
    if (written || key != "price") return;
    written = true;
    const auto seen = self->metrics().invalidations;
    REQUIRE(other.command({"SET", "price", "11"}).ok());
    REQUIRE(self->wait_for_invalidations(seen, patience));
  };
  bulwark::redis_near_cache<> near(data, options);
  self = &near;
  REQUIRE(near.wait_for_tracking(patience));
  REQUIRE(other.command({"SET", "price", "10"}).ok());

  auto stale = near.get("price");
  CHECK(stale.value == "10");  // what Redis said when asked
  CHECK(near.metrics().not_cached == 1);
  CHECK(near.size() == 0);  // but not kept: the write that followed won
  auto fresh = near.get("price");
  CHECK(fresh.source == near_cache_source::redis);
  CHECK(fresh.value == "11");
  CHECK(near.get("price").source == near_cache_source::local);
}

TEST_CASE("a lost invalidation connection flushes the near cache", "[redis][near_cache]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> data({.port = server->port()});
  bulwark::redis_client<> other({.port = server->port()});
  bulwark::redis_near_cache<> near(data);
  REQUIRE(near.wait_for_tracking(patience));
  REQUIRE(other.command({"SET", "k", "v1"}).ok());
  near.get("k");
  REQUIRE(near.get("k").source == near_cache_source::local);

  SECTION("CLIENT KILL on the subscriber") {
    REQUIRE(other.command({"CLIENT", "KILL", "TYPE", "pubsub"}).ok());
    REQUIRE(near.wait_for_tracking_lost(0, patience));
    CHECK(near.size() == 0);
    // It re-subscribes and re-enables tracking on the data connection before caching again:
    // a write after that is seen.
    REQUIRE(near.wait_for_tracking(patience));
    CHECK(near.get("k").source == near_cache_source::redis);
    CHECK(near.get("k").source == near_cache_source::local);
    const auto seen = near.metrics().invalidations;
    REQUIRE(other.command({"SET", "k", "v2"}).ok());
    REQUIRE(near.wait_for_invalidations(seen, patience));
    CHECK(near.get("k").value == "v2");
  }
  SECTION("a server restart") {
    server->stop();
    REQUIRE(near.wait_for_tracking_lost(0, patience));
    CHECK(near.size() == 0);
    CHECK(near.get("k").source == near_cache_source::unavailable);
    server->start();  // empty: no persistence
    REQUIRE(near.wait_for_tracking(patience));
    REQUIRE(eventually(other, {"SET", "k", "v3"}));
    // The data client reconnects after its backoff; until then gets are unavailable.
    bulwark::near_cache_result r;
    for (int i = 0; i < 500; ++i) {
      r = near.get("k");
      if (r.source != near_cache_source::unavailable) break;
      near.wait_for_tracking_lost(1'000'000, 10ms);  // a bounded pause for the backoff
    }
    CHECK(r.value == "v3");
    CHECK(near.get("k").source == near_cache_source::local);
    const auto seen = near.metrics().invalidations;
    REQUIRE(other.command({"SET", "k", "v4"}).ok());
    REQUIRE(near.wait_for_invalidations(seen, patience));
    CHECK(near.get("k").value == "v4");
  }
}
