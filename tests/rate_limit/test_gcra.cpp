#include <atomic>
#include <bulwark/core/policy.hpp>
#include <bulwark/core/random.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "limiter_tables.hpp"

using namespace std::chrono_literals;
using bulwark::gcra;
using bulwark::manual_clock;
using rl_test::play;

static_assert(bulwark::policy<gcra<>>);
static_assert(bulwark::policy<gcra<manual_clock>>);

TEST_CASE("gcra decisions follow the virtual scheduling formulas", "[rate_limit]") {
  // T = 100ms, tau = burst x T = 300ms. Admit iff max(TAT, t) + cT - t <= tau; the wait of a
  // refusal is max(TAT, t) + cT - tau - t. Each row worked out by hand from those two lines.
  manual_clock clock;
  gcra limiter({.rate = bulwark::per_second(10), .burst = 3}, clock);
  CHECK(limiter.available() == 3);
  play(limiter, clock,
       {
           {0ms, 1, true, 0ms},        // TAT = 100
           {0ms, 1, true, 0ms},        // TAT = 200
           {0ms, 1, true, 0ms},        // TAT = 300: the burst of 3 at one instant
           {0ms, 1, false, 100ms},     // 400 - 300 - 0
           {50ms, 1, false, 50ms},     // 400 - 300 - 50
           {100ms, 1, true, 0ms},      // 400 - 100 = 300 <= tau; TAT = 400
           {100ms, 2, false, 200ms},   // 600 - 300 - 100
           {300ms, 2, true, 0ms},      // 600 - 300 = 300; TAT = 600
           {1000ms, 3, true, 0ms},     // idle: max(TAT, t) = t; TAT = 1300
           {1000ms, 1, false, 100ms},  // 1400 - 300 - 1000
           {900ms, 1, false, 200ms},   // the clock went back: TAT stays, the wait grows
           {1100ms, 1, true, 0ms},     // 1400 - 300 - 1100 = 0; TAT = 1400
       });
  CHECK(limiter.available() == 0);  // floor((300 - 300) / 100)
  clock.advance(150ms);             // backlog 150: floor(150 / 100)
  CHECK(limiter.available() == 1);
  CHECK(limiter.metrics() == bulwark::rate_limit_metrics{.admitted = 7, .rejected = 5});
}

TEST_CASE("gcra burst maps to governor's max_burst and redis-cell's max_burst + 1",
          "[rate_limit]") {
  manual_clock clock;
  SECTION("governor: Quota::per_second(50).allow_burst(5) admits 5 at once, then one per 20ms") {
    gcra limiter({.rate = bulwark::per_second(50), .burst = 5}, clock);
    for (int i = 0; i < 5; ++i)
      CHECK(limiter.try_acquire());
    CHECK_FALSE(limiter.try_acquire());
    // governor: earliest_time = tat - tau with its tat = t0 + 6T, tau = 5T: wait T.
    CHECK(limiter.time_until_available() == 20ms);
    clock.advance(20ms);
    CHECK(limiter.try_acquire());
    CHECK_FALSE(limiter.try_acquire());
  }
  SECTION("redis-cell: CL.THROTTLE user123 15 30 60 1 answers limit 16, remaining 15") {
    // max_burst 15, 30 per 60 s: emission interval 2 s, delay variation tolerance 16 x 2 s.
    gcra limiter({.rate = bulwark::per(30, 60s), .burst = 15 + 1}, clock);
    CHECK(limiter.try_acquire());
    CHECK(limiter.available() == 15);  // redis-cell's "remaining"
    for (int i = 0; i < 15; ++i)
      CHECK(limiter.try_acquire());
    CHECK(limiter.available() == 0);
    CHECK_FALSE(limiter.try_acquire());
    CHECK(limiter.time_until_available() == 2s);  // redis-cell's retry_after
  }
}

TEST_CASE("gcra refuses bad options and impossible costs with the documented message",
          "[rate_limit]") {
  using rl_test::message_of;
  CHECK(message_of([] { gcra g({.rate = bulwark::per_second(0)}); }) ==
        "bulwark::gcra: rate must be > 0 and at most one per nanosecond (got 0/s)");
  CHECK(message_of([] { gcra g({.rate = bulwark::per(2'000'000'000, 1s)}); }) ==
        "bulwark::gcra: rate must be > 0 and at most one per nanosecond (got 2000000000/s)");
  CHECK(message_of([] { gcra g({.burst = 0}); }) == "bulwark::gcra: burst must be >= 1 (got 0)");
  CHECK(message_of([] {
          gcra g(
              {.rate = bulwark::per_hour(1), .burst = std::numeric_limits<std::uint32_t>::max()});
        }) == "bulwark::gcra: burst must be <= 1281023 at this rate (got 4294967295)");
  gcra limiter({.burst = 3});
  CHECK(message_of([&] { (void)limiter.try_acquire(4); }) ==
        "bulwark::gcra: cost must be in [1, 3] (got 4)");
  CHECK(message_of([&] { (void)limiter.try_acquire(0); }) ==
        "bulwark::gcra: cost must be in [1, 3] (got 0)");
  CHECK(message_of([&] { (void)limiter.time_until_available(4); }) ==
        "bulwark::gcra: cost must be in [1, 3] (got 4)");
  CHECK(message_of([&] { (void)limiter.try_acquire_for(4, 1s); }) ==
        "bulwark::gcra: cost must be in [1, 3] (got 4)");
  CHECK(limiter.metrics() == bulwark::rate_limit_metrics{});
}

TEST_CASE("gcra try_acquire_for reserves, then waits through the clock", "[rate_limit]") {
  manual_clock clock;
  gcra limiter({.rate = bulwark::per_second(10), .burst = 1}, clock);
  const auto start = clock.now();
  CHECK(limiter.try_acquire());
  CHECK_FALSE(limiter.try_acquire_for(1, 99ms));  // needs 100ms: refused at once
  CHECK(clock.now() == start);
  CHECK(limiter.try_acquire_for(1, 100ms));  // reserved, then sleeps 100ms
  CHECK(clock.now() == start + 100ms);
  CHECK(limiter.try_acquire_for(1, 1s));  // queued behind the previous one
  CHECK(clock.now() == start + 200ms);
  CHECK(limiter.metrics() ==
        bulwark::rate_limit_metrics{.admitted = 3, .rejected = 1, .waited = 2});
}

TEST_CASE("gcra execute runs the call or throws rate_limited with retry_after", "[rate_limit]") {
  manual_clock clock;
  gcra limiter({.rate = bulwark::per_second(4), .burst = 1}, clock);
  CHECK(limiter.execute([](int a, int b) { return a + b; }, 2, 3) == 5);
  int calls = 0;
  try {
    limiter.execute([&] { ++calls; });
    FAIL("execute should have thrown");
  } catch (const bulwark::rate_limited& e) {
    CHECK(e.retry_after() == std::chrono::nanoseconds{250ms});
    CHECK(std::string{e.what()} == "bulwark::gcra: rate limit exceeded (retry after 250ms)");
  }
  CHECK(calls == 0);
  clock.advance(250ms);
  CHECK_THROWS_AS(limiter.execute([]() -> int { throw std::runtime_error{"boom"}; }),
                  std::runtime_error);
  int value = 7;
  clock.advance(250ms);
  int& ref = limiter.execute([&]() -> int& { return value; });
  CHECK(&ref == &value);
  CHECK(limiter.metrics() == bulwark::rate_limit_metrics{.admitted = 3, .rejected = 1});
}

namespace {

// The continuous-state leaky bucket of ITU-T I.371 (the other form of GCRA), generalised to a
// cost: bucket level X drains one ns per ns since the last conforming time; a request of cost c
// conforms iff the drained level + c x T <= tau.
struct reference_gcra {
  std::int64_t interval, tau;
  std::int64_t level = 0, last = 0;
  bool seen = false;

  [[nodiscard]] std::int64_t drained(std::int64_t t) const {
    return seen ? std::max<std::int64_t>(level - (t - last), 0) : 0;
  }
  bool try_acquire(std::uint32_t cost, std::int64_t t) {
    const std::int64_t x = drained(t);
    if (x + interval * cost > tau) return false;
    level = x + interval * cost;
    last = t;
    seen = true;
    return true;
  }
  [[nodiscard]] std::int64_t wait(std::uint32_t cost, std::int64_t t) const {
    return std::max<std::int64_t>(drained(t) + interval * cost - tau, 0);
  }
  [[nodiscard]] std::uint64_t available(std::int64_t t) const {
    const std::int64_t x = drained(t);
    return x >= tau ? 0 : static_cast<std::uint64_t>((tau - x) / interval);
  }
};

}  // namespace

TEST_CASE("gcra matches a single-threaded reference model on random schedules", "[rate_limit]") {
  const std::uint64_t seed = GENERATE(1u, 2u, 3u, 4u);
  bulwark::fast_rng rng{seed};
  const std::uint32_t burst = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, 8));
  const auto count = 1 + bulwark::uniform_below(rng, 50);
  manual_clock clock;
  gcra limiter({.rate = bulwark::per_second(count), .burst = burst}, clock);
  reference_gcra model{limiter.emission_interval().count(),
                       limiter.emission_interval().count() * burst};
  const auto t_of = [&] { return clock.now().time_since_epoch().count(); };
  for (int i = 0; i < 5000; ++i) {
    // Mostly small steps forward, sometimes a jump, sometimes back.
    const auto roll = bulwark::uniform_below(rng, 100);
    const auto step = static_cast<std::int64_t>(bulwark::uniform_below(rng, 50'000'000));
    clock.advance(bulwark::duration{roll < 5 ? -step : roll < 10 ? 20 * step : step});
    const auto cost = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, burst));
    INFO("step " << i << ", cost " << cost);
    REQUIRE(limiter.time_until_available(cost).count() == model.wait(cost, t_of()));
    REQUIRE(limiter.available() == model.available(t_of()));
    if (bulwark::uniform_below(rng, 4) == 0) {
      // try_acquire_for: the model admits at the same instant and then sleeps the wait.
      const auto timeout = static_cast<std::int64_t>(bulwark::uniform_below(rng, 200'000'000));
      const auto wait = model.wait(cost, t_of());
      const bool expect = wait <= timeout;
      if (expect) {
        model.level = model.drained(t_of()) + model.interval * cost;
        model.last = t_of();
        model.seen = true;
      }
      REQUIRE(limiter.try_acquire_for(cost, bulwark::duration{timeout}) == expect);
    } else {
      const bool expect = model.try_acquire(cost, t_of());
      REQUIRE(limiter.try_acquire(cost) == expect);
    }
  }
}

TEST_CASE("gcra under concurrent callers never admits more than burst + rate x elapsed",
          "[rate_limit]") {
  manual_clock clock;
  constexpr std::uint32_t burst = 20;
  gcra limiter({.rate = bulwark::per_second(1000), .burst = burst}, clock);  // T = 1ms
  const auto start = clock.now();
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bulwark::fast_rng rng{t};
      std::uint64_t mine = 0;
      for (int i = 0; i < 20'000; ++i) {
        if (bulwark::uniform_below(rng, 16) == 0) clock.advance(100us);
        const auto cost = 1 + static_cast<std::uint32_t>(bulwark::uniform_below(rng, 3));
        if (limiter.try_acquire(cost)) mine += cost;
      }
      admitted.fetch_add(mine, std::memory_order_relaxed);
    });
  }
  for (auto& thread : threads)
    thread.join();
  const auto elapsed = clock.now() - start;
  const auto bound = burst + static_cast<std::uint64_t>(elapsed / 1ms);
  CHECK(admitted.load() <= bound);
  CHECK(admitted.load() + 3 * burst >= bound);  // and the limiter did not starve them either
  const auto m = limiter.metrics();
  CHECK(m.admitted + m.rejected == 80'000);
}

TEST_CASE("gcra acquire_step reserves as try_acquire_for does, without sleeping", "[gcra]") {
  bulwark::manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 1}, clock);
  using kind = bulwark::rate_limit_step::kind;
  const auto now = clock.now();
  const auto first = limiter.acquire_step(1, now, now + 1s);
  CHECK(first.what == kind::admitted);
  const auto second = limiter.acquire_step(1, now, now + 1s);
  CHECK(second.what == kind::reserved);
  CHECK(second.wait == 100ms);
  // 200 ms away, past a 150 ms deadline: refused, with the retry-after hint.
  const auto third = limiter.acquire_step(1, now, now + 150ms);
  CHECK(third.what == kind::refused);
  CHECK(third.wait == 200ms);
  CHECK(clock.now() == now);  // nothing slept
  CHECK(limiter.metrics() ==
        bulwark::rate_limit_metrics{.admitted = 2, .rejected = 1, .waited = 1});
}
