#include <array>
#include <bulwark/hashing/jump_hash.hpp>
#include <cstdint>
#include <string>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

TEST_CASE("jump_hash matches the published vectors", "[hashing]") {
  // Hash(1, n) for n = 1..19 and Hash(i, 100) for i = 0..19, as published with the paper's
  // algorithm (and reproduced by its other implementations).
  constexpr std::array<std::int32_t, 19> one_by_n{0, 0, 0, 0, 0, 0, 6, 6,  6, 6,
                                                  6, 6, 6, 6, 6, 6, 6, 17, 17};
  for (std::int32_t n = 1; n <= 19; ++n) {
    CHECK(bulwark::jump_hash(1, n) == one_by_n[static_cast<std::size_t>(n - 1)]);
  }
  constexpr std::array<std::int32_t, 20> i_by_100{0,  55, 62, 8,  45, 59, 86, 97, 82, 59,
                                                  73, 37, 17, 56, 86, 21, 90, 37, 38, 83};
  for (std::uint64_t i = 0; i < 20; ++i)
    CHECK(bulwark::jump_hash(i, 100) == i_by_100[i]);
  static_assert(bulwark::jump_hash(1, 19) == 17, "usable in constant expressions");
}

TEST_CASE("jump_hash: one bucket takes everything, no bucket gives -1", "[hashing]") {
  for (std::uint64_t i = 0; i < 1000; ++i)
    REQUIRE(bulwark::jump_hash(key_hash(i), 1) == 0);
  CHECK(bulwark::jump_hash(42, 0) == -1);
  CHECK(bulwark::jump_hash(42, -5) == -1);
}

TEST_CASE("jump_hash: growing n to n + 1 moves keys only to the new bucket", "[hashing]") {
  std::size_t moved = 0;
  constexpr std::size_t keys = 100000;
  for (std::uint64_t i = 0; i < keys; ++i) {
    const auto before = bulwark::jump_hash(key_hash(i), 10);
    const auto after = bulwark::jump_hash(key_hash(i), 11);
    if (before != after) {
      REQUIRE(after == 10);
      ++moved;
    }
  }
  // 1/11 of the keys, within a few standard deviations (sd ~ 0.09%).
  CHECK(static_cast<double>(moved) / keys == Approx(1.0 / 11).margin(0.005));
}

TEST_CASE("jump_nodes maps to the node of the jump bucket", "[hashing]") {
  const bulwark::jump_nodes j{make_nodes(100)};
  for (std::uint64_t i = 0; i < 20; ++i) {
    CHECK(j.node_for_hash(i).name == "node-" + std::to_string(bulwark::jump_hash(i, 100)));
  }
  CHECK(j.node_for("user:1").name == j.node_for_hash(bulwark::hash64("user:1")).name);
}

TEST_CASE("jump_nodes removes only the last node", "[hashing]") {
  const bulwark::jump_nodes j{make_nodes(5)};
  const auto shorter = j.with_removed("node-4");
  CHECK(shorter.nodes().size() == 4);
  CHECK_THROWS_WITH(j.with_removed("node-2"),
                    "bulwark::jump_nodes: removed node must be the last node (jump hash can only "
                    "remove the last bucket) (got \"node-2\")");
  const auto longer = j.with_added({.name = "node-5"});
  CHECK(longer.nodes().back().name == "node-5");
}

TEST_CASE("jump_nodes rejects bad node lists", "[hashing]") {
  CHECK_THROWS_WITH(bulwark::jump_nodes{std::vector<bulwark::node>{}},
                    "bulwark::jump_nodes: nodes must be non-empty (got 0)");
  CHECK_THROWS_WITH(bulwark::jump_nodes({{.name = "a"}, {.name = "a"}}),
                    "bulwark::jump_nodes: node name must be unique (got \"a\")");
  CHECK_THROWS_WITH(bulwark::jump_nodes({{.name = "a", .weight = 2}}),
                    "bulwark::jump_nodes: node weight must be 1 (got 2)");
  CHECK_THROWS_WITH(bulwark::jump_nodes({{.name = ""}}),
                    "bulwark::jump_nodes: node name must be non-empty (got \"\")");
}

TEST_CASE("jump_nodes candidates visit every node once, owner first", "[hashing]") {
  const bulwark::jump_nodes j{make_nodes(17)};
  for (std::uint64_t i = 0; i < 50; ++i) {
    std::vector<int> seen(17, 0);
    std::size_t first = 99;
    j.for_each_candidate(key_hash(i), [&](std::size_t n) {
      if (first == 99) first = n;
      ++seen[n];
      return true;
    });
    CHECK(first == j.index_for_hash(key_hash(i)));
    for (int s : seen)
      REQUIRE(s == 1);
  }
}
