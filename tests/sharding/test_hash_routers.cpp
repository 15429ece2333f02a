#include <bulwark/core/hash.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/hashing/jump_hash.hpp>
#include <bulwark/hashing/ketama.hpp>
#include <bulwark/hashing/maglev.hpp>
#include <bulwark/sharding/consistent_router.hpp>
#include <bulwark/sharding/hash_mod_router.hpp>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

TEST_CASE("hash_mod_router is hash64 mod the shard count", "[sharding]") {
  const bulwark::hash_mod_router r({"s0", "s1", "s2", "s3", "s4"});
  bulwark::fast_rng rng{1};
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "order:" + std::to_string(rng());
    CHECK(r.shard_for(key) == bulwark::hash64(key) % 5);
    const std::uint64_t id = rng();
    CHECK(r.shard_for(id) == bulwark::hash64(id) % 5);
  }
  const bulwark::hash_mod_router seeded({"s0", "s1", "s2"}, {.seed = 7});
  CHECK(seeded.shard_for(std::string_view{"k"}) == bulwark::hash64("k", 7) % 3);
}

TEST_CASE("hash_mod_router spreads keys evenly", "[sharding]") {
  const bulwark::hash_mod_router r({"a", "b", "c", "d"});
  std::vector<int> counts(4);
  for (std::uint64_t i = 0; i < 40'000; ++i)
    ++counts[r.shard_for(i)];
  for (const int c : counts)
    CHECK(std::abs(c - 10'000) < 400);  // 4 standard deviations of a binomial(40000, 1/4)
}

TEST_CASE("hash_mod_router refuses bad shard lists", "[sharding]") {
  CHECK_THROWS_WITH(bulwark::hash_mod_router(std::vector<std::string>{}),
                    "bulwark::hash_mod_router: shards must be non-empty (got 0)");
  CHECK_THROWS_WITH(bulwark::hash_mod_router({"a", "a"}),
                    "bulwark::hash_mod_router: shard name must be unique (got \"a\")");
  CHECK_THROWS_WITH(bulwark::hash_mod_router({"a", ""}),
                    "bulwark::hash_mod_router: shard name must be non-empty (got \"\")");
}

TEST_CASE("consistent_router places keys as its algorithm does", "[sharding]") {
  std::vector<bulwark::node> nodes;
  for (int i = 0; i < 7; ++i)
    nodes.push_back({.name = "shard-" + std::to_string(i)});
  const bulwark::consistent_router<bulwark::maglev> r(nodes, {.table_size = 1031});
  const bulwark::consistent_router<bulwark::ketama> k(nodes);
  REQUIRE(r.shards().size() == 7);
  for (int i = 0; i < 500; ++i) {
    const std::string key = "user:" + std::to_string(i);
    CHECK(r.shards()[r.shard_for(key)] == r.algorithm().node_for(key).name);
    CHECK(k.shards()[k.shard_for(key)] == k.algorithm().node_for(key).name);
    const std::uint64_t id = static_cast<std::uint64_t>(i) * 7919;
    CHECK(r.shard_for(id) == r.algorithm().index_for_hash(bulwark::hash64(id)));
  }
}

TEST_CASE("consistent_router moves about 1/N of the keys when a shard joins", "[sharding]") {
  bulwark::consistent_router<bulwark::jump_nodes> four(
      {{.name = "s0"}, {.name = "s1"}, {.name = "s2"}, {.name = "s3"}});
  const auto five = four.with_added({.name = "s4"});
  const bulwark::hash_mod_router mod4({"s0", "s1", "s2", "s3"});
  const bulwark::hash_mod_router mod5({"s0", "s1", "s2", "s3", "s4"});
  int moved_consistent = 0;
  int moved_mod = 0;
  constexpr int keys = 20'000;
  for (std::uint64_t i = 0; i < keys; ++i) {
    const std::size_t before = four.shard_for(i);
    const std::size_t after = five.shard_for(i);
    if (before != after) {
      ++moved_consistent;
      CHECK(five.shards()[after] == "s4");  // jump hash only moves keys to the new bucket
    }
    if (mod4.shard_for(i) != mod5.shard_for(i)) ++moved_mod;
  }
  // Expected fractions: 1/5 for jump hash, 4/5 for hash mod (a key stays only when
  // h mod 4 == h mod 5, i.e. h mod 20 < 4).
  CHECK(std::abs(moved_consistent - keys / 5) < 400);
  CHECK(std::abs(moved_mod - keys * 4 / 5) < 400);
  const auto three = five.with_removed("s4").with_removed("s3");
  CHECK(three.shards().size() == 3);
  CHECK_THROWS_AS(five.with_removed("s0"), std::invalid_argument);  // jump: only the last
}
