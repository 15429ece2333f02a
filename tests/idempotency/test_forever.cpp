// duration::max() as ttl, lease and wait_timeout means "forever": every deadline is computed
// with detail::deadline_after, which saturates at time_point::max() instead of wrapping to the
// past (where the record would be expired at once). Also with clocks far from their epoch.

#include <bulwark/idempotency.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"
#include "scripted_clock.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::time_point;

namespace {

using store_t = bulwark::memory_store<std::string, bulwark::manual_clock>;

// Two hundred years, far past any real ttl but well inside the clock's range (292 years).
constexpr duration years_200 = std::chrono::hours{24 * 365 * 200};

using idempotency_test::scripted_clock;

}  // namespace

TEST_CASE("a ttl of duration max replays forever", "[idempotency]") {
  // Starting before the epoch, at the default start and an hour before time_point::max().
  const time_point start = GENERATE(time_point{-24h}, bulwark::manual_clock::default_start,
                                    time_point::max() - years_200 - 1h);
  bulwark::manual_clock clock{start};
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store, {.ttl = duration::max()}, clock);
  int runs = 0;
  auto handler = [&] { return std::to_string(++runs); };
  CHECK_FALSE(exec.execute({"s", "k"}, "p", handler).replayed);
  clock.advance(years_200);
  const auto again = exec.execute({"s", "k"}, "p", handler);
  CHECK(again.replayed);
  CHECK(again.value == "1");
  CHECK(runs == 1);
  CHECK(store.purge_expired() == 0);
}

TEST_CASE("a lease of duration max blocks a duplicate forever", "[idempotency]") {
  bulwark::manual_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock);
  bulwark::idempotency_executor exec(store, {.lease = duration::max()}, clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  REQUIRE(holder.status == bulwark::attempt_status::acquired);
  CHECK(holder.permit.lease().deadline == time_point::max());
  clock.advance(years_200);
  bool ran = false;
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "p",
                               [&] {
                                 ran = true;
                                 return std::string{};
                               }),
                  bulwark::request_in_progress);
  CHECK_FALSE(ran);
  CHECK(exec.try_begin({"s", "k"}, "p").status == bulwark::attempt_status::in_progress);
  CHECK(store.metrics().takeovers == 0);
  CHECK(holder.permit.complete("late but still the holder's"));
  CHECK(exec.execute({"s", "k"}, "p", [] { return std::string{"no"}; }).value ==
        "late but still the holder's");
}

TEST_CASE("a wait_timeout of duration max waits until the holder completes", "[idempotency]") {
  scripted_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock.base);
  bulwark::idempotency_executor exec(store,
                                     {.lease = duration::max(),
                                      .on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = duration::max(),
                                      .poll_interval = 1h,
                                      .max_poll_interval = duration::max()},
                                     clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  REQUIRE(holder.status == bulwark::attempt_status::acquired);
  *clock.on_sleep = [&] {
    if (clock.sleeps->size() == 4) REQUIRE(holder.permit.complete("first's result"));
  };
  const auto r = exec.execute({"s", "k"}, "p", [] { return std::string{"second's"}; });
  CHECK(r.replayed);
  CHECK(r.value == "first's result");
  // The pause doubles from poll_interval: 1h, 2h, 4h, 8h (max_poll_interval does not cap it).
  CHECK(*clock.sleeps == std::vector<duration>{1h, 2h, 4h, 8h});
}

TEST_CASE("the memory store saturates deadlines near the end of the clock's range",
          "[idempotency]") {
  bulwark::manual_clock clock{time_point::max() - 1h};
  store_t store({.max_entries = 16, .shards = 1}, clock);
  auto begun = store.try_begin({"s", "k"}, 1, 2h);
  REQUIRE(begun.status == bulwark::begin_status::acquired);
  CHECK(begun.lease->deadline == time_point::max());
  clock.advance(30min);
  CHECK(store.try_begin({"s", "k"}, 1, 2h).status == bulwark::begin_status::in_progress);
  REQUIRE(store.complete(*begun.lease,
                         bulwark::stored_result<std::string>{std::in_place_index<0>, "r"}, 2h));
  clock.advance(29min);
  CHECK(store.try_begin({"s", "k"}, 1, 2h).status == bulwark::begin_status::completed);
}
