#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstdint>
#include <random>

namespace bulwark {

/// One step of SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): advances `state` by the golden-gamma and returns a well-mixed
/// 64-bit value. Used to expand one seed into a generator's state.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/// A small, fast, seedable generator: xoshiro256** (Blackman and Vigna, "Scrambled linear
/// pseudorandom number generators", 2018), 32 bytes of state, period 2^256 - 1.
///
/// A UniformRandomBitGenerator, so it works with <random>; but the standard distributions are
/// implementation-defined, so the same seed gives different jitter under libstdc++ and libc++.
/// Use uniform_below(), uniform01() and bernoulli() below for results that are identical on
/// every platform, which deterministic tests and simulations depend on.
///
/// Not thread-safe: give each thread its own (thread_rng() does). Not for cryptography.
class fast_rng {
 public:
  using result_type = std::uint64_t;

  /// Seeds the state from `seed` through SplitMix64, as the authors recommend; every seed,
  /// zero included, gives a valid (non-zero) state.
  explicit constexpr fast_rng(std::uint64_t seed) noexcept {
    for (auto& word : state_)
      word = splitmix64(seed);
  }

  /// Starts from an explicit state, as the reference implementation does (to reproduce its
  /// published output, or a stream saved with state()). Precondition: not all four words zero.
  explicit constexpr fast_rng(const std::array<std::uint64_t, 4>& state) noexcept : state_{state} {}

  [[nodiscard]] constexpr std::array<std::uint64_t, 4> state() const noexcept { return state_; }

  [[nodiscard]] static constexpr result_type min() noexcept { return 0; }
  [[nodiscard]] static constexpr result_type max() noexcept { return ~result_type{0}; }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

 private:
  std::array<std::uint64_t, 4> state_{};
};

/// A generator bulwark's helpers accept: 64 random bits per call, over the full range.
template <class G>
concept random_generator64 = std::uniform_random_bit_generator<std::remove_reference_t<G>> &&
                             (std::remove_reference_t<G>::min() == 0) &&
                             (std::remove_reference_t<G>::max() == ~std::uint64_t{0});

/// A uniformly distributed integer in [0, bound), without modulo bias, by Lemire's
/// multiply-and-reject method ("Fast random integer generation in an interval", 2019): one
/// 64x64->128 multiply, and a rejection only with probability bound / 2^64.
/// Precondition: bound > 0. The same generator state gives the same result everywhere.
template <random_generator64 G>
constexpr std::uint64_t uniform_below(G&& generator, std::uint64_t bound) noexcept {
  // The high and low halves of the 128-bit product x * bound, from 32-bit pieces so the
  // arithmetic is portable C++ (compilers fuse this into one widening multiply on x86-64).
  const auto multiply = [bound](std::uint64_t x, std::uint64_t& low) {
    const std::uint64_t x_lo = x & 0xffffffff, x_hi = x >> 32;
    const std::uint64_t b_lo = bound & 0xffffffff, b_hi = bound >> 32;
    const std::uint64_t lo_lo = x_lo * b_lo, hi_lo = x_hi * b_lo;
    const std::uint64_t lo_hi = x_lo * b_hi, hi_hi = x_hi * b_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffff) + lo_hi;
    low = (cross << 32) | (lo_lo & 0xffffffff);
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
  };
  std::uint64_t low = 0;
  std::uint64_t high = multiply(generator(), low);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    while (low < threshold)
      high = multiply(generator(), low);
  }
  return high;
}

/// A uniformly distributed double in [0, 1): the top 53 bits of one draw, scaled by 2^-53.
template <random_generator64 G>
constexpr double uniform01(G&& generator) noexcept {
  return static_cast<double>(generator() >> 11) * 0x1.0p-53;
}

/// true with probability p (p <= 0 is never, p >= 1 is always).
template <random_generator64 G>
constexpr bool bernoulli(G&& generator, double p) noexcept {
  return uniform01(generator) < p;
}

/// The calling thread's own generator, seeded once per thread from std::random_device (mixed
/// with the address of the thread's generator, so that threads differ even where
/// random_device is deterministic). The default for components that take a generator; tests
/// pass a seeded fast_rng instead. Never shared between threads, so no synchronisation.
inline fast_rng& thread_rng() {
  thread_local fast_rng generator = [] {
    std::random_device device;
    std::uint64_t seed = (std::uint64_t{device()} << 32) ^ device();
    const auto* self = &generator;
    seed ^= static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(self));
    return fast_rng{seed};
  }();
  return generator;
}

}  // namespace bulwark
