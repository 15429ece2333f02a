#include <chrono>
#include <cstdint>
#include <limits>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/saturating.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::time_point;
namespace detail = bulwark::detail;

namespace {
constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
}  // namespace

TEST_CASE("saturating integer arithmetic clamps at both ends", "[core]") {
  CHECK(detail::saturating_add(max, 1) == max);
  CHECK(detail::saturating_add(max - 1, 1) == max);
  CHECK(detail::saturating_add(min, -1) == min);
  CHECK(detail::saturating_add(5, -7) == -2);
  CHECK(detail::saturating_sub(min, 1) == min);
  CHECK(detail::saturating_sub(0, min) == max);
  CHECK(detail::saturating_sub(-1, min) == max);
  CHECK(detail::saturating_sub(-2, max) == min);
  CHECK(detail::saturating_sub(7, 5) == 2);
  CHECK(detail::saturating_mul(max, 2) == max);
  CHECK(detail::saturating_mul(max, -2) == min);
  CHECK(detail::saturating_mul(min, -1) == max);
  CHECK(detail::saturating_mul(min, 1) == min);
  CHECK(detail::saturating_mul(std::int64_t{1} << 62, -2) == min);
  CHECK(detail::saturating_mul(-(std::int64_t{1} << 31), std::int64_t{1} << 32) == min);
  CHECK(detail::saturating_mul(3, -4) == -12);
  CHECK(detail::saturating_mul(0, min) == 0);
}

TEST_CASE("a deadline after forever is time_point max, never the past", "[core]") {
  const time_point now{24h};
  CHECK(detail::deadline_after(now, duration::max()) == time_point::max());
  CHECK(detail::deadline_after(now, 5s) == now + 5s);
  CHECK(detail::deadline_after(now, -5s) == now);
  CHECK(detail::deadline_after(now, duration::min()) == now);
  // A clock near the end of its range: any positive wait still ends at the end, not before now.
  const time_point late = time_point::max() - 1s;
  CHECK(detail::deadline_after(late, 2s) == time_point::max());
  CHECK(detail::deadline_after(late, 1s) == time_point::max());
  // A clock before its epoch.
  const time_point early{-1h};
  CHECK(detail::deadline_after(early, duration::max()) == time_point{duration::max() - 1h});
  CHECK(detail::saturating_sub(time_point::min() + 1s, 2s) == time_point::min());
  CHECK(detail::saturating_sub(time_point::max(), time_point::min()) == duration::max());
  CHECK(detail::saturating_sub(time_point::min(), time_point::max()) == duration::min());
  CHECK(detail::saturating_mul(1h, std::int64_t{1} << 40) == duration::max());
}
