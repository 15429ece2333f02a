#include <atomic>
#include <bulwark/registry.hpp>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using reg_t = bulwark::registry<bulwark::manual_clock>;

TEST_CASE("a name is built once and the same instance comes back", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  auto a = guards.circuit_breaker("payments");
  auto b = guards.circuit_breaker("payments");
  CHECK(a == b);
  CHECK(guards.circuit_breaker("search") != a);
  // Kinds are separate namespaces: a limiter may share a breaker's name.
  CHECK(guards.gcra("payments") != nullptr);
  const auto names = guards.names(bulwark::registry_kind::circuit_breaker);
  CHECK(std::set<std::string>(names.begin(), names.end()) ==
        std::set<std::string>{"payments", "search"});
}

// resilience4j CircuitBreakerRegistry: instances take the "default" config unless they name
// another; a named config that was never added is an error (ConfigurationNotFoundException).
TEST_CASE("options come from the definition, else the named or default config, else defaults",
          "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  CHECK(guards.bulkhead("plain")->options().max_concurrent == 25);  // bulkhead_options{}
  guards.add_config("default", bulwark::bulkhead_options{.max_concurrent = 7});
  guards.add_config("wide", bulwark::bulkhead_options{.max_concurrent = 50, .max_waiting = 3});
  guards.define<bulwark::bulkhead_options>("db", "wide", [](auto& o) { o.max_waiting = 9; });
  guards.define("exact", bulwark::bulkhead_options{.max_concurrent = 2});

  CHECK(guards.bulkhead("search")->options().max_concurrent == 7);
  CHECK(guards.bulkhead("reports", "wide")->options().max_concurrent == 50);
  const auto db = guards.bulkhead("db")->options();
  CHECK(db.max_concurrent == 50);
  CHECK(db.max_waiting == 9);
  CHECK(guards.bulkhead("exact")->options().max_concurrent == 2);
  // Built before the default config was added: it keeps what it was built with.
  CHECK(guards.bulkhead("plain")->options().max_concurrent == 25);

  CHECK_THROWS_WITH(guards.bulkhead("x", "missing"),
                    "bulwark::registry: no config named 'missing' (asked for by 'x')");
  CHECK_FALSE(guards.contains(bulwark::registry_kind::bulkhead, "x"));
  CHECK_THROWS_AS(guards.add_config("bad", bulwark::bulkhead_options{.max_concurrent = 0}),
                  std::invalid_argument);
}

TEST_CASE("a cache name keeps its key and value types", "[registry]") {
  reg_t guards{bulwark::manual_clock{}};
  guards.add_config("default", bulwark::cache_options{.maximum_size = 100});
  auto sessions = guards.cache<std::string, int>("sessions");
  sessions->put("a", 1);
  CHECK(guards.cache<std::string, int>("sessions")->get("a") == 1);
  CHECK_THROWS_WITH((guards.cache<int, int>("sessions")),
                    "bulwark::registry: 'sessions' is held with other template arguments");
}

TEST_CASE("remove takes the name out and holders keep a working guard", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.add_config("default", bulwark::gcra_options{.rate = bulwark::per_second(1), .burst = 2});
  auto held = guards.gcra("api");
  CHECK(held->try_acquire());
  CHECK(guards.remove(bulwark::registry_kind::gcra, "api"));
  CHECK_FALSE(guards.remove(bulwark::registry_kind::gcra, "api"));
  CHECK_FALSE(guards.contains(bulwark::registry_kind::gcra, "api"));
  CHECK(guards.names(bulwark::registry_kind::gcra).empty());
  // The holder's limiter still works, with its state: one unit left of the burst of two.
  CHECK(held->try_acquire());
  CHECK_FALSE(held->try_acquire());
  // The next get builds a fresh instance, full again.
  auto fresh = guards.gcra("api");
  CHECK(fresh != held);
  CHECK(fresh->try_acquire(2));
}

TEST_CASE("concurrent first gets of one name build exactly one instance", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::atomic<int> created{0};
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    if (e.type == bulwark::registry_event_type::created) created.fetch_add(1);
  });
  constexpr int threads = 4;
  constexpr int rounds = 50;
  for (int round = 0; round < rounds; ++round) {
    const std::string name = "breaker-" + std::to_string(round);
    std::vector<const void*> seen(threads);
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < threads) {
        }
        seen[static_cast<std::size_t>(t)] = guards.circuit_breaker(name).get();
        // Lookups of other names, existing and new, at the same time.
        (void)guards.token_bucket(name + "-" + std::to_string(t % 2));
      });
    }
    for (auto& th : pool)
      th.join();
    CHECK(std::set<const void*>(seen.begin(), seen.end()).size() == 1);
  }
  // One breaker and two token buckets per round.
  CHECK(created.load() == rounds * 3);
}

TEST_CASE("breaker transitions of every instance reach the one sink, with their names",
          "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<std::string> events;
  int own_listener = 0;
  guards.define("payments", bulwark::circuit_breaker_options{
                                .on_transition = [&](const auto&) { ++own_listener; }});
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    events.push_back(std::string{to_string(e.type)} + " " + std::string{e.kind} + " " +
                     std::string{e.name} + " " + std::string{e.from} + ">" + std::string{e.to});
  });
  guards.circuit_breaker("payments")->transition_to(bulwark::circuit_state::forced_open);
  guards.circuit_breaker("search")->transition_to(bulwark::circuit_state::disabled);
  guards.remove(bulwark::registry_kind::circuit_breaker, "search");
  guards.emit({bulwark::registry_event_type::ejection, "load_balancer", "db", "", "10.0.0.7"});
  CHECK(events == std::vector<std::string>{
                      "created circuit_breaker payments >",
                      "transition circuit_breaker payments closed>forced_open",
                      "created circuit_breaker search >",
                      "transition circuit_breaker search closed>disabled",
                      "removed circuit_breaker search >",
                      "ejection load_balancer db >10.0.0.7",
                  });
  CHECK(own_listener == 1);  // the definition's own listener still runs
}

TEST_CASE("reconfigure applies validated options to a live instance and to later builds",
          "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<std::string> events;
  guards.set_event_sink([&](const bulwark::registry_event& e) {
    events.push_back(std::string{to_string(e.type)} + " " + std::string{e.name} + " " +
                     std::string{e.from} + ">" + std::string{e.to});
  });
  auto before = guards.bulkhead("db");
  CHECK_THROWS_AS(guards.reconfigure("db", bulwark::bulkhead_options{.max_concurrent = 0}),
                  std::invalid_argument);
  CHECK(guards.bulkhead("db")->options().max_concurrent == 25);  // nothing changed
  guards.reconfigure("db", bulwark::bulkhead_options{.max_concurrent = 3});
  CHECK(guards.bulkhead("db")->options().max_concurrent == 3);
  CHECK(guards.options_of<bulwark::bulkhead_options>("db").max_concurrent == 3);
  guards.remove(bulwark::registry_kind::bulkhead, "db");
  guards.reconfigure("db", bulwark::bulkhead_options{.max_concurrent = 4});  // not live: remembered
  CHECK(guards.bulkhead("db")->options().max_concurrent == 4);
  REQUIRE(events.size() >= 2);
  CHECK(events[1] == "reconfigured db max_concurrent 25>max_concurrent 3");
  CHECK(guards.bulkhead("db") != before);  // removed and built again
}
