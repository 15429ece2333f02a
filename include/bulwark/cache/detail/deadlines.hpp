#pragma once
// The cache's time arithmetic. Cells keep their deadlines as nanoseconds since the clock's
// epoch in one int64 each (slab.hpp), with `never` for no deadline; these convert to and from
// the clock's time_point and add a TTL to a reading. Internal; see cache.hpp.

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "bulwark/cache/detail/slab.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark::detail {

/// `t` as a cell deadline's unit: nanoseconds since the clock's epoch.
[[nodiscard]] inline std::int64_t cell_ns(time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// `never` for no ttl or duration::max() (forever). A finite ttl saturates one short of
// `never`, so that a clock near the end of its range (or before its epoch, where never - now
// overflowed) cannot turn it into "never expires".
[[nodiscard]] inline std::int64_t cell_deadline(std::int64_t now, duration ttl) noexcept {
  if (ttl <= duration::zero() || ttl == duration::max()) return never;
  return std::min(saturating_add(now, ttl.count()), never - 1);
}

/// A cell deadline as the clock's time_point (time_point::max() for never).
[[nodiscard]] inline time_point cell_time_point(std::int64_t ns) noexcept {
  return ns == never
             ? time_point::max()
             : time_point{std::chrono::duration_cast<duration>(std::chrono::nanoseconds{ns})};
}

}  // namespace bulwark::detail
