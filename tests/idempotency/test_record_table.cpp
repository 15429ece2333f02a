// The table inside memory_store: lookups by view, backward-shift deletion across clusters that
// wrap around the end, reuse of freed records, and the in-process key hash.

#include <bit>
#include <bulwark/core/hash.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/core/siphash.hpp>
#include <bulwark/idempotency/detail/record_table.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catch.hpp"

namespace {

using table_t = bulwark::detail::idempotency_table<int>;
using bulwark::detail::scoped_key_hash;

std::string key_of(std::uint64_t i) {
  return "key-" + std::to_string(i);
}

// Few distinct hashes, so clusters are long and hashes repeat; half of them have their home at
// the end of the slot array (whatever its size), so clusters wrap around to the front. The
// high bits tell equal low bits apart, as the shard bits do in the store.
std::uint64_t hash_of(std::uint64_t i, std::uint64_t distinct) {
  const std::uint64_t j = i % distinct;
  const std::uint64_t low = i % 2 == 0 ? j : 0xFFFF'FFFF'FFFFull - j;
  return low | (0xABCDull << 48);
}

}  // namespace

TEST_CASE("the key hash reads every byte and the scope/key boundary", "[idempotency]") {
  // Lengths 0 to 40 cover the empty string, the 1-3 and 4-8 byte short words, one full word
  // plus an overlapping last one, and several full words.
  std::set<std::uint64_t> seen;
  std::string base(40, 'x');
  for (std::size_t n = 0; n <= base.size(); ++n) {
    const std::string_view s{base.data(), n};
    CHECK(seen.insert(scoped_key_hash("t", s)).second);
    for (std::size_t at = 0; at < n; ++at) {  // flipping any one byte changes the hash
      std::string flipped{s};
      flipped[at] = 'y';
      CHECK(scoped_key_hash("t", flipped) != scoped_key_hash("t", s));
    }
  }
  CHECK(scoped_key_hash("ab", "c") != scoped_key_hash("a", "bc"));
  CHECK(scoped_key_hash("", "abc") != scoped_key_hash("abc", ""));
  CHECK(scoped_key_hash("s", "k") == scoped_key_hash(std::string{"s"}, std::string{"k"}));
}

TEST_CASE("the key hash depends on the store's seed, and seed 0 is the unseeded hash",
          "[idempotency]") {
  CHECK(scoped_key_hash("s", "k", 0) == scoped_key_hash("s", "k"));
  std::set<std::uint64_t> seen;
  for (std::uint64_t seed = 0; seed < 64; ++seed)
    CHECK(seen.insert(scoped_key_hash("s", "k", seed)).second);
  // Two keys in one slot of a 16-slot table under seed 0 are in one slot under another seed
  // with probability 1/16 only: of 64 such pairs, not all stay together under seed 1.
  std::vector<std::string> same_slot;
  for (int i = 0; same_slot.size() < 65; ++i) {
    std::string key = "k" + std::to_string(i);
    if ((scoped_key_hash("s", key, 0) & 15) == 0) same_slot.push_back(std::move(key));
  }
  std::size_t together = 0;
  for (std::size_t i = 1; i < same_slot.size(); ++i)
    together += (scoped_key_hash("s", same_slot[i], 1) & 15) ==
                (scoped_key_hash("s", same_slot[0], 1) & 15);
  CHECK(together < 64);
}

namespace {

namespace d = bulwark::detail;

constexpr std::uint64_t inverse(std::uint64_t p) {  // of an odd multiplier, by Newton's iteration
  std::uint64_t x = p;
  for (int i = 0; i < 6; ++i)
    x *= 2 - p * x;
  return x;
}

// The word w' with R(w') = R(w) ^ flip, where R(w) = xxh64_round(0, w) (core/hash.hpp).
std::uint64_t partner(std::uint64_t w, std::uint64_t flip) {
  const std::uint64_t y = d::xxh64_round(0, w) ^ flip;
  return std::rotr(y * inverse(d::xxh_prime64_1), 31) * inverse(d::xxh_prime64_2);
}

void append_le(std::string& s, std::uint64_t w) {
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>(static_cast<std::uint8_t>(w >> (8 * i))));
}

}  // namespace

// The keys a word-by-word XXH64 fold (acc = xxh64_tail8(acc, word), what this hash was before
// it became SipHash) cannot tell apart under any seed: per 16-byte block, the words (a, b) or
// (a', b') with R(a') = R(a) ^ 2^36 and R(b') = R(b) ^ 2^63. The first pair leaves the two
// accumulators differing in the top bit only (rotl 27 takes bit 36 to 63, and a top-bit
// difference survives the odd multiply and the add), the second cancels it; see
// tests/core/test_siphash.cpp. Four blocks give 2^4 keys that all fold to one value.
TEST_CASE("keys that collide in every seed of a word-by-word XXH64 fold hash apart",
          "[idempotency]") {
  bulwark::fast_rng rng{77};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks[2];
  for (int b = 0; b < 4; ++b) {
    const std::uint64_t w1 = rng(), w2 = rng();
    blocks[0].emplace_back(w1, w2);
    blocks[1].emplace_back(partner(w1, std::uint64_t{1} << 36),
                           partner(w2, std::uint64_t{1} << 63));
  }
  std::vector<std::string> keys;
  for (unsigned pick = 0; pick < 16; ++pick) {
    std::string key;
    for (std::size_t b = 0; b < 4; ++b) {
      const auto [w1, w2] = blocks[(pick >> b) & 1][b];
      append_le(key, w1);
      append_le(key, w2);
    }
    keys.push_back(std::move(key));
  }
  for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, rng(), rng()}) {
    std::set<std::uint64_t> folds, hashes;
    for (const auto& key : keys) {
      std::uint64_t acc = seed;
      for (std::size_t at = 0; at < key.size(); at += 8)
        acc = d::xxh64_tail8(acc, d::load_le<std::uint64_t>(key.data() + at));
      folds.insert(acc);
      hashes.insert(scoped_key_hash("s", key, seed));
    }
    CHECK(folds.size() == 1);
    CHECK(hashes.size() == keys.size());
  }
}

// The message is the scope's length (8 bytes, little-endian), the scope, then the key, hashed
// with SipHash-1-3 under the key derived from the seed (record_table.hpp).
TEST_CASE("the key hash is SipHash-1-3 of the length-prefixed scope and the key", "[idempotency]") {
  std::string message;
  append_le(message, 5);
  message += "scopekey-1";
  CHECK(scoped_key_hash("scope", "key-1", 3) ==
        bulwark::siphash13(bulwark::siphash_key_from_seed(3), message));
}

TEST_CASE("same_bytes compares every length exactly", "[idempotency]") {
  const std::string a = "0123456789abcdefghijklmnop";
  for (std::size_t n = 0; n <= a.size(); ++n) {
    CHECK(bulwark::detail::same_bytes(a.data(), std::string_view{a.data(), n}));
    for (std::size_t at = 0; at < n; ++at) {
      std::string b = a.substr(0, n);
      b[at] = '#';
      CHECK_FALSE(bulwark::detail::same_bytes(a.data(), b));
    }
  }
}

TEST_CASE("the table agrees with a map under random inserts and erases", "[idempotency]") {
  // Every branch of the backward shift runs: see hash_of.
  const std::uint64_t distinct_hashes = GENERATE(3u, 40u, 1000u);
  bulwark::fast_rng rng{distinct_hashes};
  table_t table;
  std::map<std::string, std::uint64_t> model;  // key -> hash
  std::set<const table_t::record*> live;
  for (int step = 0; step < 4000; ++step) {
    const std::uint64_t i = bulwark::uniform_below(rng, 300);
    const std::string key = key_of(i);
    const std::uint64_t hash = hash_of(i, distinct_hashes);
    auto* found = table.find(hash, {"s", key});
    REQUIRE((found != nullptr) == model.contains(key));
    if (found == nullptr) {
      auto& r = table.insert(hash, {"s", key});
      CHECK(r.scope() == "s");
      CHECK(r.key() == key);
      CHECK_FALSE(r.completed);
      CHECK_FALSE(r.result.has_value());
      r.result.emplace(std::in_place_index<0>, static_cast<int>(i));
      model.emplace(key, hash);
      live.insert(&r);
    } else {
      CHECK(found->key() == key);
      REQUIRE(found->result.has_value());
      CHECK(std::get<0>(*found->result) == static_cast<int>(i));
      if (bulwark::bernoulli(rng, 0.6)) {
        table.erase(*found);
        model.erase(key);
        live.erase(found);
      }
    }
    REQUIRE(table.size() == model.size());
  }
  // Every key the model holds is found, and no other.
  for (std::uint64_t i = 0; i < 300; ++i) {
    const std::string key = key_of(i);
    const std::uint64_t hash = hash_of(i, distinct_hashes);
    CHECK((table.find(hash, {"s", key}) != nullptr) == model.contains(key));
  }
  // erase_if visits every record once at least and skips none.
  std::size_t odd = 0;
  for (const auto& [key, hash] : model)
    if (std::stoul(key.substr(4)) % 2 == 1) ++odd;
  const std::size_t erased = table.erase_if(
      [](const table_t::record& r) { return std::stoul(std::string{r.key()}.substr(4)) % 2 == 1; });
  CHECK(erased == odd);
  for (const auto& [key, hash] : model) {
    const bool is_odd = std::stoul(key.substr(4)) % 2 == 1;
    CHECK((table.find(hash, {"s", key}) != nullptr) == !is_odd);
  }
  CHECK(table.size() == model.size() - odd);
}

TEST_CASE("an erased record is reused, cleared, by the next insert", "[idempotency]") {
  table_t table;
  auto& first = table.insert(7, {"scope", "a-long-key-beyond-the-small-buffer"});
  first.completed = true;
  first.result.emplace(std::in_place_index<0>, 42);
  table.erase(first);
  CHECK(table.size() == 0);
  CHECK(table.find(7, {"scope", "a-long-key-beyond-the-small-buffer"}) == nullptr);
  auto& second = table.insert(9, {"t", "k"});
  CHECK(&second == &first);  // the freed record, not a new allocation
  CHECK(second.scope() == "t");
  CHECK(second.key() == "k");
  CHECK_FALSE(second.completed);
  CHECK_FALSE(second.result.has_value());
  CHECK(table.find(9, {"t", "k"}) == &second);
  CHECK(table.find(9, {"", "tk"}) == nullptr);  // same bytes, other boundary
}
