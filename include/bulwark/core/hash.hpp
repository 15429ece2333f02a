#pragma once
// bulwark::hash64: XXH64 (Yann Collet), written from the published specification
// "xxHash fast digest algorithm", version 0.1.1 (doc/xxhash_spec.md in the xxHash sources),
// section "XXH64 Algorithm Description". Section names below ("Step 2", ...) refer to it.
//
// Why XXH64 and not std::hash: placement (consistent hashing, sharding, sampling) must agree
// across processes, builds and platforms, and std::hash promises none of that. XXH64's output is
// fully specified, so two bulwark processes on different machines place a key the same way, and
// any other XXH64 implementation (Go, Java, Python, libxxhash) computes the same value.

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace bulwark {
namespace detail {

// The five primes of section "Overview".
inline constexpr std::uint64_t xxh_prime64_1 = 0x9E3779B185EBCA87ULL;
inline constexpr std::uint64_t xxh_prime64_2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr std::uint64_t xxh_prime64_3 = 0x165667B19E3779F9ULL;
inline constexpr std::uint64_t xxh_prime64_4 = 0x85EBCA77C2B2AE63ULL;
inline constexpr std::uint64_t xxh_prime64_5 = 0x27D4EB2F165667C5ULL;

// The spec reads lanes little-endian; only these two byte orders are supported.
static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "bulwark::hash64 supports little- and big-endian hosts only");

// std::byteswap is C++23. Compilers recognise this shape and emit one bswap instruction.
constexpr std::uint64_t byteswap64(std::uint64_t x) noexcept {
  x = ((x & 0x00FF00FF00FF00FFULL) << 8) | ((x >> 8) & 0x00FF00FF00FF00FFULL);
  x = ((x & 0x0000FFFF0000FFFFULL) << 16) | ((x >> 16) & 0x0000FFFF0000FFFFULL);
  return (x << 32) | (x >> 32);
}

constexpr std::uint32_t byteswap32(std::uint32_t x) noexcept {
  x = ((x & 0x00FF00FFU) << 8) | ((x >> 8) & 0x00FF00FFU);
  return (x << 16) | (x >> 16);
}

// Little-endian loads of N bytes. A constant expression may not reinterpret bytes as an
// integer, so at compile time the value is assembled byte by byte; at run time one memcpy,
// which compilers turn into a single (unaligned-safe) load, plus a bswap on big-endian hosts.
// Byte is char (string_view), std::byte (span) or unsigned char (integer keys).
template <class Unsigned, class Byte>
constexpr Unsigned load_le(const Byte* p) noexcept {
  if (std::is_constant_evaluated()) {
    Unsigned v = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      v |= static_cast<Unsigned>(static_cast<std::uint8_t>(p[i])) << (8 * i);
    }
    return v;
  } else {
    Unsigned v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) {
      if constexpr (sizeof(Unsigned) == 8) v = byteswap64(v);
      if constexpr (sizeof(Unsigned) == 4) v = byteswap32(v);
    }
    return v;
  }
}

// "Step 2. Process stripes": round(acc, lane).
constexpr std::uint64_t xxh64_round(std::uint64_t acc, std::uint64_t lane) noexcept {
  acc += lane * xxh_prime64_2;
  acc = std::rotl(acc, 31);
  return acc * xxh_prime64_1;
}

// "Step 3. Accumulator convergence": mergeAccumulator(acc, accN).
constexpr std::uint64_t xxh64_merge(std::uint64_t acc, std::uint64_t acc_n) noexcept {
  acc ^= xxh64_round(0, acc_n);
  return acc * xxh_prime64_1 + xxh_prime64_4;
}

// "Step 5. Consume remaining input", one step per granule size.
constexpr std::uint64_t xxh64_tail8(std::uint64_t acc, std::uint64_t lane) noexcept {
  acc ^= xxh64_round(0, lane);
  return std::rotl(acc, 27) * xxh_prime64_1 + xxh_prime64_4;
}

constexpr std::uint64_t xxh64_tail4(std::uint64_t acc, std::uint32_t lane) noexcept {
  acc ^= std::uint64_t{lane} * xxh_prime64_1;
  return std::rotl(acc, 23) * xxh_prime64_2 + xxh_prime64_3;
}

constexpr std::uint64_t xxh64_tail1(std::uint64_t acc, std::uint8_t lane) noexcept {
  acc ^= std::uint64_t{lane} * xxh_prime64_5;
  return std::rotl(acc, 11) * xxh_prime64_1;
}

// "Step 6. Final mix (avalanche)".
constexpr std::uint64_t xxh64_avalanche(std::uint64_t acc) noexcept {
  acc ^= acc >> 33;
  acc *= xxh_prime64_2;
  acc ^= acc >> 29;
  acc *= xxh_prime64_3;
  return acc ^ (acc >> 32);
}

// What the integer overloads accept: std::integral without bool (see hash64(T)).
template <class T>
concept integer_key = std::integral<T> && !std::same_as<T, bool>;

// The whole algorithm over len bytes at p. Four independent accumulators in the stripe loop
// let the CPU run four multiply chains in parallel; that loop is where the throughput is.
template <class Byte>
constexpr std::uint64_t xxh64(const Byte* p, std::size_t len, std::uint64_t seed) noexcept {
  std::uint64_t acc;
  if (len >= 32) {
    // "Step 1. Initialize internal accumulators".
    std::uint64_t v1 = seed + xxh_prime64_1 + xxh_prime64_2;
    std::uint64_t v2 = seed + xxh_prime64_2;
    std::uint64_t v3 = seed;
    std::uint64_t v4 = seed - xxh_prime64_1;
    const Byte* const last_stripe = p + (len - 32);
    do {
      v1 = xxh64_round(v1, load_le<std::uint64_t>(p));
      v2 = xxh64_round(v2, load_le<std::uint64_t>(p + 8));
      v3 = xxh64_round(v3, load_le<std::uint64_t>(p + 16));
      v4 = xxh64_round(v4, load_le<std::uint64_t>(p + 24));
      p += 32;
    } while (p <= last_stripe);
    acc = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    acc = xxh64_merge(acc, v1);
    acc = xxh64_merge(acc, v2);
    acc = xxh64_merge(acc, v3);
    acc = xxh64_merge(acc, v4);
  } else {
    acc = seed + xxh_prime64_5;  // "Special case: input is less than 32 bytes".
  }
  acc += static_cast<std::uint64_t>(len);  // "Step 4. Add input length".
  std::size_t rest = len & 31;
  for (; rest >= 8; rest -= 8, p += 8)
    acc = xxh64_tail8(acc, load_le<std::uint64_t>(p));
  if (rest >= 4) {
    acc = xxh64_tail4(acc, load_le<std::uint32_t>(p));
    p += 4;
    rest -= 4;
  }
  for (; rest > 0; --rest, ++p)
    acc = xxh64_tail1(acc, static_cast<std::uint8_t>(*p));
  return xxh64_avalanche(acc);
}

}  // namespace detail

/// XXH64 of `bytes` with `seed`: bit-identical to the reference XXH64 (libxxhash's `XXH64()`)
/// on every input and every platform, so the value may be stored, sent and compared across
/// processes, builds and machines. Usable in constant expressions.
/// Thread-safety: a pure function; safe from any thread. Complexity: O(bytes.size()).
[[nodiscard]] constexpr std::uint64_t hash64(std::string_view bytes,
                                             std::uint64_t seed = 0) noexcept {
  return detail::xxh64(bytes.data(), bytes.size(), seed);
}

/// XXH64 of a NUL-terminated string, without the NUL; `s` must not be null. Present so that
/// `hash64("key")` is an exact match rather than a conversion, which keeps overload resolution
/// plain next to the integer template; same value as `hash64(std::string_view{s})`.
/// Thread-safety: a pure function. Complexity: O(length of s).
[[nodiscard]] constexpr std::uint64_t hash64(const char* s, std::uint64_t seed = 0) noexcept {
  return hash64(std::string_view{s}, seed);
}

/// XXH64 of raw bytes; the same value as the string_view overload over the same bytes.
/// Usable in constant expressions. Thread-safety: a pure function. Complexity: O(bytes.size()).
[[nodiscard]] constexpr std::uint64_t hash64(std::span<const std::byte> bytes,
                                             std::uint64_t seed = 0) noexcept {
  return detail::xxh64(bytes.data(), bytes.size(), seed);
}

/// XXH64 of the sizeof(T) little-endian bytes of `value` (two's complement for signed types),
/// on every platform: `hash64(std::int32_t{-2})` equals hash64 of the bytes FE FF FF FF.
/// 4- and 8-byte keys take a direct path (one mixing step and the avalanche, no buffer),
/// since integer keys are the hot path of consistent hashing. bool is excluded: its byte
/// representation is not something a caller means to hash.
/// Thread-safety: a pure function. Complexity: O(1).
template <detail::integer_key T>
[[nodiscard]] constexpr std::uint64_t hash64(T value, std::uint64_t seed = 0) noexcept {
  using unsigned_t = std::make_unsigned_t<T>;
  // Conversion to unsigned is modulo 2^N, so it yields the two's complement bits on any host;
  // the lanes are then built from values, not memory, which makes byte order irrelevant.
  const auto bits = static_cast<unsigned_t>(value);
  constexpr std::uint64_t len = sizeof(T);
  if constexpr (sizeof(T) == 8) {
    // Input shorter than 32 bytes: Step 1 special case, Step 4, one 8-byte step of Step 5.
    const std::uint64_t acc = seed + detail::xxh_prime64_5 + len;
    return detail::xxh64_avalanche(detail::xxh64_tail8(acc, static_cast<std::uint64_t>(bits)));
  } else if constexpr (sizeof(T) == 4) {
    const std::uint64_t acc = seed + detail::xxh_prime64_5 + len;
    return detail::xxh64_avalanche(detail::xxh64_tail4(acc, static_cast<std::uint32_t>(bits)));
  } else {
    // Other widths (1, 2, 16 bytes): spell out the little-endian bytes and run the general path.
    unsigned char bytes[sizeof(T)]{};
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      bytes[i] = static_cast<unsigned char>(bits >> (8 * i));
    }
    return detail::xxh64(bytes, sizeof(T), seed);
  }
}

/// A hasher functor that is stable across processes, builds and platforms, unlike std::hash:
/// it returns `hash64(key, seed)`. Meant for components that take a custom hasher (rings,
/// routers, rendezvous, caches), so that placement survives a restart or a new compiler.
/// Strings (anything convertible to std::string_view) hash their bytes; integers hash their
/// sizeof(T) little-endian bytes, so `int` 7 and `long` 7 hash differently: keep key types
/// fixed. For that reason it is deliberately not `is_transparent`: a heterogeneous lookup with
/// a key of another integer width would hash differently from the stored key and miss.
/// Thread-safety: const and stateless apart from the seed; safe from any thread.
/// Complexity: O(key size).
struct stable_hash {
  std::uint64_t seed = 0;

  /// hash64 of the bytes of `key` viewed as std::string_view.
  template <class T>
  requires std::convertible_to<const T&, std::string_view>
  [[nodiscard]] constexpr std::uint64_t operator()(const T& key) const noexcept {
    return hash64(std::string_view{key}, seed);
  }

  /// hash64 of the sizeof(T) little-endian bytes of `key`.
  template <detail::integer_key T>
  [[nodiscard]] constexpr std::uint64_t operator()(T key) const noexcept {
    return hash64(key, seed);
  }
};

}  // namespace bulwark
