#pragma once
// Vitess-style key ranges ("-80", "40-80", "80-") over a 64-bit keyspace id, and a range
// router whose shards are such ranges.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/options.hpp"
#include "bulwark/sharding/range_router.hpp"

namespace bulwark {

/// A contiguous range [start, end) of 64-bit keyspace ids, written as Vitess writes shard
/// names: the hex bytes of start and end joined by '-', an empty side meaning the lowest id
/// (start) or past the highest (end). A keyspace id is compared as its 8 big-endian bytes, so
/// "80" is 0x80 followed by zero bytes: "-80" is [0, 0x8000000000000000), "80-" is
/// [0x8000000000000000, 2^64), "-" is the whole keyspace.
struct keyspace_range {
  std::uint64_t start = 0;
  std::optional<std::uint64_t> end{};  // nullopt: past the highest id

  /// True when `id` is in [start, end).
  [[nodiscard]] constexpr bool contains(std::uint64_t id) const noexcept {
    return id >= start && (!end || id < *end);
  }
  friend constexpr bool operator==(const keyspace_range&, const keyspace_range&) = default;
};

namespace detail {

/// The value of a side of a key range: hex bytes, most significant first, padded with zero
/// bytes to 8. Vitess decodes the sides as hex byte strings, so the digit count must be even;
/// digits beyond 16 must be zeros (they would be bytes past a 64-bit id).
inline std::uint64_t parse_keyspace_side(std::string_view text, std::string_view whole) {
  const option_check check{"keyspace_range"};
  check.that(text.size() % 2 == 0, "key range", "whole hex bytes (an even digit count)",
             std::string{whole});
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    check.that(digit >= 0, "key range", "hex digits around one '-'", std::string{whole});
    if (i < 16) {
      value |= static_cast<std::uint64_t>(digit) << (60 - 4 * i);
    } else {
      check.that(digit == 0, "key range", "within a 64-bit keyspace id", std::string{whole});
    }
  }
  return value;
}

/// The hex bytes of `value` without trailing zero bytes ("80" for 0x8000000000000000).
inline std::string format_keyspace_side(std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int byte = 7; byte >= 0 && value != 0; --byte) {
    const auto b = static_cast<unsigned>(value >> 56);
    out += digits[b >> 4];
    out += digits[b & 0xF];
    value <<= 8;
  }
  return out;
}

}  // namespace detail

/// Parses a Vitess key range ("-80", "40-80", "80-", "-"; hex in either case). Throws
/// std::invalid_argument naming the text when there is not exactly one '-', a side has an odd
/// number of hex digits or a non-hex character or more precision than 64 bits, or start is not
/// below end.
[[nodiscard]] inline keyspace_range parse_keyspace_range(std::string_view text) {
  const option_check check{"keyspace_range"};
  const std::size_t dash = text.find('-');
  check.that(dash != std::string_view::npos && text.find('-', dash + 1) == std::string_view::npos,
             "key range", "two hex sides around one '-'", std::string{text});
  keyspace_range range;
  range.start = detail::parse_keyspace_side(text.substr(0, dash), text);
  const std::string_view end = text.substr(dash + 1);
  // A side of only zero bytes ("00") is the lowest id; as an end, it would make the range empty.
  if (!end.empty()) range.end = detail::parse_keyspace_side(end, text);
  check.that(!range.end || range.start < *range.end, "key range", "start below end",
             std::string{text});
  return range;
}

/// The canonical Vitess spelling of `range`: lowercase hex, trailing zero bytes dropped
/// ("80-c0", "-40", "-").
[[nodiscard]] inline std::string to_string(const keyspace_range& range) {
  return detail::format_keyspace_side(range.start) + "-" +
         (range.end ? detail::format_keyspace_side(*range.end) : std::string{});
}

/// A range router over 64-bit keyspace ids whose shards are Vitess key ranges, named by the
/// strings given: keyspace_router({"-40", "40-80", "80-c0", "c0-"}). Route a key with
/// `router.shard_for(keyspace_id)`, where the id is the key's vindex value: for a numeric id,
/// vitess_hash_vindex::keyspace_id(id) (vitess_hash.hpp) to agree with a Vitess cluster's
/// `hash` vindex, or any 64-bit hash such as bulwark::hash64(key).
/// Throws std::invalid_argument when a range is malformed (see parse_keyspace_range), or the
/// ranges overlap, leave a gap, or do not cover the whole keyspace.
[[nodiscard]] inline range_router<std::uint64_t> keyspace_router(
    std::span<const std::string> shard_ranges) {
  const option_check check{"keyspace_router"};
  check.that(!shard_ranges.empty(), "key ranges", "non-empty", std::size_t{0});
  struct parsed {
    keyspace_range range;
    const std::string* name;
  };
  std::vector<parsed> ranges;
  ranges.reserve(shard_ranges.size());
  for (const std::string& text : shard_ranges)
    ranges.push_back({parse_keyspace_range(text), &text});
  std::sort(ranges.begin(), ranges.end(),
            [](const parsed& a, const parsed& b) { return a.range.start < b.range.start; });
  check.that(ranges.front().range.start == 0, "key ranges", "covering the lowest keyspace id",
             *ranges.front().name);
  std::vector<std::uint64_t> splits;
  std::vector<std::string> owners;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i > 0) {
      const auto& prev = ranges[i - 1].range;
      check.that(prev.end.has_value() && *prev.end <= ranges[i].range.start, "key ranges",
                 "non-overlapping", *ranges[i].name);
      check.that(*prev.end == ranges[i].range.start, "key ranges", "gap-free", *ranges[i].name);
      splits.push_back(ranges[i].range.start);
    }
    owners.push_back(*ranges[i].name);
  }
  check.that(!ranges.back().range.end.has_value(), "key ranges", "covering the highest keyspace id",
             *ranges.back().name);
  return range_router<std::uint64_t>{std::move(splits), owners};
}

[[nodiscard]] inline range_router<std::uint64_t> keyspace_router(
    std::initializer_list<std::string> shard_ranges) {
  return keyspace_router(std::span<const std::string>{shard_ranges.begin(), shard_ranges.size()});
}

}  // namespace bulwark
