#include <bulwark/hashing/anchor_hash.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

namespace {

std::vector<std::string> owners(const bulwark::anchor_hash& a, std::size_t keys) {
  std::vector<std::string> out;
  out.reserve(keys);
  for (std::uint64_t i = 0; i < keys; ++i)
    out.push_back(a.node_for_hash(key_hash(i)).name);
  return out;
}

}  // namespace

TEST_CASE("anchor_hash with every bucket working is h mod a", "[hashing]") {
  // No bucket removed: GETBUCKET returns H(k) mod a at once.
  const bulwark::anchor_hash a{make_nodes(8), {.capacity = 8}};
  for (std::uint64_t h = 0; h < 64; ++h)
    CHECK(a.index_for_hash(h) == h % 8);
}

TEST_CASE("anchor_hash removal moves only the removed node's keys", "[hashing]") {
  const bulwark::anchor_hash before{make_nodes(50)};
  const auto after = before.with_removed("node-13").with_removed("node-40");
  constexpr std::size_t keys = 100000;
  const auto was = owners(before, keys);
  const auto now = owners(after, keys);
  std::vector<std::size_t> received(50);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < keys; ++i) {
    if (was[i] == "node-13" || was[i] == "node-40") {
      REQUIRE(now[i] != "node-13");
      REQUIRE(now[i] != "node-40");
      ++moved;
    } else {
      REQUIRE(now[i] == was[i]);
    }
  }
  CHECK(static_cast<double>(moved) / keys == Approx(2.0 / 50).margin(0.005));
}

TEST_CASE("anchor_hash re-adding the last removed node restores the placement", "[hashing]") {
  const bulwark::anchor_hash original{make_nodes(20)};
  const auto removed = original.with_removed("node-3");
  const auto restored = removed.with_added({.name = "node-3"});
  CHECK(restored.bucket_of(restored.nodes().size() - 1) == 3);
  CHECK(owners(restored, 20000) == owners(original, 20000));
}

TEST_CASE("anchor_hash adding moves keys only to the new node", "[hashing]") {
  const bulwark::anchor_hash before{make_nodes(30), {.capacity = 64}};
  const auto after = before.with_added({.name = "fresh"});
  const auto was = owners(before, 50000);
  const auto now = owners(after, 50000);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < was.size(); ++i) {
    if (was[i] != now[i]) {
      REQUIRE(now[i] == "fresh");
      ++moved;
    }
  }
  CHECK(static_cast<double>(moved) / 50000 == Approx(1.0 / 31).margin(0.004));
}

TEST_CASE("anchor_hash balances after many removals", "[hashing]") {
  auto a = bulwark::anchor_hash{make_nodes(40), {.capacity = 100}};
  for (int n : {1, 7, 22, 30, 31, 39, 0, 18})
    a = a.with_removed("node-" + std::to_string(n));
  REQUIRE(a.nodes().size() == 32);
  std::vector<std::size_t> count(32);
  constexpr std::size_t keys = 320000;
  for (std::uint64_t i = 0; i < keys; ++i)
    ++count[a.index_for_hash(key_hash(i))];
  for (auto c : count)
    CHECK(static_cast<double>(c) / (keys / 32) == Approx(1.0).margin(0.05));
}

TEST_CASE("anchor_hash refuses beyond its capacity and bad options", "[hashing]") {
  const bulwark::anchor_hash full{make_nodes(4), {.capacity = 4}};
  CHECK_THROWS_AS(full.with_added({.name = "x"}), std::length_error);
  CHECK_THROWS_WITH((bulwark::anchor_hash{make_nodes(4), {.capacity = 3}}),
                    "bulwark::anchor_hash: capacity must be >= 4 (got 3)");
  CHECK_THROWS_WITH(full.with_removed("nope"),
                    "bulwark::anchor_hash: removed node must be a member (got \"nope\")");
  CHECK_THROWS_WITH(full.with_added({.name = "node-1"}),
                    "bulwark::anchor_hash: node name must be unique (got \"node-1\")");
  CHECK(bulwark::anchor_hash{make_nodes(4)}.options().capacity == 64);
}
