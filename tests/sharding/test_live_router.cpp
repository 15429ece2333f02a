#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/sharding/live_router.hpp>
#include <bulwark/sharding/range_router.hpp>
#include <bulwark/sharding/slot_router.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

TEST_CASE("live_router publishes updates and keeps a failed one out", "[sharding]") {
  bulwark::live_router cluster{bulwark::slot_router::evenly({"a", "b", "c"})};
  const auto first = cluster.snapshot();
  CHECK(cluster.shard_name_for("somekey") == "c");  // slot 11058
  cluster.update(
      [](const bulwark::slot_router& r) { return r.begin_migration(11058, 11058, "d"); });
  CHECK(cluster.snapshot()->route("somekey").migrating());
  CHECK_FALSE(first->route("somekey").migrating());  // the old snapshot is unchanged
  CHECK_THROWS_AS(cluster.update([](const bulwark::slot_router& r) {
    return r.begin_migration(11058, 11058, "e");  // already migrating
  }),
                  std::invalid_argument);
  CHECK(cluster.snapshot()->shards().size() == 4);  // nothing published by the failed update
  cluster.update([](const bulwark::slot_router& r) { return r.finish_migration(11058, 11058); });
  CHECK(cluster.shard_name_for("somekey") == "d");
  cluster.assign(bulwark::slot_router::evenly({"x"}));
  CHECK(cluster.shard_name_for("somekey") == "x");
}

TEST_CASE("live_router lookups during splits and migrations always see a whole router",
          "[sharding]") {
  // The writer moves the range holding key k through split -> migrate -> finish, many times;
  // readers check that every lookup they make comes from one consistent snapshot: the shard
  // index is valid, and the route agrees with the snapshot's own range listing.
  bulwark::live_router<bulwark::range_router<std::uint64_t>> live{
      bulwark::range_router<std::uint64_t>({1ULL << 63}, {"a", "b"})};
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> bad{0};
  std::atomic<std::uint64_t> lookups{0};
  std::vector<std::thread> readers;
  for (std::uint64_t t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      bulwark::fast_rng rng{t + 1};
      // Bounded by count; keeps going until the writer is done so both overlap.
      for (int i = 0; i < 200'000 && (i < 2'000 || !done.load(std::memory_order_acquire)); ++i) {
        const std::uint64_t key = rng();
        const auto r = live.snapshot();
        const auto route = r->route(key);
        const auto range = r->range(r->range_of(key));
        const bool ok = route.owner < r->shards().size() && route.owner == range.owner &&
                        route.migrating_to == range.migrating_to &&
                        (!route.migrating() || route.migrating_to < r->shards().size()) &&
                        live.shard_for(key) < live.snapshot()->shards().size();
        if (!ok) bad.fetch_add(1, std::memory_order_relaxed);
        lookups.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  bulwark::fast_rng rng{99};
  for (int step = 0; step < 300; ++step) {
    const std::uint64_t at = rng() | 1;
    try {
      live.update([&](const auto& r) { return r.split(at); });
    } catch (const std::invalid_argument&) {
      // `at` was already a range start: the update published nothing, which is what is tested.
    }
    const std::size_t range = live.snapshot()->range_of(at);
    live.update(
        [&](const auto& r) { return r.begin_migration(range, "s" + std::to_string(step)); });
    live.update([&](const auto& r) { return r.finish_migration(range); });
  }
  done.store(true, std::memory_order_release);
  for (auto& reader : readers)
    reader.join();
  CHECK(bad.load() == 0);
  CHECK(lookups.load() >= 6'000);
  const auto last = live.snapshot();
  CHECK(last->range_count() >= 250);
  for (std::size_t i = 0; i < last->range_count(); ++i)
    CHECK_FALSE(last->range(i).migrating_to != bulwark::shard_route::none);
}
