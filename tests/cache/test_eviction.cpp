#include <bulwark/cache/eviction.hpp>
#include <bulwark/cache/frequency_sketch.hpp>
#include <bulwark/cache/s3fifo.hpp>
#include <bulwark/cache/tiny_lfu.hpp>
#include <bulwark/core/hash.hpp>
#include <cstdint>
#include <vector>

#include "catch.hpp"

// These drive the policies through the interface the cache uses, slot by slot, with the
// expected evictions worked out by hand from the papers' rules.

namespace {

std::uint64_t h(std::uint32_t slot) {
  return bulwark::hash64(std::uint64_t{slot} + 1000);
}

template <class Policy>
std::vector<std::uint32_t> insert(Policy& p, std::uint32_t slot) {
  std::vector<std::uint32_t> evicted;
  p.on_insert(slot, h(slot), 1);
  p.evict([](std::uint32_t s) { return h(s); }, [&](std::uint32_t s) { evicted.push_back(s); });
  return evicted;
}

using slots = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("frequency_sketch counts to 15 and halves every 10 x width additions", "[cache]") {
  bulwark::detail::frequency_sketch sketch(16);  // 16 words: a sample of 160 additions
  CHECK(sketch.frequency(h(1)) == 0);
  for (int i = 0; i < 20; ++i)
    sketch.increment(h(1));
  CHECK(sketch.frequency(h(1)) == 15);  // saturated
  for (int i = 0; i < 5; ++i)
    sketch.increment(h(2));
  CHECK(sketch.frequency(h(2)) == 5);
  // 15 + 5 additions so far (saturated increments do not count); 139 others make 159. Count-min
  // may overestimate h(2) now (the others share its counters), never underestimate.
  for (std::uint32_t i = 0; i < 139; ++i)
    sketch.increment(h(100 + i));
  const unsigned before = sketch.frequency(h(2));
  CHECK(before >= 5);
  // The 160th addition halves every counter: 15 -> 7, and h(2)'s (before + 1) -> half.
  sketch.increment(h(2));
  CHECK(sketch.frequency(h(1)) == 7);
  CHECK(sketch.frequency(h(2)) == (before + 1) / 2);
}

TEST_CASE("lru_eviction evicts in recency order", "[cache]") {
  bulwark::lru_eviction p(3);
  p.reserve(8);
  CHECK(insert(p, 0).empty());
  CHECK(insert(p, 1).empty());
  CHECK(insert(p, 2).empty());
  p.on_access(0, h(0));
  CHECK(insert(p, 3) == slots{1});
  p.on_remove(2);
  CHECK(insert(p, 4).empty());
  CHECK(insert(p, 5) == slots{0});
}

TEST_CASE("W-TinyLFU admits a window candidate only if it is more frequent than the victim",
          "[cache]") {
  // Capacity 10: window 1, main 9 (protected at most 7). Inserting 0..9 fills it: the window
  // holds the newest entry, probation the others, oldest first.
  bulwark::tiny_lfu_eviction p(10);
  p.reserve(16);
  for (std::uint32_t s = 0; s < 10; ++s)
    REQUIRE(insert(p, s).empty());
  // 10 pushes 9 out of the window as a candidate; 9 (seen once) ties with victim 0 (seen once)
  // and a tie rejects the candidate.
  CHECK(insert(p, 10) == slots{9});
  // 10 is read twice in the window (frequency 3); when 11 pushes it out it beats victim 0.
  p.on_access(10, h(10));
  p.on_access(10, h(10));
  CHECK(insert(p, 11) == slots{0});
  // 11 (frequency 1) against the next victim, 1 (frequency 1): rejected.
  CHECK(insert(p, 12) == slots{11});
  // A hit moves 1 from probation to protected, so the victim is now 2.
  p.on_access(1, h(1));
  p.on_access(12, h(12));
  p.on_access(12, h(12));
  CHECK(insert(p, 13) == slots{2});
  CHECK(p.weight() == 10);
}

TEST_CASE("S3-FIFO filters one-hit wonders and readmits ghosts to the main queue", "[cache]") {
  // Capacity 10: small queue 1, main 9, ghost of 9 hashes.
  bulwark::s3fifo_eviction p(10);
  p.reserve(16);
  for (std::uint32_t s = 0; s < 10; ++s)
    REQUIRE(insert(p, s).empty());
  // Full: the small queue's oldest, 0, was never read: evicted, its hash remembered.
  CHECK(insert(p, 10) == slots{0});
  // 1 was read: it moves to main instead, and 2 (never read) is evicted.
  p.on_access(1, h(1));
  CHECK(insert(p, 11) == slots{2});
  // Slot 12 reuses 0's hash (the key came back): it enters main; small still evicts 3.
  std::vector<std::uint32_t> evicted;
  p.on_insert(12, h(0), 1);
  p.evict([](std::uint32_t s) { return s == 12 ? h(0) : h(s); },
          [&](std::uint32_t s) { evicted.push_back(s); });
  CHECK(evicted == slots{3});
  CHECK(p.weight() == 10);
}
