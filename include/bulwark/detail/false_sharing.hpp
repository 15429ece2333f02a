#pragma once
// How far apart two objects written by different threads must be, and how large the line is
// that an object read together should fit in. The one home of both numbers. Internal.

#include <cstddef>

namespace bulwark::detail {

/// 128 bytes, two cache lines: x86's adjacent-line prefetcher fetches lines in aligned 128-byte
/// pairs, so a line written by one core slows readers of its pair's other line on another core
/// much as a shared line would (measured in bench_cache: two reader threads whose epoch slots
/// were neighbouring 64-byte lines ran at half speed). std::hardware_destructive_interference_size
/// says 64 on g++ and is not ABI-stable (g++ warns when a header uses it), so it is not used.
inline constexpr std::size_t false_sharing_range = 128;

/// 64 bytes, one cache line on every target bulwark is tuned for: the unit to align to when the
/// point is that fields read together share one line (not that writers stay apart).
inline constexpr std::size_t cache_line = 64;

}  // namespace bulwark::detail
