#pragma once

#include <cstdint>
#include <string_view>

#include "bulwark/core/hash.hpp"
#include "bulwark/core/random.hpp"

namespace lab {

/// The seed of one named random stream ("arrivals", "backend", "arm/unprotected") of a run
/// seeded with `seed`.
///
/// Every component draws from its own stream, so what one component draws never shifts what
/// another sees: adding an arm, or a guard that draws jitter, leaves the arrivals and the
/// backend's dice of every other arm exactly as they were. The name goes through
/// bulwark::hash64 and the result through SplitMix64, both specified bit for bit, so a seed
/// names the same streams on every platform.
[[nodiscard]] constexpr std::uint64_t derive_seed(std::uint64_t seed,
                                                  std::string_view stream) noexcept {
  std::uint64_t state = seed ^ bulwark::hash64(stream);
  return bulwark::splitmix64(state);
}

}  // namespace lab
