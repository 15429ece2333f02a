#pragma once
// bulwark::cache: the thread-safe, bounded cache with expiry and single-flight loading.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "bulwark/cache/cache_options.hpp"
#include "bulwark/cache/detail/deadlines.hpp"
#include "bulwark/cache/detail/epoch.hpp"
#include "bulwark/cache/detail/live_bound.hpp"
#include "bulwark/cache/detail/load_steps.hpp"
#include "bulwark/cache/detail/load_through.hpp"
#include "bulwark/cache/detail/removals.hpp"
#include "bulwark/cache/detail/shard.hpp"
#include "bulwark/cache/detail/single_flight.hpp"
#include "bulwark/cache/detail/stripes.hpp"
#include "bulwark/cache/eviction.hpp"
#include "bulwark/cache/tiny_lfu.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/siphash.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// A value with the instant its entry expires (time_point::max() for never).
template <class Value>
struct cache_entry {
  Value value;
  time_point expires_at;
};

/// A thread-safe cache bounded by entry count or by weight, with expiry after write, after
/// access, and per entry, and single-flight loading.
///
/// Lock striping: a key's hash picks one of a power-of-two number of shards, each with its own
/// `std::mutex`, which writers take. Reads take no lock: a reader pins itself in the cache's
/// epoch domain (one atomic instruction on a cache line that threads rarely share), looks the
/// key up in an index that writers never change under it, copies the value out, and appends
/// the access to its stripe of a lossy read buffer. The reader that fills a stripe replays it
/// into the eviction policy if the lock is free, and a write first replays its own thread's
/// stripe. So reads never block and write only lines of their own, and the policy still sees
/// nearly every hit in order (as Caffeine's striped read buffers do).
///
/// Values leave the cache by copy (`get` returns `std::optional<Value>`); for large values use
/// `Value = std::shared_ptr<const T>`, whose copy is a pinned handle that stays valid whatever
/// the cache evicts meanwhile. No member returns a reference into the cache.
///
/// Expiry: an entry expires `expire_after_write` after its last write (or the TTL given to that
/// put), and `expire_after_access` after its last read or write, whichever comes first. An
/// expired entry is never returned; it is removed by the next writes to its shard (each write
/// sweeps a few slots), by `cleanup()`, or when its key is written. No background thread.
///
/// Policy: `tiny_lfu_eviction` (adaptive W-TinyLFU) by default; `lru_eviction` or any
/// `eviction_policy`. Hasher: a well-mixed 64-bit hash of the key, every bit of which is used
/// (an identity hash is not enough); the default, bulwark::flood_resistant_hash (SipHash-1-3
/// for strings), covers strings and integers, and bulwark::stable_hash is the faster choice
/// for keys nobody outside chooses. A Hasher with a `seed` member is seeded per cache, at
/// random unless `hash_seed` is set, so that nobody outside can compute colliding keys.
/// Weigher: a weight of 0 is refused (put and get_or_load throw std::invalid_argument), since
/// it would exempt the entry from the bound. Key and Value: copyable (a growing slab copies
/// cells that readers may still be reading).
/// Thread-safety: every member may be called from any thread.
/// Complexity: get/put/invalidate O(1) expected; invalidate_if, invalidate_all, cleanup O(n).
template <class Key, class Value, eviction_policy Policy = tiny_lfu_eviction,
          clock Clock = steady_clock, class Hasher = flood_resistant_hash,
          class KeyEqual = std::equal_to<Key>>
class cache {
  using shard_type = detail::cache_shard<Key, Value, Policy, Hasher, KeyEqual>;
  using removals = typename shard_type::removals;

 public:
  using key_type = Key;
  using value_type = Value;
  using hasher = Hasher;
  using key_equal = KeyEqual;
  using callbacks_type = cache_callbacks<Key, Value>;

  /// Validates `options` (std::invalid_argument naming the field) and builds the shards.
  explicit cache(cache_options options, Clock clock = {}) : cache(options, {}, clock) {}
  cache(cache_options options, callbacks_type callbacks, Clock clock = {}, Hasher hash = {},
        KeyEqual equal = {})
      : options_{(detail::validate(options, static_cast<bool>(callbacks.weigher),
                                   detail::seedable_hasher<Hasher>),
                  options)},
        callbacks_{std::move(callbacks)},
        clock_{std::move(clock)},
        hasher_{detail::seeded_hasher(std::move(hash), options.hash_seed)},
        counted_{!callbacks_.weigher} {
    const std::uint64_t bound = counted_ ? options_.maximum_size : options_.maximum_weight;
    const std::uint32_t read_stripes = std::min<std::uint32_t>(16, epochs_.slots());
    stripes_ = stripes_type(
        options_.shards != 0 ? options_.shards : stripes_type::default_count(bound), bound,
        [&](stripe& st, std::uint64_t share) {
          st.shard.emplace(share, counted_, options_.expire_after_write > duration::zero(),
                           options_.expire_after_access > duration::zero(), epochs_, read_stripes,
                           hasher_, equal);
          st.flights = flights_type(hasher_, equal);
        });
  }

  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  /// A copy of `key`'s value, or nullopt if absent or expired. Counts a hit or a miss.
  [[nodiscard]] std::optional<Value> get(const Key& key) {
    return read(
        key, [this] { return clock_.now(); },
        [](const Value& v, time_point) { return std::optional<Value>{v}; });
  }
  /// get() judging expiry at `now` (a clock read the caller shares).
  [[nodiscard]] std::optional<Value> get(const Key& key, time_point now) {
    return read(
        key, [now] { return now; },
        [](const Value& v, time_point) { return std::optional<Value>{v}; });
  }

  /// Like get(), with the instant the entry expires.
  [[nodiscard]] std::optional<cache_entry<Value>> get_entry(const Key& key) {
    return read(
        key, [this] { return clock_.now(); },
        [](const Value& v, time_point deadline) {
          return std::optional<cache_entry<Value>>{cache_entry<Value>{v, deadline}};
        });
  }

  /// Whether a live entry exists; counts a hit or a miss.
  [[nodiscard]] bool contains(const Key& key) {
    return read(
        key, [this] { return clock_.now(); }, [](const Value&, time_point) { return true; });
  }

  /// Inserts or replaces `key`'s value, with the cache's expire_after_write.
  void put(Key key, Value value) { write(std::move(key), std::move(value), no_ttl, std::nullopt); }
  /// put() with the write time `now`.
  void put(Key key, Value value, time_point now) {
    write(std::move(key), std::move(value), no_ttl, now);
  }
  /// put() with a TTL of its own for this entry (> 0), instead of expire_after_write.
  void put(Key key, Value value, duration ttl) {
    check_ttl(ttl);
    write(std::move(key), std::move(value), ttl, std::nullopt);
  }
  void put(Key key, Value value, duration ttl, time_point now) {
    check_ttl(ttl);
    write(std::move(key), std::move(value), ttl, now);
  }

  /// The cached value, or the value of `loader(key)`, which is cached. Single flight: while a
  /// load of `key` runs, other callers for `key` wait for it and get its value (or its
  /// exception) instead of loading again. A loader that throws releases every waiter with its
  /// exception and caches nothing. If the key is written or invalidated while its load runs,
  /// the load's value is returned to its callers but not cached (it may be stale). Calling
  /// get_or_load for the same key from inside its own loader throws std::logic_error.
  template <class Loader>
  requires std::is_convertible_v<std::invoke_result_t<Loader&, const Key&>, Value> Value
  get_or_load(const Key& key, Loader&& loader) {
    const std::uint64_t hash = hasher_(key);  // once, for the read and the load
    const auto now = [this] { return clock_.now(); };
    const auto copy = [](const Value& v, time_point) { return std::optional<Value>{v}; };
    if (auto hit = read(key, hash, now, copy)) return std::move(*hit);
    stripe& st = stripe_of(hash);
    return detail::load_through<Value>(
        st, key, hash, now, [&]() -> Value { return std::invoke(loader, key); },
        [&](const Value& value, const typename flights_type::handle& mine) {
          complete_flight(st, key, hash, mine, value);
        },
        [this] { load_waits_.add(); }, [this] { load_failures_.add(); });
  }

  /// Removes `key`'s entry; returns whether a live one was there. A load of `key` in flight
  /// will not cache its value.
  bool invalidate(const Key& key) {
    const std::uint64_t hash = hasher_(key);
    stripe& st = stripe_of(hash);
    removals out;
    bool live = false;
    {
      std::lock_guard lock{st.shard->mutex()};
      st.shard->drain_own_reads();
      st.flights.cancel(key);
      live = st.shard->erase(key, hash, detail::cell_ns(clock_.now()), sink(out));
    }
    notify(out);
    return live;
  }

  /// Removes every live entry for which `pred(key, value)` holds; returns how many. Shard by
  /// shard: an entry written concurrently into a shard already visited stays.
  template <class Pred>
  std::size_t invalidate_if(Pred pred) {
    const std::int64_t now = detail::cell_ns(clock_.now());
    return stripes_.template remove_each<removals>(
        [&](shard_type& s, removals& out) { return s.erase_if(pred, now, sink(out)); },
        [this](const removals& out) { notify(out); });
  }

  /// Removes every entry; loads in flight will not cache their values.
  void invalidate_all() {
    stripes_.each_locked([](stripe& st) { st.flights.cancel_all(); });
    invalidate_if([](const Key&, const Value&) { return true; });
  }

  /// Removes every expired entry now (active sweeping); returns how many. O(capacity).
  std::size_t cleanup() { return cleanup(clock_.now()); }
  std::size_t cleanup(time_point now) {
    return stripes_.template remove_each<removals>(
        [&](shard_type& s, removals& out) { return s.sweep(detail::cell_ns(now), 0, sink(out)); },
        [this](const removals& out) { notify(out); });
  }

  /// Entries held, expired ones not yet swept included. Takes each shard's lock in turn.
  [[nodiscard]] std::uint64_t size() const { return metrics().entries; }

  /// A snapshot of the counters (each shard's under its lock; hits and misses are counted
  /// without it, so a snapshot taken during reads may miss the latest few).
  [[nodiscard]] cache_metrics metrics() const {
    cache_metrics m;
    stripes_.each_locked([&m](stripe& st) { st.shard->add_metrics(m); });
    m.loads = loads_.load();
    m.load_failures = load_failures_.load();
    m.load_waits = load_waits_.load();
    return m;
  }

  /// Bytes of bookkeeping beyond the keys' and values' own: index, slab metadata, policy.
  [[nodiscard]] std::size_t overhead_bytes() const {
    std::size_t bytes = sizeof(*this) + stripes_.memory_bytes() + epochs_.memory_bytes();
    stripes_.each_locked([&bytes](stripe& st) { bytes += st.shard->overhead_bytes(); });
    return bytes;
  }

  [[nodiscard]] std::uint32_t shard_count() const noexcept { return stripes_.size(); }
  /// The hasher in use, with the seed the cache gave it (see cache_options::hash_seed).
  [[nodiscard]] Hasher hash_function() const { return hasher_; }
  /// The current options: those it was built with, with the last reconfigure()'s bound.
  [[nodiscard]] cache_options options() const { return bound_.applied_to(options_, counted_); }
  /// Throws what reconfigure(next) would, changing nothing.
  void check_reconfigure(const cache_options& next) const {
    bound_.check(options(), next, !counted_, detail::seedable_hasher<Hasher>, stripes_.size());
  }
  /// A new bound, the one option that can change (docs/cache.md, "Changing settings live"):
  /// a smaller one evicts down to it at once, shard by shard, by the policy. Thread-safe.
  void reconfigure(const cache_options& next) requires resizable_policy<Policy> {
    check_reconfigure(next);
    removals out;
    bound_.change(
        next, counted_, stripes_,
        [&](stripe& st, std::uint64_t share) {
          st.shard->set_capacity(share, counted_, sink(out));
        },
        [&] { notify(std::exchange(out, {})); });
  }

 private:
  template <class>
  friend struct detail::load_steps;  // get_or_load's steps for the asio add-on
  using flights_type = detail::flight_table<Key, Value, Hasher, KeyEqual>;
  using stripes_type = detail::cache_stripes<shard_type, flights_type>;
  using stripe = typename stripes_type::stripe;

  static constexpr duration no_ttl{-1};

  static void check_ttl(duration ttl) { option_check{"cache"}.positive("ttl", ttl); }

  removals* sink(removals& out) const noexcept { return callbacks_.on_removal ? &out : nullptr; }
  stripe& stripe_of(std::uint64_t hash) const noexcept { return stripes_.of(hash); }
  bool timed_writes() const noexcept {
    return options_.expire_after_write > duration::zero() ||
           options_.expire_after_access > duration::zero() ||
           per_entry_ttl_.load(std::memory_order_relaxed);
  }

  // The read path: no lock. The epoch guard keeps every cell, slab and index the lookup can
  // reach alive until it is released (epoch.hpp), so the value is copied out while pinned. The
  // clock is read only if the entry found has a deadline (or the caller supplied `now`), so a
  // cache without expiry never reads it.
  template <class Now, class Out>
  auto read(const Key& key, Now now_fn, Out out)
      -> decltype(out(std::declval<const Value&>(), time_point{})) {
    return read(key, hasher_(key), now_fn, out);
  }
  // With the hash computed by the caller (get_or_load hashes once for read and load).
  template <class Now, class Out>
  auto read(const Key& key, std::uint64_t hash, Now now_fn, Out out)
      -> decltype(out(std::declval<const Value&>(), time_point{})) {
    shard_type& s = *stripe_of(hash).shard;
    decltype(out(std::declval<const Value&>(), time_point{})) result{};
    bool drain = false;
    std::uint32_t thread = 0;
    {
      const detail::epoch_domain::guard pin{epochs_};
      thread = pin.slot();
      const auto [slab, cell] = s.find(key, hash);
      if (cell == detail::no_slot) {
        s.miss(thread);
        return result;
      }
      // Read once: without expiry, two null tests (no deadline arrays) and no clock read.
      const std::int64_t deadline = slab->deadline(cell);
      std::int64_t now = 0;
      if (deadline != detail::never) {
        now = detail::cell_ns(now_fn());
        if (now >= deadline) {
          s.miss(thread);
          return result;
        }
      }
      const std::int64_t access = detail::cell_deadline(now, options_.expire_after_access);
      result = out(slab->kv(cell).second, detail::cell_time_point(std::min(deadline, access)));
      drain = s.record_hit(*slab, cell, hash, access, thread);
    }
    if (drain) {
      std::unique_lock lock{s.mutex(), std::try_to_lock};
      if (lock) s.drain_reads(thread);
    }
    return result;
  }

  // A weight of 0 is refused: such entries would never be evicted, so the bound would no
  // longer bound memory (Caffeine accepts 0 and exempts the entry from eviction).
  std::uint32_t weigh(const Key& key, const Value& value) const {
    if (counted_) return 1u;
    const std::uint32_t weight = callbacks_.weigher(key, value);
    option_check{"cache"}.positive("weigher result", weight);
    return weight;
  }

  template <class K, class V>
  void write_locked(shard_type& s, K&& key, V&& value, std::uint64_t hash, std::uint32_t weight,
                    duration ttl, std::int64_t now, removals& out) {
    const std::int64_t write_deadline =
        detail::cell_deadline(now, ttl == no_ttl ? options_.expire_after_write : ttl);
    const std::int64_t access_deadline = detail::cell_deadline(now, options_.expire_after_access);
    s.drain_own_reads();
    s.put(std::forward<K>(key), std::forward<V>(value), hash, weight, now, write_deadline,
          access_deadline, sink(out));
    // Amortised expiry: each timed write sweeps a few slots for expired entries.
    if (timed_writes()) s.sweep(now, 4, sink(out));
  }

  void write(Key key, Value value, duration ttl, std::optional<time_point> given_now) {
    if (ttl != no_ttl) per_entry_ttl_.store(true, std::memory_order_relaxed);
    const std::uint64_t hash = hasher_(key);
    const std::uint32_t weight = weigh(key, value);
    const std::int64_t now = given_now ? detail::cell_ns(*given_now)
                                       : (timed_writes() ? detail::cell_ns(clock_.now()) : 0);
    stripe& st = stripe_of(hash);
    removals out;
    {
      std::lock_guard lock{st.shard->mutex()};
      if (ttl != no_ttl) st.shard->make_timed();
      st.flights.cancel(key);
      write_locked(*st.shard, std::move(key), std::move(value), hash, weight, ttl, now, out);
    }
    notify(out);
  }

  void complete_flight(stripe& st, const Key& key, std::uint64_t hash,
                       const typename flights_type::handle& mine, const Value& value) {
    const std::uint32_t weight = weigh(key, value);
    const std::int64_t now = timed_writes() ? detail::cell_ns(clock_.now()) : 0;
    removals out;
    {
      std::lock_guard lock{st.shard->mutex()};
      st.flights.finish(key, mine);
      if (!mine->cancelled) write_locked(*st.shard, key, value, hash, weight, no_ttl, now, out);
    }
    loads_.add();
    notify(out);
  }

  void notify(const removals& out) const {
    if (!out.empty()) detail::notify_removals(callbacks_.on_removal, out);
  }

  cache_options options_;  // as built: the bound is bound_'s
  callbacks_type callbacks_;
  [[no_unique_address]] Clock clock_;
  [[no_unique_address]] Hasher hasher_;
  bool counted_;
  // Before the shards, which hold a reference to it.
  detail::epoch_domain epochs_{detail::default_epoch_slots(std::thread::hardware_concurrency())};
  stripes_type stripes_;
  std::atomic<bool> per_entry_ttl_{false};
  metric_counter loads_;
  metric_counter load_failures_;
  metric_counter load_waits_;
  // The bound set by reconfigure(): see live_bound.hpp on why it holds no mutex.
  detail::live_bound<cache> bound_;
};

}  // namespace bulwark
