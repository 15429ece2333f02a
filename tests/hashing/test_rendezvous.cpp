#include <bulwark/hashing/rendezvous.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

TEST_CASE("rendezvous picks the highest draw, by definition", "[hashing]") {
  const auto nodes = make_nodes(7);
  const bulwark::rendezvous r{nodes};
  for (std::uint64_t i = 0; i < 200; ++i) {
    const std::uint64_t h = key_hash(i);
    // The definition, spelled out: the node whose draw hash64(h, hash64(name)) is largest.
    std::size_t best = 0;
    for (std::size_t n = 1; n < nodes.size(); ++n) {
      if (bulwark::hash64(h, bulwark::hash64(nodes[n].name)) >
          bulwark::hash64(h, bulwark::hash64(nodes[best].name))) {
        best = n;
      }
    }
    REQUIRE(r.index_for_hash(h) == best);
  }
}

TEST_CASE("rendezvous weighted score is -w / ln(u)", "[hashing]") {
  const bulwark::rendezvous r{{{.name = "a", .weight = 1}, {.name = "b", .weight = 4}}};
  const std::uint64_t h = 12345;
  const std::uint64_t d = bulwark::hash64(h, bulwark::hash64("b"));
  const double u = (static_cast<double>(d >> 11) + 0.5) / 9007199254740992.0;
  CHECK(r.score(h, 1) == Approx(-4.0 / std::log(u)));
}

TEST_CASE("rendezvous weights hold exactly in expectation", "[hashing]") {
  const bulwark::rendezvous r{
      {{.name = "a", .weight = 1}, {.name = "b", .weight = 2}, {.name = "c", .weight = 7}}};
  std::vector<double> count(3);
  constexpr int keys = 200000;
  for (std::uint64_t i = 0; i < keys; ++i)
    count[r.index_for_hash(key_hash(i))] += 1;
  // Shares 0.1, 0.2, 0.7; sd at most 0.1%.
  CHECK(count[0] / keys == Approx(0.1).margin(0.006));
  CHECK(count[1] / keys == Approx(0.2).margin(0.006));
  CHECK(count[2] / keys == Approx(0.7).margin(0.006));
}

TEST_CASE("rendezvous removal moves each key to its second choice only", "[hashing]") {
  const bulwark::rendezvous before{make_nodes(20)};
  const bulwark::rendezvous after = before.with_removed("node-5");
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const std::uint64_t h = key_hash(i);
    const auto top2 = before.top(h, 2);
    const auto& now = after.node_for_hash(h).name;
    if (before.nodes()[top2[0]].name == "node-5") {
      REQUIRE(now == before.nodes()[top2[1]].name);
    } else {
      REQUIRE(now == before.nodes()[top2[0]].name);
    }
  }
}

TEST_CASE("rendezvous top-k is the ranking by score", "[hashing]") {
  const bulwark::rendezvous r{{{.name = "a", .weight = 1},
                               {.name = "b", .weight = 2},
                               {.name = "c", .weight = 3},
                               {.name = "d", .weight = 1}}};
  for (std::uint64_t i = 0; i < 100; ++i) {
    const std::uint64_t h = key_hash(i);
    const auto top = r.top(h, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0] == r.index_for_hash(h));
    CHECK(r.score(h, top[0]) >= r.score(h, top[1]));
    CHECK(r.score(h, top[1]) >= r.score(h, top[2]));
  }
  CHECK(r.top(1, 10).size() == 4);
  CHECK(r.top(1, 0).empty());
}

TEST_CASE("rendezvous seeds give independent placements", "[hashing]") {
  const bulwark::rendezvous a{make_nodes(10)};
  const bulwark::rendezvous b{make_nodes(10), {.seed = 99}};
  int same = 0;
  for (std::uint64_t i = 0; i < 1000; ++i)
    same += a.index_for_hash(key_hash(i)) == b.index_for_hash(key_hash(i));
  CHECK(same < 200);  // about 100 expected by chance
}
