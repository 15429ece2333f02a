// partitioned_adaptive_limiter against Netflix concurrency-limits' AbstractPartitionedLimiter.
// The cases named after AbstractPartitionedLimiterTest (concurrency-limits-core/src/test/java/
// com/netflix/concurrency/limits/limiter/AbstractPartitionedLimiterTest.java) keep its
// partitions (batch 0.3, live 0.7), limits and expected values; its FixedLimit and
// SettableLimit are settable_limit here.
#include <bulwark/bulkhead/partitioned_adaptive.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

// Netflix's SettableLimit: a limit that samples do not move.
struct settable_limit {
  using options_type = std::uint32_t;
  explicit settable_limit(std::uint32_t start) : value{start} {}
  std::uint32_t value;
  [[nodiscard]] std::uint32_t limit() const noexcept { return value; }
  void on_sample(bulwark::duration, std::uint32_t, bool) noexcept {}
};

using limiter_t = bulwark::partitioned_adaptive_limiter<settable_limit, bulwark::manual_clock>;
using permits = std::vector<limiter_t::permit>;

std::vector<bulwark::bulkhead_partition> batch_live() {
  return {{"batch", 0.3}, {"live", 0.7}};
}

std::uint32_t limit_of(const limiter_t& l, std::size_t i) {
  return l.metrics()[i].reserved;
}
std::uint32_t inflight_of(const limiter_t& l, std::size_t i) {
  return l.metrics()[i].in_flight;
}

}  // namespace

TEST_CASE("AbstractPartitionedLimiterTest.limitAllocatedToBins", "[bulkhead]") {
  limiter_t limiter(settable_limit{10}, batch_live());
  CHECK(limit_of(limiter, limiter.partition("batch")) == 3);
  CHECK(limit_of(limiter, limiter.partition("live")) == 7);
}

TEST_CASE("AbstractPartitionedLimiterTest.useExcessCapacityUntilTotalLimit", "[bulkhead]") {
  limiter_t limiter(settable_limit{10}, batch_live());
  const auto batch = limiter.partition("batch");
  permits held;
  for (std::uint32_t i = 0; i < 10; ++i) {
    held.push_back(limiter.try_acquire(batch));
    CHECK(held.back());
    CHECK(inflight_of(limiter, batch) == i + 1);
  }
  CHECK_FALSE(limiter.try_acquire(batch));
}

TEST_CASE("AbstractPartitionedLimiterTest.exceedTotalLimitForUnusedBin", "[bulkhead]") {
  limiter_t limiter(settable_limit{10}, batch_live());
  const auto batch = limiter.partition("batch");
  const auto live = limiter.partition("live");
  permits held;
  for (int i = 0; i < 10; ++i)
    held.push_back(limiter.try_acquire(batch));
  CHECK_FALSE(limiter.try_acquire(batch));
  for (std::uint32_t i = 0; i < 7; ++i) {
    held.push_back(limiter.try_acquire(live));
    CHECK(held.back());
    CHECK(inflight_of(limiter, live) == i + 1);
  }
  CHECK_FALSE(limiter.try_acquire(live));
}

TEST_CASE("AbstractPartitionedLimiterTest.rejectOnceAllLimitsReached", "[bulkhead]") {
  limiter_t limiter(settable_limit{10}, batch_live());
  permits held;
  for (std::uint32_t i = 0; i < 3; ++i) {
    held.push_back(limiter.try_acquire(0));
    CHECK(inflight_of(limiter, 0) == i + 1);
    CHECK(limiter.in_flight() == i + 1);
  }
  for (std::uint32_t i = 0; i < 7; ++i) {
    held.push_back(limiter.try_acquire(1));
    CHECK(inflight_of(limiter, 1) == i + 1);
    CHECK(limiter.in_flight() == i + 4);
  }
  CHECK_FALSE(limiter.try_acquire(0));
  CHECK_FALSE(limiter.try_acquire(1));
}

TEST_CASE("AbstractPartitionedLimiterTest.releaseLimit", "[bulkhead]") {
  limiter_t limiter(settable_limit{10}, batch_live());
  auto completion = limiter.try_acquire(0);
  permits held;
  for (std::uint32_t i = 1; i < 10; ++i) {
    held.push_back(limiter.try_acquire(0));
    CHECK(held.back());
    CHECK(inflight_of(limiter, 0) == i + 1);
  }
  CHECK(limiter.in_flight() == 10);
  CHECK_FALSE(limiter.try_acquire(0));
  completion.success(1ms);
  CHECK(inflight_of(limiter, 0) == 9);
  CHECK(limiter.in_flight() == 9);
  held.push_back(limiter.try_acquire(0));
  CHECK(held.back());
  CHECK(inflight_of(limiter, 0) == 10);
  CHECK(limiter.in_flight() == 10);
}

// SettableLimit.setLimit notifies the limiter at once; a bulwark algorithm moves the limit at
// a sample, so this one takes the value `setting` holds at its next sample.
struct stepped_limit {
  using options_type = const std::uint32_t*;
  const std::uint32_t* setting;
  std::uint32_t value = *setting;
  [[nodiscard]] std::uint32_t limit() const noexcept { return value; }
  void on_sample(bulwark::duration, std::uint32_t, bool) noexcept { value = *setting; }
};

TEST_CASE("AbstractPartitionedLimiterTest.setLimitReservesBusy", "[bulkhead]") {
  std::uint32_t setting = 10;
  bulwark::partitioned_adaptive_limiter<stepped_limit, bulwark::manual_clock> limiter(
      stepped_limit{&setting}, batch_live());
  CHECK(limiter.metrics()[0].reserved == 3);
  auto busy = limiter.try_acquire(0);
  CHECK(busy);
  CHECK(limiter.metrics()[0].in_flight == 1);
  CHECK(limiter.in_flight() == 1);
  setting = 20;
  limiter.try_acquire(1).ignore();  // no sample: the limit stays
  CHECK(limiter.limit() == 10);
  limiter.try_acquire(1).success(1ms);  // a sample: the limit moves to 20
  CHECK(limiter.limit() == 20);
  CHECK(limiter.metrics()[0].reserved == 6);  // ceil(0.3 * 20)
  CHECK(limiter.metrics()[0].in_flight == 1);
  CHECK(limiter.in_flight() == 1);
}

// Netflix's Partition.updateLimit: max(1, ceil(limit * percent)), on the CURRENT limit. With
// AIMD (backoff 0.9, min 5) from 20: a drop makes it floor(20 * 0.9) = 18, so batch's share
// ceil(0.3 * 18 - tolerance) = ceil(5.4) = 6 and live's ceil(12.6) = 13.
TEST_CASE("the shares follow the adaptive limit as AIMD backs off", "[bulkhead]") {
  bulwark::manual_clock clock;
  bulwark::partitioned_adaptive_limiter limiter(
      bulwark::aimd_options{.initial_limit = 20, .min_limit = 5, .max_limit = 100}, batch_live(),
      clock);
  CHECK(limiter.metrics()[0].reserved == 6);   // ceil(0.3 * 20)
  CHECK(limiter.metrics()[1].reserved == 14);  // ceil(0.7 * 20)
  std::vector<decltype(limiter)::permit> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(limiter.try_acquire(0));  // batch borrows the whole idle limit
  CHECK_FALSE(limiter.try_acquire(0));
  batch.back().dropped(1ms);  // 20 -> 18
  batch.pop_back();
  CHECK(limiter.limit() == 18);
  CHECK(limiter.metrics()[0].reserved == 6);
  CHECK(limiter.metrics()[1].reserved == 13);
  CHECK_FALSE(limiter.try_acquire(0));  // 19 in flight >= 18, batch 19 >= 6
  std::vector<decltype(limiter)::permit> live;
  for (int i = 0; i < 13; ++i) {
    live.push_back(limiter.try_acquire(1));
    CHECK(live.back());  // live still reaches its share of the smaller limit
  }
  CHECK_FALSE(limiter.try_acquire(1));
  const auto m = limiter.metrics();
  CHECK(m[0].admitted == 20);
  CHECK(m[0].rejected == 2);
  CHECK(m[1].admitted == 13);
  CHECK(m[1].rejected == 1);
}

TEST_CASE("partitioned adaptive limiter options are validated", "[bulkhead]") {
  CHECK_THROWS_WITH(limiter_t(settable_limit{10}, {}),
                    "bulwark::partitioned_adaptive_limiter: partitions must be non-empty (got 0)");
  CHECK_THROWS_WITH(limiter_t(settable_limit{10}, {{"a", 0.75}, {"b", 0.5}}),
                    "bulwark::partitioned_adaptive_limiter: partitions.share must be summing to "
                    "at most 1 (got 1.25)");
  CHECK_THROWS_WITH(limiter_t(settable_limit{10}, {{"a", 0.1}, {"a", 0.1}}),
                    "bulwark::partitioned_adaptive_limiter: partitions.name must be unique (got "
                    "\"a\")");
  CHECK_THROWS_WITH(
      bulwark::partitioned_adaptive_limiter(bulwark::aimd_options{.min_limit = 0}, batch_live()),
      "bulwark::aimd_limit: min_limit must be >= 1 (got 0)");
  limiter_t ok(settable_limit{10}, batch_live());
  CHECK_THROWS_AS(ok.partition("nope"), std::invalid_argument);
  CHECK_THROWS_AS(ok.try_acquire(3), std::out_of_range);
}
