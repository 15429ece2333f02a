// detail::hardware_shards and fit_shards: the one rule for a default shard count, used by the
// cache, its epoch slots, the keyed limiter and the idempotency memory store.

#include <cstddef>
#include <thread>

#include "bulwark/detail/shard_count.hpp"
#include "catch.hpp"

namespace detail = bulwark::detail;

TEST_CASE("hardware_shards is four per thread, rounded up to a power of two", "[core]") {
  STATIC_REQUIRE(detail::hardware_shards(0u) == 4);  // unknown counts as one thread
  STATIC_REQUIRE(detail::hardware_shards(1u) == 4);
  STATIC_REQUIRE(detail::hardware_shards(2u) == 8);
  STATIC_REQUIRE(detail::hardware_shards(3u) == 16);
  STATIC_REQUIRE(detail::hardware_shards(16u) == 64);
  STATIC_REQUIRE(detail::hardware_shards(17u) == 128);
  CHECK(detail::hardware_shards() == detail::hardware_shards(std::thread::hardware_concurrency()));
}

TEST_CASE("fit_shards halves until each shard holds the minimum", "[core]") {
  STATIC_REQUIRE(detail::fit_shards(64, 64 * 64, 64) == 64);      // exactly enough
  STATIC_REQUIRE(detail::fit_shards(64, 64 * 64 - 1, 64) == 32);  // one short
  STATIC_REQUIRE(detail::fit_shards(64, 1000, 64) == 8);          // 1000 / 8 = 125 >= 64
  STATIC_REQUIRE(detail::fit_shards(64, 10, 64) == 1);            // never below one
  STATIC_REQUIRE(detail::fit_shards(1, 0, 64) == 1);
}
