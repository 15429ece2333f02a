#include <bulwark/redis/client.hpp>
#include <bulwark/redis/detail/scripts.hpp>
#include <bulwark/redis/detail/sha1.hpp>
#include <chrono>
#include <string>

#include "catch.hpp"
#include "redis_server.hpp"

using namespace std::chrono_literals;

TEST_CASE("sha1 matches the FIPS 180-4 examples", "[redis]") {
  using bulwark::detail::sha1_hex;
  CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(sha1_hex(std::string(1'000'000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // 55, 56 and 64 bytes: the padding's edge cases (one block, two blocks).
  CHECK(sha1_hex(std::string(55, 'a')) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(sha1_hex(std::string(56, 'a')) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(sha1_hex(std::string(64, 'a')) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("redis_client rejects bad options with the field and value", "[redis]") {
  using bulwark::redis_client;
  CHECK_THROWS_WITH(redis_client<>({.port = 0}),
                    "bulwark::redis_client: port must be in [1, 65535] (got 0)");
  CHECK_THROWS_WITH(redis_client<>({.host = ""}),
                    "bulwark::redis_client: host must be non-empty (got \"\")");
  CHECK_THROWS_WITH(redis_client<>({.connections = 0}),
                    "bulwark::redis_client: connections must be >= 1 (got 0)");
  CHECK_THROWS_WITH(redis_client<>({.command_timeout = 0ms}),
                    "bulwark::redis_client: command_timeout must be > 0 (got 0s)");
  CHECK_THROWS_WITH(redis_client<>({.reconnect_min = 10ms, .reconnect_max = 5ms}),
                    "bulwark::redis_client: reconnect_max must be >= reconnect_min (got 5ms)");
}

TEST_CASE("scripts are named by the digest the server computes", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> client({.port = server->port()});
  for (const auto* script :
       {&bulwark::detail::gcra_script(), &bulwark::detail::begin_script(),
        &bulwark::detail::complete_script(), &bulwark::detail::release_script()}) {
    const auto loaded = client.command({"SCRIPT", "LOAD", script->source()});
    REQUIRE(loaded.ok());
    CHECK(loaded.value().str() == script->sha());
  }
}

TEST_CASE("a flushed script cache is reloaded on NOSCRIPT", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> client({.port = server->port()});
  const bulwark::redis_script script{"return ARGV[1] .. KEYS[1]"};
  auto first = client.eval(script, {"k"}, {"v"});
  REQUIRE(first.ok());
  CHECK(first.value().str() == "vk");
  CHECK(client.metrics().script_loads == 1);  // never loaded before: NOSCRIPT, then loaded
  auto second = client.eval(script, {"k"}, {"w"});
  CHECK(second.value().str() == "wk");
  CHECK(client.metrics().script_loads == 1);  // cached: one EVALSHA
  REQUIRE(client.command({"SCRIPT", "FLUSH"}).ok());
  auto third = client.eval(script, {"k"}, {"x"});
  REQUIRE(third.ok());
  CHECK(third.value().str() == "xk");
  CHECK(client.metrics().script_loads == 2);
}

TEST_CASE("an unreachable server backs off and reconnects when it returns", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::manual_clock clock;
  bulwark::redis_client<bulwark::manual_clock> client(
      {.port = server->port(), .reconnect_min = 100ms, .reconnect_max = 1s}, clock);
  REQUIRE(client.command({"PING"}).ok());
  CHECK(client.metrics().connects == 1);

  server->stop();
  // The open connection breaks: no answer, and the next call may reconnect at once.
  CHECK(client.command({"PING"}).status() == bulwark::redis_status::unavailable);
  CHECK(client.command({"PING"}).status() == bulwark::redis_status::unavailable);
  CHECK(client.metrics().connect_failures == 1);
  // Backing off: calls fail at once without trying to connect.
  for (int i = 0; i < 5; ++i)
    CHECK(client.command({"PING"}).status() == bulwark::redis_status::unavailable);
  CHECK(client.metrics().connect_failures == 1);
  // The first backoff is drawn from [50ms, 100ms]: after 100ms one attempt is due.
  clock.advance(100ms);
  CHECK(client.command({"PING"}).status() == bulwark::redis_status::unavailable);
  CHECK(client.metrics().connect_failures == 2);

  server->start();
  CHECK(client.command({"PING"}).status() == bulwark::redis_status::unavailable);  // backoff
  clock.advance(1s);
  const auto pong = client.command({"PING"});
  REQUIRE(pong.ok());
  CHECK(pong.value().str() == "PONG");
  CHECK(client.metrics().connects == 2);
}

TEST_CASE("a server error reply is an answer, not an outage", "[redis]") {
  auto server = bulwark_test::server_or_skip();
  if (!server) return;
  bulwark::redis_client<> client({.port = server->port()});
  const auto r = client.command({"NO-SUCH-COMMAND"});
  CHECK(r.status() == bulwark::redis_status::ok);
  CHECK(!r.ok());
  CHECK(r.value().is_error());
  CHECK(client.metrics().unavailable == 0);
}
