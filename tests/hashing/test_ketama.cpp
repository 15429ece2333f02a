#include <array>
#include <bulwark/hashing/ketama.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

struct expected_key {
  const char* key;
  std::uint32_t hash;
  std::size_t server;
};

}  // namespace

// Expected values computed independently from the libmemcached/twemproxy description (a short
// Python program over hashlib's MD5 with float32 emulation), not from this implementation.

TEST_CASE("ketama key hash is the first four MD5 bytes, little-endian", "[hashing]") {
  // MD5("a") = 0cc175b9...: bytes 0c c1 75 b9 read little-endian.
  CHECK(bulwark::ketama::hash("a") == 0xb975c10cU);
  CHECK(bulwark::ketama::hash("") == 3649838548U);  // d41d8cd9...
}

TEST_CASE("ketama digest counts follow the anchors' float arithmetic", "[hashing]") {
  CHECK(bulwark::ketama::digests_for(1, 3, 3) == 40);
  CHECK(bulwark::ketama::digests_for(100, 650, 4) == 24);  // 24.6
  CHECK(bulwark::ketama::digests_for(200, 650, 4) == 49);  // 49.2
  CHECK(bulwark::ketama::digests_for(300, 650, 4) == 73);  // 73.8
  CHECK(bulwark::ketama::digests_for(50, 650, 4) == 12);   // 12.3
  CHECK(bulwark::ketama::digests_for(1, 1001, 2) == 0);    // too light to get a point
  // Equal weights: 40 each, except where float rounding falls just below (100 servers).
  CHECK(bulwark::ketama::digests_for(1, 99, 99) == 40);
  CHECK(bulwark::ketama::digests_for(1, 100, 100) == 39);
  CHECK(bulwark::ketama::digests_for(1, 101, 101) == 40);
}

TEST_CASE("ketama places keys as libmemcached and twemproxy do (equal weights)", "[hashing]") {
  const bulwark::ketama k{
      {{.name = "10.0.1.1:11211"}, {.name = "10.0.1.2:11211"}, {.name = "10.0.1.3:11211"}}};
  REQUIRE(k.points().size() == 480);  // 40 digests x 4 points x 3 servers
  CHECK(k.points()[0] == 4826654U);
  CHECK(k.owners()[0] == 1);
  CHECK(k.points()[1] == 10171922U);
  CHECK(k.owners()[1] == 0);
  CHECK(k.points()[2] == 24617692U);
  CHECK(k.owners()[2] == 2);
  CHECK(k.points().back() == 4284233799U);
  constexpr std::array<expected_key, 8> keys{{{"user:1", 282964413U, 0},
                                              {"user:2", 3264788475U, 2},
                                              {"session:abc", 226189362U, 1},
                                              {"", 3649838548U, 2},
                                              {"foo", 3675831724U, 1},
                                              {"bar", 421377335U, 0},
                                              {"memcached", 1357326829U, 2},
                                              {"key-42", 2735195844U, 2}}};
  for (const auto& e : keys) {
    CHECK(bulwark::ketama::hash(e.key) == e.hash);
    CHECK(k.index_for_hash(e.hash) == e.server);
    CHECK(&k.node_for(e.key) == &k.nodes()[e.server]);
  }
  // Past the last point the search wraps to the first.
  CHECK(k.index_for_hash(4284233800U) == 1);
}

TEST_CASE("ketama places keys as libmemcached and twemproxy do (weights)", "[hashing]") {
  const bulwark::ketama k{{{.name = "cache-a", .weight = 100},
                           {.name = "cache-b", .weight = 200},
                           {.name = "cache-c", .weight = 300},
                           {.name = "cache-d", .weight = 50}}};
  REQUIRE(k.points().size() == 632);  // (24 + 49 + 73 + 12) digests x 4
  CHECK(k.points()[0] == 2620787U);
  CHECK(k.owners()[0] == 2);
  CHECK(k.points().back() == 4291619620U);
  constexpr std::array<expected_key, 8> keys{{{"user:1", 282964413U, 2},
                                              {"user:2", 3264788475U, 3},
                                              {"session:abc", 226189362U, 3},
                                              {"", 3649838548U, 0},
                                              {"foo", 3675831724U, 2},
                                              {"bar", 421377335U, 2},
                                              {"memcached", 1357326829U, 1},
                                              {"key-42", 2735195844U, 2}}};
  for (const auto& e : keys)
    CHECK(k.node_for(e.key).name == k.nodes()[e.server].name);
}

TEST_CASE("ketama removal moves only the removed server's keys", "[hashing]") {
  std::vector<bulwark::node> servers;
  for (int i = 0; i < 10; ++i)
    servers.push_back({.name = "10.0.0." + std::to_string(i)});
  const bulwark::ketama before{servers};
  const auto after = before.with_removed("10.0.0.4");
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "k" + std::to_string(i);
    const auto& was = before.node_for(key).name;
    if (was != "10.0.0.4") REQUIRE(after.node_for(key).name == was);
  }
}
