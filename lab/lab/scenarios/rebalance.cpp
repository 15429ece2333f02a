// rebalance: a cache tier of 10 nodes in front of a database loses one node at 30 s.
//
// 1,000 requests per second for a minute, each for one of 3,000 keys (the same key sequence in
// every arm: the key is a hash of the request id). A request whose key is cached on its node
// answers in 1 ms; a miss reads the database (the lab's backend: median 20 ms, p99 100 ms, and
// only 8 connections, so it cannot take the whole tier's traffic) and fills the cache. Both
// arms start cold, so both dip in the first seconds; by 30 s every key is cached and the
// database is idle. Then cache-3 dies:
//
// - hash_mod (the unprotected arm): shard = hash % n. n drops from 10 to 9 and about 90% of the
//   keys change node, so they all miss at once: the database is flooded, its 8 connections
//   overflow, requests fail until the survivors have re-warmed.
// - maglev: bulwark::placement<bulwark::maglev>. Only cache-3's keys (about 10%) move, plus the
//   table's small extra shift; the miss spike is a tenth as high and the database absorbs it.

#include <bulwark/hashing.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr duration cache_hit_latency = 1ms;
constexpr duration node_loss_at = 30s;
constexpr std::size_t node_count = 10;
constexpr std::size_t lost_node = 3;
constexpr std::uint64_t key_space = 3000;

std::uint64_t key_of(const request& r) {
  return bulwark::hash64(r.id, 0xca4e) % key_space;
}
std::uint64_t key_hash(std::uint64_t key) {
  return bulwark::hash64(key);
}

std::vector<bulwark::node> cache_nodes() {
  std::vector<bulwark::node> nodes;
  for (std::size_t i = 0; i < node_count; ++i)
    nodes.push_back({.name = "cache-" + std::to_string(i)});
  return nodes;
}

// The cache tier as the client sees it: each node's cached keys, and a routing function the
// arm chooses. `route` maps a key hash to a node id (0..9) given whether the loss happened.
struct cache_tier {
  std::vector<std::unordered_set<std::uint64_t>> cached =
      std::vector<std::unordered_set<std::uint64_t>>(node_count);
  bool lost = false;
};

// Serves one request through `route` (key hash -> node id).
template <class Route>
client tier_client(arm_context& context, Route route) {
  auto tier = std::make_shared<cache_tier>();
  return [&context, tier, route = std::move(route)](const request& r) mutable {
    if (!tier->lost && context.sim().elapsed() >= node_loss_at) {
      tier->lost = true;
      tier->cached[lost_node].clear();  // its memory is gone with it
    }
    const std::uint64_t key = key_of(r);
    const std::size_t node = route(key_hash(key), tier->lost);
    if (tier->cached[node].contains(key)) {
      context.sim().after(cache_hit_latency,
                          [&context, r] { context.finish(r, outcome::success); });
      return;
    }
    context.backend().call(client_timeout,
                           [&context, r, tier, node, key](const call_result& result) {
                             if (result.ok()) tier->cached[node].insert(key);
                             context.finish(r, result.ok() ? outcome::success : outcome::failure);
                           });
  };
}

client hash_mod_client(arm_context& context) {
  return tier_client(context, [](std::uint64_t h, bool lost) -> std::size_t {
    if (!lost) return h % node_count;
    const std::size_t i = h % (node_count - 1);  // the survivors, renumbered
    return i >= lost_node ? i + 1 : i;
  });
}

client maglev_client(arm_context& context) {
  auto tier = std::make_shared<bulwark::placement<bulwark::maglev>>(cache_nodes());
  auto removed = std::make_shared<bool>(false);
  return tier_client(context, [tier, removed](std::uint64_t h, bool lost) -> std::size_t {
    if (lost && !*removed) {
      tier->remove("cache-" + std::to_string(lost_node));
      *removed = true;
    }
    const auto& name = tier->snapshot()->node_for_hash(h).name;
    return std::stoul(name.substr(6));  // "cache-<id>"
  });
}

// The share of the key space that changes node when cache-3 leaves, for the summary line.
double moved_share(bool consistent) {
  const bulwark::maglev before{cache_nodes()};
  const auto after = before.with_removed("cache-" + std::to_string(lost_node));
  std::uint64_t moved = 0;
  for (std::uint64_t key = 0; key < key_space; ++key) {
    const std::uint64_t h = key_hash(key);
    if (consistent) {
      moved += before.node_for_hash(h).name != after.node_for_hash(h).name;
    } else {
      const std::size_t i = h % (node_count - 1);
      moved += h % node_count != (i >= lost_node ? i + 1 : i);
    }
  }
  return static_cast<double>(moved) / key_space;
}

}  // namespace

scenario rebalance() {
  const auto percent = [](double share) {
    return std::to_string(static_cast<int>(share * 100 + 0.5)) + "%";
  };
  return {
      .name = "rebalance",
      .summary = "a 10-node cache tier loses a node at 30s: hash % n moves " +
                 percent(moved_share(false)) + " of keys, maglev " + percent(moved_share(true)) +
                 "; misses hit an 8-connection database",
      .load = {.rate = bulwark::per_second(1000), .length = 60s},
      .backend = {.failure_rate = 0.0,
                  .latency = latency_model::log_normal(20ms, 100ms),
                  .capacity = 8},
      .arms = {{.name = "hash_mod", .make_client = hash_mod_client},
               {.name = "maglev", .make_client = maglev_client}},
  };
}

}  // namespace lab
