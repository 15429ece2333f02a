// Replica read selection against hand-computed cases: MongoDB's read preference modes, tag
// sets, latency window and max staleness; read-your-writes tokens; failover.

#include <bulwark/balancing/replica_selector.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

using selector = bulwark::replica_selector<std::uint64_t, bulwark::manual_clock>;
using bulwark::read_mode;

// Primary p (east, 2ms); secondaries a (east, 5ms), b (west, 30ms), c (east, 12ms).
struct fixture {
  bulwark::manual_clock clock;
  selector s{{.id = "p", .tags = {{"dc", "east"}}},
             {{.id = "a", .tags = {{"dc", "east"}, {"disk", "ssd"}}},
              {.id = "b", .tags = {{"dc", "west"}}},
              {.id = "c", .tags = {{"dc", "east"}}}},
             {},
             clock};
  bulwark::fast_rng rng{11};
  fixture() {
    s.report_rtt("p", 2ms);
    s.report_rtt("a", 5ms);
    s.report_rtt("b", 30ms);
    s.report_rtt("c", 12ms);
  }
  // The members a preference can reach, over many draws.
  std::set<std::string> reach(const bulwark::read_preference& pref,
                              std::optional<std::uint64_t> token = std::nullopt) {
    std::set<std::string> out;
    for (int i = 0; i < 200; ++i)
      if (auto h = s.select_read(pref, rng, token)) out.insert(h.id());
    return out;
  }
};

using ids = std::set<std::string>;

}  // namespace

TEST_CASE("read preference modes follow MongoDB's definitions", "[balancing]") {
  fixture f;
  CHECK(f.reach({.mode = read_mode::primary}) == ids{"p"});
  CHECK(f.reach({.mode = read_mode::primary_preferred}) == ids{"p"});
  // Window: fastest secondary 5ms + 15ms = 20ms: a and c, not b (30ms).
  CHECK(f.reach({.mode = read_mode::secondary}) == ids{"a", "c"});
  CHECK(f.reach({.mode = read_mode::secondary_preferred}) == ids{"a", "c"});
  // Nearest: fastest 2ms (p) + 15ms = 17ms: p, a, c.
  CHECK(f.reach({.mode = read_mode::nearest}) == ids{"p", "a", "c"});
  f.s.mark_down("p");
  CHECK(f.reach({.mode = read_mode::primary}).empty());
  CHECK(f.reach({.mode = read_mode::primary_preferred}) == ids{"a", "c"});
  CHECK(f.reach({.mode = read_mode::nearest}) == ids{"a", "c"});
  f.s.mark_down("a");
  f.s.mark_down("c");
  CHECK(f.reach({.mode = read_mode::secondary}) == ids{"b"});  // window now from b's 30ms
  f.s.mark_down("b");
  CHECK(f.reach({.mode = read_mode::secondary}).empty());
  f.s.mark_up("p");
  CHECK(f.reach({.mode = read_mode::secondary_preferred}) == ids{"p"});
}

TEST_CASE("tag sets are tried in order, the first matching one wins", "[balancing]") {
  fixture f;
  using bulwark::tag_set;
  CHECK(f.reach({.mode = read_mode::secondary, .tag_sets = {tag_set{{"dc", "west"}}}}) == ids{"b"});
  CHECK(f.reach({.mode = read_mode::secondary,
                 .tag_sets = {tag_set{{"dc", "north"}}, tag_set{{"dc", "west"}}}}) == ids{"b"});
  CHECK(f.reach({.mode = read_mode::secondary,
                 .tag_sets = {tag_set{{"dc", "east"}, {"disk", "ssd"}}}}) == ids{"a"});
  CHECK(f.reach({.mode = read_mode::secondary, .tag_sets = {tag_set{{"dc", "north"}}}}).empty());
  // The empty tag set matches everyone: a fallback of last resort.
  CHECK(f.reach({.mode = read_mode::secondary,
                 .tag_sets = {tag_set{{"dc", "north"}}, tag_set{}}}) == ids{"a", "c"});
  // secondary_preferred falls back to the primary, whose tags are not checked.
  CHECK(f.reach({.mode = read_mode::secondary_preferred, .tag_sets = {tag_set{{"dc", "north"}}}}) ==
        ids{"p"});
  // nearest applies tags to the primary too: only west matches b.
  CHECK(f.reach({.mode = read_mode::nearest, .tag_sets = {tag_set{{"dc", "west"}}}}) == ids{"b"});
  CHECK(f.reach({.mode = read_mode::nearest, .tag_sets = {tag_set{{"dc", "east"}}}}) ==
        ids{"p", "a", "c"});
}

TEST_CASE("max staleness uses MongoDB's formula", "[balancing]") {
  fixture f;
  const auto t = f.clock.now();
  f.s.report_position("p", 1000, t);        // P: last_update t, last_write t
  f.s.report_position("a", 990, t - 5s);    // (0 + 5s) - 0 + 10s = 15s
  f.s.report_position("b", 900, t - 100s);  // 110s
  f.s.report_position("c", 999, t - 1s);    // 11s
  CHECK(f.s.staleness("p") == 0s);
  CHECK(f.s.staleness("a") == 15s);
  CHECK(f.s.staleness("b") == 110s);
  CHECK(f.s.staleness("c") == 11s);
  // Reports made at different times count the gap: 20s later the primary reports again
  // (update - write = 0); a's report is 20s old but was current when made: still 15s.
  f.clock.advance(20s);
  f.s.report_position("p", 1100, f.clock.now());
  CHECK(f.s.staleness("a") == 15s);
  // Without a primary, against the freshest secondary (c, written at t - 1s).
  f.s.mark_down("p");
  CHECK(f.s.staleness("a") == 14s);  // (t - 1s) - (t - 5s) + 10s
  CHECK(f.s.staleness("c") == 10s);
  CHECK(f.s.staleness("b") == 109s);
  f.s.mark_up("p");
  CHECK(f.reach({.mode = read_mode::secondary, .max_staleness = 100s}) == ids{"a", "c"});
  f.s.mark_down("a");
  f.s.mark_down("c");
  // b is the only secondary left and too stale: secondary finds nothing, the window does not
  // rescue it.
  CHECK(f.reach({.mode = read_mode::secondary, .max_staleness = 100s}).empty());
  CHECK(f.reach({.mode = read_mode::secondary, .max_staleness = 120s}) == ids{"b"});
  CHECK(f.reach({.mode = read_mode::secondary_preferred, .max_staleness = 100s}) == ids{"p"});
}

TEST_CASE("a secondary with no position report is excluded only under max staleness",
          "[balancing]") {
  fixture f;
  f.s.report_position("p", 10, f.clock.now());
  f.s.report_position("c", 10, f.clock.now());
  CHECK(f.reach({.mode = read_mode::secondary}) == ids{"a", "c"});
  CHECK(f.reach({.mode = read_mode::secondary, .max_staleness = 90s}) == ids{"c"});
}

TEST_CASE("preferences MongoDB rejects are refused", "[balancing]") {
  fixture f;
  CHECK_THROWS_WITH(
      f.s.select_read({.mode = read_mode::primary, .tag_sets = {bulwark::tag_set{{"dc", "x"}}}}),
      "bulwark::read_preference: tag_sets must be empty with mode primary (got 1)");
  CHECK_THROWS_WITH(f.s.select_read({.mode = read_mode::secondary, .max_staleness = 60s}),
                    "bulwark::read_preference: max_staleness must be >= 90s (got 1min)");
  CHECK_THROWS_WITH(selector({.id = "p"}, {{.id = "p"}}),
                    "bulwark::replica_selector: replica.id must be unique (got \"p\")");
  CHECK_THROWS_WITH(selector({.id = "p"}, {}, {.rtt_alpha = 0.0}),
                    "bulwark::replica_selector: rtt_alpha must be in (0, 1] (got 0)");
}

// server-selection.md, "tag_sets": "Clients MUST raise an error if a non-empty tag set is
// given in tag_sets and the mode field is 'primary'"; the default list [{}] is not an error.
TEST_CASE("mode primary accepts the default tag set list of one empty set", "[balancing]") {
  fixture f;
  const bulwark::read_preference pref{.mode = read_mode::primary, .tag_sets = {bulwark::tag_set{}}};
  CHECK(f.reach(pref) == ids{"p"});
  CHECK(f.s.suitable(pref) == std::vector<std::string>{"p"});
  CHECK_THROWS_WITH(
      f.s.select_read({.mode = read_mode::primary,
                       .tag_sets = {bulwark::tag_set{}, bulwark::tag_set{{"dc", "x"}}}}),
      "bulwark::read_preference: tag_sets must be empty with mode primary (got 1)");
}

TEST_CASE("read-your-writes routes only to members that applied the token", "[balancing]") {
  fixture f;
  const auto t = f.clock.now();
  f.s.report_position("p", 100, t);
  f.s.report_position("a", 100, t);
  f.s.report_position("b", 90, t);
  f.s.report_position("c", 99, t);
  CHECK(f.reach({.mode = read_mode::secondary}, 100) == ids{"a"});
  CHECK(f.reach({.mode = read_mode::secondary}, 99) == ids{"a", "c"});
  CHECK(f.reach({.mode = read_mode::nearest}, 100) == ids{"p", "a"});
  // Only b (west) matches the tags, and it is behind: the primary serves the read.
  CHECK(f.reach({.mode = read_mode::secondary, .tag_sets = {bulwark::tag_set{{"dc", "west"}}}},
                100) == ids{"p"});
  // Nobody has 101 yet: the primary.
  CHECK(f.reach({.mode = read_mode::secondary}, 101) == ids{"p"});
}

TEST_CASE("a tokened read may wait for a secondary, then falls back", "[balancing]") {
  fixture f;
  f.s.report_position("a", 5, f.clock.now());
  const auto start = f.clock.now();
  // Nobody catches up in 10ms of virtual time: the wait is spent, then the primary.
  auto h = f.s.select_read({.mode = read_mode::secondary}, f.rng, 6, 10ms);
  CHECK(h.id() == "p");
  CHECK(f.clock.now() - start == 10ms);
  SECTION("without the fallback, nothing") {
    selector strict{{.id = "p"}, {{.id = "a"}}, {.causal_fallback_to_primary = false}, f.clock};
    CHECK_FALSE(strict.select_read({.mode = read_mode::secondary}, f.rng, 1, 4ms));
    // secondary_preferred still ends on the primary: its mode falls back.
    CHECK(strict.select_read({.mode = read_mode::secondary_preferred}, f.rng, 1, 4ms).id() == "p");
  }
}

TEST_CASE("read-your-writes never routes a tokened read to a replica behind it", "[balancing]") {
  fixture f;
  bulwark::fast_rng dice{12};
  std::uint64_t applied[4] = {0, 0, 0, 0};
  const char* names[4] = {"p", "a", "b", "c"};
  const bulwark::read_mode modes[] = {read_mode::primary_preferred, read_mode::secondary,
                                      read_mode::secondary_preferred, read_mode::nearest};
  for (int step = 0; step < 3000; ++step) {
    applied[0] += bulwark::uniform_below(dice, 3);  // the primary writes
    for (int m = 1; m < 4; ++m)                     // replicas catch up at their own pace
      applied[m] = std::min(applied[0], applied[m] + bulwark::uniform_below(dice, 4));
    for (int m = 0; m < 4; ++m)
      f.s.report_position(names[m], applied[m], f.clock.now());
    if (step % 500 == 0) f.s.mark_down(names[1 + step / 500 % 3]);
    if (step % 500 == 250) f.s.mark_up(names[1 + step / 500 % 3]);
    const std::uint64_t token = applied[0] - bulwark::uniform_below(dice, applied[0] / 2 + 1);
    auto h = f.s.select_read({.mode = modes[step % 4]}, f.rng, token);
    REQUIRE(h);
    int m = 0;
    while (names[m] != h.id())
      ++m;
    REQUIRE(applied[m] >= token);
  }
}

TEST_CASE("failover: writes refuse while the primary is down, promote moves them", "[balancing]") {
  fixture f;
  CHECK(f.s.execute_write([](const std::string& id) { return id; }) == "p");
  f.s.mark_down("p");
  CHECK_FALSE(f.s.primary());
  CHECK_FALSE(f.s.select_write());
  CHECK_THROWS_AS(f.s.execute_write([](const std::string& id) { return id; }), bulwark::no_primary);
  CHECK_THROWS_WITH(f.s.execute_write([](const std::string& id) { return id; }),
                    "bulwark::replica_selector: no primary (writes refused until one is set)");
  f.s.promote("a");
  CHECK(f.s.primary() == std::optional<std::string>{"a"});
  CHECK(f.s.execute_write([](const std::string& id) { return id; }) == "a");
  // p stays down (as a secondary now); reads go to c (b is outside the window).
  CHECK(f.reach({.mode = read_mode::secondary}) == ids{"c"});
  CHECK_THROWS_AS(f.s.promote("zzz"), std::invalid_argument);
}

TEST_CASE("inside the window, power of two choices prefers fewer operations", "[balancing]") {
  fixture f;
  std::vector<bulwark::replica_handle> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(f.s.select_read({.mode = read_mode::secondary}, f.rng));
  // Two candidates (a, c), both drawn every time: the held loads stay within one.
  int a = 0;
  for (const auto& h : held)
    a += h.id() == "a";
  CHECK((a == 1 || a == 2));
  CHECK_THROWS_AS(f.s.execute_read({.mode = read_mode::secondary,
                                    .tag_sets = {bulwark::tag_set{{"dc", "north"}}}},
                                   [](const std::string&) { return 0; }),
                  bulwark::no_replica_available);
}

namespace {
// A manual clock whose sleeps may run a hook: the "replication" a waiting read waits for.
struct hooked_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  bulwark::manual_clock base;
  std::shared_ptr<int> sleeps = std::make_shared<int>(0);
  std::shared_ptr<std::function<void()>> on_sleep = std::make_shared<std::function<void()>>();
  [[nodiscard]] time_point now() const noexcept { return base.now(); }
  void sleep_for(duration d) {
    ++*sleeps;
    base.advance(d);
    if (*on_sleep) (*on_sleep)();
  }
};
}  // namespace

// A wait of duration::max() ("as long as it takes") used to overflow now + wait into the past,
// so the read fell back to the primary at once. The deadline saturates now.
TEST_CASE("a tokened read with a wait of duration max waits until a secondary applies it",
          "[balancing]") {
  hooked_clock clock;
  bulwark::replica_selector<std::uint64_t, hooked_clock> s{
      {.id = "p"}, {{.id = "a"}}, {.causal_poll_interval = 5ms}, clock};
  s.report_position("a", 5, clock.now());
  *clock.on_sleep = [&] {
    if (*clock.sleeps == 3) s.report_position("a", 6, clock.now());
  };
  const auto start = clock.now();
  bulwark::fast_rng rng{3};
  const auto h = s.select_read({.mode = read_mode::secondary}, rng, 6, bulwark::duration::max());
  CHECK(h.id() == "a");
  CHECK(*clock.sleeps == 3);
  CHECK(clock.now() - start == 15ms);
}

// A latency window of duration::max() ("every suitable member") used to overflow
// fastest + local_threshold into the far past, which emptied the window: no read was possible.
// The sum saturates now, so the window keeps every suitable member.
TEST_CASE("a local_threshold of duration max keeps every suitable member in the window",
          "[balancing]") {
  bulwark::manual_clock clock;
  selector s{{.id = "p"},
             {{.id = "a"}, {.id = "b"}},
             {.local_threshold = bulwark::duration::max()},
             clock};
  s.report_rtt("p", 2ms);
  s.report_rtt("a", 5ms);
  s.report_rtt("b", 30s);
  CHECK(s.latency_window({.mode = read_mode::nearest}) == std::vector<std::string>{"p", "a", "b"});
  bulwark::fast_rng rng{5};
  CHECK(s.select_read({.mode = read_mode::secondary}, rng));
}

// With the primary known, staleness is (S.last_update - S.last_write) - (P.last_update -
// P.last_write) + heartbeat_frequency: a heartbeat_frequency of duration::max() used to wrap
// that sum negative, so the stalest secondary looked the freshest. It saturates now.
TEST_CASE("staleness saturates with a heartbeat_frequency of duration max", "[balancing]") {
  bulwark::manual_clock clock;
  selector s{{.id = "p"}, {{.id = "a"}}, {.heartbeat_frequency = bulwark::duration::max()}, clock};
  const auto now = clock.now();
  s.report_position("p", 10, now);
  s.report_position("a", 9, now - 5s);
  CHECK(s.staleness("a") == bulwark::duration::max());
  CHECK(s.staleness("p") == bulwark::duration::zero());
}
