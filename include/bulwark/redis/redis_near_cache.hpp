#pragma once
// bulwark::redis_near_cache: a bulwark::cache in front of Redis, kept fresh by Redis's
// client-side caching (CLIENT TRACKING, RESP2 redirect mode), so that a write by any client
// evicts the entry in every near cache within one round trip.

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/cache/cache.hpp"
#include "bulwark/cache/cache_options.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/detail/invalidation_listener.hpp"
#include "bulwark/redis/keyed_client.hpp"

namespace bulwark {

/// Options of bulwark::redis_near_cache (defaults in parentheses).
struct redis_near_cache_options {
  /// The local cache (at most 10000 entries, no expiry: invalidation keeps them fresh).
  cache_options local{.maximum_size = 10'000};
  /// Silence on the invalidation connection after which it sends a PING; a second one means
  /// the connection is lost and the near cache flushes (100ms).
  duration heartbeat = std::chrono::milliseconds{100};
  /// Test hook: called on a miss between Redis's GET reply and the insert into the local
  /// cache, on the calling thread (none).
  std::function<void(std::string_view key)> after_fetch{};
};

/// Where a redis_near_cache answer came from.
enum class near_cache_source {
  local,        ///< the local cache (no round trip)
  redis,        ///< a GET (the value is cached if tracking was in place)
  unavailable,  ///< Redis did not answer: no value
};

/// A redis_near_cache answer: the value (nullopt when the key is absent in Redis, or when
/// Redis did not answer) and its source.
struct near_cache_result {
  std::optional<std::string> value;
  near_cache_source source = near_cache_source::redis;
};

/// A snapshot of a redis_near_cache's counters.
struct redis_near_cache_metrics {
  std::uint64_t hits = 0;           ///< answered from the local cache
  std::uint64_t misses = 0;         ///< GETs sent to Redis
  std::uint64_t not_cached = 0;     ///< GET answers not inserted (race, tracking not in place)
  std::uint64_t invalidations = 0;  ///< keys named by invalidation messages
  std::uint64_t flushes = 0;        ///< local flushes (null message, lost connection)
  std::uint64_t tracking_lost = 0;  ///< times the invalidation connection was lost
  std::uint64_t unavailable = 0;    ///< calls Redis did not answer
  std::uint64_t tracking = 0;       ///< gauge: 1 while invalidations are received

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    visit(metric{"hits_total", "Gets answered locally.", counter, hits});
    visit(metric{"misses_total", "GETs sent to Redis.", counter, misses});
    visit(metric{"not_cached_total", "GET answers not cached (race or no tracking).", counter,
                 not_cached});
    visit(metric{"invalidations_total", "Keys named by invalidation messages.", counter,
                 invalidations});
    visit(metric{"flushes_total", "Local flushes.", counter, flushes});
    visit(metric{"tracking_lost_total", "Invalidation connections lost.", counter, tracking_lost});
    visit(metric{"unavailable_total", "Calls Redis did not answer.", counter, unavailable});
    visit(metric{"tracking", "1 while invalidations are received.", gauge, tracking});
  }
  friend bool operator==(const redis_near_cache_metrics&,
                         const redis_near_cache_metrics&) = default;
};

/// String values of Redis keys, cached in process (a bulwark::cache<std::string,
/// std::string>) and evicted by Redis's invalidation messages.
///
/// A dedicated connection (detail::invalidation_listener) subscribes to
/// __redis__:invalidate; each connection of `client` that a miss uses first sends CLIENT
/// TRACKING on REDIRECT <that connection's id>, again after any reconnect or a new listener
/// connection. Redis then sends the listener the keys that any client changes after this
/// process read them, and the listener evicts them.
///
/// Never stale silently: while the listener is not subscribed nothing is cached and every get
/// goes to Redis; when it loses its connection (noticed at once on EOF, within 2 x heartbeat
/// when the server goes silent) the cache is flushed before anything else is cached. A GET
/// answer is cached only if no invalidation of its key (per-key-stripe sequence numbers), no
/// flush and no reconnect happened since the GET was sent: an invalidation that arrives
/// between the reply and the insert wins (see docs/redis.md).
///
/// Give it a client of its own: every key its connections read is tracked, those of other
/// components included. Thread-safe. Not copyable or movable.
///
/// Client: redis_client (one server) or redis_cluster_client. Redis tracks keys per node and
/// redirects a node's invalidations only to a subscriber on that node, so on a cluster each
/// master gets its own listener (started by the first get of a key it serves) and a miss runs
/// on a connection of the key's master, tracking redirected to that master's listener. A GET
/// answered MOVED or ASK (a slot moving) is resent through the cluster client and not cached.
/// The loss of any listener flushes the whole cache.
template <clock Clock = steady_clock, redis_keyed_client Client = redis_client<Clock>>
requires std::same_as<typename Client::clock_type, Clock>
class redis_near_cache {
  static_assert(std::same_as<Client, redis_client<Clock>> || redis_routes_by_slot<Client>,
                "bulwark::redis_near_cache needs a redis_client or a redis_cluster_client: it "
                "keeps a connection pool per server");

 public:
  /// Starts the listener thread (it connects in the background: see wait_for_tracking); on a
  /// cluster, a master's listener starts at the first get of a key it serves.
  explicit redis_near_cache(Client& client, redis_near_cache_options options = {})
      : client_{&client},
        options_{(static_cast<void>(positive(options.heartbeat)), std::move(options))},
        local_{options_.local, client.clock()} {
    if constexpr (!redis_routes_by_slot<Client>) node_of(client);
  }
  redis_near_cache(const redis_near_cache&) = delete;
  redis_near_cache& operator=(const redis_near_cache&) = delete;
  ~redis_near_cache() { nodes_.clear(); }  // joins the listeners before the members go

  /// The value of `key`: from the local cache, or by GET (one round trip), cached when safe.
  near_cache_result get(const std::string& key) {
    if (auto v = local_.get(key)) {
      hits_.add();
      return {std::move(v), near_cache_source::local};
    }
    misses_.add();
    if constexpr (redis_routes_by_slot<Client>) {
      redis_client<Clock>* pool = client_->node_client_for(key);
      if (pool == nullptr) return resend(key);
      node& n = node_of(*pool);
      std::optional<near_cache_result> r = pool->with_connection(
          [&](detail::redis_connection<Clock>& c) { return fetch(n, c, key); });
      return r ? std::move(*r) : resend(key);
    } else {
      node& n = node_of(*client_);
      return *client_->with_connection(
          [&](detail::redis_connection<Clock>& c) { return fetch(n, c, key); });
    }
  }

  /// SET key value in Redis and evicts the key here at once (every other near cache evicts it
  /// when its invalidation arrives). False when Redis did not answer.
  bool set(const std::string& key, std::string_view value) {
    const redis_result r = client_->keyed_command(key, {"SET", key, value});
    evict_now(key);
    if (!r.ok()) unavailable_.add();
    return r.ok();
  }
  /// DEL key in Redis and here. False when Redis did not answer.
  bool erase(const std::string& key) {
    const redis_result r = client_->keyed_command(key, {"DEL", key});
    evict_now(key);
    if (!r.ok()) unavailable_.add();
    return r.ok();
  }

  /// Whether the invalidation connection is subscribed (entries may be cached); on a cluster,
  /// whether every master's listener started so far is.
  [[nodiscard]] bool tracking() const {
    const std::lock_guard lock{mutex_};
    return all_up();
  }
  /// Waits until tracking() or `timeout` passed (real time); returns tracking().
  bool wait_for_tracking(duration timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [this] { return all_up(); });
  }
  /// Waits until the listener has handled more than `count` invalidated keys, or `timeout`
  /// passed (real time); for tests and the staleness benchmark.
  bool wait_for_invalidations(std::uint64_t count, duration timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return invalidations_.load() > count; });
  }
  /// Waits until the invalidation connection was lost more than `count` times, or `timeout`
  /// passed (real time); for tests.
  bool wait_for_tracking_lost(std::uint64_t count, duration timeout) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] { return lost_.load() > count; });
  }
  /// Entries held locally.
  [[nodiscard]] std::uint64_t size() const { return local_.size(); }

  [[nodiscard]] redis_near_cache_metrics metrics() const {
    return {.hits = hits_.load(),
            .misses = misses_.load(),
            .not_cached = not_cached_.load(),
            .invalidations = invalidations_.load(),
            .flushes = flushes_.load(),
            .tracking_lost = lost_.load(),
            .unavailable = unavailable_.load(),
            .tracking = tracking() ? 1U : 0U};
  }

 private:
  static constexpr std::size_t stripes = 64;
  // When (by the listener's epoch and the client's connect count) a connection got its
  // CLIENT TRACKING; a reconnect anywhere in the client or a new epoch makes it stale.
  struct tracked_at {
    std::uint64_t epoch = 0;
    std::uint64_t connects = 0;
  };
  // One server's listener and what it published (under mutex_). The listener is the last
  // member: destroyed first, it joins its thread, the only other user of the fields.
  struct node {
    redis_client<Clock>* pool = nullptr;
    bool up = false;
    long long client_id = 0;
    std::unique_ptr<detail::invalidation_listener> listener;
  };

  static duration positive(duration d) {
    const option_check check{"redis_near_cache"};
    check.positive("heartbeat", d);
    return d;
  }

  // The listener of `pool`'s server, started on first use. Nodes are never dropped: a
  // cluster client keeps every pool it made.
  node& node_of(redis_client<Clock>& pool) {
    const std::lock_guard lock{mutex_};
    auto& slot = nodes_[&pool];
    if (!slot) {
      slot = std::make_unique<node>();
      slot->pool = &pool;
      node* n = slot.get();
      // Its thread's first handler call waits for mutex_, held here until the node is ready.
      n->listener = std::make_unique<detail::invalidation_listener>(
          pool.options(), options_.heartbeat,
          detail::invalidation_handlers{
              [this, n](long long id) { on_up(*n, id); }, [this, n] { on_down(*n); },
              [this](const std::vector<std::string_view>& keys) { on_keys(keys); },
              [this] { flush(); }});
    }
    return *slot;
  }
  bool all_up() const {
    if (nodes_.empty()) return false;
    for (const auto& [pool, n] : nodes_)
      if (!n->up) return false;
    return true;
  }
  // A GET the key's node redirected (a slot on the move): through the cluster client, which
  // follows MOVED and ASK; not cached, as no listener of this near cache tracks that read.
  near_cache_result resend(const std::string& key) {
    const redis_result r = client_->keyed_command(key, {"GET", key});
    if (r.status() != redis_status::ok || r.value().is_error()) {
      unavailable_.add();
      return {std::nullopt, near_cache_source::unavailable};
    }
    if (r.value().is_nil()) return {std::nullopt, near_cache_source::redis};
    not_cached_.add();
    return {std::string{r.value().str()}, near_cache_source::redis};
  }

  std::size_t stripe(std::string_view key) const noexcept {
    return static_cast<std::size_t>(stable_hash{}(key)) % stripes;
  }

  // Holding connection `c` of n's server (with_connection): enable tracking if needed, GET,
  // and insert if nothing happened to the key, the listener or the connection meanwhile.
  // nullopt: the server redirected the GET (a cluster's slot on the move).
  std::optional<near_cache_result> fetch(node& n, detail::redis_connection<Clock>& c,
                                         const std::string& key) {
    std::uint64_t epoch = 0;
    std::string redirect;
    bool up = false;
    bool tracked = false;
    const std::size_t s = stripe(key);
    const std::uint64_t seq = seq_[s].load(std::memory_order_acquire);
    std::uint64_t connects = n.pool->metrics().connects;
    {
      const std::lock_guard lock{mutex_};
      epoch = epoch_;
      up = n.up;
      redirect = std::to_string(n.client_id);
      const auto it = tracked_.find(&c);
      tracked =
          it != tracked_.end() && it->second.epoch == epoch && it->second.connects == connects;
    }
    if (up) {
      if (!tracked && c.command({"CLIENT", "TRACKING", "on", "REDIRECT", redirect}).ok()) {
        connects = n.pool->metrics().connects;  // the command may have reconnected first
        record_tracked(&c, {epoch, connects});
        tracked = true;
      }
    }
    redis_result r = c.command({"GET", key});
    if constexpr (redis_routes_by_slot<Client>) {
      if (r.status() == redis_status::ok && r.value().is_error() &&
          (r.value().str().starts_with("MOVED ") || r.value().str().starts_with("ASK ")))
        return std::nullopt;
    }
    if (r.status() != redis_status::ok || r.value().is_error()) {
      unavailable_.add();
      return near_cache_result{std::nullopt, near_cache_source::unavailable};
    }
    std::optional<std::string> value;
    if (!r.value().is_nil()) value.emplace(r.value().str());
    if (options_.after_fetch) options_.after_fetch(key);
    const bool same_connection = n.pool->metrics().connects == connects;
    bool inserted = false;
    if (value && tracked && same_connection) {
      // Under mutex_, as every eviction: an invalidation either ran before this check (the
      // sequence number or the epoch moved) or runs after the insert and evicts it.
      const std::lock_guard lock{mutex_};
      if (n.up && epoch_ == epoch && seq_[s].load(std::memory_order_relaxed) == seq) {
        local_.put(key, *value);
        inserted = true;
      }
    }
    if (value && !inserted) not_cached_.add();
    return near_cache_result{std::move(value), near_cache_source::redis};
  }

  void record_tracked(const void* connection, tracked_at at) {
    const std::lock_guard lock{mutex_};
    tracked_[connection] = at;
  }

  void evict_now(const std::string& key) {
    const std::lock_guard lock{mutex_};
    seq_[stripe(key)].fetch_add(1, std::memory_order_release);
    local_.invalidate(key);
  }

  // A new epoch: every connection redirects its tracking again (to this id, on n's server).
  // Nothing n's server answered is cached now: its down flushed all, and inserts need it up.
  void on_up(node& n, long long id) {
    {
      const std::lock_guard lock{mutex_};
      n.client_id = id;
      ++epoch_;
      n.up = true;
    }
    changed_.notify_all();
  }
  // Also called after every failed (re)connect; only the loss of a live subscription flushes
  // (while it was not up nothing could be cached from its server). The whole cache: which
  // entries came from which node of a cluster is not kept.
  void on_down(node& n) {
    {
      const std::lock_guard lock{mutex_};
      if (!n.up) return;
      lost_.add();
      n.up = false;
      ++epoch_;
      local_.invalidate_all();
      flushes_.add();
    }
    changed_.notify_all();
  }
  void on_keys(const std::vector<std::string_view>& keys) {
    {
      const std::lock_guard lock{mutex_};
      for (const std::string_view k : keys) {
        seq_[stripe(k)].fetch_add(1, std::memory_order_release);
        local_.invalidate(std::string{k});
      }
      invalidations_.add(keys.size());
    }
    changed_.notify_all();
  }
  void flush() {
    {
      const std::lock_guard lock{mutex_};
      ++epoch_;
      local_.invalidate_all();
      flushes_.add();
    }
    changed_.notify_all();
  }

  Client* client_;
  redis_near_cache_options options_;
  cache<std::string, std::string, tiny_lfu_eviction, Clock> local_;
  // mutex_ orders inserts against evictions and guards what the listener publishes.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t epoch_ = 0;
  std::unordered_map<const redis_client<Clock>*, std::unique_ptr<node>> nodes_;
  std::unordered_map<const void*, tracked_at> tracked_;
  std::array<std::atomic<std::uint64_t>, stripes> seq_{};
  metric_counter hits_, misses_, not_cached_, invalidations_, flushes_, lost_, unavailable_;
};

template <redis_keyed_client Client>
redis_near_cache(Client&) -> redis_near_cache<typename Client::clock_type, Client>;
template <redis_keyed_client Client>
redis_near_cache(Client&, redis_near_cache_options)
    -> redis_near_cache<typename Client::clock_type, Client>;

}  // namespace bulwark
