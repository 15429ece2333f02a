// hot-keys: a backend protected by a cache under a Zipf load.
//
// 600 reads per second for 60 s, each of one of 50,000 keys drawn by a Zipf(0.99) law (a few
// keys are very hot, most are cold), against a backend that holds 25 calls at once at a median
// latency of 20 ms: about 700 calls per second at best, with little headroom over the offered
// load, so the excess fails as "overloaded". The cached arms put a 2,000-entry bulwark::cache
// with a 30 s TTL in front; a miss goes to the backend, misses of one key in flight share one
// call (the asynchronous form of get_or_load's single flight), and the answer fills the cache.
// The cache holds 4% of the keys, yet serves most reads; W-TinyLFU keeps the hot keys where LRU
// lets the cold tail push them out, so it sends fewer calls to the backend.
//
// A request's key is derived from its id, so every arm sees the same key sequence.

#include <algorithm>
#include <bulwark/cache/cache.hpp>
#include <bulwark/core/hash.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::uint64_t key_space = 50000;

// The key of request `id`: Zipf(0.99) by inverse CDF over a table built once.
std::uint64_t key_of(std::uint64_t id) {
  static const std::vector<double> cdf = [] {
    std::vector<double> c(key_space);
    double sum = 0;
    for (std::uint64_t k = 0; k < key_space; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k + 1), 0.99);
      c[k] = sum;
    }
    for (auto& x : c)
      x /= sum;
    return c;
  }();
  bulwark::fast_rng rng{bulwark::hash64(id)};
  const double u = bulwark::uniform01(rng);
  return static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
}

client unprotected(arm_context& context) {
  return [&context](const request& r) {
    context.backend().call(client_timeout, [&context, r](const call_result& result) {
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

template <class Policy>
client cached(arm_context& context) {
  using cache_type = bulwark::cache<std::uint64_t, int, Policy, bulwark::manual_clock>;
  struct state {
    explicit state(bulwark::manual_clock clock)
        // A fixed hash seed: the policy's sampling follows the hash, and the lab promises the
        // same table for the same --seed (a cache's default seed is random per instance).
        : cache({.maximum_size = 2000, .expire_after_write = 30s, .shards = 1, .hash_seed = 0},
                clock) {}
    cache_type cache;
    std::unordered_map<std::uint64_t, std::vector<request>> waiting;  // misses in flight
  };
  auto s = std::make_shared<state>(context.clock());
  return [&context, s](const request& r) {
    const std::uint64_t key = key_of(r.id);
    if (s->cache.get(key)) {
      context.finish(r, outcome::success);
      return;
    }
    auto [it, first] = s->waiting.try_emplace(key);
    it->second.push_back(r);
    if (!first) return;  // a call for this key is in flight: wait for its answer
    context.backend().call(client_timeout, [&context, s, key](const call_result& result) {
      if (result.ok()) s->cache.put(key, 1);
      auto node = s->waiting.extract(key);
      for (const request& waiter : node.mapped()) {
        context.finish(waiter, result.ok() ? outcome::success : outcome::failure);
      }
    });
  };
}

}  // namespace

scenario hot_keys() {
  return {
      .name = "hot-keys",
      .summary = "a 2,000-entry cache in front of a backend, Zipf(0.99) reads over 50,000 keys",
      .load = {.rate = bulwark::per_second(600), .length = 60s},
      .backend = {.latency = latency_model::log_normal(20ms, 100ms), .capacity = 25},
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "lru cache", .make_client = cached<bulwark::lru_eviction>},
               {.name = "w-tinylfu cache", .make_client = cached<bulwark::tiny_lfu_eviction>}},
  };
}

}  // namespace lab
