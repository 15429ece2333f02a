// detail::wait_until: the one real-versus-virtual clock wait, for condition variables and
// futures (the bulkhead's queue, timeout's watchdog and future, hedge's delay).

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "catch.hpp"

using namespace std::chrono_literals;
namespace detail = bulwark::detail;

TEST_CASE("wait_until on a condition variable returns at once when ready", "[core]") {
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock{mutex};
  bulwark::manual_clock clock;
  CHECK(detail::wait_until(cv, lock, clock, clock.now() + 1h, [] { return true; }));
  const bulwark::steady_clock steady;
  CHECK(detail::wait_until(cv, lock, steady, bulwark::time_point::max(), [] { return true; }));
}

TEST_CASE("wait_until on a condition variable gives up at a virtual deadline", "[core]") {
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock{mutex};
  bulwark::manual_clock clock;
  // The deadline has passed on the virtual clock: one read of the clock ends the wait.
  CHECK_FALSE(detail::wait_until(cv, lock, clock, clock.now(), [] { return false; }));
  // A past deadline on the real clock too.
  const bulwark::steady_clock steady;
  CHECK_FALSE(detail::wait_until(cv, lock, steady, steady.now() - 1s, [] { return false; }));
}

TEST_CASE("wait_until on a future: ready, or not by the deadline", "[core]") {
  bulwark::manual_clock clock;
  const bulwark::steady_clock steady;
  std::promise<int> done;
  done.set_value(1);
  std::future<int> ready = done.get_future();
  CHECK(detail::wait_until(ready, clock, clock.now() + 1h));
  CHECK(detail::wait_until(ready, steady, bulwark::time_point::max()));  // no deadline
  CHECK(ready.get() == 1);

  std::promise<void> never;
  std::future<void> pending = never.get_future();
  CHECK_FALSE(detail::wait_until(pending, clock, clock.now()));  // virtual time has run out
  CHECK_FALSE(detail::wait_until(pending, steady, steady.now() - 1s));
}
