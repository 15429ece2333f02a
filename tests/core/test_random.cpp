#include <array>
#include <bulwark/core/random.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "catch.hpp"

TEST_CASE("splitmix64 reproduces the reference output", "[core]") {
  // The first outputs of the published splitmix64.c from state 0.
  std::uint64_t state = 0;
  CHECK(bulwark::splitmix64(state) == 0xe220a8397b1dcdafULL);
  CHECK(bulwark::splitmix64(state) == 0x6e789e6aa1b965f4ULL);
  CHECK(bulwark::splitmix64(state) == 0x06c45d188009454fULL);
}

TEST_CASE("fast_rng is xoshiro256** bit for bit", "[core]") {
  // The reference xoshiro256starstar.c started from the state {1, 2, 3, 4}.
  bulwark::fast_rng rng{std::array<std::uint64_t, 4>{1, 2, 3, 4}};
  const std::uint64_t expected[] = {11520ULL,
                                    0ULL,
                                    1509978240ULL,
                                    1215971899390074240ULL,
                                    1216172134540287360ULL,
                                    607988272756665600ULL,
                                    16172922978634559625ULL,
                                    8476171486693032832ULL,
                                    10595114339597558777ULL,
                                    2904607092377533576ULL};
  for (const auto value : expected)
    CHECK(rng() == value);

  // And it runs in constant expressions.
  constexpr auto first = [] {
    bulwark::fast_rng r{std::array<std::uint64_t, 4>{1, 2, 3, 4}};
    return r();
  }();
  STATIC_REQUIRE(first == 11520);
}

TEST_CASE("fast_rng: one seed gives one stream, seeds differ, state round-trips", "[core]") {
  STATIC_REQUIRE(std::uniform_random_bit_generator<bulwark::fast_rng>);
  STATIC_REQUIRE(bulwark::random_generator64<bulwark::fast_rng>);
  STATIC_REQUIRE(bulwark::random_generator64<std::mt19937_64>);
  STATIC_REQUIRE_FALSE(bulwark::random_generator64<std::mt19937>);  // 32 bits per call

  bulwark::fast_rng a{7}, b{7}, c{8}, zero{0};
  std::set<std::uint64_t> seen;
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a();
    CHECK(x == b());
    differs = differs || x != c();
    seen.insert(zero());
  }
  CHECK(differs);
  CHECK(seen.size() == 100);  // seed 0 still gives a working generator

  bulwark::fast_rng resumed{a.state()};
  CHECK(resumed() == a());
}

TEST_CASE("uniform_below stays in range and is unbiased", "[core]") {
  bulwark::fast_rng rng{2024};
  for (std::uint64_t bound : {1ULL, 2ULL, 3ULL, 10ULL, 1000ULL, (1ULL << 63) + 1, ~0ULL}) {
    for (int i = 0; i < 1000; ++i)
      CHECK(bulwark::uniform_below(rng, bound) < bound);
  }

  // Chi-square over 10 buckets from a fixed seed: deterministic, and far below the 0.1%
  // critical value (27.88 for 9 degrees of freedom) for a fair generator.
  constexpr int buckets = 10;
  constexpr int draws = 100'000;
  std::array<int, buckets> counts{};
  for (int i = 0; i < draws; ++i)
    ++counts[bulwark::uniform_below(rng, buckets)];
  double chi2 = 0;
  for (const int observed : counts) {
    const double expected = double{draws} / buckets;
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  CHECK(chi2 < 27.88);

  // With bound = 1.5 * 2^63, reducing a draw modulo bound would give values below
  // 2^64 - bound twice the chance of the others, putting 62.5% of results in the lower half;
  // multiply-and-reject keeps the halves even.
  const std::uint64_t bound = (1ULL << 63) + (1ULL << 62);
  int low_half = 0;
  for (int i = 0; i < 20'000; ++i)
    low_half += bulwark::uniform_below(rng, bound) < bound / 2;
  CHECK(low_half > 9'500);
  CHECK(low_half < 10'500);
}

TEST_CASE("uniform01 and bernoulli", "[core]") {
  bulwark::fast_rng rng{99};
  double sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    const double u = bulwark::uniform01(rng);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
  }
  CHECK(sum / 100'000 == Approx(0.5).margin(0.01));

  int hits = 0;
  for (int i = 0; i < 100'000; ++i)
    hits += bulwark::bernoulli(rng, 0.2);
  CHECK(hits == Approx(20'000).margin(600));
  for (int i = 0; i < 1000; ++i) {
    CHECK_FALSE(bulwark::bernoulli(rng, 0.0));
    CHECK(bulwark::bernoulli(rng, 1.0));
  }
}

TEST_CASE("thread_rng is one generator per thread", "[core]") {
  bulwark::fast_rng* main_rng = &bulwark::thread_rng();
  CHECK(main_rng == &bulwark::thread_rng());
  bulwark::fast_rng* other_rng = nullptr;
  std::uint64_t other_first = 0;
  std::thread t([&] {
    other_rng = &bulwark::thread_rng();
    other_first = (*other_rng)();
  });
  t.join();
  CHECK(other_rng != main_rng);
  CHECK(other_first != bulwark::thread_rng()());
}
