#pragma once
// MD5, written from RFC 1321 ("The MD5 Message-Digest Algorithm", Rivest, 1992), section 3.
// Here only because ketama places memcached servers with it: MD5 is broken as a cryptographic
// hash and must not be used as one. Step numbers below are the RFC's.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bulwark::detail {

/// The 16-byte MD5 digest of `bytes` (RFC 1321). Thread-safety: a pure function.
/// Complexity: O(bytes.size()), one 64-byte block at a time, no allocation.
class md5 {
 public:
  using digest = std::array<std::uint8_t, 16>;

  [[nodiscard]] static digest of(std::string_view bytes) noexcept {
    // Step 3: the four-word buffer, A B C D, low-order bytes first.
    std::array<std::uint32_t, 4> state{0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U};
    const std::size_t full = bytes.size() / 64;
    for (std::size_t i = 0; i < full; ++i) {
      process(state, reinterpret_cast<const unsigned char*>(bytes.data()) + 64 * i);
    }
    // Steps 1 and 2: append a 1 bit, zeros up to 56 mod 64 bytes, then the bit length as a
    // 64-bit little-endian number. At most two final blocks.
    std::array<unsigned char, 128> tail{};
    const std::size_t rest = bytes.size() % 64;
    for (std::size_t i = 0; i < rest; ++i) {
      tail[i] = static_cast<unsigned char>(bytes[64 * full + i]);
    }
    tail[rest] = 0x80;
    const std::size_t tail_size = rest < 56 ? 64 : 128;
    const std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8;
    for (std::size_t i = 0; i < 8; ++i) {
      tail[tail_size - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
    }
    process(state, tail.data());
    if (tail_size == 128) process(state, tail.data() + 64);
    // Step 5: the digest is A, B, C, D, each low-order byte first.
    digest out{};
    for (std::size_t i = 0; i < 16; ++i) {
      out[i] = static_cast<std::uint8_t>(state[i / 4] >> (8 * (i % 4)));
    }
    return out;
  }

 private:
  // Step 4: one 64-byte block, four rounds of sixteen operations
  // a = b + ((a + F(b, c, d) + X[k] + T[i]) <<< s).
  static void process(std::array<std::uint32_t, 4>& state, const unsigned char* block) noexcept {
    // T[i] = floor(2^32 * |sin(i + 1)|), the RFC's table.
    static constexpr std::uint32_t t[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    // The shift amounts of each round's four operations.
    static constexpr int s[4][4] = {
        {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};
    std::uint32_t x[16];
    for (std::size_t i = 0; i < 16; ++i) {
      x[i] = std::uint32_t{block[4 * i]} | (std::uint32_t{block[4 * i + 1]} << 8) |
             (std::uint32_t{block[4 * i + 2]} << 16) | (std::uint32_t{block[4 * i + 3]} << 24);
    }
    std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (std::size_t i = 0; i < 64; ++i) {
      std::uint32_t f;
      std::size_t k;
      const std::size_t round = i / 16;
      if (round == 0) {
        f = (b & c) | (~b & d);  // F
        k = i;
      } else if (round == 1) {
        f = (b & d) | (c & ~d);  // G
        k = (1 + 5 * i) % 16;
      } else if (round == 2) {
        f = b ^ c ^ d;  // H
        k = (5 + 3 * i) % 16;
      } else {
        f = c ^ (b | ~d);  // I
        k = (7 * i) % 16;
      }
      // The RFC's operations rotate roles: after each, (a, b, c, d) <- (d, a', b, c).
      const std::uint32_t rotated = std::rotl(a + f + x[k] + t[i], s[round][i % 4]);
      a = d;
      d = c;
      c = b;
      b = b + rotated;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
  }
};

}  // namespace bulwark::detail
