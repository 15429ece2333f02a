#include <algorithm>
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

// Point counts under the two arithmetics, hand-derived from each reference's expression:
//   libmemcached/hosts.cc update_continuum and twemproxy src/hashkit/nc_ketama.c ketama_update:
//     floor((float)(pct * 160 / 4 * (float)n + 0.0000000001)), every product rounded to float;
//   libketama/ketama.c ketama_create_continuum: floorf(pct * 40.0 * (float)n), the products in
//     double (40.0 is a double), rounded once to float as floorf's argument.
// pct = (float)w / (float)W in both. Floats in [32, 64) are 2^-18 = 3.8147e-6 apart.
//
// Equal weights, n = 100: pct = (float)0.01 = 5368709 / 2^29 = 0.0099999997764825820.
//   float:  pct * 160 = 1.5999999642372131 exactly, halfway between the floats 1.5999999046
//           and 1.6000000238; ties-to-even gives 1.5999999046325684. / 4 = 0.3999999761581421;
//           * 100 = 39.999997615814209 -> float 39.999996185302734; + 1e-10 -> same float;
//           floor -> 39.
//   double: pct * 40.0 = 0.39999999105930328 (exact), * 100.0 = 39.999999105930328 (exact);
//           to float: 40 - 8.9e-7 is within half a spacing (1.9e-6) of 40 -> 40.0f; floorf -> 40.
// n = 25: pct = 5368709 / 2^27; float: 6.3999998569 -> 6.3999996185, / 4 = 1.5999999046,
//   * 25 = 39.999997616 -> 39.999996185 -> 39; double: 1.5999999642 * 25 = 39.999999106 -> 40.0f.
// n = 61: pct = 4400581 / 2^28; float: 2.6229506731 -> 2.6229505539, / 4 = 0.6557376385,
//   * 61 = 39.999995947 -> 39.999996185 -> 39; double: 0.6557376683 * 61 = 39.999997765, which
//   is nearer 39.999996185 than 40 -> 39 in both.
TEST_CASE("ketama libketama vs libmemcached arithmetic: equal weights", "[hashing]") {
  using bulwark::ketama_arithmetic;
  CHECK(bulwark::ketama::digests_for(1, 100, 100, ketama_arithmetic::libmemcached) == 39);
  CHECK(bulwark::ketama::digests_for(1, 100, 100, ketama_arithmetic::libketama) == 40);
  CHECK(bulwark::ketama::digests_for(1, 25, 25, ketama_arithmetic::libmemcached) == 39);
  CHECK(bulwark::ketama::digests_for(1, 25, 25, ketama_arithmetic::libketama) == 40);
  CHECK(bulwark::ketama::digests_for(1, 61, 61, ketama_arithmetic::libmemcached) == 39);
  CHECK(bulwark::ketama::digests_for(1, 61, 61, ketama_arithmetic::libketama) == 39);
  // Where nothing rounds below an integer both give 40 (n = 3: both products are 40.0000012).
  CHECK(bulwark::ketama::digests_for(1, 3, 3, ketama_arithmetic::libketama) == 40);

  std::vector<bulwark::node> servers;
  for (int i = 0; i < 25; ++i)
    servers.push_back({.name = "10.0.0." + std::to_string(i) + ":11211"});
  const bulwark::ketama memcached_ring{servers};
  const bulwark::ketama ketama_ring{servers, {.arithmetic = ketama_arithmetic::libketama}};
  CHECK(memcached_ring.points().size() == 25 * 39 * 4);
  CHECK(ketama_ring.points().size() == 25 * 40 * 4);
}

// Weights 21, 10, 9 (W = 40, n = 3): the float steps round up where the double product stays
// below, so here libmemcached gives more.
//   w = 21: pct = (float)0.525 = 4404019 / 2^23 = 0.52499997615814209.
//     float:  pct * 160 = 83.999996185302734 -> float 84.0 (spacing 2^-17 in [64, 128): the
//             nearest float); / 4 = 21; * 3 = 63; + 1e-10 -> 63.0f; floor -> 63.
//     double: pct * 40.0 = 20.999999046325684, * 3.0 = 62.999997138977051 (both exact); to
//             float: 62.999996185302734 (nearer than 63); floorf -> 62.
//   w = 10: pct = 0.25 exactly: 30 in both. w = 9: pct = 7549747 / 2^25 = 0.22499999403953552;
//     float: 35.999999046 -> 36.0f, / 4 * 3 = 27; double: 26.999999285 -> 27.0f: 27 in both.
// Weights 29, 29, 2 (W = 60): w = 29: pct = 16217975 / 2^25 = 0.48333331942558289;
//   float: 77.333331108 -> 77.333328247, / 4 = 19.333332062, * 3 = 57.999996185 -> 57;
//   double: 19.333332777 * 3 = 57.999998331 -> 58.0f -> 58. w = 2: 4 in both.
TEST_CASE("ketama libketama vs libmemcached arithmetic: weights", "[hashing]") {
  using bulwark::ketama_arithmetic;
  CHECK(bulwark::ketama::digests_for(21, 40, 3, ketama_arithmetic::libmemcached) == 63);
  CHECK(bulwark::ketama::digests_for(21, 40, 3, ketama_arithmetic::libketama) == 62);
  CHECK(bulwark::ketama::digests_for(10, 40, 3, ketama_arithmetic::libketama) == 30);
  CHECK(bulwark::ketama::digests_for(9, 40, 3, ketama_arithmetic::libmemcached) == 27);
  CHECK(bulwark::ketama::digests_for(9, 40, 3, ketama_arithmetic::libketama) == 27);
  CHECK(bulwark::ketama::digests_for(29, 60, 3, ketama_arithmetic::libmemcached) == 57);
  CHECK(bulwark::ketama::digests_for(29, 60, 3, ketama_arithmetic::libketama) == 58);
  CHECK(bulwark::ketama::digests_for(2, 60, 3, ketama_arithmetic::libmemcached) == 4);
  CHECK(bulwark::ketama::digests_for(2, 60, 3, ketama_arithmetic::libketama) == 4);
  // The libmemcached figures of the existing weighted test hold under libketama too.
  CHECK(bulwark::ketama::digests_for(100, 650, 4, ketama_arithmetic::libketama) == 24);
  CHECK(bulwark::ketama::digests_for(50, 650, 4, ketama_arithmetic::libketama) == 12);
}

// Placement and points for servers cache-a/b/c of weights 21, 10, 9, computed independently by
// a Python model of ketama.c and hosts.cc (hashlib MD5, float32 by struct rounding), not by
// this implementation. cache-a's 63rd digest, MD5("cache-a-62"), exists only under
// libmemcached; its points are 1350436085, 995682982, 1286161569, 384204521.
TEST_CASE("ketama locate: the owner and the point, under each arithmetic", "[hashing]") {
  using bulwark::ketama_arithmetic;
  const std::vector<bulwark::node> servers{{.name = "cache-a", .weight = 21},
                                           {.name = "cache-b", .weight = 10},
                                           {.name = "cache-c", .weight = 9}};
  const bulwark::ketama memcached_ring{servers};
  const bulwark::ketama ketama_ring{servers, {.arithmetic = ketama_arithmetic::libketama}};
  CHECK(memcached_ring.points().size() == (63 + 30 + 27) * 4);
  CHECK(ketama_ring.points().size() == (62 + 30 + 27) * 4);
  CHECK(ketama_ring.points()[0] == 16492818U);
  CHECK(ketama_ring.points().back() == 4291619620U);

  // key-16 (hash 373441630) falls on cache-a-62's last point under libmemcached; without that
  // digest libketama walks on to a cache-c point.
  CHECK(bulwark::ketama::hash("key-16") == 373441630U);
  auto at = memcached_ring.locate("key-16");
  CHECK(at.index == 0);
  CHECK(at.point == 384204521U);
  at = ketama_ring.locate("key-16");
  CHECK(at.index == 2);
  CHECK(at.point == 396141823U);
  // key-36 stays on cache-a, but on a different point.
  CHECK(memcached_ring.locate("key-36").point == 1286161569U);
  CHECK(ketama_ring.locate("key-36").point == 1291260658U);
  CHECK(ketama_ring.locate("key-36").index == 0);
  // Keys away from the extra digest land alike: user:1 -> cache-a at 285378802.
  CHECK(memcached_ring.locate("user:1").point == 285378802U);
  CHECK(ketama_ring.locate("user:1").point == 285378802U);
  CHECK(ketama_ring.locate("user:1").index == 0);
  // A hash equal to a point is claimed by that point; one past the last point wraps to the
  // first (libketama's ketama_get_server, twemproxy's ketama_dispatch).
  CHECK(memcached_ring.locate_hash(995682982U).point == 995682982U);
  CHECK(ketama_ring.locate_hash(995682982U).point == 1004925806U);
  CHECK(ketama_ring.locate_hash(995682982U).index == 1);
  CHECK(ketama_ring.locate_hash(4291619621U).point == 16492818U);
}

// The existing equal-weight vector (three 10.0.1.x servers) seen through locate: every lookup
// returns a point of the continuum, owned by index_for_hash's node.
TEST_CASE("ketama locate agrees with index_for_hash and the continuum", "[hashing]") {
  const bulwark::ketama k{
      {{.name = "10.0.1.1:11211"}, {.name = "10.0.1.2:11211"}, {.name = "10.0.1.3:11211"}}};
  CHECK(k.locate_hash(0).point == 4826654U);
  CHECK(k.locate_hash(4826655U).point == 10171922U);
  CHECK(k.locate_hash(4826655U).index == 0);
  CHECK(k.locate_hash(4284233800U).point == 4826654U);
  CHECK(k.locate_hash(4284233800U).index == 1);
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(i);
    const auto at = k.locate(key);
    REQUIRE(at.index == k.index_for_hash(bulwark::ketama::hash(key)));
    const auto it = std::lower_bound(k.points().begin(), k.points().end(), at.point);
    REQUIRE(it != k.points().end());
    REQUIRE(*it == at.point);
    REQUIRE(k.owners()[static_cast<std::size_t>(it - k.points().begin())] == at.index);
  }
}

TEST_CASE("ketama rejects an arithmetic that is not an enumerator", "[hashing]") {
  CHECK_THROWS_WITH((bulwark::ketama{{{.name = "a"}},
                                     {.arithmetic = static_cast<bulwark::ketama_arithmetic>(9)}}),
                    "bulwark::ketama: arithmetic must be libmemcached or libketama (got 9)");
}
