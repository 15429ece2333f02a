#include <bulwark/sharding/directory_router.hpp>
#include <bulwark/sharding/hash_mod_router.hpp>
#include <bulwark/sharding/tag_router.hpp>
#include <stdexcept>
#include <string>

#include "catch.hpp"

TEST_CASE("directory_router overrides listed keys and falls back for the rest", "[sharding]") {
  const bulwark::hash_mod_router hashed({"users-0", "users-1", "users-big"});
  const bulwark::directory_router users({{"user:taylor", "users-big"}, {"user:ann", "users-0"}},
                                        hashed);
  CHECK(users.shards()[users.shard_for("user:taylor")] == "users-big");
  CHECK(users.shards()[users.shard_for("user:ann")] == "users-0");
  CHECK(users.overridden("user:taylor"));
  for (int i = 0; i < 200; ++i) {
    const std::string key = "user:" + std::to_string(i);
    CHECK_FALSE(users.overridden(key));
    CHECK(users.shard_for(key) == hashed.shard_for(std::string_view{key}));
  }
  CHECK(users.override_count() == 2);
}

TEST_CASE("directory_router edits return new routers", "[sharding]") {
  const bulwark::hash_mod_router hashed({"a", "b"});
  const bulwark::directory_router d({{"k", "a"}}, hashed);
  const auto moved = d.with_override("k", "b").with_override("j", "b");
  CHECK(moved.shards()[moved.shard_for("k")] == "b");
  CHECK(moved.shards()[moved.shard_for("j")] == "b");
  CHECK(d.shards()[d.shard_for("k")] == "a");
  const auto back = moved.without_override("k");
  CHECK(back.shard_for("k") == hashed.shard_for(std::string_view{"k"}));
  CHECK_THROWS_WITH(back.without_override("k"),
                    "bulwark::directory_router: removed key must be listed (got \"k\")");
  CHECK_THROWS_WITH(d.with_override("k", "c"),
                    "bulwark::directory_router: directory shard must be a shard of the fallback or "
                    "an own shard (got \"c\")");
}

TEST_CASE("directory_router refuses unknown shards, empty and repeated keys", "[sharding]") {
  const bulwark::hash_mod_router hashed({"a", "b"});
  using D = bulwark::directory_router<bulwark::hash_mod_router>;
  CHECK_THROWS_WITH(D({{"k", "nope"}}, hashed),
                    "bulwark::directory_router: directory shard must be a shard of the fallback or "
                    "an own shard (got \"nope\")");
  CHECK_THROWS_WITH(D({{"", "a"}}, hashed),
                    "bulwark::directory_router: directory key must be non-empty (got \"\")");
  CHECK_THROWS_WITH(D({{"k", "a"}, {"k", "b"}}, hashed),
                    "bulwark::directory_router: directory key must be listed once (got \"k\")");
}

TEST_CASE("tag_router routes by tag with a default", "[sharding]") {
  const bulwark::geo_router regions({{"eu", "db-eu"}, {"us", "db-us"}, {"ca", "db-us"}}, "db-us");
  CHECK(regions.shards().size() == 2);
  CHECK(regions.default_shard() == "db-us");
  CHECK(regions.shards()[regions.shard_for("eu")] == "db-eu");
  CHECK(regions.shards()[regions.shard_for("ca")] == "db-us");
  CHECK(regions.shards()[regions.shard_for("mars")] == "db-us");
  CHECK(regions.listed("eu"));
  CHECK_FALSE(regions.listed("mars"));
  CHECK_THROWS_WITH(bulwark::tag_router({{"eu", "a"}, {"eu", "b"}}, "a"),
                    "bulwark::tag_router: tag must be listed once (got \"eu\")");
  CHECK_THROWS_WITH(bulwark::tag_router({{"", "a"}}, "a"),
                    "bulwark::tag_router: tag must be non-empty (got \"\")");
  CHECK_THROWS_WITH(bulwark::tag_router({{"eu", ""}}, "a"),
                    "bulwark::tag_router: shard name must be non-empty (got \"\")");
  CHECK_THROWS_WITH(bulwark::tag_router({}, ""),
                    "bulwark::tag_router: default shard must be non-empty (got \"\")");
}

TEST_CASE("directory_router gives listed keys shards of their own", "[sharding]") {
  const bulwark::hash_mod_router hashed({"users-0", "users-1"});
  const bulwark::directory_router users({{"user:taylor", "users-vip"}}, hashed, {"users-vip"});
  REQUIRE(users.shards().size() == 3);
  CHECK(users.shards()[2] == "users-vip");
  CHECK(users.shards()[users.shard_for("user:taylor")] == "users-vip");
  for (int i = 0; i < 500; ++i) {
    const std::string key = "user:" + std::to_string(i);
    CHECK(users.shard_for(key) < 2);  // nobody else lands on the own shard
  }
  using D = bulwark::directory_router<bulwark::hash_mod_router>;
  CHECK_THROWS_WITH(D({}, hashed, {"users-0"}),
                    "bulwark::directory_router: own shard must be unique and not a shard of the "
                    "fallback (got \"users-0\")");
  CHECK_THROWS_WITH(D({}, hashed, {""}),
                    "bulwark::directory_router: own shard must be non-empty (got \"\")");
}

TEST_CASE("directory_router keeps its entries over a resharded fallback", "[sharding]") {
  const bulwark::directory_router users({{"b", "users-vip"}, {"a", "users-1"}},
                                        bulwark::hash_mod_router({"users-0", "users-1"}),
                                        {"users-vip"});
  CHECK(users.entries() ==
        std::vector<bulwark::directory_entry>{{"a", "users-1"}, {"b", "users-vip"}});
  const auto grown =
      users.with_fallback(bulwark::hash_mod_router({"users-0", "users-1", "users-2"}));
  CHECK(grown.shards().size() == 4);
  CHECK(grown.shards()[grown.shard_for("a")] == "users-1");
  CHECK(grown.shards()[grown.shard_for("b")] == "users-vip");
  CHECK(grown.shard_for("zzz") == grown.fallback().shard_for(std::string_view{"zzz"}));
  CHECK_THROWS_WITH(users.with_fallback(bulwark::hash_mod_router({"users-0"})),
                    "bulwark::directory_router: directory shard must be a shard of the fallback "
                    "or an own shard (got \"users-1\")");
}
