// near-cache: 5 instances reading and writing 200 keys in Redis, with a near cache in each
// (redis area, redis_near_cache).
//
// 500 requests a second for 30 s, 90% reads and 10% writes, each to a key drawn uniformly and
// sent to one instance (round robin). The backend is Redis (a GET or SET, latency p50 1 ms,
// p99 5 ms); the truth is the version of each key it holds, bumped by each write when Redis
// answers it.
//
// - "no near cache": every read is a round trip; never stale.
// - "ttl 5s": a near cache whose entries live 5 s and are evicted only by the writing
//   instance: the other four serve the old value until the TTL runs out.
// - "tracking": redis_near_cache, modelled in process (the lab runs in virtual time without a
//   server): each write's invalidation reaches every instance one round trip (1 ms) after
//   Redis applied it, so a read is stale only inside that window.
// "stale reads" counts reads answered with a version older than Redis's at that instant.

#include <bulwark/cache/cache.hpp>
#include <bulwark/core/random.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::size_t instances = 5;
constexpr std::uint32_t keys = 200;
constexpr duration invalidation_delay = 1ms;

using local_cache =
    bulwark::cache<std::uint32_t, std::uint64_t, bulwark::tiny_lfu_eviction, bulwark::manual_clock>;

struct world {
  std::vector<std::uint64_t> versions = std::vector<std::uint64_t>(keys, 0);  // Redis's truth
  std::vector<std::unique_ptr<local_cache>> caches;
};

enum class mode { none, ttl, tracking };

client fleet(arm_context& context, mode m) {
  std::uint64_t& stale = context.counter("stale reads");
  std::uint64_t& hits = context.counter("local hits");
  auto w = std::make_shared<world>();
  for (std::size_t i = 0; i < instances && m != mode::none; ++i) {
    bulwark::cache_options o{.maximum_size = keys,
                             .expire_after_write = m == mode::ttl ? duration{5s} : duration{}};
    o.hash_seed = 7;  // a fixed seed: the same run on every machine
    w->caches.push_back(std::make_unique<local_cache>(o, context.clock()));
  }
  return [&context, &stale, &hits, w, m](const request& r) {
    const std::uint32_t key = static_cast<std::uint32_t>(bulwark::uniform01(context.rng()) * keys);
    const bool write = bulwark::uniform01(context.rng()) < 0.1;
    local_cache* mine = m == mode::none ? nullptr : w->caches[r.id % instances].get();
    if (write) {
      context.backend().call(client_timeout,
                             [&context, r, w, m, mine, key](const call_result& result) {
                               if (result.ok()) {
                                 ++w->versions[key];
                                 if (mine != nullptr)
                                   mine->invalidate(key);  // the writer evicts its own entry
                                 if (m == mode::tracking) {
                                   context.sim().after(invalidation_delay, [w, key] {
                                     for (auto& c : w->caches)
                                       c->invalidate(key);
                                   });
                                 }
                               }
                               context.finish(r, result.ok() ? outcome::success : outcome::failure);
                             });
      return;
    }
    if (mine != nullptr) {
      if (const auto v = mine->get(key)) {
        ++hits;
        if (*v < w->versions[key]) ++stale;
        context.finish(r, outcome::success);
        return;
      }
    }
    context.backend().call(client_timeout, [&context, r, w, mine, key](const call_result& result) {
      if (result.ok() && mine != nullptr) mine->put(key, w->versions[key]);
      context.finish(r, result.ok() ? outcome::success : outcome::failure);
    });
  };
}

}  // namespace

scenario near_cache() {
  return {
      .name = "near-cache",
      .summary = "5 instances caching 200 Redis keys under 10% writes: TTL only or invalidated",
      .load = {.rate = bulwark::per_second(500), .length = 30s},
      .backend = {.failure_rate = 0.0, .latency = latency_model::log_normal(1ms, 5ms)},
      .timeline_bucket = 2s,
      .arms = {{.name = "no near cache",
                .make_client = [](arm_context& c) { return fleet(c, mode::none); }},
               {.name = "ttl 5s",
                .make_client = [](arm_context& c) { return fleet(c, mode::ttl); }},
               {.name = "tracking",
                .make_client = [](arm_context& c) { return fleet(c, mode::tracking); }}},
  };
}

}  // namespace lab
