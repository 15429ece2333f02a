// The non-throwing API: try_begin's answers and the permit's settle-once, release-on-drop rules.

#include <bulwark/idempotency.hpp>
#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::attempt_status;

namespace {

using int_store = bulwark::memory_store<int, bulwark::manual_clock>;
using exec_t =
    bulwark::idempotency_executor<int_store, bulwark::identity_codec<int>, bulwark::manual_clock>;

struct permit_fixture {
  bulwark::manual_clock clock;
  int_store store{{.max_entries = 2, .shards = 1}, clock};
  exec_t exec{store, {.lease = 10s, .on_failure = bulwark::failure_policy::store}, clock};
};

}  // namespace

static_assert(!std::is_copy_constructible_v<exec_t::permit>);
static_assert(std::is_nothrow_move_constructible_v<exec_t::permit>);

TEST_CASE("try_begin answers each state of the key without throwing", "[idempotency]") {
  permit_fixture f;
  const auto t0 = f.clock.now();
  auto first = f.exec.try_begin({"s", "a"}, "p");
  REQUIRE(first.status == attempt_status::acquired);
  CHECK(static_cast<bool>(first.permit));
  CHECK(first.permit.lease().deadline == t0 + 10s);

  auto busy = f.exec.try_begin({"s", "a"}, "p");
  CHECK(busy.status == attempt_status::in_progress);
  CHECK(busy.deadline == t0 + 10s);
  CHECK_FALSE(static_cast<bool>(busy.permit));

  CHECK(f.exec.try_begin({"s", "a"}, "q").status == attempt_status::key_reused);
  CHECK(f.exec.try_begin({"s", ""}, "p").status == attempt_status::invalid_key);

  REQUIRE(first.permit.complete(7));
  CHECK_FALSE(static_cast<bool>(first.permit));
  auto replay = f.exec.try_begin({"s", "a"}, "p");
  CHECK(replay.status == attempt_status::replayed);
  CHECK(replay.value == 7);
  CHECK_FALSE(replay.failure.has_value());

  auto b = f.exec.try_begin({"s", "b"}, "p");  // the store now holds a (completed) and b
  REQUIRE(b.status == attempt_status::acquired);
  REQUIRE(b.permit.fail("declined"));  // on_failure = store
  auto failed = f.exec.try_begin({"s", "b"}, "p");
  CHECK(failed.status == attempt_status::replayed);
  CHECK(failed.failure == "declined");
  CHECK_FALSE(failed.value.has_value());

  // Fill the store with live leases: evicting the completed records, then nothing is left.
  auto c = f.exec.try_begin({"s", "c"}, "p");
  auto d = f.exec.try_begin({"s", "d"}, "p");
  REQUIRE(c.status == attempt_status::acquired);
  REQUIRE(d.status == attempt_status::acquired);
  CHECK(f.exec.try_begin({"s", "e"}, "p").status == attempt_status::store_full);
  CHECK(f.exec.metrics().store_full == 1);
  CHECK_THROWS_AS(f.exec.execute({"s", "e"}, "p", [] { return 1; }),
                  bulwark::idempotency_store_full);
}

TEST_CASE("a permit settles once, and a dropped one releases its key", "[idempotency]") {
  permit_fixture f;
  {
    auto dropped = f.exec.try_begin({"s", "k"}, "p");
    REQUIRE(dropped.status == attempt_status::acquired);
  }
  auto next = f.exec.try_begin({"s", "k"}, "p");
  REQUIRE(next.status == attempt_status::acquired);

  exec_t::permit moved = std::move(next.permit);
  CHECK_FALSE(static_cast<bool>(next.permit));
  CHECK_FALSE(next.permit.complete(1));  // an empty permit settles nothing
  REQUIRE(moved.complete(2));
  CHECK_FALSE(moved.complete(3));
  CHECK_FALSE(moved.release());
  CHECK(f.exec.try_begin({"s", "k"}, "p").value == 2);
}

TEST_CASE("release lets the next attempt run, a taken-over permit releases nothing",
          "[idempotency]") {
  permit_fixture f;
  auto a = f.exec.try_begin({"s", "k"}, "p");
  REQUIRE(a.permit.release());
  auto b = f.exec.try_begin({"s", "k"}, "p");
  REQUIRE(b.status == attempt_status::acquired);
  CHECK(b.permit.lease().token > a.permit.lease().token);

  f.clock.advance(10s);
  auto c = f.exec.try_begin({"s", "k"}, "p");  // b's lease expired: c takes over
  REQUIRE(c.status == attempt_status::acquired);
  CHECK_FALSE(b.permit.release());
  CHECK_FALSE(static_cast<bool>(b.permit));
  CHECK(f.exec.try_begin({"s", "k"}, "p").status == attempt_status::in_progress);
  REQUIRE(c.permit.complete(9));
}
