// A checkout service on a Redis Cluster: a fleet-wide limit per customer (redis_gcra) and
// orders placed at most once (redis_store under an idempotency_executor), both through one
// redis_cluster_client. The client reads the slot map from a seed node and sends each key's
// script to the master that owns the key's slot; the components are the ones a single server
// uses, unchanged.
//
//   cluster_checkout [port]        (a node of a Redis Cluster on 127.0.0.1:port, default 7000)

#include <bulwark/idempotency.hpp>
#include <bulwark/redis.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string seed = "127.0.0.1:" + std::string{argc > 1 ? argv[1] : "7000"};
  bulwark::redis_cluster_client<> cluster({.seeds = {seed}, .node = {.connections = 2}});
  bulwark::redis_gcra limiter(cluster, {.rate = bulwark::per_second(5),
                                        .burst = 5,
                                        .prefix = "example:cluster:limit:",
                                        .on_failure = bulwark::redis_failure_policy::local});
  bulwark::redis_store records(cluster, {.prefix = "example:cluster:orders:"});
  bulwark::idempotency_executor orders(records);

  // Start clean, so that the example prints the same on every run: one DEL per key, each sent
  // to the key's own master (a DEL of keys in several slots would be refused: CROSSSLOT).
  const std::vector<std::string> customers{"alice", "bob", "carol", "dave", "erin", "frank"};
  for (const auto& c : customers) {
    const std::string key = limiter.redis_key(c);
    (void)cluster.keyed_command(key, {"DEL", key});
  }
  const std::string order_key = records.record_key({"shop", "o-1001"});
  (void)cluster.keyed_command(order_key, {"DEL", order_key});

  // Where the limits live: the customers' keys hash to slots served by different masters.
  std::set<std::string> masters;
  for (const auto& c : customers) {
    if (limiter.available(c) != 5) return 1;  // a read-only round trip: takes nothing
    masters.insert(cluster.node_for(limiter.redis_key(c)));
  }
  std::printf("%zu customers' limits live on %zu masters\n", customers.size(), masters.size());

  // alice sends 8 requests at once: her burst of 5 holds cluster-wide.
  int admitted = 0;
  for (int i = 0; i < 8; ++i) {
    const auto d = limiter.try_acquire("alice");
    if (d.source != bulwark::redis_decision_source::redis) {
      std::printf("cluster unavailable at %s (decided by %s)\n", seed.c_str(),
                  std::string{bulwark::to_string(d.source)}.c_str());
      return 1;
    }
    admitted += d ? 1 : 0;
  }
  std::printf("alice: %d of 8 admitted\n", admitted);

  // The order is delivered three times (the client retried after timeouts): charged once.
  int charged = 0;
  int replayed = 0;
  for (int delivery = 0; delivery < 3; ++delivery) {
    const auto r = orders.execute({"shop", "o-1001"}, "alice|4200|EUR", [&] {
      ++charged;
      return std::string{"receipt-1"};
    });
    replayed += r.replayed ? 1 : 0;
  }
  std::printf("order o-1001: charged %d time(s) for 3 deliveries, %d replayed\n", charged,
              replayed);

  const auto m = cluster.metrics();
  std::printf("slot map reads: %llu, MOVED: %llu, ASK: %llu\n",
              static_cast<unsigned long long>(m.refreshes),
              static_cast<unsigned long long>(m.moved), static_cast<unsigned long long>(m.ask));
  return 0;
}
