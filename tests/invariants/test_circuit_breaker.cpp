// Circuit breaker: half-open never has more than permitted_calls_in_half_open probes in flight,
// also while the verdicts of an earlier half-open episode's probes arrive late
// (docs/circuit_breaker.md, Guarantees: "no more probes than that are ever in flight under any
// interleaving"; Outcomes: "a verdict given after the breaker changed state is dropped").
//
// Each round: episode 1 hands out every probe, enough verdicts end it with some probes still
// out, the wait passes and episode 2 begins. Then one thread gives the old probes' verdicts
// while three take new probes, count them in flight, and ignore them (which frees the slot and
// decides nothing, so episode 2 lasts the whole race and every new probe belongs to it).

#include <atomic>
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::call_outcome;
using bulwark::circuit_state;
using breaker = bulwark::circuit_breaker<bulwark::manual_clock>;

namespace {

constexpr std::uint32_t permitted = 4;

struct race_result {
  int most_in_flight = 0;
  int granted = 0;
  circuit_state end = circuit_state::closed;
  std::uint64_t late_results = 0;
};

// Trips `b` with failures, waits out open, takes every probe of episode 1 and gives `verdicts`
// to the first ones, which must end the episode (checked by the caller through the state), and
// advances past the wait again so that the next call starts episode 2. Returns the probes
// still out.
std::vector<breaker::permit> end_episode_with_probes_out(breaker& b, bulwark::manual_clock& clock,
                                                         const std::vector<call_outcome>& verdicts,
                                                         bulwark::duration past_episode) {
  while (b.state() == circuit_state::closed) {
    b.try_acquire().failure();
  }
  clock.advance(2ms);  // past wait_in_open = 1 ms: the next call is a probe
  std::vector<breaker::permit> probes;
  for (std::uint32_t i = 0; i < permitted; ++i) {
    probes.push_back(b.try_acquire());
  }
  clock.advance(past_episode);
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    probes[i].record(verdicts[i]);
  }
  (void)b.try_acquire();  // applies a due half_open -> open (max_wait_in_half_open)
  clock.advance(2ms);
  return {std::make_move_iterator(probes.begin() + static_cast<std::ptrdiff_t>(verdicts.size())),
          std::make_move_iterator(probes.end())};
}

race_result race_late_verdicts(breaker& b, std::vector<breaker::permit> old,
                               std::vector<call_outcome> late) {
  std::atomic<int> live{0}, most{0}, granted{0};
  std::vector<std::thread> pool;
  pool.emplace_back([&old, &late] {
    for (std::size_t i = 0; i < old.size(); ++i) {
      std::this_thread::yield();
      old[i].record(late[i % late.size()]);
    }
  });
  for (int t = 0; t < 3; ++t) {
    pool.emplace_back([&] {
      for (int k = 0; k < 2'000; ++k) {
        auto p = b.try_acquire();
        if (!p || p.state() != circuit_state::half_open) continue;
        // Counted from grant to verdict: the slot is held for at least this long.
        const int now = live.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        granted.fetch_add(1);
        live.fetch_sub(1);
        p.ignore();
      }
    });
  }
  for (auto& t : pool)
    t.join();
  return {most.load(), granted.load(), b.state(), b.metrics().late_results};
}

}  // namespace

TEST_CASE(
    "half-open admits at most permitted probes while late verdicts of an earlier episode "
    "arrive, count window",
    "[invariants]") {
  for (int round = 0; round < 20; ++round) {
    bulwark::manual_clock clock;
    // minimum_calls = 2: episode 1 decides on two verdicts, two probes are still out.
    breaker b({.window_size = 2,
               .minimum_calls = 2,
               .wait_in_open = 1ms,
               .permitted_calls_in_half_open = permitted},
              clock);
    auto old =
        end_episode_with_probes_out(b, clock, {call_outcome::failure, call_outcome::failure}, 0ms);
    REQUIRE(old.size() == 2);
    const auto r =
        race_late_verdicts(b, std::move(old), {call_outcome::failure, call_outcome::success});
    INFO("round " << round);
    CHECK(r.most_in_flight <= static_cast<int>(permitted));
    CHECK(r.granted > 0);
    CHECK(r.end == circuit_state::half_open);  // the late verdicts decided nothing
    CHECK(r.late_results >= 2);
  }
}

// The same with trip_on = consecutive_failures, where one failed probe reopens at once with
// the others still out.
TEST_CASE(
    "half-open admits at most permitted probes while late verdicts arrive, consecutive "
    "failures",
    "[invariants]") {
  for (int round = 0; round < 20; ++round) {
    bulwark::manual_clock clock;
    breaker b({.trip_on = bulwark::trip_condition::consecutive_failures,
               .consecutive_failures = 1,
               .wait_in_open = 1ms,
               .permitted_calls_in_half_open = permitted},
              clock);
    auto old = end_episode_with_probes_out(b, clock, {call_outcome::failure}, 0ms);
    REQUIRE(old.size() == 3);
    const auto r =
        race_late_verdicts(b, std::move(old), {call_outcome::success, call_outcome::failure});
    INFO("round " << round);
    CHECK(r.most_in_flight <= static_cast<int>(permitted));
    CHECK(r.granted > 0);
    CHECK(r.end == circuit_state::half_open);
    CHECK(r.late_results >= 3);
  }
}

// The same with max_wait_in_half_open: episode 1 times out with every probe still out.
TEST_CASE(
    "half-open admits at most permitted probes while late verdicts arrive, "
    "max_wait_in_half_open",
    "[invariants]") {
  for (int round = 0; round < 20; ++round) {
    bulwark::manual_clock clock;
    breaker b({.window_size = 2,
               .minimum_calls = 2,
               .wait_in_open = 1ms,
               .permitted_calls_in_half_open = permitted,
               .max_wait_in_half_open = 5ms},
              clock);
    auto old = end_episode_with_probes_out(b, clock, {}, 6ms);
    REQUIRE(old.size() == permitted);
    const auto r =
        race_late_verdicts(b, std::move(old), {call_outcome::success, call_outcome::failure});
    INFO("round " << round);
    CHECK(r.most_in_flight <= static_cast<int>(permitted));
    CHECK(r.granted > 0);
    CHECK(r.end == circuit_state::half_open);
    CHECK(r.late_results >= permitted);
  }
}
