// redis_cluster_client against a real 3-master Redis Cluster (redis_cluster.hpp): routing,
// the MOVED and ASK redirections of a slot migrated mid-run (the steps of the Redis Cluster
// specification's resharding), and a stopped master. The reference for "no decision lost" is
// the same redis_gcra on one standalone server with the same inputs.

#include <bulwark/core/random.hpp>
#include <bulwark/redis/cluster_client.hpp>
#include <bulwark/redis/detail/keys.hpp>
#include <bulwark/redis/redis_circuit_breaker.hpp>
#include <bulwark/redis/redis_gcra.hpp>
#include <bulwark/redis/redis_near_cache.hpp>
#include <bulwark/redis/redis_store.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "stored_value.hpp"

using namespace std::chrono_literals;
using bulwark::redis_decision_source;

namespace {

using cluster_client = bulwark::redis_cluster_client<bulwark::manual_clock>;

bulwark::redis_cluster_options options_for(const bulwark_test::redis_cluster& cluster) {
  return {.seeds = cluster.seeds(), .node = {.connections = 1}};
}

// The first "<stem><n>" (n = 0, 1, ...) that `key_of` maps into `slot`.
template <class KeyOf>
std::string name_in_slot(std::uint16_t slot, const std::string& stem, KeyOf key_of) {
  for (int n = 0;; ++n) {
    std::string name = stem + std::to_string(n);
    if (bulwark::redis_key_slot(key_of(name)) == slot) return name;
  }
}

// One cluster for the tests that leave it serving (starting one takes seconds: redis-cli
// waits for the nodes to agree); the test that stops a master makes its own.
bulwark_test::redis_cluster* shared_cluster() {
  static const std::unique_ptr<bulwark_test::redis_cluster> cluster =
      bulwark_test::cluster_or_skip();
  return cluster.get();
}

}  // namespace

TEST_CASE("every slot has a hash tag, the shortest decimal number that lands there",
          "[redis][cluster]") {
  std::set<std::string> seen;
  for (std::uint32_t slot = 0; slot < bulwark::redis_cluster_slots; ++slot) {
    const auto s = static_cast<std::uint16_t>(slot);
    const std::string tag{bulwark::detail::slot_tag(s)};
    REQUIRE(!tag.empty());
    REQUIRE(tag.size() <= 6);
    REQUIRE(bulwark::redis_key_slot("x{" + tag + "}y") == s);
    seen.insert(tag);
  }
  CHECK(seen.size() == bulwark::redis_cluster_slots);
  // Computed apart (Python, CRC16-XMODEM of the decimal digits): slot 0's first number is
  // 3560, slot 16383's is 39296.
  CHECK(bulwark::detail::slot_tag(0) == "3560");
  CHECK(bulwark::detail::slot_tag(16383) == "39296");
}

TEST_CASE("cluster replies: addresses, redirections, transient errors", "[redis][cluster]") {
  using namespace bulwark::detail;
  const auto a = parse_cluster_address("127.0.0.1:7001");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 7001);
  CHECK(parse_cluster_address("::1:7002")->host == "::1");
  CHECK(!parse_cluster_address("host"));
  CHECK(!parse_cluster_address(":7000"));
  CHECK(!parse_cluster_address("h:0"));
  CHECK(!parse_cluster_address("h:65536"));
  CHECK(!parse_cluster_address("h:7x"));
  const auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK(moved->moved);
  CHECK(moved->slot == 3999);
  CHECK(moved->address == "127.0.0.1:6381");
  const auto ask = parse_redirect("ASK 16383 10.0.0.2:7000");
  REQUIRE(ask);
  CHECK(!ask->moved);
  CHECK(ask->slot == 16383);
  CHECK(!parse_redirect("MOVED 16384 127.0.0.1:6381"));
  CHECK(!parse_redirect("MOVED 12"));
  CHECK(!parse_redirect("ERR MOVED 1 h:1"));
  CHECK(is_tryagain("TRYAGAIN Multiple keys request during rehashing of slot"));
  CHECK(is_clusterdown("CLUSTERDOWN Hash slot not served"));
  CHECK(!is_clusterdown("ERR CLUSTERDOWN"));
}

TEST_CASE("redis_cluster_client rejects bad options with the field and value", "[redis][cluster]") {
  CHECK_THROWS_WITH(cluster_client({.seeds = {}}),
                    "bulwark::redis_cluster_client: seeds must be non-empty (got 0)");
  CHECK_THROWS_WITH(cluster_client({.seeds = {"localhost"}}),
                    "bulwark::redis_cluster_client: seeds must be \"host:port\" each (got "
                    "\"localhost\")");
  CHECK_THROWS_WITH(cluster_client({.max_redirects = 0}),
                    "bulwark::redis_cluster_client: max_redirects must be >= 1 (got 0)");
  CHECK_THROWS_WITH(cluster_client({.node = {.connections = 0}}),
                    "bulwark::redis_client: connections must be >= 1 (got 0)");
}

TEST_CASE("redis_gcra and redis_store decide through a 3-master cluster", "[redis][cluster]") {
  auto* cluster = shared_cluster();
  if (cluster == nullptr) return;
  auto reference_server = bulwark_test::server_or_skip();
  bulwark::manual_clock clock;
  cluster_client client(options_for(*cluster), clock);
  bulwark::redis_client<bulwark::manual_clock> single({.port = reference_server->port()}, clock);
  const bulwark::redis_gcra_options limit{.rate = bulwark::per_second(1), .burst = 2};
  bulwark::redis_gcra gcra(client, limit);
  bulwark::redis_gcra reference(single, limit);
  bulwark::fast_rng rng{21};
  std::set<std::string> nodes;
  for (int step = 0; step < 200; ++step) {
    clock.advance(
        bulwark::duration{static_cast<std::int64_t>(bulwark::uniform_below(rng, 150'000'000))});
    const std::string key = "user" + std::to_string(bulwark::uniform_below(rng, 12));
    INFO("step " << step << " key " << key);
    REQUIRE(gcra.try_acquire(key, 1, clock.now()) == reference.try_acquire(key, 1, clock.now()));
    nodes.insert(client.node_for(gcra.redis_key(key)));
  }
  CHECK(nodes.size() == 3);  // the twelve keys live on all three masters
  CHECK(gcra.metrics() == reference.metrics());
  CHECK(gcra.metrics().rejected > 20);
  const auto m = client.metrics();
  CHECK(m.refreshes == 1);  // the first call read the map; it never changed
  CHECK(m.moved == 0);
  CHECK(m.ask == 0);
  CHECK(m.known_nodes == 3);
  // The decisions, one CLUSTER SLOTS, and per master an INFO on connect and the script's
  // first NOSCRIPT and SCRIPT LOAD.
  CHECK(m.nodes.commands == 200 + 1 + 3 * (1 + 2));

  bulwark::redis_store store(client);
  // One fencing counter per slot, in the record's slot: "bulwark:idem:1:s:k" hashes to slot
  // 12302, and 42573 is the first decimal number whose CRC16 lands there (computed apart).
  CHECK(bulwark::redis_key_slot(store.record_key({"s", "k"})) == 12302);
  CHECK(store.fence_key({"s", "k"}) == "bulwark:idem:fence{42573}");
  for (int i = 0; i < 12; ++i) {
    const std::string name = "o" + std::to_string(i);
    const bulwark::idempotency_key id{"orders", name};
    const auto first = store.try_begin(id, 7, 10s);
    REQUIRE(first.status == bulwark::begin_status::acquired);
    REQUIRE(
        store.complete(*first.lease, bulwark_test::stored_value("done" + std::to_string(i)), 1h));
    const auto again = store.try_begin(id, 7, 10s);
    REQUIRE(again.status == bulwark::begin_status::completed);
    CHECK(std::get<0>(*again.result) == "done" + std::to_string(i));
  }
  CHECK(store.metrics().acquired == 12);
  CHECK(client.metrics().moved == 0);
}

TEST_CASE("threads decide through one cluster client while its map is re-read",
          "[redis][cluster]") {
  auto* cluster = shared_cluster();
  if (cluster == nullptr) return;
  bulwark::redis_cluster_client<> client({.seeds = cluster->seeds(), .node = {.connections = 2}});
  // A limit no thread reaches: every decision must be admitted by Redis.
  bulwark::redis_gcra gcra(
      client, {.rate = bulwark::per_second(1'000'000), .burst = 10'000, .prefix = "threads:"});
  REQUIRE(client.refresh());  // the map, so that no thread's first call waits for it
  constexpr int threads = 4;
  constexpr int decisions = 50;
  std::vector<int> admitted(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < decisions; ++i) {
        const auto d = gcra.try_acquire("t" + std::to_string(t) + "-" + std::to_string(i % 7));
        admitted[static_cast<std::size_t>(t)] +=
            d.admitted && d.source == redis_decision_source::redis ? 1 : 0;
      }
    });
  }
  pool.emplace_back([&] {
    for (int i = 0; i < 20; ++i)
      (void)client.refresh();  // rewrites every slot while the others read them
  });
  for (auto& th : pool)
    th.join();
  for (const int a : admitted)
    CHECK(a == decisions);
  CHECK(gcra.metrics().admitted == threads * decisions);
  CHECK(client.metrics().moved == 0);       // a map rewritten with the same owners is never wrong
  CHECK(client.metrics().refreshes == 21);  // nothing else reads the map: none skipped

  // A new client's first calls, from four threads at once: one reads the map, the others
  // wait for it instead of asking a seed that would redirect them.
  bulwark::redis_cluster_client<> fresh({.seeds = cluster->seeds(), .node = {.connections = 4}});
  bulwark::redis_gcra on_fresh(
      fresh, {.rate = bulwark::per_second(1'000'000), .burst = 10'000, .prefix = "threads:"});
  std::vector<std::thread> first;
  for (int t = 0; t < threads; ++t)
    first.emplace_back([&, t] { (void)on_fresh.try_acquire("first-" + std::to_string(t)); });
  for (auto& th : first)
    th.join();
  CHECK(on_fresh.metrics().admitted == threads);
  CHECK(fresh.metrics().refreshes == 1);
  CHECK(fresh.metrics().moved == 0);
}

TEST_CASE("a slot migrated mid-run: ASK during, MOVED after, no decision or record lost",
          "[redis][cluster]") {
  auto* cluster = shared_cluster();
  if (cluster == nullptr) return;
  auto reference_server = bulwark_test::server_or_skip();
  bulwark::manual_clock clock;
  cluster_client client(options_for(*cluster), clock);
  bulwark::redis_client<bulwark::manual_clock> single({.port = reference_server->port()}, clock);
  const bulwark::redis_gcra_options limit{.rate = bulwark::per_second(2), .burst = 2};
  bulwark::redis_gcra gcra(client, limit);
  bulwark::redis_gcra reference(single, limit);
  bulwark::redis_store store(client);

  // Keys of the slot that moves: "old" is written before the migration, "new" first during
  // it (the source never has it); "other" lives elsewhere.
  const std::string old_key = "acct7";
  const std::uint16_t slot = bulwark::redis_key_slot(gcra.redis_key(old_key));
  const std::string new_key =
      name_in_slot(slot, "fresh", [&](const std::string& k) { return gcra.redis_key(k); });
  const std::string other_key = "elsewhere";
  const std::size_t from = cluster->owner(slot);
  const std::size_t to = (from + 1) % 3;
  REQUIRE(bulwark::redis_key_slot(gcra.redis_key(other_key)) != slot);
  // Idempotency records of the moving slot: one completed before, one begun during.
  const auto record_in_slot = [&](const std::string& stem) {
    return name_in_slot(slot, stem, [&](const std::string& k) {
      return store.record_key({"pay", k});
    });
  };
  const std::string before_name = record_in_slot("before");
  const std::string during_name = record_in_slot("during");
  const bulwark::idempotency_key done_before{"pay", before_name};
  const bulwark::idempotency_key during{"pay", during_name};
  auto begun = store.try_begin(done_before, 1, 10s);
  REQUIRE(begun.status == bulwark::begin_status::acquired);
  REQUIRE(store.complete(*begun.lease, bulwark_test::stored_value("paid"), 1h));

  bulwark::fast_rng rng{2112};
  int asked_while_migrating = 0;
  std::uint64_t loads_before_flush = 0;
  for (int step = 0; step < 80; ++step) {
    if (step == 20) {
      cluster->begin_migration(slot, from, to);
      // Counted, with the importing node's scripts flushed: EVALSHA at the old owner (ASK),
      // ASKING and EVALSHA at the new one (NOSCRIPT), SCRIPT LOAD, ASKING and EVALSHA again.
      REQUIRE(bulwark_test::ask_node(cluster->port(to), {"SCRIPT", "FLUSH"}) == "OK");
      const auto sent = client.metrics().nodes.commands;
      REQUIRE(gcra.try_acquire(new_key, 1, clock.now()) ==
              reference.try_acquire(new_key, 1, clock.now()));
      CHECK(client.metrics().nodes.commands - sent == 6);
      CHECK(client.metrics().ask == 1);
    }
    if (step == 40) {
      // The record begun in a migrating slot: its script names the record (absent) and the
      // slot's fencing counter; the importing node answers TRYAGAIN while one is missing,
      // the client retries busy_retries times, then redis_store throws: nothing runs twice.
      const auto tryagain_before = client.metrics().tryagain;
      CHECK_THROWS_AS(store.try_begin(during, 1, 10s), bulwark::redis_error);
      CHECK(client.metrics().tryagain == tryagain_before + 3);
      cluster->move_keys(slot, from, to);
      asked_while_migrating = static_cast<int>(client.metrics().ask);
      // Counted: EVALSHA at the old owner (ASK), then ASKING and EVALSHA at the new one.
      const auto sent = client.metrics().nodes.commands;
      REQUIRE(gcra.try_acquire(old_key, 1, clock.now()) ==
              reference.try_acquire(old_key, 1, clock.now()));
      CHECK(client.metrics().nodes.commands - sent == 3);
      CHECK(client.metrics().ask == static_cast<std::uint64_t>(asked_while_migrating) + 1);
      // The completed record is served by the importing node, through ASK.
      const auto replay = store.try_begin(done_before, 1, 10s);
      REQUIRE(replay.status == bulwark::begin_status::completed);
      CHECK(std::get<0>(*replay.result) == "paid");
    }
    if (step == 60) {
      // The new owner forgets its scripts: the call after MOVED reloads there.
      REQUIRE(bulwark_test::ask_node(cluster->port(to), {"SCRIPT", "FLUSH"}) == "OK");
      loads_before_flush = client.metrics().nodes.script_loads;
      cluster->end_migration(slot, to);
      // Counted: EVALSHA at the old owner (MOVED), CLUSTER SLOTS at the new one, then
      // EVALSHA there (NOSCRIPT), SCRIPT LOAD and EVALSHA again.
      const auto sent = client.metrics().nodes.commands;
      REQUIRE(gcra.try_acquire(old_key, 1, clock.now()) ==
              reference.try_acquire(old_key, 1, clock.now()));
      CHECK(client.metrics().nodes.commands - sent == 5);
      CHECK(client.metrics().moved == 1);
      CHECK(client.metrics().refreshes == 2);
    }
    clock.advance(
        bulwark::duration{static_cast<std::int64_t>(bulwark::uniform_below(rng, 120'000'000))});
    const std::uint64_t pick = bulwark::uniform_below(rng, 3);
    const std::string& key = pick == 0 ? old_key : (pick == 1 && step >= 20 ? new_key : other_key);
    INFO("step " << step << " key " << key);
    REQUIRE(gcra.try_acquire(key, 1, clock.now()) == reference.try_acquire(key, 1, clock.now()));
    if (step == 39) {
      CHECK(client.metrics().ask > 0);  // "new" lives on the importing node
      CHECK(client.metrics().moved == 0);
    }
  }
  CHECK(gcra.metrics() == reference.metrics());  // no decision lost or doubled
  CHECK(gcra.metrics().rejected > 5);
  CHECK(gcra.metrics().unavailable == 0);
  const auto m = client.metrics();
  CHECK(m.moved == 1);  // the map learnt the move once
  CHECK(m.refreshes == 2);
  CHECK(m.nodes.script_loads == loads_before_flush + 1);  // reloaded at the new owner
  CHECK(client.node_for(gcra.redis_key(old_key)) == cluster->address(to));
  CHECK(client.node_for(gcra.redis_key(new_key)) == cluster->address(to));

  // After the migration: the record begun during it can start, the one before is intact.
  const auto now_begun = store.try_begin(during, 1, 10s);
  REQUIRE(now_begun.status == bulwark::begin_status::acquired);
  CHECK(now_begun.lease->token > begun.lease->token);  // the slot's counter moved with it
  const auto replay = store.try_begin(done_before, 1, 10s);
  REQUIRE(replay.status == bulwark::begin_status::completed);
  CHECK(std::get<0>(*replay.result) == "paid");
}

TEST_CASE("redis_circuit_breaker through a cluster: a trip in A opens B, one probe lease",
          "[redis][cluster][shared_breaker]") {
  // The shared breaker's scenario of test_shared_breaker.cpp (gobreaker v2's shared-state
  // breaker), with each instance on its own cluster client.
  auto* cluster = shared_cluster();
  if (cluster == nullptr) return;
  bulwark::manual_clock clock;
  cluster_client ca(options_for(*cluster), clock);
  cluster_client cb(options_for(*cluster), clock);
  bulwark::redis_circuit_breaker_options o;
  o.local.trip_on = bulwark::trip_condition::consecutive_failures;
  o.local.consecutive_failures = 3;
  o.local.wait_in_open = 60s;
  o.local.permitted_calls_in_half_open = 1;
  o.refresh_interval = 0s;                              // the test calls refresh()
  bulwark::redis_circuit_breaker a(ca, "payments", o);  // deduced: <manual_clock, cluster_client>
  bulwark::redis_circuit_breaker b(cb, "payments", o);
  static_assert(
      std::is_same_v<decltype(a),
                     bulwark::redis_circuit_breaker<bulwark::manual_clock, cluster_client>>);

  // Every key of the breaker is in the slot of its hash tag, so one master runs each script.
  const std::string state_key = "bulwark:cb:{payments}:state";
  const std::string open_key = "bulwark:cb:{payments}:open";
  const std::uint16_t slot = bulwark::redis_key_slot("payments");
  for (const std::string& k : {state_key, open_key, std::string{"bulwark:cb:{payments}:probe:0"},
                               std::string{"bulwark:cb:{payments}:fails:0"}})
    CHECK(bulwark::redis_key_slot(k) == slot);
  const std::size_t owner = cluster->owner(slot);

  for (int i = 0; i < 100; ++i)
    b.try_acquire().success();
  CHECK(b.metrics().round_trips == 0);  // the closed path stays local on a cluster too

  for (int i = 0; i < 3; ++i) {
    auto p = a.try_acquire();
    REQUIRE(p);
    p.failure();
  }
  CHECK(a.metrics().trips_published == 1);
  CHECK(a.state() == bulwark::circuit_state::open);
  CHECK(ca.node_for(state_key) == cluster->address(owner));
  CHECK(bulwark_test::ask_node(cluster->port(owner), {"HGET", state_key, "gen"}) == "1");

  REQUIRE(b.refresh());
  CHECK(b.state() == bulwark::circuit_state::open);
  auto refused = b.try_acquire();
  CHECK_FALSE(refused);
  REQUIRE(refused.retry_after());
  CHECK(*refused.retry_after() > 50s);

  // The wait in open ends (its key expires; here it is deleted through the cluster client).
  // The owner forgets its scripts first: the next call reloads there (NOSCRIPT).
  REQUIRE(ca.keyed_command(open_key, {"DEL", open_key}).ok());
  REQUIRE(bulwark_test::ask_node(cluster->port(owner), {"SCRIPT", "FLUSH"}) == "OK");
  const auto loads = ca.metrics().nodes.script_loads;
  REQUIRE(a.refresh());
  CHECK(ca.metrics().nodes.script_loads == loads + 1);
  REQUIRE(b.refresh());
  CHECK(a.state() == bulwark::circuit_state::half_open);
  CHECK(b.state() == bulwark::circuit_state::half_open);

  // One lease fleet-wide: A probes, B is refused; the probe's success closes for both.
  auto probe = a.try_acquire();
  REQUIRE(probe);
  CHECK(probe.probe());
  CHECK(bulwark_test::ask_node(cluster->port(owner), {"EXISTS", "bulwark:cb:{payments}:probe:0"}) ==
        "1");
  CHECK_FALSE(b.try_acquire());
  CHECK(b.metrics().probes_refused == 1);
  probe.success();
  CHECK(a.metrics().closes_published == 1);
  CHECK(a.state() == bulwark::circuit_state::closed);
  REQUIRE(b.refresh());
  CHECK(b.state() == bulwark::circuit_state::closed);
  CHECK(b.try_acquire());
  CHECK(a.metrics().generation == 2);
  CHECK(b.metrics().generation == 2);

  // The breaker's slot migrates (the resharding steps). While it does, every script names a
  // key the slot's current node lacks (the open key, a lease): Redis answers TRYAGAIN, the
  // client retries busy_retries times, and the breaker applies on_failure (local: the closed
  // path goes on locally). Afterwards the state has moved with its keys, through MOVED.
  const std::size_t to = (owner + 1) % 3;
  cluster->begin_migration(slot, owner, to);
  const auto tryagain = cb.metrics().tryagain;
  CHECK_FALSE(b.refresh());
  CHECK(cb.metrics().tryagain == tryagain + 3);
  CHECK(b.redis_unreachable());
  CHECK(b.try_acquire());
  cluster->move_keys(slot, owner, to);
  CHECK_FALSE(b.refresh());
  cluster->end_migration(slot, to);
  const auto moved = cb.metrics().moved;
  REQUIRE(b.refresh());
  CHECK_FALSE(b.redis_unreachable());
  CHECK(cb.metrics().moved == moved + 1);
  CHECK(cb.node_for(state_key) == cluster->address(to));
  CHECK(b.metrics().generation == 2);
  CHECK(b.state() == bulwark::circuit_state::closed);
  CHECK(b.metrics().unavailable == 2);
  CHECK(a.metrics().unavailable == 0);
}

TEST_CASE("redis_near_cache through a cluster: a listener per master, writes and MIGRATE evict",
          "[redis][cluster][near_cache]") {
  // Redis client tracking is per node (Redis 6 client-side caching, RESP2 redirect mode): each
  // master invalidates what was read from it, towards a subscriber on that master.
  auto* cluster = shared_cluster();
  if (cluster == nullptr) return;
  bulwark::manual_clock clock;
  cluster_client data(options_for(*cluster), clock);
  cluster_client writer(options_for(*cluster), clock);
  bulwark::redis_near_cache near(data);  // deduced: <manual_clock, cluster_client>
  static_assert(std::is_same_v<decltype(near),
                               bulwark::redis_near_cache<bulwark::manual_clock, cluster_client>>);
  // One key per master.
  std::vector<std::string> keys(3);
  for (int n = 0, found = 0; found < 3; ++n) {
    const std::string key = "page" + std::to_string(n);
    const std::size_t at = cluster->owner(bulwark::redis_key_slot(key));
    if (!keys[at].empty()) continue;
    keys[at] = key;
    ++found;
    REQUIRE(writer.keyed_command(key, {"SET", key, "v1"}).ok());
  }
  for (const auto& k : keys)
    CHECK(near.get(k).source == bulwark::near_cache_source::redis);  // starts k's listener
  REQUIRE(near.wait_for_tracking(std::chrono::seconds{5}));
  // Tracked now, on k's master: cached by this get (or by the first, when k's listener came
  // up before its GET, as under TSan).
  for (const auto& k : keys)
    CHECK(near.get(k).value == "v1");
  for (const auto& k : keys)
    CHECK(near.get(k).source == bulwark::near_cache_source::local);
  CHECK(near.size() == 3);

  // Another client writes each key on its master: each master's listener evicts it here.
  auto seen = near.metrics().invalidations;
  for (const auto& k : keys)
    REQUIRE(writer.keyed_command(k, {"SET", k, "v2"}).ok());
  REQUIRE(near.wait_for_invalidations(seen + 2, std::chrono::seconds{5}));
  for (const auto& k : keys) {
    const auto r = near.get(k);
    CHECK(r.source == bulwark::near_cache_source::redis);
    CHECK(r.value == "v2");
    CHECK(near.get(k).source == bulwark::near_cache_source::local);
  }

  // keys[0]'s slot migrates: MIGRATE deletes the key at the source, which invalidates it
  // here; the next GET at the old owner answers MOVED and is resent through the cluster client
  // (not cached); the one after runs on the new owner, tracked there.
  const std::uint16_t slot = bulwark::redis_key_slot(keys[0]);
  const std::size_t to = 1;
  seen = near.metrics().invalidations;
  cluster->begin_migration(slot, 0, to);
  cluster->move_keys(slot, 0, to);
  cluster->end_migration(slot, to);
  REQUIRE(near.wait_for_invalidations(seen, std::chrono::seconds{5}));
  const auto not_cached = near.metrics().not_cached;
  const auto moved = data.metrics().moved;
  auto r = near.get(keys[0]);
  CHECK(r.source == bulwark::near_cache_source::redis);
  CHECK(r.value == "v2");
  CHECK(data.metrics().moved == moved + 1);
  CHECK(near.metrics().not_cached == not_cached + 1);
  r = near.get(keys[0]);
  CHECK(r.source == bulwark::near_cache_source::redis);
  CHECK(near.get(keys[0]).source == bulwark::near_cache_source::local);
  seen = near.metrics().invalidations;
  REQUIRE(writer.keyed_command(keys[0], {"SET", keys[0], "v3"}).ok());
  REQUIRE(near.wait_for_invalidations(seen, std::chrono::seconds{5}));
  CHECK(near.get(keys[0]).value == "v3");
  CHECK(near.metrics().unavailable == 0);
  CHECK(near.metrics().flushes == 0);
}

TEST_CASE("a stopped master: its keys fall back, the other masters' do not", "[redis][cluster]") {
  auto cluster = bulwark_test::cluster_or_skip();
  if (!cluster) return;
  bulwark::manual_clock clock;
  cluster_client client(options_for(*cluster), clock);
  bulwark::redis_gcra gcra(client, {.rate = bulwark::per_second(10),
                                    .burst = 4,
                                    .on_failure = bulwark::redis_failure_policy::local,
                                    .local_share = 1.0});
  bulwark::redis_store store(client);
  // One key per master, found by the client's own map.
  std::vector<std::string> key_of(3);
  for (int n = 0, found = 0; found < 3; ++n) {
    const std::string key = "k" + std::to_string(n);
    CHECK(gcra.try_acquire(key).source == redis_decision_source::redis);
    for (std::size_t i = 0; i < 3; ++i) {
      if (key_of[i].empty() && client.node_for(gcra.redis_key(key)) == cluster->address(i)) {
        key_of[i] = key;
        ++found;
      }
    }
  }
  const std::size_t dead = 2;    // not the seed
  cluster->server(dead).stop();  // SIGTERM to the pid the fixture started, then waited for
  const auto d = gcra.try_acquire(key_of[dead]);
  CHECK(d.admitted);
  CHECK(d.source == redis_decision_source::local);
  CHECK(gcra.try_acquire(key_of[0]).source == redis_decision_source::redis);
  CHECK(gcra.try_acquire(key_of[1]).source == redis_decision_source::redis);
  CHECK(gcra.metrics().local_admitted == 1);
  const std::string lost_name = name_in_slot(bulwark::redis_key_slot(gcra.redis_key(key_of[dead])),
                                             "r", [&](const std::string& k) {
                                               return store.record_key({"s", k});
                                             });
  const bulwark::idempotency_key lost{"s", lost_name};
  CHECK_THROWS_AS(store.try_begin(lost, 1, 10s), bulwark::redis_error);

  // CLUSTERDOWN: a slot its master no longer serves is retried busy_retries times, then the
  // limiter's failure policy decides.
  const std::uint16_t slot = bulwark::redis_key_slot(gcra.redis_key(key_of[1]));
  REQUIRE(bulwark_test::ask_node(cluster->port(1), {"CLUSTER", "DELSLOTS", std::to_string(slot)}) ==
          "OK");
  const auto before = clock.now();
  const auto down = gcra.try_acquire(key_of[1]);
  CHECK(down.source == redis_decision_source::local);
  CHECK(client.metrics().clusterdown == 3);
  CHECK(client.metrics().gave_up == 1);
  CHECK(clock.now() - before == 30ms);  // three waits of busy_retry_delay, on the client's clock
  CHECK(gcra.try_acquire(key_of[0]).source == redis_decision_source::redis);
}
