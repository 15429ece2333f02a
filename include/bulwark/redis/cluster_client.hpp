#pragma once
// bulwark::redis_cluster_client: a Redis Cluster client that routes each command by its key's
// hash slot to the master that serves it, one redis_client pool per node, and follows the
// cluster's redirections (MOVED, ASK) and transient errors (TRYAGAIN, CLUSTERDOWN). It meets
// redis_keyed_client, so redis_gcra and redis_store run on it unchanged.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/cluster_options.hpp"
#include "bulwark/redis/detail/cluster_replies.hpp"
#include "bulwark/redis/keyed_client.hpp"
#include "bulwark/sharding/slot_router.hpp"

namespace bulwark {

/// A client for a Redis Cluster (RESP2, Redis 3 to 7).
///
/// Routing: the slot map (slot -> master) is read with CLUSTER SLOTS from the seeds on the
/// first call, then kept; each call goes to the master of its key's slot (redis_key_slot, the
/// server's own CRC16 and hash-tag rule), one round trip, through that node's redis_client
/// (its own pool, timeouts, backoff and breaker: one dead master does not fail the others).
///
/// Redirections, at most max_redirects per call:
/// - MOVED slot node: the slot has moved for good. The map learns the new owner, is refreshed
///   at once (one CLUSTER SLOTS, asked of the new owner first; concurrent callers share it),
///   and the call is sent once more, at the new owner.
/// - ASK slot node: this key is being migrated. ASKING then the call go to that node, on one
///   connection; the map is kept (the slot still belongs to the old owner until the migration
///   ends). A script the node does not know yet is loaded there (NOSCRIPT) and ASKING resent.
/// Transient errors, at most busy_retries per call, each after busy_retry_delay: TRYAGAIN (a
/// multi-key call while its slot migrates) and CLUSTERDOWN (which also refreshes the map,
/// at most once per refresh_interval). Out of redirections or retries, the call returns the
/// last error reply: the component's fallback for an error applies (redis_gcra: its failure
/// policy; redis_store: redis_error).
///
/// A node that does not answer (down, timed out, breaker open) is returned as unavailable at
/// once, without trying another node (no other node holds the slot's keys); it makes the map
/// refresh, at most once per refresh_interval, so that a failover's new master is found.
///
/// Thread-safety: every member may be called from any thread. The map is one atomic pointer
/// per slot (readers take no lock); refreshes are serialised and rewrite it slot by slot, so a
/// reader may see a mix of the old and new maps: a wrong owner answers MOVED. Nodes learnt
/// are kept until the client goes away. Not copyable or movable.
template <clock Clock = steady_clock>
class redis_cluster_client {
 public:
  using clock_type = Clock;

  /// Validates `options` (std::invalid_argument naming the field and value). Does not connect.
  explicit redis_cluster_client(redis_cluster_options options = {}, Clock clock = {})
      : options_{(detail::validate(options), std::move(options))},
        clock_{std::move(clock)},
        owners_{std::make_unique<std::array<std::atomic<node*>, redis_cluster_slots>>()} {
    for (const auto& seed : options_.seeds)
      seeds_.push_back(&node_at(seed));
  }

  redis_cluster_client(const redis_cluster_client&) = delete;
  redis_cluster_client& operator=(const redis_cluster_client&) = delete;

  /// Sends `args` to the master of `key`'s slot (key is usually one of args).
  redis_result keyed_command(std::string_view key, const std::vector<std::string_view>& args) {
    return route(redis_key_slot(key), [&](connection& c, bool asking) {
      return asking ? asking_command(c, args) : c.command(args);
    });
  }

  /// Runs `script` by EVALSHA at the master of keys[0]'s slot; every key must be in that slot
  /// (share a hash tag), or the server answers CROSSSLOT. No keys: any node.
  redis_result eval(const redis_script& script, const std::vector<std::string_view>& keys,
                    const std::vector<std::string_view>& args) {
    const auto send = [&](connection& c, bool asking) {
      return asking ? asking_eval(c, script, keys, args) : c.eval(script, keys, args);
    };
    if (keys.empty()) return any_node(send);
    return route(redis_key_slot(keys.front()), send);
  }

  /// A command about no key (PING, TIME, CLUSTER INFO): to the seeds in order, until one
  /// answers.
  redis_result command(const std::vector<std::string_view>& args) {
    return any_node([&](connection& c, bool) { return c.command(args); });
  }

  /// Reads the slot map now (CLUSTER SLOTS, from the known nodes in turn, seeds first); false
  /// when none answered or another thread is refreshing it.
  bool refresh() { return refresh_from(nullptr); }

  /// "host:port" of the master the map names for `key`'s slot; empty before the map is read
  /// or for a slot no master serves.
  [[nodiscard]] std::string node_for(std::string_view key) const {
    const node* n = (*owners_)[redis_key_slot(key)].load(std::memory_order_acquire);
    return n == nullptr ? std::string{} : n->address;
  }

  /// The pool of the master the map names for `key`'s slot (the map is read first if it never
  /// was); nullptr for a slot no master serves. For components that keep state per node
  /// (redis_near_cache: Redis tracks keys per node). Valid as long as this client: nodes are
  /// never dropped. A call on it is not redirected (a moved slot answers MOVED).
  [[nodiscard]] redis_client<Clock>* node_client_for(std::string_view key) {
    const std::uint16_t slot = redis_key_slot(key);
    if (owner(slot) == nullptr && !loaded_.load(std::memory_order_acquire)) first_load();
    node* n = owner(slot);
    return n == nullptr ? nullptr : &n->client;
  }

  [[nodiscard]] const redis_cluster_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

  /// The latest restart or failover any node's pool detected; nullopt if never.
  [[nodiscard]] std::optional<time_point> last_restart() const {
    std::optional<time_point> latest;
    for (const node* n : nodes()) {
      const auto t = n->client.last_restart();
      if (t && (!latest || *latest < *t)) latest = t;
    }
    return latest;
  }

  /// The counters. Relaxed reads; O(nodes).
  [[nodiscard]] redis_cluster_metrics metrics() const {
    redis_cluster_metrics m{.moved = moved_.load(),
                            .ask = ask_.load(),
                            .tryagain = tryagain_.load(),
                            .clusterdown = clusterdown_.load(),
                            .gave_up = gave_up_.load(),
                            .refreshes = refreshes_.load(),
                            .refresh_failures = refresh_failures_.load()};
    const auto all = nodes();
    m.known_nodes = all.size();
    for (const node* n : all)
      detail::add_to(m.nodes, n->client.metrics());
    return m;
  }

 private:
  using connection = detail::redis_connection<Clock>;

  struct node {
    node(std::string a, redis_client_options o, const Clock& c)
        : address{std::move(a)}, client{std::move(o), c} {}
    std::string address;
    redis_client<Clock> client;
  };

  // One call, by slot, through redirections and transient errors (see the class comment).
  template <class Send>
  redis_result route(std::uint16_t slot, const Send& send) {
    node* target = owner(slot);
    if (target == nullptr) {
      if (!loaded_.load(std::memory_order_acquire)) first_load();
      target = owner(slot);
      if (target == nullptr) target = seeds_.front();  // it answers MOVED or CLUSTERDOWN
    }
    bool asking = false;
    std::uint32_t redirects = 0;
    std::uint32_t retries = 0;
    for (;;) {
      redis_result r =
          target->client.with_connection([&](connection& c) { return send(c, asking); });
      asking = false;
      if (r.status() != redis_status::ok) {
        refresh_if_due();
        return r;
      }
      if (!r.value().is_error()) return r;
      const std::string_view error = r.value().str();
      if (auto redirect = detail::parse_redirect(error)) {
        if (redirects++ == options_.max_redirects) return give_up(std::move(r));
        node& to = node_at(redirect->address);
        if (redirect->moved) {
          moved_.add();
          learn(redirect->slot, to);
          refresh_from(&to);
          learn(redirect->slot, to);  // a refresh answered before the move reached its node
        } else {
          ask_.add();
          asking = true;
        }
        target = &to;
        continue;
      }
      const bool tryagain = detail::is_tryagain(error);
      if (!tryagain && !detail::is_clusterdown(error)) return r;
      if (retries++ == options_.busy_retries) return give_up(std::move(r));
      (tryagain ? tryagain_ : clusterdown_).add();
      clock_.sleep_for(options_.busy_retry_delay);
      if (!tryagain) refresh_if_due();
      if (node* now = owner(slot)) target = now;
    }
  }

  // A call about no key (or a script without keys): each seed in turn until one answers.
  template <class Send>
  redis_result any_node(const Send& send) {
    redis_result r;
    for (node* n : seeds_) {
      r = n->client.with_connection([&](connection& c) { return send(c, false); });
      if (r.status() == redis_status::ok) return r;
    }
    return r;
  }

  redis_result give_up(redis_result r) {
    gave_up_.add();
    return r;
  }

  // ASKING admits only the command right after it on the same connection.
  static redis_result asking_command(connection& c, const std::vector<std::string_view>& args) {
    redis_result asking = c.command({"ASKING"});
    if (!asking.ok()) return asking;
    return c.command(args);
  }

  // EVALSHA after ASKING; on NOSCRIPT (the importing node never ran the script), SCRIPT LOAD
  // and ASKING again, since the load consumed the first one.
  static redis_result asking_eval(connection& c, const redis_script& script,
                                  const std::vector<std::string_view>& keys,
                                  const std::vector<std::string_view>& args) {
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.insert(argv.end(), {"EVALSHA", script.sha(), key_count});
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    redis_result r = asking_command(c, argv);
    if (r.status() != redis_status::ok || !r.value().is_error() ||
        !r.value().str().starts_with("NOSCRIPT")) {
      return r;
    }
    redis_result loaded = c.command({"SCRIPT", "LOAD", script.source()});
    if (!loaded.ok()) return loaded;
    return asking_command(c, argv);
  }

  node* owner(std::uint16_t slot) const noexcept {
    // acquire: pairs with learn()'s release, so the node's construction is visible.
    return (*owners_)[slot].load(std::memory_order_acquire);
  }

  void learn(std::uint16_t slot, node& n) noexcept {
    (*owners_)[slot].store(&n, std::memory_order_release);
  }

  node& node_at(std::string_view address) {
    const std::lock_guard lock{nodes_mutex_};
    const auto it = nodes_.find(address);
    if (it != nodes_.end()) return *it->second;
    const auto parsed = detail::parse_cluster_address(address);
    redis_client_options o = options_.node;
    o.host = parsed->host;  // addresses come from the seeds (validated) or parsed replies
    o.port = parsed->port;
    auto made = std::make_unique<node>(std::string{address}, std::move(o), clock_);
    node& out = *made;
    nodes_.emplace(std::string{address}, std::move(made));
    return out;
  }

  std::vector<node*> nodes() const {
    const std::lock_guard lock{nodes_mutex_};
    std::vector<node*> out;
    out.reserve(nodes_.size());
    for (const auto& [address, n] : nodes_)
      out.push_back(n.get());
    return out;
  }

  // A refresh when none was made for refresh_interval (or none succeeded yet).
  void refresh_if_due() {
    const auto now = clock_.now().time_since_epoch().count();
    const auto last = last_refresh_.load(std::memory_order_relaxed);
    if (loaded_.load(std::memory_order_acquire) && now - last < options_.refresh_interval.count())
      return;
    refresh_from(nullptr);
  }

  // Callers that find no map wait for the one read in progress rather than send their call to
  // a seed that would redirect it.
  void first_load() {
    const std::lock_guard lock{refresh_mutex_};
    if (!loaded_.load(std::memory_order_acquire)) read_map(nullptr);
  }

  // A map read unless another thread is reading one (then its result will do).
  bool refresh_from(node* first) {
    const std::unique_lock lock{refresh_mutex_, std::try_to_lock};
    return lock.owns_lock() && read_map(first);
  }

  // CLUSTER SLOTS from `first`, then the seeds, then every other known node, until one
  // answers. Called holding refresh_mutex_.
  bool read_map(node* first) {
    last_refresh_.store(clock_.now().time_since_epoch().count(), std::memory_order_relaxed);
    std::vector<node*> order;
    if (first != nullptr) order.push_back(first);
    order.insert(order.end(), seeds_.begin(), seeds_.end());
    for (node* n : nodes())
      order.push_back(n);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(i), order[i]) !=
          order.begin() + static_cast<std::ptrdiff_t>(i))
        continue;
      const redis_result r = order[i]->client.command({"CLUSTER", "SLOTS"});
      if (!r.ok()) continue;
      const auto ranges = detail::parse_cluster_slots(r.value(), order[i]->client.options().host);
      if (!ranges) continue;
      apply(*ranges);
      refreshes_.add();
      loaded_.store(true, std::memory_order_release);
      return true;
    }
    refresh_failures_.add();
    return false;
  }

  void apply(const std::vector<detail::cluster_slot_owner>& ranges) {
    std::vector<node*> map(redis_cluster_slots, nullptr);
    for (const auto& range : ranges) {
      node& n = node_at(range.address);
      for (std::uint32_t s = range.first; s <= range.last; ++s)
        map[s] = &n;
    }
    for (std::uint32_t s = 0; s < redis_cluster_slots; ++s)
      (*owners_)[s].store(map[s], std::memory_order_release);
  }

  redis_cluster_options options_;
  [[no_unique_address]] Clock clock_;
  std::unique_ptr<std::array<std::atomic<node*>, redis_cluster_slots>> owners_;
  mutable std::mutex nodes_mutex_;
  std::map<std::string, std::unique_ptr<node>, std::less<>> nodes_;
  std::vector<node*> seeds_;
  std::mutex refresh_mutex_;
  std::atomic<bool> loaded_{false};
  std::atomic<duration::rep> last_refresh_{0};
  metric_counter moved_, ask_, tryagain_, clusterdown_, gave_up_, refreshes_, refresh_failures_;
};

template <clock Clock>
inline constexpr bool redis_routes_by_slot<redis_cluster_client<Clock>> = true;

static_assert(redis_keyed_client<redis_cluster_client<>>);
static_assert(redis_keyed_client<redis_client<>>);

}  // namespace bulwark
