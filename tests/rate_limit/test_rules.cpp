// The rules (bulwark/rate_limit/rules/*.hpp) tested directly, without an atomic or a clock:
// the hand-worked decision tables of test_gcra.cpp, test_token_bucket.cpp, test_leaky_bucket.cpp,
// test_fixed_window.cpp and test_sliding_window_counter.cpp, played against the rule alone,
// plus what only a rule shows (the next state, reservations ahead, recovery).

#include <bulwark/rate_limit/rules/fixed_window_rule.hpp>
#include <bulwark/rate_limit/rules/gcra_rule.hpp>
#include <bulwark/rate_limit/rules/leaky_bucket_rule.hpp>
#include <bulwark/rate_limit/rules/sliding_window_counter_rule.hpp>
#include <bulwark/rate_limit/rules/token_bucket_rule.hpp>
#include <chrono>
#include <cstdint>
#include <limits>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using rl_test::play_rule;

namespace {
const auto t_start = manual_clock::default_start;
constexpr std::int64_t ns(bulwark::time_point t) {
  return t.time_since_epoch().count();
}
}  // namespace

TEST_CASE("gcra_rule: the virtual scheduling table of test_gcra, on the rule alone",
          "[rate_limit][rules]") {
  // T = 100ms, tau = 300ms (ITU-T I.371 Annex A; governor's and redis-cell's test).
  const bulwark::gcra_rule rule({.rate = bulwark::per_second(10), .burst = 3});
  CHECK(rule.emission_interval() == 100ms);
  CHECK(rule.tolerance() == 300ms);
  CHECK(rule.max_cost() == 3);
  CHECK(rule.available(rule.initial(t_start), t_start) == 3);
  const std::int64_t tat = play_rule(rule, {
                                               {0ms, 1, true, 0ms},        // TAT = 100
                                               {0ms, 1, true, 0ms},        // TAT = 200
                                               {0ms, 1, true, 0ms},        // TAT = 300
                                               {0ms, 1, false, 100ms},     // 400 - 300 - 0
                                               {50ms, 1, false, 50ms},     // 400 - 300 - 50
                                               {100ms, 1, true, 0ms},      // TAT = 400
                                               {100ms, 2, false, 200ms},   // 600 - 300 - 100
                                               {300ms, 2, true, 0ms},      // TAT = 600
                                               {1000ms, 3, true, 0ms},     // TAT = 1300
                                               {1000ms, 1, false, 100ms},  // 1400 - 300 - 1000
                                               {900ms, 1, false, 200ms},   // clock back
                                               {1100ms, 1, true, 0ms},     // TAT = 1400
                                           });
  CHECK(tat == ns(t_start + 1400ms));  // the next state is the TAT worked out by hand
  CHECK(rule.available(tat, t_start + 1100ms) == 0);
  CHECK(rule.available(tat, t_start + 1250ms) == 1);
}

TEST_CASE("gcra_rule reserves ahead within max_wait and moves TAT as an admission then would",
          "[rate_limit][rules]") {
  const bulwark::gcra_rule rule({.rate = bulwark::per_second(10), .burst = 1});
  auto d = rule.decide(rule.initial(t_start), 1, t_start);
  REQUIRE(d.admitted);
  CHECK(d.next == ns(t_start + 100ms));
  const auto refused = rule.decide(d.next, 1, t_start, 99ms);  // needs 100ms
  CHECK_FALSE(refused.admitted);
  CHECK(refused.next == d.next);
  CHECK(refused.wait == 100ms);
  d = rule.decide(d.next, 1, t_start, 100ms);
  CHECK(d.admitted);
  CHECK(d.wait == 100ms);
  CHECK(d.next == ns(t_start + 200ms));  // max(TAT, t + wait) + T
  CHECK_FALSE(rule.recovered(d.next, t_start + 199ms));
  CHECK(rule.recovered(d.next, t_start + 200ms));
}

TEST_CASE("gcra_rule: redis-cell's CL.THROTTLE user123 15 30 60 1, on the rule alone",
          "[rate_limit][rules]") {
  // max_burst 15 is burst 16; 30 per 60 s: T = 2 s. One request leaves remaining 15.
  const bulwark::gcra_rule rule({.rate = bulwark::per(30, 60s), .burst = 15 + 1});
  const auto d = rule.decide(rule.initial(t_start), 1, t_start);
  REQUIRE(d.admitted);
  CHECK(rule.available(d.next, t_start) == 15);
  CHECK(rule.options().burst == 16);
  CHECK(rule.options().rate == bulwark::per(30, 60s));
}

TEST_CASE("the paced rules check costs without dividing, also for a long interval",
          "[rate_limit][rules]") {
  const bulwark::gcra_rule fast({.rate = bulwark::per_second(10), .burst = 3});
  CHECK_FALSE(fast.admissible(0));
  CHECK(fast.admissible(3));
  CHECK_FALSE(fast.admissible(4));
  CHECK_FALSE(fast.admissible(std::numeric_limits<std::uint32_t>::max()));
  // T = 1 h is above 2^31 ns: the check takes the division path and still answers exactly.
  const bulwark::token_bucket_rule slow({.rate = bulwark::per_hour(1), .capacity = 1000});
  CHECK(slow.admissible(1000));
  CHECK_FALSE(slow.admissible(1001));
  CHECK_FALSE(slow.admissible(std::numeric_limits<std::uint32_t>::max()));
  // Cost 1 is answered before either path (one unit always fits), for both lengths of T.
  const bulwark::gcra_rule one({.rate = bulwark::per_hour(1), .burst = 1});
  CHECK_FALSE(one.admissible(0));
  CHECK(one.admissible(1));
  CHECK_FALSE(one.admissible(2));
  const bulwark::leaky_bucket_rule tiny(
      {.rate = bulwark::per_second(1'000'000'000), .capacity = 1});
  CHECK(tiny.admissible(1));
  CHECK_FALSE(tiny.admissible(2));
}

TEST_CASE("token_bucket_rule: the refill table of test_token_bucket, on the rule alone",
          "[rate_limit][rules]") {
  const bulwark::token_bucket_rule rule({.rate = bulwark::per_second(10), .capacity = 3});
  CHECK(rule.available(rule.initial(t_start), t_start) == 3);
  const std::int64_t zero = play_rule(rule, {
                                                {0ms, 2, true, 0ms},        // 3 -> 1
                                                {0ms, 2, false, 100ms},     // 1, needs 1 more
                                                {0ms, 1, true, 0ms},        // 1 -> 0
                                                {50ms, 1, false, 50ms},     // 0.5 tokens
                                                {250ms, 2, true, 0ms},      // 2.5 -> 0.5
                                                {250ms, 1, false, 50ms},    // 0.5 tokens
                                                {5000ms, 3, true, 0ms},     // full (3), not more
                                                {5000ms, 1, false, 100ms},  // empty
                                                {4900ms, 1, false, 200ms},  // clock back
                                                {5100ms, 1, true, 0ms},     // 1 token
                                            });
  CHECK(zero == ns(t_start + 5100ms));  // Z: the bucket is empty at 5100ms
  CHECK(rule.available(zero, t_start + 5100ms) == 0);
  CHECK(rule.available(zero, t_start + 5300ms) == 2);
  CHECK_FALSE(rule.recovered(zero, t_start + 5399ms));
  CHECK(rule.recovered(zero, t_start + 5400ms));  // full again: a fresh bucket's answers
  CHECK(rule.available(zero, t_start + 9000ms) == 3);
}

TEST_CASE("token_bucket_rule lends tokens ahead within max_wait", "[rate_limit][rules]") {
  const bulwark::token_bucket_rule rule({.rate = bulwark::per_second(10), .capacity = 2});
  auto d = rule.decide(rule.initial(t_start), 2, t_start);
  REQUIRE(d.admitted);
  d = rule.decide(d.next, 1, t_start, 100ms);  // one token owed, ready in 100ms
  CHECK(d.admitted);
  CHECK(d.wait == 100ms);
  CHECK(d.next == ns(t_start + 100ms));
  CHECK(rule.wait(d.next, 1, t_start) == 200ms);  // the next caller waits behind the debt
}

TEST_CASE("leaky_bucket_rule: the queue table of test_leaky_bucket, on the rule alone",
          "[rate_limit][rules]") {
  // One unit leaves every 100ms; 3 units fit. s = max(D, t); fits iff (s - t) + c x T <= 300.
  const bulwark::leaky_bucket_rule rule({.rate = bulwark::per_second(10), .capacity = 3});
  std::int64_t drained = rule.initial(t_start);
  CHECK(rule.available(drained, t_start) == 3);
  auto d = rule.decide(drained, 1, t_start);  // released now; D = 100
  REQUIRE(d.admitted);
  drained = d.next;
  CHECK(drained == ns(t_start + 100ms));
  d = rule.decide(drained, 1, t_start);  // would wait 100ms: refused with no max_wait
  CHECK_FALSE(d.admitted);
  CHECK(d.wait == 100ms);
  CHECK(rule.wait(drained, 1, t_start) == 100ms);
  CHECK(rule.available(drained, t_start) == 2);
  d = rule.decide(drained, 1, t_start, 1s);  // s = 100; D = 200
  REQUIRE(d.admitted);
  CHECK(d.wait == 100ms);
  drained = d.next;
  d = rule.decide(drained, 2, t_start + 100ms, 1s);  // s = 200, 100 + 200 <= 300; D = 400
  REQUIRE(d.admitted);
  CHECK(d.wait == 100ms);
  drained = d.next;
  CHECK_FALSE(rule.decide(drained, 1, t_start + 200ms, 199ms).admitted);  // s = 400: 200ms away
  CHECK_FALSE(rule.decide(drained, 2, t_start + 200ms, 1s).admitted);     // the queue is full
  CHECK(rule.queue_wait(drained, 2, t_start + 200ms) == 100ms);           // room for 2 at 300
  d = rule.decide(drained, 1, t_start + 200ms, 1s);                       // waits to 400
  REQUIRE(d.admitted);
  CHECK(d.wait == 200ms);
  drained = d.next;
  CHECK(drained == ns(t_start + 500ms));
  CHECK(rule.wait(drained, 1, t_start + 300ms) == 200ms);  // the clock went back: D stays
}

TEST_CASE("fixed_window_rule: the window table of test_fixed_window, on the rule alone",
          "[rate_limit][rules]") {
  const bulwark::fixed_window_rule rule({.limit = 3, .window = 1s});
  const std::uint64_t word = play_rule(rule, {
                                                 {0ms, 2, true, 0ms},
                                                 {0ms, 1, true, 0ms},
                                                 {0ms, 1, false, 1000ms},
                                                 {999ms, 1, false, 1ms},
                                                 {1000ms, 3, true, 0ms},
                                                 {1500ms, 1, false, 500ms},
                                                 {2999ms, 1, true, 0ms},
                                                 {1999ms, 2, true, 0ms},  // charged to window 2
                                                 {1999ms, 1, false, 1001ms},
                                                 {3000ms, 3, true, 0ms},
                                             });
  CHECK(rule.available(word, t_start + 3000ms) == 0);
  CHECK(rule.available(word, t_start + 4000ms) == 3);
  CHECK((word & 0xffff'ffffu) == 3);  // the count of window 3, in the low half
}

TEST_CASE("sliding_window_counter_rule: the weighted table of test_sliding_window_counter",
          "[rate_limit][rules]") {
  // 10 per second: previous x (1000 - e) / 1000 + current + c <= 10 (Cloudflare's estimate).
  const bulwark::sliding_window_counter_rule rule({.limit = 10, .window = 1s});
  play_rule(rule, {
                      {0ms, 5, true, 0ms},
                      {900ms, 5, true, 0ms},
                      {900ms, 1, false, 200ms},
                      {1100ms, 1, true, 0ms},
                      {1100ms, 1, false, 100ms},
                      {1500ms, 4, true, 0ms},
                      {1500ms, 1, false, 100ms},
                      {2500ms, 7, true, 0ms},
                      {2500ms, 1, false, 100ms},
                      {4000ms, 10, true, 0ms},
                      {3000ms, 1, false, 2100ms},
                  });
}

TEST_CASE("rules validate their options with the limiters' messages", "[rate_limit][rules]") {
  using rl_test::message_of;
  CHECK(message_of([] { bulwark::gcra_rule r({.burst = 0}); }) ==
        "bulwark::gcra: burst must be >= 1 (got 0)");
  CHECK(message_of([] { bulwark::token_bucket_rule r({.capacity = 0}); }) ==
        "bulwark::token_bucket: capacity must be >= 1 (got 0)");
  CHECK(message_of([] { bulwark::leaky_bucket_rule r({.rate = bulwark::per_second(0)}); }) ==
        "bulwark::leaky_bucket: rate must be > 0 and at most one per nanosecond (got 0/s)");
  CHECK(message_of([] { bulwark::fixed_window_rule r({.limit = 0}); }) ==
        "bulwark::fixed_window: limit must be >= 1 (got 0)");
  CHECK(message_of([] { bulwark::sliding_window_counter_rule r({.limit = 1u << 20}); }) ==
        "bulwark::sliding_window_counter: limit must be in [1, 1048575] (got 1048576)");
}
