#pragma once
// SHA-1 (FIPS 180-4, section 6.1), used only to name Lua scripts for EVALSHA: Redis identifies
// a cached script by the SHA-1 of its source, so computing it here lets a client call EVALSHA
// without first asking the server (SCRIPT LOAD answers the same digest; a test checks it).
// Not for security: SHA-1 is broken for collision resistance, which script naming does not need.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::detail {

/// The SHA-1 digest of `data` as 40 lowercase hex digits, as Redis's SCRIPT LOAD answers it.
/// Thread-safe (pure). O(data.size()).
[[nodiscard]] inline std::string sha1_hex(std::string_view data) {
  std::array<std::uint32_t, 5> h{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  const auto rotl = [](std::uint32_t x, int n) noexcept { return (x << n) | (x >> (32 - n)); };
  const auto block = [&](const unsigned char* p) {
    std::array<std::uint32_t, 80> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
             (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
    }
    for (std::size_t i = 16; i < 80; ++i)
      w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (std::size_t i = 0; i < 80; ++i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999u;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1u;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDCu;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6u;
      }
      const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  };

  std::size_t offset = 0;
  for (; offset + 64 <= data.size(); offset += 64)
    block(reinterpret_cast<const unsigned char*>(data.data() + offset));
  // Padding (5.1.1): a 1 bit, zeros to 56 mod 64 bytes, then the length in bits, big-endian.
  std::array<unsigned char, 128> tail{};
  // Fewer than 64 bytes are left; the mask says so to the compiler's bounds analysis too.
  const std::size_t rest = (data.size() - offset) & 63;
  for (std::size_t i = 0; i < rest; ++i)
    tail[i] = static_cast<unsigned char>(data[offset + i]);
  tail[rest] = 0x80;
  const std::size_t tail_size = rest < 56 ? 64 : 128;
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (std::size_t i = 0; i < 8; ++i)
    tail[tail_size - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  block(tail.data());
  if (tail_size == 128) block(tail.data() + 64);

  static constexpr char digits[] = "0123456789abcdef";
  std::string out(40, '0');
  for (std::size_t i = 0; i < 20; ++i) {
    const auto byte = static_cast<unsigned>(h[i / 4] >> (24 - 8 * (i % 4))) & 0xFFu;
    out[2 * i] = digits[byte >> 4];
    out[2 * i + 1] = digits[byte & 0xFu];
  }
  return out;
}

}  // namespace bulwark::detail
