#pragma once
// Validation of the caller's parts of Redis keys, before anything reaches the server.

#include <cstddef>
#include <string>
#include <string_view>

#include "bulwark/detail/format.hpp"

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

}  // namespace bulwark::detail
