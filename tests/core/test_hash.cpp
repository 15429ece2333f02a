#include <array>
#include <bulwark/core/hash.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catch.hpp"

#if BULWARK_HAVE_LIBXXHASH
#include <xxhash.h>
#endif

namespace {

using bulwark::hash64;

// Known answers computed with the reference implementation, libxxhash 0.8.1 (Debian 12's
// libxxhash-dev), by calling XXH64(bytes, length, seed). They let the suite check hash64 where
// libxxhash is not installed, and let static_assert check the constexpr path.
struct known_answer {
  std::string_view input;
  std::uint64_t seed;
  std::uint64_t expected;
};

constexpr std::string_view fox = "The quick brown fox jumps over the lazy dog";  // 43 bytes

constexpr std::array<known_answer, 9> known_answers{{
    {"", 0, 0xEF46DB3751D8E999ULL},
    {"", 1, 0xD5AFBA1336A3BE4BULL},
    {"", 0x9E3779B97F4A7C15ULL, 0xC4349FC93C010000ULL},
    {"a", 0, 0xD24EC4F1A98C6E5BULL},
    {"abc", 0, 0x44BC2CF5AD770999ULL},
    {"abcd", 0, 0xDE0327B0D25D92CCULL},
    {"123456789", 0, 0x8CB841DB40E6AE83ULL},
    {fox, 0, 0x0B242D361FDA71BCULL},
    {fox, 42, 0xAA9F288A8BAA3D3FULL},
}};

// The bytes 0, 1, ..., 99: three full stripes plus every tail step (8, 4 and 1 byte).
constexpr std::array<char, 100> counting_bytes = [] {
  std::array<char, 100> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(i);
  return bytes;
}();
constexpr std::string_view counting{counting_bytes.data(), counting_bytes.size()};
constexpr std::uint64_t counting_seed0 = 0x6AC1E58032166597ULL;     // libxxhash 0.8.1
constexpr std::uint64_t counting_seed_max = 0x09A991A091C9F6D7ULL;  // libxxhash 0.8.1, seed ~0

constexpr bool all_known_answers_hold() {
  for (const auto& k : known_answers) {
    if (hash64(k.input, k.seed) != k.expected) return false;
  }
  return true;
}

// The constexpr path (byte-assembling loads) gives the reference's values.
static_assert(hash64("") == 0xEF46DB3751D8E999ULL);
static_assert(hash64(std::string_view{}) == 0xEF46DB3751D8E999ULL);
static_assert(hash64("", 1) == 0xD5AFBA1336A3BE4BULL);
static_assert(hash64("abc") == 0x44BC2CF5AD770999ULL);
static_assert(hash64(fox, 42) == 0xAA9F288A8BAA3D3FULL);
static_assert(all_known_answers_hold());
static_assert(hash64(counting) == counting_seed0);
static_assert(hash64(counting, ~std::uint64_t{0}) == counting_seed_max);

// The span<const std::byte> overload is constexpr too and agrees with the string_view one.
constexpr std::array<std::byte, 100> counting_as_bytes = [] {
  std::array<std::byte, 100> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>(i);
  return bytes;
}();
static_assert(hash64(std::span<const std::byte>{counting_as_bytes}) == counting_seed0);

// Integer keys: the reference over their little-endian bytes (libxxhash 0.8.1):
// EF CD AB 89 67 45 23 01 seed 0, FE FF FF FF seed 0, 34 12 seed 7.
static_assert(hash64(std::uint64_t{0x0123456789ABCDEFULL}) == 0xEA3C52081E9843ECULL);
static_assert(hash64(std::int32_t{-2}) == 0x01FAF0C96F54AC67ULL);
static_assert(hash64(std::uint16_t{0x1234}, 7) == 0xA9A1916D9F178309ULL);

// The big-endian load path cannot run on this (little-endian) host; its byte swaps can be
// checked here at least.
static_assert(bulwark::detail::byteswap64(0x0102030405060708ULL) == 0x0807060504030201ULL);
static_assert(bulwark::detail::byteswap32(0x01020304U) == 0x04030201U);

// Overload resolution: literals and std::string go to the string overloads; bool is refused.
template <class T>
concept hashable = requires(const T& t) {
  hash64(t);
};
static_assert(hashable<std::string>);
static_assert(hashable<const char*>);
static_assert(hashable<std::span<std::byte>>);
static_assert(hashable<std::vector<std::byte>>);
static_assert(!hashable<bool>);
static_assert(!hashable<double>);

// hash64 of the sizeof(T) little-endian bytes of value, built by shifts so the expectation does
// not depend on the host's byte order.
template <class T>
std::uint64_t hash_le_bytes(T value, std::uint64_t seed) {
  const auto bits = static_cast<std::make_unsigned_t<T>>(value);
  std::array<char, sizeof(T)> bytes{};
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    bytes[i] = static_cast<char>(static_cast<unsigned char>(bits >> (8 * i)));
  }
  return hash64(std::string_view{bytes.data(), bytes.size()}, seed);
}

template <class T>
void check_integer_overload(std::mt19937_64& rng) {
  using limits = std::numeric_limits<T>;
  std::vector<T> values{T{0}, T{1}, limits::min(), limits::max(),
                        static_cast<T>(limits::max() / 3)};
  if constexpr (std::is_signed_v<T>) {
    values.push_back(T{-1});
    values.push_back(T{-2});
    values.push_back(static_cast<T>(limits::min() + 1));
  }
  for (int i = 0; i < 64; ++i)
    values.push_back(static_cast<T>(rng()));
  for (const T v : values) {
    for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, rng()}) {
      INFO("sizeof " << sizeof(T) << " value " << static_cast<long long>(v) << " seed " << seed);
      CHECK(hash64(v, seed) == hash_le_bytes(v, seed));
      CHECK(bulwark::stable_hash{seed}(v) == hash64(v, seed));
    }
  }
}

}  // namespace

TEST_CASE("hash64 matches the reference's known answers", "[core]") {
  for (const auto& k : known_answers) {
    INFO("input \"" << k.input << "\" seed " << k.seed);
    CHECK(hash64(k.input, k.seed) == k.expected);
  }
  // A runtime copy, so the memcpy loads (not the constexpr ones) are exercised.
  const std::string copy{counting};
  CHECK(hash64(copy) == counting_seed0);
  CHECK(hash64(copy, ~std::uint64_t{0}) == counting_seed_max);
  std::vector<std::byte> raw(counting_as_bytes.begin(), counting_as_bytes.end());
  CHECK(hash64(raw) == counting_seed0);
  CHECK(hash64(std::span<const std::byte>{raw}) == counting_seed0);
}

TEST_CASE("hash64 overloads for strings agree", "[core]") {
  const std::string abc = "abc";
  CHECK(hash64("abc") == 0x44BC2CF5AD770999ULL);
  CHECK(hash64(abc) == 0x44BC2CF5AD770999ULL);
  CHECK(hash64(std::string{}) == 0xEF46DB3751D8E999ULL);
  const char* c_string = "abc";
  CHECK(hash64(c_string) == hash64(abc));
  // Embedded NULs are bytes like any other: the length, not a terminator, bounds the input.
  const std::string with_nul("a\0b", 3);
  CHECK(hash64(with_nul) != hash64("a"));
  CHECK(hash64(with_nul) == hash64(std::string_view{"a\0b", 3}));
}

#if BULWARK_HAVE_LIBXXHASH
TEST_CASE("hash64 equals libxxhash XXH64 for every length 0..1024 and random seeds", "[core]") {
  std::mt19937_64 rng{20261124};
  constexpr std::size_t max_len = 1024;
  constexpr std::size_t max_offset = 7;
  std::vector<unsigned char> buffer(max_len + max_offset);
  for (auto& b : buffer)
    b = static_cast<unsigned char>(rng());
  const char* const base = reinterpret_cast<const char*>(buffer.data());

  for (std::size_t len = 0; len <= max_len; ++len) {
    // Fresh bytes at every length, so that lengths do not share one prefix.
    for (std::size_t i = 0; i < len; ++i)
      buffer[i] = static_cast<unsigned char>(rng());
    const std::uint64_t seeds[] = {0, rng(), rng(), rng(), ~std::uint64_t{0}};
    for (const std::uint64_t seed : seeds) {
      const std::uint64_t expected = XXH64(base, len, seed);
      INFO("length " << len << " seed " << seed);
      REQUIRE(hash64(std::string_view{base, len}, seed) == expected);
      REQUIRE(hash64(std::span<const std::byte>{reinterpret_cast<const std::byte*>(base), len},
                     seed) == expected);
    }
  }
}

TEST_CASE("hash64 equals libxxhash XXH64 on unaligned input", "[core]") {
  std::mt19937_64 rng{7};
  constexpr std::size_t max_len = 1024;
  // An 8-aligned buffer, so that offset k really is k bytes off an 8-byte boundary.
  std::vector<std::uint64_t> storage((max_len + 16) / 8 + 1);
  auto* bytes = reinterpret_cast<unsigned char*>(storage.data());
  for (std::size_t i = 0; i < storage.size() * 8; ++i)
    bytes[i] = static_cast<unsigned char>(rng());

  for (std::size_t offset = 1; offset <= 7; ++offset) {
    const char* const p = reinterpret_cast<const char*>(bytes + offset);
    for (std::size_t len = 0; len <= max_len; ++len) {
      const std::uint64_t seed = (len % 3 == 0) ? 0 : rng();
      INFO("offset " << offset << " length " << len << " seed " << seed);
      REQUIRE(hash64(std::string_view{p, len}, seed) == XXH64(p, len, seed));
    }
  }
}

TEST_CASE("integer hash64 equals libxxhash XXH64 of the little-endian bytes", "[core]") {
  std::mt19937_64 rng{11};
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t v = rng();
    const std::uint64_t seed = (i % 4 == 0) ? 0 : rng();
    std::array<unsigned char, 8> le{};
    for (std::size_t b = 0; b < 8; ++b)
      le[b] = static_cast<unsigned char>(v >> (8 * b));
    INFO("value " << v << " seed " << seed);
    REQUIRE(hash64(v, seed) == XXH64(le.data(), 8, seed));
    REQUIRE(hash64(static_cast<std::uint32_t>(v), seed) == XXH64(le.data(), 4, seed));
    REQUIRE(hash64(static_cast<std::uint16_t>(v), seed) == XXH64(le.data(), 2, seed));
    REQUIRE(hash64(static_cast<std::uint8_t>(v), seed) == XXH64(le.data(), 1, seed));
  }
}
#endif

TEST_CASE("integer hash64 equals hash64 of the value's little-endian bytes", "[core]") {
  std::mt19937_64 rng{3};
  check_integer_overload<std::int8_t>(rng);
  check_integer_overload<std::uint8_t>(rng);
  check_integer_overload<std::int16_t>(rng);
  check_integer_overload<std::uint16_t>(rng);
  check_integer_overload<std::int32_t>(rng);
  check_integer_overload<std::uint32_t>(rng);
  check_integer_overload<std::int64_t>(rng);
  check_integer_overload<std::uint64_t>(rng);
  check_integer_overload<char>(rng);
  check_integer_overload<long long>(rng);
  // A negative value hashes its two's complement bytes: -1 is all 0xFF bytes.
  CHECK(hash64(std::int32_t{-1}) == hash64(std::string_view{"\xFF\xFF\xFF\xFF", 4}));
  CHECK(hash64(std::int64_t{-1}) == hash64(std::uint64_t{0xFFFFFFFFFFFFFFFFULL}));
  CHECK(hash64(std::int8_t{-128}) == hash64(std::string_view{"\x80", 1}));
  // Width is part of the key: the same number at another width is other bytes.
  CHECK(hash64(std::uint32_t{7}) != hash64(std::uint64_t{7}));
}

TEST_CASE("stable_hash agrees with hash64", "[core]") {
  constexpr bulwark::stable_hash unseeded;
  static_assert(unseeded("abc") == hash64("abc"));
  static_assert(unseeded(std::uint64_t{0x0123456789ABCDEFULL}) == 0xEA3C52081E9843ECULL);
  static_assert(bulwark::stable_hash{42}(fox) == 0xAA9F288A8BAA3D3FULL);

  const bulwark::stable_hash seeded{99};
  const std::string key = "user:1234";
  CHECK(seeded(key) == hash64(key, 99));
  CHECK(seeded(std::string_view{key}) == hash64(key, 99));
  CHECK(seeded(key.c_str()) == hash64(key, 99));
  CHECK(seeded("user:1234") == hash64(key, 99));
  CHECK(seeded(std::int16_t{-5}) == hash64(std::int16_t{-5}, 99));
  CHECK(unseeded(key) == hash64(key));
  CHECK(seeded(key) != unseeded(key));

  // Usable as the hasher of a standard unordered container.
  std::unordered_map<std::string, int, bulwark::stable_hash> map;
  map["a"] = 1;
  map["b"] = 2;
  CHECK(map.at("a") == 1);
  CHECK(map.at("b") == 2);
}
