#include <atomic>
#include <bulwark/sharding/shard_load.hpp>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "catch.hpp"

TEST_CASE("shard_load reports shards above a factor of the mean", "[sharding]") {
  bulwark::shard_load load(4);
  for (int i = 0; i < 10; ++i) {
    load.record(0);
    load.record(1);
    load.record(2);
  }
  load.record(3, 90);  // total 120, mean 30: shard 3 runs at 3x
  CHECK(load.loads() == std::vector<std::uint64_t>{10, 10, 10, 90});
  const auto hot = load.hot_shards(2.0);
  REQUIRE(hot.size() == 1);
  CHECK(hot[0].shard == 3);
  CHECK(hot[0].load == 90);
  CHECK(hot[0].ratio == Approx(3.0));
  CHECK(load.hot_shards(3.0).empty());        // strictly above the factor
  CHECK(load.hot_shards(0.3).size() == 4);    // 10 / 30 is above 0.3
  CHECK(load.hot_shards(0.3)[0].shard == 3);  // hottest first
  load.record(7);                             // out of range: ignored
  load.reset();
  CHECK(load.hot_shards(1.0).empty());
  CHECK_THROWS_WITH(load.hot_shards(0.0), "bulwark::shard_load: factor must be > 0 (got 0)");
  CHECK_THROWS_WITH(bulwark::shard_load(0), "bulwark::shard_load: shards must be > 0 (got 0)");
}

TEST_CASE("shard_load counts every record from many threads", "[sharding]") {
  bulwark::shard_load load(3);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&load, t] {
      for (int i = 0; i < 5'000; ++i)
        load.record((t + static_cast<std::size_t>(i)) % 3);
    });
  }
  std::uint64_t seen_during_run = 0;
  for (int i = 0; i < 100; ++i) {
    std::uint64_t total = 0;
    for (const auto v : load.loads())
      total += v;
    CHECK(total >= seen_during_run);  // counters only grow
    seen_during_run = total;
  }
  for (auto& thread : threads)
    thread.join();
  std::uint64_t total = 0;
  for (const auto v : load.loads())
    total += v;
  CHECK(total == 20'000);
}

TEST_CASE("suggest_split divides a range's sampled load in halves", "[sharding]") {
  const bulwark::range_router<std::uint64_t> r({1'000}, {"a", "b"});
  // Range 1 holds 1000..: keys 1000..1009 sampled once, 2000 sampled 10 times.
  std::vector<std::uint64_t> sample{5, 6, 7};  // range 0: ignored for range 1
  for (std::uint64_t k = 1'000; k < 1'010; ++k)
    sample.push_back(k);
  for (int i = 0; i < 10; ++i)
    sample.push_back(2'000);
  CHECK(bulwark::suggest_split(r, 1, sample) == std::optional<std::uint64_t>{2'000});
  // Uniform keys: the median.
  std::vector<std::uint64_t> uniform;
  for (std::uint64_t k = 1'100; k < 1'200; ++k)
    uniform.push_back(k);
  CHECK(bulwark::suggest_split(r, 1, uniform) == std::optional<std::uint64_t>{1'150});
  // One hot key cannot be split; nothing sampled in the range gives nothing either.
  CHECK_FALSE(bulwark::suggest_split(r, 1, std::vector<std::uint64_t>(50, 4'242)).has_value());
  CHECK_FALSE(bulwark::suggest_split(r, 1, std::vector<std::uint64_t>{1, 2}).has_value());
  // A split never lands on the range's start, even when the start is the hottest key.
  std::vector<std::uint64_t> at_start(30, 1'000);
  at_start.push_back(1'001);
  CHECK(bulwark::suggest_split(r, 1, at_start) == std::optional<std::uint64_t>{1'001});
  const auto split = r.split(*bulwark::suggest_split(r, 1, uniform));
  CHECK(split.range_count() == 3);
  CHECK_THROWS_AS(bulwark::suggest_split(r, 2, uniform), std::invalid_argument);
}
