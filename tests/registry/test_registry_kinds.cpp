// The keyed and adaptive limiter kinds: named instances from shared configs, live
// reconfiguration (keyed: per-key options in place, table fixed; adaptive: refused), metrics
// and the adaptive limiter's limit changes reaching the sink without forwarding.

#include <bulwark/registry.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "seen_events.hpp"

using namespace std::chrono_literals;
using reg_t = bulwark::registry<bulwark::manual_clock>;

using bulwark_test::record;
using bulwark_test::seen;

TEST_CASE("keyed limiters come from shared configs with per-name overrides", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.add_config("default", bulwark::keyed_gcra_options{
                                   .per_key = {.rate = bulwark::per_second(10), .burst = 2},
                                   .table = {.max_keys = 1000, .seed = 7}});
  guards.define<bulwark::keyed_gcra_options>("login", "default",
                                             [](auto& o) { o.per_key.burst = 1; });
  auto api = guards.keyed_gcra<std::string>("api");
  auto login = guards.keyed_gcra<std::string>("login");
  CHECK(api == guards.keyed_gcra<std::string>("api"));
  CHECK(api->options().max_keys == 1000);
  CHECK(api->per_key_options().burst == 2);
  CHECK(login->per_key_options().burst == 1);
  CHECK(login->try_acquire("alice"));
  CHECK_FALSE(login->try_acquire("alice"));
  CHECK(login->try_acquire("bob"));  // each key its own limiter
  // The key type is part of the instance, as a cache's types are.
  CHECK_THROWS_AS(guards.keyed_gcra<std::uint64_t>("api"), std::invalid_argument);
  auto uploads = guards.keyed_token_bucket<std::uint64_t>("uploads");
  CHECK(uploads->try_acquire(42));
  CHECK(guards.contains(bulwark::registry_kind::keyed_token_bucket, "uploads"));
  CHECK_FALSE(guards.contains(bulwark::registry_kind::keyed_gcra, "uploads"));
  CHECK_THROWS_WITH(guards.add_config("bad", bulwark::keyed_gcra_options{.table = {.max_keys = 0}}),
                    "bulwark::keyed_limiter: max_keys must be >= 1 (got 0)");
}

TEST_CASE("a keyed limiter's per-key options change live, its table does not", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<seen> events;
  record(guards, events);
  const bulwark::keyed_gcra_options start{.per_key = {.rate = bulwark::per_second(1), .burst = 1},
                                          .table = {.seed = 3}};
  guards.define("api", start);
  auto api = guards.keyed_gcra<std::string>("api");
  CHECK(api->try_acquire("alice"));
  CHECK_FALSE(api->try_acquire("alice"));

  auto wider = start;
  wider.per_key.burst = 3;
  guards.reconfigure("api", wider);
  CHECK(api == guards.keyed_gcra<std::string>("api"));  // in place: the same object
  CHECK(api->per_key_options().burst == 3);
  // alice keeps her debt: one taken of a burst of 3 leaves 2.
  CHECK(api->try_acquire("alice"));
  CHECK(api->try_acquire("alice"));
  CHECK_FALSE(api->try_acquire("alice"));
  REQUIRE(events.size() == 2);
  CHECK(events[1] == seen{bulwark::registry_event_type::reconfigured, "keyed_gcra", "api",
                          "rate 1/1s, burst 1, max_keys 100000",
                          "rate 1/1s, burst 3, max_keys 100000"});

  auto resized = wider;
  resized.table.max_keys = 10;
  CHECK_THROWS_WITH(guards.check_reconfigure("api", resized),
                    "bulwark::registry: keyed_gcra 'api': max_keys cannot change live (100000 to "
                    "10); remove the instance to rebuild it");
  CHECK_THROWS_AS(guards.reconfigure("api", resized), std::invalid_argument);
  CHECK(api->options().max_keys == 100'000);
  CHECK(guards.options_of<bulwark::keyed_gcra_options>("api").table.max_keys == 100'000);
  CHECK(events.size() == 2);
}

TEST_CASE("an adaptive limiter's limit changes reach the sink from every instance", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::vector<seen> events;
  record(guards, events);
  guards.add_config("default",
                    bulwark::aimd_options{.initial_limit = 20, .min_limit = 10, .max_limit = 40});
  auto db = guards.aimd_limiter("db");
  auto cache = guards.aimd_limiter("cache");
  db->try_acquire().dropped();     // 20 x 0.9 = 18
  cache->try_acquire().dropped();  // 18
  cache->try_acquire().ignore();   // no sample, no change
  auto g = guards.gradient2_limiter("search");
  CHECK(g->limit() == 20);
  REQUIRE(events.size() == 5);
  CHECK(events[2] ==
        seen{bulwark::registry_event_type::limit_changed, "aimd_limiter", "db", "20", "18"});
  CHECK(events[3] ==
        seen{bulwark::registry_event_type::limit_changed, "aimd_limiter", "cache", "20", "18"});
  CHECK(events[4] ==
        seen{bulwark::registry_event_type::created, "gradient2_limiter", "search", "", ""});

  // Options are fixed: a live one refuses new ones, naming it; a removed one is rebuilt.
  CHECK_THROWS_WITH(guards.reconfigure("db", bulwark::aimd_options{.initial_limit = 30}),
                    "bulwark::registry: aimd_limiter 'db' cannot take new options live (an "
                    "adaptive limiter keeps its learned limit); remove the instance to rebuild it");
  CHECK(db->limit() == 18);
  CHECK(guards.remove(bulwark::registry_kind::aimd_limiter, "db"));
  guards.reconfigure("db", bulwark::aimd_options{.initial_limit = 30});  // not live: defined
  CHECK(guards.aimd_limiter("db")->limit() == 30);
  // The removed instance's holders keep it, and it still reports (the sink is shared).
  db->try_acquire().dropped();
  CHECK(events.back() ==
        seen{bulwark::registry_event_type::limit_changed, "aimd_limiter", "db", "18", "16"});
}

TEST_CASE("the new kinds' metrics are exported with the algorithm label", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  guards.add_config("default", bulwark::keyed_gcra_options{
                                   .per_key = {.rate = bulwark::per_second(10), .burst = 1}});
  auto api = guards.keyed_gcra<std::string>("api");
  CHECK(api->try_acquire("a"));
  CHECK_FALSE(api->try_acquire("a"));
  CHECK(guards.keyed_token_bucket<int>("uploads")->try_acquire(1));
  guards.aimd_limiter("db")->try_acquire().success();
  (void)guards.gradient2_limiter("search");
  const std::string text = bulwark::registry_prometheus_text(guards);
  for (const char* line : {
           "bulwark_keyed_rate_limit_admitted_total{name=\"api\",algorithm=\"gcra\"} 1\n",
           "bulwark_keyed_rate_limit_rejected_total{name=\"api\",algorithm=\"gcra\"} 1\n",
           "bulwark_keyed_rate_limit_keys{name=\"api\",algorithm=\"gcra\"} 1\n",
           "bulwark_keyed_rate_limit_admitted_total{name=\"uploads\",algorithm=\"token_bucket\"} "
           "1\n",
           "bulwark_adaptive_limiter_admitted_total{name=\"db\",algorithm=\"aimd\"} 1\n",
           "bulwark_adaptive_limiter_limit{name=\"search\",algorithm=\"gradient2\"} 20\n",
           "# TYPE bulwark_adaptive_limiter_in_flight gauge\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

// Bounded: a few threads, a few hundred permits each (run under TSan).
TEST_CASE("limit changes from several threads reach the sink one at a time", "[registry]") {
  bulwark::manual_clock clock;
  reg_t guards{clock};
  std::size_t changes = 0;
  guards.set_event_sink([&changes](const bulwark::registry_event& e) {
    if (e.type == bulwark::registry_event_type::limit_changed) ++changes;  // serialized
  });
  guards.add_config("default",
                    bulwark::aimd_options{.initial_limit = 20, .min_limit = 1, .max_limit = 40});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&guards, t] {
      auto limiter = guards.aimd_limiter(t % 2 == 0 ? "a" : "b");
      for (int i = 0; i < 200; ++i) {
        auto p = limiter->try_acquire();
        if (!p) continue;
        if (i % 3 == 0) {
          p.dropped();
        } else {
          p.success();
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(changes > 0);
}
