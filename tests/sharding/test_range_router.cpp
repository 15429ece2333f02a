#include <algorithm>
#include <bulwark/core/random.hpp>
#include <bulwark/sharding/range_router.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"

using bulwark::range_router;

namespace {

template <class Router>
std::string owner_name(const Router& r, const typename Router::key_type& key) {
  return std::string{r.shards()[r.shard_for(key)]};
}

/// Checks the router's own description of itself: ranges are contiguous from the lowest key to
/// past the highest, and `key` lies in the range range_of names, whose owner shard_for returns.
template <class Key>
void check_key_in_its_range(const range_router<Key>& r, const Key& key) {
  const std::size_t i = r.range_of(key);
  REQUIRE(i < r.range_count());
  const auto range = r.range(i);
  CHECK((!range.start || *range.start <= key));
  CHECK((!range.end || key < *range.end));
  CHECK(r.shard_for(key) == range.owner);
}

}  // namespace

TEST_CASE("range_router routes integers by split points", "[sharding]") {
  const range_router<std::uint64_t> users({1'000, 5'000}, {"a", "b", "c"});
  CHECK(owner_name(users, 0) == "a");
  CHECK(owner_name(users, 999) == "a");
  CHECK(owner_name(users, 1'000) == "b");
  CHECK(owner_name(users, 4'999) == "b");
  CHECK(owner_name(users, 5'000) == "c");
  CHECK(owner_name(users, UINT64_MAX) == "c");
  CHECK(users.range_count() == 3);
  CHECK(users.range(1) == bulwark::key_range_entry<std::uint64_t>{1'000, 5'000, 1});
}

TEST_CASE("range_router routes strings bytewise and takes string_view", "[sharding]") {
  const range_router<std::string> names({"g", "n", "t"}, {"a-f", "g-m", "n-s", "t-z"});
  CHECK(names.shards()[names.shard_for(std::string_view{"alice"})] == "a-f");
  CHECK(names.shards()[names.shard_for(std::string_view{"g"})] == "g-m");
  CHECK(names.shards()[names.shard_for(std::string_view{"mzzz"})] == "g-m");
  CHECK(names.shards()[names.shard_for(std::string_view{"zed"})] == "t-z");
  CHECK(names.shards()[names.shard_for(std::string_view{""})] == "a-f");
  CHECK(names.shards()[names.shard_for(std::string_view{"Zed"})] == "a-f");  // 'Z' < 'g'
}

TEST_CASE("range_router lets one shard own several ranges", "[sharding]") {
  const range_router<int> r({0, 100}, {"cold", "hot", "cold"});
  CHECK(r.shards().size() == 2);
  CHECK(r.shard_for(-5) == r.shard_for(500));
  CHECK(r.shard_for(50) != r.shard_for(500));
}

TEST_CASE("range_router refuses bad split points and owners", "[sharding]") {
  using R = range_router<std::uint64_t>;
  CHECK_THROWS_WITH(R({10, 5}, {"a", "b", "c"}),
                    "bulwark::range_router: split points must be strictly increasing, but this "
                    "one follows one not below it (got 5)");
  CHECK_THROWS_WITH(R({10, 10}, {"a", "b", "c"}),
                    "bulwark::range_router: split points must be strictly increasing, but this "
                    "one follows one not below it (got 10)");
  CHECK_THROWS_WITH(R({0}, {"a", "b"}),
                    "bulwark::range_router: split point must be above the lowest key (got 0)");
  CHECK_THROWS_WITH(R({10}, {"a"}),
                    "bulwark::range_router: owners must be one more than the split points (1) "
                    "(got 1)");
  CHECK_THROWS_WITH(R({}, std::vector<std::string>{}),
                    "bulwark::range_router: owners must be non-empty (got 0)");
  CHECK_THROWS_WITH(R({10}, {"a", ""}),
                    "bulwark::range_router: shard name must be non-empty (got \"\")");
  CHECK_THROWS_WITH(range_router<std::string>({""}, {"a", "b"}),
                    "bulwark::range_router: split point must be above the lowest key (got \"\")");
  CHECK_THROWS_AS(range_router<int>({INT32_MIN}, {"a", "b"}), std::invalid_argument);
}

TEST_CASE("range_router split keeps every key on its shard unless the right part moves",
          "[sharding]") {
  const range_router<std::uint64_t> r({1'000}, {"a", "b"});
  const auto same = r.split(500);
  CHECK(same.range_count() == 3);
  CHECK(same.splits()[0] == 500);
  CHECK(owner_name(same, 499) == "a");
  CHECK(owner_name(same, 500) == "a");
  const auto moved = r.split(500, "c");
  CHECK(owner_name(moved, 499) == "a");
  CHECK(owner_name(moved, 500) == "c");
  CHECK(owner_name(moved, 999) == "c");
  CHECK(owner_name(moved, 1'000) == "b");
  CHECK(moved.shards().size() == 3);
  CHECK(r.range_count() == 2);  // the original is unchanged
  CHECK_THROWS_WITH(r.split(1'000),
                    "bulwark::range_router: split point must be inside a range, not a start "
                    "(got 1000)");
  CHECK_THROWS_WITH(r.split(0),
                    "bulwark::range_router: split point must be above the lowest key (got 0)");
}

TEST_CASE("range_router merge joins adjacent ranges", "[sharding]") {
  const range_router<std::uint64_t> r({100, 200, 300}, {"a", "a", "b", "c"});
  const auto joined = r.merge(0, 1);
  CHECK(joined.range_count() == 3);
  CHECK(owner_name(joined, 150) == "a");
  CHECK(joined.range(0) == bulwark::key_range_entry<std::uint64_t>{std::nullopt, 200, 0});
  CHECK_THROWS_WITH(r.merge(1, 2),
                    "bulwark::range_router: owner of ranges with different owners must be named "
                    "(got \"b\")");
  const auto vitess_style = r.merge(1, 2, "a+b");
  CHECK(owner_name(vitess_style, 100) == "a+b");
  CHECK(owner_name(vitess_style, 299) == "a+b");
  CHECK(owner_name(vitess_style, 300) == "c");
  CHECK_THROWS_WITH(r.merge(0, 2),
                    "bulwark::range_router: right range must be left range + 1 (got 2)");
  CHECK_THROWS_WITH(r.merge(3, 4),
                    "bulwark::range_router: right range must be < the range count (4) (got 4)");
}

TEST_CASE("range_router split and merge keep every key in exactly one range", "[sharding]") {
  bulwark::fast_rng rng{9};
  range_router<std::uint64_t> r({1ULL << 32}, {"s0", "s1"});
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 500; ++i)
    keys.push_back(rng());
  keys.push_back(0);
  keys.push_back(UINT64_MAX);
  for (int step = 0; step < 300; ++step) {
    const auto previous = r;
    if (bulwark::uniform_below(rng, 3) != 0 || r.range_count() < 2) {
      const std::uint64_t at = rng() | 1;  // never the lowest key
      const std::size_t in = r.range_of(at);
      if (r.range(in).start == at) continue;
      const bool hand_over = bulwark::bernoulli(rng, 0.5);
      const std::string owner = "s" + std::to_string(bulwark::uniform_below(rng, 6));
      r = hand_over ? r.split(at, owner) : r.split(at);
      for (const auto key : keys) {
        // A split moves only keys in [at, end of the split range), and only with hand_over.
        const bool in_right_part = previous.range_of(key) == in && key >= at;
        if (!(hand_over && in_right_part)) CHECK(r.shard_for(key) == previous.shard_for(key));
      }
    } else {
      const std::size_t left = bulwark::uniform_below(rng, r.range_count() - 1);
      r = r.merge(left, left + 1, r.shards()[r.range(left).owner]);
    }
    for (std::size_t i = 1; i < r.range_count(); ++i)
      REQUIRE(r.range(i - 1).end == r.range(i).start);
    REQUIRE_FALSE(r.range(0).start.has_value());
    REQUIRE_FALSE(r.range(r.range_count() - 1).end.has_value());
    for (const auto key : keys)
      check_key_in_its_range(r, key);
  }
}

TEST_CASE("range_router migration reports owner and target until it ends", "[sharding]") {
  const range_router<std::uint64_t> r({100}, {"a", "b"});
  const auto moving = r.begin_migration(1, "c");
  auto route = moving.route(std::uint64_t{150});
  CHECK(route.migrating());
  CHECK(moving.shards()[route.owner] == "b");
  CHECK(moving.shards()[route.migrating_to] == "c");
  CHECK_FALSE(moving.route(std::uint64_t{50}).migrating());
  CHECK_THROWS_AS(moving.begin_migration(1, "d"), std::invalid_argument);
  CHECK_THROWS_AS(moving.merge(0, 1, "x"), std::invalid_argument);
  CHECK_THROWS_AS(moving.reassign(1, "x"), std::invalid_argument);
  CHECK_THROWS_WITH(r.begin_migration(1, "b"),
                    "bulwark::range_router: migration target must be another shard than the "
                    "owner (got \"b\")");
  // A split during a migration keeps both parts migrating.
  const auto split = moving.split(120);
  CHECK(split.route(std::uint64_t{110}).migrating());
  CHECK(split.route(std::uint64_t{130}).migrating());

  const auto done = moving.finish_migration(1);
  CHECK(owner_name(done, 150) == "c");
  CHECK_FALSE(done.route(std::uint64_t{150}).migrating());
  const auto cancelled = moving.cancel_migration(1);
  CHECK(owner_name(cancelled, 150) == "b");
  CHECK_THROWS_WITH(r.finish_migration(0),
                    "bulwark::range_router: range must be migrating (got 0)");
  const auto reassigned = r.reassign(0, "z");
  CHECK(owner_name(reassigned, 5) == "z");
}

TEST_CASE("range_router over strings agrees with a plain ordered search", "[sharding]") {
  // Keys share long prefixes, contain zero and high bytes, and are shorter and longer than the
  // 8-byte prefixes the router searches first.
  bulwark::fast_rng rng{77};
  const std::string alphabet{"\0\1ab\x7f\x80\xff", 7};
  auto random_key = [&] {
    std::string key = bulwark::bernoulli(rng, 0.5) ? "tenant/0001/" : "";
    const auto length = bulwark::uniform_below(rng, 14);
    for (std::uint64_t i = 0; i < length; ++i)
      key += alphabet[bulwark::uniform_below(rng, alphabet.size())];
    return key;
  };
  std::vector<std::string> splits;
  for (int i = 0; i < 300; ++i)
    splits.push_back(random_key());
  std::sort(splits.begin(), splits.end());
  splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
  if (splits.front().empty()) splits.erase(splits.begin());
  std::vector<std::string> owners;
  for (std::size_t i = 0; i <= splits.size(); ++i)
    owners.push_back("s" + std::to_string(i));
  const range_router<std::string> r(splits, owners);
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = bulwark::bernoulli(rng, 0.1)
                                ? splits[bulwark::uniform_below(rng, splits.size())]
                                : random_key();
    const auto expected = static_cast<std::size_t>(
        std::upper_bound(splits.begin(), splits.end(), key) - splits.begin());
    REQUIRE(r.range_of(std::string_view{key}) == expected);
    REQUIRE(r.shard_for(key) == expected);  // owner i is shard i here
  }
}
