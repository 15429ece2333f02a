#include <bulwark/sharding/keyspace_range.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "catch.hpp"

using bulwark::keyspace_range;
using bulwark::parse_keyspace_range;

TEST_CASE("parse_keyspace_range reads Vitess shard names", "[sharding]") {
  CHECK(parse_keyspace_range("-80") == keyspace_range{0, 0x8000000000000000ULL});
  CHECK(parse_keyspace_range("80-") == keyspace_range{0x8000000000000000ULL, std::nullopt});
  CHECK(parse_keyspace_range("40-80") ==
        keyspace_range{0x4000000000000000ULL, 0x8000000000000000ULL});
  CHECK(parse_keyspace_range("-") == keyspace_range{0, std::nullopt});
  // Longer prefixes are bytes further down; hex in either case.
  CHECK(parse_keyspace_range("4000-4080") ==
        keyspace_range{0x4000000000000000ULL, 0x4080000000000000ULL});
  CHECK(parse_keyspace_range("A0-C0") ==
        keyspace_range{0xA000000000000000ULL, 0xC000000000000000ULL});
  CHECK(parse_keyspace_range("0102030405060708-") ==
        keyspace_range{0x0102030405060708ULL, std::nullopt});
  // "80" and "8000" name the same id, as in Vitess's key range comparisons.
  CHECK(parse_keyspace_range("-80") == parse_keyspace_range("-8000"));
}

TEST_CASE("keyspace_range contains its start and not its end", "[sharding]") {
  const auto r = parse_keyspace_range("40-80");
  CHECK_FALSE(r.contains(0x3fffffffffffffffULL));
  CHECK(r.contains(0x4000000000000000ULL));
  CHECK(r.contains(0x7fffffffffffffffULL));
  CHECK_FALSE(r.contains(0x8000000000000000ULL));
  CHECK(parse_keyspace_range("c0-").contains(UINT64_MAX));
  CHECK(parse_keyspace_range("-").contains(0));
}

TEST_CASE("to_string spells key ranges canonically", "[sharding]") {
  CHECK(bulwark::to_string(parse_keyspace_range("-80")) == "-80");
  CHECK(bulwark::to_string(parse_keyspace_range("80-")) == "80-");
  CHECK(bulwark::to_string(parse_keyspace_range("-")) == "-");
  CHECK(bulwark::to_string(parse_keyspace_range("4000-80C0")) == "40-80c0");
  CHECK(bulwark::to_string(keyspace_range{0x0102030405060708ULL, UINT64_MAX}) ==
        "0102030405060708-ffffffffffffffff");
}

TEST_CASE("parse_keyspace_range refuses malformed ranges", "[sharding]") {
  CHECK_THROWS_WITH(parse_keyspace_range("80"),
                    "bulwark::keyspace_range: key range must be two hex sides around one '-' "
                    "(got \"80\")");
  CHECK_THROWS_WITH(parse_keyspace_range("40-80-c0"),
                    "bulwark::keyspace_range: key range must be two hex sides around one '-' "
                    "(got \"40-80-c0\")");
  CHECK_THROWS_WITH(parse_keyspace_range("8-"),
                    "bulwark::keyspace_range: key range must be whole hex bytes (an even digit "
                    "count) (got \"8-\")");
  CHECK_THROWS_WITH(parse_keyspace_range("x0-"),
                    "bulwark::keyspace_range: key range must be hex digits around one '-' (got "
                    "\"x0-\")");
  CHECK_THROWS_WITH(parse_keyspace_range("80-40"),
                    "bulwark::keyspace_range: key range must be start below end (got \"80-40\")");
  CHECK_THROWS_AS(parse_keyspace_range("40-40"), std::invalid_argument);
  CHECK_THROWS_WITH(parse_keyspace_range("010203040506070809-"),
                    "bulwark::keyspace_range: key range must be within a 64-bit keyspace id "
                    "(got \"010203040506070809-\")");
  CHECK(parse_keyspace_range("010203040506070800-").start == 0x0102030405060708ULL);
}

TEST_CASE("keyspace_router routes ids to the range holding them", "[sharding]") {
  const auto r = bulwark::keyspace_router({"80-c0", "-40", "c0-", "40-80"});
  auto name = [&](std::uint64_t id) { return r.shards()[r.shard_for(id)]; };
  CHECK(name(0) == "-40");
  CHECK(name(0x3fffffffffffffffULL) == "-40");
  CHECK(name(0x4000000000000000ULL) == "40-80");
  CHECK(name(0x9000000000000000ULL) == "80-c0");
  CHECK(name(UINT64_MAX) == "c0-");
  CHECK(bulwark::keyspace_router({"-"}).shards()[0] == "-");
}

TEST_CASE("keyspace_router refuses overlaps, gaps and partial coverage", "[sharding]") {
  CHECK_THROWS_WITH(bulwark::keyspace_router({"-80", "40-"}),
                    "bulwark::keyspace_router: key ranges must be non-overlapping (got \"40-\")");
  CHECK_THROWS_WITH(bulwark::keyspace_router({"-40", "80-"}),
                    "bulwark::keyspace_router: key ranges must be gap-free (got \"80-\")");
  CHECK_THROWS_WITH(bulwark::keyspace_router({"40-"}),
                    "bulwark::keyspace_router: key ranges must be covering the lowest keyspace "
                    "id (got \"40-\")");
  CHECK_THROWS_WITH(bulwark::keyspace_router({"-80"}),
                    "bulwark::keyspace_router: key ranges must be covering the highest keyspace "
                    "id (got \"-80\")");
  CHECK_THROWS_AS(bulwark::keyspace_router({"-80", "80-", "-"}), std::invalid_argument);
  CHECK_THROWS_AS(bulwark::keyspace_router({"-80", "8-"}), std::invalid_argument);
}
