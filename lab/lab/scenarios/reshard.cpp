// reshard: a sharded user store grows from 4 to 5 shards at 20 s.
//
// 1,000 reads per second for a minute, each of one of 24,000 user ids (uniform; the same id
// sequence in every arm: the id is a hash of the request id). The user table was range-split
// when it had 20,000 users ({5000, 10000, 15000}); later sign-ups all landed on the last range,
// so under range routing users-3 holds 9,000 users and runs hot (1.5x the mean load).
//
// At 20 s shard users-4 joins. Each arm routes with its own router, and the keys its new router
// places elsewhere are copied from their old shard to the new one at 1,000 keys per second.
// While a key's range or slot moves, the router answers "owned by A, migrating to B"
// (bulwark::shard_route): a read goes to A, which serves the keys it still has; a key already
// copied away costs an ASK redirect, a second call, at B (Redis Cluster's MIGRATING/IMPORTING).
// When the copy ends, the new router is published and reads go straight to the new owners.
//
// - hash_mod (the unprotected arm): bulwark::hash_mod_router, hash64(id) mod n. 4 -> 5 keeps only
//   the ids with h mod 4 == h mod 5: 80% of the keys move, so the copy takes 19 s and a read of
//   a moved key often redirects.
// - jump: bulwark::consistent_router<bulwark::jump_nodes>: exactly the new shard's fifth moves.
// - range: bulwark::range_router<std::uint64_t>. The hottest shard (bulwark::shard_load over the
//   first 10,000 reads) has its range split at the median of its sampled keys
//   (bulwark::suggest_split) and the upper half moves to users-4 as one migrating range: the
//   fewest keys move, and the hot shard's load is halved.
//
// The lab's backend stands for the shards together: a shard read's latency (median 5 ms, p99
// 40 ms) and 20 calls in flight at most, ample for the steady load (7.5 on average). The effect
// of a migration is in "backend calls": every call beyond one per request is an ASK redirect,
// a read of a key whose data had already been copied off its owner. hash_mod's redirects reach
// 80% of reads by the end of its copy, and the extra calls overflow the 20 slots now and then;
// jump and range add a few hundred redirects for under 5 s.

#include <bulwark/hashing.hpp>
#include <bulwark/sharding.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr duration grow_at = 20s;
constexpr std::uint64_t key_space = 24000;
constexpr double copy_rate = 1000.0;          // keys copied per second while shards move
constexpr std::uint64_t load_sample = 10000;  // reads sampled for the range arm's split
const std::vector<std::uint64_t> initial_splits{5000, 10000, 15000};

std::uint64_t key_of(std::uint64_t request_id) {
  return bulwark::hash64(request_id, 0x5ca1e) % key_space;
}

std::vector<std::string> shard_names(std::size_t n) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i)
    names.push_back("users-" + std::to_string(i));
  return names;
}
std::vector<bulwark::node> shard_nodes(std::size_t n) {
  std::vector<bulwark::node> nodes;
  for (auto& name : shard_names(n))
    nodes.push_back({.name = std::move(name)});
  return nodes;
}

using range_router = bulwark::range_router<std::uint64_t>;

range_router initial_ranges() {
  return range_router{initial_splits, shard_names(4)};
}

// The range arm's decision at growth: the hottest shard by the sampled reads, and the split of
// its range that halves the sampled load. Deterministic in the sample, so the summary line and
// the arm agree.
std::uint64_t hot_range_split(const range_router& router,
                              const std::vector<std::uint64_t>& sample) {
  bulwark::shard_load load{router.shards().size()};
  for (const std::uint64_t key : sample)
    load.record(router.shard_for(key));
  const std::size_t hottest = load.hot_shards(1.0).front().shard;
  std::size_t range = 0;
  while (router.range(range).owner != hottest)
    ++range;
  return *bulwark::suggest_split(router, range, sample);
}

std::vector<std::uint64_t> first_reads() {
  std::vector<std::uint64_t> sample;
  for (std::uint64_t id = 0; id < load_sample; ++id)
    sample.push_back(key_of(id));
  return sample;
}
std::vector<std::uint64_t> every_key() {
  std::vector<std::uint64_t> keys(key_space);
  for (std::uint64_t k = 0; k < key_space; ++k)
    keys[k] = k;
  return keys;
}

// A router before and after the growth, for the generic arms: while moving, a key whose owner
// changes is "owned by its old shard, migrating to its new one".
template <class Router>
class router_change {
 public:
  router_change(Router before, Router after)
      : live_{before}, before_{std::move(before)}, after_{std::move(after)} {}

  void begin() { moving_ = true; }
  void finish() {
    moving_ = false;
    live_.assign(after_);
  }
  [[nodiscard]] bulwark::shard_route route(std::uint64_t key) const {
    if (!moving_) return {.owner = live_.shard_for(key)};
    const std::size_t from = before_.shard_for(key), to = after_.shard_for(key);
    if (before_.shards()[from] == after_.shards()[to]) return {.owner = from};
    return {.owner = from, .migrating_to = to};
  }
  void observe(std::uint64_t) {}

 private:
  bulwark::live_router<Router> live_;
  Router before_, after_;
  bool moving_ = false;
};

// The range arm: a live range router that samples its load, then splits its hottest range and
// migrates the upper half to the new shard.
class range_change {
 public:
  void observe(std::uint64_t key) {
    if (sample_.size() < load_sample) sample_.push_back(key);
  }
  void begin() {
    split_ = hot_range_split(*live_.snapshot(), sample_);
    live_.update([at = split_](const range_router& r) {
      const range_router cut = r.split(at);
      return cut.begin_migration(cut.range_of(at), "users-4");
    });
  }
  void finish() {
    live_.update(
        [at = split_](const range_router& r) { return r.finish_migration(r.range_of(at)); });
  }
  [[nodiscard]] bulwark::shard_route route(std::uint64_t key) const {
    return live_.snapshot()->route(key);
  }

 private:
  bulwark::live_router<range_router> live_{initial_ranges()};
  std::vector<std::uint64_t> sample_;
  std::uint64_t split_ = 0;
};

// One arm's store: the routing change, and the copy of the moving keys (in key order, at
// copy_rate from grow_at).
template <class Change>
struct store {
  template <class... Args>
  explicit store(Args&&... args) : change{std::forward<Args>(args)...} {}

  Change change;  // not movable (it holds a live_router): built in place
  enum class phase { before, moving, after } now = phase::before;
  std::vector<std::uint64_t> copy_order = std::vector<std::uint64_t>(key_space);  // by key
  std::uint64_t to_copy = 0;

  // True when `key` has already left its old shard.
  [[nodiscard]] bool copied(std::uint64_t key, duration since_growth) const {
    const double done = std::chrono::duration<double>(since_growth).count() * copy_rate;
    return static_cast<double>(copy_order[key]) < done;
  }
  [[nodiscard]] duration copy_time() const {
    return std::chrono::duration_cast<duration>(
        std::chrono::duration<double>(static_cast<double>(to_copy) / copy_rate));
  }
};

template <class Change, class... Args>
client store_client(arm_context& context, Args&&... args) {
  auto s = std::make_shared<store<Change>>(std::forward<Args>(args)...);
  return [&context, s](const request& r) {
    using phase = typename store<Change>::phase;
    const duration elapsed = context.sim().elapsed();
    if (s->now == phase::before && elapsed >= grow_at) {
      s->now = phase::moving;
      s->change.begin();
      for (std::uint64_t key = 0; key < key_space; ++key) {
        if (!s->change.route(key).migrating()) continue;
        s->copy_order[key] = s->to_copy++;
      }
    }
    if (s->now == phase::moving && elapsed >= grow_at + s->copy_time()) {
      s->now = phase::after;
      s->change.finish();
    }
    const std::uint64_t key = key_of(r.id);
    s->change.observe(key);
    const bool redirect = s->change.route(key).migrating() && s->copied(key, elapsed - grow_at);
    // The owner answers (with the value, or with ASK for a key it no longer has) ...
    context.backend().call(client_timeout, [&context, r, redirect](const call_result& first) {
      if (!first.ok() || !redirect) {
        context.finish(r, first.ok() ? outcome::success : outcome::failure);
        return;
      }
      // ... and after ASK the client reads the key at the importing shard.
      context.backend().call(client_timeout, [&context, r](const call_result& second) {
        context.finish(r, second.ok() ? outcome::success : outcome::failure);
      });
    });
  };
}

client hash_mod_client(arm_context& context) {
  return store_client<router_change<bulwark::hash_mod_router>>(
      context, bulwark::hash_mod_router{shard_names(4)}, bulwark::hash_mod_router{shard_names(5)});
}

client jump_client(arm_context& context) {
  using jump = bulwark::consistent_router<bulwark::jump_nodes>;
  const jump before{shard_nodes(4)};
  return store_client<router_change<jump>>(context, before, before.with_added({.name = "users-4"}));
}

client range_client(arm_context& context) {
  return store_client<range_change>(context);
}

// The share of the user ids each arm moves, from bulwark::plan over every id.
template <class Before, class After>
std::string moved(const Before& before, const After& after) {
  const double share = bulwark::plan(before, after, every_key()).moved_fraction();
  return std::to_string(static_cast<int>(share * 100 + 0.5)) + "%";
}

}  // namespace

scenario reshard() {
  const bulwark::hash_mod_router mod4{shard_names(4)}, mod5{shard_names(5)};
  const bulwark::consistent_router<bulwark::jump_nodes> jump4{shard_nodes(4)};
  const range_router ranges = initial_ranges();
  const range_router split = ranges.split(hot_range_split(ranges, first_reads()), "users-4");
  return {
      .name = "reshard",
      .summary = "a user store grows from 4 to 5 shards at 20s; keys moved: hash_mod " +
                 moved(mod4, mod5) + ", jump " +
                 moved(jump4, jump4.with_added({.name = "users-4"})) +
                 ", range (hot range split) " + moved(ranges, split) +
                 "; copied at 1000 keys/s, reads of copied keys redirect",
      .load = {.rate = bulwark::per_second(1000), .length = 60s},
      .backend = {.failure_rate = 0.0,
                  .latency = latency_model::log_normal(5ms, 40ms),
                  .capacity = 20},
      .arms = {{.name = "hash_mod", .make_client = hash_mod_client},
               {.name = "jump", .make_client = jump_client},
               {.name = "range", .make_client = range_client}},
  };
}

}  // namespace lab
