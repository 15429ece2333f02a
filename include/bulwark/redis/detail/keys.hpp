#pragma once
// Validation of the caller's parts of Redis keys, before anything reaches the server.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "bulwark/detail/format.hpp"
#include "bulwark/sharding/slot_router.hpp"

namespace bulwark::detail {

/// Whether `part` may go into a Redis key: 1 to `max_length` bytes, none of them a control
/// character (below 0x20, or 0x7f), a space, or a brace. Braces would change which part of the
/// key Redis Cluster hashes (its "{hash tag}"); control characters and spaces are the marks of
/// a key that was never meant to be one (a header with a line feed, unescaped input). Bytes
/// from 0x80 up (UTF-8) are allowed. O(part.size()).
[[nodiscard]] constexpr bool valid_key_part(std::string_view part,
                                            std::size_t max_length) noexcept {
  if (part.empty() || part.size() > max_length) return false;
  for (const char c : part) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '{' || c == '}') return false;
  }
  return true;
}

/// The message of a refused key part: "bulwark::<component>: <field> must be 1 to N bytes
/// without spaces, control characters or braces (got M bytes)". The key itself is not echoed:
/// it may be hostile or huge.
[[nodiscard]] inline std::string key_part_message(std::string_view component,
                                                  std::string_view field, std::string_view part,
                                                  std::size_t max_length) {
  std::string message = "bulwark::";
  message.append(component).append(": ").append(field).append(" must be 1 to ");
  append_number(message, max_length);
  message += " bytes without spaces, control characters or braces (got ";
  append_number(message, part.size());
  message += " bytes)";
  return message;
}

/// A hash tag for every Redis Cluster slot: slot_tag(s) is the shortest decimal number whose
/// CRC16 lands in slot s, so a key "...{<slot_tag(s)>}" lives in slot s. It puts a helper key
/// next to keys it did not name, without a helper key per key: redis_store's fencing counter
/// is one per slot, in the slot of the record a script increments it for (a script's keys
/// must share a slot in a cluster). Every slot has one (at most 6 digits; tested). The table
/// (16384 x 8 bytes) is built on first use, in about 110,000 CRC16s.
[[nodiscard]] inline std::string_view slot_tag(std::uint16_t slot) noexcept {
  struct table {
    std::array<std::array<char, 8>, redis_cluster_slots> tags{};
    table() noexcept {
      std::uint32_t filled = 0;
      for (std::uint32_t n = 0; filled < redis_cluster_slots; ++n) {
        std::array<char, 8> digits{};
        std::size_t length = 0;
        for (std::uint32_t v = n;; v /= 10) {
          digits[length++] = static_cast<char>('0' + v % 10);
          if (v < 10) break;
        }
        for (std::size_t i = 0; i < length / 2; ++i)
          std::swap(digits[i], digits[length - 1 - i]);
        const std::string_view text{digits.data(), length};
        auto& tag = tags[crc16_xmodem(text) & (redis_cluster_slots - 1)];
        if (tag[0] != 0) continue;
        tag = digits;
        ++filled;
      }
    }
  };
  static const table t;
  return std::string_view{t.tags[slot & (redis_cluster_slots - 1)].data()};
}

}  // namespace bulwark::detail
