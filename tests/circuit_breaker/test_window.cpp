#include <bulwark/circuit_breaker/detail/window.hpp>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::detail::make_code;

namespace {

constexpr auto code_ok = make_code(false, false);
constexpr auto code_fail = make_code(true, false);
constexpr auto code_slow_ok = make_code(false, true);
constexpr auto code_slow_fail = make_code(true, true);

const bulwark::time_point t0{24h};  // a whole second

}  // namespace

TEST_CASE("a count window keeps exactly the last N calls", "[circuit_breaker]") {
  bulwark::detail::count_window w{3};
  bulwark::detail::window_counts t{};
  CHECK(w.record(code_fail, t));
  CHECK(t.calls == 1);
  CHECK(t.failed == 1);
  CHECK(w.record(code_slow_ok, t));
  CHECK(w.record(code_ok, t));
  CHECK(t.calls == 3);
  CHECK(t.failed == 1);
  CHECK(t.slow == 1);
  // The fourth call evicts the first (a failure).
  CHECK(w.record(code_ok, t));
  CHECK(t.calls == 3);
  CHECK(t.failed == 0);
  CHECK(t.slow == 1);
  // Evicts the slow success: replaced by a slow failure.
  CHECK(w.record(code_slow_fail, t));
  CHECK(t.failed == 1);
  CHECK(t.slow == 1);
  // Evicts a success with a success: the totals do not change, and record says so.
  CHECK_FALSE(w.record(code_ok, t));
  const auto now = w.totals();
  CHECK(now.calls == 3);
  CHECK(now.failed == 1);
  CHECK(now.slow == 1);
  w.reset();
  CHECK(w.totals().calls == 0);
  CHECK(w.totals().failed == 0);
  CHECK(w.totals().slow == 0);
}

TEST_CASE("window totals decode transient negative fields exactly", "[circuit_breaker]") {
  bulwark::detail::window_totals totals;
  auto t = totals.add({-2, -1, -1});
  CHECK(t.calls == -2);
  CHECK(t.failed == -1);
  CHECK(t.slow == -1);
  t = totals.add({5, 3, 2});
  CHECK(t.calls == 3);
  CHECK(t.failed == 2);
  CHECK(t.slow == 1);
}

TEST_CASE("a time window covers the current second and the N-1 before it", "[circuit_breaker]") {
  bulwark::detail::time_window w{3};
  w.record(code_fail, t0);
  w.record(code_fail, t0 + 999ms);
  w.record(code_ok, t0 + 1s);
  auto t = w.record(code_slow_ok, t0 + 2500ms);
  CHECK(t.calls == 4);
  CHECK(t.failed == 2);
  CHECK(t.slow == 1);
  // At t0 + 3s the second of t0 has left the window.
  t = w.totals(t0 + 3s);
  CHECK(t.calls == 2);
  CHECK(t.failed == 0);
  t = w.totals(t0 + 4999ms);
  CHECK(t.calls == 1);
  CHECK(t.slow == 1);
  // A jump far ahead empties it; a call then lands in a clean bucket.
  t = w.record(code_fail, t0 + 1h);
  CHECK(t.calls == 1);
  CHECK(t.failed == 1);
  CHECK(t.slow == 0);
  w.reset();
  CHECK(w.totals(t0 + 1h).calls == 0);
}

TEST_CASE("a time window survives a clock that goes back", "[circuit_breaker]") {
  bulwark::detail::time_window w{2};
  w.record(code_fail, t0 + 10s);
  auto t = w.record(code_ok, t0 + 9s);  // earlier second: counted, nothing drained
  CHECK(t.calls == 2);
  t = w.totals(t0 + 11s);
  CHECK(t.calls >= 1);  // the 10s bucket is still in [10, 11]
  CHECK(w.totals(t0 + 20s).calls == 0);
}

TEST_CASE("concurrent recording loses no call and counts none twice", "[circuit_breaker]") {
  constexpr int threads = 4;
  constexpr int per_thread = 5'000;
  SECTION("count window larger than the traffic") {
    bulwark::detail::count_window w{threads * per_thread};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&w, i] {
        bulwark::detail::window_counts t{};
        for (int k = 0; k < per_thread; ++k)
          w.record(k % 4 == 0 ? code_fail : (i % 2 == 0 ? code_ok : code_slow_ok), t);
      });
    }
    for (auto& th : pool)
      th.join();
    const auto t = w.totals();
    CHECK(t.calls == threads * per_thread);
    CHECK(t.failed == threads * per_thread / 4);
    CHECK(t.slow == (threads / 2) * (per_thread - per_thread / 4));
  }
  SECTION("a tiny count window wrapping under contention stays equal to its slots") {
    bulwark::detail::count_window w{2};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&w, i] {
        bulwark::detail::window_counts t{};
        for (int k = 0; k < per_thread; ++k)
          w.record((k + i) % 3 == 0 ? code_slow_fail : code_ok, t);
      });
    }
    for (auto& th : pool)
      th.join();
    const auto t = w.totals();
    CHECK(t.calls == 2);
    CHECK(t.failed >= 0);
    CHECK(t.failed <= 2);
    CHECK(t.failed == t.slow);  // every entry is ok or slow and failed
  }
  SECTION("time window, one second per thread, the sweep racing the writers") {
    bulwark::detail::time_window w{10};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&w, i] {
        for (int k = 0; k < per_thread; ++k)
          w.record(k % 2 == 0 ? code_fail : code_ok, t0 + std::chrono::seconds{i} + 3ms);
      });
    }
    for (auto& th : pool)
      th.join();
    const auto t = w.totals(t0 + 5s);
    CHECK(t.calls == threads * per_thread);
    CHECK(t.failed == threads * per_thread / 2);
  }
}
