#include <algorithm>
#include <atomic>
#include <bulwark/cache/cache.hpp>
#include <bulwark/cache/lru_cache.hpp>
#include <bulwark/cache/s3fifo.hpp>
#include <bulwark/core/hash.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/core/siphash.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "reference_lru.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark::removal_cause;

namespace {
template <class Policy = bulwark::tiny_lfu_eviction>
using test_cache = bulwark::cache<int, int, Policy, manual_clock>;
using removal = std::tuple<int, int, removal_cause>;
}  // namespace

TEST_CASE("cache with lru_eviction matches a list+map LRU on random operations", "[cache]") {
  const std::uint64_t capacity = GENERATE(1u, 3u, 50u);
  manual_clock clock;
  std::vector<removal> removed;
  test_cache<bulwark::lru_eviction> c(
      {.maximum_size = capacity, .shards = 1},
      {.on_removal = [&](int k, int v, removal_cause why) { removed.emplace_back(k, v, why); }},
      clock);
  cache_test::reference_lru ref(capacity);
  bulwark::fast_rng rng{capacity};
  // Long runs of reads overflow the read buffer (64) and exercise the reader-side drain.
  for (int step = 0; step < 30000; ++step) {
    const int key = static_cast<int>(bulwark::uniform_below(rng, capacity * 3));
    const auto op = bulwark::uniform_below(rng, 20);
    removed.clear();
    if (op < 14) {
      const int* expected = ref.get(key);
      const auto actual = c.get(key);
      REQUIRE((expected == nullptr) == !actual.has_value());
      if (expected != nullptr) REQUIRE(*expected == *actual);
    } else if (op < 19) {
      const bool present = ref.get(key) != nullptr;
      (void)c.contains(key);  // the same recency effect as the reference's get
      const auto victim = ref.put(key, step);
      c.put(key, step);
      if (victim) {
        REQUIRE(removed.size() == 1);
        REQUIRE(std::get<0>(removed[0]) == *victim);
        REQUIRE(std::get<2>(removed[0]) == removal_cause::size);
      } else {
        REQUIRE(removed.size() == (present ? 1u : 0u));  // a replacement
        if (present) REQUIRE(std::get<2>(removed[0]) == removal_cause::replaced);
      }
    } else {
      REQUIRE(ref.erase(key) == c.invalidate(key));
    }
    REQUIRE(c.size() == ref.size());
  }
}

TEST_CASE("cache never holds more than its maximum size or weight", "[cache]") {
  const std::uint32_t shards = GENERATE(1u, 4u);
  bulwark::fast_rng rng{shards};
  SECTION("count bound, W-TinyLFU") {
    test_cache<> c({.maximum_size = 100, .shards = shards});
    for (int i = 0; i < 20000; ++i) {
      c.put(static_cast<int>(bulwark::uniform_below(rng, 1000)), i);
      REQUIRE(c.metrics().entries <= 100);
    }
  }
  SECTION("count bound, S3-FIFO") {
    test_cache<bulwark::s3fifo_eviction> c({.maximum_size = 100, .shards = shards});
    for (int i = 0; i < 20000; ++i) {
      c.put(static_cast<int>(bulwark::uniform_below(rng, 1000)), i);
      REQUIRE(c.metrics().entries <= 100);
    }
  }
  SECTION("weight bound") {
    test_cache<> c({.maximum_weight = 200, .shards = shards},
                   {.weigher = [](int k, int) { return static_cast<std::uint32_t>(k % 7 + 1); }});
    for (int i = 0; i < 20000; ++i) {
      c.put(static_cast<int>(bulwark::uniform_below(rng, 1000)), i);
      REQUIRE(c.metrics().weight <= 200);
    }
    // An entry heavier than a shard's whole bound is admitted and evicted at once.
    c.put(5000, 1);
    test_cache<> tiny({.maximum_weight = 3, .shards = 1},
                      {.weigher = [](int, int v) { return static_cast<std::uint32_t>(v); }});
    tiny.put(1, 9);
    CHECK_FALSE(tiny.get(1).has_value());
    CHECK(tiny.metrics().evictions_size == 1);
  }
}

TEST_CASE("cache expires entries exactly at their deadline", "[cache]") {
  manual_clock clock;
  const auto t0 = clock.now();
  SECTION("after write: live until t0 + ttl, gone at t0 + ttl") {
    test_cache<> c({.maximum_size = 10, .expire_after_write = 10s}, clock);
    c.put(1, 1);
    clock.set(t0 + 10s - 1ns);
    CHECK(c.get(1) == 1);
    CHECK(c.get_entry(1)->expires_at == t0 + 10s);
    clock.set(t0 + 10s);
    CHECK_FALSE(c.get(1).has_value());
    CHECK_FALSE(c.contains(1));
    // Reads do not extend a write deadline.
    c.put(2, 2);  // at t0 + 10s
    clock.set(t0 + 15s);
    CHECK(c.get(2) == 2);
    clock.set(t0 + 20s);
    CHECK_FALSE(c.get(2).has_value());
  }
  SECTION("after access: each read restarts the deadline") {
    test_cache<> c({.maximum_size = 10, .expire_after_access = 5s}, clock);
    c.put(1, 1);
    clock.set(t0 + 4s);
    CHECK(c.get(1) == 1);  // deadline now t0 + 9s
    clock.set(t0 + 9s - 1ns);
    CHECK(c.get(1) == 1);  // deadline now t0 + 14s - 1ns
    clock.set(t0 + 14s - 1ns);
    CHECK_FALSE(c.get(1).has_value());
  }
  SECTION("both: whichever deadline comes first") {
    test_cache<> c({.maximum_size = 10, .expire_after_write = 10s, .expire_after_access = 5s},
                   clock);
    c.put(1, 1);
    for (auto t : {4s, 8s}) {
      clock.set(t0 + t);
      CHECK(c.get(1) == 1);
    }
    clock.set(t0 + 10s);  // read every 4s, but written 10s ago
    CHECK_FALSE(c.get(1).has_value());
  }
  SECTION("per-entry TTL, on a cache without default expiry") {
    test_cache<> c({.maximum_size = 10}, clock);
    c.put(1, 1, 2s);
    c.put(2, 2);
    CHECK(c.get_entry(2)->expires_at == bulwark::time_point::max());
    clock.set(t0 + 2s - 1ns);
    CHECK(c.get(1) == 1);
    clock.set(t0 + 2s);
    CHECK_FALSE(c.get(1).has_value());
    clock.set(t0 + 1000h);
    CHECK(c.get(2) == 2);
    // The `now` overloads judge at the time given.
    c.put(3, 3, 1s, t0);
    CHECK(c.get(3, t0 + 999ms) == 3);
    CHECK_FALSE(c.get(3, t0 + 1s).has_value());
  }
  SECTION("expired entries are swept by later writes and by cleanup()") {
    test_cache<> c({.maximum_size = 1000, .expire_after_write = 1s}, clock);
    for (int i = 0; i < 100; ++i)
      c.put(i, i);
    clock.advance(2s);
    CHECK(c.metrics().entries == 100);  // expired, not yet swept
    for (int i = 1000; i < 1200; ++i)
      c.put(i, i);
    CHECK(c.metrics().evictions_expired == 100);  // swept by writes alone
    clock.advance(2s);
    CHECK(c.cleanup() == 200);
    CHECK(c.size() == 0);
  }
}

TEST_CASE("cache keeps deadlines only once an entry has one", "[cache]") {
  manual_clock clock;
  const auto t0 = clock.now();
  test_cache<> plain({.maximum_size = 1000, .shards = 1}, clock);
  test_cache<> timed({.maximum_size = 1000, .expire_after_write = 1h, .shards = 1}, clock);
  test_cache<> both(
      {.maximum_size = 1000, .expire_after_write = 1h, .expire_after_access = 1h, .shards = 1},
      clock);
  for (int k = 0; k < 100; ++k) {
    plain.put(k, k);
    timed.put(k, k);
    both.put(k, k);
  }
  // 8 bytes a cell for each kind of deadline the cache can set, none without expiry. The three
  // caches have the same cells (128 for 100 entries), so the differences are exact.
  CHECK(timed.overhead_bytes() == plain.overhead_bytes() + 128 * 8);
  CHECK(both.overhead_bytes() == plain.overhead_bytes() + 128 * 16);

  // A per-entry TTL starts keeping deadlines; entries written before stay untimed. The slab
  // then grows twice (past 128 and 256 slots), carrying the deadlines over.
  plain.put(100, 100, 5s);
  for (int k = 101; k < 600; ++k) {
    if (k % 2 == 0) {
      plain.put(k, k, 10s);
    } else {
      plain.put(k, k);
    }
  }
  CHECK(plain.get_entry(0)->expires_at == bulwark::time_point::max());
  CHECK(plain.get_entry(598)->expires_at == t0 + 10s);
  clock.set(t0 + 5s - 1ns);
  CHECK(plain.get(100) == 100);
  clock.set(t0 + 5s);
  CHECK_FALSE(plain.get(100).has_value());
  clock.set(t0 + 10s - 1ns);
  CHECK(plain.get(102) == 102);
  clock.set(t0 + 10s);
  CHECK_FALSE(plain.get(102).has_value());
  CHECK(plain.get(101) == 101);
  CHECK(plain.get(0) == 0);
  CHECK(plain.cleanup() == 1 + 249);  // 100 and the even keys 102..598
  CHECK(plain.size() == 100 + 250);   // 0..99 and the odd keys 101..599
}

TEST_CASE("cache reports every removal with its cause, outside its locks", "[cache]") {
  manual_clock clock;
  std::vector<removal> removed;
  test_cache<bulwark::lru_eviction>* self = nullptr;
  test_cache<bulwark::lru_eviction> c(
      {.maximum_size = 2, .expire_after_write = 10s, .shards = 1},
      {.on_removal =
           [&](int k, int v, removal_cause why) {
             removed.emplace_back(k, v, why);
             (void)self->get(k);  // re-entering the cache from the listener must not deadlock
           }},
      clock);
  self = &c;
  c.put(1, 10);
  c.put(1, 11);
  c.put(2, 20);
  c.put(3, 30);  // evicts 1 (LRU)
  CHECK(c.invalidate(2));
  CHECK_FALSE(c.invalidate(2));
  clock.advance(10s);
  c.put(3, 31);  // over an expired entry: the old value expired, it was not replaced
  c.put(4, 40);
  CHECK(c.invalidate_if([](int k, int) { return k == 4; }) == 1);
  c.invalidate_all();
  const std::vector<removal> expected{
      {1, 10, removal_cause::replaced},         {1, 11, removal_cause::size},
      {2, 20, removal_cause::explicit_removal}, {3, 30, removal_cause::expired},
      {4, 40, removal_cause::explicit_removal}, {3, 31, removal_cause::explicit_removal}};
  CHECK(removed == expected);
  const auto m = c.metrics();
  CHECK(m.replacements == 1);
  CHECK(m.evictions_size == 1);
  CHECK(m.evictions_expired == 1);
  CHECK(m.evictions_explicit == 3);
  CHECK(m.entries == 0);
  CHECK(bulwark::to_string(removal_cause::explicit_removal) == "explicit");
}

TEST_CASE("cache counts hits and misses and lists its metrics", "[cache]") {
  test_cache<> c({.maximum_size = 10});
  c.put(1, 1);
  for (int i = 0; i < 100; ++i)
    (void)c.get(1);  // fills the 16-entry read buffer stripe several times
  (void)c.get(2);
  const auto m = c.metrics();
  CHECK(m.hits == 100);
  CHECK(m.misses == 1);
  CHECK(m.hit_ratio() == Approx(100.0 / 101.0));
  std::vector<std::string> names;
  m.for_each_metric([&](const bulwark::metric& x) { names.emplace_back(x.name); });
  CHECK(names == std::vector<std::string>{
                     "hits_total", "misses_total", "loads_total", "load_failures_total",
                     "load_waits_total", "evictions_size_total", "evictions_expired_total",
                     "evictions_explicit_total", "replacements_total", "entries", "weight"});
}

TEST_CASE("cache rejects bad options naming the field", "[cache]") {
  using c = test_cache<>;
  CHECK_THROWS_WITH(c({}), "bulwark::cache: maximum_size must be > 0 (got 0)");
  CHECK_THROWS_WITH(c({.maximum_size = 10, .shards = 3}),
                    "bulwark::cache: shards must be 0 or a power of two (got 3)");
  CHECK_THROWS_WITH(c({.maximum_size = 10, .expire_after_write = -1s}),
                    "bulwark::cache: expire_after_write must be >= 0 (got -1s)");
  CHECK_THROWS_WITH(c({.maximum_size = 10, .maximum_weight = 5}),
                    "bulwark::cache: maximum_weight must be 0 without a weigher (got 5)");
  CHECK_THROWS_WITH(c({.maximum_size = 10}, {.weigher = [](int, int) { return 1u; }}),
                    "bulwark::cache: maximum_weight must be > 0 (got 0)");
  c ok({.maximum_size = 10});
  CHECK_THROWS_WITH(ok.put(1, 1, 0s), "bulwark::cache: ttl must be > 0 (got 0s)");
}

TEST_CASE("cache rejects more shards than its bound and a weight of 0", "[cache]") {
  using c = test_cache<>;
  // 16 shards over 10 entries would leave 6 shards a capacity of 0 (every key there dropped).
  CHECK_THROWS_WITH(c({.maximum_size = 10, .shards = 16}),
                    "bulwark::cache: shards must be <= maximum_size (10) (got 16)");
  CHECK_THROWS_WITH(c({.maximum_weight = 4, .shards = 8}, {.weigher = [](int, int) { return 1u; }}),
                    "bulwark::cache: shards must be <= maximum_weight (4) (got 8)");
  CHECK_NOTHROW(c({.maximum_size = 16, .shards = 16}));

  // A weight of 0 would exempt the entry from the bound: refused, and nothing is stored.
  c weighted({.maximum_weight = 10, .shards = 1},
             {.weigher = [](int, int v) { return static_cast<std::uint32_t>(v); }});
  CHECK_THROWS_WITH(weighted.put(1, 0), "bulwark::cache: weigher result must be > 0 (got 0)");
  CHECK_FALSE(weighted.get(1).has_value());
  CHECK(weighted.metrics().entries == 0);
  CHECK_THROWS_WITH(weighted.get_or_load(2, [](int) { return 0; }),
                    "bulwark::cache: weigher result must be > 0 (got 0)");
  CHECK_FALSE(weighted.get(2).has_value());
  weighted.put(3, 4);
  CHECK(weighted.metrics().weight == 4);

  // A seed the hasher cannot take is refused rather than silently ignored.
  struct unseeded {
    std::uint64_t operator()(int k) const { return bulwark::hash64(k); }
  };
  using plain = bulwark::cache<int, int, bulwark::tiny_lfu_eviction, manual_clock, unseeded>;
  CHECK_THROWS_WITH(plain({.maximum_size = 10, .hash_seed = 3}),
                    "bulwark::cache: hash_seed must be unset for a Hasher without a seed member "
                    "(got 3)");
  CHECK_NOTHROW(plain({.maximum_size = 10}));
}

// Hash flooding: keys are brute-forced so that the default hasher under seed 0 gives them the
// same top 4 bits, i.e. all pick the same one of 16 shards under seed 0. Each shard holds
// 64 / 16 = 4 entries, so under seed 0 the cache keeps 4 of them whatever the policy; under any
// other seed the top bits are unrelated to seed 0's and the keys spread over the shards.
TEST_CASE("cache keys chosen to collide under seed 0 spread under a per-cache seed", "[cache]") {
  using text_cache = bulwark::cache<std::string, int>;
  std::vector<std::string> flood;
  for (int i = 0; flood.size() < 40; ++i) {
    std::string key = "key-" + std::to_string(i);
    if (text_cache::hasher{.seed = 0}(key) >> 60 == 0) flood.push_back(std::move(key));
  }
  const auto kept = [&flood](text_cache& c) {
    for (const auto& k : flood)
      c.put(k, 1);
    return c.metrics().entries;
  };
  text_cache fixed({.maximum_size = 64, .shards = 16, .hash_seed = 0});
  CHECK(fixed.hash_function().seed == 0);
  CHECK(kept(fixed) == 4);

  // The default: a random seed per cache, so two caches differ and the flood spreads (all 40
  // landing in one shard again has probability 16^-39).
  text_cache a({.maximum_size = 64, .shards = 16});
  text_cache b({.maximum_size = 64, .shards = 16});
  CHECK(a.hash_function().seed != b.hash_function().seed);
  CHECK(kept(a) > 4);

  // A set seed is reproduced exactly: both caches keep the same keys.
  text_cache c1({.maximum_size = 64, .shards = 16, .hash_seed = 42});
  text_cache c2({.maximum_size = 64, .shards = 16, .hash_seed = 42});
  CHECK(c1.hash_function().seed == 42);
  CHECK(kept(c1) == kept(c2));
  for (const auto& k : flood)
    CHECK(c1.get(k).has_value() == c2.get(k).has_value());
}

// The default hasher is the flood-resistant one (SipHash-1-3 for strings), seeded per cache,
// for bulwark::cache and lru_cache alike; stable_hash remains an explicit choice.
TEST_CASE("cache and lru_cache hash with flood_resistant_hash by default", "[cache]") {
  using text_cache = bulwark::cache<std::string, int>;
  STATIC_REQUIRE(std::is_same_v<text_cache::hasher, bulwark::flood_resistant_hash>);
  STATIC_REQUIRE(
      std::is_same_v<bulwark::lru_cache<std::string, int>,
                     bulwark::lru_cache<std::string, int, bulwark::flood_resistant_hash>>);
  text_cache c({.maximum_size = 64, .shards = 4, .hash_seed = 9});
  CHECK(c.hash_function()("user:42") ==
        bulwark::siphash13(bulwark::siphash_key_from_seed(9), "user:42"));
  bulwark::cache<std::string, int, bulwark::tiny_lfu_eviction, bulwark::steady_clock,
                 bulwark::stable_hash>
      stable({.maximum_size = 64, .shards = 4, .hash_seed = 9});
  CHECK(stable.hash_function()("user:42") == bulwark::hash64("user:42", 9));
}

TEST_CASE("W-TinyLFU keeps a hot set through a scan that flushes LRU", "[cache]") {
  // 100 entries; a hot set of 50 keys read 10 times, then a scan of 5000 keys read once, then
  // the hot set again. LRU has flushed it (0 hits); TinyLFU admits no scanned key over a hot
  // one (frequency 1 loses to 10), so the hot set survives but for the window's share.
  auto replay = [](auto& c) {
    for (int round = 0; round < 10; ++round) {
      for (int k = 0; k < 50; ++k) {
        if (!c.get(k)) c.put(k, k);
      }
    }
    for (int k = 1000; k < 6000; ++k) {
      if (!c.get(k)) c.put(k, k);
    }
    int hits = 0;
    for (int k = 0; k < 50; ++k)
      hits += c.get(k).has_value();
    return hits;
  };
  test_cache<bulwark::lru_eviction> lru({.maximum_size = 100, .shards = 1});
  // Seeded: which scanned keys share a sketch counter with a hot one depends on the hash.
  test_cache<> tiny({.maximum_size = 100, .shards = 1, .hash_seed = 0});
  CHECK(replay(lru) == 0);
  CHECK(replay(tiny) >= 48);
}

TEST_CASE("caches fed the same trace make the same decisions, on any thread", "[cache]") {
  // A cache's decisions must be a function of its inputs and its seed: not of where the
  // allocator put it, nor of which thread (so which read-buffer stripe and epoch slot, picked
  // from the address of a thread_local) feeds it. Two phases, so that the window duel sees a
  // frequency-biased workload (skewed over 20000 keys) and then a recency-biased one (a
  // sliding working set), and switches the window; 4 shards of 1024, so 1 key in 8 is sampled.
  std::vector<int> trace;
  bulwark::fast_rng rng{2026};
  for (int i = 0; i < 40000; ++i)
    trace.push_back(
        static_cast<int>(bulwark::uniform_below(rng, bulwark::uniform_below(rng, 20000) + 1)));
  for (int i = 0; i < 40000; ++i)
    trace.push_back(100000 + i / 8 + static_cast<int>(bulwark::uniform_below(rng, 3000)));
  std::vector<int> keys = trace;  // each key once, for the resident set
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  using seeded = bulwark::cache<int, int>;
  const bulwark::cache_options options{.maximum_size = 4096, .shards = 4, .hash_seed = 7};
  struct outcome {
    std::vector<char> hits;
    bulwark::cache_metrics metrics;
    std::vector<int> resident;
  };
  const auto replay = [&](seeded& c, outcome& out) {
    for (const int key : trace) {
      const bool hit = c.get(key).has_value();
      out.hits.push_back(hit ? 1 : 0);
      if (!hit) c.put(key, key);
    }
    out.metrics = c.metrics();
    for (const int key : keys) {
      if (c.contains(key)) out.resident.push_back(key);
    }
  };
  outcome first, second, elsewhere;
  {
    // Two caches alive at once, fed on this thread (different addresses).
    auto a = std::make_unique<seeded>(options);
    std::vector<char> padding(4096);  // the second cache lands elsewhere in the heap
    auto b = std::make_unique<seeded>(options);
    replay(*a, first);
    replay(*b, second);
  }
  std::thread([&] {
    seeded c{options};
    replay(c, elsewhere);
  }).join();
  CHECK(first.metrics.hits > 0);
  CHECK(first.hits == second.hits);
  CHECK(first.hits == elsewhere.hits);
  for (const outcome* o : {&second, &elsewhere}) {
    CHECK(o->metrics.hits == first.metrics.hits);
    CHECK(o->metrics.misses == first.metrics.misses);
    CHECK(o->metrics.evictions_size == first.metrics.evictions_size);
    CHECK(o->metrics.entries == first.metrics.entries);
    CHECK(o->resident == first.resident);
  }
}

TEST_CASE("cache stays consistent under concurrent reads, writes and invalidations", "[cache]") {
  bulwark::cache<int, int> c({.maximum_size = 64, .shards = 4});
  std::atomic<std::uint64_t> gets{0};
  std::atomic<int> wrong{0};  // Catch2 assertions are not thread-safe: count, check after
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&c, &gets, &wrong, t] {
      bulwark::fast_rng rng{t + 1};
      for (int i = 0; i < 20000; ++i) {
        const int key = static_cast<int>(bulwark::uniform_below(rng, 200));
        const auto op = bulwark::uniform_below(rng, 10);
        if (op < 7) {
          if (const auto v = c.get(key); v && *v != key * 3) wrong.fetch_add(1);
          gets.fetch_add(1, std::memory_order_relaxed);
        } else if (op < 9) {
          c.put(key, key * 3);
        } else {
          c.invalidate(key);
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(wrong.load() == 0);
  const auto m = c.metrics();
  CHECK(m.hits + m.misses == gets.load());
  CHECK(m.entries <= 64);
}

namespace {
// A value that counts its live instances, so a test sees when retired values are destroyed.
struct counted {
  static inline std::atomic<int> live{0};
  int v = 0;
  explicit counted(int x) : v{x} { live.fetch_add(1); }
  counted(const counted& o) : v{o.v} { live.fetch_add(1); }
  counted& operator=(const counted&) = default;
  ~counted() { live.fetch_sub(1); }
};
}  // namespace

TEST_CASE("cache frees replaced and removed values once no reader can see them", "[cache]") {
  {
    bulwark::cache<int, counted> c({.maximum_size = 8, .shards = 1});
    for (int i = 0; i < 1000; ++i)
      c.put(i % 4, counted{i});  // 4 keys, each replaced 249 times
    // No reader is pinned, so reclamation keeps up: at most 16 replaced values wait for an
    // epoch advance (and two more for the advance after), never the 996 replaced.
    CHECK(counted::live.load() <= 4 + 18);
    CHECK(c.get(3).value().v == 999);
    for (int k = 0; k < 4; ++k)
      c.invalidate(k);
    c.put(100, counted{1});
    c.put(100, counted{2});
    CHECK(counted::live.load() <= 1 + 18);
  }
  CHECK(counted::live.load() == 0);  // the destructor frees live and retired values alike
}

TEST_CASE("cache keeps at most 48 bytes of bookkeeping per entry when full", "[cache]") {
  // 2^16 entries of 8-byte keys and values over 4 shards: index 6 B, slot/cell maps 8 B, policy
  // links 16 B, sketch 8 B (W-TinyLFU), the cells kept for retired values, and 8 B of write
  // deadlines with expire_after_write.
  constexpr std::uint64_t n = 1 << 16;
  bulwark::cache<std::uint64_t, std::uint64_t> tiny({.maximum_size = n, .shards = 4});
  bulwark::cache<std::uint64_t, std::uint64_t, bulwark::lru_eviction> lru(
      {.maximum_size = n, .shards = 4});
  bulwark::cache<std::uint64_t, std::uint64_t> timed(
      {.maximum_size = n, .expire_after_write = 1h, .shards = 4});
  for (std::uint64_t k = 0; k < 2 * n; ++k) {
    tiny.put(k * 0x9E3779B97F4A7C15ULL, k);
    lru.put(k * 0x9E3779B97F4A7C15ULL, k);
    timed.put(k * 0x9E3779B97F4A7C15ULL, k);
  }
  const auto per_entry = [](const auto& c) {
    return static_cast<double>(c.overhead_bytes()) / static_cast<double>(c.size());
  };
  CHECK(tiny.size() >= n - 4);
  CHECK(timed.size() >= n - 4);
  CHECK(per_entry(tiny) <= 40.0);
  CHECK(per_entry(lru) <= 32.0);
  CHECK(per_entry(timed) <= 48.0);
}

TEST_CASE("lock-free reads see whole values while writers replace, evict, grow and expire",
          "[cache]") {
  // Long strings (heap-allocated) as keys and values: a read of a freed or half-built cell is
  // a use-after-free under ASan and a race under TSan. The cache starts empty, so the slab and
  // the index grow while readers run; per-entry TTLs switch the shards to timed cells midway.
  using text_cache =
      bulwark::cache<std::string, std::string, bulwark::tiny_lfu_eviction, manual_clock>;
  manual_clock clock;
  text_cache c({.maximum_size = 256, .expire_after_access = 1h, .shards = 2}, {}, clock);
  const auto key_of = [](std::uint64_t k) {
    return "key-" + std::to_string(k) + std::string(24, 'k');
  };
  std::atomic<int> wrong{0};
  std::atomic<int> found{0};
  std::atomic<bool> go{false};
  std::atomic<int> writers_left{2};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
      bulwark::fast_rng rng{t + 7};
      // Readers run at least 6000 reads and until both writers are done (bounded by them).
      for (int i = 0; i < 6000 || (t < 2 && writers_left.load() > 0); ++i) {
        const std::uint64_t k = bulwark::uniform_below(rng, 400);
        const std::string key = key_of(k);
        if (t < 2) {  // readers
          if (const auto v = c.get(key)) {
            found.fetch_add(1, std::memory_order_relaxed);
            if (v->rfind(key + "=", 0) != 0) wrong.fetch_add(1);
          }
        } else {  // writers
          const auto op = bulwark::uniform_below(rng, 20);
          const std::string value = key + "=" + std::to_string(i) + std::string(32, 'v');
          if (op == 0) {
            c.invalidate(key);
          } else if (op == 1 && t == 2) {
            c.put(key, value, 1h);
          } else if (op == 2 && t == 3 && i % 1000 == 0) {
            c.invalidate_all();
          } else {
            c.put(key, value);
          }
        }
      }
      if (t >= 2) {
        writers_left.fetch_sub(1);
        return;
      }
      for (std::uint64_t k = 0; k < 400; ++k) {  // after the writers: a whole sweep of the keys
        if (const auto v = c.get(key_of(k))) {
          found.fetch_add(1, std::memory_order_relaxed);
          if (v->rfind(key_of(k) + "=", 0) != 0) wrong.fetch_add(1);
        }
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& th : threads)
    th.join();
  CHECK(wrong.load() == 0);
  CHECK(found.load() > 0);  // the final sweeps find the writers' last entries
  CHECK(c.get(key_of(1000)) == std::nullopt);
  c.put(key_of(1000), "x");
  CHECK(c.get(key_of(1000)) == "x");
  CHECK(c.size() <= 256);
}

// A clock before its epoch used to overflow never - now (and then read as "never expires"); a
// clock within a ttl of time_point::max() saturated now + ttl to `never`, the same mistake.
// Deadlines now saturate one short of `never`: the entry still expires.
TEST_CASE("cache ttls hold with a clock before its epoch or near the end of its range", "[cache]") {
  const bulwark::time_point t0 = GENERATE(
      bulwark::time_point{-24h}, bulwark::time_point::min() + 1h, bulwark::time_point::max() - 1h);
  manual_clock clock{t0};
  test_cache<> c({.maximum_size = 10, .expire_after_write = 10s}, clock);
  c.put(1, 1);
  c.put(2, 2, 30min);
  CHECK(c.get_entry(1)->expires_at == t0 + 10s);
  clock.set(t0 + 10s - 1ns);
  CHECK(c.get(1) == 1);
  clock.set(t0 + 10s);
  CHECK_FALSE(c.get(1).has_value());
  CHECK(c.get(2) == 2);
  clock.set(t0 + 30min);
  CHECK_FALSE(c.get(2).has_value());
  // A ttl that ends past time_point::max() ends at its last instant, not never.
  c.put(3, 3, bulwark::duration::max() - 1ns);
  CHECK(c.get_entry(3)->expires_at < bulwark::time_point::max());
}

TEST_CASE("a cache ttl of duration max never expires", "[cache]") {
  manual_clock clock{bulwark::time_point{-24h}};
  test_cache<> c({.maximum_size = 10, .expire_after_write = bulwark::duration::max()}, clock);
  c.put(1, 1);
  CHECK(c.get_entry(1)->expires_at == bulwark::time_point::max());
  clock.advance(std::chrono::hours{24 * 365 * 200});
  CHECK(c.get(1) == 1);
}
