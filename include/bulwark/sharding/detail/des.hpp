#pragma once
// Single-block DES (FIPS 46-3), enough for Vitess's hash vindex: encrypt and decrypt one
// 64-bit block under a 64-bit key. Two paths: reference_encrypt/decrypt follow the standard
// bit by bit from its tables, and encrypt/decrypt are the table-driven fast path whose tables
// are all computed (constexpr) from those same FIPS tables; the tests hold the two equal. Not for
// protecting data: DES has a 56-bit key and is withdrawn as a cipher; Vitess uses it (under the
// zero key) only as a fast bijection.

#include <array>
#include <cstddef>
#include <cstdint>

namespace bulwark::detail::des {

// The tables of FIPS 46-3, as printed there: entry i names the input bit that becomes output
// bit i + 1, bits numbered from 1 at the most significant end.

inline constexpr std::array<std::uint8_t, 64> initial_permutation{
    58, 50, 42, 34, 26, 18, 10, 2,  60, 52, 44, 36, 28, 20, 12, 4,  62, 54, 46, 38, 30, 22,
    14, 6,  64, 56, 48, 40, 32, 24, 16, 8,  57, 49, 41, 33, 25, 17, 9,  1,  59, 51, 43, 35,
    27, 19, 11, 3,  61, 53, 45, 37, 29, 21, 13, 5,  63, 55, 47, 39, 31, 23, 15, 7};

inline constexpr std::array<std::uint8_t, 64> final_permutation{
    40, 8,  48, 16, 56, 24, 64, 32, 39, 7,  47, 15, 55, 23, 63, 31, 38, 6,  46, 14, 54, 22,
    62, 30, 37, 5,  45, 13, 53, 21, 61, 29, 36, 4,  44, 12, 52, 20, 60, 28, 35, 3,  43, 11,
    51, 19, 59, 27, 34, 2,  42, 10, 50, 18, 58, 26, 33, 1,  41, 9,  49, 17, 57, 25};

// E, the bit-selection table: the 48 bits a round's key is added to, from the 32 of R.
inline constexpr std::array<std::uint8_t, 48> expansion{
    32, 1,  2,  3,  4,  5,  4,  5,  6,  7,  8,  9,  8,  9,  10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
    16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1};

// P, applied to the 32 bits the S-boxes produce.
inline constexpr std::array<std::uint8_t, 32> round_permutation{
    16, 7, 20, 21, 29, 12, 28, 17, 1,  15, 23, 26, 5,  18, 31, 10,
    2,  8, 24, 14, 32, 27, 3,  9,  19, 13, 30, 6,  22, 11, 4,  25};

// PC-1: the 56 key bits that matter (the low bit of each key byte is parity, dropped).
inline constexpr std::array<std::uint8_t, 56> permuted_choice_1{
    57, 49, 41, 33, 25, 17, 9,  1,  58, 50, 42, 34, 26, 18, 10, 2,  59, 51, 43,
    35, 27, 19, 11, 3,  60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7,  62, 54,
    46, 38, 30, 22, 14, 6,  61, 53, 45, 37, 29, 21, 13, 5,  28, 20, 12, 4};

// PC-2: the 48 bits of C and D that form a round's key.
inline constexpr std::array<std::uint8_t, 48> permuted_choice_2{
    14, 17, 11, 24, 1,  5,  3,  28, 15, 6,  21, 10, 23, 19, 12, 4,  26, 8,  16, 7,  27, 20, 13, 2,
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32};

// Left rotations of C and D before each round's key is chosen.
inline constexpr std::array<std::uint8_t, 16> key_rotations{1, 1, 2, 2, 2, 2, 2, 2,
                                                            1, 2, 2, 2, 2, 2, 2, 1};

// S1..S8, each 4 rows of 16 (row from the outer two input bits, column from the inner four).
inline constexpr std::uint8_t s_boxes[8][64] = {
    {14, 4,  13, 1, 2,  15, 11, 8, 3, 10, 6, 12, 5,  9,  0,  7,  0,  15, 7,  4,  14, 2,
     13, 1,  10, 6, 12, 11, 9,  5, 3, 8,  4, 1,  14, 8,  13, 6,  2,  11, 15, 12, 9,  7,
     3,  10, 5,  0, 15, 12, 8,  2, 4, 9,  1, 7,  5,  11, 3,  14, 10, 0,  6,  13},
    {15, 1,  8,  14, 6,  11, 3,  4, 9,  7,  2, 13, 12, 0,  5,  10, 3,  13, 4,  7, 15, 2,
     8,  14, 12, 0,  1,  10, 6,  9, 11, 5,  0, 14, 7,  11, 10, 4,  13, 1,  5,  8, 12, 6,
     9,  3,  2,  15, 13, 8,  10, 1, 3,  15, 4, 2,  11, 6,  7,  12, 0,  5,  14, 9},
    {10, 0,  9,  14, 6, 3,  15, 5,  1,  13, 12, 7, 11, 4,  2,  8,  13, 7, 0,  9, 3, 4,
     6,  10, 2,  8,  5, 14, 12, 11, 15, 1,  13, 6, 4,  9,  8,  15, 3,  0, 11, 1, 2, 12,
     5,  10, 14, 7,  1, 10, 13, 0,  6,  9,  8,  7, 4,  15, 14, 3,  11, 5, 2,  12},
    {7, 13, 14, 3, 0, 6,  9, 10, 1,  2, 8,  5, 11, 12, 4,  15, 13, 8,  11, 5, 6, 15,
     0, 3,  4,  7, 2, 12, 1, 10, 14, 9, 10, 6, 9,  0,  12, 11, 7,  13, 15, 1, 3, 14,
     5, 2,  8,  4, 3, 15, 0, 6,  10, 1, 13, 8, 9,  4,  5,  11, 12, 7,  2,  14},
    {2,  12, 4, 1,  7,  10, 11, 6, 8, 5,  3, 15, 13, 0,  14, 9,  14, 11, 2,  12, 4,  7,
     13, 1,  5, 0,  15, 10, 3,  9, 8, 6,  4, 2,  1,  11, 10, 13, 7,  8,  15, 9,  12, 5,
     6,  3,  0, 14, 11, 8,  12, 7, 1, 14, 2, 13, 6,  15, 0,  9,  10, 4,  5,  3},
    {12, 1,  10, 15, 9,  2,  6, 8,  0, 13, 3,  4,  14, 7,  5, 11, 10, 15, 4, 2, 7, 12,
     9,  5,  6,  1,  13, 14, 0, 11, 3, 8,  9,  14, 15, 5,  2, 8,  12, 3,  7, 0, 4, 10,
     1,  13, 11, 6,  4,  3,  2, 12, 9, 5,  15, 10, 11, 14, 1, 7,  6,  0,  8, 13},
    {4, 11, 2,  14, 15, 0,  8,  13, 3, 12, 9,  7, 5,  10, 6,  1,  13, 0,  11, 7,  4, 9,
     1, 10, 14, 3,  5,  12, 2,  15, 8, 6,  1,  4, 11, 13, 12, 3,  7,  14, 10, 15, 6, 8,
     0, 5,  9,  2,  6,  11, 13, 8,  1, 4,  10, 7, 9,  5,  0,  15, 14, 2,  3,  12},
    {13, 2, 8,  4, 6, 15, 11, 1,  10, 9,  3, 14, 5,  0,  12, 7,  1,  15, 13, 8, 10, 3,
     7,  4, 12, 5, 6, 11, 0,  14, 9,  2,  7, 11, 4,  1,  9,  12, 14, 2,  0,  6, 10, 13,
     15, 3, 5,  8, 2, 1,  14, 7,  4,  10, 8, 13, 15, 12, 9,  0,  3,  5,  6,  11}};

/// Output bit i + 1 (of table.size()) is input bit table[i] of a `width`-bit input.
template <std::size_t N>
constexpr std::uint64_t permute(std::uint64_t in, unsigned width,
                                const std::array<std::uint8_t, N>& table) noexcept {
  std::uint64_t out = 0;
  for (const std::uint8_t from : table)
    out = (out << 1) | ((in >> (width - from)) & 1U);
  return out;
}

// ---- The reference path: FIPS 46-3 step by step, one bit at a time. ----

/// The 16 round keys, 48 bits each in the low bits.
using reference_schedule = std::array<std::uint64_t, 16>;

/// FIPS 46-3's key schedule for an 8-byte key read big-endian (parity bits are ignored).
constexpr reference_schedule reference_key_schedule(std::uint64_t key) noexcept {
  constexpr std::uint32_t mask28 = (1U << 28) - 1;
  const std::uint64_t cd = permute(key, 64, permuted_choice_1);
  auto c = static_cast<std::uint32_t>(cd >> 28);
  auto d = static_cast<std::uint32_t>(cd & mask28);
  reference_schedule keys{};
  for (std::size_t round = 0; round < 16; ++round) {
    const unsigned r = key_rotations[round];
    c = ((c << r) | (c >> (28 - r))) & mask28;
    d = ((d << r) | (d >> (28 - r))) & mask28;
    keys[round] = permute((std::uint64_t{c} << 28) | d, 56, permuted_choice_2);
  }
  return keys;
}

/// S-box `box` of a 6-bit input: the row from its outer two bits, the column from the inner four.
constexpr std::uint32_t substitute(unsigned box, unsigned six_bits) noexcept {
  const unsigned row = ((six_bits >> 4) & 2U) | (six_bits & 1U);
  const unsigned column = (six_bits >> 1) & 0xFU;
  return s_boxes[box][row * 16 + column];
}

/// f(R, K) as the standard writes it: E, add the key, S1..S8, P.
constexpr std::uint32_t reference_feistel(std::uint32_t r, std::uint64_t round_key) noexcept {
  const std::uint64_t x = permute(r, 32, expansion) ^ round_key;
  std::uint64_t s = 0;
  for (unsigned box = 0; box < 8; ++box)
    s = (s << 4) | substitute(box, static_cast<unsigned>((x >> (42 - 6 * box)) & 0x3FU));
  return static_cast<std::uint32_t>(permute(s, 32, round_permutation));
}

constexpr std::uint64_t reference_crypt(std::uint64_t block, std::uint64_t key,
                                        bool decrypt) noexcept {
  const reference_schedule keys = reference_key_schedule(key);
  const std::uint64_t permuted = permute(block, 64, initial_permutation);
  auto left = static_cast<std::uint32_t>(permuted >> 32);
  auto right = static_cast<std::uint32_t>(permuted);
  for (std::size_t round = 0; round < 16; ++round) {
    const std::uint32_t next = left ^ reference_feistel(right, keys[decrypt ? 15 - round : round]);
    left = right;
    right = next;
  }
  // The halves are not swapped after the last round: the preoutput is R16 L16.
  return permute((std::uint64_t{right} << 32) | left, 64, final_permutation);
}

constexpr std::uint64_t reference_encrypt(std::uint64_t block, std::uint64_t key) noexcept {
  return reference_crypt(block, key, false);
}

constexpr std::uint64_t reference_decrypt(std::uint64_t block, std::uint64_t key) noexcept {
  return reference_crypt(block, key, true);
}

// ---- The fast path: the same function, with every table folded ahead of time. ----

/// S-box `box` followed by P, for each 6-bit input: the f function is then the OR of eight
/// lookups, since P only moves bits and each S-box owns four of its input positions.
constexpr std::array<std::array<std::uint32_t, 64>, 8> make_sp_tables() noexcept {
  std::array<std::array<std::uint32_t, 64>, 8> tables{};
  for (unsigned box = 0; box < 8; ++box) {
    for (unsigned v = 0; v < 64; ++v) {
      const std::uint64_t s = substitute(box, v);
      tables[box][v] =
          static_cast<std::uint32_t>(permute(s << (28 - 4 * box), 32, round_permutation));
    }
  }
  return tables;
}

inline constexpr auto sp_tables = make_sp_tables();

/// Round keys laid out for the fast f: for round i, words[2i] holds the six key bits of S2, S4,
/// S6 and S8 and words[2i + 1] those of S1, S3, S5 and S7, each group in the low six bits of
/// one byte (S2 or S1 in the top byte), where feistel() finds the matching bits of E(R).
struct key_schedule {
  std::array<std::uint32_t, 32> words{};
};

/// FIPS 46-3's key schedule for an 8-byte key read big-endian (parity bits are ignored).
constexpr key_schedule schedule(std::uint64_t key) noexcept {
  const reference_schedule round_keys = reference_key_schedule(key);
  key_schedule keys;
  for (std::size_t round = 0; round < 16; ++round) {
    for (unsigned box = 0; box < 8; ++box) {
      const auto six = static_cast<std::uint32_t>((round_keys[round] >> (42 - 6 * box)) & 0x3FU);
      // 0-based box 1, 3, 5, 7 is S2, S4, S6, S8.
      keys.words[2 * round + (box % 2 == 1 ? 0 : 1)] |= six << (24 - 8 * (box / 2));
    }
  }
  return keys;
}

constexpr std::uint32_t rotate_left(std::uint32_t x, unsigned n) noexcept {
  return (x << n) | (x >> (32 - n));
}

/// f(R, K) from the layout above. E gives S-box i (0-based) bits 4i .. 4i + 5 of R (1-based
/// from the most significant end, cyclic: bit 0 is bit 32), i.e. the six bits whose lowest is
/// at shift 27 - 4i (mod 32). Rotating R left by one puts the windows of boxes 1, 3, 5 and 7 at
/// shifts 24, 16, 8 and 0; rotating it right by three does the same for boxes 0, 2, 4 and 6.
constexpr std::uint32_t feistel(std::uint32_t r, std::uint32_t odd_keys,
                                std::uint32_t even_keys) noexcept {
  const std::uint32_t odd = rotate_left(r, 1) ^ odd_keys;
  const std::uint32_t even = rotate_left(r, 29) ^ even_keys;
  return sp_tables[1][(odd >> 24) & 0x3FU] | sp_tables[3][(odd >> 16) & 0x3FU] |
         sp_tables[5][(odd >> 8) & 0x3FU] | sp_tables[7][odd & 0x3FU] |
         sp_tables[0][(even >> 24) & 0x3FU] | sp_tables[2][(even >> 16) & 0x3FU] |
         sp_tables[4][(even >> 8) & 0x3FU] | sp_tables[6][even & 0x3FU];
}

/// Exchanges the bits of x under mask with those `shift` places above them.
constexpr std::uint64_t delta_swap(std::uint64_t x, std::uint64_t mask, unsigned shift) noexcept {
  const std::uint64_t t = ((x >> shift) ^ x) & mask;
  return x ^ t ^ (t << shift);
}

/// x as an 8x8 bit matrix (row r the r-th byte from the top, column c the c-th bit from the
/// top of the byte), transposed: 2x2, then 4x4, then 8x8 blocks exchange their corners.
constexpr std::uint64_t transpose(std::uint64_t x) noexcept {
  x = delta_swap(x, 0x00AA00AA00AA00AAULL, 7);
  x = delta_swap(x, 0x0000CCCC0000CCCCULL, 14);
  return delta_swap(x, 0x00000000F0F0F0F0ULL, 28);
}

constexpr std::uint64_t byte_reverse(std::uint64_t x) noexcept {
  x = ((x >> 8) & 0x00FF00FF00FF00FFULL) | ((x & 0x00FF00FF00FF00FFULL) << 8);
  x = ((x >> 16) & 0x0000FFFF0000FFFFULL) | ((x & 0x0000FFFF0000FFFFULL) << 16);
  return (x >> 32) | (x << 32);
}

/// The four bytes at shifts 48, 32, 16 and 0, packed in that order into 32 bits.
constexpr std::uint32_t gather_alternate_bytes(std::uint64_t x) noexcept {
  x &= 0x00FF00FF00FF00FFULL;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
  return static_cast<std::uint32_t>(x | (x >> 16));
}

/// The inverse of gather_alternate_bytes.
constexpr std::uint64_t scatter_alternate_bytes(std::uint32_t v) noexcept {
  std::uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
  return (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
}

/// IP. Its table reads bit 2 of input bytes 8, 7, .., 1 into output byte 1, then bits 4, 6 and
/// 8 into bytes 2-4 and bits 1, 3, 5, 7 into bytes 5-8: output byte k takes column
/// (1, 3, 5, 7, 0, 2, 4, 6)[k] (0-based) of the byte-reversed input's matrix, read top down.
/// Those columns are the odd, then the even, rows of its transpose.
constexpr std::uint64_t initial_permute(std::uint64_t block) noexcept {
  const std::uint64_t t = transpose(byte_reverse(block));
  return (std::uint64_t{gather_alternate_bytes(t)} << 32) | gather_alternate_bytes(t >> 8);
}

/// IP^-1, the table FIPS 46-3 prints as the final permutation: initial_permute() run backwards.
constexpr std::uint64_t final_permute(std::uint64_t preoutput) noexcept {
  const std::uint64_t t = scatter_alternate_bytes(static_cast<std::uint32_t>(preoutput >> 32)) |
                          (scatter_alternate_bytes(static_cast<std::uint32_t>(preoutput)) << 8);
  return byte_reverse(transpose(t));
}

/// One block through the 16 rounds; decryption is the same with the round keys reversed.
template <bool Decrypt>
constexpr std::uint64_t crypt(std::uint64_t block, const key_schedule& keys) noexcept {
  const std::uint64_t permuted = initial_permute(block);
  auto left = static_cast<std::uint32_t>(permuted >> 32);
  auto right = static_cast<std::uint32_t>(permuted);
  // Two rounds a step, so that the halves trade roles instead of being swapped.
  for (std::size_t round = 0; round < 16; round += 2) {
    const std::size_t a = Decrypt ? 15 - round : round;
    const std::size_t b = Decrypt ? 14 - round : round + 1;
    left ^= feistel(right, keys.words[2 * a], keys.words[2 * a + 1]);
    right ^= feistel(left, keys.words[2 * b], keys.words[2 * b + 1]);
  }
  // The halves are not swapped after the last round: the preoutput is R16 L16.
  return final_permute((std::uint64_t{right} << 32) | left);
}

constexpr std::uint64_t encrypt(std::uint64_t block, const key_schedule& keys) noexcept {
  return crypt<false>(block, keys);
}

constexpr std::uint64_t decrypt(std::uint64_t block, const key_schedule& keys) noexcept {
  return crypt<true>(block, keys);
}

}  // namespace bulwark::detail::des
