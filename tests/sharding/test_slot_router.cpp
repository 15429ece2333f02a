#include <bulwark/core/random.hpp>
#include <bulwark/sharding/slot_router.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

using bulwark::redis_key_slot;
using bulwark::slot_range;
using bulwark::slot_router;

TEST_CASE("crc16_xmodem matches the CRC-16/XMODEM check value", "[sharding]") {
  STATIC_REQUIRE(bulwark::crc16_xmodem("123456789") == 0x31C3);
  CHECK(bulwark::crc16_xmodem("") == 0);
}

TEST_CASE("redis_key_slot answers as CLUSTER KEYSLOT", "[sharding]") {
  STATIC_REQUIRE(redis_key_slot("somekey") == 11058);
  CHECK(redis_key_slot("foo") == 12182);
  CHECK(redis_key_slot("bar") == 5061);
  CHECK(redis_key_slot("hello") == 866);
  CHECK(redis_key_slot("") == 0);
}

TEST_CASE("redis_key_slot hashes only a non-empty hash tag", "[sharding]") {
  CHECK(redis_key_slot("foo{hash_tag}") == 2515);
  CHECK(redis_key_slot("bar{hash_tag}") == 2515);
  CHECK(redis_key_slot("{user1}.following") == 8106);
  CHECK(redis_key_slot("{user1}.followers") == 8106);
  // An empty tag hashes the whole key; the tag ends at the first '}' after the first '{'.
  CHECK(bulwark::redis_hash_tag("foo{}{bar}") == "foo{}{bar}");
  CHECK(redis_key_slot("foo{}{bar}") == (bulwark::crc16_xmodem("foo{}{bar}") & 16383));
  CHECK(bulwark::redis_hash_tag("foo{{bar}}zap") == "{bar");
  CHECK(redis_key_slot("foo{{bar}}zap") == redis_key_slot("{bar"));
  CHECK(bulwark::redis_hash_tag("foo{bar}{zap}") == "bar");
  CHECK(redis_key_slot("foo{bar}{zap}") == redis_key_slot("bar"));
  // No closing brace: the whole key.
  CHECK(bulwark::redis_hash_tag("foo{bar") == "foo{bar");
  CHECK(bulwark::redis_hash_tag("}foo{bar}") == "bar");
}

TEST_CASE("slot_router::evenly splits slots as redis-cli --cluster create", "[sharding]") {
  const auto three = slot_router::evenly({"a", "b", "c"});
  CHECK(three.slots() == std::vector<slot_range>{
                             {0, 5460, "a", ""}, {5461, 10922, "b", ""}, {10923, 16383, "c", ""}});
  const auto six = slot_router::evenly({"m1", "m2", "m3", "m4", "m5", "m6"});
  std::vector<std::pair<int, int>> bounds;
  for (const auto& r : six.slots())
    bounds.emplace_back(r.first, r.last);
  CHECK(bounds ==
        std::vector<std::pair<int, int>>{
            {0, 2730}, {2731, 5460}, {5461, 8191}, {8192, 10922}, {10923, 13652}, {13653, 16383}});
  const auto one = slot_router::evenly({"solo"});
  CHECK(one.slots() == std::vector<slot_range>{{0, 16383, "solo", ""}});
}

TEST_CASE("slot_router routes each key to the owner of its slot", "[sharding]") {
  const slot_router cluster({{0, 99, "a", ""}, {100, 16000, "b", ""}, {16001, 16383, "a", ""}});
  REQUIRE(cluster.shards().size() == 2);
  bulwark::fast_rng rng{42};
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "key:" + std::to_string(bulwark::uniform_below(rng, 1'000'000));
    const std::uint16_t slot = redis_key_slot(key);
    const std::string expected = (slot <= 99 || slot >= 16001) ? "a" : "b";
    INFO(key << " in slot " << slot);
    CHECK(cluster.shards()[cluster.shard_for(key)] == expected);
    CHECK(cluster.shard_for_slot(slot) == cluster.shard_for(key));
    CHECK_FALSE(cluster.route(key).migrating());
  }
  // Keys sharing a hash tag share a shard.
  CHECK(cluster.shard_for("{user1}.following") == cluster.shard_for("{user1}.followers"));
}

TEST_CASE("slot_router accepts ranges in any order and lists them merged", "[sharding]") {
  const slot_router cluster({{8192, 16383, "b", ""}, {0, 4095, "a", ""}, {4096, 8191, "a", ""}});
  CHECK(cluster.slots() == std::vector<slot_range>{{0, 8191, "a", ""}, {8192, 16383, "b", ""}});
}

TEST_CASE("slot_router refuses ranges that do not cover every slot once", "[sharding]") {
  CHECK_THROWS_WITH(slot_router({{0, 100, "a", ""}, {100, 16383, "b", ""}}),
                    "bulwark::slot_router: slot ranges must be non-overlapping, but this slot is "
                    "in two (got 100)");
  CHECK_THROWS_WITH(slot_router({{0, 99, "a", ""}, {101, 16383, "b", ""}}),
                    "bulwark::slot_router: slot ranges must be gap-free, but this slot has no "
                    "owner (got 100)");
  CHECK_THROWS_WITH(slot_router({{0, 16000, "a", ""}}),
                    "bulwark::slot_router: slot ranges must be gap-free, but this slot has no "
                    "owner (got 16001)");
  CHECK_THROWS_WITH(slot_router({{1, 16383, "a", ""}}),
                    "bulwark::slot_router: slot ranges must be gap-free, but this slot has no "
                    "owner (got 0)");
  CHECK_THROWS_WITH(slot_router({{0, 16384, "a", ""}}),
                    "bulwark::slot_router: range last slot must be <= 16383 (got 16384)");
  CHECK_THROWS_WITH(slot_router({{0, 10, "a", ""}, {20, 11, "b", ""}}),
                    "bulwark::slot_router: range first slot must be <= its last slot (got 20)");
  CHECK_THROWS_WITH(slot_router({{0, 16383, "", ""}}),
                    "bulwark::slot_router: shard name must be non-empty (got \"\")");
  CHECK_THROWS_WITH(slot_router(std::vector<slot_range>{}),
                    "bulwark::slot_router: ranges must be non-empty (got 0)");
  CHECK_THROWS_AS(slot_router::evenly({"a", "a"}), std::invalid_argument);
  CHECK_THROWS_AS(slot_router::evenly(std::vector<std::string>{}), std::invalid_argument);
}

TEST_CASE("slot_router migrations follow MIGRATING, IMPORTING and SETSLOT NODE", "[sharding]") {
  const auto cluster = slot_router::evenly({"a", "b", "c"});
  const std::string key = "somekey";  // slot 11058, owned by c
  REQUIRE(cluster.shards()[cluster.shard_for(key)] == "c");

  const auto moving = cluster.begin_migration(11000, 11100, "d");
  const auto route = moving.route(key);
  CHECK(route.migrating());
  CHECK(moving.shards()[route.owner] == "c");
  CHECK(moving.shards()[route.migrating_to] == "d");
  CHECK(moving.shards()[moving.shard_for(key)] == "c");  // the owner still answers
  CHECK_FALSE(moving.route("foo").migrating());          // slot 12182 is not moving
  CHECK(moving.slots() == std::vector<slot_range>{{0, 5460, "a", ""},
                                                  {5461, 10922, "b", ""},
                                                  {10923, 10999, "c", ""},
                                                  {11000, 11100, "c", "d"},
                                                  {11101, 16383, "c", ""}});
  CHECK_THROWS_WITH(
      moving.begin_migration(11100, 11200, "b"),
      "bulwark::slot_router: migrated slots must be not already migrating (got 11100)");
  CHECK_THROWS_AS(cluster.begin_migration(0, 10, "a"), std::invalid_argument);  // to its owner

  const auto done = moving.finish_migration(11000, 11100);
  CHECK(done.shards()[done.shard_for(key)] == "d");
  CHECK_FALSE(done.route(key).migrating());
  const auto undone = moving.cancel_migration(11000, 11100);
  CHECK(undone.slots() == cluster.slots());
  CHECK_THROWS_WITH(moving.finish_migration(10990, 11000),
                    "bulwark::slot_router: slots must be migrating (got 10990)");
  CHECK_THROWS_WITH(moving.assign(11050, 11050, "a"),
                    "bulwark::slot_router: assigned slots must be not migrating (got 11050)");

  const auto assigned = cluster.assign(0, 16383, "z");
  CHECK(assigned.slots() == std::vector<slot_range>{{0, 16383, "z", ""}});
  CHECK_THROWS_WITH(cluster.assign(10, 5, "a"),
                    "bulwark::slot_router: first slot must be <= last slot (got 10)");
  CHECK_THROWS_WITH(cluster.assign(0, 16384, "a"),
                    "bulwark::slot_router: last slot must be <= 16383 (got 16384)");
}
