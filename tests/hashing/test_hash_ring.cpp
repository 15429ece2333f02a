#include <algorithm>
#include <array>
#include <bulwark/hashing/hash_ring.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

namespace {

std::vector<bulwark::node> envoy_hosts(const std::string& prefix) {
  std::vector<bulwark::node> hosts;
  for (int port = 90; port <= 95; ++port)
    hosts.push_back({.name = prefix + std::to_string(port)});
  return hosts;
}

}  // namespace

TEST_CASE("hash_ring equals Envoy's ring for its published test ring", "[hashing]") {
  // Envoy's RingHashLoadBalancerTest.Basic: hosts 127.0.0.1:90..95, minimum_ring_size 12,
  // xxHash64; the ring it documents, port by position.
  const bulwark::hash_ring ring{envoy_hosts("127.0.0.1:"), {.min_ring_size = 12}};
  struct point {
    int port;
    std::uint64_t position;
  };
  constexpr std::array<point, 12> expected{{{94, 833437586790550860ULL},
                                            {92, 928266305478181108ULL},
                                            {90, 1033482794131418490ULL},
                                            {95, 3551244743356806947ULL},
                                            {93, 3851675632748031481ULL},
                                            {91, 5583722120771150861ULL},
                                            {91, 6311230543546372928ULL},
                                            {93, 7700377290971790572ULL},
                                            {95, 13144177310400110813ULL},
                                            {92, 13444792449719432967ULL},
                                            {94, 15516499411664133160ULL},
                                            {90, 16117243373044804889ULL}}};
  REQUIRE(ring.points().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(ring.points()[i] == expected[i].position);
    CHECK(ring.nodes()[ring.owners()[i]].name == "127.0.0.1:" + std::to_string(expected[i].port));
  }
  // Envoy's chooseHost expectations for the same ring (host index = port - 90).
  CHECK(ring.index_for_hash(0) == 4);
  CHECK(ring.index_for_hash(std::numeric_limits<std::uint64_t>::max()) == 4);  // wraps
  CHECK(ring.index_for_hash(3551244743356806947ULL) == 5);                     // exactly on a point
  CHECK(ring.index_for_hash(3551244743356806948ULL) == 3);                     // just past it
  CHECK(ring.index_for_hash(16117243373044804880ULL) == 0);
}

TEST_CASE("hash_ring equals Envoy's ring when hashing hostnames", "[hashing]") {
  // Envoy's BasicWithHostname: hosts named "90".."95".
  const bulwark::hash_ring ring{envoy_hosts(""), {.min_ring_size = 12}};
  constexpr std::array<std::uint64_t, 12> positions{
      1975508444536362413ULL,  2376063919839173711ULL,  2386806903309390596ULL,
      6749904478991551885ULL,  6803900775736438537ULL,  7225015537174310577ULL,
      8787465352164086522ULL,  11282020843382717940ULL, 13723418369486627818ULL,
      13776502110861797421ULL, 14338313586354474791ULL, 15364271037087512980ULL};
  constexpr std::array<int, 12> ports{95, 95, 93, 94, 93, 92, 90, 92, 91, 90, 91, 94};
  REQUIRE(ring.points().size() == 12);
  for (std::size_t i = 0; i < 12; ++i) {
    CHECK(ring.points()[i] == positions[i]);
    CHECK(ring.nodes()[ring.owners()[i]].name == std::to_string(ports[i]));
  }
  CHECK(ring.index_for_hash(0) == 5);
  CHECK(ring.index_for_hash(7225015537174310577ULL) == 2);
  CHECK(ring.index_for_hash(6803900775736438537ULL) == 3);
}

TEST_CASE("hash_ring sizes the ring as Envoy does", "[hashing]") {
  SECTION("equal weights: ceil(min_ring_size / n) points each") {
    // scale = ceil(1/6 * 1024) / (1/6) = 171 * 6 = 1026 points, 171 per host.
    const bulwark::hash_ring ring{envoy_hosts("127.0.0.1:")};
    CHECK(ring.points().size() == 1026);
  }
  SECTION("weights scale the points: the lightest gets ceil(w_min * min_ring_size)") {
    // Weights 1, 2, 3 (normalised 1/6, 2/6, 3/6); scale = ceil(1024 / 6) * 6 = 1026:
    // 171, 342 and 513 points.
    const bulwark::hash_ring ring{
        {{.name = "a", .weight = 1}, {.name = "b", .weight = 2}, {.name = "c", .weight = 3}}};
    std::array<std::size_t, 3> count{};
    for (const auto owner : ring.owners())
      ++count[owner];
    CHECK(count[0] == 171);
    CHECK(count[1] == 342);
    CHECK(count[2] == 513);
  }
  SECTION("max_ring_size caps the ring") {
    // Weights 1 and 100: scale = ceil(60 / 101) * 101 = 101 > 60, so scale = 60; the light
    // node's target 60/101 < 1 still earns it one point (current 0 < target), the heavy 59.
    const bulwark::hash_ring ring{{{.name = "a", .weight = 1}, {.name = "b", .weight = 100}},
                                  {.min_ring_size = 60, .max_ring_size = 60}};
    CHECK(ring.points().size() == 60);
    CHECK(std::count(ring.owners().begin(), ring.owners().end(), 0U) == 1);
  }
}

TEST_CASE("hash_ring weights hold over many keys", "[hashing]") {
  const bulwark::hash_ring ring{{{.name = "a", .weight = 1}, {.name = "b", .weight = 3}},
                                {.min_ring_size = 4000}};
  std::array<double, 2> count{};
  constexpr int keys = 200000;
  for (std::uint64_t i = 0; i < keys; ++i)
    count[ring.index_for_hash(key_hash(i))] += 1;
  CHECK(count[1] / keys == Approx(0.75).margin(0.03));
}

TEST_CASE("hash_ring candidates walk the ring clockwise, each node once", "[hashing]") {
  const bulwark::hash_ring ring{envoy_hosts("127.0.0.1:"), {.min_ring_size = 12}};
  // From hash 0 the points met are owned by 94, 92, 90, 95, 93, 91 (see the published ring).
  std::vector<std::size_t> order;
  ring.for_each_candidate(0, [&](std::size_t i) {
    order.push_back(i);
    return true;
  });
  CHECK(order == std::vector<std::size_t>{4, 2, 0, 5, 3, 1});
  // From just past the last point, it wraps to the first.
  order.clear();
  ring.for_each_candidate(16117243373044804890ULL, [&](std::size_t i) {
    order.push_back(i);
    return order.size() < 2;
  });
  CHECK(order == std::vector<std::size_t>{4, 2});
}

TEST_CASE("hash_ring rejects bad options", "[hashing]") {
  CHECK_THROWS_WITH((bulwark::hash_ring{make_nodes(3), {.min_ring_size = 0}}),
                    "bulwark::hash_ring: min_ring_size must be > 0 (got 0)");
  CHECK_THROWS_WITH((bulwark::hash_ring{make_nodes(3), {.min_ring_size = 20, .max_ring_size = 10}}),
                    "bulwark::hash_ring: max_ring_size must be >= 20 (got 10)");
  CHECK_THROWS_WITH(bulwark::hash_ring(make_nodes(3)).with_removed("nope"),
                    "bulwark::hash_ring: removed node must be a member (got \"nope\")");
  CHECK_THROWS_WITH(bulwark::hash_ring({{.name = "a", .weight = 0}}),
                    "bulwark::hash_ring: node weight must be >= 1 (got 0)");
}

TEST_CASE("hash_ring points_per_weight gives each node weight x points", "[hashing]") {
  // Equal weights: the same ring as Envoy's sizing with min_ring_size = points x nodes.
  const bulwark::hash_ring fixed{make_nodes(10), {.points_per_weight = 160}};
  const bulwark::hash_ring envoy{make_nodes(10), {.min_ring_size = 1600}};
  CHECK(std::vector<std::uint64_t>(fixed.points().begin(), fixed.points().end()) ==
        std::vector<std::uint64_t>(envoy.points().begin(), envoy.points().end()));
  const bulwark::hash_ring weighted{{{.name = "a", .weight = 1}, {.name = "b", .weight = 3}},
                                    {.points_per_weight = 5}};
  CHECK(weighted.points().size() == 20);
  // Removing a node leaves the others' points exactly in place.
  const auto smaller = fixed.with_removed("node-4");
  CHECK(smaller.points().size() == 1440);
  for (std::size_t p = 0; p < smaller.points().size(); ++p) {
    REQUIRE(std::binary_search(fixed.points().begin(), fixed.points().end(), smaller.points()[p]));
  }
  CHECK_THROWS_WITH(
      (bulwark::hash_ring{make_nodes(10), {.max_ring_size = 1024, .points_per_weight = 160}}),
      "bulwark::hash_ring: points_per_weight must be at most max_ring_size / total "
      "weight (got 160)");
}
