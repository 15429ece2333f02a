// Half-open probes are fenced by period (generation): docs/circuit_breaker.md, "Half-open
// admission". The bound checked here is bulwark's own documented guarantee, not a reference
// implementation's: at most permitted_calls_in_half_open probes of the current half-open
// period are in flight; probes of an earlier period may still run, count toward nothing, free
// nothing, and their verdicts are late. Expected values are derived by hand in the comments.
#include <atomic>
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::circuit_state;

namespace {

// A manual clock that runs a hook, once, inside the next now(), and then returns the time read
// before the hook. try_acquire() loads the state word and then reads the clock, so the hook
// runs exactly where a thread can be preempted between the two: a deterministic way to let
// the breaker move on under a caller that holds an old state word.
struct hook_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  bulwark::manual_clock inner;
  std::shared_ptr<std::function<void()>> hook = std::make_shared<std::function<void()>>();

  [[nodiscard]] time_point now() const {
    const auto t = inner.now();
    if (*hook) std::exchange(*hook, nullptr)();
    return t;
  }
  void sleep_for(duration d) noexcept { inner.sleep_for(d); }
};

using hooked_breaker = bulwark::circuit_breaker<hook_clock>;
using breaker = bulwark::circuit_breaker<bulwark::manual_clock>;

}  // namespace

// consecutive_failures mode: any failed probe reopens at once, so the other probes of that
// period are still out when the next period starts.
TEST_CASE("a stale caller cannot take a probe slot of the next half-open period",
          "[circuit_breaker]") {
  hook_clock clock;
  hooked_breaker b({.window_size = 1,
                    .minimum_calls = 1,
                    .trip_on = bulwark::trip_condition::consecutive_failures,
                    .consecutive_failures = 1,
                    .wait_in_open = 1s,
                    .permitted_calls_in_half_open = 2},
                   clock);
  b.try_acquire().failure();
  REQUIRE(b.state() == circuit_state::open);
  clock.inner.advance(1s + 1ms);
  auto a = b.try_acquire();
  auto stale = b.try_acquire();
  REQUIRE((a && stale));
  REQUIRE(a.state() == circuit_state::half_open);
  const auto first_period = a.generation();

  hooked_breaker::permit c, d;
  *clock.hook = [&] {
    a.failure();  // reopens (period + 1), waiting 1s again (multiplier 1)
    clock.inner.advance(1s + 1ms);
    c = b.try_acquire();  // open -> half_open (period + 2): the two slots are free for it
    d = b.try_acquire();
  };
  // This caller loaded the first period's state word before the hook ran. Unfenced, it takes
  // c's slot (its generation differs, so it looked free), and then e takes it back from it:
  // c, d and e, three probes of the new period with two permitted.
  auto late_caller = b.try_acquire();
  REQUIRE((c && d));
  CHECK(c.generation() == first_period + 2);
  CHECK(d.generation() == first_period + 2);
  CHECK_FALSE(late_caller);
  auto e = b.try_acquire();
  CHECK_FALSE(e);

  // `stale` is still running: three calls in flight in all, two of the current period.
  stale.success();  // an earlier period's verdict: late, frees nothing, decides nothing
  CHECK(b.metrics().late_results == 1);
  CHECK(b.state() == circuit_state::half_open);
  CHECK_FALSE(b.try_acquire());
  c.success();
  CHECK(b.state() == circuit_state::half_open);
  d.success();  // both of the period's probes succeeded: closed (gobreaker)
  CHECK(b.state() == circuit_state::closed);
  CHECK(b.metrics().late_results == 1);
}

// max_wait_in_half_open: the period ends by time while its probes are out.
TEST_CASE("max_wait_in_half_open expiring with probes out starts a fenced period",
          "[circuit_breaker]") {
  hook_clock clock;
  hooked_breaker b({.window_size = 2,
                    .minimum_calls = 2,
                    .wait_in_open = 1s,
                    .permitted_calls_in_half_open = 2,
                    .max_wait_in_half_open = 5s},
                   clock);
  b.try_acquire().failure();
  b.try_acquire().failure();
  REQUIRE(b.state() == circuit_state::open);
  clock.inner.advance(1s + 1ms);
  auto a = b.try_acquire();
  auto stale = b.try_acquire();
  REQUIRE((a && stale));

  hooked_breaker::permit c, d;
  *clock.hook = [&] {
    clock.inner.advance(5s);
    CHECK_FALSE(b.try_acquire());  // 5s in half-open: reopened, waiting 1s
    CHECK(b.state() == circuit_state::open);
    clock.inner.advance(1s + 1ms);
    c = b.try_acquire();
    d = b.try_acquire();
  };
  // Its clock read came before the hook, so the old period has not expired for it.
  auto late_caller = b.try_acquire();
  REQUIRE((c && d));
  CHECK(c.generation() == a.generation() + 2);
  CHECK_FALSE(late_caller);
  CHECK_FALSE(b.try_acquire());

  // Four calls are running now (a, stale, c, d); the old two count for nothing.
  a.ignore();  // no slot of the new period is freed: a late verdict
  CHECK_FALSE(b.try_acquire());
  stale.failure();
  auto m = b.metrics();
  CHECK(m.late_results == 2);
  CHECK(m.ignored_calls == 0);
  CHECK(m.state == circuit_state::half_open);
  CHECK(m.buffered_calls == 0);  // the new period has no verdicts yet
  c.success();
  d.success();  // 0 of 2 failed: below the 50% threshold, closed
  CHECK(b.state() == circuit_state::closed);
}

// Concurrency: bounded by iteration counts, run under TSan in CI. Threads keep some probes
// across iterations, so earlier periods' probes are still out when new periods start; the
// bound is per period (generation), with leases never running out (time moves 3 s at most
// against the 60 s default probe_lease).
TEST_CASE("concurrent periods never have more probes in flight than permitted",
          "[circuit_breaker]") {
  constexpr std::uint32_t permitted = 3;
  constexpr int threads = 4;
  constexpr int iterations = 3'000;
  const bool timed = GENERATE(false, true);
  bulwark::manual_clock clock;
  breaker b({.window_size = 1,
             .minimum_calls = permitted,
             .trip_on = timed ? bulwark::trip_condition::rate
                              : bulwark::trip_condition::consecutive_failures,
             .consecutive_failures = 1,
             .wait_in_open = 1ms,
             .permitted_calls_in_half_open = permitted,
             .max_wait_in_half_open = timed ? 2ms : 0ms},
            clock);
  std::vector<std::atomic<int>> in_flight(1u << 16);
  std::atomic<int> most{0};
  std::atomic<int> probes{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng{static_cast<std::uint32_t>(1234 + t)};
      std::vector<breaker::permit> held;
      const auto settle = [&](breaker::permit& p) {
        if (p.state() == circuit_state::half_open) in_flight[p.generation()].fetch_sub(1);
        const auto r = rng() % 10;
        if (r < 6) {
          p.success();
        } else if (r < 8) {
          p.failure();
        } else {
          p.ignore();
        }
      };
      for (int k = 0; k < iterations; ++k) {
        if (t == 0 && k % 4 == 0) clock.advance(1ms);
        auto p = b.try_acquire();
        if (p && p.state() == circuit_state::half_open) {
          probes.fetch_add(1);
          const int now = in_flight[p.generation()].fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
        }
        if (p) held.push_back(std::move(p));
        if (held.size() > 2 || (!held.empty() && rng() % 2 == 0)) {
          settle(held.front());
          held.erase(held.begin());
        }
      }
      for (auto& p : held)
        settle(p);
    });
  }
  for (auto& th : pool)
    th.join();
  CHECK(most.load() <= static_cast<int>(permitted));
  CHECK(probes.load() > 0);
  // Held permits outlive their periods, so stragglers' verdicts came in late: the bound
  // above held with earlier periods' probes still running.
  CHECK(b.metrics().late_results > 0);
}
