// circuit_breaker::reconfigure: the state, the open timer and the window's outcomes stay;
// thresholds decide from the next recorded call; a resized window keeps its latest outcomes.
#include <atomic>
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "record.hpp"

using namespace std::chrono_literals;
using breaker_test::breaker;
using breaker_test::record;
using bulwark::call_outcome;
using bulwark::circuit_state;

namespace {
bulwark::circuit_breaker_options count_window(std::uint32_t size, double threshold) {
  return {.failure_rate_threshold = threshold, .window_size = size, .minimum_calls = size};
}
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a lower failure threshold trips on the next recorded call, over the kept window",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b(count_window(10, 0.5), clock);
  record(b, call_outcome::failure, 4);
  record(b, call_outcome::success, 5);  // 9 calls: below minimum_calls
  b.reconfigure(count_window(10, 0.3));
  CHECK(b.state() == circuit_state::closed);  // nothing decides until a call is recorded
  CHECK(b.metrics().buffered_calls == 9);     // the window stayed
  record(b, call_outcome::success);           // 4 of 10 failed >= 0.3
  CHECK(b.state() == circuit_state::open);
  CHECK(b.options().failure_rate_threshold == 0.3);
}

TEST_CASE("the open state keeps its timer, a new wait_in_open applies from the next trip",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  auto o = count_window(2, 0.5);
  o.wait_in_open = 10s;
  o.permitted_calls_in_half_open = 1;
  breaker b(o, clock);
  record(b, call_outcome::failure, 2);
  REQUIRE(b.state() == circuit_state::open);
  o.wait_in_open = 1s;
  b.reconfigure(o);
  CHECK(b.state() == circuit_state::open);
  CHECK(b.retry_after() == std::optional<bulwark::duration>{10s});
  clock.advance(2s);
  CHECK_FALSE(b.try_acquire());  // still the old 10s
  clock.advance(9s);
  auto probe = b.try_acquire();
  REQUIRE(probe);
  probe.failure();
  // Trips again from half-open: the new wait, 1s.
  CHECK(b.state() == circuit_state::open);
  CHECK(b.retry_after() == std::optional<bulwark::duration>{1s});
}

TEST_CASE("a resized count window keeps its latest outcomes", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b(count_window(6, 0.9), clock);
  // Oldest first: F F S S F S. Shrunk to 4, it keeps S S F S (1 failure of 4).
  record(b, call_outcome::failure, 2);
  record(b, call_outcome::success, 2);
  record(b, call_outcome::failure);
  record(b, call_outcome::success);
  b.reconfigure(count_window(4, 0.5));
  auto m = b.metrics();
  CHECK(m.buffered_calls == 4);
  CHECK(m.failed_calls == 1);
  // The next call replaces the oldest kept (an S): F fills it, 2 of 4 failed >= 0.5.
  record(b, call_outcome::failure);
  CHECK(b.state() == circuit_state::open);

  // Grown, nothing is lost and the window fills up to its new size.
  breaker g(count_window(2, 0.9), clock);
  record(g, call_outcome::failure);
  record(g, call_outcome::success);
  g.reconfigure(count_window(5, 0.9));
  CHECK(g.metrics().buffered_calls == 2);
  CHECK(g.metrics().failed_calls == 1);
  record(g, call_outcome::success, 3);
  CHECK(g.metrics().buffered_calls == 5);
  record(g, call_outcome::success);  // replaces the oldest, the failure
  CHECK(g.metrics().failed_calls == 0);
}

TEST_CASE("a resized time window keeps the seconds it still covers", "[circuit_breaker]") {
  bulwark::manual_clock clock;
  bulwark::circuit_breaker_options o{.failure_rate_threshold = 1.0,
                                     .window_type = bulwark::sliding_window::time_based,
                                     .window_size = 10,
                                     .minimum_calls = 1000};
  breaker b(o, clock);
  for (int second = 0; second < 5; ++second) {
    record(b, call_outcome::failure);
    clock.advance(1s);
  }
  // Seconds 0..4 hold one call each; at second 5 a 3-second window covers seconds 3..5.
  o.window_size = 3;
  b.reconfigure(o);
  CHECK(b.metrics().buffered_calls == 2);
}

TEST_CASE("structural and invalid breaker options are refused, changing nothing",
          "[circuit_breaker]") {
  bulwark::manual_clock clock;
  breaker b(count_window(10, 0.5), clock);
  record(b, call_outcome::failure, 3);
  auto o = count_window(10, 0.5);
  o.window_type = bulwark::sliding_window::time_based;
  CHECK(message_of([&] { b.reconfigure(o); }) ==
        "bulwark::circuit_breaker: option 'window_type' cannot change on reconfigure (was "
        "\"count_based\", got \"time_based\")");
  o = count_window(10, 0.5);
  o.permitted_calls_in_half_open = 3;
  CHECK(message_of([&] { b.check_reconfigure(o); }) ==
        "bulwark::circuit_breaker: option 'permitted_calls_in_half_open' cannot change on "
        "reconfigure (was 10, got 3)");
  o = count_window(10, 1.5);
  const std::string bad = message_of([&] { b.reconfigure(o); });
  CHECK(bad == message_of([&] { breaker x(count_window(10, 1.5), clock); }));
  CHECK(bad.find("failure_rate_threshold") != std::string::npos);
  CHECK(b.options().failure_rate_threshold == 0.5);
  CHECK(b.metrics().failed_calls == 3);
}

TEST_CASE("reconfigure under concurrent callers loses no state transition and no call",
          "[circuit_breaker]") {
  // Successes only: the breaker must stay closed whatever the thresholds and sizes, and every
  // call must be admitted; the window's totals must stay within its size.
  breaker b(count_window(50, 0.5), bulwark::manual_clock{});
  std::atomic<int> workers_done{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        auto p = b.try_acquire();
        if (!p) {
          refused.fetch_add(1);
          continue;
        }
        p.success();
      }
      workers_done.fetch_add(1);
    });
  }
  // Bounded: each reconfigure keeps its settings (and a resized window) until the breaker goes.
  for (std::uint32_t i = 0; workers_done.load() < 3 && i < 2000; ++i) {
    b.reconfigure(count_window(10 + i % 50, 0.2 + 0.1 * static_cast<double>(i % 5)));
    std::this_thread::yield();
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(refused.load() == 0);
  CHECK(b.state() == circuit_state::closed);
  const auto m = b.metrics();
  CHECK(m.failed_calls == 0);
  CHECK(m.buffered_calls <= b.options().window_size);
}

TEST_CASE("resizes racing failures, trips and resets leave the window and the options in step",
          "[circuit_breaker]") {
  // Calls record through the breaker's window pointer and decide under the options version
  // whose window that is; resets empty whichever window a racing resize published. After the
  // race, a reset must leave an empty window, and the last size's failures must trip it.
  breaker b(count_window(20, 0.5), bulwark::manual_clock{});
  std::atomic<int> workers_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto p = b.try_acquire();
        if (!p) continue;
        if ((i + t) % 3 == 0) {
          p.failure();
        } else {
          p.success();
        }
      }
      workers_done.fetch_add(1);
    });
  }
  for (std::uint32_t i = 0; workers_done.load() < 3 && i < 1000; ++i) {
    b.reconfigure(count_window(5 + i % 40, 0.5));
    if (i % 7 == 0) b.reset();
    std::this_thread::yield();
  }
  for (auto& thread : threads)
    thread.join();
  b.reset();
  auto m = b.metrics();
  CHECK(m.buffered_calls == 0);
  CHECK(m.failed_calls == 0);
  const auto size = b.options().window_size;
  for (std::uint32_t i = 0; i + 1 < size; ++i)
    record(b, call_outcome::failure);
  CHECK(b.state() == circuit_state::closed);  // minimum_calls = size: not yet
  record(b, call_outcome::failure);
  CHECK(b.state() == circuit_state::open);
}
