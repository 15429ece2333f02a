#include <algorithm>
#include <bulwark/hashing/bounded_load.hpp>
#include <bulwark/hashing/hash_ring.hpp>
#include <bulwark/hashing/maglev.hpp>
#include <bulwark/hashing/rendezvous.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

TEST_CASE("bounded_load slots follow HAProxy's arithmetic", "[hashing]") {
  // Worked by hand from chash_server_is_eligible: T = ceil((L + 1) * f / 100), then
  // w * floor(T / W) + ((c + w) * (T mod W)) / W - (c * (T mod W)) / W, at least 1.
  SECTION("three equal nodes, factor 125") {
    const bulwark::bounded_load b{bulwark::rendezvous{make_nodes(3)}, {.balance_factor = 125}};
    // L = 0: T = 2, slots 0 -> 1, 1, 1.
    CHECK(b.slots(0, 0) == 1);
    CHECK(b.slots(1, 0) == 1);
    CHECK(b.slots(2, 0) == 1);
    // L = 5: T = 8, per weight 2, remainder 2: 2 + 0, 2 + 1, 2 + 1.
    CHECK(b.slots(0, 5) == 2);
    CHECK(b.slots(1, 5) == 3);
    CHECK(b.slots(2, 5) == 3);
  }
  SECTION("weights 1 and 3, factor 150") {
    const bulwark::bounded_load b{
        bulwark::rendezvous{{{.name = "a", .weight = 1}, {.name = "b", .weight = 3}}},
        {.balance_factor = 150}};
    // L = 9: T = 15, W = 4, per weight 3, remainder 3: a 3 + 0, b 9 + 3.
    CHECK(b.slots(0, 9) == 3);
    CHECK(b.slots(1, 9) == 12);
  }
}

TEST_CASE("bounded_load skips a full node for the next candidate", "[hashing]") {
  const bulwark::hash_ring ring{make_nodes(4), {.min_ring_size = 400}};
  const bulwark::bounded_load b{ring, {.balance_factor = 125}};
  const std::uint64_t h = key_hash(7);
  const std::size_t owner = ring.index_for_hash(h);
  std::vector<std::uint64_t> loads(4, 2);
  CHECK(b.index_for_hash(h, loads) == owner);  // L = 8: T = 12, 3 slots each, load 2 fits
  loads[owner] = 3;                            // L = 9: T = 13, slots 3 or 4
  std::size_t second = 99;
  int seen = 0;
  ring.for_each_candidate(h, [&](std::size_t i) {
    if (++seen == 2) second = i;
    return seen < 2;
  });
  if (b.slots(owner, 9) == 3) {
    CHECK(b.index_for_hash(h, loads) == second);
  } else {
    CHECK(b.index_for_hash(h, loads) == owner);
  }
  // Every node full: the owner, as HAProxy falls back to its first choice.
  std::fill(loads.begin(), loads.end(), 100);
  CHECK(b.index_for_hash(h, loads) == owner);
}

TEST_CASE("bounded_load keeps every node within factor x the mean", "[hashing]") {
  const auto factor = GENERATE(110u, 125u, 200u);
  const bulwark::bounded_load b{bulwark::maglev{make_nodes(10), {.table_size = 1009}},
                                {.balance_factor = factor}};
  std::vector<bulwark::bounded_load<bulwark::maglev>::lease> leases;
  constexpr std::uint64_t keys = 5000;
  // A skewed workload: half the requests are for one hot key.
  for (std::uint64_t i = 0; i < keys; ++i)
    leases.push_back(b.acquire(key_hash(i % 2 == 0 ? 0 : i)));
  std::uint64_t peak = 0;
  for (std::size_t n = 0; n < 10; ++n)
    peak = std::max(peak, b.load(n));
  // The last placement saw L = keys - 1, so no node exceeds ceil(keys * f / 100 / 10) + 1.
  const auto bound = static_cast<std::uint64_t>(std::ceil(keys * factor / 100.0 / 10)) + 1;
  CHECK(peak <= bound);
  CHECK(b.total_load() == keys);
  leases.clear();
  CHECK(b.total_load() == 0);
  for (std::size_t n = 0; n < 10; ++n)
    CHECK(b.load(n) == 0);
}

TEST_CASE("bounded_load leases move and release once", "[hashing]") {
  const bulwark::bounded_load b{bulwark::rendezvous{make_nodes(3)}};
  auto first = b.acquire("user:1");
  const std::size_t where = first.index();
  CHECK(b.load(where) == 1);
  auto moved = std::move(first);
  CHECK(b.load(where) == 1);
  moved.release();
  moved.release();
  CHECK(b.load(where) == 0);
}

TEST_CASE("bounded_load rejects a factor below 100", "[hashing]") {
  CHECK_THROWS_WITH(
      (bulwark::bounded_load{bulwark::rendezvous{make_nodes(3)}, {.balance_factor = 99}}),
      "bulwark::bounded_load: balance_factor must be >= 100 (got 99)");
}
