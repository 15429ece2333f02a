#include <bulwark/config.hpp>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

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
