#include <algorithm>
#include <bulwark/hashing/anchor_hash.hpp>
#include <bulwark/hashing/hash_ring.hpp>
#include <bulwark/hashing/jump_hash.hpp>
#include <bulwark/hashing/ketama.hpp>
#include <bulwark/hashing/maglev.hpp>
#include <bulwark/hashing/rendezvous.hpp>
#include <bulwark/hashing/replicas.hpp>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

namespace {

template <class Algorithm>
void check_distinct_owner_first(const Algorithm& a) {
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto r = bulwark::replicas(a, key_hash(i), 3);
    REQUIRE(r.size() == 3);
    CHECK(r[0] == a.index_for_hash(key_hash(i)));
    CHECK(std::set<std::size_t>(r.begin(), r.end()).size() == 3);
  }
}

}  // namespace

TEST_CASE("replicas are distinct and start with the owner, for every algorithm", "[hashing]") {
  const auto nodes = make_nodes(12);
  check_distinct_owner_first(bulwark::hash_ring{nodes});
  check_distinct_owner_first(bulwark::maglev{nodes, {.table_size = 1009}});
  check_distinct_owner_first(bulwark::rendezvous{nodes});
  check_distinct_owner_first(bulwark::jump_nodes{nodes});
  check_distinct_owner_first(bulwark::anchor_hash{nodes});
  check_distinct_owner_first(bulwark::ketama{nodes});
}

TEST_CASE("replicas of rendezvous are its top-k", "[hashing]") {
  const bulwark::rendezvous r{make_nodes(9)};
  for (std::uint64_t i = 0; i < 50; ++i)
    CHECK(bulwark::replicas(r, key_hash(i), 4) == r.top(key_hash(i), 4));
}

TEST_CASE("replicas spread over zones before sharing one", "[hashing]") {
  // 12 nodes over 3 zones (z0, z1, z2 by index mod 3).
  const bulwark::hash_ring ring{make_nodes(12, "node-", 3)};
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto r = bulwark::replicas(ring, key_hash(i), 3, {.spread_zones = true});
    REQUIRE(r.size() == 3);
    CHECK(r[0] == ring.index_for_hash(key_hash(i)));
    std::set<std::string> zones;
    for (auto n : r)
      zones.insert(ring.nodes()[n].zone);
    CHECK(zones.size() == 3);
  }
  // More replicas than zones: the fourth shares a zone, and it is the first skipped node.
  const auto r = bulwark::replicas(ring, key_hash(1), 5, {.spread_zones = true});
  REQUIRE(r.size() == 5);
  CHECK(std::set<std::size_t>(r.begin(), r.end()).size() == 5);
  std::vector<std::size_t> order;
  ring.for_each_candidate(key_hash(1), [&](std::size_t n) {
    order.push_back(n);
    return true;
  });
  std::vector<std::size_t> skipped;
  std::set<std::string> zones;
  for (auto n : order) {
    if (!zones.insert(ring.nodes()[n].zone).second) skipped.push_back(n);
  }
  CHECK(r[3] == skipped[0]);
  CHECK(r[4] == skipped[1]);
}

TEST_CASE("replicas: fewer nodes than asked gives every node", "[hashing]") {
  const bulwark::maglev m{make_nodes(3), {.table_size = 101}};
  CHECK(bulwark::replicas(m, "k", 10).size() == 3);
  CHECK(bulwark::replicas(m, "k", 0).empty());
}
