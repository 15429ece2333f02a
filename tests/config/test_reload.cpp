#include <atomic>
#include <bulwark/config.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

template <class Guard>
concept reconfigurable = requires(Guard& g) {
  g.reconfigure(g.options());
};

const char* const first = R"({
  "gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 4}, "old": {"burst": 2}}},
  "bulkheads": {"instances": {"db": {"max_concurrent": 2}}}
})";

}  // namespace

TEST_CASE("reload reconfigures changed instances in place, builds new ones, removes dropped ones",
          "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  std::vector<std::string> events;
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    events.push_back(std::string{to_string(e.type)} + " " + std::string{e.name});
  });
  config.apply(first);
  auto api = guards.gcra("api");
  auto old = guards.gcra("old");
  auto db = guards.bulkhead("db");
  CHECK(api->try_acquire(4));  // the burst is spent: the limiter now owes 4 units (400 ms)
  events.clear();

  const auto changes = config.apply(R"({
    "gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 8}, "new": {"burst": 3}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 2}}}
  })");
  CHECK(changes.reconfigured == std::vector<std::string>{"gcra_limiters/api"});
  CHECK(changes.created == std::vector<std::string>{"gcra_limiters/new"});
  CHECK(changes.removed == std::vector<std::string>{"gcra_limiters/old"});
  // The same object, with its state: of the new burst of 8, the 4 units taken are still owed.
  CHECK(guards.gcra("api") == api);
  CHECK(api->options().burst == 8);
  CHECK(api->try_acquire(4));
  CHECK_FALSE(api->try_acquire(1));
  CHECK(guards.bulkhead("db") == db);  // unchanged: untouched
  CHECK_FALSE(guards.contains(bulwark::registry_kind::gcra, "old"));
  CHECK(old->try_acquire());  // its holder keeps a working limiter
  CHECK(events == std::vector<std::string>{"reconfigured api", "created new", "removed old"});
}

TEST_CASE("a document with any error changes nothing", "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  config.apply(first);
  auto api = guards.gcra("api");

  // One good change, one new instance, one removal, and one refused value: none applies.
  CHECK_THROWS_AS(config.apply(R"({
    "gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 100}, "new": {"burst": 1}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 0}}}
  })"),
                  bulwark::config_error);
  CHECK(api->options().burst == 4);
  CHECK(guards.contains(bulwark::registry_kind::gcra, "old"));
  CHECK_FALSE(guards.contains(bulwark::registry_kind::gcra, "new"));
  CHECK(guards.bulkhead("db")->options().max_concurrent == 2);

  // A value every field accepts but the live guard refuses (a structural field, where the
  // guard checks one) is refused in the same all-or-nothing way, before anything changes.
  CHECK_THROWS_AS(config.apply("{\"gcra_limiters\": {\"instances\": {\"api\": {\"burst\": 0}}}}"),
                  bulwark::config_error);
  CHECK(api->options().burst == 4);

  // After the refusals, the last good document is still what reloads compare against.
  const auto changes = config.apply(first);
  CHECK(changes.created.empty());
  CHECK(changes.reconfigured.empty());
  CHECK(changes.removed.empty());
}

TEST_CASE("reload keeps each guard's state: breaker, bulkhead, cache, retry, limiters",
          "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  config.apply(R"({
    "circuit_breakers": {"instances": {"payments": {"wait_in_open": "30s"}}},
    "token_buckets": {"instances": {"uploads": {"rate": "1/s", "capacity": 2}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 1}}},
    "retries": {"instances": {"payments": {"max_attempts": 2}}},
    "caches": {"instances": {"users": {"maximum_size": 10}}}
  })");
  auto breaker = guards.circuit_breaker("payments");
  auto uploads = guards.token_bucket("uploads");
  auto db = guards.bulkhead("db");
  auto retry = guards.retry("payments");
  auto users = guards.cache<int, int>("users");
  breaker->transition_to(bulwark::circuit_state::forced_open);
  CHECK(uploads->try_acquire(2));
  auto inside = db->try_acquire();
  REQUIRE(inside);
  users->put(1, 10);

  const auto changes = config.apply(R"({
    "circuit_breakers": {"instances": {"payments": {"wait_in_open": "5s"}}},
    "token_buckets": {"instances": {"uploads": {"rate": "1/s", "capacity": 3}}},
    "bulkheads": {"instances": {"db": {"max_concurrent": 2}}},
    "retries": {"instances": {"payments": {"max_attempts": 5}}},
    "caches": {"instances": {"users": {"maximum_size": 20}}}
  })");
  CHECK(changes.reconfigured.size() == 5);
  CHECK(guards.circuit_breaker("payments") == breaker);
  CHECK(breaker->state() == bulwark::circuit_state::forced_open);
  CHECK(breaker->options().wait_in_open == 5s);
  CHECK(uploads->options().capacity == 3);
  CHECK_FALSE(uploads->try_acquire(1));  // the two tokens taken are still gone
  CHECK(db->metrics().in_flight == 1);   // the permit held across the reload still counts
  CHECK(db->try_acquire());              // and the raised limit admits one more
  CHECK(users->get(1) == 10);
  CHECK(guards.cache<int, int>("users") == users);
  CHECK(guards.retry("payments")->policy().options().max_attempts == 5);
  // A guard without reconfigure() is rebuilt under its name; its holders keep the old one.
  if constexpr (reconfigurable<bulwark::retry<bulwark::manual_clock>>) {
    CHECK(guards.retry("payments") == retry);
  } else {
    CHECK(guards.retry("payments") != retry);
  }
}

TEST_CASE("reloads run while other threads look guards up and call them", "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  bulwark::registry_config config{guards};
  const std::string small =
      R"({"gcra_limiters": {"instances": {"api": {"rate": "100/s", "burst": 2}}},
          "bulkheads": {"instances": {"db": {"max_concurrent": 1}}}})";
  const std::string large =
      R"({"gcra_limiters": {"instances": {"api": {"rate": "100/s", "burst": 50}}},
          "bulkheads": {"instances": {"db": {"max_concurrent": 8}}}})";
  config.apply(small);
  std::atomic<bool> done{false};
  std::atomic<int> calls{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 2000 && !done.load(); ++i) {
        (void)guards.gcra("api")->try_acquire();
        if (auto permit = guards.bulkhead("db")->try_acquire()) calls.fetch_add(1);
        (void)bulwark::registry_prometheus_text(guards).size();
      }
    });
  }
  for (int round = 0; round < 50; ++round) {
    const auto changes = config.apply(round % 2 == 0 ? large : small);
    CHECK(changes.reconfigured.size() == 2);
    clock.advance(std::chrono::milliseconds{10});
  }
  done.store(true);
  for (auto& t : callers)
    t.join();
  CHECK(guards.bulkhead("db")->metrics().in_flight == 0);
  CHECK(guards.gcra("api")->options().burst == 2);  // the last document applied (round 49)
  CHECK(calls.load() > 0);
}
