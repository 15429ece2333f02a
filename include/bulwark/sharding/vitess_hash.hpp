#pragma once
// Vitess's `hash` vindex: the keyspace id of a numeric id, computed as Vitess computes it, so
// that bulwark routes a row to the same key range shard a Vitess cluster does.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bulwark/core/options.hpp"
#include "bulwark/sharding/detail/des.hpp"

namespace bulwark {

/// Vitess's `hash` vindex (go/vt/vtgate/vindexes/hash.go): the keyspace id of a 64-bit id is
/// the DES encryption, under the all-zero key, of the id's 8 big-endian bytes. DES is a
/// permutation of 64-bit blocks, so the vindex is unique and reversible, and its ids spread
/// evenly over the keyspace whatever the ids' own distribution (sequential ids included).
///
/// A keyspace id here is the uint64 whose big-endian bytes are Vitess's 8-byte keyspace id, as
/// keyspace_range and keyspace_router take it:
///
///   auto shards = keyspace_router({"-80", "80-"});
///   auto shard = shards.shard_for(vitess_hash_vindex::keyspace_id(user_id));
///
/// A signed id maps as Vitess maps it: its two's-complement bits (static_cast<std::uint64_t>).
/// Stateless; every member is constexpr, noexcept except where bytes are parsed.
struct vitess_hash_vindex {
  /// The keyspace id of `id`.
  [[nodiscard]] static constexpr std::uint64_t keyspace_id(std::uint64_t id) noexcept {
    return detail::des::encrypt(id, zero_key);
  }

  /// The id whose keyspace id is `keyspace_id` (Vitess's ReverseMap).
  [[nodiscard]] static constexpr std::uint64_t reverse(std::uint64_t keyspace_id) noexcept {
    return detail::des::decrypt(keyspace_id, zero_key);
  }

  /// The keyspace id of `id` as the 8 bytes Vitess stores and sends.
  [[nodiscard]] static constexpr std::array<std::uint8_t, 8> keyspace_id_bytes(
      std::uint64_t id) noexcept {
    const std::uint64_t ksid = keyspace_id(id);
    std::array<std::uint8_t, 8> bytes{};
    for (std::size_t i = 0; i < 8; ++i)
      bytes[i] = static_cast<std::uint8_t>(ksid >> (56 - 8 * i));
    return bytes;
  }

  /// The id whose keyspace id is the bytes `keyspace_id`. Throws std::invalid_argument naming
  /// the bytes in hex when there are not exactly 8 (Vitess: "invalid keyspace id: <hex>").
  [[nodiscard]] static std::uint64_t reverse(std::span<const std::uint8_t> keyspace_id) {
    const option_check check{"vitess_hash_vindex"};
    check.that(keyspace_id.size() == 8, "keyspace id", "8 bytes", to_hex(keyspace_id));
    std::uint64_t value = 0;
    for (const std::uint8_t byte : keyspace_id)
      value = (value << 8) | byte;
    return reverse(value);
  }

 private:
  // Under the zero key every round key is zero (PC-1, the rotations and PC-2 only move bits),
  // but computing the schedule keeps the cipher one code path for every key.
  static constexpr detail::des::key_schedule zero_key = detail::des::schedule(0);

  static std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : bytes) {
      out += digits[b >> 4];
      out += digits[b & 0xF];
    }
    return out;
  }
};

}  // namespace bulwark
