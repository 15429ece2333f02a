// The keyed and adaptive limiter sections of a config document: read with every problem's
// path, reloaded in place (keyed) or refused when changed (adaptive), all or nothing.

#include <bulwark/config.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "catch.hpp"
#include "problems.hpp"

using namespace std::chrono_literals;
using bulwark_test::problems_of;
using reg_t = bulwark::registry<bulwark::manual_clock>;

namespace {

// The document both tests start from; `burst` is the default keyed config's burst.
std::string keyed(int burst = 2) {
  return R"({
  "keyed_gcra_limiters": {
    "configs": {"default": {"rate": "1/s", "burst": )" +
         std::to_string(burst) + R"(, "max_keys": 1000, "seed": 5}},
    "instances": {"per_client": {}, "login": {"burst": 1, "on_table_full": "evict_least_recent"}}
  },
  "keyed_token_buckets": {"instances": {"uploads": {"rate": "5/250ms", "capacity": 3,
                                                    "idle_timeout": "1m"}}},
  "aimd_limiters": {"instances": {"db": {"initial_limit": 10, "min_limit": 5, "max_limit": 50,
                                         "backoff_ratio": 0.5, "timeout": "1s"}}},
  "gradient2_limiters": {"instances": {"search": {"initial_limit": 30, "max_limit": 60,
                                                  "drift_guard": false}}}
})";
}

}  // namespace

TEST_CASE("keyed and adaptive limiter sections build their instances", "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  const auto changes = config.apply(keyed());
  CHECK(changes.created ==
        std::vector<std::string>{"keyed_gcra_limiters/login", "keyed_gcra_limiters/per_client",
                                 "keyed_token_buckets/uploads", "aimd_limiters/db",
                                 "gradient2_limiters/search"});
  // Adaptive limiters are built now; keyed ones, like caches, by their first get (key type).
  CHECK(guards.contains(bulwark::registry_kind::aimd_limiter, "db"));
  CHECK(guards.contains(bulwark::registry_kind::gradient2_limiter, "search"));
  CHECK_FALSE(guards.contains(bulwark::registry_kind::keyed_gcra, "login"));
  auto login = guards.keyed_gcra<std::string>("login");
  CHECK(login->per_key_options().burst == 1);
  CHECK(login->per_key_options().rate == bulwark::per_second(1));
  CHECK(login->options().max_keys == 1000);
  CHECK(login->options().on_table_full == bulwark::keyed_table_full::evict_least_recent);
  CHECK(guards.keyed_gcra<std::string>("per_client")->per_key_options().burst == 2);
  auto uploads = guards.keyed_token_bucket<std::uint64_t>("uploads");
  CHECK(uploads->per_key_options().capacity == 3);
  CHECK(uploads->options().idle_timeout == 1min);
  auto db = guards.aimd_limiter("db");
  CHECK(db->limit() == 10);
  db->try_acquire().dropped();
  CHECK(db->limit() == 5);  // backoff_ratio 0.5 took effect
  CHECK(guards.gradient2_limiter("search")->limit() == 30);
}

TEST_CASE("every problem in the new sections is reported with its path", "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  const auto problems = problems_of(config, R"({
    "keyed_gcra_limiters": {"instances": {"api": {"max_keys": 0, "burst": -1, "colour": 1,
                                                  "on_table_full": "drop"}}},
    "keyed_token_buckets": {"instances": {"u": {"idle_timeout": "0", "capacity": 0}}},
    "aimd_limiters": {"instances": {"db": {"backoff_ratio": 2, "timeout": 5}}},
    "gradient2_limiters": {"instances": {"s": {"smoothing": 0, "min_limit": 0}}}
  })");
  CHECK(problems == std::vector<std::string>{
                        "/keyed_gcra_limiters/instances/api/burst: expected a whole number in "
                        "[0, 4294967295], got -1",
                        "/keyed_gcra_limiters/instances/api/colour: unknown key",
                        "/keyed_gcra_limiters/instances/api/on_table_full: expected one of "
                        "\"reject_new_keys\", \"evict_least_recent\", got \"drop\"",
                        "/keyed_gcra_limiters/instances/api/max_keys: bulwark::keyed_limiter: "
                        "max_keys must be >= 1 (got 0)",
                        "/keyed_token_buckets/instances/u/idle_timeout: bulwark::keyed_limiter: "
                        "idle_timeout must be > 0 (got 0s)",
                        "/keyed_token_buckets/instances/u/capacity: bulwark::token_bucket: "
                        "capacity must be >= 1 (got 0)",
                        "/aimd_limiters/instances/db/timeout: expected a duration such as "
                        "\"250ms\" or \"2s\" (units ns, us, ms, s, m, h), got 5",
                        "/aimd_limiters/instances/db/backoff_ratio: bulwark::aimd_limit: "
                        "backoff_ratio must be in [0.5, 1) (got 2)",
                        "/gradient2_limiters/instances/s/min_limit: bulwark::gradient2_limit: "
                        "min_limit must be >= 1 (got 0)",
                        "/gradient2_limiters/instances/s/smoothing: bulwark::gradient2_limit: "
                        "smoothing must be in (0, 1] (got 0)",
                    });
}

TEST_CASE(
    "reload reconfigures a keyed limiter in place and refuses a changed table or "
    "adaptive limiter, changing nothing",
    "[config]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  bulwark::registry_config config{guards};
  config.apply(keyed());
  auto per_client = guards.keyed_gcra<std::string>("per_client");
  auto db = guards.aimd_limiter("db");
  CHECK(per_client->try_acquire("alice", 2));  // the burst spent: 2 units owed
  CHECK_FALSE(per_client->try_acquire("alice"));

  // A refused document: a good per-key change beside a table change, a changed adaptive
  // limiter, and a refused value in the new section. Nothing applies.
  const auto problems = problems_of(config, R"({
    "keyed_gcra_limiters": {
      "configs": {"default": {"rate": "1/s", "burst": 4, "max_keys": 1000, "seed": 5}},
      "instances": {"per_client": {"max_keys": 10}, "login": {"burst": 1}}
    },
    "keyed_token_buckets": {"instances": {"uploads": {"capacity": 0}}},
    "aimd_limiters": {"instances": {"db": {"initial_limit": 12, "min_limit": 5, "max_limit": 50}}},
    "gradient2_limiters": {"instances": {"search": {"initial_limit": 30, "max_limit": 60,
                                                    "drift_guard": false}}}
  })");
  CHECK(problems == std::vector<std::string>{
                        "/keyed_token_buckets/instances/uploads/capacity: bulwark::token_bucket: "
                        "capacity must be >= 1 (got 0)"});
  // The same document with a valid bucket reaches phase two: the live instances refuse.
  const auto live = problems_of(config, R"({
    "keyed_gcra_limiters": {
      "configs": {"default": {"rate": "1/s", "burst": 4, "max_keys": 1000, "seed": 5}},
      "instances": {"per_client": {"max_keys": 10}, "login": {"burst": 1}}
    },
    "keyed_token_buckets": {"instances": {"uploads": {"rate": "5/250ms", "capacity": 3,
                                                      "idle_timeout": "1m"}}},
    "aimd_limiters": {"instances": {"db": {"initial_limit": 12, "min_limit": 5, "max_limit": 50}}},
    "gradient2_limiters": {"instances": {"search": {"initial_limit": 30, "max_limit": 60,
                                                    "drift_guard": false}}}
  })");
  CHECK(live == std::vector<std::string>{
                    "/keyed_gcra_limiters/instances/per_client: bulwark::registry: keyed_gcra "
                    "'per_client': max_keys cannot change live (1000 to 10); remove the "
                    "instance to rebuild it",
                    "/aimd_limiters/instances/db: bulwark::registry: aimd_limiter 'db' cannot "
                    "take new options live (an adaptive limiter keeps its learned limit); remove "
                    "the instance to rebuild it"});
  CHECK(per_client->per_key_options().burst == 2);
  CHECK(guards.aimd_limiter("db") == db);
  CHECK(db->limit() == 10);

  // A per-key change alone applies in place: alice still owes her 2 units of the new burst 4.
  const auto changes = config.apply(keyed(4));
  // The default config changed, so both of its instances did; login is not live yet.
  CHECK(changes.reconfigured == std::vector<std::string>{"keyed_gcra_limiters/per_client"});
  CHECK(changes.created == std::vector<std::string>{"keyed_gcra_limiters/login"});
  CHECK(guards.keyed_gcra<std::string>("per_client") == per_client);
  CHECK(per_client->per_key_options().burst == 4);
  CHECK(per_client->try_acquire("alice", 2));
  CHECK_FALSE(per_client->try_acquire("alice"));

  // Dropping the adaptive limiter and adding it back with new options rebuilds it.
  CHECK(config.apply(R"({"aimd_limiters": {"instances": {}}})").removed.size() == 5);
  CHECK(
      config.apply(R"({"aimd_limiters": {"instances": {"db": {"initial_limit": 40}}}})").created ==
      std::vector<std::string>{"aimd_limiters/db"});
  CHECK(guards.aimd_limiter("db")->limit() == 40);
  CHECK(db->limit() == 10);  // the old holder keeps the old one
}

#ifdef BULWARK_SOURCE_DIR
#include <fstream>
#include <sstream>

// Every ```json block of docs/operate.md is a document registry_config applies as it stands.
TEST_CASE("every JSON block of docs/operate.md applies", "[config]") {
  std::ifstream file{std::string{BULWARK_SOURCE_DIR} + "/docs/operate.md"};
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  const std::string doc = text.str();
  std::size_t blocks = 0;
  for (std::size_t at = doc.find("```json\n"); at != std::string::npos;
       at = doc.find("```json\n", at)) {
    at += 8;
    const std::size_t end = doc.find("\n```", at);
    REQUIRE(end != std::string::npos);
    bulwark::manual_clock clock;
    reg_t guards{clock};
    bulwark::registry_config config{guards};
    const std::string block = doc.substr(at, end - at);
    INFO(block);
    CHECK(problems_of(config, block).empty());
    ++blocks;
  }
  CHECK(blocks >= 1);
}
#endif
