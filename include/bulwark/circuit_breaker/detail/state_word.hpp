#pragma once

#include <chrono>
#include <cstdint>

#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"

// The breaker's state in one 64-bit word, so that every transition is one CAS and a permit can
// remember exactly which state it was issued in:
//
//   bits  0..2   circuit_state
//   bits  3..8   attempts: consecutive trips without closing (1 after a trip from closed),
//                saturating at 63; the growing wait in open is a function of it
//   bits  9..24  generation, +1 per transition (mod 2^16)
//   bits 25..63  stamp, milliseconds of the clock's epoch mod 2^39: the deadline of open and of
//                a bounded half-open, otherwise the time of the transition
//
// A result is recorded only if the word still equals the one its permit was issued under, so a
// slow call from before a transition cannot count in a later state. Two words are equal again
// only if 2^16 transitions happened and the stamp wrapped to the same millisecond.
// Stamps compare by their difference mod 2^39 read as signed, which is right while the two
// times are within 2^38 ms (8.7 years) of each other; waits are capped at 365 days.

namespace bulwark::detail {

class state_word {
 public:
  static constexpr std::uint32_t max_attempts = 63;
  static constexpr int stamp_bits = 39;
  static constexpr std::uint64_t stamp_mask = (std::uint64_t{1} << stamp_bits) - 1;

  constexpr state_word() noexcept = default;
  explicit constexpr state_word(std::uint64_t raw) noexcept : raw_{raw} {}
  constexpr state_word(circuit_state s, std::uint32_t attempts, std::uint32_t generation,
                       std::int64_t stamp_ms) noexcept
      : raw_{static_cast<std::uint64_t>(s) |
             (std::uint64_t{attempts < max_attempts ? attempts : max_attempts} << 3) |
             (std::uint64_t{generation & 0xffffu} << 9) |
             ((static_cast<std::uint64_t>(stamp_ms) & stamp_mask) << 25)} {}

  [[nodiscard]] constexpr std::uint64_t raw() const noexcept { return raw_; }
  [[nodiscard]] constexpr circuit_state state() const noexcept {
    return static_cast<circuit_state>(raw_ & 7u);
  }
  [[nodiscard]] constexpr std::uint32_t attempts() const noexcept {
    return static_cast<std::uint32_t>((raw_ >> 3) & 63u);
  }
  [[nodiscard]] constexpr std::uint32_t generation() const noexcept {
    return static_cast<std::uint32_t>((raw_ >> 9) & 0xffffu);
  }
  /// now - stamp in milliseconds (negative: the stamp is still ahead).
  [[nodiscard]] constexpr std::int64_t since_stamp(std::int64_t now_ms) const noexcept {
    return wrap_difference(static_cast<std::uint64_t>(now_ms) - (raw_ >> 25), stamp_bits);
  }

  /// Two's-complement reading of the low `bits` of `d`.
  [[nodiscard]] static constexpr std::int64_t wrap_difference(std::uint64_t d, int bits) noexcept {
    const auto mask = (std::uint64_t{1} << bits) - 1;
    const auto half = std::uint64_t{1} << (bits - 1);
    d &= mask;
    return d >= half ? static_cast<std::int64_t>(d) - static_cast<std::int64_t>(mask) - 1
                     : static_cast<std::int64_t>(d);
  }

 private:
  std::uint64_t raw_ = 0;
};

/// Milliseconds since the clock's epoch, rounded down (for "now") or up (for deadlines, so a
/// deadline never fires early).
[[nodiscard]] inline std::int64_t floor_ms(time_point t) noexcept {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline std::int64_t ceil_ms(time_point t) noexcept {
  return std::chrono::ceil<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace bulwark::detail
