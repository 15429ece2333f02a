#pragma once
// bulwark::siphash13, bulwark::siphash24 and bulwark::flood_resistant_hash.
//
// SipHash-c-d (Jean-Philippe Aumasson and Daniel J. Bernstein, "SipHash: a fast short-input
// PRF", INDOCRYPT 2012), written from the paper's specification, section 2 ("Specification of
// SipHash"); the names below (SipRound, compression, finalization) are the paper's.
//
// Why a keyed PRF next to XXH64: a hash table whose keys come from outside (cache keys,
// idempotency keys) can be flooded if someone can build keys that share a bucket. Seeding XXH64
// does not prevent that: its steps can be inverted and some input differences survive them
// whatever the seed (see the test "stable_hash collides under every seed ..."), so colliding
// keys can be built once and used against every process. SipHash is a PRF: without the 128-bit
// key nobody can predict which keys collide. Rust's std HashMap makes the same choice
// (SipHash-1-3 with a random key per map).

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bulwark/core/hash.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// The 128-bit SipHash key as the paper's two 64-bit words: k0 is key bytes 0-7 and k1 bytes
/// 8-15, each read little-endian.
struct siphash_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;

  /// The key from its 16 bytes, the way the paper and the reference implementation take it.
  [[nodiscard]] static constexpr siphash_key from_bytes(
      const std::array<std::uint8_t, 16>& bytes) noexcept {
    return {detail::load_le<std::uint64_t>(bytes.data()),
            detail::load_le<std::uint64_t>(bytes.data() + 8)};
  }

  friend constexpr bool operator==(const siphash_key&, const siphash_key&) = default;
};

namespace detail {

// The internal state v0..v3 and the three phases of section 2. C compression rounds per
// message word, D finalization rounds.
template <unsigned C, unsigned D>
class sip_state {
 public:
  // "Initialization": the key xored with the ASCII of "somepseudorandomlygeneratedbytes".
  constexpr explicit sip_state(siphash_key key) noexcept
      : v0_{key.k0 ^ 0x736f6d6570736575ULL},
        v1_{key.k1 ^ 0x646f72616e646f6dULL},
        v2_{key.k0 ^ 0x6c7967656e657261ULL},
        v3_{key.k1 ^ 0x7465646279746573ULL} {}

  // "Compression" of one little-endian message word m_i.
  constexpr void compress(std::uint64_t m) noexcept {
    v3_ ^= m;
    for (unsigned i = 0; i < C; ++i)
      sip_round();
    v0_ ^= m;
  }

  // The last word (the remaining bytes, with the length mod 256 in its top byte), then
  // "Finalization".
  constexpr std::uint64_t finish(std::uint64_t last_word) noexcept {
    compress(last_word);
    v2_ ^= 0xff;
    for (unsigned i = 0; i < D; ++i)
      sip_round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  // SipRound: the ARX network of the paper's Figure 2.3.
  constexpr void sip_round() noexcept {
    v0_ += v1_;
    v1_ = std::rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = std::rotl(v0_, 32);
    v2_ += v3_;
    v3_ = std::rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = std::rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = std::rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = std::rotl(v2_, 32);
  }

  std::uint64_t v0_, v1_, v2_, v3_;
};

// The n < 8 bytes at p as the low bytes of a word. Two overlapping 4-byte loads for 4 to 7
// bytes (the overlap holds the same bytes in both, so or-ing them is exact), else a short loop.
template <class Byte>
constexpr std::uint64_t sip_partial_word(const Byte* p, std::size_t n) noexcept {
  if (n >= 4) {
    return std::uint64_t{load_le<std::uint32_t>(p)} |
           (std::uint64_t{load_le<std::uint32_t>(p + n - 4)} << (8 * (n - 4)));
  }
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < n; ++i)
    w |= std::uint64_t{static_cast<std::uint8_t>(p[i])} << (8 * i);
  return w;
}

// SipHash-C-D of len bytes at p.
template <unsigned C, unsigned D, class Byte>
constexpr std::uint64_t siphash(siphash_key key, const Byte* p, std::size_t len) noexcept {
  sip_state<C, D> state{key};
  const std::size_t words = len / 8;
  for (std::size_t i = 0; i < words; ++i, p += 8)
    state.compress(load_le<std::uint64_t>(p));
  // Section 2: the final word holds the last len mod 8 bytes and, in its top byte, len mod 256.
  return state.finish(sip_partial_word(p, len % 8) | (std::uint64_t{len} << 56));
}

// SipHash over several pieces written one after another, equal to siphash() over their
// concatenation: for hashing a composite key without building it in a buffer.
template <unsigned C, unsigned D>
class sip_writer {
 public:
  constexpr explicit sip_writer(siphash_key key) noexcept : state_{key} {}

  constexpr void write(std::string_view bytes) noexcept {
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    length_ += n;
    if (fill_ != 0) {  // complete the word a previous write left open
      for (; n > 0 && fill_ < 8; --n, ++p, ++fill_)
        pending_ |= std::uint64_t{static_cast<std::uint8_t>(*p)} << (8 * fill_);
      if (fill_ < 8) return;
      state_.compress(pending_);
      pending_ = 0;
      fill_ = 0;
    }
    for (; n >= 8; n -= 8, p += 8)
      state_.compress(load_le<std::uint64_t>(p));
    pending_ = sip_partial_word(p, n);
    fill_ = static_cast<unsigned>(n);
  }

  constexpr void write_u64(std::uint64_t value) noexcept {
    if (fill_ == 0) {  // the common case: aligned, one compression, no byte loop
      length_ += 8;
      state_.compress(value);
      return;
    }
    char bytes[8]{};
    for (std::size_t i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>(static_cast<std::uint8_t>(value >> (8 * i)));
    write(std::string_view{bytes, 8});
  }

  [[nodiscard]] constexpr std::uint64_t finish() noexcept {
    return state_.finish(pending_ | (length_ << 56));
  }

 private:
  sip_state<C, D> state_;
  std::uint64_t pending_ = 0;  // the bytes of the open word, little-endian
  unsigned fill_ = 0;          // how many bytes pending_ holds, 0 to 7
  std::uint64_t length_ = 0;
};

}  // namespace detail

/// SipHash-C-D of `bytes` under `key`, C compression and D finalization rounds per the paper.
/// Bit-identical to the reference implementation on every platform; usable in constant
/// expressions. Thread-safety: a pure function. Complexity: O(bytes.size()).
template <unsigned C, unsigned D>
[[nodiscard]] constexpr std::uint64_t siphash(siphash_key key, std::string_view bytes) noexcept {
  return detail::siphash<C, D>(key, bytes.data(), bytes.size());
}

template <unsigned C, unsigned D>
[[nodiscard]] constexpr std::uint64_t siphash(siphash_key key,
                                              std::span<const std::byte> bytes) noexcept {
  return detail::siphash<C, D>(key, bytes.data(), bytes.size());
}

/// SipHash-2-4, the paper's recommended PRF (a MAC for short messages).
[[nodiscard]] constexpr std::uint64_t siphash24(siphash_key key, std::string_view bytes) noexcept {
  return siphash<2, 4>(key, bytes);
}

[[nodiscard]] constexpr std::uint64_t siphash24(siphash_key key,
                                                std::span<const std::byte> bytes) noexcept {
  return siphash<2, 4>(key, bytes);
}

/// SipHash-1-3: fewer rounds, for hash tables (what Rust's std HashMap and Python use), where
/// the attacker sees no hash values, only timing.
[[nodiscard]] constexpr std::uint64_t siphash13(siphash_key key, std::string_view bytes) noexcept {
  return siphash<1, 3>(key, bytes);
}

[[nodiscard]] constexpr std::uint64_t siphash13(siphash_key key,
                                                std::span<const std::byte> bytes) noexcept {
  return siphash<1, 3>(key, bytes);
}

/// The SipHash key of a 64-bit seed: two SplitMix64 outputs from it (the way fast_rng expands
/// its seed). Only the seed is secret, so the key has 64 bits of entropy, not 128: enough that
/// guessing it by trial is out of reach of a remote attacker, who sees timing, never hashes.
[[nodiscard]] constexpr siphash_key siphash_key_from_seed(std::uint64_t seed) noexcept {
  const std::uint64_t k0 = splitmix64(seed);
  const std::uint64_t k1 = splitmix64(seed);
  return {k0, k1};
}

/// The default hasher of the in-process tables whose keys may come from outside (bulwark::cache,
/// lru_cache, memory_store): hard to flood when `seed` is secret (the tables draw it at random).
/// Strings (anything convertible to std::string_view) hash with SipHash-1-3 keyed by
/// siphash_key_from_seed(seed). Integers hash with hash64(key, seed): for 4- and 8-byte keys
/// that is a bijection of the key for any seed (every step is invertible: odd multiplications,
/// rotations, xor with a value of the seed, xorshifts), so two integer keys never share a full
/// hash; sharing a shard or a bucket (some bits) is then a matter of the secret seed.
/// Values are not stable across seeds; use stable_hash where a hash is stored or compared
/// across processes. Not is_transparent, for the reason stable_hash is not.
/// Thread-safety: const; safe from any thread. Complexity: O(key size).
struct flood_resistant_hash {
  std::uint64_t seed = 0;

  /// SipHash-1-3 of the bytes of `key` viewed as std::string_view.
  template <class T>
  requires std::convertible_to<const T&, std::string_view>
  [[nodiscard]] constexpr std::uint64_t operator()(const T& key) const noexcept {
    return siphash13(siphash_key_from_seed(seed), std::string_view{key});
  }

  /// hash64 of the sizeof(T) little-endian bytes of `key` with `seed`.
  template <detail::integer_key T>
  [[nodiscard]] constexpr std::uint64_t operator()(T key) const noexcept {
    return hash64(key, seed);
  }
};

}  // namespace bulwark
