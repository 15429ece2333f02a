#include <bulwark/bulkhead/partitioned.hpp>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

TEST_CASE("a flooding partition borrows idle capacity but cannot take another's share",
          "[bulkhead]") {
  bulwark::partitioned_bulkhead bulkhead(
      {.max_concurrent = 10, .partitions = {{"interactive", 0.7}, {"batch", 0.3}}});
  const auto interactive = bulkhead.partition("interactive");
  const auto batch = bulkhead.partition("batch");
  std::vector<bulwark::partitioned_bulkhead::permit> held;
  // Batch alone may borrow the whole idle limit (3 reserved + 7 borrowed)...
  for (int i = 0; i < 10; ++i) {
    held.push_back(bulkhead.try_acquire(batch));
    CHECK(held.back());
  }
  CHECK_FALSE(bulkhead.try_acquire(batch));  // full, and batch is over its reservation
  // ...but interactive still reaches its reservation of ceil(0.7 * 10) = 7.
  for (int i = 0; i < 7; ++i) {
    held.push_back(bulkhead.try_acquire(interactive));
    CHECK(held.back());
  }
  CHECK_FALSE(bulkhead.try_acquire(interactive));
  CHECK(bulkhead.in_flight() == 17);  // Netflix's rule: the total may exceed while batch drains
  held.clear();
  CHECK(bulkhead.in_flight() == 0);
  const auto m = bulkhead.metrics();
  CHECK(m[0].name == "interactive");
  CHECK(m[0].reserved == 7);
  CHECK(m[1].reserved == 3);
  CHECK(m[0].admitted == 7);
  CHECK(m[0].rejected == 1);
  CHECK(m[1].admitted == 10);
  CHECK(m[1].rejected == 1);
}

TEST_CASE("below its reservation a partition is always admitted, above it only with room",
          "[bulkhead]") {
  bulwark::partitioned_bulkhead bulkhead(
      {.max_concurrent = 4, .partitions = {{"a", 0.5}, {"b", 0.25}}});
  auto a1 = bulkhead.try_acquire(0);
  auto a2 = bulkhead.try_acquire(0);
  auto a3 = bulkhead.try_acquire(0);  // borrowing: total 3 < 4
  auto b1 = bulkhead.try_acquire(1);  // total 4
  CHECK((a1 && a2 && a3 && b1));
  CHECK_FALSE(bulkhead.try_acquire(0));  // full and a has 3 > 2 reserved
  CHECK_FALSE(bulkhead.try_acquire(1));  // full and b has 1 = ceil(0.25 * 4) reserved
  a3.release();
  CHECK(bulkhead.execute(1, [] { return 5; }) == 5);  // room again: b borrows
  auto b2 = bulkhead.try_acquire(1);
  CHECK_THROWS_AS(bulkhead.execute(1, [] { return 5; }), bulwark::bulkhead_full);
}

TEST_CASE("partitioned bulkhead options are validated", "[bulkhead]") {
  CHECK_THROWS_WITH(bulwark::partitioned_bulkhead({.max_concurrent = 4}),
                    "bulwark::partitioned_bulkhead: partitions must be non-empty (got 0)");
  CHECK_THROWS_WITH(
      bulwark::partitioned_bulkhead({.partitions = {{"a", 0.75}, {"b", 0.5}}}),
      "bulwark::partitioned_bulkhead: partitions.share must be summing to at most 1 (got 1.25)");
  CHECK_THROWS_WITH(bulwark::partitioned_bulkhead({.partitions = {{"a", 0}}}),
                    "bulwark::partitioned_bulkhead: partitions.share must be in (0, 1] (got 0)");
  CHECK_THROWS_WITH(bulwark::partitioned_bulkhead({.partitions = {{"a", 0.1}, {"a", 0.1}}}),
                    "bulwark::partitioned_bulkhead: partitions.name must be unique (got \"a\")");
  bulwark::partitioned_bulkhead ok({.partitions = {{"a", 1.0}}});
  CHECK_THROWS_AS(ok.partition("nope"), std::invalid_argument);
  CHECK_THROWS_AS(ok.try_acquire(3), std::out_of_range);
}
