// The weighted round robins against their references: nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer, src/http/ngx_http_upstream_round_robin.c) around a health
// change, and gRPC's static stride scheduler (StaticStrideScheduler::Make and Pick,
// src/core/load_balancing/weighted_round_robin/static_stride_scheduler.cc) with the cases of
// gRPC's test/core/load_balancing/static_stride_scheduler_test.cc.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/weighted.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

std::string picks(bulwark::load_balancer<bulwark::weighted_round_robin>& lb, int n) {
  bulwark::fast_rng rng{1};
  std::string out;
  for (int i = 0; i < n; ++i)
    out += lb.pick(rng).id();
  return out;
}

// gRPC's test harness: Make over `weights`, Pick fed by a uint32 counter starting at 0.
struct grpc_scheduler {
  std::vector<std::uint16_t> table;
  std::uint32_t sequence = 0;
  std::size_t pick() {
    for (;;)
      if (const auto i = bulwark::detail::stride_accepts(table, sequence++)) return *i;
  }
};

std::optional<grpc_scheduler> make(const std::vector<float>& weights) {
  auto table = bulwark::detail::stride_scheduler_weights(weights);
  if (!table) return std::nullopt;
  return grpc_scheduler{std::move(*table)};
}

std::vector<int> counts(grpc_scheduler& s, std::size_t n, int picks_made) {
  std::vector<int> out(n);
  for (int i = 0; i < picks_made; ++i)
    ++out[s.pick()];
  return out;
}

}  // namespace

// nginx ngx_http_upstream_get_peer, by hand. Weights a 5, b 1, c 1, current weights start at 0
// (ngx_http_upstream_init_round_robin); each pick adds effective_weight to every peer that is
// not down, takes the largest current weight (first on ties), subtracts the total of the
// peers that took part. A down peer is skipped: not added, not counted, not changed.
//   pick  b     current before choice (a, b, c)  total  chosen  after
//   1     up    5, 1, 1                           7      a       -2, 1, 1
//   2     up    3, 2, 2                           7      a       -4, 2, 2
//   3     up    1, 3, 3                           7      b        1,-4, 3
//   4     down  6, -, 4                           6      a        0,-4, 4
//   5     down  5, -, 5                           6      a       -1,-4, 5
//   6     down  4, -, 6                           6      c        4,-4, 0
//   7     up    9,-3, 1                           7      a        2,-3, 1
//   8     up    7,-2, 2                           7      a        0,-2, 2
//   9     up    5,-1, 3                           7      a       -2,-1, 3
//   10    up    3, 0, 4                           7      c        3, 0,-3
//   11    up    8, 1,-2                           7      a        1, 1,-2
//   12    up    6, 2,-1                           7      a       -1, 2,-1
//   13    up    4, 3, 0                           7      a       -3, 3, 0
//   14    up    2, 4, 1                           7      b        2,-3, 1
// Restarting every current weight at each health change (bulwark's earlier rule) would give
// a a a for picks 4 to 6 and a a b for 7 to 9.
TEST_CASE(
    "smooth WRR keeps current weights across a peer down and back (ngx_http_upstream_get_peer)",
    "[balancing]") {
  bulwark::load_balancer<bulwark::weighted_round_robin> lb(
      {{.id = "a", .weight = 5}, {.id = "b", .weight = 1}, {.id = "c", .weight = 1}});
  CHECK(picks(lb, 3) == "aab");
  REQUIRE(lb.set_healthy("b", false));
  CHECK(picks(lb, 3) == "aac");
  REQUIRE(lb.set_healthy("b", true));
  CHECK(picks(lb, 8) == "aaacaaab");
}

// After pick 14 above the values are (2, -3, 1). update() adds d (weight 1) and keeps a, b and
// c, whose values carry over; d starts at 0, as nginx initialises a peer:
//   15: (7, -2, 2, 1) total 8 -> a, leaving (-1, -2, 2, 1)
//   16: (4, -1, 3, 2)         -> a, leaving (-4, -1, 3, 2)
//   17: (1, 0, 4, 3)          -> c
// (Restarting every value at the update would give a a b.)
TEST_CASE("smooth WRR keeps current weights of endpoints that stay across update()",
          "[balancing]") {
  bulwark::load_balancer<bulwark::weighted_round_robin> lb(
      {{.id = "a", .weight = 5}, {.id = "b", .weight = 1}, {.id = "c", .weight = 1}});
  CHECK(picks(lb, 3) == "aab");
  lb.set_healthy("b", false);
  CHECK(picks(lb, 3) == "aac");
  lb.set_healthy("b", true);
  CHECK(picks(lb, 8) == "aaacaaab");
  lb.update({{.id = "a", .weight = 5},
             {.id = "b", .weight = 1},
             {.id = "c", .weight = 1},
             {.id = "d", .weight = 1}});
  CHECK(picks(lb, 3) == "aac");
}

// nginx keeps a peer's current_weight when its weight changes (the upstream API's PATCH on a
// server). From {a 1, b 1} after "aba" the values are (-1, 1); a goes to 3:
//   4: (2, 2) total 4 -> a (first on ties), leaving (-2, 2)
//   5: (1, 3)         -> b, leaving (1, -1)
//   6: (4, 0)         -> a, leaving (0, 0)
//   7: (3, 1)         -> a, leaving (-1, 1)
// (Restarting both at 0 would give a a b a.) update() changing the weight alone keeps it too.
TEST_CASE("smooth WRR keeps current weights across set_weight and a weight-only update",
          "[balancing]") {
  bulwark::load_balancer<bulwark::weighted_round_robin> lb({{.id = "a"}, {.id = "b"}});
  CHECK(picks(lb, 3) == "aba");
  CHECK(lb.set_weight("a", 3));
  CHECK(picks(lb, 4) == "abaa");
  // Back to {1, 1} through update(): values (-1, 1) carry over, giving b a b a.
  lb.update({{.id = "a", .weight = 1}, {.id = "b", .weight = 1}});
  CHECK(picks(lb, 4) == "baba");
  CHECK_FALSE(lb.set_weight("z", 2));
  CHECK_THROWS_WITH(lb.set_weight("a", 0),
                    "bulwark::load_balancer: endpoint.weight must be >= 1 (got 0)");
  CHECK(lb.snapshot()->weights()[0] == 1);
}

// static_stride_scheduler_test.cc: EmptyWeightsIsNullopt, OneZeroWeightIsNullopt,
// AllZeroWeightsIsNullopt, OneWeightsIsNullopt.
TEST_CASE("gRPC Make builds no scheduler for fewer than two or all-zero weights", "[balancing]") {
  CHECK_FALSE(make({}).has_value());
  CHECK_FALSE(make({0}).has_value());
  CHECK_FALSE(make({0, 0, 0, 0}).has_value());
  CHECK_FALSE(make({1}).has_value());
}

// static_stride_scheduler_test.cc: PicksAreWeightedExactly, ZeroWeightUsesMean,
// LargestIsPickedEveryGeneration, MaxIsClampedForHighRatio, MinIsClampedForHighRatio.
TEST_CASE("gRPC static stride scheduler picks as static_stride_scheduler_test.cc expects",
          "[balancing]") {
  SECTION("PicksAreWeightedExactly") {
    auto s = make({1, 2, 3});
    REQUIRE(s);
    CHECK(counts(*s, 3, 6) == std::vector<int>{1, 2, 3});
  }
  SECTION("ZeroWeightUsesMean") {
    auto s = make({3, 0, 1});
    REQUIRE(s);
    CHECK(counts(*s, 3, 6) == std::vector<int>{3, 2, 1});
  }
  SECTION("LargestIsPickedEveryGeneration") {
    auto s = make({1, 2, 3});
    REQUIRE(s);
    CHECK(counts(*s, 3, 65535 * 2)[2] == 65535);
  }
  SECTION("MaxIsClampedForHighRatio") {
    std::vector<float> weights(20, 1.0f);
    weights[0] = 81;
    auto s = make(weights);
    REQUIRE(s);
    std::vector<int> expected(20, 1);
    expected[0] = 50;
    CHECK(counts(*s, 20, 69) == expected);
  }
  SECTION("MinIsClampedForHighRatio") {
    auto s = make({100, 1e-10f});
    REQUIRE(s);
    CHECK(counts(*s, 2, 201) == std::vector<int>{200, 1});
  }
}

// static_stride_scheduler_test.cc AllWeightsEqualIsRoundRobin and PicksAreDeterministic.
TEST_CASE("gRPC equal weights rotate in a fixed order, and picks repeat with the sequence",
          "[balancing]") {
  auto s = make({300, 300, 0});
  REQUIRE(s);
  std::vector<std::size_t> first;
  for (int i = 0; i < 3; ++i)
    first.push_back(s->pick());
  CHECK(first[0] != first[1]);
  CHECK(first[1] != first[2]);
  CHECK(first[0] != first[2]);
  for (int i = 0; i < 1000; ++i)
    CHECK(s->pick() == first[static_cast<std::size_t>(i % 3)]);

  auto d = make({1, 2, 3});
  REQUIRE(d);
  std::vector<std::size_t> run;
  for (int i = 0; i < 100; ++i)
    run.push_back(d->pick());
  d->sequence = 0;
  for (int i = 0; i < 100; ++i)
    CHECK(d->pick() == run[static_cast<std::size_t>(i)]);
}

// StaticStrideScheduler::Make's float arithmetic by hand, weights {7, 14}: no zero, mean 10.5,
// ratio 14 / 10.5 < 10, so no cap. scaling_factor = 65535 / 14.0f is a float division:
// 65535 / 14 = 4681.0714..., and a float near 4681 (13 integer bits) keeps 11 fraction bits,
// so it rounds to 4681 + 146/2048 = 4681.0712890625. Weight 7: lround(7 x 4681.0712890625 =
// 32767.4990234375) = 32767 (in double it would be 32767.5, giving 32768). Weight 14:
// lround(65534.998046875) = 65535. mean = lround(10.5 x 4681.0712890625 = 49151.248...) =
// 49151, floor lround(491.51) = 492, below both.
TEST_CASE("gRPC Make's float scaling factor is reproduced bit for bit", "[balancing]") {
  const auto table = bulwark::detail::stride_scheduler_weights(std::vector<float>{7, 14});
  REQUIRE(table);
  CHECK(*table == std::vector<std::uint16_t>{32767, 65535});
  // The balancer's snapshot builds the same table from configured weights 7 and 14.
  bulwark::load_balancer<bulwark::stride_round_robin> lb(
      {{.id = "a", .weight = 7}, {.id = "b", .weight = 14}});
  const auto set = lb.snapshot();
  CHECK(std::vector<std::uint16_t>(set->scaled_weights().begin(), set->scaled_weights().end()) ==
        std::vector<std::uint16_t>{32767, 65535});
}
